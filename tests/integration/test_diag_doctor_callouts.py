"""`portcullis doctor -c FILE` on the targets of #6: external authenticators (a service that is
up, one on a closed port, one https with an untrusted CA; their client certificate files), JWKS
urls (up, down, answering 404), explicit proxies (a real tinyproxy, open, with BasicAuth
credentials right, missing and wrong, one allowing CONNECT to 443 only, one on a closed port:
checked once), http upstreams through their proxy (absolute form, 407 without credentials) and
`proxy: env` with the NO_PROXY bypass. Each finding's code, severity, where and text, and the
exit code."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import binary, free_port, route, sanitizer_env, to_yaml, upstream
from forward_proxy import Tinyproxy
from probe_servers import CannedServer, ServerPki, closed_port
from service import Reply, Service

JWKS = json.dumps({"keys": []})


def run_doctor(config: Path, env: dict | None = None) -> tuple[int, dict]:
    full_env = {k: v for k, v in sanitizer_env().items()
                if k.lower() not in ("http_proxy", "https_proxy", "no_proxy")}
    full_env.update(env or {})
    result = subprocess.run([binary(), "doctor", "-c", str(config), "--json", "--timeout", "2"],
                            capture_output=True, text=True, timeout=90, env=full_env)
    for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
        assert marker not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout)


def findings(report: dict, code: str) -> list[dict]:
    return [f for f in report["findings"] if f["code"] == code]


def about(report: dict, text: str) -> list[dict]:
    """The findings whose message mentions `text`."""
    return [f for f in report["findings"] if text in f["message"]]


def errors(report: dict) -> list[dict]:
    return [f for f in report["findings"] if f["severity"] == "error"]


def service_reply(request):
    if request.path == "/jwks.json":
        return Reply(200, JWKS, {"Content-Type": "application/json"})
    if request.path == "/check":
        return Reply(401, "who are you?")
    return Reply(404, "no")


@pytest.fixture(scope="module")
def env(module_procs, pki, tmp_path_factory):
    other = ServerPki(tmp_path_factory.mktemp("other-ca"))
    return {
        "procs": module_procs, "pki": pki, "other_ca": other.root_file,
        "plain": module_procs.add(Service(service_reply)),
        "tls": module_procs.add(Service(service_reply, cert=pki.chain, key=pki.key)),
        "open": Tinyproxy(module_procs, name="doctor-open"),
        "auth": Tinyproxy(module_procs, user="gw", password="pr0xy", name="doctor-auth"),
        "strict": Tinyproxy(module_procs, connect_ports=[443], name="doctor-strict"),
        "app": module_procs.add(CannedServer(200)),
    }


def write_config(directory: Path, env: dict, authenticators: dict,
                 upstreams: dict | None = None) -> Path:
    pki = env["pki"]
    for name in ("server-chain.pem", "server.key"):
        shutil.copy(pki.path(name), directory / name)
    os.chmod(directory / "server.key", 0o600)
    config = {
        "listeners": [{
            "name": "public", "listen": f"127.0.0.1:{free_port()}",
            "tls": {"cert": "server-chain.pem", "key": "server.key"},
            "routes": [route(name, "app", f"/{name}/", authn=[name]) for name in authenticators],
        }],
        "authenticators": authenticators,
        "upstreams": {"app": upstream(f"127.0.0.1:{env['app'].port}"), **(upstreams or {})},
    }
    path = directory / "portcullis.yaml"
    path.write_text(to_yaml(config))
    return path


def external(url: str, **extra) -> dict:
    return {"type": "external", "url": url, "timeout": "2s", **extra}


def jwt(url: str, ca: str | None = None, **extra) -> dict:
    jwks = {"url": url, "timeout": "2s", **extra}
    if ca:
        jwks["ca"] = ca
    return {"type": "jwt", "issuer": "https://idp.example/", "audiences": ["api"],
            "algorithms": ["ES256"], "jwks": jwks}


def test_external_authenticators_up_closed_and_untrusted(env, tmp_path):
    port = closed_port()
    path = write_config(tmp_path, env, {
        "up": external(env["plain"].url("/check")),
        "uptls": external(env["tls"].url("/check"), ca=env["pki"].root),
        "closed": external(f"http://127.0.0.1:{port}/check"),
        "untrusted": external(env["tls"].url("/check"), ca=env["other_ca"]),
    })
    rc, report = run_doctor(path)
    assert rc == 1, report
    # Up: reachable; a 401 to a request without credentials is an answer like any other.
    for name, service in (("up", env["plain"]), ("uptls", env["tls"])):
        url = service.url("/check")
        assert f"external authenticator {name} {url} answered 401 Unauthorized" in \
            " ".join(report["checked"]), report["checked"]
        assert any(c.startswith(f"clock against external authenticator {name} ")
                   for c in report["checked"]), report["checked"]
        assert not about(report, f"external authenticator {name} "), report
    # A closed port: the connect step, as an error, at the authenticator.
    [closed] = about(report, "external authenticator closed ")
    assert closed["code"] == "reach.connect.failed"
    assert closed["severity"] == "error"
    assert closed["where"].startswith("authenticators.closed: line ")
    assert closed["message"].startswith(
        f"external authenticator closed http://127.0.0.1:{port}/check: connect step: "
        "TCP connect failed: refused")
    assert "start the server or fix the port" in closed["fix"]
    # An untrusted CA: the tls step, checked against the authenticator's own ca.
    untrusted = about(report, "external authenticator untrusted ")
    assert untrusted, report
    assert all(f["code"].startswith("reach.tls.") for f in untrusted), untrusted
    assert untrusted[0]["severity"] == "error"
    assert ": tls step: " in untrusted[0]["message"]
    assert len(errors(report)) == 1 + len([f for f in untrusted if f["severity"] == "error"])


def test_external_authenticator_client_certificate_files(env, tmp_path):
    pki = env["pki"]
    for name in ("client-good.pem", "client-good.key", "client-expired.pem",
                 "client-expired.key"):
        shutil.copy(pki.path(name), tmp_path / name)
    os.chmod(tmp_path / "client-good.key", 0o644)
    os.chmod(tmp_path / "client-expired.key", 0o600)
    path = write_config(tmp_path, env, {
        "good": external(env["tls"].url("/check"), ca=pki.root, cert="client-good.pem",
                         key="client-good.key"),
        "old": external(env["tls"].url("/check"), ca=pki.root, cert="client-expired.pem",
                        key="client-expired.key"),
    })
    rc, report = run_doctor(path)
    assert rc == 1, report
    [open_key] = findings(report, "key.readable_by_others")
    assert open_key["severity"] == "error"
    assert open_key["where"].startswith("authenticators.good.key: line ")
    assert "mode 644" in open_key["message"]
    expired = findings(report, "cert.expired")
    assert expired and all(f["where"].startswith("authenticators.old.cert: line ")
                           for f in expired), expired
    # The client certificate is presented; the service does not ask for one and answers.
    assert f"external authenticator good {env['tls'].url('/check')} answered 401" in \
        " ".join(report["checked"])


def test_jwks_urls_up_down_and_not_found(env, tmp_path):
    port = closed_port()
    path = write_config(tmp_path, env, {
        "up": jwt(env["tls"].url("/jwks.json"), ca=env["pki"].root),
        "down": jwt(f"https://127.0.0.1:{port}/jwks.json", ca=env["pki"].root),
        "missing": jwt(env["tls"].url("/nothing.json"), ca=env["pki"].root),
    })
    rc, report = run_doctor(path)
    assert rc == 1, report
    assert f"authenticator up JWKS {env['tls'].url('/jwks.json')} answered 200 OK" in \
        " ".join(report["checked"])
    assert not about(report, "authenticator up JWKS"), report
    [down] = about(report, "authenticator down JWKS")
    assert (down["code"], down["severity"]) == ("reach.connect.failed", "error")
    assert down["where"].startswith("authenticators.down.jwks: line ")
    assert f"JWKS https://127.0.0.1:{port}/jwks.json: connect step: TCP connect failed: refused" \
        in down["message"]
    [missing] = about(report, "authenticator missing JWKS")
    assert (missing["code"], missing["severity"]) == ("reach.jwks_status", "error")
    assert "answered 404 Not Found" in missing["message"]
    assert "must answer 200" in missing["fix"]
    assert rc == 1 and len(errors(report)) == 2


def test_explicit_proxies(env, tmp_path):
    dead = closed_port()
    dead_proxy = f"http://127.0.0.1:{dead}"
    tls, plain = env["tls"], env["plain"]
    ca = env["pki"].root
    path = write_config(tmp_path, env, {
        "open": external(tls.url("/check"), ca=ca, proxy=env["open"].url()),
        "authed": external(tls.url("/check"), ca=ca, proxy=env["auth"].url("gw", "pr0xy")),
        "authedplain": external(plain.url("/check"), proxy=env["auth"].url("gw", "pr0xy")),
        "nocreds": external(tls.url("/check"), ca=ca, proxy=env["auth"].url()),
        "wrongcreds": jwt(tls.url("/jwks.json"), ca=ca, proxy=env["auth"].url("gw", "nope")),
        "strict": external(tls.url("/check"), ca=ca, proxy=env["strict"].url()),
        "dead1": external(tls.url("/check"), ca=ca, proxy=dead_proxy),
        "dead2": jwt(tls.url("/jwks.json"), ca=ca, proxy=dead_proxy),
    })
    rc, report = run_doctor(path)
    assert rc == 1, report
    checked = " ".join(report["checked"])
    # Through the open proxy and with the right credentials: a CONNECT tunnel (or the absolute
    # form for http), then TLS against the authenticator's ca, then its answer.
    for name, proxy in (("open", env["open"].url()), ("authed", "http://gw@127.0.0.1:"
                                                      f"{env['auth'].port}")):
        assert (f"external authenticator {name} {tls.url('/check')} through proxy {proxy} "
                "answered 401 Unauthorized") in checked, checked
    assert (f"external authenticator authedplain {plain.url('/check')} through proxy "
            f"http://gw@127.0.0.1:{env['auth'].port} answered 401") in checked, checked
    assert env["open"].connects_to(tls.port) >= 1
    # Each proxy once, with the reason of its choice.
    assert f"proxy {env['open'].url()} (proxy set explicitly: {env['open'].url()})" in checked
    # No credentials: the 407 with the scheme offered and the fix, at the proxy setting.
    [nocreds] = about(report, "external authenticator nocreds ")
    assert (nocreds["code"], nocreds["severity"]) == ("reach.proxy.auth_required", "error")
    assert nocreds["where"].startswith("authenticators.nocreds.proxy: line ")
    assert ": tunnel step: CONNECT 127.0.0.1:" in nocreds["message"]
    assert "the proxy demands authentication (407); it offers: Basic" in nocreds["message"]
    assert "give the proxy credentials" in nocreds["fix"]
    [wrong] = about(report, "authenticator wrongcreds JWKS")
    assert wrong["code"] == "reach.proxy.auth_required"
    assert "rejected the credentials for user 'gw'" in wrong["fix"]
    # CONNECT to a port other than 443 refused by the proxy's policy.
    [strict] = about(report, "external authenticator strict ")
    assert (strict["code"], strict["severity"]) == ("reach.proxy.refused", "error")
    assert "the proxy refused to open a tunnel: 403" in strict["message"]
    # The proxy on a closed port: one finding for both targets, naming the proxy and its reason.
    dead_findings = [f for f in about(report, f"proxy {dead_proxy} (")
                     if f["code"] != "proxy.internal_target"]
    assert len(dead_findings) == 1, dead_findings
    assert dead_findings[0]["code"] == "reach.connect.failed"
    assert dead_findings[0]["message"].startswith(
        f"proxy {dead_proxy} (proxy set explicitly: {dead_proxy}; used by ")
    assert "not walked, its proxy" in checked
    # 127.0.0.1 through a proxy: the same warning as check-config, as doctor's own code.
    internal = findings(report, "proxy.internal_target")
    assert internal and all(f["severity"] == "warning" for f in internal)
    assert any("external authenticator \"open\"" in f["message"] and
               "is a loopback address" in f["message"] for f in internal), internal
    assert not findings(report, "config.warning"), "reported once, as proxy.internal_target"
    assert {f["code"] for f in errors(report)} == {
        "reach.proxy.auth_required", "reach.proxy.refused", "reach.connect.failed"}, errors(report)


def test_upstreams_through_their_configured_proxy(env, tmp_path):
    app = f"127.0.0.1:{env['app'].port}"
    path = write_config(tmp_path, env, {}, upstreams={
        "viaopen": upstream(app, proxy=env["open"].url()),
        "nocreds": upstream(app, proxy=env["auth"].url()),
        "authed": upstream(app, proxy=env["auth"].url("gw", "pr0xy")),
    })
    rc, report = run_doctor(path)
    assert rc == 1, report
    checked = " ".join(report["checked"])
    # Plain http through a proxy goes in absolute form, as the gateway sends it.
    assert f"upstream viaopen endpoint {app} through proxy {env['open'].url()} answered 200" \
        in checked, checked
    assert f"upstream authed endpoint {app} through proxy http://gw@127.0.0.1:" \
        f"{env['auth'].port} answered 200" in checked, checked
    [nocreds] = [f for f in errors(report)]
    assert nocreds["code"] == "reach.proxy.auth_required"
    assert nocreds["where"].startswith("upstreams.nocreds.proxy: line ")
    assert nocreds["message"].startswith(
        f"upstream nocreds endpoint {app} through proxy {env['auth'].url()}: http step: request "
        f"through {env['auth'].url()} (proxy set explicitly: {env['auth'].url()}): the proxy "
        "demands authentication (407)"), nocreds["message"]
    assert "give the proxy credentials in its URL" in nocreds["fix"]
    internal = findings(report, "proxy.internal_target")
    assert {f["where"].split(":")[0] for f in internal} == {
        "upstreams.viaopen.proxy", "upstreams.nocreds.proxy", "upstreams.authed.proxy"}


def test_proxy_from_the_environment_and_no_proxy(env, tmp_path):
    tls = env["tls"]
    path = write_config(tmp_path, env, {
        "viaenv": external(tls.url("/check"), ca=env["pki"].root, proxy="env"),
        "direct": external(tls.url("/check"), ca=env["pki"].root),
        "keys": jwt(tls.url("/jwks.json"), ca=env["pki"].root, proxy="env"),
    })
    proxy_env = {"HTTPS_PROXY": env["auth"].url()}
    rc, report = run_doctor(path, env=proxy_env)
    assert rc == 1, report
    [refused] = about(report, "external authenticator viaenv ")
    assert refused["code"] == "reach.proxy.auth_required"
    assert f"(HTTPS_PROXY from the environment: {env['auth'].url()})" in refused["message"]
    [keys] = about(report, "authenticator keys JWKS")
    assert (keys["code"], keys["severity"]) == ("reach.proxy.auth_required", "error")
    assert keys["where"].startswith("authenticators.keys.jwks.proxy: line ")
    # Without `proxy: env` the gateway ignores the environment: so does doctor.
    assert not about(report, "external authenticator direct ")
    assert "proxy.internal_target" in [f["code"] for f in report["findings"]]

    rc, report = run_doctor(path, env={**proxy_env, "NO_PROXY": "localhost,127.0.0.1"})
    assert rc == 0, report
    assert not findings(report, "proxy.internal_target")
    checked = " ".join(report["checked"])
    assert f"external authenticator viaenv {tls.url('/check')} answered 401" in checked
    assert f"authenticator keys JWKS {tls.url('/jwks.json')} answered 200" in checked
