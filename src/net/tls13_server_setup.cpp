// ServerSetup on the SSL_CTX (ex_data, freed with the context), the suite choice from the
// context's list, the certificate_authorities names, and the parsed-chain cache.
#include "net/tls13_server_setup.h"

#include <openssl/sha.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include "net/tls13_crypto.h"
#include "net/tls13_records.h"
#include "net/tls13_wire.h"

namespace portcullis::net::tls13 {
namespace {

void free_setup(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<ServerSetup*>(ptr);
}

int setup_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_setup);
  return index;
}

ServerSetup* mutable_setup(const SSL_CTX* ctx) {
  return static_cast<ServerSetup*>(SSL_CTX_get_ex_data(ctx, setup_index()));
}

bool refuse_setup(std::string* why, const char* reason) {
  if (why != nullptr) *why = reason;
  return false;
}

}  // namespace

bool tls13_enabled(const SSL_CTX* ctx) {
  const long max_version = SSL_CTX_get_max_proto_version(const_cast<SSL_CTX*>(ctx));
  return (max_version == 0 || max_version >= TLS1_3_VERSION) &&
         (SSL_CTX_get_options(ctx) & SSL_OP_NO_TLSv1_3) == 0;
}

std::uint16_t choose_suite(const SSL_CTX* ctx, std::span<const std::uint16_t> offered) {
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx);
  for (int i = 0; ciphers != nullptr && i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const auto id =
        static_cast<std::uint16_t>(SSL_CIPHER_get_protocol_id(sk_SSL_CIPHER_value(ciphers, i)));
    // TLS 1.3 suites are 0x13XX; record_aead_for_suite knows the ones the record layer has.
    if ((id >> 8) == 0x13 && record_aead_for_suite(id) &&
        std::find(offered.begin(), offered.end(), id) != offered.end()) {
      return id;
    }
  }
  return 0;
}

ServerSetup::~ServerSetup() {
  EVP_PKEY_free(key);
}

bool own_handshake_enabled() {
  const char* mode = std::getenv("PORTCULLIS_TLS_HANDSHAKE");
  return mode == nullptr || std::string_view(mode) != "openssl";
}

bool enable_own_handshake(SSL_CTX* ctx, std::string* why) {
  setup_index();  // allocated before any connection, not racing in the workers
  if (mutable_setup(ctx) != nullptr) return true;
  if (!tls13_enabled(ctx)) return refuse_setup(why, "TLS 1.3 is disabled");
  X509* leaf = SSL_CTX_get0_certificate(ctx);
  EVP_PKEY* key = SSL_CTX_get0_privatekey(ctx);
  if (leaf == nullptr || key == nullptr) return refuse_setup(why, "no certificate or key");
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC || ec_curve(key) != NID_X9_62_prime256v1) {
    return refuse_setup(why, "the key is not ECDSA P-256");
  }
  auto setup = std::make_unique<ServerSetup>();
  const auto add_der = [&](X509* cert) {
    const int n = i2d_X509(cert, nullptr);
    if (n <= 0 || n > 0xffffff) return false;
    std::vector<std::uint8_t> der(static_cast<std::size_t>(n));
    unsigned char* p = der.data();
    if (i2d_X509(cert, &p) != n) return false;
    setup->chain.push_back(std::move(der));
    return true;
  };
  if (!add_der(leaf)) return refuse_setup(why, "cannot encode the certificate");
  STACK_OF(X509)* extra = nullptr;
  SSL_CTX_get0_chain_certs(ctx, &extra);
  for (int i = 0; extra != nullptr && i < sk_X509_num(extra); ++i) {
    if (!add_der(sk_X509_value(extra, i))) return refuse_setup(why, "cannot encode the chain");
  }
  EVP_PKEY_up_ref(key);
  setup->key = key;
  static constexpr std::uint16_t kRecordLayerSuites[] = {0x1301, 0x1302, 0x1303};
  if (choose_suite(ctx, kRecordLayerSuites) == 0) {
    return refuse_setup(why, "no TLS 1.3 suite the record layer has");
  }
  setup->ctx = ctx;
  setup->issue_tickets = SSL_CTX_get_num_tickets(ctx) > 0;
  const long timeout = std::clamp<long>(SSL_CTX_get_timeout(ctx), 1, 7 * 24 * 3600);
  setup->sessions =
      std::make_unique<SessionStore>(kSessionCacheSize, std::chrono::seconds(timeout));
  SSL_CTX_set_ex_data(ctx, setup_index(), setup.release());
  return true;
}

void set_own_handshake_client_auth(SSL_CTX* ctx, const ClientAuth& auth) {
  ServerSetup* setup = mutable_setup(ctx);
  if (setup == nullptr) return;
  setup->auth = &auth;
  // certificate_authorities: the DER names of SSL_CTX_set_client_CA_list, as OpenSSL sends them.
  setup->ca_names.clear();
  STACK_OF(X509_NAME)* names = SSL_CTX_get_client_CA_list(ctx);
  std::vector<std::uint8_t> body;
  Writer w(body);
  const auto list = w.open(2);
  for (int i = 0; names != nullptr && i < sk_X509_NAME_num(names); ++i) {
    const int n = i2d_X509_NAME(sk_X509_NAME_value(names, i), nullptr);
    if (n <= 0) continue;
    std::vector<std::uint8_t> der(static_cast<std::size_t>(n));
    unsigned char* p = der.data();
    i2d_X509_NAME(sk_X509_NAME_value(names, i), &p);
    w.u16(static_cast<std::uint16_t>(n));
    w.bytes(der);
  }
  w.close(list);
  // An empty list is not sent (OpenSSL omits it too); a list too big for the extension
  // (over 64 KiB of names) is not sent either: the client then picks without the hint.
  if (body.size() > 2 && body.size() <= 0xffff) setup->ca_names = std::move(body);
}

const ServerSetup* server_setup(const SSL_CTX* ctx) {
  return mutable_setup(ctx);
}

ParsedChains::Key ParsedChains::key_of(Bytes certificate_list) {
  Key key{};
  SHA256(certificate_list.data(), certificate_list.size(), key.data());
  return key;
}

std::vector<SharedX509> ParsedChains::find(const Key& key) const {
  const Slot& slot = slots_[key[0] % kSlots];
  const std::lock_guard lock(mutex_);
  if (slot.chain.empty() || slot.key != key) return {};
  return slot.chain;
}

void ParsedChains::insert(const Key& key, std::vector<SharedX509> chain) {
  Slot& slot = slots_[key[0] % kSlots];
  const std::lock_guard lock(mutex_);
  slot.key = key;
  slot.chain = std::move(chain);
}

}  // namespace portcullis::net::tls13
