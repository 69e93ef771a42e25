// Runtime snapshot construction: resolve names to indexes once so the request path never looks
// anything up by string.
#include "proxy/runtime.h"

#include "core/log.h"

namespace portcullis::proxy {
namespace {

/// One user in several Basic authenticators of a route is denied as identity.ambiguous at
/// request time; say so at load, naming both places.
void warn_ambiguous_users(const config::RouteConfig& route,
                          const std::vector<RouteAuthenticator>& authn) {
  std::vector<const RouteAuthenticator*> basics;
  for (const auto& a : authn) {
    if (a.kind == RouteAuthenticator::Kind::Basic) basics.push_back(&a);
  }
  for (std::size_t i = 0; i < basics.size(); ++i) {
    const auto file_i = basics[i]->basic->htpasswd().current();
    for (std::size_t j = i + 1; j < basics.size(); ++j) {
      const auto file_j = basics[j]->basic->htpasswd().current();
      for (const auto& entry : file_i->entries()) {
        if (!file_j->has_user(entry.user)) continue;
        core::log(core::LogLevel::Warn,
                  "{}: user \"{}\" is defined in authenticators \"{}\" ({} line {}) and \"{}\" "
                  "({}): requests as this user are denied with identity.ambiguous",
                  route.origin.path + ".authn", entry.user, basics[i]->name,
                  basics[i]->basic->htpasswd().path(), entry.line, basics[j]->name,
                  basics[j]->basic->htpasswd().path());
      }
    }
  }
}

std::vector<std::string> identity_header_names(const config::Config& config,
                                               const config::ListenerConfig& listener) {
  std::vector<std::string> names;
  for (const auto& r : listener.routes) {
    // SECURITY: what an external authorization service asserts (copy_headers) is identity too:
    // a client-sent copy must never reach the upstream when the service sends none.
    for (const auto& a : r.authn) {
      const auto it = config.authenticators.find(a);
      if (it == config.authenticators.end() || !it->second.external) continue;
      for (const auto& n : it->second.external->copy_headers) names.push_back(n);
    }
    const auto& h = r.identity_headers;
    for (const auto* n :
         {&h.user, &h.groups, &h.subject, &h.issuer, &h.san, &h.fingerprint, &h.verify, &h.cert}) {
      if (!n->empty()) names.push_back(*n);
    }
    if (r.assertion) names.push_back(r.assertion->header);
  }
  return names;
}

}  // namespace

core::Result<std::shared_ptr<const Runtime>> build_runtime(config::Config config,
                                                           metrics::Registry& metrics,
                                                           const OutboundFactories* outbound) {
  auto log = AccessLog::open(config.log);
  if (!log) return std::unexpected(log.error());
  auto authenticators = AuthenticatorSet::build(config, outbound);
  if (!authenticators) return std::unexpected(authenticators.error());
  auto signer = authn::AssertionSigner::create(config, std::chrono::system_clock::now());
  if (!signer) return std::unexpected(signer.error());
  if (*signer && !config.admin.listen) {
    core::log(core::LogLevel::Warn,
              "routes send signed identity assertions but there is no admin listener: backends "
              "cannot fetch /.well-known/jwks.json or call /auth/verify (set admin.listen)");
  }
  auto rt = std::make_shared<Runtime>(Runtime{std::move(config),
                                              {},
                                              {},
                                              &metrics,
                                              std::move(*log),
                                              std::move(*authenticators),
                                              std::move(*signer)});
  for (auto& [name, external] : rt->authenticators->externals()) {
    external->failed_open = metrics.callout_failed_open(name);
  }
  std::vector<std::string> names;
  for (const auto& [name, up] : rt->config.upstreams) {
    names.push_back(name);
    rt->upstreams.push_back(&up);
  }
  for (const auto& lc : rt->config.listeners) {
    ListenerRuntime lr{&lc,
                       route::Router(lc.routes),
                       {},
                       IdentityHeaderStripper(identity_header_names(rt->config, lc)),
                       metrics.route(lc.name, ""),
                       metrics.listener(lc.name),
                       lc.tls.has_value()};
    if (lc.tls && lc.tls->client_auth) {
      lr.client_auth = lc.tls->client_auth->mode;
      lr.client_auth_denial_status = lc.tls->client_auth->denial_status;
    }
    for (const auto& rc : lc.routes) {
      if (!rc.identity_headers.cert.empty()) lr.wants_client_cert_pem = true;
      std::size_t index = 0;
      while (index < names.size() && names[index] != rc.upstream) ++index;
      if (index == names.size()) {
        return core::fail("unknown upstream \"" + rc.upstream + "\"", rc.origin.path + ".upstream",
                          rc.origin.line);
      }
      auto authn = rt->authenticators->route_list(rc.authn);
      if (!authn) {
        return core::fail(authn.error().message, rc.origin.path + ".authn", rc.origin.line);
      }
      warn_ambiguous_users(rc, *authn);
      lr.routes.push_back(RouteRuntime{
          &rc, index, metrics.route(lc.name, rc.name),
          authz::Policy::compile(rc.authz, !rc.authn.empty(), rc.origin), std::move(*authn)});
    }
    rt->listeners.push_back(std::move(lr));
  }
  return std::shared_ptr<const Runtime>(std::move(rt));
}

}  // namespace portcullis::proxy
