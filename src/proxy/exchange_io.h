// BodyFrame: the gather-write buffers for one piece of a streamed body in its wire framing
// (raw, or chunked with the last-chunk marker), optionally preceded by the message head.
#pragma once

#include <boost/asio/buffer.hpp>

#include <array>
#include <span>
#include <string>
#include <string_view>

#include "proxy/http_head.h"

namespace portcullis::proxy {

class BodyFrame {
 public:
  /// `piece` must outlive the frame. `last` = the body ends with this piece.
  BodyFrame(BodyFraming framing, const std::string& piece, bool last) {
    if (framing == BodyFraming::Chunked) {
      if (!piece.empty()) {
        chunk_header_ = chunk_header(piece.size());
        push(chunk_header_);
        push(piece);
        push(kChunkTrailer);
      }
      if (last) push(kLastChunk);
    } else if (framing != BodyFraming::None && !piece.empty()) {
      push(piece);
    }
  }

  std::span<const boost::asio::const_buffer> buffers() const { return {bufs_.data() + 1, count_}; }

  /// The head followed by this frame's buffers.
  std::span<const boost::asio::const_buffer> with_head(const std::string& head) {
    bufs_[0] = boost::asio::buffer(head);
    return {bufs_.data(), count_ + 1};
  }

 private:
  void push(std::string_view s) { bufs_[1 + count_++] = boost::asio::buffer(s.data(), s.size()); }

  std::string chunk_header_;
  std::array<boost::asio::const_buffer, 5> bufs_{};
  std::size_t count_ = 0;
};

}  // namespace portcullis::proxy
