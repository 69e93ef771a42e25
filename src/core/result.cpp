// Formatting of control-plane errors.
#include "core/result.h"

namespace portcullis::core {

std::string Error::to_string() const {
  std::string out;
  if (!where.empty()) {
    out += where;
    out += ": ";
  }
  if (line > 0) {
    out += "line " + std::to_string(line) + ": ";
  }
  out += message;
  return out;
}

}  // namespace portcullis::core
