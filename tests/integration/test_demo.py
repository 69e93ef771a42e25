"""`portcullis demo`: the files it writes load (`--no-start`), and every curl command it prints
does what its comment says when run as printed against the running demo: `# <code> ...` shows
`X-Denial-Code: <code>`, `# success ...` shows `HTTP/1.1 200`.
"""

import re
import socket
import subprocess

import pytest

from conftest import READY_TIMEOUT, binary, free_port, port_open, sanitizer_env, wait_for

CODE_COMMENT = re.compile(r"^  # ([a-z_]+\.[a-z_]+)\b")
SUCCESS_COMMENT = re.compile(r"^  # success\b")


def bindable(port: int) -> bool:
    """Whether a listener could bind `port` now. Not listening is not enough: a client socket
    of another process (free_port hands out ports from the ephemeral range) can hold it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the gateway does
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def demo_ports():
    """A gateway port whose successor (the strict listener) is free too; bounded attempts."""
    for _ in range(50):
        port = free_port()
        if port < 65535 and bindable(port + 1):
            # The other two must not collide with the pair (free_port may hand out port + 1).
            others = set()
            while len(others) < 2:
                candidate = free_port()
                if candidate not in (port, port + 1):
                    others.add(candidate)
            upstream_port, admin_port = sorted(others)
            return port, upstream_port, admin_port
    raise AssertionError("no two consecutive free ports")


@pytest.fixture(scope="module")
def demo(module_procs, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    port, upstream_port, admin_port = demo_ports()
    proc = module_procs.start([binary(), "demo", "--dir", str(out), "--port", str(port),
                               "--upstream-port", str(upstream_port), "--admin-port",
                               str(admin_port)], "demo")
    wait_for(lambda: "Press Ctrl-C" in proc.stdout() or not proc.alive(), READY_TIMEOUT * 3,
             what="the demo's instructions")
    assert proc.alive(), proc.stderr()
    for p in (port, port + 1, upstream_port, admin_port):
        wait_for(lambda: port_open(p), READY_TIMEOUT, what=f"demo port {p}")
    return {"dir": out, "proc": proc, "help": proc.stdout()}


def printed_commands(help_text: str) -> list[tuple[str, str]]:
    """(expectation, command) for each command under a `# <code>` or `# success` comment:
    expectation is the denial code or "ok"."""
    out = []
    expect = None
    for line in help_text.splitlines():
        if m := CODE_COMMENT.match(line):
            expect = m.group(1)
        elif SUCCESS_COMMENT.match(line):
            expect = "ok"
        elif line.startswith("  #") or not line.startswith("  "):
            expect = None
        elif expect and not line.startswith("   "):
            out.append((expect, line.strip()))
    return out


def test_demo_files_validate(tmp_path):
    result = subprocess.run([binary(), "demo", "--dir", str(tmp_path), "--no-start"],
                            capture_output=True, text=True, timeout=60, env=sanitizer_env())
    assert result.returncode == 0, result.stderr
    for name in ("users.htpasswd", "groups.txt", "jwks.json", "token.jwt", "token-expired.jwt",
                 "token-wrong-issuer.jwt", "token-signing.key"):
        assert (tmp_path / name).is_file(), name
    htpasswd = (tmp_path / "users.htpasswd").read_text()
    assert re.search(r"^alice:\$2b\$10\$", htpasswd, re.M), htpasswd
    assert (tmp_path / "token-signing.key").stat().st_mode & 0o077 == 0
    check = subprocess.run([binary(), "check-config", "-c", str(tmp_path / "portcullis.yaml")],
                           capture_output=True, text=True, timeout=60, env=sanitizer_env())
    assert check.returncode == 0, check.stderr


def test_demo_prints_a_command_for_every_auth_code(demo):
    codes = {expect for expect, _ in printed_commands(demo["help"])}
    for code in ("authn.required", "authn.scheme_not_accepted", "basic.malformed",
                 "basic.credentials_invalid", "basic.locked_out", "jwt.expired",
                 "jwt.issuer_mismatch", "authz.denied", "ok"):
        assert code in codes, (code, demo["help"])


def test_every_printed_command_does_what_it_says(demo):
    commands = printed_commands(demo["help"])
    assert len(commands) >= 20, demo["help"]
    failures = []
    for expect, command in commands:
        result = subprocess.run(["bash", "-c", command], capture_output=True, timeout=60)
        output = result.stdout.decode(errors="replace")
        wanted = "HTTP/1.1 200 " if expect == "ok" else f"X-Denial-Code: {expect}\r\n"
        if wanted not in output:
            failures.append(f"{expect}: {command}\n{output[:600]}{result.stderr[:300]!r}")
    assert not failures, "\n\n".join(failures)
