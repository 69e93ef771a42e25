"""1 GiB request and response bodies stream through the gateway over TLS with bounded memory.
Skipped with PORTCULLIS_SKIP_LARGE=1.

Memory is read from /proc/PID/status VmHWM (peak resident set). ASan's quarantine keeps up to
256 MiB of *freed* memory resident by default, which is not buffering; the gateway here runs with
quarantine_size_mb=16 so that the peak measures what the gateway really holds. Buffering a 1 GiB
body, or even a third of it, would exceed the bound.
"""

import json
import os
import subprocess

import pytest

from conftest import Echo, Gateway, free_port, listener, route, sanitizer_env, upstream

pytestmark = pytest.mark.skipif(os.environ.get("PORTCULLIS_SKIP_LARGE") == "1",
                                reason="PORTCULLIS_SKIP_LARGE=1")

GIB = 1024 ** 3
PEAK_RSS_LIMIT_KIB = 400 * 1024


@pytest.fixture(scope="module")
def env(module_procs, pki):
    app = Echo(module_procs)
    gw = Gateway(module_procs, {
        "workers": 1,
        "listeners": [listener("secure", free_port(), pki=pki,
                               routes=[route("api", "app", "/", max_body="2GiB")])],
        "upstreams": {"app": upstream(app.endpoint, response_timeout="60s")},
    }, env=sanitizer_env("quarantine_size_mb=16"))
    return {"gw": gw, "pki": pki, "baseline_kib": gw.vm_hwm_kib()}


def check_memory(env):
    peak = env["gw"].vm_hwm_kib()
    assert peak < PEAK_RSS_LIMIT_KIB, (
        f"gateway peak RSS {peak // 1024} MiB (baseline {env['baseline_kib'] // 1024} MiB): "
        "the body is being buffered")


def curl_upload(env, path, *args, stdin=None):
    gw = env["gw"]
    result = subprocess.run(
        ["curl", "-sS", "--max-time", "240", "--cacert", env["pki"].root, "-X", "POST", *args,
         gw.url("secure", path)],
        stdin=stdin, capture_output=True, timeout=300)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def test_upload_1gib_with_content_length(env, tmp_path):
    sparse = tmp_path / "one-gib"
    with open(sparse, "wb") as f:
        f.truncate(GIB)  # sparse: no disk space used
    out = curl_upload(env, "/upload-cl", "-T", str(sparse))
    echo = json.loads(out)
    assert echo["body_length"] == GIB
    assert echo["headers"]["content-length"] == str(GIB)
    check_memory(env)
    gw = env["gw"]
    entry = gw.log_entry(echo["headers"]["x-request-id"])
    assert entry["status"] == 200 and entry["bytes_in"] >= GIB


def test_upload_1gib_chunked_from_a_pipe(env):
    producer = subprocess.Popen(["head", "-c", str(GIB), "/dev/zero"], stdout=subprocess.PIPE)
    try:
        out = curl_upload(env, "/upload-chunked", "-T", "-", stdin=producer.stdout)
    finally:
        producer.stdout.close()
        producer.kill()
        producer.wait()
    echo = json.loads(out)
    assert echo["body_length"] == GIB
    assert "chunked" in echo["headers"].get("transfer-encoding", "")
    check_memory(env)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_download_1gib(env, chunked):
    gw = env["gw"]
    query = f"echo_bytes={GIB}" + ("&echo_chunked=1" if chunked else "")
    result = subprocess.run(
        ["curl", "-sS", "--max-time", "240", "--cacert", env["pki"].root, "-o", "/dev/null",
         "-w", "%{http_code} %{size_download}", gw.url("secure", f"/download?{query}")],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    status, size = result.stdout.split()
    assert status == "200"
    assert int(size) == GIB
    check_memory(env)
