// RecordChannel: input is received into one buffer (allocated while there is something to read,
// freed when idle) and records are opened in place, so application data is copied once, into
// the caller's buffer. Errors become a fatal alert for the peer and a named error code.
#include "net/record_channel.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace portcullis::net {
namespace {

/// A peer's alert is kPeerAlert | description; ours is the description alone.
constexpr int kPeerAlert = 0x100;

class RecordErrorCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "tls-records"; }
  std::string message(int value) const override {
    const auto description = static_cast<std::uint8_t>(value & 0xff);
    if (value & kPeerAlert)
      return "the peer sent TLS alert " + std::string(alert_name(description));
    return "TLS record error: " + std::string(alert_name(description));
  }
};

/// Input buffer size: one whole record of the largest size, with room to spare for the start
/// of the next.
constexpr std::size_t kInputCapacity = kMaxRecordSize + 2048;

/// The handshake message type of KeyUpdate (RFC 8446 §4), the only one a client may send after
/// the handshake to a server that never asks for post-handshake authentication.
constexpr std::uint8_t kKeyUpdate = 24;

/// Appends one sealed record to `out`; false (and `out` as it was) when sealing failed.
bool append_record(TrafficKeys& keys, ContentType type,
                   std::span<const std::span<const std::uint8_t>> pieces,
                   std::vector<std::uint8_t>& out) {
  std::size_t total = 0;
  for (const auto& p : pieces) total += p.size();
  const std::size_t at = out.size();
  out.resize(at + total + kRecordOverhead);
  const std::size_t n = keys.seal(type, pieces, out.data() + at);
  out.resize(at + n);
  return n > 0;
}

}  // namespace

const boost::system::error_category& record_error_category() {
  static const RecordErrorCategory category;
  return category;
}

boost::system::error_code peer_alert_error(std::uint8_t description) {
  return {kPeerAlert | description, record_error_category()};
}

RecordChannel::RecordChannel(RecordProtection keys)
    : read_(std::move(keys.read)), write_(std::move(keys.write)) {}

RecordChannel::Step RecordChannel::fail(AlertCode alert) {
  if (!error_) {
    error_ = boost::system::error_code(static_cast<int>(alert), record_error_category());
    alert_ = alert;
    alert_pending_ = true;
  }
  return Step::Failed;
}

RecordChannel::Step RecordChannel::process() {
  if (error_) return Step::Failed;
  if (closed_) return Step::Closed;  // nothing after close_notify counts (RFC 8446 §6.1)
  for (;;) {
    if (plain_at_ < plain_end_) return Step::Data;
    const std::span<std::uint8_t> raw(in_.get() + raw_at_, in_size_ - raw_at_);
    const RecordFraming framing = frame_record(raw);
    if (framing.error) return fail(*framing.error);
    if (!framing.size || raw.size() < *framing.size) return Step::NeedInput;
    const std::span<std::uint8_t> record = raw.first(*framing.size);
    const TrafficKeys::Opened opened = read_.open(record);
    if (!opened.ok) return fail(opened.alert);
    raw_at_ += record.size();
    const std::span<const std::uint8_t> body(record.data() + kRecordHeaderSize, opened.size);
    switch (opened.type) {
      case ContentType::ApplicationData:
        // Zero-length application data is allowed (RFC 8446 §5.1): nothing to deliver.
        plain_at_ = static_cast<std::size_t>(body.data() - in_.get());
        plain_end_ = plain_at_ + body.size();
        break;
      case ContentType::Alert: {
        const Step step = handle_alert(body);
        if (step != Step::NeedInput) return step;
        break;
      }
      case ContentType::Handshake: {
        const Step step = handle_handshake(body);
        if (step != Step::NeedInput) return step;
        break;
      }
      default:
        return fail(AlertCode::UnexpectedMessage);
    }
  }
}

RecordChannel::Step RecordChannel::handle_alert(std::span<const std::uint8_t> body) {
  if (body.size() != 2) return fail(AlertCode::DecodeError);
  const std::uint8_t description = body[1];
  if (description == static_cast<std::uint8_t>(AlertCode::CloseNotify)) {
    closed_ = true;
    return Step::Closed;
  }
  // user_canceled announces a close_notify (RFC 8446 §6.1): keep reading for it.
  if (description == static_cast<std::uint8_t>(AlertCode::UserCanceled)) return Step::NeedInput;
  // Any other alert is fatal in TLS 1.3 whatever its level; nothing is sent back.
  error_ = peer_alert_error(description);
  return Step::Failed;
}

RecordChannel::Step RecordChannel::handle_handshake(std::span<const std::uint8_t> body) {
  // KeyUpdate precedes a key change, so it ends its record (RFC 8446 §5.1); the gateway also
  // requires it to be the record's only message.
  if (body.empty() || body[0] != kKeyUpdate) return fail(AlertCode::UnexpectedMessage);
  if (body.size() != 5 || body[1] != 0 || body[2] != 0 || body[3] != 1) {
    return fail(AlertCode::DecodeError);
  }
  const std::uint8_t request_update = body[4];
  if (request_update > 1) return fail(AlertCode::IllegalParameter);
  if (!read_.update()) return fail(AlertCode::InternalError);
  if (request_update == 1) key_update_owed_ = true;
  return Step::NeedInput;
}

std::size_t RecordChannel::take_plaintext(std::span<std::uint8_t> out) {
  const std::size_t n = std::min(out.size(), plain_end_ - plain_at_);
  std::memcpy(out.data(), in_.get() + plain_at_, n);
  plain_at_ += n;
  return n;
}

std::span<std::uint8_t> RecordChannel::input_space() {
  if (!in_) {
    in_ = std::make_unique_for_overwrite<std::uint8_t[]>(kInputCapacity);
    in_size_ = raw_at_ = plain_at_ = plain_end_ = 0;
  }
  // Only called once the application data is taken: the unprocessed bytes move to the front.
  if (raw_at_ > 0) {
    std::memmove(in_.get(), in_.get() + raw_at_, in_size_ - raw_at_);
    in_size_ -= raw_at_;
    raw_at_ = plain_at_ = plain_end_ = 0;
  }
  return {in_.get() + in_size_, kInputCapacity - in_size_};
}

void RecordChannel::input_received(std::size_t n) {
  in_size_ += n;
}

bool RecordChannel::has_buffered_input() const {
  if (plain_at_ < plain_end_) return true;
  const RecordFraming framing =
      frame_record(std::span<const std::uint8_t>(in_.get() + raw_at_, in_size_ - raw_at_));
  return framing.error || (framing.size && in_size_ - raw_at_ >= *framing.size);
}

void RecordChannel::release_idle_buffer() {
  if (plain_at_ < plain_end_ || raw_at_ < in_size_) return;
  in_.reset();
  in_size_ = raw_at_ = plain_at_ = plain_end_ = 0;
}

bool RecordChannel::seal_record(ContentType type,
                                std::span<const std::span<const std::uint8_t>> pieces,
                                std::vector<std::uint8_t>& out) {
  return append_record(write_, type, pieces, out) || cannot_seal();
}

bool RecordChannel::cannot_seal() {
  fail(AlertCode::InternalError);
  alert_pending_ = false;  // the keys that would seal it just failed
  return false;
}

bool RecordChannel::seal_owed(std::vector<std::uint8_t>& out) {
  if (!owed_message_.empty()) {
    const std::span<const std::uint8_t> message(owed_message_);
    if (!seal_record(ContentType::Handshake, std::span(&message, 1), out)) return false;
    owed_message_ = {};
  }
  if (!key_update_owed_) return true;
  // KeyUpdate(update_not_requested) with the current key, then ours changes (RFC 8446 §4.6.3).
  static constexpr std::uint8_t kMessage[] = {kKeyUpdate, 0, 0, 1, 0};
  const std::span<const std::uint8_t> piece(kMessage);
  if (!seal_record(ContentType::Handshake, std::span(&piece, 1), out)) return false;
  key_update_owed_ = false;
  return write_.update() || cannot_seal();
}

bool RecordChannel::seal(std::span<const std::span<const std::uint8_t>> pieces,
                         std::vector<std::uint8_t>& out) {
  if (error_ || !seal_owed(out)) return false;
  // Records of up to 16 KiB of plaintext, each gathered from as many pieces as it spans.
  std::span<const std::uint8_t> parts[16];
  std::size_t index = 0;
  std::size_t offset = 0;
  while (index < pieces.size()) {
    const std::size_t count = gather_window(pieces, index, offset, kMaxRecordPlaintext, parts);
    if (count > 0 && !seal_record(ContentType::ApplicationData, std::span(parts, count), out)) {
      return false;
    }
  }
  return true;
}

bool RecordChannel::seal_close_notify(std::vector<std::uint8_t>& out) {
  if (error_ || !seal_owed(out)) return false;
  static constexpr std::uint8_t kAlert[] = {1, 0};  // warning, close_notify
  const std::span<const std::uint8_t> piece(kAlert);
  return seal_record(ContentType::Alert, std::span(&piece, 1), out);
}

bool RecordChannel::seal_failure_alert(std::vector<std::uint8_t>& out) {
  if (!alert_pending_) return false;
  alert_pending_ = false;
  const std::uint8_t alert[] = {2, static_cast<std::uint8_t>(alert_)};  // fatal
  const std::span<const std::uint8_t> piece(alert);
  return append_record(write_, ContentType::Alert, std::span(&piece, 1), out);
}

}  // namespace portcullis::net
