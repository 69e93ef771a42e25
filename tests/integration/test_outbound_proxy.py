"""Outbound proxies with a real forward proxy (tinyproxy, tests/integration/forward_proxy.py):
callouts over http (absolute form) and https (CONNECT), with and without Basic proxy
authentication (407 explained, naming the proxy and its scheme), a refused CONNECT, a proxy that
is down, `proxy: env` with HTTPS_PROXY and the NO_PROXY bypass, a JWKS url and upstreams (http
and https) through the proxy."""

import os
from pathlib import Path

import pytest

from conftest import (Echo, Gateway, assert_denial, curl, free_port, listener, route,
                      sanitizer_env, upstream)
from forward_proxy import Tinyproxy
from service import Reply, Service

IDENTITY = {"user": "X-Auth-User"}


def allow(request):
    if request.path != "/check":
        return Reply(404, "no")
    return Reply(200, "", {"X-Auth-User": "alice", "X-Seen-Via": request.headers.get("via", "")})


@pytest.fixture(scope="module")
def env(module_procs, pki):
    open_proxy = Tinyproxy(module_procs, name="open-proxy")
    auth_proxy = Tinyproxy(module_procs, user="gw", password="pr0xy", name="auth-proxy")
    strict_proxy = Tinyproxy(module_procs, connect_ports=[443], name="strict-proxy")
    plain = module_procs.add(Service(allow))
    tls = module_procs.add(Service(allow, cert=pki.chain, key=pki.key))
    return {"procs": module_procs, "pki": pki, "open": open_proxy, "auth": auth_proxy,
            "strict": strict_proxy, "plain": plain, "tls": tls, "app": Echo(module_procs)}


def gateway(env, authenticators: dict, extra_env: dict | None = None, name="gw",
            upstreams: dict | None = None, extra_routes: list | None = None) -> Gateway:
    routes = [route(n, "app", f"/{n}/", authn=[n], identity_headers=IDENTITY)
              for n in authenticators] + (extra_routes or [])
    config = {
        "workers": 1,
        "listeners": [listener("main", free_port(), routes, pki=env["pki"])],
        "authenticators": authenticators,
        "upstreams": {"app": upstream(env["app"].endpoint), **(upstreams or {})},
    }
    process_env = None
    if extra_env is not None:
        process_env = {k: v for k, v in sanitizer_env().items()
                       if k.lower() not in ("http_proxy", "https_proxy", "no_proxy")}
        process_env.update(extra_env)
    return Gateway(env["procs"], config, name=name, env=process_env)


def external(url: str, **extra) -> dict:
    return {"type": "external", "url": url, "timeout": "3s", **extra}


def get(env, gw, path):
    return curl(gw.url("main", path), cacert=env["pki"].root)


def test_callouts_through_an_explicit_proxy(env):
    pki = env["pki"]
    gw = gateway(env, {
        "http_via": external(env["plain"].url("/check"), proxy=env["open"].url()),
        "https_via": external(env["tls"].url("/check"), ca=pki.root, proxy=env["open"].url()),
        "authed": external(env["tls"].url("/check"), ca=pki.root,
                           proxy=env["auth"].url("gw", "pr0xy")),
    })
    r = get(env, gw, "/http_via/x")
    assert r.status == 200, r.text
    # tinyproxy adds Via to what it forwards: the service saw the proxied request.
    assert "tinyproxy" in env["plain"].seen[-1].headers.get("via", "")
    before = env["open"].connects_to(env["tls"].port)
    r = get(env, gw, "/https_via/x")
    assert r.status == 200, r.text
    assert env["open"].connects_to(env["tls"].port) == before + 1, "a CONNECT tunnel was used"
    r = get(env, gw, "/authed/x")
    assert r.status == 200, r.text


def test_407_names_the_proxy_and_its_scheme(env):
    pki = env["pki"]
    gw = gateway(env, {
        "nocreds_http": external(env["plain"].url("/check"), proxy=env["auth"].url()),
        "nocreds_https": external(env["tls"].url("/check"), ca=pki.root, proxy=env["auth"].url()),
        "badcreds": external(env["tls"].url("/check"), ca=pki.root,
                             proxy=env["auth"].url("gw", "wrong")),
    })
    for path in ("/nocreds_http/x", "/nocreds_https/x"):
        body = assert_denial(get(env, gw, path), 503, "callout.proxy_auth_required")
        detail = body["detail"]
        assert f"proxy http://127.0.0.1:{env['auth'].port} answered 40" in detail, detail
        assert "Basic" in detail and "no credentials are configured" in detail
    body = assert_denial(get(env, gw, "/badcreds/x"), 503, "callout.proxy_auth_required")
    assert 'credentials of user "gw" were refused' in body["detail"]
    assert "wrong" not in body["detail"], "the proxy password is never shown"


def test_refused_connect_and_proxy_down(env):
    pki = env["pki"]
    down = f"http://127.0.0.1:{free_port()}"
    gw = gateway(env, {
        "refused": external(env["tls"].url("/check"), ca=pki.root, proxy=env["strict"].url()),
        "down": external(env["plain"].url("/check"), proxy=down),
    })
    body = assert_denial(get(env, gw, "/refused/x"), 503, "callout.proxy_refused")
    assert f"refused CONNECT 127.0.0.1:{env['tls'].port}" in body["detail"]
    body = assert_denial(get(env, gw, "/down/x"), 503, "callout.connect_failed")
    assert f"connect to proxy {down}" in body["detail"] and "refused" in body["detail"]


def test_env_proxy_and_no_proxy_bypass(env):
    pki = env["pki"]
    auth = {"viaenv": external(env["tls"].url("/check"), ca=pki.root, proxy="env")}
    # HTTPS_PROXY points at the authenticating proxy without credentials: through it, 407.
    gw = gateway(env, auth, extra_env={"HTTPS_PROXY": env["auth"].url()}, name="env")
    assert_denial(get(env, gw, "/viaenv/x"), 503, "callout.proxy_auth_required")
    assert "HTTPS_PROXY" in gw.proc.stderr()
    # The same with NO_PROXY covering the target: a direct connection, 200.
    bypass = gateway(env, auth, name="bypass",
                     extra_env={"HTTPS_PROXY": env["auth"].url(), "NO_PROXY": "localhost,127.0.0.0/8"})
    assert get(env, bypass, "/viaenv/x").status == 200
    assert "NO_PROXY" in bypass.proc.stderr()
    # proxy: none ignores the environment.
    direct = gateway(env, {"none": external(env["tls"].url("/check"), ca=pki.root)},
                     extra_env={"HTTPS_PROXY": env["auth"].url()}, name="none")
    assert get(env, direct, "/none/x").status == 200


def test_jwks_through_the_proxy(env, jwt_tokens):
    pki = env["pki"]
    keys = Path(jwt_tokens.path("jwks.json")).read_bytes()
    jwks = env["procs"].add(Service(lambda r: Reply(200, keys), cert=pki.chain, key=pki.key))
    tokens = jwt_tokens.authenticator()
    tokens["jwks"] = {"url": jwks.url("/keys"), "ca": pki.root,
                      "proxy": env["auth"].url("gw", "pr0xy")}
    gw = gateway(env, {"tokens": tokens})
    r = curl(gw.url("main", "/tokens/x"), *jwt_tokens.bearer("valid-rs256"), cacert=pki.root)
    assert r.status == 200, r.text
    assert env["auth"].connects_to(jwks.port) >= 1
    # Without credentials the fetch fails with the proxy's 407 in the detail.
    tokens["jwks"]["proxy"] = env["auth"].url()
    gw2 = gateway(env, {"tokens": tokens}, name="jwks407")
    r = curl(gw2.url("main", "/tokens/x"), *jwt_tokens.bearer("valid-rs256"), cacert=pki.root)
    body = assert_denial(r, 503, "jwt.jwks_unavailable")
    assert "answered 407" in body["detail"]


def test_upstreams_through_the_proxy(env):
    pki = env["pki"]
    tls_app = Echo(env["procs"], pki=pki, tls=True, name="tls-echo")
    upstreams = {
        "plain_via": upstream(env["app"].endpoint, proxy=env["open"].url()),
        "tls_via": upstream(tls_app.endpoint, proxy=env["auth"].url("gw", "pr0xy"),
                            tls={"ca": pki.root, "sni": "localhost"}),
        "plain_407": upstream(env["app"].endpoint, proxy=env["auth"].url()),
        "tls_407": upstream(tls_app.endpoint, proxy=env["auth"].url(),
                            tls={"ca": pki.root, "sni": "localhost"}),
    }
    routes = [route(n, n, f"/{n}/") for n in upstreams]
    gw = gateway(env, {}, upstreams=upstreams, extra_routes=routes)
    r = get(env, gw, "/plain_via/x")
    assert r.status == 200, r.text
    assert "tinyproxy" in r.json()["headers"].get("via", "")
    before = env["auth"].connects_to(tls_app.port)
    r = get(env, gw, "/tls_via/x")
    assert r.status == 200, r.text
    assert env["auth"].connects_to(tls_app.port) == before + 1
    for path in ("/plain_407/x", "/tls_407/x"):
        body = assert_denial(get(env, gw, path), 502, "upstream.proxy_auth_required")
        assert f"proxy http://127.0.0.1:{env['auth'].port}" in body["detail"]


def test_check_config_warns_about_internal_targets_behind_a_proxy(env, tmp_path):
    import json
    import subprocess
    from conftest import binary
    config = {
        "listeners": [listener("main", free_port(), [], pki=env["pki"])],
        "authenticators": {
            "check": external("http://authsvc:9000/check", proxy=env["open"].url()),
            "public": external("https://auth.example.com/check", proxy=env["open"].url()),
            "bypassed": external("http://10.1.2.3/check", proxy="env"),
        },
        "upstreams": {"app": upstream("10.0.0.5:8080", proxy=env["open"].url())},
    }
    path = tmp_path / "gw.yaml"
    path.write_text(json.dumps(config))
    run_env = {k: v for k, v in sanitizer_env().items()
               if k.lower() not in ("http_proxy", "https_proxy", "no_proxy")}
    run_env.update({"http_proxy": env["open"].url(), "no_proxy": "10.0.0.0/8"})
    r = subprocess.run([binary(), "check-config", "-c", str(path)], capture_output=True,
                       text=True, timeout=30, env=run_env)
    assert r.returncode == 0, r.stderr
    out = r.stdout + r.stderr
    assert 'external authenticator "check" (http://authsvc:9000/check) goes through proxy' in out
    assert "a single-label host name" in out
    assert 'upstream "app" endpoint 10.0.0.5:8080 goes through proxy' in out
    assert "a private address (10.0.0.0/8)" in out
    assert '"public"' not in out, "a public name is not internal"
    assert '"bypassed"' not in out, "NO_PROXY bypasses the proxy"
