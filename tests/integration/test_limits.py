"""Request limits and their denial codes: header size (431), body size per route (413), header
read timeout (408), malformed or ambiguous framing (400), no route (404). Malformed requests are
sent over raw TLS sockets because curl will not produce them.
"""

import socket
import time

import pytest

from conftest import (Echo, Gateway, assert_denial, connect, curl, free_port, listener,
                      raw_request, read_response, route, upstream)

MAX_BODY = 1024
HEADER_TIMEOUT_S = 1.0


@pytest.fixture(scope="module")
def env(module_procs, pki):
    app = Echo(module_procs)
    port, plain = free_port(), free_port()
    limits = {"max_header_bytes": "4KiB", "header_timeout": "1s", "body_timeout": "1s",
              "idle_timeout": "1500ms", "handshake_timeout": "1s"}
    config = {
        "workers": 1,
        "listeners": [
            listener("secure", port, pki=pki, limits=limits, routes=[
                route("api", "app", "/api/", max_body="1KiB"),
                route("big", "app", "/big/"),
            ]),
            listener("plain", plain, limits=limits, routes=[route("api", "app", "/api/")]),
        ],
        "upstreams": {"app": upstream(app.endpoint)},
    }
    return {"gw": Gateway(module_procs, config), "pki": pki}


def https(env, path, *args, **kw):
    return curl(env["gw"].url("secure", path), *args, cacert=env["pki"].root, **kw)


def response_or_none(sock, timeout):
    """The response, or None when the gateway closed the connection without one."""
    try:
        return read_response(sock, timeout=timeout)
    except AssertionError:
        return None


def assert_timeout_denial(resp):
    assert resp is not None, (
        "the gateway closed the connection without a response; expected a 408 denial "
        "(X-Denial-Code: request.timeout)")
    assert_denial(resp, 408, "request.timeout")
    assert resp.closed, "the connection must be closed after a 408"


def raw(env, data: bytes, timeout: float = 10):
    return raw_request(env["gw"].port("secure"), data, env["pki"].root, timeout)


def logged(env, resp):
    return env["gw"].log_entry(resp.header("X-Request-Id"))


# --- header size --------------------------------------------------------------------------------

def test_header_within_limit_passes(env):
    resp = https(env, "/api/ok", "-H", "X-Pad: " + "a" * 2000)
    assert resp.status == 200
    assert resp.json()["headers"]["x-pad"] == "a" * 2000


def test_header_too_large_is_431(env):
    resp = https(env, "/api/big-header", "-H", "X-Pad: " + "a" * 8000)
    assert_denial(resp, 431, "request.header_too_large")
    entry = logged(env, resp)
    assert entry["code"] == "request.header_too_large" and entry["status"] == 431


def test_many_small_headers_over_limit_is_431(env):
    args = []
    for i in range(100):
        args += ["-H", f"X-Header-{i:03d}: {'v' * 40}"]
    resp = https(env, "/api/many", *args)
    assert_denial(resp, 431, "request.header_too_large")


def test_long_request_line_is_431(env):
    resp = https(env, "/api/" + "p" * 6000)
    assert_denial(resp, 431, "request.header_too_large")


# --- body size ----------------------------------------------------------------------------------

def test_body_at_limit_passes(env):
    resp = https(env, "/api/exact", "--data-binary", "b" * MAX_BODY)
    assert resp.status == 200
    assert resp.json()["body_length"] == MAX_BODY


def test_content_length_over_max_body_is_413(env):
    resp = https(env, "/api/too-big", "--data-binary", "b" * (MAX_BODY + 1))
    body = assert_denial(resp, 413, "request.body_too_large")
    assert str(MAX_BODY) in body["detail"]
    assert logged(env, resp)["code"] == "request.body_too_large"


def test_413_is_sent_without_waiting_for_a_large_announced_body(env):
    # Headers announce 100 MB; only the head is sent. The gateway must answer from the head.
    with connect(env["gw"].port("secure"), env["pki"].root) as sock:
        sock.sendall(b"POST /api/huge HTTP/1.1\r\nHost: localhost\r\n"
                     b"Content-Length: 100000000\r\n\r\n")
        started = time.monotonic()
        resp = read_response(sock, timeout=5)
    assert time.monotonic() - started < 3
    assert_denial(resp, 413, "request.body_too_large")
    assert resp.closed, "an unread oversized body must not be parsed as the next request"


def test_chunked_body_over_max_body_is_413(env, tmp_path):
    data = tmp_path / "body"
    data.write_bytes(b"c" * (MAX_BODY * 4))
    resp = https(env, "/api/chunked-too-big", "-H", "Transfer-Encoding: chunked",
                 "--data-binary", f"@{data}")
    assert_denial(resp, 413, "request.body_too_large")


def test_raw_chunked_body_over_max_body_is_413(env):
    chunk = b"d" * 700
    body = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk, len(chunk), chunk)
    resp = raw(env, b"POST /api/raw-chunked HTTP/1.1\r\nHost: localhost\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n" + body)
    assert_denial(resp, 413, "request.body_too_large")


def test_chunked_body_within_limit_passes(env):
    chunk = b"d" * 400
    body = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk, len(chunk), chunk)
    resp = raw(env, b"POST /api/raw-chunked-ok HTTP/1.1\r\nHost: localhost\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n" + body)
    assert resp.status == 200
    assert resp.json()["body_length"] == 800


def test_default_max_body_is_one_mebibyte(env, tmp_path):
    data = tmp_path / "body"
    data.write_bytes(b"e" * (1024 * 1024 + 1))
    resp = https(env, "/big/over-default", "--data-binary", f"@{data}")
    assert_denial(resp, 413, "request.body_too_large")
    data.write_bytes(b"e" * (1024 * 1024))
    resp = https(env, "/big/at-default", "--data-binary", f"@{data}")
    assert resp.status == 200 and resp.json()["body_length"] == 1024 * 1024


# --- header timeout -----------------------------------------------------------------------------

@pytest.mark.parametrize("tls", [True, False], ids=["tls", "plain"])
def test_partial_header_times_out_with_408(env, tls):
    port = env["gw"].port("secure" if tls else "plain")
    with connect(port, env["pki"].root if tls else None) as sock:
        sock.sendall(b"GET /api/slow HTTP/1.1\r\nHost: localhost\r\nX-Partial: ")
        started = time.monotonic()
        resp = response_or_none(sock, HEADER_TIMEOUT_S + 5)
        elapsed = time.monotonic() - started
    assert HEADER_TIMEOUT_S * 0.8 <= elapsed <= HEADER_TIMEOUT_S + 3, elapsed
    assert_timeout_denial(resp)


def test_slowloris_trickle_is_bounded_by_header_timeout(env):
    # A client that keeps sending one header byte at a time must not extend the deadline.
    # (plain listener: MSG_PEEK tells when the answer arrives without consuming it)
    with connect(env["gw"].port("plain")) as sock:
        sock.sendall(b"GET /api/trickle HTTP/1.1\r\nHost: localhost\r\nX-Trickle: ")
        started = time.monotonic()
        for _ in range(40):  # up to ~4 s of trickling
            try:
                sock.sendall(b"X")
            except OSError:
                break
            sock.settimeout(0.1)
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    break
            except (TimeoutError, socket.timeout):
                pass
        resp = response_or_none(sock, 5)
        elapsed = time.monotonic() - started
    assert elapsed <= HEADER_TIMEOUT_S + 2, elapsed
    assert_timeout_denial(resp)


def test_stalled_body_times_out_with_408(env):
    with connect(env["gw"].port("plain")) as sock:
        sock.sendall(b"POST /api/stall HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n"
                     b"only-part")
        started = time.monotonic()
        resp = response_or_none(sock, 6)
        elapsed = time.monotonic() - started
    assert 0.8 <= elapsed <= 4, elapsed
    assert_timeout_denial(resp)


def test_idle_keep_alive_connection_is_closed_after_idle_timeout(env):
    gw = env["gw"]
    with connect(gw.port("secure"), env["pki"].root) as sock:
        sock.sendall(b"GET /api/idle HTTP/1.1\r\nHost: localhost\r\n\r\n")
        first = read_response(sock)
        assert first.status == 200 and not first.closed
        lines_before = len(gw.access_log())
        started = time.monotonic()
        sock.settimeout(6)
        try:
            data = sock.recv(4096)
        except (ConnectionResetError, OSError):
            data = b""
        elapsed = time.monotonic() - started
    assert data == b"", f"expected a silent close, got {data!r}"
    assert 1.0 <= elapsed <= 4, elapsed
    time.sleep(0.2)
    assert len(gw.access_log()) == lines_before, "an idle close is not a request: no log line"


def test_tls_handshake_timeout_closes_silent_connection(env):
    with socket.create_connection(("127.0.0.1", env["gw"].port("secure")), timeout=6) as sock:
        started = time.monotonic()
        try:
            data = sock.recv(4096)
        except (ConnectionResetError, OSError):
            data = b""
        elapsed = time.monotonic() - started
    assert data == b""
    assert 0.8 <= elapsed <= 4, elapsed


# --- malformed requests -------------------------------------------------------------------------

MALFORMED = {
    "content-length-and-transfer-encoding":
        b"POST /api/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "differing-content-lengths":
        b"POST /api/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n"
        b"Content-Length: 6\r\n\r\nhello!",
    "differing-content-lengths-one-line":
        b"POST /api/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5, 6\r\n\r\nhello!",
    "bad-chunk-size":
        b"POST /api/x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"zz\r\nhello\r\n0\r\n\r\n",
    "negative-content-length":
        b"POST /api/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: -1\r\n\r\n",
    "obs-fold":
        b"GET /api/x HTTP/1.1\r\nHost: localhost\r\nX-Folded: first\r\n second\r\n\r\n",
    "space-in-header-name":
        b"GET /api/x HTTP/1.1\r\nHost: localhost\r\nBad Name: x\r\n\r\n",
    "control-char-in-header-name":
        b"GET /api/x HTTP/1.1\r\nHost: localhost\r\nBad\x01: x\r\n\r\n",
    "space-before-colon":
        b"GET /api/x HTTP/1.1\r\nHost: localhost\r\nX-Space : x\r\n\r\n",
    "transfer-encoding-gzip-only":
        b"POST /api/x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\nhello",
    "missing-host-http11":
        b"GET /api/x HTTP/1.1\r\nUser-Agent: raw\r\n\r\n",
    "two-host-headers":
        b"GET /api/x HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n",
    "garbage-request-line":
        b"THIS IS NOT HTTP\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_request_is_400(env, name):
    resp = raw(env, MALFORMED[name])
    assert_denial(resp, 400, "request.malformed")
    assert resp.closed, "ambiguous framing must close the connection"
    entry = logged(env, resp)
    assert entry["code"] == "request.malformed" and entry["status"] == 400
    assert entry["upstream"] == ""


def test_malformed_request_is_not_forwarded_on_a_kept_alive_connection(env):
    # A valid request first, then a smuggling attempt on the same connection.
    with connect(env["gw"].port("secure"), env["pki"].root) as sock:
        sock.sendall(b"GET /api/first HTTP/1.1\r\nHost: localhost\r\n\r\n")
        first = read_response(sock)
        assert first.status == 200
        sock.sendall(MALFORMED["content-length-and-transfer-encoding"])
        second = read_response(sock)
    assert_denial(second, 400, "request.malformed")
    assert second.closed


def test_http10_with_host_is_accepted(env):
    resp = raw(env, b"GET /api/old HTTP/1.0\r\nHost: localhost\r\n\r\n")
    assert resp.status == 200
    assert resp.json()["path"] == "/api/old"


def test_http10_without_host_is_refused(env):
    """Issue #22: the upstream would get an HTTP/1.1 request without Host, and a route's host
    rule could not apply; refused rather than guessed."""
    resp = raw(env, b"GET /api/old HTTP/1.0\r\n\r\n")
    body = assert_denial(resp, 400, "request.malformed")
    assert body["detail"] == "missing Host header"


# --- routing ------------------------------------------------------------------------------------

def test_no_route_is_404(env):
    resp = https(env, "/elsewhere")
    body = assert_denial(resp, 404, "route.not_found")
    assert "/elsewhere" in body["detail"]
    entry = logged(env, resp)
    assert entry["route"] == "" and entry["stage"] == "route"
