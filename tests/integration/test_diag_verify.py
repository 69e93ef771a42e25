"""`portcullis verify`: the gateway's verdict for every mtls code the corpus can show, the chain
built certificate by certificate, the options (--chain, --intermediates, --crl, --purpose,
--issuer-dn, --at, --depth, --strict), exit codes 0/1/2, and golden text and JSON."""

import json

import pytest

from diag_corpus import AT, Corpus, golden, run


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    return Corpus(tmp_path_factory.mktemp("diag-verify"))


# name -> (cert file, extra args, exit code, code or None, hint fragment)
CASES = {
    "good": ("good.pem", [], 0, None, None),
    "good-with-intermediates": ("leaf-only.pem", ["--intermediates", "intermediates.pem"], 0,
                                None, None),
    "good-with-chain": ("leaf-only.pem", ["--chain", "intermediates.pem"], 0, None, None),
    "good-der": ("leaf.der", ["--chain", "intermediates.pem"], 0, None, None),
    "chain-incomplete": ("leaf-only.pem", [], 1, "mtls.chain_incomplete",
                         "did not send intermediate CN=Diag Intermediate CA"),
    "issuer-untrusted": ("untrusted.pem", [], 1, "mtls.issuer_untrusted",
                         "not in trusted_ca"),
    "self-signed": ("self-signed.pem", [], 1, "mtls.self_signed", "self-signed"),
    "expired": ("expired.pem", [], 1, "mtls.cert_expired", "expired 37 s ago"),
    "not-yet-valid": ("not-yet-valid.pem", [], 1, "mtls.cert_not_yet_valid", "2031-01-03"),
    "purpose": ("server-eku.pem", [], 1, "mtls.purpose_invalid", "EKU has serverAuth only"),
    "purpose-server-accepted": ("server-eku.pem", ["--purpose", "server"], 0, None, None),
    "purpose-any-accepted": ("server-eku.pem", ["--purpose", "any"], 0, None, None),
    "issuer-dn": ("good.pem", ["--issuer-dn"], 1, "mtls.issuer_dn_mismatch",
                  "CN=Diag Intermediate CA"),
    "issuer-dn-accepted": ("good.pem", ["--issuer-dn", "--intermediates", "intermediates.pem"],
                           0, None, None),
    "revoked": ("revoked.pem", ["--crl", "crl-all.pem"], 1, "mtls.cert_revoked", "revoked"),
    "crl-not-revoked": ("good.pem", ["--crl", "crl-all.pem"], 0, None, None),
    "chain-too-long": ("good.pem", ["--depth", "0"], 1, "mtls.chain_too_long", "verify_depth"),
    "signature-invalid": ("tampered.pem", [], 1, "mtls.signature_invalid", "signature"),
    "ca-invalid": ("under-non-ca.pem", ["--ca", "trusted.pem"], 1, "mtls.ca_invalid", "Not A CA"),
    "later-expired": ("good.pem", ["--at", "2100-01-01T00:00:00Z"], 1, "mtls.cert_expired",
                      "expired"),
    "strict": ("good.pem", ["--strict"], 0, None, None),
}


def args_of(corpus: Corpus, name: str) -> list[str]:
    cert, extra, *_ = CASES[name]
    out = ["verify", corpus.path(cert)]
    if "--ca" not in extra:
        out += ["--ca", corpus.path("trusted.pem")]
    if "--at" not in extra:
        out += ["--at", AT]
    for a in extra:
        out.append(corpus.path(a) if a.endswith((".pem", ".der")) else a)
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_verdict_code_and_hint(corpus, name):
    _, _, exit_code, code, hint = CASES[name]
    result = run(*args_of(corpus, name), "--json")
    assert result.returncode == exit_code, (result.stdout, result.stderr)
    report = json.loads(result.stdout)
    assert report["ok"] == (exit_code == 0)
    assert report["code"] == code
    if code is None:
        assert report["verdict"] == "accepted"
        assert report["ssl_client_verify"] == "SUCCESS"
        # the chain built, certificate by certificate, up to the trust anchor
        assert report["chain"][0]["position"] == "leaf"
        assert report["chain"][-1]["position"] == "trust anchor"
        assert report["chain"][-1]["source"] == "trusted_ca"
        assert report["chain"][-1]["subject"] == "CN=Diag Root CA,O=Portcullis Diag"
    else:
        assert report["verdict"] == "rejected"
        assert report["ssl_client_verify"] == f"FAILED:{code}"
        assert hint in report["hint"], report["hint"]
        assert report["fix"] and report["title"]
        assert report["status"] == 400
        assert report["leaf"]["sha256"] and report["leaf"]["subject"]
        assert report["issues"], report


@pytest.mark.parametrize("name", list(CASES))
def test_golden_text(corpus, name):
    result = run(*args_of(corpus, name))
    assert result.returncode == CASES[name][2], result.stderr
    golden(f"verify.{name}.txt", result.stdout, corpus)


@pytest.mark.parametrize("name", ["good", "chain-incomplete", "revoked"])
def test_golden_json(corpus, name):
    golden(f"verify.{name}.json", run(*args_of(corpus, name), "--json").stdout, corpus)


def test_same_verdict_text_as_the_detail(corpus):
    """The text names the same code, reason and hint as the JSON `detail` (the gateway's log)."""
    report = json.loads(run(*args_of(corpus, "chain-incomplete"), "--json").stdout)
    assert report["detail"].startswith("mtls.chain_incomplete: ")
    assert report["hint"] in report["detail"]


def test_pkcs12_client_certificate(corpus):
    result = run("verify", corpus.path("client.p12"), "--ca", corpus.path("trusted.pem"),
                 "--password-file", corpus.path("p12-password.txt"), "--at", AT, "--json")
    assert result.returncode == 0, result.stdout
    assert json.loads(result.stdout)["chain"][1]["source"] == "presented"


def test_refused_trust_bundle_exits_2_with_its_bundle_code(corpus):
    result = run("verify", corpus.path("good.pem"), "--ca", corpus.path("leaves-only.pem"),
                 "--json")
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert report["verdict"] == "error"
    assert report["code"] == "bundle.no_ca_certificate"
    assert report["hint"]
    assert "bundle.no_ca_certificate" in result.stderr


def test_usage_errors_exit_2(corpus, tmp_path):
    assert run("verify", corpus.path("good.pem")).returncode == 2  # --ca is required
    assert run("verify", "--ca", corpus.path("trusted.pem")).returncode == 2
    assert run("verify", str(tmp_path / "nope.pem"), "--ca",
               corpus.path("trusted.pem")).returncode == 2
    assert run("verify", corpus.path("good.pem"), "--ca", corpus.path("trusted.pem"),
               "--purpose", "email").returncode == 2
    assert run("verify", corpus.path("good.pem"), "--ca", corpus.path("trusted.pem"),
               "--at", "2031-01-01T00:00:00").returncode == 2


def test_help():
    result = run("verify", "--help")
    assert result.returncode == 0
    for option in ("--chain", "--ca", "--intermediates", "--crl", "--purpose", "--issuer-dn",
                   "--at", "--depth", "--strict", "--json"):
        assert option in result.stdout
