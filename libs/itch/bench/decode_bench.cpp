// Single-thread ITCH decode throughput over an in-memory capture buffer, the way the feed
// handler consumes a replayed NASDAQ file. Prints one JSON line per run and a summary line with
// the median, so results can be pasted into docs/itch.md or collected by a script.
//
//   itch_decode_bench [messages]   (default 5,000,000)
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "tickstream/itch/capture.h"
#include "tickstream/itch/codec.h"

namespace {

using namespace tickstream::itch;

// A message mix close to a regular-hours TotalView session: adds 45%, deletes 25%,
// executes 10%, cancels 10%, replaces 8%, trades 2%.
std::string buildCapture(std::size_t count) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int> pct(0, 99);
  std::uniform_int_distribution<uint32_t> shares(1, 5'000);
  std::uniform_int_distribution<uint32_t> price(10'000, 5'000'000);
  const std::array<Symbol, 8> symbols{*makeSymbol("AAPL"), *makeSymbol("MSFT"),
                                      *makeSymbol("NVDA"), *makeSymbol("AMZN"),
                                      *makeSymbol("TSLA"), *makeSymbol("SPY"),
                                      *makeSymbol("QQQ"),  *makeSymbol("META")};
  std::string out;
  out.reserve(count * 36);
  CaptureWriter writer(out);
  uint64_t ts = 34'200'000'000'000ULL; // 09:30
  uint64_t nextRef = 1;
  uint64_t match = 1;
  for (std::size_t i = 0; i < count; ++i) {
    ts += 1'000;
    const auto locate = static_cast<uint16_t>(1 + (i % symbols.size()));
    const auto tracking = static_cast<uint16_t>(i);
    // Refer back to a recent order, as real executions/cancels mostly do.
    const uint64_t ref = nextRef > 1'000 ? nextRef - 1 - (rng() % 1'000) : 1;
    const int p = pct(rng);
    Message m;
    if (p < 45) {
      m = AddOrder{locate, tracking, ts, nextRef++, (rng() & 1U) != 0 ? 'B' : 'S', shares(rng),
                   symbols[locate - 1], price(rng)};
    } else if (p < 70) {
      m = OrderDelete{locate, tracking, ts, ref};
    } else if (p < 80) {
      m = OrderExecuted{locate, tracking, ts, ref, shares(rng), match++};
    } else if (p < 90) {
      m = OrderCancel{locate, tracking, ts, ref, shares(rng)};
    } else if (p < 98) {
      m = OrderReplace{locate, tracking, ts, ref, nextRef++, shares(rng), price(rng)};
    } else {
      m = Trade{locate, tracking, ts, 0, 'B', shares(rng), symbols[locate - 1], price(rng),
                match++};
    }
    if (!writer.append(m)) {
      std::fprintf(stderr, "encode failed at message %zu\n", i);
      std::exit(1);
    }
  }
  return out;
}

} // namespace

int main(int argc, char** argv) {
  const std::size_t count = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 5'000'000;
  const std::string capture = buildCapture(count);
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(capture.data()),
                                       capture.size());

  constexpr int kRuns = 5;
  std::vector<double> rates;
  for (int run = 0; run < kRuns; ++run) {
    CaptureReader reader(bytes);
    CaptureRecord rec;
    Message msg;
    std::size_t decoded = 0;
    uint64_t checksum = 0; // consumed below so the decode cannot be optimised away
    const auto start = std::chrono::steady_clock::now();
    while (reader.next(rec) == CaptureStatus::Ok) {
      if (decode(rec.message, msg) != DecodeStatus::Ok) {
        std::fprintf(stderr, "decode failed at offset %llu\n",
                     static_cast<unsigned long long>(rec.offset));
        return 1;
      }
      checksum += msg.index();
      ++decoded;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (decoded != count || checksum == 0) {
      std::fprintf(stderr, "decoded %zu of %zu\n", decoded, count);
      return 1;
    }
    const double rate = static_cast<double>(decoded) / seconds;
    rates.push_back(rate);
    std::printf(
        "{\"bench\":\"itch_decode\",\"messages\":%zu,\"seconds\":%.6f,\"msgs_per_s\":%.0f,"
        "\"run\":%d}\n",
        decoded, seconds, rate, run);
  }
  std::sort(rates.begin(), rates.end());
  std::printf("{\"bench\":\"itch_decode\",\"summary\":true,\"messages\":%zu,\"bytes\":%zu,"
              "\"runs\":%d,\"median_msgs_per_s\":%.0f,\"min_msgs_per_s\":%.0f,"
              "\"max_msgs_per_s\":%.0f}\n",
              count, capture.size(), kRuns, rates[kRuns / 2], rates.front(), rates.back());
  return 0;
}
