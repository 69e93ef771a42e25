// Internal to src/config: readers for the value kinds the schema repeats (names, files,
// durations, sizes, addresses, header names), each recording its error at the node.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "config/endpoint.h"
#include "config/yaml_reader.h"

namespace portcullis::config {

/// Why `name` is not a valid listener, route, upstream or authenticator name, or nullopt.
/// Names are 1..64 letters, digits, '_', '-', '.', starting with a letter or digit (they appear
/// in logs, metrics and YAML paths).
std::optional<std::string> name_error(std::string_view name);

/// A scalar that is a valid name (see name_error).
std::optional<std::string> read_name(const Node& node);

/// A file path resolved against `base_dir` that must be a readable regular file.
std::optional<FileRef> read_file(const Node& node, const std::string& base_dir);

/// A duration of at least `min`.
std::optional<Duration> read_duration(const Node& node, Duration min);

/// A size in [min, max] bytes.
std::optional<std::uint64_t> read_size(const Node& node, std::uint64_t min, std::uint64_t max);

/// An address; the endpoint's origin is this node.
std::optional<Endpoint> read_endpoint(const Node& node, EndpointKind kind);

/// `proxy:` of an outgoing target: `none`, `env`, or an http:// proxy URL (credentials allowed).
std::optional<ProxyConfig> read_proxy(const Node& node);

/// An HTTP field name (RFC 9110 token) that is not one of the framing or hop-by-hop fields
/// the proxy must own (Host, Content-Length, Transfer-Encoding, Connection, ...).
std::optional<std::string> read_header_name(const Node& node);

/// RFC 9110 token characters only, not empty.
bool is_http_token(std::string_view text);

}  // namespace portcullis::config
