// External-authorization callouts over send_outbound.
#include "net/callout_client.h"

#include "core/log.h"
#include "net/outbound_http.h"
#include "net/tls_context.h"
#include "pki/cert_files.h"
#include "pki/openssl_ptr.h"

namespace portcullis::net {
namespace {

core::Error at(const config::FileRef& file, std::string message) {
  return core::Error{std::move(message), file.origin.path, file.origin.line};
}

/// Installs the client certificate chain and key the service may ask for.
core::Result<void> use_client_certificate(SSL_CTX* ctx, const config::FileRef& cert,
                                          const config::FileRef& key) {
  auto certs = pki::load_certificates(cert.path);
  if (!certs) return std::unexpected(at(cert, certs.error().message));
  auto pkey = pki::load_private_key(key.path);
  if (!pkey) return std::unexpected(at(key, pkey.error().message));
  if (SSL_CTX_use_certificate(ctx, certs->front().get()) != 1) {
    return std::unexpected(at(cert, "cannot use the certificate: " + pki::openssl_errors()));
  }
  for (std::size_t i = 1; i < certs->size(); ++i) {
    if (SSL_CTX_add1_chain_cert(ctx, (*certs)[i].get()) != 1) {
      return std::unexpected(at(cert, "cannot add chain certificate: " + pki::openssl_errors()));
    }
  }
  if (SSL_CTX_use_PrivateKey(ctx, pkey->get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return std::unexpected(at(key, "the key does not match the certificate " + cert.path));
  }
  return {};
}

}  // namespace

std::optional<core::ProxyUrl> choose_logged_proxy(const std::string& what,
                                                  const core::ProxySetting& setting,
                                                  const core::Url& target,
                                                  const core::ProxyEnv& env) {
  auto choice = core::choose_proxy(setting, target.scheme, target.host, env);
  if (setting.mode != core::ProxyMode::None) {
    core::log(core::LogLevel::Info, "{}: {} -> {}", what, target.text(), choice.reason);
  }
  return choice.proxy;
}

core::Result<std::shared_ptr<CalloutClient>> CalloutClient::create(
    const std::string& name, const config::ExternalAuthConfig& config, const core::ProxyEnv& env) {
  const std::string where = "authenticators." + name;
  auto url = core::parse_url(config.url);
  if (!url) return core::fail(url.error().message, where + ".url");
  std::shared_ptr<CalloutClient> client(new CalloutClient());
  client->url_ = *url;
  client->timeout_ = config.timeout;
  if (url->https()) {
    config::UpstreamTlsConfig tls;
    tls.ca = config.ca;
    tls.origin = {where, 0};
    auto ctx = make_upstream_context(tls);
    if (!ctx) return std::unexpected(ctx.error());
    if (config.cert && config.key) {
      if (auto ok = use_client_certificate((*ctx)->native_handle(), *config.cert, *config.key);
          !ok) {
        return std::unexpected(ok.error());
      }
    }
    client->tls_ = std::move(*ctx);
  }
  client->proxy_ = choose_logged_proxy(where, config.proxy.setting, *url, env);
  client->target_ = "GET " + url->text();
  if (client->proxy_) client->target_ += " (through proxy " + client->proxy_->display() + ")";
  return client;
}

boost::asio::awaitable<core::OutboundResult> CalloutClient::call(core::HeaderPairs headers) {
  OutboundRequest request;
  request.url = url_;
  request.headers = std::move(headers);
  request.headers.emplace_back("User-Agent", "portcullis");
  request.timeout = timeout_;
  request.tls = tls_.get();
  request.proxy = proxy_;
  request.max_body = 64 * 1024;
  co_return co_await send_outbound(request);
}

proxy::CalloutFactory callout_factory() {
  return [env = core::ProxyEnv::from_environment()](const std::string& name,
                                                    const config::ExternalAuthConfig& config)
             -> core::Result<std::shared_ptr<proxy::Callout>> {
    auto client = CalloutClient::create(name, config, env);
    if (!client) return std::unexpected(client.error());
    return std::shared_ptr<proxy::Callout>(std::move(*client));
  };
}

}  // namespace portcullis::net
