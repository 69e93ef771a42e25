// SessionStore: a map from ticket to session, a FIFO of ticket names for eviction.
#include "net/tls13_session_store.h"

#include <openssl/rand.h>

namespace portcullis::net::tls13 {

SharedX509 share_x509(X509* cert) {
  return cert ? SharedX509(cert, X509_free) : nullptr;
}

SessionStore::SessionStore(std::size_t capacity, std::chrono::seconds lifetime)
    : capacity_(capacity), lifetime_(lifetime) {}

std::optional<SessionStore::Ticket> SessionStore::insert(ResumableSession session) {
  Ticket ticket{};
  if (RAND_bytes(ticket.data(), static_cast<int>(ticket.size())) != 1) return std::nullopt;
  session.expires = std::chrono::steady_clock::now() + lifetime_;
  std::string name(reinterpret_cast<const char*>(ticket.data()), ticket.size());
  const std::lock_guard lock(mutex_);
  // The FIFO may name sessions already removed (expired ones): erasing those is a no-op. It is
  // kept from growing past twice the capacity whatever happens.
  while (!order_.empty() && (sessions_.size() >= capacity_ || order_.size() >= 2 * capacity_)) {
    sessions_.erase(order_.front());
    order_.pop_front();
  }
  order_.push_back(name);
  sessions_.insert_or_assign(std::move(name), std::move(session));
  return ticket;
}

std::optional<ResumableSession> SessionStore::find(std::span<const std::uint8_t> ticket) {
  if (ticket.size() != kTicketSize) return std::nullopt;
  const std::string name(reinterpret_cast<const char*>(ticket.data()), ticket.size());
  const auto now = std::chrono::steady_clock::now();
  const std::lock_guard lock(mutex_);
  auto it = sessions_.find(name);
  if (it == sessions_.end()) return std::nullopt;
  if (it->second.expires <= now || it->second.established + lifetime_ <= now) {
    sessions_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

std::size_t SessionStore::size() const {
  const std::lock_guard lock(mutex_);
  return sessions_.size();
}

}  // namespace portcullis::net::tls13
