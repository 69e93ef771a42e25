"""The gateway's TLS server handshakes (AWS-LC) as real clients see them: curl over TLS 1.3 with a
client certificate and over TLS 1.2; openssl s_client clients whose first key share is P-256 or
X25519; resumption with the gateway's session ticket, the resumed connection keeping the identity
of the first; require_handshake refusals with their specific alerts; a slow reader that does not
hold up the (single) worker; a ClientHello that arrives in pieces; a client that stops half-way,
cut off by handshake_timeout; a client that half-closes mid-hello, let go at once; garbage,
refused without harm; an RSA listener key.

/metrics counts every completed handshake, full ones as
portcullis_tls_handshakes_total{resumed="false"} and resumed ones as {resumed="true"}: every test
also proves which handshakes it had (and that refused or broken ones are not counted).
"""

import socket
import ssl
import subprocess
import time

import pytest

from conftest import (Echo, Gateway, curl, free_port, metric_value, mtls_curl, mtls_listener,
                      read_large_response, route, s_client, tls_context, upstream, wait_for)

IDENTITY = {"subject": "X-Client-Subject"}


def gateway(procs, mtls_pki, name: str, fast_lane: bool = True, extra_listeners=()):
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
    if not fast_lane:
        config["fast_lane"] = False
    return Gateway(procs, config, name=name)


@pytest.fixture(scope="module")
def gw(module_procs, mtls_pki):
    return gateway(module_procs, mtls_pki, "handshakes")


def handshakes(gw) -> dict:
    """Completed handshakes so far: {"full": n, "resumed": m}."""
    text = curl(gw.admin_url("/metrics")).text
    return {kind: int(metric_value(text, "portcullis_tls_handshakes_total",
                                   {"resumed": resumed}))
            for kind, resumed in (("full", "false"), ("resumed", "true"))}


def expect_handshakes(gw, before: dict, full: int = 0, resumed: int = 0):
    want = {"full": before["full"] + full, "resumed": before["resumed"] + resumed}
    wait_for(lambda: handshakes(gw) == want, 5, what=f"handshakes {want}")
    time.sleep(0.1)  # and no more than that
    assert handshakes(gw) == want


def subject_of(resp) -> str:
    return resp.json()["headers"]["x-client-subject"]


def test_curl_over_tls13_with_a_client_certificate(gw, mtls_pki):
    before = handshakes(gw)
    resp = mtls_curl(mtls_pki, gw.url("require", "/a"), "good-one", "-v", tls="1.3")
    assert resp.status == 200
    assert "SSL connection using TLSv1.3" in resp.stderr, resp.stderr
    assert subject_of(resp) == mtls_pki.cases["good-one"]["subject"]
    expect_handshakes(gw, before, full=1)


def test_curl_over_tls12_with_a_client_certificate(gw, mtls_pki):
    before = handshakes(gw)
    resp = mtls_curl(mtls_pki, gw.url("require", "/b"), "good-one", "-v", tls="1.2")
    assert resp.status == 200
    assert "SSL connection using TLSv1.2" in resp.stderr, resp.stderr
    assert subject_of(resp) == mtls_pki.cases["good-one"]["subject"]
    expect_handshakes(gw, before, full=1)


@pytest.mark.parametrize("groups,agreed", [("P-256", ["ECDH, prime256v1"]),
                                           ("X25519", ["X25519"]),
                                           ("P-256:X25519", ["ECDH, prime256v1", "X25519"]),
                                           ("X25519:P-256", ["X25519", "ECDH, prime256v1"])])
def test_the_first_key_share_may_be_p256_or_x25519(gw, mtls_pki, groups, agreed):
    """openssl s_client sends a key share for its first group only: the gateway takes it, or asks
    for another group it prefers among the client's (a HelloRetryRequest); either way the
    handshake completes with one of the groups the client offered."""
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
    assert "CN=alice" in text, text
    temp_key = [line for line in text.splitlines() if line.startswith("Server Temp Key: ")]
    assert len(temp_key) == 1, text
    assert any(temp_key[0].startswith(f"Server Temp Key: {g},") for g in agreed), temp_key
    expect_handshakes(gw, before, full=1)


@pytest.mark.parametrize("tls", ["1.3", "1.2"])
def test_resumption_with_the_gateways_ticket(gw, mtls_pki, tmp_path, tls):
    """The second connection resumes with the ticket of the first and presents no certificate:
    its identity is the first one's, recomputed from the chain in the ticket."""
    before = handshakes(gw)
    sess = str(tmp_path / "ticket.sess")
    first = s_client(mtls_pki, gw.port("require"), "good-one", tls=tls, sess_out=sess)
    assert first.http_status == 200 and not first.reused, first.output
    assert first.json()["headers"]["x-client-subject"] == mtls_pki.cases["good-one"]["subject"]
    expect_handshakes(gw, before, full=1)
    second = s_client(mtls_pki, gw.port("require"), None, tls=tls, sess_in=sess)
    assert second.reused, second.output
    assert second.http_status == 200, second.output
    assert second.json()["headers"]["x-client-subject"] == \
        mtls_pki.cases["good-one"]["subject"]
    expect_handshakes(gw, before, full=1, resumed=1)


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
    assert subject_of(resp) == mtls_pki.cases["good-one"]["subject"]
    expect_handshakes(gw, before, full=1)


def test_a_slow_reader_does_not_hold_up_the_worker(module_procs, mtls_pki):
    """A client that stops reading a large response: the gateway's writes must wait for room
    without blocking the (single) worker, so another client is served meanwhile, and the slow one
    still gets every byte. The request pipeline's writes, not the fast lane's (which never
    blocks): `fast_lane: false`."""
    gw = gateway(module_procs, mtls_pki, "no-lane", fast_lane=False)
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
            status, body = read_large_response(s, timeout=60)
            assert status == 200 and len(body) == size
            assert body == b"x" * size
    expect_handshakes(gw, before, full=2)


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
        for _ in range(1000):
            try:
                return operation()
            except ssl.SSLWantReadError:
                pump_out()
                data = sock.recv(65536)
                if not data:
                    raise ConnectionError("server closed")
                incoming.write(data)
        raise AssertionError("no progress after 1000 reads")

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
    expect_handshakes(gw, before, full=1)


@pytest.mark.parametrize("partial", [b"", b"\x16\x03\x01", b"\x16\x03\x01\x02\x00\x01\x00\x01"])
def test_a_client_that_stops_is_cut_off_by_the_handshake_timeout(gw, partial):
    before = handshakes(gw)
    with socket.create_connection(("127.0.0.1", gw.port("require")), timeout=10) as sock:
        sock.sendall(partial)
        start = time.monotonic()
        sock.settimeout(5)
        try:
            # a close, or a reset when the gateway closes with unread bytes
            assert sock.recv(100) == b""
        except ConnectionResetError:
            pass
        assert 0.8 < time.monotonic() - start < 4
    assert curl(gw.admin_url("/metrics")).status == 200
    expect_handshakes(gw, before)


def test_a_client_that_half_closes_mid_hello_is_let_go_at_once(gw):
    """Part of a record, then the client's FIN: no new byte will come; the connection ends right
    away, not at handshake_timeout (1 s)."""
    before = handshakes(gw)
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
    expect_handshakes(gw, before)


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
    assert subject_of(resp) == mtls_pki.cases["good-one"]["subject"]
    expect_handshakes(gw, before, full=1)


@pytest.fixture(scope="module")
def rsa_gw(module_procs, mtls_pki, tmp_path_factory):
    """A gateway with one more listener, keyed with a self-signed RSA-2048 certificate."""
    out = tmp_path_factory.mktemp("rsa-listener")
    key, cert = out / "rsa.key", out / "rsa.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    rsa = {"name": "rsa", "listen": f"127.0.0.1:{free_port()}",
           "tls": {"cert": str(cert), "key": str(key)},
           "routes": [route("all", "app", "/")]}
    g = gateway(module_procs, mtls_pki, "rsa-listener", extra_listeners=[rsa])
    return g, str(cert)


@pytest.mark.parametrize("tls", ["1.3", "1.2"])
def test_an_rsa_listener_key(rsa_gw, tls):
    g, cert = rsa_gw
    before = handshakes(g)
    resp = curl(g.url("rsa", "/r"), "-v", *(["--tlsv1.3"] if tls == "1.3" else
                                             ["--tlsv1.2", "--tls-max", "1.2"]), cacert=cert)
    assert resp.status == 200
    assert f"SSL connection using TLSv{tls}" in resp.stderr, resp.stderr
    if tls == "1.2":
        assert "ECDHE-RSA-" in resp.stderr, resp.stderr
    assert resp.json()["path"] == "/r"
    expect_handshakes(g, before, full=1)
