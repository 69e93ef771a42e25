// Runs a unit-test binary the way the gateway runs: with PORTCULLIS_EC_KEYS=builtin in the
// environment, OpenSSL's built-in EC method is installed before any test (pki/ec_key_methods.h),
// as `portcullis` does at start. ctest runs the pki, authn and net binaries in both modes.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string_view>

#include "pki/ec_key_methods.h"

namespace portcullis::testing {

/// True when this run asked for the built-in EC method (and so installed it).
inline bool builtin_ec_keys_requested() {
  const char* mode = std::getenv("PORTCULLIS_EC_KEYS");
  return mode != nullptr && std::string_view(mode) == "builtin";
}

class EcKeysModeEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (builtin_ec_keys_requested()) {
      ASSERT_TRUE(pki::install_ec_key_methods()) << "OpenSSL refused the built-in EC method";
    }
  }
};

// One registration per binary: the header is included by one test file of each module.
inline ::testing::Environment* const kEcKeysModeEnvironment =
    ::testing::AddGlobalTestEnvironment(new EcKeysModeEnvironment);

}  // namespace portcullis::testing
