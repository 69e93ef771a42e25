#include "core/distinguished_name.h"

namespace portcullis::core {

std::string first_common_name(std::string_view name) {
  std::size_t pos = 0;
  while (pos < name.size()) {
    if (name.substr(pos, 3) == "CN=") {
      // Usually nothing is escaped: the value runs to the next comma, copied at once.
      const std::string_view rest = name.substr(pos + 3);
      const std::size_t stop = rest.find_first_of(",\\");
      if (stop == std::string_view::npos || rest[stop] == ',') {
        return std::string(rest.substr(0, stop));
      }
      std::string out;
      for (std::size_t i = 0; i < rest.size(); ++i) {
        if (rest[i] == '\\' && i + 1 < rest.size()) {
          out += rest[++i];
        } else if (rest[i] == ',') {
          break;
        } else {
          out += rest[i];
        }
      }
      return out;
    }
    // Skip to the next RDN, honouring escaped commas.
    while (pos < name.size() && name[pos] != ',') pos += name[pos] == '\\' ? 2 : 1;
    ++pos;
  }
  return {};
}

}  // namespace portcullis::core
