// Outcome helpers shared by the authenticators.
#include "authn/outcome.h"

namespace portcullis::authn {

const char* outcome_name(const Outcome& outcome) {
  if (std::holds_alternative<NotPresent>(outcome)) return "not_present";
  if (std::holds_alternative<Authenticated>(outcome)) return "authenticated";
  return "rejected";
}

}  // namespace portcullis::authn
