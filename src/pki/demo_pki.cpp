// generate_demo_pki(): the demo and test PKI, issued in-process with the certificate builder.
// Every client certificate exists to trigger one specific mTLS verdict.
#include "pki/demo_pki.h"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "pki/cert_builder.h"

namespace portcullis::pki {
namespace {

using core::fail;
using core::Result;
using std::chrono::hours;

constexpr hours kDay{24};

Result<void> write_pair(const DemoPki& pki, std::string_view name, const IssuedCert& leaf,
                        X509* chain_ca) {
  std::vector<X509*> certs{leaf.cert.get()};
  if (chain_ca != nullptr) certs.push_back(chain_ca);
  if (auto r = write_certificates(pki.path(fmt::format("{}.pem", name)), certs); !r) return r;
  return write_private_key(pki.path(fmt::format("{}.key", name)), leaf.key.get());
}

CertSpec ca_spec(std::string_view subject, const IssuedCert* issuer, int path_len, hours lifetime) {
  CertSpec spec;
  spec.subject = std::string(subject);
  if (issuer != nullptr) {
    spec.issuer_cert = issuer->cert.get();
    spec.issuer_key = issuer->key.get();
  }
  spec.not_before = -hours(1);
  spec.not_after = lifetime;
  spec.is_ca = true;
  spec.path_len = path_len;
  return spec;
}

CertSpec client_spec(std::string_view name, const IssuedCert* issuer) {
  CertSpec spec;
  spec.subject =
      name == "client-good" ? std::string(kDemoClientGoodSubject) : fmt::format("CN=demo-{}", name);
  if (issuer != nullptr) {
    spec.issuer_cert = issuer->cert.get();
    spec.issuer_key = issuer->key.get();
  }
  spec.not_before = -hours(1);
  spec.not_after = 365 * kDay;
  spec.extended_key_usage = {"clientAuth"};
  return spec;
}

}  // namespace

Result<DemoPki> generate_demo_pki(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail(fmt::format("cannot create \"{}\": {}", dir, ec.message()));
  DemoPki pki;
  pki.dir = dir;

  // Server side: root -> intermediate -> localhost.
  auto server_root = issue_certificate(ca_spec(kDemoServerRootSubject, nullptr, -1, 3650 * kDay));
  if (!server_root) return std::unexpected(server_root.error());
  auto server_int =
      issue_certificate(ca_spec(kDemoServerIntermediateSubject, &*server_root, 0, 1825 * kDay));
  if (!server_int) return std::unexpected(server_int.error());
  CertSpec server_leaf_spec;
  server_leaf_spec.subject = std::string(kDemoServerLeafSubject);
  server_leaf_spec.issuer_cert = server_int->cert.get();
  server_leaf_spec.issuer_key = server_int->key.get();
  server_leaf_spec.not_before = -hours(1);
  server_leaf_spec.not_after = 365 * kDay;
  server_leaf_spec.extended_key_usage = {"serverAuth"};
  server_leaf_spec.sans = {"DNS:localhost", "IP:127.0.0.1", "IP:::1"};
  auto server_leaf = issue_certificate(server_leaf_spec);
  if (!server_leaf) return std::unexpected(server_leaf.error());

  if (auto r = write_certificates(pki.path(pki.server_root_ca), {server_root->cert.get()}); !r) {
    return std::unexpected(r.error());
  }
  if (auto r = write_certificates(pki.path(pki.server_chain),
                                  {server_leaf->cert.get(), server_int->cert.get()});
      !r) {
    return std::unexpected(r.error());
  }
  if (auto r = write_private_key(pki.path(pki.server_key), server_leaf->key.get()); !r) {
    return std::unexpected(r.error());
  }

  // Client side: root (the trust bundle) -> intermediate (sent by clients) -> leaves, plus a
  // root outside the bundle.
  auto client_root = issue_certificate(ca_spec(kDemoClientRootSubject, nullptr, -1, 3650 * kDay));
  if (!client_root) return std::unexpected(client_root.error());
  auto client_int =
      issue_certificate(ca_spec(kDemoClientIntermediateSubject, &*client_root, 0, 1825 * kDay));
  if (!client_int) return std::unexpected(client_int.error());
  auto untrusted_root =
      issue_certificate(ca_spec(kDemoUntrustedRootSubject, nullptr, -1, 3650 * kDay));
  if (!untrusted_root) return std::unexpected(untrusted_root.error());
  for (const auto& [file, cert] : {std::pair{&pki.client_ca_bundle, client_root->cert.get()},
                                   std::pair{&pki.client_intermediates, client_int->cert.get()},
                                   std::pair{&pki.untrusted_root_ca, untrusted_root->cert.get()}}) {
    if (auto r = write_certificates(pki.path(*file), {cert}); !r) return std::unexpected(r.error());
  }

  struct ClientCase {
    CertSpec spec;
    X509* chain_ca;  ///< sent after the leaf; nullptr = leaf only
  };
  std::vector<std::pair<std::string_view, ClientCase>> cases;
  cases.emplace_back("client-good",
                     ClientCase{client_spec("client-good", &*client_int), client_int->cert.get()});
  {
    CertSpec spec = client_spec("client-expired", &*client_int);
    spec.not_before = -30 * kDay;
    spec.not_after = -kDay;
    cases.emplace_back("client-expired", ClientCase{std::move(spec), client_int->cert.get()});
  }
  {
    CertSpec spec = client_spec("client-not-yet-valid", &*client_int);
    spec.not_before = 30 * kDay;
    spec.not_after = 395 * kDay;
    cases.emplace_back("client-not-yet-valid", ClientCase{std::move(spec), client_int->cert.get()});
  }
  {
    CertSpec spec = client_spec("client-no-clientauth", &*client_int);
    spec.extended_key_usage = {"serverAuth"};
    cases.emplace_back("client-no-clientauth", ClientCase{std::move(spec), client_int->cert.get()});
  }
  // Sent with its own root, so the chain is complete but ends at a root nobody trusts.
  cases.emplace_back(
      "client-untrusted",
      ClientCase{client_spec("client-untrusted", &*untrusted_root), untrusted_root->cert.get()});
  // A good certificate sent without its intermediate: the chain cannot be built.
  cases.emplace_back("client-leaf-only",
                     ClientCase{client_spec("client-leaf-only", &*client_int), nullptr});
  cases.emplace_back("client-self-signed",
                     ClientCase{client_spec("client-self-signed", nullptr), nullptr});

  for (const auto& [name, c] : cases) {
    auto leaf = issue_certificate(c.spec);
    if (!leaf) return std::unexpected(leaf.error());
    if (auto r = write_pair(pki, name, *leaf, c.chain_ca); !r) return std::unexpected(r.error());
  }
  return pki;
}

}  // namespace portcullis::pki
