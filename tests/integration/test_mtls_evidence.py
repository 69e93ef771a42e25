"""What the gateway tells others about a client certificate: the identity headers the upstream
receives (subject, issuer, SANs, fingerprint, verdict, the URL-escaped PEM leaf), the removal of
client-sent copies (X-Client-*, X-Forwarded-Client-Cert) even when the client has a valid
certificate, the detail modes for mTLS denials, and the verdict counters on /metrics.
"""

import socket
import time
import urllib.parse
import urllib.request

import pytest

from conftest import (Echo, Gateway, assert_denial, free_port, metric_value, mtls_curl,
                      mtls_listener, route, upstream, wait_for)

IDENTITY = {"user": "X-Auth-User", "subject": "X-Client-Subject", "issuer": "X-Client-Issuer",
            "san": "X-Client-San", "fingerprint": "X-Client-Sha256", "verify": "X-Client-Verify",
            "cert": "X-Client-Cert"}

FORGED = {
    "X-Auth-User": "admin",
    "X-Client-Subject": "CN=admin,O=Forged",
    "X-Client-Issuer": "CN=Forged CA",
    "X-Client-San": "DNS:forged.example",
    "X-Client-Sha256": "00" * 32,
    "X-Client-Verify": "SUCCESS",
    "X-Client-Cert": "-----BEGIN%20CERTIFICATE-----forged",
    "X-Client-Cert-Chain": "forged-chain",
    "X-Forwarded-Client-Cert": "Hash=forged;Subject=\"CN=admin\"",
    "X-SSL-Client-DN": "CN=admin,O=Forged",
}


def forged_args(headers: dict = FORGED) -> list[str]:
    out = []
    for name, value in headers.items():
        out += ["-H", f"{name}: {value}"]
    return out


@pytest.fixture(scope="module")
def env(module_procs, mtls_pki):
    app = Echo(module_procs)
    p = mtls_pki
    routes = [
        route("secure", "app", "/secure/", authn=["mtls"], identity_headers=IDENTITY),
        # a custom header name for the subject: configured names are stripped too
        route("custom", "app", "/custom/", authn=["mtls"],
              identity_headers={"subject": "X-SSL-Client-DN"}),
        route("bare", "app", "/bare/", authn=["mtls"]),
        route("open", "app", "/", identity_headers=IDENTITY),
    ]
    gw = Gateway(module_procs, {
        "workers": 1,
        "listeners": [mtls_listener("request", free_port(), p, p.client_auth("request"), routes),
                      mtls_listener("require", free_port(), p, p.client_auth("require"),
                                    [route("all", "app", "/", identity_headers=IDENTITY)])],
        "upstreams": {"app": upstream(app.endpoint)}})
    always = Gateway(module_procs, {
        "workers": 1, "errors": {"detail": "always"},
        "listeners": [mtls_listener("require", free_port(), p, p.client_auth("require"),
                                    [route("all", "app", "/")])],
        "upstreams": {"app": upstream(app.endpoint)}}, name="always")
    return {"gw": gw, "always": always, "pki": p, "app": app}


def get(env, listener, case, path, *args, tls=None, gw="gw"):
    return mtls_curl(env["pki"], env[gw].url(listener, path), case, *args, tls=tls)


# --- identity headers ---------------------------------------------------------------------------

@pytest.mark.parametrize("tls", ["1.3", "1.2"])
@pytest.mark.parametrize("case,user", [("good-one", "alice"), ("good-two", "bob")])
def test_identity_headers_reach_the_upstream(env, mtls_pki, case, user, tls):
    resp = get(env, "request", case, "/secure/who", tls=tls)
    assert resp.status == 200, resp.text
    h = resp.json()["headers"]
    c = mtls_pki.cases[case]
    assert h["x-auth-user"] == user
    assert h["x-client-subject"] == c["subject"]
    assert h["x-client-issuer"] == c["issuer"]
    assert h["x-client-san"] == f"DNS:{user}.clients.test,email:{user}@clients.test"
    assert h["x-client-sha256"] == mtls_pki.sha256(case)
    assert h["x-client-verify"] == "SUCCESS"
    escaped = h["x-client-cert"]
    # URL-escaped (nginx's $ssl_client_escaped_cert): one header line, no raw PEM syntax
    assert "\n" not in escaped and " " not in escaped and "=" not in escaped
    assert escaped.startswith("-----BEGIN%20CERTIFICATE-----%0A"), escaped[:60]
    assert urllib.parse.unquote(escaped) == mtls_pki.leaf_pem(case)


def test_client_sent_identity_headers_are_replaced_for_a_valid_certificate(env, mtls_pki):
    resp = get(env, "request", "good-one", "/secure/forged", *forged_args())
    assert resp.status == 200, resp.text
    h = resp.json()["headers"]
    assert h["x-auth-user"] == "alice"
    assert h["x-client-subject"] == mtls_pki.cases["good-one"]["subject"]
    assert h["x-client-issuer"] == mtls_pki.cases["good-one"]["issuer"]
    assert h["x-client-sha256"] == mtls_pki.sha256("good-one")
    assert urllib.parse.unquote(h["x-client-cert"]) == mtls_pki.leaf_pem("good-one")
    assert "x-client-cert-chain" not in h
    assert "x-forwarded-client-cert" not in h
    for name, value in FORGED.items():
        if name != "X-Client-Verify":  # "SUCCESS" is also the true verdict here
            assert value not in h.values(), (name, h)
    assert h["x-client-verify"] == "SUCCESS"


def test_client_sent_identity_headers_are_removed_on_routes_without_identity_headers(env):
    resp = get(env, "request", "good-one", "/bare/forged", *forged_args())
    assert resp.status == 200, resp.text
    h = resp.json()["headers"]
    for name in ("x-auth-user", "x-client-subject", "x-client-issuer", "x-client-san",
                 "x-client-sha256", "x-client-verify", "x-client-cert", "x-client-cert-chain",
                 "x-forwarded-client-cert"):
        assert name not in h, (name, h)


def test_configured_custom_header_name_is_stripped_and_set(env, mtls_pki):
    resp = get(env, "request", "good-one", "/custom/x", *forged_args())
    h = resp.json()["headers"]
    assert h["x-ssl-client-dn"] == mtls_pki.cases["good-one"]["subject"]
    assert "x-client-subject" not in h and "x-forwarded-client-cert" not in h


def test_anonymous_client_gets_only_the_verdict_header(env):
    resp = get(env, "request", None, "/anon", *forged_args())
    assert resp.status == 200
    h = resp.json()["headers"]
    assert h["x-client-verify"] == "NONE"
    for name in ("x-auth-user", "x-client-subject", "x-client-issuer", "x-client-san",
                 "x-client-sha256", "x-client-cert", "x-client-cert-chain",
                 "x-forwarded-client-cert"):
        assert name not in h, (name, h)


def test_failed_certificate_on_open_route_is_no_identity(env):
    resp = get(env, "request", "expired", "/anon-expired", *forged_args())
    assert resp.status == 200
    h = resp.json()["headers"]
    assert h["x-client-verify"] == "FAILED:mtls.cert_expired"
    for name in ("x-auth-user", "x-client-subject", "x-client-cert", "x-forwarded-client-cert"):
        assert name not in h, (name, h)


def test_require_listener_forwards_identity(env, mtls_pki):
    resp = get(env, "require", "no-eku", "/x", *forged_args(), tls="1.2")
    h = resp.json()["headers"]
    assert h["x-auth-user"] == "erin" and h["x-client-verify"] == "SUCCESS"
    assert h["x-client-subject"] == mtls_pki.cases["no-eku"]["subject"]


# --- detail modes ---------------------------------------------------------------------------------

def test_always_mode_shows_the_hint(env):
    body = assert_denial(get(env, "require", "missing-intermediate", "/d", gw="always"), 400,
                         "mtls.chain_incomplete")
    assert "the client did not send intermediate" in body["detail"]


def test_local_mode_shows_the_hint_to_loopback(env):
    body = assert_denial(get(env, "require", "eku-server-only", "/d"), 400,
                         "mtls.purpose_invalid")
    assert "EKU has serverAuth only" in body["detail"]


# --- metrics ------------------------------------------------------------------------------------

@pytest.fixture
def metrics_gw(procs, mtls_pki):
    app = Echo(procs)
    p = mtls_pki
    routes = [route("all", "app", "/")]
    gw = Gateway(procs, {
        "workers": 1,
        "admin": {"listen": f"127.0.0.1:{free_port()}"},
        "listeners": [mtls_listener("require", free_port(), p, p.client_auth("require"), routes),
                      mtls_listener("strict", free_port(), p,
                                    p.client_auth("require_handshake"), routes)],
        "upstreams": {"app": upstream(app.endpoint)}}, name="metrics")
    return gw


def scrape(gw) -> str:
    with urllib.request.urlopen(gw.admin_url("/metrics"), timeout=5) as r:
        return r.read().decode()


VERDICTS = "portcullis_client_cert_verdicts_total"
DENIALS = "portcullis_denials_total"


def counters(text: str) -> dict:
    out = {("SUCCESS", ""): metric_value(text, VERDICTS, {"result": "SUCCESS", "code": ""}),
           ("NONE", "mtls.cert_missing"): metric_value(
               text, VERDICTS, {"result": "NONE", "code": "mtls.cert_missing"})}
    for code in ("mtls.chain_incomplete", "mtls.issuer_untrusted", "mtls.cert_expired",
                 "mtls.cert_not_yet_valid", "mtls.purpose_invalid", "mtls.issuer_dn_mismatch",
                 "mtls.cert_revoked", "mtls.self_signed", "mtls.chain_too_long",
                 "mtls.signature_invalid", "mtls.ca_invalid", "mtls.cert_invalid"):
        # every mtls code has its own series, zero or not
        assert f'{VERDICTS}{{result="FAILED",code="{code}"}} ' in text, code
        out[("FAILED", code)] = metric_value(text, VERDICTS, {"result": "FAILED", "code": code})
    return out


def settled_counters(gw) -> dict:
    """The counters once two scrapes 200 ms apart agree (connections that just ended, such as
    the readiness probe's, are accounted asynchronously); bounded to 3 s."""
    previous = counters(scrape(gw))
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        time.sleep(0.2)
        current = counters(scrape(gw))
        if current == previous:
            return current
        previous = current
    return previous


def test_verdict_counters(metrics_gw, mtls_pki):
    gw, p = metrics_gw, mtls_pki
    assert f"# TYPE {VERDICTS} counter" in scrape(gw)
    before = settled_counters(gw)

    for case in ("good-one", "good-two", "good-one"):
        assert mtls_curl(p, gw.url("require", "/"), case).status == 200
    assert mtls_curl(p, gw.url("require", "/"), None).status == 400
    assert mtls_curl(p, gw.url("require", "/"), "expired", tls="1.2").status == 400
    assert mtls_curl(p, gw.url("require", "/"), "missing-intermediate").status == 400
    # refused handshakes count too
    assert mtls_curl(p, gw.url("strict", "/"), "expired", check=False).status == 0
    assert mtls_curl(p, gw.url("strict", "/"), None, check=False).status == 0

    expected = dict(before)
    expected[("SUCCESS", "")] += 3
    expected[("NONE", "mtls.cert_missing")] += 2
    expected[("FAILED", "mtls.cert_expired")] += 2
    expected[("FAILED", "mtls.chain_incomplete")] += 1
    text = wait_for(lambda: (lambda t: t if counters(t) == expected else None)(scrape(gw)), 5,
                    what=f"verdict counters {expected}")
    # the denials: four HTTP denials and two handshake refusals
    assert metric_value(text, DENIALS, {"code": "mtls.cert_expired"}) == 2
    assert metric_value(text, DENIALS, {"code": "mtls.cert_missing"}) == 2
    assert metric_value(text, DENIALS, {"code": "mtls.chain_incomplete"}) == 1


def test_connection_without_handshake_is_no_verdict(metrics_gw):
    """A TCP connection closed before any ClientHello (a port probe, a load balancer's TCP health
    check; the harness's own readiness probe) reached no verdict: it must not count as NONE."""
    gw = metrics_gw
    before = settled_counters(gw)
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", gw.port("require")), timeout=5):
            pass
    assert settled_counters(gw) == before
    # nor the probes of Gateway.wait_ready() before the test started
    assert before[("NONE", "mtls.cert_missing")] == 0, before
