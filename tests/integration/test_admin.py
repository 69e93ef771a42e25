"""The admin listener: /healthz and /metrics (Prometheus text format) with requests by
listener/route/status and denials by code, counted across workers.
"""

import re

import pytest

from conftest import (Echo, Gateway, connect, curl, free_port, listener, read_response, route,
                      upstream, wait_for)

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> dict[tuple, float]:
    """{(name, frozenset(labels)): value}; asserts every line is valid exposition format."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            if line.startswith("# TYPE"):
                assert line.split()[3] in ("counter", "gauge", "histogram", "summary", "untyped")
            continue
        m = SAMPLE.match(line)
        assert m, f"not a Prometheus sample line: {line!r}"
        labels = frozenset(LABEL.findall(m.group(3) or ""))
        key = (m.group(1), labels)
        assert key not in out, f"duplicate series {line!r}"
        out[key] = float(m.group(4))
    return out


def value(metrics, name, **labels) -> float:
    return metrics.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture(scope="module")
def env(module_procs, pki):
    app = Echo(module_procs)
    config = {
        "workers": 2,
        "admin": {"listen": f"127.0.0.1:{free_port()}"},
        "listeners": [
            listener("secure", free_port(), pki=pki, routes=[
                route("api", "app", "/api/"), route("broken", "broken", "/broken/")]),
            listener("plain", free_port(), routes=[route("web", "app", "/")]),
        ],
        "upstreams": {"app": upstream(app.endpoint),
                      "broken": upstream(f"127.0.0.1:{free_port()}")},
    }
    return {"gw": Gateway(module_procs, config), "pki": pki}


def metrics(env):
    resp = curl(env["gw"].admin_url("/metrics"))
    assert resp.status == 200
    assert resp.header("Content-Type").startswith("text/plain")
    assert "version=0.0.4" in resp.header("Content-Type")
    return parse_metrics(resp.text)


def test_healthz(env):
    resp = curl(env["gw"].admin_url("/healthz"))
    assert resp.status == 200
    assert resp.text.strip() == "ok"


def test_unknown_admin_path_is_404(env):
    assert curl(env["gw"].admin_url("/nope")).status == 404


def test_admin_rejects_post(env):
    assert curl(env["gw"].admin_url("/healthz"), "-X", "POST").status == 405


def test_metrics_count_what_was_sent(env):
    gw, ca = env["gw"], env["pki"].root
    before = metrics(env)
    # separate connections so that both workers are likely to serve some of them
    for i in range(6):
        assert curl(gw.url("secure", f"/api/{i}"), cacert=ca).status == 200
    for i in range(3):
        assert curl(gw.url("secure", f"/missing/{i}"), cacert=ca).status == 404
    for i in range(2):
        assert curl(gw.url("secure", "/broken/"), cacert=ca).status == 502
    for i in range(4):
        assert curl(gw.url("plain", f"/web/{i}", tls=False)).status == 200
    assert curl(gw.url("secure", "/api/x?echo_status=500"), cacert=ca).status == 500
    gw.wait_log_count(16)
    after = metrics(env)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("portcullis_requests_total", listener="secure", route="api", status="200") == 6
    assert delta("portcullis_requests_total", listener="secure", route="api", status="500") == 1
    assert delta("portcullis_requests_total", listener="secure", route="", status="404") == 3
    assert delta("portcullis_requests_total", listener="secure", route="broken",
                 status="502") == 2
    assert delta("portcullis_requests_total", listener="plain", route="web", status="200") == 4
    assert delta("portcullis_denials_total", code="route.not_found") == 3
    assert delta("portcullis_denials_total", code="upstream.connect_failed") == 2
    assert delta("portcullis_denials_total", code="request.malformed") == 0
    # an upstream 500 is forwarded, not a denial
    total_denials = sum(v for (n, _), v in after.items() if n == "portcullis_denials_total") - \
        sum(v for (n, _), v in before.items() if n == "portcullis_denials_total")
    assert total_denials == 5
    assert delta("portcullis_request_duration_seconds_count", listener="secure", route="api") == 7


def test_metrics_declare_types(env):
    text = curl(env["gw"].admin_url("/metrics")).text
    assert "# TYPE portcullis_requests_total counter" in text
    assert "# TYPE portcullis_denials_total counter" in text


def test_active_connections_gauge(env):
    gw = env["gw"]
    with connect(gw.port("plain")) as sock:
        sock.sendall(b"GET /gauge HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(sock).status == 200
        assert value(metrics(env), "portcullis_connections_active", listener="plain") == 1
    wait_for(lambda: value(metrics(env), "portcullis_connections_active", listener="plain") == 0,
             5, what="the connection gauge to return to 0")
