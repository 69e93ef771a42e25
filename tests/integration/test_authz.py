"""Authorization rules end to end with real curl: user, group (htpasswd groups file and JWT
groups claim), claim, method, source, cert_subject and cert_issuer (the mTLS test PKI), any/all
combinations, authenticated, and the default of an authenticated route. A denial is 403
authz.denied naming the route, the rule (YAML path) and the reason in detailed mode; in generic
mode the body has no detail but the access log keeps it.
"""

import pytest

from conftest import (Echo, Gateway, assert_denial, free_port, mtls_curl, mtls_listener, route,
                      tool_hash, upstream)

IDENTITY = {"user": "X-Auth-User", "groups": "X-Auth-Groups"}

ROUTES = [  # name, prefix, authn, authz (None = absent)
    ("user", "/user/", ["users"], {"user": ["alice"]}),
    ("group", "/group/", ["users", "tokens"], {"group": ["ops"]}),
    ("claim", "/claim/", ["tokens"], {"claim": {"tenant": "blue"}}),
    ("method", "/method/", ["users"], {"method": ["GET", "HEAD"]}),
    ("src-deny", "/src-deny/", [], {"source": ["10.0.0.0/8", "::1"]}),
    ("src-ok", "/src-ok/", [], {"source": ["127.0.0.0/8"]}),
    ("cert", "/cert/", ["mtls"], {"cert_subject": "CN=alice,*"}),
    ("issuer", "/issuer/", ["mtls"], {"cert_issuer": ["CN=Portcullis Test Issuing CA B,*"]}),
    ("combo", "/combo/", ["mtls", "users", "tokens"],
     {"any": [{"all": [{"group": ["dev"]}, {"method": ["GET"]}]},
              {"cert_subject": "CN=bob,*"}]}),
    ("anon", "/anon/", [], {"authenticated": True}),
    ("default", "/default/", ["users"], None),
]


def rule_path(name: str, suffix: str) -> str:
    index = [r[0] for r in ROUTES].index(name)
    return f"listeners[0].routes[{index}].authz{suffix}"


@pytest.fixture(scope="module")
def env(module_procs, mtls_pki, jwt_tokens, tmp_path_factory):
    files = tmp_path_factory.mktemp("authz-files")
    (files / "users.htpasswd").write_text("".join(
        f"{u}:{tool_hash('openssl-6', u + '-pw')}\n" for u in ("alice", "bob", "carol")))
    (files / "groups.txt").write_text("ops: alice\ndev: alice bob\n")
    app = Echo(module_procs)
    routes = []
    for name, prefix, authn, authz in ROUTES:
        r = route(name, "app", prefix, authn=authn, identity_headers=IDENTITY)
        if authz is not None:
            r["authz"] = authz
        routes.append(r)
    p = mtls_pki

    def config(port, detail):
        return {
            "workers": 1,
            "errors": {"detail": detail},
            "listeners": [mtls_listener("main", port, p, p.client_auth("request"), routes)],
            "authenticators": {
                "users": {"type": "basic", "htpasswd": str(files / "users.htpasswd"),
                          "groups": str(files / "groups.txt"), "lockout": "off"},
                "tokens": jwt_tokens.authenticator(),
            },
            "upstreams": {"app": upstream(app.endpoint)},
        }

    gw = Gateway(module_procs, config(free_port(), "always"))
    generic = Gateway(module_procs, config(free_port(), "never"), name="generic")
    return {"gw": gw, "generic": generic, "pki": p, "tokens": jwt_tokens}


def req(env, path, case=None, *args, gw="gw"):
    return mtls_curl(env["pki"], env[gw].url("main", path), case, *args)


def as_user(env, path, user, *args, gw="gw"):
    return req(env, path, None, "-u", f"{user}:{user}-pw", *args, gw=gw)


def as_token(env, path, token, *args):
    return req(env, path, None, *env["tokens"].bearer(token), *args)


def denied(resp, route_name, rule_suffix, reason):
    body = assert_denial(resp, 403, "authz.denied")
    assert body["detail"] == (f'route "{route_name}": rule {rule_path(route_name, rule_suffix)}: '
                              f"{reason}"), body["detail"]
    assert resp.header("WWW-Authenticate") is None  # authenticated: a 403, not a challenge
    return body


# --- one condition per route ------------------------------------------------------------------

def test_user(env):
    assert as_user(env, "/user/x", "alice").status == 200
    denied(as_user(env, "/user/x", "bob"), "user", ".user", "needs user alice; the user is bob")


def test_group_from_the_groups_file_and_from_the_groups_claim(env):
    assert as_user(env, "/group/x", "alice").status == 200
    denied(as_user(env, "/group/x", "bob"), "group", ".group",
           "needs group ops; bob has groups [dev]")
    denied(as_user(env, "/group/x", "carol"), "group", ".group",
           "needs group ops; carol has groups []")
    assert as_token(env, "/group/x", "valid-rs256").status == 200  # groups [dev, ops]
    denied(as_token(env, "/group/x", "valid-bob"), "group", ".group",
           "needs group ops; bob has groups [dev]")


def test_claim(env):
    resp = as_token(env, "/claim/x", "valid-es256")
    assert resp.status == 200 and resp.json()["headers"]["x-auth-user"] == "alice"
    denied(as_token(env, "/claim/x", "valid-bob"), "claim", ".claim",
           "needs claim tenant=blue; it is tenant=red")


def test_method(env):
    assert as_user(env, "/method/x", "bob").status == 200
    assert as_user(env, "/method/x", "bob", "-I").status == 200
    for method in ("POST", "DELETE"):
        denied(as_user(env, "/method/x", "bob", "-X", method), "method", ".method",
               f"needs method GET or HEAD; the method is {method}")


def test_source(env):
    denied(req(env, "/src-deny/x"), "src-deny", ".source",
           "needs a source in [10.0.0.0/8, ::1]; the client is 127.0.0.1")
    assert req(env, "/src-ok/x").status == 200


def test_cert_subject(env):
    resp = req(env, "/cert/x", "good-one")  # CN=alice
    assert resp.status == 200 and resp.json()["headers"]["x-auth-user"] == "alice"
    subject = env["pki"].cases["good-two"]["subject"]
    denied(req(env, "/cert/x", "good-two"), "cert", ".cert_subject",
           f"needs a certificate subject matching 'CN=alice,*'; the subject is '{subject}'")
    # no certificate at all is an authentication failure, not an authorization one
    assert_denial(req(env, "/cert/x"), 400, "mtls.cert_missing")


def test_cert_issuer(env):
    assert req(env, "/issuer/x", "good-two").status == 200  # via Issuing CA B
    issuer = env["pki"].cases["good-one"]["issuer"]
    denied(req(env, "/issuer/x", "good-one"), "issuer", ".cert_issuer",
           "needs a certificate issuer matching 'CN=Portcullis Test Issuing CA B,*'; "
           f"the issuer is '{issuer}'")


# --- combinations and defaults ----------------------------------------------------------------

def test_any_of_all(env):
    assert as_user(env, "/combo/x", "bob").status == 200              # dev and GET
    assert as_token(env, "/combo/x", "valid-bob").status == 200       # dev (claim) and GET
    assert req(env, "/combo/x", "good-two", "-X", "POST").status == 200  # CN=bob certificate
    denied(as_user(env, "/combo/x", "bob", "-X", "POST"), "combo", ".any",
           "no rule allows: needs method GET; the method is POST; needs a client certificate "
           "subject matching 'CN=bob,*'; no client certificate")
    denied(as_user(env, "/combo/x", "carol"), "combo", ".any",
           "no rule allows: needs group dev; carol has groups []; needs a client certificate "
           "subject matching 'CN=bob,*'; no client certificate")


def test_authenticated_on_an_anonymous_route(env):
    denied(req(env, "/anon/x"), "anon", ".authenticated",
           "needs an authenticated identity; the request is anonymous")
    # a verified client certificate is an identity even on an anonymous route
    assert req(env, "/anon/x", "good-one").status == 200


def test_authenticated_route_without_rules_allows_any_identity(env):
    assert as_user(env, "/default/x", "carol").status == 200


def test_authentication_comes_before_authorization(env):
    assert_denial(req(env, "/user/x", None, "-u", "bob:wrong"), 401,
                  "basic.credentials_invalid")
    assert_denial(req(env, "/user/x"), 401, "authn.required")


def test_denial_is_logged_with_the_rule(env):
    resp = as_user(env, "/user/x", "bob")
    entry = env["gw"].log_entry(resp.header("X-Request-Id"))
    assert (entry["status"], entry["code"], entry["stage"]) == (403, "authz.denied", "authz")
    assert (entry["auth_method"], entry["user"]) == ("basic", "bob")
    assert rule_path("user", ".user") in entry["detail"]


# --- generic mode -----------------------------------------------------------------------------

def test_generic_mode_names_neither_rule_nor_reason(env):
    resp = as_user(env, "/group/x", "bob", gw="generic")
    body = assert_denial(resp, 403, "authz.denied")
    assert "detail" not in body
    assert "ops" not in resp.text and "listeners[0]" not in resp.text
    html = as_user(env, "/group/x", "bob", "-H", "Accept: text/html", gw="generic")
    assert html.status == 403 and "ops" not in html.text and "listeners[0]" not in html.text
    # the operator keeps the evidence
    entry = env["generic"].log_entry(resp.header("X-Request-Id"))
    assert "needs group ops; bob has groups [dev]" in entry["detail"]
