// The hand-off of a server connection's TLS 1.3 record protection from OpenSSL to the gateway
// (net/tls13_records.h) once the handshake is done: OpenSSL's per-connection state (~20 KiB:
// struct ssl_st, the peer's decoded certificates, cipher contexts, the session) is freed, and an
// idle connection keeps only its two traffic keys. OpenSSL hands over through public API alone:
// the key-log callback gives the application traffic secrets, the message callback counts the
// records each side has protected with them.
#pragma once

#include <openssl/ssl.h>

#include <optional>
#include <string>

#include "net/tls13_records.h"

namespace portcullis::net {

/// Whether the listeners hand their connections' records over: on unless the environment says
/// PORTCULLIS_TLS_RECORDS=openssl (OpenSSL keeps every connection to its end).
bool record_handoff_enabled();

/// Lets the connections of server context `ctx` hand over (installs the key-log callback; the
/// context must have no other). Call once, before the context serves.
void enable_record_handoff(SSL_CTX* ctx);

/// Starts watching `ssl` before its handshake, when its context allows hand-off (otherwise
/// nothing happens and take_record_protection returns nullopt).
void watch_for_handoff(SSL* ssl);

/// True while `ssl` is watched: a hand-off may still become possible.
bool watched_for_handoff(const SSL* ssl);

/// Both directions of a handed-over connection.
struct RecordProtection {
  TrafficKeys read;   ///< the client's records
  TrafficKeys write;  ///< ours
};

/// The record protection of `ssl` when it can be taken over now, else nullopt with `why` (for
/// tests and debug logs): a watched TLS 1.3 connection, handshake done, no KeyUpdate or early
/// data so far, a supported AEAD, and nothing OpenSSL has read from the socket left unprocessed
/// or written to it left unsent. A refusal no later call can overcome (TLS 1.2, another AEAD, a
/// KeyUpdate OpenSSL processed) ends the watch. On success `ssl` is marked closed cleanly (its
/// session stays resumable) and must only be freed: OpenSSL sends nothing more on it.
std::optional<RecordProtection> take_record_protection(SSL* ssl, std::string* why = nullptr);

}  // namespace portcullis::net
