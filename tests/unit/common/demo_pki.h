// The demo PKI (pki/demo_pki.h) for the unit tests that need real certificates: written once per
// test binary into its temporary directory, and a listener's TLS settings that use it.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "config/config.h"
#include "pki/demo_pki.h"

namespace portcullis::testing {

/// "<dir>/<file>" for a file of the demo PKI (generated on first use).
inline std::string demo_pki_path(const std::string& file) {
  static const std::string dir = [] {
    const std::string d = ::testing::TempDir() + "/unit_demo_pki";
    std::filesystem::create_directories(d);
    EXPECT_TRUE(pki::generate_demo_pki(d));
    return d;
  }();
  return dir + "/" + file;
}

/// A listener's tls settings with the demo server chain and key.
inline config::ServerTlsConfig demo_server_tls() {
  config::ServerTlsConfig tls;
  tls.cert = {demo_pki_path("server-chain.pem"), {"listeners[0].tls.cert", 5}};
  tls.key = {demo_pki_path("server.key"), {"listeners[0].tls.key", 6}};
  return tls;
}

}  // namespace portcullis::testing
