"""Graceful shutdown on SIGTERM/SIGINT: stop accepting at once, finish in-flight requests, exit 0;
idle keep-alive connections do not hold the process; shutdown_timeout bounds the wait.
"""

import json
import signal
import socket
import subprocess
import time

import pytest

from conftest import (Echo, Gateway, connect, free_port, listener, read_response, route,
                      upstream, wait_for)


def established_to(port: int) -> bool:
    """Is there an ESTABLISHED TCP connection to 127.0.0.1:port (i.e. a request upstream)?"""
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        parts = line.split()
        local, state = parts[1], parts[3]
        if state == "01" and int(local.split(":")[1], 16) == port:
            return True
    return False


def refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def make(procs, pki, shutdown_timeout="5s", echo=None):
    echo = echo or Echo(procs)
    gw = Gateway(procs, {
        "workers": 2,
        "shutdown_timeout": shutdown_timeout,
        "listeners": [listener("secure", free_port(), pki=pki, routes=[route("api", "app", "/")])],
        "upstreams": {"app": upstream(echo.endpoint)},
    })
    return gw, echo


def start_curl(gw, pki, path, out_dir):
    out = out_dir / "curl.body"
    proc = subprocess.Popen(
        ["curl", "-sS", "--max-time", "20", "--cacert", pki.root, "-o", str(out),
         "-w", "%{http_code}", gw.url("secure", path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return proc, out


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_in_flight_request_completes_and_new_connections_are_refused(procs, pki, tmp_path, sig):
    gw, echo = make(procs, pki)
    client, body_path = start_curl(gw, pki, "/slow?echo_delay_ms=2000", tmp_path)
    try:
        wait_for(lambda: established_to(echo.port), 5, 0.01, what="the request to reach upstream")
        gw.proc.signal(sig)
        signalled = time.monotonic()
        wait_for(lambda: refused(gw.port("secure")), 1.5, 0.02,
                 what="new connections to be refused after the signal")
        assert client.poll() is None, "the in-flight request ended before the listener closed"
        out, err = client.communicate(timeout=20)
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
    assert client.returncode == 0, err.decode()
    assert out.decode() == "200"
    echo_seen = json.loads(body_path.read_bytes())
    assert echo_seen["path"] == "/slow"
    code = gw.proc.wait(5)
    assert code == 0, f"gateway exit code {code}: {gw.proc.stderr()[-2000:]}"
    assert time.monotonic() - signalled < 5
    lines = [e for e in gw.access_log() if e["path"] == "/slow"]
    assert len(lines) == 1 and lines[0]["status"] == 200 and lines[0]["code"] == "ok"


def test_response_during_drain_closes_keep_alive(procs, pki):
    gw, echo = make(procs, pki)
    with connect(gw.port("secure"), pki.root) as sock:
        sock.sendall(b"GET /drain?echo_delay_ms=1000 HTTP/1.1\r\nHost: localhost\r\n\r\n")
        wait_for(lambda: established_to(echo.port), 5, 0.01, what="the request to reach upstream")
        gw.proc.signal(signal.SIGTERM)
        resp = read_response(sock, timeout=10)
    assert resp.status == 200
    assert resp.json()["path"] == "/drain"
    assert (resp.header("Connection") or "").lower() == "close"
    assert resp.closed
    assert gw.proc.wait(5) == 0


def test_idle_keep_alive_connection_does_not_delay_exit(procs, pki):
    gw, _ = make(procs, pki, shutdown_timeout="20s")
    with connect(gw.port("secure"), pki.root) as sock:
        sock.sendall(b"GET /idle HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert read_response(sock).status == 200
        started = time.monotonic()
        gw.proc.signal(signal.SIGTERM)
        code = gw.proc.wait(10)
        elapsed = time.monotonic() - started
    assert code == 0
    assert elapsed < 3, f"an idle keep-alive connection held shutdown for {elapsed:.1f}s"


def test_shutdown_timeout_bounds_the_wait(procs, pki):
    gw, echo = make(procs, pki, shutdown_timeout="1s")
    client, _ = start_curl(gw, pki, "/stuck?echo_delay_ms=10000", gw.dir)
    try:
        wait_for(lambda: established_to(echo.port), 5, 0.01, what="the request to reach upstream")
        started = time.monotonic()
        gw.proc.signal(signal.SIGTERM)
        code = gw.proc.wait(8)
        elapsed = time.monotonic() - started
    finally:
        client.kill()
        client.wait()
    assert code is not None, "gateway still running 8 s after SIGTERM with shutdown_timeout 1s"
    assert 0.8 <= elapsed < 3.5, elapsed


def test_exit_zero_without_traffic(procs, pki):
    gw, _ = make(procs, pki)
    gw.proc.signal(signal.SIGTERM)
    assert gw.proc.wait(5) == 0
    assert refused(gw.port("secure"))
