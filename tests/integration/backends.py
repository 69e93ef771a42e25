"""Backends for the request-smuggling and bypass tests: a real nginx serving static files
(NginxBackend) and a thread-based HTTP/1.1 server that records the raw bytes of every request it
receives (RecordingUpstream). Both bind 127.0.0.1 only; every wait is bounded; nginx is stopped by
PID through the Processes object that started it.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass, field

from conftest import FakeUpstream, Processes, free_port, port_open, wait_for

NGINX = "/usr/sbin/nginx"

PUBLIC_MARKER = "PUBLIC-CONTENT"
ADMIN_MARKER = "ADMIN-SECRET"
VHOST_MARKER = "ADMIN-VHOST"
DEFAULT_SITE_MARKER = "DEFAULT-SITE"
STALE_MARKER = "STALE-EXTRA-RESPONSE"


# ----------------------------------------------------------------------------------------------
# nginx


NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
error_log {dir}/error.log info;
pid {dir}/nginx.pid;

events {{
    worker_connections 256;
}}

http {{
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;

    log_format recorded escape=json
        '{{"request":"$request","host":"$host","http_host":"$http_host",'
        '"user":"$http_x_auth_user","test_id":"$http_x_test_id","status":"$status",'
        '"server":"$server_name"}}';
    access_log {dir}/access.log recorded;

    default_type text/plain;
    server_tokens off;

    server {{
        listen 127.0.0.1:{port} default_server;
        server_name _;
        root {dir}/www;
        index index.html;
{encoded_slash_rule}
    }}

    server {{
        listen 127.0.0.1:{port};
        server_name admin.example;
        root {dir}/vhost;
        index index.html;
{encoded_slash_rule}
    }}
}}
"""


class NginxBackend:
    """A real nginx (no daemon, no master) with a generated config in `procs.workdir`.

    Default server (server_name _): /index.html (DEFAULT-SITE), /public/index.html and /public/x
    (PUBLIC-CONTENT), /admin/index.html and /admin/x (ADMIN-SECRET). Virtual host admin.example:
    /index.html (ADMIN-VHOST). The access log is one JSON object per request with the raw request
    line (`request`), `$host`, `$http_host`, `$http_x_auth_user` (`user`) and `$http_x_test_id`.

    Stock nginx decodes `%2F` into `/` when it maps a URI to a file (`/admin%2Fx` serves
    /admin/x). `decodes_encoded_slash=False` makes it a backend that does not: any request target
    path containing `%2F` (any case) is answered 404 before the file lookup.
    """

    def __init__(self, procs: Processes, name: str = "nginx", decodes_encoded_slash: bool = True):
        self.port = free_port()
        self.endpoint = f"127.0.0.1:{self.port}"
        self.dir = procs.workdir / f"{name}-{self.port}"
        self.dir.mkdir()
        for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi", "www/public",
                    "www/admin", "vhost"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        www = self.dir / "www"
        (www / "index.html").write_text(f"{DEFAULT_SITE_MARKER}\n")
        for f in ("index.html", "x"):
            (www / "public" / f).write_text(f"{PUBLIC_MARKER} {f}\n")
            (www / "admin" / f).write_text(f"{ADMIN_MARKER} {f}\n")
        (self.dir / "vhost" / "index.html").write_text(f"{VHOST_MARKER}\n")
        self.conf = self.dir / "nginx.conf"
        rule = "" if decodes_encoded_slash else '        if ($request_uri ~* "^[^?]*%2f") { return 404; }'
        self.conf.write_text(NGINX_CONF.format(dir=self.dir, port=self.port,
                                               encoded_slash_rule=rule))
        self.access_log_path = self.dir / "access.log"
        self.error_log_path = self.dir / "error.log"
        self.proc = procs.start([NGINX, "-c", str(self.conf), "-p", str(self.dir),
                                 "-e", str(self.error_log_path)], f"{name}-{self.port}")
        wait_for(lambda: port_open(self.port) or not self.proc.alive(), 10,
                 what=f"nginx on {self.endpoint}")
        assert self.proc.alive(), (
            f"nginx exited: {self.proc.stderr()}\n"
            f"{self.error_log_path.read_text(errors='replace') if self.error_log_path.exists() else ''}")

    def access_log(self) -> list[dict]:
        if not self.access_log_path.exists():
            return []
        out = []
        for line in self.access_log_path.read_text(errors="replace").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a partial last line: callers retry
        return out

    def entries(self, test_id: str) -> list[dict]:
        return [e for e in self.access_log() if e.get("test_id") == test_id]

    def entry(self, test_id: str, timeout: float = 5.0) -> dict:
        """The access-log line of the request that carried `X-Test-Id: test_id` (waits)."""
        return wait_for(lambda: (self.entries(test_id) or [None])[0], timeout,
                        what=f"nginx access-log line for X-Test-Id {test_id}")

    def error_log(self) -> str:
        return self.error_log_path.read_text(errors="replace") \
            if self.error_log_path.exists() else ""


# ----------------------------------------------------------------------------------------------
# recording upstream


@dataclass
class Recorded:
    """One request as the upstream received it: the raw head (without the blank line), the raw
    body bytes (chunked framing included when chunked), the decoded body, and the connection
    number it came on."""
    head: bytes
    raw_body: bytes
    body: bytes
    connection: int
    index: int

    @property
    def request_line(self) -> str:
        return self.head.split(b"\r\n", 1)[0].decode("latin-1")

    @property
    def method(self) -> str:
        return self.request_line.split(" ")[0]

    @property
    def target(self) -> str:
        parts = self.request_line.split(" ")
        return parts[1] if len(parts) > 1 else ""

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def header_list(self) -> list[tuple[str, str]]:
        out = []
        for line in self.head.decode("latin-1").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            out.append((name, value.strip()))
        return out

    def header_names(self) -> list[str]:
        return [n for n, _ in self.header_list]

    def all(self, name: str) -> list[str]:
        return [v for n, v in self.header_list if n.lower() == name.lower()]

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[-1] if values else None

    @property
    def raw(self) -> bytes:
        return self.head + b"\r\n\r\n" + self.raw_body


def json_response(rec: Recorded, extra: dict | None = None) -> bytes:
    """200 with a small JSON body naming the request (method, target, path, counters)."""
    body = json.dumps({"method": rec.method, "target": rec.target, "path": rec.path,
                       "index": rec.index, "connection": rec.connection,
                       "body_length": len(rec.body), **(extra or {})}).encode()
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n\r\n"
            + (b"" if rec.method == "HEAD" else body))


class RecordingUpstream(FakeUpstream):
    """A keep-alive HTTP/1.1 server in threads that records every request (raw bytes).

    modes:
      "normal"          200 with a JSON body naming the request (json_response)
      "extra_response"  as normal, then ~50 ms later an unsolicited second complete response
                        (200, body containing STALE-EXTRA-RESPONSE and a counter) on the same
                        connection
      "raw"             answers every request with `raw_response` verbatim; closes the
                        connection afterwards when `close_after` is true
      "head_42"         HEAD is answered "200, Content-Length: 42" without a body; other
                        methods as normal
    """

    def __init__(self, mode: str = "normal", raw_response: bytes = b"",
                 close_after: bool = True):
        assert mode in ("normal", "extra_response", "raw", "head_42"), mode
        self.raw_response = raw_response
        self.close_after = close_after
        self.stale_sent = 0
        super().__init__(mode)  # the listener, accept loop and close() of FakeUpstream
        self.requests: list[Recorded] = []  # replaces FakeUpstream's counter

    # public helpers ---------------------------------------------------------------------------

    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def since(self, mark: int) -> list[Recorded]:
        with self._lock:
            return list(self.requests[mark:])

    def wait_count(self, count: int, timeout: float = 5.0) -> list[Recorded]:
        return wait_for(lambda: (lambda r: r if len(r) >= count else None)(self.since(0)),
                        timeout, what=f"{count} requests at the recording upstream")

    def quiet_since(self, mark: int, settle: float = 0.3) -> list[Recorded]:
        """The requests received after `mark`, after waiting `settle` s for stragglers."""
        time.sleep(settle)
        return self.since(mark)

    # server -----------------------------------------------------------------------------------

    def _recv(self, conn: socket.socket, deadline: float) -> bytes | None:
        """Some bytes, b"" at EOF, None when the deadline passed or the upstream closes."""
        while not self._closed:
            if time.monotonic() > deadline:
                return None
            try:
                return conn.recv(65536)
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                return b""
        return None

    def _fill(self, conn: socket.socket, buf: bytes, deadline: float, enough) -> bytes | None:
        """`buf` with received bytes appended until enough(buf); None when the connection ends
        or the deadline passes first."""
        while not enough(buf):
            chunk = self._recv(conn, deadline)
            if not chunk:
                return None
            buf += chunk
        return buf

    def _read_request(self, conn: socket.socket, buf: bytes):
        """(head, raw_body, body, rest) or None when the connection ends first (60 s bound)."""
        deadline = time.monotonic() + 60
        has_line = lambda b: b"\r\n" in b  # noqa: E731
        buf = self._fill(conn, buf, deadline, lambda b: b"\r\n\r\n" in b)
        if buf is None:
            return None
        head, _, buf = buf.partition(b"\r\n\r\n")
        length = 0
        chunked = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            lname = name.strip().lower()
            if lname == b"content-length":
                try:
                    length = int(value.strip())
                except ValueError:
                    length = 0
            elif lname == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if not chunked:
            buf = self._fill(conn, buf, deadline, lambda b: len(b) >= length)
            if buf is None:
                return None
            return head, buf[:length], buf[:length], buf[length:]
        raw = b""
        body = b""
        for _ in range(100000):
            buf = self._fill(conn, buf, deadline, has_line)
            if buf is None:
                return None
            line, _, buf = buf.partition(b"\r\n")
            raw += line + b"\r\n"
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                return head, raw, body, b""
            if size == 0:
                # trailers up to the blank line
                while True:
                    buf = self._fill(conn, buf, deadline, has_line)
                    if buf is None:
                        return None
                    tline, _, buf = buf.partition(b"\r\n")
                    raw += tline + b"\r\n"
                    if tline == b"":
                        return head, raw, body, buf
            buf = self._fill(conn, buf, deadline, lambda b, n=size + 2: len(b) >= n)
            if buf is None:
                return None
            raw += buf[:size + 2]
            body += buf[:size]
            buf = buf[size + 2:]
        return None

    def _serve(self, conn: socket.socket):
        with self._lock:
            number = self._conns.index(conn) + 1
        conn.settimeout(0.5)
        buf = b""
        try:
            for _ in range(10000):
                got = self._read_request(conn, buf)
                if got is None:
                    return
                head, raw_body, body, buf = got
                with self._lock:
                    rec = Recorded(head, raw_body, body, number, len(self.requests))
                    self.requests.append(rec)
                if self.mode == "raw":
                    conn.sendall(self.raw_response)
                    if self.close_after:
                        time.sleep(0.05)
                        return
                    continue
                if self.mode == "head_42" and rec.method == "HEAD":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                 b"Content-Length: 42\r\n\r\n")
                    continue
                conn.sendall(json_response(rec))
                if self.mode == "extra_response":
                    time.sleep(0.05)
                    with self._lock:
                        self.stale_sent += 1
                        n = self.stale_sent
                    stale = json.dumps({"marker": STALE_MARKER, "counter": n,
                                        "path": "/stale"}).encode()
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: " + str(len(stale)).encode() +
                                 b"\r\n\r\n" + stale)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass


def recording_upstream(procs: Processes, mode: str = "normal", **options) -> RecordingUpstream:
    """A RecordingUpstream closed with the fixture scope of `procs`."""
    return procs.add(RecordingUpstream(mode, **options))


# ----------------------------------------------------------------------------------------------
# raw client helpers


@dataclass
class RawExchange:
    """Everything a raw client received on one connection until the server closed it (or the
    time bound passed): the bytes, and whether the server closed."""
    data: bytes
    closed: bool
    head: bytes = b""
    status: int = 0
    header_list: list[tuple[str, str]] = field(default_factory=list)
    after_head: bytes = b""

    def header(self, name: str) -> str | None:
        values = [v for n, v in self.header_list if n.lower() == name.lower()]
        return values[-1] if values else None


def read_until_close(sock: socket.socket, timeout: float = 10.0) -> RawExchange:
    """All bytes until the peer closes; bounded by `timeout` (then closed=False)."""
    deadline = time.monotonic() + timeout
    data = b""
    closed = False
    sock.settimeout(0.3)
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, TimeoutError):
            continue
        except OSError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        data += chunk
    out = RawExchange(data, closed)
    if b"\r\n\r\n" in data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        out.head = head
        out.status = int(lines[0].split(" ")[1])
        for line in lines[1:]:
            name, _, value = line.partition(":")
            out.header_list.append((name.strip(), value.strip()))
        out.after_head = rest
    return out
