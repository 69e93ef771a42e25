// The gateway ignores SIGPIPE at start (src/cli/main.cpp), so a write to a peer that has closed,
// TLS or not, is an error value rather than a signal. The net unit tests run the same way.
#include <gtest/gtest.h>

#include <csignal>

namespace {

class IgnoreSigpipe : public ::testing::Environment {
 public:
  void SetUp() override { std::signal(SIGPIPE, SIG_IGN); }
};

[[maybe_unused]] const auto* const kIgnoreSigpipe =
    ::testing::AddGlobalTestEnvironment(new IgnoreSigpipe);

}  // namespace
