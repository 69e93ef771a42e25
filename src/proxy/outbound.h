// What the runtime needs from net/ for the gateway's own outgoing calls: the keys of a
// `jwks.url` (RemoteKeys) and the callout of an `external` authenticator (Callout). The
// factories are handed to build_runtime; net/ implements them.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <string>

#include "config/config.h"
#include "core/outbound_result.h"
#include "core/result.h"
#include "proxy/remote_keys.h"

namespace portcullis::proxy {

/// The HTTP call of one external authenticator: its URL, trust, client certificate, proxy and
/// timeout are fixed at construction.
class Callout {
 public:
  virtual ~Callout() = default;
  /// Sends a GET with `headers` to the authenticator's URL. Never throws.
  virtual boost::asio::awaitable<core::OutboundResult> call(core::HeaderPairs headers) = 0;
  /// "GET https://auth.example/check (through proxy http://proxy:3128)": names the target in
  /// details.
  virtual const std::string& target() const = 0;
};

using CalloutFactory = std::function<core::Result<std::shared_ptr<Callout>>(
    const std::string& name, const config::ExternalAuthConfig& config)>;

struct OutboundFactories {
  RemoteKeysFactory remote_keys;
  CalloutFactory callouts;
};

}  // namespace portcullis::proxy
