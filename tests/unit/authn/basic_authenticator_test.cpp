// The Basic authenticator: success with groups, the unknown-user/wrong-password equivalence
// (same answer, same verification work), lockout and its expiry, the success cache, the fast
// path, duplicate users, and files re-read when they change. Time is always injected.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "authn/basic.h"
#include "temp_files.h"

namespace portcullis::authn {
namespace {

using testing_files::rewrite;
using testing_files::TempDir;
using testing_files::write;

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const Clock::time_point kT0 = Clock::time_point{} + 10000h;

// A fast SHA-512-crypt reference (1000 rounds) and a bcrypt one (cost 5).
constexpr const char* kSha512Ref =
    "$6$rounds=1000$NszTvVZSoqKzJUCR$5wpmHHlvz1hmpm/tQEIXAVmsaptBe2Yuw/ZN/9f464gqkRSRqaXAzZRBuz"
    "irRp69kif7XlfEPsnQRJkpKHGFc.";
constexpr const char* kBcryptRef = "$2y$05$cOHttQZPhAE8LQLwOk7A9.qrQzHUrZ/zUj46HxVSPTTzXfL0bo60e";

std::string hash_of(std::string_view password, const char* reference = kSha512Ref) {
  auto h = hash_like(reference, password);
  EXPECT_TRUE(h.has_value());
  return h.value_or("");
}

core::IpAddress ip(std::string_view text) {
  return core::IpAddress::parse(text).value();
}

/// Records every (hash, password) the authenticator verifies, then really verifies.
struct Recorder {
  struct Call {
    std::string hash;
    std::string password;
  };
  std::mutex mutex;
  std::vector<Call> calls;

  HashVerifier verifier() {
    return [this](std::string_view hash, std::string_view password) {
      {
        std::lock_guard lock(mutex);
        calls.push_back({std::string(hash), std::string(password)});
      }
      return verify_hash(hash, password);
    };
  }
  std::size_t count() {
    std::lock_guard lock(mutex);
    return calls.size();
  }
};

class BasicAuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    htpasswd_path_ = dir_.file("users.htpasswd");
    groups_path_ = dir_.file("groups.txt");
    alice_hash_ = hash_of("alice-pw");
    write(htpasswd_path_,
          "# test users\n"
          "alice:" +
              alice_hash_ + "\n" + "bob:" + hash_of("bob-pw") + "\n" +
              "dup:" + hash_of("dup-pw-1") + "\n" + "dup:" + hash_of("dup-pw-2") + "\n");
    write(groups_path_, "ops: alice\ndev: bob alice\n");
  }

  std::unique_ptr<BasicAuthenticator> make(BasicSettings settings = default_settings()) {
    auto htpasswd = HtpasswdSource::open(htpasswd_path_.string());
    EXPECT_TRUE(htpasswd.has_value());
    auto groups = GroupsSource::open(groups_path_.string());
    EXPECT_TRUE(groups.has_value());
    auto made =
        BasicAuthenticator::create(std::move(settings), *htpasswd, *groups, recorder_.verifier());
    EXPECT_TRUE(made.has_value());
    return std::move(*made);
  }

  static BasicSettings default_settings() {
    BasicSettings s;
    s.name = "users";
    s.realm = "portcullis";
    return s;
  }

  TempDir dir_;
  fs::path htpasswd_path_;
  fs::path groups_path_;
  std::string alice_hash_;
  Recorder recorder_;
};

// By value: callers pass temporaries.
core::Denial denial_of(const Outcome& outcome) {
  const auto* rejected = std::get_if<Rejected>(&outcome);
  EXPECT_NE(rejected, nullptr) << outcome_name(outcome);
  return rejected != nullptr ? rejected->denial : core::Denial{};
}

core::Identity identity_of(const Outcome& outcome) {
  const auto* ok = std::get_if<Authenticated>(&outcome);
  EXPECT_NE(ok, nullptr) << outcome_name(outcome);
  return ok != nullptr ? ok->identity : core::Identity{};
}

std::string header(const core::Denial& d, std::string_view name) {
  for (const auto& [k, v] : d.headers) {
    if (k == name) return v;
  }
  return {};
}

TEST_F(BasicAuthenticatorTest, ChallengeQuotesTheRealm) {
  auto auth = make();
  EXPECT_EQ(auth->challenge(), "Basic realm=\"portcullis\", charset=\"UTF-8\"");
  BasicSettings s = default_settings();
  s.realm = R"(a "quoted" \ realm)";
  auth = make(s);
  EXPECT_EQ(auth->challenge(), R"(Basic realm="a \"quoted\" \\ realm", charset="UTF-8")");
}

TEST_F(BasicAuthenticatorTest, RightPasswordAuthenticatesWithGroups) {
  auto auth = make();
  const Outcome out = auth->verify({"alice", "alice-pw"}, ip("192.0.2.1"), kT0);
  const auto& id = identity_of(out);
  EXPECT_EQ(id.method, "basic");
  EXPECT_EQ(id.user, "alice");
  EXPECT_EQ(id.groups, (std::vector<std::string>{"dev", "ops"}));
  EXPECT_TRUE(id.authenticated());
  EXPECT_EQ(recorder_.count(), 1u);

  const auto& bob = identity_of(auth->verify({"bob", "bob-pw"}, ip("192.0.2.1"), kT0));
  EXPECT_EQ(bob.groups, std::vector<std::string>{"dev"});
}

TEST_F(BasicAuthenticatorTest, ParseIsTheHeaderParser) {
  auto auth = make();
  EXPECT_TRUE(std::holds_alternative<NotPresent>(auth->parse("Bearer x")));
  EXPECT_TRUE(std::holds_alternative<BasicCredentials>(auth->parse("Basic YWxpY2U6eA==")));
  EXPECT_TRUE(std::holds_alternative<Rejected>(auth->parse("Basic YWxpY2U")));
}

TEST_F(BasicAuthenticatorTest, WrongPasswordIs401WithTheChallenge) {
  auto auth = make();
  const auto& d = denial_of(auth->verify({"alice", "Tr0ub4dor"}, ip("192.0.2.1"), kT0));
  EXPECT_EQ(d.code, core::DenialCode::BasicCredentialsInvalid);
  EXPECT_EQ(d.effective_status(), 401);
  EXPECT_EQ(header(d, "WWW-Authenticate"), auth->challenge());
  EXPECT_EQ(header(d, "Retry-After"), "");
  EXPECT_EQ(d.detail.find("Tr0ub4dor"), std::string::npos);  // never the password
  EXPECT_EQ(d.detail.find(alice_hash_), std::string::npos);
}

TEST_F(BasicAuthenticatorTest, UnknownUserAndWrongPasswordAreIndistinguishable) {
  // The same name, known in one file and unknown in the other: the answers must be identical.
  TempDir other;
  const auto without = other.file("users.htpasswd");
  write(without, "bob:" + hash_of("bob-pw") + "\n");
  auto known = make();
  auto unknown_source = HtpasswdSource::open(without.string()).value();
  Recorder unknown_recorder;
  auto unknown = BasicAuthenticator::create(default_settings(), unknown_source, nullptr,
                                            unknown_recorder.verifier())
                     .value();

  const auto a = known->verify({"alice", "guess"}, ip("192.0.2.1"), kT0);
  const auto b = unknown->verify({"alice", "guess"}, ip("192.0.2.1"), kT0);
  const auto& da = denial_of(a);
  const auto& db = denial_of(b);
  EXPECT_EQ(da.code, db.code);
  EXPECT_EQ(da.effective_status(), db.effective_status());
  EXPECT_EQ(da.detail, db.detail);
  EXPECT_EQ(da.headers, db.headers);

  // Same verification work: one call of the same verifier, on a hash with the same scheme and
  // cost as the known user's (the dummy), never on another user's real hash.
  ASSERT_EQ(recorder_.count(), 1u);
  ASSERT_EQ(unknown_recorder.count(), 1u);
  const auto& real = recorder_.calls[0];
  const auto& dummy = unknown_recorder.calls[0];
  EXPECT_EQ(real.hash, alice_hash_);
  EXPECT_EQ(dummy.password, "guess");
  EXPECT_EQ(hash_parameters(dummy.hash), hash_parameters(real.hash));
  EXPECT_EQ(hash_parameters(dummy.hash)->to_string(), "sha512-crypt rounds 1000");
  EXPECT_EQ(dummy.hash, unknown_source->current()->dummy_hash());
  EXPECT_NE(dummy.hash, unknown_source->current()->find("bob")[0]->hash);
}

TEST_F(BasicAuthenticatorTest, DummyFollowsTheFilesCostForBcrypt) {
  write(htpasswd_path_, "alice:" + hash_of("alice-pw", kBcryptRef) + "\n");
  auto auth = make();
  denial_of(auth->verify({"nobody", "x"}, ip("192.0.2.1"), kT0));
  ASSERT_EQ(recorder_.count(), 1u);
  EXPECT_EQ(hash_parameters(recorder_.calls[0].hash)->to_string(), "bcrypt cost 5");
}

TEST_F(BasicAuthenticatorTest, LockoutAfterFiveFailuresUntilTheWindowPasses) {
  auto auth = make();
  const auto client = ip("192.0.2.1");
  for (int i = 0; i < 5; ++i) {
    const auto& d = denial_of(auth->verify({"alice", "wrong"}, client, kT0 + i * 1s));
    EXPECT_EQ(d.code, core::DenialCode::BasicCredentialsInvalid) << i;
  }
  const std::size_t verifications = recorder_.count();
  // Locked: even the right password, without hashing.
  const auto& locked = denial_of(auth->verify({"alice", "alice-pw"}, client, kT0 + 4s));
  EXPECT_EQ(locked.code, core::DenialCode::BasicLockedOut);
  EXPECT_EQ(locked.effective_status(), 429);
  EXPECT_EQ(header(locked, "Retry-After"), "300");  // from the 5th failure at kT0 + 4s
  EXPECT_EQ(header(locked, "WWW-Authenticate"), "");
  EXPECT_NE(locked.detail.find("192.0.2.1"), std::string::npos);
  EXPECT_EQ(locked.detail.find("alice-pw"), std::string::npos);
  EXPECT_EQ(recorder_.count(), verifications);

  const auto& later = denial_of(auth->verify({"alice", "alice-pw"}, client, kT0 + 104s + 1ms));
  EXPECT_EQ(header(later, "Retry-After"), "200");  // rounded up
  const auto& last = denial_of(auth->verify({"alice", "alice-pw"}, client, kT0 + 303s));
  EXPECT_EQ(header(last, "Retry-After"), "1");

  // Other clients and other users are not affected.
  identity_of(auth->verify({"alice", "alice-pw"}, ip("192.0.2.2"), kT0 + 10s));
  identity_of(auth->verify({"bob", "bob-pw"}, client, kT0 + 10s));

  // The window has passed: the right password works again.
  identity_of(auth->verify({"alice", "alice-pw"}, client, kT0 + 304s));
}

TEST_F(BasicAuthenticatorTest, UnknownUsersAreLockedOutLikeKnownOnes) {
  auto auth = make();
  const auto client = ip("2001:db8::7");
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(denial_of(auth->verify({"ghost", "x"}, client, kT0)).code,
              core::DenialCode::BasicCredentialsInvalid);
  }
  const auto& locked = denial_of(auth->verify({"ghost", "x"}, client, kT0 + 1s));
  EXPECT_EQ(locked.code, core::DenialCode::BasicLockedOut);
  EXPECT_EQ(header(locked, "Retry-After"), "299");
}

TEST_F(BasicAuthenticatorTest, FailuresOutsideTheWindowDoNotCount) {
  auto auth = make();
  const auto client = ip("192.0.2.1");
  for (int i = 0; i < 4; ++i) denial_of(auth->verify({"alice", "wrong"}, client, kT0));
  denial_of(auth->verify({"alice", "wrong"}, client, kT0 + 300s));  // the first four expired
  identity_of(auth->verify({"alice", "alice-pw"}, client, kT0 + 301s));
}

TEST_F(BasicAuthenticatorTest, SuccessResetsTheCounter) {
  auto auth = make();
  const auto client = ip("192.0.2.1");
  for (int i = 0; i < 4; ++i) denial_of(auth->verify({"alice", "wrong"}, client, kT0));
  identity_of(auth->verify({"alice", "alice-pw"}, client, kT0));
  for (int i = 0; i < 4; ++i) denial_of(auth->verify({"alice", "wrong"}, client, kT0));
  EXPECT_EQ(denial_of(auth->verify({"alice", "wrong2"}, client, kT0)).code,
            core::DenialCode::BasicCredentialsInvalid);  // 5th after the reset: not yet locked
  EXPECT_EQ(denial_of(auth->verify({"alice", "alice-pw"}, client, kT0)).code,
            core::DenialCode::BasicLockedOut);
}

TEST_F(BasicAuthenticatorTest, LockoutIsConfigurableAndCanBeOff) {
  BasicSettings s = default_settings();
  s.lockout.max_failures = 2;
  s.lockout.window = 10s;
  auto auth = make(s);
  const auto client = ip("192.0.2.1");
  denial_of(auth->verify({"alice", "wrong"}, client, kT0));
  denial_of(auth->verify({"alice", "wrong"}, client, kT0));
  const auto& locked = denial_of(auth->verify({"alice", "alice-pw"}, client, kT0));
  EXPECT_EQ(header(locked, "Retry-After"), "10");
  identity_of(auth->verify({"alice", "alice-pw"}, client, kT0 + 10s));

  s.lockout.enabled = false;
  auth = make(s);
  for (int i = 0; i < 20; ++i) denial_of(auth->verify({"alice", "wrong"}, client, kT0));
  identity_of(auth->verify({"alice", "alice-pw"}, client, kT0));
  EXPECT_EQ(auth->tracked_lockout_keys(), 0u);
}

TEST_F(BasicAuthenticatorTest, CacheHitSkipsHashingUntilItExpires) {
  auto auth = make();
  const auto client = ip("192.0.2.1");
  const BasicCredentials alice{"alice", "alice-pw"};
  EXPECT_FALSE(auth->is_cached(alice, kT0));
  identity_of(auth->verify(alice, client, kT0));
  EXPECT_EQ(recorder_.count(), 1u);
  EXPECT_TRUE(auth->is_cached(alice, kT0 + 59s));
  EXPECT_EQ(auth->cache_size(), 1u);

  const auto& hit = identity_of(auth->verify(alice, ip("192.0.2.9"), kT0 + 59s));
  EXPECT_EQ(hit.user, "alice");
  EXPECT_EQ(hit.groups, (std::vector<std::string>{"dev", "ops"}));
  EXPECT_EQ(recorder_.count(), 1u);  // no hashing

  // A different password for the same user is not a hit.
  EXPECT_FALSE(auth->is_cached({"alice", "alice-pw "}, kT0 + 1s));
  denial_of(auth->verify({"alice", "alice-pw "}, client, kT0 + 1s));
  EXPECT_EQ(recorder_.count(), 2u);

  // Expired at the ttl: hashed again (and cached again).
  EXPECT_FALSE(auth->is_cached(alice, kT0 + 60s));
  identity_of(auth->verify(alice, client, kT0 + 60s));
  EXPECT_EQ(recorder_.count(), 3u);
  EXPECT_TRUE(auth->is_cached(alice, kT0 + 61s));
}

TEST_F(BasicAuthenticatorTest, FailuresAreNeverCached) {
  auto auth = make();
  for (int i = 0; i < 3; ++i) denial_of(auth->verify({"alice", "wrong"}, ip("192.0.2.1"), kT0));
  EXPECT_EQ(recorder_.count(), 3u);
  EXPECT_EQ(auth->cache_size(), 0u);
}

TEST_F(BasicAuthenticatorTest, ZeroTtlMeansNoCache) {
  BasicSettings s = default_settings();
  s.cache_ttl = 0s;
  auto auth = make(s);
  const BasicCredentials alice{"alice", "alice-pw"};
  identity_of(auth->verify(alice, ip("192.0.2.1"), kT0));
  identity_of(auth->verify(alice, ip("192.0.2.1"), kT0));
  EXPECT_EQ(recorder_.count(), 2u);
  EXPECT_FALSE(auth->is_cached(alice, kT0));
  EXPECT_EQ(auth->cache_size(), 0u);
}

TEST_F(BasicAuthenticatorTest, FastPathAnswersLockoutsAndCacheHitsOnly) {
  auto auth = make();
  const auto client = ip("192.0.2.1");
  const BasicCredentials alice{"alice", "alice-pw"};
  // First call: a file check is due, so the fast path defers to the pool.
  EXPECT_FALSE(auth->verify_fast(alice, client, kT0).has_value());
  identity_of(auth->verify(alice, client, kT0));  // checks the files, caches the success

  const auto hit = auth->verify_fast(alice, client, kT0 + 500ms);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(identity_of(*hit).user, "alice");
  EXPECT_EQ(recorder_.count(), 1u);

  // Not cached: needs hashing.
  EXPECT_FALSE(auth->verify_fast({"bob", "bob-pw"}, client, kT0 + 500ms).has_value());

  // Locked out: answered without hashing.
  for (int i = 0; i < 5; ++i) denial_of(auth->verify({"carl", "x"}, client, kT0 + 600ms));
  const auto locked = auth->verify_fast({"carl", "x"}, client, kT0 + 700ms);
  ASSERT_TRUE(locked.has_value());
  EXPECT_EQ(denial_of(*locked).code, core::DenialCode::BasicLockedOut);

  // Once the file re-check interval has passed the fast path defers again.
  EXPECT_FALSE(auth->verify_fast(alice, client, kT0 + 1s).has_value());
}

TEST_F(BasicAuthenticatorTest, DuplicateUserIsAmbiguousOnlyWithARightPassword) {
  auto auth = make();
  const auto client = ip("192.0.2.1");
  for (const char* pw : {"dup-pw-1", "dup-pw-2"}) {
    const auto& d = denial_of(auth->verify({"dup", pw}, client, kT0));
    EXPECT_EQ(d.code, core::DenialCode::IdentityAmbiguous);
    EXPECT_EQ(d.effective_status(), 401);
    EXPECT_EQ(header(d, "WWW-Authenticate"), auth->challenge());
    EXPECT_NE(d.detail.find("lines 4 and 5"), std::string::npos) << d.detail;
  }
  EXPECT_EQ(recorder_.count(), 4u);  // both entries checked every time
  const auto& wrong = denial_of(auth->verify({"dup", "nope"}, client, kT0));
  EXPECT_EQ(wrong.code, core::DenialCode::BasicCredentialsInvalid);
  EXPECT_EQ(auth->cache_size(), 0u);
  ASSERT_EQ(auth->warnings().size(), 1u);
  EXPECT_NE(auth->warnings()[0].find("\"dup\""), std::string::npos);
}

TEST_F(BasicAuthenticatorTest, HasUserForCrossAuthenticatorAmbiguity) {
  auto auth = make();
  EXPECT_TRUE(auth->has_user("alice"));
  EXPECT_TRUE(auth->has_user("dup"));
  EXPECT_FALSE(auth->has_user("ghost"));
}

TEST_F(BasicAuthenticatorTest, ChangedPasswordFileIsReReadAndInvalidatesTheCache) {
  auto auth = make();
  const auto client = ip("192.0.2.1");
  const BasicCredentials alice{"alice", "alice-pw"};
  identity_of(auth->verify(alice, client, kT0));
  EXPECT_TRUE(auth->is_cached(alice, kT0 + 1s));

  rewrite(htpasswd_path_, "alice:" + hash_of("new-pw") + "\n");
  // Within the re-check interval the old file still answers (cache included).
  identity_of(auth->verify(alice, client, kT0 + 500ms));
  // After it, the new file is read: the old password fails, the cache no longer answers.
  EXPECT_EQ(denial_of(auth->verify(alice, client, kT0 + 2s)).code,
            core::DenialCode::BasicCredentialsInvalid);
  EXPECT_FALSE(auth->is_cached(alice, kT0 + 2s));
  identity_of(auth->verify({"alice", "new-pw"}, client, kT0 + 2s));
  EXPECT_FALSE(auth->has_user("bob"));
}

TEST_F(BasicAuthenticatorTest, BrokenNewFileKeepsTheOldUsers) {
  auto auth = make();
  rewrite(htpasswd_path_, "alice:plaintext-now\n");
  identity_of(auth->verify({"alice", "alice-pw"}, ip("192.0.2.1"), kT0 + 2s));
  ASSERT_TRUE(auth->htpasswd().last_error().has_value());
  EXPECT_EQ(auth->htpasswd().last_error()->to_string().find("plaintext-now"), std::string::npos);
}

TEST_F(BasicAuthenticatorTest, ChangedGroupsFileIsReRead) {
  auto auth = make();
  rewrite(groups_path_, "admins: alice\n");
  const auto& id = identity_of(auth->verify({"alice", "alice-pw"}, ip("192.0.2.1"), kT0 + 2s));
  EXPECT_EQ(id.groups, std::vector<std::string>{"admins"});
}

TEST_F(BasicAuthenticatorTest, WithoutGroupsFileGroupsAreEmpty) {
  auto source = HtpasswdSource::open(htpasswd_path_.string()).value();
  auto auth = BasicAuthenticator::create(default_settings(), source).value();
  EXPECT_EQ(auth->groups(), nullptr);
  const auto& id = identity_of(auth->verify({"alice", "alice-pw"}, ip("192.0.2.1"), kT0));
  EXPECT_TRUE(id.groups.empty());
}

TEST_F(BasicAuthenticatorTest, CreateFromPathsAndItsErrors) {
  auto auth = BasicAuthenticator::create(default_settings(), htpasswd_path_.string(),
                                         groups_path_.string());
  ASSERT_TRUE(auth.has_value()) << auth.error().to_string();
  identity_of((*auth)->verify({"alice", "alice-pw"}, ip("192.0.2.1"), kT0));

  EXPECT_FALSE(
      BasicAuthenticator::create(default_settings(), dir_.file("missing").string()).has_value());
  EXPECT_FALSE(BasicAuthenticator::create(default_settings(), htpasswd_path_.string(),
                                          dir_.file("missing-groups").string())
                   .has_value());
  write(dir_.file("plain"), "alice:alice-pw\n");
  const auto plain = BasicAuthenticator::create(default_settings(), dir_.file("plain").string());
  ASSERT_FALSE(plain.has_value());
  EXPECT_EQ(plain.error().to_string().find("alice-pw"), std::string::npos);

  BasicSettings bad = default_settings();
  bad.lockout.max_failures = 0;
  EXPECT_FALSE(BasicAuthenticator::create(bad, htpasswd_path_.string()).has_value());
  bad = default_settings();
  bad.realm = "a\nb";
  EXPECT_FALSE(BasicAuthenticator::create(bad, htpasswd_path_.string()).has_value());
}

TEST_F(BasicAuthenticatorTest, FromConfigMapsEverySetting) {
  config::BasicAuthConfig cfg;
  cfg.realm = "staff";
  cfg.htpasswd.path = htpasswd_path_.string();
  cfg.groups = config::FileRef{groups_path_.string(), {}};
  cfg.lockout_failures = 2;
  cfg.lockout_window = 30s;
  cfg.cache_ttl = 0s;
  auto auth = BasicAuthenticator::from_config("users", cfg);
  ASSERT_TRUE(auth.has_value()) << auth.error().to_string();
  EXPECT_EQ((*auth)->settings().name, "users");
  EXPECT_EQ((*auth)->challenge(), "Basic realm=\"staff\", charset=\"UTF-8\"");
  EXPECT_EQ((*auth)->settings().cache_ttl, 0s);
  const auto client = ip("192.0.2.1");
  EXPECT_EQ(identity_of((*auth)->verify({"alice", "alice-pw"}, client, kT0)).groups.size(), 2u);
  denial_of((*auth)->verify({"bob", "x"}, client, kT0));
  denial_of((*auth)->verify({"bob", "x"}, client, kT0));
  EXPECT_EQ(header(denial_of((*auth)->verify({"bob", "bob-pw"}, client, kT0)), "Retry-After"),
            "30");

  cfg.lockout = false;
  auth = BasicAuthenticator::from_config("users", cfg);
  ASSERT_TRUE(auth.has_value());
  EXPECT_FALSE((*auth)->settings().lockout.enabled);
}

TEST_F(BasicAuthenticatorTest, FromConfigErrorsNameTheYamlKeyAndTheFileLine) {
  write(dir_.file("plain"), "# x\nalice:alice-pw\n");
  config::BasicAuthConfig cfg;
  cfg.htpasswd = config::FileRef{dir_.file("plain").string(), {"authenticators.users.htpasswd", 7}};
  const auto auth = BasicAuthenticator::from_config("users", cfg);
  ASSERT_FALSE(auth.has_value());
  EXPECT_EQ(auth.error().where, "authenticators.users.htpasswd");
  EXPECT_EQ(auth.error().line, 7);
  EXPECT_NE(auth.error().message.find("line 2"), std::string::npos) << auth.error().message;
  EXPECT_EQ(auth.error().to_string().find("alice-pw"), std::string::npos);
}

TEST_F(BasicAuthenticatorTest, ConcurrentVerificationsAreSafe) {
  auto auth = make();
  std::atomic<int> ok{0};
  std::atomic<int> denied{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const bool right = (i + t) % 2 == 0;
        const auto out = auth->verify({right ? "alice" : "bob", right ? "alice-pw" : "bad"},
                                      ip(t % 2 == 0 ? "192.0.2.1" : "192.0.2.2"),
                                      kT0 + std::chrono::milliseconds(i * 100));
        (std::holds_alternative<Authenticated>(out) ? ok : denied).fetch_add(1);
        auth->verify_fast({"alice", "alice-pw"}, ip("192.0.2.3"), kT0);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load() + denied.load(), 100);
  EXPECT_EQ(ok.load(), 50);
}

// ---- the state tables on their own ------------------------------------------------------

TEST(LockoutTable, StopsTrackingNewPairsWhenFullButKeepsExistingOnes) {
  LockoutSettings s;
  s.max_failures = 2;
  s.max_tracked = 2;
  LockoutTable table(s);
  const auto hasher = KeyedHasher::make().value();
  const auto a = *hasher.digest("t", {"a"});
  const auto b = *hasher.digest("t", {"b"});
  const auto c = *hasher.digest("t", {"c"});
  EXPECT_FALSE(table.record_failure(a, kT0));
  EXPECT_FALSE(table.record_failure(b, kT0));
  EXPECT_FALSE(table.record_failure(c, kT0));  // full: not tracked
  EXPECT_EQ(table.size(), 2u);
  EXPECT_TRUE(table.record_failure(a, kT0));  // existing pairs still lock
  EXPECT_TRUE(table.locked_for(a, kT0).has_value());
  // Once entries expire, a sweep makes room again.
  EXPECT_FALSE(table.record_failure(c, kT0 + 11min));
  EXPECT_EQ(table.size(), 1u);
}

TEST(KeyedHasher, DigestsAreKeyedAndUnambiguous) {
  const auto h1 = KeyedHasher::make().value();
  const auto h2 = KeyedHasher::make().value();
  EXPECT_EQ(h1.digest("d", {"alice", "pw"}), h1.digest("d", {"alice", "pw"}));
  EXPECT_NE(h1.digest("d", {"alice", "pw"}), h2.digest("d", {"alice", "pw"}));  // per process
  EXPECT_NE(h1.digest("d", {"alic", "epw"}), h1.digest("d", {"alice", "pw"}));  // framing
  EXPECT_NE(h1.digest("d", {"alice", "pw"}), h1.digest("e", {"alice", "pw"}));  // domain
}

TEST(SuccessCache, BoundToTheSnapshotAndBounded) {
  SuccessCache cache(60s, 2);
  const auto hasher = KeyedHasher::make().value();
  const auto a = *hasher.digest("t", {"a"});
  const auto b = *hasher.digest("t", {"b"});
  const auto c = *hasher.digest("t", {"c"});
  cache.insert(a, 1, kT0);
  EXPECT_TRUE(cache.contains(a, 1, kT0));
  EXPECT_FALSE(cache.contains(a, 2, kT0));  // another htpasswd snapshot
  cache.insert(b, 1, kT0);
  cache.insert(c, 1, kT0);  // full of live entries: skipped
  EXPECT_FALSE(cache.contains(c, 1, kT0));
  cache.insert(c, 1, kT0 + 61s);  // the others expired: swept, inserted
  EXPECT_TRUE(cache.contains(c, 1, kT0 + 61s));
  EXPECT_EQ(cache.size(), 1u);
}

}  // namespace
}  // namespace portcullis::authn
