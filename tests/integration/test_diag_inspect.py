"""`portcullis inspect`: certificates, keys (never their material), CSRs, CRLs and chains of PEM,
DER, PKCS#7 and PKCS#12 files; exit codes 0/1/2; golden text and JSON."""

import json
import subprocess

import pytest

from diag_corpus import AT, Corpus, golden, key_pem, run


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    return Corpus(tmp_path_factory.mktemp("diag-inspect"))


# file -> (extra args, exit code, object kinds in order)
CASES = {
    "good.pem": ([], 0, ["certificate", "certificate"]),
    "mixed.pem": ([], 0, ["certificate", "certificate request", "CRL", "private key"]),
    "root.der": ([], 0, ["certificate"]),
    "bundle.p7b": ([], 0, ["certificate", "certificate"]),
    "client.p12": (["--password-file", "p12-password.txt"], 0,
                   ["private key", "certificate", "certificate"]),
    "garbage-between.pem": ([], 1, ["certificate", "certificate"]),
    "sha1.pem": ([], 0, ["certificate", "certificate"]),
}


def args_of(corpus: Corpus, file: str) -> list[str]:
    extra = [corpus.path(a) if a.endswith(".txt") else a for a in CASES[file][0]]
    return ["inspect", corpus.path(file), "--at", AT, *extra]


@pytest.mark.parametrize("file", list(CASES))
def test_objects(corpus, file):
    _, exit_code, kinds = CASES[file]
    result = run(*args_of(corpus, file), "--json")
    assert result.returncode == exit_code, (result.stdout, result.stderr)
    report = json.loads(result.stdout)
    assert [o["kind"] for o in report["objects"]] == kinds
    assert report["ok"] == (exit_code == 0)


@pytest.mark.parametrize("file", list(CASES))
def test_golden_text(corpus, file):
    result = run(*args_of(corpus, file))
    golden(f"inspect.{file}.txt", result.stdout, corpus)


@pytest.mark.parametrize("file", ["mixed.pem", "client.p12"])
def test_golden_json(corpus, file):
    golden(f"inspect.{file}.json", run(*args_of(corpus, file), "--json").stdout, corpus)


def test_certificate_facts_and_chain(corpus):
    report = json.loads(run(*args_of(corpus, "good.pem"), "--json").stdout)
    leaf = report["objects"][0]["certificate"]
    assert leaf["subject"] == "CN=diag-client,O=Portcullis Diag"
    assert leaf["serial"] == "1003"
    assert leaf["not_after"] == "2099-01-01T00:00:00Z"
    assert leaf["validity"] == "expires in 24837 days"
    assert leaf["key_type"] == "RSA 2048"
    assert leaf["signature_algorithm"] == "sha256WithRSAEncryption"
    assert leaf["extended_key_usage"] == ["clientAuth"]
    assert leaf["key_usage"] == ["digitalSignature"]
    assert leaf["basic_constraints"] == {"critical": True, "ca": False, "path_len": None}
    assert leaf["subject_key_id"] and leaf["authority_key_id"]
    inter = report["objects"][1]["certificate"]
    assert inter["basic_constraints"]["path_len"] == 0
    assert report["chains"] == [{"certificates": [1, 2], "ends_at_root": False,
                                 "missing_issuer": "CN=Diag Root CA,O=Portcullis Diag"}]


def test_key_is_matched_never_printed(corpus):
    result = run(*args_of(corpus, "mixed.pem"))
    key_body = (corpus.dir / "mixed.pem").read_text().split(
        "-----BEGIN PRIVATE KEY-----\n")[1].splitlines()[0]
    assert key_body not in result.stdout
    report = json.loads(run(*args_of(corpus, "mixed.pem"), "--json").stdout)
    key = report["objects"][3]["key"]
    assert key == {"private": True, "encrypted": False, "type": "RSA 2048",
                   "matches_certificates": [1]}
    assert key_body not in json.dumps(report)
    csr = report["objects"][1]["request"]
    assert csr["sans"] == ["DNS:csr.example"] and csr["signature_valid"] is True
    crl = report["objects"][2]["crl"]
    assert crl["revoked"] == 1 and crl["crl_number"] == "09" and crl["expired"] is False


def test_pkcs12_without_password_exits_1(corpus):
    result = run("inspect", corpus.path("client.p12"), "--json")
    assert result.returncode == 1
    assert "--password-file" in json.loads(result.stdout)["problems"][0]["message"]


def test_usage_errors_exit_2(tmp_path):
    assert run("inspect", str(tmp_path / "missing.pem")).returncode == 2
    assert run("inspect").returncode == 2


def test_help():
    result = run("inspect", "--help")
    assert result.returncode == 0
    for option in ("--json", "--password-file", "--at"):
        assert option in result.stdout


def test_legacy_pkcs12(corpus, tmp_path):
    """Archives from older tools (RC2-40, 3DES) open through OpenSSL's legacy provider."""
    key = tmp_path / "key.pem"
    key.write_text(key_pem(corpus.leaf.key))
    p12 = tmp_path / "legacy.p12"
    subprocess.run(["openssl", "pkcs12", "-export", "-legacy", "-in", corpus.path("good.pem"),
                    "-inkey", str(key), "-out", str(p12), "-passout", "pass:old-tool"],
                   check=True, capture_output=True)
    (tmp_path / "pw.txt").write_text("old-tool\n")
    result = run("inspect", str(p12), "--password-file", str(tmp_path / "pw.txt"), "--json")
    assert result.returncode == 0, (result.stdout, result.stderr)
    kinds = [o["kind"] for o in json.loads(result.stdout)["objects"]]
    assert kinds == ["private key", "certificate", "certificate"], kinds
