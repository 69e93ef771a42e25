"""Every mtls.* code through `require` mode with real curl (TLS 1.2 and 1.3): the status
(denial_status 400 by default, 403 when configured), X-Denial-Code, the problem+json `code`, the
near-miss hint in detailed mode and its absence with `errors.detail: never`, the access-log fields
(ssl_client_verify FAILED:<code>, the presented leaf's subject/issuer/serial/sha256); successes
(SUCCESS, auth_method mtls, user = CN); verify_depth and the `intermediates` file.

The certificates come from tests/tools/make_test_pki.cpp (manifest.json names the code of each
case on the listener profile it is meant for).
"""

import pytest

from conftest import (Echo, Gateway, assert_denial, free_port, mtls_curl, mtls_listener, route,
                      s_client, upstream)

CLIENT_ROOT = "CN=Portcullis Test Client Root,O=Portcullis Tests"
PARTNER_ROOT = "CN=Portcullis Test Partner Root,O=Portcullis Tests"
ISSUING_A = "CN=Portcullis Test Issuing CA A,O=Portcullis Tests"

# case (None = no certificate) -> (listener profile, code, hint phrases of the detail)
FAILURES = {
    None: ("require", "mtls.cert_missing",
           [f"the server advertised these CA names: '{CLIENT_ROOT}', '{PARTNER_ROOT}'",
            "clients only offer certificates issued by one of them"]),
    "missing-intermediate": ("require", "mtls.chain_incomplete",
                             [f"the client did not send intermediate {ISSUING_A} and it is not in "
                              "trusted_ca or intermediates",
                              f"add {ISSUING_A} to intermediates"]),
    "untrusted-root": ("require", "mtls.issuer_untrusted",
                       ["the chain ends at root CN=Portcullis Test Untrusted Root,O=Portcullis "
                        "Tests", "which is not in trusted_ca"]),
    "self-signed": ("require", "mtls.self_signed",
                    ["CN=self-signed-client,O=Portcullis Tests is self-signed"]),
    "expired": ("require", "mtls.cert_expired",
                ["the client certificate CN=expired-client,O=Portcullis Tests expired 2 days ago "
                 "at ", "renew it"]),
    "not-yet-valid": ("require", "mtls.cert_not_yet_valid",
                      ["CN=future-client,O=Portcullis Tests is not valid until ", "(in 3 days)"]),
    "expired-intermediate": ("require", "mtls.cert_expired",
                             ["intermediate CA CN=Portcullis Test Expired CA,O=Portcullis Tests "
                              "(depth 1) expired 10 days ago"]),
    "eku-server-only": ("require", "mtls.purpose_invalid",
                        ["EKU has serverAuth only", "issue one whose EKU includes clientAuth"]),
    "issuer-dn-mismatch": ("issuer_dn", "mtls.issuer_dn_mismatch",
                           ["issuer DN 'CN=Portcullis Test Issuing CA Other,O=Portcullis Tests' "
                            "differs from every configured CA subject",
                            f"closest: '{ISSUING_A}'"]),
    "revoked": ("crl", "mtls.cert_revoked",
                ["(serial 2B0C) is listed as revoked in the CRL of " + ISSUING_A]),
    "good-one@crl_expired": ("crl_expired", "mtls.cert_invalid",
                             [f"the CRL of {ISSUING_A} expired 3 days ago",
                              "cannot be checked, so it is rejected"]),
    "too-deep": ("require", "mtls.chain_too_long",
                 ["more intermediate CA certificates than verify_depth 2 allows"]),
    "intermediate-not-ca": ("require", "mtls.ca_invalid",
                            ["CN=Portcullis Test Not A CA,O=Portcullis Tests (depth 1) issues "
                             "certificates but is not a CA (basicConstraints CA:FALSE)"]),
    "path-length": ("require", "mtls.ca_invalid", ["has pathLenConstraint 0"]),
    "trusted-leaf-itself": ("trusted_leaf", "mtls.self_signed",
                            ["this certificate is itself in trusted_ca: a leaf in the CA bundle "
                             "is not a trust anchor for others"]),
    "signed-by-trusted-leaf": ("trusted_leaf", "mtls.issuer_untrusted",
                               ["the issuer CN=leaf-in-bundle,O=Portcullis Tests of "
                                "CN=ivan,O=Portcullis Tests is in trusted_ca but is not a CA"]),
    "tampered-signature": ("require", "mtls.signature_invalid",
                           ["does not verify with the public key of its issuer " + ISSUING_A]),
    "anchor-as-leaf": ("require", "mtls.cert_invalid",
                       [f"the client presented {PARTNER_ROOT}, a CA certificate of trusted_ca, "
                        "as its own certificate"]),
}

SUCCESSES = ["good-one", "good-two", "no-eku", "tampered-twin-intact"]


def case_file(case: str | None) -> str | None:
    """"good-one@crl_expired" -> "good-one" (a case on another profile than its own)."""
    return case.split("@")[0] if case else None


@pytest.fixture(scope="module")
def env(module_procs, mtls_pki):
    app = Echo(module_procs)
    p = mtls_pki
    routes = [route("all", "app", "/")]
    profiles = ["require", "issuer_dn", "crl", "crl_expired", "trusted_leaf"]
    listeners = [mtls_listener(name, free_port(), p, p.client_auth("require", name), routes)
                 for name in profiles]
    # request mode: only the route that lists mtls needs the certificate
    both = [route("secure", "app", "/secure/", authn=["mtls"]), route("open", "app", "/")]
    listeners += [mtls_listener(f"req_{name}", free_port(), p, p.client_auth("request", name),
                                both) for name in profiles]
    listeners += [
        mtls_listener("status403", free_port(), p, p.client_auth("require", denial_status=403),
                      routes),
        mtls_listener("with_intermediates", free_port(), p,
                      p.client_auth("require", intermediates=p.file("intermediates_a")), routes),
        mtls_listener("depth1", free_port(), p, p.client_auth("require", verify_depth=1), routes),
        mtls_listener("depth3", free_port(), p, p.client_auth("require", verify_depth=3), routes),
        mtls_listener("no_eku_check", free_port(), p,
                      p.client_auth("require", require_client_auth_eku=False), routes),
    ]
    ups = {"app": upstream(app.endpoint)}
    local = Gateway(module_procs, {"workers": 1, "listeners": listeners, "upstreams": ups},
                    name="local")
    never = Gateway(module_procs, {
        "workers": 1, "errors": {"detail": "never"}, "upstreams": ups,
        "listeners": [mtls_listener(name, free_port(), p, p.client_auth("require", name), routes)
                      for name in profiles]}, name="never")
    return {"local": local, "never": never, "pki": p}


def get(env, gw: str, listener: str, case: str | None, path: str = "/x", tls: str | None = None,
        *args):
    return mtls_curl(env["pki"], env[gw].url(listener, path), case_file(case), *args, tls=tls)


def assert_cert_fields(entry: dict, pki, case: str | None):
    if case is None:
        for field in ("client_subject", "client_issuer", "client_serial", "client_sha256"):
            assert entry[field] == "", (field, entry)
        return
    c = pki.cases[case_file(case)]
    assert entry["client_subject"] == c["subject"], entry
    assert entry["client_issuer"] == c["issuer"], entry
    assert entry["client_serial"] == c["serial"], entry
    assert entry["client_sha256"] == pki.sha256(case_file(case)), entry


def test_manifest_codes_match_this_table(mtls_pki):
    """The generator's manifest and the table here agree on every case."""
    for case, (profile, code, _) in FAILURES.items():
        if case is None or "@" in case:
            continue
        assert mtls_pki.cases[case]["profile"] == profile, case
        assert mtls_pki.cases[case]["code"] == code, case
    for case in SUCCESSES:
        assert mtls_pki.cases[case]["code"] == "ok"
    covered = {case_file(c) for c in FAILURES if c} | set(SUCCESSES) | {"issuer-dn-canonical"}
    assert covered == set(mtls_pki.cases), set(mtls_pki.cases) ^ covered


@pytest.mark.parametrize("tls", ["1.3", "1.2"])
@pytest.mark.parametrize("case", list(FAILURES), ids=lambda c: c or "no-certificate")
def test_failure_is_an_explained_denial(env, case, tls):
    profile, code, phrases = FAILURES[case]
    resp = get(env, "local", profile, case, f"/denied/{tls}", tls)
    body = assert_denial(resp, 400, code)
    for phrase in phrases:
        assert phrase in body["detail"], (phrase, body["detail"])
    # the detail also carries the presented leaf's facts
    if case is not None:
        c = env["pki"].cases[case_file(case)]
        assert f"leaf subject='{c['subject']}'" in body["detail"]
        assert f"serial={c['serial']}" in body["detail"]

    entry = env["local"].log_entry(resp.header("X-Request-Id"))
    assert entry["status"] == 400
    assert entry["code"] == code
    assert entry["listener"] == profile
    assert entry["route"] == "all"
    assert entry["upstream"] == "" and entry["upstream_status"] is None
    assert entry["tls_version"] == f"TLSv{tls}"
    expected_verify = "NONE" if case is None else f"FAILED:{code}"
    assert entry["ssl_client_verify"] == expected_verify, entry
    assert_cert_fields(entry, env["pki"], case)
    assert entry["auth_method"] == "" and entry["user"] == "", entry
    for phrase in phrases:
        assert phrase in entry["detail"], (phrase, entry["detail"])


@pytest.mark.parametrize("tls", ["1.3", "1.2"])
@pytest.mark.parametrize("case", list(FAILURES), ids=lambda c: c or "no-certificate")
def test_s_client_gets_the_same_denial(env, case, tls):
    """openssl s_client sends the chain its own way (-cert, -cert_chain): same verdicts."""
    profile, code, phrases = FAILURES[case]
    out = s_client(env["pki"], env["local"].port(profile), case_file(case), tls=tls)
    assert out.alert is None, out.stderr
    assert out.http_status == 400, out.output
    assert out.http_header("X-Denial-Code") == code
    body = out.json()
    assert body["code"] == code
    assert phrases[0] in body["detail"]


@pytest.mark.parametrize("case", list(FAILURES), ids=lambda c: c or "no-certificate")
def test_request_mode_denies_on_mtls_routes_only(env, case):
    profile, code, phrases = FAILURES[case]
    listener = f"req_{profile}"
    body = assert_denial(get(env, "local", listener, case, "/secure/x"), 400, code)
    assert phrases[0] in body["detail"]
    resp = get(env, "local", listener, case, "/open")
    assert resp.status == 200, resp.text
    entry = env["local"].log_entry(resp.header("X-Request-Id"))
    assert entry["route"] == "open"
    assert entry["ssl_client_verify"] == ("NONE" if case is None else f"FAILED:{code}")
    assert_cert_fields(entry, env["pki"], case)
    assert entry["auth_method"] == "" and entry["user"] == ""


@pytest.mark.parametrize("case", list(FAILURES), ids=lambda c: c or "no-certificate")
def test_generic_mode_hides_the_hint_but_logs_it(env, case):
    profile, code, phrases = FAILURES[case]
    resp = get(env, "never", profile, case, "/generic")
    body = assert_denial(resp, 400, code)
    assert "detail" not in body, body
    for phrase in phrases:
        assert phrase not in resp.text
    if case is not None:
        c = env["pki"].cases[case_file(case)]
        assert c["subject"] not in resp.text
        assert c["serial"] not in resp.text
    entry = env["never"].log_entry(resp.header("X-Request-Id"))
    assert entry["code"] == code
    assert entry["ssl_client_verify"] == ("NONE" if case is None else f"FAILED:{code}")
    assert_cert_fields(entry, env["pki"], case)
    for phrase in phrases:
        assert phrase in entry["detail"]


@pytest.mark.parametrize("case,code", [(None, "mtls.cert_missing"),
                                       ("expired", "mtls.cert_expired"),
                                       ("eku-server-only", "mtls.purpose_invalid")])
def test_denial_status_is_configurable(env, case, code):
    resp = get(env, "local", "status403", case)
    body = assert_denial(resp, 403, code)
    assert body["status"] == 403
    assert env["local"].log_entry(resp.header("X-Request-Id"))["status"] == 403


def test_html_denial_carries_code_and_hint(env):
    resp = get(env, "local", "require", "expired", "/html", None, "-H", "Accept: text/html")
    assert resp.status == 400
    assert resp.header("X-Denial-Code") == "mtls.cert_expired"
    assert resp.header("Content-Type").startswith("text/html")
    assert "mtls.cert_expired" in resp.text
    assert "expired 2 days ago" in resp.text


@pytest.mark.parametrize("tls", ["1.3", "1.2"])
@pytest.mark.parametrize("case", SUCCESSES)
def test_valid_certificate_is_forwarded_with_identity(env, case, tls):
    resp = get(env, "local", "require", case, f"/ok/{case}", tls)
    assert resp.status == 200, resp.text
    assert resp.header("X-Denial-Code") is None
    assert resp.json()["path"] == f"/ok/{case}"
    entry = env["local"].log_entry(resp.header("X-Request-Id"))
    assert entry["status"] == 200 and entry["code"] == "ok"
    assert entry["ssl_client_verify"] == "SUCCESS"
    assert entry["tls_version"] == f"TLSv{tls}"
    assert_cert_fields(entry, env["pki"], case)
    assert entry["auth_method"] == "mtls"
    cn = env["pki"].cases[case]["subject"].split(",")[0].removeprefix("CN=")
    assert entry["user"] == cn


@pytest.mark.parametrize("case", ["issuer-dn-mismatch", "revoked"])
def test_cases_of_other_profiles_pass_where_their_check_is_off(env, case):
    """The DN and CRL cases are valid chains: only verify_issuer_dn / crl reject them."""
    resp = get(env, "local", "require", case)
    assert resp.status == 200, resp.text


def test_issuer_dn_profile_accepts_a_configured_issuer(env):
    assert get(env, "local", "issuer_dn", "good-one").status == 200
    # the same issuer written in upper case: DNs compare canonically (RFC 5280 7.1)
    for listener in ("issuer_dn", "require"):
        resp = get(env, "local", listener, "issuer-dn-canonical")
        assert resp.status == 200, (listener, resp.text)
    # Issuing CA B is sent by the client but configured nowhere: the DN check names it
    body = assert_denial(get(env, "local", "issuer_dn", "good-two"), 400,
                         "mtls.issuer_dn_mismatch")
    assert "issuer DN 'CN=Portcullis Test Issuing CA B,O=Portcullis Tests'" in body["detail"]


def test_crl_profile_accepts_unrevoked_chains(env):
    """CRL_CHECK_ALL: every CA of the chain has its CRL in crl-all.pem."""
    for case in ("good-one", "good-two"):
        assert get(env, "local", "crl", case).status == 200, case


def test_crl_expired_for_an_intermediate_names_its_depth(env):
    body = assert_denial(get(env, "local", "crl_expired", "good-two"), 400, "mtls.cert_invalid")
    assert f"the CRL of {ISSUING_A} expired" in body["detail"]
    assert "intermediate CA CN=Portcullis Test Issuing CA B,O=Portcullis Tests (depth 1)" in \
        body["detail"]


def test_leaf_only_works_when_intermediates_has_the_missing_ca(env):
    resp = get(env, "local", "with_intermediates", "missing-intermediate")
    assert resp.status == 200, resp.text
    entry = env["local"].log_entry(resp.header("X-Request-Id"))
    assert entry["ssl_client_verify"] == "SUCCESS"
    assert entry["user"] == "carol"
    # the file does not make other failures pass
    assert_denial(get(env, "local", "with_intermediates", "untrusted-root"), 400,
                  "mtls.issuer_untrusted")


def test_verify_depth_counts_intermediates(env):
    # depth 1: one intermediate passes, two do not
    assert get(env, "local", "depth1", "good-one").status == 200
    body = assert_denial(get(env, "local", "depth1", "good-two"), 400, "mtls.chain_too_long")
    assert "verify_depth 1" in body["detail"]
    # depth 2 (the require profile): two pass, three do not; depth 3: three pass
    assert get(env, "local", "require", "good-two").status == 200
    assert_denial(get(env, "local", "require", "too-deep"), 400, "mtls.chain_too_long")
    assert get(env, "local", "depth3", "too-deep").status == 200


def test_eku_check_can_be_turned_off(env):
    assert get(env, "local", "no_eku_check", "eku-server-only").status == 200
    assert get(env, "local", "no_eku_check", "good-one").status == 200
