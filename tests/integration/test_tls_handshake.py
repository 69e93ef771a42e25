"""The gateway's own TLS 1.3 server handshake (src/net/tls13_server_handshake.cpp) with real
clients: TLS 1.3 with X25519 from curl, openssl s_client and Python is served by the gateway,
everything else is left to OpenSSL untouched (TLS 1.2, a P-256-only client, a client whose key
share is not X25519, an RSA listener key, PORTCULLIS_TLS_HANDSHAKE=openssl). A ClientHello that
arrives in pieces is waited for; a client that stops half-way is cut off by handshake_timeout;
garbage is refused without harm. /metrics counts who ran each completed handshake
(portcullis_tls_handshakes_total{by}), so every test also proves which handshake it had.
"""

import socket
import ssl
import subprocess
import time

import pytest

from conftest import (Echo, Gateway, curl, free_port, metric_value, mtls_curl, mtls_listener,
                      read_response, route, s_client, sanitizer_env, tls_context, upstream,
                      wait_for)

IDENTITY = {"subject": "X-Client-Subject"}


def gateway(procs, mtls_pki, name: str, env: dict | None = None, extra_listeners=()):
    app = Echo(procs)
    admin = free_port()
    config = {
        "workers": 1,
        "admin": {"listen": f"127.0.0.1:{admin}"},
        "listeners": [
            mtls_listener("require", free_port(), mtls_pki, mtls_pki.client_auth("require"),
                          [route("all", "app", "/", identity_headers=IDENTITY)],
                          limits={"handshake_timeout": "1s"}),
            mtls_listener("strict", free_port(), mtls_pki,
                          mtls_pki.client_auth("require_handshake"),
                          [route("all", "app", "/", identity_headers=IDENTITY)]),
            *extra_listeners,
        ],
        "upstreams": {"app": upstream(app.endpoint)},
    }
    process_env = sanitizer_env()
    process_env.update(env or {})
    return Gateway(procs, config, name=name, env=process_env)


@pytest.fixture(scope="module")
def gw(module_procs, mtls_pki):
    return gateway(module_procs, mtls_pki, "own-handshake")


def handshakes(gw) -> dict:
    text = curl(gw.admin_url("/metrics")).text
    return {by: int(metric_value(text, "portcullis_tls_handshakes_total", {"by": by}))
            for by in ("gateway", "openssl")}


def expect_handshakes(gw, before: dict, gateway: int = 0, openssl: int = 0):
    want = {"gateway": before["gateway"] + gateway, "openssl": before["openssl"] + openssl}
    wait_for(lambda: handshakes(gw) == want, 5, what=f"handshakes {want}")


def subject_of(resp) -> str:
    return resp.json()["headers"]["x-client-subject"]


def test_curl_over_tls13_gets_the_gateways_handshake(gw, mtls_pki):
    before = handshakes(gw)
    resp = mtls_curl(mtls_pki, gw.url("require", "/a"), "good-one", "-v", tls="1.3")
    assert resp.status == 200
    assert subject_of(resp) == mtls_pki.cases["good-one"]["subject"]
    expect_handshakes(gw, before, gateway=1)


def test_tls12_is_left_to_openssl(gw, mtls_pki):
    before = handshakes(gw)
    resp = mtls_curl(mtls_pki, gw.url("require", "/b"), "good-one", tls="1.2")
    assert resp.status == 200
    assert subject_of(resp) == mtls_pki.cases["good-one"]["subject"]
    expect_handshakes(gw, before, openssl=1)


@pytest.mark.parametrize("groups,by", [("P-256", "openssl"),
                                       ("P-256:X25519", "openssl"),
                                       ("X25519:P-256", "gateway")])
def test_the_key_share_decides(gw, mtls_pki, groups, by):
    """openssl s_client sends a key share for its first group only: P-256 first means OpenSSL
    answers (with a HelloRetryRequest for X25519 when the client supports it)."""
    before = handshakes(gw)
    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{gw.port('require')}",
           "-servername", "localhost", "-CAfile", mtls_pki.server_root, "-verify_return_error",
           "-ign_eof", "-tls1_3", "-groups", groups,
           "-cert", mtls_pki.cert("good-one"), "-key", mtls_pki.key("good-one")]
    chain = mtls_pki.dir / "good-one.chain-only.pem"
    if chain.is_file():
        cmd += ["-cert_chain", str(chain)]
    out = subprocess.run(cmd, input=b"GET /g HTTP/1.1\r\nHost: localhost\r\n"
                         b"Connection: close\r\n\r\n", capture_output=True, timeout=15)
    text = out.stdout.decode("latin-1")
    assert "HTTP/1.1 200" in text, text + out.stderr.decode("latin-1")
    expect_handshakes(gw, before, **{by: 1})


def test_resumption_with_the_gateways_ticket(gw, mtls_pki, tmp_path):
    before = handshakes(gw)
    sess = str(tmp_path / "own.sess")
    first = s_client(mtls_pki, gw.port("require"), "good-one", sess_out=sess)
    assert first.http_status == 200 and not first.reused, first.output
    second = s_client(mtls_pki, gw.port("require"), None, sess_in=sess)
    assert second.reused, second.output
    assert second.http_status == 200, second.output
    assert second.json()["headers"]["x-client-subject"] == \
        mtls_pki.cases["good-one"]["subject"]
    expect_handshakes(gw, before, gateway=2)


def test_require_handshake_refusals_keep_their_alerts(gw, mtls_pki):
    before = handshakes(gw)
    out = s_client(mtls_pki, gw.port("strict"), None)
    assert out.alert == "certificate required", out.output
    out = s_client(mtls_pki, gw.port("strict"), "expired")
    assert out.alert == "certificate expired", out.output
    # refused handshakes are not completed ones
    expect_handshakes(gw, before)
    resp = mtls_curl(mtls_pki, gw.url("strict", "/ok"), "good-one", tls="1.3")
    assert resp.status == 200
    expect_handshakes(gw, before, gateway=1)


def test_a_slow_reader_does_not_hold_up_the_worker(module_procs, mtls_pki):
    """A connection from the own handshake whose client stops reading a large response: the
    gateway's writes must wait for room without blocking the (single) worker, so another
    client is served meanwhile, and the slow one still gets every byte. The request pipeline's
    writes, not the fast lane's (which never blocks): the lane is off."""
    gw = gateway(module_procs, mtls_pki, "no-lane", env={"PORTCULLIS_FAST_LANE": "off"})
    ctx = tls_context(mtls_pki.server_root)
    ctx.load_cert_chain(mtls_pki.cert("good-one"), mtls_pki.key("good-one"))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    size = 16 * 1000 * 1000
    before = handshakes(gw)
    with socket.create_connection(("127.0.0.1", gw.port("require")), timeout=30) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(f"POST /big?echo_bytes={size} HTTP/1.1\r\nHost: localhost\r\n"
                      "Content-Length: 1\r\n\r\nx".encode())
            time.sleep(0.5)  # the gateway has filled the socket and waits for room
            start = time.monotonic()
            resp = mtls_curl(mtls_pki, gw.url("require", "/meanwhile"), "good-one", tls="1.3")
            assert resp.status == 200
            assert time.monotonic() - start < 1.5
            got = read_response(s, timeout=30)
            assert got.status == 200 and len(got.body) == size
    expect_handshakes(gw, before, gateway=2)


def _client_hello_then(sock: socket.socket, mtls_pki, pieces: list[int], pause: float):
    """A Python TLS 1.3 client over a MemoryBIO: its first flight goes out in `pieces` (byte
    counts, the rest last) with `pause` seconds between them; then the handshake and one GET
    complete normally. Returns the response head."""
    ctx = tls_context(mtls_pki.server_root)
    ctx.load_cert_chain(mtls_pki.cert("good-one"), mtls_pki.key("good-one"))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")

    def pump_out():
        data = outgoing.read()
        if data:
            sock.sendall(data)

    def step(operation):
        while True:
            try:
                return operation()
            except ssl.SSLWantReadError:
                pump_out()
                data = sock.recv(65536)
                if not data:
                    raise ConnectionError("server closed")
                incoming.write(data)

    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = outgoing.read()
    at = 0
    for n in pieces:
        sock.sendall(hello[at:at + n])
        at += n
        time.sleep(pause)
    sock.sendall(hello[at:])
    step(tls.do_handshake)
    step(lambda: tls.write(b"GET /pieces HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))
    pump_out()
    return step(lambda: tls.read(65536))


@pytest.mark.parametrize("pieces", [[3], [5], [40], [3, 20, 100]])
def test_a_client_hello_in_pieces(gw, mtls_pki, pieces):
    before = handshakes(gw)
    with socket.create_connection(("127.0.0.1", gw.port("require")), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head = _client_hello_then(sock, mtls_pki, pieces, 0.1)
    assert head.startswith(b"HTTP/1.1 200"), head
    expect_handshakes(gw, before, gateway=1)


@pytest.mark.parametrize("partial", [b"", b"\x16\x03\x01", b"\x16\x03\x01\x02\x00\x01\x00\x01"])
def test_a_client_that_stops_is_cut_off_by_the_handshake_timeout(gw, partial):
    with socket.create_connection(("127.0.0.1", gw.port("require")), timeout=10) as sock:
        sock.sendall(partial)
        start = time.monotonic()
        sock.settimeout(5)
        try:
            # a close, or a reset when the gateway closes with the peeked bytes still unread
            assert sock.recv(100) == b""
        except ConnectionResetError:
            pass
        assert 0.8 < time.monotonic() - start < 4
    assert curl(gw.admin_url("/metrics")).status == 200


def test_a_client_that_half_closes_mid_hello_is_let_go_at_once(gw):
    """Part of a record, then the client's FIN: no new byte will come, and the gateway must not
    keep peeking at the same bytes; the connection ends right away, not at handshake_timeout."""
    with socket.create_connection(("127.0.0.1", gw.port("require")), timeout=10) as sock:
        sock.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        sock.shutdown(socket.SHUT_WR)
        start = time.monotonic()
        sock.settimeout(5)
        try:
            data = sock.recv(100)
        except ConnectionResetError:
            data = b""
        assert data == b"" or data[0] == 21, data  # closed, or an alert first
        assert time.monotonic() - start < 0.5
    assert curl(gw.admin_url("/metrics")).status == 200


@pytest.mark.parametrize("garbage", [b"GET / HTTP/1.1\r\n\r\n",
                                     b"\x16\x03\x01\x00\x05hello",
                                     b"\x16\x03\x01\x00\x08\x01\x00\x00\x04\x03\x03\x00\x00",
                                     b"\x16\x03\x01\x40\x01" + b"\x00" * 16385])
def test_garbage_is_refused_and_harms_nothing(gw, mtls_pki, garbage):
    before = handshakes(gw)
    with socket.create_connection(("127.0.0.1", gw.port("require")), timeout=10) as sock:
        try:
            sock.sendall(garbage)
            sock.settimeout(5)
            data = sock.recv(100)
        except ConnectionResetError:
            data = b""
        # nothing, or an alert record: never a ServerHello
        assert data == b"" or data[0] == 21, data
    resp = mtls_curl(mtls_pki, gw.url("require", "/after"), "good-one", tls="1.3")
    assert resp.status == 200
    expect_handshakes(gw, before, gateway=1)


def test_an_rsa_listener_key_is_left_to_openssl(module_procs, mtls_pki, tmp_path):
    key, cert = tmp_path / "rsa.key", tmp_path / "rsa.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    port = free_port()
    rsa = {"name": "rsa", "listen": f"127.0.0.1:{port}",
           "tls": {"cert": str(cert), "key": str(key)},
           "routes": [route("all", "app", "/")]}
    g = gateway(module_procs, mtls_pki, "rsa-listener", extra_listeners=[rsa])
    before = handshakes(g)
    resp = curl(g.url("rsa", "/r"), "--tlsv1.3", cacert=str(cert))
    assert resp.status == 200
    expect_handshakes(g, before, openssl=1)


def test_the_switch_sends_every_handshake_to_openssl(module_procs, mtls_pki, tmp_path):
    g = gateway(module_procs, mtls_pki, "handshake-openssl",
                env={"PORTCULLIS_TLS_HANDSHAKE": "openssl"})
    before = handshakes(g)
    resp = mtls_curl(mtls_pki, g.url("require", "/s"), "good-one", tls="1.3")
    assert resp.status == 200
    assert subject_of(resp) == mtls_pki.cases["good-one"]["subject"]
    sess = str(tmp_path / "openssl.sess")
    first = s_client(mtls_pki, g.port("require"), "good-one", sess_out=sess)
    second = s_client(mtls_pki, g.port("require"), None, sess_in=sess)
    assert first.http_status == 200 and second.reused and second.http_status == 200
    expect_handshakes(g, before, openssl=3)
