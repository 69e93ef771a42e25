// Path resolution and readability checks with errno-accurate messages (open + fstat, so the
// message is the reason the server itself would hit: ENOENT, EACCES, EISDIR...).
#include "config/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

#include "config/quote.h"

namespace portcullis::config {
namespace {

namespace fs = std::filesystem;

/// strerror text, thread-safe (a reload may load a config while workers log).
std::string errno_text(int err) {
  return std::generic_category().message(err);
}

/// Closes a descriptor on every path out of a function.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

/// Opens for reading without blocking on a FIFO and checks the result is a regular file.
/// Returns the fd or sets `error` to a strerror-style reason.
int open_regular(const std::string& path, std::string& error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    error = errno_text(errno);
    return -1;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    error = errno_text(errno);
    ::close(fd);
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    error = S_ISDIR(st.st_mode) ? errno_text(EISDIR) : "not a regular file";
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

std::string absolute_dir(std::string_view dir) {
  std::error_code ec;
  fs::path path = dir.empty() ? fs::current_path(ec) : fs::absolute(fs::path(dir), ec);
  if (ec) path = fs::path(dir);
  std::string out = path.lexically_normal().string();
  // "a/b/" normalises to "a/b/"; keep directories without the trailing slash except "/".
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

std::string directory_of(std::string_view file) {
  return absolute_dir(fs::path(file).parent_path().string());
}

std::string resolve_path(std::string_view base_dir, std::string_view path) {
  const fs::path p(path);
  std::string out = (p.is_absolute() ? p : fs::path(base_dir) / p).lexically_normal().string();
  // "dir/." normalises to "dir/": name it without the slash, as the operator would.
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

std::optional<std::string> check_readable_file(const std::string& path) {
  std::string error;
  const Fd fd(open_regular(path, error));
  if (fd.get() < 0) return "cannot read " + quote(path) + ": " + error;
  return std::nullopt;
}

std::optional<std::string> check_writable_location(const std::string& path) {
  const std::string dir = fs::path(path).parent_path().string();
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    return "cannot write " + quote(path) + ": directory " + quote(dir) + ": " + errno_text(errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return "cannot write " + quote(path) + ": " + quote(dir) + " is not a directory";
  }
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return "cannot write " + quote(path) + ": " + errno_text(EISDIR);
  }
  return std::nullopt;
}

core::Result<std::string> read_small_file(const std::string& path, std::size_t max_bytes) {
  std::string error;
  const Fd fd(open_regular(path, error));
  if (fd.get() < 0) return core::fail(error);
  std::string out;
  char buf[16 * 1024];
  while (true) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return core::fail(errno_text(errno));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > max_bytes) {
      return core::fail("larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
  return out;
}

}  // namespace portcullis::config
