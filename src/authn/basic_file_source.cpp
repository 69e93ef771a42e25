// File stamps and stamped reads for the Basic authenticator's files (htpasswd, groups).
#include "authn/basic_file_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace portcullis::authn {
namespace {

FileStamp stamp_of(const struct stat& st) {
  FileStamp s;
  s.device = static_cast<std::uint64_t>(st.st_dev);
  s.inode = static_cast<std::uint64_t>(st.st_ino);
  s.size = static_cast<std::int64_t>(st.st_size);
  s.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 +
               static_cast<std::int64_t>(st.st_mtim.tv_nsec);
  return s;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

core::Result<FileStamp> stat_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return core::fail(fmt::format("cannot stat: {}", std::strerror(errno)), path);
  }
  return stamp_of(st);
}

core::Result<std::pair<std::string, FileStamp>> read_file_stamped(const std::string& path,
                                                                  std::size_t max_bytes) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    return core::fail(fmt::format("cannot open: {}", std::strerror(errno)), path);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return core::fail(fmt::format("cannot stat: {}", std::strerror(errno)), path);
  }
  if (!S_ISREG(st.st_mode)) return core::fail("not a regular file", path);
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    return core::fail(fmt::format("file is larger than {} bytes", max_bytes), path);
  }
  std::string content;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return core::fail(fmt::format("cannot read: {}", std::strerror(errno)), path);
    }
    if (n == 0) break;
    content.append(buf, static_cast<std::size_t>(n));
    if (content.size() > max_bytes) {
      return core::fail(fmt::format("file is larger than {} bytes", max_bytes), path);
    }
  }
  return std::pair{std::move(content), stamp_of(st)};
}

}  // namespace portcullis::authn
