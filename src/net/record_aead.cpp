// AeadContext: the provider's cipher functions called directly, or the EVP layer.
#include "net/record_aead.h"

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>

#include <cstdlib>
#include <optional>
#include <string_view>

#include "core/ascii.h"

namespace portcullis::net {

struct AeadContext::Direct {
  OSSL_FUNC_cipher_newctx_fn* newctx = nullptr;
  OSSL_FUNC_cipher_freectx_fn* freectx = nullptr;
  OSSL_FUNC_cipher_encrypt_init_fn* einit = nullptr;
  OSSL_FUNC_cipher_decrypt_init_fn* dinit = nullptr;
  OSSL_FUNC_cipher_update_fn* update = nullptr;
  OSSL_FUNC_cipher_final_fn* final = nullptr;
  OSSL_FUNC_cipher_get_ctx_params_fn* get_ctx_params = nullptr;
  OSSL_FUNC_cipher_set_ctx_params_fn* set_ctx_params = nullptr;
  void* provctx = nullptr;

  bool complete() const {
    return newctx != nullptr && freectx != nullptr && einit != nullptr && dinit != nullptr &&
           update != nullptr && final != nullptr && get_ctx_params != nullptr &&
           set_ctx_params != nullptr;
  }
};

namespace {

constexpr const char* kNames[] = {"AES-128-GCM", "AES-256-GCM", "ChaCha20-Poly1305"};

const EVP_CIPHER* evp_cipher(RecordAead aead) {
  static const EVP_CIPHER* const ciphers[] = {
      EVP_CIPHER_fetch(nullptr, kNames[0], nullptr),
      EVP_CIPHER_fetch(nullptr, kNames[1], nullptr),
      EVP_CIPHER_fetch(nullptr, kNames[2], nullptr),
  };
  return ciphers[static_cast<int>(aead)];
}

/// Whether an algorithm's names ("AES-128-GCM:id-aes128-GCM:2.16...") include `name`.
bool names_include(std::string_view names, std::string_view name) {
  while (!names.empty()) {
    const auto colon = names.find(':');
    if (core::ascii_iequals(names.substr(0, colon), name)) return true;
    if (colon == std::string_view::npos) break;
    names.remove_prefix(colon + 1);
  }
  return false;
}

/// The functions of the provider implementation the EVP fetch chose for `aead`. The fetched
/// cipher is never freed, so its provider, and the provider's context, stay loaded.
std::optional<AeadContext::Direct> find_direct(RecordAead aead) {
  const EVP_CIPHER* cipher = evp_cipher(aead);
  const OSSL_PROVIDER* provider = cipher ? EVP_CIPHER_get0_provider(cipher) : nullptr;
  if (provider == nullptr) return std::nullopt;
  int no_store = 0;
  const OSSL_ALGORITHM* algorithms =
      OSSL_PROVIDER_query_operation(provider, OSSL_OP_CIPHER, &no_store);
  if (algorithms == nullptr) return std::nullopt;
  std::optional<AeadContext::Direct> found;
  for (const OSSL_ALGORITHM* a = algorithms; a->algorithm_names != nullptr; ++a) {
    if (!names_include(a->algorithm_names, kNames[static_cast<int>(aead)])) continue;
    AeadContext::Direct d;
    for (const OSSL_DISPATCH* f = a->implementation; f->function_id != 0; ++f) {
      switch (f->function_id) {
        case OSSL_FUNC_CIPHER_NEWCTX:
          d.newctx = OSSL_FUNC_cipher_newctx(f);
          break;
        case OSSL_FUNC_CIPHER_FREECTX:
          d.freectx = OSSL_FUNC_cipher_freectx(f);
          break;
        case OSSL_FUNC_CIPHER_ENCRYPT_INIT:
          d.einit = OSSL_FUNC_cipher_encrypt_init(f);
          break;
        case OSSL_FUNC_CIPHER_DECRYPT_INIT:
          d.dinit = OSSL_FUNC_cipher_decrypt_init(f);
          break;
        case OSSL_FUNC_CIPHER_UPDATE:
          d.update = OSSL_FUNC_cipher_update(f);
          break;
        case OSSL_FUNC_CIPHER_FINAL:
          d.final = OSSL_FUNC_cipher_final(f);
          break;
        case OSSL_FUNC_CIPHER_GET_CTX_PARAMS:
          d.get_ctx_params = OSSL_FUNC_cipher_get_ctx_params(f);
          break;
        case OSSL_FUNC_CIPHER_SET_CTX_PARAMS:
          d.set_ctx_params = OSSL_FUNC_cipher_set_ctx_params(f);
          break;
        default:
          break;
      }
    }
    d.provctx = OSSL_PROVIDER_get0_provider_ctx(provider);
    if (d.complete()) found = d;
    break;
  }
  OSSL_PROVIDER_unquery_operation(provider, OSSL_OP_CIPHER, algorithms);
  return found;
}

/// The provider functions of `aead` (looked up once), or nullptr.
const AeadContext::Direct* direct_of(RecordAead aead) {
  static const std::optional<AeadContext::Direct> tables[] = {
      find_direct(RecordAead::Aes128Gcm),
      find_direct(RecordAead::Aes256Gcm),
      find_direct(RecordAead::ChaCha20Poly1305),
  };
  const auto& table = tables[static_cast<int>(aead)];
  return table ? &*table : nullptr;
}

OSSL_PARAM tag_param(std::uint8_t* tag) {
  return OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, kAeadTagSize);
}

}  // namespace

AeadPath default_aead_path() {
  static const AeadPath path = [] {
    const char* v = std::getenv("PORTCULLIS_RECORD_AEAD");
    return v != nullptr && std::string_view(v) == "evp" ? AeadPath::Evp : AeadPath::Provider;
  }();
  return path;
}

bool AeadContext::available(RecordAead aead) {
  return evp_cipher(aead) != nullptr;
}

bool AeadContext::provider_available(RecordAead aead) {
  return direct_of(aead) != nullptr;
}

void AeadContext::reset() {
  if (state_ == nullptr) return;
  // Both free functions wipe the key schedule before freeing it.
  if (direct_ != nullptr) {
    direct_->freectx(state_);
  } else {
    EVP_CIPHER_CTX_free(static_cast<EVP_CIPHER_CTX*>(state_));
  }
  state_ = nullptr;
  direct_ = nullptr;
}

bool AeadContext::init(RecordAead aead, const std::uint8_t* key, bool encrypt, AeadPath path) {
  reset();
  encrypt_ = encrypt;
  if (const Direct* d = path == AeadPath::Provider ? direct_of(aead) : nullptr) {
    void* ctx = d->newctx(d->provctx);
    if (ctx == nullptr) return false;
    direct_ = d;
    state_ = ctx;
    const int ok = encrypt ? d->einit(ctx, key, aead_key_size(aead), nullptr, 0, nullptr)
                           : d->dinit(ctx, key, aead_key_size(aead), nullptr, 0, nullptr);
    if (ok != 1) reset();
    return ok == 1;
  }
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) return false;
  state_ = ctx;
  if (EVP_CipherInit_ex2(ctx, evp_cipher(aead), key, nullptr, encrypt ? 1 : 0, nullptr) != 1) {
    reset();
    return false;
  }
  return true;
}

bool AeadContext::seal(const std::uint8_t* nonce, std::span<const std::uint8_t> aad,
                       std::uint8_t* text, std::size_t length, std::uint8_t* tag) {
  if (state_ == nullptr || !encrypt_) return false;
  if (direct_ != nullptr) {
    // As EVP_CipherInit_ex2 / EVP_CipherUpdate / EVP_CipherFinal_ex / EVP_CTRL_AEAD_GET_TAG
    // call them, for a stream-mode AEAD (block size 1, output sizes equal to input sizes).
    const Direct& d = *direct_;
    std::size_t n = 0;
    std::size_t tail = 0;
    OSSL_PARAM params[] = {tag_param(tag), OSSL_PARAM_construct_end()};
    return d.einit(state_, nullptr, 0, nonce, kAeadNonceSize, nullptr) == 1 &&
           d.update(state_, nullptr, &n, aad.size(), aad.data(), aad.size()) == 1 &&
           d.update(state_, text, &n, length, text, length) == 1 && n == length &&
           d.final(state_, text + length, &tail, 0) == 1 && tail == 0 &&
           d.get_ctx_params(state_, params) == 1;
  }
  auto* ctx = static_cast<EVP_CIPHER_CTX*>(state_);
  int n = 0;
  int tail = 0;
  const int size = static_cast<int>(length);
  return EVP_CipherInit_ex2(ctx, nullptr, nullptr, nonce, 1, nullptr) == 1 &&
         EVP_CipherUpdate(ctx, nullptr, &n, aad.data(), static_cast<int>(aad.size())) == 1 &&
         EVP_CipherUpdate(ctx, text, &n, text, size) == 1 && n == size &&
         EVP_CipherFinal_ex(ctx, text + length, &tail) == 1 && tail == 0 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kAeadTagSize, tag) == 1;
}

bool AeadContext::open(const std::uint8_t* nonce, std::span<const std::uint8_t> aad,
                       std::uint8_t* text, std::size_t length, const std::uint8_t* tag) {
  if (state_ == nullptr || encrypt_) return false;
  // The tag is only read: OpenSSL's parameter and ctrl interfaces take it as non-const.
  auto* expected = const_cast<std::uint8_t*>(tag);
  std::uint8_t scratch[32];
  if (direct_ != nullptr) {
    const Direct& d = *direct_;
    std::size_t n = 0;
    std::size_t tail = 0;
    OSSL_PARAM params[] = {tag_param(expected), OSSL_PARAM_construct_end()};
    return d.dinit(state_, nullptr, 0, nonce, kAeadNonceSize, nullptr) == 1 &&
           d.update(state_, nullptr, &n, aad.size(), aad.data(), aad.size()) == 1 &&
           d.update(state_, text, &n, length, text, length) == 1 && n == length &&
           d.set_ctx_params(state_, params) == 1 && d.final(state_, scratch, &tail, 0) == 1 &&
           tail == 0;
  }
  auto* ctx = static_cast<EVP_CIPHER_CTX*>(state_);
  int n = 0;
  int tail = 0;
  const int size = static_cast<int>(length);
  return EVP_CipherInit_ex2(ctx, nullptr, nullptr, nonce, 0, nullptr) == 1 &&
         EVP_CipherUpdate(ctx, nullptr, &n, aad.data(), static_cast<int>(aad.size())) == 1 &&
         EVP_CipherUpdate(ctx, text, &n, text, size) == 1 && n == size &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kAeadTagSize, expected) == 1 &&
         EVP_CipherFinal_ex(ctx, scratch, &tail) == 1 && tail == 0;
}

}  // namespace portcullis::net
