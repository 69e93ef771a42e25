// Framing and decoding of a TLS 1.3 ClientHello (RFC 8446 §4.1.2, §4.2). Every field is read
// through a bounds-checked Reader (net/tls13_wire.h) over the message, so hostile lengths end in an
// error, never a read past the buffer; each extension's body must be consumed exactly by its own
// parser. The result holds views into the message, so nothing is copied and nothing outlives it.
#include "net/tls13_client_hello.h"

#include <bitset>
#include <memory>
#include <utility>

#include "net/tls13_records.h"
#include "net/tls13_wire.h"

namespace portcullis::net::tls13 {
namespace {

/// Reads a whole reader's bytes as a list of uint16 values (cipher suites, groups, signature
/// schemes, versions). An odd length cannot hold whole items: a decode error.
bool u16_list(Reader r, std::vector<std::uint16_t>& out) {
  if (r.remaining() % 2 != 0) return false;
  out.reserve(r.remaining() / 2);
  std::uint16_t v = 0;
  while (r.u16(v)) out.push_back(v);
  return r.empty();
}

/// The outcome of one extension's parser: nothing wrong, or the alert it calls for.
using ExtResult = std::optional<HelloError>;
constexpr ExtResult kOk = std::nullopt;
constexpr ExtResult kDecode = HelloError::DecodeError;

/// server_name (RFC 6066 §3): ServerNameList<1..2^16-1> of NameType + HostName<1..2^16-1>.
/// The first host_name entry is taken; every entry has the same shape in practice (no other
/// NameType was ever defined), so the rest are walked and checked, not interpreted.
ExtResult parse_server_name(Reader& r, ClientHello& hello) {
  Reader list(Bytes{});
  if (!r.sub16(list, 1)) return kDecode;
  while (!list.empty()) {
    std::uint8_t type = 0;
    Bytes name;
    if (!list.u8(type) || !list.vec16(name, 1)) return kDecode;
    if (type == 0 && !hello.server_name) {
      hello.server_name = std::string_view(reinterpret_cast<const char*>(name.data()), name.size());
    }
  }
  return kOk;
}

/// status_request (RFC 6066 §8): status_type, then for ocsp (1) ResponderID<0..2^16-1> list
/// and request extensions<0..2^16-1>. Other status types have no defined body; it is skipped.
ExtResult parse_status_request(Reader& r, ClientHello& hello) {
  std::uint8_t type = 0;
  if (!r.u8(type)) return kDecode;
  if (type != 1) {
    Bytes rest;
    r.bytes(r.remaining(), rest);
    return kOk;
  }
  Reader ids(Bytes{});
  Bytes request_extensions;
  if (!r.sub16(ids, 0) || !r.vec16(request_extensions, 0)) return kDecode;
  while (!ids.empty()) {
    Bytes id;
    if (!ids.vec16(id, 1)) return kDecode;
  }
  hello.status_request = true;
  return kOk;
}

/// A uint16 list behind a two-byte length of at least 2 (supported_groups, signature_algorithms
/// and signature_algorithms_cert all share this shape).
ExtResult parse_u16_list16(Reader& r, std::vector<std::uint16_t>& out) {
  Reader list(Bytes{});
  if (!r.sub16(list, 2) || !u16_list(list, out)) return kDecode;
  return kOk;
}

/// application_layer_protocol_negotiation (RFC 7301 §3.1): ProtocolNameList<2..2^16-1> of
/// ProtocolName<1..2^8-1>.
ExtResult parse_alpn(Reader& r, ClientHello& hello) {
  Reader list(Bytes{});
  if (!r.sub16(list, 2)) return kDecode;
  while (!list.empty()) {
    Bytes name;
    if (!list.vec8(name, 1)) return kDecode;
    hello.alpn.emplace_back(reinterpret_cast<const char*>(name.data()), name.size());
  }
  hello.has_alpn = true;
  return kOk;
}

/// supported_versions (RFC 8446 §4.2.1): ProtocolVersion versions<2..254>.
ExtResult parse_supported_versions(Reader& r, ClientHello& hello) {
  Reader list(Bytes{});
  if (!r.sub8(list, 2, 254) || !u16_list(list, hello.supported_versions)) return kDecode;
  return kOk;
}

/// psk_key_exchange_modes (RFC 8446 §4.2.9): PskKeyExchangeMode ke_modes<1..255>.
ExtResult parse_psk_modes(Reader& r, ClientHello& hello) {
  Bytes modes;
  if (!r.vec8(modes, 1)) return kDecode;
  hello.psk_modes.assign(modes.begin(), modes.end());
  return kOk;
}

/// key_share (RFC 8446 §4.2.8): KeyShareEntry client_shares<0..2^16-1>, each a NamedGroup and
/// opaque key_exchange<1..2^16-1>. An empty list is how a client asks for a
/// HelloRetryRequest to pick the group.
ExtResult parse_key_share(Reader& r, ClientHello& hello) {
  Reader list(Bytes{});
  if (!r.sub16(list, 0)) return kDecode;
  while (!list.empty()) {
    KeyShare share;
    if (!list.u16(share.group) || !list.vec16(share.key, 1)) return kDecode;
    hello.key_shares.push_back(share);
  }
  hello.has_key_share = true;
  return kOk;
}

/// pre_shared_key (RFC 8446 §4.2.11): PskIdentity identities<7..2^16-1> (identity<1..2^16-1>
/// and a uint32 obfuscated age), then PskBinderEntry binders<33..2^16-1> (each <32..255>).
ExtResult parse_pre_shared_key(Reader& r, ClientHello& hello) {
  Reader identities(Bytes{});
  if (!r.sub16(identities, 7)) return kDecode;
  while (!identities.empty()) {
    PskIdentity id;
    if (!identities.vec16(id.identity, 1) || !identities.u32(id.obfuscated_ticket_age)) {
      return kDecode;
    }
    hello.psk_identities.push_back(id);
  }
  // The binders are MACs over the message up to (not including) the binders list: record
  // where its length field starts before reading it.
  const std::size_t binders_offset = r.offset();
  Reader binders(Bytes{});
  if (!r.sub16(binders, 33)) return kDecode;
  while (!binders.empty()) {
    Bytes binder;
    if (!binders.vec8(binder, 32)) return kDecode;
    hello.psk_binders.push_back(binder);
  }
  // SECURITY: every identity needs its own binder (§4.2.11); a missing binder would leave an
  // identity that is never authenticated, an extra one a MAC checked against nothing.
  if (hello.psk_binders.size() != hello.psk_identities.size()) {
    return HelloError::IllegalParameter;
  }
  hello.binders_offset = binders_offset;
  hello.has_pre_shared_key = true;
  return kOk;
}

/// cookie (RFC 8446 §4.2.2): opaque cookie<1..2^16-1>, only checked for shape here.
ExtResult parse_cookie(Reader& r, ClientHello& hello) {
  Bytes cookie;
  if (!r.vec16(cookie, 1)) return kDecode;
  hello.cookie = true;
  return kOk;
}

/// Decodes one extension's body into `hello`. Unknown types are skipped whole.
ExtResult parse_extension(std::uint16_t type, Reader& r, ClientHello& hello) {
  switch (type) {
    case ext::kServerName:
      return parse_server_name(r, hello);
    case ext::kStatusRequest:
      return parse_status_request(r, hello);
    case ext::kSupportedGroups:
      return parse_u16_list16(r, hello.supported_groups);
    case ext::kSignatureAlgorithms:
      hello.has_signature_algorithms = true;
      return parse_u16_list16(r, hello.signature_algorithms);
    case ext::kSignatureAlgorithmsCert:
      return parse_u16_list16(r, hello.signature_algorithms_cert);
    case ext::kAlpn:
      return parse_alpn(r, hello);
    case ext::kSupportedVersions:
      return parse_supported_versions(r, hello);
    case ext::kPskKeyExchangeModes:
      return parse_psk_modes(r, hello);
    case ext::kKeyShare:
      return parse_key_share(r, hello);
    case ext::kPreSharedKey:
      return parse_pre_shared_key(r, hello);
    case ext::kEarlyData:
      // An empty body in a ClientHello (§4.2.10); the check for emptiness follows the call.
      hello.early_data = true;
      return kOk;
    case ext::kCookie:
      return parse_cookie(r, hello);
    case ext::kPostHandshakeAuth:
      hello.post_handshake_auth = true;  // empty body (§4.2.6)
      return kOk;
    default: {
      Bytes skipped;
      r.bytes(r.remaining(), skipped);
      return kOk;
    }
  }
}

ParsedHello fail(HelloError error) {
  ParsedHello parsed;
  parsed.error = error;
  return parsed;
}

ParsedHello accept(ClientHello&& hello) {
  ParsedHello parsed;
  parsed.hello = std::move(hello);
  return parsed;
}

}  // namespace

HelloFrame frame_client_hello(Bytes bytes) {
  HelloFrame frame;
  // The header is checked as far as it has arrived, so a connection that is plainly not TLS
  // (an HTTP request, an SSLv2 hello with the high bit of its first byte set) is told apart at
  // once rather than after five bytes that may never come.
  const auto other = [&frame] {
    frame.status = HelloFrame::Status::Other;
    return frame;
  };
  if (bytes.size() >= 1 && bytes[0] != static_cast<std::uint8_t>(ContentType::Handshake))
    return other();
  if (bytes.size() >= 2 && bytes[1] != 3) return other();
  if (bytes.size() >= 3 && bytes[2] > 4) return other();
  if (bytes.size() < kRecordHeaderSize) return frame;
  const std::size_t length = (std::size_t{bytes[3]} << 8) | bytes[4];
  // SECURITY: a plaintext record is at most 2^14 bytes (RFC 8446 §5.1); a larger length is
  // refused before the caller buffers for it, and an empty handshake record is not allowed.
  if (length == 0 || length > kMaxRecordPlaintext) return other();
  if (bytes.size() < kRecordHeaderSize + length) return frame;
  const Bytes fragment = bytes.subspan(kRecordHeaderSize, length);
  // Exactly one whole ClientHello: not one spread over several records (reassembly is left to
  // OpenSSL) and not one followed by another message in the same record.
  if (fragment.size() < kHandshakeHeaderSize || fragment[0] != kClientHello) return other();
  const std::size_t message_length =
      (std::size_t{fragment[1]} << 16) | (std::size_t{fragment[2]} << 8) | fragment[3];
  if (message_length + kHandshakeHeaderSize != fragment.size()) return other();
  frame.status = HelloFrame::Status::ClientHello;
  frame.message = fragment;
  frame.consumed = kRecordHeaderSize + length;
  return frame;
}

ParsedHello parse_client_hello(Bytes message) {
  Reader r(message);
  std::uint8_t type = 0;
  std::uint32_t length = 0;
  if (!r.u8(type) || type != kClientHello || !r.u24(length) || length != r.remaining()) {
    return fail(HelloError::DecodeError);
  }

  ClientHello hello;
  std::uint16_t legacy_version = 0;  // any value: TLS 1.3 negotiates with supported_versions
  Reader suites(Bytes{});
  Bytes compression;
  if (!r.u16(legacy_version) || !r.bytes(32, hello.random) || !r.vec8(hello.session_id, 0, 32) ||
      !r.sub16(suites, 2, 0xfffe) || !u16_list(suites, hello.cipher_suites) ||
      !r.vec8(compression, 1)) {
    return fail(HelloError::DecodeError);
  }
  for (const std::uint8_t method : compression) {
    if (method == 0) hello.null_compression = true;
  }
  // TLS 1.2 allows a ClientHello with no extensions block at all; it then offers nothing of
  // TLS 1.3 and the handshake turns it away (or hands it on) for that.
  if (r.empty()) return accept(std::move(hello));

  Reader extensions(Bytes{});
  if (!r.sub16(extensions, 8) || !r.empty()) return fail(HelloError::DecodeError);
  // SECURITY: duplicates are found with one bit per possible type rather than by searching the
  // list for each extension, which a record full of empty extensions would make quadratic.
  const auto seen = std::make_unique<std::bitset<0x10000>>();
  while (!extensions.empty()) {
    std::uint16_t ext_type = 0;
    Reader body(Bytes{});
    if (!extensions.u16(ext_type) || !extensions.sub16(body, 0)) {
      return fail(HelloError::DecodeError);
    }
    // SECURITY: a duplicate extension is refused (§4.2) so that no two parts of the handshake
    // can read different copies of the same offer.
    if (seen->test(ext_type)) return fail(HelloError::IllegalParameter);
    seen->set(ext_type);
    // SECURITY: the binders cover everything before them (§4.2.11); an extension after
    // pre_shared_key would sit outside the transcript they authenticate.
    if (hello.has_pre_shared_key) return fail(HelloError::IllegalParameter);
    hello.extensions.push_back(ext_type);
    if (const ExtResult error = parse_extension(ext_type, body, hello)) return fail(*error);
    // SECURITY: each parser must account for its whole body; trailing bytes mean the lengths
    // disagree, and two readers of such an extension could see different things.
    if (!body.empty()) return fail(HelloError::DecodeError);
  }
  return accept(std::move(hello));
}

}  // namespace portcullis::net::tls13
