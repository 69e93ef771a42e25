// Hand-off of TLS 1.3 record protection: the key-log callback keeps a watched connection's two
// application traffic secrets, the message callback counts the records protected with them
// (those after each side's Finished), and take_record_protection checks that OpenSSL holds
// nothing unprocessed before it builds the keys.
#include "net/tls_handoff.h"

#include <openssl/crypto.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "core/ascii.h"

namespace portcullis::net {
namespace {

/// What one watched connection has told the callbacks so far.
struct Watch {
  std::array<std::uint8_t, 48> client_secret{};
  std::array<std::uint8_t, 48> server_secret{};
  std::size_t client_secret_size = 0;
  std::size_t server_secret_size = 0;
  bool client_finished_read = false;
  bool server_finished_written = false;
  bool key_update_seen = false;
  std::uint64_t records_read = 0;     ///< client records after its Finished
  std::uint64_t records_written = 0;  ///< our records after our Finished

  ~Watch() {
    OPENSSL_cleanse(client_secret.data(), client_secret.size());
    OPENSSL_cleanse(server_secret.data(), server_secret.size());
  }
};

void free_watch(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<Watch*>(ptr);
}

int watch_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_watch);
  return index;
}

Watch* watch_of(const SSL* ssl) {
  return static_cast<Watch*>(SSL_get_ex_data(ssl, watch_index()));
}

/// Decodes the hex secret at the end of a key-log line ("LABEL <client random> <secret>").
std::size_t decode_secret(std::string_view line, std::array<std::uint8_t, 48>& out) {
  const auto space = line.rfind(' ');
  if (space == std::string_view::npos) return 0;
  const std::string_view hex = line.substr(space + 1);
  if (hex.size() % 2 != 0 || hex.size() / 2 > out.size()) return 0;
  for (std::size_t i = 0; i < hex.size() / 2; ++i) {
    const int hi = core::hex_digit_value(hex[2 * i]);
    const int lo = core::hex_digit_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return 0;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return hex.size() / 2;
}

void keylog(const SSL* ssl, const char* text) {
  Watch* w = watch_of(ssl);
  if (w == nullptr) return;
  const std::string_view line(text);
  // Only the two application traffic secrets are kept; the handshake and exporter secrets are
  // of no use here.
  if (line.starts_with("CLIENT_TRAFFIC_SECRET_0 ")) {
    w->client_secret_size = decode_secret(line, w->client_secret);
  } else if (line.starts_with("SERVER_TRAFFIC_SECRET_0 ")) {
    w->server_secret_size = decode_secret(line, w->server_secret);
  }
}

void on_message(int write_p, int, int content_type, const void* buf, std::size_t len, SSL*,
                void* arg) {
  auto* w = static_cast<Watch*>(arg);
  if (w == nullptr) return;
  if (content_type == SSL3_RT_HEADER) {
    // A record header, read or written. Those after a side's Finished are protected with that
    // side's application traffic key: they are the sequence number the hand-off starts from.
    if (write_p != 0 && w->server_finished_written) ++w->records_written;
    if (write_p == 0 && w->client_finished_read) ++w->records_read;
    return;
  }
  if (content_type != SSL3_RT_HANDSHAKE || len < 1) return;
  // A whole handshake message, reported once it has been read or written.
  const auto type = static_cast<const unsigned char*>(buf)[0];
  if (type == SSL3_MT_FINISHED) {
    if (write_p != 0) {
      w->server_finished_written = true;
    } else {
      w->client_finished_read = true;
    }
  } else if (type == SSL3_MT_KEY_UPDATE) {
    w->key_update_seen = true;  // the secrets of the key log are stale now
  }
}

std::optional<RecordProtection> refuse(std::string* why, const char* reason) {
  if (why != nullptr) *why = reason;
  return std::nullopt;
}

/// Stops watching: the callbacks go and the captured secrets are wiped.
void unwatch(SSL* ssl, Watch* w) {
  SSL_set_msg_callback(ssl, nullptr);
  SSL_set_msg_callback_arg(ssl, nullptr);
  SSL_set_ex_data(ssl, watch_index(), nullptr);
  delete w;
}

/// A refusal that no later attempt can overcome: the watch ends with it.
std::optional<RecordProtection> refuse_for_good(SSL* ssl, Watch* w, std::string* why,
                                                const char* reason) {
  unwatch(ssl, w);
  return refuse(why, reason);
}

}  // namespace

bool record_handoff_enabled() {
  const char* mode = std::getenv("PORTCULLIS_TLS_RECORDS");
  return mode == nullptr || std::string_view(mode) != "openssl";
}

void enable_record_handoff(SSL_CTX* ctx) {
  watch_index();  // allocated before any connection, not racing in the workers
  SSL_CTX_set_keylog_callback(ctx, keylog);
}

void watch_for_handoff(SSL* ssl) {
  if (SSL_CTX_get_keylog_callback(SSL_get_SSL_CTX(ssl)) != keylog) return;
  if (watch_of(ssl) != nullptr) return;
  auto* w = new Watch;
  SSL_set_ex_data(ssl, watch_index(), w);
  SSL_set_msg_callback(ssl, on_message);
  SSL_set_msg_callback_arg(ssl, w);
}

bool watched_for_handoff(const SSL* ssl) {
  return watch_of(ssl) != nullptr;
}

std::optional<RecordProtection> take_record_protection(SSL* ssl, std::string* why) {
  Watch* w = watch_of(ssl);
  if (w == nullptr) return refuse(why, "not watched");
  if (SSL_version(ssl) != TLS1_3_VERSION) return refuse_for_good(ssl, w, why, "not TLS 1.3");
  if (SSL_is_init_finished(ssl) != 1 || !w->client_finished_read || !w->server_finished_written) {
    return refuse(why, "handshake not finished");
  }
  if (SSL_get_shutdown(ssl) != 0) return refuse_for_good(ssl, w, why, "shut down");
  if (w->key_update_seen) {
    return refuse_for_good(ssl, w, why, "a KeyUpdate was processed by OpenSSL");
  }
  if (SSL_get_early_data_status(ssl) == SSL_EARLY_DATA_ACCEPTED) {
    return refuse_for_good(ssl, w, why, "early data accepted");
  }
  // SECURITY: bytes OpenSSL has taken from the socket but not processed, or a record it has not
  // finished sending, would be lost or resent with the wrong sequence number.
  if (SSL_has_pending(ssl) != 0 || std::string_view(SSL_rstate_string(ssl)) != "RH") {
    return refuse(why, "OpenSSL holds unread input");
  }
  if (SSL_want(ssl) != SSL_NOTHING) return refuse(why, "OpenSSL has an operation in progress");
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
  const auto aead =
      cipher ? record_aead_for_suite(SSL_CIPHER_get_protocol_id(cipher)) : std::nullopt;
  if (!aead) return refuse_for_good(ssl, w, why, "cipher suite not supported");
  auto read = TrafficKeys::from_secret(
      *aead, std::span(w->client_secret.data(), w->client_secret_size), w->records_read);
  auto write = TrafficKeys::from_secret(
      *aead, std::span(w->server_secret.data(), w->server_secret_size), w->records_written);
  if (!read || !write) return refuse_for_good(ssl, w, why, "traffic secrets not captured");
  unwatch(ssl, w);
  // Done with OpenSSL's record layer: it must neither send close_notify later nor treat the
  // session as broken (ssl_clear_bad_session) when the SSL is freed without a shutdown.
  SSL_set_quiet_shutdown(ssl, 1);
  SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  return RecordProtection{std::move(*read), std::move(*write)};
}

}  // namespace portcullis::net
