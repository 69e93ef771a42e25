// Test support for the credential-file tests: a temporary directory removed at scope exit, and
// writes that move the mtime forward as an editor saving a second later would.
#pragma once

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

namespace portcullis::authn::testing_files {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "portcullis-basic-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  fs::path file(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

inline void write(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

/// Writes new content and moves the mtime forward two seconds.
inline void rewrite(const fs::path& path, const std::string& content) {
  const auto before = fs::last_write_time(path);
  write(path, content);
  fs::last_write_time(path, before + std::chrono::seconds(2));
}

}  // namespace portcullis::authn::testing_files
