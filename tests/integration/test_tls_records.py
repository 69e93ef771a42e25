"""After a TLS 1.3 handshake the gateway takes the connection's record protection over from
OpenSSL at its first idle moment and frees OpenSSL's per-connection state
(src/net/tls_handoff.cpp, src/net/record_channel.cpp); PORTCULLIS_TLS_RECORDS=openssl keeps every
connection with OpenSSL. Both modes must serve alike with real clients: curl keep-alive, large
bodies both ways, a client KeyUpdate (openssl s_client), close_notify from a Python client,
session resumption, TLS 1.2 (which always stays with OpenSSL). /metrics says which record layer
each ended connection had, so these tests also prove the hand-off happened.
"""

import re
import socket
import ssl
import subprocess
import time

import pytest

from conftest import (Echo, Gateway, curl, free_port, mtls_curl, mtls_listener, read_response,
                      route, sanitizer_env, tls_context, upstream, wait_for)

MODES = ["gateway", "openssl"]


@pytest.fixture(scope="module", params=MODES)
def env(request, module_procs, mtls_pki):
    app = Echo(module_procs)
    process_env = sanitizer_env()
    if request.param == "openssl":
        process_env["PORTCULLIS_TLS_RECORDS"] = "openssl"
    admin = free_port()
    config = {
        "workers": 1,
        "admin": {"listen": f"127.0.0.1:{admin}"},
        "listeners": [mtls_listener("main", free_port(), mtls_pki, mtls_pki.client_auth("request"),
                                    [route("all", "app", "/", max_body="4MiB",
                                           identity_headers={"subject": "X-Client-Subject"})])],
        "upstreams": {"app": upstream(app.endpoint)},
    }
    gw = Gateway(module_procs, config, name=f"records-{request.param}", env=process_env)
    return {"gw": gw, "pki": mtls_pki, "mode": request.param}


def tls_connections(gw) -> dict:
    text = curl(gw.admin_url("/metrics")).text
    return {m.group(1): int(m.group(2)) for m in
            re.finditer(r'^portcullis_tls_connections_total\{records="(\w+)"\} (\d+)$', text,
                        re.MULTILINE)}


def expect_ended(env, before: dict, count: int, layer: str | None = None):
    """Waits until `count` more TLS connections have ended, all with `layer` (by default the
    module's mode)."""
    layer = layer or env["mode"]
    other = "openssl" if layer == "gateway" else "gateway"
    wait_for(lambda: tls_connections(env["gw"])[layer] >= before[layer] + count, 10,
             what=f"{count} more TLS connections ended with records={layer}")
    after = tls_connections(env["gw"])
    assert after[layer] == before[layer] + count, after
    assert after[other] == before[other], after


def client_context(mtls_pki) -> ssl.SSLContext:
    """Python's TLS 1.3 client presenting good-one's certificate."""
    ctx = tls_context(mtls_pki.server_root)
    ctx.load_cert_chain(mtls_pki.cert("good-one"), mtls_pki.key("good-one"))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx


def get(s, path: str):
    """One keep-alive GET on `s`; the response must be a 200 carrying good-one's subject."""
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    resp = read_response(s)
    assert resp.status == 200, resp.body
    assert "CN=alice" in resp.json()["headers"]["x-client-subject"]


def test_keep_alive_requests_over_one_connection(env):
    gw, before = env["gw"], tls_connections(env["gw"])
    urls = [gw.url("main", f"/k{i}") for i in range(4)]
    resp = mtls_curl(env["pki"], urls[0], "good-one", *urls[1:])
    assert resp.status == 200, resp.stderr
    assert "CN=alice" in resp.json()["headers"]["x-client-subject"]
    expect_ended(env, before, 1)  # curl used one connection for the four requests


@pytest.mark.parametrize("suite", ["TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"])
def test_the_other_suites_over_keep_alive(env, suite, tmp_path):
    """AES-128-GCM is what every other test negotiates; the record layer seals and opens the
    other two suites with their own provider functions (src/net/record_aead.cpp)."""
    gw, before = env["gw"], tls_connections(env["gw"])
    # The download is the second request: the hand-off happens at the connection's first idle
    # moment, which may come only after the first response. curl pairs -o options with URLs in
    # order, and the helper's own -o takes the first.
    download = tmp_path / "download"
    resp = mtls_curl(env["pki"], gw.url("main", "/s2"), "good-one", "-v", "--tls13-ciphers",
                     suite, gw.url("main", "/s0"), "-o", str(download),
                     gw.url("main", "/s1?echo_bytes=200000"))
    assert resp.status == 200, resp.stderr
    assert f"TLSv1.3 / {suite}" in resp.stderr, resp.stderr
    assert "CN=alice" in resp.json()["headers"]["x-client-subject"]
    assert download.read_bytes() == b"x" * 200000  # many records long
    expect_ended(env, before, 1)


def test_large_bodies_both_ways(env, tmp_path):
    gw, before = env["gw"], tls_connections(env["gw"])
    upload = tmp_path / "upload.bin"
    upload.write_bytes(bytes(range(256)) * 4096)  # 1 MiB: 64 records and more
    resp = mtls_curl(env["pki"], gw.url("main", "/up"), "good-one",
                     "--data-binary", f"@{upload}", "-H", "Content-Type: application/octet-stream")
    assert resp.status == 200, resp.stderr
    assert resp.json()["body_length"] == 1024 * 1024
    resp = mtls_curl(env["pki"], gw.url("main", "/down?echo_bytes=3000000"), "good-one")
    assert resp.status == 200, resp.stderr
    assert resp.body == b"x" * 3000000
    expect_ended(env, before, 2)


def test_a_slow_reader_gets_every_byte(env, mtls_pki):
    """A client that lets the socket fill up: the gateway's writes wait for room and resume
    with the rest of the records, in order."""
    gw, before = env["gw"], tls_connections(env["gw"])
    size = 16 * 1000 * 1000
    with socket.create_connection(("127.0.0.1", gw.port("main")), timeout=30) as raw:
        with client_context(mtls_pki).wrap_socket(raw, server_hostname="localhost") as s:
            time.sleep(0.3)
            get(s, "/first")
            s.sendall(f"GET /big?echo_bytes={size} HTTP/1.1\r\nHost: localhost\r\n\r\n"
                      .encode())
            time.sleep(1.0)  # the gateway fills the socket and has to wait
            resp = read_response(s, timeout=30)
            assert resp.status == 200
            assert len(resp.body) == size and resp.body == b"x" * size
            get(s, "/after")
            s.unwrap()
    expect_ended(env, before, 1)


def test_a_client_that_waits_then_sends_several_requests(env, mtls_pki):
    """The hand-off happens while the connection is idle; the identity found in the handshake
    still reaches the upstream afterwards."""
    gw, before = env["gw"], tls_connections(env["gw"])
    with socket.create_connection(("127.0.0.1", gw.port("main")), timeout=10) as raw:
        with client_context(mtls_pki).wrap_socket(raw, server_hostname="localhost") as s:
            time.sleep(0.3)
            for i in range(3):
                get(s, f"/w{i}")
                time.sleep(0.1)
            s.unwrap()  # close_notify first: the gateway reads it as the end
    expect_ended(env, before, 1)


def test_key_update_from_the_client(env, mtls_pki):
    """openssl s_client's K command sends a KeyUpdate asking for ours; requests before and after
    it are answered over the same connection."""
    gw, before = env["gw"], tls_connections(env["gw"])
    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{gw.port('main')}", "-tls1_3",
           "-CAfile", mtls_pki.server_root, "-cert", mtls_pki.cert("good-one"),
           "-key", mtls_pki.key("good-one"), "-servername", "localhost"]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        def send(text: bytes, pause: float):
            proc.stdin.write(text)
            proc.stdin.flush()
            time.sleep(pause)
        send(b"", 0.5)
        send(b"GET /before HTTP/1.1\r\nHost: localhost\r\n\r\n", 0.5)
        send(b"K\n", 0.5)
        send(b"GET /after HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 1.0)
        out = proc.communicate(timeout=15)[0].decode(errors="replace")  # closes stdin
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "KEYUPDATE" in out, out
    assert out.count("HTTP/1.1 200 OK") == 2, out
    assert '"path":"/after"' in out.replace(" ", ""), out
    expect_ended(env, before, 1)


def test_resumed_sessions_are_handed_over_too(env, mtls_pki):
    """A session ticket OpenSSL issued before the hand-off resumes; the resumed connection is
    handed over in turn and keeps the identity of the first."""
    gw, before = env["gw"], tls_connections(env["gw"])
    ctx = client_context(mtls_pki)
    session = None
    for attempt in range(2):
        with socket.create_connection(("127.0.0.1", gw.port("main")), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as s:
                time.sleep(0.3)
                get(s, f"/r{attempt}")
                assert s.session_reused == (attempt == 1)
                session = s.session
                s.unwrap()  # OpenSSL drops the session of a connection closed without it
    expect_ended(env, before, 2)


def test_tls12_stays_with_openssl(env):
    gw, before = env["gw"], tls_connections(env["gw"])
    resp = mtls_curl(env["pki"], gw.url("main", "/old"), "good-one", tls="1.2")
    assert resp.status == 200, resp.stderr
    expect_ended(env, before, 1, layer="openssl")

