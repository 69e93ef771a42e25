// The result every authenticator returns (DESIGN.md "Life of a request", stage 5):
// NotPresent (its credential is absent: try the next), Authenticated{Identity}, or
// Rejected{Denial} (a malformed or wrong credential: stop, never "try the next").
#pragma once

#include <string>
#include <variant>

#include "core/denial.h"
#include "core/identity.h"

namespace portcullis::authn {

struct NotPresent {};

struct Authenticated {
  core::Identity identity;
};

struct Rejected {
  core::Denial denial;  ///< with its WWW-Authenticate header when the scheme has one
};

using Outcome = std::variant<NotPresent, Authenticated, Rejected>;

/// "not_present", "authenticated" or "rejected" (logs and tests).
const char* outcome_name(const Outcome& outcome);

}  // namespace portcullis::authn
