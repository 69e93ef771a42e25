// The authenticator instances of one runtime (basic, jwt), built from `authenticators:` once,
// and the per-route lists the authn stage walks in order.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "authn/basic.h"
#include "authn/basic_file_source.h"
#include "authn/jwt_keys.h"
#include "authn/jwt_verifier.h"
#include "config/config.h"
#include "core/result.h"
#include "proxy/remote_keys.h"

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

/// One entry of a route's `authn` list.
struct RouteAuthenticator {
  enum class Kind { Mtls, Basic, Jwt };
  Kind kind = Kind::Mtls;
  std::string name;
  authn::BasicAuthenticator* basic = nullptr;  ///< Kind::Basic
  JwtEntry* jwt = nullptr;                     ///< Kind::Jwt
};

class AuthenticatorSet {
 public:
  /// Loads every authenticator (htpasswd and groups files, JWKS files). Errors name the YAML key.
  /// `remote_keys` makes the fetcher of each `jwks.url`; without it such a config is refused.
  static core::Result<std::shared_ptr<AuthenticatorSet>> build(
      const config::Config& config, const RemoteKeysFactory* remote_keys = nullptr);

  /// The route's list, in order. A name that is neither "mtls" nor a loaded authenticator is an
  /// error (the config loader already refuses it; this keeps the runtime fail-closed on its own).
  core::Result<std::vector<RouteAuthenticator>> route_list(
      const std::vector<std::string>& names) const;

 private:
  std::map<std::string, std::unique_ptr<authn::BasicAuthenticator>> basic_;
  std::map<std::string, std::unique_ptr<JwtEntry>> jwt_;
};

}  // namespace portcullis::proxy
