// MessageParser: what Beast accepts and refuses, heads, and streamed body bytes.
#include "proxy/message_parser.h"

#include <gtest/gtest.h>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>

namespace portcullis::proxy {
namespace {

namespace http = boost::beast::http;

struct Parsed {
  boost::beast::error_code ec;
  std::string body;
  bool done = false;
};

// Feeds `wire` in pieces of `step` bytes, like reads from a socket.
template <class Parser>
Parsed feed(Parser& p, std::string_view wire, std::size_t step = 1 << 20) {
  Parsed out;
  std::string pending;
  for (std::size_t pos = 0; pos < wire.size() && !p.is_done();) {
    pending.append(wire.substr(pos, step));
    pos += step;
    for (;;) {
      const auto used = p.put(boost::asio::buffer(pending), out.ec);
      pending.erase(0, used);
      out.body += p.body_out();
      p.body_out().clear();
      if (out.ec == http::error::need_more) {
        out.ec = {};
        break;
      }
      if (out.ec || p.is_done() || used == 0) break;
    }
    if (out.ec) break;
  }
  out.done = p.is_done();
  return out;
}

TEST(RequestParser, ContentLengthBody) {
  RequestParser p;
  auto r = feed(p, "POST /a?b=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 3);
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(p.head().method, "POST");
  EXPECT_EQ(p.head().target, "/a?b=1");
  EXPECT_EQ(p.head().framing, BodyFraming::ContentLength);
  EXPECT_EQ(p.head().content_length, 5u);
  EXPECT_TRUE(p.head().keep_alive);
  EXPECT_EQ(p.head().headers.get("host"), "x");
}

TEST(RequestParser, ChunkedBodyIsDecoded) {
  RequestParser p;
  auto r = feed(p,
                "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                "3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
                4);
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.body, "abcde");
  EXPECT_EQ(p.head().framing, BodyFraming::Chunked);
  EXPECT_EQ(p.body_bytes(), 5u);
}

TEST(RequestParser, BodyLargerThanBeastDefaultLimit) {
  RequestParser p;
  const std::string body(3 * 1024 * 1024, 'x');
  auto r = feed(p,
                "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\n\r\n" + body,
                65536);
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.body.size(), body.size());
}

TEST(RequestParser, RejectsContentLengthWithTransferEncoding) {
  RequestParser p;
  auto r = feed(p,
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                "Transfer-Encoding: chunked\r\n\r\n");
  EXPECT_TRUE(r.ec);
}

TEST(RequestParser, RejectsDifferingContentLengths) {
  RequestParser p;
  auto r = feed(p, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n");
  EXPECT_EQ(r.ec, http::error::bad_content_length);
}

TEST(RequestParser, RejectsBadChunkSize) {
  RequestParser p;
  auto r = feed(p, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
  EXPECT_TRUE(r.ec);
}

TEST(RequestParser, RejectsInvalidHeaderName) {
  RequestParser p;
  auto r = feed(p, "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n");
  EXPECT_TRUE(r.ec);
}

TEST(RequestParser, ClassifiesTransferEncoding) {
  using Kind = TransferCodingCheck::Kind;
  RequestParser gzip;
  ASSERT_FALSE(feed(gzip, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n").ec);
  EXPECT_EQ(gzip.transfer_coding().kind, Kind::Malformed);
  // Beast frames this one by its Content-Length; the classification still refuses it.
  RequestParser smuggle;
  ASSERT_FALSE(feed(smuggle,
                    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n"
                    "Content-Length: 4\r\n\r\nABCD")
                   .ec);
  EXPECT_EQ(smuggle.transfer_coding().kind, Kind::Malformed);
  RequestParser chunked;
  ASSERT_FALSE(
      feed(chunked, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n")
          .ec);
  EXPECT_EQ(chunked.transfer_coding().kind, Kind::Chunked);
  RequestParser none;
  ASSERT_FALSE(feed(none, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").ec);
  EXPECT_EQ(none.transfer_coding().kind, Kind::None);
}

TEST(RequestParser, HeaderLimit) {
  RequestParser p;
  p.header_limit(64);
  auto r = feed(p, "GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + std::string(100, 'a') + "\r\n\r\n");
  EXPECT_EQ(r.ec, http::error::header_limit);
}

TEST(RequestParser, Http10DefaultsToClose) {
  RequestParser p;
  auto r = feed(p, "GET / HTTP/1.0\r\n\r\n");
  ASSERT_FALSE(r.ec);
  EXPECT_EQ(p.head().version, 10);
  EXPECT_FALSE(p.head().keep_alive);
}

TEST(ResponseParser, UntilCloseBody) {
  ResponseParser p;
  auto r = feed(p, "HTTP/1.1 200 OK\r\n\r\nabc");
  ASSERT_FALSE(r.ec);
  EXPECT_EQ(p.head().framing, BodyFraming::UntilClose);
  EXPECT_FALSE(r.done);
  boost::beast::error_code ec;
  p.put_eof(ec);
  EXPECT_FALSE(ec);
  EXPECT_TRUE(p.is_done());
  EXPECT_EQ(r.body, "abc");
}

TEST(ResponseParser, NoBodyFor204AndHead) {
  ResponseParser p;
  auto r = feed(p, "HTTP/1.1 204 No Content\r\n\r\n");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(p.head().status, 204);
  ResponseParser h;
  h.skip(true);
  auto rh = feed(h, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
  EXPECT_TRUE(rh.done);
  EXPECT_EQ(h.head().content_length, 10u);
}

}  // namespace
}  // namespace portcullis::proxy
