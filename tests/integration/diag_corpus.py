"""The generated corpus of the diagnostics tests (check-bundle, verify, inspect) and the golden
output helpers.

Certificates are made with Python's `cryptography` (an implementation independent of the one
under test), with fixed names, serials and validity dates, and judged at the fixed time AT, so
the output is the same on every run except for what keys make random: SHA-256 fingerprints and
key identifiers, which golden() replaces by placeholders (and the temporary directory). RSA keys
give fixed-size signatures, so sizes and PEM line numbers are stable too.

Set PORTCULLIS_UPDATE_GOLDEN=1 to rewrite tests/integration/golden/diag/ from the current
output (then review the diff).
"""

from __future__ import annotations

import datetime
import os
import re
import subprocess
import warnings
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conftest import SOURCE_DIR, binary, sanitizer_env

UTC = datetime.timezone.utc
AT = "2031-01-01T00:00:00Z"
NOW = datetime.datetime(2031, 1, 1, tzinfo=UTC)
# Wide enough that the machine's real clock is inside it: TrustStore's load-time warnings use
# the real clock, the checks themselves use AT.
NOT_BEFORE = datetime.datetime(2000, 1, 1, tzinfo=UTC)
NOT_AFTER = datetime.datetime(2099, 1, 1, tzinfo=UTC)
ORG = "Portcullis Diag"
P12_PASSWORD = "diag-pass"
GOLDEN_DIR = SOURCE_DIR / "tests" / "integration" / "golden" / "diag"
UPDATE = os.environ.get("PORTCULLIS_UPDATE_GOLDEN") == "1"


def name(cn: str, org: str = ORG) -> x509.Name:
    # DER order O, CN: printed (RFC 2253, most specific first) as "CN=cn,O=org".
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


class Issued:
    def __init__(self, cert: x509.Certificate, key):
        self.cert = cert
        self.key = key

    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)


class Keys:
    """A few RSA keys generated once per session and reused (keygen is the slow part)."""

    def __init__(self, count: int = 8):
        self.pool = [rsa.generate_private_key(65537, 2048) for _ in range(count)]
        self.next = 0

    def take(self):
        key = self.pool[self.next % len(self.pool)]
        self.next += 1
        return key


def make(keys: Keys, cn: str, serial: int, issuer: Issued | None = None, ca: bool = True,
         org: str = ORG, key=None, not_before=NOT_BEFORE, not_after=NOT_AFTER,
         key_usage: list[str] | None = None, eku: list | None = None, key_ids: bool = True,
         path_len: int | None = None, digest=hashes.SHA256(), sans: list[str] | None = None,
         basic_constraints: bool = True) -> Issued:
    key = key or keys.take()
    subject = name(cn, org)
    b = (x509.CertificateBuilder().subject_name(subject)
         .issuer_name(issuer.cert.subject if issuer else subject)
         .public_key(key.public_key()).serial_number(serial)
         .not_valid_before(not_before).not_valid_after(not_after))
    if basic_constraints:
        b = b.add_extension(x509.BasicConstraints(ca=ca, path_length=path_len if ca else None),
                            critical=True)
    usages = key_usage if key_usage is not None else (
        ["key_cert_sign", "crl_sign"] if ca else ["digital_signature"])
    if usages:
        flags = {f: f in usages for f in
                 ("digital_signature", "content_commitment", "key_encipherment",
                  "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign")}
        b = b.add_extension(x509.KeyUsage(**flags, encipher_only=False, decipher_only=False),
                            critical=True)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]),
                            critical=False)
    if key_ids:
        b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                            critical=False)
        signer_pub = (issuer.key if issuer else key).public_key()
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_pub),
                            critical=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SHA-1 on purpose
        cert = b.sign(issuer.key if issuer else key, digest)
    return Issued(cert, key)


def tampered(cert: x509.Certificate) -> bytes:
    """The certificate with one bit of its signature flipped (PEM)."""
    der = bytearray(cert.public_bytes(serialization.Encoding.DER))
    der[-3] ^= 0x01
    loaded = x509.load_der_x509_certificate(bytes(der))
    return loaded.public_bytes(serialization.Encoding.PEM)


def crl(issuer: Issued, revoked: list[Issued], number: int, last=NOT_BEFORE,
        next_update=NOT_AFTER) -> str:
    b = (x509.CertificateRevocationListBuilder().issuer_name(issuer.cert.subject)
         .last_update(last).next_update(next_update)
         .add_extension(x509.CRLNumber(number), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
             issuer.key.public_key()), critical=False))
    for r in revoked:
        b = b.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(r.cert.serial_number)
            .revocation_date(NOT_BEFORE).build())
    return b.sign(issuer.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def key_pem(key, traditional: bool = False) -> str:
    fmt = (serialization.PrivateFormat.TraditionalOpenSSL if traditional
           else serialization.PrivateFormat.PKCS8)
    return key.private_bytes(serialization.Encoding.PEM, fmt,
                             serialization.NoEncryption()).decode()


class Corpus:
    """Every file of the diagnostics tests, by name, in one directory."""

    def __init__(self, directory: Path):
        self.dir = directory
        keys = Keys()
        client = [ExtendedKeyUsageOID.CLIENT_AUTH]
        root = make(keys, "Diag Root CA", 0x1001)
        inter = make(keys, "Diag Intermediate CA", 0x1002, root, path_len=0)
        leaf = make(keys, "diag-client", 0x1003, inter, ca=False, eku=client)
        other_root = make(keys, "Other Root CA", 0x2001, org="Elsewhere")
        other_int = make(keys, "Other Intermediate CA", 0x2002, other_root, org="Elsewhere")
        self.root, self.inter, self.leaf = root, inter, leaf
        w = self.write

        # ---- check-bundle ------------------------------------------------------------------
        w("clean.pem", root.pem() + inter.pem())
        w("empty.pem", "")
        w("whitespace.pem", "  \n\n\t\n")
        w("with-key.pem", root.pem() + key_pem(root.key))
        w("with-rsa-key.pem", root.pem() + key_pem(inter.key, traditional=True))
        lines = root.pem().splitlines(keepends=True)
        lines[3] = lines[3][:10] + lines[3][11:]  # one character lost
        w("broken-base64.pem", "".join(lines))
        w("garbage-between.pem",
          root.pem() + "MIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\n"
          + inter.pem())
        w("empty-pair.pem", root.pem() + "-----BEGIN CERTIFICATE-----\n"
          "-----END CERTIFICATE-----\n")
        w("not-pem.txt", "this is not a certificate bundle\n")
        w("leaves-only.pem", leaf.pem())
        w("two-roots.pem", root.pem() + other_root.pem())
        w("no-root.pem", inter.pem())
        expired = make(keys, "Expired CA", 0x1101, root,
                       not_after=datetime.datetime(2030, 12, 1, tzinfo=UTC))
        future = make(keys, "Future CA", 0x1102, root,
                      not_before=datetime.datetime(2031, 3, 1, tzinfo=UTC))
        expiring = make(keys, "Expiring CA", 0x1103, root,
                        not_after=datetime.datetime(2031, 1, 15, tzinfo=UTC))
        w("expired-ca.pem", root.pem() + expired.pem())
        w("not-yet-valid-ca.pem", root.pem() + future.pem())
        w("expiring-ca.pem", root.pem() + expiring.pem())
        w("leaf-in-bundle.pem", root.pem() + leaf.pem())
        no_sign = make(keys, "No Sign CA", 0x1104, root, key_usage=["crl_sign"])
        no_ku = make(keys, "No KU CA", 0x1105, root, key_usage=[])
        w("no-keycertsign.pem", root.pem() + no_sign.pem() + no_ku.pem())
        w("duplicate.pem", root.pem() + inter.pem() + root.pem())
        w("several-chains.pem", root.pem() + inter.pem() + other_root.pem() + other_int.pem())
        sha1 = make(keys, "SHA-1 CA", 0x1106, root, digest=hashes.SHA1())
        w("sha1.pem", root.pem() + sha1.pem())
        small = make(keys, "Small Key CA", 0x1107, root, key=rsa.generate_private_key(65537, 1024))
        w("rsa1024.pem", root.pem() + small.pem())
        no_ids = make(keys, "No Key Ids CA", 0x1108, root, key_ids=False)
        w("no-ski-aki.pem", root.pem() + no_ids.pem())
        bulk_key = keys.take()
        bulk = [make(keys, f"Bulk CA {i:03} with a long name to fill the CertificateRequest",
                     0x3000 + i, key=bulk_key, org="Example Certificate Authorities Incorporated")
                for i in range(160)]
        w("many-cas.pem", "".join(b.pem() for b in bulk))
        w("root.der", root.der())
        w("bundle.p7b", pkcs7.serialize_certificates([root.cert, inter.cert],
                                                     serialization.Encoding.DER))
        w("bundle-p7b.pem", pkcs7.serialize_certificates([root.cert, inter.cert],
                                                         serialization.Encoding.PEM))
        w("client.p12", pkcs12.serialize_key_and_certificates(
            b"diag-client", leaf.key, leaf.cert, [inter.cert],
            serialization.BestAvailableEncryption(P12_PASSWORD.encode())))
        w("cas-only.p12", pkcs12.serialize_key_and_certificates(
            None, None, None, [root.cert, inter.cert], serialization.NoEncryption()))
        w("p12-password.txt", P12_PASSWORD + "\n")

        # ---- verify ------------------------------------------------------------------------
        w("trusted.pem", root.pem())
        w("intermediates.pem", inter.pem())
        w("good.pem", leaf.pem() + inter.pem())
        w("leaf-only.pem", leaf.pem())
        other_leaf = make(keys, "other-client", 0x2003, other_int, ca=False, eku=client,
                          org="Elsewhere")
        w("untrusted.pem", other_leaf.pem() + other_int.pem() + other_root.pem())
        self_signed = make(keys, "self-signed-client", 0x1201, ca=False, eku=client)
        w("self-signed.pem", self_signed.pem())
        exp_leaf = make(keys, "expired-client", 0x1202, inter, ca=False, eku=client,
                        not_after=datetime.datetime(2030, 12, 31, 23, 59, 23, tzinfo=UTC))
        w("expired.pem", exp_leaf.pem() + inter.pem())
        nyv_leaf = make(keys, "future-client", 0x1203, inter, ca=False, eku=client,
                        not_before=datetime.datetime(2031, 1, 3, tzinfo=UTC))
        w("not-yet-valid.pem", nyv_leaf.pem() + inter.pem())
        server = make(keys, "server-only", 0x1204, inter, ca=False,
                      eku=[ExtendedKeyUsageOID.SERVER_AUTH])
        w("server-eku.pem", server.pem() + inter.pem())
        revoked = make(keys, "revoked-client", 0x1205, inter, ca=False, eku=client)
        w("revoked.pem", revoked.pem() + inter.pem())
        w("crl-all.pem", crl(inter, [revoked], 7) + crl(root, [], 3))
        w("tampered.pem", tampered(leaf.cert).decode() + inter.pem())
        not_ca = make(keys, "Not A CA", 0x1206, root, ca=False,
                      key_usage=["digital_signature", "key_cert_sign"])
        under_not_ca = make(keys, "client-under-non-ca", 0x1207, not_ca, ca=False, eku=client)
        w("under-non-ca.pem", under_not_ca.pem() + not_ca.pem())
        w("leaf.der", leaf.der())

        # ---- inspect -----------------------------------------------------------------------
        csr = (x509.CertificateSigningRequestBuilder().subject_name(name("csr-client"))
               .add_extension(x509.SubjectAlternativeName([x509.DNSName("csr.example")]),
                              critical=False)
               .add_extension(x509.ExtendedKeyUsage(client), critical=False)
               .sign(leaf.key, hashes.SHA256()))
        # the key last: its PEM length varies with the key, the lines before it do not
        w("mixed.pem", leaf.pem() + csr.public_bytes(serialization.Encoding.PEM).decode() +
          crl(inter, [revoked], 9) + key_pem(leaf.key))

    def write(self, file: str, data: str | bytes) -> None:
        p = self.dir / file
        if isinstance(data, str):
            p.write_text(data)
        else:
            p.write_bytes(data)

    def path(self, file: str) -> str:
        return str(self.dir / file)


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    # A new session has no controlling terminal: a PKCS#12 password is never prompted for.
    result = subprocess.run([binary(), *args], capture_output=True, text=True, timeout=timeout,
                            env=sanitizer_env(), stdin=subprocess.DEVNULL, start_new_session=True)
    for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
        assert marker not in result.stderr, result.stderr
    return result


_SHA256 = re.compile(r"\b[0-9a-f]{64}\b")
_KEY_ID = re.compile(r"\b[0-9A-F]{2}(?::[0-9A-F]{2}){19}\b")


_FILE_SIZE_TEXT = re.compile(r"^(<dir>/\S+: [^,]+, )\d+( bytes)", re.M)
_FILE_SIZE_JSON = re.compile(r'^(  "size": )\d+', re.M)


def normalize(text: str, corpus: Corpus) -> str:
    """Replaces what differs between runs: the directory, fingerprints, key identifiers, and
    the size of the file (private keys and PKCS#12 archives vary in length)."""
    text = text.replace(str(corpus.dir), "<dir>")
    text = _SHA256.sub("<sha256>", text)
    text = _KEY_ID.sub("<keyid>", text)
    text = _FILE_SIZE_TEXT.sub(r"\1<size>\2", text)
    return _FILE_SIZE_JSON.sub(r"\1<size>", text)


def golden(name: str, text: str, corpus: Corpus) -> None:
    """Compares normalised `text` with tests/integration/golden/diag/<name>."""
    actual = normalize(text, corpus)
    path = GOLDEN_DIR / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
        return
    assert path.is_file(), f"no golden file {path}: run with PORTCULLIS_UPDATE_GOLDEN=1"
    expected = path.read_text()
    assert actual == expected, (
        f"output differs from {path.relative_to(SOURCE_DIR)} (PORTCULLIS_UPDATE_GOLDEN=1 to "
        f"update after review):\n{actual}")
