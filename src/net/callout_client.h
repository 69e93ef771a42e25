// The HTTP call of an `external` authenticator: its URL, TLS trust and optional client
// certificate, outbound proxy (chosen once at start from the configuration and, for `env`, the
// environment) and timeout, over net::send_outbound.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "core/proxy_select.h"
#include "core/url.h"
#include "proxy/outbound.h"

namespace portcullis::net {

class CalloutClient final : public proxy::Callout {
 public:
  /// Builds the client (URL, TLS context with the CA and client certificate, proxy choice).
  /// Errors name the YAML key. Contacts nothing.
  static core::Result<std::shared_ptr<CalloutClient>> create(
      const std::string& name, const config::ExternalAuthConfig& config, const core::ProxyEnv& env);

  boost::asio::awaitable<core::OutboundResult> call(core::HeaderPairs headers) override;
  const std::string& target() const override { return target_; }

 private:
  CalloutClient() = default;

  core::Url url_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  std::optional<core::ProxyUrl> proxy_;
  std::chrono::milliseconds timeout_{};
  std::string target_;
};

/// The factory Server passes to build_runtime (the environment's proxy variables read once).
proxy::CalloutFactory callout_factory();

/// The proxy a target goes through under `setting` (nullopt = direct), logged with the reason
/// at start-up as "<what>: <reason>".
std::optional<core::ProxyUrl> choose_logged_proxy(const std::string& what,
                                                  const core::ProxySetting& setting,
                                                  const core::Url& target,
                                                  const core::ProxyEnv& env);

}  // namespace portcullis::net
