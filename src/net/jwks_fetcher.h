// The keys of a `jwks: {url: ...}` authenticator: fetched over HTTPS with the url's own CA on a
// thread of their own, refreshed every refresh_interval (sooner while failing), and on demand
// when a token names an unknown kid, at most once per interval.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "config/config.h"
#include "core/url.h"
#include "proxy/remote_keys.h"

namespace portcullis::net {

class JwksFetcher final : public proxy::RemoteKeys {
 public:
  using Clock = std::chrono::steady_clock;

  /// Checks the url and builds its TLS context (errors name the YAML key). Fetches nothing.
  static core::Result<std::shared_ptr<JwksFetcher>> create(std::string name,
                                                           const config::JwksConfig& jwks);
  ~JwksFetcher() override;

  /// Starts the fetching thread and waits up to `wait` for the first fetch. A failed first
  /// fetch is logged, not fatal: tokens get jwt.jwks_unavailable until a fetch succeeds.
  void start(std::chrono::milliseconds wait);

  std::shared_ptr<const authn::KeySet> keys() const override;
  void on_keys(std::function<void(std::shared_ptr<const authn::KeySet>)> callback) override;
  boost::asio::awaitable<proxy::KeyRefresh> refresh_for_unknown_kid() override;
  proxy::KeyRefresh status() const override;

  /// While fetches fail, they are retried this often (or every refresh_interval if shorter).
  static constexpr std::chrono::seconds kRetryWhileFailing{10};

 private:
  JwksFetcher(std::string name, core::Url url, std::unique_ptr<boost::asio::ssl::context> tls,
              const config::JwksConfig& jwks);

  /// One fetch on the fetching thread; updates the keys or the error.
  boost::asio::awaitable<proxy::KeyRefresh> fetch();
  boost::asio::awaitable<void> refresh_loop();
  std::chrono::milliseconds next_delay_locked() const;
  proxy::KeyRefresh status_locked(Clock::time_point now) const;

  const std::string name_;
  const core::Url url_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  std::optional<core::ProxyUrl> proxy_;  ///< jwks.proxy, decided once at creation
  const std::chrono::milliseconds interval_;
  const std::chrono::milliseconds timeout_;

  mutable std::mutex mutex_;
  std::condition_variable first_fetch_done_;
  bool attempted_ = false;
  std::shared_ptr<const authn::KeySet> keys_;
  std::string document_;  ///< the body the keys came from: an unchanged body is not re-applied
  std::string error_ = "the keys have not been fetched yet";
  Clock::time_point next_fetch_{};
  std::optional<Clock::time_point> last_kid_refresh_;
  std::function<void(std::shared_ptr<const authn::KeySet>)> callback_;

  boost::asio::io_context io_{1};
  std::thread thread_;
};

/// The factory Server passes to build_runtime: create + start (waiting for the first fetch up to
/// the jwks timeout).
proxy::RemoteKeysFactory jwks_fetcher_factory();

/// The factory check-config uses: create only (the url and the CA are checked, nothing fetched).
proxy::RemoteKeysFactory jwks_checking_factory();

}  // namespace portcullis::net
