// Hop-by-hop removal, identity stripping, forwarding headers, and raw header checks.
#include "proxy/header_rules.h"
#include "core/ascii.h"

#include <algorithm>
#include <array>

namespace portcullis::proxy {
namespace {

constexpr std::array<std::string_view, 9> kHopByHop{
    "connection",        "keep-alive",          "proxy-connection", "te", "trailer", "upgrade",
    "transfer-encoding", "proxy-authorization", "content-length"};

/// `name` lower-cased (ASCII) into `buf`, or into `spill` when longer: these run for every
/// header of every message, and header names are short.
std::string_view lower_name(std::string_view name, std::array<char, 64>& buf, std::string& spill) {
  char* out = buf.data();
  if (name.size() > buf.size()) {
    spill.resize(name.size());
    out = spill.data();
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    out[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return {out, name.size()};
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string check_raw_header_block(std::string_view block) {
  std::size_t line_no = 1;
  for (std::size_t i = 0; i < block.size(); ++i) {
    const char c = block[i];
    if (c == '\0') return "NUL byte in the request header";
    if (c == '\r' && (i + 1 >= block.size() || block[i + 1] != '\n')) {
      return "bare CR in the request header";
    }
    if (c == '\n') {
      ++line_no;
      const bool more = i + 1 < block.size();
      if (more && line_no > 2 && (block[i + 1] == ' ' || block[i + 1] == '\t')) {
        return "obsolete line folding (a header line starting with whitespace) at header line " +
               std::to_string(line_no - 1);
      }
      if (more && line_no == 2 && (block[i + 1] == ' ' || block[i + 1] == '\t')) {
        return "whitespace before the first header field";
      }
    }
  }
  return {};
}

void remove_hop_by_hop(HeaderList& headers) {
  // The names listed in Connection, lower case, sorted once: the removal below is then
  // O((fields + tokens) log tokens), not fields x tokens (a 1 MiB head holds ~10^5 of each).
  std::vector<std::string> named;
  for (const auto& [name, value] : headers.fields()) {
    if (!core::ascii_iequals(name, "connection")) continue;
    std::string_view v(value);
    while (!v.empty()) {
      const auto comma = v.find(',');
      const auto token = trim(v.substr(0, comma));
      // SECURITY: Connection cannot make an end-to-end field disappear that routing decided
      // on: the upstream must see the Host the request was routed by.
      if (!token.empty() && !core::ascii_iequals(token, "host")) {
        named.push_back(core::ascii_lower(token));
      }
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  std::sort(named.begin(), named.end());
  named.erase(std::unique(named.begin(), named.end()), named.end());
  std::array<char, 64> buf;
  std::string spill;
  std::erase_if(headers.fields(), [&](const HeaderList::Field& f) {
    const auto n = lower_name(f.first, buf, spill);
    return std::find(kHopByHop.begin(), kHopByHop.end(), n) != kHopByHop.end() ||
           std::binary_search(named.begin(), named.end(), n);
  });
}

namespace {

/// A header name as CGI-style backends see it: lower case, '_' and '-' the same character.
std::string identity_key(std::string_view name) {
  std::string key = core::ascii_lower(name);
  std::replace(key.begin(), key.end(), '_', '-');
  return key;
}

}  // namespace

IdentityHeaderStripper::IdentityHeaderStripper(std::vector<std::string> names) {
  // SECURITY: a configured X_User is stripped in its X-User spelling too: CGI, PHP, WSGI and
  // Rack give both the same variable.
  for (auto& n : names) {
    if (!n.empty()) names_.push_back(identity_key(n));
  }
  // SECURITY: the default identity header names are stripped even when a route does not use
  // them, so an upstream that trusts them by convention cannot be fooled by a client.
  for (std::string_view n : {"x-forwarded-client-cert", "x-auth-user", "x-auth-groups",
                             "x-client-subject", "x-client-issuer", "x-client-san",
                             "x-client-sha256", "x-client-verify", "x-portcullis-assertion"}) {
    names_.emplace_back(n);
  }
  std::sort(names_.begin(), names_.end());
  names_.erase(std::unique(names_.begin(), names_.end()), names_.end());
}

std::vector<std::string> IdentityHeaderStripper::strip(HeaderList& headers) const {
  std::vector<std::string> removed;
  std::array<char, 64> buf;
  std::string spill;
  std::erase_if(headers.fields(), [&](const HeaderList::Field& f) {
    auto n = lower_name(f.first, buf, spill);
    if (n.find('_') != std::string_view::npos) {
      spill = identity_key(n);
      n = spill;
    }
    // SECURITY: every X-Client-Cert* variant is the gateway's to assert, configured or not.
    const bool hit =
        n.starts_with("x-client-cert") || std::binary_search(names_.begin(), names_.end(), n);
    if (hit) removed.push_back(f.first);
    return hit;
  });
  return removed;
}

void add_forwarded_headers(HeaderList& headers, std::string_view client_ip, bool tls,
                           std::string_view host) {
  std::string xff;
  for (const auto& [name, value] : headers.fields()) {
    if (!core::ascii_iequals(name, "x-forwarded-for")) continue;
    if (!xff.empty()) xff += ", ";
    xff += value;
  }
  if (!xff.empty()) xff += ", ";
  xff += client_ip;
  headers.set("X-Forwarded-For", std::move(xff));
  headers.set("X-Forwarded-Proto", tls ? "https" : "http");
  if (!host.empty()) {
    headers.set("X-Forwarded-Host", std::string(host));
  } else {
    headers.remove("X-Forwarded-Host");
  }
}

}  // namespace portcullis::proxy
