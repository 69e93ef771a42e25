// The handshake message codec: the Writer's big-endian fields and back-filled vector lengths, and
// the Reader's bounds (a read past the end reads nothing and fails) and message offsets.
#include "net/tls13_wire.h"

#include <gtest/gtest.h>

#include <vector>

namespace portcullis::net::tls13 {
namespace {

TEST(Tls13Wire, WriterFillsLengthsWhenVectorsClose) {
  std::vector<std::uint8_t> out;
  Writer w(out);
  w.u8(1);
  const auto body = w.open(3);
  w.u16(0x0304);
  const auto inner = w.open(1);
  w.u32(0xa1b2c3d4);
  w.close(inner);
  const auto empty = w.open(2);
  w.close(empty);
  w.close(body);
  const std::vector<std::uint8_t> expected = {1, 0, 0, 9, 3, 4, 4, 0xa1, 0xb2, 0xc3, 0xd4, 0, 0};
  EXPECT_EQ(out, expected);
}

TEST(Tls13Wire, ReaderNeverReadsPastTheEnd) {
  const std::vector<std::uint8_t> data = {0, 3, 7, 8, 9, 0xff};
  Reader r(data);
  Bytes field;
  ASSERT_TRUE(r.vec16(field, 1));
  EXPECT_EQ(field.size(), 3u);
  EXPECT_EQ(field[0], 7);
  EXPECT_EQ(r.offset(), 5u);
  std::uint16_t v = 0;
  EXPECT_FALSE(r.u16(v));  // one byte left
  EXPECT_EQ(v, 0);
  EXPECT_EQ(r.remaining(), 1u);
  Bytes too_long;
  EXPECT_FALSE(r.bytes(2, too_long));
  std::uint8_t last = 0;
  ASSERT_TRUE(r.u8(last));
  EXPECT_EQ(last, 0xff);
  EXPECT_TRUE(r.empty());
}

TEST(Tls13Wire, VectorBoundsAndNestedOffsets) {
  const std::vector<std::uint8_t> data = {0xaa, 0, 4, 2, 0x11, 0x22, 0x33};
  Reader r(data);
  std::uint8_t first = 0;
  ASSERT_TRUE(r.u8(first));
  Reader inner(Bytes{});
  ASSERT_TRUE(r.sub16(inner, 4, 4));
  EXPECT_EQ(inner.offset(), 3u);  // in terms of the whole message
  Bytes two;
  ASSERT_TRUE(inner.vec8(two, 2, 2));
  EXPECT_EQ(inner.offset(), 6u);
  Reader again(data);
  Reader out(Bytes{});
  ASSERT_TRUE(again.u8(first));
  EXPECT_FALSE(again.sub16(out, 5));  // below the minimum
  Reader shorter(Bytes(data).first(5));
  ASSERT_TRUE(shorter.u8(first));
  EXPECT_FALSE(shorter.vec16(two, 0));  // announces 4, has 2
}

}  // namespace
}  // namespace portcullis::net::tls13
