// PEM loading errors (each names the file and, for damage, the line), private key rules,
// key/certificate matching and the certificate summary.
#include "pki/cert_files.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "pki/cert_builder.h"

namespace portcullis::pki {
namespace {

/// Substring check with both strings in the failure message (gmock is not linked).
::testing::AssertionResult contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

class CertFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pki-files-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    CertSpec ca_spec;
    ca_spec.subject = "CN=Files Test CA,O=Example";
    ca_spec.is_ca = true;
    auto ca = issue_certificate(ca_spec);
    ASSERT_TRUE(ca.has_value()) << ca.error().to_string();
    ca_ = std::move(*ca);
    CertSpec leaf_spec;
    leaf_spec.subject = "CN=leaf.example,O=Example";
    leaf_spec.issuer_cert = ca_.cert.get();
    leaf_spec.issuer_key = ca_.key.get();
    leaf_spec.extended_key_usage = {"clientAuth", "serverAuth"};
    leaf_spec.sans = {"DNS:leaf.example", "IP:192.0.2.7", "IP:2001:db8::1", "email:ops@example.com",
                      "URI:spiffe://example/leaf"};
    auto leaf = issue_certificate(leaf_spec);
    ASSERT_TRUE(leaf.has_value()) << leaf.error().to_string();
    leaf_ = std::move(*leaf);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string write(const std::string& name, const std::string& content) {
    const std::string p = dir_ + "/" + name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }

  static std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }

  static std::string unlines(const std::vector<std::string>& ls) {
    std::string out;
    for (const auto& l : ls) out += l + "\n";
    return out;
  }

  std::string message_of_certs(const std::string& file) {
    auto r = load_certificates(file);
    EXPECT_FALSE(r.has_value());
    return r ? std::string() : r.error().message;
  }

  std::string message_of_key(const std::string& file) {
    auto r = load_private_key(file);
    EXPECT_FALSE(r.has_value());
    return r ? std::string() : r.error().message;
  }

  std::string dir_;
  IssuedCert ca_;
  IssuedCert leaf_;
};

// ---- load_certificates ------------------------------------------------------------------------

TEST_F(CertFilesTest, LoadsEveryCertificateInOrder) {
  const std::string p = write("chain.pem", to_pem(leaf_.cert.get()) + to_pem(ca_.cert.get()));
  auto certs = load_certificates(p);
  ASSERT_TRUE(certs.has_value()) << certs.error().to_string();
  ASSERT_EQ(certs->size(), 2u);
  EXPECT_EQ(X509_cmp((*certs)[0].get(), leaf_.cert.get()), 0);
  EXPECT_EQ(X509_cmp((*certs)[1].get(), ca_.cert.get()), 0);
}

TEST_F(CertFilesTest, ToleratesCrlfBomAndTextAroundBlocks) {
  std::string text = "\xEF\xBB\xBF";
  text += "Bag Attributes\n    friendlyName: leaf\nsubject=CN = leaf.example\n";
  for (const auto& l : lines(to_pem(leaf_.cert.get()))) text += l + "\r\n";
  text += "\n# the CA\n" + to_pem(ca_.cert.get());
  auto certs = load_certificates(write("messy.pem", text));
  ASSERT_TRUE(certs.has_value()) << certs.error().to_string();
  EXPECT_EQ(certs->size(), 2u);
}

TEST_F(CertFilesTest, LoadsTrustedCertificateBlocks) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  ASSERT_EQ(PEM_write_bio_X509_AUX(bio.get(), ca_.cert.get()), 1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  const std::string pem(data, static_cast<std::size_t>(len));
  ASSERT_TRUE(contains(pem, "BEGIN TRUSTED CERTIFICATE"));
  auto certs = parse_certificates(pem, "trusted.pem");
  ASSERT_TRUE(certs.has_value()) << certs.error().to_string();
  EXPECT_EQ(X509_cmp((*certs)[0].get(), ca_.cert.get()), 0);
}

TEST_F(CertFilesTest, MissingFileNamesTheFile) {
  EXPECT_EQ(message_of_certs(dir_ + "/nope.pem"),
            "cannot read \"" + dir_ + "/nope.pem\": No such file or directory");
}

TEST_F(CertFilesTest, DirectoryIsUnreadable) {
  EXPECT_EQ(message_of_certs(dir_), "cannot read \"" + dir_ + "\": Is a directory");
}

TEST_F(CertFilesTest, PermissionDenied) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads mode 000 files";
  const std::string p = write("secret.pem", to_pem(leaf_.cert.get()));
  ASSERT_EQ(::chmod(p.c_str(), 0), 0);
  EXPECT_EQ(message_of_certs(p), "cannot read \"" + p + "\": Permission denied");
}

TEST_F(CertFilesTest, EmptyFile) {
  const std::string p = write("empty.pem", "");
  EXPECT_EQ(message_of_certs(p), "\"" + p + "\": no certificate found (the file is empty)");
  const std::string blank = write("blank.pem", "\n  \n");
  EXPECT_EQ(message_of_certs(blank), "\"" + blank + "\": no certificate found (the file is empty)");
}

TEST_F(CertFilesTest, KeyOnlyFile) {
  const std::string p = write("key.pem", private_key_to_pem(leaf_.key.get()));
  EXPECT_EQ(message_of_certs(p),
            "\"" + p + "\": no certificate found (the file holds a private key)");
}

TEST_F(CertFilesTest, CertificateFileWithAKeyIsRefused) {
  const std::string p =
      write("combined.pem", to_pem(leaf_.cert.get()) + private_key_to_pem(leaf_.key.get()));
  const std::string msg = message_of_certs(p);
  EXPECT_TRUE(contains(msg, "\"" + p + "\": the certificate file also holds a private key"));
  EXPECT_TRUE(contains(msg, "keep the key in its own file"));
}

TEST_F(CertFilesTest, GarbageIsNotPem) {
  const std::string p = write("garbage.pem", "hello, I am not a certificate\n");
  EXPECT_TRUE(
      contains(message_of_certs(p), "\"" + p + "\": no certificate found (the file is not PEM"));
}

TEST_F(CertFilesTest, DerIsRecognised) {
  unsigned char* der = nullptr;
  const int len = i2d_X509(leaf_.cert.get(), &der);
  ASSERT_GT(len, 0);
  const std::string p =
      write("leaf.der", std::string(reinterpret_cast<char*>(der), static_cast<std::size_t>(len)));
  OPENSSL_free(der);
  EXPECT_TRUE(contains(message_of_certs(p), "(the file is binary (DER or PKCS#12), not PEM)"));
}

TEST_F(CertFilesTest, TextStartingWithZeroIsNotBinary) {
  EXPECT_TRUE(contains(message_of_certs(write("zero.pem", "0123 not a certificate\n")),
                       "(the file is not PEM"));
}

TEST_F(CertFilesTest, OtherPemKindsAreNamed) {
  EXPECT_TRUE(contains(message_of_certs(write("csr.pem",
                                              "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
                                              "-----END CERTIFICATE REQUEST-----\n")),
                       "certificate signing request"));
  EXPECT_TRUE(contains(message_of_certs(write("pub.pem",
                                              "-----BEGIN PUBLIC KEY-----\nAAAA\n"
                                              "-----END PUBLIC KEY-----\n")),
                       "(the file holds a public key)"));
}

TEST_F(CertFilesTest, InvalidBase64NamesTheLine) {
  // Two certificates, then damage line 14 (inside the first block, which starts at line 1).
  auto ls = lines(to_pem(leaf_.cert.get()) + to_pem(ca_.cert.get()));
  ASSERT_GT(ls.size(), 14u);
  ASSERT_EQ(ls[0], "-----BEGIN CERTIFICATE-----");
  std::vector<std::string> with_preface = {"# preface", "# more"};
  with_preface.insert(with_preface.end(), ls.begin(), ls.end());
  with_preface[13][5] = '*';  // line 14
  const std::string p = write("x.pem", unlines(with_preface));
  const std::string msg = message_of_certs(p);
  EXPECT_TRUE(contains(msg, "\"" + p + "\": broken PEM block at line 14")) << msg;
}

TEST_F(CertFilesTest, MissingEndNamesTheBeginLine) {
  auto ls = lines(to_pem(leaf_.cert.get()));
  ls.pop_back();  // drop -----END CERTIFICATE-----
  ls.insert(ls.begin(), "# comment");
  const std::string p = write("noend.pem", unlines(ls));
  const std::string msg = message_of_certs(p);
  EXPECT_TRUE(contains(msg, "\"" + p + "\": broken PEM block at line 2")) << msg;
  EXPECT_TRUE(contains(msg, "-----END CERTIFICATE-----"));
}

TEST_F(CertFilesTest, TruncatedBodyDoesNotDecode) {
  auto ls = lines(to_pem(leaf_.cert.get()));
  ls.erase(ls.begin() + 3, ls.begin() + 6);  // three lines gone, base64 still well-formed
  const std::string text = to_pem(ca_.cert.get()) + unlines(ls);
  const auto ca_lines = lines(to_pem(ca_.cert.get())).size();
  const std::string p = write("truncated.pem", text);
  const std::string msg = message_of_certs(p);
  EXPECT_TRUE(contains(msg, "broken PEM block at line " + std::to_string(ca_lines + 1))) << msg;
  EXPECT_TRUE(contains(msg, "the certificate inside is truncated or corrupted"));
}

TEST_F(CertFilesTest, StrayEndLine) {
  const std::string p = write("stray.pem", "x\n-----END CERTIFICATE-----\n");
  EXPECT_TRUE(contains(message_of_certs(p), "broken PEM block at line 2"));
}

TEST_F(CertFilesTest, MismatchedEndLabel) {
  auto ls = lines(to_pem(leaf_.cert.get()));
  ls.back() = "-----END PRIVATE KEY-----";
  const std::string msg = message_of_certs(write("mismatch.pem", unlines(ls)));
  EXPECT_TRUE(contains(msg, "broken PEM block at line " + std::to_string(ls.size())));
}

TEST_F(CertFilesTest, ParseCertificatesUsesTheGivenName) {
  auto r = parse_certificates("", "X-Client-Cert header");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message,
            "\"X-Client-Cert header\": no certificate found (the file is empty)");
  EXPECT_TRUE(r.error().where.empty());
  EXPECT_EQ(r.error().line, 0);
}

// ---- load_private_key -------------------------------------------------------------------------

TEST_F(CertFilesTest, LoadsPkcs8AndTraditionalKeys) {
  auto pkcs8 = load_private_key(write("k8.key", private_key_to_pem(leaf_.key.get())));
  ASSERT_TRUE(pkcs8.has_value()) << pkcs8.error().to_string();
  EXPECT_TRUE(key_matches_certificate(pkcs8->get(), leaf_.cert.get()));

  BioPtr bio(BIO_new(BIO_s_mem()));
  ASSERT_EQ(PEM_write_bio_PrivateKey_traditional(bio.get(), leaf_.key.get(), nullptr, nullptr, 0,
                                                 nullptr, nullptr),
            1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  const std::string pem(data, static_cast<std::size_t>(len));
  ASSERT_TRUE(contains(pem, "BEGIN EC PRIVATE KEY"));
  auto traditional = load_private_key(write("trad.key", pem));
  ASSERT_TRUE(traditional.has_value()) << traditional.error().to_string();
  EXPECT_TRUE(key_matches_certificate(traditional->get(), leaf_.cert.get()));
}

TEST_F(CertFilesTest, KeyFileMayAlsoHoldTheCertificate) {
  auto key = load_private_key(
      write("both.pem", to_pem(leaf_.cert.get()) + private_key_to_pem(leaf_.key.get())));
  ASSERT_TRUE(key.has_value()) << key.error().to_string();
  EXPECT_TRUE(key_matches_certificate(key->get(), leaf_.cert.get()));
}

TEST_F(CertFilesTest, EncryptedPkcs8KeyNeedsNoPassphrasePrompt) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  const char pass[] = "secret";
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio.get(), leaf_.key.get(), EVP_aes_256_cbc(),
                                     reinterpret_cast<const unsigned char*>(pass), sizeof pass - 1,
                                     nullptr, nullptr),
            1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  const std::string pem(data, static_cast<std::size_t>(len));
  ASSERT_TRUE(contains(pem, "BEGIN ENCRYPTED PRIVATE KEY"));
  const std::string p = write("server.key", pem);
  EXPECT_EQ(message_of_key(p), "\"" + p +
                                   "\": the key is encrypted with a passphrase; Portcullis needs "
                                   "an unencrypted key file (chmod 600)");
}

TEST_F(CertFilesTest, EncryptedTraditionalKeyIsRecognised) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  char pass[] = "secret";
  ASSERT_EQ(PEM_write_bio_PrivateKey_traditional(bio.get(), leaf_.key.get(), EVP_aes_128_cbc(),
                                                 reinterpret_cast<unsigned char*>(pass),
                                                 sizeof pass - 1, nullptr, nullptr),
            1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  const std::string pem(data, static_cast<std::size_t>(len));
  ASSERT_TRUE(contains(pem, "Proc-Type: 4,ENCRYPTED"));
  const std::string p = write("trad-enc.key", pem);
  EXPECT_TRUE(contains(message_of_key(p), "the key is encrypted with a passphrase"));
}

TEST_F(CertFilesTest, KeyErrors) {
  const std::string empty = write("empty.key", "");
  EXPECT_EQ(message_of_key(empty), "\"" + empty + "\": no private key found (the file is empty)");
  const std::string cert = write("cert.key", to_pem(leaf_.cert.get()));
  EXPECT_EQ(message_of_key(cert),
            "\"" + cert + "\": no private key found (the file holds a certificate)");
  const std::string two =
      write("two.key", private_key_to_pem(leaf_.key.get()) + private_key_to_pem(ca_.key.get()));
  EXPECT_EQ(message_of_key(two),
            "\"" + two + "\": holds 2 private keys; keep exactly one key per file");
  EXPECT_EQ(message_of_key(dir_ + "/missing.key"),
            "cannot read \"" + dir_ + "/missing.key\": No such file or directory");

  auto ls = lines(private_key_to_pem(leaf_.key.get()));
  ls[1] = "!!!!";
  EXPECT_TRUE(
      contains(message_of_key(write("broken.key", unlines(ls))), "broken PEM block at line 2"));

  const std::string ssh = write(
      "id_ecdsa", "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n");
  EXPECT_TRUE(contains(message_of_key(ssh), "OpenSSH format"));
}

// ---- key_matches_certificate ------------------------------------------------------------------

TEST_F(CertFilesTest, KeyMatchesCertificate) {
  EXPECT_TRUE(key_matches_certificate(leaf_.key.get(), leaf_.cert.get()));
  EXPECT_TRUE(key_matches_certificate(ca_.key.get(), ca_.cert.get()));
  EXPECT_FALSE(key_matches_certificate(ca_.key.get(), leaf_.cert.get()));
  EXPECT_FALSE(key_matches_certificate(leaf_.key.get(), ca_.cert.get()));
  EXPECT_FALSE(key_matches_certificate(nullptr, leaf_.cert.get()));
  EXPECT_FALSE(key_matches_certificate(leaf_.key.get(), nullptr));
  auto rsa = generate_key(KeyType::Rsa2048);
  ASSERT_TRUE(rsa.has_value());
  EXPECT_FALSE(key_matches_certificate(rsa->get(), leaf_.cert.get()));
  EXPECT_EQ(ERR_peek_error(), 0u) << openssl_errors();
}

// ---- summarize / to_pem -----------------------------------------------------------------------

TEST_F(CertFilesTest, SummaryFields) {
  const CertSummary s = summarize(leaf_.cert.get());
  EXPECT_EQ(s.subject, "CN=leaf.example,O=Example");
  EXPECT_EQ(s.common_name, "leaf.example");
  EXPECT_EQ(s.issuer, "CN=Files Test CA,O=Example");
  EXPECT_TRUE(std::regex_match(s.sha256, std::regex("[0-9a-f]{64}"))) << s.sha256;
  EXPECT_TRUE(std::regex_match(s.serial, std::regex("[0-9A-F]{32}"))) << s.serial;
  const std::regex rfc3339(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)");
  EXPECT_TRUE(std::regex_match(s.not_before, rfc3339)) << s.not_before;
  EXPECT_TRUE(std::regex_match(s.not_after, rfc3339)) << s.not_after;
  EXPECT_EQ(s.sans,
            (std::vector<std::string>{"DNS:leaf.example", "IP:192.0.2.7", "IP:2001:db8::1",
                                      "email:ops@example.com", "URI:spiffe://example/leaf"}));
  EXPECT_FALSE(s.is_ca);
  EXPECT_FALSE(s.self_signed);
  EXPECT_EQ(s.extended_key_usage, (std::vector<std::string>{"clientAuth", "serverAuth"}));
  EXPECT_EQ(s.key_type, "EC P-256");
  EXPECT_TRUE(std::regex_match(s.subject_key_id, std::regex("([0-9A-F]{2}:){19}[0-9A-F]{2}")))
      << s.subject_key_id;
  EXPECT_EQ(s.authority_key_id, summarize(ca_.cert.get()).subject_key_id);

  // The validity strings and time points agree, and the notBefore is ~1 hour ago.
  const auto now = std::chrono::system_clock::now();
  EXPECT_LT(s.valid_from, now - std::chrono::minutes(59));
  EXPECT_GT(s.valid_from, now - std::chrono::minutes(61));
  const std::time_t from = std::chrono::system_clock::to_time_t(s.valid_from);
  std::tm tm{};
  gmtime_r(&from, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  EXPECT_EQ(s.not_before, buf);

  // sha256 is of the DER.
  unsigned char* der = nullptr;
  const int len = i2d_X509(leaf_.cert.get(), &der);
  ASSERT_GT(len, 0);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  ASSERT_EQ(EVP_Digest(der, static_cast<std::size_t>(len), md, &md_len, EVP_sha256(), nullptr), 1);
  OPENSSL_free(der);
  std::string expected_hex;
  for (unsigned int i = 0; i < md_len; ++i) {
    char byte[3];
    std::snprintf(byte, sizeof byte, "%02x", md[i]);
    expected_hex += byte;
  }
  EXPECT_EQ(s.sha256, expected_hex);

  const CertSummary ca = summarize(ca_.cert.get());
  EXPECT_TRUE(ca.is_ca);
  EXPECT_TRUE(ca.self_signed);
  EXPECT_TRUE(ca.sans.empty());
  EXPECT_TRUE(ca.extended_key_usage.empty());
}

TEST_F(CertFilesTest, SummaryOfNullIsEmpty) {
  const CertSummary s = summarize(nullptr);
  EXPECT_TRUE(s.subject.empty());
  EXPECT_TRUE(s.sha256.empty());
  EXPECT_TRUE(to_pem(nullptr).empty());
}

TEST_F(CertFilesTest, ToPemRoundTrips) {
  const std::string pem = to_pem(leaf_.cert.get());
  EXPECT_TRUE(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
  auto back = parse_certificates(pem, "mem");
  ASSERT_TRUE(back.has_value()) << back.error().to_string();
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ(X509_cmp((*back)[0].get(), leaf_.cert.get()), 0);
}

}  // namespace
}  // namespace portcullis::pki
