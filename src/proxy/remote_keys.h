// JWT signing keys fetched from a URL (authenticators.<name>.jwks.url). The fetching lives in
// net/; the authn stage sees this interface: the current keys, a refresh when a token names an
// unknown kid (at most once per refresh interval), and why the keys are unavailable.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "authn/jwt_keys.h"
#include "config/config.h"
#include "core/result.h"

namespace portcullis::proxy {

/// The outcome of a fetch, or of a refresh the interval did not allow.
struct KeyRefresh {
  bool fetched = false;                 ///< a fetch ran and its keys are now in force
  std::string error;                    ///< the fetch failed (or the keys were never fetched): why
  std::chrono::seconds retry_after{0};  ///< when the next fetch may run
};

class RemoteKeys {
 public:
  virtual ~RemoteKeys() = default;
  /// The keys in force; nullptr until a fetch succeeded.
  virtual std::shared_ptr<const authn::KeySet> keys() const = 0;
  /// Called (from the fetching thread) with every newly fetched key set.
  virtual void on_keys(std::function<void(std::shared_ptr<const authn::KeySet>)> callback) = 0;
  /// A token named a kid the keys do not have: fetch now unless a fetch for that reason ran
  /// within the refresh interval. Resumes on the caller's executor.
  virtual boost::asio::awaitable<KeyRefresh> refresh_for_unknown_kid() = 0;
  /// The last fetch's error (empty when it succeeded) and when the next one runs.
  virtual KeyRefresh status() const = 0;
};

/// Makes the RemoteKeys of authenticator `name` (net/ provides it). Configuration errors (a bad
/// CA file) are errors here; fetch errors are not: they become jwt.jwks_unavailable at request
/// time.
using RemoteKeysFactory = std::function<core::Result<std::shared_ptr<RemoteKeys>>(
    const std::string& name, const config::JwksConfig& jwks)>;

}  // namespace portcullis::proxy
