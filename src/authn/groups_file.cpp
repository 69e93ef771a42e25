// Groups file parsing: `group: member member ...`, members separated by spaces or tabs.
#include "authn/groups_file.h"

#include "authn/text_lines.h"

#include <algorithm>

#include <fmt/format.h>

namespace portcullis::authn {
namespace {

void sort_unique(std::vector<std::string>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

}  // namespace

core::Result<GroupsFile> GroupsFile::load(const std::string& path) {
  auto read = read_file_stamped(path, kMaxFileBytes);
  if (!read) return std::unexpected(read.error());
  return parse(read->first, path, read->second);
}

core::Result<GroupsFile> GroupsFile::parse(std::string_view text, std::string origin,
                                           FileStamp stamp) {
  GroupsFile file;
  file.origin_ = std::move(origin);
  file.stamp_ = stamp;
  for (const auto& [line_no, line] : content_lines(text)) {
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      return core::fail("expected `group: user user ...` (no ':' on this line)", file.origin_,
                        line_no);
    }
    const std::string_view group = trim_line(line.substr(0, colon));
    if (group.empty()) return core::fail("empty group name", file.origin_, line_no);
    if (has_control(group) || group.find_first_of(" \t") != std::string_view::npos) {
      return core::fail("the group name contains spaces or control characters", file.origin_,
                        line_no);
    }
    const std::string_view rest = line.substr(colon + 1);
    for (unsigned char c : rest) {
      if ((c < 0x20 && c != '\t') || c == 0x7f) {  // tabs separate members
        return core::fail("a member name contains control characters", file.origin_, line_no);
      }
    }
    auto& members = file.members_[std::string(group)];
    std::size_t i = 0;
    while (i < rest.size()) {
      while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\t')) ++i;
      std::size_t j = i;
      while (j < rest.size() && rest[j] != ' ' && rest[j] != '\t') ++j;
      if (j > i) members.emplace_back(rest.substr(i, j - i));
      i = j;
    }
  }
  for (auto& [group, members] : file.members_) {
    sort_unique(members);
    for (const auto& user : members) file.by_user_[user].push_back(group);
  }
  for (auto& [user, groups] : file.by_user_) sort_unique(groups);
  return file;
}

std::vector<std::string> GroupsFile::groups_of(std::string_view user) const {
  const auto it = by_user_.find(user);
  if (it == by_user_.end()) return {};
  return it->second;
}

}  // namespace portcullis::authn
