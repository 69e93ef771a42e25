// One handed-over TLS 1.3 connection's record layer, without the socket: raw bytes received are
// opened into application data (alerts and KeyUpdate handled on the way), application data is
// sealed into records to send. The transport (net/transports.h) moves the bytes.
#pragma once

#include <boost/system/error_code.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "net/tls13_records.h"
#include "net/tls_handoff.h"

namespace portcullis::net {

/// The error of a failed record layer: the alert we sent (bad_record_mac, ...) or the fatal alert
/// the peer sent, named in the message ("TLS record error: bad_record_mac", "the peer sent TLS
/// alert certificate_expired").
const boost::system::error_category& record_error_category();
/// The error for a fatal alert the peer sent ("the peer sent TLS alert unknown_ca").
boost::system::error_code peer_alert_error(std::uint8_t description);

/// Gathers at most `limit` bytes of `buffers`, from `index` and `offset` on (both advanced past
/// them), into `parts`; returns the number of parts filled. For anything with data() and size()
/// (byte spans, Asio buffers).
template <class Buffer>
std::size_t gather_window(std::span<const Buffer> buffers, std::size_t& index, std::size_t& offset,
                          std::size_t limit, std::span<std::span<const std::uint8_t>> parts) {
  std::size_t count = 0;
  while (index < buffers.size() && limit > 0 && count < parts.size()) {
    const Buffer& b = buffers[index];
    const std::size_t take = std::min(b.size() - offset, limit);
    if (take > 0) parts[count++] = {static_cast<const std::uint8_t*>(b.data()) + offset, take};
    limit -= take;
    offset += take;
    if (offset == b.size()) {
      ++index;
      offset = 0;
    }
  }
  return count;
}

class RecordChannel {
 public:
  explicit RecordChannel(RecordProtection keys);

  enum class Step {
    Data,       ///< application data is ready: take_plaintext
    NeedInput,  ///< receive into input_space, then input_received
    Closed,     ///< the peer sent close_notify
    Failed,     ///< error(); alert_to_send() says what to tell the peer
  };
  /// Opens buffered records until application data is ready or more input is needed.
  Step process();
  /// Copies ready application data into `out`; returns the number of bytes.
  std::size_t take_plaintext(std::span<std::uint8_t> out);

  /// Where to receive the next bytes (room for at least one whole record).
  std::span<std::uint8_t> input_space();
  void input_received(std::size_t n);
  /// Application data ready, or a whole record buffered: a read would not need the socket.
  bool has_buffered_input() const;
  /// Frees the input buffer when it holds nothing (an idle connection keeps no buffer).
  void release_idle_buffer();

  /// Appends to `out` the records carrying `pieces` (any total size; 16 KiB of plaintext per
  /// record), preceded by our KeyUpdate when the peer asked for one. False when sealing failed
  /// (the channel has failed then).
  bool seal(std::span<const std::span<const std::uint8_t>> pieces, std::vector<std::uint8_t>& out);
  /// A handshake message of ours (the session ticket after the gateway's own handshake) to seal
  /// before the next record we send, whatever it is: it goes out with the first response instead
  /// of in a send of its own. Dropped if the channel fails first (nothing was sealed with it).
  void seal_before_next_record(std::vector<std::uint8_t> handshake_message) {
    owed_message_ = std::move(handshake_message);
  }
  /// Appends close_notify (false: the channel can no longer seal).
  bool seal_close_notify(std::vector<std::uint8_t>& out);
  /// After Failed: the fatal alert we owe the peer (sealed into `out`), if any; once.
  bool seal_failure_alert(std::vector<std::uint8_t>& out);

  /// The failure, once process() or seal() returned it.
  boost::system::error_code error() const { return error_; }

 private:
  Step fail(AlertCode alert);
  /// Our keys failed to seal: the channel fails, with no alert it could still send.
  bool cannot_seal();
  Step handle_alert(std::span<const std::uint8_t> body);
  Step handle_handshake(std::span<const std::uint8_t> body);
  bool seal_record(ContentType type, std::span<const std::span<const std::uint8_t>> pieces,
                   std::vector<std::uint8_t>& out);
  /// Seals what is owed before the next record: the handshake message, then our KeyUpdate.
  bool seal_owed(std::vector<std::uint8_t>& out);

  TrafficKeys read_;
  TrafficKeys write_;
  std::unique_ptr<std::uint8_t[]> in_;  ///< raw input; plaintext is opened in place
  std::size_t in_size_ = 0;             ///< valid bytes in in_
  std::size_t raw_at_ = 0;              ///< first unprocessed raw byte
  std::size_t plain_at_ = 0;            ///< ready application data: [plain_at_, plain_end_)
  std::size_t plain_end_ = 0;
  bool closed_ = false;           ///< the peer's close_notify was read
  bool key_update_owed_ = false;  ///< the peer requested one: ours goes before our next data
  std::vector<std::uint8_t> owed_message_;  ///< see seal_before_next_record
  bool alert_pending_ = false;
  AlertCode alert_ = AlertCode::InternalError;
  boost::system::error_code error_;
};

}  // namespace portcullis::net
