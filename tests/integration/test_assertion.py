"""The signed identity assertion end to end (issue #6 part 3): the echo upstream receives the
ES256 JWT on routes with `assertion`; a backend verifies it by calling back `POST /auth/verify` on
the admin listener and, independently, in Python (`cryptography`) against
`GET /.well-known/jwks.json`. Client-sent copies are replaced; expired, wrong audience, tampered
signature and unknown kid are 401 with their jwt.* code; a rotated key stays published for the
overlap and its assertions verify until they expire, then the key is gone.
"""

import base64
import hashlib
import json
import time
import urllib.error
import urllib.request

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (decode_dss_signature,
                                                              encode_dss_signature)

from conftest import (Echo, Gateway, curl, free_port, mtls_curl, mtls_listener, route, upstream,
                      wait_for)

HEADER = "x-portcullis-assertion"


# ----------------------------------------------------------------------------------------------
# helpers: base64url, the admin endpoints, local verification


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def admin_request(gw: Gateway, path: str, body: bytes | None = None,
                  content_type: str = "application/jwt") -> tuple[int, dict, dict]:
    """(status, lower-case headers, JSON body) of one admin request (POST when body is given)."""
    req = urllib.request.Request(gw.admin_url(path), data=body, method="POST" if body else "GET")
    if body is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, json.loads(
                resp.read())
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, json.loads(err.read())


def verify(gw: Gateway, token: str, query: str = "") -> tuple[int, dict]:
    status, _, body = admin_request(gw, "/auth/verify" + query, token.encode())
    return status, body


def jwks(gw: Gateway) -> dict:
    status, headers, body = admin_request(gw, "/.well-known/jwks.json")
    assert status == 200, body
    assert headers["content-type"].startswith("application/jwk-set+json")
    assert headers["cache-control"].startswith("public, max-age=")
    return body


def kids(gw: Gateway) -> list[str]:
    return [k["kid"] for k in jwks(gw)["keys"]]


def thumbprint(jwk: dict) -> str:
    """RFC 7638 for an EC key."""
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"),
                           sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


def verify_locally(token: str, keys: dict) -> tuple[dict, dict]:
    """What a backend does without calling back: the ES256 signature against the JWKS key named
    by kid. Returns (header, claims); raises on any failure."""
    header_b64, payload_b64, signature_b64 = token.split(".")
    header = json.loads(b64url_decode(header_b64))
    assert header["alg"] == "ES256" and header["typ"] == "JWT"
    jwk = next(k for k in keys["keys"] if k["kid"] == header["kid"])
    numbers = ec.EllipticCurvePublicNumbers(int.from_bytes(b64url_decode(jwk["x"]), "big"),
                                            int.from_bytes(b64url_decode(jwk["y"]), "big"),
                                            ec.SECP256R1())
    raw = b64url_decode(signature_b64)
    assert len(raw) == 64, "JOSE ECDSA signatures are R||S, 32 bytes each"
    signature = encode_dss_signature(int.from_bytes(raw[:32], "big"),
                                     int.from_bytes(raw[32:], "big"))
    numbers.public_key().verify(signature, f"{header_b64}.{payload_b64}".encode(),
                                ec.ECDSA(hashes.SHA256()))
    return header, json.loads(b64url_decode(payload_b64))


def foreign_token(claims: dict, kid: str) -> str:
    """An ES256 token signed by a key the gateway does not have."""
    key = ec.generate_private_key(ec.SECP256R1())
    header = b64url(json.dumps({"alg": "ES256", "typ": "JWT", "kid": kid}).encode())
    payload = b64url(json.dumps(claims).encode())
    der = key.sign(f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return f"{header}.{payload}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


# ----------------------------------------------------------------------------------------------
# the gateway under test


@pytest.fixture(scope="module")
def env(module_procs, mtls_pki):
    app = Echo(module_procs)
    routes = [
        route("mtls", "app", "/mtls/", authn=["mtls"], assertion={"audience": "app"}),
        route("short", "app", "/short/", assertion={"audience": "app", "ttl": "1s"}),
        route("billing", "app", "/billing/",
              assertion={"audience": "billing", "header": "X-Identity", "ttl": "30s"}),
        route("plain", "app", "/plain/"),
        route("open", "app", "/", assertion={"audience": "app"}),
    ]
    config = {
        "workers": 2,
        "admin": {"listen": f"127.0.0.1:{free_port()}"},
        "listeners": [mtls_listener("main", free_port(), mtls_pki,
                                    mtls_pki.client_auth("request"), routes)],
        "upstreams": {"app": upstream(app.endpoint)},
        "assertion_signing": {"issuer": "https://gateway.test/"},
    }
    gw = Gateway(module_procs, config)
    return {"gw": gw, "pki": mtls_pki}


def get(env, path: str, *args: str, case: str | None = None):
    resp = mtls_curl(env["pki"], env["gw"].url("main", path), case, *args)
    assert resp.status == 200, resp.text
    return resp, resp.json()["headers"]


# ----------------------------------------------------------------------------------------------
# signing and verifying


def test_mtls_request_carries_a_verifiable_assertion(env):
    gw = env["gw"]
    resp, headers = get(env, "/mtls/x", case="good-one")
    token = headers[HEADER]
    status, claims = verify(gw, token)
    assert status == 200, claims
    request_id = resp.header("X-Request-Id")
    assert claims["request_id"] == request_id
    assert claims["jti"] == request_id
    assert claims["route"] == "mtls"
    assert claims["aud"] == "app"
    assert claims["iss"] == "https://gateway.test/"
    assert claims["auth_method"] == "mtls"
    assert claims["sub"] == "alice" or claims["sub"].startswith("alice"), claims
    assert claims["exp"] - claims["iat"] == 60
    assert claims["nbf"] == claims["iat"]
    assert abs(claims["iat"] - time.time()) < 30
    # RFC 8705: the certificate the request came with, as base64url SHA-256 of its DER
    expected = b64url(bytes.fromhex(env["pki"].sha256("good-one")))
    assert claims["cnf"] == {"x5t#S256": expected}


def test_independent_verification_against_the_jwks(env):
    gw = env["gw"]
    _, headers = get(env, "/mtls/x", case="good-one")
    keys = jwks(gw)
    for jwk in keys["keys"]:
        assert jwk["kty"] == "EC" and jwk["crv"] == "P-256" and jwk["alg"] == "ES256"
        assert "d" not in jwk, "a private member in the JWKS"
        assert jwk["kid"] == thumbprint(jwk)
    header, claims = verify_locally(headers[HEADER], keys)
    assert header["kid"] in [k["kid"] for k in keys["keys"]]
    assert claims["route"] == "mtls"
    assert claims["exp"] > time.time()


def test_anonymous_assertion_has_no_subject(env):
    resp, headers = get(env, "/anything")
    status, claims = verify(env["gw"], headers[HEADER])
    assert status == 200, claims
    assert "sub" not in claims
    assert "cnf" not in claims
    assert claims["auth_method"] == "none"
    assert claims["groups"] == []
    assert claims["route"] == "open"
    assert claims["request_id"] == resp.header("X-Request-Id")


def test_json_body_is_accepted(env):
    gw = env["gw"]
    _, headers = get(env, "/x")
    status, _, claims = admin_request(gw, "/auth/verify",
                                      json.dumps({"assertion": headers[HEADER]}).encode(),
                                      "application/json")
    assert status == 200, claims
    assert claims["route"] == "open"


def test_client_sent_assertions_are_replaced(env):
    forged = foreign_token({"sub": "admin"}, "forged")
    _, headers = get(env, "/x", "-H", f"X-Portcullis-Assertion: {forged}")
    assert headers[HEADER] != forged
    assert "," not in headers[HEADER], "two copies reached the upstream"
    assert verify(env["gw"], headers[HEADER])[0] == 200
    # a route with another header name: its header is replaced and the default name stripped
    _, headers = get(env, "/billing/x", "-H", f"X-Portcullis-Assertion: {forged}", "-H",
                     f"X-Identity: {forged}")
    assert HEADER not in headers
    assert headers["x-identity"] != forged
    # a route without assertion: a client copy never reaches the upstream either
    _, headers = get(env, "/plain/x", "-H", f"X-Portcullis-Assertion: {forged}")
    assert HEADER not in headers


# ----------------------------------------------------------------------------------------------
# refusals


def test_expired_assertion(env):
    _, headers = get(env, "/short/x")
    token = headers[HEADER]
    time.sleep(2.2)
    status, problem = verify(env["gw"], token)
    assert status == 401, problem
    assert problem["code"] == "jwt.expired"
    assert "expired at" in problem["detail"]
    assert token not in json.dumps(problem), "the token is echoed"


def test_wrong_audience(env):
    gw = env["gw"]
    _, headers = get(env, "/x")
    status, problem = verify(gw, headers[HEADER], "?audience=billing")
    assert status == 401
    assert problem["code"] == "jwt.audience_mismatch"
    assert '"app"' in problem["detail"] and '"billing"' in problem["detail"]
    assert verify(gw, headers[HEADER], "?audience=app")[0] == 200
    # the billing route's assertion verifies for billing (and by default), not for app
    _, headers = get(env, "/billing/x")
    assert verify(gw, headers["x-identity"])[0] == 200
    assert verify(gw, headers["x-identity"], "?audience=billing")[0] == 200
    assert verify(gw, headers["x-identity"], "?audience=app")[1]["code"] == \
        "jwt.audience_mismatch"


def test_tampered_signature(env):
    _, headers = get(env, "/x")
    head, payload, signature = headers[HEADER].split(".")
    raw = bytearray(b64url_decode(signature))
    raw[10] ^= 0x01
    status, problem = verify(env["gw"], f"{head}.{payload}.{b64url(bytes(raw))}")
    assert status == 401
    assert problem["code"] == "jwt.signature_invalid"
    # a changed claim under the original signature is the same refusal
    claims = json.loads(b64url_decode(payload))
    claims["sub"] = "admin"
    forged = f"{head}.{b64url(json.dumps(claims).encode())}.{signature}"
    assert verify(env["gw"], forged)[1]["code"] == "jwt.signature_invalid"


def test_unknown_kid(env):
    now = int(time.time())
    token = foreign_token({"iss": "https://gateway.test/", "aud": "app", "jti": "x",
                           "iat": now, "nbf": now, "exp": now + 60}, "someone-else")
    status, problem = verify(env["gw"], token)
    assert status == 401
    assert problem["code"] == "jwt.kid_unknown"
    assert '"someone-else"' in problem["detail"]


def test_malformed_and_limits(env):
    gw = env["gw"]
    assert verify(gw, "not-a-token")[1]["code"] == "jwt.malformed"
    status, _, problem = admin_request(gw, "/auth/verify", b'{"token": "x"}', "application/json")
    assert status == 401 and problem["code"] == "jwt.malformed"
    status, _, problem = admin_request(gw, "/auth/verify", b"a" * (40 * 1024))
    assert status == 413 and problem["code"] == "request.body_too_large"
    resp = curl(gw.admin_url("/auth/verify"))
    assert resp.status == 405
    assert resp.header("Allow") == "POST"


# ----------------------------------------------------------------------------------------------
# rotation


def test_key_rotation_overlap(procs):
    app = Echo(procs)
    port = free_port()
    config = {
        "admin": {"listen": f"127.0.0.1:{free_port()}"},
        "listeners": [{"name": "main", "listen": f"127.0.0.1:{port}",
                       "routes": [route("open", "app", "/",
                                        assertion={"audience": "app", "ttl": "5s"})]}],
        "upstreams": {"app": upstream(app.endpoint)},
        "assertion_signing": {"rotate": "2s"},
    }
    gw = Gateway(procs, config)

    def assertion() -> str:
        resp = curl(gw.url("main", "/", tls=False))
        assert resp.status == 200, resp.text
        return resp.json()["headers"][HEADER]

    old = assertion()
    old_kid = json.loads(b64url_decode(old.split(".")[0]))["kid"]
    assert kids(gw)[0] == old_kid  # the current key comes first

    # after `rotate` a new key signs; the old one is still published and its assertion verifies
    new_kid = wait_for(lambda: (lambda k: k if k != old_kid else None)(
        json.loads(b64url_decode(assertion().split(".")[0]))["kid"]), 6, interval=0.2,
        what="a rotated key")
    published = kids(gw)
    assert published[0] == new_kid and old_kid in published, published
    old_exp = json.loads(b64url_decode(old.split(".")[1]))["exp"]
    if old_exp > time.time() + 0.5:
        status, claims = verify(gw, old)
        assert status == 200, claims
        assert claims["exp"] == old_exp
    verify_locally(old, jwks(gw))

    # the old assertion expires, then the old key leaves the JWKS (overlap = ttl + 1 s)
    wait_for(lambda: verify(gw, old)[1].get("code") == "jwt.expired"
             or old_kid not in kids(gw), 8, interval=0.2, what="the old assertion to expire")
    assert old_kid in kids(gw) or time.time() > old_exp + 1, "removed before its assertion expired"
    wait_for(lambda: old_kid not in kids(gw), 8, interval=0.2, what="the old key to be removed")
    status, problem = verify(gw, old)
    assert status == 401 and problem["code"] == "jwt.kid_unknown", problem
    # whatever signs now verifies
    assert verify(gw, assertion())[0] == 200


def test_key_file(procs, tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    from cryptography.hazmat.primitives import serialization
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    (tmp_path / "signing.key").write_bytes(pem)
    app = Echo(procs)
    config = {
        "admin": {"listen": f"127.0.0.1:{free_port()}"},
        "listeners": [{"name": "main", "listen": f"127.0.0.1:{free_port()}",
                       "routes": [route("open", "app", "/", assertion={"audience": "app"})]}],
        "upstreams": {"app": upstream(app.endpoint)},
        "assertion_signing": {"key": str(tmp_path / "signing.key")},
    }
    gw = Gateway(procs, config)
    numbers = key.public_key().public_numbers()
    keys = jwks(gw)
    assert len(keys["keys"]) == 1
    jwk = keys["keys"][0]
    assert b64url_decode(jwk["x"]) == numbers.x.to_bytes(32, "big")
    assert b64url_decode(jwk["y"]) == numbers.y.to_bytes(32, "big")
    resp = curl(gw.url("main", "/", tls=False))
    verify_locally(resp.json()["headers"][HEADER], keys)


@pytest.mark.parametrize("kind", ["p384", "encrypted"])
def test_bad_key_file_refuses_to_start(tmp_path, kind):
    from cryptography.hazmat.primitives import serialization
    from conftest import run_refused
    if kind == "p384":
        pem = ec.generate_private_key(ec.SECP384R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())
    else:
        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"))
    (tmp_path / "signing.key").write_bytes(pem)
    port = free_port()
    config = {
        "listeners": [{"name": "main", "listen": f"127.0.0.1:{port}",
                       "routes": [route("open", "app", "/", assertion={"audience": "app"})]}],
        "upstreams": {"app": upstream("127.0.0.1:9")},
        "assertion_signing": {"key": str(tmp_path / "signing.key")},
    }
    path = tmp_path / "portcullis.yaml"
    path.write_text(json.dumps(config, indent=2) + "\n")
    code, stderr = run_refused(path, port)
    assert code != 0
    assert "assertion_signing.key" in stderr
    assert ("P-256" if kind == "p384" else "encrypted") in stderr, stderr
