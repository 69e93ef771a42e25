// The OpenSSL error-queue reader and the certificate-stack helper.
#include "pki/openssl_ptr.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <vector>

#include "pki/cert_builder.h"

namespace portcullis::pki {
namespace {

TEST(OpenSslErrors, EmptyQueueIsEmptyString) {
  ERR_clear_error();
  EXPECT_EQ(openssl_errors(), "");
}

TEST(OpenSslErrors, DrainsTheQueueIntoOneLine) {
  ERR_clear_error();
  BioPtr bio(BIO_new_file("/nonexistent/portcullis/file.pem", "r"));
  ASSERT_FALSE(bio);
  BioPtr garbage(BIO_new_mem_buf("not pem", -1));
  X509Ptr cert(PEM_read_bio_X509(garbage.get(), nullptr, nullptr, nullptr));
  ASSERT_FALSE(cert);
  const std::string errors = openssl_errors();
  EXPECT_NE(errors.find("error:"), std::string::npos) << errors;
  EXPECT_NE(errors.find("; "), std::string::npos) << errors;  // several errors, one line
  EXPECT_NE(errors.find("no start line"), std::string::npos) << errors;
  EXPECT_EQ(errors.find('\n'), std::string::npos);
  EXPECT_EQ(ERR_peek_error(), 0u);
  EXPECT_EQ(openssl_errors(), "");
}

TEST(MakeX509Stack, ReferencesEveryCertificate) {
  std::vector<X509Ptr> certs;
  for (const char* cn : {"CN=a", "CN=b"}) {
    CertSpec spec;
    spec.subject = cn;
    auto issued = issue_certificate(spec);
    ASSERT_TRUE(issued.has_value());
    certs.push_back(std::move(issued->cert));
  }
  X509StackPtr stack = make_x509_stack(certs);
  ASSERT_TRUE(stack);
  ASSERT_EQ(sk_X509_num(stack.get()), 2);
  EXPECT_EQ(sk_X509_value(stack.get(), 0), certs[0].get());
  EXPECT_EQ(sk_X509_value(stack.get(), 1), certs[1].get());
  certs.clear();  // the stack keeps its own references (ASan would flag a use after free)
  EXPECT_EQ(X509_NAME_entry_count(X509_get_subject_name(sk_X509_value(stack.get(), 1))), 1);
}

}  // namespace
}  // namespace portcullis::pki
