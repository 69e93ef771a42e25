// Compact JWS syntax (RFC 7515 §7.1): strict base64url, the three dot-separated parts, and the
// JSON of the protected header and of the claims set. No cryptography and no claim semantics here:
// jwt_crypto.h verifies signatures, jwt_verifier.h decides.
#pragma once

#include <cstddef>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace portcullis::authn {

/// The largest bearer token accepted, in bytes (before decoding).
inline constexpr std::size_t kMaxTokenBytes = 16 * 1024;

/// Deepest JSON nesting accepted in a token header or claims set.
inline constexpr int kMaxJsonDepth = 16;

/// Base64url without padding (RFC 7515 §2).
std::string base64url_encode(std::string_view bytes);

/// Strict base64url decoding (RFC 7515 §2 and appendix C): only `A-Z a-z 0-9 - _`, no padding,
/// no whitespace, and the unused low bits of the last character must be zero, so every byte
/// string has exactly one accepted encoding. nullopt when the text is not such an encoding.
std::optional<std::string> base64url_decode(std::string_view text);

/// Like base64url_decode but also accepts trailing `=` padding (some JWKS publishers pad `n`).
std::optional<std::string> base64url_decode_lenient(std::string_view text);

/// Parses JSON text that must be one object: no duplicate member names at any level (RFC 7515
/// §5.2 allows refusing them, and two readers picking different duplicates is an attack), at most
/// kMaxJsonDepth levels, valid UTF-8. Never throws. On failure the error says why (no input echo).
std::expected<nlohmann::json, std::string> parse_json_object(std::string_view text);

/// One compact JWS, split and decoded. The views point into the token passed to parse.
struct CompactJws {
  std::string_view signing_input;  ///< `header.payload`, the bytes the signature covers
  std::string_view payload_b64;    ///< the payload part as sent (base64url)
  nlohmann::json header;           ///< the protected header (a JSON object)
  std::string payload;             ///< the decoded payload bytes (not yet parsed)
  std::string signature;           ///< the decoded signature bytes
  std::string alg;                 ///< header `alg`
  std::optional<std::string> kid;  ///< header `kid` when present
};

/// Splits and decodes a compact JWS: three parts, each strict base64url, a header that is a JSON
/// object with a string `alg`, an optional string `kid`, and no `crit` (no extension is
/// understood; RFC 7515 §4.1.11 says to reject then). The payload is decoded but not parsed:
/// its JSON is only read after the signature is verified. The error text is a short reason that
/// never contains the token.
std::expected<CompactJws, std::string> parse_compact_jws(std::string_view token);

}  // namespace portcullis::authn
