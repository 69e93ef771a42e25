// Decoding files: PEM damage with its line, annotations tolerated, DER, PKCS#7, PKCS#12 (with and
// without a password), keys in every form recorded as keys, CSRs and CRLs.
#include "diag/file_contents.h"

#include <gtest/gtest.h>

#include "diag_fixture.h"

namespace portcullis::diag {
namespace {

using namespace testing;

class FileContentsTest : public ::testing::Test {
 protected:
  pki::IssuedCert root_ = issue(ca("CN=Contents Root"));
  pki::IssuedCert leaf_ = issue(leaf("CN=contents-leaf", &root_));

  FileContents parse(const std::string& data, ReadOptions options = {}) {
    return parse_contents(data, "test.pem", options);
  }
};

TEST_F(FileContentsTest, EmptyAndWhitespace) {
  EXPECT_EQ(parse("").format, FileFormat::Empty);
  EXPECT_EQ(parse(" \n\t\r\n").format, FileFormat::Empty);
}

TEST_F(FileContentsTest, PemCertificatesWithTheirLines) {
  const std::string a = pem(root_.cert.get());
  const std::string text =
      "# my bundle\n" + a + "\nsubject=CN = Contents Leaf\n" + pem(leaf_.cert.get());
  const FileContents c = parse(text);
  EXPECT_EQ(c.format, FileFormat::Pem);
  EXPECT_TRUE(c.problems.empty()) << c.problems.front().message;
  ASSERT_EQ(c.items.size(), 2u);
  EXPECT_EQ(c.items[0].kind, ItemKind::Certificate);
  EXPECT_EQ(c.items[0].line, 2);
  const int lines_a = static_cast<int>(std::count(a.begin(), a.end(), '\n'));
  EXPECT_EQ(c.items[1].line, 2 + lines_a + 2);
}

TEST_F(FileContentsTest, Base64OutsideABlockIsAProblemWithItsLine) {
  const std::string text = pem(root_.cert.get()) + "MIIBszCCAVmgAwIBAgIQJ2c3\n";
  const FileContents c = parse(text);
  ASSERT_EQ(c.problems.size(), 1u);
  EXPECT_GT(c.problems[0].line, 1);
  EXPECT_NE(c.problems[0].message.find("outside any BEGIN/END"), std::string::npos);
  EXPECT_EQ(c.count(ItemKind::Certificate), 1u);
}

TEST_F(FileContentsTest, UnderlinesAndTitlesAreAnnotations) {
  const std::string text = "GlobalSign Root CA\n==================\n" + pem(root_.cert.get());
  EXPECT_TRUE(parse(text).problems.empty());
}

TEST_F(FileContentsTest, BrokenBase64NamesTheBlockLine) {
  std::string text = pem(root_.cert.get());
  // Drop one character of the second body line: the quanta no longer add up.
  const auto second = text.find('\n', text.find('\n') + 1);
  text.erase(second - 1, 1);
  const FileContents c = parse("\n" + text);
  ASSERT_EQ(c.problems.size(), 1u);
  EXPECT_EQ(c.problems[0].line, 3);  // the short body line, not the BEGIN line
  EXPECT_NE(c.problems[0].message.find("block at line 2"), std::string::npos);
  EXPECT_NE(c.problems[0].message.find("broken base64"), std::string::npos);
}

TEST_F(FileContentsTest, InvalidCharacterNamesItsLine) {
  const FileContents c =
      parse("-----BEGIN CERTIFICATE-----\nMIIB!x==\n-----END CERTIFICATE-----\n");
  ASSERT_EQ(c.problems.size(), 1u);
  EXPECT_EQ(c.problems[0].line, 2);
  EXPECT_NE(c.problems[0].message.find("'!'"), std::string::npos);
}

TEST_F(FileContentsTest, EmptyPairEndWithoutBeginAndMissingEnd) {
  const FileContents c = parse(
      "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"
      "-----END CERTIFICATE-----\n"
      "-----BEGIN CERTIFICATE-----\nMIIB\n");
  ASSERT_EQ(c.problems.size(), 3u);
  EXPECT_EQ(c.problems[0].line, 1);
  EXPECT_NE(c.problems[0].message.find("empty"), std::string::npos);
  EXPECT_EQ(c.problems[1].line, 3);
  EXPECT_NE(c.problems[1].message.find("without a BEGIN"), std::string::npos);
  EXPECT_EQ(c.problems[2].line, 4);
  EXPECT_NE(c.problems[2].message.find("no END line"), std::string::npos);
}

TEST_F(FileContentsTest, MismatchedEndLabel) {
  const FileContents c = parse("-----BEGIN CERTIFICATE-----\nMIIB\n-----END X509 CRL-----\n");
  ASSERT_EQ(c.problems.size(), 1u);
  EXPECT_EQ(c.problems[0].line, 3);
}

TEST_F(FileContentsTest, TruncatedCertificateIsAProblem) {
  const std::string text =
      "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIB\n"
      "-----END CERTIFICATE-----\n";
  const FileContents c = parse(text);
  ASSERT_EQ(c.problems.size(), 1u);
  EXPECT_NE(c.problems[0].message.find("truncated or corrupted"), std::string::npos);
  EXPECT_EQ(c.count(ItemKind::Certificate), 0u);
}

TEST_F(FileContentsTest, PrivateKeysInEveryFormAreKeys) {
  const std::string pkcs8 = pki::private_key_to_pem(leaf_.key.get());
  const FileContents a = parse(pem(leaf_.cert.get()) + pkcs8);
  ASSERT_EQ(a.count(ItemKind::PrivateKey), 1u);
  EXPECT_TRUE(a.items[1].key);
  // Encrypted, OpenSSH, and a damaged key block: still keys.
  const FileContents b = parse(
      "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n"
      "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n-----END OPENSSH PRIVATE KEY-----\n"
      "-----BEGIN RSA PRIVATE KEY-----\nMII!\n-----END RSA PRIVATE KEY-----\n"
      "-----BEGIN EC PRIVATE KEY-----\n-----END EC PRIVATE KEY-----\n");
  EXPECT_EQ(b.count(ItemKind::PrivateKey), 4u);
  EXPECT_TRUE(b.items[0].encrypted);
  EXPECT_EQ(parse("PuTTY-User-Key-File-2: ssh-rsa\n").count(ItemKind::PrivateKey), 1u);
}

TEST_F(FileContentsTest, DerCertificateAndConcatenatedDer) {
  const FileContents one = parse(der(root_.cert.get()));
  EXPECT_EQ(one.format, FileFormat::Der);
  ASSERT_EQ(one.count(ItemKind::Certificate), 1u);
  EXPECT_EQ(one.items[0].line, 0);
  const FileContents two = parse(der(root_.cert.get()) + der(leaf_.cert.get()));
  EXPECT_EQ(two.count(ItemKind::Certificate), 2u);
  EXPECT_TRUE(two.problems.empty());
}

TEST_F(FileContentsTest, DerPrivateKey) {
  unsigned char* buf = nullptr;
  const int len = i2d_PrivateKey(leaf_.key.get(), &buf);
  const std::string data(reinterpret_cast<char*>(buf), static_cast<std::size_t>(len));
  OPENSSL_free(buf);
  const FileContents c = parse(data);
  EXPECT_EQ(c.count(ItemKind::PrivateKey), 1u);
}

TEST_F(FileContentsTest, Pkcs7DerAndPem) {
  const std::string p7 = pkcs7_der({root_.cert.get(), leaf_.cert.get()});
  const FileContents c = parse(p7);
  EXPECT_EQ(c.format, FileFormat::Pkcs7);
  ASSERT_EQ(c.count(ItemKind::Certificate), 2u);
  EXPECT_EQ(c.items[0].container, "PKCS#7");

  pki::BioPtr b64(BIO_new(BIO_f_base64()));
  BIO* mem = BIO_new(BIO_s_mem());
  BIO_push(b64.get(), mem);
  BIO_write(b64.get(), p7.data(), static_cast<int>(p7.size()));
  (void)BIO_flush(b64.get());
  char* data = nullptr;
  const long n = BIO_get_mem_data(mem, &data);
  const std::string text = "-----BEGIN PKCS7-----\n" +
                           std::string(data, static_cast<std::size_t>(n)) + "-----END PKCS7-----\n";
  const FileContents p = parse(text);
  EXPECT_EQ(p.format, FileFormat::Pem);
  EXPECT_EQ(p.count(ItemKind::Certificate), 2u);
  EXPECT_EQ(p.items[0].line, 1);
}

TEST_F(FileContentsTest, Pkcs12WithPassword) {
  const std::string p12 =
      pkcs12_der("s3cret", leaf_.key.get(), leaf_.cert.get(), {root_.cert.get()});
  ReadOptions with;
  with.password = "s3cret";
  const FileContents ok = parse(p12, with);
  EXPECT_EQ(ok.format, FileFormat::Pkcs12);
  EXPECT_TRUE(ok.problems.empty()) << ok.problems.front().message;
  EXPECT_TRUE(ok.used_password);
  EXPECT_EQ(ok.count(ItemKind::PrivateKey), 1u);
  EXPECT_EQ(ok.count(ItemKind::Certificate), 2u);

  ReadOptions wrong;
  wrong.password = "nope";
  const FileContents bad = parse(p12, wrong);
  ASSERT_EQ(bad.problems.size(), 1u);
  EXPECT_NE(bad.problems[0].message.find("wrong password"), std::string::npos);

  // No password given: the prompt callback is asked once.
  int asked = 0;
  ReadOptions prompt;
  prompt.ask_password = [&] {
    ++asked;
    return std::optional<std::string>("s3cret");
  };
  EXPECT_EQ(parse(p12, prompt).count(ItemKind::Certificate), 2u);
  EXPECT_EQ(asked, 1);
  const FileContents none = parse(p12);
  ASSERT_EQ(none.problems.size(), 1u);
  EXPECT_NE(none.problems[0].message.find("--password-file"), std::string::npos);
}

TEST_F(FileContentsTest, Pkcs12WithEmptyPasswordOpensWithoutOne) {
  const std::string p12 = pkcs12_der("", nullptr, nullptr, {root_.cert.get()});
  const FileContents c = parse(p12);
  EXPECT_TRUE(c.problems.empty()) << c.problems.front().message;
  EXPECT_EQ(c.count(ItemKind::Certificate), 1u);
  EXPECT_FALSE(c.used_password);
}

TEST_F(FileContentsTest, CrlAndCsrAndPublicKey) {
  pki::CrlSpec spec;
  spec.issuer_cert = root_.cert.get();
  spec.issuer_key = root_.key.get();
  auto crl = pki::issue_crl(spec);
  ASSERT_TRUE(crl);
  pki::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), leaf_.key.get());
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  const FileContents c =
      parse(crl_pem(crl->get()) + std::string(data, static_cast<std::size_t>(n)));
  EXPECT_EQ(c.count(ItemKind::Crl), 1u);
  EXPECT_EQ(c.count(ItemKind::PublicKey), 1u);
}

TEST_F(FileContentsTest, TextWithoutPemIsAProblem) {
  const FileContents c = parse("hello world\n");
  EXPECT_EQ(c.format, FileFormat::Unknown);
  ASSERT_EQ(c.problems.size(), 1u);
  EXPECT_EQ(c.problems[0].line, 1);
}

TEST_F(FileContentsTest, ReadContentsErrorsOnMissingFile) {
  auto r = read_contents("/nonexistent/file.pem", {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("cannot read"), std::string::npos);
}

}  // namespace
}  // namespace portcullis::diag
