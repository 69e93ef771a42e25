"""The gateway decodes certificates' EC keys with OpenSSL's built-in EC method by default (a
full-handshake speed-up, src/pki/ec_key_methods.cpp), and PORTCULLIS_EC_KEYS=provider keeps
OpenSSL's provider path. Both modes must decide the same: the same mTLS verdicts (a good chain,
a tampered signature, a missing intermediate), the same JWT verdicts for EC tokens, ECDHE on every
NIST curve in TLS 1.3 and TLS 1.2, and a signed identity assertion made with a key generated at
start.
"""

import subprocess

import pytest

from conftest import (Echo, Gateway, assert_denial, curl, free_port, mtls_curl, mtls_listener,
                      route, sanitizer_env, upstream)

MODES = ["builtin", "provider"]


@pytest.fixture(scope="module", params=MODES)
def env(request, module_procs, mtls_pki, jwt_tokens):
    app = Echo(module_procs)
    routes = [
        route("jwt", "app", "/jwt/", authn=["tokens"],
              identity_headers={"user": "X-Auth-User"},
              assertion={"header": "X-Portcullis-Assertion", "ttl": "60s",
                         "audience": "backend"}),
        route("mtls", "app", "/", authn=["mtls"], identity_headers={"subject": "X-Client-Subject"}),
    ]
    env = sanitizer_env()
    if request.param == "provider":
        env["PORTCULLIS_EC_KEYS"] = "provider"
    config = {
        "workers": 1,
        "listeners": [mtls_listener("main", free_port(), mtls_pki,
                                    mtls_pki.client_auth("request"), routes)],
        "authenticators": {"tokens": jwt_tokens.authenticator()},
        "assertion_signing": {"issuer": "https://gateway.test/"},
        "upstreams": {"app": upstream(app.endpoint)},
    }
    gw = Gateway(module_procs, config, name=f"ec-{request.param}", env=env)
    return {"gw": gw, "pki": mtls_pki, "tokens": jwt_tokens}


def test_good_client_chain_is_accepted(env):
    resp = mtls_curl(env["pki"], env["gw"].url("main", "/x"), "good-two")
    assert resp.status == 200, resp.text
    assert "CN=bob" in resp.json()["headers"]["x-client-subject"]


@pytest.mark.parametrize("case, code", [("tampered-signature", "mtls.signature_invalid"),
                                        ("missing-intermediate", "mtls.chain_incomplete")])
def test_bad_client_chains_get_the_same_code(env, case, code):
    assert_denial(mtls_curl(env["pki"], env["gw"].url("main", "/x"), case), 400, code)


def test_a_shared_key_never_carries_a_verdict_over(env):
    """The built-in mode shares one decoded key between certificates with the same public key
    (src/pki/ec_public_keys.cpp). The intact and the tampered leaf have the same key: whichever
    came first, each keeps its own verdict, however often it comes back."""
    url = env["gw"].url("main", "/x")
    for _ in range(3):
        assert mtls_curl(env["pki"], url, "tampered-twin-intact").status == 200
        assert_denial(mtls_curl(env["pki"], url, "tampered-signature"), 400,
                      "mtls.signature_invalid")


@pytest.mark.parametrize("name", ["valid-es256", "valid-es384"])
def test_ec_tokens_are_accepted_and_asserted(env, name):
    resp = curl(env["gw"].url("main", "/jwt/x"), *env["tokens"].bearer(name),
                cacert=env["pki"].server_root)
    assert resp.status == 200, resp.text
    headers = resp.json()["headers"]
    assert headers["x-auth-user"] == env["tokens"].tokens[name]["user"]
    assert headers["x-portcullis-assertion"].count(".") == 2


def test_tampered_ec_token_is_refused(env):
    resp = curl(env["gw"].url("main", "/jwt/x"), *env["tokens"].bearer("tampered-signature"),
                cacert=env["pki"].server_root)
    assert_denial(resp, 401, "jwt.signature_invalid")


@pytest.mark.parametrize("tls, group", [("-tls1_3", "P-256"), ("-tls1_3", "P-384"),
                                        ("-tls1_3", "P-521"), ("-tls1_2", "P-256")])
def test_ecdhe_on_each_curve(env, tls, group):
    """The handshake's own key exchange runs through the same EC method."""
    pki = env["pki"]
    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{env['gw'].port('main')}",
           "-servername", "localhost", "-CAfile", pki.server_root, "-verify_return_error",
           "-ign_eof", tls, "-groups", group, "-cert", pki.cert("good-one"),
           "-key", pki.key("good-one")]
    chain = pki.dir / "good-one.chain-only.pem"
    if chain.is_file():
        cmd += ["-cert_chain", str(chain)]
    request = b"GET /x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    out = subprocess.run(cmd, input=request, capture_output=True, timeout=15)
    text = out.stdout.decode("latin-1")
    assert "HTTP/1.1 200 OK" in text, out.stderr.decode("latin-1")[-600:]
