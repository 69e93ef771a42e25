// Transfer-Encoding as the gateway accepts it: exactly `chunked`, or nothing (RFC 9112 6.1, 6.3).
// Requests and upstream responses are held to the same rule, so no peer in front of or behind
// the gateway can read a message's length differently from it. Pure.
#pragma once

#include <string>

#include "proxy/http_head.h"

namespace portcullis::proxy {

struct TransferCodingCheck {
  enum class Kind {
    None,         ///< no Transfer-Encoding field
    Chunked,      ///< exactly one coding, chunked (any case)
    Unsupported,  ///< well formed, chunked last, but other codings before it (501 for requests)
    Malformed,    ///< anything else: the length cannot be trusted (400, or 502 from an upstream)
  };
  Kind kind = Kind::None;
  std::string why;  ///< for Unsupported and Malformed: one line for the denial's detail
};

/// Classifies every Transfer-Encoding field of a message head (`version` 10 or 11). A message
/// with Transfer-Encoding and Content-Length, Transfer-Encoding in HTTP/1.0, an empty or
/// non-token element, parameters, `identity`, a repeated `chunked` or a last coding other than
/// `chunked` is Malformed.
TransferCodingCheck classify_transfer_encoding(const HeaderList& headers, int version);

}  // namespace portcullis::proxy
