// Hop to the pool and back: co_spawn on the pool's executor completes on the caller's executor.
#include "net/blocking_pool.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace portcullis::net {

BlockingPool::BlockingPool(unsigned threads) : pool_(threads == 0 ? 1 : threads) {}

BlockingPool::~BlockingPool() {
  stop();
}

boost::asio::awaitable<void> BlockingPool::run(std::function<void()> work) {
  co_await boost::asio::co_spawn(
      pool_.get_executor(),
      [&work]() -> boost::asio::awaitable<void> {
        work();
        co_return;
      },
      boost::asio::use_awaitable);
}

void BlockingPool::stop() {
  pool_.stop();
  pool_.join();
}

}  // namespace portcullis::net
