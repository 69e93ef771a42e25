"""A real forward proxy from Debian (tinyproxy) for the outbound-proxy tests: started on
127.0.0.1 with its own config and log in the test's directory, optionally with Basic proxy
authentication and a CONNECT port allow-list, stopped by PID with the fixture."""

import shutil
from pathlib import Path

import pytest

from conftest import Processes, free_port, port_open, wait_for


class Tinyproxy:
    def __init__(self, procs: Processes, user: str | None = None, password: str | None = None,
                 connect_ports: list[int] | None = None, name: str = "tinyproxy"):
        binary = shutil.which("tinyproxy")
        if binary is None:
            pytest.skip("tinyproxy is not installed (scripts/install-deps installs it)")
        self.port = free_port()
        self.dir = procs.workdir / f"{name}-{self.port}"
        self.dir.mkdir()
        self.log = self.dir / "tinyproxy.log"
        lines = [f"Port {self.port}", "Listen 127.0.0.1", "Timeout 30", f'LogFile "{self.log}"',
                 "LogLevel Info", f'PidFile "{self.dir / "tinyproxy.pid"}"', "MaxClients 64",
                 "Allow 127.0.0.1", 'ViaProxyName "tinyproxy"']
        if user:
            lines.append(f"BasicAuth {user} {password}")
        for p in connect_ports or []:
            lines.append(f"ConnectPort {p}")
        conf = self.dir / "tinyproxy.conf"
        conf.write_text("\n".join(lines) + "\n")
        self.proc = procs.start([binary, "-d", "-c", str(conf)], f"{name}-{self.port}", env={})
        wait_for(lambda: port_open(self.port) or not self.proc.alive(), 10,
                 what=f"tinyproxy on {self.port}")
        assert self.proc.alive(), self.proc.stderr()

    def url(self, user: str | None = None, password: str | None = None) -> str:
        auth = f"{user}:{password}@" if user else ""
        return f"http://{auth}127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def connects_to(self, port: int) -> int:
        """How many CONNECT tunnels the proxy opened to 127.0.0.1:port (from its log)."""
        return self.log_text().count(f"opensock: opening connection to 127.0.0.1:{port}")
