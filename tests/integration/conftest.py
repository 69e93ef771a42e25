"""Integration harness: real processes (the gateway, the echo upstream, small fake upstreams in
threads), real curl/openssl as clients, raw sockets for what curl will not send. Everything binds
127.0.0.1; every wait is bounded in count and time; every process started is stopped by PID.

Environment: PORTCULLIS_BIN (the binary under test), PORTCULLIS_SOURCE_DIR (the checkout),
PORTCULLIS_TEST_PKI (the mTLS PKI generator, tests/tools/make_test_pki.cpp; default: next to
PORTCULLIS_BIN in tests/), PORTCULLIS_SKIP_LARGE=1 (skip the 1 GiB streaming tests).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

BIN = os.environ.get("PORTCULLIS_BIN", "/work/main/build/dev/portcullis")
SOURCE_DIR = Path(os.environ.get("PORTCULLIS_SOURCE_DIR",
                                 str(Path(__file__).resolve().parents[2])))
READY_TIMEOUT = 10.0
STOP_GRACE = 5.0
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


# ----------------------------------------------------------------------------------------------
# small utilities


def free_port() -> int:
    """A port that was free a moment ago on 127.0.0.1 (bind to 0, read, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, interval: float = 0.05, what: str = "condition"):
    """Polls predicate() until it returns a truthy value; bounded by `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def binary() -> str:
    """The binary under test; tolerates a rebuild in progress (bounded wait)."""
    deadline = time.monotonic() + 120
    while not (os.path.isfile(BIN) and os.access(BIN, os.X_OK)):
        if time.monotonic() >= deadline:
            pytest.fail(f"portcullis binary not found at {BIN} (set PORTCULLIS_BIN)")
        time.sleep(1)
    return BIN


def sanitizer_env(extra: str = "") -> dict:
    env = dict(os.environ)
    opts = env.get("ASAN_OPTIONS", "")
    if extra:
        opts = f"{opts}:{extra}" if opts else extra
    if opts:
        env["ASAN_OPTIONS"] = opts
    return env


def run_refused(config, port: int) -> tuple[int, str]:
    """Runs `portcullis run -c config`, which must refuse to start: it must never listen on
    `port` while it runs (bounded: 10 s). Returns (exit status, stderr)."""
    proc = subprocess.Popen([binary(), "run", "-c", str(config)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=sanitizer_env())
    try:
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            assert not port_open(port), "the gateway listened with a configuration it must refuse"
            time.sleep(0.02)
        _, stderr = proc.communicate(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, stderr.decode()


# ----------------------------------------------------------------------------------------------
# processes


class Proc:
    """One child process with stdout/stderr captured to files."""

    def __init__(self, args: list[str], workdir: Path, name: str, env: dict | None = None):
        self.args = args
        self.name = name
        self.stdout_path = workdir / f"{name}.stdout"
        self.stderr_path = workdir / f"{name}.stderr"
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.popen = subprocess.Popen(args, stdout=self._out, stderr=self._err,
                                      stdin=subprocess.DEVNULL, cwd=str(workdir),
                                      env=env if env is not None else sanitizer_env())
        self.pid = self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def signal(self, sig: int) -> None:
        if self.alive():
            os.kill(self.pid, sig)

    def wait(self, timeout: float) -> int | None:
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> int | None:
        """SIGTERM, wait, SIGKILL after STOP_GRACE. Returns the exit code."""
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            if self.wait(STOP_GRACE) is None:
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.wait(STOP_GRACE)
        self._out.close()
        self._err.close()
        return self.popen.returncode

    def sanitizer_report(self) -> str | None:
        text = self.stderr()
        for marker in SANITIZER_MARKERS:
            if marker in text:
                return text[text.index(marker):][:4000]
        return None


class Processes:
    """Owns the processes (and fake upstreams) of one fixture scope; stops them all at the end."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.procs: list[Proc] = []
        self.closables: list = []

    def start(self, args: list[str], name: str, env: dict | None = None) -> Proc:
        proc = Proc(args, self.workdir, name, env)
        self.procs.append(proc)
        return proc

    def add(self, closable):
        self.closables.append(closable)
        return closable

    def stop_all(self) -> list[str]:
        reports = []
        for proc in reversed(self.procs):
            proc.stop()
            report = proc.sanitizer_report()
            if report:
                reports.append(f"{proc.name} (pid {proc.pid}):\n{report}")
        for closable in reversed(self.closables):
            closable.close()
        return reports


def _processes(tmp_path_factory, name: str):
    procs = Processes(tmp_path_factory.mktemp(name))
    yield procs
    reports = procs.stop_all()
    if reports:
        pytest.fail("sanitizer reports from child processes:\n" + "\n".join(reports),
                    pytrace=False)


@pytest.fixture(scope="module")
def module_procs(tmp_path_factory, request):
    yield from _processes(tmp_path_factory, request.module.__name__.split(".")[-1])


@pytest.fixture
def procs(tmp_path_factory, request):
    yield from _processes(tmp_path_factory, re.sub(r"\W", "_", request.node.name)[:40])


# ----------------------------------------------------------------------------------------------
# PKI, echo upstream, gateway


@dataclass
class Pki:
    dir: Path

    @property
    def root(self) -> str:
        return str(self.dir / "server-root-ca.pem")

    @property
    def chain(self) -> str:
        return str(self.dir / "server-chain.pem")

    @property
    def key(self) -> str:
        return str(self.dir / "server.key")

    def path(self, name: str) -> str:
        return str(self.dir / name)


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> Pki:
    out = tmp_path_factory.mktemp("pki")
    result = subprocess.run([binary(), "demo", "--dir", str(out), "--no-start"],
                            capture_output=True, text=True, timeout=60, env=sanitizer_env())
    assert result.returncode == 0, result.stderr
    for name in ("server-root-ca.pem", "server-chain.pem", "server.key", "client-ca-bundle.pem",
                 "client-good.pem", "client-good.key"):
        assert (out / name).is_file(), f"demo did not write {name}"
    return Pki(out)


class Echo:
    def __init__(self, procs: Processes, pki: Pki | None = None, tls: bool = False,
                 name: str = "echo"):
        self.port = free_port()
        self.endpoint = f"127.0.0.1:{self.port}"
        args = [binary(), "echo", "--listen", self.endpoint, "--threads", "1"]
        if tls:
            args += ["--tls-cert", pki.chain, "--tls-key", pki.key]
        self.proc = procs.start(args, f"{name}-{self.port}")
        wait_for(lambda: port_open(self.port) or not self.proc.alive(), READY_TIMEOUT,
                 what=f"echo upstream on {self.endpoint}")
        assert self.proc.alive(), f"echo exited: {self.proc.stderr()}"


def to_yaml(config: dict) -> str:
    """JSON is YAML: one key per line so that errors have meaningful line numbers."""
    return json.dumps(config, indent=2) + "\n"


class Gateway:
    """A `portcullis run` process with its config, its listeners and its access log (stdout)."""

    def __init__(self, procs: Processes, config: dict | str, name: str = "gateway",
                 listener_ports: list[int] | None = None, env: dict | None = None,
                 wait_ready: bool = True):
        self.procs = procs
        self.dir = procs.workdir / f"{name}-{free_port()}"
        self.dir.mkdir()
        self.config_path = self.dir / "portcullis.yaml"
        text = config if isinstance(config, str) else to_yaml(config)
        self.config_path.write_text(text)
        if isinstance(config, dict):
            self.hosts = {l["name"]: l["listen"].rsplit(":", 1)[0] for l in config["listeners"]}
            self.ports = {l["name"]: int(l["listen"].rsplit(":", 1)[1])
                          for l in config["listeners"]}
            admin = config.get("admin", {}).get("listen")
            self.admin_port = int(admin.rsplit(":", 1)[1]) if admin else None
        else:
            self.ports = {str(i): p for i, p in enumerate(listener_ports or [])}
            self.hosts = {name: "127.0.0.1" for name in self.ports}
            self.admin_port = None
        self.proc = procs.start([binary(), "run", "-c", str(self.config_path)],
                                f"{name}-{self.dir.name}", env=env)
        if wait_ready:
            self.wait_ready()

    def wait_ready(self):
        addrs = [(self.hosts[name], port) for name, port in self.ports.items()]
        if self.admin_port:
            addrs.append(("127.0.0.1", self.admin_port))
        for host, port in addrs:
            wait_for(lambda: port_open(port, host) or not self.proc.alive(), READY_TIMEOUT,
                     what=f"gateway listener {host}:{port}")
            assert self.proc.alive(), (
                f"gateway exited with {self.proc.popen.returncode}: {self.proc.stderr()}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def port(self, listener: str) -> int:
        return self.ports[listener]

    def url(self, listener: str, path: str, tls: bool = True) -> str:
        scheme = "https" if tls else "http"
        return f"{scheme}://127.0.0.1:{self.ports[listener]}{path}"

    def admin_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.admin_port}{path}"

    # access log ------------------------------------------------------------------------------

    def access_log(self) -> list[dict]:
        lines = []
        for raw in self.proc.stdout_path.read_text(errors="replace").splitlines():
            raw = raw.strip()
            if not raw:
                continue
            try:
                lines.append(json.loads(raw))
            except json.JSONDecodeError:
                # only complete lines are expected; a partial last line is retried by callers
                continue
        return lines

    def log_entries(self, request_id: str, timeout: float = 5.0) -> list[dict]:
        """The access-log lines of one request id (waits for at least one)."""
        return wait_for(lambda: [e for e in self.access_log() if e.get("request_id") == request_id],
                        timeout, what=f"access-log line for request {request_id}")

    def log_entry(self, request_id: str, timeout: float = 5.0) -> dict:
        entries = self.log_entries(request_id, timeout)
        # a second line for the same request would be written right after the first
        time.sleep(0.05)
        entries = [e for e in self.access_log() if e.get("request_id") == request_id]
        assert len(entries) == 1, f"expected exactly one access-log line, got {entries}"
        return entries[0]

    def wait_log_count(self, count: int, timeout: float = 5.0) -> list[dict]:
        return wait_for(lambda: (lambda l: l if len(l) >= count else None)(self.access_log()),
                        timeout, what=f"{count} access-log lines")

    def vm_hwm_kib(self) -> int:
        status = Path(f"/proc/{self.pid}/status").read_text()
        return int(re.search(r"^VmHWM:\s+(\d+)\s+kB", status, re.M).group(1))


def listener(name: str, port: int, routes: list[dict], pki: Pki | None = None,
             limits: dict | None = None, host: str = "127.0.0.1") -> dict:
    out = {"name": name, "listen": f"{host}:{port}"}
    if pki is not None:
        out["tls"] = {"cert": pki.chain, "key": pki.key}
    if limits:
        out["limits"] = limits
    out["routes"] = routes
    return out


def route(name: str, upstream: str, prefix: str = "/", host: str = "*", **extra) -> dict:
    return {"name": name, "match": {"host": host, "path_prefix": prefix}, "authn": [],
            "upstream": upstream, **extra}


def upstream(*endpoints: str, **extra) -> dict:
    return {"endpoints": list(endpoints), **extra}


# ----------------------------------------------------------------------------------------------
# clients


@dataclass
class Response:
    status: int
    headers: dict[str, str]               # lower-case name -> last value
    header_list: list[tuple[str, str]]    # in order, original case
    body: bytes
    stderr: str = ""
    exit_code: int = 0
    closed: bool = False                  # raw client: the server closed after the response

    def json(self):
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def all(self, name: str) -> list[str]:
        return [v for n, v in self.header_list if n.lower() == name.lower()]


def _parse_head(head: bytes) -> tuple[int, list[tuple[str, str]]]:
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    header_list = []
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        header_list.append((name.strip(), value.strip()))
    return status, header_list


def curl(url: str, *args: str, cacert: str | None = None, timeout: float = 30,
         input_data: bytes | None = None, check: bool = True) -> Response:
    """Runs the real curl; returns the last response (after any 100 Continue)."""
    with tempfile.TemporaryDirectory() as tmp:
        hdr = os.path.join(tmp, "h")
        body = os.path.join(tmp, "b")
        cmd = ["curl", "-sS", "--max-time", str(int(timeout)), "-D", hdr, "-o", body,
               "-w", "%{http_code}"]
        if cacert:
            cmd += ["--cacert", cacert]
        cmd += list(args) + [url]
        result = subprocess.run(cmd, input=input_data, capture_output=True, timeout=timeout + 10)
        if check:
            assert result.returncode == 0, (
                f"curl failed ({result.returncode}): {result.stderr.decode(errors='replace')}")
        raw = Path(hdr).read_bytes() if os.path.exists(hdr) else b""
        blocks = [b for b in raw.split(b"\r\n\r\n") if b.strip()]
        status, header_list = (0, [])
        if blocks:
            status, header_list = _parse_head(blocks[-1])
        payload = Path(body).read_bytes() if os.path.exists(body) else b""
        return Response(status, {n.lower(): v for n, v in header_list}, header_list, payload,
                        result.stderr.decode(errors="replace"), result.returncode)


def tls_context(cafile: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False  # connecting to 127.0.0.1; the chain is still verified
    return ctx


def connect(port: int, cafile: str | None = None, timeout: float = 10) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if cafile:
        sock = tls_context(cafile).wrap_socket(sock, server_hostname="localhost")
    return sock


def read_response(sock: socket.socket, timeout: float = 10, head_only: bool = False) -> Response:
    """Reads one HTTP/1.1 response (Content-Length or close-delimited; chunked is decoded)."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    buf = b""
    closed = False

    def more() -> bool:
        nonlocal buf, closed
        if time.monotonic() > deadline:
            raise TimeoutError("response not complete in time")
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError):
            chunk = b""
        if not chunk:
            closed = True
            return False
        buf += chunk
        return True

    while b"\r\n\r\n" not in buf:
        if not more():
            raise AssertionError(f"connection closed before a complete response head: {buf!r}")
    head, _, rest = buf.partition(b"\r\n\r\n")
    status, header_list = _parse_head(head)
    headers = {n.lower(): v for n, v in header_list}
    buf = rest
    if head_only:
        return Response(status, headers, header_list, b"")
    if "content-length" in headers:
        n = int(headers["content-length"])
        while len(buf) < n and more():
            pass
        body = buf[:n]
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            while b"\r\n" not in buf and more():
                pass
            size_line, _, buf = buf.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(buf) < size + 2 and more():
                pass
            body += buf[:size]
            buf = buf[size + 2:]
            if size == 0:
                break
    else:
        while more():
            pass
        body = buf
    if not closed:
        # was the connection closed right after the response? (short, bounded peek)
        sock.settimeout(0.3)
        try:
            closed = sock.recv(1) == b""
        except (socket.timeout, TimeoutError):
            closed = False
        except (ConnectionResetError, ssl.SSLError, OSError):
            closed = True
    return Response(status, headers, header_list, body, closed=closed)


def raw_request(port: int, data: bytes, cafile: str | None = None, timeout: float = 10) -> Response:
    """Sends raw bytes (over TLS when cafile is given) and reads one response."""
    with connect(port, cafile, timeout) as sock:
        sock.sendall(data)
        return read_response(sock, timeout)


# ----------------------------------------------------------------------------------------------
# fake upstreams (threads in the test process)


class FakeUpstream:
    """A TCP listener on 127.0.0.1 that misbehaves on purpose.

    modes: "silent" (accepts, reads, never answers), "stall_body" (answers a head announcing
    100 bytes, sends 10, then nothing), "reset" (reads the request head, then closes
    with SO_LINGER 0 -> RST), "garbage" (answers "NOT HTTP"), "counting" (a correct HTTP/1.1
    keep-alive server that reports how many connections it accepted; optionally adds
    `extra_headers` to each response, or silently closes 100 ms after each response),
    "backlog" (never accepts; its accept queue is filled so further SYNs are dropped -> connect
    timeout).
    """

    def __init__(self, mode: str, extra_headers: bytes = b"", close_after_response: bool = False):
        self.mode = mode
        self.extra_headers = extra_headers
        self.close_after_response = close_after_response
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.endpoint = f"127.0.0.1:{self.port}"
        self.connections = 0
        self.requests = 0
        self.request_event = threading.Event()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        if mode == "backlog":
            self.sock.listen(0)
            for _ in range(4):
                c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                c.setblocking(False)
                try:
                    c.connect(("127.0.0.1", self.port))
                except (BlockingIOError, OSError):
                    pass
                self._conns.append(c)
            time.sleep(0.2)
            return
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def _accept_loop(self):
        while not self._closed:
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _read_head(conn: socket.socket, buf: bytes) -> tuple[bytes, bytes] | None:
        deadline = time.monotonic() + 30
        while b"\r\n\r\n" not in buf:
            if time.monotonic() > deadline:
                return None
            try:
                chunk = conn.recv(65536)
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                return None
            if not chunk:
                return None
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        return head, rest

    @classmethod
    def _read_request(cls, conn: socket.socket, buf: bytes) -> tuple[bytes, bytes] | None:
        """A request head and its Content-Length body (skipped); returns the head and what
        follows the body, or None when the connection ends first."""
        got = cls._read_head(conn, buf)
        if got is None:
            return None
        head, buf = got
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(buf) < length:
            try:
                chunk = conn.recv(65536)
            except (socket.timeout, TimeoutError):
                continue
            if not chunk:
                return None
            buf += chunk
        return head, buf[length:]

    def _serve(self, conn: socket.socket):
        conn.settimeout(0.5)
        try:
            if self.mode == "counting":
                buf = b""
                for _ in range(1000):
                    got = self._read_request(conn, buf)
                    if got is None:
                        return
                    head, buf = got
                    with self._lock:
                        self.requests += 1
                        body = json.dumps({"connections": self.connections,
                                           "requests": self.requests}).encode()
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 + self.extra_headers +
                                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
                    if self.close_after_response:
                        # an upstream whose keep-alive timeout is shorter than the pool's
                        time.sleep(0.1)
                        conn.close()
                        return
                return
            got = self._read_head(conn, b"")
            self.requests += 1
            self.request_event.set()
            if self.mode == "silent":
                deadline = time.monotonic() + 60
                while not self._closed and time.monotonic() < deadline:
                    try:
                        if conn.recv(65536) == b"":
                            return
                    except (socket.timeout, TimeoutError):
                        continue
                    except OSError:
                        return
            elif self.mode == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                conn.close()
            elif self.mode == "stall_body":
                if got is not None:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
                deadline = time.monotonic() + 60
                while not self._closed and time.monotonic() < deadline:
                    try:
                        if conn.recv(65536) == b"":
                            return
                    except (socket.timeout, TimeoutError):
                        continue
                    except OSError:
                        return
            elif self.mode == "garbage":
                if got is not None:
                    conn.sendall(b"NOT HTTP\r\n\r\n")
                time.sleep(0.2)
                conn.close()
        except OSError:
            pass

    def close(self):
        self._closed = True
        try:
            self.sock.close()
        except OSError:
            pass
        with self._lock:
            for c in self._conns:
                try:
                    c.close()
                except OSError:
                    pass


def fake_upstream(procs: Processes, mode: str, **options) -> FakeUpstream:
    return procs.add(FakeUpstream(mode, **options))


# ----------------------------------------------------------------------------------------------
# denial assertions shared by several files


def assert_denial(resp: Response, status: int, code: str, detail_contains: str | None = None):
    """The denial contract: status, X-Denial-Code, X-Request-Id, problem+json body."""
    assert resp.status == status, f"expected {status} {code}, got {resp.status}: {resp.text}"
    assert resp.header("X-Denial-Code") == code, resp.header_list
    request_id = resp.header("X-Request-Id")
    assert request_id, resp.header_list
    assert resp.header("Content-Type").startswith("application/problem+json"), resp.header_list
    body = resp.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"] == f"urn:portcullis:denial:{code}"
    assert body["instance"] == request_id
    assert body["title"] and body["hint"]
    if detail_contains is not None:
        assert detail_contains in body.get("detail", ""), body
    return body


# ----------------------------------------------------------------------------------------------
# mutual TLS: the test PKI (tests/tools/make_test_pki.cpp), listeners with client_auth, clients
# that present certificates (curl, openssl s_client)

TEST_PKI_BIN = os.environ.get("PORTCULLIS_TEST_PKI",
                              str(Path(BIN).parent / "tests" / "portcullis_test_pki"))


class MtlsPki:
    """The generated mTLS PKI: every client case of manifest.json, the server chain, bundles."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.manifest = json.loads((directory / "manifest.json").read_text())
        self.cases: dict[str, dict] = self.manifest["cases"]
        # s_client takes the extra certificates apart from the leaf (-cert_chain)
        for name, case in self.cases.items():
            blocks = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n",
                                (directory / case["cert"]).read_text(), re.S)
            if len(blocks) > 1:
                (directory / f"{name}.chain-only.pem").write_text("".join(blocks[1:]))

    def path(self, name: str) -> str:
        return str(self.dir / name)

    def file(self, key: str) -> str:
        """A file of manifest["files"] by its key (trusted_ca, crl, ...)."""
        return self.path(self.manifest["files"][key])

    @property
    def server_root(self) -> str:
        return self.path(self.manifest["server"]["root"])

    @property
    def server_chain(self) -> str:
        return self.path(self.manifest["server"]["chain"])

    @property
    def server_key(self) -> str:
        return self.path(self.manifest["server"]["key"])

    def cert(self, case: str) -> str:
        return self.path(self.cases[case]["cert"])

    def key(self, case: str) -> str:
        return self.path(self.cases[case]["key"])

    def leaf_pem(self, case: str) -> str:
        """The first PEM block of the case's file: the leaf the client presents."""
        text = Path(self.cert(case)).read_text()
        end = "-----END CERTIFICATE-----"
        return text[:text.index(end) + len(end)] + "\n"

    def sha256(self, case: str) -> str:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(self.leaf_pem(case))).hexdigest()

    def client_auth(self, mode: str, profile: str = "require", **overrides) -> dict:
        """A client_auth block for `mode` with the files of a manifest profile."""
        out = {"mode": mode}
        for key, value in self.manifest["profiles"][profile].items():
            out[key] = self.path(value) if isinstance(value, str) else value
        out.update(overrides)
        return out


@pytest.fixture(scope="session")
def mtls_pki(tmp_path_factory) -> MtlsPki:
    deadline = time.monotonic() + 120
    while not (os.path.isfile(TEST_PKI_BIN) and os.access(TEST_PKI_BIN, os.X_OK)):
        if time.monotonic() >= deadline:
            pytest.fail(f"portcullis_test_pki not found at {TEST_PKI_BIN} "
                        "(build it; set PORTCULLIS_TEST_PKI)")
        time.sleep(1)
    out = tmp_path_factory.mktemp("mtls-pki")
    result = subprocess.run([TEST_PKI_BIN, str(out)], capture_output=True, text=True, timeout=60,
                            env=sanitizer_env())
    assert result.returncode == 0, result.stderr
    return MtlsPki(out)


def mtls_listener(name: str, port: int, mtls_pki: MtlsPki, client_auth: dict | None,
                  routes: list[dict], limits: dict | None = None) -> dict:
    tls = {"cert": mtls_pki.server_chain, "key": mtls_pki.server_key}
    if client_auth is not None:
        tls["client_auth"] = client_auth
    out = {"name": name, "listen": f"127.0.0.1:{port}", "tls": tls, "routes": routes}
    if limits:
        out["limits"] = limits
    return out


def tls_args(tls: str | None) -> list[str]:
    """curl options pinning the TLS version ("1.2", "1.3" or None for the default, 1.3)."""
    if tls == "1.2":
        return ["--tlsv1.2", "--tls-max", "1.2"]
    if tls == "1.3":
        return ["--tlsv1.3"]
    return []


def mtls_curl(mtls_pki: MtlsPki, url: str, case: str | None, *args: str, tls: str | None = None,
              check: bool = True, timeout: float = 15) -> Response:
    """curl with the client certificate (and the chain in its file) of `case`, or none."""
    cert = ["--cert", mtls_pki.cert(case), "--key", mtls_pki.key(case)] if case else []
    return curl(url, *cert, *tls_args(tls), *args, cacert=mtls_pki.server_root, check=check,
                timeout=timeout)


@dataclass
class SClient:
    """One `openssl s_client` run: its exit code, output, and the HTTP response it printed.

    s_client writes what it receives unbuffered but its own reports (session tickets) through a
    buffered BIO, so the response may sit in the middle of a report line: it is found by its
    CRLF framing and Content-Length, not by lines."""
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + "\n" + self.stderr

    def _response(self):
        start = self.stdout.find("HTTP/1.1 ")
        if start < 0:
            return None
        end = self.stdout.find("\r\n\r\n", start)
        if end < 0:
            return None
        status, header_list = _parse_head(self.stdout[start:end].encode("latin-1"))
        headers = {n.lower(): v for n, v in header_list}
        length = int(headers.get("content-length", "0"))
        return status, headers, self.stdout[end + 4:end + 4 + length]

    @property
    def http_status(self) -> int | None:
        r = self._response()
        return r[0] if r else None

    def http_header(self, name: str) -> str | None:
        r = self._response()
        return r[1].get(name.lower()) if r else None

    @property
    def http_body(self) -> str:
        r = self._response()
        return r[2] if r else ""

    def json(self):
        return json.loads(self.http_body)

    @property
    def reused(self) -> bool:
        return re.search(r"^Reused, TLSv1", self.stdout, re.M) is not None

    @property
    def alert(self) -> str | None:
        """The name of the TLS alert the server sent ("certificate required", "unknown ca")."""
        m = re.search(r"alert ([a-z ]+?)(?::|,|$)", self.stderr, re.M)
        return m.group(1).strip() if m else None


def s_client(mtls_pki: MtlsPki, port: int, case: str | None = None, tls: str = "1.3",
             path: str = "/", headers: dict | None = None, sess_out: str | None = None,
             sess_in: str | None = None, timeout: float = 15) -> SClient:
    """openssl s_client: full handshake output, one HTTP/1.1 request with Connection: close,
    waits (-ign_eof) until the server closes; bounded by `timeout`."""
    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost",
           "-CAfile", mtls_pki.server_root, "-verify_return_error", "-ign_eof",
           "-tls1_3" if tls == "1.3" else "-tls1_2"]
    if case:
        cmd += ["-cert", mtls_pki.cert(case), "-key", mtls_pki.key(case)]
        chain = mtls_pki.dir / f"{case}.chain-only.pem"
        if chain.is_file():
            cmd += ["-cert_chain", str(chain)]
    if sess_out:
        cmd += ["-sess_out", sess_out]
    if sess_in:
        cmd += ["-sess_in", sess_in]
    lines = [f"GET {path} HTTP/1.1", "Host: localhost", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    result = subprocess.run(cmd, input=request, capture_output=True, timeout=timeout)
    return SClient(result.returncode, result.stdout.decode("latin-1"),
                   result.stderr.decode("latin-1"))


def metric_value(text: str, name: str, labels: dict[str, str]) -> float:
    """The value of one sample of a Prometheus exposition (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{want}}} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


# ----------------------------------------------------------------------------------------------
# passwords and tokens: htpasswd lines made by the real tools (apache2-utils, openssl, whois,
# argon2), and the JWT keys, JWKS files and tokens of tests/tools/make_test_tokens.cpp

TEST_TOKENS_BIN = os.environ.get("PORTCULLIS_TEST_TOKENS",
                                 str(Path(BIN).parent / "tests" / "portcullis_test_tokens"))

# tool -> command printing the hash of the password (given on stdin or as the last argument)
HASH_TOOLS = {
    "htpasswd-B": lambda pw: ["htpasswd", "-nbB", "-C", "5", "u", pw],
    "htpasswd-m": lambda pw: ["htpasswd", "-nbm", "u", pw],
    "htpasswd-s": lambda pw: ["htpasswd", "-nbs", "u", pw],
    "openssl-5": lambda pw: ["openssl", "passwd", "-5", pw],
    "openssl-6": lambda pw: ["openssl", "passwd", "-6", pw],
    "openssl-apr1": lambda pw: ["openssl", "passwd", "-apr1", pw],
    "mkpasswd-sha512": lambda pw: ["mkpasswd", "-m", "sha-512", pw],
    "mkpasswd-bcrypt": lambda pw: ["mkpasswd", "-m", "bcrypt", "-R", "5", pw],
    "argon2id": lambda pw: ["argon2", os.urandom(8).hex(), "-id", "-t", "2", "-m", "12", "-p",
                            "1", "-e"],
}


def tool_hash(tool: str, password: str) -> str:
    """The hash `tool` makes for `password` (htpasswd's "u:" prefix removed)."""
    cmd = HASH_TOOLS[tool](password)
    result = subprocess.run(cmd, input=password.encode() if tool == "argon2id" else None,
                            capture_output=True, timeout=30)
    assert result.returncode == 0, (cmd, result.stderr)
    out = result.stdout.decode().strip()
    return out[2:] if out.startswith("u:") else out


class JwtTokens:
    """The generated JWT material: manifest.json's tokens (name -> token, code, user), the JWKS
    files and the authenticator settings they were made for."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.manifest = json.loads((directory / "manifest.json").read_text())
        self.tokens: dict[str, dict] = self.manifest["tokens"]

    def path(self, name: str) -> str:
        return str(self.dir / name)

    def token(self, name: str) -> str:
        return self.tokens[name]["token"]

    def bearer(self, name: str) -> list[str]:
        """curl arguments sending the token."""
        return ["-H", f"Authorization: Bearer {self.token(name)}"]

    def authenticator(self, jwks: str | None = None, **overrides) -> dict:
        """A `type: jwt` authenticator for the tokens, with `jwks` (default: jwks.json here)."""
        out = dict(self.manifest["authenticator"])
        out["jwks"] = {"file": jwks or self.path(self.manifest["files"]["jwks"])}
        out.update(overrides)
        return out


@pytest.fixture(scope="module")
def jwt_tokens(tmp_path_factory) -> JwtTokens:
    """Made per module: the tokens' times are relative to when the tool runs."""
    deadline = time.monotonic() + 120
    while not (os.path.isfile(TEST_TOKENS_BIN) and os.access(TEST_TOKENS_BIN, os.X_OK)):
        if time.monotonic() >= deadline:
            pytest.fail(f"portcullis_test_tokens not found at {TEST_TOKENS_BIN} "
                        "(build it; set PORTCULLIS_TEST_TOKENS)")
        time.sleep(1)
    out = tmp_path_factory.mktemp("jwt-tokens")
    result = subprocess.run([TEST_TOKENS_BIN, str(out)], capture_output=True, text=True,
                            timeout=60, env=sanitizer_env())
    assert result.returncode == 0, result.stderr
    return JwtTokens(out)


def problem_without_ids(resp: Response) -> dict:
    """The problem+json body without the per-request `instance` (to compare two denials)."""
    body = resp.json()
    body.pop("instance", None)
    return body


def headers_without_ids(resp: Response) -> list[tuple[str, str]]:
    """The response headers without those that differ per request (ids, dates)."""
    return [(n.lower(), v) for n, v in resp.header_list
            if n.lower() not in ("x-request-id", "date")]


def read_large_response(s, timeout: float) -> tuple[int, bytes]:
    """One Content-Length response of megabytes: (status, body). Into a bytearray, in bounded
    time (read_response's bytes concatenation is quadratic at this size)."""
    s.settimeout(timeout)
    deadline = time.monotonic() + timeout
    buf = bytearray()
    while b"\r\n\r\n" not in buf:
        assert time.monotonic() < deadline, "no complete response head in time"
        chunk = s.recv(1 << 20)
        assert chunk, f"closed before a complete response head: {bytes(buf[:200])!r}"
        buf += chunk
    end = buf.index(b"\r\n\r\n")
    head = bytes(buf[:end]).decode("latin-1")
    status = int(head.split(" ", 2)[1])
    length = int(re.search(r"^content-length:\s*(\d+)", head, re.I | re.M).group(1))
    body = buf[end + 4:]
    while len(body) < length:
        assert time.monotonic() < deadline, f"{len(body)} of {length} bytes in {timeout} s"
        chunk = s.recv(1 << 20)
        assert chunk, f"closed after {len(body)} of {length} bytes"
        body += chunk
    assert len(body) == length, "more than the response on a keep-alive connection"
    return status, bytes(body)
