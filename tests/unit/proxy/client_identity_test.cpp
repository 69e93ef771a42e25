// Client-certificate identity: CN extraction, header values, URL-escaped PEM, access-log fields.
#include "proxy/client_identity.h"

#include <gtest/gtest.h>

#include "core/distinguished_name.h"

namespace portcullis::proxy {
namespace {

std::shared_ptr<const pki::Verdict> success(std::string subject) {
  pki::Verdict v;
  v.outcome = pki::Verdict::Outcome::Success;
  v.leaf.subject = std::move(subject);
  v.leaf.common_name = core::first_common_name(v.leaf.subject);  // as pki::summarize does
  v.leaf.issuer = "CN=Issuing CA,O=Example";
  v.leaf.serial = "0A1B";
  v.leaf.sha256 = std::string(64, 'a');
  v.leaf.sans = {"DNS:svc.example", "email:svc@example.com"};
  return std::make_shared<const pki::Verdict>(std::move(v));
}

TEST(ClientIdentity, UserIsTheCommonName) {
  EXPECT_EQ(identity_from_certificate(success("CN=alice,O=Example"), "").user, "alice");
  EXPECT_EQ(identity_from_certificate(success("O=Example,CN=bob"), "").user, "bob");
  EXPECT_EQ(identity_from_certificate(success("CN=a\\,b,O=X"), "").user, "a,b");
  // No CN: the whole subject identifies the client.
  EXPECT_EQ(identity_from_certificate(success("O=Example,OU=Ops"), "").user, "O=Example,OU=Ops");
  const auto id = identity_from_certificate(success("CN=alice"), "PEM");
  EXPECT_EQ(id.method, "mtls");
  EXPECT_EQ(id.certificate().issuer, "CN=Issuing CA,O=Example");
  EXPECT_EQ(id.cert_pem, "PEM");
}

TEST(ClientIdentity, SharesTheVerdictsLeafInsteadOfCopyingIt) {
  auto verdict = success("CN=alice");
  const auto id = identity_from_certificate(verdict, "");
  EXPECT_EQ(id.cert.get(), &verdict->leaf);
  // The identity keeps the verdict alive on its own.
  const pki::Verdict* const held = verdict.get();
  verdict.reset();
  EXPECT_EQ(id.cert.get(), &held->leaf);
  EXPECT_EQ(id.certificate().serial, "0A1B");
  EXPECT_TRUE(core::Identity{}.certificate().subject.empty());  // no certificate: empty facts
}

TEST(ClientIdentity, HeadersFromConfiguredNamesOnly) {
  config::IdentityHeaders names;
  names.user = "X-Auth-User";
  names.subject = "X-Client-Subject";
  names.san = "X-Client-San";
  names.verify = "X-Client-Verify";
  names.cert = "X-Client-Cert";
  const auto verdict = success("CN=alice,O=Example");
  const auto id = identity_from_certificate(verdict, "-----BEGIN CERTIFICATE-----\nAB+/=\n");
  HeaderList h;
  h.add("X-Client-Subject", "CN=forged");  // replaced, never kept beside ours
  add_identity_headers(h, names, id, verdict.get());
  EXPECT_EQ(h.count("x-client-subject"), 1u);
  EXPECT_EQ(h.get("x-client-subject"), "CN=alice,O=Example");
  EXPECT_EQ(h.get("x-auth-user"), "alice");
  EXPECT_EQ(h.get("x-client-san"), "DNS:svc.example,email:svc@example.com");
  EXPECT_EQ(h.get("x-client-verify"), "SUCCESS");
  EXPECT_EQ(h.get("x-client-cert"), "-----BEGIN%20CERTIFICATE-----%0AAB%2B%2F%3D%0A");
  EXPECT_FALSE(h.get("x-client-issuer").has_value());  // not configured
}

TEST(ClientIdentity, ControlCharactersInCertificateFieldsCannotSplitHeaders) {
  config::IdentityHeaders names;
  names.subject = "X-Client-Subject";
  const auto verdict = success("CN=evil\r\nX-Injected: 1");
  HeaderList h;
  add_identity_headers(h, names, identity_from_certificate(verdict, ""), verdict.get());
  EXPECT_EQ(h.get("x-client-subject"), "CN=evil%0D%0AX-Injected: 1");
}

TEST(ClientIdentity, FailedVerdictSendsOnlyTheVerifyResult) {
  config::IdentityHeaders names;
  names.subject = "X-Client-Subject";
  names.verify = "X-Client-Verify";
  pki::Verdict failed;
  failed.outcome = pki::Verdict::Outcome::Failed;
  failed.code = core::DenialCode::MtlsCertExpired;
  failed.leaf.subject = "CN=old";
  HeaderList h;
  add_identity_headers(h, names, core::Identity{}, &failed);
  EXPECT_FALSE(h.get("x-client-subject").has_value());
  EXPECT_EQ(h.get("x-client-verify"), "FAILED:mtls.cert_expired");
}

TEST(ClientIdentity, AccessLogFieldsOnSuccessAndFailure) {
  AccessRecord r;
  record_client_cert(r, *success("CN=alice"));
  EXPECT_EQ(r.ssl_client_verify, "SUCCESS");
  EXPECT_EQ(r.client_subject, "CN=alice");
  EXPECT_EQ(r.client_serial, "0A1B");
  pki::Verdict none;
  AccessRecord n;
  record_client_cert(n, none);
  EXPECT_EQ(n.ssl_client_verify, "NONE");
  EXPECT_EQ(n.client_subject, "");
}

TEST(UrlEscape, KeepsUnreservedOnly) {
  EXPECT_EQ(url_escape("aZ09-_.~"), "aZ09-_.~");
  EXPECT_EQ(url_escape(" /+=\n"), "%20%2F%2B%3D%0A");
}

}  // namespace
}  // namespace portcullis::proxy
