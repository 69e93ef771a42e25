// Writing and reading the length-prefixed fields of TLS handshake messages (RFC 8446 §3) for the
// gateway's own server handshake: a Writer that appends to a byte vector and fills vector
// lengths in when they close, and a bounds-checked Reader over a received message body.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace portcullis::net::tls13 {

using Bytes = std::span<const std::uint8_t>;

/// Appends big-endian integers and bytes to `out`.
class Writer {
 public:
  explicit Writer(std::vector<std::uint8_t>& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) {
    out_.push_back(static_cast<std::uint8_t>(v >> 8));
    out_.push_back(static_cast<std::uint8_t>(v));
  }
  void u24(std::uint32_t v) {
    out_.push_back(static_cast<std::uint8_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
  void bytes(std::span<const std::uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void text(std::string_view s) { out_.insert(out_.end(), s.begin(), s.end()); }
  /// Opens a length-prefixed vector of `width` bytes (1, 2 or 3); close() fills the length in.
  std::size_t open(int width) {
    const std::size_t at = out_.size();
    out_.resize(at + static_cast<std::size_t>(width));
    return at | (static_cast<std::size_t>(width) << 56);
  }
  void close(std::size_t mark) {
    const int width = static_cast<int>(mark >> 56);
    const std::size_t at = mark & ((std::size_t{1} << 56) - 1);
    const std::size_t n = out_.size() - at - static_cast<std::size_t>(width);
    for (int i = 0; i < width; ++i) {
      out_[at + static_cast<std::size_t>(i)] =
          static_cast<std::uint8_t>(n >> (8 * (width - 1 - i)));
    }
  }
  std::size_t size() const { return out_.size(); }

 private:
  std::vector<std::uint8_t>& out_;
};

/// A bounded reader over a handshake message body: every read checks the bytes left and, when
/// they are too few, reads nothing and returns false.
class Reader {
 public:
  explicit Reader(Bytes b) : b_(b) {}
  bool u8(std::uint8_t& v) {
    if (b_.size() < 1) return false;
    v = b_[0];
    b_ = b_.subspan(1);
    return true;
  }
  bool u16(std::uint16_t& v) {
    if (b_.size() < 2) return false;
    v = static_cast<std::uint16_t>(b_[0] << 8 | b_[1]);
    b_ = b_.subspan(2);
    return true;
  }
  bool u24(std::uint32_t& v) {
    if (b_.size() < 3) return false;
    v = std::uint32_t{b_[0]} << 16 | std::uint32_t{b_[1]} << 8 | b_[2];
    b_ = b_.subspan(3);
    return true;
  }
  bool take(std::size_t n, Bytes& out) {
    if (b_.size() < n) return false;
    out = b_.subspan(0, n);
    b_ = b_.subspan(n);
    return true;
  }
  bool empty() const { return b_.empty(); }

 private:
  Bytes b_;
};

}  // namespace portcullis::net::tls13
