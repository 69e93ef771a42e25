"""Request framing and header hygiene against smuggling, with a RecordingUpstream that keeps the
raw bytes of every request the gateway forwards: Transfer-Encoding spellings (400
request.malformed or 501 request.transfer_coding_unsupported, Connection: close, nothing
forwarded), Host validation and normalisation, `Connection: host`, underscore header names
(dropped, or refused with `request_normalization.header_underscores: reject`), linear hop-by-hop
removal, invalid upstream responses (502 upstream.protocol_error, never relayed), 204/HEAD
bodies, and pooled upstream connections that must never carry a stale response to another client.
Requests are raw bytes (plain and TLS listeners) because curl will not send most of them.
"""

from __future__ import annotations

import base64
import socket
import ssl
import subprocess
import time
import uuid

import pytest

from backends import STALE_MARKER, read_until_close, recording_upstream
from conftest import (Gateway, assert_denial, binary, connect, free_port, listener,
                      raw_request, read_response, route, sanitizer_env, to_yaml, tool_hash,
                      upstream)

ALICE_PW = "alice-pw"
ALICE = b"Authorization: Basic " + base64.b64encode(b"alice:" + ALICE_PW.encode()) + b"\r\n"
CHUNKED_ABCD = b"4\r\nABCD\r\n0\r\n\r\n"
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"

# name -> raw response of a broken upstream (the client must get 502 upstream.protocol_error)
BAD_RESPONSES = {
    "te-xchunked-with-cl": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n"
                           b"Content-Length: 5\r\n\r\nHELLO",
    "te-gzip-close-delimited": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nHELLO",
    "te-chunked-with-cl": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                          b"Content-Length: 5\r\n\r\n5\r\nHELLO\r\n0\r\n\r\n",
    "status-099": b"HTTP/1.1 099 Weird\r\nContent-Length: 0\r\n\r\n",
    "status-600": b"HTTP/1.1 600 Weird\r\nContent-Length: 0\r\n\r\n",
}

POOL_VARIANTS = ["plain", "tls12", "basic"]


def write_htpasswd(directory) -> str:
    path = directory / "users.htpasswd"
    path.write_text(f"alice:{tool_hash('htpasswd-B', ALICE_PW)}\n")
    return str(path)


@pytest.fixture(scope="module")
def env(module_procs, pki, tmp_path_factory):
    files = tmp_path_factory.mktemp("smuggling-files")
    htpasswd = write_htpasswd(files)
    rec = recording_upstream(module_procs)
    bad = {name: recording_upstream(module_procs, "raw", raw_response=raw)
           for name, raw in BAD_RESPONSES.items()}
    r204 = recording_upstream(module_procs, "raw", close_after=False,
                              raw_response=b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
    head42 = recording_upstream(module_procs, "head_42")
    pools = {v: recording_upstream(module_procs, "extra_response") for v in POOL_VARIANTS}

    identity = {"user": "X-Auth-User"}
    routes = [
        route("basic", "rec", "/basic/", authn=["users"], identity_headers=identity),
        *[route(f"bad-{n}", f"bad-{n}", f"/bad/{n}/") for n in BAD_RESPONSES],
        route("r204", "r204", "/r204/"),
        route("head42", "head42", "/head42/"),
        route("pool-plain", "pool-plain", "/pool-plain/"),
        route("pool-tls12", "pool-tls12", "/pool-tls12/"),
        route("pool-basic", "pool-basic", "/pool-basic/", authn=["users"],
              identity_headers=identity),
        route("all", "rec", "/"),
    ]
    upstreams = {"rec": upstream(rec.endpoint), "r204": upstream(r204.endpoint),
                 "head42": upstream(head42.endpoint),
                 **{f"bad-{n}": upstream(u.endpoint) for n, u in bad.items()},
                 **{f"pool-{v}": upstream(u.endpoint) for v, u in pools.items()}}
    authenticators = {"users": {"type": "basic", "realm": "smuggling", "htpasswd": htpasswd,
                                "lockout": "off"}}
    config = {
        "workers": 1,
        "listeners": [
            listener("plain", free_port(), routes),
            listener("tls", free_port(), routes, pki=pki),
            listener("big", free_port(), routes, limits={"max_header_bytes": "1MiB"}),
        ],
        "authenticators": authenticators,
        "upstreams": upstreams,
    }
    gw = Gateway(module_procs, config)
    return {"gw": gw, "pki": pki, "rec": rec, "bad": bad, "r204": r204, "head42": head42,
            "pools": pools, "routes": routes, "upstreams": upstreams,
            "authenticators": authenticators, "procs": module_procs}


@pytest.fixture(scope="module")
def strict(env):
    """A second gateway whose listener refuses underscore header names."""
    plain = listener("strict", free_port(), env["routes"])
    plain["request_normalization"] = {"header_underscores": "reject"}
    config = {"workers": 1, "listeners": [plain], "authenticators": env["authenticators"],
              "upstreams": env["upstreams"]}
    return Gateway(env["procs"], config, name="strict")


def send(env, data: bytes, listener_name: str = "plain", timeout: float = 10):
    tls = listener_name == "tls"
    return raw_request(env["gw"].port(listener_name), data,
                       env["pki"].root if tls else None, timeout)


def nothing_forwarded(upstream_, mark: int):
    got = upstream_.quiet_since(mark)
    assert got == [], ("the upstream received requests it must never see: "
                       + repr([r.raw[:300] for r in got]))


def assert_malformed_and_closed(resp, detail_contains: str | None = None):
    body = assert_denial(resp, 400, "request.malformed", detail_contains)
    assert (resp.header("Connection") or "").lower() == "close", resp.header_list
    assert resp.closed, "the connection must be closed after a framing error"
    return body


# --- Transfer-Encoding ------------------------------------------------------------------------

@pytest.mark.parametrize("listener_name", ["plain", "tls"])
def test_xchunked_with_content_length_smuggles_nothing(env, listener_name):
    """Issue case: `Transfer-Encoding: xchunked` + `Content-Length: 4`, a second request hidden
    after the body -> 400 request.malformed naming Transfer-Encoding, Connection: close, the
    connection closed, and the upstream receives nothing (in particular no /smuggled)."""
    mark = env["rec"].count()
    data = (b"POST /te/xchunked-cl HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n"
            b"Content-Length: 4\r\n\r\nABCD" + SMUGGLED)
    resp = send(env, data, listener_name)
    assert_malformed_and_closed(resp, "Transfer-Encoding")
    got = env["rec"].quiet_since(mark, settle=0.5)
    assert not any(b"/smuggled" in r.raw for r in got), [r.raw for r in got]
    assert got == [], [r.raw[:300] for r in got]


# name -> (request line version, framing header lines, body)
TE_MALFORMED = {
    "chunked-and-content-length": (b"HTTP/1.1", b"Transfer-Encoding: chunked\r\n"
                                   b"Content-Length: 4\r\n", CHUNKED_ABCD),
    "xchunked-alone": (b"HTTP/1.1", b"Transfer-Encoding: xchunked\r\n", b"ABCD"),
    "chunked-chunked-list": (b"HTTP/1.1", b"Transfer-Encoding: chunked, chunked\r\n",
                             CHUNKED_ABCD),
    "chunked-twice-as-lines": (b"HTTP/1.1", b"Transfer-Encoding: chunked\r\n"
                               b"Transfer-Encoding: chunked\r\n", CHUNKED_ABCD),
    "identity": (b"HTTP/1.1", b"Transfer-Encoding: identity\r\n", b"ABCD"),
    "chunked-then-gzip": (b"HTTP/1.1", b"Transfer-Encoding: chunked, gzip\r\n", CHUNKED_ABCD),
    "space-chunked-and-comma-only-line": (b"HTTP/1.1", b"Transfer-Encoding:  chunked\r\n"
                                          b"Transfer-Encoding: ,\r\n", CHUNKED_ABCD),
    "comma-only": (b"HTTP/1.1", b"Transfer-Encoding: ,\r\n", b""),
    "chunked-with-parameter": (b"HTTP/1.1", b"Transfer-Encoding: chunked;foo=bar\r\n",
                               CHUNKED_ABCD),
    "on-http-1.0": (b"HTTP/1.0", b"Transfer-Encoding: chunked\r\n", CHUNKED_ABCD),
}


@pytest.mark.parametrize("case", list(TE_MALFORMED))
def test_ambiguous_transfer_encoding_is_malformed(env, case):
    """Issue cases: TE together with CL, unknown/duplicated/non-final `chunked`, `identity`,
    empty list members, parameters on chunked, TE on HTTP/1.0 -> 400 request.malformed,
    Connection: close, nothing forwarded."""
    version, framing, body = TE_MALFORMED[case]
    mark = env["rec"].count()
    resp = send(env, b"POST /te/" + case.encode() + b" " + version + b"\r\nHost: x\r\n"
                + framing + b"\r\n" + body)
    assert_malformed_and_closed(resp)
    nothing_forwarded(env["rec"], mark)


def test_unsupported_transfer_coding_is_501(env):
    """Issue case: `Transfer-Encoding: gzip, chunked` is well formed but not supported -> 501
    request.transfer_coding_unsupported, Connection: close, nothing forwarded."""
    mark = env["rec"].count()
    resp = send(env, b"POST /te/gzip-chunked HTTP/1.1\r\nHost: x\r\n"
                     b"Transfer-Encoding: gzip, chunked\r\n\r\n" + CHUNKED_ABCD)
    assert_denial(resp, 501, "request.transfer_coding_unsupported")
    assert (resp.header("Connection") or "").lower() == "close", resp.header_list
    assert resp.closed
    nothing_forwarded(env["rec"], mark)


@pytest.mark.parametrize("listener_name", ["plain", "tls"])
def test_upper_case_chunked_is_forwarded(env, listener_name):
    """Issue case: transfer-coding names are case-insensitive: `CHUNKED` with a valid chunked
    body is forwarded and the upstream receives the body."""
    mark = env["rec"].count()
    path = f"/te/upper-{listener_name}"
    resp = send(env, f"POST {path} HTTP/1.1\r\nHost: x\r\n".encode()
                + b"Transfer-Encoding: CHUNKED\r\n\r\n" + CHUNKED_ABCD, listener_name)
    assert resp.status == 200, resp.text
    assert resp.json()["path"] == path
    got = env["rec"].since(mark)
    assert len(got) == 1 and got[0].body == b"ABCD", [r.raw for r in got]


# --- Host -------------------------------------------------------------------------------------

BAD_HOSTS = ["admin.example:1:2", "a/b", "a@b", "a?b", "a#b", "a,b", "a b", "", "example.com:",
             "example.com:99999", "example.com:8x", "[::1", "[zz::1]"]


@pytest.mark.parametrize("host", BAD_HOSTS, ids=[repr(h) for h in BAD_HOSTS])
def test_invalid_host_is_malformed(env, host):
    """Issue case: a Host that is not uri-host[:port] -> 400 request.malformed naming Host;
    nothing forwarded."""
    mark = env["rec"].count()
    resp = send(env, b"GET /host/bad HTTP/1.1\r\nHost: " + host.encode() + b"\r\n\r\n")
    assert_denial(resp, 400, "request.malformed", "Host")
    nothing_forwarded(env["rec"], mark)


@pytest.mark.parametrize("host,forwarded", [("[::1]:8080", "[::1]:8080"),
                                            ("Example.COM.", "example.com"),
                                            ("Example.COM:8443", "example.com:8443")])
def test_valid_host_is_normalised(env, host, forwarded):
    """Issue case: a valid Host is accepted and forwarded normalised (lower case, no trailing
    dot, port kept)."""
    mark = env["rec"].count()
    resp = send(env, b"GET /host/good HTTP/1.1\r\nHost: " + host.encode() + b"\r\n\r\n")
    assert resp.status == 200, resp.text
    got = env["rec"].since(mark)
    assert len(got) == 1, [r.raw for r in got]
    assert got[0].all("Host") == [forwarded], got[0].head


def test_http10_without_host_is_malformed(env):
    """Issue case: every request needs a Host, HTTP/1.0 included -> 400 naming Host."""
    mark = env["rec"].count()
    resp = send(env, b"GET /host/none HTTP/1.0\r\n\r\n")
    assert_denial(resp, 400, "request.malformed", "Host")
    nothing_forwarded(env["rec"], mark)


@pytest.mark.parametrize("connection,extra", [(b"Host", b""),
                                              (b"host, X-Foo", b"X-Foo: 1\r\n")],
                         ids=["host", "host-and-x-foo"])
def test_connection_header_cannot_remove_host(env, connection, extra):
    """Issue case: `Connection: Host` must not strip the Host header from the forwarded
    request."""
    mark = env["rec"].count()
    resp = send(env, b"GET /conn/host HTTP/1.1\r\nHost: app.example\r\nConnection: "
                + connection + b"\r\n" + extra + b"\r\n")
    assert resp.status == 200, resp.text
    got = env["rec"].since(mark)
    assert len(got) == 1, [r.raw for r in got]
    assert got[0].all("Host") == ["app.example"], got[0].head
    assert got[0].all("X-Foo") == [], got[0].head


# --- underscore header names ------------------------------------------------------------------

UNDERSCORE_REQUEST = (b"GET /basic/underscore HTTP/1.1\r\nHost: x\r\n" + ALICE +
                      b"X_Auth_User: admin\r\nX-Custom_Header: 1\r\n\r\n")


@pytest.mark.parametrize("listener_name", ["plain", "tls"])
def test_underscore_headers_are_dropped(env, listener_name):
    """Issue case: `X_Auth_User: admin` must not reach the upstream next to the gateway's
    X-Auth-User (an upstream that maps _ to - would see two users): every name with an
    underscore is dropped by default."""
    mark = env["rec"].count()
    resp = send(env, UNDERSCORE_REQUEST, listener_name)
    assert resp.status == 200, resp.text
    got = env["rec"].since(mark)
    assert len(got) == 1, [r.raw for r in got]
    names = got[0].header_names()
    assert not [n for n in names if "_" in n], got[0].head
    assert got[0].all("X-Auth-User") == ["alice"], got[0].head


def test_underscore_headers_rejected_when_configured(env, strict):
    """Issue case: `request_normalization: {header_underscores: reject}` -> 400
    request.malformed naming the header; nothing forwarded."""
    mark = env["rec"].count()
    resp = raw_request(strict.port("strict"), UNDERSCORE_REQUEST)
    body = assert_denial(resp, 400, "request.malformed")
    detail = body.get("detail", "").lower()
    assert "x_auth_user" in detail or "x-custom_header" in detail, body
    nothing_forwarded(env["rec"], mark)


def test_check_config_refuses_unknown_header_underscores_value(pki, tmp_path):
    """Issue case: `header_underscores: maybe` is a configuration error naming the key and its
    line (check-config exits 1 as every configuration error does; run exits 2)."""
    plain = listener("main", free_port(), [route("all", "app", "/")])
    plain["request_normalization"] = {"header_underscores": "maybe"}
    text = to_yaml({"workers": 1, "listeners": [plain],
                    "upstreams": {"app": upstream("127.0.0.1:9")}})
    line = next(i for i, l in enumerate(text.splitlines(), 1) if "header_underscores" in l)
    config = tmp_path / "portcullis.yaml"
    config.write_text(text)
    for command, status in (("check-config", 1), ("run", 2)):
        result = subprocess.run([binary(), command, "-c", str(config)], capture_output=True,
                                text=True, timeout=30, env=sanitizer_env())
        assert result.returncode == status, (command, result.returncode, result.stderr)
        assert "request_normalization.header_underscores" in result.stderr, result.stderr
        assert f"line {line}:" in result.stderr, (line, result.stderr)


# --- hop-by-hop removal is linear ---------------------------------------------------------------

def test_many_connection_tokens_are_removed_in_linear_time(env):
    """Issue case: a Connection header naming 20000 fields plus those 20000 fields (within a
    1 MiB header limit) must not make hop-by-hop removal quadratic: answered within 20 s, and the
    worker serves the next connection within 5 s."""
    names = [f"x-h{i:05d}" for i in range(20000)]
    head = (b"GET /hop/many HTTP/1.1\r\nHost: x\r\nConnection: "
            + ", ".join(names).encode() + b"\r\n"
            + b"".join(f"{n}: v\r\n".encode() for n in names) + b"\r\n")
    assert len(head) < 1024 * 1024
    started = time.monotonic()
    resp = send(env, head, "big", timeout=25)
    elapsed = time.monotonic() - started
    assert resp.status < 500, resp.text
    assert elapsed < 20, f"answered after {elapsed:.1f} s"
    started = time.monotonic()
    follow = send(env, b"GET /hop/after HTTP/1.1\r\nHost: x\r\n\r\n", "big", timeout=10)
    assert follow.status == 200, follow.text
    assert time.monotonic() - started < 5


# --- invalid upstream responses -----------------------------------------------------------------

@pytest.mark.parametrize("name", list(BAD_RESPONSES))
def test_invalid_upstream_response_is_502(env, name):
    """Issue case: an upstream response with ambiguous framing or a status outside 100-599 ->
    502 upstream.protocol_error; its body is never relayed."""
    mark = env["bad"][name].count()
    resp = send(env, f"GET /bad/{name}/x HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert_denial(resp, 502, "upstream.protocol_error")
    assert b"HELLO" not in resp.body
    assert env["bad"][name].wait_count(mark + 1)  # it was asked, and answered badly


def test_204_is_relayed_without_framing_headers(env):
    """Issue case: an upstream 204 with `Content-Length: 0` -> relayed as 204 without
    Content-Length or Transfer-Encoding and without a body; the connection stays usable."""
    with connect(env["gw"].port("plain")) as sock:
        sock.sendall(b"GET /r204/x HTTP/1.1\r\nHost: x\r\n\r\n")
        got = read_until_close(sock, timeout=1.5)
        assert got.status == 204, got.data
        assert got.header("Content-Length") is None, got.head
        assert got.header("Transfer-Encoding") is None, got.head
        assert got.after_head == b"", got.data
        assert not got.closed
        sock.sendall(b"GET /after-204 HTTP/1.1\r\nHost: x\r\n\r\n")
        follow = read_response(sock)
    assert follow.status == 200 and follow.json()["path"] == "/after-204"


def test_head_response_has_no_body(env):
    """Issue case: HEAD answered with `Content-Length: 42` and no body -> relayed without a
    body (Content-Length may stay), and the next response on the connection is intact."""
    with connect(env["gw"].port("plain")) as sock:
        sock.sendall(b"HEAD /head42/x HTTP/1.1\r\nHost: x\r\n\r\n")
        got = read_until_close(sock, timeout=1.5)
        assert got.status == 200, got.data
        assert got.after_head == b"", got.data
        assert not got.closed
        sock.sendall(b"GET /head42/next HTTP/1.1\r\nHost: x\r\n\r\n")
        follow = read_response(sock)
    assert follow.status == 200 and follow.json()["path"] == "/head42/next"


# --- pooled upstream connections never cross clients ---------------------------------------------

def pool_request(env, variant: str, path: str):
    gw = env["gw"]
    auth = ALICE if variant == "basic" else b""
    data = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".encode() + auth + b"\r\n"
    if variant == "tls12":
        ctx = ssl.create_default_context(cafile=env["pki"].root)
        ctx.check_hostname = False
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        raw = socket.create_connection(("127.0.0.1", gw.port("tls")), timeout=10)
        with ctx.wrap_socket(raw, server_hostname="localhost") as sock:
            assert sock.version() == "TLSv1.2"
            sock.sendall(data)
            return read_response(sock)
    return raw_request(gw.port("plain"), data)


@pytest.mark.parametrize("variant", POOL_VARIANTS)
def test_stale_upstream_response_never_reaches_the_next_client(env, variant):
    """Issue case: an upstream that writes an unsolicited second response onto a kept-alive
    connection; the next client (a new connection, plain / TLS 1.2 / Basic-authenticated) must
    get its own answer, never STALE-EXTRA-RESPONSE."""
    upstream_ = env["pools"][variant]
    leaks = []
    for i in range(20):
        path = f"/pool-{variant}/{i}-{uuid.uuid4().hex[:8]}"
        resp = pool_request(env, variant, path)
        if STALE_MARKER.encode() in resp.body:
            leaks.append((i, resp.status, resp.text[:200]))
        else:
            assert resp.status == 200, (i, resp.text)
            assert resp.json()["path"] == path, (i, resp.text)
        time.sleep(0.15)
    assert not leaks, f"stale responses relayed to other clients: {leaks}"
    assert upstream_.stale_sent > 0  # the upstream did misbehave
