// Basic authentication: strict credential parsing, verification with the unknown-user dummy,
// lockout before hashing, the keyed success cache, and the denials with their headers.
#include "authn/basic.h"

#include <openssl/crypto.h>

#include <fmt/format.h>

#include "core/ascii.h"
#include "core/denial.h"
#include "core/log.h"

namespace portcullis::authn {
namespace {

using core::DenialCode;

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/// RFC 4648 base64, padding required, canonical (zero pad bits): one credential, one encoding.
std::optional<std::string> decode_base64_strict(std::string_view in) {
  if (in.empty() || in.size() % 4 != 0) return std::nullopt;
  std::size_t pad = 0;
  if (in.back() == '=') pad = in[in.size() - 2] == '=' ? 2 : 1;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    std::uint32_t v = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = in[i + j];
      int d = 0;
      if (c == '=') {
        if (!last || j < 4 - pad) return std::nullopt;
      } else {
        d = b64_value(c);
        if (d < 0 || (last && j >= 4 - pad)) return std::nullopt;
      }
      v = (v << 6) | static_cast<std::uint32_t>(d);
    }
    if (last && pad == 1 && (v & 0xff) != 0) return std::nullopt;
    if (last && pad == 2 && (v & 0xffff) != 0) return std::nullopt;
    out.push_back(static_cast<char>(v >> 16));
    if (!(last && pad == 2)) out.push_back(static_cast<char>((v >> 8) & 0xff));
    if (!(last && pad >= 1)) out.push_back(static_cast<char>(v & 0xff));
  }
  return out;
}

bool has_control(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

Rejected malformed(std::string detail) {
  return Rejected{core::make_denial(DenialCode::BasicMalformed, std::move(detail))};
}

/// The user name as shown in a detail: bounded (the renderers escape it).
std::string shown(std::string_view user) {
  constexpr std::size_t kMax = 64;
  if (user.size() <= kMax) return std::string(user);
  return std::string(user.substr(0, kMax)) + "...";
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace

BasicCredentials::~BasicCredentials() {
  OPENSSL_cleanse(password.data(), password.size());
}

ParsedBasic parse_basic_authorization(std::string_view value) {
  value = trim_ows(value);
  if (value.empty()) return NotPresent{};
  const auto sp = value.find_first_of(" \t");
  if (!core::ascii_iequals(value.substr(0, sp), "basic")) return NotPresent{};
  const std::string_view token =
      sp == std::string_view::npos ? std::string_view{} : trim_ows(value.substr(sp + 1));
  if (token.empty()) {
    return malformed("`Authorization: Basic` carries no credentials");
  }
  auto decoded = decode_base64_strict(token);
  if (!decoded) {
    return malformed(
        "the Basic credentials are not valid base64 (RFC 4648 alphabet, padded, no spaces)");
  }
  struct Wipe {
    std::string& s;
    ~Wipe() { OPENSSL_cleanse(s.data(), s.size()); }
  } wipe{*decoded};
  const auto colon = decoded->find(':');
  if (colon == std::string::npos) {
    return malformed("the decoded Basic credentials have no ':' between user name and password");
  }
  if (has_control(*decoded)) {
    return malformed("the Basic credentials contain control characters (RFC 7617 forbids them)");
  }
  if (colon > kMaxBasicUserBytes) {
    return malformed(fmt::format("the user name is longer than {} bytes", kMaxBasicUserBytes));
  }
  if (decoded->size() - colon - 1 > kMaxBasicPasswordBytes) {
    return malformed(fmt::format("the password is longer than {} bytes", kMaxBasicPasswordBytes));
  }
  return BasicCredentials(decoded->substr(0, colon), decoded->substr(colon + 1));
}

// ---- BasicAuthenticator ------------------------------------------------------------------

core::Result<std::unique_ptr<BasicAuthenticator>> BasicAuthenticator::create(
    BasicSettings settings, const std::string& htpasswd_path, const std::string& groups_path) {
  auto htpasswd = HtpasswdSource::open(htpasswd_path);
  if (!htpasswd) return std::unexpected(htpasswd.error());
  std::shared_ptr<GroupsSource> groups;
  if (!groups_path.empty()) {
    auto opened = GroupsSource::open(groups_path);
    if (!opened) return std::unexpected(opened.error());
    groups = std::move(*opened);
  }
  auto made = create(std::move(settings), std::move(*htpasswd), std::move(groups));
  if (made) {
    for (const auto& warning : (*made)->warnings()) {
      core::log(core::LogLevel::Warn, "{}", warning);
    }
  }
  return made;
}

core::Result<std::unique_ptr<BasicAuthenticator>> BasicAuthenticator::from_config(
    std::string name, const config::BasicAuthConfig& config) {
  BasicSettings settings;
  settings.name = std::move(name);
  settings.realm = config.realm;
  settings.lockout.enabled = config.lockout;
  settings.lockout.max_failures = config.lockout_failures;
  settings.lockout.window = config.lockout_window;
  settings.cache_ttl = config.cache_ttl;
  auto at = [](const config::FileRef& ref, const core::Error& error) {
    return std::unexpected(core::Error{error.to_string(), ref.origin.path, ref.origin.line});
  };
  auto htpasswd = HtpasswdSource::open(config.htpasswd.path);
  if (!htpasswd) return at(config.htpasswd, htpasswd.error());
  std::shared_ptr<GroupsSource> groups;
  if (config.groups) {
    auto opened = GroupsSource::open(config.groups->path);
    if (!opened) return at(*config.groups, opened.error());
    groups = std::move(*opened);
  }
  auto made = create(std::move(settings), std::move(*htpasswd), std::move(groups));
  if (made) {
    for (const auto& warning : (*made)->warnings()) {
      core::log(core::LogLevel::Warn, "{}", warning);
    }
  }
  return made;
}

core::Result<std::unique_ptr<BasicAuthenticator>> BasicAuthenticator::create(
    BasicSettings settings, std::shared_ptr<HtpasswdSource> htpasswd,
    std::shared_ptr<GroupsSource> groups, HashVerifier verifier) {
  if (!htpasswd) return core::fail("no htpasswd file", settings.name);
  if (!verifier) return core::fail("no hash verifier", settings.name);
  if (has_control(settings.realm)) {
    return core::fail("the realm contains control characters", settings.name);
  }
  if (settings.lockout.enabled) {
    if (settings.lockout.max_failures < 1) {
      return core::fail("lockout.max_failures must be at least 1", settings.name);
    }
    if (settings.lockout.window.count() < 1) {
      return core::fail("lockout.window must be positive", settings.name);
    }
  }
  if (settings.cache_ttl.count() < 0) return core::fail("cache_ttl must not be negative");
  auto hasher = KeyedHasher::make();
  if (!hasher) return std::unexpected(hasher.error());
  return std::unique_ptr<BasicAuthenticator>(
      new BasicAuthenticator(std::move(settings), std::move(htpasswd), std::move(groups),
                             std::move(verifier), std::move(*hasher)));
}

BasicAuthenticator::BasicAuthenticator(BasicSettings settings,
                                       std::shared_ptr<HtpasswdSource> htpasswd,
                                       std::shared_ptr<GroupsSource> groups, HashVerifier verifier,
                                       KeyedHasher hasher)
    : settings_(std::move(settings)),
      htpasswd_(std::move(htpasswd)),
      groups_(std::move(groups)),
      verifier_(std::move(verifier)),
      hasher_(std::move(hasher)),
      lockout_(settings_.lockout),
      cache_(settings_.cache_ttl, settings_.cache_max_entries) {}

std::string BasicAuthenticator::challenge() const {
  return fmt::format("Basic realm={}, charset=\"UTF-8\"", quoted(settings_.realm));
}

ParsedBasic BasicAuthenticator::parse(std::string_view authorization_header) const {
  return parse_basic_authorization(authorization_header);
}

std::optional<KeyedDigest> BasicAuthenticator::lockout_key(std::string_view user,
                                                           const core::IpAddress& client) const {
  const std::string_view address(reinterpret_cast<const char*>(client.bytes.data()),
                                 client.bytes.size());
  return hasher_.digest("portcullis basic lockout", {user, address});
}

std::optional<KeyedDigest> BasicAuthenticator::cache_key(
    const BasicCredentials& credentials) const {
  return hasher_.digest("portcullis basic cache", {credentials.user, credentials.password});
}

std::optional<Outcome> BasicAuthenticator::verify_fast(const BasicCredentials& credentials,
                                                       const core::IpAddress& client,
                                                       Clock::time_point now) const {
  if (htpasswd_->refresh_due(now) || (groups_ && groups_->refresh_due(now))) {
    return std::nullopt;
  }
  if (settings_.lockout.enabled) {
    const auto key = lockout_key(credentials.user, client);
    if (!key) return std::nullopt;
    if (const auto retry = lockout_.locked_for(*key, now)) {
      return locked_out(credentials.user, client, *retry);
    }
  }
  if (is_cached(credentials, now)) return authenticated(credentials.user);
  return std::nullopt;
}

bool BasicAuthenticator::is_cached(const BasicCredentials& credentials,
                                   Clock::time_point now) const {
  if (!cache_.enabled()) return false;
  const auto key = cache_key(credentials);
  return key && cache_.contains(*key, htpasswd_->current()->instance_id(), now);
}

Outcome BasicAuthenticator::verify(const BasicCredentials& credentials,
                                   const core::IpAddress& client, Clock::time_point now) {
  refresh(now);
  const auto file = htpasswd_->current();

  std::optional<KeyedDigest> lock_key;
  if (settings_.lockout.enabled) {
    lock_key = lockout_key(credentials.user, client);
    // SECURITY: without a key the lockout cannot be enforced; refuse rather than hash.
    if (!lock_key) return credentials_invalid(credentials.user);
    if (const auto retry = lockout_.locked_for(*lock_key, now)) {
      return locked_out(credentials.user, client, *retry);
    }
  }

  std::optional<KeyedDigest> success_key;
  if (cache_.enabled()) {
    success_key = cache_key(credentials);
    if (success_key && cache_.contains(*success_key, file->instance_id(), now)) {
      return authenticated(credentials.user);
    }
  }

  const auto entries = file->find(credentials.user);
  bool matched = false;
  if (entries.empty()) {
    // SECURITY: an unknown user costs one verification with the same function against a hash
    // of the file's most common scheme and cost, and then fails exactly like a wrong password
    // (same code, detail, headers, lockout counting), so neither the answer nor its timing
    // tells whether the name exists.
    const bool ignored = verifier_(file->dummy_hash(), credentials.password);
    static_cast<void>(ignored);
  } else {
    for (const HtpasswdEntry* entry : entries) {
      // Every entry is checked (no short-circuit): the answer for a duplicated user must not
      // depend on which entry matched.
      matched = verifier_(entry->hash, credentials.password) || matched;
    }
  }

  if (!matched) {
    if (lock_key) lockout_.record_failure(*lock_key, now);
    return credentials_invalid(credentials.user);
  }
  if (entries.size() > 1) {
    // SECURITY: a user defined twice is never resolved by picking one entry; the password was
    // right for at least one of them, so saying why reveals nothing to a guesser.
    return ambiguous(credentials.user, file->lines_of(credentials.user), file->origin());
  }
  if (lock_key) lockout_.reset(*lock_key);
  if (success_key) cache_.insert(*success_key, file->instance_id(), now);
  return authenticated(credentials.user);
}

bool BasicAuthenticator::has_user(std::string_view user) const {
  return htpasswd_->current()->has_user(user);
}

void BasicAuthenticator::refresh(Clock::time_point now) {
  htpasswd_->refresh(now);
  if (groups_) groups_->refresh(now);
}

std::vector<std::string> BasicAuthenticator::warnings() const {
  std::vector<std::string> out = htpasswd_->current()->warnings();
  if (groups_) {
    const auto& more = groups_->current()->warnings();
    out.insert(out.end(), more.begin(), more.end());
  }
  return out;
}

Outcome BasicAuthenticator::authenticated(std::string_view user) const {
  core::Identity identity;
  identity.method = "basic";
  identity.user = std::string(user);
  if (groups_) identity.groups = groups_->current()->groups_of(user);
  return Authenticated{std::move(identity)};
}

Outcome BasicAuthenticator::credentials_invalid(std::string_view user) const {
  // SECURITY: the one answer for an unknown user and a wrong password (DESIGN: never reveal
  // whether a user name exists). Keep this function the only producer of the code.
  auto denial = core::make_denial(
      DenialCode::BasicCredentialsInvalid,
      fmt::format("authenticator \"{}\": unknown user name or wrong password for user \"{}\"",
                  settings_.name, shown(user)));
  denial.headers.emplace_back("WWW-Authenticate", challenge());
  return Rejected{std::move(denial)};
}

Outcome BasicAuthenticator::locked_out(std::string_view user, const core::IpAddress& client,
                                       std::chrono::seconds retry_after) const {
  auto denial = core::make_denial(
      DenialCode::BasicLockedOut,
      fmt::format("authenticator \"{}\": {} failed attempts for user \"{}\" from {} within {}s; "
                  "locked for another {}s",
                  settings_.name, settings_.lockout.max_failures, shown(user), client.to_string(),
                  std::chrono::ceil<std::chrono::seconds>(settings_.lockout.window).count(),
                  retry_after.count()));
  denial.headers.emplace_back("Retry-After", std::to_string(retry_after.count()));
  return Rejected{std::move(denial)};
}

Outcome BasicAuthenticator::ambiguous(std::string_view user, const std::vector<int>& lines,
                                      const std::string& origin) const {
  std::string where;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) where += i + 1 == lines.size() ? " and " : ", ";
    where += std::to_string(lines[i]);
  }
  auto denial = core::make_denial(
      DenialCode::IdentityAmbiguous,
      fmt::format("authenticator \"{}\": user \"{}\" is defined more than once in {} (lines {})",
                  settings_.name, shown(user), origin, where));
  denial.headers.emplace_back("WWW-Authenticate", challenge());
  return Rejected{std::move(denial)};
}

}  // namespace portcullis::authn
