// An HTTP/1.1 parser on Beast's basic_parser that fills a RequestHead/ResponseHead and hands
// body bytes (de-chunked) to the caller in pieces, so bodies stream with bounded memory.
#pragma once

#include <boost/beast/http/basic_parser.hpp>

#include <string>

#include "proxy/http_head.h"
#include "proxy/transfer_coding.h"

namespace portcullis::proxy {

/// Parses one message. Body bytes decoded by each put() are appended to body_out(); the caller
/// forwards and clears them. Limits: header_limit() from the listener; the body limit is
/// enforced by the caller (so chunked bodies are checked as they stream).
template <bool IsRequest>
class MessageParser final : public boost::beast::http::basic_parser<IsRequest> {
 public:
  using Head = std::conditional_t<IsRequest, RequestHead, ResponseHead>;

  MessageParser();

  Head& head() { return head_; }
  const Head& head() const { return head_; }
  std::string& body_out() { return body_; }
  /// Bytes of body decoded so far.
  std::uint64_t body_bytes() const { return body_total_; }
  /// The head's Transfer-Encoding, classified once the head is parsed: anything but None or
  /// Chunked makes the message unusable (the caller refuses it before reading its body).
  const TransferCodingCheck& transfer_coding() const { return te_; }

 private:
  void on_request_impl(boost::beast::http::verb, boost::beast::string_view method,
                       boost::beast::string_view target, int version,
                       boost::beast::error_code& ec) override;
  void on_response_impl(int code, boost::beast::string_view reason, int version,
                        boost::beast::error_code& ec) override;
  void on_field_impl(boost::beast::http::field, boost::beast::string_view name,
                     boost::beast::string_view value, boost::beast::error_code& ec) override;
  void on_header_impl(boost::beast::error_code& ec) override;
  void on_body_init_impl(boost::optional<std::uint64_t> const& content_length,
                         boost::beast::error_code& ec) override;
  std::size_t on_body_impl(boost::beast::string_view body, boost::beast::error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t size, boost::beast::string_view extensions,
                            boost::beast::error_code& ec) override;
  std::size_t on_chunk_body_impl(std::uint64_t remain, boost::beast::string_view body,
                                 boost::beast::error_code& ec) override;
  void on_finish_impl(boost::beast::error_code& ec) override;

  Head head_;
  std::string body_;
  std::uint64_t body_total_ = 0;
  TransferCodingCheck te_;
};

extern template class MessageParser<true>;
extern template class MessageParser<false>;

using RequestParser = MessageParser<true>;
using ResponseParser = MessageParser<false>;

}  // namespace portcullis::proxy
