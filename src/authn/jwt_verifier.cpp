// The JWT bearer authenticator: Bearer extraction, alg allow-list and key choice, signature, then
// claims (exp/nbf/iat with leeway, iss, aud, required claims) and the identity. Order matters:
// nothing from the claims set is read or reported before its signature has been verified.
#include "authn/jwt_verifier.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <exception>
#include <iterator>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "authn/jwt_crypto.h"
#include "authn/jwt_token.h"
#include "core/ascii.h"

namespace portcullis::authn {
namespace {

using core::DenialCode;
using nlohmann::json;

constexpr std::string_view kWhitespace = " \t";
constexpr std::size_t kMaxShownValue = 80;  // bytes of a token-supplied string shown in a detail
constexpr std::size_t kMaxShownItems = 5;   // elements of a token-supplied array shown
constexpr std::chrono::seconds kMaxLeeway{600};

std::string_view trim(std::string_view s) {
  const auto begin = s.find_first_not_of(kWhitespace);
  if (begin == std::string_view::npos) return {};
  const auto end = s.find_last_not_of(kWhitespace);
  return s.substr(begin, end - begin + 1);
}

// A value for a detail: double-quoted, printable ASCII only (others as \xNN), at most
// kMaxShownValue bytes. Token-supplied text goes through here so a detail stays one safe line.
std::string shown(std::string_view value) {
  std::string out = "\"";
  const bool cut = value.size() > kMaxShownValue;
  if (cut) value = value.substr(0, kMaxShownValue);
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u >= 0x7F) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  out += '"';
  if (cut) out += "...";
  return out;
}

std::string shown_list(const std::vector<std::string>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i == kMaxShownItems) {
      out += fmt::format(", ... {} more", values.size() - i);
      break;
    }
    if (i > 0) out += ", ";
    out += shown(values[i]);
  }
  return out + "]";
}

// RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E (no quote, no backslash).
std::string description_safe(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"') {
      out += '\'';
    } else if (c == '\\') {
      out += '/';
    } else if (u >= 0x20 && u <= 0x7E) {
      out += c;
    }
  }
  return out;
}

// RFC 9110 quoted-string for the realm (configuration text): escape quote and backslash.
std::string quoted_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') out += '\\';
    if (u >= 0x20 && u != 0x7F) out += c;  // no control characters in a header
  }
  return out + "\"";
}

// "2024-05-01T12:00:00Z (1714564800)", or the number alone outside years 1970..9999.
std::string show_time(double seconds) {
  const std::string number = seconds == std::floor(seconds) && std::fabs(seconds) < 1e15
                                 ? fmt::format("{}", static_cast<long long>(seconds))
                                 : fmt::format("{}", seconds);
  if (!(seconds >= 0 && seconds < 253402300800.0)) return number;
  const auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return number;
  char buf[32];
  if (std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) return number;
  return fmt::format("{} ({})", buf, number);
}

std::string show_seconds(double seconds) {
  if (std::fabs(seconds) >= 1e15) return fmt::format("{:.3g} s", seconds);  // absurd claims
  return seconds == std::floor(seconds) ? fmt::format("{} s", static_cast<long long>(seconds))
                                        : fmt::format("{:.3f} s", seconds);
}

// What alone separates two issuer/audience strings ("a trailing slash", "the scheme (http vs
// https)", "letter case", combined), or "" when they differ in more than that.
std::string near_miss(std::string_view token, std::string_view configured) {
  if (token == configured) return {};
  std::vector<std::string> differences;
  std::string_view a = token;
  std::string_view b = configured;
  const auto sa = a.find("://");
  const auto sb = b.find("://");
  if (sa != std::string_view::npos && sb != std::string_view::npos &&
      !core::ascii_iequals(a.substr(0, sa), b.substr(0, sb))) {
    differences.push_back(fmt::format("the scheme ({} vs {})", a.substr(0, sa), b.substr(0, sb)));
    a = a.substr(sa + 3);
    b = b.substr(sb + 3);
  }
  std::string_view ta = a;
  std::string_view tb = b;
  while (ta.ends_with('/')) ta.remove_suffix(1);
  while (tb.ends_with('/')) tb.remove_suffix(1);
  if (ta.size() != a.size() || tb.size() != b.size()) {
    if (a.size() - ta.size() != b.size() - tb.size()) {
      const bool token_has = a.size() - ta.size() > b.size() - tb.size();
      differences.push_back(token_has ? "a trailing slash (the token's has it)"
                                      : "a trailing slash (the configured one has it)");
    }
  }
  if (ta != tb) {
    if (!core::ascii_iequals(ta, tb)) return {};
    differences.push_back("letter case");
  }
  if (differences.empty()) return {};
  std::string out = "they differ only by ";
  for (std::size_t i = 0; i < differences.size(); ++i) {
    if (i > 0) out += i + 1 == differences.size() ? " and " : ", ";
    out += differences[i];
  }
  return out;
}

// A NumericDate claim (RFC 7519 §2): absent → nullopt; present but not a finite number → error.
struct TimeClaim {
  std::optional<double> value;
  bool invalid = false;
};

TimeClaim time_claim(const json& claims, const char* name) {
  const auto it = claims.find(name);
  if (it == claims.end()) return {};
  if (!it->is_number()) return {std::nullopt, true};
  const double v = it->get<double>();
  if (!std::isfinite(v)) return {std::nullopt, true};
  return {v, false};
}

// The header fields a detail may name: "alg \"RS256\", kid \"k1\"".
std::string header_fields(const CompactJws& jws) {
  std::string out = "alg " + shown(jws.alg);
  if (jws.kid) out += ", kid " + shown(*jws.kid);
  if (const auto typ = jws.header.find("typ"); typ != jws.header.end() && typ->is_string()) {
    out += ", typ " + shown(typ->get_ref<const std::string&>());
  }
  return out;
}

}  // namespace

JwtAuthenticator::JwtAuthenticator(JwtSettings settings, std::shared_ptr<const KeySet> keys)
    : settings_(std::move(settings)), keys_(std::move(keys)) {}

core::Result<void> JwtAuthenticator::check_settings(const JwtSettings& s) {
  const std::string where = s.name;
  if (s.issuer.empty()) return core::fail("issuer is required", where);
  if (s.audiences.empty()) {
    return core::fail(
        "audiences: at least one audience is required (otherwise a token minted for "
        "another API of the same issuer would be accepted)",
        where);
  }
  for (const auto& audience : s.audiences) {
    if (audience.empty()) return core::fail("audiences: an audience is empty", where);
  }
  if (s.algorithms.empty())
    return core::fail("algorithms: at least one algorithm is required", where);
  for (const auto& name : s.algorithms) {
    if (core::ascii_iequals(name, "none")) {
      return core::fail("algorithms: \"none\" (unsigned tokens) is never allowed", where);
    }
    if (!parse_jws_alg(name)) {
      std::string supported;
      for (const auto alg : supported_jws_algs()) {
        if (!supported.empty()) supported += ", ";
        supported += jws_alg_name(alg);
      }
      return core::fail(
          fmt::format("algorithms: unsupported algorithm \"{}\" (supported: {})", name, supported),
          where);
    }
  }
  if (s.leeway < std::chrono::seconds{0} || s.leeway > kMaxLeeway) {
    return core::fail(
        fmt::format("leeway: {} s is outside 0..{} s", s.leeway.count(), kMaxLeeway.count()),
        where);
  }
  if (s.user_claim.empty()) return core::fail("user_claim must not be empty", where);
  return {};
}

std::vector<std::string> JwtAuthenticator::compatibility_warnings(const JwtSettings& settings,
                                                                  const KeySet& keys) {
  std::vector<std::string> out;
  for (const auto& name : settings.algorithms) {
    const auto alg = parse_jws_alg(name);
    if (!alg) continue;
    const bool usable = std::any_of(keys.keys().begin(), keys.keys().end(),
                                    [&](const Jwk& key) { return !key_mismatch(*alg, key); });
    if (!usable) {
      out.push_back(
          fmt::format("algorithm {} is allowed but no key of {} can verify it: every {} "
                      "token will be refused",
                      name, keys.source(), name));
    }
  }
  return out;
}

void JwtAuthenticator::set_keys(std::shared_ptr<const KeySet> keys) {
  keys_.store(std::move(keys), std::memory_order_release);
}

std::shared_ptr<const KeySet> JwtAuthenticator::keys() const {
  return keys_.load(std::memory_order_acquire);
}

std::string JwtAuthenticator::challenge() const {
  return "Bearer realm=" + quoted_string(settings_.realm);
}

bool JwtAuthenticator::needs_key_refresh(const Outcome& outcome) {
  const auto* rejected = std::get_if<Rejected>(&outcome);
  return rejected != nullptr && rejected->denial.code == DenialCode::JwtKidUnknown;
}

Rejected JwtAuthenticator::reject(DenialCode code, std::string detail) const {
  core::Denial denial = core::make_denial(
      code, settings_.name.empty() ? std::move(detail)
                                   : fmt::format("jwt {}: {}", shown(settings_.name), detail));
  // RFC 6750 §3: every failed bearer credential is error="invalid_token"; the description is the
  // public catalogue title, never token content.
  denial.headers.emplace_back("WWW-Authenticate",
                              fmt::format("{}, error=\"invalid_token\", error_description=\"{}\"",
                                          challenge(), description_safe(core::spec(code).title)));
  return Rejected{std::move(denial)};
}

Rejected JwtAuthenticator::jwks_unavailable(std::string_view fetch_error,
                                            std::chrono::seconds retry_after) const {
  const auto keys = this->keys();
  std::string detail = fmt::format("the JWKS could not be loaded: {}", fetch_error);
  if (keys) detail += fmt::format(" (last loaded from {})", keys->source());
  core::Denial denial = core::make_denial(
      DenialCode::JwtJwksUnavailable,
      settings_.name.empty() ? std::move(detail)
                             : fmt::format("jwt {}: {}", shown(settings_.name), detail));
  denial.headers.emplace_back("Retry-After",
                              fmt::format("{}", std::max<long long>(1, retry_after.count())));
  return Rejected{std::move(denial)};
}

Outcome JwtAuthenticator::authenticate(std::string_view authorization_header,
                                       std::chrono::system_clock::time_point now) const {
  // The data plane never throws: anything unexpected (allocation failure) refuses the token.
  try {
    return authenticate_token(authorization_header, now);
  } catch (const std::exception& e) {
    // SECURITY: fail closed.
    return reject(DenialCode::JwtMalformed,
                  fmt::format("the token could not be processed: {}", e.what()));
  }
}

Outcome JwtAuthenticator::authenticate_token(std::string_view authorization_header,
                                             std::chrono::system_clock::time_point now) const {
  // --- the credential -------------------------------------------------------------------------
  const std::string_view value = trim(authorization_header);
  if (value.empty()) return NotPresent{};
  const std::string_view scheme = value.substr(0, value.find_first_of(kWhitespace));
  if (!core::ascii_iequals(scheme, "Bearer")) return NotPresent{};
  const std::string_view token = trim(value.substr(scheme.size()));
  if (token.empty()) return reject(DenialCode::JwtMalformed, "the Bearer credential is empty");
  if (token.find_first_of(kWhitespace) != std::string_view::npos) {
    return reject(DenialCode::JwtMalformed,
                  "the Bearer credential contains whitespace: it must be one token");
  }
  if (token.size() > kMaxTokenBytes) {
    return reject(DenialCode::JwtMalformed, fmt::format("the token is {} bytes; the limit is {}",
                                                        token.size(), kMaxTokenBytes));
  }
  auto parsed = parse_compact_jws(token);
  if (!parsed) {
    return reject(DenialCode::JwtMalformed,
                  fmt::format("{} (token of {} bytes)", parsed.error(), token.size()));
  }
  const CompactJws& jws = *parsed;
  const auto fields = [&jws] { return header_fields(jws); };  // only built for a rejection

  // --- the algorithm --------------------------------------------------------------------------
  // SECURITY: `none` is refused whatever the configuration says; any case of it.
  if (core::ascii_iequals(jws.alg, "none")) {
    return reject(
        DenialCode::JwtAlgNotAllowed,
        fmt::format("the token is unsigned ({}); unsigned tokens are never accepted", fields()));
  }
  if (std::find(settings_.algorithms.begin(), settings_.algorithms.end(), jws.alg) ==
      settings_.algorithms.end()) {
    return reject(DenialCode::JwtAlgNotAllowed,
                  fmt::format("token {}: the algorithm is not in the allowed algorithms {}",
                              fields(), shown_list(settings_.algorithms)));
  }
  const auto alg = parse_jws_alg(jws.alg);
  if (!alg) {
    return reject(DenialCode::JwtAlgNotAllowed,
                  fmt::format("token {}: the algorithm is not supported", fields()));
  }

  // --- the key --------------------------------------------------------------------------------
  const auto keys = this->keys();
  if (!keys || keys->keys().empty()) {
    return reject(DenialCode::JwtKidUnknown, fmt::format("token {}: no keys are loaded", fields()));
  }
  const auto fits = [&](const Jwk* key) { return !key_mismatch(*alg, *key); };
  std::vector<const Jwk*> candidates;
  if (jws.kid) {
    const auto by_kid = keys->find(*jws.kid);
    if (!by_kid.empty()) {
      std::copy_if(by_kid.begin(), by_kid.end(), std::back_inserter(candidates), fits);
      if (candidates.empty()) {
        // SECURITY: the key named by kid cannot verify this alg; in particular an HMAC token is
        // never checked with a public key's bytes as the secret (alg confusion).
        std::string why = *key_mismatch(*alg, *by_kid.front());
        if (is_hmac(*alg) != (by_kid.front()->type == KeyType::Oct)) {
          why += is_hmac(*alg) ? " (an HMAC token naming a public key: alg confusion)"
                               : " (a public-key token naming a shared secret: alg confusion)";
        }
        return reject(DenialCode::JwtAlgNotAllowed, fmt::format("token {}: {}", fields(), why));
      }
    } else {
      const auto anonymous = keys->keys_without_kid();
      std::copy_if(anonymous.begin(), anonymous.end(), std::back_inserter(candidates), fits);
      if (candidates.empty()) {
        std::vector<std::string> known;
        for (const auto& key : keys->keys()) {
          if (key.kid) known.push_back(*key.kid);
        }
        return reject(DenialCode::JwtKidUnknown,
                      fmt::format("token {}: no key with this kid in {} (kids: {})", fields(),
                                  keys->source(), shown_list(known)));
      }
    }
  } else {
    for (const auto& key : keys->keys()) {
      if (fits(&key)) candidates.push_back(&key);
    }
    if (candidates.empty()) {
      const KeyType needed = required_key_type(*alg);
      const auto same_type = std::find_if(keys->keys().begin(), keys->keys().end(),
                                          [&](const Jwk& key) { return key.type == needed; });
      if (same_type != keys->keys().end()) {
        return reject(DenialCode::JwtAlgNotAllowed,
                      fmt::format("token {}: {}", fields(), *key_mismatch(*alg, *same_type)));
      }
      const bool only_secrets =
          std::all_of(keys->keys().begin(), keys->keys().end(),
                      [](const Jwk& key) { return key.type == KeyType::Oct; });
      if (is_hmac(*alg) || only_secrets) {
        // SECURITY: no key of the other family is ever tried (alg confusion).
        return reject(
            DenialCode::JwtAlgNotAllowed,
            fmt::format("token {}: {} has no {} key for this algorithm", fields(), keys->source(),
                        is_hmac(*alg) ? "oct (shared secret)" : "public"));
      }
      return reject(DenialCode::JwtKidUnknown,
                    fmt::format("token {} has no kid and no key of {} can verify {}", fields(),
                                keys->source(), jws.alg));
    }
  }

  // --- the signature --------------------------------------------------------------------------
  const Jwk* signer = nullptr;
  for (const Jwk* key : candidates) {
    if (verify_jws_signature(*alg, *key, jws.signing_input, jws.signature)) {
      signer = key;
      break;
    }
  }
  if (signer == nullptr) {
    const std::string with = candidates.size() == 1
                                 ? candidates.front()->describe()
                                 : fmt::format("any of the {} candidate keys", candidates.size());
    return reject(DenialCode::JwtSignatureInvalid,
                  fmt::format("token {}: the signature does not verify with {}", fields(), with));
  }

  // --- the claims (signed from here on) -------------------------------------------------------
  auto claims_or = parse_json_object(jws.payload);
  if (!claims_or) {
    return reject(DenialCode::JwtMalformed, fmt::format("token {}: the payload (claims set) is {}",
                                                        fields(), claims_or.error()));
  }
  const json& claims = *claims_or;

  const double now_s = std::chrono::duration<double>(now.time_since_epoch()).count();
  const double leeway = static_cast<double>(settings_.leeway.count());
  const auto gateway_time = [&] { return show_time(std::floor(now_s)); };
  const auto time_error = [&](const char* name) {
    return reject(DenialCode::JwtMalformed,
                  fmt::format("claim \"{}\" is not a NumericDate (a number of seconds)", name));
  };
  const TimeClaim exp = time_claim(claims, "exp");
  const TimeClaim nbf = time_claim(claims, "nbf");
  const TimeClaim iat = time_claim(claims, "iat");
  if (exp.invalid) return time_error("exp");
  if (nbf.invalid) return time_error("nbf");
  if (iat.invalid) return time_error("iat");
  // SECURITY: a token without exp would be valid forever; it is refused.
  if (!exp.value) {
    return reject(DenialCode::JwtMalformed,
                  "required claim \"exp\" is missing (tokens without an expiry are refused)");
  }
  if (now_s >= *exp.value + leeway) {
    return reject(DenialCode::JwtExpired,
                  fmt::format("the token expired at {}; gateway time {}: {} ago, beyond the "
                              "leeway of {}",
                              show_time(*exp.value), gateway_time(),
                              show_seconds(now_s - *exp.value), show_seconds(leeway)));
  }
  const auto future = [&](const char* name, const char* what, double at) {
    return reject(
        DenialCode::JwtNotYetValid,
        fmt::format("the token {} {} ({}); gateway time {}: {} in the future, beyond the leeway "
                    "of {}. A token from the future means clock skew: the issuer's clock is "
                    "ahead of the gateway's (or the gateway's is behind); synchronise both with "
                    "NTP",
                    what, show_time(at), name, gateway_time(), show_seconds(at - now_s),
                    show_seconds(leeway)));
  };
  if (nbf.value && *nbf.value > now_s + leeway)
    return future("nbf", "is not valid before", *nbf.value);
  if (iat.value && *iat.value > now_s + leeway) return future("iat", "was issued at", *iat.value);

  const auto iss = claims.find("iss");
  if (iss == claims.end()) {
    return reject(DenialCode::JwtIssuerMismatch,
                  fmt::format("the token has no \"iss\" claim; the configured issuer is {}",
                              shown(settings_.issuer)));
  }
  if (!iss->is_string()) return reject(DenialCode::JwtMalformed, "claim \"iss\" is not a string");
  const auto& token_issuer = iss->get_ref<const std::string&>();
  // SECURITY: exact comparison; near misses are explained, never accepted.
  if (settings_.issuer.empty() || token_issuer != settings_.issuer) {
    std::string detail = fmt::format("token iss {} does not equal the configured issuer {}",
                                     shown(token_issuer), shown(settings_.issuer));
    if (const auto why = near_miss(token_issuer, settings_.issuer); !why.empty()) {
      detail += ": " + why;
    }
    return reject(DenialCode::JwtIssuerMismatch, std::move(detail));
  }

  const auto aud = claims.find("aud");
  if (aud == claims.end()) {
    return reject(DenialCode::JwtAudienceMismatch,
                  fmt::format("the token has no \"aud\" claim; the configured audiences are {}",
                              shown_list(settings_.audiences)));
  }
  std::vector<std::string> token_audiences;
  if (aud->is_string()) {
    token_audiences.push_back(aud->get<std::string>());
  } else if (aud->is_array()) {
    for (const auto& entry : *aud) {
      if (!entry.is_string()) {
        return reject(DenialCode::JwtMalformed,
                      "claim \"aud\" has an element that is not a string");
      }
      token_audiences.push_back(entry.get<std::string>());
    }
  } else {
    return reject(DenialCode::JwtMalformed, "claim \"aud\" is neither a string nor an array");
  }
  const bool audience_ok =
      std::any_of(token_audiences.begin(), token_audiences.end(), [&](const std::string& audience) {
        return std::find(settings_.audiences.begin(), settings_.audiences.end(), audience) !=
               settings_.audiences.end();
      });
  if (!audience_ok) {
    std::string detail = fmt::format("token aud {} contains none of the configured audiences {}",
                                     shown_list(token_audiences), shown_list(settings_.audiences));
    for (const auto& theirs : token_audiences) {
      for (const auto& ours : settings_.audiences) {
        if (const auto why = near_miss(theirs, ours); !why.empty()) {
          detail += fmt::format("; {} and {}: {}", shown(theirs), shown(ours), why);
        }
      }
    }
    return reject(DenialCode::JwtAudienceMismatch, std::move(detail));
  }

  for (const auto& name : settings_.required_claims) {
    const auto it = claims.find(name);
    if (it == claims.end() || it->is_null()) {
      return reject(DenialCode::JwtMalformed,
                    fmt::format("required claim {} is missing", shown(name)));
    }
  }

  // --- the identity ---------------------------------------------------------------------------
  core::Identity identity;
  identity.method = "jwt";
  const auto user = claims.find(settings_.user_claim);
  if (user == claims.end() || !user->is_string() || user->get_ref<const std::string&>().empty()) {
    return reject(DenialCode::JwtMalformed,
                  fmt::format("the user claim {} is {}", shown(settings_.user_claim),
                              user == claims.end() ? "missing" : "not a non-empty string"));
  }
  identity.user = user->get<std::string>();
  if (!settings_.groups_claim.empty()) {
    if (const auto groups = claims.find(settings_.groups_claim); groups != claims.end()) {
      if (groups->is_string()) {
        identity.groups.push_back(groups->get<std::string>());
      } else if (groups->is_array()) {
        for (const auto& group : *groups) {
          if (!group.is_string()) {
            return reject(DenialCode::JwtMalformed,
                          fmt::format("the groups claim {} has an element that is not a string",
                                      shown(settings_.groups_claim)));
          }
          identity.groups.push_back(group.get<std::string>());
        }
      } else if (!groups->is_null()) {
        return reject(DenialCode::JwtMalformed,
                      fmt::format("the groups claim {} is neither a string nor an array",
                                  shown(settings_.groups_claim)));
      }
    }
  }
  for (const auto& [name, claim] : claims.items()) {
    if (claim.is_string()) identity.claims.emplace(name, claim.get<std::string>());
  }
  return Authenticated{std::move(identity)};
}

}  // namespace portcullis::authn
