"""JWT keys fetched from a JWKS url (`jwks: {url, ca}`), served by a real local HTTPS server the
tests control (tests/integration/service.py): the first fetch at start, the periodic refresh, a
refresh on an unknown kid at most once per interval (kid rotation), and jwt.jwks_unavailable
(503 + Retry-After, the fetch error in the detail) when the JWKS cannot be fetched: closed port,
untrusted CA, HTTP error, not a JWKS, plain HTTP on the url's port; recovery once it can.
"""

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (Echo, Gateway, assert_denial, binary, curl, free_port, listener, route,
                      sanitizer_env, upstream, wait_for)
from service import Reply, Service

IDENTITY = {"user": "X-Auth-User"}


class Keys:
    """What the JWKS service serves; a test swaps `document` or `status`."""

    def __init__(self, document: bytes):
        self.document = document
        self.status = 200

    def __call__(self, request):
        return Reply(self.status, self.document, {"Content-Type": "application/json"})


@pytest.fixture(scope="module")
def base(module_procs, pki, jwt_tokens):
    return {"procs": module_procs, "pki": pki, "tokens": jwt_tokens,
            "app": Echo(module_procs)}


def start_service(base, tls: bool = True, document: str = "jwks") -> tuple[Service, Keys]:
    keys = Keys(Path(base["tokens"].path(f"{document}.json")).read_bytes())
    pki = base["pki"]
    service = base["procs"].add(Service(keys, cert=pki.chain if tls else None,
                                        key=pki.key if tls else None))
    return service, keys


def gateway(base, url: str, name: str, ca: str | None = None, interval: str = "1h",
            timeout: str = "2s") -> Gateway:
    pki = base["pki"]
    authenticator = base["tokens"].authenticator()
    authenticator["jwks"] = {"url": url, "ca": ca or pki.root, "refresh_interval": interval,
                             "timeout": timeout}
    config = {
        "workers": 1,
        "listeners": [listener("main", free_port(),
                               [route("jwt", "app", "/jwt/", authn=["tokens"],
                                      identity_headers=IDENTITY)], pki=pki)],
        "authenticators": {"tokens": authenticator},
        "upstreams": {"app": upstream(base["app"].endpoint)},
    }
    return Gateway(base["procs"], config, name=name)


def call(base, gw: Gateway, token: str):
    return curl(gw.url("main", "/jwt/x"), "-H",
                f"Authorization: Bearer {base['tokens'].token(token)}",
                cacert=base["pki"].root)


def test_keys_are_fetched_at_start_and_used(base):
    service, _ = start_service(base)
    gw = gateway(base, service.url("/.well-known/jwks.json"), "fetch")
    assert service.count("/.well-known/jwks.json") == 1
    seen = service.seen[0]
    assert seen.method == "GET" and "json" in seen.headers["accept"]
    r = call(base, gw, "valid-rs256")
    assert r.status == 200, r.text
    assert r.json()["headers"]["x-auth-user"] == "alice"
    r = call(base, gw, "valid-es256")
    assert r.status == 200
    assert service.count() == 1, "known kids must not cause fetches"
    assert re.search(r"authenticators\.tokens: fetched \d+ key\(s\) from https://127\.0\.0\.1",
                     gw.proc.stderr())


def test_unknown_kid_refetches_at_most_once_per_interval(base):
    service, keys = start_service(base)
    gw = gateway(base, service.url("/keys"), "rotation", interval="3s")
    assert service.count() == 1
    # The issuer rotates: rsa-2 appears in the JWKS; the gateway has not seen it yet.
    keys.document = Path(base["tokens"].path("jwks-rotated.json")).read_bytes()
    r = call(base, gw, "rotated-rs256")
    assert r.status == 200, r.text
    assert service.count() == 2, "one fetch for the unknown kid"
    # A kid in no JWKS: the refresh interval has not passed, so no new fetch.
    r = call(base, gw, "kid-unknown")
    assert_denial(r, 401, "jwt.kid_unknown")
    assert service.count() == 2, "a second unknown kid within the interval must not fetch"
    # A flood of made-up kids is still one fetch per interval.
    for _ in range(5):
        call(base, gw, "kid-unknown")
    assert service.count() == 2
    # After the interval, an unknown kid may fetch again (the periodic refresh may fetch too).
    time.sleep(3.2)
    before = service.count()
    r = call(base, gw, "kid-unknown")
    assert_denial(r, 401, "jwt.kid_unknown")
    assert service.count() <= before + 1


def test_periodic_refresh_replaces_the_keys(base):
    service, keys = start_service(base)
    gw = gateway(base, service.url("/keys"), "periodic", interval="1s")
    keys.document = Path(base["tokens"].path("jwks-rotated.json")).read_bytes()
    wait_for(lambda: service.count() >= 3, 10, what="periodic fetches")
    # rsa-1 is gone from the served JWKS: its tokens now name an unknown kid.
    r = call(base, gw, "valid-rs256")
    assert_denial(r, 401, "jwt.kid_unknown")
    assert call(base, gw, "rotated-rs256").status == 200


def unavailable(r, *fragments):
    body = assert_denial(r, 503, "jwt.jwks_unavailable")
    assert r.header("Retry-After") and int(r.header("Retry-After")) >= 1, r.header_list
    detail = body.get("detail", "")
    for fragment in fragments:
        assert fragment in detail, detail
    return detail


def test_unreachable_jwks_is_unavailable_with_the_error(base):
    port = free_port()  # nothing listens here
    gw = gateway(base, f"https://127.0.0.1:{port}/keys", "unreachable")
    assert "fetching https://127.0.0.1" in gw.proc.stderr()
    detail = unavailable(call(base, gw, "valid-rs256"), f"127.0.0.1:{port}", "refused")
    assert base["tokens"].token("valid-rs256") not in detail
    # No credential at all is still a 401 challenge, not a 503.
    r = curl(gw.url("main", "/jwt/x"), cacert=base["pki"].root)
    assert_denial(r, 401, "authn.required")


def test_recovers_when_the_jwks_comes_back(base):
    service, keys = start_service(base)
    keys.status = 500
    gw = gateway(base, service.url("/keys"), "recover", interval="1s")
    unavailable(call(base, gw, "valid-rs256"), "HTTP 500")
    keys.status = 200
    wait_for(lambda: call(base, gw, "valid-rs256").status == 200, 10,
             what="keys fetched after the JWKS recovered")


def test_untrusted_certificate(base):
    service, _ = start_service(base)
    # The client-certificate CA did not sign the JWKS server's certificate.
    gw = gateway(base, service.url("/keys"), "untrusted",
                 ca=base["pki"].path("client-ca-bundle.pem"))
    unavailable(call(base, gw, "valid-rs256"), "certificate verification failed",
                "the server presented:")


def test_wrong_path_and_not_a_jwks(base):
    def respond(request):
        if request.path == "/keys":
            return Reply(200, b'{"hello": "world"}', {"Content-Type": "application/json"})
        return Reply(404, b"not found")
    service = base["procs"].add(Service(respond, cert=base["pki"].chain, key=base["pki"].key))
    gw = gateway(base, service.url("/Keys"), "notfound")
    unavailable(call(base, gw, "valid-rs256"), "HTTP 404", "check the path")
    gw2 = gateway(base, service.url("/keys"), "notjwks")
    unavailable(call(base, gw2, "valid-rs256"), service.url("/keys"))


def test_plain_http_server_on_an_https_url(base):
    service, _ = start_service(base, tls=False)
    gw = gateway(base, f"https://127.0.0.1:{service.port}/keys", "mismatch")
    unavailable(call(base, gw, "valid-rs256"), "plain HTTP")


def test_check_config_does_not_fetch(base, tmp_path):
    service, _ = start_service(base)
    gw_config = {
        "listeners": [listener("main", free_port(), [], pki=base["pki"])],
        "authenticators": {"tokens": {**base["tokens"].authenticator(),
                                      "jwks": {"url": service.url("/keys"),
                                               "ca": base["pki"].root}}},
    }
    path = tmp_path / "gw.yaml"
    path.write_text(json.dumps(gw_config))
    r = subprocess.run([binary(), "check-config", "-c", str(path)], capture_output=True,
                       text=True, timeout=30, env=sanitizer_env())
    assert r.returncode == 0, r.stderr
    assert service.count() == 0
    # A CA file that does not exist is a configuration error naming the key.
    gw_config["authenticators"]["tokens"]["jwks"]["ca"] = str(tmp_path / "missing.pem")
    path.write_text(json.dumps(gw_config))
    r = subprocess.run([binary(), "check-config", "-c", str(path)], capture_output=True,
                       text=True, timeout=30, env=sanitizer_env())
    assert r.returncode != 0
    assert "authenticators.tokens.jwks.ca" in r.stderr, r.stderr
