// The certificate/CRL builder behind cert_builder.h: key generation, X.509 v3 extensions built
// as typed structures (no config-file strings for SANs), SHA-256 signing, atomic PEM writes.
#include "pki/cert_builder.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <memory>
#include <system_error>

#include "core/ascii.h"
#include "pki/cert_files.h"

namespace portcullis::pki {
namespace {

using core::fail;
using core::Result;

template <class T, void (*Free)(T*)>
using Owned = std::unique_ptr<T, OpenSslDeleter<T, Free>>;

using BignumPtr = Owned<BIGNUM, BN_free>;
using Asn1IntegerPtr = Owned<ASN1_INTEGER, ASN1_INTEGER_free>;
using Asn1OctetStringPtr = Owned<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>;
using Asn1TimePtr = Owned<ASN1_TIME, ASN1_TIME_free>;
using ExtensionPtr = Owned<X509_EXTENSION, X509_EXTENSION_free>;
using GeneralNamesPtr = Owned<GENERAL_NAMES, GENERAL_NAMES_free>;
using GeneralNamePtr = Owned<GENERAL_NAME, GENERAL_NAME_free>;
using AuthorityKeyIdPtr = Owned<AUTHORITY_KEYID, AUTHORITY_KEYID_free>;
using X509RevokedPtr = Owned<X509_REVOKED, X509_REVOKED_free>;

/// "what: <openssl reasons>" and a clean error queue.
core::Error openssl_failure(std::string_view what) {
  std::string why = openssl_errors();
  return core::Error{why.empty() ? std::string(what) : fmt::format("{}: {}", what, why), {}, 0};
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Certificate pieces

Result<void> set_serial(X509* cert, const std::string& serial_hex) {
  BignumPtr bn;
  if (serial_hex.empty()) {
    unsigned char bytes[16];
    if (RAND_bytes(bytes, sizeof bytes) != 1) return std::unexpected(openssl_failure("RAND_bytes"));
    bytes[0] &= 0x7f;                    // positive (RFC 5280 4.1.2.2)
    if (bytes[0] == 0) bytes[0] = 0x01;  // keep all 16 bytes significant
    bn.reset(BN_bin2bn(bytes, sizeof bytes, nullptr));
  } else {
    BIGNUM* raw = nullptr;
    const int parsed = BN_hex2bn(&raw, serial_hex.c_str());
    bn.reset(raw);
    if (parsed <= 0 || static_cast<std::size_t>(parsed) != serial_hex.size()) {
      ERR_clear_error();
      return fail(fmt::format("serial \"{}\" is not a hex number", serial_hex));
    }
  }
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr) {
    return std::unexpected(openssl_failure("cannot set the serial number"));
  }
  return {};
}

Result<void> add_conf_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509V3_set_ctx_nodb(&ctx);
  ExtensionPtr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext) {
    return std::unexpected(
        openssl_failure(fmt::format("invalid {} \"{}\"", OBJ_nid2ln(nid), value)));
  }
  if (X509_add_ext(cert, ext.get(), -1) != 1) {
    return std::unexpected(openssl_failure(fmt::format("cannot add {}", OBJ_nid2ln(nid))));
  }
  return {};
}

/// One GENERAL_NAME of `type` from its text, as OpenSSL's a2i_GENERAL_NAME (which AWS-LC lacks):
/// an IP address is parsed (IPv4 or IPv6), the other types are taken as given in an IA5String.
/// nullptr when the IP address does not parse or on out of memory.
GeneralNamePtr make_general_name(int type, const std::string& value) {
  GeneralNamePtr gen(GENERAL_NAME_new());
  if (!gen) return nullptr;
  if (type == GEN_IPADD) {
    ASN1_OCTET_STRING* ip = a2i_IPADDRESS(value.c_str());
    if (ip == nullptr) return nullptr;
    GENERAL_NAME_set0_value(gen.get(), type, ip);
    return gen;
  }
  ASN1_IA5STRING* text = ASN1_IA5STRING_new();
  if (text == nullptr) return nullptr;
  if (ASN1_STRING_set(text, value.data(), static_cast<ossl_ssize_t>(value.size())) != 1) {
    ASN1_IA5STRING_free(text);
    return nullptr;
  }
  GENERAL_NAME_set0_value(gen.get(), type, text);
  return gen;
}

Result<GeneralNamesPtr> build_general_names(const std::vector<std::string>& sans) {
  GeneralNamesPtr gens(sk_GENERAL_NAME_new_null());
  if (!gens) return std::unexpected(openssl_failure("out of memory"));
  for (const std::string& san : sans) {
    const std::size_t colon = san.find(':');
    if (colon == std::string::npos) {
      return fail(fmt::format("SAN \"{}\" has no type; write DNS:, IP:, email: or URI:", san));
    }
    const std::string type = san.substr(0, colon);
    const std::string value = san.substr(colon + 1);
    int gen_type = 0;
    if (type == "DNS") {
      gen_type = GEN_DNS;
    } else if (type == "IP") {
      gen_type = GEN_IPADD;
    } else if (type == "email") {
      gen_type = GEN_EMAIL;
    } else if (type == "URI") {
      gen_type = GEN_URI;
    } else {
      return fail(
          fmt::format("SAN \"{}\": unsupported type \"{}\" (DNS, IP, email, URI)", san, type));
    }
    GeneralNamePtr gen(make_general_name(gen_type, value));
    if (!gen) return std::unexpected(openssl_failure(fmt::format("invalid SAN \"{}\"", san)));
    if (sk_GENERAL_NAME_push(gens.get(), gen.get()) == 0) {
      return std::unexpected(openssl_failure("out of memory"));
    }
    gen.release();  // owned by the stack now
  }
  return gens;
}

/// RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING.
Result<Asn1OctetStringPtr> key_identifier(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_pubkey_digest(cert, EVP_sha1(), md, &len) != 1) {
    return std::unexpected(openssl_failure("cannot hash the public key"));
  }
  Asn1OctetStringPtr id(ASN1_OCTET_STRING_new());
  if (!id || ASN1_OCTET_STRING_set(id.get(), md, static_cast<int>(len)) != 1) {
    return std::unexpected(openssl_failure("out of memory"));
  }
  return id;
}

/// The issuer's key identifier: its subjectKeyIdentifier if present, else computed.
Result<Asn1OctetStringPtr> issuer_key_identifier(X509* issuer) {
  if (const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(issuer)) {
    Asn1OctetStringPtr copy(ASN1_OCTET_STRING_dup(ski));
    if (!copy) return std::unexpected(openssl_failure("out of memory"));
    return copy;
  }
  return key_identifier(issuer);
}

Result<AuthorityKeyIdPtr> make_akid_from(Asn1OctetStringPtr keyid) {
  AuthorityKeyIdPtr akid(AUTHORITY_KEYID_new());
  if (!akid) return std::unexpected(openssl_failure("out of memory"));
  akid->keyid = keyid.release();
  return akid;
}

Result<AuthorityKeyIdPtr> make_akid(X509* issuer) {
  auto keyid = issuer_key_identifier(issuer);
  if (!keyid) return std::unexpected(std::move(keyid.error()));
  return make_akid_from(std::move(*keyid));
}

/// A fresh decode of `cert`'s DER. OpenSSL caches decoded extensions, flags and the SHA-1
/// hash on first use and neither X509_add_ext nor X509_sign reset that cache; handing out a
/// re-decoded copy means callers see exactly what a relying party would.
Result<X509Ptr> redecode(X509* cert) {
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert, &der);
  if (len <= 0) return std::unexpected(openssl_failure("cannot encode the certificate"));
  const unsigned char* p = der;
  X509Ptr copy(d2i_X509(nullptr, &p, len));
  OPENSSL_free(der);
  if (!copy) return std::unexpected(openssl_failure("cannot decode the new certificate"));
  return copy;
}

Result<void> add_key_identifiers(X509* cert, X509* issuer) {
  auto ski = key_identifier(cert);
  if (!ski) return std::unexpected(std::move(ski.error()));
  if (X509_add1_ext_i2d(cert, NID_subject_key_identifier, ski->get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return std::unexpected(openssl_failure("cannot add subjectKeyIdentifier"));
  }
  // Self-signed: the AKI is our own SKI. Never query the certificate under construction
  // (X509_get0_subject_key_id): that freezes OpenSSL's extension cache in an incomplete state.
  Result<AuthorityKeyIdPtr> akid =
      issuer == cert ? make_akid_from(std::move(*ski)) : make_akid(issuer);
  if (!akid) return std::unexpected(std::move(akid.error()));
  if (X509_add1_ext_i2d(cert, NID_authority_key_identifier, akid->get(), 0, X509V3_ADD_DEFAULT) !=
      1) {
    return std::unexpected(openssl_failure("cannot add authorityKeyIdentifier"));
  }
  return {};
}

Result<Asn1TimePtr> time_from_now(std::chrono::seconds offset) {
  Asn1TimePtr t(ASN1_TIME_adj(nullptr, std::time(nullptr), 0, static_cast<long>(offset.count())));
  if (!t) return std::unexpected(openssl_failure("invalid time offset"));
  return t;
}

// ---------------------------------------------------------------------------------------------
// Files

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string errno_text(int err) {
  return std::error_code(err, std::generic_category()).message();
}

/// Writes via a temporary file in the same directory and rename(2), so readers never see a
/// half-written file and an old file's permissions never survive (a key is always 0600).
Result<void> write_file_atomically(const std::string& path, std::string_view data, mode_t mode) {
  std::string tmp = path + ".tmp.XXXXXX";
  Fd out{::mkstemp(tmp.data())};  // created 0600
  if (out.fd < 0) return fail(fmt::format("cannot write \"{}\": {}", path, errno_text(errno)));
  const auto abandon = [&](int err) {
    ::unlink(tmp.c_str());
    return fail(fmt::format("cannot write \"{}\": {}", path, errno_text(err)));
  };
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(out.fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return abandon(errno);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fchmod(out.fd, mode) != 0) return abandon(errno);
  if (::fsync(out.fd) != 0) return abandon(errno);
  const int fd = out.fd;
  out.fd = -1;
  if (::close(fd) != 0) return abandon(errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return abandon(errno);
  return {};
}

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return len > 0 && data != nullptr ? std::string(data, static_cast<std::size_t>(len))
                                    : std::string();
}

}  // namespace

// ---------------------------------------------------------------------------------------------

Result<EvpPkeyPtr> generate_key(KeyType type) {
  EvpPkeyCtxPtr ctx;
  bool ready = false;
  switch (type) {
    case KeyType::EcP256:
      ctx.reset(EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nullptr));
      ready = ctx && EVP_PKEY_keygen_init(ctx.get()) == 1 &&
              EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx.get(), NID_X9_62_prime256v1) == 1;
      break;
    case KeyType::Rsa2048:
      ctx.reset(EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nullptr));
      ready = ctx && EVP_PKEY_keygen_init(ctx.get()) == 1 &&
              EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), 2048) == 1;  // exponent 65537
      break;
  }
  EVP_PKEY* raw = nullptr;
  if (!ready || EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return std::unexpected(openssl_failure("key generation failed"));
  }
  return EvpPkeyPtr(raw);
}

Result<X509NamePtr> parse_distinguished_name(std::string_view rfc2253) {
  // Split into RDNs on unescaped commas, unescaping as we go.
  struct Rdn {
    std::string type;
    std::string value;
  };
  std::vector<Rdn> rdns;
  std::string type;
  std::string value;
  bool in_value = false;
  const auto finish = [&]() -> Result<void> {
    const std::string_view t = trim(type);
    if (t.empty() || !in_value) {
      return fail(fmt::format("distinguished name \"{}\": expected TYPE=value", rfc2253));
    }
    // Leading spaces are insignificant, trailing ones only count when escaped (kept as is).
    const std::size_t first = value.find_first_not_of(' ');
    rdns.push_back(Rdn{std::string(t), first == std::string::npos ? "" : value.substr(first)});
    type.clear();
    value.clear();
    in_value = false;
    return {};
  };
  for (std::size_t i = 0; i < rfc2253.size(); ++i) {
    const char c = rfc2253[i];
    if (c == '\\') {
      if (i + 1 >= rfc2253.size()) {
        return fail(fmt::format("distinguished name \"{}\": dangling backslash", rfc2253));
      }
      const char next = rfc2253[i + 1];
      if (i + 2 < rfc2253.size() && core::hex_digit_value(next) >= 0 &&
          core::hex_digit_value(rfc2253[i + 2]) >= 0) {
        (in_value ? value : type)
            .push_back(static_cast<char>(core::hex_digit_value(next) * 16 +
                                         core::hex_digit_value(rfc2253[i + 2])));
        i += 2;
      } else {
        (in_value ? value : type).push_back(next);
        i += 1;
      }
      continue;
    }
    if (c == ',' || c == ';') {
      if (auto r = finish(); !r) return std::unexpected(std::move(r.error()));
      continue;
    }
    if (c == '+') {
      return fail(
          fmt::format("distinguished name \"{}\": multi-valued RDNs are not supported", rfc2253));
    }
    if (c == '=' && !in_value) {
      in_value = true;
      continue;
    }
    (in_value ? value : type).push_back(c);
  }
  if (!rfc2253.empty() || !type.empty()) {
    if (auto r = finish(); !r) return std::unexpected(std::move(r.error()));
  }

  X509NamePtr name(X509_NAME_new());
  if (!name) return std::unexpected(openssl_failure("out of memory"));
  // RFC 2253 writes the most specific RDN first; the encoded sequence starts at the root.
  for (auto it = rdns.rbegin(); it != rdns.rend(); ++it) {
    if (X509_NAME_add_entry_by_txt(name.get(), it->type.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(it->value.data()),
                                   static_cast<int>(it->value.size()), -1, 0) != 1) {
      return std::unexpected(openssl_failure(fmt::format(
          "distinguished name \"{}\": invalid {}=\"{}\"", rfc2253, it->type, it->value)));
    }
  }
  return name;
}

Result<IssuedCert> issue_certificate(const CertSpec& spec) {
  if ((spec.issuer_cert == nullptr) != (spec.issuer_key == nullptr)) {
    return fail("issue_certificate: issuer_cert and issuer_key go together");
  }
  IssuedCert out;
  if (spec.key != nullptr) {
    if (EVP_PKEY_up_ref(spec.key) != 1) return std::unexpected(openssl_failure("EVP_PKEY_up_ref"));
    out.key.reset(spec.key);
  } else {
    auto key = generate_key(spec.key_type);
    if (!key) return std::unexpected(std::move(key.error()));
    out.key = std::move(*key);
  }

  auto subject = parse_distinguished_name(spec.subject);
  if (!subject) return std::unexpected(std::move(subject.error()));

  X509Ptr cert(X509_new());
  if (!cert) return std::unexpected(openssl_failure("out of memory"));
  X509* const issuer = spec.issuer_cert != nullptr ? spec.issuer_cert : cert.get();
  EVP_PKEY* const signer = spec.issuer_key != nullptr ? spec.issuer_key : out.key.get();

  if (X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      X509_set_subject_name(cert.get(), subject->get()) != 1 ||
      X509_set_issuer_name(cert.get(), spec.issuer_cert != nullptr
                                           ? X509_get_subject_name(spec.issuer_cert)
                                           : subject->get()) != 1 ||
      X509_set_pubkey(cert.get(), out.key.get()) != 1) {
    return std::unexpected(openssl_failure("cannot fill the certificate"));
  }
  if (auto r = set_serial(cert.get(), spec.serial_hex); !r) return std::unexpected(r.error());

  auto not_before = time_from_now(spec.not_before);
  if (!not_before) return std::unexpected(std::move(not_before.error()));
  auto not_after = time_from_now(spec.not_after);
  if (!not_after) return std::unexpected(std::move(not_after.error()));
  if (X509_set1_notBefore(cert.get(), not_before->get()) != 1 ||
      X509_set1_notAfter(cert.get(), not_after->get()) != 1) {
    return std::unexpected(openssl_failure("cannot set the validity"));
  }

  if (spec.basic_constraints) {
    std::string bc = spec.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE";
    if (spec.is_ca && spec.path_len >= 0) bc += fmt::format(",pathlen:{}", spec.path_len);
    if (auto r = add_conf_extension(cert.get(), issuer, NID_basic_constraints, bc); !r) {
      return std::unexpected(r.error());
    }
  }

  std::vector<std::string> key_usage;
  if (spec.key_usage) {
    key_usage = *spec.key_usage;
  } else if (spec.is_ca) {
    key_usage = {"keyCertSign", "cRLSign"};
  } else if (EVP_PKEY_id(out.key.get()) == EVP_PKEY_RSA) {
    key_usage = {"digitalSignature", "keyEncipherment"};
  } else {
    key_usage = {"digitalSignature"};
  }
  if (!key_usage.empty()) {
    if (auto r = add_conf_extension(cert.get(), issuer, NID_key_usage,
                                    "critical," + join(key_usage, ","));
        !r) {
      return std::unexpected(r.error());
    }
  }

  if (!spec.extended_key_usage.empty()) {
    if (auto r = add_conf_extension(cert.get(), issuer, NID_ext_key_usage,
                                    join(spec.extended_key_usage, ","));
        !r) {
      return std::unexpected(r.error());
    }
  }

  if (spec.key_identifiers) {
    if (auto r = add_key_identifiers(cert.get(), issuer); !r) return std::unexpected(r.error());
  }

  if (!spec.sans.empty()) {
    auto gens = build_general_names(spec.sans);
    if (!gens) return std::unexpected(std::move(gens.error()));
    // RFC 5280 4.2.1.6: critical when the subject is empty.
    const int critical = X509_NAME_entry_count(subject->get()) == 0 ? 1 : 0;
    if (X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, gens->get(), critical,
                          X509V3_ADD_DEFAULT) != 1) {
      return std::unexpected(openssl_failure("cannot add subjectAltName"));
    }
  }

  if (X509_sign(cert.get(), signer, EVP_sha256()) <= 0) {
    return std::unexpected(openssl_failure("cannot sign the certificate"));
  }
  auto fresh = redecode(cert.get());
  if (!fresh) return std::unexpected(std::move(fresh.error()));
  out.cert = std::move(*fresh);
  return out;
}

Result<X509CrlPtr> issue_crl(const CrlSpec& spec) {
  if (spec.issuer_cert == nullptr || spec.issuer_key == nullptr) {
    return fail("issue_crl: issuer_cert and issuer_key are required");
  }
  X509CrlPtr crl(X509_CRL_new());
  if (!crl) return std::unexpected(openssl_failure("out of memory"));
  auto last = time_from_now(spec.last_update);
  if (!last) return std::unexpected(std::move(last.error()));
  auto next = time_from_now(spec.next_update);
  if (!next) return std::unexpected(std::move(next.error()));
  if (X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(spec.issuer_cert)) != 1 ||
      X509_CRL_set1_lastUpdate(crl.get(), last->get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next->get()) != 1) {
    return std::unexpected(openssl_failure("cannot fill the CRL"));
  }
  for (X509* revoked_cert : spec.revoked) {
    X509RevokedPtr revoked(X509_REVOKED_new());
    if (!revoked ||
        X509_REVOKED_set_serialNumber(revoked.get(), X509_get_serialNumber(revoked_cert)) != 1 ||
        X509_REVOKED_set_revocationDate(revoked.get(), last->get()) != 1 ||
        X509_CRL_add0_revoked(crl.get(), revoked.get()) != 1) {
      return std::unexpected(openssl_failure("cannot add a revoked entry"));
    }
    revoked.release();  // owned by the CRL now
  }
  if (X509_CRL_sort(crl.get()) != 1) return std::unexpected(openssl_failure("X509_CRL_sort"));

  auto akid = make_akid(spec.issuer_cert);
  if (!akid) return std::unexpected(std::move(akid.error()));
  Asn1IntegerPtr number(ASN1_INTEGER_new());
  if (!number || ASN1_INTEGER_set(number.get(), spec.crl_number) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_authority_key_identifier, akid->get(), 0,
                            X509V3_ADD_DEFAULT) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return std::unexpected(openssl_failure("cannot add CRL extensions"));
  }
  if (X509_CRL_sign(crl.get(), spec.issuer_key, EVP_sha256()) <= 0) {
    return std::unexpected(openssl_failure("cannot sign the CRL"));
  }
  return crl;
}

std::string private_key_to_pem(EVP_PKEY* key) {
  if (key == nullptr) return {};
  // AWS-LC has no secure heap, but OPENSSL_free and OPENSSL_realloc wipe every buffer they
  // release, so the memory BIO's copy of the key is cleansed when freed.
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    ERR_clear_error();
    return {};
  }
  return bio_contents(bio.get());
}

Result<void> write_certificates(const std::string& path, const std::vector<X509*>& certs) {
  std::string pem;
  for (X509* cert : certs) {
    std::string one = to_pem(cert);
    if (one.empty())
      return fail(fmt::format("cannot write \"{}\": cannot encode a certificate", path));
    pem += one;
  }
  return write_file_atomically(path, pem, 0644);
}

Result<void> write_private_key(const std::string& path, EVP_PKEY* key) {
  std::string pem = private_key_to_pem(key);
  if (pem.empty()) return fail(fmt::format("cannot write \"{}\": cannot encode the key", path));
  const Result<void> r = write_file_atomically(path, pem, 0600);
  // The PEM text is a secret; do not leave it in freed heap memory.
  OPENSSL_cleanse(pem.data(), pem.size());
  return r;
}

Result<void> write_crl(const std::string& path, X509_CRL* crl) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (crl == nullptr || !bio || PEM_write_bio_X509_CRL(bio.get(), crl) != 1) {
    ERR_clear_error();
    return fail(fmt::format("cannot write \"{}\": cannot encode the CRL", path));
  }
  return write_file_atomically(path, bio_contents(bio.get()), 0644);
}

}  // namespace portcullis::pki
