"""client_auth files that cannot be used refuse to start, naming the YAML key and line: a trusted_ca
without any CA, an intermediates file holding a leaf, a damaged CRL file; `check-config` exits 1
and `run` exits 2 without listening. A valid client_auth block passes.
"""

import subprocess
from pathlib import Path

import pytest

from conftest import binary, free_port, run_refused, sanitizer_env

# Line numbers below refer to this template (line 1 = "workers: 1").
TEMPLATE = """\
workers: 1
listeners:
  - name: main
    listen: 127.0.0.1:{port}
    tls:
      cert: {cert}
      key: {key}
      client_auth:
        mode: require
        trusted_ca: {trusted_ca}
        intermediates: {intermediates}
        crl: {crl}
        verify_depth: {verify_depth}
        denial_status: {denial_status}
    routes:
      - name: api
        match: {{ host: "*", path_prefix: / }}
        authn: [mtls]
        upstream: app
upstreams:
  app:
    endpoints: [127.0.0.1:9]
"""

KEY = "listeners[0].tls.client_auth"


def render(p, port, **overrides) -> str:
    values = {"cert": p.server_chain, "key": p.server_key, "trusted_ca": p.file("trusted_ca"),
              "intermediates": p.file("intermediates_a"), "crl": p.file("crl"),
              "verify_depth": 2, "denial_status": 400}
    values.update(overrides)
    return TEMPLATE.format(port=port, **values)


def cases(p, tmp):
    (tmp / "empty.pem").write_text("")
    # two paths where one is a prefix of the other
    (tmp / "ca.pem").write_text(Path(p.file("intermediates_a")).read_text())
    (tmp / "ca.pem.new").write_text(Path(p.cert("self-signed")).read_text())
    return {
        # (overrides, yaml key, line, message fragments)
        "trusted-ca-only-leaves": (dict(trusted_ca=p.cert("self-signed")), f"{KEY}.trusted_ca",
                                   10, ["no CA certificate", "self-signed.pem"]),
        "trusted-ca-is-a-crl": (dict(trusted_ca=p.file("crl_expired")), f"{KEY}.trusted_ca", 10,
                                ["crl-expired.pem"]),
        # the same file as crl: the error is still about trusted_ca
        "trusted-ca-is-the-crl-file": (dict(trusted_ca=p.file("crl")), f"{KEY}.trusted_ca", 10,
                                       ["crl-all.pem"]),
        "trusted-ca-path-extends-intermediates-path": (
            dict(trusted_ca=str(tmp / "ca.pem.new"), intermediates=str(tmp / "ca.pem")),
            f"{KEY}.trusted_ca", 10, ["ca.pem.new", "no CA certificate"]),
        "trusted-ca-empty": (dict(trusted_ca=str(tmp / "empty.pem")), f"{KEY}.trusted_ca", 10,
                             ["empty.pem"]),
        "intermediates-with-leaf": (dict(intermediates=p.file("intermediates_with_leaf")),
                                    f"{KEY}.intermediates", 11,
                                    ["intermediates-with-leaf.pem", "is not a CA",
                                     "CN=alice,O=Portcullis Tests"]),
        "crl-damaged": (dict(crl=p.file("crl_damaged")), f"{KEY}.crl", 12,
                        ["crl-damaged.pem"]),
        "crl-is-a-certificate": (dict(crl=p.file("client_root")), f"{KEY}.crl", 12,
                                 ["client-root.pem", "no CRL"]),
        "verify-depth-zero": (dict(verify_depth=0), f"{KEY}.verify_depth", 13, []),
        "denial-status-500": (dict(denial_status=500), f"{KEY}.denial_status", 14, []),
    }


CASE_NAMES = ["trusted-ca-only-leaves", "trusted-ca-is-a-crl", "trusted-ca-is-the-crl-file",
              "trusted-ca-path-extends-intermediates-path", "trusted-ca-empty",
              "intermediates-with-leaf", "crl-damaged", "crl-is-a-certificate",
              "verify-depth-zero", "denial-status-500"]


def run_cli(*args, timeout=30):
    return subprocess.run([binary(), *args], capture_output=True, text=True, timeout=timeout,
                          env=sanitizer_env())


def test_case_list_is_complete(mtls_pki, tmp_path):
    assert sorted(CASE_NAMES) == sorted(cases(mtls_pki, tmp_path))


def test_valid_client_auth_is_ok(mtls_pki, tmp_path):
    config = tmp_path / "portcullis.yaml"
    config.write_text(render(mtls_pki, free_port()))
    result = run_cli("check-config", "-c", str(config))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", CASE_NAMES)
def test_unusable_client_auth_file_refuses_to_start(mtls_pki, tmp_path, name):
    overrides, key, line, fragments = cases(mtls_pki, tmp_path)[name]
    port = free_port()
    config = tmp_path / "portcullis.yaml"
    config.write_text(render(mtls_pki, port, **overrides))

    result = run_cli("check-config", "-c", str(config))
    assert result.returncode == 1, (result.stdout, result.stderr)
    err = result.stderr.strip()
    assert err.startswith(f"portcullis: {key}: line {line}: "), err
    for fragment in fragments:
        assert fragment in err, (fragment, err)

    returncode, stderr = run_refused(config, port)
    assert returncode == 2, stderr
    assert stderr.strip().startswith(f"portcullis: {key}: line {line}: "), stderr
