// Decoding any certificate-related file into what it holds: PEM (every block, with its line),
// DER (certificates, CRLs, CSRs, keys), PKCS#7 and PKCS#12. Damage is collected with line
// numbers instead of stopping at the first problem, so check-bundle and inspect can report all.
#pragma once

#include <openssl/x509.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "pki/openssl_ptr.h"

namespace portcullis::diag {

/// Owns a certificate signing request.
struct X509ReqFree {
  void operator()(X509_REQ* req) const noexcept { X509_REQ_free(req); }
};
using X509ReqPtr = std::unique_ptr<X509_REQ, X509ReqFree>;

/// How the file as a whole is encoded.
enum class FileFormat { Empty, Pem, Der, Pkcs7, Pkcs12, Unknown };

/// "PEM", "DER", "PKCS#7", "PKCS#12", "empty", "unknown".
std::string_view format_name(FileFormat format);

/// What one decoded object is.
enum class ItemKind { Certificate, PrivateKey, PublicKey, CertificateRequest, Crl, Other };

/// "certificate", "private key", "public key", "certificate request", "CRL", "other".
std::string_view item_kind_name(ItemKind kind);

/// One object found in the file. Exactly one of cert/crl/csr/key is set, except for Other and
/// for private keys that could not be decoded (encrypted, OpenSSH format).
struct Item {
  ItemKind kind = ItemKind::Other;
  std::string label;      ///< PEM label ("CERTIFICATE", "EC PRIVATE KEY") or "DER ..." text
  int line = 0;           ///< 1-based line of the PEM BEGIN line; 0 for binary input
  std::string container;  ///< "" or the container it came out of: "PKCS#7", "PKCS#12"
  pki::X509Ptr cert;
  pki::X509CrlPtr crl;
  X509ReqPtr csr;
  /// The private or public key. Private keys are held only to report their type and size and
  /// to match them with certificates; nothing ever prints key material.
  pki::EvpPkeyPtr key;
  bool encrypted = false;  ///< a private key (or PKCS#12 bag) that could not be decrypted
};

/// Damaged or unexpected data, with its line (0 when the input is binary).
struct DataProblem {
  int line = 0;
  std::string message;
};

/// Everything decoded from one file.
struct FileContents {
  std::string name;  ///< the file, for messages
  FileFormat format = FileFormat::Empty;
  std::size_t size = 0;  ///< bytes
  std::vector<Item> items;
  std::vector<DataProblem> problems;
  /// The PKCS#12 archive was opened with a password (given or prompted).
  bool used_password = false;

  std::size_t count(ItemKind kind) const;
};

/// How to open encrypted containers.
struct ReadOptions {
  /// The PKCS#12 password; nullopt = try the empty password, then ask_password (if set).
  std::optional<std::string> password;
  /// Called once when a PKCS#12 archive needs a password that was not given; nullopt = none.
  /// (Archives of older tools, with RC2, RC4 or 3DES and SHA-1 MACs, need nothing more: AWS-LC
  /// reads them as it reads AES ones.)
  std::function<std::optional<std::string>()> ask_password;
};

/// Files larger than this are refused: no certificate file is that big.
inline constexpr std::size_t kMaxInputBytes = 16u * 1024u * 1024u;

/// Reads a whole (small) file. Errors: unreadable, a directory, larger than kMaxInputBytes.
core::Result<std::string> read_input_file(const std::string& path);

/// Decodes `data`; `name` stands for the file in messages. Never fails: damage is recorded in
/// `problems`.
FileContents parse_contents(std::string_view data, std::string name, const ReadOptions& options);

/// read_input_file() then parse_contents().
core::Result<FileContents> read_contents(const std::string& path, const ReadOptions& options);

}  // namespace portcullis::diag
