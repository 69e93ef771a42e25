// The authenticator instances of one runtime (basic, jwt), built from `authenticators:` once,
// and the per-route lists the authn stage walks in order.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "authn/basic.h"
#include "authn/basic_file_source.h"
#include "authn/external.h"
#include "authn/jwt_keys.h"
#include "authn/jwt_verifier.h"
#include "config/config.h"
#include "core/result.h"
#include "proxy/outbound.h"

namespace portcullis::proxy {

/// A JWKS file as a FileSource snapshot: re-read when it changes.
class JwksFile {
 public:
  static core::Result<JwksFile> load(const std::string& path);
  const std::shared_ptr<const authn::KeySet>& keys() const { return keys_; }
  const authn::FileStamp& stamp() const { return stamp_; }
  const std::vector<std::string>& warnings() const { return keys_->warnings(); }

 private:
  std::shared_ptr<const authn::KeySet> keys_;
  authn::FileStamp stamp_;
};

/// A jwt authenticator and where its keys come from (exactly one of jwks_file, jwks_remote).
/// Declaration order matters: the fetcher (which calls verifier->set_keys) stops first.
struct JwtEntry {
  std::unique_ptr<authn::JwtAuthenticator> verifier;
  std::shared_ptr<authn::FileSource<JwksFile>> jwks_file;
  std::shared_ptr<RemoteKeys> jwks_remote;
};

/// An external authenticator: its decisions and its callout.
struct ExternalEntry {
  std::unique_ptr<authn::ExternalAuthenticator> decider;
  std::shared_ptr<Callout> callout;
  std::atomic<std::uint64_t>* failed_open = nullptr;  ///< metrics counter (may be null)
};

/// One entry of a route's `authn` list.
struct RouteAuthenticator {
  enum class Kind { Mtls, Basic, Jwt, External };
  Kind kind = Kind::Mtls;
  std::string name;
  authn::BasicAuthenticator* basic = nullptr;  ///< Kind::Basic
  JwtEntry* jwt = nullptr;                     ///< Kind::Jwt
  ExternalEntry* external = nullptr;           ///< Kind::External
};

class AuthenticatorSet {
 public:
  /// Loads every authenticator (htpasswd and groups files, JWKS files). Errors name the YAML key.
  /// `outbound` makes the fetcher of each `jwks.url` and the callout of each `external`
  /// authenticator; without it such a config is refused.
  static core::Result<std::shared_ptr<AuthenticatorSet>> build(
      const config::Config& config, const OutboundFactories* outbound = nullptr);

  /// The external authenticators (to register their metrics).
  std::map<std::string, std::unique_ptr<ExternalEntry>>& externals() { return external_; }

  /// The route's list, in order. A name that is neither "mtls" nor a loaded authenticator is an
  /// error (the config loader already refuses it; this keeps the runtime fail-closed on its own).
  core::Result<std::vector<RouteAuthenticator>> route_list(
      const std::vector<std::string>& names) const;

 private:
  std::map<std::string, std::unique_ptr<authn::BasicAuthenticator>> basic_;
  std::map<std::string, std::unique_ptr<JwtEntry>> jwt_;
  std::map<std::string, std::unique_ptr<ExternalEntry>> external_;
};

}  // namespace portcullis::proxy
