"""The denial contract as a client sees it: X-Denial-Code and X-Request-Id on every denial, a
problem+json body (RFC 9457) or an HTML page by Accept, and the operator `detail` only in
detailed mode (errors.detail: local | always | never, local = loopback + detail_networks).
Also the catalogue itself (`portcullis denials`).
"""

import html
import json
import socket
import subprocess

import pytest

from conftest import (SOURCE_DIR, Echo, Gateway, assert_denial, binary, curl, free_port,
                      listener, raw_request, route, sanitizer_env, upstream)

PROBLEM_MEMBERS = {"type", "title", "status", "instance", "code", "hint"}
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def catalogue_list() -> list[dict]:
    result = subprocess.run([binary(), "denials", "--json"], capture_output=True, text=True,
                            timeout=30, env=sanitizer_env())
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def catalogue() -> dict:
    return {entry["code"]: entry for entry in catalogue_list()}


def non_loopback_ipv4() -> str | None:
    """An IPv4 address of this machine other than loopback, if there is one we can bind."""
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for addr in out.split():
        if ":" in addr or addr.startswith("127."):
            continue
        try:
            with socket.socket() as s:
                s.bind((addr, 0))
            return addr
        except OSError:
            continue
    return None


def make_gateway(procs, pki, app, errors: dict | None, name: str, external: str | None = None):
    routes = [route("api", "app", "/api/"), route("broken", "broken", "/broken/")]
    listeners = [listener("secure", free_port(), pki=pki, routes=routes)]
    if external:
        listeners.append(listener("external", free_port(), pki=pki, routes=routes, host=external))
    config = {"workers": 1, "listeners": listeners,
              "upstreams": {"app": upstream(app.endpoint),
                            "broken": upstream(f"127.0.0.1:{free_port()}")}}
    if errors is not None:
        config["errors"] = errors
    return Gateway(procs, config, name=name)


@pytest.fixture(scope="module")
def env(module_procs, pki):
    app = Echo(module_procs)
    external = non_loopback_ipv4()
    gws = {
        "default": make_gateway(module_procs, pki, app, None, "default", external),
        "local": make_gateway(module_procs, pki, app, {"detail": "local"}, "local"),
        "never": make_gateway(module_procs, pki, app, {"detail": "never"}, "never"),
        "always": make_gateway(module_procs, pki, app, {"detail": "always"}, "always", external),
    }
    if external:
        gws["networks"] = make_gateway(
            module_procs, pki, app,
            {"detail": "local", "detail_networks": [f"{external}/32"]}, "networks", external)
    return {"gws": gws, "pki": pki, "external": external}


def request(env, gw_name, path, *args, listener_name="secure"):
    gw = env["gws"][gw_name]
    if listener_name == "external":
        port = gw.port("external")
        return curl(f"https://localhost:{port}{path}", "--resolve",
                    f"localhost:{port}:{env['external']}", *args, cacert=env["pki"].root)
    return curl(gw.url(listener_name, path), *args, cacert=env["pki"].root)


# --- problem+json -------------------------------------------------------------------------------

def test_problem_json_has_every_member(env, catalogue):
    resp = request(env, "default", "/nowhere")
    body = assert_denial(resp, 404, "route.not_found")
    assert resp.header("Content-Type").split(";")[0].strip() == "application/problem+json"
    assert set(body) == PROBLEM_MEMBERS | {"detail"}, body
    assert body["title"] == catalogue["route.not_found"]["title"]
    assert body["hint"] == catalogue["route.not_found"]["hint"]
    assert "/nowhere" in body["detail"]


def test_request_ids_differ_between_denials(env):
    a = request(env, "default", "/nowhere/a").header("X-Request-Id")
    b = request(env, "default", "/nowhere/b").header("X-Request-Id")
    assert a and b and a != b


@pytest.mark.parametrize("accept", ["application/json", "application/problem+json", "*/*"])
def test_json_accepts_get_problem_json(env, accept):
    resp = request(env, "default", "/nowhere", "-H", f"Accept: {accept}")
    assert resp.header("Content-Type").startswith("application/problem+json")
    assert resp.json()["code"] == "route.not_found"


def test_problem_json_stays_valid_with_hostile_input(env):
    # quotes, backslashes and control-like bytes reach the detail through the Host header
    resp = raw_request(env["gws"]["default"].port("secure"),
                       b'GET /nowhere/"q\\ HTTP/1.1\r\nHost: a"b\\c\r\nAccept: */*\r\n\r\n',
                       env["pki"].root)
    # such a Host is refused before routing (issue #22), and the refusal quotes it
    assert resp.status == 400
    body = json.loads(resp.body)  # must parse
    assert body["code"] == resp.header("X-Denial-Code") == "request.malformed"
    assert 'a"b\\c' in body["detail"]


def test_problem_json_is_valid_utf8_with_non_utf8_input(env):
    # obs-text (bytes 0x80-0xFF) is allowed in field values; the JSON body must stay UTF-8
    resp = raw_request(env["gws"]["default"].port("secure"),
                       b"GET /nowhere HTTP/1.1\r\nHost: caf\xe9\xff\r\n\r\n", env["pki"].root)
    assert resp.status in (400, 404)
    body = json.loads(resp.body.decode("utf-8"))  # strict: raises on invalid UTF-8
    assert body["code"] == resp.header("X-Denial-Code")


# --- HTML ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("accept", ["text/html", BROWSER_ACCEPT])
def test_html_page_for_browsers(env, accept, catalogue):
    resp = request(env, "default", "/nowhere/html", "-H", f"Accept: {accept}")
    assert resp.status == 404
    assert resp.header("Content-Type").split(";")[0].strip() == "text/html"
    assert resp.header("X-Denial-Code") == "route.not_found"
    rid = resp.header("X-Request-Id")
    text = resp.text
    assert "<html" in text.lower()
    assert "route.not_found" in text
    assert rid in text
    assert html.escape(catalogue["route.not_found"]["title"], quote=False) in text
    assert html.escape(catalogue["route.not_found"]["hint"], quote=False) in text
    assert "/nowhere/html" in text  # the detail, local mode from loopback


def test_html_escapes_client_controlled_detail(env):
    resp = raw_request(env["gws"]["default"].port("secure"),
                       b"GET /nowhere HTTP/1.1\r\nHost: <script>alert(1)</script>\r\n"
                       b"Accept: text/html\r\n\r\n", env["pki"].root)
    assert resp.status == 400  # refused as a Host (issue #22); the detail quotes it
    assert resp.header("Content-Type").startswith("text/html")
    assert b"<script>" not in resp.body
    assert b"&lt;script&gt;" in resp.body


# --- detail modes -------------------------------------------------------------------------------

def test_default_mode_is_local_and_shows_detail_to_loopback(env):
    for name in ("default", "local"):
        body = request(env, name, "/nowhere/local").json()
        assert "detail" in body and "/nowhere/local" in body["detail"], (name, body)


def test_never_mode_hides_detail(env):
    resp = request(env, "never", "/nowhere/never")
    body = assert_denial(resp, 404, "route.not_found")
    assert "detail" not in body
    assert set(body) == PROBLEM_MEMBERS
    page = request(env, "never", "/nowhere/never-html", "-H", "Accept: text/html")
    assert "/nowhere/never-html" not in page.text
    assert "no route of listener" not in page.text


def test_never_mode_still_logs_the_detail(env):
    gw = env["gws"]["never"]
    resp = request(env, "never", "/nowhere/never-log")
    entry = gw.log_entry(resp.header("X-Request-Id"))
    assert "/nowhere/never-log" in entry["detail"]


def test_never_mode_hides_upstream_endpoint(env):
    resp = request(env, "never", "/broken/x")
    body = assert_denial(resp, 502, "upstream.connect_failed")
    assert "detail" not in body
    assert "127.0.0.1:" not in resp.text


def test_always_mode_shows_detail(env):
    body = request(env, "always", "/broken/x").json()
    assert body["code"] == "upstream.connect_failed"
    assert "127.0.0.1:" in body["detail"]


def need_external(env):
    if not env["external"]:
        pytest.skip("no non-loopback IPv4 address to test remote peers")


def test_local_mode_hides_detail_from_non_loopback_peer(env):
    need_external(env)
    resp = request(env, "default", "/nowhere/remote", listener_name="external")
    body = assert_denial(resp, 404, "route.not_found")
    assert "detail" not in body, body
    entry = env["gws"]["default"].log_entry(resp.header("X-Request-Id"))
    assert entry["client_ip"] == env["external"]
    assert "/nowhere/remote" in entry["detail"]


def test_always_mode_shows_detail_to_non_loopback_peer(env):
    need_external(env)
    body = request(env, "always", "/nowhere/remote", listener_name="external").json()
    assert "/nowhere/remote" in body["detail"]


def test_detail_networks_extend_local_mode(env):
    need_external(env)
    body = request(env, "networks", "/nowhere/remote", listener_name="external").json()
    assert "/nowhere/remote" in body.get("detail", ""), body


# --- headers on every kind of denial ------------------------------------------------------------

@pytest.mark.parametrize("case", ["route", "upstream", "malformed", "body", "header"])
def test_every_denial_has_code_and_request_id_headers(env, case, tmp_path):
    gw = env["gws"]["default"]
    if case == "route":
        resp, code = request(env, "default", "/nowhere"), "route.not_found"
    elif case == "upstream":
        resp, code = request(env, "default", "/broken/"), "upstream.connect_failed"
    elif case == "malformed":
        resp = raw_request(gw.port("secure"), b"GET /api/ HTTP/1.1\r\n\r\n", env["pki"].root)
        code = "request.malformed"
    elif case == "body":
        data = tmp_path / "body"
        data.write_bytes(b"x" * (1024 * 1024 + 10))
        resp = request(env, "default", "/api/", "--data-binary", f"@{data}")
        code = "request.body_too_large"
    else:
        resp = request(env, "default", "/api/", "-H", "X-Big: " + "h" * 40000)
        code = "request.header_too_large"
    assert_denial(resp, {"request.malformed": 400, "route.not_found": 404,
                         "upstream.connect_failed": 502, "request.body_too_large": 413,
                         "request.header_too_large": 431}[code], code)
    assert gw.log_entry(resp.header("X-Request-Id"))["code"] == code


# --- the catalogue ------------------------------------------------------------------------------

DESIGN_CODES = {
    "mtls.cert_missing", "mtls.chain_incomplete", "mtls.issuer_untrusted", "mtls.cert_expired",
    "mtls.cert_not_yet_valid", "mtls.purpose_invalid", "mtls.issuer_dn_mismatch",
    "mtls.cert_revoked", "mtls.self_signed", "mtls.chain_too_long", "mtls.signature_invalid",
    "mtls.ca_invalid", "mtls.cert_invalid", "authn.required", "authn.scheme_not_accepted",
    "basic.malformed", "basic.credentials_invalid", "basic.locked_out", "identity.ambiguous",
    "jwt.malformed", "jwt.signature_invalid", "jwt.alg_not_allowed", "jwt.kid_unknown",
    "jwt.expired", "jwt.not_yet_valid", "jwt.issuer_mismatch", "jwt.audience_mismatch",
    "jwt.jwks_unavailable", "authz.denied", "route.not_found", "request.malformed",
    "request.header_too_large", "request.body_too_large", "request.timeout",
    "upstream.connect_failed", "upstream.dns_failed", "upstream.timeout", "upstream.reset",
    "upstream.tls_failed", "upstream.protocol_error", "upstream.unavailable",
}

STATUSES = {
    "route.not_found": 404, "request.malformed": 400, "request.header_too_large": 431,
    "request.body_too_large": 413, "request.timeout": 408, "upstream.connect_failed": 502,
    "upstream.dns_failed": 502, "upstream.timeout": 504, "upstream.reset": 502,
    "upstream.tls_failed": 502, "upstream.protocol_error": 502, "authn.required": 401,
    "authz.denied": 403, "mtls.cert_missing": 400,
}


def test_catalogue_has_every_design_code_once():
    entries = catalogue_list()
    codes = [e["code"] for e in entries]
    assert len(codes) == len(set(codes)), "duplicate codes in the catalogue"
    missing = DESIGN_CODES - set(codes)
    assert not missing, f"catalogue lacks {sorted(missing)}"
    for entry in entries:
        assert entry["title"].strip() and entry["hint"].strip(), entry
        assert 400 <= entry["status"] <= 599, entry


def test_catalogue_statuses(catalogue):
    for code, status in STATUSES.items():
        assert catalogue[code]["status"] == status, code


def test_denials_markdown_matches_docs():
    doc = SOURCE_DIR / "docs" / "denials.md"
    if not doc.is_file():
        pytest.skip(f"{doc} not found (PORTCULLIS_SOURCE_DIR)")
    result = subprocess.run([binary(), "denials", "--markdown"], capture_output=True, text=True,
                            timeout=30, env=sanitizer_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout == doc.read_text(), "docs/denials.md is stale: regenerate it"
