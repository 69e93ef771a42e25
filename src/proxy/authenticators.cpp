// Building basic and jwt authenticators from the configuration.
#include "proxy/authenticators.h"

#include "core/log.h"

namespace portcullis::proxy {
namespace {

constexpr std::size_t kMaxJwksBytes = 1024 * 1024;

authn::JwtSettings jwt_settings(const std::string& name, const config::JwtAuthConfig& c) {
  authn::JwtSettings s;
  s.name = name;
  s.issuer = c.issuer;
  s.audiences = c.audiences;
  s.algorithms = c.algorithms;
  s.leeway = std::chrono::duration_cast<std::chrono::seconds>(c.leeway);
  s.required_claims = c.required_claims;
  s.user_claim = c.user_claim;
  s.groups_claim = c.groups_claim;
  s.realm = c.realm;
  return s;
}

}  // namespace

core::Result<JwksFile> JwksFile::load(const std::string& path) {
  auto read = authn::read_file_stamped(path, kMaxJwksBytes);
  if (!read) return std::unexpected(read.error());
  auto keys = authn::KeySet::from_jwks_json(read->first, path);
  if (!keys) return std::unexpected(keys.error());
  JwksFile file;
  file.keys_ = std::move(*keys);
  file.stamp_ = read->second;
  return file;
}

core::Result<std::shared_ptr<AuthenticatorSet>> AuthenticatorSet::build(
    const config::Config& config, const OutboundFactories* outbound) {
  auto set = std::make_shared<AuthenticatorSet>();
  for (const auto& [name, entry] : config.authenticators) {
    if (entry.basic) {
      auto basic = authn::BasicAuthenticator::from_config(name, *entry.basic);
      if (!basic) return std::unexpected(basic.error());
      set->basic_.emplace(name, std::move(*basic));
    } else if (entry.jwt) {
      const auto& jc = *entry.jwt;
      auto settings = jwt_settings(name, jc);
      if (auto ok = authn::JwtAuthenticator::check_settings(settings); !ok) {
        return core::fail(ok.error().message, entry.origin.path, entry.origin.line);
      }
      auto jwt = std::make_unique<JwtEntry>();
      if (!jc.jwks.file) {
        // SECURITY: a jwks.url without a fetcher would run without keys: refuse.
        if (outbound == nullptr || !outbound->remote_keys) {
          return core::fail("fetching a JWKS url is not available here", jc.jwks.origin.path,
                            jc.jwks.origin.line);
        }
        auto remote = outbound->remote_keys(name, jc.jwks);
        if (!remote) return std::unexpected(remote.error());
        jwt->verifier =
            std::make_unique<authn::JwtAuthenticator>(std::move(settings), (*remote)->keys());
        authn::JwtAuthenticator* verifier = jwt->verifier.get();
        (*remote)->on_keys([verifier](std::shared_ptr<const authn::KeySet> keys) {
          for (const auto& w :
               authn::JwtAuthenticator::compatibility_warnings(verifier->settings(), *keys)) {
            core::log(core::LogLevel::Warn, "authenticators.{}: {}", verifier->settings().name, w);
          }
          verifier->set_keys(std::move(keys));
        });
        jwt->jwks_remote = std::move(*remote);
        set->jwt_.emplace(name, std::move(jwt));
        continue;
      }
      auto source = authn::FileSource<JwksFile>::open(jc.jwks.file->path, jc.jwks.refresh_interval);
      if (!source) {
        return core::fail(source.error().to_string(), jc.jwks.file->origin.path,
                          jc.jwks.file->origin.line);
      }
      auto keys = (*source)->current()->keys();
      for (const auto& w : authn::JwtAuthenticator::compatibility_warnings(settings, *keys)) {
        core::log(core::LogLevel::Warn, "authenticators.{}: {}", name, w);
      }
      for (const auto& w : keys->warnings()) {
        core::log(core::LogLevel::Warn, "authenticators.{}: {}", name, w);
      }
      jwt->verifier = std::make_unique<authn::JwtAuthenticator>(std::move(settings), keys);
      jwt->jwks_file = std::move(*source);
      set->jwt_.emplace(name, std::move(jwt));
    } else if (entry.external) {
      // SECURITY: an external authenticator without its callout would decide nothing: refuse.
      if (outbound == nullptr || !outbound->callouts) {
        return core::fail("external authorization callouts are not available here",
                          entry.origin.path, entry.origin.line);
      }
      auto decider = authn::ExternalAuthenticator::create(name, *entry.external);
      if (!decider) return std::unexpected(decider.error());
      auto callout = outbound->callouts(name, *entry.external);
      if (!callout) return std::unexpected(callout.error());
      auto ext = std::make_unique<ExternalEntry>();
      ext->decider = std::move(*decider);
      ext->callout = std::move(*callout);
      set->external_.emplace(name, std::move(ext));
    }
  }
  return set;
}

core::Result<std::vector<RouteAuthenticator>> AuthenticatorSet::route_list(
    const std::vector<std::string>& names) const {
  std::vector<RouteAuthenticator> out;
  for (const auto& name : names) {
    RouteAuthenticator entry;
    entry.name = name;
    if (auto b = basic_.find(name); b != basic_.end()) {
      entry.kind = RouteAuthenticator::Kind::Basic;
      entry.basic = b->second.get();
    } else if (auto j = jwt_.find(name); j != jwt_.end()) {
      entry.kind = RouteAuthenticator::Kind::Jwt;
      entry.jwt = j->second.get();
    } else if (auto e = external_.find(name); e != external_.end()) {
      entry.kind = RouteAuthenticator::Kind::External;
      entry.external = e->second.get();
    } else if (name == "mtls") {
      entry.kind = RouteAuthenticator::Kind::Mtls;
    } else {
      return core::fail("unknown authenticator \"" + name + "\"");
    }
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace portcullis::proxy
