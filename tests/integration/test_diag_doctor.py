"""`portcullis doctor -c FILE`: broken configurations, key files with wrong permissions (for the
current user and for --user), certificates near expiry, users in several htpasswd files, shadowed
routes, unreachable and unresolvable upstreams, an upstream whose Date is skewed, and an internal
upstream that the environment's proxy would carry (with `proxy: env`). Exit 1 on errors, 0 otherwise."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import binary, free_port, route, sanitizer_env, to_yaml, upstream
from probe_servers import CannedServer, ServerPki, closed_port


def doctor(config: Path, *args: str, env: dict | None = None) -> tuple[int, dict]:
    full_env = sanitizer_env()
    for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "no_proxy", "NO_PROXY"):
        full_env.pop(name, None)
    full_env.update(env or {})
    result = subprocess.run([binary(), "doctor", "-c", str(config), "--json", "--timeout", "2",
                             *args], capture_output=True, text=True, timeout=60, env=full_env)
    for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
        assert marker not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout)


def codes(report: dict) -> list[str]:
    return [f["code"] for f in report["findings"]]


class Setup:
    """A config directory with a TLS listener (copies of the demo PKI, key 0600) and helpers."""

    def __init__(self, directory: Path, pki):
        self.dir = directory
        for name in ("server-chain.pem", "server.key", "users.htpasswd"):
            shutil.copy(pki.path(name), directory / name)
        os.chmod(directory / "server.key", 0o600)
        os.chmod(directory / "users.htpasswd", 0o640)
        self.app = CannedServer(200)
        self.config = {
            "listeners": [{
                "name": "public", "listen": f"127.0.0.1:{free_port()}",
                "tls": {"cert": "server-chain.pem", "key": "server.key"},
                "routes": [route("api", "app", "/api/"), route("all", "app", "/")],
            }],
            "upstreams": {"app": upstream(f"127.0.0.1:{self.app.port}")},
        }

    def write(self) -> Path:
        path = self.dir / "portcullis.yaml"
        path.write_text(to_yaml(self.config))
        return path

    def close(self):
        self.app.close()


@pytest.fixture
def setup(procs, tmp_path, pki):
    return procs.add(Setup(tmp_path, pki))


def test_a_healthy_configuration(setup):
    rc, report = doctor(setup.write())
    assert rc == 0, report
    assert report["ok"] is True
    assert not [f for f in report["findings"] if f["severity"] == "error"]
    assert any(c.startswith("upstream app endpoint") for c in report["checked"])
    assert any(c.startswith("clock against upstream app") for c in report["checked"])


def test_an_invalid_configuration(setup):
    setup.config["listeners"][0]["unknown_key"] = 1
    rc, report = doctor(setup.write())
    assert rc == 1
    assert codes(report)[0] == "config.invalid"
    assert "unknown_key" in report["findings"][0]["message"]


def test_key_readable_by_others(setup):
    os.chmod(setup.dir / "server.key", 0o644)
    rc, report = doctor(setup.write())
    assert rc == 1
    finding = [f for f in report["findings"] if f["code"] == "key.readable_by_others"][0]
    assert "mode 644" in finding["message"]
    assert finding["where"].startswith("listeners[0].tls.key")
    assert finding["fix"] == f"chmod o-rwx {setup.dir / 'server.key'}"


def test_key_unreadable_by_the_service_account(setup):
    rc, report = doctor(setup.write(), "--user", "nobody")
    assert rc == 1
    assert "key.unreadable" in codes(report)
    rc, report = doctor(setup.write(), "--user", "no-such-user-here")
    assert rc == 1
    assert "key.unknown_user" in codes(report)


def test_certificate_expiring_within_30_days(setup, tmp_path_factory):
    spki = ServerPki(tmp_path_factory.mktemp("soon"), soon_days=10)
    shutil.copy(spki.path("soon.chain.pem"), setup.dir / "soon.pem")
    shutil.copy(spki.path("soon.key"), setup.dir / "soon.key")
    os.chmod(setup.dir / "soon.key", 0o600)
    setup.config["listeners"][0]["tls"] = {"cert": "soon.pem", "key": "soon.key"}
    rc, report = doctor(setup.write())
    assert rc == 0, report  # a warning, not an error
    finding = [f for f in report["findings"] if f["code"] == "cert.expiring"][0]
    assert finding["severity"] == "warning"
    assert "probe-soon" in finding["message"]


def test_user_in_several_htpasswd_files(setup):
    shutil.copy(setup.dir / "users.htpasswd", setup.dir / "more.htpasswd")
    os.chmod(setup.dir / "more.htpasswd", 0o640)
    setup.config["authenticators"] = {
        "users": {"type": "basic", "htpasswd": "users.htpasswd"},
        "more": {"type": "basic", "htpasswd": "more.htpasswd"},
    }
    setup.config["listeners"][0]["routes"][0]["authn"] = ["users", "more"]
    rc, report = doctor(setup.write())
    found = [f for f in report["findings"] if f["code"] == "authn.user_in_several_files"]
    assert {f["message"].split("'")[1] for f in found} == {"alice", "bob"}
    assert "more, users" in found[0]["message"]


def test_shadowed_route(setup):
    routes = setup.config["listeners"][0]["routes"]
    routes.reverse()  # "/" first: "/api/" can never match
    rc, report = doctor(setup.write())
    assert rc == 1
    finding = [f for f in report["findings"] if f["code"] == "route.shadowed"][0]
    assert "route 'api'" in finding["message"] and "route 'all'" in finding["message"]


def test_unreachable_and_unresolvable_upstreams(setup):
    setup.config["upstreams"]["app"] = upstream(f"127.0.0.1:{closed_port()}",
                                                "no-such-host.invalid:80")
    rc, report = doctor(setup.write())
    assert rc == 1
    assert "reach.connect.failed" in codes(report)
    assert "reach.resolve.failed" in codes(report)


def test_upstream_with_skewed_date(setup, procs):
    skewed = procs.add(CannedServer(404, date_offset=600))
    setup.config["upstreams"]["app"] = upstream(f"127.0.0.1:{skewed.port}")
    rc, report = doctor(setup.write())
    assert rc == 0, report
    finding = [f for f in report["findings"] if f["code"] == "clock.skew"][0]
    assert "600 s" in finding["message"] or "599 s" in finding["message"] \
        or "601 s" in finding["message"]


def test_internal_upstream_through_the_environment_proxy(setup):
    env = {"http_proxy": f"http://127.0.0.1:{closed_port()}"}
    rc, report = doctor(setup.write(), env=env)
    assert rc == 0 and "proxy.internal_target" not in codes(report), \
        "without proxy: env the gateway (and doctor) ignore the environment"
    setup.config["upstreams"]["app"]["proxy"] = "env"
    rc, report = doctor(setup.write(), env=env)
    [internal] = [f for f in report["findings"] if f["code"] == "proxy.internal_target"]
    assert internal["severity"] == "warning"
    assert internal["where"].startswith("upstreams.app.proxy: line ")
    assert "is a loopback address" in internal["message"]
    assert "NO_PROXY" in internal["fix"]
    unreachable = [f for f in report["findings"] if f["code"] == "reach.connect.failed"]
    assert unreachable and unreachable[0]["message"].startswith("proxy http://127.0.0.1:")
    assert rc == 1
    rc, report = doctor(setup.write(), env={**env, "no_proxy": "127.0.0.1"})
    assert "proxy.internal_target" not in codes(report)


def test_text_output_and_usage():
    result = subprocess.run([binary(), "doctor"], capture_output=True, text=True)
    assert result.returncode == 2
    result = subprocess.run([binary(), "doctor", "-c", "/nonexistent/portcullis.yaml"],
                            capture_output=True, text=True, env=sanitizer_env())
    assert result.returncode == 1
    assert "error [config.invalid]" in result.stdout
