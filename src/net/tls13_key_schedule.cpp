// The TLS 1.3 key schedule's primitives over OpenSSL's low-level SHA-256/SHA-384 functions:
// transcript hashes, HMAC (RFC 2104, written out here), HKDF-Extract and HKDF-Expand-Label
// (RFC 5869, RFC 8446 §7.1). They run a score of times per handshake; the low-level functions
// work on contexts on the stack, where EVP_MD_CTX/EVP_MAC_CTX would allocate per call and
// fetch or dup per digest. They are deprecated in OpenSSL 3.0, hence the suppression.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "net/tls13_key_schedule.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <initializer_list>

namespace portcullis::net::tls13 {
namespace {

// The two suite hashes behind one interface, so HMAC and HKDF are written once as templates
// and each instance calls its digest directly.
struct Sha256 {
  using Ctx = SHA256_CTX;
  static constexpr std::size_t kSize = 32;
  static constexpr std::size_t kBlock = 64;
  static void init(Ctx& c) { SHA256_Init(&c); }
  static void update(Ctx& c, std::span<const std::uint8_t> b) {
    SHA256_Update(&c, b.data(), b.size());
  }
  static void finish(Ctx& c, std::uint8_t* out) { SHA256_Final(out, &c); }
};

struct Sha384 {
  using Ctx = SHA512_CTX;
  static constexpr std::size_t kSize = 48;
  static constexpr std::size_t kBlock = 128;
  static void init(Ctx& c) { SHA384_Init(&c); }
  static void update(Ctx& c, std::span<const std::uint8_t> b) {
    SHA384_Update(&c, b.data(), b.size());
  }
  static void finish(Ctx& c, std::uint8_t* out) { SHA384_Final(out, &c); }
};

/// Calls f(Sha256{}) or f(Sha384{}).
template <class F>
decltype(auto) with_hash(HashAlg alg, F&& f) {
  return alg == HashAlg::Sha384 ? f(Sha384{}) : f(Sha256{});
}

/// An HMAC key as the two hash states after the ipad and opad blocks (RFC 2104). HKDF-Expand
/// MACs once per output block under the same key: each MAC copies these states instead of
/// hashing the padded key again. The states stand for the key, so they are wiped with it.
template <class H>
class HmacKey {
 public:
  explicit HmacKey(std::span<const std::uint8_t> key) {
    std::uint8_t block[H::kBlock] = {};
    if (key.size() > H::kBlock) {
      typename H::Ctx c;
      H::init(c);
      H::update(c, key);
      H::finish(c, block);
      OPENSSL_cleanse(&c, sizeof c);
    } else {
      std::ranges::copy(key, block);
    }
    for (auto& b : block) b ^= 0x36;
    H::init(inner_);
    H::update(inner_, block);
    for (auto& b : block) b ^= 0x36 ^ 0x5c;
    H::init(outer_);
    H::update(outer_, block);
    OPENSSL_cleanse(block, sizeof block);
  }
  ~HmacKey() {
    OPENSSL_cleanse(&inner_, sizeof inner_);
    OPENSSL_cleanse(&outer_, sizeof outer_);
  }
  HmacKey(const HmacKey&) = delete;
  HmacKey& operator=(const HmacKey&) = delete;

  /// HMAC over the concatenation of `parts`, H::kSize bytes into `out`. `out` may overlap the
  /// parts: they are all read before it is written.
  void mac(std::initializer_list<std::span<const std::uint8_t>> parts, std::uint8_t* out) const {
    typename H::Ctx c = inner_;
    for (const auto part : parts) H::update(c, part);
    std::uint8_t inner_hash[H::kSize];
    H::finish(c, inner_hash);
    c = outer_;
    H::update(c, inner_hash);
    H::finish(c, out);
    OPENSSL_cleanse(inner_hash, sizeof inner_hash);
    OPENSSL_cleanse(&c, sizeof c);
  }

 private:
  typename H::Ctx inner_;
  typename H::Ctx outer_;
};

template <class H>
Digest hmac_with(std::span<const std::uint8_t> key, std::span<const std::uint8_t> message) {
  Digest d;
  HmacKey<H>(key).mac({message}, d.bytes.data());
  d.size = H::kSize;
  return d;
}

constexpr std::string_view kLabelPrefix = "tls13 ";
/// The longest HkdfLabel: uint16 length, then label and context each up to 255 bytes after
/// a length byte.
constexpr std::size_t kMaxHkdfLabel = 2 + 1 + 255 + 1 + 255;

template <class H>
bool expand_label_with(std::span<const std::uint8_t> secret, std::string_view label,
                       std::span<const std::uint8_t> context, std::span<std::uint8_t> out) {
  if (out.size() > 255 * H::kSize || label.size() > 255 - kLabelPrefix.size() ||
      context.size() > 255) {
    return false;
  }
  // HKDF-Expand's info, the HkdfLabel, built once on the stack and MACed into every block.
  std::uint8_t info[kMaxHkdfLabel];
  std::size_t n = 0;
  info[n++] = static_cast<std::uint8_t>(out.size() >> 8);
  info[n++] = static_cast<std::uint8_t>(out.size());
  info[n++] = static_cast<std::uint8_t>(kLabelPrefix.size() + label.size());
  n = std::ranges::copy(kLabelPrefix, info + n).out - info;
  n = std::ranges::copy(label, info + n).out - info;
  info[n++] = static_cast<std::uint8_t>(context.size());
  n = std::ranges::copy(context, info + n).out - info;

  // The secret is taken in as the HMAC key before `out` is written, so `out` may be the secret
  // itself (a KeyUpdate's next traffic secret replacing the current one).
  const HmacKey<H> prk(secret);
  // T(i) = HMAC(PRK, T(i-1) || info || i), T(0) empty; out is T(1) || T(2) ... cut to size.
  std::uint8_t t[H::kSize];
  std::size_t t_size = 0;
  std::uint8_t counter = 1;
  for (std::size_t done = 0; done < out.size(); done += t_size, ++counter) {
    prk.mac({std::span(t, t_size), std::span(info, n), std::span(&counter, 1)}, t);
    t_size = H::kSize;
    std::copy_n(t, std::min(t_size, out.size() - done), out.begin() + done);
  }
  OPENSSL_cleanse(t, sizeof t);
  return true;
}

}  // namespace

std::size_t hash_size(HashAlg alg) {
  return alg == HashAlg::Sha384 ? Sha384::kSize : Sha256::kSize;
}

Digest::~Digest() {
  OPENSSL_cleanse(bytes.data(), bytes.size());
}

Transcript::Transcript(HashAlg alg) : alg_(alg) {
  if (alg_ == HashAlg::Sha384) {
    Sha384::init(sha384_);
  } else {
    Sha256::init(sha256_);
  }
}

void Transcript::update(std::span<const std::uint8_t> bytes) {
  if (alg_ == HashAlg::Sha384) {
    Sha384::update(sha384_, bytes);
  } else {
    Sha256::update(sha256_, bytes);
  }
}

Digest Transcript::current() const {
  // Finalizing ends a context, so a copy is finalized and the running one goes on.
  Digest d;
  if (alg_ == HashAlg::Sha384) {
    SHA512_CTX copy = sha384_;
    Sha384::finish(copy, d.bytes.data());
    d.size = Sha384::kSize;
  } else {
    SHA256_CTX copy = sha256_;
    Sha256::finish(copy, d.bytes.data());
    d.size = Sha256::kSize;
  }
  return d;
}

Digest hash(HashAlg alg, std::span<const std::uint8_t> bytes) {
  return with_hash(alg, [&]<class H>(H) {
    Digest d;
    typename H::Ctx c;
    H::init(c);
    H::update(c, bytes);
    H::finish(c, d.bytes.data());
    d.size = H::kSize;
    return d;
  });
}

Digest hmac(HashAlg alg, std::span<const std::uint8_t> key, std::span<const std::uint8_t> message) {
  return with_hash(alg, [&]<class H>(H) { return hmac_with<H>(key, message); });
}

Digest hkdf_extract(HashAlg alg, std::span<const std::uint8_t> salt,
                    std::span<const std::uint8_t> ikm) {
  static constexpr std::uint8_t kZeros[kMaxHashSize] = {};
  if (salt.empty()) salt = std::span(kZeros, hash_size(alg));
  return hmac(alg, salt, ikm);
}

bool hkdf_expand_label(HashAlg alg, std::span<const std::uint8_t> secret, std::string_view label,
                       std::span<const std::uint8_t> context, std::span<std::uint8_t> out) {
  return with_hash(alg,
                   [&]<class H>(H) { return expand_label_with<H>(secret, label, context, out); });
}

Digest derive_secret(HashAlg alg, std::span<const std::uint8_t> secret, std::string_view label,
                     std::span<const std::uint8_t> transcript_hash) {
  Digest d;
  d.size = hash_size(alg);
  // Only an over-long label (> 249 bytes) or context (> 255) can fail, and the callers pass the
  // RFC's labels and a transcript hash of at most 48 bytes. SECURITY: were it to fail all the
  // same, the result is random, never an empty or known secret someone else could compute.
  if (!hkdf_expand_label(alg, secret, label, transcript_hash, d.view())) {
    RAND_bytes(d.bytes.data(), static_cast<int>(d.size));
  }
  return d;
}

bool equal_secret(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace portcullis::net::tls13
