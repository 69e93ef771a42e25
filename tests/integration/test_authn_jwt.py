"""JWT bearer authentication end to end with real curl, on the tokens of
tests/tools/make_test_tokens.cpp: every algorithm, alg=none, HS/RS confusion, unknown kid, skew
both ways with and without leeway, the trailing-slash issuer, audience arrays, required claims,
tampered and malformed tokens; RFC 6750 challenges; JWKS rotation (the file replaced while the
gateway runs: an unknown kid re-reads it); identity headers from the claims; the access log.
"""

import os
import shutil

import pytest

from conftest import (Echo, Gateway, assert_denial, curl, free_port, listener, raw_request,
                      route, upstream, wait_for)

# token name (manifest) -> code; kept in step with tests/tools/make_test_tokens.cpp
CASES = {
    "valid-rs256": "ok",
    "valid-ps256": "ok",
    "valid-es256": "ok",
    "valid-es384": "ok",
    "valid-eddsa": "ok",
    "valid-hs256": "ok",
    "valid-bob": "ok",
    "valid-carol-string-group": "ok",
    "expired-within-leeway": "ok",
    "future-within-leeway": "ok",
    "audience-array": "ok",
    "rotated-rs256": "jwt.kid_unknown",
    "alg-none": "jwt.alg_not_allowed",
    "alg-not-listed": "jwt.alg_not_allowed",
    "hs-rs-confusion": "jwt.alg_not_allowed",
    "kid-unknown": "jwt.kid_unknown",
    "expired": "jwt.expired",
    "not-yet-valid": "jwt.not_yet_valid",
    "issuer-no-trailing-slash": "jwt.issuer_mismatch",
    "audience-wrong": "jwt.audience_mismatch",
    "missing-required-claim": "jwt.malformed",
    "missing-exp": "jwt.malformed",
    "tampered-signature": "jwt.signature_invalid",
    "wrong-key-same-kid": "jwt.signature_invalid",
    "ecdsa-der-signature": "jwt.signature_invalid",
    "malformed-two-parts": "jwt.malformed",
    "malformed-not-base64": "jwt.malformed",
}

# what the detail (detailed mode) must say
DETAILS = {
    "alg-none": ["unsigned"],
    "alg-not-listed": ['alg "RS384"', "not in the allowed algorithms"],
    "hs-rs-confusion": ['kid "rsa-1"', "alg confusion"],
    "kid-unknown": ['kid "nope"', "kids:", '"rsa-1"'],
    "expired": ["expired at", "gateway time", "ago, beyond the leeway of 120 s"],
    "not-yet-valid": ["not valid before", "gateway time", "in the future", "clock skew"],
    "issuer-no-trailing-slash": ['"https://idp.portcullis.test"', "trailing slash"],
    "audience-wrong": ['"other-api"', '"portcullis-api"'],
    "missing-required-claim": ['required claim "email" is missing'],
    "tampered-signature": ["does not verify"],
    "malformed-two-parts": ["2 parts"],
}

TITLES = {}  # code -> catalogue title, filled from the first response of each code

IDENTITY = {"user": "X-Auth-User", "groups": "X-Auth-Groups"}


@pytest.fixture(scope="module")
def env(module_procs, pki, jwt_tokens, tmp_path_factory):
    files = tmp_path_factory.mktemp("jwt-files")
    rotating = files / "rotating-jwks.json"
    shutil.copy(jwt_tokens.path("jwks.json"), rotating)
    app = Echo(module_procs)
    routes = [
        route("jwt", "app", "/jwt/", authn=["tokens"], identity_headers=IDENTITY),
        route("rot", "app", "/rot/", authn=["rotating"], identity_headers=IDENTITY),
        route("open", "app", "/", identity_headers=IDENTITY),
    ]
    authenticators = {
        "tokens": jwt_tokens.authenticator(),
        "rotating": jwt_tokens.authenticator(jwks=str(rotating)),
    }
    authenticators["rotating"]["jwks"]["refresh_interval"] = "1s"
    config = {
        "workers": 1,
        "listeners": [listener("main", free_port(), routes, pki=pki)],
        "authenticators": authenticators,
        "upstreams": {"app": upstream(app.endpoint)},
    }
    gw = Gateway(module_procs, config)
    generic = Gateway(module_procs, {**config, "errors": {"detail": "never"},
                                     "listeners": [listener("main", free_port(), routes[:1],
                                                            pki=pki)]}, name="generic")
    return {"gw": gw, "generic": generic, "pki": pki, "tokens": jwt_tokens,
            "rotating": rotating}


def get(env, path, *args, gw="gw"):
    return curl(env[gw].url("main", path), *args, cacert=env["pki"].root)


def with_token(env, name, path="/jwt/x", gw="gw"):
    return get(env, path, *env["tokens"].bearer(name), gw=gw)


def test_case_list_matches_the_manifest(env):
    manifest = {name: t["code"] for name, t in env["tokens"].tokens.items()}
    assert manifest == CASES


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c == "ok"))
def test_accepted_tokens(env, name):
    resp = with_token(env, name)
    assert resp.status == 200, resp.text
    headers = resp.json()["headers"]
    assert headers["x-auth-user"] == env["tokens"].tokens[name]["user"]
    assert "authorization" not in headers  # the token stays at the gateway


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c != "ok"))
def test_refused_tokens(env, name):
    code = CASES[name]
    resp = with_token(env, name)
    body = assert_denial(resp, 401, code)
    for fragment in DETAILS.get(name, []):
        assert fragment in body["detail"], (fragment, body["detail"])
    # RFC 6750 §3: one Bearer challenge with error="invalid_token" and the public title
    assert resp.all("WWW-Authenticate") == [
        f'Bearer realm="portcullis", error="invalid_token", '
        f'error_description="{body["title"]}"']
    # the token itself (its signature part) is never echoed, nor logged
    signature = env["tokens"].token(name).rsplit(".", 1)[-1]
    entry = env["gw"].log_entry(resp.header("X-Request-Id"))
    assert entry["code"] == code
    if len(signature) > 8:
        assert signature not in resp.text and signature not in str(entry)


def test_generic_mode_has_no_detail_but_the_same_code_and_challenge(env):
    detailed = with_token(env, "expired")
    generic = with_token(env, "expired", gw="generic")
    body = assert_denial(generic, 401, "jwt.expired")
    assert "detail" not in body
    assert generic.all("WWW-Authenticate") == detailed.all("WWW-Authenticate")
    # the operator still has the evidence in the access log
    entry = env["generic"].log_entry(generic.header("X-Request-Id"))
    assert "expired at" in entry["detail"]


def test_no_token_is_authn_required_with_a_bearer_challenge(env):
    resp = get(env, "/jwt/x")
    assert_denial(resp, 401, "authn.required", "accepts Bearer")
    assert resp.all("WWW-Authenticate") == ['Bearer realm="portcullis"']


def test_basic_on_a_bearer_route_is_scheme_not_accepted(env):
    resp = get(env, "/jwt/x", "-u", "alice:pw")
    assert_denial(resp, 401, "authn.scheme_not_accepted", '"Basic" scheme')


@pytest.mark.parametrize("value, fragment", [
    ("Bearer", "empty"),
    ("Bearer a b", "whitespace"),
    ("Bearer " + "x" * 17000, "the limit is"),
])
def test_malformed_bearer_credentials(env, value, fragment):
    resp = get(env, "/jwt/x", "-H", f"Authorization: {value}")
    assert_denial(resp, 401, "jwt.malformed", fragment)


def test_bearer_scheme_is_case_insensitive(env):
    token = env["tokens"].token("valid-es256")
    resp = get(env, "/jwt/x", "-H", f"Authorization: bearer {token}")
    assert resp.status == 200


def test_two_authorization_headers_are_refused(env):
    token = env["tokens"].token("valid-es256")
    resp = raw_request(env["gw"].port("main"),
                       (f"GET /jwt/x HTTP/1.1\r\nHost: localhost\r\n"
                        f"Authorization: Bearer {token}\r\nAuthorization: Bearer {token}\r\n"
                        f"Connection: close\r\n\r\n").encode(), cafile=env["pki"].root)
    assert resp.status == 400 and resp.header("X-Denial-Code") == "request.malformed"


# --- identity -----------------------------------------------------------------------------------

def test_groups_claim_reaches_the_upstream(env):
    headers = with_token(env, "valid-rs256").json()["headers"]
    assert (headers["x-auth-user"], headers["x-auth-groups"]) == ("alice", "dev,ops")
    headers = with_token(env, "valid-bob").json()["headers"]
    assert (headers["x-auth-user"], headers["x-auth-groups"]) == ("bob", "dev")
    headers = with_token(env, "valid-carol-string-group").json()["headers"]
    assert headers["x-auth-groups"] == "admins"


def test_client_sent_identity_headers_are_replaced(env):
    resp = get(env, "/jwt/x", *env["tokens"].bearer("valid-bob"), "-H", "X-Auth-User: root",
               "-H", "X-Auth-Groups: admins")
    headers = resp.json()["headers"]
    assert (headers["x-auth-user"], headers["x-auth-groups"]) == ("bob", "dev")


def test_access_log_names_jwt_and_the_user(env):
    resp = with_token(env, "valid-eddsa")
    entry = env["gw"].log_entry(resp.header("X-Request-Id"))
    assert (entry["auth_method"], entry["user"], entry["code"]) == ("jwt", "alice", "ok")


# --- JWKS rotation ------------------------------------------------------------------------------

def test_jwks_rotation_while_running(env):
    path = env["rotating"]
    assert_denial(with_token(env, "rotated-rs256", "/rot/x"), 401, "jwt.kid_unknown")
    assert with_token(env, "valid-rs256", "/rot/x").status == 200
    # the identity provider rotates: rsa-2 replaces rsa-1 (atomic replace, like a deploy)
    tmp = path.with_suffix(".tmp")
    shutil.copy(env["tokens"].path("jwks-rotated.json"), tmp)
    os.replace(tmp, path)
    # the unknown kid makes the gateway re-read the file (at most once per refresh_interval)
    resp = wait_for(lambda: (lambda r: r if r.status == 200 else None)(
        with_token(env, "rotated-rs256", "/rot/x")), 10, 0.25, "the rotated key")
    assert resp.json()["headers"]["x-auth-user"] == "alice"
    assert "rotating-jwks.json: reloaded" in env["gw"].proc.stderr()
    # the retired key is gone; keys that stayed still work
    body = assert_denial(with_token(env, "valid-rs256", "/rot/x"), 401, "jwt.kid_unknown")
    assert '"rsa-2"' in body["detail"]
    assert with_token(env, "valid-es256", "/rot/x").status == 200
    # a broken JWKS is not loaded: the keys in force stay
    path.write_text("{ not json")

    def reload_failed():
        with_token(env, "kid-unknown", "/rot/x")  # an unknown kid makes it re-read the file
        return "rotating-jwks.json: reload failed" in env["gw"].proc.stderr()

    wait_for(reload_failed, 10, 0.25, "the failed JWKS reload")
    assert with_token(env, "rotated-rs256", "/rot/x").status == 200
