// classify_transfer_encoding: exactly chunked or nothing (issue #22, RFC 9112 6.1 and 6.3).
#include "proxy/transfer_coding.h"

#include <gtest/gtest.h>

namespace portcullis::proxy {
namespace {

using Kind = TransferCodingCheck::Kind;

TransferCodingCheck classify(std::initializer_list<std::pair<const char*, const char*>> fields,
                             int version = 11) {
  HeaderList h;
  for (const auto& [name, value] : fields) h.add(name, value);
  return classify_transfer_encoding(h, version);
}

TEST(TransferCoding, NoneAndChunked) {
  EXPECT_EQ(classify({{"Host", "x"}}).kind, Kind::None);
  EXPECT_EQ(classify({{"Transfer-Encoding", "chunked"}}).kind, Kind::Chunked);
  EXPECT_EQ(classify({{"transfer-encoding", "CHUNKED"}}).kind, Kind::Chunked);
  EXPECT_EQ(classify({{"Transfer-Encoding", " chunked\t"}}).kind, Kind::Chunked);
  EXPECT_EQ(classify({{"Content-Length", "4"}}).kind, Kind::None);
}

TEST(TransferCoding, CodingsBeforeChunkedAreUnsupported) {
  const auto c = classify({{"Transfer-Encoding", "gzip, chunked"}});
  EXPECT_EQ(c.kind, Kind::Unsupported);
  EXPECT_EQ(c.why, "Transfer-Encoding \"gzip\" before chunked is not supported");
  EXPECT_EQ(classify({{"Transfer-Encoding", "gzip"}, {"Transfer-Encoding", "chunked"}}).kind,
            Kind::Unsupported);
}

TEST(TransferCoding, EverythingElseIsMalformed) {
  const std::initializer_list<std::pair<const char*, const char*>> cases[] = {
      {{"Transfer-Encoding", "xchunked"}, {"Content-Length", "4"}},
      {{"Transfer-Encoding", "chunked"}, {"Content-Length", "4"}},
      {{"Transfer-Encoding", "xchunked"}},
      {{"Transfer-Encoding", "chunked, chunked"}},
      {{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}},
      {{"Transfer-Encoding", "identity"}},
      {{"Transfer-Encoding", "identity, chunked"}},
      {{"Transfer-Encoding", "chunked, gzip"}},
      {{"Transfer-Encoding", ","}},
      {{"Transfer-Encoding", "chunked,"}},
      {{"Transfer-Encoding", ""}},
      {{"Transfer-Encoding", "chunked;foo=bar"}},
      {{"Transfer-Encoding", "\"chunked\""}},
      {{"Transfer-Encoding", "chun ked"}},
      {{"Transfer-Encoding", "chunked\x0b"}},
  };
  for (const auto& fields : cases) {
    const auto c = classify(fields);
    EXPECT_EQ(c.kind, Kind::Malformed) << fields.begin()->second;
    EXPECT_TRUE(c.why.starts_with("Transfer-Encoding ")) << c.why;
  }
  EXPECT_EQ(classify({{"Transfer-Encoding", "chunked"}}, 10).kind, Kind::Malformed);
  EXPECT_EQ(classify({{"Transfer-Encoding", "xchunked"}, {"Content-Length", "4"}}).why,
            "Transfer-Encoding and Content-Length are both present");
}

}  // namespace
}  // namespace portcullis::proxy
