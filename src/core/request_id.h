// Request ids: 20 lowercase hex characters, unique per process run and unpredictable across runs.
#pragma once

#include <string>

namespace portcullis::core {

/// A new request id. Thread-safe and lock-free: a random per-thread prefix plus a counter.
std::string new_request_id();

}  // namespace portcullis::core
