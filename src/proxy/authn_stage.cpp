// Authenticator dispatch: mtls verdicts, Basic (hashing on the blocking pool), JWT (key file
// re-read on an unknown kid), ambiguity across Basic authenticators, and the 401 discipline.
#include "proxy/authn_stage.h"

#include <algorithm>
#include <chrono>

#include "core/ascii.h"
#include "core/log.h"
#include "proxy/client_identity.h"

namespace portcullis::proxy {
namespace {

using core::DenialCode;
using Kind = RouteAuthenticator::Kind;

core::Denial mtls_denial(const ListenerRuntime& listener, DenialCode code, std::string detail) {
  core::Denial d = core::make_denial(code, std::move(detail));
  d.status = listener.client_auth_denial_status;
  return d;
}

/// The verdict of the listener as an authenticator outcome.
authn::Outcome mtls_outcome(const ConnectionContext& ctx) {
  const ListenerRuntime& listener = *ctx.listener;
  if (listener.client_auth == config::ClientAuthMode::Off || !ctx.client_cert) {
    // SECURITY: "mtls" on a listener without a verdict authenticates nobody.
    return authn::Rejected{mtls_denial(listener, DenialCode::MtlsCertInvalid,
                                       "no client-certificate verdict on this listener")};
  }
  const pki::Verdict& v = *ctx.client_cert;
  if (v.ok()) {
    return authn::Authenticated{identity_from_certificate(ctx.client_cert, ctx.client_cert_pem)};
  }
  if (v.outcome == pki::Verdict::Outcome::None) return authn::NotPresent{};
  return authn::Rejected{
      mtls_denial(listener, v.code.value_or(DenialCode::MtlsCertInvalid), v.detail())};
}

/// All Basic authenticators of a route answer one Authorization header together, like Apache's
/// provider list: the one file that knows the user verifies the password; a user found in
/// several files is ambiguous (denied once the password matched, so the answer never tells a
/// guesser that a name exists); a user found nowhere is verified against a dummy hash.
awaitable<authn::Outcome> basic_outcome(const ConnectionContext& ctx,
                                        const std::vector<const RouteAuthenticator*>& basics,
                                        std::string_view authorization) {
  auto parsed = basics.front()->basic->parse(authorization);
  if (auto* np = std::get_if<authn::NotPresent>(&parsed)) co_return *np;
  if (auto* rj = std::get_if<authn::Rejected>(&parsed)) co_return *rj;
  const auto& credentials = std::get<authn::BasicCredentials>(parsed);
  std::vector<const RouteAuthenticator*> owners;
  for (const auto* b : basics) {
    if (b->basic->has_user(credentials.user)) owners.push_back(b);
  }
  if (owners.empty()) owners.push_back(basics.front());
  const auto now = std::chrono::steady_clock::now();
  std::vector<authn::Outcome> results;
  for (const auto* owner : owners) {
    if (auto fast = owner->basic->verify_fast(credentials, ctx.peer, now)) {
      results.push_back(std::move(*fast));
      continue;
    }
    // SECURITY: hashing is slow on purpose; it never runs on an I/O thread.
    authn::Outcome result = authn::NotPresent{};
    co_await ctx.blocking->run([&] { result = owner->basic->verify(credentials, ctx.peer, now); });
    results.push_back(std::move(result));
  }
  if (owners.size() > 1) {
    const bool matched = std::any_of(results.begin(), results.end(), [](const auto& r) {
      return std::holds_alternative<authn::Authenticated>(r);
    });
    if (matched) {
      core::Denial d = core::make_denial(DenialCode::IdentityAmbiguous,
                                         "user \"" + credentials.user +
                                             "\" exists in authenticators \"" + owners[0]->name +
                                             "\" and \"" + owners[1]->name + "\" of this route");
      d.headers.emplace_back("WWW-Authenticate", owners[0]->basic->challenge());
      co_return authn::Rejected{std::move(d)};
    }
  }
  co_return std::move(results.front());
}

awaitable<authn::Outcome> jwt_outcome(const ConnectionContext& ctx, JwtEntry& jwt,
                                      std::string_view authorization) {
  auto outcome = jwt.verifier->authenticate(authorization, std::chrono::system_clock::now());
  if (!authn::JwtAuthenticator::needs_key_refresh(outcome)) co_return outcome;
  if (jwt.jwks_remote) {
    // An unknown kid: the issuer may have rotated its keys. Fetch (at most once per interval);
    // a failed fetch, or keys never fetched, is jwt.jwks_unavailable with the reason.
    const KeyRefresh refresh = co_await jwt.jwks_remote->refresh_for_unknown_kid();
    if (!refresh.error.empty()) {
      co_return jwt.verifier->jwks_unavailable(refresh.error, refresh.retry_after);
    }
    if (!refresh.fetched) co_return outcome;
    co_return jwt.verifier->authenticate(authorization, std::chrono::system_clock::now());
  }
  if (!jwt.jwks_file) co_return outcome;
  // An unknown kid may mean the keys rotated: re-read the JWKS file (at most once per
  // refresh_interval) off the I/O thread and try once more.
  bool reloaded = false;
  co_await ctx.blocking->run(
      [&] { reloaded = jwt.jwks_file->refresh(std::chrono::steady_clock::now()); });
  if (!reloaded) co_return outcome;
  jwt.verifier->set_keys(jwt.jwks_file->current()->keys());
  co_return jwt.verifier->authenticate(authorization, std::chrono::system_clock::now());
}

authn::CalloutInput callout_input(const ConnectionContext& ctx, const ExternalEntry& external,
                                  const RequestHead& head) {
  authn::CalloutInput in;
  in.method = head.method;
  in.uri = head.target;
  in.host = std::string(head.headers.get("host").value_or(""));
  in.tls = ctx.listener->tls;
  const auto xff = head.headers.get("x-forwarded-for");
  in.forwarded_for = xff ? std::string(*xff) + ", " + ctx.peer_text : ctx.peer_text;
  for (const auto& name : external.decider->config().forward_headers) {
    for (const auto& field : head.headers.fields()) {
      if (core::ascii_iequals(field.first, name)) {
        in.forwarded.emplace_back(name, field.second);
      }
    }
  }
  if (ctx.client_cert) {
    const pki::Verdict& v = *ctx.client_cert;
    in.cert_verify = v.ssl_client_verify();
    if (v.outcome != pki::Verdict::Outcome::None) {
      in.cert_subject = v.leaf.subject;
      in.cert_issuer = v.leaf.issuer;
      in.cert_sha256 = v.leaf.sha256;
    }
  }
  return in;
}

awaitable<authn::Outcome> external_outcome(const ConnectionContext& ctx, ExternalEntry& external,
                                           const RequestHead& head) {
  const authn::CalloutInput input = callout_input(ctx, external, head);
  const auto now = std::chrono::steady_clock::now();
  if (auto hit = external.decider->cached(input, now)) co_return std::move(*hit);
  auto result = co_await external.callout->call(external.decider->request_headers(input));
  authn::CalloutDecision decision = external.decider->decide(result, external.callout->target());
  if (decision.failed_open) {
    if (external.failed_open != nullptr) external.failed_open->fetch_add(1);
    // Every use of fail-open is visible: the operator chose it, the log shows each time.
    core::log(core::LogLevel::Warn, "authenticators.{}: failure_mode allow let a {} {} through: {}",
              external.decider->name(), head.method, head.path(), result.detail);
  }
  external.decider->remember(input, decision, std::chrono::steady_clock::now());
  co_return std::move(decision.outcome);
}

std::string scheme_of(std::string_view authorization) {
  const auto space = authorization.find(' ');
  return std::string(authorization.substr(0, space));
}

/// Steps 1 and the Authorization check: the listener's requirement (require /
/// require_handshake need a valid certificate on every route, whatever the route's own list
/// says), an anonymous route's result, more than one Authorization header. Nullopt: the route's
/// authenticators decide.
std::optional<AuthnResult> before_authenticators(const ConnectionContext& ctx,
                                                 const RouteRuntime& route,
                                                 const HeaderList& headers) {
  const ListenerRuntime& listener = *ctx.listener;
  AuthnResult result;
  if (listener.client_auth != config::ClientAuthMode::Off) {
    if (!ctx.client_cert) {
      // SECURITY: a listener with client_auth always has a verdict; if it is missing, deny.
      result.denial =
          mtls_denial(listener, DenialCode::MtlsCertInvalid, "no client-certificate verdict");
      return result;
    }
    const pki::Verdict& v = *ctx.client_cert;
    if (listener.client_auth != config::ClientAuthMode::Request && !v.ok()) {
      result.denial =
          mtls_denial(listener, v.code.value_or(DenialCode::MtlsCertInvalid), v.detail());
      return result;
    }
    // A verified certificate is the identity of an anonymous route (facts for rules and logs).
    if (v.ok() && route.authn.empty()) {
      result.identity = identity_from_certificate(ctx.client_cert, ctx.client_cert_pem);
    }
  }
  if (route.authn.empty()) return result;
  if (headers.count("authorization") > 1) {
    result.denial =
        core::make_denial(DenialCode::RequestMalformed, "more than one Authorization header");
    return result;
  }
  return std::nullopt;
}

/// An authenticator's outcome as the stage's result; nullopt for NotPresent (ask the next one).
std::optional<AuthnResult> decided(authn::Outcome& outcome) {
  AuthnResult result;
  if (auto* rejected = std::get_if<authn::Rejected>(&outcome)) {
    result.denial = std::move(rejected->denial);
    return result;
  }
  if (auto* ok = std::get_if<authn::Authenticated>(&outcome)) {
    result.identity = std::move(ok->identity);
    return result;
  }
  return std::nullopt;
}

/// Step 3, nothing present: 401 with one challenge per scheme the route accepts.
AuthnResult nothing_present(const ConnectionContext& ctx, const RouteRuntime& route,
                            std::string_view authorization) {
  AuthnResult result;
  std::vector<std::string> schemes;
  std::vector<std::string> challenges;
  bool mtls_only = true;
  for (const RouteAuthenticator& entry : route.authn) {
    if (entry.kind == Kind::Basic) {
      schemes.push_back("Basic");
      challenges.push_back(entry.basic->challenge());
      mtls_only = false;
    } else if (entry.kind == Kind::Jwt) {
      schemes.push_back("Bearer");
      challenges.push_back(entry.jwt->verifier->challenge());
      mtls_only = false;
    }
  }
  if (mtls_only) {
    // Only a client certificate would do, and none was sent.
    const auto& missing = *ctx.client_cert;
    result.denial = mtls_denial(*ctx.listener, DenialCode::MtlsCertMissing, missing.detail());
    return result;
  }
  std::string accepted;
  for (const auto& s : schemes) {
    if (accepted.find(s) != std::string::npos) continue;
    if (!accepted.empty()) accepted += ", ";
    accepted += s;
  }
  bool with_certificate = false;
  for (const auto& e : route.authn) with_certificate = with_certificate || e.kind == Kind::Mtls;
  if (with_certificate) accepted += ", or a client certificate";
  core::Denial d =
      authorization.empty()
          ? core::make_denial(DenialCode::AuthnRequired,
                              "route \"" + route.config->name + "\" accepts " + accepted)
          : core::make_denial(DenialCode::AuthnSchemeNotAccepted,
                              "the request used the \"" + scheme_of(authorization) +
                                  "\" scheme; route \"" + route.config->name + "\" accepts " +
                                  accepted);
  for (auto& c : challenges) d.headers.emplace_back("WWW-Authenticate", std::move(c));
  result.denial = std::move(d);
  return result;
}

}  // namespace

std::optional<AuthnResult> run_authn_stage_now(const ConnectionContext& ctx,
                                               const RouteRuntime& route, const RequestHead& head) {
  for (const RouteAuthenticator& entry : route.authn) {
    if (entry.kind != Kind::Mtls) return std::nullopt;  // may have to wait
  }
  if (auto early = before_authenticators(ctx, route, head.headers)) return early;
  // Every entry is mtls (and there is one at least): they would all give the same outcome.
  authn::Outcome outcome = mtls_outcome(ctx);
  if (auto result = decided(outcome)) return result;
  return nothing_present(ctx, route, head.headers.get("authorization").value_or(""));
}

awaitable<AuthnResult> run_authn_stage(const ConnectionContext& ctx, const RouteRuntime& route,
                                       const RequestHead& head) {
  const HeaderList& headers = head.headers;
  if (auto early = before_authenticators(ctx, route, headers)) co_return std::move(*early);

  // 2. The route's authenticators, in order.
  const std::string_view authorization = headers.get("authorization").value_or("");
  std::vector<const RouteAuthenticator*> basics;
  for (const RouteAuthenticator& entry : route.authn) {
    if (entry.kind == Kind::Basic) basics.push_back(&entry);
  }
  bool basic_done = false;
  for (const RouteAuthenticator& entry : route.authn) {
    authn::Outcome outcome = authn::NotPresent{};
    switch (entry.kind) {
      case Kind::Mtls:
        outcome = mtls_outcome(ctx);
        break;
      case Kind::Basic:
        if (basic_done) continue;  // the Basic authenticators answered together
        basic_done = true;
        outcome = co_await basic_outcome(ctx, basics, authorization);
        break;
      case Kind::Jwt:
        outcome = co_await jwt_outcome(ctx, *entry.jwt, authorization);
        break;
      case Kind::External:
        outcome = co_await external_outcome(ctx, *entry.external, head);
        break;
    }
    if (auto result = decided(outcome)) co_return std::move(*result);
  }
  co_return nothing_present(ctx, route, authorization);
}

}  // namespace portcullis::proxy
