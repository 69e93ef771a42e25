// Files named by the configuration: resolving them against the config file's directory and
// proving, at load time, that they can be read (contents are checked by their users, e.g. pki).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace portcullis::config {

/// `dir` as an absolute, lexically normal path ("" = the current directory).
std::string absolute_dir(std::string_view dir);

/// The directory that holds `file` (absolute).
std::string directory_of(std::string_view file);

/// `path` if absolute, else `base_dir/path`; lexically normalised, "~" is not expanded.
std::string resolve_path(std::string_view base_dir, std::string_view path);

/// Opens `path` read-only to prove it is a readable regular file. The error is the sentence for
/// the operator: `cannot read "/etc/x.pem": Permission denied`.
std::optional<std::string> check_readable_file(const std::string& path);

/// Proves that a file can be created or appended at `path` as far as the file system layout goes:
/// its directory exists and `path` is not a directory. Permissions are left to the open, which
/// may run as another user than the one checking the configuration.
std::optional<std::string> check_writable_location(const std::string& path);

/// The whole content of a file of at most `max_bytes`; the error message is the strerror text
/// (or "larger than N bytes"), without the path.
core::Result<std::string> read_small_file(const std::string& path, std::size_t max_bytes);

}  // namespace portcullis::config
