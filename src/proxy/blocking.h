// Work that must not run on an I/O thread (password hashing, re-reading credential files) is
// handed to a BlockingRunner; net/ implements it with a small bounded thread pool.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <functional>

namespace portcullis::proxy {

class BlockingRunner {
 public:
  virtual ~BlockingRunner() = default;
  /// Runs `work` on another thread and resumes the caller on its own executor when it is done.
  virtual boost::asio::awaitable<void> run(std::function<void()> work) = 0;
};

}  // namespace portcullis::proxy
