// External authorization: request headers, answer interpretation, failure codes, decision cache.
#include "authn/external.h"
#include "core/ascii.h"

#include <algorithm>

namespace portcullis::authn {
namespace {

using core::DenialCode;
using core::OutboundFailure;

DenialCode failure_code(OutboundFailure failure) {
  switch (failure) {
    case OutboundFailure::Dns:
      return DenialCode::CalloutDnsFailed;
    case OutboundFailure::Timeout:
      return DenialCode::CalloutTimeout;
    case OutboundFailure::TlsUntrusted:
      return DenialCode::CalloutTlsUntrusted;
    case OutboundFailure::ProtocolMismatch:
    case OutboundFailure::BadResponse:
      return DenialCode::CalloutProtocolMismatch;
    case OutboundFailure::ProxyAuthRequired:
      return DenialCode::CalloutProxyAuthRequired;
    case OutboundFailure::ProxyRefused:
      return DenialCode::CalloutProxyRefused;
    case OutboundFailure::TooLarge:
      return DenialCode::CalloutUnexpectedStatus;
    case OutboundFailure::None:
    case OutboundFailure::Connect:
    case OutboundFailure::Tls:
      break;
  }
  return DenialCode::CalloutConnectFailed;
}

}  // namespace

core::Result<std::unique_ptr<ExternalAuthenticator>> ExternalAuthenticator::create(
    std::string name, const config::ExternalAuthConfig& config) {
  auto hasher = KeyedHasher::make();
  if (!hasher) return std::unexpected(hasher.error());
  return std::unique_ptr<ExternalAuthenticator>(
      new ExternalAuthenticator(std::move(name), config, std::move(*hasher)));
}

ExternalAuthenticator::ExternalAuthenticator(std::string name,
                                             const config::ExternalAuthConfig& config,
                                             KeyedHasher hasher)
    : name_(std::move(name)), config_(config), hasher_(std::move(hasher)) {}

core::HeaderPairs ExternalAuthenticator::request_headers(const CalloutInput& input) const {
  core::HeaderPairs out = input.forwarded;
  out.emplace_back("X-Original-Method", input.method);
  out.emplace_back("X-Original-URI", input.uri);
  out.emplace_back("X-Forwarded-For", input.forwarded_for);
  out.emplace_back("X-Forwarded-Proto", input.tls ? "https" : "http");
  if (!input.host.empty()) out.emplace_back("X-Forwarded-Host", input.host);
  if (!input.cert_verify.empty()) out.emplace_back("X-Client-Verify", input.cert_verify);
  if (!input.cert_subject.empty()) out.emplace_back("X-Client-Subject", input.cert_subject);
  if (!input.cert_issuer.empty()) out.emplace_back("X-Client-Issuer", input.cert_issuer);
  if (!input.cert_sha256.empty()) out.emplace_back("X-Client-Sha256", input.cert_sha256);
  return out;
}

Rejected ExternalAuthenticator::service_denial(DenialCode code,
                                               const core::OutboundResponse& response,
                                               std::string detail) const {
  core::Denial denial = core::make_denial(code, std::move(detail));
  for (const auto& [name, value] : response.headers) {
    // The service's challenge is the client's way forward (a login scheme, a realm).
    if (core::ascii_iequals(name, "WWW-Authenticate")) denial.headers.emplace_back(name, value);
  }
  if (config_.pass_body && !response.body.empty()) {
    denial.passed_body = response.body;
    denial.passed_content_type = response.header("Content-Type");
  }
  return Rejected{std::move(denial)};
}

CalloutDecision ExternalAuthenticator::decide(const core::OutboundResult& result,
                                              const std::string& target) const {
  const std::string who = "external \"" + name_ + "\": " + target;
  CalloutDecision decision;
  if (!result.ok()) {
    std::string detail = who + ": " + result.detail;
    if (!result.chain.empty()) {
      detail += "; the server presented:";
      for (const auto& c : result.chain) detail += " [" + c + "]";
    }
    if (config_.fail_open) {
      // SECURITY: failing open is the operator's explicit choice (failure_mode: allow); the
      // caller logs and counts every use.
      core::Identity identity;
      identity.method = "external";
      identity.claims["failure_mode_allowed"] = std::move(detail);
      decision.outcome = Authenticated{std::move(identity)};
      decision.failed_open = true;
      return decision;
    }
    decision.outcome = Rejected{core::make_denial(failure_code(result.failure), std::move(detail))};
    return decision;
  }
  const auto& response = result.response;
  const std::string status =
      std::to_string(response.status) + (response.reason.empty() ? "" : " " + response.reason);
  if (response.status >= 200 && response.status < 300) {
    core::Identity identity;
    identity.method = "external";
    identity.user = std::string(core::trim_ascii_space(response.header(config_.user_header)));
    if (!config_.groups_header.empty()) {
      const std::string groups = response.header(config_.groups_header);
      std::size_t start = 0;
      while (start <= groups.size()) {
        const auto comma = groups.find(',', start);
        const auto end = comma == std::string::npos ? groups.size() : comma;
        if (auto g = core::trim_ascii_space(std::string_view(groups).substr(start, end - start));
            !g.empty()) {
          identity.groups.emplace_back(g);
        }
        start = end + 1;
      }
    }
    for (const auto& name : config_.copy_headers) {
      for (const auto& [n, v] : response.headers) {
        if (core::ascii_iequals(n, name)) identity.upstream_headers.emplace_back(name, v);
      }
    }
    decision.outcome = Authenticated{std::move(identity)};
    decision.cacheable = true;
    return decision;
  }
  if (response.status == 401 || response.status == 403) {
    decision.outcome = service_denial(
        response.status == 401 ? DenialCode::CalloutUnauthorized : DenialCode::CalloutForbidden,
        response, who + " answered " + status);
    decision.cacheable = true;
    return decision;
  }
  if (response.status == 404) {
    decision.outcome = Rejected{core::make_denial(
        DenialCode::CalloutNotFound,
        who + " answered " + status + ": check the path of the auth URL; it is case-sensitive")};
    return decision;
  }
  // SECURITY: any other answer (429, 500, a redirect to a login page) is a denial with the
  // configured status, never a pass and never a 500 of ours.
  core::Denial denial = core::make_denial(DenialCode::CalloutUnexpectedStatus,
                                          who + " answered " + status + "; only 2xx allows, and " +
                                              "401/403 deny with the service's own answer");
  denial.status = config_.denial_status;
  if (auto retry = response.header("Retry-After"); !retry.empty()) {
    denial.headers.emplace_back("Retry-After", retry);
  }
  decision.outcome = Rejected{std::move(denial)};
  return decision;
}

std::optional<KeyedDigest> ExternalAuthenticator::cache_key(const CalloutInput& input) const {
  // Length-prefixed, so no two header lists share a key; hashed under a process-local key,
  // so the cache never holds a credential.
  std::string joined;
  for (const auto& [n, v] : input.forwarded) {
    joined += std::to_string(n.size()) + ":" + n + std::to_string(v.size()) + ":" + v;
  }
  return hasher_.digest("external-decision", {name_, joined, input.cert_sha256});
}

std::optional<Outcome> ExternalAuthenticator::cached(const CalloutInput& input,
                                                     Clock::time_point now) const {
  if (config_.cache_ttl.count() <= 0) return std::nullopt;
  const auto key = cache_key(input);
  if (!key) return std::nullopt;
  std::lock_guard lock(cache_mutex_);
  const auto it = cache_.find(*key);
  if (it == cache_.end() || it->second.expires <= now) return std::nullopt;
  return it->second.outcome;
}

void ExternalAuthenticator::remember(const CalloutInput& input, const CalloutDecision& decision,
                                     Clock::time_point now) {
  if (config_.cache_ttl.count() <= 0 || !decision.cacheable) return;
  const auto key = cache_key(input);
  if (!key) return;
  std::lock_guard lock(cache_mutex_);
  if (cache_.size() >= kMaxCached) {
    std::erase_if(cache_, [now](const auto& e) { return e.second.expires <= now; });
    if (cache_.size() >= kMaxCached) return;  // an optimisation, never a requirement
  }
  cache_[*key] = Entry{decision.outcome, now + config_.cache_ttl};
}

}  // namespace portcullis::authn
