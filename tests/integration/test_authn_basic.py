"""Basic authentication end to end with real curl: htpasswd hashes made by the real tools
(`htpasswd -B/-m/-s`, `openssl passwd -5/-6/-apr1`, `mkpasswd`, the `argon2` CLI), groups, the
401 discipline of a route's authenticator list (authn.required with one challenge per scheme,
authn.scheme_not_accepted), basic.malformed, basic.credentials_invalid identical for an unknown
user and a wrong password, basic.locked_out and its expiry, identity.ambiguous across two files,
plaintext refused at load, htpasswd reload, identity headers and the access log, and a route
that accepts a client certificate or a password (authn: [mtls, users]).
"""

import base64
import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (Echo, Gateway, assert_denial, binary, curl, free_port,
                      headers_without_ids, listener, mtls_curl, mtls_listener,
                      problem_without_ids, route, sanitizer_env, tool_hash, upstream, wait_for)

# user -> (tool that hashes the password, password, hash prefix the tool writes)
USERS = {
    "alice": ("htpasswd-B", "alice-pw", "$2y$05$"),
    "bob": ("openssl-5", "bob-pw", "$5$"),
    "carol": ("openssl-6", "carol-pw", "$6$"),
    "dave": ("mkpasswd-sha512", "dave-pw", "$6$"),
    "erin": ("argon2id", "erin-pw", "$argon2id$v=19$"),
    "frank": ("mkpasswd-bcrypt", "frank-pw", "$2b$05$"),
    "grace": ("openssl-apr1", "grace-pw", "$apr1$"),  # weak: accepted with a warning
    "heidi": ("htpasswd-m", "heidi-pw", "$apr1$"),    # weak
    "ivan": ("htpasswd-s", "ivan-pw", "{SHA}"),       # weak, unsalted
}
GROUPS = "ops: alice bob\ndev: carol alice\n"
LOCK_FAILURES = 3
LOCK_WINDOW = 2  # seconds

IDENTITY = {"user": "X-Auth-User", "groups": "X-Auth-Groups"}


def write_htpasswd(path: Path, users: dict[str, str]):
    path.write_text("".join(f"{u}:{h}\n" for u, h in users.items()))


@pytest.fixture(scope="module")
def env(module_procs, pki, mtls_pki, jwt_tokens, tmp_path_factory):
    files = tmp_path_factory.mktemp("basic-files")
    hashes = {}
    for user, (tool, password, prefix) in USERS.items():
        hashes[user] = tool_hash(tool, password)
        assert hashes[user].startswith(prefix), (tool, hashes[user])
    write_htpasswd(files / "users.htpasswd", hashes)
    (files / "groups.txt").write_text(GROUPS)
    # alice again, as if imported from a second directory (same password: it must not matter)
    write_htpasswd(files / "other.htpasswd",
                   {"alice": hashes["alice"], "zoe": tool_hash("openssl-6", "zoe-pw")})
    write_htpasswd(files / "reload.htpasswd", {"alice": hashes["alice"]})

    app = Echo(module_procs)
    authenticators = {
        "users": {"type": "basic", "realm": "test-realm", "htpasswd": str(files / "users.htpasswd"),
                  "groups": str(files / "groups.txt"), "lockout": "off"},
        "others": {"type": "basic", "realm": "other-realm",
                   "htpasswd": str(files / "other.htpasswd"), "lockout": "off"},
        "lockers": {"type": "basic", "htpasswd": str(files / "users.htpasswd"),
                    "lockout": {"failures": LOCK_FAILURES, "window": f"{LOCK_WINDOW}s"}},
        "reloading": {"type": "basic", "htpasswd": str(files / "reload.htpasswd"),
                      "lockout": "off", "cache_ttl": "0s"},
        "tokens": jwt_tokens.authenticator(),
    }
    routes = [
        route("basic", "app", "/basic/", authn=["users"], identity_headers=IDENTITY),
        route("both", "app", "/both/", authn=["users", "tokens"], identity_headers=IDENTITY),
        route("amb", "app", "/amb/", authn=["users", "others"], identity_headers=IDENTITY),
        route("lock", "app", "/lock/", authn=["lockers"]),
        route("reload", "app", "/reload/", authn=["reloading"], identity_headers=IDENTITY),
        route("open", "app", "/", identity_headers=IDENTITY),
    ]
    p = mtls_pki
    mixed = [route("mixed", "app", "/mixed/", authn=["mtls", "users"],
                   identity_headers={**IDENTITY, "subject": "X-Client-Subject",
                                     "verify": "X-Client-Verify"}),
             route("open", "app", "/")]
    config = {
        "workers": 1,
        "listeners": [listener("main", free_port(), routes, pki=pki),
                      mtls_listener("mtls", free_port(), p, p.client_auth("request"), mixed)],
        "authenticators": authenticators,
        "upstreams": {"app": upstream(app.endpoint)},
    }
    gw = Gateway(module_procs, config)
    generic_config = {
        "workers": 1,
        "errors": {"detail": "never"},
        "listeners": [listener("main", free_port(), routes[:1], pki=pki)],
        "authenticators": {"users": authenticators["users"]},
        "upstreams": {"app": upstream(app.endpoint)},
    }
    generic = Gateway(module_procs, generic_config, name="generic")
    return {"gw": gw, "generic": generic, "pki": pki, "mtls": p, "files": files,
            "tokens": jwt_tokens, "hashes": hashes}


def get(env, path, *args, gw="gw"):
    return curl(env[gw].url("main", path), *args, cacert=env["pki"].root)


def basic_header(raw: bytes) -> list[str]:
    return ["-H", "Authorization: Basic " + base64.b64encode(raw).decode()]


# --- hashes made by the real tools ------------------------------------------------------------

@pytest.mark.parametrize("user", sorted(USERS))
def test_every_tool_hash_verifies(env, user):
    resp = get(env, "/basic/whoami", "-u", f"{user}:{USERS[user][1]}")
    assert resp.status == 200, resp.text
    assert resp.json()["headers"]["x-auth-user"] == user


@pytest.mark.parametrize("user", ["alice", "erin", "ivan"])
def test_every_tool_hash_refuses_a_wrong_password(env, user):
    resp = get(env, "/basic/whoami", "-u", f"{user}:{USERS[user][1]}x")
    assert_denial(resp, 401, "basic.credentials_invalid")


def test_weak_hashes_are_accepted_with_a_load_warning(env):
    log = env["gw"].proc.stderr()
    for user in ("grace", "heidi", "ivan"):
        lines = [l for l in log.splitlines() if f'user "{user}"' in l]
        assert lines and all("weak" in l for l in lines), (user, log[-3000:])
    for user in ("alice", "bob", "erin"):
        # strong hashes: no weak-hash warning (alice is named by the ambiguity warning only)
        assert not any(f'user "{user}"' in l and "weak" in l for l in log.splitlines())
    # the warning never quotes the hash
    for user in ("grace", "heidi", "ivan"):
        assert env["hashes"][user] not in log


# --- the 401 discipline -----------------------------------------------------------------------

def test_no_credentials_is_authn_required_with_one_challenge_per_scheme(env):
    resp = get(env, "/both/x")
    body = assert_denial(resp, 401, "authn.required", "accepts Basic, Bearer")
    assert resp.all("WWW-Authenticate") == ['Basic realm="test-realm", charset="UTF-8"',
                                            'Bearer realm="portcullis"']
    assert "detail" in body


def test_single_scheme_route_sends_one_challenge(env):
    resp = get(env, "/basic/x")
    assert_denial(resp, 401, "authn.required")
    assert resp.all("WWW-Authenticate") == ['Basic realm="test-realm", charset="UTF-8"']


@pytest.mark.parametrize("scheme", ["Negotiate YIIBhgYGKwYBBQUCoIIBejCCAXag", "NTLM TlRMTVNTUAAB",
                                    "Digest username=\"alice\""])
def test_other_scheme_is_scheme_not_accepted(env, scheme):
    resp = get(env, "/both/x", "-H", f"Authorization: {scheme}")
    body = assert_denial(resp, 401, "authn.scheme_not_accepted")
    assert scheme.split()[0] in body["detail"] and "Basic, Bearer" in body["detail"]
    assert len(resp.all("WWW-Authenticate")) == 2


def test_bearer_on_a_basic_only_route_is_scheme_not_accepted(env):
    resp = get(env, "/basic/x", *env["tokens"].bearer("valid-es256"))
    assert_denial(resp, 401, "authn.scheme_not_accepted", '"Bearer" scheme')


def test_either_scheme_authenticates_on_a_two_scheme_route(env):
    by_password = get(env, "/both/x", "-u", "carol:carol-pw")
    assert by_password.status == 200
    assert by_password.json()["headers"]["x-auth-groups"] == "dev"
    by_token = get(env, "/both/x", *env["tokens"].bearer("valid-bob"))
    assert by_token.status == 200
    assert by_token.json()["headers"]["x-auth-user"] == "bob"


def test_a_wrong_password_is_not_passed_to_the_next_authenticator(env):
    resp = get(env, "/both/x", "-u", "alice:nope")
    assert_denial(resp, 401, "basic.credentials_invalid")
    # only the scheme that refused challenges
    assert resp.all("WWW-Authenticate") == ['Basic realm="test-realm", charset="UTF-8"']


# --- basic.malformed ----------------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    "Basic YWxpY2U=",             # "alice": no colon
    "Basic !!!notbase64",         # not base64
    "Basic YWxpY2U6cHc",          # padding missing
    "Basic YWxp Y2U6cHc=",        # two tokens
])
def test_malformed_basic_credentials(env, value):
    resp = get(env, "/basic/x", "-H", f"Authorization: {value}")
    assert_denial(resp, 400, "basic.malformed")


def test_control_character_in_credentials_is_malformed(env):
    resp = get(env, "/basic/x", *basic_header(b"alice:pw\x01"))
    assert_denial(resp, 400, "basic.malformed")


# --- basic.credentials_invalid: no user enumeration -----------------------------------------

def test_unknown_user_and_wrong_password_get_the_same_answer(env):
    for gw in ("gw", "generic"):
        wrong = get(env, "/basic/x", "-u", "alice:wrong-password", gw=gw)
        # a name of the same length, so that even Content-Length cannot differ
        unknown = get(env, "/basic/x", "-u", "xenia:wrong-password", gw=gw)
        assert_denial(wrong, 401, "basic.credentials_invalid")
        assert_denial(unknown, 401, "basic.credentials_invalid")
        assert headers_without_ids(wrong) == headers_without_ids(unknown)
        a, b = problem_without_ids(wrong), problem_without_ids(unknown)
        if gw == "generic":
            assert "detail" not in a
            assert a == b
        else:
            # the detail echoes the name that was sent, nothing about whether it exists
            assert a["detail"].replace('"alice"', "U") == b["detail"].replace('"xenia"', "U")
            assert "wrong-password" not in wrong.text and "wrong-password" not in unknown.text


# --- lockout ----------------------------------------------------------------------------------

def test_lockout_after_failures_and_its_expiry(env):
    for _ in range(LOCK_FAILURES):
        assert_denial(get(env, "/lock/x", "-u", "bob:guess"), 401, "basic.credentials_invalid")
    locked = get(env, "/lock/x", "-u", "bob:bob-pw")  # even the right password
    body = assert_denial(locked, 429, "basic.locked_out", 'user "bob"')
    retry = int(locked.header("Retry-After"))
    assert 1 <= retry <= LOCK_WINDOW
    assert "127.0.0.1" in body["detail"]
    # another user from the same address is not locked
    assert get(env, "/lock/x", "-u", "carol:carol-pw").status == 200
    # the lock ends when the window has passed
    deadline = time.monotonic() + LOCK_WINDOW + 3
    while True:
        resp = get(env, "/lock/x", "-u", "bob:bob-pw")
        if resp.status == 200:
            break
        assert resp.status == 429 and time.monotonic() < deadline, resp.text
        time.sleep(0.25)


def test_lockout_counts_unknown_users_too(env):
    for _ in range(LOCK_FAILURES):
        assert_denial(get(env, "/lock/x", "-u", "ghost:x"), 401, "basic.credentials_invalid")
    assert_denial(get(env, "/lock/x", "-u", "ghost:x"), 429, "basic.locked_out")


# --- identity.ambiguous -----------------------------------------------------------------------

def test_same_user_in_two_files_of_a_route_is_ambiguous(env):
    resp = get(env, "/amb/x", "-u", "alice:alice-pw")
    body = assert_denial(resp, 401, "identity.ambiguous")
    assert '"users"' in body["detail"] and '"others"' in body["detail"]
    # the same user on a route with one of the files is not ambiguous
    assert get(env, "/basic/x", "-u", "alice:alice-pw").status == 200


def test_user_only_in_the_second_file_of_a_route_authenticates(env):
    ok = get(env, "/amb/x", "-u", "zoe:zoe-pw")
    assert ok.status == 200 and ok.json()["headers"]["x-auth-user"] == "zoe"
    # the password the gateway consumed does not travel on to the upstream
    assert "authorization" not in ok.json()["headers"]


def test_same_user_in_two_files_of_a_route_is_a_load_warning(env):
    log = env["gw"].proc.stderr()
    assert any('"alice"' in l and "others" in l and "users" in l for l in log.splitlines()), log


def test_same_user_twice_in_one_file_is_ambiguous(env, module_procs, pki):
    files = env["files"]
    h = env["hashes"]["carol"]
    write_htpasswd(files / "twice.htpasswd", {"carol": h})
    with open(files / "twice.htpasswd", "a") as f:
        f.write(f"carol:{tool_hash('openssl-5', 'other-pw')}\n")
    app = Echo(module_procs, name="echo-twice")
    gw = Gateway(module_procs, {
        "workers": 1,
        "listeners": [listener("main", free_port(), [route("r", "app", "/", authn=["t"])],
                               pki=pki)],
        "authenticators": {"t": {"type": "basic", "htpasswd": str(files / "twice.htpasswd")}},
        "upstreams": {"app": upstream(app.endpoint)}}, name="twice")
    assert "lines 1 and 2" in gw.proc.stderr()
    for password in ("carol-pw", "other-pw"):
        resp = curl(gw.url("main", "/x"), "-u", f"carol:{password}", cacert=pki.root)
        assert_denial(resp, 401, "identity.ambiguous")
    resp = curl(gw.url("main", "/x"), "-u", "carol:neither", cacert=pki.root)
    assert_denial(resp, 401, "basic.credentials_invalid")


# --- plaintext refused at load ----------------------------------------------------------------

def test_plaintext_password_is_refused_at_load(env, tmp_path):
    (tmp_path / "plain.htpasswd").write_text(f"alice:{env['hashes']['alice']}\nmallory:secret\n")
    config = tmp_path / "portcullis.yaml"
    config.write_text(f"""\
listeners:
  - name: main
    listen: 127.0.0.1:{free_port()}
    tls: {{ cert: {env['pki'].chain}, key: {env['pki'].key} }}
    routes:
      - name: api
        match: {{ path_prefix: / }}
        authn: [users]
        upstream: app
authenticators:
  users: {{ type: basic, htpasswd: plain.htpasswd }}
upstreams:
  app: {{ endpoints: [127.0.0.1:9] }}
""")
    check = subprocess.run([binary(), "check-config", "-c", str(config)], capture_output=True,
                           text=True, timeout=30, env=sanitizer_env())
    assert check.returncode == 1, check
    assert "authenticators.users.htpasswd" in check.stderr
    assert 'line 2: user "mallory": plaintext' in check.stderr
    assert "secret" not in check.stderr.replace("htpasswd", "")
    run = subprocess.run([binary(), "run", "-c", str(config)], capture_output=True, text=True,
                         timeout=30, env=sanitizer_env())
    assert run.returncode == 2, run
    assert "plaintext" in run.stderr


# --- reload -----------------------------------------------------------------------------------

def test_htpasswd_file_is_reloaded_when_it_changes(env):
    path = env["files"] / "reload.htpasswd"
    assert_denial(get(env, "/reload/x", "-u", "newbie:newbie-pw"), 401,
                  "basic.credentials_invalid")
    new = path.with_suffix(".new")
    new.write_text(path.read_text() + f"newbie:{tool_hash('htpasswd-B', 'newbie-pw')}\n")
    os.replace(new, path)
    resp = wait_for(lambda: (lambda r: r if r.status == 200 else None)(
        get(env, "/reload/x", "-u", "newbie:newbie-pw")), 10, 0.2, "the new user")
    assert resp.json()["headers"]["x-auth-user"] == "newbie"
    # a broken new version keeps the previous content in force
    # (files are re-checked when a request needs them, at most once a second)
    path.write_text(path.read_text() + "mallory:plaintext\n")
    wait_for(lambda: get(env, "/reload/x", "-u", "newbie:newbie-pw").status == 200
             and "reload failed" in env["gw"].proc.stderr(), 10, 0.2, "the reload failure")
    assert 'user "mallory": plaintext' in env["gw"].proc.stderr()
    # and removing the user takes effect
    path.write_text(f"alice:{env['hashes']['alice']}\n")
    wait_for(lambda: get(env, "/reload/x", "-u", "newbie:newbie-pw").status == 401, 10, 0.2,
             "the removed user to be refused")


# --- identity headers and the access log ------------------------------------------------------

def test_identity_headers_reach_the_upstream_and_client_copies_are_stripped(env):
    resp = get(env, "/basic/x", "-u", "alice:alice-pw", "-H", "X-Auth-User: root",
               "-H", "X-Auth-Groups: admins")
    assert resp.status == 200
    headers = resp.json()["headers"]
    assert headers["x-auth-user"] == "alice"
    assert headers["x-auth-groups"] == "dev,ops"


def test_client_identity_headers_are_stripped_on_anonymous_routes(env):
    resp = get(env, "/anything", "-H", "X-Auth-User: root", "-H", "X-Auth-Groups: admins")
    assert resp.status == 200
    headers = resp.json()["headers"]
    assert "x-auth-user" not in headers and "x-auth-groups" not in headers


def test_access_log_names_the_method_and_the_user(env):
    gw = env["gw"]
    ok = get(env, "/basic/x", "-u", "dave:dave-pw")
    entry = gw.log_entry(ok.header("X-Request-Id"))
    assert (entry["auth_method"], entry["user"], entry["code"]) == ("basic", "dave", "ok")
    denied = get(env, "/basic/x", "-u", "dave:nope")
    entry = gw.log_entry(denied.header("X-Request-Id"))
    assert entry["code"] == "basic.credentials_invalid" and entry["status"] == 401
    assert entry["auth_method"] == "" and "nope" not in str(entry)


# --- a client certificate or a password on one route (request mode) ---------------------------

def mixed(env, case, *args):
    return mtls_curl(env["mtls"], env["gw"].url("mtls", "/mixed/x"), case, *args)


def test_mixed_route_accepts_a_client_certificate(env):
    resp = mixed(env, "good-one")
    assert resp.status == 200
    headers = resp.json()["headers"]
    assert headers["x-auth-user"] == "alice"
    assert headers["x-client-subject"] == env["mtls"].cases["good-one"]["subject"]
    assert headers["x-client-verify"] == "SUCCESS"
    assert env["gw"].log_entry(resp.header("X-Request-Id"))["auth_method"] == "mtls"


def test_mixed_route_accepts_a_password_without_certificate(env):
    resp = mixed(env, None, "-u", "bob:bob-pw")
    assert resp.status == 200
    headers = resp.json()["headers"]
    assert headers["x-auth-user"] == "bob"
    assert headers["x-client-verify"] == "NONE"
    assert "x-client-subject" not in headers
    assert env["gw"].log_entry(resp.header("X-Request-Id"))["auth_method"] == "basic"


def test_mixed_route_without_either_names_both(env):
    resp = mixed(env, None)
    assert_denial(resp, 401, "authn.required", "accepts Basic, or a client certificate")
    assert resp.all("WWW-Authenticate") == ['Basic realm="test-realm", charset="UTF-8"']


def test_mixed_route_first_authenticator_decides(env):
    # a valid certificate comes first in the list: the wrong password is never looked at
    assert mixed(env, "good-one", "-u", "bob:wrong").status == 200
    # a bad certificate is a denial, not a reason to try the password
    resp = mixed(env, "expired", "-u", "bob:bob-pw")
    assert_denial(resp, 400, "mtls.cert_expired")
