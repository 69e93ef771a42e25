"""The four client_auth modes with real curl and `openssl s_client`, TLS 1.2 and 1.3:
`off` sends no CertificateRequest; `request` asks, serves anonymous clients on routes without
`mtls` (still logging the facts of a certificate that was sent) and denies on routes with
`authn: [mtls]`; `require` advertises the CA names and denies at the HTTP layer; and
`require_handshake` refuses the handshake with the most specific alert, writing one access-log
line with stage "tls" and status 0.
"""

import socket
import time

import pytest

from conftest import (Echo, Gateway, assert_denial, free_port, mtls_curl, mtls_listener, route,
                      s_client, upstream, wait_for)

# as s_client prints them (its one-line form, most general RDN first)
CA_NAMES = ["O = Portcullis Tests, CN = Portcullis Test Client Root",
            "O = Portcullis Tests, CN = Portcullis Test Partner Root"]

# case -> (profile, code, alert the gateway sends in TLS 1.3, in TLS 1.2). The TLS library
# (AWS-LC) picks the alert from the X509_V_ERR (ssl_verify_alarm_type); what it actually sends is
# asserted here.
HANDSHAKE_REFUSALS = {
    None: ("require", "mtls.cert_missing", "certificate required", "handshake failure"),
    "missing-intermediate": ("require", "mtls.chain_incomplete", "unknown ca", "unknown ca"),
    "untrusted-root": ("require", "mtls.issuer_untrusted", "unknown ca", "unknown ca"),
    "self-signed": ("require", "mtls.self_signed", "unknown ca", "unknown ca"),
    "expired": ("require", "mtls.cert_expired", "certificate expired", "certificate expired"),
    "expired-intermediate": ("require", "mtls.cert_expired", "certificate expired",
                             "certificate expired"),
    # AWS-LC answers not-yet-valid with certificate_expired, which RFC 5246 7.2.2 defines as
    # "has expired or is not currently valid" (OpenSSL 3.0 sent bad_certificate)
    "not-yet-valid": ("require", "mtls.cert_not_yet_valid", "certificate expired",
                      "certificate expired"),
    "eku-server-only": ("require", "mtls.purpose_invalid", "unsupported certificate",
                        "unsupported certificate"),
    "issuer-dn-mismatch": ("issuer_dn", "mtls.issuer_dn_mismatch", "bad certificate",
                           "bad certificate"),
    "revoked": ("crl", "mtls.cert_revoked", "certificate revoked", "certificate revoked"),
    "too-deep": ("require", "mtls.chain_too_long", "unknown ca", "unknown ca"),
    "intermediate-not-ca": ("require", "mtls.ca_invalid", "unknown ca", "unknown ca"),
    "path-length": ("require", "mtls.ca_invalid", "unknown ca", "unknown ca"),
    "trusted-leaf-itself": ("trusted_leaf", "mtls.self_signed", "unknown ca", "unknown ca"),
    # OpenSSL maps a certificate signature failure to decrypt_error (RFC 8446 6.2)
    "tampered-signature": ("require", "mtls.signature_invalid", "decrypt error", "decrypt error"),
    "anchor-as-leaf": ("require", "mtls.cert_invalid", "bad certificate", "bad certificate"),
}


@pytest.fixture(scope="module")
def env(module_procs, mtls_pki):
    app = Echo(module_procs)
    p = mtls_pki
    both = [route("secure", "app", "/secure/", authn=["mtls"]), route("open", "app", "/")]
    open_only = [route("open", "app", "/")]
    listeners = [
        mtls_listener("none", free_port(), p, None, open_only),
        mtls_listener("off", free_port(), p, {"mode": "off"}, open_only),
        mtls_listener("request", free_port(), p, p.client_auth("request"), both),
        mtls_listener("require", free_port(), p, p.client_auth("require"), open_only),
    ]
    for profile in ("require", "issuer_dn", "crl", "trusted_leaf"):
        listeners.append(mtls_listener(f"hs_{profile}", free_port(), p,
                                       p.client_auth("require_handshake", profile), open_only))
    gw = Gateway(module_procs, {"workers": 1, "listeners": listeners,
                                "upstreams": {"app": upstream(app.endpoint)}})
    return {"gw": gw, "pki": p}


def get(env, listener, case, path="/x", tls=None, check=True, *args):
    return mtls_curl(env["pki"], env["gw"].url(listener, path), case, *args, tls=tls, check=check)


def curl_alert(env, listener, case, tls) -> str:
    """curl's stderr (verbose) for a refused handshake, commas removed.

    curl names the alert in its error for TLS 1.3 (the alert arrives as a read error), but for
    TLS 1.2 maps certificate_expired to its own "SSL certificate verification failed" (exit 60),
    as if the server's certificate were at fault: the verbose trace "TLS alert, certificate
    expired" is what shows the alert then."""
    resp = get(env, listener, case, "/", tls, False, "-v")
    assert resp.exit_code != 0 and resp.status == 0, resp
    return resp.stderr.replace(",", "")


def handshake_lines(gw, listener: str) -> list[dict]:
    return [e for e in gw.access_log() if e.get("listener") == listener and e.get("stage") == "tls"]


# --- off --------------------------------------------------------------------------------------

@pytest.mark.parametrize("listener", ["none", "off"])
@pytest.mark.parametrize("tls", ["1.3", "1.2"])
def test_off_sends_no_certificate_request(env, listener, tls):
    out = s_client(env["pki"], env["gw"].port(listener), None, tls=tls)
    assert "No client certificate CA names sent" in out.stdout, out.output
    assert "Acceptable client certificate CA names" not in out.stdout
    assert out.http_status == 200, out.output


@pytest.mark.parametrize("listener", ["none", "off"])
def test_off_ignores_certificates_and_logs_none(env, listener):
    resp = get(env, listener, "good-one", "/off")
    assert resp.status == 200
    entry = env["gw"].log_entry(resp.header("X-Request-Id"))
    assert entry["ssl_client_verify"] == "NONE"
    assert entry["client_subject"] == "" and entry["auth_method"] == ""


# --- request and require advertise the CA names -------------------------------------------------

@pytest.mark.parametrize("listener", ["request", "require", "hs_require"])
@pytest.mark.parametrize("tls", ["1.3", "1.2"])
def test_certificate_request_advertises_trusted_ca_names(env, listener, tls):
    out = s_client(env["pki"], env["gw"].port(listener), "good-one", tls=tls)
    assert "Acceptable client certificate CA names" in out.stdout, out.output
    section = out.stdout.split("Acceptable client certificate CA names", 1)[1]
    section = section.split("Requested Signature Algorithms", 1)[0]
    for name in CA_NAMES:
        assert name in section, section
    # only CAs of trusted_ca are advertised, never the intermediates
    assert "Issuing CA" not in section
    assert out.http_status == 200, out.output


# --- request ------------------------------------------------------------------------------------

@pytest.mark.parametrize("tls", ["1.3", "1.2"])
def test_request_serves_anonymous_clients_on_routes_without_mtls(env, tls):
    resp = get(env, "request", None, "/anon", tls)
    assert resp.status == 200
    entry = env["gw"].log_entry(resp.header("X-Request-Id"))
    assert entry["route"] == "open"
    assert entry["ssl_client_verify"] == "NONE"
    assert entry["auth_method"] == "" and entry["user"] == ""


@pytest.mark.parametrize("tls", ["1.3", "1.2"])
def test_request_denies_anonymous_clients_on_mtls_routes(env, tls):
    resp = get(env, "request", None, "/secure/x", tls)
    body = assert_denial(resp, 400, "mtls.cert_missing")
    assert "the server advertised these CA names" in body["detail"]
    entry = env["gw"].log_entry(resp.header("X-Request-Id"))
    assert entry["route"] == "secure" and entry["ssl_client_verify"] == "NONE"


@pytest.mark.parametrize("case,code", [("expired", "mtls.cert_expired"),
                                       ("missing-intermediate", "mtls.chain_incomplete"),
                                       ("self-signed", "mtls.self_signed")])
def test_request_logs_facts_of_a_bad_certificate_on_open_routes(env, mtls_pki, case, code):
    resp = get(env, "request", case, "/anon-bad")
    assert resp.status == 200, resp.text
    entry = env["gw"].log_entry(resp.header("X-Request-Id"))
    assert entry["route"] == "open"
    assert entry["ssl_client_verify"] == f"FAILED:{code}"
    assert entry["client_subject"] == mtls_pki.cases[case]["subject"]
    assert entry["client_issuer"] == mtls_pki.cases[case]["issuer"]
    assert entry["client_serial"] == mtls_pki.cases[case]["serial"]
    assert entry["client_sha256"] == mtls_pki.sha256(case)
    # a failed certificate is not an identity
    assert entry["auth_method"] == "" and entry["user"] == ""
    # and the mtls route denies the same certificate with its code
    denied = get(env, "request", case, "/secure/bad")
    assert_denial(denied, 400, code)


def test_request_valid_certificate_authenticates_on_both_routes(env):
    for path, route_name in (("/secure/ok", "secure"), ("/ok", "open")):
        resp = get(env, "request", "good-one", path)
        assert resp.status == 200, resp.text
        entry = env["gw"].log_entry(resp.header("X-Request-Id"))
        assert entry["route"] == route_name
        assert entry["ssl_client_verify"] == "SUCCESS"
        assert entry["auth_method"] == "mtls" and entry["user"] == "alice"


# --- require ------------------------------------------------------------------------------------

def test_require_completes_the_handshake_and_denies_over_http(env):
    for tls in ("1.3", "1.2"):
        out = s_client(env["pki"], env["gw"].port("require"), "expired", tls=tls)
        assert out.alert is None, out.stderr
        assert out.http_status == 400, out.output
        assert out.http_header("X-Denial-Code") == "mtls.cert_expired"
        assert out.json()["code"] == "mtls.cert_expired"


def test_require_needs_a_certificate_on_every_route(env):
    assert_denial(get(env, "require", None, "/anything"), 400, "mtls.cert_missing")
    assert get(env, "require", "good-one", "/anything").status == 200


# --- require_handshake --------------------------------------------------------------------------

@pytest.mark.parametrize("tls", ["1.3", "1.2"])
@pytest.mark.parametrize("case", list(HANDSHAKE_REFUSALS), ids=lambda c: c or "no-certificate")
def test_require_handshake_refuses_with_the_specific_alert(env, mtls_pki, case, tls):
    profile, code, alert13, alert12 = HANDSHAKE_REFUSALS[case]
    listener = f"hs_{profile}"
    gw = env["gw"]
    before = len(handshake_lines(gw, listener))
    out = s_client(mtls_pki, gw.port(listener), case, tls=tls)
    assert out.http_status is None, out.output
    assert out.alert == (alert13 if tls == "1.3" else alert12), out.stderr
    assert out.exit_code != 0

    lines = wait_for(lambda: (lambda l: l if len(l) > before else None)(
        handshake_lines(gw, listener)), 5, what="handshake refusal log line")
    assert len(lines) == before + 1, lines[before:]
    entry = lines[-1]
    assert entry["status"] == 0 and entry["stage"] == "tls"
    assert entry["code"] == code
    assert entry["request_id"]
    assert entry["client_ip"] == "127.0.0.1"
    if case is None:
        assert entry["ssl_client_verify"] == "NONE"
        assert entry["client_subject"] == ""
    else:
        c = mtls_pki.cases[case]
        assert entry["ssl_client_verify"] == f"FAILED:{code}"
        assert entry["client_subject"] == c["subject"]
        assert entry["client_issuer"] == c["issuer"]
        assert entry["client_serial"] == c["serial"]
        assert entry["client_sha256"] == mtls_pki.sha256(case)
    assert "TLS handshake refused" in entry["detail"]


@pytest.mark.parametrize("tls,needle", [("1.3", "alert certificate required"),
                                        ("1.2", "alert handshake failure")])
def test_require_handshake_curl_shows_the_alert_without_certificate(env, tls, needle):
    stderr = curl_alert(env, "hs_require", None, tls)
    assert needle in stderr, stderr


@pytest.mark.parametrize("tls", ["1.3", "1.2"])
@pytest.mark.parametrize("case,needle", [("expired", "alert certificate expired"),
                                         ("missing-intermediate", "alert unknown ca"),
                                         ("eku-server-only", "alert unsupported certificate")])
def test_require_handshake_curl_shows_the_alert(env, case, needle, tls):
    stderr = curl_alert(env, "hs_require", case, tls)
    assert needle in stderr, stderr


@pytest.mark.parametrize("tls", ["1.3", "1.2"])
def test_require_handshake_serves_valid_certificates(env, mtls_pki, tls):
    resp = get(env, "hs_require", "good-two", "/fine", tls)
    assert resp.status == 200
    entry = env["gw"].log_entry(resp.header("X-Request-Id"))
    assert entry["ssl_client_verify"] == "SUCCESS" and entry["user"] == "bob"
    out = s_client(mtls_pki, env["gw"].port("hs_require"), "good-one", tls=tls)
    assert out.http_status == 200, out.output


def test_require_handshake_revoked_via_crl(env):
    assert get(env, "hs_crl", "good-one").status == 200
    stderr = curl_alert(env, "hs_crl", "revoked", "1.3")
    assert "alert certificate revoked" in stderr, stderr


def test_require_handshake_does_not_log_connections_without_a_handshake(env):
    """Only refused certificates are access-logged at the tls stage: a TCP probe or a plain-HTTP
    request on the TLS port are routine failures (debug log only)."""
    gw = env["gw"]
    before = len(handshake_lines(gw, "hs_require"))
    for _ in range(2):
        with socket.create_connection(("127.0.0.1", gw.port("hs_require")), timeout=5):
            pass
    with socket.create_connection(("127.0.0.1", gw.port("hs_require")), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(5)
        try:
            while sock.recv(4096):
                pass
        except OSError:
            pass
    # a refusal after the probes is logged, and is the only new line
    out = s_client(env["pki"], gw.port("hs_require"), "expired")
    assert out.alert == "certificate expired"
    lines = wait_for(lambda: (lambda l: l if len(l) > before else None)(
        handshake_lines(gw, "hs_require")), 5, what="refusal line")
    time.sleep(0.1)
    lines = handshake_lines(gw, "hs_require")
    assert [e["code"] for e in lines[before:]] == ["mtls.cert_expired"], lines[before:]
