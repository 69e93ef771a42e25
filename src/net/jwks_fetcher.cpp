// Fetching and refreshing a remote JWKS.
#include "net/jwks_fetcher.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/log.h"
#include "net/callout_client.h"
#include "net/outbound_http.h"
#include "net/tls_context.h"

namespace portcullis::net {
namespace {

namespace asio = boost::asio;
using core::LogLevel;

constexpr std::size_t kMaxJwksBytes = 1024 * 1024;

}  // namespace

core::Result<std::shared_ptr<JwksFetcher>> JwksFetcher::create(std::string name,
                                                               const config::JwksConfig& jwks) {
  auto url = core::parse_url(jwks.url);
  if (!url) return core::fail(url.error().message, jwks.origin.path + ".url", jwks.origin.line);
  if (!url->https()) {
    // SECURITY: keys fetched in clear text could be replaced on the way (the loader refuses
    // this too; the fetcher does not rely on it).
    return core::fail("the JWKS url must be https://", jwks.origin.path + ".url", jwks.origin.line);
  }
  config::UpstreamTlsConfig tls_config;
  tls_config.ca = jwks.ca;
  tls_config.origin = jwks.origin;
  auto tls = make_upstream_context(tls_config);
  if (!tls) return std::unexpected(tls.error());
  auto proxy = choose_logged_proxy("authenticators." + name + ".jwks", jwks.proxy.setting, *url,
                                   core::ProxyEnv::from_environment());
  auto fetcher = std::shared_ptr<JwksFetcher>(
      new JwksFetcher(std::move(name), std::move(*url), std::move(*tls), jwks));
  fetcher->proxy_ = std::move(proxy);
  return fetcher;
}

JwksFetcher::JwksFetcher(std::string name, core::Url url, std::unique_ptr<asio::ssl::context> tls,
                         const config::JwksConfig& jwks)
    : name_(std::move(name)),
      url_(std::move(url)),
      tls_(std::move(tls)),
      interval_(jwks.refresh_interval),
      timeout_(jwks.timeout) {}

JwksFetcher::~JwksFetcher() {
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

void JwksFetcher::start(std::chrono::milliseconds wait) {
  asio::co_spawn(io_, refresh_loop(), asio::detached);
  thread_ = std::thread([this] { io_.run(); });
  std::unique_lock lock(mutex_);
  first_fetch_done_.wait_for(lock, wait, [this] { return attempted_; });
}

std::shared_ptr<const authn::KeySet> JwksFetcher::keys() const {
  std::lock_guard lock(mutex_);
  return keys_;
}

void JwksFetcher::on_keys(std::function<void(std::shared_ptr<const authn::KeySet>)> callback) {
  std::lock_guard lock(mutex_);
  callback_ = std::move(callback);
  // Keys fetched before the subscription are handed over now, so none is ever missed.
  if (keys_ && callback_) callback_(keys_);
}

proxy::KeyRefresh JwksFetcher::status() const {
  std::lock_guard lock(mutex_);
  return status_locked(Clock::now());
}

proxy::KeyRefresh JwksFetcher::status_locked(Clock::time_point now) const {
  proxy::KeyRefresh out;
  out.error = error_;
  const auto wait = std::chrono::ceil<std::chrono::seconds>(next_fetch_ - now);
  out.retry_after = std::max(wait, std::chrono::seconds{1});
  return out;
}

std::chrono::milliseconds JwksFetcher::next_delay_locked() const {
  if (error_.empty()) return interval_;
  return std::min<std::chrono::milliseconds>(interval_, kRetryWhileFailing);
}

asio::awaitable<proxy::KeyRefresh> JwksFetcher::refresh_for_unknown_kid() {
  {
    std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    // SECURITY: a flood of tokens with made-up kids must not become a flood of fetches.
    if (last_kid_refresh_ && now - *last_kid_refresh_ < interval_) co_return status_locked(now);
    last_kid_refresh_ = now;
  }
  co_return co_await asio::co_spawn(io_, fetch(), asio::use_awaitable);
}

asio::awaitable<proxy::KeyRefresh> JwksFetcher::fetch() {
  OutboundRequest request;
  request.url = url_;
  request.tls = tls_.get();
  request.timeout = timeout_;
  request.max_body = kMaxJwksBytes;
  request.proxy = proxy_;
  request.headers = {{"Accept", "application/jwk-set+json, application/json"},
                     {"User-Agent", "portcullis"}};
  OutboundResult result = co_await send_outbound(request);

  std::string error;
  std::shared_ptr<const authn::KeySet> parsed;
  if (!result.ok()) {
    error = result.detail;
    if (!result.chain.empty()) {
      error += "; the server presented:";
      for (const auto& c : result.chain) error += " [" + c + "]";
    }
  } else if (result.response.status != 200) {
    error = "HTTP " + std::to_string(result.response.status) + " " + result.response.reason;
    if (result.response.status == 404) error += " (check the path of the JWKS url)";
  } else if (auto keys = authn::KeySet::from_jwks_json(result.response.body, url_.text())) {
    parsed = std::move(*keys);
  } else {
    error = keys.error().to_string();
  }

  std::lock_guard lock(mutex_);
  const auto now = Clock::now();
  attempted_ = true;
  proxy::KeyRefresh out;
  if (!error.empty()) {
    error_ = "fetching " + url_.text() + " failed: " + error;
    core::log(LogLevel::Warn, "authenticators.{}: {}", name_, error_);
  } else {
    error_.clear();
    out.fetched = true;
    if (result.response.body != document_) {
      document_ = std::move(result.response.body);
      keys_ = std::move(parsed);
      core::log(LogLevel::Info, "authenticators.{}: fetched {} key(s) from {}", name_,
                keys_->keys().size(), url_.text());
      for (const auto& w : keys_->warnings()) {
        core::log(LogLevel::Warn, "authenticators.{}: {}", name_, w);
      }
      if (callback_) callback_(keys_);
    }
  }
  next_fetch_ = now + next_delay_locked();
  first_fetch_done_.notify_all();
  const auto status = status_locked(now);
  out.error = status.error;
  out.retry_after = status.retry_after;
  co_return out;
}

asio::awaitable<void> JwksFetcher::refresh_loop() {
  asio::steady_timer timer(io_);
  for (;;) {
    co_await fetch();
    for (;;) {
      Clock::time_point at;
      {
        std::lock_guard lock(mutex_);
        at = next_fetch_;
      }
      if (Clock::now() >= at) break;
      // An on-demand fetch in the meantime moves next_fetch_ later: wait again.
      timer.expires_at(at);
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
    }
  }
}

proxy::RemoteKeysFactory jwks_fetcher_factory() {
  return [](const std::string& name,
            const config::JwksConfig& jwks) -> core::Result<std::shared_ptr<proxy::RemoteKeys>> {
    auto fetcher = JwksFetcher::create(name, jwks);
    if (!fetcher) return std::unexpected(fetcher.error());
    // The fetch itself is bounded by the timeout; the margin lets its failure be logged.
    (*fetcher)->start(jwks.timeout + std::chrono::milliseconds{500});
    return std::shared_ptr<proxy::RemoteKeys>(std::move(*fetcher));
  };
}

proxy::RemoteKeysFactory jwks_checking_factory() {
  return [](const std::string& name,
            const config::JwksConfig& jwks) -> core::Result<std::shared_ptr<proxy::RemoteKeys>> {
    auto fetcher = JwksFetcher::create(name, jwks);
    if (!fetcher) return std::unexpected(fetcher.error());
    return std::shared_ptr<proxy::RemoteKeys>(std::move(*fetcher));
  };
}

}  // namespace portcullis::net
