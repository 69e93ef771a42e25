// Password-hash recognition and verification: the 343 external vectors (published SHA-crypt,
// bcrypt and Argon2 vectors, Debian-tool hashes, malformed hashes), hashes made in-test by the
// Debian tools that are installed, strict refusals at load, and the dummy-hash maker.
#include "authn/htpasswd_hash.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

namespace portcullis::authn {
namespace {

using nlohmann::json;

std::filesystem::path vectors_path() {
  return std::filesystem::path(PORTCULLIS_SOURCE_DIR) / ".." / "shared" / "extsuites" / "htpasswd" /
         "vectors.json";
}

std::string from_hex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

std::optional<HashScheme> scheme_of_vector(const std::string& name) {
  static const std::map<std::string, HashScheme> kMap{{"bcrypt", HashScheme::Bcrypt},
                                                      {"sha256-crypt", HashScheme::Sha256Crypt},
                                                      {"sha512-crypt", HashScheme::Sha512Crypt},
                                                      {"argon2id", HashScheme::Argon2id},
                                                      {"argon2i", HashScheme::Argon2i},
                                                      {"argon2d", HashScheme::Argon2d},
                                                      {"apr1", HashScheme::Apr1},
                                                      {"md5-crypt", HashScheme::Md5Crypt},
                                                      {"sha1-b64", HashScheme::Sha1}};
  const auto it = kMap.find(name);
  if (it == kMap.end()) return std::nullopt;
  return it->second;
}

json load_vectors() {
  std::ifstream in(vectors_path());
  if (!in) return json();
  return json::parse(in);
}

// The shared test data lives beside the checkout (../shared); without it there is nothing to run.
#define SKIP_WITHOUT_VECTORS(doc) \
  if (!(doc).is_object()) GTEST_SKIP() << "htpasswd vectors not found at " << vectors_path()

TEST(HtpasswdVectors, EveryVectorGivesItsExpectedResult) {
  const json doc = load_vectors();
  SKIP_WITHOUT_VECTORS(doc);
  const auto& vectors = doc.at("vectors");
  ASSERT_EQ(vectors.size(), 343u);
  std::map<std::string, int> counts;
  for (const auto& v : vectors) {
    const std::string id = v.at("id");
    const std::string hash = v.at("hash");
    const std::string expected = v.at("expected");
    const std::string password = from_hex(v.at("password_hex"));
    const bool got = verify_hash(hash, password);  // must not crash, whatever the input
    ++counts[expected];
    if (expected == "match") {
      EXPECT_TRUE(got) << id << " (" << v.at("source") << ")";
    } else if (expected == "no-match") {
      EXPECT_FALSE(got) << id << " (" << v.at("source") << ")";
    }
  }
  EXPECT_EQ(counts["match"] + counts["no-match"] + counts["either"], 343);
  EXPECT_EQ(counts["either"], 2);
}

TEST(HtpasswdVectors, MatchVectorsAreRecognisedAsTheirScheme) {
  const json doc = load_vectors();
  SKIP_WITHOUT_VECTORS(doc);
  int checked = 0;
  for (const auto& v : doc.at("vectors")) {
    if (v.at("expected") != "match") continue;
    const auto want = scheme_of_vector(v.at("scheme"));
    ASSERT_TRUE(want.has_value()) << v.at("scheme");
    const HashCheck check = check_hash(v.at("hash").get<std::string>());
    ASSERT_TRUE(check.scheme.has_value()) << v.at("id") << ": " << check.problem;
    EXPECT_EQ(*check.scheme, *want) << v.at("id");
    ++checked;
  }
  EXPECT_GT(checked, 150);
}

TEST(HtpasswdVectors, MalformedVectorsAreRefusedAtLoadWithoutQuotingTheHash) {
  const json doc = load_vectors();
  SKIP_WITHOUT_VECTORS(doc);
  int refused = 0;
  int malformed = 0;
  for (const auto& v : doc.at("vectors")) {
    if (v.at("source") != "derived:malformed") continue;
    ++malformed;
    const std::string hash = v.at("hash");
    const HashCheck check = check_hash(hash);
    EXPECT_FALSE(check.scheme.has_value()) << v.at("id");
    if (check.scheme) continue;
    ++refused;
    EXPECT_FALSE(check.problem.empty()) << v.at("id");
    // (generic-002's "hash" is the word "password", which the explanation uses.)
    if (hash.size() > 6 && v.at("id") != "generic-002") {
      EXPECT_EQ(check.problem.find(hash), std::string::npos) << v.at("id");
    }
  }
  EXPECT_EQ(malformed, 23);
  EXPECT_EQ(refused, 23);
}

// ---- hashes produced in-test by the tools Debian ships ----------------------------------

/// Runs a shell command, returns its first output line (nullopt when it fails).
std::optional<std::string> run(const std::string& command) {
  FILE* p = ::popen((command + " 2>/dev/null").c_str(), "r");
  if (p == nullptr) return std::nullopt;
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  if (::pclose(p) != 0) return std::nullopt;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  const auto nl = out.find('\n');
  return nl == std::string::npos ? out : out.substr(0, nl);
}

bool have(const std::string& tool) {
  return std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0;
}

struct ToolCase {
  std::string command;
  HashScheme scheme;
};

TEST(HtpasswdTools, OpensslPasswdHashesVerify) {
  if (!have("openssl")) GTEST_SKIP() << "openssl not installed";
  const std::vector<ToolCase> cases{
      {"openssl passwd -5 'correct horse'", HashScheme::Sha256Crypt},
      {"openssl passwd -6 'correct horse'", HashScheme::Sha512Crypt},
      {"openssl passwd -5 -salt Zx9 'correct horse'", HashScheme::Sha256Crypt},
      {"openssl passwd -6 -salt 0123456789abcdef 'correct horse'", HashScheme::Sha512Crypt},
      {"openssl passwd -apr1 'correct horse'", HashScheme::Apr1},
      {"openssl passwd -apr1 -salt a 'correct horse'", HashScheme::Apr1},
      {"openssl passwd -1 'correct horse'", HashScheme::Md5Crypt},
  };
  for (const auto& c : cases) {
    const auto hash = run(c.command);
    ASSERT_TRUE(hash.has_value()) << c.command;
    const HashCheck check = check_hash(*hash);
    ASSERT_TRUE(check.scheme.has_value()) << c.command << ": " << check.problem;
    EXPECT_EQ(*check.scheme, c.scheme) << c.command;
    EXPECT_TRUE(verify_hash(*hash, "correct horse")) << c.command;
    EXPECT_FALSE(verify_hash(*hash, "correct horsE")) << c.command;
    EXPECT_FALSE(verify_hash(*hash, "")) << c.command;
  }
}

TEST(HtpasswdTools, OurMd5CryptMatchesOpensslForManyPasswords) {
  if (!have("openssl")) GTEST_SKIP() << "openssl not installed";
  // Lengths around the 16-byte blocks of the MD5-crypt inner loop.
  for (const std::string pw : {"a", "0123456789abcde", "0123456789abcdef", "0123456789abcdefg",
                               "a much longer password of thirty-eight"}) {
    const auto apr1 = run("openssl passwd -apr1 -salt q1w2e3r4 '" + pw + "'");
    const auto md5 = run("openssl passwd -1 -salt q1w2e3r4 '" + pw + "'");
    ASSERT_TRUE(apr1 && md5);
    EXPECT_TRUE(verify_hash(*apr1, pw)) << pw;
    EXPECT_TRUE(verify_hash(*md5, pw)) << pw;
  }
}

TEST(HtpasswdTools, ApacheHtpasswdHashesVerify) {
  if (!have("htpasswd")) GTEST_SKIP() << "htpasswd (apache2-utils) not installed";
  for (const std::string flag : {"-B", "-m", "-s", "-2", "-5"}) {
    const auto line = run("htpasswd -nb " + flag + " alice 's3cret pass'");
    if (!line) continue;  // older htpasswd without -2/-5
    const auto colon = line->find(':');
    ASSERT_NE(colon, std::string::npos);
    const std::string hash = line->substr(colon + 1);
    EXPECT_TRUE(check_hash(hash).scheme.has_value()) << flag;
    EXPECT_TRUE(verify_hash(hash, "s3cret pass")) << flag;
    EXPECT_FALSE(verify_hash(hash, "s3cret pasS")) << flag;
  }
}

TEST(HtpasswdTools, MkpasswdHashesVerify) {
  if (!have("mkpasswd")) GTEST_SKIP() << "mkpasswd (whois) not installed";
  for (const std::string method : {"bcrypt", "sha-256", "sha-512", "md5crypt"}) {
    const auto hash = run("mkpasswd -m " + method + " 's3cret pass'");
    if (!hash) continue;
    EXPECT_TRUE(verify_hash(*hash, "s3cret pass")) << method;
    EXPECT_FALSE(verify_hash(*hash, "s3cret pasS")) << method;
  }
}

TEST(HtpasswdTools, Argon2CliHashesVerify) {
  if (!have("argon2")) GTEST_SKIP() << "argon2 CLI not installed";
  for (const std::string variant : {"-id", "-i"}) {
    const auto hash =
        run("printf 's3cret pass' | argon2 somesaltsalt " + variant + " -t 2 -m 12 -p 1 -e");
    ASSERT_TRUE(hash.has_value());
    EXPECT_TRUE(verify_hash(*hash, "s3cret pass")) << variant;
    EXPECT_FALSE(verify_hash(*hash, "s3cret pasS")) << variant;
  }
}

// ---- refusals ---------------------------------------------------------------------------

TEST(HtpasswdHash, PlaintextAndDesCryptAreRefused) {
  for (const std::string h : {"password", "hunter2", "abCY/CHNnliwA", "*", "!", "!$6$x$y"}) {
    const HashCheck check = check_hash(h);
    EXPECT_FALSE(check.scheme.has_value()) << h;
    EXPECT_NE(check.problem.find("plaintext"), std::string::npos) << h << ": " << check.problem;
    EXPECT_FALSE(verify_hash(h, h)) << h;
  }
  EXPECT_FALSE(check_hash("").scheme.has_value());
  EXPECT_FALSE(verify_hash("", ""));
}

TEST(HtpasswdHash, UnsupportedSchemesSayWhy) {
  EXPECT_NE(check_hash("$2x$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e")
                .problem.find("legacy"),
            std::string::npos);
  EXPECT_NE(check_hash("$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd."
                       "RhAtQ7")
                .problem.find("yescrypt"),
            std::string::npos);
  EXPECT_NE(check_hash("{SSHA}abcdef").problem.find("unsupported"), std::string::npos);
  EXPECT_NE(check_hash("$7$abc").problem.find("unsupported"), std::string::npos);
}

TEST(HtpasswdHash, BcryptShapeIsChecked) {
  const std::string good = "$2y$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq";
  ASSERT_TRUE(check_hash(good).scheme.has_value());
  std::string bad_salt = good;
  bad_salt[28] = 'A';  // non-canonical last salt character
  EXPECT_FALSE(check_hash(bad_salt).scheme.has_value());
  EXPECT_FALSE(check_hash("$2y$04$" + std::string(53, '!')).scheme.has_value());
}

TEST(HtpasswdHash, ShaCryptRoundsAreBounded) {
  const std::string checksum(43, 'a');
  EXPECT_TRUE(check_hash("$5$rounds=1000$salt$" + checksum).scheme.has_value());
  EXPECT_FALSE(check_hash("$5$rounds=999$salt$" + checksum).scheme.has_value());
  EXPECT_FALSE(check_hash("$5$rounds=1000000000$salt$" + checksum).scheme.has_value());
  EXPECT_FALSE(check_hash("$5$rounds=$salt$" + checksum).scheme.has_value());
  EXPECT_FALSE(check_hash("$5$$" + checksum).scheme.has_value());                   // no salt
  EXPECT_FALSE(check_hash("$5$0123456789abcdefX$" + checksum).scheme.has_value());  // 17
}

TEST(HtpasswdHash, Argon2MemoryIsBoundedAtLoad) {
  const std::string tail = "$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
  EXPECT_TRUE(check_hash("$argon2id$v=19$m=2097152,t=1,p=1" + tail).scheme.has_value());
  const HashCheck big = check_hash("$argon2id$v=19$m=4194304,t=1,p=1" + tail);
  EXPECT_FALSE(big.scheme.has_value());
  EXPECT_NE(big.problem.find("KiB"), std::string::npos);
  EXPECT_FALSE(check_hash("$argon2id$v=19$t=2,m=65536,p=1" + tail).scheme.has_value());
  EXPECT_FALSE(check_hash("$argon2id$v=19$m=65536,t=0,p=1" + tail).scheme.has_value());
}

TEST(HtpasswdHash, NulInPasswordNeverMatches) {
  // crypt(3) would stop at the NUL and compare "abc" only.
  for (const std::string reference :
       {"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
        "$6$rounds=1000$NszTvVZSoqKzJUCR$5wpmHHlvz1hmpm/tQEIXAVmsaptBe2Yuw/ZN/9f464gqkRSRqaXAzZR"
        "BuzirRp69kif7XlfEPsnQRJkpKHGFc.",
        "$apr1$ZKrRPevP$3ypzPVWpFowqis03FGvOF0", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="}) {
    const auto hash = hash_like(reference, "abc");
    ASSERT_TRUE(hash.has_value()) << reference;
    EXPECT_TRUE(verify_hash(*hash, "abc"));
    EXPECT_FALSE(verify_hash(*hash, std::string("abc\0def", 7)));
  }
}

// ---- parameters and hash_like (the unknown-user dummy) ----------------------------------

TEST(HtpasswdHash, ParametersAreRead) {
  auto p =
      hash_parameters("$2y$12$" + std::string("abcdefghijklmnopqrstuu") + std::string(31, 'a'));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->scheme, HashScheme::Bcrypt);
  EXPECT_EQ(p->cost, 12u);
  EXPECT_EQ(p->to_string(), "bcrypt cost 12");

  p = hash_parameters(
      "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI6"
      "8u4OTLiBFdcbYEdFCoEOfaS35inz1");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->cost, 5000u);  // the default when rounds= is absent

  p = hash_parameters(
      "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->memory_kib, 65536u);
  EXPECT_EQ(p->cost, 2u);
  EXPECT_EQ(p->parallelism, 1u);
  EXPECT_EQ(p->version, 0x13u);
  EXPECT_EQ(p->tag_bytes, 32u);
  EXPECT_FALSE(hash_parameters("plaintext"));
}

TEST(HtpasswdHash, HashLikeKeepsSchemeAndCostWithAFreshSalt) {
  const std::vector<std::string> references{
      "$2y$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq",
      "$2b$05$qZlvK4zhR0LhjZsfqU34TepG0cZU0bkLDVDTF7ijzL6MFnrZgu5oK",
      "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
      "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5",
      "$5$rounds=1400$anotherlongsalts$Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1",
      "$6$rounds=1000$NszTvVZSoqKzJUCR$5wpmHHlvz1hmpm/tQEIXAVmsaptBe2Yuw/ZN/9f464gqkRSRqaXAzZRBuz"
      "irRp69kif7XlfEPsnQRJkpKHGFc.",
      "$argon2id$v=19$m=4096,t=2,p=1$c2FsdHNhbHQy$nCVOG3YEZkpmNqkJUFNHLym/IG+J+yJ6mQJPXVZsA44",
      "$argon2i$v=19$m=4096,t=2,p=1$c2FsdHNhbHQy$CG23dI6cwJxGqPJCjurj3uY9U8zb4Rvqe7ETx0qvaIA",
      "$apr1$ZKrRPevP$3ypzPVWpFowqis03FGvOF0",
      "$1$tngVkNTY$blvwP7JJ54lWk6E.d5eii/",
      "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="};
  for (const auto& reference : references) {
    const auto made = hash_like(reference, "dummy password");
    ASSERT_TRUE(made.has_value()) << reference << ": " << made.error().message;
    EXPECT_EQ(hash_parameters(*made), hash_parameters(reference)) << reference << " -> " << *made;
    EXPECT_TRUE(verify_hash(*made, "dummy password")) << *made;
    EXPECT_FALSE(verify_hash(*made, "dummy passworD")) << *made;
    if (!reference.starts_with("{SHA}")) {
      EXPECT_NE(*made, reference);
    }
  }
  EXPECT_FALSE(hash_like("plaintext", "x").has_value());
}

TEST(HtpasswdHash, WeakSchemes) {
  EXPECT_TRUE(is_weak(HashScheme::Apr1));
  EXPECT_TRUE(is_weak(HashScheme::Md5Crypt));
  EXPECT_TRUE(is_weak(HashScheme::Sha1));
  EXPECT_TRUE(is_weak(HashScheme::Argon2d));
  EXPECT_FALSE(is_weak(HashScheme::Bcrypt));
  EXPECT_FALSE(is_weak(HashScheme::Sha512Crypt));
  EXPECT_FALSE(is_weak(HashScheme::Argon2id));
}

}  // namespace
}  // namespace portcullis::authn
