"""Fail-closed loading of TLS files (issue 4 section 2): `check-config` exits 1 and `run` exits 2
without listening, naming the YAML key, its line, the file and the certificate, for a server
`cert` out of order or incomplete, a trusted_ca or upstream `tls.ca` with a bundle error; a
server `cert` holding only the leaf and bundle warnings are reported, not refused."""

import json
import subprocess
import time
from pathlib import Path

import pytest

from conftest import binary, free_port, port_open, run_refused, sanitizer_env

TEMPLATE = """\
workers: 1
listeners:
  - name: main
    listen: 127.0.0.1:{port}
    tls:
      cert: {cert}
      key: {key}
      client_auth:
        mode: request
        trusted_ca: {trusted_ca}
    routes:
      - name: api
        match: {{ host: "*", path_prefix: / }}
        authn: []
        upstream: app
upstreams:
  app:
    endpoints: [127.0.0.1:9]
    tls:
      ca: {upstream_ca}
"""


def pem_blocks(path: str) -> list[str]:
    text = Path(path).read_text()
    end = "-----END CERTIFICATE-----\n"
    return [b + end for b in text.split(end) if "-----BEGIN CERTIFICATE-----" in b]


@pytest.fixture(scope="module")
def files(pki, tmp_path_factory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("diag-config")
    leaf, inter = pem_blocks(pki.chain)
    root = pem_blocks(pki.root)[0]
    other_root = pem_blocks(pki.path("untrusted-root-ca.pem"))[0]
    client_root = pem_blocks(pki.path("client-ca-bundle.pem"))[0]
    client_leaf = pem_blocks(pki.path("client-good.pem"))[0]
    key = Path(pki.path("client-good.key")).read_text()
    out = {}

    def w(name: str, text: str) -> None:
        (d / name).write_text(text)
        out[name] = str(d / name)

    w("out-of-order.pem", leaf + root + inter)
    w("gap.pem", leaf + root)
    w("after-root.pem", leaf + inter + root + other_root)
    w("leaf-only.pem", leaf)
    w("full-chain.pem", leaf + inter + root)
    w("ca-with-key.pem", client_root + key)
    w("ca-garbage.pem", client_root + "MIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBa\n")
    w("ca-leaves.pem", client_leaf)
    w("ca-with-leaf.pem", client_root + client_leaf)
    (d / "ca.der").write_bytes(subprocess.run(
        ["openssl", "x509", "-in", pki.path("client-ca-bundle.pem"), "-outform", "der"],
        capture_output=True, check=True).stdout)
    out["ca.der"] = str(d / "ca.der")
    return out


def render(pki, port, **overrides) -> str:
    values = {"port": port, "cert": pki.chain, "key": pki.key,
              "trusted_ca": pki.path("client-ca-bundle.pem"), "upstream_ca": pki.root}
    values.update(overrides)
    return TEMPLATE.format(**values)


def line_of(text: str, key: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip().startswith(key + ":"):
            return number
    raise AssertionError(key)


# name -> (template field, corpus file, yaml path, yaml key for the line, message fragments)
CASES = {
    "cert-out-of-order": ("cert", "out-of-order.pem", "listeners[0].tls.cert", "cert",
                          ["out-of-order.pem", "out of order", "certificate 3 (CN=Portcullis Demo "
                           "Server Intermediate CA"]),
    "cert-incomplete": ("cert", "gap.pem", "listeners[0].tls.cert", "cert",
                        ["gap.pem", "incomplete", "'CN=Portcullis Demo Server Intermediate CA'"]),
    "cert-after-root": ("cert", "after-root.pem", "listeners[0].tls.cert", "cert",
                        ["after-root.pem", "follows the self-signed root"]),
    "trusted-ca-private-key": ("trusted_ca", "ca-with-key.pem",
                               "listeners[0].tls.client_auth.trusted_ca", "trusted_ca",
                               ["ca-with-key.pem", "bundle.private_key_present"]),
    "trusted-ca-garbage": ("trusted_ca", "ca-garbage.pem", "listeners[0].tls.client_auth.trusted_ca",
                           "trusted_ca", ["ca-garbage.pem", "bundle.invalid_data", "line"]),
    "trusted-ca-der": ("trusted_ca", "ca.der", "listeners[0].tls.client_auth.trusted_ca",
                       "trusted_ca", ["ca.der", "bundle.format_not_pem"]),
    "upstream-ca-private-key": ("upstream_ca", "ca-with-key.pem", "upstreams.app.tls.ca", "ca",
                                ["ca-with-key.pem", "bundle.private_key_present"]),
    "upstream-ca-leaves-only": ("upstream_ca", "ca-leaves.pem", "upstreams.app.tls.ca", "ca",
                                ["ca-leaves.pem", "bundle.no_ca_certificate",
                                 "no CA certificate"]),
}


def run_cli(*args, timeout=30):
    return subprocess.run([binary(), *args], capture_output=True, text=True, timeout=timeout,
                          env=sanitizer_env())


@pytest.mark.parametrize("name", list(CASES))
def test_refuses_to_start(pki, files, tmp_path, name):
    field, file, key, line_key, fragments = CASES[name]
    port = free_port()
    text = render(pki, port, **{field: files[file]})
    config = tmp_path / "portcullis.yaml"
    config.write_text(text)
    line = line_of(text, line_key)

    result = run_cli("check-config", "-c", str(config))
    assert result.returncode == 1, (result.stdout, result.stderr)
    err = result.stderr.strip()
    assert err.startswith(f"portcullis: {key}: line {line}: "), err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    report = json.loads(run_cli("check-config", "--json", "-c", str(config)).stdout)
    assert report["error"]["path"] == key and report["error"]["line"] == line

    returncode, stderr = run_refused(config, port)
    assert returncode == 2, stderr
    assert stderr.strip().startswith(f"portcullis: {key}: line {line}: "), stderr


def test_complete_chain_with_root_is_clean(pki, files, tmp_path):
    config = tmp_path / "portcullis.yaml"
    config.write_text(render(pki, free_port(), cert=files["full-chain.pem"]))
    result = run_cli("check-config", "-c", str(config))
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr


def test_warnings_are_reported_not_refused(pki, files, tmp_path):
    text = render(pki, free_port(), cert=files["leaf-only.pem"],
                  trusted_ca=files["ca-with-leaf.pem"], upstream_ca=files["ca-with-leaf.pem"])
    config = tmp_path / "portcullis.yaml"
    config.write_text(text)
    result = run_cli("check-config", "-c", str(config))
    assert result.returncode == 0, result.stderr
    assert "configuration OK" in result.stdout
    warnings = [l for l in result.stderr.splitlines() if l.startswith("portcullis: warning: ")]
    cert_line = line_of(text, "cert")
    assert any(w.startswith(f"portcullis: warning: listeners[0].tls.cert: line {cert_line}: ")
               and "holds only the leaf" in w for w in warnings), warnings
    assert any("listeners[0].tls.client_auth.trusted_ca" in w and "bundle.leaf_certificate" in w
               for w in warnings), warnings
    assert any(w.startswith("portcullis: warning: upstreams.app.tls.ca") for w in warnings)
    report = json.loads(run_cli("check-config", "--json", "-c", str(config)).stdout)
    assert report["ok"] is True
    assert len(report["warnings"]) == len(warnings)


def test_run_logs_the_warnings_at_start_up(pki, files, tmp_path):
    port = free_port()
    config = tmp_path / "portcullis.yaml"
    config.write_text(render(pki, port, cert=files["leaf-only.pem"]))
    proc = subprocess.Popen([binary(), "run", "-c", str(config)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=sanitizer_env())
    try:
        deadline = time.monotonic() + 10
        while not port_open(port) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert port_open(port), "the gateway did not start"
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=10)
    text = stderr.decode()
    assert " warn listeners[0].tls.cert: line " in text and "holds only the leaf" in text, text
