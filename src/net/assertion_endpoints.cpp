// /.well-known/jwks.json and /auth/verify: request parsing (query audiences, raw or JSON body),
// the verification by authn::verify_assertion, and the answers (JSON, or a rendered denial).
#include "net/assertion_endpoints.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "authn/assertion_verifier.h"
#include "core/request_id.h"
#include "explain/render.h"

namespace portcullis::net {
namespace {

using nlohmann::json;

constexpr std::string_view kJwksPath = "/.well-known/jwks.json";
constexpr std::string_view kVerifyPath = "/auth/verify";

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kSpace) - begin + 1);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// application/x-www-form-urlencoded decoding of one query component ('+' is a space).
std::string form_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hex_digit(text[i + 1]) >= 0 &&
               hex_digit(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

/// Every `audience=` value of the query.
std::vector<std::string> query_audiences(std::string_view query) {
  std::vector<std::string> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && form_decode(pair.substr(0, eq)) == "audience") {
      if (auto value = form_decode(pair.substr(eq + 1)); !value.empty()) {
        out.push_back(std::move(value));
      }
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

AdminReply denial_reply(const core::Denial& denial) {
  // The admin listener is the operator's and the backends': the detail is the point here.
  auto rendered = explain::render_denial(denial, core::new_request_id(), true,
                                         explain::BodyFormat::ProblemJson);
  return AdminReply{rendered.status, std::move(rendered.content_type), std::move(rendered.headers),
                    std::move(rendered.body)};
}

AdminReply method_not_allowed(std::string_view allow) {
  return AdminReply{
      405, "text/plain; charset=utf-8", {{"Allow", std::string(allow)}}, "method not allowed\n"};
}

/// The token in the body: the raw compact JWS, or {"assertion": "..."}; nullopt when a JSON body
/// has no string `assertion`.
std::optional<std::string> token_of(std::string_view body) {
  body = trim(body);
  if (!body.starts_with('{')) return std::string(body);
  const json document = json::parse(body, nullptr, false);
  if (!document.is_object()) return std::nullopt;
  const auto it = document.find("assertion");
  if (it == document.end() || !it->is_string()) return std::nullopt;
  return std::string(trim(it->get_ref<const std::string&>()));
}

AdminReply answer_jwks(const authn::AssertionSigner& signer, authn::TimePoint now) {
  const auto keys = signer.keys(now);
  const auto until_change =
      keys->next_change == authn::TimePoint::max()
          ? kJwksMaxAgeSeconds
          : std::chrono::duration_cast<std::chrono::seconds>(keys->next_change - now).count();
  const long long max_age = std::clamp<long long>(until_change, 0, kJwksMaxAgeSeconds);
  return AdminReply{200,
                    "application/jwk-set+json",
                    {{"Cache-Control", fmt::format("public, max-age={}", max_age)}},
                    keys->jwks.dump() + "\n"};
}

AdminReply answer_verify(const authn::AssertionSigner& signer, const AdminRequest& request,
                         std::string_view query, authn::TimePoint now) {
  if (request.body.size() > kMaxVerifyBody) {
    return denial_reply(
        core::make_denial(core::DenialCode::RequestBodyTooLarge,
                          fmt::format("the body is {} bytes; /auth/verify accepts at most {}",
                                      request.body.size(), kMaxVerifyBody)));
  }
  const auto token = token_of(request.body);
  if (!token || token->empty()) {
    return denial_reply(
        core::make_denial(core::DenialCode::JwtMalformed,
                          "the body must be the assertion, raw or as {\"assertion\": \"<jwt>\"}"));
  }
  const auto audiences = query_audiences(query);
  auto verified = authn::verify_assertion(signer, *token, audiences, now);
  if (!verified) return denial_reply(verified.error());
  return AdminReply{
      200, "application/json", {{"Cache-Control", "no-store"}}, verified->dump() + "\n"};
}

}  // namespace

std::optional<AdminReply> answer_assertion_request(const authn::AssertionSigner& signer,
                                                   const AdminRequest& request,
                                                   authn::TimePoint now) {
  const auto question = request.target.find('?');
  const auto path = request.target.substr(0, question);
  const auto query =
      question == std::string_view::npos ? std::string_view{} : request.target.substr(question + 1);
  if (path == kJwksPath) {
    if (request.method != "GET" && request.method != "HEAD") return method_not_allowed("GET, HEAD");
    return answer_jwks(signer, now);
  }
  if (path == kVerifyPath) {
    if (request.method != "POST") return method_not_allowed("POST");
    return answer_verify(signer, request, query, now);
  }
  return std::nullopt;
}

AdminHandler assertion_admin_handler(std::shared_ptr<const authn::AssertionSigner> signer) {
  return [signer = std::move(signer)](const AdminRequest& request) {
    return answer_assertion_request(*signer, request, std::chrono::system_clock::now());
  };
}

}  // namespace portcullis::net
