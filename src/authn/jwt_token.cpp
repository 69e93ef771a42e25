// Compact JWS syntax: strict base64url, splitting, and duplicate-free JSON objects.
// Data plane: never throws (nlohmann is used with allow_exceptions = false).
#include "authn/jwt_token.h"

#include <array>
#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace portcullis::authn {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// 0..63 for a base64url character, -1 otherwise.
constexpr std::array<std::int8_t, 256> make_decode_table() {
  std::array<std::int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  }
  return table;
}

constexpr auto kDecode = make_decode_table();

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  const auto byte = [&](std::size_t at) { return static_cast<unsigned char>(bytes[at]); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t v = byte(i) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (rest == 2) {
    const std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  // SECURITY: one accepted encoding per byte string (no padding, zero unused bits), so a token
  // cannot be altered without changing its signed bytes or its decoded value.
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const int v = kDecode[static_cast<unsigned char>(c)];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;  // non-zero unused bits
  return out;
}

std::optional<std::string> base64url_decode_lenient(std::string_view text) {
  std::size_t pad = 0;
  while (!text.empty() && text.back() == '=' && pad < 2) {
    text.remove_suffix(1);
    ++pad;
  }
  if (pad > 0 && (text.size() + pad) % 4 != 0) return std::nullopt;
  return base64url_decode(text);
}

std::expected<nlohmann::json, std::string> parse_json_object(std::string_view text) {
  // Each open object's member names, innermost last; `depth_exceeded` and `duplicate` are set by
  // the callback and checked after parsing (a callback cannot abort the parse without throwing).
  std::vector<std::set<std::string>> open_objects;
  bool duplicate = false;
  bool depth_exceeded = false;
  const auto callback = [&](int depth, nlohmann::json::parse_event_t event,
                            nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (depth > kMaxJsonDepth) depth_exceeded = true;
    switch (event) {
      case Event::object_start:
        open_objects.emplace_back();
        break;
      case Event::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case Event::key:
        if (!open_objects.empty() && parsed.is_string()) {
          if (!open_objects.back().insert(parsed.get_ref<const std::string&>()).second) {
            duplicate = true;
          }
        }
        break;
      default:
        break;
    }
    return true;
  };
  nlohmann::json value = nlohmann::json::parse(text.begin(), text.end(), callback,
                                               /*allow_exceptions=*/false);
  if (value.is_discarded()) return std::unexpected(std::string("not valid JSON"));
  if (depth_exceeded) {
    return std::unexpected(fmt::format("JSON nested deeper than {} levels", kMaxJsonDepth));
  }
  if (duplicate) return std::unexpected(std::string("JSON with a duplicate member name"));
  if (!value.is_object()) {
    return std::unexpected(fmt::format("JSON {} instead of an object", value.type_name()));
  }
  return value;
}

std::expected<CompactJws, std::string> parse_compact_jws(std::string_view token) {
  if (token.empty()) return std::unexpected(std::string("the token is empty"));
  if (token.size() > kMaxTokenBytes) {
    return std::unexpected(
        fmt::format("the token is {} bytes; the limit is {}", token.size(), kMaxTokenBytes));
  }
  std::size_t parts = 1;
  for (const char c : token) parts += c == '.' ? 1 : 0;
  if (parts == 5) {
    return std::unexpected(std::string(
        "the token has 5 parts: it looks like an encrypted JWE, which is not supported"));
  }
  if (parts != 3) {
    return std::unexpected(
        fmt::format("the token has {} part{}; a compact JWS has 3 (header.payload.signature)",
                    parts, parts == 1 ? "" : "s"));
  }
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = token.find('.', dot1 + 1);
  const std::string_view header_b64 = token.substr(0, dot1);
  const std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature_b64 = token.substr(dot2 + 1);

  CompactJws jws;
  jws.signing_input = token.substr(0, dot2);
  jws.payload_b64 = payload_b64;

  auto header_bytes = base64url_decode(header_b64);
  if (!header_bytes || header_bytes->empty()) {
    return std::unexpected(std::string("the header is not base64url"));
  }
  auto header = parse_json_object(*header_bytes);
  if (!header) return std::unexpected("the header is " + header.error());
  const auto alg = header->find("alg");
  if (alg == header->end()) return std::unexpected(std::string("the header has no \"alg\""));
  if (!alg->is_string()) return std::unexpected(std::string("the header \"alg\" is not a string"));
  jws.alg = alg->get<std::string>();
  if (const auto kid = header->find("kid"); kid != header->end()) {
    if (!kid->is_string()) {
      return std::unexpected(std::string("the header \"kid\" is not a string"));
    }
    jws.kid = kid->get<std::string>();
  }
  // SECURITY: `crit` names extensions the recipient must understand (e.g. RFC 7797 b64=false,
  // which changes what the signature covers); this verifier understands none, so it refuses.
  if (header->contains("crit")) {
    return std::unexpected(
        std::string("the header has \"crit\" (critical extensions), none of which is supported"));
  }
  auto payload = base64url_decode(payload_b64);
  if (!payload) return std::unexpected(std::string("the payload is not base64url"));
  auto signature = base64url_decode(signature_b64);
  if (!signature) return std::unexpected(std::string("the signature is not base64url"));
  jws.header = std::move(*header);
  jws.payload = std::move(*payload);
  jws.signature = std::move(*signature);
  return jws;
}

}  // namespace portcullis::authn
