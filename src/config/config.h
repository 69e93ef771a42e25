// The validated configuration: plain structs produced from YAML by load_config(). Every field that
// can fail later (files, names) remembers its YAML path and line so later errors can name them.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/ip_network.h"
#include "core/log.h"
#include "core/proxy_select.h"
#include "core/result.h"

namespace portcullis::config {

using Duration = std::chrono::milliseconds;

/// Where a value came from in the YAML file, e.g. {"listeners[0].tls.cert", 12}.
struct Origin {
  std::string path;
  int line = 0;
};

/// A file named in the config, resolved relative to the config file's directory.
/// The loader has checked that it exists and is readable.
struct FileRef {
  std::string path;  ///< absolute or relative-to-cwd path ready to open
  Origin origin;
};

/// host:port. `host` is an IP literal (without brackets) or a DNS name.
struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  Origin origin;
  std::string to_string() const;  ///< "host:port" or "[v6]:port"
};

enum class DetailMode { Local, Always, Never };
enum class AccessLogTarget { Stdout, Stderr, File, Off };
enum class ClientAuthMode { Off, Request, Require, RequireHandshake };

struct AdminConfig {
  std::optional<Endpoint> listen;  ///< absent = no admin listener
};

struct LogConfig {
  AccessLogTarget access = AccessLogTarget::Stdout;
  std::string access_file;  ///< when access == File (resolved path)
  core::LogLevel level = core::LogLevel::Info;
};

struct ErrorsConfig {
  DetailMode detail = DetailMode::Local;
  std::vector<core::IpNetwork> detail_networks;
};

/// listeners[].tls.client_auth (enforced by the mTLS capability).
struct ClientAuthConfig {
  ClientAuthMode mode = ClientAuthMode::Off;
  std::optional<FileRef> trusted_ca;
  std::optional<FileRef> intermediates;
  int verify_depth = 4;
  bool require_client_auth_eku = true;
  bool verify_issuer_dn = false;
  std::optional<FileRef> crl;
  int denial_status = 400;
  Origin origin;
};

struct ServerTlsConfig {
  FileRef cert;  ///< leaf first, then intermediates
  FileRef key;
  std::optional<ClientAuthConfig> client_auth;
  Origin origin;
};

/// listeners[].limits: per-connection protections (nginx client_header_timeout and friends).
struct ListenerLimits {
  std::uint64_t max_header_bytes = 32 * 1024;  ///< request line + headers
  Duration header_timeout{10'000};             ///< first byte to end of headers
  Duration idle_timeout{60'000};               ///< keep-alive wait for the next request
  Duration body_timeout{60'000};               ///< max gap between two reads of a request body
  Duration handshake_timeout{10'000};          ///< TLS handshake
};

/// listeners[].request_normalization: how requests that other servers would read differently are
/// treated before anything reads them (docs/configuration.md, "Request normalisation").
struct RequestNormalization {
  /// A header name with '_' (CGI, PHP, WSGI and Rack read X_Auth_User as X-Auth-User).
  enum class Underscores { Drop, Reject };
  Underscores header_underscores = Underscores::Drop;
  /// `encoded_slash: keep`: %2F stays encoded inside its path segment instead of a 400.
  bool keep_encoded_slash = false;
};

/// routes[].identity_headers: header names set for the upstream. Empty = not sent.
struct IdentityHeaders {
  std::string user, groups, subject, issuer, san, fingerprint, verify, cert;
};

struct RouteMatch {
  std::string host = "*";  ///< exact, "*", or "*.suffix" (case-insensitive, port ignored)
  std::string path_prefix = "/";
};

/// routes[].authz: one rule of the tree. `any`/`all` combine children; every other kind is a
/// condition on the identity or the request (DESIGN.md "Configuration", issue: authorization).
struct AuthzRuleConfig {
  enum class Kind {
    Any,
    All,
    Authenticated,
    User,
    Group,
    Claim,
    CertSubject,
    CertSan,
    CertIssuer,
    Source,
    Method
  };
  Kind kind = Kind::Any;
  std::vector<AuthzRuleConfig> children;      ///< any / all
  std::vector<std::string> values;            ///< user, group, cert_* globs, method
  std::map<std::string, std::string> claims;  ///< claim: {name: value}
  std::vector<core::IpNetwork> networks;      ///< source
  std::vector<std::string> network_texts;     ///< source, as written (for reasons)
  bool authenticated = true;                  ///< authenticated: true|false
  Origin origin;
};

/// routes[].assertion: a signed identity assertion (an ES256 JWT, docs/callouts.md) the gateway
/// sends to the upstream in `header`, valid for `ttl`, for the backend named by `audience`.
struct AssertionConfig {
  std::string header = "X-Portcullis-Assertion";
  std::chrono::seconds ttl{60};  ///< 1 s .. 1 h, whole seconds (JWT times are seconds)
  std::string audience;          ///< the `aud` claim; required
  Origin origin;
};

struct RouteConfig {
  std::string name;
  RouteMatch match;
  std::vector<std::string> authn;  ///< authenticator names; "mtls" = listener verdict; [] anon
  std::optional<AuthzRuleConfig> authz;  ///< absent: any authenticated identity (or anonymous)
  std::string upstream;                  ///< name in upstreams
  std::uint64_t max_body = 1024 * 1024;
  IdentityHeaders identity_headers;
  std::optional<AssertionConfig> assertion;  ///< absent = no assertion sent
  Origin origin;
};

struct ListenerConfig {
  std::string name;
  Endpoint listen;
  std::optional<ServerTlsConfig> tls;  ///< absent = plain HTTP
  ListenerLimits limits;
  RequestNormalization normalization;
  std::vector<RouteConfig> routes;
  Origin origin;
};

/// `proxy:` of an outgoing target (an upstream, a JWKS url, an external authenticator):
/// `none` (the default), `env` (HTTPS_PROXY / HTTP_PROXY / NO_PROXY, as curl reads them) or an
/// `http://[user:password@]host:port` URL.
struct ProxyConfig {
  core::ProxySetting setting;
  Origin origin;
  bool configured() const { return setting.mode != core::ProxyMode::None; }
};

struct UpstreamTlsConfig {
  std::optional<FileRef> ca;  ///< absent = the system trust store
  std::string sni;            ///< empty = the endpoint host when it is a name
  Origin origin;
};

struct UpstreamConfig {
  std::string name;
  std::vector<Endpoint> endpoints;
  Duration connect_timeout{5'000};
  Duration response_timeout{60'000};  ///< request sent to response headers, and between reads
  std::optional<UpstreamTlsConfig> tls;
  int max_idle = 64;  ///< idle keep-alive connections kept per worker and endpoint
  ProxyConfig proxy;
  Origin origin;
};

/// authenticators.<name> of type basic: users from an htpasswd file.
struct BasicAuthConfig {
  std::string realm = "portcullis";
  FileRef htpasswd;
  std::optional<FileRef> groups;  ///< "group: user user" lines
  bool lockout = true;
  int lockout_failures = 5;          ///< failures per user and client address...
  Duration lockout_window{300'000};  ///< ...within this window lock that pair out for the window
  Duration cache_ttl{60'000};        ///< successful verifications remembered (0 = off)
};

/// authenticators.<name>.jwks: where the signing keys come from (exactly one of file, url).
struct JwksConfig {
  std::optional<FileRef> file;
  std::string url;                     ///< https://... fetched by the gateway
  std::optional<FileRef> ca;           ///< trust for the url (absent = system store)
  Duration refresh_interval{300'000};  ///< periodic refresh, and at most one refresh per interval
                                       ///< for an unknown kid
  Duration timeout{5'000};
  ProxyConfig proxy;  ///< url only
  Origin origin;
};

/// authenticators.<name> of type jwt: bearer tokens.
struct JwtAuthConfig {
  std::string realm = "portcullis";
  std::string issuer;
  std::vector<std::string> audiences;
  JwksConfig jwks;
  std::vector<std::string> algorithms;  ///< allow-list; required
  Duration leeway{60'000};
  std::vector<std::string> required_claims;
  std::string user_claim = "sub";
  std::string groups_claim;
};

/// authenticators.<name> of type external: a callout to an authorization service decides each
/// request (nginx auth_request, Envoy ext_authz HTTP, Traefik forwardAuth).
struct ExternalAuthConfig {
  std::string url;              ///< http:// or https://
  std::optional<FileRef> ca;    ///< trust for an https url (absent = system store)
  std::optional<FileRef> cert;  ///< client certificate presented to the service
  std::optional<FileRef> key;
  Duration timeout{2'000};
  /// Request headers sent along (besides X-Original-Method, X-Original-URI, X-Forwarded-*,
  /// and the client-certificate facts).
  std::vector<std::string> forward_headers{"Authorization", "Cookie"};
  std::vector<std::string> copy_headers;    ///< headers of a 2xx answer sent to the upstream
  std::string user_header = "X-Auth-User";  ///< the 2xx answer's header naming the user
  std::string groups_header;                ///< optional: comma-separated groups
  bool pass_body = false;                   ///< 401/403: the service's body goes to the client
  int denial_status = 403;                  ///< any status other than 2xx/401/403/404
  bool fail_open = false;                   ///< failure_mode: allow
  Duration cache_ttl{0};
  ProxyConfig proxy;
};

/// authenticators.<name>: the type decides which settings block is filled.
struct AuthenticatorConfig {
  std::string name;
  std::string type;
  Origin origin;
  std::optional<BasicAuthConfig> basic;
  std::optional<JwtAuthConfig> jwt;
  std::optional<ExternalAuthConfig> external;
};

/// assertion_signing: the key that signs the routes' assertions. The defaults apply when the
/// block is absent (origin.path is then empty).
struct AssertionSigningConfig {
  std::optional<FileRef> key;           ///< PEM, EC P-256 private key; absent = generated at start
  Duration rotate{24LL * 3600 * 1000};  ///< generated keys only: a new key every `rotate`
  std::string issuer = "portcullis";    ///< the `iss` claim
  Origin origin;
};

struct Config {
  std::string file;      ///< the config file as given
  std::string base_dir;  ///< directory relative paths are resolved against
  int workers = 0;       ///< 0 = number of cores
  Duration shutdown_timeout{30'000};
  /// Workers serve simple keep-alive requests from one epoll set (net/fast_lane.h); false =
  /// every request through the coroutine pipeline (same behaviour, more CPU per request).
  bool fast_lane = true;
  AdminConfig admin;
  LogConfig log;
  ErrorsConfig errors;
  std::vector<ListenerConfig> listeners;
  std::map<std::string, AuthenticatorConfig> authenticators;
  std::map<std::string, UpstreamConfig> upstreams;
  AssertionSigningConfig assertion_signing;
};

/// Parses and validates a config file. Errors name the YAML path and line.
core::Result<Config> load_config(const std::string& file);

/// Same, from text (base_dir resolves relative paths; `file` is used in messages).
core::Result<Config> load_config_text(const std::string& text, const std::string& base_dir,
                                      const std::string& file = "<text>");

}  // namespace portcullis::config
