// HTML text escaping for the denial pages: every dynamic string goes through html_escape_to so a
// detail or request id can never inject markup.
#pragma once

#include <string>
#include <string_view>

namespace portcullis::explain {

/// Appends `text` to `out` escaped for HTML element content and quoted attribute values:
/// & < > " ' become entities, invalid UTF-8 and control characters (other than tab, LF, CR)
/// become U+FFFD.
void html_escape_to(std::string& out, std::string_view text);

/// html_escape_to into a new string.
std::string html_escape(std::string_view text);

}  // namespace portcullis::explain
