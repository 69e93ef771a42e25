"""The access log: exactly one JSON line per request, forwarded or denied, with the fields DESIGN.md
lists, on a TLS and on a plain listener; and the log targets (stdout, a file, off).
"""

import json
import subprocess
import time
from datetime import datetime, timezone

import pytest

from conftest import (Echo, Gateway, connect, curl, free_port, listener, raw_request, route,
                      upstream, wait_for)

FIELDS = ["ts", "request_id", "listener", "route", "client_ip", "method", "path", "status", "code",
          "stage", "duration_ms", "upstream", "upstream_status", "bytes_in", "bytes_out",
          "tls_version", "ssl_client_verify", "client_subject", "client_issuer", "client_serial",
          "client_sha256", "auth_method", "user", "detail"]
STRING_FIELDS = set(FIELDS) - {"status", "duration_ms", "upstream_status", "bytes_in", "bytes_out"}
CERT_FIELDS = ["client_subject", "client_issuer", "client_serial", "client_sha256"]


@pytest.fixture(scope="module")
def env(module_procs, pki):
    app = Echo(module_procs)
    dead = free_port()
    config = {
        "workers": 1,
        "listeners": [
            listener("secure", free_port(), pki=pki, routes=[
                route("api", "app", "/api/"), route("broken", "broken", "/broken/")]),
            listener("plain", free_port(), routes=[route("web", "app", "/")]),
        ],
        "upstreams": {"app": upstream(app.endpoint), "broken": upstream(f"127.0.0.1:{dead}")},
    }
    gw = Gateway(module_procs, config)
    return {"gw": gw, "pki": pki, "app": app, "dead": dead}


def https(env, path, *args):
    return curl(env["gw"].url("secure", path), *args, cacert=env["pki"].root)


def http(env, path, *args):
    return curl(env["gw"].url("plain", path, tls=False), *args)


def check_shape(entry: dict):
    missing = [f for f in FIELDS if f not in entry]
    assert not missing, f"access-log line lacks {missing}: {entry}"
    for name in STRING_FIELDS:
        assert isinstance(entry[name], str), (name, entry[name])
    assert isinstance(entry["status"], int)
    assert isinstance(entry["bytes_in"], int) and entry["bytes_in"] >= 0
    assert isinstance(entry["bytes_out"], int) and entry["bytes_out"] >= 0
    assert isinstance(entry["duration_ms"], (int, float)) and 0 <= entry["duration_ms"] < 30_000
    assert entry["upstream_status"] is None or isinstance(entry["upstream_status"], int)
    ts = datetime.strptime(entry["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert abs((datetime.now(timezone.utc) - ts).total_seconds()) < 60, entry["ts"]


def test_forwarded_request_on_tls_listener(env):
    gw = env["gw"]
    resp = https(env, "/api/logged?x=1")
    assert resp.status == 200
    entry = gw.log_entry(resp.header("X-Request-Id"))
    check_shape(entry)
    assert entry["request_id"] == resp.header("X-Request-Id")
    assert entry["listener"] == "secure"
    assert entry["route"] == "api"
    assert entry["client_ip"] == "127.0.0.1"
    assert entry["method"] == "GET"
    assert entry["path"].startswith("/api/logged")
    assert entry["status"] == 200
    assert entry["code"] == "ok"
    assert entry["stage"] == "forward"
    assert entry["upstream"] == f"app {env['app'].endpoint}"
    assert entry["upstream_status"] == 200
    assert entry["tls_version"] == "TLSv1.3"
    assert entry["ssl_client_verify"] == "NONE"
    for name in CERT_FIELDS + ["auth_method", "user", "detail"]:
        assert entry[name] == "", (name, entry[name])
    assert entry["bytes_in"] >= len("GET /api/logged?x=1 HTTP/1.1\r\n\r\n")
    assert len(resp.body) <= entry["bytes_out"] <= len(resp.body) + 4096


def test_forwarded_request_on_plain_listener(env):
    resp = http(env, "/plain/logged")
    assert resp.status == 200
    entry = env["gw"].log_entry(resp.header("X-Request-Id"))
    check_shape(entry)
    assert entry["listener"] == "plain"
    assert entry["route"] == "web"
    assert entry["tls_version"] == ""
    assert entry["ssl_client_verify"] == "NONE"
    assert entry["code"] == "ok" and entry["status"] == 200


def test_tls12_client_is_logged_as_tls12(env):
    resp = https(env, "/api/tls12", "--tlsv1.2", "--tls-max", "1.2")
    assert resp.status == 200
    assert env["gw"].log_entry(resp.header("X-Request-Id"))["tls_version"] == "TLSv1.2"


def test_post_counts_request_body_bytes(env):
    resp = https(env, "/api/post", "--data-binary", "p" * 5000)
    assert resp.json()["body_length"] == 5000
    entry = env["gw"].log_entry(resp.header("X-Request-Id"))
    assert entry["method"] == "POST"
    assert 5000 <= entry["bytes_in"] <= 5000 + 4096


def test_download_counts_response_body_bytes(env):
    resp = https(env, "/api/down?echo_bytes=200000")
    assert len(resp.body) == 200_000
    entry = env["gw"].log_entry(resp.header("X-Request-Id"))
    assert 200_000 <= entry["bytes_out"] <= 200_000 + 4096


def test_upstream_error_status_is_logged(env):
    resp = https(env, "/api/err?echo_status=503")
    assert resp.status == 503
    entry = env["gw"].log_entry(resp.header("X-Request-Id"))
    assert entry["status"] == 503 and entry["upstream_status"] == 503 and entry["code"] == "ok"


def test_denied_request_line(env):
    resp = https(env, "/nothing/here")
    assert resp.status == 404
    entry = env["gw"].log_entry(resp.header("X-Request-Id"))
    check_shape(entry)
    assert entry["status"] == 404
    assert entry["code"] == "route.not_found"
    assert entry["stage"] == "route"
    assert entry["route"] == ""
    assert entry["upstream"] == ""
    assert entry["upstream_status"] is None
    assert "/nothing/here" in entry["detail"]
    assert entry["tls_version"] == "TLSv1.3"
    assert entry["bytes_out"] >= len(resp.body)


def test_upstream_failure_line(env):
    resp = https(env, "/broken/x")
    assert resp.status == 502
    entry = env["gw"].log_entry(resp.header("X-Request-Id"))
    check_shape(entry)
    assert entry["code"] == "upstream.connect_failed"
    assert entry["route"] == "broken"
    assert entry["upstream"] == f"broken 127.0.0.1:{env['dead']}"
    assert entry["upstream_status"] is None
    assert f"127.0.0.1:{env['dead']}" in entry["detail"]


def test_malformed_request_line(env):
    resp = raw_request(env["gw"].port("secure"),
                       b"GET /api/x HTTP/1.1\r\nHost: localhost\r\nBad Name: x\r\n\r\n",
                       env["pki"].root)
    assert resp.status == 400
    entry = env["gw"].log_entry(resp.header("X-Request-Id"))
    check_shape(entry)
    assert entry["code"] == "request.malformed"
    assert entry["stage"] == "parse"
    assert entry["detail"] != ""


def test_exactly_one_line_per_request_with_keep_alive(env):
    gw = env["gw"]
    before = len(gw.access_log())
    urls = []
    for i in range(10):
        path = f"/api/many/{i}" if i % 3 else f"/missing/{i}"
        urls.append(gw.url("secure", path))
    args = []
    for url in urls:
        args += ["-o", "/dev/null", url]
    result = subprocess.run(["curl", "-sS", "--max-time", "30", "--cacert", env["pki"].root,
                             "-w", "%{http_code} %{num_connects}\n"] + args,
                            capture_output=True, text=True, timeout=40)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert [r[0] for r in rows] == ["404" if i % 3 == 0 else "200" for i in range(10)]
    assert sum(int(r[1]) for r in rows) == 1, "denials must not close a keep-alive connection"
    time.sleep(0.3)  # extra lines would follow shortly
    lines = gw.wait_log_count(before + 10)[before:]
    assert len(lines) == 10, lines
    assert [l["path"] for l in lines] == [u.split(str(gw.port("secure")), 1)[1] for u in urls]
    assert len({l["request_id"] for l in lines}) == 10


def test_every_line_is_valid_utf8_json(env):
    gw = env["gw"]
    resp = raw_request(gw.port("secure"),
                       b"GET /api/utf8 HTTP/1.1\r\nHost: caf\xe9\xff\r\nUser-Agent: \xc3\x28\r\n\r\n",
                       env["pki"].root)
    assert resp.status in (200, 400)
    rid = resp.header("X-Request-Id")
    gw.log_entry(rid)
    for raw in gw.proc.stdout_path.read_bytes().splitlines():
        if raw.strip():
            json.loads(raw.decode("utf-8"))  # strict UTF-8, every line


def test_client_abandoning_a_request_is_logged_once(env):
    gw = env["gw"]
    with connect(gw.port("secure"), env["pki"].root) as sock:
        sock.sendall(b"GET /api/abandoned?echo_delay_ms=500 HTTP/1.1\r\nHost: localhost\r\n\r\n")
        time.sleep(0.1)
    entries = wait_for(lambda: [e for e in gw.access_log() if e["path"].startswith("/api/abandoned")],
                       5, what="a line for the abandoned request")
    time.sleep(0.8)
    entries = [e for e in gw.access_log() if e["path"].startswith("/api/abandoned")]
    assert len(entries) == 1, entries
    check_shape(entries[0])


def test_header_timeout_is_logged(procs, pki):
    gw = Gateway(procs, {"workers": 1, "listeners": [listener(
        "plain", free_port(), limits={"header_timeout": "300ms"},
        routes=[route("web", "app", "/")])],
        "upstreams": {"app": upstream(f"127.0.0.1:{free_port()}")}})
    with connect(gw.port("plain")) as sock:
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n")
        sock.settimeout(5)
        try:
            sock.recv(4096)
        except OSError:
            pass
    entries = gw.wait_log_count(1)
    assert len(entries) == 1
    assert entries[0]["code"] == "request.timeout" and entries[0]["status"] == 408
    assert entries[0]["stage"] == "parse"


# --- targets ------------------------------------------------------------------------------------

def small_config(echo, log: dict) -> dict:
    return {"workers": 1, "log": log,
            "listeners": [listener("plain", free_port(), routes=[route("web", "app", "/")])],
            "upstreams": {"app": upstream(echo.endpoint)}}


def test_access_log_to_file(procs):
    echo = Echo(procs)
    gw = Gateway(procs, small_config(echo, {"access": "access.jsonl"}))
    resp = curl(gw.url("plain", "/to-file", tls=False))
    assert resp.status == 200
    path = gw.dir / "access.jsonl"  # relative to the config file
    lines = wait_for(lambda: path.is_file() and [json.loads(l) for l in path.read_text().splitlines()
                                                 if l.strip()], 5, what="the access-log file")
    assert len(lines) == 1
    assert lines[0]["request_id"] == resp.header("X-Request-Id")
    assert gw.access_log() == []  # not on stdout as well


def test_access_log_off(procs):
    echo = Echo(procs)
    gw = Gateway(procs, small_config(echo, {"access": "off"}))
    assert curl(gw.url("plain", "/off", tls=False)).status == 200
    time.sleep(0.3)
    assert gw.access_log() == []
    assert "/off" not in gw.proc.stderr()


def test_access_log_to_stderr(procs):
    echo = Echo(procs)
    gw = Gateway(procs, small_config(echo, {"access": "stderr"}))
    resp = curl(gw.url("plain", "/err", tls=False))
    rid = resp.header("X-Request-Id")
    wait_for(lambda: rid in gw.proc.stderr(), 5, what="the access line on stderr")
    line = next(l for l in gw.proc.stderr().splitlines() if rid in l)
    assert json.loads(line)["path"] == "/err"
    assert gw.access_log() == []
