"""`portcullis explain`: every knowledge-base entry is found from its canonical text and from a
variant (re-cased, re-wrapped, with other numbers and names where the entry has a second
example); unknown text says so and suggests probe (exit 1); usage errors exit 2; golden JSON; the
generated docs/troubleshooting.md lists every entry."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import SOURCE_DIR, binary, sanitizer_env
from diag_corpus import GOLDEN_DIR, UPDATE


def explain(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([binary(), "explain", *args], capture_output=True, text=True,
                            input=stdin, timeout=60, env=sanitizer_env())
    for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
        assert marker not in result.stderr, result.stderr
    return result


def entries() -> list[dict]:
    result = explain("--list", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


ENTRIES = entries()


def variant(text: str) -> str:
    """What a log viewer or an e-mail makes of a message: other case, wrapped lines, indents."""
    words = text.split(" ")
    wrapped = "\r\n    ".join(" ".join(words[i:i + 4]) for i in range(0, len(words), 4))
    return "  " + wrapped.swapcase() + "\n"


def matched_ids(text: str) -> list[str]:
    result = explain("--json", "-", stdin=text)
    assert result.returncode == 0, f"not found: {text!r}\n{result.stdout}"
    doc = json.loads(result.stdout)
    return [doc["match"]["id"]] + [a["id"] for a in doc["also"]]


def test_the_knowledge_base_covers_what_the_issue_lists():
    ids = {e["id"] for e in ENTRIES}
    sources = {e["source"] for e in ENTRIES}
    for source in ("OpenSSL", "curl", "Go", "nginx", "HAProxy", "Envoy",
                   "Azure Application Gateway", "IIS", ".NET WebException", "Portcullis"):
        assert source in sources, source
    denials = json.loads(subprocess.run([binary(), "denials", "--json"], capture_output=True,
                                        text=True, check=True).stdout)
    for row in denials:
        assert f"denial.{row['code']}" in ids
    for sub in ("401.1", "401.2", "401.3", "403.7", "403.13", "403.16", "403.17"):
        assert f"iis.{sub}" in ids


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e["id"])
def test_every_entry_is_found_from_its_canonical_text_and_a_variant(entry):
    canonical = entry["examples"][0]
    ids = matched_ids(canonical)
    assert entry["id"] in ids
    if not entry.get("wraps"):  # a wrapper (curl (60) + OpenSSL reason) lists the reason first
        assert ids[0] == entry["id"]
    assert entry["id"] in matched_ids(variant(canonical))
    for example in entry["examples"][1:]:
        assert entry["id"] in matched_ids(variant(example))


def test_text_output_names_cause_fix_and_the_portcullis_code():
    result = explain("The remote server returned an error: (407) Proxy Authentication Required.")
    assert result.returncode == 0
    assert "Cause:" in result.stdout and "Fix:" in result.stdout
    assert "callout.proxy_auth_required" in result.stdout


def test_words_are_joined_and_codes_match_whole():
    assert explain("verify", "error:num=20:unable", "to", "get", "local", "issuer",
                   "certificate").returncode == 0
    doc = json.loads(explain("--json", "403.16").stdout)
    assert doc["match"]["id"] == "iis.403.16"


def test_unknown_text_says_so_and_suggests_probe():
    result = explain("the flux capacitor is misaligned")
    assert result.returncode == 1
    assert "not in the knowledge base" in result.stdout
    assert "portcullis probe" in result.stdout
    doc = json.loads(explain("--json", "the flux capacitor is misaligned").stdout)
    assert doc["found"] is False and "probe" in doc["advice"]


def test_usage_errors_exit_2():
    assert explain().returncode == 2
    assert explain("   ").returncode == 2
    assert explain("--no-such-flag").returncode == 2


@pytest.mark.parametrize("name,text", [
    ("nginx-no-cert", "400 Bad Request\nNo required SSL certificate was sent\nnginx"),
    ("openssl-20", "verify error:num=20:unable to get local issuer certificate"),
    ("denial-code", "mtls.issuer_dn_mismatch"),
    ("unknown", "something nobody has ever seen"),
])
def test_golden_json(name, text):
    actual = explain("--json", "-", stdin=text).stdout
    path = GOLDEN_DIR / f"explain.{name}.json"
    if UPDATE:
        path.write_text(actual)
        return
    assert path.is_file(), f"no golden file {path}: run with PORTCULLIS_UPDATE_GOLDEN=1"
    assert actual == path.read_text()


def test_troubleshooting_doc_is_generated_from_the_knowledge_base():
    generated = explain("--markdown").stdout
    assert generated == (SOURCE_DIR / "docs" / "troubleshooting.md").read_text(), \
        "docs/troubleshooting.md is out of date: run `make docs`"
    for e in ENTRIES:
        assert f"### {e['title']}\n" in generated


# ----------------------------------------------------------------------------------------------
# --request-id: the admin listener's GET /denials/<request-id>


@pytest.fixture(scope="module", params=["stdout", "off"])
def denying_gateway(request, module_procs, pki):
    """With and without an access log: a denial is remembered, with its time, either way."""
    from conftest import Echo, Gateway, free_port, listener, route, upstream
    app = Echo(module_procs)
    admin_port = free_port()
    config = {
        "log": {"access": request.param},
        "admin": {"listen": f"127.0.0.1:{admin_port}"},
        "listeners": [listener("public", free_port(),
                               [route("app", "app", "/", authn=["users"])], pki)],
        "authenticators": {"users": {"type": "basic", "htpasswd": pki.path("users.htpasswd")}},
        "upstreams": {"app": upstream(app.endpoint)},
    }
    return Gateway(module_procs, config), admin_port


def test_request_id_is_explained_from_the_admin_listener(denying_gateway, pki):
    from conftest import curl
    gw, admin_port = denying_gateway
    resp = curl(gw.url("public", "/private"), cacert=pki.root)
    assert resp.status == 401
    request_id = resp.header("X-Request-Id")
    raw = curl(f"http://127.0.0.1:{admin_port}/denials/{request_id}")
    assert raw.status == 200
    assert raw.json()["code"] == "authn.required"
    assert raw.json()["route"] == "app"
    assert raw.json()["ts"].startswith("20")  # RFC 3339, the request's start

    result = explain("--json", "--request-id", request_id, "--admin",
                     f"http://127.0.0.1:{admin_port}")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["found"] is True
    assert doc["denial"]["status"] == 401
    assert doc["explanation"]["match"]["id"] == "denial.authn.required"

    text = explain("--request-id", request_id, "--admin", f"127.0.0.1:{admin_port}")
    assert text.returncode == 0
    assert f"request {request_id}: 401 authn.required" in text.stdout
    assert "Fix:" in text.stdout


def test_request_id_unknown_unreachable_or_malformed(denying_gateway):
    from conftest import free_port
    _, admin_port = denying_gateway
    admin = f"http://127.0.0.1:{admin_port}"
    missing = explain("--request-id", "0000000000000000", "--admin", admin)
    assert missing.returncode == 1
    assert "no recent denial" in missing.stdout
    assert explain("--request-id", "abc", "--admin",
                   f"http://127.0.0.1:{free_port()}").returncode == 2
    bad = explain("--request-id", "a b/../x", "--admin", admin)
    assert bad.returncode == 2 and "not a request id" in bad.stderr
    assert explain("some text", "--request-id", "abc").returncode == 2
