// Hash recognition and verification for htpasswd entries. bcrypt and SHA-crypt go through
// libxcrypt (crypt_rn), argon2 through libargon2, MD5-crypt ($1$, $apr1$) and {SHA} are
// computed here with OpenSSL EVP. Every comparison we make ourselves is CRYPTO_memcmp.
#include "authn/htpasswd_hash.h"

#include <argon2.h>
#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <memory>
#include <vector>

#include <fmt/format.h>

namespace portcullis::authn {
namespace {

// SECURITY: an argon2 hash asking for more memory than this is refused at load, so a bad
// entry cannot make every verification allocate gigabytes (RFC 9106's largest profile: 2 GiB).
constexpr std::uint32_t kMaxArgon2MemoryKib = 2u * 1024 * 1024;

constexpr std::string_view kCrypt64 =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

bool is_crypt64(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '/';
}

bool is_b64(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

bool all_of(std::string_view s, bool (*pred)(char)) {
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

bool ct_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;  // lengths are public (fixed per scheme)
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<std::uint32_t> parse_u32(std::string_view digits) {
  if (digits.empty() || digits.size() > 10) return std::nullopt;
  if (digits.size() > 1 && digits.front() == '0') return std::nullopt;
  std::uint32_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

/// A recognised hash: its scheme, parameters and the pieces verification needs.
struct ParsedHash {
  HashParameters params;
  std::string_view prefix;  ///< "$2y$", "$6$", "$apr1$", ...
  std::string_view salt;    ///< MD5-crypt salt
  bool explicit_rounds = false;
};

struct Parse {
  std::optional<ParsedHash> hash;
  std::string problem;
};

Parse refuse(std::string problem) {
  return Parse{std::nullopt, std::move(problem)};
}

Parse parse_bcrypt(std::string_view h) {
  if (h.size() < 4 || h[3] != '$') {
    return refuse("malformed bcrypt hash (expected $2y$, $2b$ or $2a$)");
  }
  const char minor = h[2];
  if (minor == 'x') {
    return refuse(
        "legacy bcrypt $2x$ (pre-2011, bug-compatible) is not supported; re-hash with "
        "`htpasswd -B`");
  }
  if (minor != 'a' && minor != 'b' && minor != 'y') {
    return refuse("unknown bcrypt variant (expected $2y$, $2b$ or $2a$)");
  }
  if (h.size() != 60) {
    return refuse(fmt::format("malformed bcrypt hash: {} characters instead of 60", h.size()));
  }
  if (h[6] != '$') return refuse("malformed bcrypt hash: the cost must be two digits");
  if (h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9') {
    return refuse("malformed bcrypt hash: the cost must be two digits");
  }
  const auto cost = static_cast<std::uint32_t>((h[4] - '0') * 10 + (h[5] - '0'));
  if (cost < 4 || cost > 31) {
    return refuse(fmt::format("malformed bcrypt hash: cost {} outside 04..31", cost));
  }
  if (!all_of(h.substr(7), is_crypt64)) {
    return refuse("malformed bcrypt hash: invalid character in salt or checksum");
  }
  // The 22nd salt character carries 2 bits; any other value is a salt no tool produces and
  // libxcrypt would normalise, so the entry could never match.
  const char last_salt = h[7 + 21];
  if (last_salt != '.' && last_salt != 'O' && last_salt != 'e' && last_salt != 'u') {
    return refuse("malformed bcrypt hash: non-canonical salt");
  }
  ParsedHash p;
  p.params.scheme = HashScheme::Bcrypt;
  p.params.cost = cost;
  p.prefix = h.substr(0, 4);
  return Parse{p, {}};
}

Parse parse_sha_crypt(std::string_view h, HashScheme scheme) {
  const std::size_t checksum_len = scheme == HashScheme::Sha256Crypt ? 43 : 86;
  const std::string_view name = scheme_name(scheme);
  ParsedHash p;
  p.params.scheme = scheme;
  p.params.cost = 5000;
  p.prefix = h.substr(0, 3);
  std::string_view rest = h.substr(3);
  if (rest.starts_with("rounds=")) {
    const auto end = rest.find('$');
    if (end == std::string_view::npos) return refuse(fmt::format("malformed {} hash", name));
    auto rounds = parse_u32(rest.substr(7, end - 7));
    if (!rounds) return refuse(fmt::format("malformed {} hash: rounds is not a number", name));
    if (*rounds < 1000 || *rounds > 999'999'999) {
      return refuse(
          fmt::format("malformed {} hash: rounds {} outside 1000..999999999", name, *rounds));
    }
    p.params.cost = *rounds;
    p.explicit_rounds = true;
    rest = rest.substr(end + 1);
  }
  const auto dollar = rest.find('$');
  if (dollar == std::string_view::npos) {
    return refuse(fmt::format("malformed {} hash: no checksum after the salt", name));
  }
  const std::string_view salt = rest.substr(0, dollar);
  const std::string_view checksum = rest.substr(dollar + 1);
  if (salt.empty() || salt.size() > 16 || !all_of(salt, is_crypt64)) {
    return refuse(
        fmt::format("malformed {} hash: the salt must be 1 to 16 characters of "
                    "[./0-9A-Za-z]",
                    name));
  }
  if (checksum.size() != checksum_len || !all_of(checksum, is_crypt64)) {
    return refuse(
        fmt::format("malformed {} hash: the checksum must be {} characters of "
                    "[./0-9A-Za-z]",
                    name, checksum_len));
  }
  return Parse{p, {}};
}

Parse parse_md5_crypt(std::string_view h, std::string_view magic, HashScheme scheme) {
  const std::string_view name = scheme_name(scheme);
  const std::string_view rest = h.substr(magic.size());
  const auto dollar = rest.find('$');
  if (dollar == std::string_view::npos) {
    return refuse(fmt::format("malformed {} hash: no checksum after the salt", name));
  }
  const std::string_view salt = rest.substr(0, dollar);
  const std::string_view checksum = rest.substr(dollar + 1);
  if (salt.empty() || salt.size() > 8 || !all_of(salt, is_crypt64)) {
    return refuse(
        fmt::format("malformed {} hash: the salt must be 1 to 8 characters of "
                    "[./0-9A-Za-z]",
                    name));
  }
  if (checksum.size() != 22 || !all_of(checksum, is_crypt64)) {
    return refuse(fmt::format(
        "malformed {} hash: the checksum must be 22 characters of [./0-9A-Za-z]", name));
  }
  ParsedHash p;
  p.params.scheme = scheme;
  p.prefix = magic;
  p.salt = salt;
  return Parse{p, {}};
}

/// Bytes encoded by unpadded base64 of `len` characters (nullopt for an impossible length).
std::optional<std::size_t> b64_unpadded_bytes(std::size_t len) {
  if (len % 4 == 1) return std::nullopt;
  return len / 4 * 3 + (len % 4 == 0 ? 0 : len % 4 - 1);
}

Parse parse_argon2(std::string_view h, std::string_view prefix, HashScheme scheme) {
  const std::string_view name = scheme_name(scheme);
  std::vector<std::string_view> fields;
  std::string_view rest = h.substr(prefix.size());
  for (;;) {
    const auto dollar = rest.find('$');
    fields.push_back(rest.substr(0, dollar));
    if (dollar == std::string_view::npos) break;
    rest = rest.substr(dollar + 1);
  }
  ParsedHash p;
  p.params.scheme = scheme;
  p.params.version = ARGON2_VERSION_10;
  p.prefix = prefix;
  std::size_t i = 0;
  if (!fields.empty() && fields[0].starts_with("v=")) {
    const auto version = parse_u32(fields[0].substr(2));
    if (!version || (*version != ARGON2_VERSION_10 && *version != ARGON2_VERSION_13)) {
      return refuse(fmt::format("unsupported {} version (expected v=19 or v=16)", name));
    }
    p.params.version = *version;
    i = 1;
  }
  if (fields.size() != i + 3) {
    return refuse(fmt::format("malformed {} hash (expected $v=19$m=..,t=..,p=..$salt$hash)", name));
  }
  // libargon2 requires exactly "m=<n>,t=<n>,p=<n>", in that order.
  const std::string_view params = fields[i];
  std::array<std::uint32_t, 3> values{};
  constexpr std::array<std::string_view, 3> kKeys{"m=", "t=", "p="};
  std::string_view cursor = params;
  for (std::size_t k = 0; k < 3; ++k) {
    if (!cursor.starts_with(kKeys[k])) {
      return refuse(fmt::format("malformed {} hash: parameters must be m=..,t=..,p=..", name));
    }
    cursor.remove_prefix(2);
    const auto comma = cursor.find(',');
    const std::string_view digits = k < 2 ? cursor.substr(0, comma) : cursor;
    const auto value = parse_u32(digits);
    if (!value || (k < 2 && comma == std::string_view::npos)) {
      return refuse(fmt::format("malformed {} hash: parameters must be m=..,t=..,p=..", name));
    }
    values[k] = *value;
    if (k < 2) cursor.remove_prefix(comma + 1);
  }
  const auto [m, t, par] = values;
  if (t < 1 || par < 1 || par > 0xFFFFFF || m < 8 * par) {
    return refuse(fmt::format("malformed {} hash: invalid m/t/p parameters", name));
  }
  if (m > kMaxArgon2MemoryKib) {
    return refuse(fmt::format("{} hash asks for {} KiB of memory (at most {} KiB accepted)", name,
                              m, kMaxArgon2MemoryKib));
  }
  const std::string_view salt = fields[i + 1];
  const std::string_view tag = fields[i + 2];
  const auto salt_bytes = b64_unpadded_bytes(salt.size());
  const auto tag_bytes = b64_unpadded_bytes(tag.size());
  if (!all_of(salt, is_b64) || !salt_bytes || *salt_bytes < ARGON2_MIN_SALT_LENGTH) {
    return refuse(fmt::format("malformed {} hash: invalid salt", name));
  }
  if (!all_of(tag, is_b64) || !tag_bytes || *tag_bytes < ARGON2_MIN_OUTLEN) {
    return refuse(fmt::format("malformed {} hash: invalid hash part", name));
  }
  p.params.memory_kib = m;
  p.params.cost = t;
  p.params.parallelism = par;
  p.params.tag_bytes = static_cast<std::uint32_t>(*tag_bytes);
  return Parse{p, {}};
}

Parse parse_sha1(std::string_view h) {
  const std::string_view b64 = h.substr(5);
  if (b64.size() != 28 || b64[27] != '=' || !all_of(b64.substr(0, 27), is_b64)) {
    return refuse("malformed {SHA} hash: expected 28 base64 characters (20 bytes)");
  }
  ParsedHash p;
  p.params.scheme = HashScheme::Sha1;
  p.prefix = h.substr(0, 5);
  return Parse{p, {}};
}

Parse parse_hash(std::string_view h) {
  if (h.empty()) return refuse("empty password hash");
  if (h.starts_with("$2")) return parse_bcrypt(h);
  if (h.starts_with("$5$")) return parse_sha_crypt(h, HashScheme::Sha256Crypt);
  if (h.starts_with("$6$")) return parse_sha_crypt(h, HashScheme::Sha512Crypt);
  if (h.starts_with("$apr1$")) return parse_md5_crypt(h, "$apr1$", HashScheme::Apr1);
  if (h.starts_with("$1$")) return parse_md5_crypt(h, "$1$", HashScheme::Md5Crypt);
  if (h.starts_with("$argon2id$")) return parse_argon2(h, "$argon2id$", HashScheme::Argon2id);
  if (h.starts_with("$argon2i$")) return parse_argon2(h, "$argon2i$", HashScheme::Argon2i);
  if (h.starts_with("$argon2d$")) return parse_argon2(h, "$argon2d$", HashScheme::Argon2d);
  if (h.starts_with("{SHA}")) return parse_sha1(h);
  if (h.starts_with("$y$") || h.starts_with("$gy$")) {
    return refuse("yescrypt ($y$) is not supported; use bcrypt (`htpasswd -B`)");
  }
  if (h.starts_with("$") || h.starts_with("{")) {
    return refuse(
        "unsupported hash scheme (accepted: bcrypt $2y$/$2b$/$2a$, SHA-crypt $5$/$6$, "
        "$argon2id$, and with a warning $apr1$, $1$, {SHA})");
  }
  // SECURITY: a bare string is either plaintext or DES crypt (13 characters, 8-byte password
  // limit); the two cannot be told apart, and neither is acceptable.
  return refuse("plaintext or DES-crypt password: not accepted; hash it with `htpasswd -B`");
}

// ---- MD5-crypt ($1$ and Apache's $apr1$, same algorithm, different magic) ----------------

class Md5 {
 public:
  Md5() : ctx_(EVP_MD_CTX_new()) { reset(); }
  ~Md5() { EVP_MD_CTX_free(ctx_); }
  Md5(const Md5&) = delete;
  Md5& operator=(const Md5&) = delete;

  bool ok() const { return ok_; }
  void reset() { ok_ = ctx_ != nullptr && EVP_DigestInit_ex(ctx_, EVP_md5(), nullptr) == 1; }
  void update(const void* data, std::size_t len) {
    if (ok_ && len > 0) ok_ = EVP_DigestUpdate(ctx_, data, len) == 1;
  }
  void update(std::string_view s) { update(s.data(), s.size()); }
  std::array<unsigned char, 16> final() {
    std::array<unsigned char, 16> out{};
    unsigned int len = 0;
    if (ok_) ok_ = EVP_DigestFinal_ex(ctx_, out.data(), &len) == 1 && len == 16;
    return out;
  }

 private:
  EVP_MD_CTX* ctx_;
  bool ok_ = false;
};

void to64(std::string& out, std::uint32_t v, int n) {
  while (n-- > 0) {
    out.push_back(kCrypt64[v & 0x3f]);
    v >>= 6;
  }
}

/// The full MD5-crypt string (magic + salt + '$' + 22 characters), or nullopt when OpenSSL
/// has no MD5 (a FIPS-only provider).
std::optional<std::string> md5_crypt(std::string_view pw, std::string_view magic,
                                     std::string_view salt) {
  Md5 alt;
  alt.update(pw);
  alt.update(salt);
  alt.update(pw);
  auto fin = alt.final();

  Md5 ctx;
  ctx.update(pw);
  ctx.update(magic);
  ctx.update(salt);
  for (std::size_t left = pw.size(); left > 0; left -= std::min<std::size_t>(left, 16)) {
    ctx.update(fin.data(), std::min<std::size_t>(left, 16));
  }
  const unsigned char zero = 0;
  for (std::size_t i = pw.size(); i != 0; i >>= 1) {
    if (i & 1) {
      ctx.update(&zero, 1);
    } else {
      ctx.update(pw.data(), 1);
    }
  }
  fin = ctx.final();

  Md5 round;
  for (int i = 0; i < 1000; ++i) {
    round.reset();
    if (i & 1) {
      round.update(pw);
    } else {
      round.update(fin.data(), fin.size());
    }
    if (i % 3) round.update(salt);
    if (i % 7) round.update(pw);
    if (i & 1) {
      round.update(fin.data(), fin.size());
    } else {
      round.update(pw);
    }
    fin = round.final();
  }
  if (!alt.ok() || !ctx.ok() || !round.ok()) return std::nullopt;

  std::string out;
  out.reserve(magic.size() + salt.size() + 23);
  out.append(magic).append(salt).push_back('$');
  auto b = [&](int i) { return static_cast<std::uint32_t>(fin[static_cast<std::size_t>(i)]); };
  to64(out, (b(0) << 16) | (b(6) << 8) | b(12), 4);
  to64(out, (b(1) << 16) | (b(7) << 8) | b(13), 4);
  to64(out, (b(2) << 16) | (b(8) << 8) | b(14), 4);
  to64(out, (b(3) << 16) | (b(9) << 8) | b(15), 4);
  to64(out, (b(4) << 16) | (b(10) << 8) | b(5), 4);
  to64(out, b(11), 2);
  OPENSSL_cleanse(fin.data(), fin.size());
  return out;
}

std::optional<std::string> sha1_b64(std::string_view pw) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(pw.data(), pw.size(), digest, &len, EVP_sha1(), nullptr) != 1 || len != 20) {
    return std::nullopt;
  }
  unsigned char b64[32] = {};
  const int n = EVP_EncodeBlock(b64, digest, 20);
  return "{SHA}" + std::string(reinterpret_cast<const char*>(b64), static_cast<std::size_t>(n));
}

/// Runs libxcrypt: the hash string, or nullopt when it refuses the setting or the password.
std::optional<std::string> run_crypt(std::string_view pw, const std::string& setting) {
  if (pw.size() >= CRYPT_MAX_PASSPHRASE_SIZE) return std::nullopt;
  const std::string phrase(pw);
  auto data = std::make_unique<crypt_data>();  // value-initialised: zeroed, as crypt_rn wants
  const char* out = crypt_rn(phrase.c_str(), setting.c_str(), data.get(), sizeof(crypt_data));
  std::optional<std::string> result;
  if (out != nullptr && out[0] != '*') result = std::string(out);
  OPENSSL_cleanse(const_cast<char*>(phrase.data()), phrase.size());
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  return result;
}

argon2_type argon2_type_of(HashScheme scheme) {
  switch (scheme) {
    case HashScheme::Argon2i:
      return Argon2_i;
    case HashScheme::Argon2d:
      return Argon2_d;
    default:
      return Argon2_id;
  }
}

bool random_bytes(unsigned char* out, std::size_t len) {
  return RAND_bytes(out, static_cast<int>(len)) == 1;
}

}  // namespace

std::string_view scheme_name(HashScheme scheme) {
  switch (scheme) {
    case HashScheme::Bcrypt:
      return "bcrypt";
    case HashScheme::Sha256Crypt:
      return "sha256-crypt";
    case HashScheme::Sha512Crypt:
      return "sha512-crypt";
    case HashScheme::Argon2id:
      return "argon2id";
    case HashScheme::Argon2i:
      return "argon2i";
    case HashScheme::Argon2d:
      return "argon2d";
    case HashScheme::Apr1:
      return "apr1";
    case HashScheme::Md5Crypt:
      return "md5-crypt";
    case HashScheme::Sha1:
      return "{SHA}";
  }
  return "unknown";
}

bool is_weak(HashScheme scheme) {
  return scheme == HashScheme::Apr1 || scheme == HashScheme::Md5Crypt ||
         scheme == HashScheme::Sha1 || scheme == HashScheme::Argon2d;
}

std::string HashParameters::to_string() const {
  switch (scheme) {
    case HashScheme::Bcrypt:
      return fmt::format("bcrypt cost {}", cost);
    case HashScheme::Sha256Crypt:
    case HashScheme::Sha512Crypt:
      return fmt::format("{} rounds {}", scheme_name(scheme), cost);
    case HashScheme::Argon2id:
    case HashScheme::Argon2i:
    case HashScheme::Argon2d:
      return fmt::format("{} v={} m={} t={} p={}", scheme_name(scheme), version, memory_kib, cost,
                         parallelism);
    default:
      return std::string(scheme_name(scheme));
  }
}

HashCheck check_hash(std::string_view hash) {
  auto parsed = parse_hash(hash);
  if (!parsed.hash) return HashCheck{std::nullopt, std::move(parsed.problem)};
  return HashCheck{parsed.hash->params.scheme, {}};
}

std::optional<HashParameters> hash_parameters(std::string_view hash) {
  auto parsed = parse_hash(hash);
  if (!parsed.hash) return std::nullopt;
  return parsed.hash->params;
}

bool verify_hash(std::string_view hash, std::string_view password) {
  // SECURITY: crypt(3) stops at a NUL, so "abc\0anything" would verify as "abc". Refuse
  // such passwords for every scheme (the Basic parser already rejects control characters).
  if (password.find('\0') != std::string_view::npos) return false;
  const auto parsed = parse_hash(hash);
  if (!parsed.hash) return false;
  const ParsedHash& p = *parsed.hash;
  switch (p.params.scheme) {
    case HashScheme::Bcrypt:
    case HashScheme::Sha256Crypt:
    case HashScheme::Sha512Crypt: {
      const auto computed = run_crypt(password, std::string(hash));
      return computed && ct_equal(*computed, hash);
    }
    case HashScheme::Argon2id:
    case HashScheme::Argon2i:
    case HashScheme::Argon2d: {
      const std::string encoded(hash);
      // argon2_verify recomputes the tag and compares it in constant time.
      return argon2_verify(encoded.c_str(), password.data(), password.size(),
                           argon2_type_of(p.params.scheme)) == ARGON2_OK;
    }
    case HashScheme::Apr1:
    case HashScheme::Md5Crypt: {
      const auto computed = md5_crypt(password, p.prefix, p.salt);
      return computed && ct_equal(*computed, hash);
    }
    case HashScheme::Sha1: {
      const auto computed = sha1_b64(password);
      return computed && ct_equal(*computed, hash);
    }
  }
  return false;
}

core::Result<std::string> hash_like(std::string_view reference, std::string_view password) {
  const auto parsed = parse_hash(reference);
  if (!parsed.hash) return core::fail("unrecognised reference hash: " + parsed.problem);
  const ParsedHash& p = *parsed.hash;
  std::array<unsigned char, 16> rnd{};
  if (!random_bytes(rnd.data(), rnd.size())) return core::fail("RAND_bytes failed");
  switch (p.params.scheme) {
    case HashScheme::Bcrypt:
    case HashScheme::Sha256Crypt:
    case HashScheme::Sha512Crypt: {
      const std::string prefix(p.prefix);
      const unsigned long count = p.params.scheme == HashScheme::Bcrypt || p.explicit_rounds
                                      ? p.params.cost
                                      : 0;  // 0 = the scheme's default (5000 rounds)
      char setting[CRYPT_GENSALT_OUTPUT_SIZE] = {};
      if (crypt_gensalt_rn(prefix.c_str(), count, reinterpret_cast<const char*>(rnd.data()),
                           static_cast<int>(rnd.size()), setting, sizeof setting) == nullptr) {
        return core::fail(fmt::format("crypt_gensalt failed for {}", p.params.to_string()));
      }
      auto out = run_crypt(password, setting);
      if (!out) return core::fail(fmt::format("crypt failed for {}", p.params.to_string()));
      return *out;
    }
    case HashScheme::Argon2id:
    case HashScheme::Argon2i:
    case HashScheme::Argon2d: {
      std::array<char, 512> encoded{};
      const int rc = argon2_hash(p.params.cost, p.params.memory_kib, p.params.parallelism,
                                 password.data(), password.size(), rnd.data(), rnd.size(), nullptr,
                                 p.params.tag_bytes, encoded.data(), encoded.size(),
                                 argon2_type_of(p.params.scheme), p.params.version);
      if (rc != ARGON2_OK) {
        return core::fail(fmt::format("argon2 failed: {}", argon2_error_message(rc)));
      }
      return std::string(encoded.data());
    }
    case HashScheme::Apr1:
    case HashScheme::Md5Crypt: {
      std::string salt;
      for (std::size_t i = 0; i < 8; ++i) salt.push_back(kCrypt64[rnd[i] & 0x3f]);
      auto out = md5_crypt(password, p.prefix, salt);
      if (!out) return core::fail("MD5 is unavailable in the crypto library");
      return *out;
    }
    case HashScheme::Sha1: {
      auto out = sha1_b64(password);
      if (!out) return core::fail("SHA-1 is unavailable in the crypto library");
      return *out;
    }
  }
  return core::fail("unsupported scheme");
}

}  // namespace portcullis::authn
