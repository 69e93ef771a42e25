// The TLS 1.3 record layer of handed-over connections (Google Benchmark): sealing and opening a
// small record (a request or response head) and a full 16 KiB one, per AEAD, and the first use
// of a connection's keys (HKDF-Expand-Label for key and IV, a cipher context re-keyed).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "net/tls13_records.h"

namespace {

using namespace portcullis::net;

std::vector<std::uint8_t> secret_for(RecordAead aead) {
  std::vector<std::uint8_t> s(aead == RecordAead::Aes256Gcm ? 48 : 32);
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<std::uint8_t>(i * 7 + 1);
  return s;
}

/// Seal then open one record of `size` bytes per iteration, with keys already in use.
void BM_SealOpen(benchmark::State& state, RecordAead aead) {
  const auto size = static_cast<std::size_t>(state.range(0));
  auto writer = *TrafficKeys::from_secret(aead, secret_for(aead), 0);
  auto reader = *TrafficKeys::from_secret(aead, secret_for(aead), 0);
  const std::string text(size, 'x');
  const std::span<const std::uint8_t> piece(reinterpret_cast<const std::uint8_t*>(text.data()),
                                            text.size());
  std::vector<std::uint8_t> record(size + kRecordOverhead);
  for (auto _ : state) {
    const std::size_t n =
        writer.seal(ContentType::ApplicationData, std::span(&piece, 1), record.data());
    const auto opened = reader.open(std::span(record.data(), n));
    if (!opened.ok) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(opened.size);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
}
BENCHMARK_CAPTURE(BM_SealOpen, aes128gcm, RecordAead::Aes128Gcm)->Arg(200)->Arg(16384);
BENCHMARK_CAPTURE(BM_SealOpen, aes256gcm, RecordAead::Aes256Gcm)->Arg(200)->Arg(16384);
BENCHMARK_CAPTURE(BM_SealOpen, chacha20poly1305, RecordAead::ChaCha20Poly1305)
    ->Arg(200)
    ->Arg(16384);

/// A connection's first record: the keys derived from the secret and a cipher context keyed.
void BM_FirstRecordOfAConnection(benchmark::State& state) {
  const auto secret = secret_for(RecordAead::Aes128Gcm);
  const std::string text(200, 'x');
  const std::span<const std::uint8_t> piece(reinterpret_cast<const std::uint8_t*>(text.data()),
                                            text.size());
  std::vector<std::uint8_t> record(text.size() + kRecordOverhead);
  for (auto _ : state) {
    auto keys = *TrafficKeys::from_secret(RecordAead::Aes128Gcm, secret, 1);
    benchmark::DoNotOptimize(
        keys.seal(ContentType::ApplicationData, std::span(&piece, 1), record.data()));
  }
}
BENCHMARK(BM_FirstRecordOfAConnection);

}  // namespace
