// docs/denials.md, generated from the denial catalogue (`portcullis denials --markdown`): the
// response format and one table per code family. Deterministic so CI can diff it.
#include <string>
#include <string_view>
#include <vector>

#include "core/denial.h"
#include "core/json_writer.h"
#include "explain/render.h"

namespace portcullis::explain {
namespace {

struct Family {
  std::string_view prefix;
  std::string_view heading;
};

// Headings for the known families; a new family still gets a section, headed by its prefix.
constexpr Family kFamilies[] = {
    {"mtls", "Client certificates (mTLS)"},
    {"authn", "Authentication"},
    {"basic", "Basic authentication"},
    {"identity", "Identity"},
    {"jwt", "Bearer tokens (JWT)"},
    {"authz", "Authorization"},
    {"route", "Routing"},
    {"request", "Requests"},
    {"upstream", "Upstream services"},
    {"callout", "Authorization service callouts"},
};

std::string_view family_of(std::string_view code) {
  return code.substr(0, code.find('.'));
}

std::string_view heading_of(std::string_view family) {
  for (const auto& f : kFamilies) {
    if (f.prefix == family) return f.heading;
  }
  return family;
}

// One table cell: pipes are escaped everywhere (GFM splits cells on them even inside code
// spans); < and > only outside code spans, where they would otherwise start raw HTML.
void append_cell(std::string& out, std::string_view text) {
  bool in_code = false;
  for (const char c : text) {
    switch (c) {
      case '`':
        in_code = !in_code;
        out += c;
        break;
      case '|':
        out += "\\|";
        break;
      case '<':
        out += in_code ? "<" : "&lt;";
        break;
      case '>':
        out += in_code ? ">" : "&gt;";
        break;
      case '\n':
      case '\r':
        out += ' ';
        break;
      default:
        out += c;
    }
  }
}

void append_json_member(std::string& out, std::string_view key, std::string_view value,
                        bool last = false) {
  out += "  \"";
  out += key;
  out += "\": \"";
  core::json_escape_to(out, value);
  out += last ? "\"\n" : "\",\n";
}

void append_response_format(std::string& out) {
  const core::DenialSpec& example = core::spec(core::DenialCode::AuthnRequired);
  out +=
      "## The response\n"
      "\n"
      "Every denial response carries:\n"
      "\n"
      "- `X-Denial-Code: <code>`, the stable code from the tables below;\n"
      "- `X-Request-Id: <id>`, the same id as the `request_id` of the access log line, where the "
      "operator finds the full evidence;\n"
      "- `Cache-Control: no-store`;\n"
      "- on 401, one `WWW-Authenticate` challenge per scheme the route accepts; on 429 and 503, "
      "`Retry-After` when the wait is known;\n"
      "- a body chosen by the `Accept` header: a small HTML page when `text/html` ranks above "
      "JSON (browsers), otherwise `application/problem+json` (RFC 9457).\n"
      "\n"
      "The problem+json members are `type` (`urn:portcullis:denial:<code>`), `title`, `status`, "
      "`instance` (the request id), `code` and `hint`; the HTML page shows the same fields.\n"
      "\n"
      "```json\n"
      "{\n";
  std::string type = "urn:portcullis:denial:";
  type += example.code;
  append_json_member(out, "type", type);
  append_json_member(out, "title", example.title);
  out += "  \"status\": " + std::to_string(example.status) + ",\n";
  append_json_member(out, "instance", "3f9c2a7b1e0d00000001");
  append_json_member(out, "code", example.code);
  append_json_member(out, "hint", example.hint, true);
  out +=
      "}\n"
      "```\n"
      "\n"
      "### Detailed mode\n"
      "\n"
      "In detailed mode the body also has `detail`: the operator evidence, such as the "
      "certificate subject, issuer and serial, which intermediate is missing, the issuer DN "
      "expected and presented, the token `iss` and the configured issuer, or both clock "
      "readings. `errors.detail` chooses who gets it: `local` (the default: loopback peers and "
      "peers inside `errors.detail_networks`), `always` or `never`. The access log always has "
      "the detail.\n"
      "\n"
      "No mode ever shows secrets, password hashes, full tokens, or whether a user name exists "
      "(`basic.credentials_invalid` is the same for an unknown user and a wrong password).\n"
      "\n"
      "The status is the catalogue default shown below; client certificate (`mtls.*`) denials "
      "use `client_auth.denial_status` of their listener (default 400).\n";
}

}  // namespace

std::string denials_markdown() {
  std::string out;
  out.reserve(16 * 1024);
  out +=
      "# Denial codes\n"
      "\n"
      "This file is generated from the denial catalogue (src/core/denial_catalogue.cpp) by "
      "`portcullis denials --markdown`; do not edit it by hand (`make docs` regenerates it).\n"
      "\n"
      "Every request Portcullis refuses is answered with one of the stable codes below, an HTTP "
      "status, a one-line title and a hint saying what to do about it.\n"
      "\n";
  append_response_format(out);
  out += "\n## Codes\n";

  // Families in the order they first appear in the catalogue, each with its rows in order.
  std::vector<std::string_view> families;
  for (const auto& row : core::catalogue()) {
    const auto family = family_of(row.code);
    bool seen = false;
    for (const auto f : families) seen = seen || f == family;
    if (!seen) families.push_back(family);
  }
  for (const auto family : families) {
    out += "\n### ";
    out += heading_of(family);
    out += " (`";
    out += family;
    out +=
        ".*`)\n"
        "\n"
        "| Code | Status | Stage | Title | Hint |\n"
        "|---|---|---|---|---|\n";
    for (const auto& row : core::catalogue()) {
      if (family_of(row.code) != family) continue;
      out += "| `";
      append_cell(out, row.code);
      out += "` | ";
      out += std::to_string(row.status);
      out += " | ";
      out += core::stage_name(row.stage);
      out += " | ";
      append_cell(out, row.title);
      out += " | ";
      append_cell(out, row.hint);
      out += " |\n";
    }
  }
  return out;
}

}  // namespace portcullis::explain
