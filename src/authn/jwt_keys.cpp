// JWKS loading: JSON members → AWS-LC public keys (RSA from (n, e) with RSA_new_public_key, EC
// from its affine coordinates, Ed25519 from its raw bytes), with the checks that make a key safe
// to verify with (size, curve point).
#include "authn/jwt_keys.h"
#include "pki/openssl_ptr.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "authn/jwt_crypto.h"
#include "authn/jwt_token.h"

namespace portcullis::authn {
namespace {

using nlohmann::json;

struct BnDeleter {
  void operator()(BIGNUM* p) const noexcept { BN_free(p); }
};
struct RsaDeleter {
  void operator()(RSA* p) const noexcept { RSA_free(p); }
};
struct EcKeyDeleter {
  void operator()(EC_KEY* p) const noexcept { EC_KEY_free(p); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnDeleter>;
using RsaPtr = std::unique_ptr<RSA, RsaDeleter>;
using EcKeyPtr = std::unique_ptr<EC_KEY, EcKeyDeleter>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

std::shared_ptr<EVP_PKEY> share(EVP_PKEY* pkey) {
  return std::shared_ptr<EVP_PKEY>(pkey, [](EVP_PKEY* p) { EVP_PKEY_free(p); });
}

std::string openssl_reason() {
  const unsigned long code = ERR_peek_last_error();
  std::string out =
      code != 0 ? pki::openssl_reason_text(static_cast<std::uint32_t>(code)) : std::string();
  ERR_clear_error();
  return out.empty() ? "the crypto library refused it" : out;
}

// A required base64url member of a JWK, decoded (padding tolerated: some publishers pad).
core::Result<std::string> member_bytes(const json& jwk, const char* name) {
  const auto it = jwk.find(name);
  if (it == jwk.end()) return core::fail(fmt::format("missing \"{}\"", name));
  if (!it->is_string()) return core::fail(fmt::format("\"{}\" is not a string", name));
  auto decoded = base64url_decode_lenient(it->get_ref<const std::string&>());
  if (!decoded) return core::fail(fmt::format("\"{}\" is not base64url", name));
  if (decoded->empty()) return core::fail(fmt::format("\"{}\" is empty", name));
  return std::move(*decoded);
}

BIGNUM* to_bn(const std::string& big_endian) {
  return BN_bin2bn(reinterpret_cast<const unsigned char*>(big_endian.data()), big_endian.size(),
                   nullptr);
}

core::Result<void> load_rsa(const json& jwk, Jwk& key) {
  auto n = member_bytes(jwk, "n");
  if (!n) return std::unexpected(n.error());
  auto e = member_bytes(jwk, "e");
  if (!e) return std::unexpected(e.error());
  BnPtr bn_n(to_bn(*n));
  BnPtr bn_e(to_bn(*e));
  if (!bn_n || !bn_e) return core::fail("out of memory");
  key.bits = BN_num_bits(bn_n.get());
  // SECURITY: short moduli are factorable; refuse instead of verifying against them.
  if (key.bits < kMinRsaBits) {
    return core::fail(
        fmt::format("RSA key of {} bits refused: at least {} are required", key.bits, kMinRsaBits));
  }
  if (!BN_is_odd(bn_e.get()) || BN_is_one(bn_e.get()) || BN_num_bits(bn_e.get()) > 64) {
    return core::fail(
        "RSA exponent \"e\" is invalid (must be odd, greater than 1, at most 64 bits)");
  }
  // RSA_new_public_key also runs AWS-LC's public-key checks, so a key it would refuse at
  // verification time is refused here, with its reason.
  RsaPtr rsa(RSA_new_public_key(bn_n.get(), bn_e.get()));
  if (!rsa) return core::fail("RSA key rejected: " + openssl_reason());
  PkeyPtr pkey(EVP_PKEY_new());
  if (!pkey || EVP_PKEY_assign_RSA(pkey.get(), rsa.get()) != 1) {
    ERR_clear_error();
    return core::fail("out of memory");
  }
  rsa.release();  // owned by pkey now
  key.pkey = share(pkey.release());
  return {};
}

core::Result<void> load_ec(const json& jwk, Jwk& key) {
  const auto crv = jwk.find("crv");
  if (crv == jwk.end()) return core::fail("EC key without \"crv\"");
  if (!crv->is_string()) return core::fail("\"crv\" is not a string");
  key.curve = crv->get<std::string>();
  int group = NID_undef;
  std::size_t size = 0;
  if (key.curve == "P-256") {
    group = NID_X9_62_prime256v1;
    size = 32;
  } else if (key.curve == "P-384") {
    group = NID_secp384r1;
    size = 48;
  } else if (key.curve == "P-521") {
    group = NID_secp521r1;
    size = 66;
  } else {
    return core::fail(
        fmt::format("unsupported EC curve \"{}\" (supported: P-256, P-384, P-521)", key.curve));
  }
  auto x = member_bytes(jwk, "x");
  if (!x) return std::unexpected(x.error());
  auto y = member_bytes(jwk, "y");
  if (!y) return std::unexpected(y.error());
  // RFC 7518 §6.2.1.2: coordinates are the full field size, never shortened.
  if (x->size() != size || y->size() != size) {
    return core::fail(fmt::format("{} coordinates must be {} bytes each (x has {}, y has {})",
                                  key.curve, size, x->size(), y->size()));
  }
  key.bits = static_cast<int>(key.curve == "P-521" ? 521 : size * 8);
  EcKeyPtr ec(EC_KEY_new_by_curve_name(group));
  BnPtr bn_x(to_bn(*x));
  BnPtr bn_y(to_bn(*y));
  if (!ec || !bn_x || !bn_y) return core::fail("out of memory");
  // Refuses coordinates outside the field and points off the curve.
  if (EC_KEY_set_public_key_affine_coordinates(ec.get(), bn_x.get(), bn_y.get()) != 1) {
    ERR_clear_error();
    return core::fail(fmt::format("the {} point (x, y) is not on the curve", key.curve));
  }
  // SECURITY: an invalid point enables invalid-curve attacks; check it explicitly.
  if (EC_KEY_check_key(ec.get()) != 1) {
    ERR_clear_error();
    return core::fail(fmt::format("the {} point (x, y) is not a valid public key", key.curve));
  }
  PkeyPtr pkey(EVP_PKEY_new());
  if (!pkey || EVP_PKEY_assign_EC_KEY(pkey.get(), ec.get()) != 1) {
    ERR_clear_error();
    return core::fail("out of memory");
  }
  ec.release();  // owned by pkey now
  key.pkey = share(pkey.release());
  return {};
}

core::Result<void> load_okp(const json& jwk, Jwk& key) {
  const auto crv = jwk.find("crv");
  if (crv == jwk.end()) return core::fail("OKP key without \"crv\"");
  if (!crv->is_string()) return core::fail("\"crv\" is not a string");
  key.curve = crv->get<std::string>();
  if (key.curve != "Ed25519") {
    return core::fail(fmt::format("unsupported OKP curve \"{}\" (supported: Ed25519)", key.curve));
  }
  auto x = member_bytes(jwk, "x");
  if (!x) return std::unexpected(x.error());
  if (x->size() != 32) {
    return core::fail(fmt::format("Ed25519 \"x\" must be 32 bytes, not {}", x->size()));
  }
  key.bits = 256;
  EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(x->data()), x->size());
  if (pkey == nullptr) return core::fail("Ed25519 key rejected: " + openssl_reason());
  key.pkey = share(pkey);
  return {};
}

core::Result<void> load_oct(const json& jwk, Jwk& key) {
  auto k = member_bytes(jwk, "k");
  if (!k) return std::unexpected(k.error());
  key.bits = static_cast<int>(k->size() * 8);
  // SECURITY: a short HMAC secret can be brute-forced offline from one token.
  if (k->size() < kMinHmacSecretBytes) {
    OPENSSL_cleanse(k->data(), k->size());
    return core::fail(fmt::format("oct secret of {} bits refused: at least {} are required",
                                  k->size() * 8, kMinHmacSecretBytes * 8));
  }
  key.secret = std::move(*k);
  return {};
}

// The members of a private key; a JWKS is published, so they should never be there.
bool has_private_members(const json& jwk, KeyType type) {
  if (type == KeyType::Oct) return false;
  for (const char* name : {"d", "p", "q", "dp", "dq", "qi"}) {
    if (jwk.contains(name)) return true;
  }
  return false;
}

// Why a key is not meant for signatures (nullopt: it is).
std::optional<std::string> not_for_signatures(const json& jwk) {
  if (const auto use = jwk.find("use"); use != jwk.end()) {
    if (!use->is_string() || use->get_ref<const std::string&>() != "sig") {
      return fmt::format("\"use\" is {}", use->dump());
    }
  }
  if (const auto ops = jwk.find("key_ops"); ops != jwk.end()) {
    const bool verify =
        ops->is_array() && std::any_of(ops->begin(), ops->end(), [](const json& op) {
          return op.is_string() && op.get_ref<const std::string&>() == "verify";
        });
    if (!verify) return "\"key_ops\" does not include \"verify\"";
  }
  if (const auto alg = jwk.find("alg");
      alg != jwk.end() && alg->is_string() && !parse_jws_alg(alg->get_ref<const std::string&>())) {
    const auto& name = alg->get_ref<const std::string&>();
    if (name.starts_with("RSA") || name.starts_with("ECDH") || name.starts_with("A") ||
        name == "dir") {
      return fmt::format("\"alg\" {} is an encryption algorithm", alg->dump());
    }
  }
  return std::nullopt;
}

core::Result<Jwk> load_key(const json& jwk) {
  if (!jwk.is_object()) return core::fail("not a JSON object");
  Jwk key;
  if (const auto kid = jwk.find("kid"); kid != jwk.end()) {
    if (!kid->is_string()) return core::fail("\"kid\" is not a string");
    key.kid = kid->get<std::string>();
  }
  const auto kty = jwk.find("kty");
  if (kty == jwk.end()) return core::fail("no \"kty\"");
  if (!kty->is_string()) return core::fail("\"kty\" is not a string");
  const auto& type = kty->get_ref<const std::string&>();
  core::Result<void> loaded;
  if (type == "RSA") {
    key.type = KeyType::Rsa;
    loaded = load_rsa(jwk, key);
  } else if (type == "EC") {
    key.type = KeyType::Ec;
    loaded = load_ec(jwk, key);
  } else if (type == "OKP") {
    key.type = KeyType::Okp;
    loaded = load_okp(jwk, key);
  } else if (type == "oct") {
    key.type = KeyType::Oct;
    loaded = load_oct(jwk, key);
  } else {
    return core::fail(
        fmt::format("unsupported \"kty\" {} (supported: RSA, EC, OKP, oct)", kty->dump()));
  }
  if (!loaded) return std::unexpected(loaded.error());
  if (const auto alg = jwk.find("alg"); alg != jwk.end()) {
    if (!alg->is_string()) return core::fail("\"alg\" is not a string");
    key.alg = alg->get<std::string>();
    const auto parsed = parse_jws_alg(key.alg);
    if (!parsed) {
      return core::fail(fmt::format("unsupported \"alg\" \"{}\"", key.alg));
    }
    if (auto why = key_mismatch(*parsed, key)) return core::fail(*why);
  }
  return key;
}

std::string key_label(const json& jwk, std::size_t index) {
  if (jwk.is_object()) {
    if (const auto kid = jwk.find("kid"); kid != jwk.end() && kid->is_string()) {
      return fmt::format("keys[{}] (kid {})", index, kid->dump());
    }
  }
  return fmt::format("keys[{}]", index);
}

}  // namespace

std::string_view key_type_name(KeyType type) {
  switch (type) {
    case KeyType::Rsa:
      return "RSA";
    case KeyType::Ec:
      return "EC";
    case KeyType::Okp:
      return "OKP";
    case KeyType::Oct:
      return "oct";
  }
  return "?";
}

Jwk::~Jwk() {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
}

std::string Jwk::describe() const {
  std::string what(key_type_name(type));
  if (!curve.empty()) {
    what += ' ';
    what += curve;
  } else {
    what += fmt::format(" {}", bits);
  }
  if (kid) return fmt::format("kid {} ({})", json(*kid).dump(), what);
  return fmt::format("the key without kid ({})", what);
}

core::Result<std::shared_ptr<const KeySet>> KeySet::from_jwks_json(std::string_view text,
                                                                   std::string source_name) {
  const auto prefix = [&](const std::string& message) { return core::fail(message, source_name); };
  const json document = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return prefix("not valid JSON");
  if (!document.is_object()) return prefix("a JWKS must be a JSON object with \"keys\"");

  std::vector<const json*> entries;
  if (const auto keys = document.find("keys"); keys != document.end()) {
    if (!keys->is_array()) return prefix("\"keys\" is not an array");
    for (const auto& entry : *keys) entries.push_back(&entry);
  } else if (document.contains("kty")) {
    entries.push_back(&document);  // a single JWK
  } else {
    return prefix("neither a JWKS (no \"keys\") nor a JWK (no \"kty\")");
  }

  std::shared_ptr<KeySet> set(new KeySet());
  set->source_ = source_name;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const json& entry = *entries[i];
    const std::string label = key_label(entry, i);
    if (entry.is_object()) {
      if (auto why = not_for_signatures(entry)) {
        set->warnings_.push_back(fmt::format("{}: skipped, not a signature key: {}", label, *why));
        continue;
      }
    }
    auto key = load_key(entry);
    if (!key) return prefix(label + ": " + key.error().message);
    if (has_private_members(entry, key->type)) {
      set->warnings_.push_back(fmt::format(
          "{}: private key members ignored; publish only public keys in a JWKS", label));
    }
    if (key->kid) {
      for (const auto& other : set->keys_) {
        if (other.kid == key->kid && other.type == key->type) {
          return prefix(fmt::format("{}: a second {} key with the same kid", label,
                                    key_type_name(key->type)));
        }
      }
    }
    set->keys_.push_back(std::move(*key));
  }
  if (set->keys_.empty()) return prefix("no signature keys");
  return std::shared_ptr<const KeySet>(std::move(set));
}

std::vector<const Jwk*> KeySet::find(std::string_view kid) const {
  std::vector<const Jwk*> out;
  for (const auto& key : keys_) {
    if (key.kid && *key.kid == kid) out.push_back(&key);
  }
  return out;
}

std::vector<const Jwk*> KeySet::keys_without_kid() const {
  std::vector<const Jwk*> out;
  for (const auto& key : keys_) {
    if (!key.kid) out.push_back(&key);
  }
  return out;
}

}  // namespace portcullis::authn
