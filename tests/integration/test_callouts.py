"""External authorization (`type: external`) end to end: the gateway calls a real auth service
the tests own (tests/integration/service.py) over http and https, and each answer and each
failure has its code and its detail: 2xx identity (user, groups, copy_headers to the upstream),
401/403 with the service's challenge (and body with pass_body), 404 callout.not_found, other
statuses the configured denial status, timeout, unresolvable name, closed port, untrusted CA,
TLS to an http URL and the reverse; failure_mode: allow (counted and logged); the decision
cache."""

import re
import time

import pytest

from conftest import (Echo, Gateway, assert_denial, curl, free_port, listener, route, upstream,
                      wait_for)
from service import Reply, Service

IDENTITY = {"user": "X-Auth-User", "groups": "X-Auth-Groups"}


def auth_service(request):
    """The auth service's policy, by the bearer token the client sent."""
    if request.path not in ("/check", "/check?x=1"):
        return Reply(404, "no such endpoint")
    token = request.headers.get("authorization", "")
    if token == "Bearer ok":
        return Reply(200, "", {"X-Auth-User": "alice", "X-Auth-Groups": "dev, ops",
                               "X-Tenant": "t1"})
    if token == "Bearer plain":
        return Reply(200, "", {"X-Auth-User": "bob"})
    if token == "Bearer forbid":
        return Reply(403, "forbidden here", {"Content-Type": "text/plain"})
    if token == "Bearer busy":
        return Reply(429, "slow down", {"Retry-After": "7"})
    if token == "Bearer boom":
        return Reply(500, "oops")
    if token == "Bearer slow":
        return Reply(200, "", {"X-Auth-User": "late"}, delay=2.5)
    return Reply(401, "<html>please log in</html>",
                 {"WWW-Authenticate": 'Bearer realm="auth-service"',
                  "Content-Type": "text/html"})


def closed_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def env(module_procs, pki):
    plain = module_procs.add(Service(auth_service))
    tls = module_procs.add(Service(auth_service, cert=pki.chain, key=pki.key))
    app = Echo(module_procs)
    base = {"type": "external", "forward_headers": ["Authorization", "X-Trace"],
            "copy_headers": ["X-Tenant"], "user_header": "X-Auth-User",
            "groups_header": "X-Auth-Groups", "timeout": "1s"}
    authenticators = {
        "plain": {**base, "url": plain.url("/check")},
        "pass": {**base, "url": plain.url("/check"), "pass_body": True},
        "tls": {**base, "url": tls.url("/check"), "ca": pki.root},
        "untrusted": {**base, "url": tls.url("/check"),
                      "ca": pki.path("client-ca-bundle.pem")},
        "wrongpath": {**base, "url": plain.url("/Check")},
        "tls_to_http": {**base, "url": f"https://127.0.0.1:{plain.port}/check", "ca": pki.root},
        "http_to_tls": {**base, "url": f"http://127.0.0.1:{tls.port}/check"},
        "dns": {**base, "url": "http://auth.no-such-host.invalid/check"},
        "closed": {**base, "url": f"http://127.0.0.1:{closed_port()}/check"},
        "failopen": {**base, "url": f"http://127.0.0.1:{closed_port()}/check",
                     "failure_mode": "allow"},
        "cached": {**base, "url": plain.url("/check"), "cache_ttl": "30s"},
        "status418": {**base, "url": plain.url("/check"), "denial_status": 418},
    }
    routes = [route(name, "app", f"/{name}/", authn=[name], identity_headers=IDENTITY)
              for name in authenticators]
    config = {
        "workers": 1,
        "admin": {"listen": f"127.0.0.1:{free_port()}"},
        "listeners": [listener("main", free_port(), routes, pki=pki)],
        "authenticators": authenticators,
        "upstreams": {"app": upstream(app.endpoint)},
    }
    gw = Gateway(module_procs, config)
    return {"gw": gw, "pki": pki, "plain": plain, "tls": tls}


def get(env, path, token=None, *args):
    extra = ["-H", f"Authorization: Bearer {token}"] if token else []
    return curl(env["gw"].url("main", path), *extra, *args, cacert=env["pki"].root)


@pytest.mark.parametrize("name", ["plain", "tls"])
def test_2xx_is_the_identity_and_copies_headers(env, name):
    r = get(env, f"/{name}/x?y=1", "ok", "-H", "X-Trace: abc", "-H", "X-Tenant: forged")
    assert r.status == 200, r.text
    seen = r.json()["headers"]
    assert seen["x-auth-user"] == "alice"
    assert seen["x-auth-groups"] == "dev,ops"
    assert seen["x-tenant"] == "t1", "copy_headers reach the upstream (not the client's copy)"
    log = env["gw"].log_entry(r.header("X-Request-Id"))
    assert log["auth_method"] == "external" and log["user"] == "alice"


def test_the_service_sees_the_request(env):
    service = env["plain"]
    before = len(service.seen)
    r = get(env, "/plain/some/path?q=2", "ok", "-X", "DELETE", "-H", "X-Trace: t-1",
            "-H", "Cookie: c=1", "-H", "X-Forwarded-For: 203.0.113.9")
    assert r.status == 200
    seen = service.seen[before]
    assert seen.method == "GET" and seen.path == "/check"
    h = seen.headers
    assert h["authorization"] == "Bearer ok"
    assert h["x-trace"] == "t-1"
    assert "cookie" not in h, "only forward_headers are sent"
    assert h["x-original-method"] == "DELETE"
    assert h["x-original-uri"] == "/plain/some/path?q=2"
    assert h["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
    assert h["x-forwarded-proto"] == "https"


def test_client_copy_of_a_copy_header_never_reaches_the_upstream(env):
    r = get(env, "/plain/x", "plain", "-H", "X-Tenant: forged")
    assert r.status == 200
    seen = r.json()["headers"]
    assert seen["x-auth-user"] == "bob"
    assert "x-tenant" not in seen


def test_401_passes_the_service_challenge(env):
    r = get(env, "/plain/x", "nope")
    body = assert_denial(r, 401, "callout.unauthorized")
    assert r.header("WWW-Authenticate") == 'Bearer realm="auth-service"'
    assert "answered 401" in body["detail"]
    assert "please log in" not in r.text
    r = get(env, "/pass/x", "nope")
    assert r.status == 401 and r.header("X-Denial-Code") == "callout.unauthorized"
    assert r.text == "<html>please log in</html>"
    assert r.header("Content-Type").startswith("text/html")


def test_403_is_forbidden(env):
    body = assert_denial(get(env, "/plain/x", "forbid"), 403, "callout.forbidden")
    assert "answered 403" in body["detail"]


@pytest.mark.parametrize("token,status", [("busy", "429"), ("boom", "500")])
def test_other_statuses_are_the_denial_status_never_a_500(env, token, status):
    r = get(env, "/plain/x", token)
    body = assert_denial(r, 403, "callout.unexpected_status")
    assert f"answered {status}" in body["detail"]
    if token == "busy":
        assert r.header("Retry-After") == "7"
    r = get(env, "/status418/x", token)
    assert_denial(r, 418, "callout.unexpected_status")


def test_timeout(env):
    started = time.monotonic()
    body = assert_denial(get(env, "/plain/x", "slow"), 503, "callout.timeout")
    assert time.monotonic() - started < 2.4
    assert "1000 ms" in body["detail"]


def test_wrong_path_is_not_found(env):
    body = assert_denial(get(env, "/wrongpath/x", "ok"), 503, "callout.not_found")
    assert "/Check" in body["detail"] and "case-sensitive" in body["detail"]


def test_unresolvable_name(env):
    body = assert_denial(get(env, "/dns/x", "ok"), 503, "callout.dns_failed")
    assert "auth.no-such-host.invalid" in body["detail"]


def test_closed_port(env):
    body = assert_denial(get(env, "/closed/x", "ok"), 503, "callout.connect_failed")
    assert "refused" in body["detail"]


def test_untrusted_ca(env):
    body = assert_denial(get(env, "/untrusted/x", "ok"), 503, "callout.tls_untrusted")
    assert "certificate verification failed" in body["detail"]
    assert "the server presented: [CN=" in body["detail"]


def test_tls_to_an_http_url_and_the_reverse(env):
    body = assert_denial(get(env, "/tls_to_http/x", "ok"), 503, "callout.protocol_mismatch")
    assert "plain HTTP" in body["detail"]
    body = assert_denial(get(env, "/http_to_tls/x", "ok"), 503, "callout.protocol_mismatch")
    assert "scheme" in body["detail"] or "https" in body["detail"]


def test_failure_mode_allow_is_counted_and_logged(env):
    gw = env["gw"]
    r = get(env, "/failopen/x", "anything")
    assert r.status == 200, r.text
    r = get(env, "/failopen/y", "anything")
    assert r.status == 200
    metrics = curl(gw.admin_url("/metrics")).text
    assert re.search(r'portcullis_callout_failed_open_total\{authenticator="failopen"\} 2', metrics)
    wait_for(lambda: gw.proc.stderr().count("failure_mode allow let a GET /failopen/") >= 2, 5,
             what="a log line per fail-open use")


def test_decisions_are_cached_by_the_forwarded_headers(env):
    service = env["plain"]
    before = service.count()
    assert get(env, "/cached/a", "ok").status == 200
    assert get(env, "/cached/b", "ok").status == 200
    assert service.count() == before + 1, "the second request was decided from the cache"
    assert get(env, "/cached/c", "ok", "-H", "X-Trace: other").status == 200
    assert service.count() == before + 2, "other forwarded headers, another decision"
    assert_denial(get(env, "/cached/a", "nope"), 401, "callout.unauthorized")
    assert_denial(get(env, "/cached/a", "nope"), 401, "callout.unauthorized")
    assert service.count() == before + 3


def test_client_certificate_for_the_service(module_procs, pki):
    mtls = module_procs.add(Service(auth_service, cert=pki.chain, key=pki.key,
                                    client_ca=pki.path("client-ca-bundle.pem")))
    app = Echo(module_procs, name="echo-mtls")
    base = {"type": "external", "url": mtls.url("/check"), "ca": pki.root, "timeout": "2s"}
    authenticators = {
        "withcert": {**base, "cert": pki.path("client-good.pem"),
                     "key": pki.path("client-good.key")},
        "nocert": dict(base),
    }
    config = {
        "workers": 1,
        "listeners": [listener("main", free_port(),
                               [route(n, "app", f"/{n}/", authn=[n], identity_headers=IDENTITY)
                                for n in authenticators], pki=pki)],
        "authenticators": authenticators,
        "upstreams": {"app": upstream(app.endpoint)},
    }
    gw = Gateway(module_procs, config, name="mtls-callout")
    r = curl(gw.url("main", "/withcert/x"), "-H", "Authorization: Bearer ok", cacert=pki.root)
    assert r.status == 200, r.text
    assert r.json()["headers"]["x-auth-user"] == "alice"
    r = curl(gw.url("main", "/nocert/x"), "-H", "Authorization: Bearer ok", cacert=pki.root)
    body = assert_denial(r, 503, "callout.connect_failed")
    assert "requires a client certificate" in body["detail"], body
