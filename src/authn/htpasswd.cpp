// htpasswd parsing: Apache's format (`user:hash`, `#` comments, blank lines; fields after a
// second ':' are ignored as Apache does), strict hash recognition, warnings, the dummy hash.
#include "authn/htpasswd.h"

#include "authn/text_lines.h"

#include <openssl/rand.h>

#include <atomic>
#include <map>

#include <fmt/format.h>

namespace portcullis::authn {
namespace {

std::atomic<std::uint64_t> g_next_instance{1};

// A syntactically valid bcrypt cost-10 hash: the parameters of the dummy for an empty file.
constexpr std::string_view kDefaultReference =
    "$2y$10$abcdefghijklmnopqrstuu0123456789abcdefghijklmnopqrstu";

std::string join_lines(const std::vector<int>& lines) {
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += i + 1 == lines.size() ? " and " : ", ";
    out += std::to_string(lines[i]);
  }
  return out;
}

core::Result<std::string> make_dummy(const std::vector<HtpasswdEntry>& entries) {
  // The most common parameters (ties: first seen), so an unknown user costs what most
  // known users cost.
  std::vector<std::pair<HashParameters, std::size_t>> counts;  // params, count
  std::vector<std::size_t> first_entry;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto params = hash_parameters(entries[i].hash);
    if (!params) continue;
    bool found = false;
    for (auto& [p, n] : counts) {
      if (p == *params) {
        ++n;
        found = true;
        break;
      }
    }
    if (!found) {
      counts.emplace_back(*params, 1);
      first_entry.push_back(i);
    }
  }
  std::string_view reference = kDefaultReference;
  std::size_t best = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (counts[i].second > best) {
      best = counts[i].second;
      reference = entries[first_entry[i]].hash;
    }
  }
  unsigned char rnd[18];
  if (RAND_bytes(rnd, sizeof rnd) != 1) return core::fail("RAND_bytes failed");
  std::string password;
  for (unsigned char c : rnd) password += fmt::format("{:02x}", c);
  return hash_like(reference, password);
}

}  // namespace

core::Result<HtpasswdFile> HtpasswdFile::load(const std::string& path) {
  auto read = read_file_stamped(path, kMaxFileBytes);
  if (!read) return std::unexpected(read.error());
  return parse(read->first, path, read->second);
}

core::Result<HtpasswdFile> HtpasswdFile::parse(std::string_view text, std::string origin,
                                               FileStamp stamp) {
  HtpasswdFile file;
  file.origin_ = std::move(origin);
  file.stamp_ = stamp;
  for (const auto& [line_no, line] : content_lines(text)) {
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      return core::fail("expected `user:hash` (no ':' on this line)", file.origin_, line_no);
    }
    const std::string_view user = line.substr(0, colon);
    std::string_view hash = line.substr(colon + 1);
    hash = hash.substr(0, hash.find(':'));  // Apache ignores fields after the hash
    if (user.empty()) return core::fail("empty user name", file.origin_, line_no);
    if (has_control(user)) {
      return core::fail("the user name contains control characters", file.origin_, line_no);
    }
    if (user.size() > 256) {
      return core::fail("the user name is longer than 256 bytes", file.origin_, line_no);
    }
    const HashCheck check = check_hash(hash);
    if (!check.scheme) {
      // SECURITY: refuse the whole file: serving it without this user would turn a typo into
      // a silent lock-out, serving it with a plaintext entry is worse. Never echo the hash.
      return core::fail(fmt::format("user \"{}\": {}", user, check.problem), file.origin_, line_no);
    }
    if (is_weak(*check.scheme)) {
      const std::string why =
          *check.scheme == HashScheme::Argon2d
              ? "argon2d is not meant for passwords (data-dependent memory access leaks "
                "through side channels); re-hash it with argon2id or bcrypt"
              : fmt::format("{} is a weak password hash; re-hash it with bcrypt (`htpasswd -B`)",
                            scheme_name(*check.scheme));
      file.warnings_.push_back(
          fmt::format("{}: line {}: user \"{}\": {}", file.origin_, line_no, user, why));
    }
    file.index_[std::string(user)].push_back(file.entries_.size());
    file.entries_.push_back(
        HtpasswdEntry{std::string(user), std::string(hash), line_no, *check.scheme});
  }

  // Duplicates: one warning per user, naming every line, in file order.
  std::map<int, std::string> duplicate_warnings;
  for (const auto& [user, indexes] : file.index_) {
    if (indexes.size() < 2) continue;
    std::vector<int> lines;
    for (std::size_t i : indexes) lines.push_back(file.entries_[i].line);
    duplicate_warnings[lines.front()] = fmt::format(
        "{}: user \"{}\" is defined on lines {}; requests as \"{}\" are denied with "
        "identity.ambiguous until the duplicates are removed",
        file.origin_, user, join_lines(lines), user);
  }
  for (auto& [line, warning] : duplicate_warnings) file.warnings_.push_back(std::move(warning));
  if (file.entries_.empty()) {
    file.warnings_.push_back(
        fmt::format("{}: no users: every request will be denied", file.origin_));
  }

  auto dummy = make_dummy(file.entries_);
  if (!dummy) {
    return core::fail("cannot make the unknown-user dummy hash: " + dummy.error().message,
                      file.origin_);
  }
  file.dummy_hash_ = std::move(*dummy);
  file.instance_id_ = g_next_instance.fetch_add(1, std::memory_order_relaxed);
  return file;
}

std::vector<const HtpasswdEntry*> HtpasswdFile::find(std::string_view user) const {
  std::vector<const HtpasswdEntry*> out;
  const auto it = index_.find(user);
  if (it == index_.end()) return out;
  for (std::size_t i : it->second) out.push_back(&entries_[i]);
  return out;
}

bool HtpasswdFile::has_user(std::string_view user) const {
  return index_.find(user) != index_.end();
}

std::vector<int> HtpasswdFile::lines_of(std::string_view user) const {
  std::vector<int> lines;
  for (const auto* entry : find(user)) lines.push_back(entry->line);
  return lines;
}

bool HtpasswdFile::changed_on_disk() const {
  const auto now = stat_file(origin_);
  return !now || *now != stamp_;
}

}  // namespace portcullis::authn
