// Decoding certificate-related files. PEM is scanned line by line by our own scanner (not
// OpenSSL's, which skips damage silently) so that every problem carries its line; each block is
// then decoded as DER according to its label. Binary input is tried as every DER type we know.
#include "diag/file_contents.h"

#include "pki/pem_text.h"

#include <fmt/format.h>
#include <openssl/bytestring.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/pkcs8.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <system_error>
#include <vector>

namespace portcullis::diag {
namespace {

using pki::is_base64_char;
using pki::pem_boundary_label;
using pki::pem_trim;

struct FileCloser {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};
struct Pkcs7Free {
  void operator()(PKCS7* p) const noexcept { PKCS7_free(p); }
};
struct Pkcs12Free {
  void operator()(PKCS12* p) const noexcept { PKCS12_free(p); }
};
struct X509SigFree {
  void operator()(X509_SIG* p) const noexcept { X509_SIG_free(p); }
};
struct Pkcs8Free {
  void operator()(PKCS8_PRIV_KEY_INFO* p) const noexcept { PKCS8_PRIV_KEY_INFO_free(p); }
};

using Bytes = std::vector<unsigned char>;

/// A control byte other than whitespace, or DEL: the data is binary, not annotation text.
bool has_binary_byte(std::string_view line) {
  return std::any_of(line.begin(), line.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t' && c != '\r' && c != '\f' && c != '\n') || u == 0x7f;
  });
}

/// A line that is base64 data rather than human-readable annotation: long enough, only base64
/// characters, and not an underline ("=====").
bool looks_like_base64_data(std::string_view line) {
  if (line.size() < 16) return false;
  if (!std::all_of(line.begin(), line.end(), is_base64_char)) return false;
  return line.find_first_not_of(line.front()) != std::string_view::npos;
}

std::string char_text(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return fmt::format("'{}'", c);
  return fmt::format("byte 0x{:02X}", u);
}

/// Strict base64: whole quanta, padding only at the end. nullopt with `why` on damage.
std::optional<Bytes> decode_base64(std::string_view text, std::string* why) {
  if (text.empty()) {
    *why = "no data";
    return std::nullopt;
  }
  if (text.size() % 4 != 0) {
    *why = fmt::format("{} base64 characters, not a multiple of 4: characters are missing",
                       text.size());
    return std::nullopt;
  }
  const std::size_t first_pad = text.find('=');
  std::size_t padding = 0;
  if (first_pad != std::string_view::npos) {
    padding = text.size() - first_pad;
    if (padding > 2 || text.substr(first_pad).find_first_not_of('=') != std::string_view::npos) {
      *why = "padding ('=') in the middle of the data";
      return std::nullopt;
    }
  }
  Bytes out(text.size() / 4 * 3, 0);
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) {
    *why = "undecodable base64";
    return std::nullopt;
  }
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

/// The innermost OpenSSL reason, clearing the queue (": too long", or "").
std::string openssl_reason() {
  const std::string reason = pki::openssl_reason_text(ERR_peek_error());
  ERR_clear_error();
  return reason.empty() ? std::string() : ": " + reason;
}

Item make_item(ItemKind kind, std::string label, int line, std::string container = {}) {
  Item item;
  item.kind = kind;
  item.label = std::move(label);
  item.line = line;
  item.container = std::move(container);
  return item;
}

/// Certificates and CRLs of a PKCS#7 structure (signed data, as .p7b/.p7c files are).
bool add_pkcs7(PKCS7* p7, int line, std::vector<Item>& items) {
  STACK_OF(X509)* certs = nullptr;
  STACK_OF(X509_CRL)* crls = nullptr;
  if (p7 == nullptr) return false;
  if (PKCS7_type_is_signed(p7) && p7->d.sign != nullptr) {
    certs = p7->d.sign->cert;
    crls = p7->d.sign->crl;
  } else if (PKCS7_type_is_signedAndEnveloped(p7) && p7->d.signed_and_enveloped != nullptr) {
    certs = p7->d.signed_and_enveloped->cert;
    crls = p7->d.signed_and_enveloped->crl;
  } else {
    return false;
  }
  for (std::size_t i = 0; i < sk_X509_num(certs); ++i) {
    X509* c = sk_X509_value(certs, i);
    if (X509_up_ref(c) != 1) continue;
    Item item = make_item(ItemKind::Certificate, "CERTIFICATE", line, "PKCS#7");
    item.cert.reset(c);
    items.push_back(std::move(item));
  }
  for (std::size_t i = 0; i < sk_X509_CRL_num(crls); ++i) {
    X509_CRL* c = sk_X509_CRL_value(crls, i);
    if (X509_CRL_up_ref(c) != 1) continue;
    Item item = make_item(ItemKind::Crl, "X509 CRL", line, "PKCS#7");
    item.crl.reset(c);
    items.push_back(std::move(item));
  }
  return true;
}

/// Takes the SEQUENCE at the front of `cbs` (BER: its length may be indefinite) into `element`
/// and its contents into `contents`. An indefinite-length SEQUENCE runs on to its end-of-contents
/// octets: `element` is then only its header, `contents` the rest of `cbs`.
bool enter_sequence(CBS* cbs, CBS* element, CBS* contents, bool* indefinite) {
  CBS_ASN1_TAG tag = 0;
  std::size_t header = 0;
  int is_indefinite = 0;
  if (CBS_get_any_ber_asn1_element(cbs, element, &tag, &header, nullptr, &is_indefinite) != 1 ||
      tag != CBS_ASN1_SEQUENCE) {
    return false;
  }
  *indefinite = is_indefinite != 0;
  *contents = *indefinite ? *cbs : *element;
  return *indefinite || CBS_skip(contents, header) == 1;
}

/// Whether `der` starts with a PKCS#12 PFX: SEQUENCE { INTEGER version, ContentInfo (SEQUENCE
/// starting with a PKCS#7 content type) ... }. AWS-LC's d2i_PKCS12 only copies its input, so
/// without this test every DER object would "be" an archive. On a match, `pfx` is the PFX's own
/// bytes (trailing data after it is ignored, as OpenSSL's d2i_PKCS12 ignored it), or all of
/// `der` when the PFX has an indefinite length (Java keytool, older Windows exports).
bool find_pfx(const Bytes& der, CBS* pfx) {
  static constexpr std::array<std::uint8_t, 8> kPkcs7Arc{0x2a, 0x86, 0x48, 0x86, 0xf7,
                                                         0x0d, 0x01, 0x07};  // 1.2.840.113549.1.7
  CBS in;
  CBS_init(&in, der.data(), der.size());
  CBS outer;
  CBS body;
  bool indefinite = false;
  if (!enter_sequence(&in, &outer, &body, &indefinite)) return false;
  if (indefinite) {
    CBS_init(pfx, der.data(), der.size());
  } else {
    *pfx = outer;
  }
  CBS content_info;
  CBS content_info_body;
  CBS content_type;
  return CBS_get_asn1(&body, nullptr, CBS_ASN1_INTEGER) == 1 &&
         enter_sequence(&body, &content_info, &content_info_body, &indefinite) &&
         CBS_get_asn1(&content_info_body, &content_type, CBS_ASN1_OBJECT) == 1 &&
         CBS_len(&content_type) == kPkcs7Arc.size() + 1 &&
         std::equal(kPkcs7Arc.begin(), kPkcs7Arc.end(), CBS_data(&content_type));
}

/// How one attempt to open a PKCS#12 archive with a password ended.
enum class Pkcs12Attempt { Opened, WrongPassword, Failed };

struct Pkcs12Parts {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509) * ca = nullptr;
};

Pkcs12Attempt open_pkcs12(const PKCS12* p12, const std::string& password, Pkcs12Parts& parts) {
  // AWS-LC verifies the MAC before it decrypts anything, and with an empty password it tries
  // both encodings in use (the empty string and none at all).
  if (PKCS12_parse(p12, password.c_str(), &parts.key, &parts.cert, &parts.ca) == 1) {
    return Pkcs12Attempt::Opened;
  }
  const std::uint32_t last = ERR_peek_last_error();
  const int lib = ERR_GET_LIB(last);
  if ((lib == ERR_LIB_PKCS8 || lib == ERR_LIB_PKCS12) &&
      ERR_GET_REASON(last) == PKCS8_R_INCORRECT_PASSWORD) {
    return Pkcs12Attempt::WrongPassword;
  }
  return Pkcs12Attempt::Failed;
}

void parse_pkcs12(const PKCS12* p12, const ReadOptions& options, FileContents& out) {
  out.format = FileFormat::Pkcs12;
  Pkcs12Parts parts;
  std::optional<std::string> chosen;
  ERR_set_mark();
  const auto attempt = [&](const std::string& password) {
    const Pkcs12Attempt result = open_pkcs12(p12, password, parts);
    if (result == Pkcs12Attempt::Opened) chosen = password;
    return result;
  };
  Pkcs12Attempt result = attempt(options.password.value_or(std::string()));
  if (result == Pkcs12Attempt::WrongPassword && !options.password && options.ask_password) {
    ERR_clear_error();
    if (auto asked = options.ask_password()) result = attempt(*asked);
  }
  if (result == Pkcs12Attempt::WrongPassword) {
    ERR_pop_to_mark();
    out.problems.push_back(
        {0, options.password
                ? "PKCS#12: wrong password (MAC verification failed)"
                : "PKCS#12: the archive is protected by a password; give it with --password-file"});
    return;
  }
  if (result == Pkcs12Attempt::Failed) {
    const std::uint32_t last = ERR_peek_last_error();
    const bool no_mac =
        ERR_GET_LIB(last) == ERR_LIB_PKCS8 && ERR_GET_REASON(last) == PKCS8_R_MISSING_MAC;
    const std::string reason = openssl_reason();
    ERR_pop_to_mark();
    out.problems.push_back(
        {0, no_mac ? std::string("PKCS#12: the archive has no MAC (integrity check); only "
                                 "MAC-protected archives can be opened")
                   : fmt::format("PKCS#12: cannot decrypt the contents{}", reason)});
    return;
  }
  ERR_pop_to_mark();
  out.used_password = chosen.has_value() && !chosen->empty();
  if (parts.key != nullptr) {
    Item item = make_item(ItemKind::PrivateKey, "PKCS#12 key bag", 0, "PKCS#12");
    item.key.reset(parts.key);
    out.items.push_back(std::move(item));
  }
  if (parts.cert != nullptr) {
    Item item = make_item(ItemKind::Certificate, "PKCS#12 certificate bag", 0, "PKCS#12");
    item.cert.reset(parts.cert);
    out.items.push_back(std::move(item));
  }
  if (parts.ca != nullptr) {
    for (std::size_t i = 0; i < sk_X509_num(parts.ca); ++i) {
      Item item = make_item(ItemKind::Certificate, "PKCS#12 certificate bag", 0, "PKCS#12");
      item.cert.reset(sk_X509_value(parts.ca, i));
      out.items.push_back(std::move(item));
    }
    sk_X509_free(parts.ca);  // the certificates are owned by the items now
  }
}

// ---------------------------------------------------------------------------------------------
// DER

/// Tries every DER type on `der`. Returns false when nothing matched.
bool parse_der(const Bytes& der, const ReadOptions& options, FileContents& out) {
  ERR_set_mark();
  const auto done = [](bool matched) {
    ERR_pop_to_mark();
    return matched;
  };
  // One or more concatenated certificates.
  {
    const unsigned char* p = der.data();
    const unsigned char* end = der.data() + der.size();
    std::vector<Item> certs;
    while (p < end) {
      const unsigned char* start = p;
      X509* c = d2i_X509(nullptr, &p, end - p);
      if (c == nullptr || p == start) {
        if (c != nullptr) X509_free(c);
        break;
      }
      Item item = make_item(ItemKind::Certificate, "DER certificate", 0);
      item.cert.reset(c);
      certs.push_back(std::move(item));
    }
    if (!certs.empty()) {
      out.format = FileFormat::Der;
      for (Item& i : certs) out.items.push_back(std::move(i));
      if (p != end) {
        out.problems.push_back(
            {0, fmt::format("{} bytes after DER certificate {} are not a certificate", end - p,
                            out.items.size())});
      }
      return done(true);
    }
  }
  const auto whole = [&](auto d2i) {
    const unsigned char* p = der.data();
    auto* obj = d2i(nullptr, &p, static_cast<long>(der.size()));
    const bool exact = obj != nullptr && p == der.data() + der.size();
    return std::pair{obj, exact};
  };
  if (auto [crl, exact] = whole(d2i_X509_CRL); crl != nullptr) {
    out.format = FileFormat::Der;
    Item item = make_item(ItemKind::Crl, "DER CRL", 0);
    item.crl.reset(crl);
    out.items.push_back(std::move(item));
    if (!exact) out.problems.push_back({0, "trailing bytes after the DER CRL"});
    return done(true);
  }
  if (auto [req, exact] = whole(d2i_X509_REQ); req != nullptr) {
    out.format = FileFormat::Der;
    Item item = make_item(ItemKind::CertificateRequest, "DER certificate request", 0);
    item.csr.reset(req);
    out.items.push_back(std::move(item));
    if (!exact) out.problems.push_back({0, "trailing bytes after the DER certificate request"});
    return done(true);
  }
  if (auto [p7, exact] = whole(d2i_PKCS7); p7 != nullptr) {
    std::unique_ptr<PKCS7, Pkcs7Free> owned(p7);
    out.format = FileFormat::Pkcs7;
    if (!add_pkcs7(p7, 0, out.items)) {
      out.problems.push_back({0, "PKCS#7: not a signed-data structure (no certificates)"});
    }
    return done(true);
  }
  if (CBS pfx; find_pfx(der, &pfx)) {
    const std::uint8_t* p = CBS_data(&pfx);
    std::unique_ptr<PKCS12, Pkcs12Free> p12(d2i_PKCS12(nullptr, &p, CBS_len(&pfx)));
    if (p12) {
      ERR_pop_to_mark();
      ERR_set_mark();
      parse_pkcs12(p12.get(), options, out);
      return done(true);
    }
  }
  if (auto [sig, exact] = whole(d2i_X509_SIG); sig != nullptr && exact) {
    std::unique_ptr<X509_SIG, X509SigFree> owned(sig);
    out.format = FileFormat::Der;
    Item item = make_item(ItemKind::PrivateKey, "DER encrypted private key (PKCS#8)", 0);
    item.encrypted = true;
    out.items.push_back(std::move(item));
    return done(true);
  }
  if (auto [p8, exact] = whole(d2i_PKCS8_PRIV_KEY_INFO); p8 != nullptr && exact) {
    std::unique_ptr<PKCS8_PRIV_KEY_INFO, Pkcs8Free> owned(p8);
    out.format = FileFormat::Der;
    Item item = make_item(ItemKind::PrivateKey, "DER private key (PKCS#8)", 0);
    item.key.reset(EVP_PKCS82PKEY(p8));
    out.items.push_back(std::move(item));
    return done(true);
  }
  {
    const unsigned char* p = der.data();
    if (EVP_PKEY* key = d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(der.size()));
        key != nullptr) {
      out.format = FileFormat::Der;
      Item item = make_item(ItemKind::PrivateKey, "DER private key", 0);
      item.key.reset(key);
      out.items.push_back(std::move(item));
      return done(true);
    }
  }
  if (auto [pub, exact] = whole(d2i_PUBKEY); pub != nullptr && exact) {
    out.format = FileFormat::Der;
    Item item = make_item(ItemKind::PublicKey, "DER public key", 0);
    item.key.reset(pub);
    out.items.push_back(std::move(item));
    return done(true);
  }
  return done(false);
}

// ---------------------------------------------------------------------------------------------
// PEM

/// Decodes one complete PEM block according to its label, appending items and problems.
void decode_block(std::string_view label, int line, bool encrypted_header, const Bytes& der,
                  FileContents& out) {
  const std::string lbl(label);
  const auto damaged = [&](std::string_view what) {
    out.problems.push_back({line, fmt::format("the {} block at line {} is truncated or corrupted{}",
                                              what, line, openssl_reason())});
  };
  ERR_set_mark();
  const unsigned char* p = der.data();
  const long len = static_cast<long>(der.size());
  if (label == "CERTIFICATE" || label == "X509 CERTIFICATE" || label == "TRUSTED CERTIFICATE") {
    X509* c = label == "TRUSTED CERTIFICATE" ? d2i_X509_AUX(nullptr, &p, len)
                                             : d2i_X509(nullptr, &p, len);
    if (c == nullptr) {
      damaged("certificate");
    } else {
      Item item = make_item(ItemKind::Certificate, lbl, line);
      item.cert.reset(c);
      out.items.push_back(std::move(item));
    }
  } else if (label == "X509 CRL") {
    if (X509_CRL* c = d2i_X509_CRL(nullptr, &p, len); c == nullptr) {
      damaged("CRL");
    } else {
      Item item = make_item(ItemKind::Crl, lbl, line);
      item.crl.reset(c);
      out.items.push_back(std::move(item));
    }
  } else if (label == "CERTIFICATE REQUEST" || label == "NEW CERTIFICATE REQUEST") {
    if (X509_REQ* r = d2i_X509_REQ(nullptr, &p, len); r == nullptr) {
      damaged("certificate request");
    } else {
      Item item = make_item(ItemKind::CertificateRequest, lbl, line);
      item.csr.reset(r);
      out.items.push_back(std::move(item));
    }
  } else if (label == "PKCS7" || label == "CMS") {
    std::unique_ptr<PKCS7, Pkcs7Free> p7(d2i_PKCS7(nullptr, &p, len));
    if (!p7) {
      damaged(lbl);
    } else if (!add_pkcs7(p7.get(), line, out.items)) {
      out.problems.push_back(
          {line, fmt::format("the {} block at line {} holds no certificates", lbl, line)});
    }
  } else if (label.ends_with("PRIVATE KEY")) {
    // SECURITY: a private key block is recorded as a private key whatever its state, so that a
    // damaged or encrypted key in a bundle is still reported as a key.
    Item item = make_item(ItemKind::PrivateKey, lbl, line);
    if (label == "ENCRYPTED PRIVATE KEY" || encrypted_header) {
      item.encrypted = true;
    } else if (label == "PRIVATE KEY") {
      std::unique_ptr<PKCS8_PRIV_KEY_INFO, Pkcs8Free> p8(d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, len));
      if (p8) item.key.reset(EVP_PKCS82PKEY(p8.get()));
      if (!item.key) damaged("private key");
    } else if (label == "RSA PRIVATE KEY" || label == "EC PRIVATE KEY" ||
               label == "DSA PRIVATE KEY") {
      item.key.reset(d2i_AutoPrivateKey(nullptr, &p, len));
      if (!item.key) damaged("private key");
    }
    out.items.push_back(std::move(item));
  } else if (label == "PUBLIC KEY" || label == "RSA PUBLIC KEY") {
    EVP_PKEY* k = label == "PUBLIC KEY" ? d2i_PUBKEY(nullptr, &p, len)
                                        : d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, len);
    if (k == nullptr) {
      damaged("public key");
    } else {
      Item item = make_item(ItemKind::PublicKey, lbl, line);
      item.key.reset(k);
      out.items.push_back(std::move(item));
    }
  } else {
    out.items.push_back(make_item(ItemKind::Other, lbl, line));
  }
  ERR_pop_to_mark();
}

void parse_pem(std::string_view data, FileContents& out) {
  out.format = FileFormat::Pem;
  struct Open {
    std::string label;
    int begin_line = 0;
    bool in_headers = true;
    bool encrypted = false;
    bool damaged = false;
    std::string body;
    std::vector<std::pair<int, std::size_t>> body_lines;  ///< line number, length
  };
  std::optional<Open> open;
  int line_no = 0;
  std::size_t pos = 0;
  const auto finish = [&](int end_line) {
    Open& b = *open;
    const bool key = b.label.ends_with("PRIVATE KEY");
    if (b.damaged) {
      // Already reported. SECURITY: a damaged private-key block is still a private key.
      if (key) out.items.push_back(make_item(ItemKind::PrivateKey, b.label, b.begin_line));
    } else if (b.body.empty()) {
      out.problems.push_back({b.begin_line, fmt::format("empty \"{}\" block (lines {}-{})", b.label,
                                                        b.begin_line, end_line)});
      if (key) out.items.push_back(make_item(ItemKind::PrivateKey, b.label, b.begin_line));
    } else {
      std::string why;
      if (auto der = decode_base64(b.body, &why)) {
        decode_block(b.label, b.begin_line, b.encrypted, *der, out);
      } else {
        // PEM lines all have the same length but the last: a shorter one is where data was lost.
        int line = b.begin_line;
        std::size_t width = 0;
        for (std::size_t i = 0; i + 1 < b.body_lines.size(); ++i) {
          width = std::max(width, b.body_lines[i].second);
        }
        for (std::size_t i = 0; i + 1 < b.body_lines.size(); ++i) {
          if (b.body_lines[i].second < width) {
            line = b.body_lines[i].first;
            why += fmt::format(" (line {} has {} characters, the others {})", line,
                               b.body_lines[i].second, width);
            break;
          }
        }
        out.problems.push_back({line, fmt::format("broken base64 in the \"{}\" block at line {}: "
                                                  "{}",
                                                  b.label, b.begin_line, why)});
        if (key) out.items.push_back(make_item(ItemKind::PrivateKey, b.label, b.begin_line));
      }
    }
    open.reset();
  };
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
        if (label.empty()) {
          out.problems.push_back(
              {line_no, fmt::format("malformed BEGIN line at line {}", line_no)});
          continue;
        }
        open.emplace();
        open->label = std::string(label);
        open->begin_line = line_no;
      } else if (line.starts_with("-----END")) {
        out.problems.push_back(
            {line_no, fmt::format("END line without a BEGIN line at line {}", line_no)});
      } else if (line.empty()) {
        continue;
      } else if (has_binary_byte(line)) {
        out.problems.push_back(
            {line_no, fmt::format("binary data outside any PEM block at line {}", line_no)});
      } else if (looks_like_base64_data(line)) {
        out.problems.push_back(
            {line_no, fmt::format("base64 data outside any BEGIN/END pair at line {} (a block "
                                  "lost its BEGIN line, or two blocks were merged)",
                                  line_no)});
      }
      // Anything else is annotation text (OpenSSL's "subject=" and "Bag Attributes" lines,
      // "# comments", curl's CA names): ignored, as OpenSSL ignores it.
      continue;
    }

    Open& b = *open;
    if (line.starts_with("-----END")) {
      const std::string_view label = pem_boundary_label(line, "-----END ");
      if (label != b.label) {
        out.problems.push_back(
            {line_no, fmt::format("\"-----BEGIN {}-----\" at line {} ends with \"{}\" at line {}",
                                  b.label, b.begin_line, line, line_no)});
        b.damaged = true;
      }
      finish(line_no);
      continue;
    }
    if (line.starts_with("-----BEGIN")) {
      out.problems.push_back(
          {b.begin_line, fmt::format("the \"{}\" block at line {} has no END line before the "
                                     "next BEGIN at line {}",
                                     b.label, b.begin_line, line_no)});
      b.damaged = true;
      finish(line_no);
      const std::string_view label = pem_boundary_label(line, "-----BEGIN ");
      if (label.empty()) {
        out.problems.push_back({line_no, fmt::format("malformed BEGIN line at line {}", line_no)});
      } else {
        open.emplace();
        open->label = std::string(label);
        open->begin_line = line_no;
      }
      continue;
    }
    if (line.empty()) {
      b.in_headers = false;
      continue;
    }
    if (b.in_headers && b.body.empty() && line.find(':') != std::string_view::npos) {
      // RFC 1421 headers of traditional encrypted keys: "Proc-Type: 4,ENCRYPTED".
      if (line.starts_with("Proc-Type:") && line.find("ENCRYPTED") != std::string_view::npos) {
        b.encrypted = true;
      }
      continue;
    }
    b.in_headers = false;
    if (b.damaged) continue;
    const auto bad = std::find_if_not(line.begin(), line.end(), is_base64_char);
    if (bad != line.end()) {
      out.problems.push_back(
          {line_no, fmt::format("invalid base64 {} at line {} (in the \"{}\" "
                                "block of line {})",
                                char_text(*bad), line_no, b.label, b.begin_line)});
      b.damaged = true;
      continue;
    }
    b.body.append(line);
    b.body_lines.emplace_back(line_no, line.size());
  }
  if (open) {
    out.problems.push_back({open->begin_line, fmt::format("the \"{}\" block at line {} has no "
                                                          "END line (the file is truncated?)",
                                                          open->label, open->begin_line)});
    open->damaged = true;
    finish(line_no);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string_view format_name(FileFormat format) {
  switch (format) {
    case FileFormat::Empty:
      return "empty";
    case FileFormat::Pem:
      return "PEM";
    case FileFormat::Der:
      return "DER";
    case FileFormat::Pkcs7:
      return "PKCS#7";
    case FileFormat::Pkcs12:
      return "PKCS#12";
    case FileFormat::Unknown:
      return "unknown";
  }
  return "unknown";
}

std::string_view item_kind_name(ItemKind kind) {
  switch (kind) {
    case ItemKind::Certificate:
      return "certificate";
    case ItemKind::PrivateKey:
      return "private key";
    case ItemKind::PublicKey:
      return "public key";
    case ItemKind::CertificateRequest:
      return "certificate request";
    case ItemKind::Crl:
      return "CRL";
    case ItemKind::Other:
      return "other";
  }
  return "other";
}

std::size_t FileContents::count(ItemKind kind) const {
  return static_cast<std::size_t>(
      std::count_if(items.begin(), items.end(), [&](const Item& i) { return i.kind == kind; }));
}

core::Result<std::string> read_input_file(const std::string& path) {
  const auto error_text = [](int err) {
    return std::error_code(err, std::generic_category()).message();
  };
  errno = 0;
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) return core::fail(fmt::format("cannot read \"{}\": {}", path, error_text(errno)));
  std::string data;
  char buf[65536];
  for (;;) {
    const std::size_t n = std::fread(buf, 1, sizeof buf, f.get());
    data.append(buf, n);
    if (data.size() > kMaxInputBytes) {
      return core::fail(fmt::format("cannot read \"{}\": larger than {} MiB", path,
                                    kMaxInputBytes / (1024 * 1024)));
    }
    if (n < sizeof buf) {
      if (std::ferror(f.get()) != 0) {
        return core::fail(fmt::format("cannot read \"{}\": {}", path, error_text(errno)));
      }
      break;
    }
  }
  return data;
}

FileContents parse_contents(std::string_view data, std::string name, const ReadOptions& options) {
  FileContents out;
  out.name = std::move(name);
  out.size = data.size();
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (data.starts_with(kBom)) data.remove_prefix(kBom.size());
  if (data.find_first_not_of(" \t\r\n\f") == std::string_view::npos) {
    out.format = FileFormat::Empty;
    return out;
  }
  if (data.find("-----BEGIN") != std::string_view::npos) {
    parse_pem(data, out);
    return out;
  }
  if (static_cast<unsigned char>(data.front()) == 0x30) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
    const Bytes der(bytes, bytes + data.size());
    if (parse_der(der, options, out)) return out;
    out.format = FileFormat::Unknown;
    out.problems.push_back({0,
                            "binary data that is not a DER certificate, CRL, certificate "
                            "request, key, PKCS#7 or PKCS#12 structure (truncated?)"});
    return out;
  }
  out.format = FileFormat::Unknown;
  if (data.starts_with("PuTTY-User-Key-File-")) {
    // SECURITY: a private key in another format is still a private key.
    out.items.push_back(make_item(ItemKind::PrivateKey, "PuTTY private key", 1));
    return out;
  }
  const bool binary = has_binary_byte(data.substr(0, 1024));
  out.problems.push_back(
      {binary ? 0 : 1, binary ? "binary data that is neither PEM nor DER"
                              : "not PEM: there is no \"-----BEGIN ...-----\" line (line 1)"});
  return out;
}

core::Result<FileContents> read_contents(const std::string& path, const ReadOptions& options) {
  auto data = read_input_file(path);
  if (!data) return std::unexpected(std::move(data.error()));
  return parse_contents(*data, path, options);
}

}  // namespace portcullis::diag
