// Denial rendering for clients: Accept negotiation, the detailed-mode decision, and the
// problem+json / HTML bodies with their headers. Data plane: no exceptions on purpose, no nlohmann.
#include "explain/render.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>

#include "core/ascii.h"
#include "core/json_writer.h"
#include "explain/html.h"

namespace portcullis::explain {
namespace {

constexpr std::string_view kWhitespace = " \t";

std::string_view trim(std::string_view s) {
  const auto begin = s.find_first_not_of(kWhitespace);
  if (begin == std::string_view::npos) return {};
  const auto end = s.find_last_not_of(kWhitespace);
  return s.substr(begin, end - begin + 1);
}

// A qvalue, leniently: "1", "0.8", also ".2" (old Java clients). Out of range or garbage = none.
std::optional<double> parse_qvalue(std::string_view text) {
  text = trim(text);
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    text = text.substr(1, text.size() - 2);
  }
  double q = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), q);
  if (ec != std::errc{} || end != text.data() + text.size() || std::isnan(q) || q < 0 || q > 1) {
    return std::nullopt;
  }
  return q;
}

// The quality a client gives one media type: the q of the most specific matching range
// (RFC 9110 12.5.1); `specificity` -1 = no range matched (quality 0).
struct Preference {
  int specificity = -1;
  double q = 0;

  void consider(int range_specificity, double range_q) {
    if (range_specificity > specificity) {
      specificity = range_specificity;
      q = range_q;
    } else if (range_specificity == specificity && range_q > q) {
      q = range_q;
    }
  }
};

// How specifically `type/subtype` (a range from Accept) matches `want_type/want_subtype`:
// 2 exact, 1 type/*, 0 */*, -1 no match.
int match(std::string_view type, std::string_view subtype, std::string_view want_type,
          std::string_view want_subtype) {
  if (type == "*" && subtype == "*") return 0;
  if (!core::ascii_iequals(type, want_type)) return -1;
  if (subtype == "*") return 1;
  return core::ascii_iequals(subtype, want_subtype) ? 2 : -1;
}

bool has_header(const std::vector<core::HeaderPair>& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (core::ascii_iequals(key, name)) return true;
  }
  return false;
}

// SECURITY: a header value must never carry CR/LF (response splitting) or other controls;
// the request id may one day be taken from the client, so it is filtered here.
std::string header_safe(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7F) out += c;
  }
  return out;
}

std::string problem_json(const core::DenialSpec& spec, int status, std::string_view request_id,
                         std::string_view detail) {
  std::string out;
  out.reserve(256 + spec.title.size() + spec.hint.size() + detail.size());
  std::string type = "urn:portcullis:denial:";
  type += spec.code;
  core::JsonObjectWriter json(out);
  json.str("type", type)
      .str("title", spec.title)
      .num("status", static_cast<std::int64_t>(status))
      .str("instance", request_id)
      .str("code", spec.code)
      .str("hint", spec.hint);
  if (!detail.empty()) json.str("detail", detail);
  json.finish();
  return out;
}

std::string html_page(const core::DenialSpec& spec, int status, std::string_view request_id,
                      std::string_view detail) {
  std::string out;
  out.reserve(1024 + spec.title.size() + spec.hint.size() + 2 * detail.size());
  std::string heading = std::to_string(status);
  heading += ' ';
  heading += spec.title;

  out +=
      "<!DOCTYPE html>\n"
      "<html lang=\"en\">\n"
      "<head>\n"
      "<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"robots\" content=\"noindex\">\n"
      "<title>";
  html_escape_to(out, heading);
  out +=
      "</title>\n"
      "<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:3rem auto;"
      "padding:0 1rem;color:#222;line-height:1.5}h1{font-size:1.5rem}"
      "dt{font-weight:600}dd{margin:0 0 .75rem}code,pre{font-family:ui-monospace,monospace}"
      "pre{white-space:pre-wrap;word-break:break-word;background:#f4f4f4;padding:.75rem}</style>\n"
      "</head>\n"
      "<body>\n"
      "<main>\n"
      "<h1>";
  html_escape_to(out, heading);
  out += "</h1>\n<p>";
  html_escape_to(out, spec.hint);
  out += "</p>\n<dl>\n<dt>Code</dt>\n<dd><code>";
  html_escape_to(out, spec.code);
  out += "</code></dd>\n<dt>Request id</dt>\n<dd><code>";
  html_escape_to(out, request_id);
  out += "</code></dd>\n";
  if (!detail.empty()) {
    out += "<dt>Detail</dt>\n<dd><pre>";
    html_escape_to(out, detail);
    out += "</pre></dd>\n";
  }
  out +=
      "</dl>\n"
      "</main>\n"
      "</body>\n"
      "</html>\n";
  return out;
}

}  // namespace

BodyFormat negotiate(std::string_view accept) {
  Preference html;
  Preference json;
  Preference problem;
  while (!accept.empty()) {
    const auto comma = accept.find(',');
    std::string_view element = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view{} : accept.substr(comma + 1);

    const auto semicolon = element.find(';');
    const std::string_view range = trim(element.substr(0, semicolon));
    if (range.empty()) continue;
    std::string_view type = range;
    std::string_view subtype = "*";  // a bare "*" (old clients) means */*
    if (const auto slash = range.find('/'); slash != std::string_view::npos) {
      type = trim(range.substr(0, slash));
      subtype = trim(range.substr(slash + 1));
    } else if (range != "*") {
      continue;
    }
    if (type.empty() || subtype.empty() || (type == "*" && subtype != "*")) continue;

    double q = 1;
    bool valid = true;
    std::string_view params =
        semicolon == std::string_view::npos ? std::string_view{} : element.substr(semicolon + 1);
    while (!params.empty()) {
      const auto next = params.find(';');
      const std::string_view param = params.substr(0, next);
      params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
      const auto eq = param.find('=');
      if (eq == std::string_view::npos || !core::ascii_iequals(trim(param.substr(0, eq)), "q"))
        continue;
      const auto parsed = parse_qvalue(param.substr(eq + 1));
      if (!parsed) {
        valid = false;
      } else {
        q = *parsed;
      }
      break;  // parameters after q are accept-extensions
    }
    if (!valid) continue;

    if (const int s = match(type, subtype, "text", "html"); s >= 0) html.consider(s, q);
    if (const int s = match(type, subtype, "application", "json"); s >= 0) json.consider(s, q);
    if (const int s = match(type, subtype, "application", "problem+json"); s >= 0) {
      problem.consider(s, q);
    }
  }
  const double json_q = std::max(json.q, problem.q);
  // Ties go to problem+json: machines are the clients that benefit from the structure.
  return html.q > json_q ? BodyFormat::Html : BodyFormat::ProblemJson;
}

bool detail_allowed(const config::ErrorsConfig& errors, const core::IpAddress& peer) {
  switch (errors.detail) {
    case config::DetailMode::Always:
      return true;
    case config::DetailMode::Never:
      return false;
    case config::DetailMode::Local:
      break;
  }
  if (peer.is_loopback()) return true;
  for (const auto& network : errors.detail_networks) {
    if (network.contains(peer)) return true;
  }
  return false;
}

RenderedDenial render_denial(const core::Denial& denial, std::string_view request_id, bool detailed,
                             BodyFormat format) {
  const core::DenialSpec& spec = core::spec(denial.code);
  RenderedDenial out;
  out.status = denial.effective_status();

  out.headers.reserve(3 + denial.headers.size());
  out.headers.emplace_back("X-Denial-Code", std::string(spec.code));
  out.headers.emplace_back("X-Request-Id", header_safe(request_id));
  for (const auto& header : denial.headers) {
    // The two headers above are ours; a denial cannot override or duplicate them.
    if (core::ascii_iequals(header.first, "X-Denial-Code") ||
        core::ascii_iequals(header.first, "X-Request-Id"))
      continue;
    out.headers.push_back(header);
  }
  // A denial describes this one request; caches must not replay it to another client.
  if (!has_header(denial.headers, "Cache-Control")) {
    out.headers.emplace_back("Cache-Control", "no-store");
  }

  const std::string_view detail = detailed ? std::string_view(denial.detail) : std::string_view{};
  if (!denial.passed_body.empty()) {
    out.content_type =
        denial.passed_content_type.empty() ? "text/plain" : denial.passed_content_type;
    out.body = denial.passed_body;
  } else if (format == BodyFormat::Html) {
    out.content_type = "text/html; charset=utf-8";
    out.body = html_page(spec, out.status, request_id, detail);
  } else {
    out.content_type = "application/problem+json";
    out.body = problem_json(spec, out.status, request_id, detail);
  }
  return out;
}

}  // namespace portcullis::explain
