"""The workers' fast lane (src/net/fast_lane.cpp) against the request pipeline it stands in for.

The same requests go over one keep-alive mTLS connection to two gateways, one with the lane
(the default) and one with `fast_lane: false` in its configuration; the upstream must receive the
same request heads and the client the same responses (request ids and dates aside). The lane's metrics show it
served them. Then the lane's own timers: a slow upstream, an idle client, an upstream that
closes its idle connections.
"""

import os
import re
import socket
import ssl
import time

import pytest

from conftest import (FakeUpstream, Gateway, curl, free_port, mtls_listener, read_response, route,
                      tls_context, upstream, wait_for)


def client_context(mtls_pki) -> ssl.SSLContext:
    """Python's TLS 1.3 client presenting good-one's certificate."""
    ctx = tls_context(mtls_pki.server_root)
    ctx.load_cert_chain(mtls_pki.cert("good-one"), mtls_pki.key("good-one"))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx


class RecordingUpstream(FakeUpstream):
    """An HTTP/1.1 keep-alive upstream that records every request head it receives and answers
    by path: /chunked, /empty (204), /interim (100 then 200), /big (2 MiB), /close
    (Connection: close), /fin (closes after the response without saying so), /truncated (10 of
    100 bytes, then closes), /slow (no answer), /delay (answers after 0.2 s), anything else a
    small Content-Length body."""

    BIG = bytes(range(256)) * 8192

    def __init__(self):
        self.heads: list[bytes] = []
        self.close_idle_after = None  # seconds: close each connection this long after answering
        super().__init__("recording")  # FakeUpstream's listener and accept loop, our _serve

    def _answer(self, path: str) -> tuple[bytes, bool]:
        if path.startswith("/chunked"):
            return (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked"
                    b"\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), False
        if path.startswith("/empty"):
            return b"HTTP/1.1 204 No Content\r\nX-Upstream: yes\r\n\r\n", False
        if path.startswith("/interim"):
            return (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
                    b"ok"), False
        if path.startswith("/big"):
            return (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                    b"Content-Length: " + str(len(self.BIG)).encode() + b"\r\n\r\n" + self.BIG,
                    False)
        if path.startswith("/close"):
            return (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye"), True
        body = b"ok:" + path.encode()
        return (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Upstream: yes\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body), False

    def _serve(self, conn: socket.socket):
        conn.settimeout(0.2)
        buf = b""
        try:
            while not self._closed:
                got = self._read_request(conn, buf)
                if got is None:
                    return
                head, buf = got
                with self._lock:
                    self.heads.append(head)
                method, path = head.split(b" ")[0], head.split(b" ")[1].decode()
                if path.startswith("/slow"):
                    while not self._closed:
                        time.sleep(0.05)
                    return
                if path.startswith("/delay"):
                    time.sleep(0.2)
                if path.startswith("/truncated"):
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
                    conn.close()
                    return
                answer, close = self._answer(path)
                if method == b"HEAD":  # the head only, Content-Length and all
                    answer = answer[:answer.index(b"\r\n\r\n") + 4]
                conn.sendall(answer)
                if close or path.startswith("/fin"):
                    conn.close()
                    return
                if self.close_idle_after is not None:
                    time.sleep(self.close_idle_after)
                    conn.close()
                    return
        except OSError:
            pass


@pytest.fixture
def recording(procs):
    return procs.add(RecordingUpstream())


def lane_gateway(procs, mtls_pki, app, lane: bool, response_timeout: str = "700ms",
                 **limits) -> Gateway:
    """A gateway in front of `app`; `lane` False: `fast_lane: false` in its configuration, every
    request goes through the request pipeline."""
    admin = free_port()
    config = {
        "workers": 1,
        "admin": {"listen": f"127.0.0.1:{admin}"},
        "listeners": [mtls_listener("main", free_port(), mtls_pki,
                                    mtls_pki.client_auth("require"),
                                    [route("api", "app", "/", authn=["mtls"],
                                           identity_headers={"subject": "X-Client-Subject"}),
                                     ],
                                    limits=limits or None)],
        "upstreams": {"app": upstream(app.endpoint, response_timeout=response_timeout)},
    }
    if not lane:
        config["fast_lane"] = False
    return Gateway(procs, config, name="lane" if lane else "nolane")


def lane_counts(gw) -> dict:
    text = curl(gw.admin_url("/metrics")).text
    return {m.group(1): int(m.group(2)) for m in
            re.finditer(r'^portcullis_fast_lane_requests_total\{outcome="(\w+)"\} (\d+)$', text,
                        re.MULTILINE)}


def get(s, path: str):
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())


def open_client(gw, mtls_pki, warm: bool = False):
    """A TLS connection with good-one's certificate. `warm`: one request first, which the
    pipeline serves (no idle upstream connection yet) and which leaves one for the lane."""
    raw = socket.create_connection(("127.0.0.1", gw.port("main")), timeout=10)
    s = client_context(mtls_pki).wrap_socket(raw, server_hostname="localhost")
    if warm:
        get(s, "/warm")
        assert read_response(s).status == 200
    return s


# The corpus: one keep-alive connection, every request after the first one eligible for the lane
# or handed back by it at a known point.
CORPUS = [
    b"GET /first HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"GET /plain?q=1&r=%20x HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\nUser-Agent: t/1\r\n\r\n",
    # a client's own identity header is stripped; X-Forwarded-For is appended to
    b"GET /spoof HTTP/1.1\r\nHost: localhost\r\nX-Client-Subject: CN=mallory\r\n"
    b"X-Forwarded-For: 10.0.0.1\r\nConnection: keep-alive, X-Hop\r\nX-Hop: drop me\r\n\r\n",
    b"HEAD /head HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"GET /chunked HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"GET /empty HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"GET /interim HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"POST /body HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello",
    b"GET /big HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"GET /missing-host HTTP/1.1\r\n\r\n",  # 400 request.malformed: the pipeline closes
]
# Two pipelined requests in one write, on a second connection.
PIPELINED = (b"GET /pipe1 HTTP/1.1\r\nHost: localhost\r\n\r\n"
             b"GET /pipe2 HTTP/1.1\r\nHost: localhost\r\n\r\n")

VOLATILE = re.compile(rb"^(X-Request-Id|Date): .*$", re.MULTILINE | re.IGNORECASE)


def normalize(data: bytes) -> bytes:
    return VOLATILE.sub(lambda m: m.group(1) + b": *", data)


def response_view(resp) -> tuple:
    headers = [(n, "*" if n.lower() in ("x-request-id", "date") else v)
               for n, v in resp.header_list]
    request_id = (resp.header("x-request-id") or "-").encode()
    return resp.status, headers, resp.body.replace(request_id, b"*")


def read_until_close(s, timeout: float = 10) -> bytes:
    """Everything the gateway sends until it closes the connection."""
    s.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except (ssl.SSLError, ConnectionResetError):
            return data
        if not chunk:
            return data
        data += chunk


def run_corpus(gw, mtls_pki) -> list:
    seen = []
    with open_client(gw, mtls_pki) as s:
        for request in CORPUS:
            s.sendall(request)
            # No body to read after a HEAD or a 204 (read_response would wait for the close).
            bodiless = request.startswith(b"HEAD") or b"/empty" in request
            resp = read_response(s, head_only=bodiless)
            seen.append(response_view(resp))
            if resp.closed:
                break
    with open_client(gw, mtls_pki) as s:
        s.sendall(b"GET /warm HTTP/1.1\r\nHost: localhost\r\n\r\n")
        seen.append(response_view(read_response(s)))
        s.sendall(PIPELINED)
        seen.append(response_view(read_response(s)))
        seen.append(response_view(read_response(s)))
    return seen


def test_the_lane_sends_and_answers_what_the_pipeline_does(procs, mtls_pki):
    results = {}
    for lane in (True, False):
        app = procs.add(RecordingUpstream())
        gw = lane_gateway(procs, mtls_pki, app, lane)
        responses = run_corpus(gw, mtls_pki)
        results[lane] = (responses, [normalize(h) for h in app.heads], lane_counts(gw))

    with_lane, without = results[True], results[False]
    assert [r[0] for r in with_lane[0]] == [200, 200, 200, 200, 200, 204, 200, 200, 200, 400,
                                            200, 200, 200]
    assert with_lane[0] == without[0]
    assert with_lane[1] == without[1]
    spoof = next(h for h in with_lane[1] if b"/spoof" in h)
    assert b"CN=mallory" not in spoof and b"X-Hop" not in spoof
    assert b"X-Forwarded-For: 10.0.0.1, 127.0.0.1" in spoof
    assert b"/body" in b"".join(with_lane[1])  # a body goes through the pipeline
    # The lane served the simple ones to the end and handed the chunked and interim responses
    # back; with `fast_lane: false` it served nothing.
    assert with_lane[2]["relayed"] >= 6, with_lane[2]
    assert with_lane[2]["resumed"] == 2, with_lane[2]
    assert without[2] == {"relayed": 0, "resumed": 0}


def test_a_slow_upstream_is_a_504_after_one_response_timeout(procs, mtls_pki, recording):
    gw = lane_gateway(procs, mtls_pki, recording, True)
    with open_client(gw, mtls_pki, warm=True) as s:
        started = time.monotonic()
        get(s, "/slow")
        resp = read_response(s)
        waited = time.monotonic() - started
    assert resp.status == 504 and resp.header("x-denial-code") == "upstream.timeout"
    assert "no response within 700 ms" in resp.text
    # The lane waited and the pipeline reported: one timeout, not two.
    assert 0.6 <= waited < 1.3, waited
    assert lane_counts(gw)["resumed"] == 1


def test_an_idle_client_is_closed_after_idle_timeout(procs, mtls_pki, recording):
    gw = lane_gateway(procs, mtls_pki, recording, True, idle_timeout="400ms")
    with open_client(gw, mtls_pki) as s:
        s.sendall(b"GET /a HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert read_response(s).status == 200
        started = time.monotonic()
        s.sendall(b"GET /b HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert read_response(s).status == 200
        s.settimeout(5)
        assert s.recv(1) == b""  # close_notify, then the close
        assert 0.35 <= time.monotonic() - started < 2.0
    assert lane_counts(gw)["relayed"] >= 1


def test_an_upstream_that_closes_idle_connections(procs, mtls_pki, recording):
    """The lane's idle upstream connection is closed by the upstream: the lane drops it, and the
    next request gets a fresh one."""
    recording.close_idle_after = 0.1
    gw = lane_gateway(procs, mtls_pki, recording, True)
    with open_client(gw, mtls_pki) as s:
        for i in range(4):
            s.sendall(f"GET /r{i} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
            resp = read_response(s)
            assert resp.status == 200, resp.body
            assert resp.body == f"ok:/r{i}".encode()
            time.sleep(0.3)
    wait_for(lambda: recording.connections >= 4, 5, what="a connection per request")



def test_requests_sent_while_others_are_in_flight(procs, mtls_pki, recording):
    """Two requests at once, and a third while the first waits for the upstream: the lane must
    read the third although its readiness came while it was busy."""
    gw = lane_gateway(procs, mtls_pki, recording, True, idle_timeout="10s")
    with open_client(gw, mtls_pki, warm=True) as s:
        # Two TLS records in one TCP segment: the second request waits in the record layer.
        raw = socket.socket(fileno=os.dup(s.fileno()))
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
        s.sendall(b"GET /delay-a HTTP/1.1\r\nHost: localhost\r\n\r\n")
        s.sendall(b"GET /b HTTP/1.1\r\nHost: localhost\r\n\r\n")
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)
        raw.close()
        time.sleep(0.05)
        get(s, "/c")
        bodies = [read_response(s, timeout=3).body for _ in range(3)]
    assert bodies == [b"ok:/delay-a", b"ok:/b", b"ok:/c"]
    assert lane_counts(gw)["relayed"] >= 3


def test_a_client_that_half_closes_after_its_request(procs, mtls_pki, recording):
    """Request and FIN together: the answer comes, then the gateway closes at once, not after
    idle_timeout."""
    gw = lane_gateway(procs, mtls_pki, recording, True, idle_timeout="10s")
    with open_client(gw, mtls_pki, warm=True) as s:
        get(s, "/last")
        socket.socket(fileno=os.dup(s.fileno())).shutdown(socket.SHUT_WR)  # TCP FIN, TLS stays
        started = time.monotonic()
        data = read_until_close(s)
        assert data.startswith(b"HTTP/1.1 200 OK") and data.endswith(b"ok:/last"), data
        assert time.monotonic() - started < 2.0


def test_an_upstream_that_closes_after_a_response_without_saying_so(procs, mtls_pki, recording):
    """The response and the upstream's FIN arrive together: the lane drops that connection
    instead of keeping it for the next request."""
    gw = lane_gateway(procs, mtls_pki, recording, True)
    with open_client(gw, mtls_pki, warm=True) as s:
        for path in ("/fin-1", "/fin-2", "/after"):
            get(s, path)
            resp = read_response(s)
            assert resp.status == 200 and resp.body == f"ok:{path}".encode()
    assert lane_counts(gw)["resumed"] == 0  # nothing was sent into a closed connection


def test_an_upstream_that_cuts_the_body_short(procs, mtls_pki, recording):
    """10 of 100 bytes and a FIN: the client gets them and the close at once, not after the
    response_timeout."""
    gw = lane_gateway(procs, mtls_pki, recording, True, response_timeout="5s")
    with open_client(gw, mtls_pki, warm=True) as s:
        started = time.monotonic()
        get(s, "/truncated")
        data = read_until_close(s)
        assert data.endswith(b"\r\n\r\n0123456789"), data
        assert time.monotonic() - started < 2.0


def active_connections(gw) -> int:
    text = curl(gw.admin_url("/metrics")).text
    m = re.search(r'^portcullis_connections_active\{listener="main"\} (\d+)$', text, re.MULTILINE)
    return int(m.group(1)) if m else -1


def test_a_mass_disconnect_is_noticed_at_once(procs, mtls_pki, recording):
    """More clients than one turn of the lane handles (256 events) close at the same moment:
    every one of their connections ends at once, none waits for idle_timeout."""
    gw = lane_gateway(procs, mtls_pki, recording, True, idle_timeout="60s")
    clients = []
    try:
        for i in range(300):
            s = open_client(gw, mtls_pki)
            get(s, f"/c{i}")
            # The head is enough (read_response's full read waits 0.3 s to see a close).
            assert read_response(s, head_only=True).status == 200
            clients.append(s)
        wait_for(lambda: active_connections(gw) == 300, 10, what="300 connections open")
        time.sleep(0.3)  # their first idle moment: in the lane
    finally:
        for s in clients:
            s.close()  # no close_notify: a FIN each, as when a load generator exits
    wait_for(lambda: active_connections(gw) == 0, 5, what="every connection closed")
