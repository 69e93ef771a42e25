// PEM loading with operator-readable errors, and the facts summary of one certificate.
// PEM text is scanned line by line first so that every failure names the file and the line;
// OpenSSL then decodes one block at a time.
#include "pki/cert_files.h"

#include "core/distinguished_name.h"
#include "pki/pem_text.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/obj.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <system_error>

namespace portcullis::pki {
namespace {

using core::fail;
using core::Result;

/// Certificate and key files are small; anything larger is the wrong file (or a device).
constexpr std::size_t kMaxPemFileBytes = 16u * 1024u * 1024u;

struct FileCloser {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

struct BnFree {
  void operator()(BIGNUM* b) const noexcept { BN_free(b); }
};
struct OpenSslFree {
  void operator()(char* p) const noexcept { OPENSSL_free(p); }
};
struct GeneralNamesFree {
  void operator()(GENERAL_NAMES* g) const noexcept { GENERAL_NAMES_free(g); }
};
struct EkuFree {
  void operator()(EXTENDED_KEY_USAGE* e) const noexcept { EXTENDED_KEY_USAGE_free(e); }
};

std::string errno_text(int err) {
  return std::error_code(err, std::generic_category()).message();
}

Result<std::string> read_file(const std::string& file) {
  errno = 0;
  FilePtr f(std::fopen(file.c_str(), "rb"));
  if (!f) return fail(fmt::format("cannot read \"{}\": {}", file, errno_text(errno)));
  std::string data;
  char buf[65536];
  for (;;) {
    const std::size_t n = std::fread(buf, 1, sizeof buf, f.get());
    data.append(buf, n);
    if (data.size() > kMaxPemFileBytes) {
      return fail(
          fmt::format("cannot read \"{}\": larger than {} MiB, not a certificate or key file", file,
                      kMaxPemFileBytes / (1024 * 1024)));
    }
    if (n < sizeof buf) {
      // A directory opens fine and fails here with EISDIR.
      if (std::ferror(f.get()) != 0) {
        return fail(fmt::format("cannot read \"{}\": {}", file, errno_text(errno)));
      }
      break;
    }
  }
  return data;
}

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return len > 0 && data != nullptr ? std::string(data, static_cast<std::size_t>(len))
                                    : std::string();
}

/// Never prompts on a terminal: an encrypted block simply fails to decode.
int no_passphrase(char*, int, int, void*) {
  return -1;
}

// ---------------------------------------------------------------------------------------------
// PEM scanning

struct PemBlock {
  std::string label;
  int begin_line = 0;
  std::string text;        ///< normalised block, "-----BEGIN ...-----\n...-----END ...-----\n"
  bool encrypted = false;  ///< traditional "Proc-Type: 4,ENCRYPTED" header
};

std::string broken(const std::string& name, int line, std::string_view why) {
  return fmt::format("\"{}\": broken PEM block at line {} ({})", name, line, why);
}

/// Splits PEM text into blocks. Text outside blocks is ignored (as OpenSSL does: "Bag
/// Attributes", "subject=..." lines); a damaged block is an error naming its line.
Result<std::vector<PemBlock>> scan_pem(std::string_view data, const std::string& name) {
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (data.starts_with(kBom)) data.remove_prefix(kBom.size());

  std::vector<PemBlock> blocks;
  std::optional<PemBlock> open;
  bool in_headers = false;
  std::string headers;
  std::string body;
  int line_no = 0;
  std::size_t pos = 0;
  while (pos < data.size()) {
    const std::size_t eol = data.find('\n', pos);
    const std::string_view raw =
        data.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    pos = eol == std::string_view::npos ? data.size() : eol + 1;
    ++line_no;
    const std::string_view line = pem_trim(raw);

    if (!open) {
      if (line.starts_with("-----BEGIN")) {
        const std::string_view label = pem_boundary_label(line, "-----BEGIN ");
        if (label.empty()) return fail(broken(name, line_no, "malformed BEGIN line"));
        open = PemBlock{std::string(label), line_no, {}, false};
        in_headers = true;
        headers.clear();
        body.clear();
      } else if (line.starts_with("-----END")) {
        return fail(broken(name, line_no, "END line without a BEGIN line"));
      }
      continue;
    }

    if (line.starts_with("-----END")) {
      const std::string_view label = pem_boundary_label(line, "-----END ");
      if (label != open->label) {
        return fail(broken(name, line_no,
                           fmt::format("\"-----BEGIN {}-----\" at line {} ends with \"{}\"",
                                       open->label, open->begin_line, line)));
      }
      if (body.empty()) return fail(broken(name, open->begin_line, "the block is empty"));
      open->text = fmt::format("-----BEGIN {}-----\n{}{}{}-----END {}-----\n", open->label, headers,
                               headers.empty() ? "" : "\n", body, open->label);
      blocks.push_back(std::move(*open));
      open.reset();
      continue;
    }
    if (line.starts_with("-----BEGIN")) {
      return fail(
          broken(name, open->begin_line,
                 fmt::format("no \"-----END {}-----\" line before the next BEGIN at line {}",
                             open->label, line_no)));
    }
    if (line.empty()) {
      in_headers = false;
      continue;
    }
    if (in_headers && body.empty() && line.find(':') != std::string_view::npos) {
      // RFC 1421 headers of traditional encrypted keys: "Proc-Type: 4,ENCRYPTED", "DEK-Info: ..".
      if (line.starts_with("Proc-Type:") && line.find("ENCRYPTED") != std::string_view::npos) {
        open->encrypted = true;
      }
      headers.append(line).push_back('\n');
      continue;
    }
    in_headers = false;
    for (const char c : line) {
      if (!is_base64_char(c)) {
        const bool printable = static_cast<unsigned char>(c) >= 0x20 && c != 0x7f &&
                               static_cast<unsigned char>(c) < 0x80;
        return fail(broken(name, line_no,
                           printable ? fmt::format("invalid base64 character '{}'", c)
                                     : fmt::format("invalid byte 0x{:02X} in base64",
                                                   static_cast<unsigned char>(c))));
      }
    }
    body.append(line).push_back('\n');
  }
  if (open) {
    return fail(
        broken(name, open->begin_line, fmt::format("no \"-----END {}-----\" line", open->label)));
  }
  return blocks;
}

bool is_certificate_label(std::string_view label) {
  return label == "CERTIFICATE" || label == "X509 CERTIFICATE" || label == "TRUSTED CERTIFICATE";
}

bool is_private_key_label(std::string_view label) {
  return label.ends_with("PRIVATE KEY");
}

/// What a file without the expected blocks holds, for "(the file holds ...)" messages.
std::string describe_contents(std::string_view data, const std::vector<PemBlock>& blocks) {
  if (data.find_first_not_of(" \t\r\n\f") == std::string_view::npos) {
    return "the file is empty";
  }
  if (blocks.empty()) {
    // DER starts with a SEQUENCE tag and a long-form length (30 82 ..); other binary files
    // show control bytes early on.
    const bool der = data.size() > 1 && static_cast<unsigned char>(data[0]) == 0x30 &&
                     (static_cast<unsigned char>(data[1]) & 0x80) != 0;
    const std::string_view head = data.substr(0, 1024);
    const bool control = std::any_of(head.begin(), head.end(), [](char c) {
      const auto u = static_cast<unsigned char>(c);
      return u < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f';
    });
    const bool binary = der || control;
    return binary ? "the file is binary (DER or PKCS#12), not PEM"
                  : "the file is not PEM: there is no \"-----BEGIN ...-----\" line";
  }
  for (const PemBlock& block : blocks) {
    if (is_private_key_label(block.label)) return "the file holds a private key";
  }
  for (const PemBlock& block : blocks) {
    if (is_certificate_label(block.label)) return "the file holds a certificate";
  }
  const std::string& label = blocks.front().label;
  if (label == "CERTIFICATE REQUEST" || label == "NEW CERTIFICATE REQUEST") {
    return "the file holds a certificate signing request, not a certificate";
  }
  if (label == "X509 CRL") return "the file holds a CRL";
  if (label.ends_with("PUBLIC KEY")) return "the file holds a public key";
  if (label == "PKCS7" || label == "CMS") {
    return "the file holds a PKCS#7 bundle; extract the certificates with "
           "`openssl pkcs7 -print_certs`";
  }
  if (label.ends_with("PARAMETERS")) return "the file holds key parameters only";
  return fmt::format("the file holds a \"{}\" block", label);
}

BioPtr memory_bio(const std::string& text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

/// The innermost OpenSSL reason ("too long", "unsupported"), clearing the queue: the whole
/// error stack is noise to an operator who only needs to know the block is damaged.
std::string first_reason_and_clear() {
  const std::string reason = openssl_reason_text(ERR_peek_error());
  ERR_clear_error();
  return reason.empty() ? std::string() : ": " + reason;
}

// ---------------------------------------------------------------------------------------------
// Summary helpers

std::string name_to_string(const X509_NAME* name) {
  if (name == nullptr) return {};
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return {};
  return bio_contents(bio.get());
}

std::string hex(const unsigned char* data, std::size_t len, bool upper, bool colons) {
  static constexpr char kLower[] = "0123456789abcdef";
  static constexpr char kUpper[] = "0123456789ABCDEF";
  const char* digits = upper ? kUpper : kLower;
  std::string out;
  out.reserve(len * 3);
  for (std::size_t i = 0; i < len; ++i) {
    if (colons && i > 0) out.push_back(':');
    out.push_back(digits[data[i] >> 4]);
    out.push_back(digits[data[i] & 0x0f]);
  }
  return out;
}

bool asn1_time_to_tm(const ASN1_TIME* t, std::tm* tm) {
  return t != nullptr && ASN1_TIME_to_tm(t, tm) == 1;
}

std::string asn1_time_to_rfc3339(const ASN1_TIME* t) {
  std::tm tm{};
  if (!asn1_time_to_tm(t, &tm)) return {};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::chrono::system_clock::time_point asn1_time_to_point(const ASN1_TIME* t) {
  return asn1_time_point(t).value_or(std::chrono::system_clock::time_point{});
}

/// SECURITY: SAN strings end up in logs and upstream headers; control and non-ASCII bytes
/// (invalid in IA5String anyway) are escaped so a crafted certificate cannot inject lines.
std::string ia5_text(const ASN1_STRING* s) {
  std::string out;
  if (s == nullptr) return out;
  const unsigned char* data = ASN1_STRING_get0_data(s);
  const int len = ASN1_STRING_length(s);
  for (int i = 0; i < len; ++i) {
    const unsigned char c = data[i];
    if (c < 0x20 || c >= 0x7f || c == '\\') {
      out += fmt::format("\\x{:02X}", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::string ip_text(const ASN1_OCTET_STRING* s) {
  const unsigned char* data = ASN1_STRING_get0_data(s);
  const int len = ASN1_STRING_length(s);
  char buf[INET6_ADDRSTRLEN] = {};
  if (len == 4 && inet_ntop(AF_INET, data, buf, sizeof buf) != nullptr) return buf;
  if (len == 16 && inet_ntop(AF_INET6, data, buf, sizeof buf) != nullptr) return buf;
  return "<invalid:" + hex(data, static_cast<std::size_t>(std::max(len, 0)), true, false) + ">";
}

std::string general_name_text(const GENERAL_NAME* gen) {
  switch (gen->type) {
    case GEN_DNS:
      return "DNS:" + ia5_text(gen->d.dNSName);
    case GEN_IPADD:
      return "IP:" + ip_text(gen->d.iPAddress);
    case GEN_EMAIL:
      return "email:" + ia5_text(gen->d.rfc822Name);
    case GEN_URI:
      return "URI:" + ia5_text(gen->d.uniformResourceIdentifier);
    case GEN_DIRNAME:
      return "DirName:" + name_to_string(gen->d.directoryName);
    case GEN_RID:
      return "RID:" + object_text(gen->d.registeredID, false);
    case GEN_OTHERNAME: {
      const OTHERNAME* other = gen->d.otherName;
      if (OBJ_obj2nid(other->type_id) == NID_ms_upn && other->value != nullptr &&
          other->value->type == V_ASN1_UTF8STRING) {
        return "UPN:" + ia5_text(other->value->value.utf8string);
      }
      return "othername:" + object_text(other->type_id, false);
    }
    case GEN_X400:
      return "X400Name:<unsupported>";
    case GEN_EDIPARTY:
      return "EdiPartyName:<unsupported>";
    default:
      return "unknown:<unsupported>";
  }
}

std::vector<std::string> key_usage_names(std::uint32_t ku) {
  static constexpr std::pair<std::uint32_t, const char*> kNames[] = {
      {KU_DIGITAL_SIGNATURE, "digitalSignature"},
      {KU_NON_REPUDIATION, "nonRepudiation"},
      {KU_KEY_ENCIPHERMENT, "keyEncipherment"},
      {KU_DATA_ENCIPHERMENT, "dataEncipherment"},
      {KU_KEY_AGREEMENT, "keyAgreement"},
      {KU_KEY_CERT_SIGN, "keyCertSign"},
      {KU_CRL_SIGN, "cRLSign"},
      {KU_ENCIPHER_ONLY, "encipherOnly"},
      {KU_DECIPHER_ONLY, "decipherOnly"},
  };
  std::vector<std::string> out;
  for (const auto& [bit, label] : kNames) {
    if ((ku & bit) != 0) out.emplace_back(label);
  }
  return out;
}

std::string key_type_text(const EVP_PKEY* key) {
  if (key == nullptr) return {};
  const int type = EVP_PKEY_id(key);
  switch (type) {
    case EVP_PKEY_EC: {
      // A named curve: its NIST name when it has one (P-256), else its short name (secp256k1).
      const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(key);
      const EC_GROUP* group = ec != nullptr ? EC_KEY_get0_group(ec) : nullptr;
      const int curve = group != nullptr ? EC_GROUP_get_curve_name(group) : NID_undef;
      if (curve == NID_undef) return "EC";
      const char* nist = EC_curve_nid2nist(curve);
      return fmt::format("EC {}", nist != nullptr ? nist : OBJ_nid2sn(curve));
    }
    case EVP_PKEY_RSA:
      return fmt::format("RSA {}", EVP_PKEY_bits(key));
    case EVP_PKEY_RSA_PSS:
      return fmt::format("RSA-PSS {}", EVP_PKEY_bits(key));
    default: {
      // The short name of the key type (ED25519, DSA), as OpenSSL 3 named it.
      const char* name = type != NID_undef ? OBJ_nid2sn(type) : nullptr;
      return name != nullptr ? name : "unknown";
    }
  }
}

std::string octets_hex(const ASN1_OCTET_STRING* s) {
  if (s == nullptr) return {};
  return hex(ASN1_STRING_get0_data(s), static_cast<std::size_t>(ASN1_STRING_length(s)), true, true);
}

}  // namespace

std::string object_text(const ASN1_OBJECT* obj, bool prefer_short_name) {
  if (obj == nullptr) return {};
  if (prefer_short_name) {
    const int nid = OBJ_obj2nid(obj);
    if (nid != NID_undef) {
      if (const char* sn = OBJ_nid2sn(nid)) return sn;
    }
  }
  char buf[128];
  const int n = OBJ_obj2txt(buf, sizeof buf, obj, 1);
  return n > 0
             ? std::string(buf, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buf - 1))
             : std::string();
}

// ---------------------------------------------------------------------------------------------

Result<std::vector<X509Ptr>> parse_certificates(std::string_view pem, const std::string& name) {
  auto blocks = scan_pem(pem, name);
  if (!blocks) return std::unexpected(std::move(blocks.error()));

  bool has_certificate = false;
  for (const PemBlock& block : *blocks) has_certificate |= is_certificate_label(block.label);
  for (const PemBlock& block : *blocks) {
    if (!is_private_key_label(block.label)) continue;
    if (!has_certificate) {
      return fail(fmt::format("\"{}\": no certificate found (the file holds a private key)", name));
    }
    // SECURITY: certificate files are shared freely (bundles, chains); a key inside one is a
    // leak waiting to happen, and a key belongs in its own 0600 file.
    return fail(fmt::format(
        "\"{}\": the certificate file also holds a private key (line {}); keep the key in its "
        "own file (mode 0600)",
        name, block.begin_line));
  }

  std::vector<X509Ptr> certs;
  for (const PemBlock& block : *blocks) {
    if (!is_certificate_label(block.label)) continue;
    ERR_set_mark();
    BioPtr bio = memory_bio(block.text);
    X509* cert = !bio ? nullptr
                 : block.label == "TRUSTED CERTIFICATE"
                     ? PEM_read_bio_X509_AUX(bio.get(), nullptr, no_passphrase, nullptr)
                     : PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr);
    if (cert == nullptr) {
      return fail(
          broken(name, block.begin_line,
                 "the certificate inside is truncated or corrupted" + first_reason_and_clear()));
    }
    ERR_pop_to_mark();
    certs.emplace_back(cert);
  }
  if (certs.empty()) {
    return fail(
        fmt::format("\"{}\": no certificate found ({})", name, describe_contents(pem, *blocks)));
  }
  return certs;
}

Result<std::vector<X509Ptr>> load_certificates(const std::string& file) {
  auto data = read_file(file);
  if (!data) return std::unexpected(std::move(data.error()));
  return parse_certificates(*data, file);
}

Result<EvpPkeyPtr> parse_private_key(std::string_view pem, const std::string& name) {
  auto blocks = scan_pem(pem, name);
  if (!blocks) return std::unexpected(std::move(blocks.error()));

  const PemBlock* key_block = nullptr;
  int keys = 0;
  for (const PemBlock& block : *blocks) {
    if (!is_private_key_label(block.label)) continue;
    ++keys;
    if (key_block == nullptr) key_block = &block;
  }
  if (keys == 0) {
    return fail(
        fmt::format("\"{}\": no private key found ({})", name, describe_contents(pem, *blocks)));
  }
  if (keys > 1) {
    return fail(
        fmt::format("\"{}\": holds {} private keys; keep exactly one key per file", name, keys));
  }
  if (key_block->label == "ENCRYPTED PRIVATE KEY" || key_block->encrypted) {
    return fail(fmt::format(
        "\"{}\": the key is encrypted with a passphrase; Portcullis needs an unencrypted key "
        "file (chmod 600)",
        name));
  }
  if (key_block->label == "OPENSSH PRIVATE KEY") {
    return fail(fmt::format(
        "\"{}\": the key is in OpenSSH format; Portcullis needs a PEM (PKCS#8) key: convert it "
        "with `ssh-keygen -p -N \"\" -m PKCS8 -f {}`",
        name, name));
  }
  ERR_set_mark();
  BioPtr bio = memory_bio(key_block->text);
  EvpPkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr)
                     : nullptr);
  if (!key) {
    return fail(broken(name, key_block->begin_line,
                       "the private key inside is truncated, corrupted or of an unsupported type" +
                           first_reason_and_clear()));
  }
  ERR_pop_to_mark();
  return key;
}

Result<EvpPkeyPtr> load_private_key(const std::string& file) {
  auto data = read_file(file);
  if (!data) return std::unexpected(std::move(data.error()));
  return parse_private_key(*data, file);
}

bool key_matches_certificate(EVP_PKEY* key, X509* cert) {
  if (key == nullptr || cert == nullptr) return false;
  const EVP_PKEY* cert_key = X509_get0_pubkey(cert);
  if (cert_key == nullptr) {
    ERR_clear_error();
    return false;
  }
  ERR_set_mark();
  const bool match = EVP_PKEY_cmp(key, cert_key) == 1;
  ERR_pop_to_mark();
  return match;
}

CertSummary summarize(X509* cert) {
  CertSummary s;
  if (cert == nullptr) return s;
  // Nothing here is a failure the caller can act on; keep the error queue as we found it.
  ERR_set_mark();

  s.subject = name_to_string(X509_get_subject_name(cert));
  s.common_name = core::first_common_name(s.subject);
  s.issuer = name_to_string(X509_get_issuer_name(cert));

  if (std::unique_ptr<BIGNUM, BnFree> bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
      bn) {
    if (std::unique_ptr<char, OpenSslFree> text(BN_bn2hex(bn.get())); text) s.serial = text.get();
  }

  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &md_len) == 1) s.sha256 = hex(md, md_len, false, false);

  s.not_before = asn1_time_to_rfc3339(X509_get0_notBefore(cert));
  s.not_after = asn1_time_to_rfc3339(X509_get0_notAfter(cert));
  s.valid_from = asn1_time_to_point(X509_get0_notBefore(cert));
  s.valid_until = asn1_time_to_point(X509_get0_notAfter(cert));

  if (std::unique_ptr<GENERAL_NAMES, GeneralNamesFree> gens(static_cast<GENERAL_NAMES*>(
          X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
      gens) {
    for (std::size_t i = 0; i < sk_GENERAL_NAME_num(gens.get()); ++i) {
      s.sans.push_back(general_name_text(sk_GENERAL_NAME_value(gens.get(), i)));
    }
  }

  const std::uint32_t flags = X509_get_extension_flags(cert);
  s.is_ca = (flags & EXFLAG_CA) != 0;
  s.self_signed = is_self_signed(cert, false);

  if (std::unique_ptr<EXTENDED_KEY_USAGE, EkuFree> eku(static_cast<EXTENDED_KEY_USAGE*>(
          X509_get_ext_d2i(cert, NID_ext_key_usage, nullptr, nullptr)));
      eku) {
    for (std::size_t i = 0; i < sk_ASN1_OBJECT_num(eku.get()); ++i) {
      s.extended_key_usage.push_back(object_text(sk_ASN1_OBJECT_value(eku.get(), i), true));
    }
  }
  if ((flags & EXFLAG_KUSAGE) != 0) s.key_usage = key_usage_names(X509_get_key_usage(cert));

  s.key_type = key_type_text(X509_get0_pubkey(cert));
  s.subject_key_id = octets_hex(X509_get0_subject_key_id(cert));
  s.authority_key_id = octets_hex(X509_get0_authority_key_id(cert));

  ERR_pop_to_mark();
  return s;
}

std::string to_pem(X509* cert) {
  if (cert == nullptr) return {};
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    ERR_clear_error();
    return {};
  }
  return bio_contents(bio.get());
}

std::optional<std::chrono::system_clock::time_point> asn1_time_point(const ASN1_TIME* t) {
  using std::chrono::system_clock;
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  // system_clock counts nanoseconds in 64 bits (years 1678..2262); certificates say 9999-12-31
  // for "no expiry". Clamp instead of overflowing.
  using Seconds = std::chrono::duration<std::int64_t>;
  constexpr std::int64_t kMax =
      std::chrono::duration_cast<Seconds>(system_clock::duration::max()).count() - 1;
  constexpr std::int64_t kMin =
      std::chrono::duration_cast<Seconds>(system_clock::duration::min()).count() + 1;
  const std::int64_t secs = std::clamp<std::int64_t>(timegm(&tm), kMin, kMax);
  return system_clock::time_point(
      std::chrono::duration_cast<system_clock::duration>(Seconds(secs)));
}

}  // namespace portcullis::pki
