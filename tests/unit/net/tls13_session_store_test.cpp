// The own handshake's resumption sessions: a ticket finds its session as often as it is offered
// within the lifetime, never past it nor past its full handshake's time plus the lifetime, and
// the store stays within its capacity.
#include "net/tls13_session_store.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace portcullis::net::tls13 {
namespace {

ResumableSession session(std::uint8_t fill, std::chrono::steady_clock::time_point established) {
  ResumableSession s;
  s.psk.size = 32;
  s.psk.bytes.fill(fill);
  s.suite = 0x1301;
  s.age_add = fill;
  s.established = established;
  return s;
}

const auto now = [] { return std::chrono::steady_clock::now(); };

TEST(Tls13SessionStore, ATicketFindsItsSessionAgainAndAgain) {
  SessionStore store(16, std::chrono::seconds(60));
  const auto ticket = store.insert(session(7, now()));
  ASSERT_TRUE(ticket);
  for (int i = 0; i < 3; ++i) {
    const auto found = store.find(*ticket);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->psk.size, 32u);
    EXPECT_EQ(found->psk.bytes[0], 7);
    EXPECT_EQ(found->suite, 0x1301);
  }
  EXPECT_EQ(store.size(), 1u);
}

TEST(Tls13SessionStore, UnknownAndMalformedTicketsFindNothing) {
  SessionStore store(16, std::chrono::seconds(60));
  const auto ticket = store.insert(session(1, now()));
  ASSERT_TRUE(ticket);
  auto other = *ticket;
  other[0] ^= 1;
  EXPECT_FALSE(store.find(other));
  EXPECT_FALSE(store.find(std::span(ticket->data(), ticket->size() - 1)));
  EXPECT_FALSE(store.find({}));
}

TEST(Tls13SessionStore, TicketsAreRandomNames) {
  SessionStore store(16, std::chrono::seconds(60));
  const auto a = store.insert(session(1, now()));
  const auto b = store.insert(session(1, now()));
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
}

TEST(Tls13SessionStore, AnExpiredSessionIsGone) {
  SessionStore store(16, std::chrono::seconds(1));
  const auto ticket = store.insert(session(1, now()));
  ASSERT_TRUE(ticket);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_FALSE(store.find(*ticket));
  EXPECT_EQ(store.size(), 0u);
}

TEST(Tls13SessionStore, ResumingDoesNotOutliveTheFullHandshake) {
  // A session re-issued by resumptions keeps its full handshake's time: once that is older than
  // the lifetime, the session is refused even though its own ticket is new.
  SessionStore store(16, std::chrono::seconds(60));
  const auto ticket = store.insert(session(1, now() - std::chrono::seconds(61)));
  ASSERT_TRUE(ticket);
  EXPECT_FALSE(store.find(*ticket));
  const auto fresh = store.insert(session(1, now() - std::chrono::seconds(30)));
  ASSERT_TRUE(fresh);
  EXPECT_TRUE(store.find(*fresh));
}

TEST(Tls13SessionStore, TheOldestSessionGoesWhenFull) {
  SessionStore store(2, std::chrono::seconds(60));
  const auto first = store.insert(session(1, now()));
  const auto second = store.insert(session(2, now()));
  const auto third = store.insert(session(3, now()));
  ASSERT_TRUE(first && second && third);
  EXPECT_FALSE(store.find(*first));
  EXPECT_TRUE(store.find(*second));
  EXPECT_TRUE(store.find(*third));
  EXPECT_EQ(store.size(), 2u);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(store.insert(session(4, now())));
  EXPECT_EQ(store.size(), 2u);
}

TEST(Tls13SessionStore, WorkersShareIt) {
  SessionStore store(1024, std::chrono::seconds(60));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&store] {
      for (int i = 0; i < 200; ++i) {
        const auto ticket = store.insert(session(static_cast<std::uint8_t>(i), now()));
        ASSERT_TRUE(ticket);
        ASSERT_TRUE(store.find(*ticket));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(store.size(), 800u);
}

}  // namespace
}  // namespace portcullis::net::tls13
