"""Interoperability of the gateway's TLS (AWS-LC) with real clients.

Two gateways, one whose listener has an ECDSA P-256 key (the test PKI's server chain) and one
whose listener has an RSA-2048 key (its certificate and CA made here with the openssl tool); both
require a client certificate (client_auth `require`) and route to an echo upstream that sees the
client's subject (X-Client-Subject).

The matrix: curl, openssl s_client, gnutls-cli and Python's ssl, each over TLS 1.2 and TLS 1.3 on
both listeners, with a full handshake (the client certificate's subject reaches the upstream) and,
for all but curl, a resumption with the gateway's ticket (the resumed connection keeps the
identity of the first). Then 1 MiB up and down with curl; a client that asks for
max_fragment_length 512; a client KeyUpdate; keep-alive; the other cipher suites; a slow reader;
a client that waits, then sends several requests.

/metrics counts completed handshakes, full (portcullis_tls_handshakes_total{resumed="false"}) and
resumed ({resumed="true"}): the tests also prove how many connections and which handshakes each
client had.
"""

import hashlib
import re
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import (Echo, Gateway, Response, SClient, curl, free_port, metric_value,
                      read_large_response, read_response, route, tls_args, upstream,
                      wait_for)

CASE = "good-one"  # the client certificate every client presents
VERSIONS = ["1.2", "1.3"]
KEYS = ["ecdsa", "rsa"]
MIB = 1024 * 1024


# ----------------------------------------------------------------------------------------------
# the two gateways


def openssl(*args: str, cwd: Path):
    result = subprocess.run(["openssl", *args], cwd=str(cwd), capture_output=True, timeout=60)
    assert result.returncode == 0, (args, result.stderr.decode(errors="replace"))


@pytest.fixture(scope="module")
def rsa_server(tmp_path_factory) -> dict:
    """An RSA-2048 server certificate for localhost/127.0.0.1 signed by an RSA root made here."""
    out = tmp_path_factory.mktemp("rsa-server")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.pem", "-days", "2", "-subj", "/O=Portcullis Tests/CN=Interop RSA Root",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=out)
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out",
            "server.csr", "-subj", "/O=Portcullis Tests/CN=localhost", cwd=out)
    (out / "server.ext").write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-set_serial", "0x1001", "-days", "2", "-sha256", "-extfile", "server.ext",
            "-out", "server.pem", cwd=out)
    text = subprocess.run(["openssl", "x509", "-in", str(out / "server.pem"), "-noout", "-text"],
                          capture_output=True, text=True, timeout=30).stdout
    assert "rsaEncryption" in text and "Public-Key: (2048 bit)" in text, text
    return {"cert": str(out / "server.pem"), "key": str(out / "server.key"),
            "ca": str(out / "ca.pem")}


@dataclass
class Target:
    key: str        # "ecdsa" or "rsa"
    gw: Gateway
    cafile: str     # the client's trust anchor for this listener

    @property
    def port(self) -> int:
        return self.gw.port("main")

    def url(self, path: str) -> str:
        return self.gw.url("main", path)


@pytest.fixture(scope="module", params=KEYS)
def target(request, module_procs, mtls_pki, rsa_server) -> Target:
    if request.param == "ecdsa":
        cert, key, cafile = mtls_pki.server_chain, mtls_pki.server_key, mtls_pki.server_root
    else:
        cert, key, cafile = rsa_server["cert"], rsa_server["key"], rsa_server["ca"]
    app = Echo(module_procs, name=f"echo-{request.param}")
    config = {
        "workers": 1,
        "admin": {"listen": f"127.0.0.1:{free_port()}"},
        "listeners": [{
            "name": "main",
            "listen": f"127.0.0.1:{free_port()}",
            "tls": {"cert": cert, "key": key, "client_auth": mtls_pki.client_auth("require")},
            # gnutls-cli --resume --waitresumption (TLS 1.3) keeps its first connection, which
            # sends no request, until the gateway closes it: after header_timeout (10 s default)
            "limits": {"header_timeout": "2s"},
            "routes": [route("all", "app", "/", max_body="4MiB",
                             identity_headers={"subject": "X-Client-Subject"})],
        }],
        "upstreams": {"app": upstream(app.endpoint)},
    }
    return Target(request.param, Gateway(module_procs, config, name=f"interop-{request.param}"),
                  cafile)


def handshakes(t: Target) -> dict:
    """Completed handshakes so far: {"full": n, "resumed": m}."""
    text = curl(t.gw.admin_url("/metrics")).text
    return {kind: int(metric_value(text, "portcullis_tls_handshakes_total",
                                   {"resumed": resumed}))
            for kind, resumed in (("full", "false"), ("resumed", "true"))}


def expect_handshakes(t: Target, before: dict, full: int = 0, resumed: int = 0):
    want = {"full": before["full"] + full, "resumed": before["resumed"] + resumed}
    wait_for(lambda: handshakes(t) == want, 5, what=f"handshakes {want}")
    time.sleep(0.1)  # and no more than that
    assert handshakes(t) == want


def subject(mtls_pki) -> str:
    return mtls_pki.cases[CASE]["subject"]


# ----------------------------------------------------------------------------------------------
# the clients


def curl_client(t: Target, mtls_pki, path: str, *args: str, tls: str | None = None,
                timeout: float = 30) -> Response:
    """curl presenting the client certificate (its file holds the intermediate too)."""
    return curl(t.url(path), "--cert", mtls_pki.cert(CASE), "--key", mtls_pki.key(CASE),
                *tls_args(tls), *args, cacert=t.cafile, timeout=timeout)


def s_client_cmd(t: Target, mtls_pki, tls: str, cert: bool = True) -> list[str]:
    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{t.port}", "-servername", "localhost",
           "-CAfile", t.cafile, "-verify_return_error", "-tls1_3" if tls == "1.3" else "-tls1_2"]
    if cert:
        cmd += ["-cert", mtls_pki.cert(CASE), "-key", mtls_pki.key(CASE)]
        chain = mtls_pki.dir / f"{CASE}.chain-only.pem"
        if chain.is_file():
            cmd += ["-cert_chain", str(chain)]
    return cmd


def request_bytes(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()


def s_client(t: Target, mtls_pki, tls: str, path: str, cert: bool = True,
             extra: tuple = (), timeout: float = 15) -> SClient:
    """openssl s_client: one request with Connection: close, waits (-ign_eof) for the close."""
    result = subprocess.run(s_client_cmd(t, mtls_pki, tls, cert) + ["-ign_eof", *extra],
                            input=request_bytes(path), capture_output=True, timeout=timeout)
    return SClient(result.returncode, result.stdout.decode("latin-1"),
                   result.stderr.decode("latin-1"))


def gnutls_cli(t: Target, mtls_pki, tls: str, path: str, workdir: Path, resume: bool = False,
               timeout: float = 20) -> SClient:
    """gnutls-cli with the client certificate (and its intermediate, in the same file): one
    request with Connection: close on stdin, which stays open until the server has answered and
    closed (gnutls-cli ends its session when stdin ends). `resume`: a first connection, closed
    once its ticket arrived, then a second one resuming it, which sends the request."""
    cmd = ["gnutls-cli", "--x509cafile", t.cafile, "--x509certfile", mtls_pki.cert(CASE),
           "--x509keyfile", mtls_pki.key(CASE), "--port", str(t.port),
           "--sni-hostname", "localhost", "--verify-hostname", "localhost",
           "--priority", f"NORMAL:-VERS-ALL:+VERS-TLS{tls}"]
    if resume:
        cmd += ["--resume", "--waitresumption"]
    cmd.append("127.0.0.1")
    out_path, err_path = workdir / "gnutls.stdout", workdir / "gnutls.stderr"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=out, stderr=err)
        try:
            proc.stdin.write(request_bytes(path))
            proc.stdin.flush()
            proc.wait(timeout=timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            try:
                proc.stdin.close()
            except OSError:
                pass
    # bytes, not read_text: its universal newlines would turn the response's CRLFs into LFs
    return SClient(proc.returncode, out_path.read_bytes().decode("latin-1"),
                   err_path.read_bytes().decode("latin-1"))


def python_context(t: Target, mtls_pki, tls: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=t.cafile)
    ctx.check_hostname = False  # connecting to 127.0.0.1; the chain is still verified
    ctx.load_cert_chain(mtls_pki.cert(CASE), mtls_pki.key(CASE))
    version = ssl.TLSVersion.TLSv1_3 if tls == "1.3" else ssl.TLSVersion.TLSv1_2
    ctx.minimum_version = ctx.maximum_version = version
    return ctx


def python_get(t: Target, ctx: ssl.SSLContext, path: str, session=None):
    """One keep-alive GET, then close_notify. Returns (response, session, reused, version)."""
    with socket.create_connection(("127.0.0.1", t.port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
            resp = read_response(s)
            reused, version = s.session_reused, s.version()
            # the ticket (TLS 1.3) came before the response
            new_session = s.session
            s.unwrap()
    return resp, new_session, reused, version


# ----------------------------------------------------------------------------------------------
# the matrix: full handshakes


@pytest.mark.parametrize("tls", VERSIONS)
def test_curl_full_handshake(target, mtls_pki, tls):
    before = handshakes(target)
    resp = curl_client(target, mtls_pki, "/curl", "-v", tls=tls)
    assert resp.status == 200, resp.stderr
    assert f"SSL connection using TLSv{tls}" in resp.stderr, resp.stderr
    assert resp.json()["headers"]["x-client-subject"] == subject(mtls_pki)
    expect_handshakes(target, before, full=1)


@pytest.mark.parametrize("tls", VERSIONS)
def test_s_client_full_handshake(target, mtls_pki, tls):
    before = handshakes(target)
    out = s_client(target, mtls_pki, tls, "/s_client")
    assert out.http_status == 200, out.output
    assert re.search(rf"^New, TLSv{tls}, Cipher is ", out.stdout, re.M), out.output
    assert out.json()["headers"]["x-client-subject"] == subject(mtls_pki)
    expect_handshakes(target, before, full=1)


@pytest.mark.parametrize("tls", VERSIONS)
def test_gnutls_full_handshake(target, mtls_pki, tls, tmp_path):
    before = handshakes(target)
    out = gnutls_cli(target, mtls_pki, tls, "/gnutls", tmp_path)
    assert out.http_status == 200, out.output
    assert f"- Description: (TLS{tls}-X.509)-" in out.output, out.output
    assert "Successfully sent 2 certificate(s) to server" in out.output, out.output
    assert out.json()["headers"]["x-client-subject"] == subject(mtls_pki)
    expect_handshakes(target, before, full=1)


@pytest.mark.parametrize("tls", VERSIONS)
def test_python_full_handshake(target, mtls_pki, tls):
    before = handshakes(target)
    resp, _, reused, version = python_get(target, python_context(target, mtls_pki, tls),
                                          "/python")
    assert resp.status == 200, resp.body
    assert version == f"TLSv{tls}" and not reused
    assert resp.json()["headers"]["x-client-subject"] == subject(mtls_pki)
    expect_handshakes(target, before, full=1)


# ----------------------------------------------------------------------------------------------
# the matrix: resumption (curl cannot show it: its session cache lives in one process)


@pytest.mark.parametrize("tls", VERSIONS)
def test_s_client_resumption(target, mtls_pki, tls, tmp_path):
    before = handshakes(target)
    sess = str(tmp_path / "s_client.sess")
    first = s_client(target, mtls_pki, tls, "/first", extra=("-sess_out", sess))
    assert first.http_status == 200 and not first.reused, first.output
    assert first.json()["headers"]["x-client-subject"] == subject(mtls_pki)
    # the second connection presents no certificate: its identity comes from the ticket
    second = s_client(target, mtls_pki, tls, "/second", cert=False, extra=("-sess_in", sess))
    assert second.reused, second.output
    assert re.search(rf"^Reused, TLSv{tls}, ", second.stdout, re.M), second.output
    assert second.http_status == 200, second.output
    assert second.json()["headers"]["x-client-subject"] == subject(mtls_pki)
    expect_handshakes(target, before, full=1, resumed=1)


@pytest.mark.parametrize("tls", VERSIONS)
def test_gnutls_resumption(target, mtls_pki, tls, tmp_path):
    before = handshakes(target)
    out = gnutls_cli(target, mtls_pki, tls, "/resumed", tmp_path, resume=True)
    assert "*** This is a resumed session" in out.output, out.output
    assert out.output.count(f"- Description: (TLS{tls}-X.509)-") >= 1, out.output
    # the request goes over the resumed connection
    assert out.http_status == 200, out.output
    assert out.json()["path"] == "/resumed"
    assert out.json()["headers"]["x-client-subject"] == subject(mtls_pki)
    expect_handshakes(target, before, full=1, resumed=1)


@pytest.mark.parametrize("tls", VERSIONS)
def test_python_resumption(target, mtls_pki, tls):
    before = handshakes(target)
    ctx = python_context(target, mtls_pki, tls)
    first, session, reused, _ = python_get(target, ctx, "/first")
    assert first.status == 200 and not reused
    assert session is not None
    second, _, reused, version = python_get(target, ctx, "/second", session=session)
    assert reused and version == f"TLSv{tls}"
    assert second.status == 200, second.body
    assert second.json()["headers"]["x-client-subject"] == subject(mtls_pki)
    expect_handshakes(target, before, full=1, resumed=1)


# ----------------------------------------------------------------------------------------------
# bodies, fragment length, KeyUpdate


@pytest.mark.parametrize("tls", VERSIONS)
def test_one_mib_up_and_down_with_curl(target, mtls_pki, tls, tmp_path):
    """1 MiB each way: many full records. The echo upstream answers an upload with its length and
    a download (?echo_bytes=N) with N bytes of "x"."""
    before = handshakes(target)
    upload = tmp_path / "upload.bin"
    upload.write_bytes(bytes(range(256)) * 4096)
    resp = curl_client(target, mtls_pki, "/up", "--data-binary", f"@{upload}",
                       "-H", "Content-Type: application/octet-stream", tls=tls)
    assert resp.status == 200, resp.stderr
    assert resp.json()["method"] == "POST"
    assert resp.json()["body_length"] == MIB
    assert resp.json()["headers"]["x-client-subject"] == subject(mtls_pki)
    resp = curl_client(target, mtls_pki, f"/down?echo_bytes={MIB}", tls=tls)
    assert resp.status == 200, resp.stderr
    assert len(resp.body) == MIB
    assert hashlib.sha256(resp.body).digest() == hashlib.sha256(b"x" * MIB).digest()
    expect_handshakes(target, before, full=2)


@pytest.mark.parametrize("tls", VERSIONS)
def test_a_client_asking_for_max_fragment_length_512(target, mtls_pki, tls):
    """s_client -maxfraglen 512 offers the max_fragment_length extension. Whether the gateway
    negotiates it or not, the client must be served: a 200 and a response far larger than 512
    bytes, intact (s_client refuses a record larger than what was agreed). -quiet: nothing but
    the response on stdout."""
    size = 20000
    before = handshakes(target)
    out = s_client(target, mtls_pki, tls, f"/mfl?echo_bytes={size}",
                   extra=("-maxfraglen", "512", "-quiet"))
    assert out.http_status == 200, out.output
    assert out.http_header("content-length") == str(size), out.output
    assert out.http_body == "x" * size, out.output[-2000:]
    expect_handshakes(target, before, full=1)


def test_key_update_from_the_client(target, mtls_pki):
    """openssl s_client's K command sends a KeyUpdate asking for ours; requests before and after
    it are answered over the same connection."""
    before = handshakes(target)
    proc = subprocess.Popen(s_client_cmd(target, mtls_pki, "1.3"), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        def send(text: bytes, pause: float):
            proc.stdin.write(text)
            proc.stdin.flush()
            time.sleep(pause)
        send(b"", 0.5)
        send(b"GET /before HTTP/1.1\r\nHost: localhost\r\n\r\n", 0.5)
        send(b"K\n", 0.5)
        send(b"GET /after HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 1.0)
        out = proc.communicate(timeout=15)[0].decode(errors="replace")  # closes stdin
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "KEYUPDATE" in out, out
    assert out.count("HTTP/1.1 200 OK") == 2, out
    assert '"path":"/before"' in out.replace(" ", ""), out
    assert '"path":"/after"' in out.replace(" ", ""), out
    assert out.count("CN=alice") >= 2, out
    expect_handshakes(target, before, full=1)


# ----------------------------------------------------------------------------------------------
# one connection, many requests


def python_tls13_context(t: Target, mtls_pki) -> ssl.SSLContext:
    return python_context(t, mtls_pki, "1.3")


def get(s, path: str):
    """One keep-alive GET on `s`; the response must be a 200 carrying good-one's subject."""
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    resp = read_response(s)
    assert resp.status == 200, resp.body
    assert "CN=alice" in resp.json()["headers"]["x-client-subject"]


@pytest.mark.parametrize("tls", VERSIONS)
def test_keep_alive_requests_over_one_connection(target, mtls_pki, tls):
    before = handshakes(target)
    urls = [target.url(f"/k{i}") for i in range(1, 4)]
    resp = curl_client(target, mtls_pki, "/k0", *urls, tls=tls)
    assert resp.status == 200, resp.stderr
    assert "CN=alice" in resp.json()["headers"]["x-client-subject"]
    expect_handshakes(target, before, full=1)  # curl used one connection for the four requests


# The suites other than AES-128-GCM, per version and listener key type.
SUITES = {
    ("1.3", "ecdsa"): ["TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"],
    ("1.3", "rsa"): ["TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"],
    ("1.2", "ecdsa"): ["ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"],
    ("1.2", "rsa"): ["ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305"],
}


@pytest.mark.parametrize("tls", VERSIONS)
@pytest.mark.parametrize("which", [0, 1], ids=["aes256gcm", "chacha20"])
def test_the_other_suites_over_keep_alive(target, mtls_pki, tls, which, tmp_path):
    """AES-256-GCM and ChaCha20-Poly1305 over one keep-alive connection; the second request a
    download many records long. curl pairs -o options with URLs in order, and the helper's own
    -o takes the first."""
    suite = SUITES[(tls, target.key)][which]
    before = handshakes(target)
    option = "--tls13-ciphers" if tls == "1.3" else "--ciphers"
    download = tmp_path / "download"
    resp = curl_client(target, mtls_pki, "/s2", "-v", option, suite, target.url("/s0"),
                       "-o", str(download), target.url("/s1?echo_bytes=200000"), tls=tls)
    assert resp.status == 200, resp.stderr
    assert f"SSL connection using TLSv{tls} / {suite}" in resp.stderr, resp.stderr
    assert "CN=alice" in resp.json()["headers"]["x-client-subject"]
    assert download.read_bytes() == b"x" * 200000
    expect_handshakes(target, before, full=1)


def test_a_slow_reader_gets_every_byte(target, mtls_pki):
    """A client that lets the socket fill up: the gateway's writes wait for room and resume with
    the rest of the records, in order; the connection still serves afterwards."""
    before = handshakes(target)
    size = 16 * 1000 * 1000
    with socket.create_connection(("127.0.0.1", target.port), timeout=30) as raw:
        with python_tls13_context(target, mtls_pki).wrap_socket(
                raw, server_hostname="localhost") as s:
            time.sleep(0.3)
            get(s, "/first")
            s.sendall(f"GET /big?echo_bytes={size} HTTP/1.1\r\nHost: localhost\r\n\r\n"
                      .encode())
            time.sleep(1.0)  # the gateway fills the socket and has to wait
            status, body = read_large_response(s, timeout=60)
            assert status == 200
            assert len(body) == size and body == b"x" * size
            get(s, "/after")
            s.unwrap()
    expect_handshakes(target, before, full=1)


def test_a_client_that_waits_then_sends_several_requests(target, mtls_pki):
    """An idle connection, then several requests: the identity found in the handshake still
    reaches the upstream; close_notify from the client ends the connection."""
    before = handshakes(target)
    with socket.create_connection(("127.0.0.1", target.port), timeout=10) as raw:
        with python_tls13_context(target, mtls_pki).wrap_socket(
                raw, server_hostname="localhost") as s:
            time.sleep(0.3)
            for i in range(3):
                get(s, f"/w{i}")
                time.sleep(0.1)
            s.unwrap()  # close_notify first: the gateway reads it as the end
    expect_handshakes(target, before, full=1)
