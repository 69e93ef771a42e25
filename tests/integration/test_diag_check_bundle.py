"""`portcullis check-bundle`: every finding code on the generated corpus (PEM, DER, PKCS#7,
PKCS#12), exit codes 0/1/2, and golden text and JSON output (tests/integration/golden/diag/)."""

import json

import pytest

from diag_corpus import AT, Corpus, golden, run


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    return Corpus(tmp_path_factory.mktemp("diag-corpus"))


# file -> (extra args, exit code, {code: severity} that must be reported)
CASES = {
    "clean.pem": ([], 0, {}),
    "empty.pem": ([], 1, {"bundle.empty": "error"}),
    "whitespace.pem": ([], 1, {"bundle.empty": "error"}),
    "with-key.pem": ([], 1, {"bundle.private_key_present": "error"}),
    "with-rsa-key.pem": ([], 1, {"bundle.private_key_present": "error"}),
    "broken-base64.pem": ([], 1, {"bundle.invalid_data": "error",
                                  "bundle.no_ca_certificate": "error"}),
    "garbage-between.pem": ([], 1, {"bundle.invalid_data": "error"}),
    "empty-pair.pem": ([], 1, {"bundle.invalid_data": "error"}),
    "not-pem.txt": ([], 1, {"bundle.invalid_data": "error", "bundle.no_ca_certificate": "error"}),
    "leaves-only.pem": ([], 1, {"bundle.no_ca_certificate": "error",
                                "bundle.leaf_certificate": "warning"}),
    "two-roots.pem": ([], 0, {"bundle.root_count": "warning", "bundle.multiple_chains": "warning"}),
    "no-root.pem": ([], 0, {"bundle.root_count": "warning", "bundle.issuer_missing": "warning"}),
    "expired-ca.pem": ([], 0, {"bundle.ca_expired": "warning"}),
    "not-yet-valid-ca.pem": ([], 0, {"bundle.ca_not_yet_valid": "warning"}),
    "expiring-ca.pem": ([], 0, {"bundle.ca_expiring": "warning"}),
    "leaf-in-bundle.pem": ([], 0, {"bundle.leaf_certificate": "warning"}),
    "no-keycertsign.pem": ([], 0, {"bundle.ca_without_key_cert_sign": "warning"}),
    "duplicate.pem": ([], 0, {"bundle.duplicate_certificate": "warning"}),
    "several-chains.pem": ([], 0, {"bundle.multiple_chains": "warning"}),
    "sha1.pem": ([], 0, {"bundle.weak_signature": "warning"}),
    "rsa1024.pem": ([], 0, {"bundle.rsa_key_too_small": "warning"}),
    "no-ski-aki.pem": ([], 0, {"bundle.missing_ski": "warning", "bundle.missing_aki": "warning"}),
    "many-cas.pem": ([], 0, {"bundle.ca_names_size": "warning"}),
    "root.der": ([], 0, {"bundle.format_not_pem": "warning"}),
    "bundle.p7b": ([], 0, {"bundle.format_not_pem": "warning"}),
    "bundle-p7b.pem": ([], 0, {}),
    "cas-only.p12": ([], 0, {"bundle.format_not_pem": "warning"}),
    "client.p12": (["--password-file", "p12-password.txt"], 1,
                   {"bundle.private_key_present": "error", "bundle.leaf_certificate": "warning"}),
    # --one-root: Azure's rule, root_count becomes an error
    "two-roots.pem --one-root": (["--one-root"], 1, {"bundle.root_count": "error"}),
    "no-root.pem --one-root": (["--one-root"], 1, {"bundle.root_count": "error"}),
}


def args_of(corpus: Corpus, case: str) -> list[str]:
    file = case.split(" ")[0]
    extra = [corpus.path(a) if a.endswith(".txt") else a for a in CASES[case][0]]
    return ["check-bundle", corpus.path(file), "--at", AT, *extra]


def golden_name(case: str, suffix: str) -> str:
    return "check-bundle." + case.replace(" --", ".").replace(" ", "_") + suffix


@pytest.mark.parametrize("case", list(CASES))
def test_findings_and_exit_code(corpus, case):
    _, exit_code, expected = CASES[case]
    result = run(*args_of(corpus, case), "--json")
    assert result.returncode == exit_code, (result.stdout, result.stderr)
    report = json.loads(result.stdout)
    found = {}
    for f in report["findings"]:
        found.setdefault(f["code"], f["severity"])
        # every finding: code, severity, certificate or line, message and a fix
        assert f["fix"] and f["message"], f
        if f["certificate"] is not None:
            assert set(f["certificate"]) == {"index", "subject", "sha256"}
            assert len(f["certificate"]["sha256"]) == 64
    for code, severity in expected.items():
        assert found.get(code) == severity, (code, found)
    if not expected:
        assert report["findings"] == [], report["findings"]
    assert report["ok"] == (exit_code == 0)
    assert report["errors"] == sum(1 for f in report["findings"] if f["severity"] == "error")


@pytest.mark.parametrize("case", [c for c in CASES if c != "many-cas.pem"])  # 160 CAs: too big
def test_golden_text(corpus, case):
    result = run(*args_of(corpus, case))
    assert result.returncode == CASES[case][1], result.stderr
    golden(golden_name(case, ".txt"), result.stdout, corpus)


@pytest.mark.parametrize("case", ["clean.pem", "garbage-between.pem", "leaf-in-bundle.pem",
                                  "client.p12"])
def test_golden_json(corpus, case):
    result = run(*args_of(corpus, case), "--json")
    golden(golden_name(case, ".json"), result.stdout, corpus)


def test_invalid_data_names_the_line(corpus):
    report = json.loads(run(*args_of(corpus, "garbage-between.pem"), "--json").stdout)
    lines = [f["line"] for f in report["findings"] if f["code"] == "bundle.invalid_data"]
    root_lines = len(corpus.root.pem().splitlines())
    assert lines == [root_lines + 1]
    broken = json.loads(run(*args_of(corpus, "broken-base64.pem"), "--json").stdout)
    # the body line that lost a character (line 4 of the file)
    assert [f["line"] for f in broken["findings"] if f["code"] == "bundle.invalid_data"] == [4]


def test_pkcs12_without_password_is_reported(corpus):
    # No terminal under pytest: no prompt, the archive stays closed.
    result = run("check-bundle", corpus.path("client.p12"), "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert [f["code"] for f in report["findings"] if f["severity"] == "error"] == [
        "bundle.invalid_data", "bundle.no_ca_certificate"]
    assert "--password-file" in report["findings"][0]["message"]


def test_usage_errors_exit_2(corpus, tmp_path):
    result = run("check-bundle", str(tmp_path / "missing.pem"))
    assert result.returncode == 2
    assert "cannot read" in result.stderr
    result = run("check-bundle", str(tmp_path / "missing.pem"), "--json")
    assert result.returncode == 2
    assert json.loads(result.stdout)["ok"] is False
    assert run("check-bundle").returncode == 2
    assert run("check-bundle", corpus.path("clean.pem"), "--at", "tomorrow").returncode == 2
    assert run("check-bundle", corpus.path("clean.pem"), "--bogus").returncode == 2


def test_help():
    result = run("check-bundle", "--help")
    assert result.returncode == 0
    for option in ("--one-root", "--json", "--at", "--password-file"):
        assert option in result.stdout
