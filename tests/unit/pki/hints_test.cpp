// The hint texts and their helpers: durations in the unit that fits, RFC 3339, the closest DN,
// EKU phrases, and times beyond system_clock's range.
#include "pki/hints.h"

#include <gtest/gtest.h>
#include <openssl/asn1.h>

#include "verify_fixture.h"

namespace portcullis::pki {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using std::chrono::system_clock;

TEST(Hints, HumanDurationPicksTheUnit) {
  EXPECT_EQ(human_duration(seconds(0)), "0 s");
  EXPECT_EQ(human_duration(seconds(37)), "37 s");
  EXPECT_EQ(human_duration(seconds(-37)), "37 s");
  EXPECT_EQ(human_duration(seconds(119)), "119 s");
  EXPECT_EQ(human_duration(minutes(5)), "5 min");
  EXPECT_EQ(human_duration(hours(3)), "3 h");
  EXPECT_EQ(human_duration(hours(47)), "47 h");
  EXPECT_EQ(human_duration(hours(72) - seconds(1)), "3 days");  // rounded, not truncated
  EXPECT_EQ(human_duration(hours(24 * 400)), "400 days");
}

TEST(Hints, Rfc3339AndPhrases) {
  const auto t = system_clock::from_time_t(1767225600);  // 2026-01-01T00:00:00Z
  EXPECT_EQ(rfc3339(t), "2026-01-01T00:00:00Z");
  EXPECT_EQ(expired_phrase(t, t + seconds(37)), "expired 37 s ago at 2026-01-01T00:00:00Z");
  EXPECT_EQ(not_yet_valid_phrase(t, t - hours(72)),
            "not valid until 2026-01-01T00:00:00Z (in 3 days)");
}

TEST(Hints, FarFutureTimesDoNotOverflow) {
  ASN1_TIME* t = ASN1_TIME_new();
  ASSERT_TRUE(ASN1_TIME_set_string(t, "99991231235959Z"));
  const auto point = asn1_time_point(t);
  ASN1_TIME_free(t);
  ASSERT_TRUE(point.has_value());
  EXPECT_GT(*point, system_clock::now() + hours(24 * 365 * 200));
}

TEST(Hints, ClosestDnPrefersEqualRdnsThenEditDistance) {
  const std::vector<std::string> cas = {"CN=Root CA,O=Example", "CN=Issuing CA,O=Example",
                                        "CN=Issuing CA,O=Other"};
  EXPECT_EQ(closest_dn("CN=Issuing CA,O=Exampel", cas), "CN=Issuing CA,O=Example");
  EXPECT_EQ(closest_dn("CN=issuing ca,O=Other,C=US", cas), "CN=Issuing CA,O=Other");
  EXPECT_EQ(closest_dn("CN=Root CA, O=Example", cas), "CN=Root CA,O=Example");
  EXPECT_FALSE(closest_dn("CN=x", {}).has_value());
  EXPECT_EQ(issuer_dn_hint("CN=A,O=B", {"CN=A,O=C", "CN=Z"}),
            "issuer DN 'CN=A,O=B' differs from every configured CA subject; closest: 'CN=A,O=C'");
}

TEST(Hints, EkuPhrase) {
  const testing::TestPki& p = testing::pki();
  EXPECT_EQ(eku_phrase(p.server_only.cert.get(), "clientAuth"), "EKU has serverAuth only");
  EXPECT_EQ(eku_phrase(p.leaf1.cert.get(), "clientAuth"), "");
  EXPECT_EQ(eku_phrase(p.no_eku.cert.get(), "clientAuth"), "");
  CertSpec s = testing::leaf_spec("CN=two-ekus", &p.int1);
  s.extended_key_usage = {"serverAuth", "codeSigning"};
  IssuedCert two = testing::must_issue(s);
  EXPECT_EQ(eku_phrase(two.cert.get(), "clientAuth"),
            "EKU has serverAuth, codeSigning but not clientAuth");
}

TEST(Hints, MissingIntermediateAndAdvertisedNames) {
  EXPECT_EQ(missing_intermediate_hint("CN=X", ""),
            "the client did not send intermediate CN=X and it is not in trusted_ca or "
            "intermediates: have the client send its full chain or add CN=X to intermediates; if "
            "CN=X is a root CA, add it to trusted_ca instead");
  EXPECT_EQ(advertised_names_hint({"CN=A,O=B", "CN=C"}),
            "the server advertised these CA names: 'CN=A,O=B', 'CN=C'; clients only offer "
            "certificates issued by one of them");
}

TEST(Hints, NamesAreOneLine) {
  auto name = parse_distinguished_name("CN=evil\\0Aname,O=x");
  ASSERT_TRUE(name);
  const std::string text = name_text(name->get());
  EXPECT_EQ(text.find('\n'), std::string::npos) << text;
}

}  // namespace
}  // namespace portcullis::pki
