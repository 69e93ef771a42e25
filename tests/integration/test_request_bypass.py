"""Path and Host authentication bypasses against a real nginx behind the gateway.

nginx normalises what it receives (dot segments, percent-decoding including %2F, merged
slashes, Host case and trailing dot), so a gateway that routes on the raw request target routes
`/public/../admin/x` to the anonymous route and nginx serves the protected file. Every spelling
below is sent without credentials as raw bytes (no client library normalises it) and must never
yield ADMIN-SECRET (or ADMIN-VHOST): the answer is 400 request.malformed, 401 authn.required or a
404 (route.not_found or nginx's). Positive cases prove that the routes, the credentials and the
normalised forwarding work, so the matrix cannot pass vacuously.

Route variants: "split" = /public/ anonymous + /admin/ Basic (nothing else);
"catchall" = /admin/ Basic + / anonymous. Each runs over a plain and a TLS listener.
"""

from __future__ import annotations

import base64
import uuid

import pytest

from backends import (ADMIN_MARKER, DEFAULT_SITE_MARKER, PUBLIC_MARKER, VHOST_MARKER,
                      NginxBackend)
from conftest import (Gateway, assert_denial, free_port, listener, raw_request, route,
                      tool_hash, upstream)

ALICE_PW = "alice-pw"
ALICE = b"Authorization: Basic " + base64.b64encode(b"alice:" + ALICE_PW.encode()) + b"\r\n"
IDENTITY = {"user": "X-Auth-User"}

VARIANTS = ["split", "catchall"]
TRANSPORTS = ["plain", "tls"]


def variant_routes(variant: str) -> list[dict]:
    if variant == "split":
        return [route("public", "web", "/public/"),
                route("admin", "web", "/admin/", authn=["users"], identity_headers=IDENTITY)]
    return [route("admin", "web", "/admin/", authn=["users"], identity_headers=IDENTITY),
            route("all", "web", "/")]


def host_routes() -> list[dict]:
    return [route("admin-vhost", "web", "/", host="admin.example", authn=["users"],
                  identity_headers=IDENTITY),
            route("public-site", "web", "/", host="*")]


@pytest.fixture(scope="module")
def env(module_procs, pki, tmp_path_factory):
    files = tmp_path_factory.mktemp("bypass-files")
    htpasswd = files / "users.htpasswd"
    htpasswd.write_text(f"alice:{tool_hash('htpasswd-B', ALICE_PW)}\n")
    nginx = NginxBackend(module_procs)
    listeners = []
    for variant in VARIANTS:
        listeners.append(listener(f"{variant}-plain", free_port(), variant_routes(variant)))
        listeners.append(listener(f"{variant}-tls", free_port(), variant_routes(variant), pki=pki))
    listeners.append(listener("host-plain", free_port(), host_routes()))
    listeners.append(listener("host-tls", free_port(), host_routes(), pki=pki))
    authenticators = {"users": {"type": "basic", "realm": "bypass", "htpasswd": str(htpasswd),
                                "lockout": "off"}}
    upstreams = {"web": upstream(nginx.endpoint)}
    config = {"workers": 1, "listeners": listeners, "authenticators": authenticators,
              "upstreams": upstreams}
    gw = Gateway(module_procs, config)
    return {"gw": gw, "pki": pki, "nginx": nginx, "procs": module_procs,
            "authenticators": authenticators, "upstreams": upstreams}


@pytest.fixture(scope="module")
def keep(env):
    """A gateway whose listener keeps encoded slashes (request_normalization.encoded_slash),
    in front of an nginx that does not decode %2F (the backend that setting is documented for:
    stock nginx decodes it, and would then serve /admin/x for /admin%2Fx)."""
    nginx = NginxBackend(env["procs"], name="nginx-keep", decodes_encoded_slash=False)
    plain = listener("keep", free_port(), variant_routes("catchall"))
    plain["request_normalization"] = {"encoded_slash": "keep"}
    config = {"workers": 1, "listeners": [plain], "authenticators": env["authenticators"],
              "upstreams": {"web": upstream(nginx.endpoint)}}
    return {"gw": Gateway(env["procs"], config, name="keep"), "nginx": nginx}


def get(env, listener_name: str, target: bytes, host: bytes = b"localhost",
        credentials: bool = False, gw=None):
    """One raw GET; returns (response, test id). The test id is logged by nginx."""
    gw = gw or env["gw"]
    test_id = uuid.uuid4().hex
    data = (b"GET " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\nX-Test-Id: "
            + test_id.encode() + b"\r\nConnection: close\r\n"
            + (ALICE if credentials else b"") + b"\r\n")
    cafile = env["pki"].root if listener_name.endswith("-tls") else None
    return raw_request(gw.port(listener_name), data, cafile), test_id


# --- the matrix -------------------------------------------------------------------------------

BYPASS_TARGETS = [
    b"/public/../admin/x",
    b"/public/%2e%2e/admin/x",
    b"/public/%2E%2E/admin/x",
    b"/public/.%2e/admin/x",
    b"/public/..%2fadmin/x",
    b"/public/..%2Fadmin/x",
    b"/public/..;/admin/x",
    b"/public/..;jsessionid=1/admin/x",
    b"/public/%2e%2e;/admin/x",
    b"/public/..\\admin/x",
    b"/public/..%5cadmin/x",
    b"/public/%252e%252e/admin/x",
    b"/public/./../admin/x",
    b"/public//../admin/x",
    b"//admin/x",
    b"///admin/x",
    b"/./admin/x",
    b"/%61dmin/x",
    b"/%41dmin/x",
    b"/admin%2fx",
    b"/admin%2Fx",
    b"/admin/./x",
    b"/admin/x%00",
    b"/%2fadmin/x",
    b"/public/%2e%2e%2fadmin/x",
    b"/public/..%00/admin/x",
    b"/public/..%c0%af/admin/x",
    b"/public/%c0%ae%c0%ae/admin/x",
    b"/public/\xc0\xae\xc0\xae/admin/x",
    b"/public/../../admin/x",
    b"/../admin/x",
    b"/admin/x#frag",
    b"/public/x#/../../admin/x",
    b"/admin/x?a=1",
    b"/ADMIN/x",
    b"/admin//x",
    b"/public/..%2f..%2fadmin/x",
    b"/public/%2e%2e/%2e%2e/admin/x",
    b"/public/.../admin/x",
    b"/public/..%252fadmin/x",
]

ABOVE_ROOT = {b"/../admin/x", b"/public/../../admin/x"}


def must_be_malformed(target: bytes) -> bool:
    """Targets the gateway refuses outright (400 request.malformed): encoded slash or
    backslash, NUL, raw backslash, raw non-ASCII, a fragment, `..;`, `..` above the root, and
    percent-decoded bytes that are not UTF-8."""
    low = target.lower()
    return (any(s in low for s in (b"%2f", b"%5c", b"%00", b"\\", b"#", b"..;", b"%c0"))
            or any(b >= 0x80 for b in target) or target in ABOVE_ROOT)


def assert_refused(resp, marker: str = ADMIN_MARKER):
    """Not the protected content: 400 request.malformed, 401 authn.required or a 404."""
    assert marker not in resp.text, f"anonymous request got the protected content: {resp.status}"
    if resp.status == 400:
        assert_denial(resp, 400, "request.malformed")
    elif resp.status == 401:
        assert_denial(resp, 401, "authn.required")
    elif resp.status == 404:
        if resp.header("X-Denial-Code") is not None:
            assert_denial(resp, 404, "route.not_found")
    else:
        raise AssertionError(f"expected 400/401/404, got {resp.status}: {resp.text[:300]}")


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("target", BYPASS_TARGETS, ids=[repr(t)[2:-1] for t in BYPASS_TARGETS])
def test_path_spelling_never_reaches_admin_anonymously(env, target, variant, transport):
    """Issue case (path bypass matrix): no spelling of /admin/x reaches the protected file
    without credentials; the clearly hostile ones are 400 request.malformed."""
    resp, _ = get(env, f"{variant}-{transport}", target)
    assert_refused(resp)
    if must_be_malformed(target):
        assert_denial(resp, 400, "request.malformed")


# --- positive cases ---------------------------------------------------------------------------

@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_public_is_anonymous_and_admin_needs_credentials(env, variant, transport):
    """Positive: /public/x anonymous is 200 PUBLIC-CONTENT; /admin/x is 401 authn.required
    without credentials and 200 ADMIN-SECRET for alice (and nginx sees X-Auth-User: alice)."""
    name = f"{variant}-{transport}"
    resp, _ = get(env, name, b"/public/x")
    assert resp.status == 200 and PUBLIC_MARKER in resp.text, resp.text
    resp, _ = get(env, name, b"/admin/x")
    assert_denial(resp, 401, "authn.required")
    resp, test_id = get(env, name, b"/admin/x", credentials=True)
    assert resp.status == 200 and ADMIN_MARKER in resp.text, resp.text
    assert env["nginx"].entry(test_id)["user"] == "alice"


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("target", [b"/public/./x", b"/public//x", b"/public/%78"],
                         ids=["dot-segment", "double-slash", "encoded-unreserved"])
def test_harmless_spellings_are_forwarded_normalised(env, target, variant, transport):
    """Positive: spellings of /public/x are served, and nginx receives the normalised request
    line `GET /public/x HTTP/1.1` (what was routed is what is forwarded)."""
    resp, test_id = get(env, f"{variant}-{transport}", target)
    assert resp.status == 200 and PUBLIC_MARKER in resp.text, (resp.status, resp.text[:300])
    assert env["nginx"].entry(test_id)["request"] == "GET /public/x HTTP/1.1"


@pytest.mark.parametrize("variant", VARIANTS)
def test_query_string_is_forwarded_unchanged(env, variant):
    """Positive: the query is not normalised (its %2F is neither decoded nor refused)."""
    resp, test_id = get(env, f"{variant}-plain", b"/public/x?a=%2F&b=1")
    assert resp.status == 200 and PUBLIC_MARKER in resp.text, resp.text
    assert env["nginx"].entry(test_id)["request"] == "GET /public/x?a=%2F&b=1 HTTP/1.1"


# --- encoded_slash: keep ----------------------------------------------------------------------

@pytest.mark.parametrize("target", [b"/admin%2fx", b"/admin%2Fx"])
def test_kept_encoded_slash_still_does_not_leak(env, keep, target):
    """Issue case: with `request_normalization: {encoded_slash: keep}` an encoded slash is not
    refused; on the catch-all it reaches the backend still encoded (`/admin%2Fx`, one segment),
    which answers 404: never ADMIN-SECRET."""
    resp, test_id = get(env, "keep", target, gw=keep["gw"])
    assert resp.status != 400, f"refused although encoded_slash is keep: {resp.text}"
    assert_refused(resp)
    assert resp.status == 404 and resp.header("X-Denial-Code") is None, resp.header_list
    assert keep["nginx"].entry(test_id)["request"].lower() == "get /admin%2fx http/1.1"
    ok, _ = get(env, "keep", b"/public/x", gw=keep["gw"])
    assert ok.status == 200 and PUBLIC_MARKER in ok.text


# --- Host bypass ------------------------------------------------------------------------------

HOST_SPELLINGS = [b"admin.example:1:2", b"ADMIN.EXAMPLE", b"admin.example.", b"admin.example:80",
                  b"admin.example:80:80", b"admin.example@x", b"x@admin.example",
                  b"admin.example/", b"admin.example "]
ROUTED_TO_PROTECTED = {b"ADMIN.EXAMPLE", b"admin.example.", b"admin.example:80"}


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("host", HOST_SPELLINGS, ids=[repr(h)[2:-1] for h in HOST_SPELLINGS])
def test_host_spelling_never_reaches_admin_vhost_anonymously(env, host, transport):
    """Issue case (Host bypass): no spelling of admin.example gets nginx's admin.example
    virtual host without credentials. Equivalent spellings (case, trailing dot, port) are routed
    to the protected route (401); the others are 400 request.malformed or the public site."""
    resp, _ = get(env, f"host-{transport}", b"/", host=host)
    assert VHOST_MARKER not in resp.text, f"anonymous request got the admin vhost: {resp.status}"
    if host in ROUTED_TO_PROTECTED:
        assert_denial(resp, 401, "authn.required")
    elif resp.status == 400:
        assert_denial(resp, 400, "request.malformed")
    elif resp.status == 401:
        assert_denial(resp, 401, "authn.required")
    else:
        assert resp.status == 200 and DEFAULT_SITE_MARKER in resp.text, (
            resp.status, resp.text[:300])


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_host_routes_positive(env, transport):
    """Positive: admin.example needs credentials (401, then ADMIN-VHOST for alice); another
    host gets the public site anonymously."""
    name = f"host-{transport}"
    resp, _ = get(env, name, b"/", host=b"admin.example")
    assert_denial(resp, 401, "authn.required")
    resp, _ = get(env, name, b"/", host=b"admin.example", credentials=True)
    assert resp.status == 200 and VHOST_MARKER in resp.text, resp.text
    resp, _ = get(env, name, b"/", host=b"public.example")
    assert resp.status == 200 and DEFAULT_SITE_MARKER in resp.text, resp.text
