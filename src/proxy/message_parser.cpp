// MessageParser: Beast callbacks -> heads and streamed body bytes.
#include "proxy/message_parser.h"

#include <limits>

namespace portcullis::proxy {

namespace http = boost::beast::http;
using boost::beast::error_code;
using boost::beast::string_view;

template <bool IsRequest>
MessageParser<IsRequest>::MessageParser() {
  // Body size is enforced per route by the pipeline, so Beast's default limit (1 MB for
  // requests) must not cut bodies short; header size stays bounded by header_limit().
  // Not boost::none: Beast 1.74 compares `len > optional` and treats none as smaller than all.
  this->body_limit(std::numeric_limits<std::uint64_t>::max());
  this->eager(true);
  // Room for a typical head and the fields the gateway adds, in one allocation instead of
  // the vector's doublings.
  head_.headers.reserve(16);
}

template <bool IsRequest>
void MessageParser<IsRequest>::on_request_impl(http::verb, string_view method, string_view target,
                                               int version, error_code& ec) {
  if constexpr (IsRequest) {
    head_.method.assign(method.data(), method.size());
    head_.target.assign(target.data(), target.size());
    head_.version = version;
  }
  ec = {};
}

template <bool IsRequest>
void MessageParser<IsRequest>::on_response_impl(int code, string_view reason, int version,
                                                error_code& ec) {
  if constexpr (!IsRequest) {
    head_.status = code;
    head_.reason.assign(reason.data(), reason.size());
    head_.version = version;
  }
  ec = {};
}

template <bool IsRequest>
void MessageParser<IsRequest>::on_field_impl(http::field, string_view name, string_view value,
                                             error_code& ec) {
  head_.headers.add(std::string(name.data(), name.size()), std::string(value.data(), value.size()));
  ec = {};
}

template <bool IsRequest>
void MessageParser<IsRequest>::on_header_impl(error_code& ec) {
  head_.keep_alive = this->keep_alive();
  te_ = classify_transfer_encoding(head_.headers, head_.version);
  if (this->chunked()) {
    head_.framing = BodyFraming::Chunked;
  } else if (auto len = this->content_length()) {
    head_.framing = BodyFraming::ContentLength;
    head_.content_length = *len;
  } else if (head_.headers.count("transfer-encoding") > 0) {
    // Beast treats a Transfer-Encoding without a final "chunked" as "no body" for requests;
    // te_ makes the caller refuse the message before any body is read.
    head_.framing = IsRequest ? BodyFraming::None : BodyFraming::UntilClose;
  } else if constexpr (!IsRequest) {
    head_.framing = this->need_eof() ? BodyFraming::UntilClose : BodyFraming::None;
  }
  ec = {};
}

template <bool IsRequest>
void MessageParser<IsRequest>::on_body_init_impl(boost::optional<std::uint64_t> const&,
                                                 error_code& ec) {
  ec = {};
}

template <bool IsRequest>
std::size_t MessageParser<IsRequest>::on_body_impl(string_view body, error_code& ec) {
  body_.append(body.data(), body.size());
  body_total_ += body.size();
  ec = {};
  return body.size();
}

template <bool IsRequest>
void MessageParser<IsRequest>::on_chunk_header_impl(std::uint64_t, string_view, error_code& ec) {
  ec = {};  // chunk extensions are dropped: the body is re-framed towards the peer
}

template <bool IsRequest>
std::size_t MessageParser<IsRequest>::on_chunk_body_impl(std::uint64_t, string_view body,
                                                         error_code& ec) {
  return on_body_impl(body, ec);
}

template <bool IsRequest>
void MessageParser<IsRequest>::on_finish_impl(error_code& ec) {
  ec = {};
}

template class MessageParser<true>;
template class MessageParser<false>;

}  // namespace portcullis::proxy
