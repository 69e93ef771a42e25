"""Upstream failures and their denial codes (502/504), each naming the failing endpoint in the
detail: a closed port, an unresolvable name, a listener that never answers (response and connect
timeouts), a listener that resets, one that answers garbage, TLS towards the upstream that fails
verification; and TLS towards the upstream that succeeds.
"""

import time

import pytest

from conftest import (Echo, Gateway, assert_denial, curl, fake_upstream, free_port, listener,
                      route, upstream, wait_for)


@pytest.fixture(scope="module")
def env(module_procs, pki):
    closed_port = free_port()  # nothing listens there
    silent = fake_upstream(module_procs, "silent")
    stall = fake_upstream(module_procs, "stall_body")
    reset = fake_upstream(module_procs, "reset")
    garbage = fake_upstream(module_procs, "garbage")
    backlog = fake_upstream(module_procs, "backlog")
    tls_echo = Echo(module_procs, pki, tls=True)
    plain_echo = Echo(module_procs)
    closed_2 = free_port()
    endpoints = {
        "closed": f"127.0.0.1:{closed_port}",
        "dns": "nonexistent.invalid:80",
        "silent": silent.endpoint,
        "reset": reset.endpoint,
        "garbage": garbage.endpoint,
        "backlog": backlog.endpoint,
        "badtls": tls_echo.endpoint,
        "stall": stall.endpoint,
        "goodtls": tls_echo.endpoint,
    }
    upstreams = {
        "closed": upstream(endpoints["closed"], connect_timeout="2s"),
        "dns": upstream(endpoints["dns"], connect_timeout="2s"),
        "silent": upstream(endpoints["silent"], response_timeout="1s"),
        "reset": upstream(endpoints["reset"]),
        "garbage": upstream(endpoints["garbage"]),
        "backlog": upstream(endpoints["backlog"], connect_timeout="500ms"),
        "badtls": upstream(endpoints["badtls"], tls={"ca": pki.path("client-ca-bundle.pem"),
                                                      "sni": "localhost"}),
        "goodtls": upstream(endpoints["goodtls"], tls={"ca": pki.root, "sni": "localhost"}),
        "stall": upstream(stall.endpoint, response_timeout="1s"),
        "failover": upstream(endpoints["closed"], plain_echo.endpoint),
        "alldead": upstream(endpoints["closed"], f"127.0.0.1:{closed_2}"),
    }
    port = free_port()
    config = {
        "workers": 1,
        "listeners": [listener("secure", port, pki=pki,
                               routes=[route(name, name, f"/{name}/") for name in upstreams])],
        "upstreams": upstreams,
    }
    gw = Gateway(module_procs, config)
    return {"gw": gw, "pki": pki, "endpoints": endpoints, "silent": silent, "reset": reset,
            "plain_echo": plain_echo, "closed_2": closed_2}


def request(env, path, *args):
    return curl(env["gw"].url("secure", path), *args, cacert=env["pki"].root)


def check(env, name, status, code, max_seconds=None):
    started = time.monotonic()
    resp = request(env, f"/{name}/x")
    elapsed = time.monotonic() - started
    endpoint = env["endpoints"][name]
    body = assert_denial(resp, status, code, detail_contains=endpoint)
    entry = env["gw"].log_entry(resp.header("X-Request-Id"))
    assert entry["code"] == code
    assert entry["status"] == status
    assert entry["route"] == name
    assert entry["upstream"] == f"{name} {endpoint}"
    assert entry["upstream_status"] is None
    assert endpoint in entry["detail"]
    if max_seconds is not None:
        assert elapsed < max_seconds, elapsed
    return body, elapsed


def test_connect_refused_is_connect_failed(env):
    check(env, "closed", 502, "upstream.connect_failed", max_seconds=3)


def test_unresolvable_name_is_dns_failed(env):
    check(env, "dns", 502, "upstream.dns_failed", max_seconds=10)


def test_silent_upstream_is_timeout_504(env):
    _, elapsed = check(env, "silent", 504, "upstream.timeout", max_seconds=4)
    assert elapsed >= 0.9, f"answered after {elapsed}s, before the 1s response_timeout"
    assert env["silent"].request_event.is_set(), "the request never reached the upstream"


def test_connect_timeout_is_timeout_504(env):
    _, elapsed = check(env, "backlog", 504, "upstream.timeout", max_seconds=4)
    assert elapsed >= 0.4, elapsed


def test_reset_after_request_is_reset_502(env):
    check(env, "reset", 502, "upstream.reset", max_seconds=5)
    assert env["reset"].request_event.is_set()


def test_garbage_answer_is_protocol_error_502(env):
    check(env, "garbage", 502, "upstream.protocol_error", max_seconds=5)


def test_upstream_tls_with_wrong_ca_is_tls_failed_502(env):
    check(env, "badtls", 502, "upstream.tls_failed", max_seconds=5)


def test_upstream_tls_with_right_ca_and_sni_succeeds(env):
    resp = request(env, "/goodtls/hello?x=1")
    assert resp.status == 200, resp.text
    echo = resp.json()
    assert echo["path"] == "/goodtls/hello"
    assert echo["query"] == "x=1"
    entry = env["gw"].log_entry(resp.header("X-Request-Id"))
    assert entry["upstream"] == f"goodtls {env['endpoints']['goodtls']}"
    assert entry["upstream_status"] == 200


def test_upstream_tls_keeps_working_after_a_failure_elsewhere(env):
    # failures on one upstream must not poison the pool of another
    assert request(env, "/reset/again").status == 502
    assert request(env, "/goodtls/again").status == 200


def test_post_to_failing_upstream_is_denied_and_connection_stays_usable(env):
    # Body consumed or connection closed: either way the next request on a new connection works
    resp = request(env, "/closed/post", "--data-binary", "p" * 5000)
    assert_denial(resp, 502, "upstream.connect_failed", detail_contains=env["endpoints"]["closed"])
    assert request(env, "/goodtls/after-post").status == 200


def test_refused_endpoint_fails_over_to_the_next(env):
    # nginx/HAProxy behaviour: a connect failure is retried on the next endpoint
    gw = env["gw"]
    for i in range(4):
        resp = request(env, f"/failover/{i}")
        assert resp.status == 200, resp.text
        entry = gw.log_entry(resp.header("X-Request-Id"))
        assert entry["upstream"] == f"failover {env['plain_echo'].endpoint}"


def test_all_endpoints_refused_names_each_endpoint(env):
    resp = request(env, "/alldead/x")
    body = assert_denial(resp, 502, "upstream.connect_failed")
    assert env["endpoints"]["closed"] in body["detail"]
    assert f"127.0.0.1:{env['closed_2']}" in body["detail"]


def test_upstream_stalling_mid_body_is_cut_after_response_timeout(env):
    gw = env["gw"]
    started = time.monotonic()
    resp = curl(gw.url("secure", "/stall/x"), cacert=env["pki"].root, timeout=15, check=False)
    elapsed = time.monotonic() - started
    # the head was already sent: the client sees a 200 whose body is cut short
    assert resp.exit_code == 18, (resp.exit_code, resp.stderr)  # CURLE_PARTIAL_FILE
    assert resp.status == 200
    assert resp.body == b"0123456789"
    assert 0.9 <= elapsed < 5, elapsed
    entry = wait_for(lambda: [e for e in gw.access_log() if e["path"] == "/stall/x"], 5,
                     what="the access-log line")[0]
    assert entry["code"] == "upstream.timeout", entry
    assert entry["upstream_status"] == 200
    assert env["endpoints"]["stall"] in entry["detail"]
