// The verification engine against an in-test PKI: one case per mtls.* code, asserting the code,
// the depth, the key phrases of the hint and of detail(), and ssl_client_verify(); plus the
// error table, the cache key and concurrent use of one TrustStore.
#include "pki/verify.h"

#include <gtest/gtest.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "pki/hints.h"
#include "verify_fixture.h"

namespace portcullis::pki {
namespace {

using core::DenialCode;
using testing::kDay;
using testing::pki;
using testing::ref;
using testing::refs;
using testing::TestPki;

::testing::AssertionResult contains(const std::string& haystack, std::string_view needle) {
  if (haystack.find(needle) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "\"" << haystack << "\"\n  does not contain\n\"" << needle << "\"";
}

Verdict verify(const TrustStore& store, std::vector<X509*> presented, VerifyPolicy policy = {}) {
  return verify_chain(store, presented, policy);
}

void expect_failed(const Verdict& v, DenialCode code, int depth) {
  EXPECT_EQ(v.outcome, Verdict::Outcome::Failed) << v.detail();
  ASSERT_TRUE(v.code.has_value()) << v.detail();
  EXPECT_EQ(core::spec(*v.code).code, core::spec(code).code) << v.detail();
  EXPECT_EQ(v.depth, depth) << v.detail();
  EXPECT_EQ(v.ssl_client_verify(), "FAILED:" + std::string(core::spec(code).code));
  EXPECT_FALSE(v.hint.empty());
  EXPECT_FALSE(v.issues.empty());
  EXPECT_FALSE(v.presented.empty());
  EXPECT_FALSE(v.chain.empty());
  // detail(): one line with the leaf's facts, the reason and the hint.
  const std::string d = v.detail();
  // PRINT_VERDICTS=1 unit_pki shows every verdict line, to review the hints by eye.
  if (std::getenv("PRINT_VERDICTS") != nullptr) std::printf("%s\n\n", d.c_str());
  EXPECT_EQ(d.find('\n'), std::string::npos);
  EXPECT_TRUE(contains(d, core::spec(code).code));
  EXPECT_TRUE(contains(d, "leaf subject='" + v.leaf.subject + "'"));
  EXPECT_TRUE(contains(d, "sha256=" + v.leaf.sha256));
  EXPECT_TRUE(contains(d, "serial=" + v.leaf.serial));
  EXPECT_TRUE(contains(d, "hint: " + v.hint));
  if (depth >= 0) {
    EXPECT_TRUE(contains(d, "at depth " + std::to_string(depth)));
  }
}

// --- success ------------------------------------------------------------------------------------

TEST(VerifyChain, LeafViaOneIntermediateSentByClient) {
  const TestPki& p = pki();
  auto store = p.store();
  const Verdict v = verify(*store, {p.leaf1.cert.get(), p.int1.cert.get()});
  EXPECT_TRUE(v.ok()) << v.detail();
  EXPECT_EQ(v.ssl_client_verify(), "SUCCESS");
  EXPECT_FALSE(v.code.has_value());
  EXPECT_EQ(v.leaf.subject, "CN=client-one,O=Portcullis Test");
  EXPECT_EQ(v.leaf.issuer, "CN=Test Intermediate CA,O=Portcullis Test");
  EXPECT_EQ(v.leaf.sha256.size(), 64u);
  EXPECT_FALSE(v.leaf.serial.empty());
  // The gateway's success path does not pay for the evidence.
  EXPECT_TRUE(v.presented.empty());
  EXPECT_TRUE(v.chain.empty());
  EXPECT_TRUE(contains(v.detail(), "client certificate verified"));
}

TEST(VerifyChain, LeafViaTwoIntermediatesSentByClient) {
  const TestPki& p = pki();
  auto store = p.store();
  VerifyPolicy policy;
  policy.evidence_on_success = true;
  const Verdict v =
      verify(*store, {p.leaf2.cert.get(), p.int2.cert.get(), p.int1.cert.get()}, policy);
  ASSERT_TRUE(v.ok()) << v.detail();
  ASSERT_EQ(v.chain.size(), 4u);
  EXPECT_EQ(v.chain[0].subject, "CN=client-two,O=Portcullis Test");
  EXPECT_EQ(v.chain[3].subject, "CN=Test Root CA,O=Portcullis Test");
  EXPECT_EQ(v.presented.size(), 3u);
}

TEST(VerifyChain, ClientSendsIntermediatesOutOfOrder) {
  const TestPki& p = pki();
  auto store = p.store();
  const Verdict v = verify(*store, {p.leaf2.cert.get(), p.int1.cert.get(), p.int2.cert.get()});
  EXPECT_TRUE(v.ok()) << v.detail();
}

TEST(VerifyChain, IntermediatesFileProvidesTheChain) {
  const TestPki& p = pki();
  auto store = p.store(refs({p.int1.cert.get(), p.int2.cert.get()}));
  EXPECT_TRUE(verify(*store, {p.leaf1.cert.get()}).ok());
  EXPECT_TRUE(verify(*store, {p.leaf2.cert.get()}).ok());
  // Half from the client, half from the file.
  auto half = p.store(refs({p.int1.cert.get()}));
  EXPECT_TRUE(verify(*half, {p.leaf2.cert.get(), p.int2.cert.get()}).ok());
}

TEST(VerifyChain, NoEkuIsAccepted) {
  const TestPki& p = pki();
  auto store = p.store();
  const Verdict v = verify(*store, {p.no_eku.cert.get(), p.int1.cert.get()});
  EXPECT_TRUE(v.ok()) << v.detail();
}

// --- chain building
// -------------------------------------------------------------------------------

TEST(VerifyChain, MissingIntermediateIsChainIncomplete) {
  const TestPki& p = pki();
  auto store = p.store();
  const Verdict v = verify(*store, {p.leaf1.cert.get()});
  expect_failed(v, DenialCode::MtlsChainIncomplete, 0);
  EXPECT_EQ(v.openssl_error, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
  EXPECT_TRUE(contains(
      v.hint,
      "the client did not send intermediate CN=Test Intermediate CA,O=Portcullis Test and it is "
      "not in trusted_ca or intermediates: have the client send its full chain or add "
      "CN=Test Intermediate CA,O=Portcullis Test to intermediates"));
  // The key id of the missing CA, so the operator can find the right file.
  EXPECT_TRUE(contains(v.hint, key_id_text(X509_get0_subject_key_id(p.int1.cert.get()))));
}

TEST(VerifyChain, MissingSecondIntermediateNamesIt) {
  const TestPki& p = pki();
  auto store = p.store();
  const Verdict v = verify(*store, {p.leaf2.cert.get(), p.int2.cert.get()});
  expect_failed(v, DenialCode::MtlsChainIncomplete, 1);
  EXPECT_TRUE(contains(v.hint,
                       "CN=Test Sub CA,O=Portcullis Test (depth 1) was issued by "
                       "CN=Test Intermediate CA,O=Portcullis Test"));
  EXPECT_TRUE(contains(v.hint, "the client did not send intermediate CN=Test Intermediate CA"));
}

TEST(VerifyChain, UntrustedRootSentByClient) {
  const TestPki& p = pki();
  auto store = p.store();
  const Verdict v =
      verify(*store, {p.other_leaf.cert.get(), p.other_int.cert.get(), p.other_root.cert.get()});
  expect_failed(v, DenialCode::MtlsIssuerUntrusted, 2);
  EXPECT_EQ(v.openssl_error, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN);
  EXPECT_TRUE(contains(v.hint, "the chain ends at root CN=Other Root CA,O=Elsewhere"));
  EXPECT_TRUE(contains(v.hint, "which is not in trusted_ca"));
  EXPECT_EQ(v.chain.size(), 3u);
  EXPECT_EQ(v.presented.size(), 3u);
}

TEST(VerifyChain, UntrustedRootNotSentIsAMissingIssuer) {
  // Without the root, the last certificate available is not self-signed: its issuer is missing.
  const TestPki& p = pki();
  auto store = p.store();
  const Verdict v = verify(*store, {p.other_leaf.cert.get(), p.other_int.cert.get()});
  expect_failed(v, DenialCode::MtlsChainIncomplete, 1);
  EXPECT_TRUE(
      contains(v.hint, "the client did not send intermediate CN=Other Root CA,O=Elsewhere"));
  EXPECT_TRUE(
      contains(v.hint, "if CN=Other Root CA,O=Elsewhere is a root CA, add it to trusted_ca"));
}

TEST(VerifyChain, IntermediateOnlyInTrustedCaIsNotAnAnchor) {
  // No partial chains: trusted_ca must reach a root.
  const TestPki& p = pki();
  auto store = p.store({}, {}, refs({p.int1.cert.get()}));
  const Verdict v = verify(*store, {p.leaf1.cert.get()});
  expect_failed(v, DenialCode::MtlsIssuerUntrusted, 1);
  EXPECT_EQ(v.openssl_error, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT);
  EXPECT_TRUE(contains(v.hint, "add the root CA CN=Test Root CA,O=Portcullis Test to trusted_ca"));
}

TEST(VerifyChain, SelfSignedLeaf) {
  const TestPki& p = pki();
  auto store = p.store();
  const Verdict v = verify(*store, {p.self_signed.cert.get()});
  expect_failed(v, DenialCode::MtlsSelfSigned, 0);
  EXPECT_EQ(v.openssl_error, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
  EXPECT_TRUE(contains(v.hint, "CN=client-self-signed is self-signed"));
  EXPECT_EQ(v.hint.find(kLeafInTrustedCaHint), std::string::npos);
}

TEST(VerifyChain, ChainDeeperThanMaxDepth) {
  const TestPki& p = pki();
  auto store = p.store();
  std::vector<X509*> presented{p.deep.back().cert.get()};
  for (int i = 5; i >= 0; --i) presented.push_back(p.deep[static_cast<std::size_t>(i)].cert.get());
  const Verdict v = verify(*store, presented);  // 6 intermediates, max_depth 4
  expect_failed(v, DenialCode::MtlsChainTooLong, 5);
  EXPECT_EQ(v.openssl_error, X509_V_ERR_CERT_CHAIN_TOO_LONG);
  EXPECT_TRUE(contains(v.hint, "more intermediate CA certificates than verify_depth 4 allows"));
  EXPECT_TRUE(contains(v.hint, "raise verify_depth"));

  VerifyPolicy deeper;
  deeper.max_depth = 6;
  EXPECT_TRUE(verify(*store, presented, deeper).ok());
}

TEST(VerifyChain, DepthCountsIntermediatesLikeNginx) {
  const TestPki& p = pki();
  auto store = p.store();
  VerifyPolicy policy;
  policy.max_depth = 0;  // leaf issued directly by trusted_ca only
  expect_failed(verify(*store, {p.leaf1.cert.get(), p.int1.cert.get()}, policy),
                DenialCode::MtlsChainTooLong, 1);
  policy.max_depth = 1;
  EXPECT_TRUE(verify(*store, {p.leaf1.cert.get(), p.int1.cert.get()}, policy).ok());
  expect_failed(verify(*store, {p.leaf2.cert.get(), p.int2.cert.get(), p.int1.cert.get()}, policy),
                DenialCode::MtlsChainTooLong, 2);
  policy.max_depth = 2;
  EXPECT_TRUE(
      verify(*store, {p.leaf2.cert.get(), p.int2.cert.get(), p.int1.cert.get()}, policy).ok());
}

// --- validity
// -------------------------------------------------------------------------------------

TEST(VerifyChain, ExpiredLeaf) {
  const TestPki& p = pki();
  auto store = p.store();
  const Verdict v = verify(*store, {p.expired.cert.get(), p.int1.cert.get()});
  expect_failed(v, DenialCode::MtlsCertExpired, 0);
  EXPECT_EQ(v.openssl_error, X509_V_ERR_CERT_HAS_EXPIRED);
  EXPECT_TRUE(contains(v.hint, "the client certificate CN=client-expired expired 3 days ago at "));
  EXPECT_TRUE(contains(v.hint, v.leaf.not_after));  // RFC 3339
}

TEST(VerifyChain, ExpiredSecondsAgoSaysSeconds) {
  const TestPki& p = pki();
  auto store = p.store();
  const Verdict v = verify(*store, {p.expired_recently.cert.get(), p.int1.cert.get()});
  expect_failed(v, DenialCode::MtlsCertExpired, 0);
  EXPECT_TRUE(contains(v.hint, " s ago at ")) << v.hint;
  EXPECT_TRUE(contains(v.hint, "check them")) << "near a boundary, the clock is a suspect";
}

TEST(VerifyChain, NotYetValidLeaf) {
  const TestPki& p = pki();
  auto store = p.store();
  const Verdict v = verify(*store, {p.not_yet_valid.cert.get(), p.int1.cert.get()});
  expect_failed(v, DenialCode::MtlsCertNotYetValid, 0);
  EXPECT_TRUE(contains(v.hint, "is not valid until " + v.leaf.not_before + " (in 3 days)"));
}

TEST(VerifyChain, VerificationTimeComesFromThePolicy) {
  const TestPki& p = pki();
  auto store = p.store();
  VerifyPolicy policy;
  policy.at = std::chrono::system_clock::now() + 4 * kDay;
  EXPECT_TRUE(verify(*store, {p.not_yet_valid.cert.get(), p.int1.cert.get()}, policy).ok());
  policy.at = std::chrono::system_clock::now() - 10 * kDay;  // before the leaf was issued
  const Verdict past = verify(*store, {p.leaf1.cert.get(), p.int1.cert.get()}, policy);
  expect_failed(past, DenialCode::MtlsCertNotYetValid, 0);
  EXPECT_TRUE(contains(past.hint, "(in 10 days)")) << "relative to the verification time";
}

TEST(VerifyChain, ExpiredIntermediate) {
  const TestPki& p = pki();
  auto store = p.store();
  const Verdict v = verify(*store, {p.leaf_under_expired_int.cert.get(), p.expired_int.cert.get()});
  expect_failed(v, DenialCode::MtlsCertExpired, 1);
  EXPECT_TRUE(contains(
      v.hint, "intermediate CA CN=Expired Intermediate CA (depth 1) expired 2 days ago at"));
}

// --- purpose
// --------------------------------------------------------------------------------------

TEST(VerifyChain, ServerAuthOnlyEkuIsPurposeInvalid) {
  const TestPki& p = pki();
  auto store = p.store();
  const Verdict v = verify(*store, {p.server_only.cert.get(), p.int1.cert.get()});
  expect_failed(v, DenialCode::MtlsPurposeInvalid, 0);
  EXPECT_EQ(v.openssl_error, X509_V_ERR_INVALID_PURPOSE);
  EXPECT_TRUE(contains(v.hint, "EKU has serverAuth only"));
  EXPECT_TRUE(contains(v.hint, "issue one whose EKU includes clientAuth"));
}

TEST(VerifyChain, EkuCheckDisabled) {
  const TestPki& p = pki();
  auto store = p.store();
  VerifyPolicy policy;
  policy.require_client_auth_eku = false;
  EXPECT_TRUE(verify(*store, {p.server_only.cert.get(), p.int1.cert.get()}, policy).ok());
}

TEST(VerifyChain, ServerPurposeForPortcullisVerify) {
  const TestPki& p = pki();
  auto store = p.store();
  VerifyPolicy policy;
  policy.purpose = VerifyPolicy::Server;
  EXPECT_TRUE(verify(*store, {p.server_only.cert.get(), p.int1.cert.get()}, policy).ok());
  const Verdict v = verify(*store, {p.leaf1.cert.get(), p.int1.cert.get()}, policy);
  expect_failed(v, DenialCode::MtlsPurposeInvalid, 0);
  EXPECT_TRUE(contains(v.hint, "EKU has clientAuth only"));
  policy.purpose = VerifyPolicy::Any;
  EXPECT_TRUE(verify(*store, {p.leaf1.cert.get(), p.int1.cert.get()}, policy).ok());
}

// --- issuer DN
// ------------------------------------------------------------------------------------

TEST(VerifyChain, IssuerDnMismatchNamesTheClosestCa) {
  const TestPki& p = pki();
  auto store = p.store(refs({p.int1.cert.get()}));
  // The client sends its own intermediate: the chain verifies, but its issuer DN is not one of
  // the configured CAs.
  VerifyPolicy off;
  EXPECT_TRUE(verify(*store, {p.dn_leaf.cert.get(), p.dn_int.cert.get()}, off).ok());
  VerifyPolicy on;
  on.verify_issuer_dn = true;
  const Verdict v = verify(*store, {p.dn_leaf.cert.get(), p.dn_int.cert.get()}, on);
  expect_failed(v, DenialCode::MtlsIssuerDnMismatch, 0);
  EXPECT_EQ(v.openssl_error, 0);
  EXPECT_TRUE(
      contains(v.hint,
               "issuer DN 'CN=Test Intermediate CA,O=Portcullis Tset' differs from every "
               "configured CA subject; closest: 'CN=Test Intermediate CA,O=Portcullis Test'"));
  // A leaf whose issuer is configured passes the check.
  EXPECT_TRUE(verify(*store, {p.leaf1.cert.get()}, on).ok());
}

// --- revocation
// -----------------------------------------------------------------------------------

TEST(VerifyChain, RevokedLeafViaCrl) {
  const TestPki& p = pki();
  auto store = p.store({}, [&] {
    std::vector<X509CrlPtr> crls;
    crls.push_back(TestPki::crl_ref(p.int1_crl.get()));
    crls.push_back(TestPki::crl_ref(p.root_crl.get()));
    return crls;
  }());
  EXPECT_TRUE(verify(*store, {p.leaf1.cert.get(), p.int1.cert.get()}).ok());
  const Verdict v = verify(*store, {p.revoked.cert.get(), p.int1.cert.get()});
  expect_failed(v, DenialCode::MtlsCertRevoked, 0);
  EXPECT_EQ(v.openssl_error, X509_V_ERR_CERT_REVOKED);
  EXPECT_TRUE(contains(v.hint, "the client certificate CN=client-revoked (serial " + v.leaf.serial +
                                   ") is listed as revoked in the CRL of CN=Test Intermediate CA"));
  EXPECT_TRUE(contains(v.hint, "(revoked at "));
}

TEST(VerifyChain, ExpiredCrlIsAnExplainedFailure) {
  const TestPki& p = pki();
  auto store = p.store({}, [&] {
    std::vector<X509CrlPtr> crls;
    crls.push_back(TestPki::crl_ref(p.int1_crl_expired.get()));
    crls.push_back(TestPki::crl_ref(p.root_crl.get()));
    return crls;
  }());
  const Verdict v = verify(*store, {p.leaf1.cert.get(), p.int1.cert.get()});
  expect_failed(v, DenialCode::MtlsCertInvalid, 0);
  EXPECT_EQ(v.openssl_error, X509_V_ERR_CRL_HAS_EXPIRED);
  EXPECT_TRUE(contains(
      v.hint, "the CRL of CN=Test Intermediate CA,O=Portcullis Test expired 2 days ago at"));
  EXPECT_TRUE(contains(v.hint, "publish a fresh CRL to revoked.crl.pem"));
}

TEST(VerifyChain, MissingCrlForAnIntermediateIsExplained) {
  // With CRLs configured every certificate of the chain needs one (CRL_CHECK_ALL, as nginx).
  const TestPki& p = pki();
  auto store = p.store({}, [&] {
    std::vector<X509CrlPtr> crls;
    crls.push_back(TestPki::crl_ref(p.int1_crl.get()));
    return crls;
  }());
  const Verdict v = verify(*store, {p.leaf1.cert.get(), p.int1.cert.get()});
  expect_failed(v, DenialCode::MtlsCertInvalid, 1);
  EXPECT_EQ(v.openssl_error, X509_V_ERR_UNABLE_TO_GET_CRL);
  EXPECT_TRUE(contains(v.hint, "no CRL of CN=Test Root CA,O=Portcullis Test covers"));
}

// --- CA structure
// ---------------------------------------------------------------------------------

TEST(VerifyChain, IntermediateWithCaFalse) {
  const TestPki& p = pki();
  auto store = p.store();
  const Verdict v = verify(*store, {p.leaf_under_not_ca.cert.get(), p.not_ca_int.cert.get()});
  expect_failed(v, DenialCode::MtlsCaInvalid, 1);
  EXPECT_TRUE(contains(v.hint,
                       "CN=Not A CA (depth 1) issues certificates but is not a CA "
                       "(basicConstraints CA:FALSE)"));
}

TEST(VerifyChain, PathLenViolation) {
  const TestPki& p = pki();
  auto store = p.store();
  const Verdict v = verify(
      *store, {p.leaf_pathlen.cert.get(), p.below_pathlen0.cert.get(), p.pathlen0.cert.get()});
  expect_failed(v, DenialCode::MtlsCaInvalid, 2);
  EXPECT_EQ(v.openssl_error, X509_V_ERR_PATH_LENGTH_EXCEEDED);
  EXPECT_TRUE(contains(v.hint,
                       "CN=PathLen Zero CA (depth 2) has pathLenConstraint 0, but 1 "
                       "intermediate CA certificate(s) follow it"));
}

TEST(VerifyChain, TamperedSignature) {
  const TestPki& p = pki();
  auto store = p.store();
  X509Ptr bad = testing::tampered(p.leaf1.cert.get());
  const Verdict v = verify(*store, {bad.get(), p.int1.cert.get()});
  expect_failed(v, DenialCode::MtlsSignatureInvalid, 0);
  EXPECT_EQ(v.openssl_error, X509_V_ERR_CERT_SIGNATURE_FAILURE);
  EXPECT_TRUE(contains(v.hint,
                       "the signature of the client certificate CN=client-one,O=Portcullis "
                       "Test does not verify with the public key of its issuer "
                       "CN=Test Intermediate CA,O=Portcullis Test"));
}

// --- a leaf in trusted_ca
// -------------------------------------------------------------------------

TEST(VerifyChain, LeafInTrustedCaAuthenticatesNobody) {
  const TestPki& p = pki();
  auto store = p.store({}, {}, refs({p.root.cert.get(), p.pinned.cert.get()}));
  ASSERT_EQ(store->trusted_leaves().size(), 1u);

  // A different leaf whose issuer is the pinned leaf (signed with its key).
  const Verdict other = verify(*store, {p.signed_by_pinned.cert.get()});
  expect_failed(other, DenialCode::MtlsIssuerUntrusted, 0);
  EXPECT_TRUE(contains(other.hint,
                       "the issuer CN=pinned-client of CN=client-signed-by-pinned is in "
                       "trusted_ca but is not a CA"));
  EXPECT_TRUE(contains(other.hint, "a leaf in the CA bundle is not a trust anchor for others"));

  // ... even when the client sends the pinned leaf along.
  const Verdict with_pinned = verify(*store, {p.signed_by_pinned.cert.get(), p.pinned.cert.get()});
  expect_failed(with_pinned, DenialCode::MtlsIssuerUntrusted, 1);
  EXPECT_TRUE(contains(with_pinned.hint,
                       "the chain ends at CN=pinned-client, which is in "
                       "trusted_ca but is not a CA"));

  // The pinned leaf itself.
  const Verdict self = verify(*store, {p.pinned.cert.get()});
  expect_failed(self, DenialCode::MtlsSelfSigned, 0);
  EXPECT_TRUE(contains(self.hint, std::string(kLeafInTrustedCaHint)));

  // Other clients are unaffected.
  EXPECT_TRUE(verify(*store, {p.leaf1.cert.get(), p.int1.cert.get()}).ok());
}

TEST(VerifyChain, TrustAnchorPresentedAsLeafIsRejected) {
  const TestPki& p = pki();
  auto store = p.store();
  // Its keyUsage (keyCertSign, cRLSign) already fails the client purpose ...
  expect_failed(verify(*store, {p.root.cert.get()}), DenialCode::MtlsPurposeInvalid, 0);
  // ... and without the purpose check it is still no client certificate.
  VerifyPolicy no_purpose;
  no_purpose.require_client_auth_eku = false;
  const Verdict v = verify(*store, {p.root.cert.get()}, no_purpose);
  expect_failed(v, DenialCode::MtlsCertInvalid, 0);
  EXPECT_TRUE(
      contains(v.hint, "a trust anchor authenticates the certificates it issues, not itself"));
}

// --- RFC 5280 strictness
// ---------------------------------------------------------------------------

TEST(VerifyChain, LeafWithoutKeyIdentifiersVerifiesInBothModes) {
  // OpenSSL 3 rejected it under X509_STRICT (missing authority key identifier); AWS-LC has no
  // such check, so strict and lax verification agree.
  const TestPki& p = pki();
  CertSpec s = testing::leaf_spec("CN=client-no-aki", &p.int1);
  s.key_identifiers = false;
  IssuedCert no_aki = testing::must_issue(s);
  auto store = p.store();
  EXPECT_TRUE(verify(*store, {no_aki.cert.get(), p.int1.cert.get()}).ok());
  VerifyPolicy lax;
  lax.x509_strict = false;
  EXPECT_TRUE(verify(*store, {no_aki.cert.get(), p.int1.cert.get()}, lax).ok());
}

// --- no certificate
// -------------------------------------------------------------------------------

TEST(VerifyChain, NoCertificateListsAdvertisedNames) {
  const TestPki& p = pki();
  auto store = p.store({}, {}, refs({p.root.cert.get(), p.other_root.cert.get()}));
  for (const Verdict& v : {verdict_no_certificate(*store), verify(*store, {})}) {
    EXPECT_EQ(v.outcome, Verdict::Outcome::None);
    ASSERT_TRUE(v.code.has_value());
    EXPECT_EQ(*v.code, DenialCode::MtlsCertMissing);
    EXPECT_EQ(v.ssl_client_verify(), "NONE");
    EXPECT_TRUE(contains(v.hint,
                         "the server advertised these CA names: 'CN=Test Root CA,O=Portcullis "
                         "Test', 'CN=Other Root CA,O=Elsewhere'; clients only offer certificates "
                         "issued by one of them"));
    EXPECT_TRUE(contains(v.detail(), "no client certificate"));
  }
}

// --- several errors
// -------------------------------------------------------------------------------

TEST(VerifyChain, EveryErrorIsInTheEvidence) {
  // Expired, wrong EKU, and the issuer DN check on: the most specific code decides, the evidence
  // lists all of them.
  const TestPki& p = pki();
  CertSpec s = testing::leaf_spec("CN=client-many-problems", &p.int1);
  s.not_before = -30 * kDay;
  s.not_after = -kDay;
  s.extended_key_usage = {"serverAuth"};
  IssuedCert many = testing::must_issue(s);
  auto store = p.store();
  VerifyPolicy policy;
  policy.verify_issuer_dn = true;  // int1 is not configured: also a mismatch
  const Verdict v = verify(*store, {many.cert.get(), p.int1.cert.get()}, policy);
  expect_failed(v, DenialCode::MtlsCertExpired, 0);
  std::vector<DenialCode> codes;
  for (const VerifyIssue& issue : v.issues) codes.push_back(issue.code);
  EXPECT_NE(std::find(codes.begin(), codes.end(), DenialCode::MtlsPurposeInvalid), codes.end());
  EXPECT_NE(std::find(codes.begin(), codes.end(), DenialCode::MtlsIssuerDnMismatch), codes.end());
  EXPECT_TRUE(contains(v.detail(), "all errors:"));
  EXPECT_TRUE(contains(v.detail(), "mtls.purpose_invalid"));
}

// --- mapping table
// ----------------------------------------------------------------------------------

TEST(CodeForVerifyError, OneCodePerError) {
  EXPECT_EQ(code_for_verify_error(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT),
            DenialCode::MtlsSelfSigned);
  EXPECT_EQ(code_for_verify_error(X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN),
            DenialCode::MtlsIssuerUntrusted);
  EXPECT_EQ(code_for_verify_error(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY),
            DenialCode::MtlsChainIncomplete);
  EXPECT_EQ(code_for_verify_error(X509_V_ERR_CERT_HAS_EXPIRED), DenialCode::MtlsCertExpired);
  EXPECT_EQ(code_for_verify_error(X509_V_ERR_CERT_NOT_YET_VALID), DenialCode::MtlsCertNotYetValid);
  EXPECT_EQ(code_for_verify_error(X509_V_ERR_INVALID_PURPOSE), DenialCode::MtlsPurposeInvalid);
  EXPECT_EQ(code_for_verify_error(X509_V_ERR_CERT_REVOKED), DenialCode::MtlsCertRevoked);
  EXPECT_EQ(code_for_verify_error(X509_V_ERR_CERT_CHAIN_TOO_LONG), DenialCode::MtlsChainTooLong);
  EXPECT_EQ(code_for_verify_error(X509_V_ERR_CERT_SIGNATURE_FAILURE),
            DenialCode::MtlsSignatureInvalid);
  EXPECT_EQ(code_for_verify_error(X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE),
            DenialCode::MtlsSignatureInvalid);
  EXPECT_EQ(code_for_verify_error(X509_V_ERR_INVALID_CA), DenialCode::MtlsCaInvalid);
  EXPECT_EQ(code_for_verify_error(X509_V_ERR_PATH_LENGTH_EXCEEDED), DenialCode::MtlsCaInvalid);
  EXPECT_EQ(code_for_verify_error(X509_V_ERR_KEYUSAGE_NO_CERTSIGN), DenialCode::MtlsCaInvalid);
  EXPECT_EQ(code_for_verify_error(X509_V_ERR_CRL_HAS_EXPIRED), DenialCode::MtlsCertInvalid);
  EXPECT_EQ(code_for_verify_error(X509_V_ERR_UNABLE_TO_GET_CRL), DenialCode::MtlsCertInvalid);
  EXPECT_EQ(code_for_verify_error(X509_V_ERR_PERMITTED_VIOLATION), DenialCode::MtlsCertInvalid);
}

// --- cache key
// ------------------------------------------------------------------------------------

TEST(ChainCacheKey, DependsOnEveryCertificateAndTheOrder) {
  const TestPki& p = pki();
  const std::string a = chain_cache_key({p.leaf1.cert.get(), p.int1.cert.get()});
  EXPECT_EQ(a.size(), 64u);
  EXPECT_EQ(a, chain_cache_key({p.leaf1.cert.get(), p.int1.cert.get()}));
  EXPECT_NE(a, chain_cache_key({p.leaf1.cert.get()}));
  EXPECT_NE(a, chain_cache_key({p.int1.cert.get(), p.leaf1.cert.get()}));
  EXPECT_NE(a, chain_cache_key({p.leaf2.cert.get(), p.int1.cert.get()}));
  EXPECT_EQ(chain_cache_key({p.leaf1.cert.get(), nullptr}), "");
}

// --- concurrency
// ----------------------------------------------------------------------------------

TEST(VerifyChain, FourThreadsShareOneTrustStore) {
  const TestPki& p = pki();
  auto store = p.store(refs({p.int1.cert.get()}), [&] {
    std::vector<X509CrlPtr> crls;
    crls.push_back(TestPki::crl_ref(p.int1_crl.get()));
    crls.push_back(TestPki::crl_ref(p.int2_crl.get()));
    crls.push_back(TestPki::crl_ref(p.root_crl.get()));
    return crls;
  }());
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const int which = (i + t) % 4;
        Verdict v;
        switch (which) {
          case 0:
            v = verify_chain(*store, {p.leaf1.cert.get()}, {});
            if (!v.ok()) ++wrong;
            break;
          case 1:
            v = verify_chain(*store, {p.leaf2.cert.get(), p.int2.cert.get()}, {});
            if (!v.ok()) ++wrong;
            break;
          case 2:
            v = verify_chain(*store, {p.revoked.cert.get()}, {});
            if (v.code != DenialCode::MtlsCertRevoked) ++wrong;
            break;
          default:
            v = verify_chain(*store, {p.other_leaf.cert.get(), p.other_int.cert.get()}, {});
            if (v.code != DenialCode::MtlsChainIncomplete) ++wrong;
            break;
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace portcullis::pki
