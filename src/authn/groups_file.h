// The optional groups file of a Basic authenticator, Apache AuthGroupFile style:
// `group: user user ...` lines (`#` comments, blank lines; a group may span several lines),
// as an immutable snapshot mapping each user to its sorted groups.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "authn/basic_file_source.h"
#include "core/result.h"

namespace portcullis::authn {

class GroupsFile {
 public:
  static constexpr std::size_t kMaxFileBytes = 64u * 1024 * 1024;

  /// Reads and parses `path`; errors carry the path and the line.
  static core::Result<GroupsFile> load(const std::string& path);

  /// Parses file content; `origin` names it in errors.
  static core::Result<GroupsFile> parse(std::string_view text, std::string origin,
                                        FileStamp stamp = {});

  /// The groups of `user`, sorted, without duplicates (empty when in none).
  std::vector<std::string> groups_of(std::string_view user) const;

  /// Every group with its members (sorted), for diagnostics.
  const std::map<std::string, std::vector<std::string>, std::less<>>& groups() const {
    return members_;
  }

  const std::vector<std::string>& warnings() const { return warnings_; }
  const std::string& origin() const { return origin_; }
  const FileStamp& stamp() const { return stamp_; }

 private:
  std::string origin_;
  FileStamp stamp_;
  std::map<std::string, std::vector<std::string>, std::less<>> members_;  // group -> users
  std::map<std::string, std::vector<std::string>, std::less<>> by_user_;  // user -> groups
  std::vector<std::string> warnings_;
};

/// The reloading holder of a groups file (see FileSource).
using GroupsSource = FileSource<GroupsFile>;

}  // namespace portcullis::authn
