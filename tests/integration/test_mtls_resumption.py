"""Session resumption keeps the verdict (TLS 1.3 and 1.2, openssl s_client -sess_out then
-sess_in): a resumed handshake does not verify the chain again, so the ticket carries the verdict.
A good certificate still yields 200 with its identity; a bad one in request/require mode is still
denied with the same code; a ticket never carries a verdict to another listener.
"""

import socket
import ssl
import urllib.parse

import pytest

from conftest import (Echo, Gateway, free_port, mtls_listener, route, s_client, tls_context,
                      upstream)

IDENTITY = {"user": "X-Auth-User", "subject": "X-Client-Subject", "verify": "X-Client-Verify",
            "cert": "X-Client-Cert", "fingerprint": "X-Client-Sha256"}


@pytest.fixture(scope="module")
def env(module_procs, mtls_pki):
    app = Echo(module_procs)
    p = mtls_pki
    both = [route("secure", "app", "/secure/", authn=["mtls"], identity_headers=IDENTITY),
            route("open", "app", "/", identity_headers=IDENTITY)]
    gw = Gateway(module_procs, {
        "workers": 1,
        "listeners": [
            mtls_listener("request", free_port(), p, p.client_auth("request"), both),
            mtls_listener("require", free_port(), p, p.client_auth("require"),
                          [route("all", "app", "/", identity_headers=IDENTITY)]),
            mtls_listener("require_crl", free_port(), p, p.client_auth("require", "crl"),
                          [route("all", "app", "/", identity_headers=IDENTITY)]),
        ],
        "upstreams": {"app": upstream(app.endpoint)}})
    return {"gw": gw, "pki": p}


def resume(env, tmp_path, listener, case, tls, path="/", second_listener=None, second_path=None):
    """A full handshake presenting `case` that saves the session, then a second connection that
    offers the saved session and no certificate at all."""
    sess = str(tmp_path / f"{listener}-{case}-{tls}.sess")
    gw = env["gw"]
    first = s_client(env["pki"], gw.port(listener), case, tls=tls, path=path, sess_out=sess)
    assert first.http_status is not None, first.output
    assert not first.reused
    second = s_client(env["pki"], gw.port(second_listener or listener), None, tls=tls,
                      path=second_path or path, sess_in=sess)
    return first, second


def entry_of(env, result):
    return env["gw"].log_entry(result.http_header("X-Request-Id"))


@pytest.mark.parametrize("tls", ["1.3", "1.2"])
@pytest.mark.parametrize("listener,path", [("require", "/r"), ("request", "/secure/r")])
def test_resumed_connection_keeps_a_good_verdict_and_identity(env, mtls_pki, tmp_path, tls,
                                                              listener, path):
    first, second = resume(env, tmp_path, listener, "good-one", tls, path)
    assert first.http_status == 200, first.output
    assert second.reused, second.output
    assert second.http_status == 200, second.output
    h = second.json()["headers"]
    assert h["x-auth-user"] == "alice"
    assert h["x-client-subject"] == mtls_pki.cases["good-one"]["subject"]
    assert h["x-client-verify"] == "SUCCESS"
    assert h["x-client-sha256"] == mtls_pki.sha256("good-one")
    assert urllib.parse.unquote(h["x-client-cert"]) == mtls_pki.leaf_pem("good-one")
    entry = entry_of(env, second)
    assert entry["ssl_client_verify"] == "SUCCESS"
    assert entry["auth_method"] == "mtls" and entry["user"] == "alice"
    assert entry["client_serial"] == "2B01"
    assert entry["tls_version"] == f"TLSv{tls}"


@pytest.mark.parametrize("tls", ["1.3", "1.2"])
@pytest.mark.parametrize("case,code", [("expired", "mtls.cert_expired"),
                                       ("missing-intermediate", "mtls.chain_incomplete")])
def test_resumed_connection_keeps_a_failed_verdict_in_require_mode(env, mtls_pki, tmp_path, tls,
                                                                   case, code):
    first, second = resume(env, tmp_path, "require", case, tls)
    assert first.http_status == 400 and first.http_header("X-Denial-Code") == code
    assert second.reused, second.output
    assert second.http_status == 400, second.output
    assert second.http_header("X-Denial-Code") == code
    assert second.json()["code"] == code
    # the operator evidence survives too (detailed mode: loopback)
    first_detail = first.json()["detail"]
    hint = first_detail[first_detail.index("hint: "):].split(";")[0]
    assert hint in second.json()["detail"], (hint, second.json()["detail"])
    entry = entry_of(env, second)
    assert entry["ssl_client_verify"] == f"FAILED:{code}"
    assert entry["client_subject"] == mtls_pki.cases[case]["subject"]
    assert entry["client_sha256"] == mtls_pki.sha256(case)
    assert entry["auth_method"] == "" and entry["user"] == ""


@pytest.mark.parametrize("tls", ["1.3", "1.2"])
def test_resumed_connection_keeps_a_failed_verdict_in_request_mode(env, tmp_path, tls):
    # the open route serves it (and logs the failure), the mtls route denies it, both resumed
    first, second = resume(env, tmp_path, "request", "expired", tls, "/open")
    assert first.http_status == 200 and second.reused and second.http_status == 200
    assert second.json()["headers"]["x-client-verify"] == "FAILED:mtls.cert_expired"
    assert "x-client-subject" not in second.json()["headers"]
    assert entry_of(env, second)["ssl_client_verify"] == "FAILED:mtls.cert_expired"

    sess = str(tmp_path / f"request-expired-{tls}.sess")
    third = s_client(env["pki"], env["gw"].port("request"), None, tls=tls, path="/secure/x",
                     sess_in=sess)
    assert third.reused, third.output
    assert third.http_status == 400
    assert third.http_header("X-Denial-Code") == "mtls.cert_expired"


@pytest.mark.parametrize("tls", ["1.3", "1.2"])
def test_anonymous_session_stays_anonymous(env, tmp_path, tls):
    first, second = resume(env, tmp_path, "request", None, tls, "/secure/anon")
    assert first.http_status == 400
    assert first.http_header("X-Denial-Code") == "mtls.cert_missing"
    assert second.http_status == 400, second.output
    assert second.http_header("X-Denial-Code") == "mtls.cert_missing"


@pytest.mark.parametrize("tls", ["1.3", "1.2"])
def test_ticket_of_another_listener_carries_no_verdict(env, tmp_path, tls):
    """A session from a listener without a CRL (where "revoked" verifies) must not pass on the
    listener that checks the CRL: no resumption there, so no certificate, so denied."""
    first, second = resume(env, tmp_path, "require", "revoked", tls, "/",
                           second_listener="require_crl")
    assert first.http_status == 200, first.output
    assert not second.reused, second.output
    assert second.http_status == 400, second.output
    assert second.http_header("X-Denial-Code") == "mtls.cert_missing"


def client_context(pki):
    """TLS 1.3 with the good-one certificate; sessions resume only within one context."""
    ctx = tls_context(pki.server_root)
    ctx.load_cert_chain(pki.cert("good-one"), pki.key("good-one"))
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    return ctx


def keep_alive_exchange(env, ctx, session=None):
    """One keep-alive request (offering `session`); the client then closes first, close_notify
    included, as browsers and load generators do. Returns (status line, whether the session was
    resumed, the session to resume next)."""
    raw = socket.create_connection(("127.0.0.1", env["gw"].port("require")), timeout=10)
    with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as tls:
        tls.sendall(b"GET /first-closer HTTP/1.1\r\nHost: gw.test\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = tls.recv(4096)
            assert chunk, data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:")))
        while len(body) < length:
            body += tls.recv(4096)
        reused, next_session = tls.session_reused, tls.session
        tls.unwrap()  # close_notify first; the gateway then sees the client's close
    return head.split(b"\r\n")[0].decode(), reused, next_session


def test_a_client_that_closes_first_can_still_resume(env):
    """The gateway sends no close_notify back to a client that has closed (as nginx), and the
    session must stay resumable all the same: OpenSSL drops the session of a connection it
    believes was cut short."""
    ctx = client_context(env["pki"])
    status, reused, session = keep_alive_exchange(env, ctx)
    assert status.endswith("200 OK") and not reused
    for _ in range(2):
        status, reused, session = keep_alive_exchange(env, ctx, session)
        assert status.endswith("200 OK")
        assert reused
