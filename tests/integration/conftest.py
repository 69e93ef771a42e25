"""Integration harness: real processes (the gateway, the echo upstream, small fake upstreams in
threads), real curl/openssl as clients, raw sockets for what curl will not send. Everything binds
127.0.0.1; every wait is bounded in count and time; every process started is stopped by PID.

Environment: PORTCULLIS_BIN (the binary under test), PORTCULLIS_SOURCE_DIR (the checkout),
PORTCULLIS_SKIP_LARGE=1 (skip the 1 GiB streaming tests).
"""

from __future__ import annotations

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

    def _serve(self, conn: socket.socket):
        conn.settimeout(0.5)
        try:
            if self.mode == "counting":
                buf = b""
                for _ in range(1000):
                    got = self._read_head(conn, buf)
                    if got is None:
                        return
                    head, buf = got
                    length = 0
                    for line in head.split(b"\r\n")[1:]:
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value)
                    while len(buf) < length:
                        chunk = conn.recv(65536)
                        if not chunk:
                            return
                        buf += chunk
                    buf = buf[length:]
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
