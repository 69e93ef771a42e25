"""Proxying through the real gateway with the echo upstream and real curl over TLS: what reaches
the upstream (request line, forwarding headers, bodies), what is removed (hop-by-hop, client
identity headers), keep-alive on both sides, chunked bodies, round robin, route matching, workers.
"""

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import (Echo, Gateway, connect, curl, fake_upstream, free_port, listener,
                      read_response, route, upstream)

HOP_BY_HOP = ["connection", "keep-alive", "te", "upgrade", "proxy-authorization", "x-named-hop"]
IDENTITY = ["x-auth-user", "x-auth-groups", "x-client-subject", "x-client-issuer",
            "x-client-san", "x-client-sha256", "x-client-verify", "x-client-cert",
            "x-client-cert-chain", "x-forwarded-client-cert", "x-remote-user", "x-remote-groups"]


@pytest.fixture(scope="module")
def env(module_procs, pki):
    app = Echo(module_procs)
    rr_a = Echo(module_procs)
    rr_b = Echo(module_procs)
    counting = fake_upstream(module_procs, "counting")
    closing = fake_upstream(module_procs, "counting", close_after_response=True)
    hop_response = fake_upstream(
        module_procs, "counting",
        extra_headers=b"Connection: X-Upstream-Hop\r\nX-Upstream-Hop: secret\r\n"
                      b"Keep-Alive: timeout=5\r\nX-Upstream-Kept: yes\r\n")
    tls_port, plain_port = free_port(), free_port()
    config = {
        "workers": 1,
        "listeners": [
            listener("secure", tls_port, pki=pki, routes=[
                route("only", "rr", "/rr/", host="only.example"),
                route("wild", "rr", "/rr/", host="*.wild.example"),
                route("rr", "rr", "/rr/"),
                route("count", "count", "/count/"),
                route("closing", "closing", "/closing/"),
                route("hopresp", "hopresp", "/hopresp/"),
                route("ident", "app", "/ident/",
                      identity_headers={"user": "X-Remote-User", "groups": "X-Remote-Groups"}),
                route("api", "app", "/", max_body="8MiB"),
            ]),
            listener("plain", plain_port, routes=[route("api", "app", "/")]),
        ],
        "upstreams": {
            "app": upstream(app.endpoint),
            "rr": upstream(rr_a.endpoint, rr_b.endpoint),
            "count": upstream(counting.endpoint),
            "closing": upstream(closing.endpoint),
            "hopresp": upstream(hop_response.endpoint),
        },
    }
    gw = Gateway(module_procs, config)
    return {"gw": gw, "pki": pki, "app": app, "rr": (rr_a, rr_b), "counting": counting,
            "closing": closing}


def get(env, path, *args, listener_name="secure", **kw):
    gw = env["gw"]
    tls = listener_name == "secure"
    return curl(gw.url(listener_name, path, tls=tls), *args,
                cacert=env["pki"].root if tls else None, **kw)


def test_get_forwards_method_path_query_and_forwarding_headers(env):
    resp = get(env, "/some/path?a=1&b=two", "-H", "X-Custom: kept")
    assert resp.status == 200
    echo = resp.json()
    assert echo["method"] == "GET"
    assert echo["path"] == "/some/path"
    assert echo["query"] == "a=1&b=two"
    h = echo["headers"]
    port = env["gw"].port("secure")
    assert h["x-forwarded-for"] == "127.0.0.1"
    assert h["x-forwarded-proto"] == "https"
    assert h["x-forwarded-host"] == f"127.0.0.1:{port}"
    assert h["host"] == f"127.0.0.1:{port}"
    assert h["x-custom"] == "kept"
    assert echo["body_length"] == 0


def test_request_id_is_sent_upstream_returned_and_logged(env):
    resp = get(env, "/rid")
    rid = resp.header("X-Request-Id")
    assert rid and len(rid) >= 8
    assert resp.json()["headers"]["x-request-id"] == rid
    entry = env["gw"].log_entry(rid)
    assert entry["path"] == "/rid" and entry["status"] == 200


def test_client_request_id_is_not_trusted_or_the_log_id_matches(env):
    # Whatever the gateway does with a client-sent X-Request-Id, upstream, response and log agree.
    resp = get(env, "/rid2", "-H", "X-Request-Id: client-chosen")
    rid = resp.header("X-Request-Id")
    assert resp.json()["headers"]["x-request-id"] == rid
    assert env["gw"].log_entry(rid)["path"] == "/rid2"


def test_no_via_header_either_way(env):
    resp = get(env, "/via")
    assert resp.header("Via") is None
    assert "via" not in resp.json()["headers"]


def test_post_body_reaches_upstream(env):
    resp = get(env, "/post", "--data-binary", "hello, world", "-H", "Content-Type: text/plain")
    echo = resp.json()
    assert resp.status == 200
    assert echo["method"] == "POST"
    assert echo["body_length"] == 12
    assert echo["headers"]["content-type"] == "text/plain"
    assert echo["headers"]["content-length"] == "12"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_are_forwarded(env, method):
    resp = get(env, "/m", "-X", method, "--data-binary", "abc")
    assert resp.status == 200
    assert resp.json()["method"] == method
    assert resp.json()["body_length"] == 3


def test_head_has_no_body(env):
    # HEAD then GET on one connection: the GET parses only if HEAD's response had no body.
    with connect(env["gw"].port("secure"), env["pki"].root) as sock:
        sock.sendall(b"HEAD /head HTTP/1.1\r\nHost: localhost\r\n\r\n")
        head = read_response(sock, head_only=True)
        assert head.status == 200
        assert int(head.header("Content-Length")) > 0
        sock.sendall(b"GET /after-head HTTP/1.1\r\nHost: localhost\r\n\r\n")
        after = read_response(sock)
    assert after.status == 200
    assert after.json()["path"] == "/after-head"


def test_expect_100_continue_upload(env, tmp_path):
    data = tmp_path / "two-mib"
    data.write_bytes(b"y" * (2 * 1024 * 1024))
    resp = get(env, "/continue", "--data-binary", f"@{data}", "-H", "Expect: 100-continue")
    assert resp.status == 200
    assert resp.json()["body_length"] == 2 * 1024 * 1024


def test_client_keep_alive_reuses_the_connection(env):
    gw = env["gw"]
    result = subprocess.run(
        ["curl", "-sv", "--max-time", "20", "--cacert", env["pki"].root,
         gw.url("secure", "/first"), gw.url("secure", "/second")],
        capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "Re-using existing connection" in result.stderr, result.stderr
    assert result.stdout.count('"method":"GET"') == 2
    assert '"path":"/first"' in result.stdout and '"path":"/second"' in result.stdout


def test_upstream_connections_are_pooled(env):
    counting = env["counting"]
    before_conns = counting.connections
    before_reqs = counting.requests
    for i in range(5):  # five separate client connections, one after the other
        resp = get(env, f"/count/{i}")
        assert resp.status == 200, resp.text
    assert counting.requests - before_reqs == 5
    assert counting.connections - before_conns <= 1, (
        f"{counting.connections - before_conns} upstream connections for 5 sequential requests")


def test_upstream_closing_idle_pooled_connection_is_transparent(env):
    # The upstream silently closes each connection 100 ms after answering: a pooled connection
    # found dead must be replaced, not turned into a 502 for the client.
    closing = env["closing"]
    for i in range(4):
        resp = get(env, f"/closing/{i}")
        assert resp.status == 200, f"request {i}: {resp.status} {resp.text}"
        time.sleep(0.3)
    assert closing.requests == 4
    assert closing.connections == 4


def test_post_on_a_closed_idle_pooled_connection_is_checked_first(env):
    # A request with a body is never resent: the pool checks an idle connection before using
    # it (MSG_PEEK), so the dead one is skipped and the POST goes out exactly once.
    closing = env["closing"]
    before_reqs, before_conns = closing.requests, closing.connections
    for i in range(3):
        resp = get(env, f"/closing/post{i}", "-X", "POST", "--data-binary", "abc")
        assert resp.status == 200, f"request {i}: {resp.status} {resp.text}"
        time.sleep(0.3)
    assert closing.requests - before_reqs == 3
    assert closing.connections - before_conns == 3


def test_upstream_hop_by_hop_response_headers_are_removed(env):
    resp = get(env, "/hopresp/x")
    assert resp.status == 200
    assert resp.header("X-Upstream-Kept") == "yes"
    assert resp.header("X-Upstream-Hop") is None
    assert resp.header("Keep-Alive") is None
    assert "x-upstream-hop" not in (resp.header("Connection") or "").lower()


def test_pipelined_requests_are_answered_in_order(env):
    with connect(env["gw"].port("secure"), env["pki"].root) as sock:
        sock.sendall(b"GET /p1 HTTP/1.1\r\nHost: localhost\r\n\r\n"
                     b"POST /p2 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc"
                     b"GET /p3 HTTP/1.1\r\nHost: localhost\r\n\r\n")
        responses = [read_response(sock) for _ in range(3)]
    assert [r.status for r in responses] == [200, 200, 200]
    assert [r.json()["path"] for r in responses] == ["/p1", "/p2", "/p3"]
    assert responses[1].json()["body_length"] == 3


def test_connection_close_from_client_is_honoured(env):
    with connect(env["gw"].port("secure"), env["pki"].root) as sock:
        sock.sendall(b"GET /bye HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        resp = read_response(sock)
    assert resp.status == 200
    assert resp.closed


def test_x_forwarded_for_appends_client_address(env):
    resp = get(env, "/xff", "-H", "X-Forwarded-For: 10.1.2.3")
    assert resp.json()["headers"]["x-forwarded-for"] == "10.1.2.3, 127.0.0.1"


def test_x_forwarded_for_joins_several_client_headers(env):
    resp = get(env, "/xff2", "-H", "X-Forwarded-For: 10.0.0.1", "-H", "X-Forwarded-For: 10.0.0.2")
    assert resp.json()["headers"]["x-forwarded-for"] == "10.0.0.1, 10.0.0.2, 127.0.0.1"


def test_client_forwarded_proto_and_host_are_replaced(env):
    resp = get(env, "/xfp", "-H", "X-Forwarded-Proto: gopher", "-H", "X-Forwarded-Host: evil.example")
    h = resp.json()["headers"]
    assert h["x-forwarded-proto"] == "https"
    assert h["x-forwarded-host"] == f"127.0.0.1:{env['gw'].port('secure')}"


def test_hop_by_hop_headers_are_removed(env):
    resp = get(env, "/hop",
               "-H", "Connection: keep-alive, X-Named-Hop",
               "-H", "X-Named-Hop: secret",
               "-H", "Keep-Alive: timeout=5",
               "-H", "TE: trailers",
               "-H", "Upgrade: websocket",
               "-H", "Proxy-Authorization: Basic Zm9vOmJhcg==",
               "-H", "X-End-To-End: yes")
    assert resp.status == 200
    headers = resp.json()["headers"]
    for name in HOP_BY_HOP:
        assert name not in headers, f"{name} reached the upstream: {headers}"
    assert headers["x-end-to-end"] == "yes"


def test_client_identity_headers_are_stripped(env):
    args = []
    for name in IDENTITY:
        args += ["-H", f"{name.upper()}: forged"]
    args += ["-H", "X-Not-Identity: fine"]
    resp = get(env, "/ident/x", *args)
    assert resp.status == 200
    headers = resp.json()["headers"]
    for name in IDENTITY:
        assert name not in headers, f"client-sent {name} reached the upstream: {headers}"
    assert headers["x-not-identity"] == "fine"


def test_builtin_identity_headers_are_stripped_on_every_route(env):
    resp = get(env, "/plain-route", "-H", "X-Auth-User: admin", "-H", "X-Client-Subject: CN=admin",
               "-H", "X-Forwarded-Client-Cert: By=x")
    headers = resp.json()["headers"]
    for name in ("x-auth-user", "x-client-subject", "x-forwarded-client-cert"):
        assert name not in headers, headers


def test_chunked_request_body(env, tmp_path):
    data = tmp_path / "body"
    data.write_bytes(b"z" * 100_000)
    resp = get(env, "/chunked", "-H", "Transfer-Encoding: chunked", "--data-binary", f"@{data}")
    assert resp.status == 200
    echo = resp.json()
    assert echo["body_length"] == 100_000
    assert echo["method"] == "POST"


def test_chunked_response_passes_through(env):
    resp = get(env, "/chunky?echo_chunked=1")
    assert resp.status == 200
    echo = resp.json()
    assert echo["path"] == "/chunky"
    assert echo["query"] == "echo_chunked=1"


def test_download_body(env):
    resp = get(env, "/bytes?echo_bytes=300000")
    assert resp.status == 200
    assert len(resp.body) == 300_000
    assert resp.body == b"x" * 300_000


def test_upstream_error_status_is_passed_through_not_a_denial(env):
    resp = get(env, "/teapot?echo_status=418")
    assert resp.status == 418
    assert resp.header("X-Denial-Code") is None
    assert resp.json()["path"] == "/teapot"
    entry = env["gw"].log_entry(resp.header("X-Request-Id"))
    assert entry["status"] == 418 and entry["code"] == "ok" and entry["upstream_status"] == 418


def test_plain_listener_forwards_with_proto_http(env):
    resp = get(env, "/plain?q=1", listener_name="plain")
    assert resp.status == 200
    h = resp.json()["headers"]
    assert h["x-forwarded-proto"] == "http"
    assert h["x-forwarded-for"] == "127.0.0.1"
    assert resp.json()["query"] == "q=1"


def test_round_robin_uses_every_endpoint(env):
    gw = env["gw"]
    ids = []
    for i in range(6):
        resp = get(env, f"/rr/{i}")
        assert resp.status == 200
        ids.append(resp.header("X-Request-Id"))
    used = [gw.log_entry(rid)["upstream"] for rid in ids]
    expected = {f"rr {e.endpoint}" for e in env["rr"]}
    assert set(used) == expected, used
    # strict alternation is what round robin means for sequential requests
    assert all(used[i] != used[i + 1] for i in range(len(used) - 1)), used


def test_first_matching_route_wins(env):
    gw = env["gw"]
    special = get(env, "/rr/host", "-H", "Host: only.example")
    other = get(env, "/rr/host", "-H", "Host: other.example")
    assert special.status == 200 and other.status == 200
    assert gw.log_entry(special.header("X-Request-Id"))["route"] == "only"
    assert gw.log_entry(other.header("X-Request-Id"))["route"] == "rr"
    assert gw.log_entry(get(env, "/anything").header("X-Request-Id"))["route"] == "api"


def test_host_match_ignores_case_and_port(env):
    gw = env["gw"]
    resp = get(env, "/rr/case", "-H", "Host: ONLY.Example:8443")
    assert gw.log_entry(resp.header("X-Request-Id"))["route"] == "only"


def test_wildcard_host_matches_subdomains_only(env):
    gw = env["gw"]
    sub = get(env, "/rr/w", "-H", "Host: a.wild.example")
    bare = get(env, "/rr/w", "-H", "Host: wild.example")
    assert gw.log_entry(sub.header("X-Request-Id"))["route"] == "wild"
    assert gw.log_entry(bare.header("X-Request-Id"))["route"] == "rr"


def test_request_target_is_forwarded_normalised(env):
    """Issue #22: the upstream receives the path routing decided on (unreserved characters
    decoded, other escapes kept with upper-case hex, dot segments resolved); the query as sent."""
    resp = get(env, "/enc/./x/../a%2db%20c%7e%e2%82%ac?q=a%26b&r=%E2%82%AC&flag=%2f", "--path-as-is")
    echo = resp.json()
    assert echo["path"] == "/enc/a-b%20c~%E2%82%AC"
    assert echo["query"] == "q=a%26b&r=%E2%82%AC&flag=%2f"


def test_workers_two_serve_parallel_requests(procs, pki):
    app = Echo(procs)
    port = free_port()
    gw = Gateway(procs, {
        "workers": 2,
        "listeners": [listener("secure", port, pki=pki, routes=[route("api", "app", "/")])],
        "upstreams": {"app": upstream(app.endpoint)},
    })

    def one(i):
        return curl(gw.url("secure", f"/par/{i}?echo_delay_ms=50"), cacert=pki.root)

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(one, range(48)))
    assert [r.status for r in results] == [200] * 48
    assert sorted(r.json()["path"] for r in results) == sorted(f"/par/{i}" for i in range(48))
    lines = gw.wait_log_count(48)
    assert len(lines) == 48
    assert len({l["request_id"] for l in lines}) == 48


def test_tls_serves_full_chain_and_does_not_select_h2(env):
    port = env["gw"].port("secure")
    result = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost",
         "-CAfile", env["pki"].root, "-verify_return_error", "-alpn", "h2,http/1.1"],
        input=b"", capture_output=True, timeout=20)
    out = result.stdout.decode(errors="replace") + result.stderr.decode(errors="replace")
    assert "Verify return code: 0 (ok)" in out, out
    assert "Intermediate" in out  # the intermediate is sent: leaf -> intermediate -> root
    alpn = [l for l in out.splitlines() if "ALPN" in l]
    assert alpn and ("http/1.1" in alpn[0] or "No ALPN negotiated" in alpn[0]), alpn
