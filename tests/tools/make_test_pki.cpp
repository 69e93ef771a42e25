// portcullis_test_pki DIR: writes the PKI of the mTLS integration tests into DIR, one client
// certificate per verdict (tests/integration/test_mtls*.py), and DIR/manifest.json naming every
// file and the code each case must produce on the listener profile it is meant for.
//
// Listener profiles (the tests build one gateway listener per profile):
//   require       trusted_ca client-ca-bundle.pem, verify_depth 2, EKU on, issuer DN off
//   issuer_dn     + intermediates intermediates-a.pem, verify_issuer_dn true
//   crl           + crl crl-all.pem (a CRL for every CA: CRL_CHECK_ALL needs them all)
//   crl_expired   + crl crl-expired.pem (the CRL of Issuing CA A is past its nextUpdate)
//   trusted_leaf  trusted_ca trusted-leaf-bundle.pem (client root + a self-signed leaf)
#include <fmt/format.h>
#include <openssl/x509.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "pki/cert_builder.h"

namespace {

using namespace portcullis;
using pki::CertSpec;
using pki::IssuedCert;
using std::chrono::hours;

constexpr hours kDay{24};
constexpr const char* kOrg = "O=Portcullis Tests";

/// Any failure ends the program: a half-written test PKI is worse than none.
[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "portcullis_test_pki: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T must(core::Result<T> r, std::string_view what) {
  if (!r) die(fmt::format("{}: {}", what, r.error().message));
  return std::move(*r);
}

void must(core::Result<void> r, std::string_view what) {
  if (!r) die(fmt::format("{}: {}", what, r.error().message));
}

std::string dn(std::string_view cn) {
  return fmt::format("CN={},{}", cn, kOrg);
}

CertSpec ca(std::string_view cn, const IssuedCert* issuer, std::string serial, int path_len = -1) {
  CertSpec spec;
  spec.subject = dn(cn);
  if (issuer != nullptr) {
    spec.issuer_cert = issuer->cert.get();
    spec.issuer_key = issuer->key.get();
  }
  spec.serial_hex = std::move(serial);
  spec.not_before = -kDay;
  spec.not_after = 3650 * kDay;
  spec.is_ca = true;
  spec.path_len = path_len;
  return spec;
}

CertSpec client(std::string_view cn, const IssuedCert* issuer, std::string serial) {
  CertSpec spec;
  spec.subject = dn(cn);
  if (issuer != nullptr) {
    spec.issuer_cert = issuer->cert.get();
    spec.issuer_key = issuer->key.get();
  }
  spec.serial_hex = std::move(serial);
  spec.not_before = -kDay;
  spec.not_after = 365 * kDay;
  spec.extended_key_usage = {"clientAuth"};
  spec.sans = {fmt::format("DNS:{}.clients.test", cn), fmt::format("email:{}@clients.test", cn)};
  return spec;
}

IssuedCert issue(const CertSpec& spec) {
  return must(pki::issue_certificate(spec), "issuing " + spec.subject);
}

/// The DER of `cert` with one bit of its signature flipped, parsed back. The last byte of the
/// DER is the last byte of the signature's INTEGER s, so the structure stays valid and only
/// the signature check can notice.
pki::X509Ptr tamper(X509* cert) {
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert, &der);
  if (len <= 0) die("cannot encode the certificate to tamper with");
  std::vector<unsigned char> bytes(der, der + len);
  OPENSSL_free(der);
  bytes.back() ^= 0x01;
  const unsigned char* p = bytes.data();
  pki::X509Ptr out(d2i_X509(nullptr, &p, static_cast<long>(bytes.size())));
  if (!out) die("the tampered certificate does not parse");
  return out;
}

class Writer {
 public:
  explicit Writer(std::filesystem::path dir) : dir_(std::move(dir)) {}

  std::string path(std::string_view name) const { return (dir_ / name).string(); }

  void certs(std::string_view name, const std::vector<X509*>& list) {
    must(pki::write_certificates(path(name), list), fmt::format("writing {}", name));
  }
  void key(std::string_view name, EVP_PKEY* k) {
    must(pki::write_private_key(path(name), k), fmt::format("writing {}", name));
  }
  void crls(std::string_view name, const std::vector<X509_CRL*>& list) {
    // write_crl writes one; a bundle is the concatenation of the PEM blocks.
    std::string text;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string part = path(fmt::format("{}.part{}", name, i));
      must(pki::write_crl(part, list[i]), fmt::format("writing {}", name));
      std::ifstream in(part);
      text.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      std::filesystem::remove(part);
    }
    std::ofstream out(path(name), std::ios::trunc);
    out << text;
    if (!out) die(fmt::format("writing {}", name));
  }

  /// A client case: `<name>.pem` = what the client sends (leaf first), `<name>.key`.
  void client_case(std::string_view name, const IssuedCert& leaf, std::vector<X509*> extra,
                   std::string_view profile, std::string_view code, std::string_view serial,
                   std::string_view note, X509* leaf_override = nullptr) {
    std::vector<X509*> list{leaf_override != nullptr ? leaf_override : leaf.cert.get()};
    list.insert(list.end(), extra.begin(), extra.end());
    certs(fmt::format("{}.pem", name), list);
    key(fmt::format("{}.key", name), leaf.key.get());
    X509* cert = list.front();
    cases_[std::string(name)] = {
        {"cert", fmt::format("{}.pem", name)},
        {"key", fmt::format("{}.key", name)},
        {"sent", list.size()},
        {"profile", profile},
        {"code", code},
        {"subject", name_of(X509_get_subject_name(cert))},
        {"issuer", name_of(X509_get_issuer_name(cert))},
        {"serial", serial},
        {"note", note},
    };
  }

  nlohmann::json& manifest() { return manifest_; }

  void finish() {
    manifest_["cases"] = cases_;
    std::ofstream out(path("manifest.json"), std::ios::trunc);
    out << manifest_.dump(2) << "\n";
    if (!out) die("writing manifest.json");
  }

  /// RFC 2253 text straight from OpenSSL (not the gateway's renderer: the manifest is the
  /// independent expectation the access log is compared with).
  static std::string name_of(const X509_NAME* name) {
    pki::BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) die("printing a DN");
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
  }

 private:
  std::filesystem::path dir_;
  nlohmann::json manifest_ = nlohmann::json::object();
  nlohmann::json cases_ = nlohmann::json::object();
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: portcullis_test_pki DIR\n");
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(argv[1], ec);
  if (ec) die(fmt::format("cannot create {}: {}", argv[1], ec.message()));
  Writer w(argv[1]);

  // ---- server: root -> leaf for localhost / 127.0.0.1 -------------------------------------
  const IssuedCert server_root = issue(ca("Portcullis Test Server Root", nullptr, "5E01"));
  CertSpec server_spec;
  server_spec.subject = dn("localhost");
  server_spec.issuer_cert = server_root.cert.get();
  server_spec.issuer_key = server_root.key.get();
  server_spec.serial_hex = "5E02";
  server_spec.not_before = -kDay;
  server_spec.not_after = 365 * kDay;
  server_spec.extended_key_usage = {"serverAuth"};
  server_spec.sans = {"DNS:localhost", "IP:127.0.0.1"};
  const IssuedCert server = issue(server_spec);
  w.certs("server-root.pem", {server_root.cert.get()});
  w.certs("server-chain.pem", {server.cert.get()});
  w.key("server.key", server.key.get());

  // ---- client CAs ----------------------------------------------------------------------------
  const IssuedCert root = issue(ca("Portcullis Test Client Root", nullptr, "1A01"));
  // A second anchor whose keyUsage also allows signing TLS handshakes, so that presenting it as
  // a client certificate reaches the "a trust anchor is not a client" check.
  CertSpec partner_spec = ca("Portcullis Test Partner Root", nullptr, "1A02");
  partner_spec.key_usage = std::vector<std::string>{"keyCertSign", "cRLSign", "digitalSignature"};
  const IssuedCert partner = issue(partner_spec);
  const IssuedCert int_a = issue(ca("Portcullis Test Issuing CA A", &root, "1A03"));
  const IssuedCert int_b = issue(ca("Portcullis Test Issuing CA B", &int_a, "1A04"));
  const IssuedCert int_c = issue(ca("Portcullis Test Issuing CA C", &int_b, "1A05"));
  const IssuedCert int_other = issue(ca("Portcullis Test Issuing CA Other", &root, "1A06"));
  CertSpec expired_int_spec = ca("Portcullis Test Expired CA", &root, "1A07");
  expired_int_spec.not_before = -400 * kDay;
  expired_int_spec.not_after = -10 * kDay;
  const IssuedCert int_expired = issue(expired_int_spec);
  CertSpec not_ca_spec = ca("Portcullis Test Not A CA", &root, "1A08");
  not_ca_spec.is_ca = false;
  not_ca_spec.key_usage = std::vector<std::string>{"digitalSignature"};
  const IssuedCert int_not_ca = issue(not_ca_spec);
  const IssuedCert int_pathlen0 = issue(ca("Portcullis Test PathLen0 CA", &root, "1A09", 0));
  const IssuedCert int_below_pathlen =
      issue(ca("Portcullis Test Below PathLen0 CA", &int_pathlen0, "1A0A"));
  const IssuedCert untrusted_root = issue(ca("Portcullis Test Untrusted Root", nullptr, "1A0B"));
  const IssuedCert untrusted_int =
      issue(ca("Portcullis Test Untrusted Issuing CA", &untrusted_root, "1A0C"));

  w.certs("client-root.pem", {root.cert.get()});
  w.key("client-root.key", root.key.get());
  w.certs("client-ca-bundle.pem", {root.cert.get(), partner.cert.get()});
  w.certs("intermediates-a.pem", {int_a.cert.get()});
  w.certs("intermediates-a-b.pem", {int_a.cert.get(), int_b.cert.get()});

  // ---- client leaves ------------------------------------------------------------------------
  const IssuedCert alice = issue(client("alice", &int_a, "2B01"));
  w.client_case("good-one", alice, {int_a.cert.get()}, "require", "ok", "2B01",
                "leaf via one intermediate (sent by the client)");

  const IssuedCert bob = issue(client("bob", &int_b, "2B02"));
  w.client_case("good-two", bob, {int_b.cert.get(), int_a.cert.get()}, "require", "ok", "2B02",
                "leaf via two intermediates (both sent), verify_depth 2");

  const IssuedCert carol = issue(client("carol", &int_a, "2B03"));
  w.client_case("missing-intermediate", carol, {}, "require", "mtls.chain_incomplete", "2B03",
                "leaf only; Issuing CA A is neither sent nor configured "
                "(ok with intermediates: intermediates-a.pem)");

  const IssuedCert mallory = issue(client("mallory", &untrusted_int, "2B04"));
  w.client_case("untrusted-root", mallory, {untrusted_int.cert.get(), untrusted_root.cert.get()},
                "require", "mtls.issuer_untrusted", "2B04",
                "leaf + intermediate + a root that is not in trusted_ca");

  CertSpec self_spec = client("self-signed-client", nullptr, "2B05");
  const IssuedCert self_signed = issue(self_spec);
  w.client_case("self-signed", self_signed, {}, "require", "mtls.self_signed", "2B05",
                "self-signed leaf");

  CertSpec expired_spec = client("expired-client", &int_a, "2B06");
  expired_spec.not_before = -30 * kDay;
  expired_spec.not_after = -2 * kDay;
  const IssuedCert expired = issue(expired_spec);
  w.client_case("expired", expired, {int_a.cert.get()}, "require", "mtls.cert_expired", "2B06",
                "leaf expired 2 days ago");

  CertSpec future_spec = client("future-client", &int_a, "2B07");
  future_spec.not_before = 3 * kDay;
  future_spec.not_after = 30 * kDay;
  const IssuedCert future = issue(future_spec);
  w.client_case("not-yet-valid", future, {int_a.cert.get()}, "require", "mtls.cert_not_yet_valid",
                "2B07", "leaf valid from 3 days from now");

  const IssuedCert under_expired = issue(client("dave", &int_expired, "2B08"));
  w.client_case("expired-intermediate", under_expired, {int_expired.cert.get()}, "require",
                "mtls.cert_expired", "2B08", "the intermediate expired 10 days ago");

  CertSpec eku_spec = client("server-eku-client", &int_a, "2B09");
  eku_spec.extended_key_usage = {"serverAuth"};
  const IssuedCert eku_server = issue(eku_spec);
  w.client_case("eku-server-only", eku_server, {int_a.cert.get()}, "require",
                "mtls.purpose_invalid", "2B09", "EKU serverAuth only");

  CertSpec no_eku_spec = client("erin", &int_a, "2B0A");
  no_eku_spec.extended_key_usage.clear();
  const IssuedCert no_eku = issue(no_eku_spec);
  w.client_case("no-eku", no_eku, {int_a.cert.get()}, "require", "ok", "2B0A",
                "no EKU extension: accepted");

  const IssuedCert frank = issue(client("frank", &int_other, "2B0B"));
  w.client_case("issuer-dn-mismatch", frank, {int_other.cert.get()}, "issuer_dn",
                "mtls.issuer_dn_mismatch", "2B0B",
                "verifies (the client sends Issuing CA Other) but its issuer DN is not a "
                "configured CA subject; ok on the require profile");

  // Issued by Issuing CA A's key, but its issuer DN is written in upper case: DNs compare
  // canonically (RFC 5280 7.1; OpenSSL's X509_NAME_cmp), for chain building and for
  // verify_issuer_dn alike. The stand-in only lends the name and key id to the builder.
  CertSpec upper_spec = ca("PORTCULLIS TEST ISSUING CA A", nullptr, "1A0D");
  upper_spec.subject = "CN=PORTCULLIS TEST ISSUING CA A,O=PORTCULLIS TESTS";
  upper_spec.key = int_a.key.get();
  const IssuedCert int_a_upper = issue(upper_spec);
  CertSpec judy_spec = client("judy", &int_a_upper, "2B13");
  judy_spec.issuer_key = int_a.key.get();
  const IssuedCert judy = issue(judy_spec);
  w.client_case("issuer-dn-canonical", judy, {int_a.cert.get()}, "issuer_dn", "ok", "2B13",
                "issuer DN in another case than Issuing CA A's subject: equal canonically");

  const IssuedCert revoked = issue(client("revoked-client", &int_a, "2B0C"));
  w.client_case("revoked", revoked, {int_a.cert.get()}, "crl", "mtls.cert_revoked", "2B0C",
                "listed in the CRL of Issuing CA A; ok on the require profile");

  const IssuedCert deep = issue(client("deep-client", &int_c, "2B0D"));
  w.client_case("too-deep", deep, {int_c.cert.get(), int_b.cert.get(), int_a.cert.get()}, "require",
                "mtls.chain_too_long", "2B0D", "three intermediates, verify_depth 2");

  const IssuedCert under_not_ca = issue(client("grace", &int_not_ca, "2B0E"));
  w.client_case("intermediate-not-ca", under_not_ca, {int_not_ca.cert.get()}, "require",
                "mtls.ca_invalid", "2B0E", "issued by a certificate with CA:FALSE");

  const IssuedCert under_pathlen = issue(client("heidi", &int_below_pathlen, "2B0F"));
  w.client_case("path-length", under_pathlen,
                {int_below_pathlen.cert.get(), int_pathlen0.cert.get()}, "require",
                "mtls.ca_invalid", "2B0F", "a CA below a pathLen 0 CA");

  // A self-signed leaf (CA:FALSE) that an operator put into the CA bundle.
  CertSpec trusted_leaf_spec = client("leaf-in-bundle", nullptr, "2B10");
  const IssuedCert trusted_leaf = issue(trusted_leaf_spec);
  w.certs("trusted-leaf-bundle.pem", {root.cert.get(), trusted_leaf.cert.get()});
  w.client_case("trusted-leaf-itself", trusted_leaf, {}, "trusted_leaf", "mtls.self_signed", "2B10",
                "presents the leaf that is itself in trusted_ca");
  const IssuedCert below_trusted_leaf = issue(client("ivan", &trusted_leaf, "2B11"));
  w.client_case("signed-by-trusted-leaf", below_trusted_leaf, {}, "trusted_leaf",
                "mtls.issuer_untrusted", "2B11",
                "issued (signed) by the leaf in trusted_ca, which is no anchor");

  const IssuedCert to_tamper = issue(client("tampered-client", &int_a, "2B12"));
  const pki::X509Ptr tampered = tamper(to_tamper.cert.get());
  w.client_case("tampered-signature", to_tamper, {int_a.cert.get()}, "require",
                "mtls.signature_invalid", "2B12", "one bit of the leaf's signature flipped",
                tampered.get());
  w.client_case("tampered-twin-intact", to_tamper, {int_a.cert.get()}, "require", "ok", "2B12",
                "the tampered leaf before tampering: same key, intact signature");

  // The client presents a trusted root itself (with its key): an anchor vouches for others.
  w.client_case("anchor-as-leaf", partner, {}, "require", "mtls.cert_invalid", "1A02",
                "the client presents a root CA of trusted_ca as its own certificate");

  // ---- CRLs ------------------------------------------------------------------------------------
  auto crl_for = [](const IssuedCert& issuer, std::vector<X509*> revoked_list, hours last,
                    hours next) {
    pki::CrlSpec spec;
    spec.issuer_cert = issuer.cert.get();
    spec.issuer_key = issuer.key.get();
    spec.revoked = std::move(revoked_list);
    spec.last_update = last;
    spec.next_update = next;
    return must(pki::issue_crl(spec), "issuing a CRL");
  };
  const auto crl_root = crl_for(root, {}, -hours(1), 7 * kDay);
  const auto crl_a = crl_for(int_a, {revoked.cert.get()}, -hours(1), 7 * kDay);
  const auto crl_b = crl_for(int_b, {}, -hours(1), 7 * kDay);
  const auto crl_a_expired = crl_for(int_a, {}, -10 * kDay, -3 * kDay);
  w.crls("crl-all.pem", {crl_root.get(), crl_a.get(), crl_b.get()});
  w.crls("crl-expired.pem", {crl_root.get(), crl_a_expired.get(), crl_b.get()});
  w.crls("crl-damaged.pem", {crl_root.get()});
  {
    // Corrupt the base64 of the one CRL: the file still looks like PEM but does not parse.
    std::fstream f(w.path("crl-damaged.pem"), std::ios::in | std::ios::out);
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const auto body = text.find('\n') + 1;
    for (std::size_t i = body + 10; i < body + 40 && i < text.size(); ++i) text[i] = '!';
    f.seekp(0);
    f << text;
  }
  // An intermediates file that holds a leaf (refused at start).
  w.certs("intermediates-with-leaf.pem", {int_a.cert.get(), alice.cert.get()});

  // ---- manifest ------------------------------------------------------------------------------
  auto& m = w.manifest();
  m["server"] = {{"root", "server-root.pem"}, {"chain", "server-chain.pem"}, {"key", "server.key"}};
  m["files"] = {
      {"trusted_ca", "client-ca-bundle.pem"},
      {"client_root", "client-root.pem"},
      {"intermediates_a", "intermediates-a.pem"},
      {"intermediates_a_b", "intermediates-a-b.pem"},
      {"trusted_leaf_bundle", "trusted-leaf-bundle.pem"},
      {"crl", "crl-all.pem"},
      {"crl_expired", "crl-expired.pem"},
      {"crl_damaged", "crl-damaged.pem"},
      {"intermediates_with_leaf", "intermediates-with-leaf.pem"},
  };
  m["ca_names"] = {dn("Portcullis Test Client Root"), dn("Portcullis Test Partner Root")};
  m["names"] = {
      {"client_root", dn("Portcullis Test Client Root")},
      {"issuing_a", dn("Portcullis Test Issuing CA A")},
      {"issuing_b", dn("Portcullis Test Issuing CA B")},
      {"issuing_other", dn("Portcullis Test Issuing CA Other")},
      {"expired_ca", dn("Portcullis Test Expired CA")},
      {"not_a_ca", dn("Portcullis Test Not A CA")},
      {"untrusted_root", dn("Portcullis Test Untrusted Root")},
  };
  m["profiles"] = {
      {"require", {{"trusted_ca", "client-ca-bundle.pem"}, {"verify_depth", 2}}},
      {"issuer_dn",
       {{"trusted_ca", "client-ca-bundle.pem"},
        {"intermediates", "intermediates-a.pem"},
        {"verify_depth", 2},
        {"verify_issuer_dn", true}}},
      {"crl",
       {{"trusted_ca", "client-ca-bundle.pem"}, {"verify_depth", 2}, {"crl", "crl-all.pem"}}},
      {"crl_expired",
       {{"trusted_ca", "client-ca-bundle.pem"}, {"verify_depth", 2}, {"crl", "crl-expired.pem"}}},
      {"trusted_leaf", {{"trusted_ca", "trusted-leaf-bundle.pem"}, {"verify_depth", 2}}},
  };
  w.finish();
  return 0;
}
