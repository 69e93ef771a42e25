// The HTTP Basic authenticator (RFC 7617) against an htpasswd file: parsing the credential
// (fast, any thread), verifying it (slow: hashing, run by net/ on its bounded pool), lockout,
// the success cache, groups, and the 401/429 denials with their WWW-Authenticate/Retry-After.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "authn/basic_state.h"
#include "authn/groups_file.h"
#include "authn/htpasswd.h"
#include "authn/htpasswd_hash.h"
#include "authn/outcome.h"
#include "config/config.h"
#include "core/ip_network.h"
#include "core/result.h"

namespace portcullis::authn {

/// One `type: basic` authenticator of the configuration.
struct BasicSettings {
  std::string name = "basic";        ///< its name under `authenticators:` (logs, details)
  std::string realm = "portcullis";  ///< the challenge's realm
  LockoutSettings lockout;           ///< on by default: 5 failures in 5 min lock for 5 min
  std::chrono::milliseconds cache_ttl{std::chrono::seconds(60)};  ///< 0 = no success cache
  std::size_t cache_max_entries = 10'000;
};

/// A decoded Basic credential. The password is wiped from memory on destruction.
struct BasicCredentials {
  std::string user;
  std::string password;

  BasicCredentials() = default;
  BasicCredentials(std::string u, std::string p) : user(std::move(u)), password(std::move(p)) {}
  BasicCredentials(const BasicCredentials&) = default;
  BasicCredentials(BasicCredentials&&) noexcept = default;
  BasicCredentials& operator=(const BasicCredentials&) = default;
  BasicCredentials& operator=(BasicCredentials&&) noexcept = default;
  ~BasicCredentials();
};

/// The result of parsing an Authorization header: no Basic credential (try the next
/// authenticator), a malformed one (basic.malformed, 400), or the credential to verify.
using ParsedBasic = std::variant<NotPresent, Rejected, BasicCredentials>;

/// Longest user name / password accepted in a Basic credential (longer is basic.malformed).
inline constexpr std::size_t kMaxBasicUserBytes = 256;
inline constexpr std::size_t kMaxBasicPasswordBytes = 1024;

/// Parses one Authorization header value (empty = absent). NotPresent unless the scheme is
/// Basic (case-insensitive); then strict base64 (RFC 4648 alphabet, padding required), a
/// colon, no control characters (RFC 7617), bounded lengths, or basic.malformed.
ParsedBasic parse_basic_authorization(std::string_view value);

/// How a stored hash is checked: verify_hash in production; tests substitute a recorder.
using HashVerifier = std::function<bool(std::string_view hash, std::string_view password)>;

/// Basic authentication against one htpasswd file (and an optional groups file), both
/// re-read when they change. All member functions are thread-safe.
class BasicAuthenticator {
 public:
  using Clock = std::chrono::steady_clock;

  /// Loads the files (errors are configuration errors) and logs their load warnings.
  /// `groups_path` empty = no groups file.
  static core::Result<std::unique_ptr<BasicAuthenticator>> create(
      BasicSettings settings, const std::string& htpasswd_path,
      const std::string& groups_path = {});

  /// From `authenticators.<name>` of type basic. File errors are wrapped with the YAML
  /// location of the key that names the file ("authenticators.users.htpasswd: line 4: ...").
  static core::Result<std::unique_ptr<BasicAuthenticator>> from_config(
      std::string name, const config::BasicAuthConfig& config);

  /// Over already opened sources (tests, shared files); `groups` may be null.
  static core::Result<std::unique_ptr<BasicAuthenticator>> create(
      BasicSettings settings, std::shared_ptr<HtpasswdSource> htpasswd,
      std::shared_ptr<GroupsSource> groups = nullptr, HashVerifier verifier = verify_hash);

  BasicAuthenticator(const BasicAuthenticator&) = delete;
  BasicAuthenticator& operator=(const BasicAuthenticator&) = delete;

  const BasicSettings& settings() const { return settings_; }

  /// `Basic realm="<realm>", charset="UTF-8"` (the realm quoted per RFC 9110).
  std::string challenge() const;

  /// Fast: parse_basic_authorization; fine on an I/O thread.
  ParsedBasic parse(std::string_view authorization_header) const;

  /// The answer when no hashing is needed, else nullopt (then run verify() on the pool):
  /// a lockout in force (basic.locked_out) or a cached success. Also nullopt when a file
  /// re-check is due, so the pool (not the I/O thread) re-reads changed files.
  std::optional<Outcome> verify_fast(const BasicCredentials& credentials,
                                     const core::IpAddress& client, Clock::time_point now) const;

  /// True when `credentials` are in the success cache for the current htpasswd content.
  bool is_cached(const BasicCredentials& credentials, Clock::time_point now) const;

  /// Slow path (hashing; run it off the I/O threads). Re-reads changed files, then:
  /// lockout in force → basic.locked_out (429, Retry-After); cached success → Authenticated;
  /// else verifies the password — against a dummy hash of the same scheme and cost for an
  /// unknown user — and answers Authenticated, basic.credentials_invalid (401, identical for
  /// unknown users and wrong passwords) or identity.ambiguous (401, a user defined twice in
  /// the file whose password matched). Never NotPresent.
  Outcome verify(const BasicCredentials& credentials, const core::IpAddress& client,
                 Clock::time_point now);

  /// True when the current htpasswd file defines `user` (the caller's cross-authenticator
  /// ambiguity check; ask only after this or another authenticator has authenticated the
  /// user, so the answer never reveals to a client whether a name exists).
  bool has_user(std::string_view user) const;

  /// Re-stats both files (at most once a second) and reloads the changed ones.
  void refresh(Clock::time_point now);

  /// The current load warnings of both files.
  std::vector<std::string> warnings() const;

  HtpasswdSource& htpasswd() { return *htpasswd_; }
  /// Null when there is no groups file.
  GroupsSource* groups() { return groups_.get(); }

  /// Lockout counters currently tracked (tests, metrics).
  std::size_t tracked_lockout_keys() const { return lockout_.size(); }
  /// Entries in the success cache (tests, metrics).
  std::size_t cache_size() const { return cache_.size(); }

 private:
  BasicAuthenticator(BasicSettings settings, std::shared_ptr<HtpasswdSource> htpasswd,
                     std::shared_ptr<GroupsSource> groups, HashVerifier verifier,
                     KeyedHasher hasher);

  std::optional<KeyedDigest> lockout_key(std::string_view user,
                                         const core::IpAddress& client) const;
  std::optional<KeyedDigest> cache_key(const BasicCredentials& credentials) const;
  Outcome authenticated(std::string_view user) const;
  Outcome credentials_invalid(std::string_view user) const;
  Outcome locked_out(std::string_view user, const core::IpAddress& client,
                     std::chrono::seconds retry_after) const;
  Outcome ambiguous(std::string_view user, const std::vector<int>& lines,
                    const std::string& origin) const;

  const BasicSettings settings_;
  const std::shared_ptr<HtpasswdSource> htpasswd_;
  const std::shared_ptr<GroupsSource> groups_;
  const HashVerifier verifier_;
  const KeyedHasher hasher_;
  LockoutTable lockout_;
  SuccessCache cache_;
};

}  // namespace portcullis::authn
