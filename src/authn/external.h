// The `external` authenticator's decisions (no sockets: net/ performs the callout): which headers
// go to the authorization service, what its answer means (2xx identity, 401/403 its denial, 404
// a wrong path, anything else the configured status), which callout failure is which callout.*
// code, fail-open when configured, and a short-lived cache of decisions keyed on the request
// headers sent.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "authn/basic_state.h"
#include "authn/outcome.h"
#include "config/config.h"
#include "core/outbound_result.h"

namespace portcullis::authn {

/// What the gateway knows about the request when it calls out.
struct CalloutInput {
  std::string method;
  std::string uri;  ///< the request target as received
  std::string host;
  bool tls = false;
  std::string forwarded_for;    ///< X-Forwarded-For to send (client chain + peer)
  core::HeaderPairs forwarded;  ///< the request's own headers named in forward_headers
  /// Client certificate facts (empty when none): sent as X-Client-* headers.
  std::string cert_subject;
  std::string cert_issuer;
  std::string cert_sha256;
  std::string cert_verify;  ///< "SUCCESS", "FAILED:<code>" or "NONE"
};

/// A decision and how it came about.
struct CalloutDecision {
  Outcome outcome;
  bool failed_open = false;  ///< the callout failed and failure_mode: allow let it pass
  bool cacheable = false;    ///< an answer of the service (2xx, 401, 403), not a failure
};

class ExternalAuthenticator {
 public:
  using Clock = std::chrono::steady_clock;

  static core::Result<std::unique_ptr<ExternalAuthenticator>> create(
      std::string name, const config::ExternalAuthConfig& config);

  const std::string& name() const { return name_; }
  const config::ExternalAuthConfig& config() const { return config_; }

  /// The headers of the callout: the forwarded ones, X-Original-Method, X-Original-URI,
  /// X-Forwarded-For/-Proto/-Host and, with a client certificate, X-Client-Subject,
  /// X-Client-Issuer, X-Client-Sha256, X-Client-Verify.
  core::HeaderPairs request_headers(const CalloutInput& input) const;

  /// Decides from the callout's result. `target` names the service in details ("GET https://...").
  CalloutDecision decide(const core::OutboundResult& result, const std::string& target) const;

  /// A cached decision for this request, if one is younger than cache_ttl. The key is the
  /// forwarded headers (forward_headers) and the client certificate: the method, path and
  /// client address are not part of it (a service that decides per path should not be cached).
  std::optional<Outcome> cached(const CalloutInput& input, Clock::time_point now) const;
  /// Remembers a cacheable decision (no-op when cache_ttl is 0).
  void remember(const CalloutInput& input, const CalloutDecision& decision, Clock::time_point now);

 private:
  ExternalAuthenticator(std::string name, const config::ExternalAuthConfig& config,
                        KeyedHasher hasher);
  std::optional<KeyedDigest> cache_key(const CalloutInput& input) const;
  Rejected service_denial(core::DenialCode code, const core::OutboundResponse& response,
                          std::string detail) const;

  std::string name_;
  config::ExternalAuthConfig config_;
  KeyedHasher hasher_;

  struct Entry {
    Outcome outcome;
    Clock::time_point expires;
  };
  static constexpr std::size_t kMaxCached = 10'000;
  mutable std::mutex cache_mutex_;
  std::unordered_map<KeyedDigest, Entry, DigestHash> cache_;
};

}  // namespace portcullis::authn
