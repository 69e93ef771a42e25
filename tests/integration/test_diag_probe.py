"""`portcullis probe` against real servers started here: the gateway in each client_auth mode,
nginx with ssl_verify_client on (complete chain and a chain missing its intermediate), Python TLS
servers with an expired and a wrong-host certificate, Basic-only, Bearer-only and
Negotiate/NTLM-only servers, a skewed Date, IIS and Azure error pages, tinyproxy requiring
authentication, the proxy environment with NO_PROXY, a closed port and an unresolvable name.
Each test checks the step that fails, the problem code and the exit status."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from conftest import (Echo, Gateway, binary, free_port, mtls_listener, route, sanitizer_env,
                      upstream)
from probe_servers import (CannedServer, ServerPki, StubbornServer, closed_port, start_nginx,
                           start_tinyproxy)


def probe(*args: str, env: dict | None = None) -> tuple[int, dict]:
    full_env = sanitizer_env()
    for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "no_proxy",
                 "NO_PROXY"):
        full_env.pop(name, None)
    full_env.update(env or {})
    result = subprocess.run([binary(), "probe", "--json", "--timeout", "3", *args],
                            capture_output=True, text=True, timeout=60, env=full_env)
    for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
        assert marker not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout)


def step(report: dict, name: str) -> dict:
    for s in report["steps"]:
        if s["step"] == name:
            return s
    raise AssertionError(f"no step {name}: {json.dumps(report, indent=1)}")


def codes(report: dict) -> list[str]:
    return [p["code"] for s in report["steps"] for p in s["problems"]]


@pytest.fixture(scope="module")
def server_pki(tmp_path_factory) -> ServerPki:
    return ServerPki(tmp_path_factory.mktemp("server-pki"))


# ----------------------------------------------------------------------------------------------
# the gateway in each client_auth mode


@pytest.fixture(scope="module")
def gateway(module_procs, mtls_pki):
    app = Echo(module_procs)
    p = mtls_pki
    routes = [route("open", "app", "/")]
    auth = {"none": None, "off": {"mode": "off"}}
    listeners = [mtls_listener(mode, free_port(), p, auth.get(mode, p.client_auth(mode)), routes)
                 for mode in ("none", "off", "request", "require", "require_handshake")]
    gw = Gateway(module_procs, {"listeners": listeners,
                                "upstreams": {"app": upstream(app.endpoint)}})
    return gw


def gw_url(gateway, mode: str) -> str:
    return f"https://127.0.0.1:{gateway.port(mode)}/hello"


@pytest.mark.parametrize("mode", ["none", "off"])
def test_gateway_without_client_auth(gateway, mtls_pki, mode):
    rc, report = probe(gw_url(gateway, mode), "--ca", mtls_pki.server_root)
    assert rc == 0, report
    tls = step(report, "tls")
    assert tls["data"]["certificate_requested"] is False
    assert tls["data"]["hostname_matches"] is True
    assert report["status"] == 200


def test_gateway_request_mode_lists_ca_names_and_accepts_a_good_cert(gateway, mtls_pki):
    rc, report = probe(gw_url(gateway, "request"), "--ca", mtls_pki.server_root,
                       "--cert", mtls_pki.cert("good-one"), "--key", mtls_pki.key("good-one"))
    assert rc == 0, report
    tls = step(report, "tls")
    assert tls["data"]["certificate_requested"] is True
    assert "CN=Portcullis Test Client Root,O=Portcullis Tests" in tls["data"]["accepted_ca_names"]
    assert tls["data"]["client_issuer_listed"] is True


def test_gateway_require_mode_without_cert_reports_the_denial_code(gateway, mtls_pki):
    rc, report = probe(gw_url(gateway, "require"), "--ca", mtls_pki.server_root)
    assert rc == 1
    http = step(report, "http")
    assert http["data"]["status"] == 400
    assert http["data"]["denial_code"] == "mtls.cert_missing"
    assert "http.denial.mtls.cert_missing" in codes(report)
    assert "tls.client_cert_needed" in codes(report)


def test_gateway_require_mode_with_an_untrusted_issuer(gateway, mtls_pki):
    rc, report = probe(gw_url(gateway, "require"), "--ca", mtls_pki.server_root,
                       "--cert", mtls_pki.cert("untrusted-root"),
                       "--key", mtls_pki.key("untrusted-root"))
    assert rc == 1
    assert "tls.client_issuer_not_accepted" in codes(report)
    assert step(report, "http")["data"]["denial_code"] == "mtls.issuer_untrusted"


def test_gateway_require_handshake_mode_sends_certificate_required(gateway, mtls_pki):
    rc, report = probe(gw_url(gateway, "require_handshake"), "--ca", mtls_pki.server_root)
    assert rc == 1
    assert "tls.alert.116" in codes(report), report
    assert report["status"] is None


def test_gateway_require_handshake_mode_rejects_an_untrusted_client_cert(gateway, mtls_pki):
    rc, report = probe(gw_url(gateway, "require_handshake"), "--ca", mtls_pki.server_root,
                       "--cert", mtls_pki.cert("untrusted-root"),
                       "--key", mtls_pki.key("untrusted-root"))
    assert rc == 1
    assert "tls.alert.48" in codes(report), report  # unknown_ca
    assert "tls.client_issuer_not_accepted" in codes(report)


def test_client_key_that_does_not_match_the_certificate(gateway, mtls_pki):
    rc, report = probe(gw_url(gateway, "request"), "--ca", mtls_pki.server_root,
                       "--cert", mtls_pki.cert("good-one"), "--key", mtls_pki.key("good-two"))
    assert rc == 1
    assert codes(report) == ["tls.client_cert_unusable"]


# ----------------------------------------------------------------------------------------------
# nginx with ssl_verify_client on


@pytest.fixture(scope="module")
def nginx(module_procs, server_pki, mtls_pki):
    return start_nginx(module_procs, server_pki, mtls_pki.file("trusted_ca"))


def test_nginx_without_client_cert_is_recognised(nginx, server_pki):
    rc, report = probe(f"https://localhost:{nginx['complete']}/", "--ca", server_pki.root_file)
    assert rc == 1
    assert step(report, "tls")["data"]["certificate_requested"] is True
    http = step(report, "http")
    assert http["data"]["status"] == 400
    assert http["data"]["recognised"] == "nginx.no_cert_sent"


def test_nginx_with_a_good_client_cert(nginx, server_pki, mtls_pki):
    rc, report = probe(f"https://localhost:{nginx['complete']}/", "--ca", server_pki.root_file,
                       "--cert", mtls_pki.cert("good-one"), "--key", mtls_pki.key("good-one"))
    assert rc == 0, report
    assert step(report, "tls")["data"]["client_issuer_listed"] is True


def test_nginx_chain_missing_its_intermediate(nginx, server_pki):
    rc, report = probe(f"https://localhost:{nginx['missing_intermediate']}/",
                       "--ca", server_pki.root_file)
    assert rc == 1
    tls = step(report, "tls")
    assert tls["status"] == "fail"
    assert len(tls["data"]["chain_sent"]) == 1
    assert "tls.chain_incomplete" in codes(report)
    assert report["failed_step"] == "tls"


# ----------------------------------------------------------------------------------------------
# certificates: expired, wrong host, untrusted root


def test_expired_server_certificate(procs, server_pki):
    srv = procs.add(CannedServer(200, tls=(server_pki.path("expired.chain.pem"),
                                           server_pki.path("expired.key"))))
    rc, report = probe(srv.url, "--ca", server_pki.root_file)
    assert rc == 1
    assert "tls.expired" in codes(report)


def test_certificate_expiring_soon_is_a_warning(procs, server_pki):
    srv = procs.add(CannedServer(200, tls=(server_pki.path("soon.chain.pem"),
                                           server_pki.path("soon.key"))))
    rc, report = probe(srv.url, "--ca", server_pki.root_file)
    assert rc == 0
    assert step(report, "tls")["status"] == "warn"
    assert codes(report) == ["tls.expires_soon"]


def test_wrong_host_certificate(procs, server_pki):
    srv = procs.add(CannedServer(200, tls=(server_pki.path("wronghost.chain.pem"),
                                           server_pki.path("wronghost.key"))))
    rc, report = probe(srv.url, "--ca", server_pki.root_file)
    assert rc == 1
    assert "tls.hostname_mismatch" in codes(report)
    problem = [p for p in step(report, "tls")["problems"]
               if p["code"] == "tls.hostname_mismatch"][0]
    assert "DNS:other.example" in problem["message"]


def test_untrusted_root(procs, server_pki, mtls_pki):
    srv = procs.add(CannedServer(200, tls=(server_pki.path("good.chain.pem"),
                                           server_pki.path("good.key"))))
    rc, report = probe(srv.url, "--ca", mtls_pki.server_root)
    assert rc == 1
    assert "tls.untrusted_root" in codes(report)


# ----------------------------------------------------------------------------------------------
# HTTP: authentication schemes, Date, redirects, error pages


def test_basic_only_server_never_accepts_a_bearer_token(procs, tmp_path):
    srv = procs.add(CannedServer(401, [("WWW-Authenticate", 'Basic realm="files"')]))
    token = tmp_path / "token"
    token.write_text("eyJhbGciOiJIUzI1NiJ9.e30.x\n")
    rc, report = probe(srv.url, "--bearer-file", str(token))
    assert rc == 1
    problem = step(report, "http")["problems"][0]
    assert problem["code"] == "http.auth_scheme_mismatch"
    assert "Basic only" in problem["message"]
    assert "bearer token will never be accepted" in problem["message"]
    assert srv.handler.received[-1]["Authorization"].startswith("Bearer ")


def test_bearer_only_server_never_accepts_basic(procs, tmp_path):
    srv = procs.add(CannedServer(401, [("WWW-Authenticate",
                                        'Bearer realm="api", error="invalid_token"')]))
    password = tmp_path / "pw"
    password.write_text("secret\n")
    rc, report = probe(srv.url, "--user", "alice", "--password-file", str(password))
    assert rc == 1
    problem = step(report, "http")["problems"][0]
    assert problem["code"] == "http.auth_scheme_mismatch"
    assert "Basic credentials will never be accepted here" in problem["message"]
    assert srv.handler.received[-1]["Authorization"] == "Basic YWxpY2U6c2VjcmV0"


def test_negotiate_ntlm_server(procs, tmp_path):
    srv = procs.add(CannedServer(401, [("WWW-Authenticate", "Negotiate"),
                                       ("WWW-Authenticate", "NTLM")]))
    password = tmp_path / "pw"
    password.write_text("secret\n")
    rc, report = probe(srv.url, "--user", "alice", "--password-file", str(password))
    assert rc == 1
    http = step(report, "http")
    assert http["data"]["www_authenticate"] == ["Negotiate", "NTLM"]
    assert "offers Negotiate, NTLM" in http["problems"][0]["message"]


def test_skewed_date_is_reported(procs):
    srv = procs.add(CannedServer(200, date_offset=-3600))
    rc, report = probe(srv.url)
    assert rc == 0
    http = step(report, "http")
    assert abs(http["data"]["date_skew_seconds"] + 3600) <= 5
    assert "http.clock_skew" in codes(report)
    assert http["status"] == "warn"


def test_redirect_to_https_counts_as_success(procs):
    srv = procs.add(CannedServer(301, [("Location", "https://127.0.0.1/app/")]))
    rc, report = probe(srv.url.rstrip("/") + "/app")
    assert rc == 0
    facts = " ".join(step(report, "http")["facts"])
    assert "http -> https redirect" in facts


def test_redirect_adding_a_slash(procs):
    srv = procs.add(CannedServer(301, [("Location", "/docs/")]))
    rc, report = probe(srv.url + "docs")
    assert rc == 0
    http = step(report, "http")
    assert http["data"]["location"] == "/docs/"
    assert any("added a trailing slash: use /docs/ directly" in f for f in http["facts"])
    assert any("no trailing slash" in f for f in step(report, "url")["facts"])


def test_iis_substatus_page(procs):
    page = ("<html><head><title>401 - Unauthorized: Access is denied due to server "
            "configuration.</title></head><body><h1>HTTP Error 401.2 - Unauthorized</h1>"
            "<h2>You are not authorized to view this page due to invalid authentication "
            "headers.</h2></body></html>")
    srv = procs.add(CannedServer(401, [("Server", "Microsoft-IIS/10.0"),
                                       ("WWW-Authenticate", "Negotiate")], page))
    rc, report = probe(srv.url)
    assert rc == 1
    assert step(report, "http")["data"]["recognised"] == "iis.401.2"


def test_azure_application_gateway_400(procs):
    page = ("<html>\r\n<head><title>400 The SSL certificate error</title></head>\r\n<body>\r\n"
            "<center><h1>400 Bad Request</h1></center>\r\n<center>The SSL certificate error"
            "</center>\r\n<hr><center>Microsoft-Azure-Application-Gateway/v2</center>\r\n"
            "</body>\r\n</html>\r\n")
    srv = procs.add(CannedServer(400, [("Server", "Microsoft-Azure-Application-Gateway/v2")],
                                 page))
    rc, report = probe(srv.url)
    assert rc == 1
    http = step(report, "http")
    assert http["data"]["recognised"] == "nginx.ssl_certificate_error"
    assert any("Azure Application Gateway" in f for f in http["facts"])


# ----------------------------------------------------------------------------------------------
# proxies


def test_proxy_requiring_authentication(procs, server_pki):
    srv = procs.add(CannedServer(200, tls=(server_pki.path("good.chain.pem"),
                                           server_pki.path("good.key"))))
    proxy = start_tinyproxy(procs, "alice", "s3cret", [srv.port])
    rc, report = probe(srv.url, "--ca", server_pki.root_file,
                       "--proxy", f"http://127.0.0.1:{proxy}")
    assert rc == 1
    tunnel = step(report, "tunnel")
    assert tunnel["data"]["connect_status"] == 407
    assert tunnel["data"]["proxy_authenticate"] == ["Basic"]
    assert report["failed_step"] == "tunnel"

    rc, report = probe(srv.url, "--ca", server_pki.root_file,
                       "--proxy", f"http://alice:s3cret@127.0.0.1:{proxy}")
    assert rc == 0, report
    assert step(report, "tunnel")["data"]["connect_status"] == 200
    assert step(report, "proxy")["data"]["proxy"] == f"http://alice@127.0.0.1:{proxy}"
    assert "s3cret" not in json.dumps(report)

    rc, report = probe(srv.url, "--ca", server_pki.root_file,
                       "--proxy", f"http://alice:wrong@127.0.0.1:{proxy}")
    assert rc == 1
    assert "rejected the credentials" in step(report, "tunnel")["problems"][0]["fix"]


def test_proxy_from_the_environment_and_no_proxy(procs):
    srv = procs.add(CannedServer(200))
    dead_proxy = f"http://127.0.0.1:{closed_port()}"
    rc, report = probe(srv.url, env={"http_proxy": dead_proxy})
    assert rc == 1
    assert step(report, "proxy")["data"]["reason"].startswith("http_proxy from the environment")
    assert report["failed_step"] == "connect"

    rc, report = probe(srv.url, env={"http_proxy": dead_proxy, "NO_PROXY": "localhost,127.0.0.1"})
    assert rc == 0, report
    assert step(report, "proxy")["summary"] == \
        "NO_PROXY entry '127.0.0.1' matches 127.0.0.1: direct connection"


# ----------------------------------------------------------------------------------------------
# network failures and usage


def test_closed_port():
    rc, report = probe(f"https://127.0.0.1:{closed_port()}/")
    assert rc == 1
    connect = step(report, "connect")
    assert connect["status"] == "fail"
    assert connect["data"]["attempts"][0]["error"].startswith("refused")
    assert report["failed_step"] == "connect"


def test_unresolvable_name():
    rc, report = probe("https://no-such-host.invalid/")
    assert rc == 1
    assert report["failed_step"] == "resolve"
    assert step(report, "resolve")["data"]["etc_hosts"] is None


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_server_keeping_the_connection_open_costs_no_timeout(procs, method):
    srv = procs.add(StubbornServer())
    started = time.monotonic()
    rc, report = probe(srv.url, "--method", method)
    assert rc == 0, report
    assert time.monotonic() - started < 2.5  # the step timeout is 3 s


def test_plain_http_port_probed_with_https(procs):
    srv = procs.add(CannedServer(200))
    rc, report = probe(srv.url.replace("http://", "https://"))
    assert rc == 1
    assert "tls.not_tls" in codes(report)


def test_usage_errors_exit_2(tmp_path):
    assert probe("no-scheme.example")[0] == 2
    assert probe("https://x.example/", "--proxy", "socks5://p:1080")[0] == 2
    result = subprocess.run([binary(), "probe"], capture_output=True, text=True)
    assert result.returncode == 2
    result = subprocess.run([binary(), "probe", "https://x.example/", "--user", "a"],
                            capture_output=True, text=True)
    assert result.returncode == 2


def test_text_output_names_the_failing_step():
    result = subprocess.run([binary(), "probe", f"http://127.0.0.1:{closed_port()}/"],
                            capture_output=True, text=True, env=sanitizer_env())
    assert result.returncode == 1
    assert "[FAIL] connect" in result.stdout
    assert "result: FAILED at connect" in result.stdout
