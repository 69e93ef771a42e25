// Parsing a TLS 1.3 ClientHello (RFC 8446 §4.1.2, §4.2) for the gateway's own server handshake
// (net/tls13_server_handshake.h): the first record is framed and the ClientHello decoded into
// views of the bytes it came from. Strict on structure (lengths, duplicate extensions, the
// pre_shared_key extension last); the handshake decides what it supports. No I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "net/tls13_wire.h"  // Bytes

namespace portcullis::net::tls13 {

/// The first record of a connection, as far as it has arrived.
struct HelloFrame {
  enum class Status {
    NeedMore,     ///< not a whole record yet (or not the whole ClientHello of one record)
    ClientHello,  ///< `message` is one whole ClientHello handshake message (header included)
    Other,        ///< anything else: not a handshake record, a ClientHello spread over several
                  ///< records, other messages in the same record, SSLv2, oversized lengths
  };
  Status status = Status::NeedMore;
  Bytes message;             ///< the handshake message: type (1), uint24 length, body
  std::size_t consumed = 0;  ///< bytes of `bytes` the record took (header + fragment)
};
/// Frames the start of a connection's byte stream: a handshake record (any legacy record
/// version 0x0300..0x0304 accepted as OpenSSL does) holding exactly one whole ClientHello.
HelloFrame frame_client_hello(Bytes bytes);

struct KeyShare {
  std::uint16_t group = 0;
  Bytes key;
};

struct PskIdentity {
  Bytes identity;
  std::uint32_t obfuscated_ticket_age = 0;
};

struct ClientHello {
  Bytes random;      ///< 32 bytes
  Bytes session_id;  ///< legacy_session_id, 0..32 bytes (echoed by the server)
  std::vector<std::uint16_t> cipher_suites;
  bool null_compression = false;  ///< legacy_compression_methods contains 0 (required)
  std::vector<std::uint16_t> supported_versions;  ///< empty when the extension is absent
  std::vector<std::uint16_t> supported_groups;
  bool has_key_share = false;
  std::vector<KeyShare> key_shares;
  bool has_signature_algorithms = false;
  std::vector<std::uint16_t> signature_algorithms;
  std::vector<std::uint16_t> signature_algorithms_cert;  ///< empty when absent
  std::optional<std::string_view> server_name;           ///< host_name of server_name, if any
  std::vector<std::string_view> alpn;                    ///< protocol names, in the client's order
  bool has_alpn = false;
  std::vector<std::uint8_t> psk_modes;  ///< psk_key_exchange_modes (0 psk_ke, 1 psk_dhe_ke)
  bool has_pre_shared_key = false;
  std::vector<PskIdentity> psk_identities;
  std::vector<Bytes> psk_binders;
  /// Bytes of the handshake message (header included) before the binders list: what the binder
  /// MACs (RFC 8446 §4.2.11.2, the "truncated ClientHello").
  std::size_t binders_offset = 0;
  bool early_data = false;                ///< the early_data extension is present
  bool cookie = false;                    ///< the cookie extension is present
  bool post_handshake_auth = false;       ///< the post_handshake_auth extension is present
  bool status_request = false;            ///< status_request (OCSP stapling asked for)
  std::vector<std::uint16_t> extensions;  ///< every extension type, in order
};

/// Why a ClientHello was refused: the alert a server sends for it (RFC 8446 §6.2).
enum class HelloError : std::uint8_t {
  DecodeError = 50,       ///< lengths that do not add up, truncated fields, trailing bytes
  IllegalParameter = 47,  ///< a duplicate extension, pre_shared_key not last, bad field values
};

/// Parses `message` (the handshake message: type 1, uint24 length, body, nothing after).
/// Unknown extensions are skipped (listed in `extensions`). The views point into `message`.
struct ParsedHello {
  std::optional<ClientHello> hello;
  HelloError error = HelloError::DecodeError;  ///< when !hello
};
ParsedHello parse_client_hello(Bytes message);

}  // namespace portcullis::net::tls13
