// proxy::BlockingRunner on a small asio::thread_pool shared by every worker: password hashing and
// credential-file reloads run there, never on an I/O thread.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include "proxy/blocking.h"

namespace portcullis::net {

class BlockingPool final : public proxy::BlockingRunner {
 public:
  /// `threads` hashing threads (bounded: a flood of logins queues instead of taking every core).
  explicit BlockingPool(unsigned threads);
  ~BlockingPool() override;

  boost::asio::awaitable<void> run(std::function<void()> work) override;
  void stop();

 private:
  boost::asio::thread_pool pool_;
};

}  // namespace portcullis::net
