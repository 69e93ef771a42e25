// The own TLS 1.3 server handshake: eligibility, the first flight (ServerHello,
// EncryptedExtensions, CertificateRequest, Certificate, CertificateVerify, Finished), the client's
// flight (Certificate, CertificateVerify, Finished), the key schedule around them, and the ticket.
#include "net/tls13_server_handshake.h"

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/error.hpp>

#include <algorithm>
#include <string_view>

#include "net/record_channel.h"
#include "net/tls13_crypto.h"
#include "net/tls13_records.h"
#include "net/tls13_wire.h"

namespace portcullis::net::tls13 {
namespace {

constexpr std::uint8_t kPskDheKe = 1;

/// What CertificateRequest offers, in OpenSSL's order: the schemes a client's CertificateVerify
/// may use, then the PKCS#1 and SHA-224 ones, which only certificates may be signed with in
/// TLS 1.3 (OpenSSL offers them too).
constexpr std::uint16_t kClientSchemes[] = {
    kEcdsaP256Sha256, kEcdsaP384Sha384, kEcdsaP521Sha512, kEd25519, kEd448, 0x0809, 0x080a, 0x080b,
    0x0804,           0x0805,           0x0806,           0x0401,   0x0501, 0x0601, 0x0303, 0x0301};

// Alerts this file sends (RFC 8446 §6.2), beyond the record layer's AlertCode.
constexpr std::uint8_t kAlertUnexpectedMessage = 10;
constexpr std::uint8_t kAlertBadCertificate = 42;
constexpr std::uint8_t kAlertUnsupportedCertificate = 43;
constexpr std::uint8_t kAlertCertificateRevoked = 44;
constexpr std::uint8_t kAlertCertificateExpired = 45;
constexpr std::uint8_t kAlertCertificateUnknown = 46;
constexpr std::uint8_t kAlertIllegalParameter = 47;
constexpr std::uint8_t kAlertUnknownCa = 48;
constexpr std::uint8_t kAlertDecodeError = 50;
constexpr std::uint8_t kAlertDecryptError = 51;
constexpr std::uint8_t kAlertInternalError = 80;
constexpr std::uint8_t kAlertCertificateRequired = 116;

constexpr std::string_view kServerContext = "TLS 1.3, server CertificateVerify";
constexpr std::string_view kClientContext = "TLS 1.3, client CertificateVerify";

/// Client chains the parsed-chain cache keeps: ones of a real client's size.
constexpr std::size_t kMaxCachedChainBytes = 16 * 1024;
constexpr std::size_t kMaxCachedChainCertificates = 8;

HashAlg suite_hash(std::uint16_t suite) {
  return suite == 0x1302 ? HashAlg::Sha384 : HashAlg::Sha256;
}

/// The alert OpenSSL's ssl_verify_alarm_type sends for a certificate verification error, so
/// that the own handshake refuses a chain with the same alert as OpenSSL's path.
std::uint8_t alert_for_verify_error(int error) {
  switch (error) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
    case X509_V_ERR_INVALID_CA:
      return kAlertUnknownCa;
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
    case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
    case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED:
      return kAlertBadCertificate;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
      return kAlertDecryptError;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CRL_HAS_EXPIRED:
      return kAlertCertificateExpired;
    case X509_V_ERR_CERT_REVOKED:
      return kAlertCertificateRevoked;
    case X509_V_ERR_UNSPECIFIED:
    case X509_V_ERR_OUT_OF_MEM:
      return kAlertInternalError;
    case X509_V_ERR_INVALID_PURPOSE:
      return kAlertUnsupportedCertificate;
    default:
      return kAlertCertificateUnknown;
  }
}

/// An error as OpenSSL's path reports it (the SSL library's reason code, in Asio's SSL
/// category), so logs and checks such as SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE are the same.
boost::system::error_code ssl_reason(int reason) {
  return {static_cast<int>(ERR_PACK(ERR_LIB_SSL, 0, reason)),
          boost::asio::error::get_ssl_category()};
}

/// The 64 spaces, context string and zero byte before a CertificateVerify's transcript hash.
std::vector<std::uint8_t> signed_content(std::string_view context, Bytes transcript_hash) {
  std::vector<std::uint8_t> content(64, 0x20);
  content.insert(content.end(), context.begin(), context.end());
  content.push_back(0);
  content.insert(content.end(), transcript_hash.begin(), transcript_hash.end());
  return content;
}

}  // namespace

// ---- the handshake ----------------------------------------------------------------------------

struct ServerHandshake::Keys {
  explicit Keys(HashAlg alg) : transcript(alg) {}
  Transcript transcript;
  RecordAead aead = RecordAead::Aes128Gcm;
  Digest handshake_secret;
  Digest client_handshake;  ///< c hs traffic
  Digest server_handshake;  ///< s hs traffic
  Digest master;
  Digest client_application;
  Digest server_application;
  std::optional<TrafficKeys> read;   ///< the client's handshake records
  std::optional<TrafficKeys> write;  ///< our handshake records (the encrypted flight)
  /// Ours from our Finished on (RFC 8446 §7.3): the ticket, and any alert after the flight.
  std::optional<TrafficKeys> app_write;
  HashAlg alg() const { return transcript.alg(); }
};

ServerHandshake::ServerHandshake(const ServerSetup& setup) : setup_(setup) {}

ServerHandshake::~ServerHandshake() = default;

std::unique_ptr<ServerHandshake> ServerHandshake::start(const ServerSetup& setup,
                                                        Bytes client_hello, std::string* why) {
  const ParsedHello parsed = parse_client_hello(client_hello);
  if (!parsed.hello) {
    // OpenSSL refuses it with its own alert and error: the same as before the own handshake.
    if (why != nullptr) *why = "malformed ClientHello";
    return nullptr;
  }
  std::unique_ptr<ServerHandshake> hs(new ServerHandshake(setup));
  if (!hs->begin(*parsed.hello, client_hello, why)) return nullptr;
  return hs;
}

bool ServerHandshake::begin(const ClientHello& hello, Bytes message, std::string* why) {
  const auto refuse = [why](const char* reason) {
    if (why != nullptr) *why = reason;
    return false;
  };
  if (std::find(hello.supported_versions.begin(), hello.supported_versions.end(), kTls13) ==
      hello.supported_versions.end()) {
    return refuse("TLS 1.3 not offered");
  }
  // The context may have been restricted after the setup was made: it decides, per handshake.
  if (!tls13_enabled(setup_.ctx)) return refuse("TLS 1.3 is disabled");
  if (!hello.null_compression) return refuse("no null compression");
  if (hello.early_data || hello.cookie) return refuse("early data or a cookie");
  // SECURITY: the context's verify mode decides, read per handshake: a context that asks for
  // client certificates without a ClientAuth known here is left to OpenSSL, which has the
  // verify callback; never a handshake that skips the check.
  request_certificate_ = (SSL_CTX_get_verify_mode(setup_.ctx) & SSL_VERIFY_PEER) != 0;
  if (request_certificate_ && setup_.auth == nullptr) {
    return refuse("client authentication not configured for the own handshake");
  }
  suite_ = choose_suite(setup_.ctx, hello.cipher_suites);
  if (suite_ == 0) return refuse("no common TLS 1.3 cipher suite");
  if (std::find(hello.supported_groups.begin(), hello.supported_groups.end(), kX25519) ==
      hello.supported_groups.end()) {
    return refuse("X25519 not offered");
  }
  Bytes peer_share;
  for (const auto& share : hello.key_shares) {
    if (share.group == kX25519) {
      peer_share = share.key;
      break;
    }
  }
  if (peer_share.size() != kX25519Size) return refuse("no X25519 key share");
  if (std::find(hello.signature_algorithms.begin(), hello.signature_algorithms.end(),
                kEcdsaP256Sha256) == hello.signature_algorithms.end()) {
    return refuse("ecdsa_secp256r1_sha256 not offered");
  }
  if (!build_first_flight(hello, message, peer_share)) {
    if (step_ == Step::Failed) return true;  // refused with an alert of our own
    return refuse("internal error");
  }
  return true;
}

bool ServerHandshake::build_first_flight(const ClientHello& hello, Bytes message,
                                         Bytes peer_share) {
  const HashAlg alg = suite_hash(suite_);
  const std::size_t hlen = hash_size(alg);
  keys_ = std::make_unique<Keys>(alg);
  keys_->aead = *record_aead_for_suite(suite_);
  const Digest empty_hash = hash(alg, {});
  const std::array<std::uint8_t, kMaxHashSize> zeros{};

  // ---- resumption: the first identity we issued, bound by its binder ------------------------
  std::optional<ResumableSession> session;
  std::size_t selected = 0;
  client_psk_dhe_ =
      std::find(hello.psk_modes.begin(), hello.psk_modes.end(), kPskDheKe) != hello.psk_modes.end();
  if (hello.has_pre_shared_key && setup_.sessions && client_psk_dhe_) {
    for (std::size_t i = 0; i < hello.psk_identities.size() && !session; ++i) {
      session = setup_.sessions->find(hello.psk_identities[i].identity);
      selected = i;
    }
    // A session of another hash cannot be used with this suite: a full handshake then.
    if (session && suite_hash(session->suite) != alg) session.reset();
  }
  Digest early = hkdf_extract(alg, {}, session ? session->psk.view() : Bytes(zeros.data(), hlen));
  if (session) {
    const Digest binder_key = derive_secret(alg, early.view(), "res binder", empty_hash.view());
    Digest finished_key;
    finished_key.size = hlen;
    if (!hkdf_expand_label(alg, binder_key.view(), "finished", {}, finished_key.view())) {
      return false;
    }
    const Digest truncated = hash(alg, message.first(hello.binders_offset));
    const Digest expected = hmac(alg, finished_key.view(), truncated.view());
    // SECURITY: the binder proves the client holds the PSK; a mismatch aborts (RFC 8446
    // §4.2.11), in constant time.
    if (!equal_secret(expected.view(), hello.psk_binders[selected])) {
      fail(kAlertDecryptError, ssl_reason(SSL_R_BINDER_DOES_NOT_VERIFY));
      return false;
    }
    resumed_ = true;
    verdict_ = session->verdict;
    leaf_ = session->leaf;
    established_ = session->established;
  }

  std::array<std::uint8_t, kX25519Size> our_share{};
  Digest shared;
  if (!x25519(peer_share, our_share, shared)) {
    fail(kAlertIllegalParameter, ssl_reason(SSL_R_BAD_KEY_SHARE));
    return false;
  }

  // ---- ServerHello ----------------------------------------------------------------------------
  std::array<std::uint8_t, 32> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) return false;
  std::vector<std::uint8_t> sh;
  {
    Writer w(sh);
    w.u8(kServerHello);
    const auto body = w.open(3);
    w.u16(0x0303);
    w.bytes(random);
    w.u8(static_cast<std::uint8_t>(hello.session_id.size()));
    w.bytes(hello.session_id);
    w.u16(suite_);
    w.u8(0);
    const auto exts = w.open(2);
    w.u16(ext::kSupportedVersions);
    w.u16(2);
    w.u16(kTls13);
    w.u16(ext::kKeyShare);
    w.u16(2 + 2 + kX25519Size);
    w.u16(kX25519);
    w.u16(kX25519Size);
    w.bytes(our_share);
    if (resumed_) {
      w.u16(ext::kPreSharedKey);
      w.u16(2);
      w.u16(static_cast<std::uint16_t>(selected));
    }
    w.close(exts);
    w.close(body);
  }
  keys_->transcript.update(message);
  keys_->transcript.update(sh);

  // ---- handshake secrets ----------------------------------------------------------------------
  const Digest derived_early = derive_secret(alg, early.view(), "derived", empty_hash.view());
  keys_->handshake_secret = hkdf_extract(alg, derived_early.view(), shared.view());
  const Digest th_hello = keys_->transcript.current();
  keys_->client_handshake =
      derive_secret(alg, keys_->handshake_secret.view(), "c hs traffic", th_hello.view());
  keys_->server_handshake =
      derive_secret(alg, keys_->handshake_secret.view(), "s hs traffic", th_hello.view());
  keys_->read = TrafficKeys::from_secret(keys_->aead, keys_->client_handshake.view(), 0);
  keys_->write = TrafficKeys::from_secret(keys_->aead, keys_->server_handshake.view(), 0);
  if (!keys_->read || !keys_->write) return false;

  // ---- the plaintext records: ServerHello, and the compatibility change_cipher_spec ----------
  {
    Writer w(out_);
    w.u8(static_cast<std::uint8_t>(ContentType::Handshake));
    w.u16(0x0303);
    w.u16(static_cast<std::uint16_t>(sh.size()));
    w.bytes(sh);
    // RFC 8446 §D.4: a client in middlebox compatibility mode (non-empty session id) gets one
    // change_cipher_spec after the ServerHello, as OpenSSL sends it.
    if (!hello.session_id.empty()) {
      static constexpr std::uint8_t kCcs[] = {20, 3, 3, 0, 1, 1};
      w.bytes(kCcs);
    }
  }

  // ---- the encrypted flight -------------------------------------------------------------------
  std::vector<std::uint8_t> flight;
  Writer w(flight);
  const auto append = [&](std::size_t from) {
    keys_->transcript.update(Bytes(flight.data() + from, flight.size() - from));
  };
  std::size_t at = flight.size();
  w.u8(kEncryptedExtensions);
  w.u24(2);
  w.u16(0);
  append(at);
  const bool ask_certificate = request_certificate_ && !resumed_;
  if (ask_certificate) {
    at = flight.size();
    w.u8(kCertificateRequest);
    const auto body = w.open(3);
    w.u8(0);  // certificate_request_context: empty during the handshake
    const auto exts = w.open(2);
    w.u16(ext::kSignatureAlgorithms);
    const auto sa = w.open(2);
    const auto list = w.open(2);
    for (std::uint16_t s : kClientSchemes) w.u16(s);
    w.close(list);
    w.close(sa);
    if (!setup_.ca_names.empty()) {
      w.u16(ext::kCertificateAuthorities);
      w.u16(static_cast<std::uint16_t>(setup_.ca_names.size()));
      w.bytes(setup_.ca_names);
    }
    w.close(exts);
    w.close(body);
    append(at);
  }
  if (!resumed_) {
    at = flight.size();
    w.u8(kCertificate);
    const auto body = w.open(3);
    w.u8(0);  // certificate_request_context
    const auto list = w.open(3);
    for (const auto& der : setup_.chain) {
      w.u24(static_cast<std::uint32_t>(der.size()));
      w.bytes(der);
      w.u16(0);  // no per-certificate extensions (no OCSP, no SCTs)
    }
    w.close(list);
    w.close(body);
    append(at);

    const Digest th_certificate = keys_->transcript.current();
    std::vector<std::uint8_t> signature;
    if (!sign_p256(setup_.key, signed_content(kServerContext, th_certificate.view()), signature)) {
      ERR_clear_error();
      return false;
    }
    at = flight.size();
    w.u8(kCertificateVerify);
    const auto cv = w.open(3);
    w.u16(kEcdsaP256Sha256);
    w.u16(static_cast<std::uint16_t>(signature.size()));
    w.bytes(signature);
    w.close(cv);
    append(at);
  }
  {
    Digest finished_key;
    finished_key.size = hlen;
    if (!hkdf_expand_label(alg, keys_->server_handshake.view(), "finished", {},
                           finished_key.view())) {
      return false;
    }
    const Digest th = keys_->transcript.current();
    const Digest verify_data = hmac(alg, finished_key.view(), th.view());
    at = flight.size();
    w.u8(kFinished);
    w.u24(static_cast<std::uint32_t>(hlen));
    w.bytes(verify_data.view());
    append(at);
  }
  // Sealed in records of at most 16 KiB (a long certificate chain takes several).
  for (std::size_t from = 0; from < flight.size(); from += kMaxRecordPlaintext) {
    const std::size_t n = std::min(kMaxRecordPlaintext, flight.size() - from);
    const std::span<const std::uint8_t> piece(flight.data() + from, n);
    const std::size_t base = out_.size();
    out_.resize(base + n + kRecordOverhead);
    const std::size_t sealed =
        keys_->write->seal(ContentType::Handshake, std::span(&piece, 1), out_.data() + base);
    if (sealed == 0) return false;
    out_.resize(base + sealed);
  }

  // ---- application secrets (over the transcript up to our Finished) -------------------------
  const Digest derived_handshake =
      derive_secret(alg, keys_->handshake_secret.view(), "derived", empty_hash.view());
  keys_->master = hkdf_extract(alg, derived_handshake.view(), Bytes(zeros.data(), hlen));
  const Digest th_server_finished = keys_->transcript.current();
  keys_->client_application =
      derive_secret(alg, keys_->master.view(), "c ap traffic", th_server_finished.view());
  keys_->server_application =
      derive_secret(alg, keys_->master.view(), "s ap traffic", th_server_finished.view());
  keys_->app_write = TrafficKeys::from_secret(keys_->aead, keys_->server_application.view(), 0);
  if (!keys_->app_write) return false;
  expect_ = ask_certificate ? Expect::Certificate : Expect::Finished;
  return true;
}

ServerHandshake::Step ServerHandshake::receive(std::vector<std::uint8_t>& input) {
  std::size_t at = 0;
  while (step_ == Step::NeedInput && input.size() - at >= kRecordHeaderSize) {
    std::uint8_t* record = input.data() + at;
    const std::uint8_t type = record[0];
    const std::size_t length = std::size_t{record[3]} << 8 | record[4];
    if (length > kMaxRecordCiphertext) {
      fail(static_cast<std::uint8_t>(AlertCode::RecordOverflow));
      break;
    }
    if (input.size() - at < kRecordHeaderSize + length) break;
    at += kRecordHeaderSize + length;
    const Bytes body(record + kRecordHeaderSize, length);
    if (type == static_cast<std::uint8_t>(ContentType::ChangeCipherSpec)) {
      // RFC 8446 §5: one change_cipher_spec with the single byte 1 is ignored (middlebox
      // compatibility); anything else is unexpected.
      if (ccs_seen_ || length != 1 || body[0] != 1) {
        fail(kAlertUnexpectedMessage);
        break;
      }
      ccs_seen_ = true;
      continue;
    }
    if (type == static_cast<std::uint8_t>(ContentType::Alert) && length == 2) {
      // A plaintext alert: the client could not even read our ServerHello.
      fail_for_peer_alert(body[1]);
      break;
    }
    if (type != static_cast<std::uint8_t>(ContentType::ApplicationData)) {
      fail(kAlertUnexpectedMessage);
      break;
    }
    const auto opened = keys_->read->open(std::span(record, kRecordHeaderSize + length));
    if (!opened.ok) {
      fail(static_cast<std::uint8_t>(opened.alert));
      break;
    }
    const Bytes plain(record + kRecordHeaderSize, opened.size);
    if (opened.type == ContentType::Alert) {
      if (plain.size() != 2) {
        fail(kAlertDecodeError);
        break;
      }
      fail_for_peer_alert(plain[1]);
      break;
    }
    if (opened.type != ContentType::Handshake || plain.empty()) {
      fail(kAlertUnexpectedMessage);
      break;
    }
    messages_.insert(messages_.end(), plain.begin(), plain.end());
    // SECURITY: the client's flight is bounded as OpenSSL bounds it: its Certificate by
    // max_cert_list (100 KiB by default), every other message by 16 KiB, checked on each
    // message's header before its body is buffered.
    const std::size_t max_certificate =
        static_cast<std::size_t>(SSL_CTX_get_max_cert_list(const_cast<SSL_CTX*>(setup_.ctx)));
    std::size_t used = 0;
    while (step_ == Step::NeedInput && messages_.size() - used >= 4) {
      const std::size_t n = std::size_t{messages_[used + 1]} << 16 |
                            std::size_t{messages_[used + 2]} << 8 | messages_[used + 3];
      if (n > (messages_[used] == kCertificate ? max_certificate : kMaxRecordPlaintext)) {
        fail(kAlertIllegalParameter, ssl_reason(SSL_R_EXCESSIVE_MESSAGE_SIZE));
        break;
      }
      if (messages_.size() - used - 4 < n) break;
      const Bytes message(messages_.data() + used, 4 + n);
      used += 4 + n;
      handle_message(message[0], message);
    }
    if (step_ == Step::Failed) {
      messages_ = {};
      break;
    }
    messages_.erase(messages_.begin(), messages_.begin() + static_cast<std::ptrdiff_t>(used));
    if (step_ == Step::Done) {
      if (!messages_.empty()) fail(kAlertUnexpectedMessage);
      messages_ = {};
    }
  }
  input.erase(input.begin(), input.begin() + static_cast<std::ptrdiff_t>(at));
  return step_;
}

ServerHandshake::Step ServerHandshake::handle_message(std::uint8_t type, Bytes message) {
  const Bytes body = message.subspan(4);
  switch (expect_) {
    case Expect::Certificate:
      if (type == kCertificate) return on_certificate(body, message);
      break;
    case Expect::CertificateVerify:
      if (type == kCertificateVerify) return on_certificate_verify(body, message);
      break;
    case Expect::Finished:
      if (type == kFinished) return on_finished(body, message);
      break;
    case Expect::Nothing:
      break;
  }
  return fail(kAlertUnexpectedMessage, ssl_reason(SSL_R_UNEXPECTED_MESSAGE));
}

ServerHandshake::Step ServerHandshake::on_certificate(Bytes body, Bytes message) {
  Reader r(body);
  std::uint8_t context_size = 0;
  std::uint32_t list_size = 0;
  Bytes context;
  Bytes list;
  if (!r.u8(context_size) || !r.bytes(context_size, context) || !r.u24(list_size) ||
      !r.bytes(list_size, list) || !r.empty()) {
    return fail(kAlertDecodeError, ssl_reason(SSL_R_LENGTH_MISMATCH));
  }
  if (!context.empty()) return fail(kAlertIllegalParameter, ssl_reason(SSL_R_INVALID_CONTEXT));
  const ParsedChains::Key chain_key = ParsedChains::key_of(list);
  bool parsed_now = false;
  presented_ = setup_.parsed_chains.find(chain_key);
  if (presented_.empty()) {
    Reader entries(list);
    while (!entries.empty()) {
      std::uint32_t der_size = 0;
      std::uint16_t ext_size = 0;
      Bytes der;
      Bytes exts;
      if (!entries.u24(der_size) || der_size == 0 || !entries.bytes(der_size, der) ||
          !entries.u16(ext_size) || !entries.bytes(ext_size, exts)) {
        presented_.clear();
        return fail(kAlertDecodeError, ssl_reason(SSL_R_CERT_LENGTH_MISMATCH));
      }
      const unsigned char* p = der.data();
      SharedX509 cert = share_x509(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
      // SECURITY: a certificate must be exactly its DER: trailing bytes are refused, as OpenSSL
      // does (they would not be covered by the chain's cache key otherwise).
      if (!cert || p != der.data() + der.size()) {
        ERR_clear_error();
        presented_.clear();
        return fail(kAlertBadCertificate, ssl_reason(SSL_R_CERT_LENGTH_MISMATCH));
      }
      presented_.push_back(std::move(cert));
    }
    parsed_now = true;
  }
  keys_->transcript.update(message);
  const ClientAuth& auth = *setup_.auth;
  if (presented_.empty()) {
    verdict_ = auth.missing;
    if (refuses_in_handshake(auth)) {
      return fail(kAlertCertificateRequired, ssl_reason(SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE));
    }
    expect_ = Expect::Finished;
    return step_;
  }
  leaf_ = presented_.front();
  std::vector<X509*> chain;
  chain.reserve(presented_.size());
  for (const auto& c : presented_) chain.push_back(c.get());
  auto verdict = verdict_for_chain(auth, chain);
  if (!verdict->ok()) {
    // A failed verdict is published at once: it is what a refusal logs, and what the pipeline
    // denies with in the other modes (where the CertificateVerify is still checked).
    verdict_ = std::move(verdict);
    if (refuses_in_handshake(auth)) {
      certificate_refused_ = true;
      return fail(alert_for_verify_error(verdict_alert_error(*verdict_)),
                  ssl_reason(SSL_R_CERTIFICATE_VERIFY_FAILED));
    }
  } else {
    // SECURITY: a good verdict only once the CertificateVerify proves the key.
    pending_verdict_ = std::move(verdict);
    if (parsed_now && cacheable(list.size())) setup_.parsed_chains.insert(chain_key, presented_);
  }
  expect_ = Expect::CertificateVerify;
  return step_;
}

ServerHandshake::Step ServerHandshake::on_certificate_verify(Bytes body, Bytes message) {
  Reader r(body);
  std::uint16_t scheme = 0;
  std::uint16_t size = 0;
  Bytes signature;
  if (!r.u16(scheme) || !r.u16(size) || !r.bytes(size, signature) || !r.empty()) {
    return fail(kAlertDecodeError, ssl_reason(SSL_R_LENGTH_MISMATCH));
  }
  const Digest th = keys_->transcript.current();
  EVP_PKEY* key = X509_get0_pubkey(leaf_.get());
  const SignatureCheck check =
      key ? verify_signature(key, scheme, signed_content(kClientContext, th.view()), signature)
          : SignatureCheck::Bad;
  ERR_clear_error();
  if (check == SignatureCheck::WrongScheme) {
    return fail(kAlertIllegalParameter, ssl_reason(SSL_R_WRONG_SIGNATURE_TYPE));
  }
  if (check == SignatureCheck::Bad) {
    return fail(kAlertDecryptError, ssl_reason(SSL_R_BAD_SIGNATURE));
  }
  keys_->transcript.update(message);
  if (pending_verdict_) verdict_ = std::move(pending_verdict_);
  expect_ = Expect::Finished;
  return step_;
}

bool ServerHandshake::cacheable(std::size_t list_size) const {
  // SECURITY: only chains that verified, of a real client's size, with the key types the
  // verification reads and never writes (a DSA key without parameters gets them filled in
  // during verification: no such object is shared between connections).
  if (list_size > kMaxCachedChainBytes || presented_.size() > kMaxCachedChainCertificates) {
    return false;
  }
  for (const auto& cert : presented_) {
    switch (EVP_PKEY_get_base_id(X509_get0_pubkey(cert.get()))) {
      case EVP_PKEY_EC:
      case EVP_PKEY_RSA:
      case EVP_PKEY_RSA_PSS:
      case EVP_PKEY_ED25519:
      case EVP_PKEY_ED448:
        break;
      default:
        return false;
    }
  }
  return true;
}

ServerHandshake::Step ServerHandshake::on_finished(Bytes body, Bytes message) {
  const HashAlg alg = keys_->alg();
  Digest finished_key;
  finished_key.size = hash_size(alg);
  if (!hkdf_expand_label(alg, keys_->client_handshake.view(), "finished", {},
                         finished_key.view())) {
    return fail(kAlertInternalError);
  }
  const Digest th = keys_->transcript.current();
  const Digest expected = hmac(alg, finished_key.view(), th.view());
  // SECURITY: constant time; the client's Finished proves it saw our whole flight.
  if (!equal_secret(expected.view(), body)) {
    return fail(kAlertDecryptError, ssl_reason(SSL_R_DIGEST_CHECK_FAILED));
  }
  keys_->transcript.update(message);
  expect_ = Expect::Nothing;
  // A ticket only for a client that could resume with it (psk_dhe_ke, RFC 8446 §4.2.9).
  if (setup_.issue_tickets && setup_.sessions && client_psk_dhe_ && !issue_ticket()) {
    return fail(kAlertInternalError);
  }
  step_ = Step::Done;
  return step_;
}

bool ServerHandshake::issue_ticket() {
  const HashAlg alg = keys_->alg();
  const Digest th = keys_->transcript.current();
  const Digest resumption = derive_secret(alg, keys_->master.view(), "res master", th.view());
  // One ticket per connection: its nonce only has to differ from this connection's others.
  static constexpr std::uint8_t kNonce[8] = {};
  ResumableSession session;
  session.psk.size = hash_size(alg);
  if (!hkdf_expand_label(alg, resumption.view(), "resumption", kNonce, session.psk.view())) {
    return false;
  }
  session.suite = suite_;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&session.age_add), sizeof session.age_add) != 1) {
    return false;
  }
  session.verdict = verdict_;
  session.leaf = leaf_;
  // A resumption's ticket keeps the full handshake's time: the session store refuses it once
  // the full handshake is older than the lifetime, so a verdict is re-made at least that often.
  session.established = resumed_ ? established_ : std::chrono::steady_clock::now();
  const std::uint32_t age_add = session.age_add;
  const auto ticket = setup_.sessions->insert(std::move(session));
  if (!ticket) return false;
  Writer w(ticket_);
  w.u8(kNewSessionTicket);
  const auto body = w.open(3);
  w.u32(static_cast<std::uint32_t>(setup_.sessions->lifetime().count()));
  w.u32(age_add);
  w.u8(sizeof kNonce);
  w.bytes(kNonce);
  w.u16(static_cast<std::uint16_t>(ticket->size()));
  w.bytes(*ticket);
  w.u16(0);  // no extensions: no early data
  w.close(body);
  return true;
}

RecordProtection ServerHandshake::take_protection() {
  auto read = TrafficKeys::from_secret(keys_->aead, keys_->client_application.view(), 0);
  RecordProtection protection{std::move(*read), std::move(*keys_->app_write)};
  release();
  return protection;
}

void ServerHandshake::release() {
  // SECURITY: the handshake's secrets (master, handshake traffic, the generation-0 application
  // secrets) are wiped now, not when the connection ends: a later KeyUpdate keeps its forward
  // secrecy. The client's chain goes too (receive() frees its message buffer once done or
  // failed); the verdict, the leaf and the suite stay for the connection.
  keys_.reset();
  presented_ = {};
}

const char* ServerHandshake::cipher_name() const {
  switch (suite_) {
    case 0x1301:
      return "TLS_AES_128_GCM_SHA256";
    case 0x1302:
      return "TLS_AES_256_GCM_SHA384";
    case 0x1303:
      return "TLS_CHACHA20_POLY1305_SHA256";
    default:
      return "";
  }
}

ServerHandshake::Step ServerHandshake::fail(std::uint8_t alert, boost::system::error_code error) {
  step_ = Step::Failed;
  error_ = error ? error : boost::system::error_code(alert, record_error_category());
  // The alert: in the clear while our flight is not out (the ServerHello itself failed), then
  // under our application traffic key, which protects everything we send after our Finished.
  const std::uint8_t payload[2] = {2, alert};
  const std::span<const std::uint8_t> piece(payload);
  TrafficKeys* keys = keys_ && keys_->app_write ? &*keys_->app_write : nullptr;
  if (keys != nullptr) {
    const std::size_t base = out_.size();
    out_.resize(base + sizeof payload + kRecordOverhead);
    out_.resize(base + keys->seal(ContentType::Alert, std::span(&piece, 1), out_.data() + base));
  } else {
    static constexpr std::uint8_t kHeader[] = {21, 3, 3, 0, 2};
    out_.insert(out_.end(), std::begin(kHeader), std::end(kHeader));
    out_.insert(out_.end(), std::begin(payload), std::end(payload));
  }
  release();
  return step_;
}

ServerHandshake::Step ServerHandshake::fail_for_peer_alert(std::uint8_t description) {
  step_ = Step::Failed;
  error_ = peer_alert_error(description);
  release();
  return step_;
}

}  // namespace portcullis::net::tls13
