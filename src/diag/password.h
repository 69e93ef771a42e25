// PKCS#12 passwords for the command line: from a file (--password-file) or typed at the
// terminal without echo. Never from argv or the environment, where other users can read them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "diag/file_contents.h"

namespace portcullis::diag {

/// The first line of `path`, without its line ending. Errors: unreadable, larger than 4 KiB.
core::Result<std::string> read_password_file(const std::string& path);

/// Asks on the controlling terminal (/dev/tty) with echo off. nullopt when standard input is
/// not a terminal (scripts, CI), there is no controlling terminal, or the read fails.
std::optional<std::string> prompt_password(std::string_view prompt);

/// ReadOptions for a command-line tool: the password of `password_file` when given, else a
/// prompt on the terminal (when there is one) if a PKCS#12 archive needs it. Errors: the password
/// file cannot be read.
core::Result<ReadOptions> cli_read_options(const std::optional<std::string>& password_file);

}  // namespace portcullis::diag
