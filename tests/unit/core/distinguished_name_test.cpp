// The first CN of an RFC 2253 name: the mTLS user (proxy/client_identity.cpp) and the
// certificate facts (pki::summarize) both rely on it.
#include "core/distinguished_name.h"

#include <gtest/gtest.h>

namespace portcullis::core {
namespace {

TEST(FirstCommonName, TheFirstCnRdnWherever) {
  EXPECT_EQ(first_common_name("CN=alice,O=Example"), "alice");
  EXPECT_EQ(first_common_name("O=Example,CN=bob"), "bob");
  EXPECT_EQ(first_common_name("CN=first,OU=Ops,CN=second"), "first");
  EXPECT_EQ(first_common_name("CN=only"), "only");
}

TEST(FirstCommonName, EscapesAreUndone) {
  EXPECT_EQ(first_common_name("CN=a\\,b,O=X"), "a,b");
  EXPECT_EQ(first_common_name("CN=a\\+b\\\\c"), "a+b\\c");
  // An escaped comma before the CN does not start a new RDN.
  EXPECT_EQ(first_common_name("O=x\\,CN=fake,CN=real"), "real");
  // An escape after the CN's value does not slow or change it.
  EXPECT_EQ(first_common_name("CN=plain,O=a\\,b"), "plain");
}

TEST(FirstCommonName, NoneIsEmpty) {
  EXPECT_EQ(first_common_name(""), "");
  EXPECT_EQ(first_common_name("O=Example,OU=Ops"), "");
  EXPECT_EQ(first_common_name("OU=CNx,O=y"), "");
  EXPECT_EQ(first_common_name("CN=,O=y"), "");
}

}  // namespace
}  // namespace portcullis::core
