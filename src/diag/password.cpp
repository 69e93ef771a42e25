// Reading a password from a file or the terminal. The terminal's echo setting is restored on
// every path out.
#include "diag/password.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace portcullis::diag {
namespace {

constexpr std::size_t kMaxPasswordFile = 4096;

void strip_line_end(std::string& s) {
  if (const auto eol = s.find_first_of("\r\n"); eol != std::string::npos) s.resize(eol);
}

}  // namespace

core::Result<std::string> read_password_file(const std::string& path) {
  auto data = read_input_file(path);
  if (!data) return std::unexpected(std::move(data.error()));
  if (data->size() > kMaxPasswordFile) {
    return core::fail(
        fmt::format("\"{}\": larger than {} bytes, not a password file", path, kMaxPasswordFile));
  }
  strip_line_end(*data);
  return std::move(*data);
}

std::optional<std::string> prompt_password(std::string_view prompt) {
  // Scripts that pipe into the command must never block on a prompt they cannot see.
  if (::isatty(STDIN_FILENO) != 1) return std::nullopt;
  const int fd = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  termios saved{};
  const bool is_tty = ::tcgetattr(fd, &saved) == 0;
  if (!is_tty) return std::nullopt;
  termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ECHONL;
  if (::write(fd, prompt.data(), prompt.size()) < 0) return std::nullopt;
  if (::tcsetattr(fd, TCSAFLUSH, &quiet) != 0) return std::nullopt;
  struct Restore {
    int fd;
    const termios& saved;
    ~Restore() { ::tcsetattr(fd, TCSAFLUSH, &saved); }
  } restore{fd, saved};
  std::string out;
  char c = 0;
  for (;;) {
    const ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n' || c == '\r') break;
    if (out.size() >= kMaxPasswordFile) break;
    out.push_back(c);
  }
  return out;
}

core::Result<ReadOptions> cli_read_options(const std::optional<std::string>& password_file) {
  ReadOptions options;
  if (password_file) {
    auto password = read_password_file(*password_file);
    if (!password) return std::unexpected(std::move(password.error()));
    options.password = std::move(*password);
  } else {
    options.ask_password = [] { return prompt_password("PKCS#12 password: "); };
  }
  return options;
}

}  // namespace portcullis::diag
