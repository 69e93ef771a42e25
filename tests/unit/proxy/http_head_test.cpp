// Head serialisation, header list operations and chunk framing.
#include "proxy/http_head.h"

#include <gtest/gtest.h>

#include "proxy/exchange_io.h"

namespace portcullis::proxy {
namespace {

TEST(HeaderList, SetRemoveGetCount) {
  HeaderList h;
  h.add("A", "1");
  h.add("a", "2");
  h.add("B", "3");
  EXPECT_EQ(h.count("A"), 2u);
  EXPECT_EQ(h.get("a"), "1");
  h.set("A", "9");
  EXPECT_EQ(h.count("a"), 1u);
  EXPECT_EQ(h.get("A"), "9");
  EXPECT_EQ(h.remove("b"), 1u);
  EXPECT_FALSE(h.get("B").has_value());
}

TEST(RequestHead, PathAndQuery) {
  RequestHead r;
  r.target = "/a/b?x=1&y=2";
  EXPECT_EQ(r.path(), "/a/b");
  EXPECT_EQ(r.query(), "x=1&y=2");
  r.target = "/plain";
  EXPECT_EQ(r.path(), "/plain");
  EXPECT_EQ(r.query(), "");
}

TEST(Serialize, RequestWithContentLength) {
  RequestHead r;
  r.method = "POST";
  r.target = "/x";
  r.headers.add("Host", "h");
  r.framing = BodyFraming::ContentLength;
  r.content_length = 12;
  EXPECT_EQ(serialize_request_head(r), "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\n");
}

TEST(Serialize, ResponseChunkedAndReason) {
  ResponseHead r;
  r.status = 404;
  r.framing = BodyFraming::Chunked;
  EXPECT_EQ(serialize_response_head(r),
            "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n");
  r.reason = "Nope";
  r.framing = BodyFraming::UntilClose;
  EXPECT_EQ(serialize_response_head(r), "HTTP/1.1 404 Nope\r\n\r\n");
}

std::string flatten(std::span<const boost::asio::const_buffer> bufs) {
  std::string out;
  for (const auto& b : bufs) out.append(static_cast<const char*>(b.data()), b.size());
  return out;
}

TEST(BodyFrame, ChunkedPiecesAndLastChunk) {
  const std::string piece = "hello";
  EXPECT_EQ(flatten(BodyFrame(BodyFraming::Chunked, piece, false).buffers()), "5\r\nhello\r\n");
  EXPECT_EQ(flatten(BodyFrame(BodyFraming::Chunked, piece, true).buffers()),
            "5\r\nhello\r\n0\r\n\r\n");
  const std::string empty;
  EXPECT_EQ(flatten(BodyFrame(BodyFraming::Chunked, empty, true).buffers()), "0\r\n\r\n");
  EXPECT_EQ(flatten(BodyFrame(BodyFraming::Chunked, empty, false).buffers()), "");
}

TEST(BodyFrame, RawAndWithHead) {
  const std::string piece(70000, 'x');
  BodyFrame frame(BodyFraming::ContentLength, piece, true);
  const std::string head = "HEAD\r\n";
  EXPECT_EQ(flatten(frame.with_head(head)), head + piece);
  EXPECT_EQ(flatten(BodyFrame(BodyFraming::Chunked, piece, false).buffers()).substr(0, 7),
            "11170\r\n");
}

}  // namespace
}  // namespace portcullis::proxy
