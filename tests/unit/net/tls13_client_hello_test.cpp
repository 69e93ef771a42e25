// ClientHello framing and decoding against real ClientHellos: OpenSSL clients write their first
// flight into a memory BIO (a fresh one with SNI and ALPN, and one resuming a session from an
// in-memory handshake, for pre_shared_key), and the parser must find what OpenSSL offered. The
// malformed cases mutate those hellos (or build one from parts): every truncation, duplicate
// and misplaced extensions, lengths that do not add up, and records that are not one hello.
#include "net/tls13_client_hello.h"

#include <gtest/gtest.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../common/demo_pki.h"

namespace portcullis::net::tls13 {
namespace {

using Buf = std::vector<std::uint8_t>;

constexpr char kHost[] = "gateway.example";

struct SslDeleter {
  void operator()(SSL* p) const { SSL_free(p); }
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
  void operator()(SSL_SESSION* p) const { SSL_SESSION_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, SslDeleter>;

Owned<SSL_CTX> client_ctx() {
  Owned<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()));
  // SSL_set_alpn_protos returns 0 on success.
  static const unsigned char kAlpn[] = "\x02h2\x08http/1.1";
  EXPECT_EQ(SSL_CTX_set_alpn_protos(ctx.get(), kAlpn, sizeof kAlpn - 1), 0);
  return ctx;
}

/// A server context with the demo PKI's server chain (written once per run). Generated the way
/// the gateway's own keys are, so the test also runs with the built-in EC method installed.
Owned<SSL_CTX> server_ctx() {
  Owned<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()));
  // A SHA-256 suite, so a resumed session's binder is 32 bytes.
  EXPECT_EQ(SSL_CTX_set_ciphersuites(ctx.get(), "TLS_AES_128_GCM_SHA256"), 1);
  EXPECT_EQ(SSL_CTX_use_certificate_chain_file(
                ctx.get(), portcullis::testing::demo_pki_path("server-chain.pem").c_str()),
            1);
  EXPECT_EQ(
      SSL_CTX_use_PrivateKey_file(
          ctx.get(), portcullis::testing::demo_pki_path("server.key").c_str(), SSL_FILETYPE_PEM),
      1);
  return ctx;
}

/// The bytes a client writes before it needs an answer: the record(s) of its ClientHello.
Buf first_flight(SSL_CTX* ctx, SSL_SESSION* session) {
  Owned<SSL> ssl(SSL_new(ctx));
  BIO* wbio = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl.get(), BIO_new(BIO_s_mem()), wbio);
  SSL_set_tlsext_host_name(ssl.get(), kHost);
  if (session != nullptr) {
    EXPECT_EQ(SSL_set_session(ssl.get(), session), 1);
  }
  const int rc = SSL_connect(ssl.get());
  EXPECT_EQ(SSL_get_error(ssl.get(), rc), SSL_ERROR_WANT_READ);
  char* data = nullptr;
  const long n = BIO_get_mem_data(wbio, &data);
  return Buf(data, data + n);
}

/// A ClientHello resuming a session: a full handshake over a BIO pair first, the ticket read
/// by the client, then a new client offering it.
Buf resuming_flight() {
  auto cctx = client_ctx();
  auto sctx = server_ctx();
  Owned<SSL> client(SSL_new(cctx.get()));
  Owned<SSL> server(SSL_new(sctx.get()));
  BIO* client_end = nullptr;
  BIO* server_end = nullptr;
  BIO_new_bio_pair(&client_end, 1 << 16, &server_end, 1 << 16);
  SSL_set_bio(client.get(), client_end, client_end);
  SSL_set_bio(server.get(), server_end, server_end);
  SSL_set_tlsext_host_name(client.get(), kHost);
  SSL_set_connect_state(client.get());
  SSL_set_accept_state(server.get());
  bool done = false;
  for (int i = 0; i < 20 && !done; ++i) {
    const int c = SSL_do_handshake(client.get());
    const int s = SSL_do_handshake(server.get());
    done = c == 1 && s == 1;
  }
  EXPECT_TRUE(done);
  char buf[64];
  EXPECT_LE(SSL_read(client.get(), buf, sizeof buf), 0);  // processes the NewSessionTickets
  Owned<SSL_SESSION> session(SSL_get1_session(client.get()));
  EXPECT_TRUE(session && SSL_SESSION_is_resumable(session.get()));
  return first_flight(cctx.get(), session.get());
}

const Buf& fresh_record() {
  static const Buf record = [] {
    auto ctx = client_ctx();
    return first_flight(ctx.get(), nullptr);
  }();
  return record;
}

const Buf& resuming_record() {
  static const Buf record = resuming_flight();
  return record;
}

Bytes message_of(const Buf& record) {
  return Bytes(record).subspan(5);
}

Buf fresh_message() {
  const Bytes m = message_of(fresh_record());
  return Buf(m.begin(), m.end());
}

Buf resuming_message() {
  const Bytes m = message_of(resuming_record());
  return Buf(m.begin(), m.end());
}

void put16(Buf& b, std::size_t at, std::size_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}
void put24(Buf& b, std::size_t at, std::size_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 16);
  put16(b, at + 1, v & 0xffff);
}
std::size_t get16(const Buf& b, std::size_t at) {
  return (std::size_t{b[at]} << 8) | b[at + 1];
}

/// A record of the given type, version and fragment (length taken from the fragment).
Buf record(Bytes fragment, std::uint8_t type = 22, std::uint8_t minor = 1) {
  Buf r{type, 3, minor, 0, 0};
  put16(r, 3, fragment.size());
  r.insert(r.end(), fragment.begin(), fragment.end());
  return r;
}

/// The message's handshake length set to what follows the header.
void fix_length(Buf& message) {
  put24(message, 1, message.size() - 4);
}

/// A ClientHello taken apart, independently of the parser under test (trusted input only): the
/// fields before the extensions, and each extension's type and body.
struct Parts {
  Buf preamble;  ///< legacy_version .. legacy_compression_methods
  std::vector<std::pair<std::uint16_t, Buf>> extensions;

  static Parts of(const Buf& message) {
    Parts p;
    std::size_t at = 4 + 2 + 32;
    at += 1 + message[at];         // session id
    at += 2 + get16(message, at);  // cipher suites
    at += 1 + message[at];         // compression
    p.preamble.assign(message.begin() + 4, message.begin() + static_cast<long>(at));
    const std::size_t end = at + 2 + get16(message, at);
    for (at += 2; at < end;) {
      const std::uint16_t type = static_cast<std::uint16_t>(get16(message, at));
      const std::size_t len = get16(message, at + 2);
      p.extensions.emplace_back(type, Buf(message.begin() + static_cast<long>(at + 4),
                                          message.begin() + static_cast<long>(at + 4 + len)));
      at += 4 + len;
    }
    return p;
  }

  Buf message() const {
    Buf m{1, 0, 0, 0};
    m.insert(m.end(), preamble.begin(), preamble.end());
    Buf block(2);
    for (const auto& [type, body] : extensions) {
      Buf header(4);
      put16(header, 0, type);
      put16(header, 2, body.size());
      block.insert(block.end(), header.begin(), header.end());
      block.insert(block.end(), body.begin(), body.end());
    }
    put16(block, 0, block.size() - 2);
    m.insert(m.end(), block.begin(), block.end());
    fix_length(m);
    return m;
  }

  Buf* find(std::uint16_t type) {
    for (auto& [t, body] : extensions) {
      if (t == type) return &body;
    }
    return nullptr;
  }
};

/// A minimal hello from parts: the fresh hello's preamble and the given extensions.
Buf with_extensions(std::vector<std::pair<std::uint16_t, Buf>> extensions) {
  Parts p = Parts::of(fresh_message());
  p.extensions = std::move(extensions);
  return p.message();
}

std::optional<HelloError> error_of(const Buf& message) {
  const ParsedHello parsed = parse_client_hello(message);
  if (parsed.hello) return std::nullopt;
  return parsed.error;
}

std::string str(Bytes b) {
  return std::string(b.begin(), b.end());
}

// ---- framing ----------------------------------------------------------------------------------

TEST(Tls13ClientHello, FramesARealClientHello) {
  const Buf& bytes = fresh_record();
  ASSERT_GT(bytes.size(), 5u);
  const HelloFrame frame = frame_client_hello(bytes);
  ASSERT_EQ(frame.status, HelloFrame::Status::ClientHello);
  EXPECT_EQ(frame.consumed, bytes.size());
  EXPECT_EQ(frame.message.data(), bytes.data() + 5);
  EXPECT_EQ(frame.message.size(), bytes.size() - 5);

  // Bytes after the record (the client's next flight) are left alone.
  Buf more = bytes;
  more.insert(more.end(), {20, 3, 3, 0, 1, 1});
  const HelloFrame with_more = frame_client_hello(more);
  ASSERT_EQ(with_more.status, HelloFrame::Status::ClientHello);
  EXPECT_EQ(with_more.consumed, bytes.size());
}

TEST(Tls13ClientHello, TruncatedRecordsNeedMore) {
  const Buf& bytes = fresh_record();
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    const HelloFrame frame = frame_client_hello(Bytes(bytes).first(n));
    EXPECT_EQ(frame.status, HelloFrame::Status::NeedMore) << n;
    EXPECT_EQ(frame.consumed, 0u) << n;
  }
}

TEST(Tls13ClientHello, RecordHeaders) {
  const Buf message = fresh_message();
  for (std::uint8_t minor : {0, 1, 2, 3, 4}) {
    EXPECT_EQ(frame_client_hello(record(message, 22, minor)).status,
              HelloFrame::Status::ClientHello)
        << int(minor);
  }
  EXPECT_EQ(frame_client_hello(record(message, 23)).status, HelloFrame::Status::Other);
  EXPECT_EQ(frame_client_hello(record(message, 21)).status, HelloFrame::Status::Other);
  EXPECT_EQ(frame_client_hello(record(message, 22, 5)).status, HelloFrame::Status::Other);
  Buf v2 = record(message);
  v2[1] = 2;
  EXPECT_EQ(frame_client_hello(v2).status, HelloFrame::Status::Other);

  // Refused from the first bytes that show it, without waiting for the rest.
  EXPECT_EQ(frame_client_hello(Buf{23}).status, HelloFrame::Status::Other);
  EXPECT_EQ(frame_client_hello(Buf{'G', 'E', 'T', ' '}).status, HelloFrame::Status::Other);
  EXPECT_EQ(frame_client_hello(Buf{0x80, 0x2e, 0x01, 0x03, 0x01}).status,  // SSLv2 hello
            HelloFrame::Status::Other);
  EXPECT_EQ(frame_client_hello(Buf{22, 3, 1, 0x40, 0x01}).status,  // length 16385
            HelloFrame::Status::Other);
  EXPECT_EQ(frame_client_hello(Buf{22, 3, 1, 0, 0}).status, HelloFrame::Status::Other);
  EXPECT_EQ(frame_client_hello(Buf{22, 3, 1, 0x40, 0x00}).status,  // 16384: wait for it
            HelloFrame::Status::NeedMore);
}

TEST(Tls13ClientHello, OneWholeHelloPerRecord) {
  const Buf message = fresh_message();
  // Two messages in one record.
  Buf two = message;
  two.insert(two.end(), message.begin(), message.end());
  EXPECT_EQ(frame_client_hello(record(two)).status, HelloFrame::Status::Other);
  // A hello followed by a byte of something else in its record.
  Buf extra = message;
  extra.push_back(0);
  EXPECT_EQ(frame_client_hello(record(extra)).status, HelloFrame::Status::Other);
  // Spread over two records: the first record holds only part of the message.
  const std::size_t half = message.size() / 2;
  Buf split = record(Bytes(message).first(half));
  const Buf second = record(Bytes(message).subspan(half));
  split.insert(split.end(), second.begin(), second.end());
  EXPECT_EQ(frame_client_hello(split).status, HelloFrame::Status::Other);
  // A handshake header split from its body.
  EXPECT_EQ(frame_client_hello(record(Bytes(message).first(3))).status, HelloFrame::Status::Other);
  // Another handshake message type.
  Buf finished = message;
  finished[0] = 20;
  EXPECT_EQ(frame_client_hello(record(finished)).status, HelloFrame::Status::Other);
}

// ---- real hellos -------------------------------------------------------------------------------

TEST(Tls13ClientHello, ParsesAFreshOpenSslHello) {
  const Bytes message = frame_client_hello(fresh_record()).message;
  const ParsedHello parsed = parse_client_hello(message);
  ASSERT_TRUE(parsed.hello);
  const ClientHello& h = *parsed.hello;

  EXPECT_EQ(h.random.size(), 32u);
  EXPECT_EQ(h.random.data(), message.data() + 6);  // a view, not a copy
  EXPECT_EQ(h.session_id.size(), 32u);             // middlebox compatibility mode
  EXPECT_TRUE(h.null_compression);
  EXPECT_NE(std::ranges::find(h.cipher_suites, 0x1301), h.cipher_suites.end());
  EXPECT_NE(std::ranges::find(h.supported_versions, 0x0304), h.supported_versions.end());
  EXPECT_NE(std::ranges::find(h.supported_groups, 0x001d), h.supported_groups.end());

  ASSERT_TRUE(h.has_key_share);
  const auto x25519 =
      std::ranges::find_if(h.key_shares, [](const KeyShare& k) { return k.group == 0x001d; });
  ASSERT_NE(x25519, h.key_shares.end());
  EXPECT_EQ(x25519->key.size(), 32u);

  ASSERT_TRUE(h.server_name);
  EXPECT_EQ(*h.server_name, kHost);
  ASSERT_TRUE(h.has_alpn);
  EXPECT_EQ(h.alpn, (std::vector<std::string_view>{"h2", "http/1.1"}));

  ASSERT_TRUE(h.has_signature_algorithms);
  EXPECT_NE(std::ranges::find(h.signature_algorithms, 0x0403), h.signature_algorithms.end());
  EXPECT_NE(std::ranges::find(h.signature_algorithms, 0x0804), h.signature_algorithms.end());
  EXPECT_EQ(h.psk_modes, (std::vector<std::uint8_t>{1}));  // psk_dhe_ke

  EXPECT_FALSE(h.has_pre_shared_key);
  EXPECT_FALSE(h.early_data);
  EXPECT_FALSE(h.cookie);
  EXPECT_FALSE(h.post_handshake_auth);

  // Every extension, in the order it was sent.
  std::vector<std::uint16_t> sent;
  for (const auto& [type, body] : Parts::of(fresh_message()).extensions) sent.push_back(type);
  EXPECT_EQ(h.extensions, sent);
  for (std::uint16_t t : {0, 10, 13, 16, 43, 45, 51}) {
    EXPECT_NE(std::ranges::find(h.extensions, t), h.extensions.end()) << t;
  }
}

TEST(Tls13ClientHello, ParsesAResumingOpenSslHello) {
  const Buf& bytes = resuming_record();
  const HelloFrame frame = frame_client_hello(bytes);
  ASSERT_EQ(frame.status, HelloFrame::Status::ClientHello);
  EXPECT_EQ(frame.consumed, bytes.size());
  const Bytes message = frame.message;
  const ParsedHello parsed = parse_client_hello(message);
  ASSERT_TRUE(parsed.hello);
  const ClientHello& h = *parsed.hello;

  ASSERT_TRUE(h.has_pre_shared_key);
  ASSERT_EQ(h.psk_identities.size(), 1u);
  EXPECT_GT(h.psk_identities[0].identity.size(), 0u);
  ASSERT_EQ(h.psk_binders.size(), 1u);
  EXPECT_EQ(h.psk_binders[0].size(), 32u);  // the session's suite: TLS_AES_128_GCM_SHA256
  ASSERT_FALSE(h.extensions.empty());
  EXPECT_EQ(h.extensions.back(), 41);
  // The binders list is the last thing in the message: uint16 length, uint8 length, binder.
  EXPECT_EQ(message.size() - h.binders_offset, 2u + 1 + 32);
  EXPECT_EQ(message[h.binders_offset], 0);
  EXPECT_EQ(message[h.binders_offset + 1], 33);
  EXPECT_EQ(h.psk_binders[0].data(), message.data() + h.binders_offset + 3);
  EXPECT_NE(std::ranges::find(h.psk_modes, 1), h.psk_modes.end());
  ASSERT_TRUE(h.server_name);
  EXPECT_EQ(*h.server_name, kHost);
}

// ---- truncation --------------------------------------------------------------------------------

TEST(Tls13ClientHello, EveryTruncationIsAnError) {
  for (const Buf& message : {fresh_message(), resuming_message()}) {
    for (std::size_t n = 0; n < message.size(); ++n) {
      // As cut, the handshake length no longer matches.
      Buf cut(message.begin(), message.begin() + static_cast<long>(n));
      EXPECT_EQ(error_of(cut), HelloError::DecodeError) << n;
    }
  }
}

TEST(Tls13ClientHello, TruncationWithTheHandshakeLengthPatched) {
  // With the outer length made to agree, the inner lengths must catch every cut, except the one
  // just before the extensions block: a hello without extensions is allowed.
  for (const Buf& message : {fresh_message(), resuming_message()}) {
    const std::size_t extensions_at = 4 + Parts::of(message).preamble.size();
    for (std::size_t n = 4; n < message.size(); ++n) {
      Buf cut(message.begin(), message.begin() + static_cast<long>(n));
      fix_length(cut);
      const ParsedHello parsed = parse_client_hello(cut);
      if (n == extensions_at) {
        ASSERT_TRUE(parsed.hello);
        EXPECT_TRUE(parsed.hello->extensions.empty());
        EXPECT_TRUE(parsed.hello->supported_versions.empty());
        EXPECT_FALSE(parsed.hello->has_key_share);
      } else {
        EXPECT_FALSE(parsed.hello) << n;
      }
    }
  }
}

TEST(Tls13ClientHello, TruncationWithTheExtensionsLengthPatched) {
  // Both the handshake and the extensions block lengths agree with the cut: only cuts between
  // extensions may pass (and only once the block reaches its minimum of 8 bytes).
  const Buf message = fresh_message();
  const Parts parts = Parts::of(message);
  const std::size_t block_at = 4 + parts.preamble.size();
  std::vector<std::size_t> boundaries;
  std::size_t at = block_at + 2;
  for (const auto& [type, body] : parts.extensions) boundaries.push_back(at += 4 + body.size());
  for (std::size_t n = block_at + 2; n < message.size(); ++n) {
    Buf cut(message.begin(), message.begin() + static_cast<long>(n));
    fix_length(cut);
    put16(cut, block_at, n - block_at - 2);
    const bool whole = std::ranges::find(boundaries, n) != boundaries.end();
    const bool valid = whole && n - block_at - 2 >= 8;
    EXPECT_EQ(parse_client_hello(cut).hello.has_value(), valid) << n;
  }
}

TEST(Tls13ClientHello, RandomCorruptionIsRefusedOrParsedSafely) {
  // Bytes flipped at random (a fixed seed): whatever the outcome, no read outside the message
  // (the sanitizers watch) and every view inside it.
  std::uint32_t seed = 12345;
  const auto next = [&seed] { return seed = seed * 1664525u + 1013904223u; };
  for (const Buf& original : {fresh_message(), resuming_message()}) {
    for (int round = 0; round < 3000; ++round) {
      Buf message = original;
      for (int flips = 1 + next() % 4; flips > 0; --flips) {
        message[4 + (next() >> 8) % (message.size() - 4)] = static_cast<std::uint8_t>(next() >> 24);
      }
      const ParsedHello parsed = parse_client_hello(message);
      if (!parsed.hello) continue;
      const auto inside = [&message](Bytes b) {
        return b.empty() || (b.data() >= message.data() &&
                             b.data() + b.size() <= message.data() + message.size());
      };
      EXPECT_TRUE(inside(parsed.hello->random) && inside(parsed.hello->session_id));
      for (const KeyShare& k : parsed.hello->key_shares) EXPECT_TRUE(inside(k.key));
      for (const Bytes& b : parsed.hello->psk_binders) EXPECT_TRUE(inside(b));
      EXPECT_LE(parsed.hello->binders_offset, message.size());
    }
  }
}

// ---- malformed hellos --------------------------------------------------------------------------

TEST(Tls13ClientHello, HandshakeHeader) {
  Buf message = fresh_message();
  message[0] = 2;
  EXPECT_EQ(error_of(message), HelloError::DecodeError);
  message = fresh_message();
  message.push_back(0);  // one byte more than the header says
  EXPECT_EQ(error_of(message), HelloError::DecodeError);
  EXPECT_EQ(error_of(Buf{}), HelloError::DecodeError);
  EXPECT_EQ(error_of(Buf{1, 0, 0, 0}), HelloError::DecodeError);
}

TEST(Tls13ClientHello, TrailingBytesAfterExtensions) {
  Buf message = fresh_message();
  message.push_back(0);
  fix_length(message);
  EXPECT_EQ(error_of(message), HelloError::DecodeError);
}

TEST(Tls13ClientHello, DuplicateExtension) {
  Parts p = Parts::of(fresh_message());
  p.extensions.push_back(p.extensions.front());  // server_name twice
  EXPECT_EQ(error_of(p.message()), HelloError::IllegalParameter);
  Parts unknown = Parts::of(fresh_message());
  unknown.extensions.emplace_back(0xfafa, Buf{});
  unknown.extensions.emplace_back(0xfafa, Buf{1});
  EXPECT_EQ(error_of(unknown.message()), HelloError::IllegalParameter);
}

TEST(Tls13ClientHello, PreSharedKeyMustBeLast) {
  Parts p = Parts::of(resuming_message());
  ASSERT_EQ(p.extensions.back().first, 41);
  EXPECT_TRUE(parse_client_hello(p.message()).hello);  // rebuilt as it was
  std::rotate(p.extensions.begin(), p.extensions.begin() + 1, p.extensions.end());
  EXPECT_EQ(error_of(p.message()), HelloError::IllegalParameter);
  Parts unknown_after = Parts::of(resuming_message());
  unknown_after.extensions.emplace_back(0xfafa, Buf{});
  EXPECT_EQ(error_of(unknown_after.message()), HelloError::IllegalParameter);
}

TEST(Tls13ClientHello, BinderCountMustMatchIdentities) {
  Parts p = Parts::of(resuming_message());
  Buf& psk = p.extensions.back().second;
  // A second 32-byte binder for the one identity.
  const std::size_t binders_at = 2 + get16(psk, 0);
  put16(psk, binders_at, get16(psk, binders_at) + 33);
  psk.push_back(32);
  psk.insert(psk.end(), 32, 0xab);
  EXPECT_EQ(error_of(p.message()), HelloError::IllegalParameter);
  // A binder shorter than 32 bytes is a decode error.
  Parts short_binder = Parts::of(resuming_message());
  Buf& psk2 = short_binder.extensions.back().second;
  const std::size_t at2 = 2 + get16(psk2, 0);
  put16(psk2, at2, get16(psk2, at2) - 1);
  psk2[at2 + 2] = 31;
  psk2.pop_back();
  EXPECT_EQ(error_of(short_binder.message()), HelloError::DecodeError);
}

TEST(Tls13ClientHello, BadInnerExtensionLengths) {
  {
    // supported_versions claims one version less than its body holds: trailing bytes.
    Parts p = Parts::of(fresh_message());
    Buf* versions = p.find(43);
    ASSERT_TRUE(versions);
    ASSERT_GE((*versions)[0], 4);
    (*versions)[0] -= 2;
    EXPECT_EQ(error_of(p.message()), HelloError::DecodeError);
    (*versions)[0] += 4;  // and more than it holds
    EXPECT_EQ(error_of(p.message()), HelloError::DecodeError);
  }
  {
    // An extension length running past the extensions block.
    Buf message = fresh_message();
    const std::size_t block_at = 4 + Parts::of(message).preamble.size();
    put16(message, block_at + 4, get16(message, block_at + 4) + 1);
    EXPECT_EQ(error_of(message), HelloError::DecodeError);
  }
  {
    // key_share's list length one short of its body.
    Parts p = Parts::of(fresh_message());
    Buf* shares = p.find(51);
    ASSERT_TRUE(shares);
    put16(*shares, 0, get16(*shares, 0) - 1);
    EXPECT_EQ(error_of(p.message()), HelloError::DecodeError);
  }
}

TEST(Tls13ClientHello, OddCipherSuitesLength) {
  Buf message = fresh_message();
  const std::size_t suites_at = 4 + 2 + 32 + 1 + message[4 + 2 + 32];
  put16(message, suites_at, get16(message, suites_at) + 1);
  message.insert(message.begin() + static_cast<long>(suites_at + 2), 0x13);
  fix_length(message);
  EXPECT_EQ(error_of(message), HelloError::DecodeError);
  // No cipher suites at all is below the minimum of 2.
  Parts p = Parts::of(fresh_message());
  const std::size_t at = 2 + 32 + 1 + p.preamble[2 + 32];
  const auto n = static_cast<long>(get16(p.preamble, at));
  p.preamble.erase(p.preamble.begin() + static_cast<long>(at + 2),
                   p.preamble.begin() + static_cast<long>(at + 2) + n);
  put16(p.preamble, at, 0);
  EXPECT_EQ(error_of(p.message()), HelloError::DecodeError);
}

TEST(Tls13ClientHello, SessionIdLongerThan32) {
  Buf message = fresh_message();
  const std::size_t at = 4 + 2 + 32;
  ASSERT_EQ(message[at], 32);
  message[at] = 33;
  message.insert(message.begin() + static_cast<long>(at + 1), 0x55);
  fix_length(message);
  EXPECT_EQ(error_of(message), HelloError::DecodeError);
}

TEST(Tls13ClientHello, CompressionMethods) {
  Parts p = Parts::of(fresh_message());
  const std::size_t at = p.preamble.size() - 2;  // OpenSSL sends exactly one method: null
  ASSERT_EQ(p.preamble[at], 1);
  p.preamble[at + 1] = 1;  // DEFLATE only
  const ParsedHello parsed = parse_client_hello(p.message());
  ASSERT_TRUE(parsed.hello);
  EXPECT_FALSE(parsed.hello->null_compression);
  p.preamble[at] = 0;  // an empty list
  p.preamble.pop_back();
  EXPECT_EQ(error_of(p.message()), HelloError::DecodeError);
}

TEST(Tls13ClientHello, ExtensionsBlockBelowItsMinimum) {
  EXPECT_EQ(error_of(with_extensions({})), HelloError::DecodeError);
  EXPECT_EQ(error_of(with_extensions({{0xfafa, {}}})), HelloError::DecodeError);  // 4 bytes
  EXPECT_TRUE(parse_client_hello(with_extensions({{0xfafa, {}}, {0x0a0a, {}}})).hello);
}

// ---- extension bodies ---------------------------------------------------------------------------

struct BodyCase {
  std::uint16_t type;
  Buf body;
  std::optional<HelloError> expected;  // nullopt: accepted
};

TEST(Tls13ClientHello, ExtensionBodies) {
  constexpr auto kDecode = HelloError::DecodeError;
  const std::vector<BodyCase> cases = {
      {0, {0, 5, 0, 0, 2, 'a', 'b'}, std::nullopt},
      {0, {0, 0}, kDecode},                        // empty ServerNameList
      {0, {0, 3, 0, 0, 0}, kDecode},               // empty host name
      {0, {0, 5, 0, 0, 2, 'a', 'b', 0}, kDecode},  // trailing byte
      {0, {0, 5, 0, 0, 3, 'a', 'b'}, kDecode},     // name past the list
      {10, {0, 2, 0, 0x1d}, std::nullopt},
      {10, {0, 3, 0, 0x1d, 0}, kDecode},  // odd
      {10, {0, 0}, kDecode},              // empty
      {13, {0, 2, 4, 3}, std::nullopt},
      {13, {0, 1, 4}, kDecode},
      {50, {0, 2, 4, 3}, std::nullopt},
      {50, {0, 0}, kDecode},
      {16, {0, 3, 2, 'h', '2'}, std::nullopt},
      {16, {0, 0}, kDecode},        // empty list
      {16, {0, 2, 0, 1}, kDecode},  // empty name
      {16, {0, 3, 3, 'h', '2'}, kDecode},
      {43, {2, 3, 4}, std::nullopt},
      {43, {3, 3, 4, 3}, kDecode},  // odd
      {43, {0}, kDecode},
      {45, {1, 1}, std::nullopt},
      {45, {0}, kDecode},
      {51, {0, 0}, std::nullopt},  // empty client_shares: asks for a HelloRetryRequest
      {51, {0, 5, 0, 0x1d, 0, 1, 7}, std::nullopt},
      {51, {0, 4, 0, 0x1d, 0, 0}, kDecode},  // empty key_exchange
      {51, {0, 5, 0, 0x1d, 0, 2, 7}, kDecode},
      {42, {}, std::nullopt},
      {42, {0}, kDecode},
      {49, {}, std::nullopt},
      {49, {0}, kDecode},
      {44, {0, 1, 9}, std::nullopt},
      {44, {0, 0}, kDecode},
      {5, {1, 0, 0, 0, 0}, std::nullopt},
      {5, {1, 0, 0}, kDecode},
      {5, {1, 0, 2, 0, 0, 0, 0}, kDecode},  // empty ResponderID
      {0xfafa, {1, 2, 3}, std::nullopt},
      {41, {}, kDecode},
  };
  for (const BodyCase& c : cases) {
    // Padded with an unknown extension so the block meets its minimum of 8 bytes.
    const Buf message = with_extensions({{0x0a0a, {}}, {c.type, c.body}});
    EXPECT_EQ(error_of(message), c.expected) << c.type << " " << ::testing::PrintToString(c.body);
  }
}

TEST(Tls13ClientHello, DecodedExtensionValues) {
  const Buf message = with_extensions({
      {0, {0, 9, 1, 0, 1, 'x', 0, 0, 2, 'a', 'b'}},  // the first host_name entry
      {5, {1, 0, 0, 0, 0}},
      {42, {}},
      {44, {0, 1, 9}},
      {49, {}},
      {51, {0, 0}},
      {0xfafa, {1, 2, 3}},
  });
  const ParsedHello parsed = parse_client_hello(message);
  ASSERT_TRUE(parsed.hello);
  const ClientHello& h = *parsed.hello;
  ASSERT_TRUE(h.server_name);
  EXPECT_EQ(*h.server_name, "ab");
  EXPECT_TRUE(h.status_request);
  EXPECT_TRUE(h.early_data);
  EXPECT_TRUE(h.cookie);
  EXPECT_TRUE(h.post_handshake_auth);
  EXPECT_TRUE(h.has_key_share);
  EXPECT_TRUE(h.key_shares.empty());
  EXPECT_FALSE(h.has_alpn);
  EXPECT_FALSE(h.has_signature_algorithms);
  EXPECT_EQ(h.extensions, (std::vector<std::uint16_t>{0, 5, 42, 44, 49, 51, 0xfafa}));
}

TEST(Tls13ClientHello, HandBuiltPreSharedKey) {
  // Two identities, two binders of different lengths (SHA-256 and SHA-384 suites).
  Buf psk = {0, 18, 0, 3, 'o', 'n', 'e', 0, 0, 0, 7, 0, 3, 't', 'w', 'o', 0, 0, 0, 9};
  Buf binders = {0, 2 + 32 + 48, 32};
  binders.insert(binders.end(), 32, 0x11);
  binders.push_back(48);
  binders.insert(binders.end(), 48, 0x22);
  psk.insert(psk.end(), binders.begin(), binders.end());
  const Buf message = with_extensions({{0x0a0a, {}}, {45, {1, 1}}, {41, psk}});
  const ParsedHello parsed = parse_client_hello(message);
  ASSERT_TRUE(parsed.hello);
  const ClientHello& h = *parsed.hello;
  ASSERT_EQ(h.psk_identities.size(), 2u);
  EXPECT_EQ(str(h.psk_identities[0].identity), "one");
  EXPECT_EQ(h.psk_identities[0].obfuscated_ticket_age, 7u);
  EXPECT_EQ(str(h.psk_identities[1].identity), "two");
  EXPECT_EQ(h.psk_identities[1].obfuscated_ticket_age, 9u);
  ASSERT_EQ(h.psk_binders.size(), 2u);
  EXPECT_EQ(h.psk_binders[0].size(), 32u);
  EXPECT_EQ(h.psk_binders[1].size(), 48u);
  EXPECT_EQ(message.size() - h.binders_offset, binders.size());

  // An identity list below its minimum of 7 bytes; an empty identity.
  EXPECT_EQ(error_of(with_extensions({{0x0a0a, {}}, {41, {0, 0, 0, 0}}})), HelloError::DecodeError);
  Buf empty_identity = {0, 13, 0, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 0, 0};
  empty_identity.insert(empty_identity.end(), binders.begin(), binders.end());
  EXPECT_EQ(error_of(with_extensions({{0x0a0a, {}}, {41, empty_identity}})),
            HelloError::DecodeError);
}

}  // namespace
}  // namespace portcullis::net::tls13
