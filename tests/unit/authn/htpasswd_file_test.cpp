// htpasswd and groups files: parsing, refusals at load (line and user, never the hash),
// warnings (weak schemes, duplicates), the dummy hash's parameters, stamps, and reloading.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "authn/groups_file.h"
#include "authn/htpasswd.h"
#include "temp_files.h"

namespace portcullis::authn {
namespace {

using testing_files::rewrite;
using testing_files::TempDir;
using testing_files::write;

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Fast, valid hashes of "password" (from the external vectors).
constexpr const char* kSha512 =
    "$6$rounds=1000$NszTvVZSoqKzJUCR$5wpmHHlvz1hmpm/tQEIXAVmsaptBe2Yuw/ZN/9f464gqkRSRqaXAzZRBuz"
    "irRp69kif7XlfEPsnQRJkpKHGFc.";
constexpr const char* kBcrypt = "$2y$05$cOHttQZPhAE8LQLwOk7A9.qrQzHUrZ/zUj46HxVSPTTzXfL0bo60e";
constexpr const char* kApr1 = "$apr1$ZKrRPevP$3ypzPVWpFowqis03FGvOF0";
constexpr const char* kSha1 = "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=";
constexpr const char* kMd5 = "$1$tngVkNTY$blvwP7JJ54lWk6E.d5eii/";
constexpr const char* kArgon2id =
    "$argon2id$v=19$m=4096,t=2,p=1$c2FsdHNhbHQy$nCVOG3YEZkpmNqkJUFNHLym/IG+J+yJ6mQJPXVZsA44";

std::string line(const std::string& user, const std::string& hash) {
  return user + ":" + hash + "\n";
}

TEST(HtpasswdFile, ParsesEntriesCommentsBlankLinesCrlfAndBom) {
  const std::string text = "\xEF\xBB\xBF# users\n\n" + line("alice", kSha512) + "   \n" +
                           "bob:" + kBcrypt + "\r\n" + "  # indented comment\n" +
                           "carol:" + kArgon2id + ":Carol Example:ignored\n" + "dave:" + kSha512;
  const auto file = HtpasswdFile::parse(text, "users.htpasswd");
  ASSERT_TRUE(file.has_value()) << file.error().to_string();
  EXPECT_EQ(file->user_count(), 4u);
  EXPECT_TRUE(file->has_user("alice"));
  EXPECT_TRUE(file->has_user("bob"));
  EXPECT_FALSE(file->has_user("Alice"));
  EXPECT_FALSE(file->has_user("mallory"));
  ASSERT_EQ(file->find("bob").size(), 1u);
  EXPECT_EQ(file->find("bob")[0]->hash, kBcrypt);
  EXPECT_EQ(file->find("bob")[0]->line, 5);
  EXPECT_EQ(file->find("bob")[0]->scheme, HashScheme::Bcrypt);
  EXPECT_EQ(file->find("carol")[0]->hash, kArgon2id);  // extra fields ignored, as Apache does
  EXPECT_EQ(file->lines_of("dave"), std::vector<int>{8});
  EXPECT_TRUE(file->find("mallory").empty());
  EXPECT_TRUE(file->warnings().empty());
}

TEST(HtpasswdFile, PlaintextIsRefusedWithLineAndUserButNotThePassword) {
  const std::string text = "# header\n" + line("alice", kSha512) + "bob:hunter2secret\n";
  const auto file = HtpasswdFile::parse(text, "users.htpasswd");
  ASSERT_FALSE(file.has_value());
  EXPECT_EQ(file.error().where, "users.htpasswd");
  EXPECT_EQ(file.error().line, 3);
  EXPECT_NE(file.error().message.find("\"bob\""), std::string::npos);
  EXPECT_NE(file.error().message.find("plaintext"), std::string::npos);
  EXPECT_EQ(file.error().to_string().find("hunter2secret"), std::string::npos);
}

TEST(HtpasswdFile, UnknownOrMalformedHashesAreRefusedWithoutQuotingThem) {
  const std::string broken = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe";
  for (const std::string& hash :
       {broken, std::string("$y$j9T$abc$def"), std::string("{SSHA}abcdefgh"), std::string("")}) {
    const auto file = HtpasswdFile::parse(line("alice", kSha512) + line("eve", hash), "f");
    ASSERT_FALSE(file.has_value()) << hash;
    EXPECT_EQ(file.error().line, 2);
    EXPECT_NE(file.error().message.find("\"eve\""), std::string::npos);
    if (!hash.empty()) {
      EXPECT_EQ(file.error().to_string().find(hash), std::string::npos) << hash;
    }
  }
}

TEST(HtpasswdFile, StructuralErrorsNameTheLine) {
  auto file = HtpasswdFile::parse(line("alice", kSha512) + "no colon here\n", "f");
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().line, 2);
  EXPECT_EQ(file.error().message.find("no colon here"), std::string::npos);

  file = HtpasswdFile::parse(std::string(":") + kSha512 + "\n", "f");
  ASSERT_FALSE(file);
  EXPECT_NE(file.error().message.find("empty user"), std::string::npos);

  file = HtpasswdFile::parse(std::string("al\x01ice:") + kSha512 + "\n", "f");
  ASSERT_FALSE(file);
  EXPECT_NE(file.error().message.find("control"), std::string::npos);
}

TEST(HtpasswdFile, WeakSchemesLoadWithAWarningNamingLineAndUser) {
  const std::string text =
      line("alice", kSha512) + line("old1", kApr1) + line("old2", kSha1) + line("old3", kMd5);
  const auto file = HtpasswdFile::parse(text, "users.htpasswd");
  ASSERT_TRUE(file.has_value()) << file.error().to_string();
  ASSERT_EQ(file->warnings().size(), 3u);
  EXPECT_NE(file->warnings()[0].find("users.htpasswd: line 2: user \"old1\": apr1"),
            std::string::npos)
      << file->warnings()[0];
  EXPECT_NE(file->warnings()[1].find("line 3"), std::string::npos);
  EXPECT_NE(file->warnings()[1].find("{SHA}"), std::string::npos);
  EXPECT_NE(file->warnings()[2].find("md5-crypt"), std::string::npos);
  for (const auto& w : file->warnings()) {
    EXPECT_EQ(w.find(kApr1), std::string::npos);
    EXPECT_EQ(w.find("W6ph5Mm5Pz8GgiULbPgzG37mj9g"), std::string::npos);
    EXPECT_NE(w.find("weak"), std::string::npos);
  }
}

TEST(HtpasswdFile, DuplicateUserIsAWarningNamingBothLines) {
  const std::string text =
      line("alice", kSha512) + line("bob", kSha512) + "# x\n" + line("alice", kBcrypt);
  const auto file = HtpasswdFile::parse(text, "users.htpasswd");
  ASSERT_TRUE(file.has_value());
  ASSERT_EQ(file->warnings().size(), 1u);
  const std::string& w = file->warnings()[0];
  EXPECT_NE(w.find("\"alice\""), std::string::npos) << w;
  EXPECT_NE(w.find("lines 1 and 4"), std::string::npos) << w;
  EXPECT_NE(w.find("identity.ambiguous"), std::string::npos) << w;
  EXPECT_EQ(file->find("alice").size(), 2u);
  EXPECT_EQ(file->lines_of("alice"), (std::vector<int>{1, 4}));
  EXPECT_EQ(file->user_count(), 2u);
}

TEST(HtpasswdFile, EmptyFileLoadsWithAWarning) {
  const auto file = HtpasswdFile::parse("# nobody yet\n", "f");
  ASSERT_TRUE(file.has_value());
  EXPECT_EQ(file->user_count(), 0u);
  ASSERT_EQ(file->warnings().size(), 1u);
  EXPECT_NE(file->warnings()[0].find("no users"), std::string::npos);
  EXPECT_TRUE(check_hash(file->dummy_hash()).scheme.has_value());
}

TEST(HtpasswdFile, DummyHashHasTheMostCommonSchemeAndCost) {
  const std::string text =
      line("a", kBcrypt) + line("b", kSha512) + line("c", kSha512) + line("d", kArgon2id);
  const auto file = HtpasswdFile::parse(text, "f");
  ASSERT_TRUE(file.has_value());
  EXPECT_EQ(hash_parameters(file->dummy_hash()), hash_parameters(kSha512));
  for (const auto& e : file->entries()) EXPECT_NE(file->dummy_hash(), e.hash);

  const auto bcrypt_only = HtpasswdFile::parse(line("a", kBcrypt), "f");
  ASSERT_TRUE(bcrypt_only.has_value());
  EXPECT_EQ(hash_parameters(bcrypt_only->dummy_hash()), hash_parameters(kBcrypt));

  // Ties: the first seen.
  const auto tie = HtpasswdFile::parse(line("a", kArgon2id) + line("b", kBcrypt), "f");
  ASSERT_TRUE(tie.has_value());
  EXPECT_EQ(hash_parameters(tie->dummy_hash()), hash_parameters(kArgon2id));
}

TEST(HtpasswdFile, EverySnapshotHasItsOwnInstanceId) {
  const auto a = HtpasswdFile::parse(line("a", kSha512), "f");
  const auto b = HtpasswdFile::parse(line("a", kSha512), "f");
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->instance_id(), b->instance_id());
}

TEST(HtpasswdFile, LoadsFromDiskAndNoticesChanges) {
  TempDir dir;
  const auto path = dir.file("users.htpasswd");
  write(path, line("alice", kSha512));
  const auto file = HtpasswdFile::load(path.string());
  ASSERT_TRUE(file.has_value()) << file.error().to_string();
  EXPECT_EQ(file->origin(), path.string());
  EXPECT_GT(file->stamp().size, 0);
  EXPECT_FALSE(file->changed_on_disk());
  rewrite(path, line("alice", kSha512) + line("bob", kSha512));
  EXPECT_TRUE(file->changed_on_disk());
  fs::remove(path);
  EXPECT_TRUE(file->changed_on_disk());
  const auto missing = HtpasswdFile::load(path.string());
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().where, path.string());
}

TEST(HtpasswdFile, LoadRefusesADirectory) {
  TempDir dir;
  fs::create_directory(dir.file("d"));
  EXPECT_FALSE(HtpasswdFile::load(dir.file("d").string()).has_value());
}

TEST(HtpasswdFile, LoadsAFileWrittenByApacheHtpasswd) {
  if (std::system("command -v htpasswd >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "htpasswd (apache2-utils) not installed";
  }
  TempDir dir;
  const std::string path = dir.file("users.htpasswd").string();
  const std::vector<std::pair<std::string, std::string>> users{
      {"-cbB", "bcrypt-user"}, {"-bm", "apr1-user"}, {"-bs", "sha1-user"}};
  for (const auto& [flags, user] : users) {
    const std::string cmd =
        "htpasswd " + flags + " '" + path + "' " + user + " 'pw of " + user + "' >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  const auto file = HtpasswdFile::load(path);
  ASSERT_TRUE(file.has_value()) << file.error().to_string();
  EXPECT_EQ(file->user_count(), 3u);
  EXPECT_EQ(file->warnings().size(), 2u);  // apr1 and {SHA}
  for (const auto& [flags, user] : users) {
    ASSERT_EQ(file->find(user).size(), 1u) << user;
    EXPECT_TRUE(verify_hash(file->find(user)[0]->hash, "pw of " + user)) << user;
  }
}

// ---- reloading --------------------------------------------------------------------------

TEST(HtpasswdSource, ReloadsAtMostOncePerIntervalAndKeepsOldContentOnError) {
  TempDir dir;
  const auto path = dir.file("users.htpasswd");
  write(path, line("alice", kSha512));
  auto opened = HtpasswdSource::open(path.string());
  ASSERT_TRUE(opened.has_value()) << opened.error().to_string();
  auto source = *opened;
  const auto t0 = std::chrono::steady_clock::time_point{} + 1000h;

  EXPECT_TRUE(source->refresh_due(t0));
  EXPECT_FALSE(source->refresh(t0));  // unchanged
  EXPECT_FALSE(source->refresh_due(t0 + 500ms));
  const auto first = source->current();

  rewrite(path, line("alice", kSha512) + line("bob", kBcrypt));
  EXPECT_FALSE(source->refresh(t0 + 500ms));  // not due yet: no stat
  EXPECT_FALSE(source->current()->has_user("bob"));
  EXPECT_TRUE(source->refresh(t0 + 1s));
  EXPECT_TRUE(source->current()->has_user("bob"));
  EXPECT_NE(source->current()->instance_id(), first->instance_id());
  EXPECT_TRUE(first->has_user("alice"));  // old snapshots stay valid for their holders
  EXPECT_EQ(source->reloads(), 1u);
  EXPECT_FALSE(source->last_error().has_value());

  // A broken new version: the previous content stays, the error is recorded.
  rewrite(path, line("alice", kSha512) + "bob:plaintext\n");
  EXPECT_FALSE(source->refresh(t0 + 2s));
  EXPECT_TRUE(source->current()->has_user("bob"));
  ASSERT_TRUE(source->last_error().has_value());
  EXPECT_EQ(source->last_error()->line, 2);
  EXPECT_FALSE(source->refresh(t0 + 3s));  // same broken version: not parsed again
  EXPECT_TRUE(source->last_error().has_value());

  // Fixed: reloaded, error cleared.
  rewrite(path, line("carol", kSha512));
  EXPECT_TRUE(source->refresh(t0 + 4s));
  EXPECT_TRUE(source->current()->has_user("carol"));
  EXPECT_FALSE(source->current()->has_user("alice"));
  EXPECT_FALSE(source->last_error().has_value());
  EXPECT_EQ(source->reloads(), 2u);

  // Deleted: keep serving the last content.
  fs::remove(path);
  EXPECT_FALSE(source->refresh(t0 + 5s));
  EXPECT_TRUE(source->current()->has_user("carol"));
  EXPECT_TRUE(source->last_error().has_value());
}

TEST(HtpasswdSource, NoticesAnAtomicRenameWithTheSameSizeAndMtime) {
  TempDir dir;
  const auto path = dir.file("users.htpasswd");
  write(path, line("alice", kSha512));
  auto source = HtpasswdSource::open(path.string()).value();
  const auto mtime = fs::last_write_time(path);
  const auto tmp = dir.file("users.tmp");
  write(tmp, line("alicf", kSha512));  // same size
  fs::last_write_time(tmp, mtime);
  fs::rename(tmp, path);  // new inode
  EXPECT_TRUE(source->force_refresh());
  EXPECT_TRUE(source->current()->has_user("alicf"));
}

TEST(HtpasswdSource, OpenFailsOnABadFile) {
  TempDir dir;
  const auto path = dir.file("users.htpasswd");
  write(path, "alice:secret\n");
  const auto source = HtpasswdSource::open(path.string());
  ASSERT_FALSE(source.has_value());
  EXPECT_EQ(source.error().line, 1);
}

// ---- groups -----------------------------------------------------------------------------

TEST(GroupsFile, ParsesGroupsAcrossLinesSortedAndUnique) {
  const std::string text =
      "# groups\n"
      "ops: alice bob\n"
      "dev:\tcarol  alice\r\n"
      "\n"
      "ops: dave alice\n"
      "empty:\n";
  const auto file = GroupsFile::parse(text, "groups.txt");
  ASSERT_TRUE(file.has_value()) << file.error().to_string();
  EXPECT_EQ(file->groups_of("alice"), (std::vector<std::string>{"dev", "ops"}));
  EXPECT_EQ(file->groups_of("bob"), (std::vector<std::string>{"ops"}));
  EXPECT_EQ(file->groups_of("dave"), (std::vector<std::string>{"ops"}));
  EXPECT_TRUE(file->groups_of("mallory").empty());
  EXPECT_EQ(file->groups().at("ops"), (std::vector<std::string>{"alice", "bob", "dave"}));
  EXPECT_TRUE(file->groups().at("empty").empty());
}

TEST(GroupsFile, ErrorsNameTheLine) {
  auto file = GroupsFile::parse("ops: alice\nno colon\n", "groups.txt");
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().where, "groups.txt");
  EXPECT_EQ(file.error().line, 2);
  file = GroupsFile::parse("ops: alice\n: bob\n", "groups.txt");
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().line, 2);
  file = GroupsFile::parse("two words: bob\n", "groups.txt");
  ASSERT_FALSE(file);
  file = GroupsFile::parse("ops: al\x01ice\n", "groups.txt");
  ASSERT_FALSE(file);
}

TEST(GroupsSource, ReloadsOnChange) {
  TempDir dir;
  const auto path = dir.file("groups.txt");
  write(path, "ops: alice\n");
  auto source = GroupsSource::open(path.string()).value();
  EXPECT_EQ(source->current()->groups_of("alice"), std::vector<std::string>{"ops"});
  rewrite(path, "dev: alice\n");
  EXPECT_TRUE(source->refresh(std::chrono::steady_clock::time_point{} + 5s));
  EXPECT_EQ(source->current()->groups_of("alice"), std::vector<std::string>{"dev"});
}

}  // namespace
}  // namespace portcullis::authn
