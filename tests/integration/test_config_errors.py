"""Configuration errors: `check-config` exits 1 and `run` exits 2 without listening, both printing
`portcullis: <yaml.path>: line N: <message>`; `check-config --json` reports the same fields.
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import binary, free_port, port_open, run_refused, sanitizer_env

# Line numbers below refer to this template (line 1 = "workers: 1").
TEMPLATE = """\
workers: 1
listeners:
  - name: main
    listen: 127.0.0.1:{port}
    tls:
      cert: {cert}
      key: {key}
    routes:
      - name: api
        match: {{ host: "*", path_prefix: / }}
        authn: []
        upstream: app
upstreams:
  app:
    endpoints: [127.0.0.1:9]
    connect_timeout: 1s
"""


def render(pki, port, cert=None, key=None, replace=(), append=""):
    text = TEMPLATE.format(port=port, cert=cert or pki.chain, key=key or pki.key)
    for old, new in replace:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text + append


# name -> (template edits, expected yaml path, expected line, message fragment)
def cases(pki, tmp):
    (tmp / "garbage.key").write_text("this is not a key\n")
    (tmp / "garbage.pem").write_text("-----BEGIN CERTIFICATE-----\nnot base64!\n"
                                     "-----END CERTIFICATE-----\n")
    (tmp / "keydir").mkdir(exist_ok=True)
    shutil.copy(pki.path("client-good.key"), tmp / "client.key")
    return {
        "unknown-top-level-key": (dict(append="bogus: 1\n"), "bogus", 17, "unknown key"),
        "unknown-listener-key": (dict(replace=[("    tls:\n", "    colour: red\n    tls:\n")]),
                                 "listeners[0].colour", 5, "unknown key"),
        "unknown-route-key": (dict(replace=[("        authn: []\n",
                                             "        authn: []\n        weight: 3\n")]),
                              "listeners[0].routes[0].weight", 12, "unknown key"),
        "unknown-upstream-key": (dict(append="    retries: 3\n"), "upstreams.app.retries", 17,
                                 "unknown key"),
        "workers-not-integer": (dict(replace=[("workers: 1", "workers: many")]), "workers", 1,
                                "integer"),
        "listen-not-address": (dict(replace=[("listen: 127.0.0.1:", "listen: nowhere-")]),
                               "listeners[0].listen", 4, ""),
        "duration-garbage": (dict(replace=[("connect_timeout: 1s", "connect_timeout: fast")]),
                             "upstreams.app.connect_timeout", 16, ""),
        "authn-not-list": (dict(replace=[("authn: []", "authn: yes")]),
                           "listeners[0].routes[0].authn", 11, ""),
        "missing-cert-file": (dict(cert="missing-cert.pem"), "listeners[0].tls.cert", 6,
                              "missing-cert.pem"),
        "missing-key-file": (dict(key="missing.key"), "listeners[0].tls.key", 7, "missing.key"),
        "garbage-key-file": (dict(key="garbage.key"), "listeners[0].tls.key", 7, "garbage.key"),
        "key-is-directory": (dict(key="keydir"), "listeners[0].tls.key", 7, "keydir"),
        "garbage-cert-file": (dict(cert="garbage.pem"), "listeners[0].tls.cert", 6, "garbage.pem"),
        "key-does-not-match-cert": (dict(key="client.key"), "listeners[0].tls.key", 7,
                                    "does not match"),
        "missing-authn": (dict(replace=[("        authn: []\n", "")]), "listeners[0].routes[0]", 9,
                          "authn"),
        "unknown-upstream": (dict(replace=[("upstream: app", "upstream: nope")]),
                             "listeners[0].routes[0].upstream", 12, "nope"),
        "authenticator-refused": (dict(append="authenticators:\n  users: { type: external }\n"),
                                  "authenticators.users", 18, "missing required key \"url\""),
        # A trusted_ca without any CA certificate (a self-signed leaf) refuses to start.
        "client-auth-bundle-without-ca": (dict(replace=[("      key: ", "      client_auth: { mode: require, "
                                               "trusted_ca: " + pki.path("client-self-signed.pem")
                                               + " }\n      key: ")]),
                                "listeners[0].tls.client_auth.trusted_ca", 7, "no CA certificate"),
        "authz-empty-any": (dict(replace=[("        authn: []\n",
                                         "        authn: []\n        authz: { any: [] }\n")]),
                          "listeners[0].routes[0].authz.any", 12, "at least one rule"),
        "upstream-ca-missing": (dict(append="    tls: { ca: no-such-ca.pem }\n"),
                                "upstreams.app.tls.ca", 17, "no-such-ca.pem"),
        "bad-detail-mode": (dict(append="errors: { detail: sometimes }\n"), "errors.detail", 17,
                            "sometimes"),
        "bad-path-prefix": (dict(replace=[("path_prefix: / }", "path_prefix: api }")]),
                            "listeners[0].routes[0].match.path_prefix", 10, ""),
    }


CASE_NAMES = ["unknown-top-level-key", "unknown-listener-key", "unknown-route-key",
              "unknown-upstream-key", "workers-not-integer", "listen-not-address",
              "duration-garbage", "authn-not-list", "missing-cert-file", "missing-key-file",
              "garbage-key-file", "key-is-directory", "garbage-cert-file",
              "key-does-not-match-cert", "missing-authn", "unknown-upstream",
              "authenticator-refused", "client-auth-bundle-without-ca", "authz-empty-any",
              "upstream-ca-missing", "bad-detail-mode", "bad-path-prefix"]


def run_cli(*args, timeout=30, prefix=()):
    return subprocess.run([*prefix, binary(), *args], capture_output=True, text=True,
                          timeout=timeout, env=sanitizer_env())


@pytest.fixture
def broken(request, pki, tmp_path):
    name = request.param
    edits, path, line, fragment = cases(pki, tmp_path)[name]
    port = free_port()
    config = tmp_path / "portcullis.yaml"
    config.write_text(render(pki, port, **edits))
    return config, port, path, line, fragment


def test_case_list_is_complete(pki, tmp_path):
    assert sorted(CASE_NAMES) == sorted(cases(pki, tmp_path))


def test_valid_template_is_ok(pki, tmp_path):
    config = tmp_path / "portcullis.yaml"
    config.write_text(render(pki, free_port()))
    result = run_cli("check-config", "-c", str(config))
    assert result.returncode == 0, result.stderr
    assert "configuration OK" in result.stdout
    result = run_cli("check-config", "--json", "-c", str(config))
    assert result.returncode == 0
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert "error" not in report


def test_relative_paths_resolve_against_the_config_file(pki, tmp_path):
    sub = tmp_path / "conf"
    sub.mkdir()
    shutil.copy(pki.chain, sub / "chain.pem")
    shutil.copy(pki.key, sub / "key.pem")
    config = sub / "portcullis.yaml"
    config.write_text(render(pki, free_port(), cert="chain.pem", key="key.pem"))
    result = subprocess.run([binary(), "check-config", "-c", "conf/portcullis.yaml"],
                            capture_output=True, text=True, timeout=30, cwd=str(tmp_path),
                            env=sanitizer_env())
    assert result.returncode == 0, result.stderr


def expected_prefix(path, line):
    return f"portcullis: {path}: line {line}: "


@pytest.mark.parametrize("broken", CASE_NAMES, indirect=True)
def test_check_config_reports_path_and_line(broken):
    config, _, path, line, fragment = broken
    result = run_cli("check-config", "-c", str(config))
    assert result.returncode == 1, (result.stdout, result.stderr)
    err = result.stderr.strip()
    assert err.startswith(expected_prefix(path, line)), err
    assert fragment in err
    assert "configuration OK" not in result.stdout


@pytest.mark.parametrize("broken", CASE_NAMES, indirect=True)
def test_check_config_json_report(broken):
    config, _, path, line, fragment = broken
    result = run_cli("check-config", "--json", "-c", str(config))
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    error = report["error"]
    assert error["path"] == path
    assert error["line"] == line
    assert fragment in error["message"]
    assert error["text"] == f"{path}: line {line}: {error['message']}"


@pytest.mark.parametrize("broken", CASE_NAMES, indirect=True)
def test_run_exits_2_without_listening(broken):
    config, port, path, line, fragment = broken
    returncode, err = run_refused(config, port)
    assert returncode == 2, err
    assert err.strip().startswith(expected_prefix(path, line)), err
    assert fragment in err
    assert not port_open(port)


def test_unreadable_key_file(pki, tmp_path):
    """A key the gateway's user cannot read. Root reads files whatever their mode (CI runs as
    root), so the gateway then runs as nobody (setpriv), on copies nobody can reach."""
    shared = Path(tempfile.mkdtemp(prefix="portcullis-unreadable-"))
    try:
        shared.chmod(0o755)
        chain = shared / "chain.pem"
        shutil.copy(pki.chain, chain)
        chain.chmod(0o644)
        key = shared / "locked.key"
        shutil.copy(pki.key, key)
        key.chmod(0)
        config = shared / "portcullis.yaml"
        config.write_text(render(pki, free_port(), cert=str(chain), key=str(key)))
        config.chmod(0o644)
        prefix = []
        if os.geteuid() == 0:
            prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        result = run_cli("check-config", "-c", str(config), prefix=prefix)
        assert result.returncode == 1, result.stderr
        assert result.stderr.startswith(expected_prefix("listeners[0].tls.key", 7)), result.stderr
        assert "Permission denied" in result.stderr
        assert run_cli("run", "-c", str(config), prefix=prefix).returncode == 2
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_yaml_syntax_error_names_the_line(tmp_path):
    config = tmp_path / "broken.yaml"
    config.write_text("listeners:\n  - name: a\n    listen: [127.0.0.1:1\n")
    result = run_cli("check-config", "-c", str(config))
    assert result.returncode == 1
    assert "line " in result.stderr and "syntax" in result.stderr.lower()
    assert run_cli("run", "-c", str(config)).returncode == 2


def test_missing_config_file(tmp_path):
    missing = tmp_path / "absent.yaml"
    result = run_cli("check-config", "-c", str(missing))
    assert result.returncode == 1
    assert "absent.yaml" in result.stderr
    assert run_cli("run", "-c", str(missing)).returncode == 2


def test_run_without_config_is_usage_error():
    result = run_cli("run")
    assert result.returncode == 2
    assert "config" in result.stderr.lower()


def test_listen_address_in_use_fails_start(pki, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        config = tmp_path / "portcullis.yaml"
        config.write_text(render(pki, port))
        result = run_cli("run", "-c", str(config), timeout=20)
    assert result.returncode != 0
    assert f"127.0.0.1:{port}" in result.stderr
