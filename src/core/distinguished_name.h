// Reading a distinguished name as the gateway prints it (RFC 2253: most specific RDN first,
// "CN=alice,O=Example", special characters escaped with a backslash).
#pragma once

#include <string>
#include <string_view>

namespace portcullis::core {

/// The value of the first CN=... RDN of an RFC 2253 name, unescaped ("" when there is none):
/// "CN=alice,O=Example" -> "alice", "CN=a\,b,O=X" -> "a,b".
std::string first_common_name(std::string_view name);

}  // namespace portcullis::core
