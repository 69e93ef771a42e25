// An htpasswd file as an immutable snapshot: `user:hash` entries checked at load (plaintext
// and unknown hashes refused with the line and the user, never the hash; weak schemes and
// duplicate users as warnings), the unknown-user dummy hash, and the file's stamp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "authn/basic_file_source.h"
#include "authn/htpasswd_hash.h"
#include "core/result.h"

namespace portcullis::authn {

/// One `user:hash` line.
struct HtpasswdEntry {
  std::string user;
  std::string hash;
  int line = 0;  ///< 1-based line in the file
  HashScheme scheme = HashScheme::Bcrypt;
};

class HtpasswdFile {
 public:
  /// Files larger than this are refused (an htpasswd of a million users is ~100 MB less).
  static constexpr std::size_t kMaxFileBytes = 64u * 1024 * 1024;

  /// Reads and parses `path`. Errors name the path, the line and the user, never the hash.
  static core::Result<HtpasswdFile> load(const std::string& path);

  /// Parses file content; `origin` names it in errors and warnings (usually the path).
  static core::Result<HtpasswdFile> parse(std::string_view text, std::string origin,
                                          FileStamp stamp = {});

  /// The entries for `user` in file order: none when unknown, several when duplicated.
  std::vector<const HtpasswdEntry*> find(std::string_view user) const;

  /// True when `user` has at least one entry (for cross-authenticator ambiguity checks).
  bool has_user(std::string_view user) const;

  /// Lines of `user` (empty when unknown).
  std::vector<int> lines_of(std::string_view user) const;

  const std::vector<HtpasswdEntry>& entries() const { return entries_; }
  std::size_t user_count() const { return index_.size(); }

  /// Load-time warnings (weak schemes, duplicate users, empty file), each a full sentence
  /// starting with the origin.
  const std::vector<std::string>& warnings() const { return warnings_; }

  /// A hash of a random password with the scheme and cost most common in this file, verified
  /// for unknown users so they cost what a known user costs.
  const std::string& dummy_hash() const { return dummy_hash_; }

  const std::string& origin() const { return origin_; }
  const FileStamp& stamp() const { return stamp_; }

  /// True when the file on disk no longer has the stamp this snapshot was read with
  /// (including when it cannot be stat'ed any more).
  bool changed_on_disk() const;

  /// Unique per parsed snapshot in this process (cache entries are bound to it).
  std::uint64_t instance_id() const { return instance_id_; }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  std::string origin_;
  FileStamp stamp_;
  std::vector<HtpasswdEntry> entries_;
  std::unordered_map<std::string, std::vector<std::size_t>, Hash, std::equal_to<>> index_;
  std::vector<std::string> warnings_;
  std::string dummy_hash_;
  std::uint64_t instance_id_ = 0;
};

/// The reloading holder of an htpasswd file (see FileSource).
using HtpasswdSource = FileSource<HtpasswdFile>;

}  // namespace portcullis::authn
