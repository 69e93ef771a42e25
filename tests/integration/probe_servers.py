"""Servers that `portcullis probe` and `doctor` are tested against: a small server PKI (root,
intermediate, leaves that are good, expired or for another host), canned HTTP(S) servers in
threads (auth challenges, skewed Date, error pages), nginx with ssl_verify_client on, and
tinyproxy with BasicAuth. Everything binds 127.0.0.1 on free ports; processes are started
through the harness (stopped by PID) and threads are closed at the end of their scope."""

from __future__ import annotations

import datetime
import email.utils
import ipaddress
import shutil
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conftest import READY_TIMEOUT, free_port, port_open, wait_for

NOW = datetime.datetime.now(datetime.timezone.utc)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Probe Tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _issue(cn: str, key, issuer=None, issuer_key=None, ca: bool = False,
           sans: list[str] | None = None, not_before=None, not_after=None) -> x509.Certificate:
    builder = (x509.CertificateBuilder()
               .subject_name(_name(cn))
               .issuer_name(issuer.subject if issuer else _name(cn))
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(not_before or NOW - datetime.timedelta(days=1))
               .not_valid_after(not_after or NOW + datetime.timedelta(days=365))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                              critical=False))
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False)
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=False, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          key_cert_sign=True, crl_sign=True, encipher_only=False,
                          decipher_only=False), critical=True)
    else:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        names = []
        for san in sans or []:
            if san[0].isdigit():
                names.append(x509.IPAddress(ipaddress.ip_address(san)))
            else:
                names.append(x509.DNSName(san))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


class ServerPki:
    """root -> intermediate -> leaves. Files: root.pem, <leaf>.key, <leaf>.chain.pem (leaf +
    intermediate) and <leaf>.leaf-only.pem."""

    def __init__(self, directory: Path, soon_days: int = 10):
        self.dir = directory
        root_key = ec.generate_private_key(ec.SECP256R1())
        inter_key = ec.generate_private_key(ec.SECP256R1())
        self.root = _issue("Probe Test Root", root_key, ca=True)
        self.inter = _issue("Probe Test Intermediate", inter_key, self.root, root_key, ca=True)
        (directory / "root.pem").write_text(_pem(self.root))
        leaves = {
            "good": dict(sans=["localhost", "127.0.0.1"]),
            "wronghost": dict(sans=["other.example"]),
            "expired": dict(sans=["localhost", "127.0.0.1"],
                            not_before=NOW - datetime.timedelta(days=400),
                            not_after=NOW - datetime.timedelta(days=35)),
            "soon": dict(sans=["localhost", "127.0.0.1"],
                         not_after=NOW + datetime.timedelta(days=soon_days)),
        }
        for name, extra in leaves.items():
            key = ec.generate_private_key(ec.SECP256R1())
            leaf = _issue(f"probe-{name}", key, self.inter, inter_key, **extra)
            (directory / f"{name}.key").write_bytes(key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()))
            (directory / f"{name}.chain.pem").write_text(_pem(leaf) + _pem(self.inter))
            (directory / f"{name}.leaf-only.pem").write_text(_pem(leaf))

    def path(self, name: str) -> str:
        return str(self.dir / name)

    @property
    def root_file(self) -> str:
        return self.path("root.pem")


class CannedServer:
    """An HTTP(S) server in a thread answering every request with one canned response.
    `date_offset` shifts its Date header (seconds)."""

    def __init__(self, status: int, headers: list[tuple[str, str]] | None = None,
                 body: str = "", tls: tuple[str, str] | None = None, date_offset: int = 0):
        server_header = dict(headers or []).get("Server")
        canned = (status, [h for h in headers or [] if h[0] != "Server"], body.encode())

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            received: list[dict] = []

            def version_string(self):
                return server_header or super().version_string()

            def date_time_string(self, timestamp=None):
                return email.utils.formatdate(
                    time.time() + date_offset,
                    usegmt=True)

            def do_GET(self):
                Handler.received.append(dict(self.headers))
                status, hdrs, payload = canned
                self.send_response(status)
                for k, v in hdrs:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        context = None
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def finish_request(self, request, client_address):
                if context is not None:
                    try:
                        request = context.wrap_socket(request, server_side=True)
                    except (ssl.SSLError, OSError):
                        return
                super().finish_request(request, client_address)

        self.handler = Handler
        self.port = free_port()
        self.server = Server(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}/"

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_nginx(procs, pki: ServerPki, client_ca: str) -> dict[str, int]:
    """nginx (foreground, own prefix) with ssl_verify_client on, on two ports: `complete` serves
    the full server chain, `missing_intermediate` only the leaf. Returns the ports."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    prefix = procs.workdir / f"nginx-{free_port()}"
    prefix.mkdir()
    ports = {"complete": free_port(), "missing_intermediate": free_port()}
    servers = ""
    for name, port in ports.items():
        cert = pki.path("good.chain.pem" if name == "complete" else "good.leaf-only.pem")
        servers += f"""
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate {cert};
        ssl_certificate_key {pki.path("good.key")};
        ssl_client_certificate {client_ca};
        ssl_verify_client on;
        ssl_verify_depth 2;
        location / {{ return 200 "hello $ssl_client_s_dn\\n"; }}
    }}"""
    temp = "".join(f"    {d}_temp_path {prefix}/{d};\n"
                   for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (prefix / "nginx.conf").write_text(f"""
error_log {prefix}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {prefix}/access.log;
{temp}{servers}
}}
""")
    proc = procs.start([nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g",
                        f"daemon off; master_process off; pid {prefix}/nginx.pid;"],
                       f"nginx-{prefix.name}")
    for port in ports.values():
        wait_for(lambda: port_open(port) or not proc.alive(), READY_TIMEOUT, what="nginx")
    assert proc.alive(), (prefix / "error.log").read_text() if (prefix / "error.log").exists() \
        else proc.stderr()
    return ports


def start_tinyproxy(procs, user: str, password: str, connect_ports: list[int]) -> int:
    """tinyproxy (foreground) on 127.0.0.1 with BasicAuth, allowing CONNECT to `connect_ports`."""
    port = free_port()
    conf = procs.workdir / f"tinyproxy-{port}.conf"
    allowed = "".join(f"ConnectPort {p}\n" for p in connect_ports)
    conf.write_text(f"Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 16\n"
                    f"Allow 127.0.0.1\nBasicAuth {user} {password}\n{allowed}LogLevel Info\n")
    tinyproxy = shutil.which("tinyproxy") or "/usr/bin/tinyproxy"
    proc = procs.start([tinyproxy, "-d", "-c", str(conf)], f"tinyproxy-{port}")
    wait_for(lambda: port_open(port) or not proc.alive(), READY_TIMEOUT, what="tinyproxy")
    assert proc.alive(), proc.stderr()
    return port


class StubbornServer:
    """Answers one response per connection with a Content-Length and then keeps the connection
    open, ignoring `Connection: close` (as some servers and middleboxes do); HEAD gets no body."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            request = conn.recv(65536)
            body = b"" if request.startswith(b"HEAD ") else b"ok"
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n" + body)

    def close(self):
        self.sock.close()
        for conn in self.conns:
            conn.close()
        self.thread.join(timeout=5)


def closed_port() -> int:
    """A port nothing listens on (bound and closed a moment ago)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
