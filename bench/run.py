#!/usr/bin/env python3
"""Side-by-side mTLS benchmark: Portcullis against nginx, HAProxy and Caddy (`make bench`).

Generates one PKI (ECDSA P-256 and RSA-2048 server and client chains with intermediates), starts
one plain HTTP/1.1 upstream, configures every server identically (TLS termination, a required
and verified client certificate, the client subject forwarded in X-Client-Subject, upstream
keep-alive, no per-request log, the same number of workers), measures them alternately for
several rounds with bench/loadgen, and writes the table of medians to bench/results.md.
Every process it starts is stopped by PID, also on error or Ctrl-C. Python 3 standard library.
"""

import argparse
import atexit
import datetime
import json
import os
import platform
import resource
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = ["nginx", "haproxy", "caddy"]
SERVERS = ["portcullis"] + PEERS

# ---- processes ---------------------------------------------------------------------------------

_procs = []  # every Popen we started and have not stopped yet


CPUS = {"server": None, "tools": None}  # CPU sets for --pin (None = no pinning)


def spawn(cmd, role="tools", **kw):
    cpus = CPUS.get(role)
    if cpus:
        kw["preexec_fn"] = lambda: os.sched_setaffinity(0, cpus)
    p = subprocess.Popen(cmd, **kw)
    _procs.append(p)
    return p


def descendants(pid):
    """PIDs of every process below `pid` (nginx workers, ...), read from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in children.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def stop(p, timeout=5.0):
    """Stops one process we started (and what it forked), by PID: SIGTERM, then SIGKILL."""
    if p not in _procs:
        return
    below = descendants(p.pid)
    if p.poll() is None:
        try:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    for pid in below:  # workers that outlived their master
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _procs.remove(p)


def stop_all():
    for p in list(reversed(_procs)):
        try:
            stop(p)
        except Exception as e:  # keep stopping the others
            print(f"bench: stopping {p.pid}: {e}", file=sys.stderr)


def on_signal(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=15.0):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"process {proc.args[0]} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout}s")


def rss_kib(pid):
    """(VmRSS, VmHWM) in KiB summed over the process and its descendants."""
    rss = hwm = 0
    for p in [pid] + descendants(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
                    elif line.startswith("VmHWM:"):
                        hwm += int(line.split()[1])
        except OSError:
            pass
    return rss, hwm


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


# ---- PKI ----------------------------------------------------------------------------------------

EXT = {
    "ca": "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n"
          "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    "server": "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,"
              "keyEncipherment\nextendedKeyUsage=serverAuth\n"
              "subjectAltName=DNS:bench.test,IP:127.0.0.1\n"
              "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    "client": "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
              "extendedKeyUsage=clientAuth\nsubjectKeyIdentifier=hash\n"
              "authorityKeyIdentifier=keyid\n",
}


def make_pki(d, alg):
    """Server and client hierarchies root -> intermediate -> leaf (chain depth 2) for `alg`."""
    os.makedirs(d, exist_ok=True)
    keyopt = (["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"] if alg == "ecdsa"
              else ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
    for name, text in EXT.items():
        with open(f"{d}/{name}.ext", "w") as f:
            f.write(text)

    def key(name):
        run(["openssl", "genpkey", *keyopt, "-out", f"{d}/{name}.key"])

    def root(name, cn):
        key(name)
        run(["openssl", "req", "-x509", "-new", "-key", f"{d}/{name}.key", "-subj",
             f"/O=Bench/CN={cn}", "-days", "30", "-sha256", "-out", f"{d}/{name}.pem",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"])

    def issue(name, cn, issuer, ext):
        key(name)
        run(["openssl", "req", "-new", "-key", f"{d}/{name}.key", "-subj", f"/O=Bench/CN={cn}",
             "-out", f"{d}/{name}.csr"])
        run(["openssl", "x509", "-req", "-in", f"{d}/{name}.csr", "-CA", f"{d}/{issuer}.pem",
             "-CAkey", f"{d}/{issuer}.key", "-set_serial", str(int.from_bytes(os.urandom(8), "big")),
             "-days", "30", "-sha256", "-extfile", f"{d}/{ext}.ext", "-out", f"{d}/{name}.pem"])

    root("server-root", "Bench Server Root")
    issue("server-int", "Bench Server Intermediate", "server-root", "ca")
    issue("server", "bench.test", "server-int", "server")
    root("client-root", "Bench Client Root")
    issue("client-int", "Bench Client Intermediate", "client-root", "ca")
    issue("client", "bench-client", "client-int", "client")

    def cat(out, *parts):
        with open(f"{d}/{out}", "w") as f:
            for p in parts:
                with open(f"{d}/{p}") as src:
                    f.write(src.read())

    cat("server-chain.pem", "server.pem", "server-int.pem")
    cat("client-chain.pem", "client.pem", "client-int.pem")
    cat("client-ca.pem", "client-root.pem")
    cat("server-ca.pem", "server-root.pem")
    cat("haproxy.pem", "server.pem", "server-int.pem", "server.key")


# ---- server configurations ----------------------------------------------------------------------


def conf_portcullis(d, pki, port, up, workers):
    path = f"{d}/portcullis.yaml"
    with open(path, "w") as f:
        f.write(f"""# Generated by bench/run.py
workers: {workers}
log: {{ access: off, level: warn }}
listeners:
  - name: bench
    listen: 127.0.0.1:{port}
    tls:
      cert: {pki}/server-chain.pem
      key: {pki}/server.key
      client_auth: {{ mode: require, trusted_ca: {pki}/client-ca.pem, verify_depth: 3 }}
    limits: {{ idle_timeout: 120s }}
    routes:
      - name: all
        match: {{ host: "*", path_prefix: / }}
        authn: [mtls]
        upstream: app
        identity_headers: {{ subject: X-Client-Subject }}
upstreams:
  app: {{ endpoints: [127.0.0.1:{up}] }}
""")
    return [BIN["portcullis"], "run", "-c", path], {}


def conf_nginx(d, pki, port, up, workers):
    path = f"{d}/nginx.conf"
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        os.makedirs(f"{d}/tmp/{sub}", exist_ok=True)
    with open(path, "w") as f:
        f.write(f"""# Generated by bench/run.py
daemon off;
master_process on;
worker_processes {workers};
worker_rlimit_nofile 30000;
pid {d}/nginx.pid;
error_log {d}/error.log error;
events {{ worker_connections 25000; }}
http {{
  access_log off;
  client_body_temp_path {d}/tmp/client_body;
  proxy_temp_path {d}/tmp/proxy;
  fastcgi_temp_path {d}/tmp/fastcgi;
  uwsgi_temp_path {d}/tmp/uwsgi;
  scgi_temp_path {d}/tmp/scgi;
  upstream app {{ server 127.0.0.1:{up}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {pki}/server-chain.pem;
    ssl_certificate_key {pki}/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_client_certificate {pki}/client-ca.pem;
    ssl_verify_client on;
    ssl_verify_depth 3;
    keepalive_timeout 120s;
    keepalive_requests 100000000;
    location / {{
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Client-Subject $ssl_client_s_dn;
    }}
  }}
}}
""")
    return [BIN["nginx"], "-p", d, "-e", f"{d}/error.log", "-c", path], {}


def conf_haproxy(d, pki, port, up, workers):
    path = f"{d}/haproxy.cfg"
    with open(path, "w") as f:
        f.write(f"""# Generated by bench/run.py
global
  nbthread {workers}
  maxconn {HAPROXY_MAXCONN[0]}
  ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
  mode http
  timeout connect 2s
  timeout client 120s
  timeout server 30s
  timeout http-keep-alive 120s
frontend fe
  bind 127.0.0.1:{port} ssl crt {pki}/haproxy.pem ca-file {pki}/client-ca.pem verify required
  http-request set-header X-Client-Subject %[ssl_c_s_dn]
  default_backend app
backend app
  http-reuse always
  server up 127.0.0.1:{up}
""")
    return [BIN["haproxy"], "-db", "-f", path], {}


def conf_caddy(d, pki, port, up, workers):
    path = f"{d}/caddy.json"
    cfg = {
        "admin": {"disabled": True},
        "logging": {"logs": {"default": {"level": "ERROR"}}},
        "storage": {"module": "file_system", "root": f"{d}/data"},
        "apps": {
            "http": {"servers": {"bench": {
                "listen": [f"127.0.0.1:{port}"],
                "protocols": ["h1"],
                "automatic_https": {"disable": True},
                "idle_timeout": "120s",
                "tls_connection_policies": [{
                    "default_sni": "bench.test",
                    "protocol_min": "tls1.2",
                    "client_authentication": {
                        "trusted_ca_certs_pem_files": [f"{pki}/client-ca.pem"],
                        "mode": "require_and_verify",
                    },
                }],
                "routes": [{"handle": [{
                    "handler": "reverse_proxy",
                    "upstreams": [{"dial": f"127.0.0.1:{up}"}],
                    "headers": {"request": {"set": {
                        "X-Client-Subject": ["{http.request.tls.client.subject}"]}}},
                    "transport": {"protocol": "http", "keep_alive": {
                        "enabled": True, "max_idle_conns_per_host": 64}},
                }]}],
            }}},
            "tls": {"certificates": {"load_files": [{
                "certificate": f"{pki}/server-chain.pem", "key": f"{pki}/server.key"}]}},
        },
    }
    with open(path, "w") as f:
        json.dump(cfg, f, indent=1)
    env = {"GOMAXPROCS": str(workers), "HOME": d, "XDG_DATA_HOME": f"{d}/data",
           "XDG_CONFIG_HOME": f"{d}/config"}
    return [BIN["caddy"], "run", "--config", path], env


HAPROXY_MAXCONN = [25000]  # lowered in main() to what RLIMIT_NOFILE allows (2 fds per conn)
CONF = {"portcullis": conf_portcullis, "nginx": conf_nginx, "haproxy": conf_haproxy,
        "caddy": conf_caddy}
BIN = {}


class Server:
    """One running instance of a server under test, with a given PKI."""

    plain = False  # TLS: the load generator presents the client certificate

    def __init__(self, name, alg, args, up_port):
        self.name = name
        self.port = free_port()
        self.dir = f"{args.work}/{name}-{alg}"
        os.makedirs(self.dir, exist_ok=True)
        pki = f"{args.work}/pki-{alg}"
        cmd, env = CONF[name](self.dir, pki, self.port, up_port, args.workers)
        full_env = dict(os.environ, **env)
        self.log = open(f"{self.dir}/stderr.log", "w")
        self.proc = spawn(cmd, role="server", env=full_env, stdout=self.log,
                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.dir)
        wait_port(self.port, self.proc)

    def stop(self):
        stop(self.proc)
        self.log.close()


class FloorProxy:
    """bench/floor/floor_proxy.cpp in front of the upstream: the keep-alive floor, measured in
    the keep-alive turns with the servers (plain HTTP, so the load generator runs with --plain)."""

    name = "floor"
    plain = True

    def __init__(self, args, up_port):
        self.port = free_port()
        self.log = open(f"{args.work}/floor.log", "w")
        self.proc = spawn([BIN["floor"], str(self.port), str(up_port)], role="server",
                          stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_port(self.port, self.proc)

    def stop(self):
        stop(self.proc)
        self.log.close()


# ---- load generator -----------------------------------------------------------------------------


def loadgen(args, port, mode, alg="ecdsa", plain=False, cert=True, extra=(), server=None):
    pki = f"{args.work}/pki-{alg}"
    cmd = [BIN["loadgen"], "--port", str(port), "--mode", mode]
    if server is not None:
        # The server's own CPU time over the measured window (all its processes and threads).
        pids = [server.proc.pid] + descendants(server.proc.pid)
        cmd += ["--cpu-pids", ",".join(str(p) for p in pids)]
    if plain:
        cmd.append("--plain")
    elif cert:
        cmd += ["--cert", f"{pki}/client-chain.pem", "--key", f"{pki}/client.key"]
    cmd += list(extra)
    shown = [c for c in cmd]
    if "--cpu-pids" in shown:
        shown[shown.index("--cpu-pids") + 1] = "<server pids>"
    label = mode
    if plain:  # the upstream reached directly, or the floor proxy (measured as a server)
        label += " (plain, floor proxy)" if server is not None else " (plain)"
    COMMANDS.setdefault(label, " ".join(shlex.quote(c) for c in shown))
    p = spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=120)
    finally:
        stop(p)
    line = out.strip().splitlines()[-1] if out.strip() else ""
    if not line:
        raise RuntimeError(f"loadgen {mode} on {port} printed nothing: {err.strip()}")
    return json.loads(line)


COMMANDS = {}


def probe(args, server, alg):
    """The identity really reaches the upstream, and a client without a certificate is refused."""
    r = loadgen(args, server.port, "probe", alg, extra=["--path", "/probe"])
    if r["first_status"] != 200 or "bench-client" not in r["first_body"]:
        raise RuntimeError(f"{server.name}: probe failed: {r}")
    subject = r["first_body"].strip().removeprefix("subject=")
    nocert = loadgen(args, server.port, "probe", alg, cert=False, extra=["--path", "/probe"])
    if 200 <= nocert["first_status"] < 300:
        raise RuntimeError(f"{server.name}: a client without a certificate got {nocert}")
    refused = (f"HTTP {nocert['first_status']}" if nocert["first_status"] else "handshake refused")
    return subject, refused


def idle_rss(args, server, count):
    """Opens `count` idle mTLS connections; returns RSS figures of the server's processes."""
    rss0, _ = rss_kib(server.proc.pid)
    extra = ["--count", str(count)]
    if count > args.full_idle_max:
        extra.append("--resume-idle")
    cmd = [BIN["loadgen"], "--port", str(server.port), "--mode", "idle",
           "--cert", f"{args.work}/pki-ecdsa/client-chain.pem",
           "--key", f"{args.work}/pki-ecdsa/client.key", *extra]
    COMMANDS.setdefault(f"idle {count}", " ".join(shlex.quote(c) for c in cmd))
    p = spawn(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = json.loads(p.stdout.readline())
        time.sleep(0.5)  # let the server finish the post-handshake work of the last connections
        rss, hwm = rss_kib(server.proc.pid)
        p.stdin.close()
        p.wait(30)
    finally:
        stop(p)
    if ready["ready"] < count * 0.99:
        raise RuntimeError(f"{server.name}: only {ready['ready']} of {count} idle connections")
    return {"rss0_kib": rss0, "rss_kib": rss, "hwm_kib": hwm, "ready": ready["ready"],
            "per_conn_kib": (rss - rss0) / ready["ready"], "open_s": ready["seconds"]}


def openssl_speed():
    out = run(["openssl", "speed", "-seconds", "1", "-mr", "ecdsap256", "ecdhx25519", "rsa2048"]).stdout
    r = {}
    for line in out.splitlines():
        f = line.split(":")
        if line.startswith("+F4:") and f[2] == "256":
            r["ecdsap256_sign_s"], r["ecdsap256_verify_s"] = float(f[3]), float(f[4])
        elif line.startswith("+F5:") and f[2] == "253":
            r["x25519_s"] = float(f[3])
        elif line.startswith("+F2:") and f[2] == "2048":
            r["rsa2048_sign_s"], r["rsa2048_verify_s"] = float(f[3]), float(f[4])
    # Server side of one full mTLS handshake, TLS 1.3: one signature (CertificateVerify), three
    # verifications (client CertificateVerify, client leaf, client intermediate) and X25519
    # key generation plus derivation (two scalar multiplications).
    ec_us = 1e6 * (1 / r["ecdsap256_sign_s"] + 3 / r["ecdsap256_verify_s"] + 2 / r["x25519_s"])
    rsa_us = 1e6 * (1 / r["rsa2048_sign_s"] + 3 / r["rsa2048_verify_s"] + 2 / r["x25519_s"])
    r["ecdsa_hs_us"], r["rsa_hs_us"] = ec_us, rsa_us
    r["ecdsa_ceiling_s"], r["rsa_ceiling_s"] = 1e6 / ec_us, 1e6 / rsa_us
    return r


# ---- one round ----------------------------------------------------------------------------------


SUMMED = ("seconds", "responses", "handshakes", "reused", "errors", "bad_status", "server_closes",
          "server_cpu_s", "server_user_s", "server_sys_s", "client_cpu_s")


def combine(runs):
    """One figure from several short runs of the same mode on the same server: counts and CPU
    summed, rates over the summed time, latency percentiles as the median of the runs'."""
    out = dict(runs[0])
    for key in SUMMED:
        out[key] = sum(r.get(key, 0) for r in runs)
    secs = out["seconds"] or 1
    out["rps"] = out["responses"] / secs
    out["connections_per_s"] = sum(r["connections_per_s"] * r["seconds"] for r in runs) / secs
    out["reuse_rate"] = out["reused"] / out["handshakes"] if out["handshakes"] else 0.0
    for key in ("p50_us", "p99_us"):
        out[key] = statistics.median(r[key] for r in runs)
    out["slices"] = len(runs)
    return out


def sliced(args, servers, mode, alg, total_s, connections):
    """`mode` on every server in 1-second turns, the servers rotating turn by turn, `total_s`
    seconds each. The shared machine has slow spells of tens of seconds (other tenants): with one
    long run per server, whichever server falls into one looks slower; in turns they all share
    it."""
    slices = max(1, round(total_s))
    runs = {srv.name: [] for srv in servers}
    for i in range(slices):
        k = i % len(servers)
        for srv in servers[k:] + servers[:k]:
            runs[srv.name].append(loadgen(args, srv.port, mode, alg, server=srv,
                                          plain=srv.plain,
                                          extra=["--connections", str(connections),
                                                 "--duration", f"{total_s / slices:.2f}",
                                                 "--warmup", "0.2"]))
    return {name: combine(r) for name, r in runs.items()}


def one_round(args, rnd, up_port, results, facts):
    order = SERVERS[rnd % len(SERVERS):] + SERVERS[:rnd % len(SERVERS)]
    if args.only:
        order = [s for s in order if s in args.only]
    print(f"bench: round {rnd + 1}/{args.rounds}: {' '.join(order)}", flush=True)
    r = results.setdefault(rnd, {})
    r["upstream"] = loadgen(args, up_port, "keepalive", plain=True,
                            extra=["--connections", "50", "--duration", str(args.duration)])
    for name in order:
        r.setdefault(name, {})
    # Throughput: every server up at once (idle ones cost nothing), measured in turns.
    for alg in ("ecdsa", "rsa"):
        servers = []
        try:
            for name in order:
                servers.append(Server(name, alg, args, up_port))
                if alg == "ecdsa" and name not in facts:
                    facts[name] = probe(args, servers[-1], "ecdsa")
            if alg == "ecdsa":
                floor = FloorProxy(args, up_port)
                try:
                    kept = sliced(args, servers + [floor], "keepalive", alg, args.duration, 50)
                finally:
                    floor.stop()
                r["floor"] = {"ka": kept.pop("floor")}
                for name, run_ in kept.items():
                    r[name]["ka"] = run_
                for key, mode in (("hs_ecdsa", "handshake"), ("resume", "resume")):
                    for name, run_ in sliced(args, servers, mode, alg, args.hs_duration,
                                             args.hs_connections).items():
                        r[name][key] = run_
            else:
                for name, run_ in sliced(args, servers, "handshake", alg, args.hs_duration,
                                         args.hs_connections).items():
                    r[name]["hs_rsa"] = run_
        finally:
            for srv in servers:
                srv.stop()
    # Memory: a fresh server each, alone.
    for name in order:
        s = r[name]
        for count in args.idle:
            srv = Server(name, "ecdsa", args, up_port)
            try:
                loadgen(args, srv.port, "probe")  # one request: lazily built state exists
                s[f"idle_{count}"] = idle_rss(args, srv, count)
            finally:
                srv.stop()
        print(f"bench:   {name}: {summary_line(s)}", flush=True)
    r["speed"] = openssl_speed()


def summary_line(s):
    parts = []
    if "ka" in s:
        parts.append(f"ka {s['ka']['rps']:.0f}/s p99 {s['ka']['p99_us']:.0f}us")
        if s["ka"].get("server_cpu_s"):
            kernel = (f" ({us_per(s['ka'], 'rps', 'server_sys_s'):.1f} kernel)"
                      if "server_sys_s" in s["ka"] else "")
            parts.append(f"{1e6 / per_cpu(s['ka'], 'rps'):.1f}us cpu/req{kernel}")
    if "hs_ecdsa" in s:
        parts.append(f"hs {s['hs_ecdsa']['connections_per_s']:.0f}/s")
        if s["hs_ecdsa"].get("server_cpu_s"):
            kernel = (f" ({us_per(s['hs_ecdsa'], 'connections_per_s', 'server_sys_s'):.0f}us "
                      f"kernel/hs)" if "server_sys_s" in s["hs_ecdsa"] else "")
            parts.append(f"{per_cpu(s['hs_ecdsa'], 'connections_per_s'):.0f} hs/cpu-s{kernel}")
    if "hs_rsa" in s:
        parts.append(f"rsa {s['hs_rsa']['connections_per_s']:.0f}/s")
    if "resume" in s:
        parts.append(f"resumed {s['resume']['connections_per_s']:.0f}/s "
                     f"({100 * s['resume']['reuse_rate']:.0f}% reused)")
    for k, v in s.items():
        if k.startswith("idle_"):
            parts.append(f"{k} {v['per_conn_kib']:.1f} KiB/conn")
    return ", ".join(parts)


# ---- the table ----------------------------------------------------------------------------------

# (key, label, higher_is_better, target ratio to the best peer or None)
FIGURES = [
    ("ka_rps", "a. keep-alive req/s (50 conns)", True, 1.25),
    ("ka_p50", "a. keep-alive p50 latency (µs)", False, None),
    ("ka_p99", "a. keep-alive p99 latency (µs)", False, 1.0),
    ("hs_ecdsa", "b. full handshakes/s ECDSA P-256", True, 1.1),
    ("hs_rsa", "b. full handshakes/s RSA-2048", True, None),
    ("resume", "c. resumed handshakes/s (tickets)", True, 1.1),
    ("reuse", "c. resumption rate (%)", True, None),
    ("ka_cpu", "a'. server CPU per keep-alive request (µs)", False, None),
    ("ka_user", "a'. … of which user space (µs)", False, None),
    ("ka_sys", "a'. … of which kernel (µs)", False, None),
    ("hs_core", "b'. full ECDSA handshakes per server CPU-second", True, None),
    ("hs_user", "b'. user-space CPU per full ECDSA handshake (µs)", False, None),
    ("hs_sys", "b'. kernel CPU per full ECDSA handshake (µs)", False, None),
    ("rsa_core", "b'. full RSA handshakes per server CPU-second", True, None),
    ("resume_core", "c'. resumed handshakes per server CPU-second", True, None),
]


def per_cpu(run, count_key):
    cpu = run.get("server_cpu_s", 0)
    if not cpu:
        raise KeyError("server_cpu_s")
    return run[count_key] * run["seconds"] / cpu


def us_per(run, count_key, cpu_key):
    """Server CPU of one kind (server_user_s or server_sys_s) per unit of work, in µs."""
    count = run[count_key] * run["seconds"]
    if cpu_key not in run or not count:
        raise KeyError(cpu_key)
    return 1e6 * run[cpu_key] / count


def busy(run):
    """The fraction of a core the server used during the window."""
    if not run.get("server_cpu_s") or not run["seconds"]:
        raise KeyError("server_cpu_s")
    return run["server_cpu_s"] / run["seconds"]


# The server CPU split rows: "ka_" or "hs_" + "user", "sys" (µs per request or handshake) or
# "busy" (the fraction of a core the server used).
CPU_SPLIT_RUNS = {"ka_": ("ka", "rps"), "hs_": ("hs_ecdsa", "connections_per_s")}
CPU_SPLIT_KINDS = {"user": "server_user_s", "sys": "server_sys_s", "busy": None}


def figure(s, key):
    if key == "ka_rps":
        return s["ka"]["rps"]
    if key == "ka_p50":
        return s["ka"]["p50_us"]
    if key == "ka_p99":
        return s["ka"]["p99_us"]
    if key == "hs_ecdsa":
        return s["hs_ecdsa"]["connections_per_s"]
    if key == "hs_rsa":
        return s["hs_rsa"]["connections_per_s"]
    if key == "resume":
        return s["resume"]["connections_per_s"]
    if key == "reuse":
        return 100 * s["resume"]["reuse_rate"]
    if key == "ka_cpu":
        return 1e6 / per_cpu(s["ka"], "rps")
    if key[:3] in CPU_SPLIT_RUNS and key[3:] in CPU_SPLIT_KINDS:
        run_key, count_key = CPU_SPLIT_RUNS[key[:3]]
        kind = CPU_SPLIT_KINDS[key[3:]]
        return busy(s[run_key]) if kind is None else us_per(s[run_key], count_key, kind)
    if key == "hs_client_busy":
        run = s["hs_ecdsa"]
        if not run.get("client_cpu_s") or not run["seconds"]:
            raise KeyError("client_cpu_s")
        return run["client_cpu_s"] / run["seconds"]
    if key == "hs_core":
        return per_cpu(s["hs_ecdsa"], "connections_per_s")
    if key == "rsa_core":
        return per_cpu(s["hs_rsa"], "connections_per_s")
    if key == "resume_core":
        return per_cpu(s["resume"], "connections_per_s")
    if key.startswith("rss_"):
        return s[f"idle_{key[4:]}"]["hwm_kib"] / 1024
    if key.startswith("per_"):
        return s[f"idle_{key[4:]}"]["per_conn_kib"]
    raise KeyError(key)


def medians(args, results):
    figs = list(FIGURES)
    for n in args.idle:
        figs.append((f"rss_{n}", f"d. peak RSS, {n:,} idle conns (MiB)", False, None))
        figs.append((f"per_{n}", f"d. memory per idle conn, {n:,} (KiB)", False,
                     0.75 if n == max(args.idle) else None))
    table = {}
    for key in [f[0] for f in figs] + ["ka_busy", "hs_busy", "hs_client_busy"]:
        for name in SERVERS + ["floor"]:  # the floor proxy has the keep-alive figures only
            vals = []
            for rnd in results.values():
                try:
                    vals.append(figure(rnd[name], key))
                except KeyError:
                    pass
            if vals:
                table[(key, name)] = statistics.median(vals)
    speed = {k: statistics.median(r["speed"][k] for r in results.values())
             for k in next(iter(results.values()))["speed"]}
    upstream = statistics.median(r["upstream"]["rps"] for r in results.values())
    upstream_p99 = statistics.median(r["upstream"]["p99_us"] for r in results.values())
    return figs, table, speed, upstream, upstream_p99


KA_TARGET = next(f[3] for f in FIGURES if f[0] == "ka_rps")
CEILING_TARGET = 0.7


def budgets(table, speed, args):
    """For the two throughput targets bounded by the server's CPU: the CPU per request (per
    handshake) that would meet them, and how Portcullis's measured CPU splits against it."""
    def t(key, name="portcullis"):
        return table.get((key, name))

    out = []
    peers = {p: t("ka_rps", p) for p in PEERS if t("ka_rps", p)}
    if peers and t("ka_busy") and t("ka_user") is not None and t("ka_sys") is not None:
        best = max(peers, key=peers.get)
        need = KA_TARGET * peers[best]
        budget = 1e6 * t("ka_busy") / need
        line = (f"- **a. keep-alive**: {KA_TARGET}× the best peer ({best}, {fmt(peers[best])} "
                f"req/s) is {fmt(need)} req/s, i.e. at most {budget:.1f} µs of server CPU per "
                f"request at the {t('ka_busy'):.2f} core Portcullis had. Portcullis used "
                f"{t('ka_sys'):.1f} µs in the kernel and {t('ka_user'):.1f} µs in user space; "
                f"its kernel time alone leaves {budget - t('ka_sys'):.1f} µs for user space.")
        if t("ka_user", best) is not None and t("ka_sys", best) is not None:
            line += (f" {best} used {t('ka_sys', best):.1f} µs in the kernel and "
                     f"{t('ka_user', best):.1f} µs in user space.")
        if t("ka_user", "floor") is not None and t("ka_sys", "floor") is not None:
            line += (f" The floor proxy (bench/floor: plain HTTP, no TLS, nothing but the "
                     f"relay) used {t('ka_sys', 'floor'):.1f} µs in the kernel and "
                     f"{t('ka_user', 'floor'):.1f} µs in user space in the same turns.")
        out.append(line)
    if t("hs_user") is not None and t("hs_sys") is not None:
        per_core = speed["ecdsa_ceiling_s"]
        need = CEILING_TARGET * per_core
        budget = 1e6 / need
        # What Portcullis computes per handshake when the client's chain is in its verdict cache
        # (as here: one client certificate): its signature, the client's CertificateVerify, two
        # X25519 operations. The ceiling also counts the two signatures of the chain.
        maths = 1e6 * (1 / speed["ecdsap256_sign_s"] + 1 / speed["ecdsap256_verify_s"] +
                       2 / speed["x25519_s"])
        out.append(
            f"- **b. handshakes**: {100 * CEILING_TARGET:.0f} % of the ceiling is {fmt(need)} "
            f"handshakes per core-second, i.e. at most {budget:.0f} µs of server CPU per "
            f"handshake. Portcullis used {t('hs_sys'):.0f} µs in the kernel and "
            f"{t('hs_user'):.0f} µs in user space, of which {maths:.0f} µs is the maths it does "
            f"with the client's chain in its verdict cache (one signature, one verification, two "
            f"X25519, at `openssl speed` rates); the rest is the handshake's framing and key "
            f"schedule, the request and the gateway (the gateway's own TLS 1.3 handshake; "
            f"OpenSSL's for the peers). The kernel time and that maths alone leave "
            f"{budget - t('hs_sys') - maths:.0f} µs for them.")
    return out


def fmt(v):
    if v is None:
        return "–"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def render(args, results, facts, versions, started, elapsed):
    figs, table, speed, upstream, upstream_p99 = medians(args, results)
    lines = []
    head = ["figure (median of %d rounds)" % len(results), *SERVERS, "best peer",
            "P/nginx", "P/haproxy", "P/caddy", "P/best", "target", "met"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    verdicts = []
    for key, label, higher, target in figs:
        vals = {n: table.get((key, n)) for n in SERVERS}
        peers = [vals[p] for p in PEERS if vals[p] is not None]
        best = (max(peers) if higher else min(peers)) if peers else None
        p = vals["portcullis"]

        def ratio(v):
            return f"{p / v:.2f}×" if p is not None and v else "–"

        met = "–"
        tgt = "–"
        if target is not None and p is not None and best:
            tgt = f"{'≥' if higher else '≤'} {target}×"
            ok = p / best >= target if higher else p / best <= target
            met = "yes" if ok else "**no**"
            verdicts.append((label, ok))
        row = [label, *[fmt(vals[n]) for n in SERVERS], fmt(best), ratio(vals["nginx"]),
               ratio(vals["haproxy"]), ratio(vals["caddy"]), ratio(best), tgt, met]
        lines.append("| " + " | ".join(row) + " |")
    p_hs = table.get(("hs_ecdsa", "portcullis"))
    ceiling = speed["ecdsa_ceiling_s"] * args.workers
    lim = []
    lim.append(f"| upstream reached directly, keep-alive req/s (ceiling of a.) | {fmt(upstream)} "
               f"(p99 {fmt(upstream_p99)} µs) |")
    if table.get(("ka_rps", "floor")) is not None and table.get(("ka_sys", "floor")) is not None:
        lim.append(f"| floor proxy (bench/floor: plain HTTP, no TLS), keep-alive req/s · server "
                   f"CPU per request, kernel + user space (µs) | "
                   f"{fmt(table[('ka_rps', 'floor')])} · {fmt(table[('ka_sys', 'floor')])} + "
                   f"{fmt(table[('ka_user', 'floor')])} |")
    lim.append(f"| openssl speed ecdsap256 sign/s · verify/s | {fmt(speed['ecdsap256_sign_s'])} · "
               f"{fmt(speed['ecdsap256_verify_s'])} |")
    lim.append(f"| openssl speed ecdhx25519 ops/s | {fmt(speed['x25519_s'])} |")
    lim.append(f"| openssl speed rsa2048 sign/s · verify/s | {fmt(speed['rsa2048_sign_s'])} · "
               f"{fmt(speed['rsa2048_verify_s'])} |")
    lim.append(f"| server maths of one full mTLS handshake, ECDSA · RSA (µs) | "
               f"{fmt(speed['ecdsa_hs_us'])} · {fmt(speed['rsa_hs_us'])} |")
    lim.append(f"| ceiling, full handshakes/s per core, ECDSA · RSA | "
               f"{fmt(speed['ecdsa_ceiling_s'])} · {fmt(speed['rsa_ceiling_s'])} |")
    p_core = table.get(("hs_core", "portcullis"))
    if p_hs:
        lim.append(f"| Portcullis full ECDSA handshakes/s / ceiling ({args.workers} worker(s)), "
                   f"by throughput | {100 * p_hs / ceiling:.0f} % |")
        server_busy = table.get(("hs_busy", "portcullis"))
        client_busy = table.get(("hs_client_busy", "portcullis"))
        if server_busy is not None and client_busy is not None:
            lim.append(f"| during Portcullis's handshake turns: the server's core busy · the load "
                       f"generator's own CPU (its core also runs the upstream) | "
                       f"{100 * server_busy:.0f} % · {100 * client_busy:.0f} % |")
    if p_core:
        # The ceiling is per core: the target compares the handshakes one core of the server
        # does (per CPU-second it used) with it. Throughput alone would measure the generator
        # whenever the server does not need its whole core (see "Reading the numbers").
        ok = p_core >= CEILING_TARGET * speed["ecdsa_ceiling_s"]
        verdicts.append(("b. Portcullis full ECDSA handshakes within 70 % of the ceiling "
                         "(per core)", ok))
        lim.append(f"| Portcullis full ECDSA handshakes per server CPU-second / ceiling per core "
                   f"| {100 * p_core / speed['ecdsa_ceiling_s']:.0f} % (target ≥ "
                   f"{100 * CEILING_TARGET:.0f} %: {'yes' if ok else '**no**'}) |")
    for name in SERVERS[1:]:  # Portcullis's own line is the target's, above
        per = table.get(("hs_core", name))
        if per:
            lim.append(f"| {name}: full ECDSA handshakes per server CPU-second / ceiling per "
                       f"core | {100 * per / speed['ecdsa_ceiling_s']:.0f} % |")
    out = []
    out.append("# Benchmark results: Portcullis, nginx, HAProxy, Caddy (mTLS)\n")
    out.append(f"Generated by `make bench` (bench/run.py) on {started} UTC in {elapsed:.0f} s. "
               f"{len(results)} alternating rounds; each figure is the median of the rounds. "
               f"Within a round the throughput figures are taken in 1-second turns, the servers "
               f"rotating turn by turn (a, b, c: {args.duration:g}, {args.hs_duration:g} and "
               f"{args.hs_duration:g} s each), so that a slow spell of the shared machine falls "
               f"on every server alike. "
               f"Loopback only; {args.workers} worker(s) per server "
               f"({os.cpu_count()} cores; {args.pin_note}).\n")
    out.append("Every server: TLS 1.3 (client offers TLS_AES_128_GCM_SHA256, X25519 only), "
               "client certificate required and verified against a root, chain leaf → "
               "intermediate → root; the client subject forwarded to the upstream in "
               "`X-Client-Subject`; upstream keep-alive; no access log.\n")
    out.append("\n".join(lines) + "\n")
    out.append("Ratios are Portcullis / peer; for latency, CPU per request and memory lower is "
               "better, so the targets are upper bounds. The primed rows (a', b', c') divide by "
               "the CPU time the server itself used during the window (all its processes and "
               "threads, from /proc): they do not depend on how much CPU the load generator got, "
               "which on a shared machine is what moves the throughput figures most.\n")
    if args.idle_note:
        out.append(args.idle_note + "\n")
    out.append("## Limits (e)\n")
    out.append("| limit | value |\n|---|---|\n" + "\n".join(lim) + "\n")
    out.append("## Targets (issue #8)\n")
    for label, ok in verdicts:
        out.append(f"- {'met' if ok else '**missed**'}: {label}")
    out.append("")
    budget_lines = budgets(table, speed, args)
    if budget_lines:
        out.append("## What the CPU-bound targets need (server CPU split from /proc)\n")
        out.append("\n".join(budget_lines) + "\n")
        out.append("Kernel time is the system time charged to the server's processes: on "
                   "loopback a send also runs the receiver's TCP input, so it covers both ends' "
                   "TCP work for what the server sends. Each figure is the median of the "
                   "rounds.\n")
    out.append("## What each server forwarded and how it refused a client without a certificate\n")
    out.append("| server | X-Client-Subject received by the upstream | no client certificate |")
    out.append("|---|---|---|")
    for name in SERVERS:
        if name in facts:
            out.append(f"| {name} | `{facts[name][0]}` | {facts[name][1]} |")
    out.append("")
    out.append("## Versions\n")
    out.append("```\n" + "\n".join(versions) + "\n```\n")
    out.append("## Commands\n")
    out.append("Run: `make bench` (= `bench/install-deps`, a Release build in build/bench-release, "
               f"then `{' '.join(shlex.quote(a) for a in sys.argv)}`). Load generator invocations "
               "(ports vary per run):\n")
    out.append("```\n" + "\n".join(f"{k}: {v}" for k, v in sorted(COMMANDS.items())) +
               "\nopenssl speed -seconds 1 -mr ecdsap256 ecdhx25519 rsa2048\n```\n")
    out.append("Server configurations: generated by bench/run.py into "
               f"{os.path.relpath(args.work, ROOT)}/<server>-<alg>/. The floor proxy: "
               "`portcullis_bench_floor <port> <upstream port>`.\n")
    out.append("## Per round\n")
    out.append("```")
    for rnd, r in sorted(results.items()):
        for name in SERVERS:
            if name in r:
                out.append(f"round {rnd + 1} {name}: {summary_line(r[name])}")
        if "floor" in r:
            out.append(f"round {rnd + 1} floor proxy: {summary_line(r['floor'])}")
        out.append(f"round {rnd + 1} upstream direct: {r['upstream']['rps']:.0f} req/s")
    out.append("```\n")
    return "\n".join(out), "\n".join(lines), "\n".join(lim)


def versions_of():
    def first(cmd):
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (p.stdout + p.stderr).strip().splitlines()[0]
        except Exception as e:
            return f"{cmd[0]}: {e}"

    return [first([BIN["portcullis"], "--version"]), first([BIN["nginx"], "-v"]),
            first([BIN["haproxy"], "-v"]), first([BIN["caddy"], "version"]),
            first(["openssl", "version"]), f"kernel {platform.release()}",
            f"cpu {cpu_model()} × {os.cpu_count()}"]


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=f"{ROOT}/build/bench-release",
                    help="the Release build with portcullis and bench/ (default: %(default)s)")
    ap.add_argument("--work", default=None, help="scratch directory (default: BUILD/bench-run)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--duration", type=float, default=5.0,
                    help="keep-alive seconds per server and round (in 1-second turns)")
    ap.add_argument("--hs-duration", type=float, default=3.0,
                    help="handshake seconds per server and round (in 1-second turns)")
    ap.add_argument("--hs-connections", type=int, default=50)
    ap.add_argument("--idle", default="1000,10000", help="idle connection counts")
    ap.add_argument("--full-idle-max", type=int, default=1000,
                    help="above this count, idle connections are opened by resumption")
    ap.add_argument("--only", default="", help="comma-separated servers (default: all)")
    ap.add_argument("--no-pin", action="store_true",
                    help="do not pin the server to its own CPUs (default: the server under test "
                         "gets the first --workers CPUs, the load generator and the upstream the "
                         "others, when there are enough)")
    ap.add_argument("--out", default=f"{ROOT}/bench/results.md")
    args = ap.parse_args()
    args.idle = [int(x) for x in args.idle.split(",") if x]
    args.only = [x for x in args.only.split(",") if x]
    args.build = os.path.abspath(args.build)
    args.work = os.path.abspath(args.work or f"{args.build}/bench-run")
    args.idle_note = ""
    os.makedirs(args.work, exist_ok=True)

    BIN["portcullis"] = f"{args.build}/portcullis"
    BIN["loadgen"] = f"{args.build}/bench/portcullis_loadgen"
    BIN["upstream"] = f"{args.build}/bench/portcullis_bench_upstream"
    BIN["floor"] = f"{args.build}/bench/portcullis_bench_floor"
    for name in ("nginx", "haproxy", "caddy"):
        BIN[name] = (subprocess.run(["bash", "-c", f"command -v {name} || ls /usr/sbin/{name}"],
                                    capture_output=True, text=True).stdout.strip().splitlines()
                     or [name])[0]
    for name, path in BIN.items():
        if not os.access(path, os.X_OK):
            sys.exit(f"bench: {name} not found at {path} (make bench installs and builds them)")

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    # HAProxy refuses to start unless RLIMIT_NOFILE covers 2 fds per connection: with a hard
    # limit below that (20,000 in some containers), the largest idle count is lowered to what
    # every server can hold, and results.md says so.
    HAPROXY_MAXCONN[0] = min(25000, (hard - 300) // 2)
    fit = HAPROXY_MAXCONN[0] // 100 * 100 - 100
    if max(args.idle) > fit:
        print(f"bench: RLIMIT_NOFILE hard limit {hard}: idle counts above {fit} lowered to {fit}",
              file=sys.stderr)
        args.idle_note = (f"The hard RLIMIT_NOFILE here is {hard}; HAProxy needs two descriptors "
                          f"per connection, so {max(args.idle):,} idle connections became {fit:,}.")
        args.idle = sorted({min(n, fit) for n in args.idle})

    cpus = sorted(os.sched_getaffinity(0))
    if not args.no_pin and len(cpus) > args.workers:
        CPUS["server"] = set(cpus[:args.workers])
        CPUS["tools"] = set(cpus[args.workers:])
    args.pin_note = (f"server under test pinned to CPU {sorted(CPUS['server'])}, load generator "
                     f"and upstream to CPU {sorted(CPUS['tools'])}" if CPUS["server"]
                     else "no CPU pinning")

    atexit.register(stop_all)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    t0 = time.time()
    try:
        for alg in ("ecdsa", "rsa"):
            make_pki(f"{args.work}/pki-{alg}", alg)
        up_port = free_port()
        up_log = open(f"{args.work}/upstream.log", "w")
        up = spawn([BIN["upstream"], str(up_port)], stdout=up_log, stderr=subprocess.STDOUT,
                   stdin=subprocess.DEVNULL)
        wait_port(up_port, up)
        results, facts = {}, {}
        for rnd in range(args.rounds):
            one_round(args, rnd, up_port, results, facts)
        versions = versions_of()
        text, table, limits = render(args, results, facts, versions, started, time.time() - t0)
        print()
        print(table)
        print()
        print(limits)
        with open(args.out, "w") as f:
            f.write(text)
        with open(f"{args.work}/results.json", "w") as f:
            json.dump({str(k): v for k, v in results.items()}, f, indent=1)
        print(f"\nbench: wrote {os.path.relpath(args.out, ROOT)} "
              f"({time.time() - t0:.0f} s)")
    except KeyboardInterrupt as e:
        print(f"bench: interrupted ({e}); stopping everything", file=sys.stderr)
        return 130
    finally:
        stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
