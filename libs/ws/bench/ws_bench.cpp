// Single-thread throughput of libs/ws on the gateway's hot paths. Prints one JSON line per run
// and a summary line with the median per benchmark (recorded figures: docs/websocket.md).
//
//   ws_bench [frames]   (default 1,000,000)
//
// ws_parse_60B     client frames of 60 payload bytes (a subscribe-sized JSON text, masked), read
//                  the way the gateway reads: 64 KiB at a time copied into a scratch buffer (the
//                  copy stands in for recv()), then FrameParser::next() until NeedMore. Includes
//                  unmasking and UTF-8 validation; every 64 KiB boundary splits one frame.
// ws_write_header  writeHeader() for payload lengths cycling through 60, 300 and 70,000 bytes.
// ws_utf8          isValidUtf8() over 1 MiB of mixed ASCII and multi-byte text.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "tickstream/ws/frame.h"
#include "tickstream/ws/parser.h"
#include "tickstream/ws/utf8.h"

namespace {

using namespace tickstream::ws;
using Clock = std::chrono::steady_clock;

constexpr int kRuns = 5;

// Runs `body` kRuns times; `body` returns the number of operations it did. Prints per-run lines
// and a summary; returns false if a run reported a failure (0 operations).
bool bench(const char* name, const char* unit, std::size_t bytes_per_run,
           const std::function<std::size_t()>& body) {
  std::vector<double> rates;
  for (int run = 0; run < kRuns; ++run) {
    const auto start = Clock::now();
    const std::size_t ops = body();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (ops == 0) {
      std::fprintf(stderr, "%s failed\n", name);
      return false;
    }
    const double rate = static_cast<double>(ops) / seconds;
    rates.push_back(rate);
    std::printf("{\"bench\":\"%s\",\"ops\":%zu,\"seconds\":%.6f,\"%s\":%.0f,\"run\":%d}\n", name,
                ops, seconds, unit, rate, run);
  }
  std::sort(rates.begin(), rates.end());
  const double median = rates[kRuns / 2];
  std::printf("{\"bench\":\"%s\",\"summary\":true,\"runs\":%d,\"median_%s\":%.0f,\"min_%s\":%.0f,"
              "\"max_%s\":%.0f,\"ns_per_op\":%.1f",
              name, kRuns, unit, median, unit, rates.front(), unit, rates.back(), 1e9 / median);
  if (bytes_per_run != 0) {
    // ops per run is constant for a benchmark, so bytes/s follows from the median rate.
    std::printf(",\"bytes_per_run\":%zu", bytes_per_run);
  }
  std::printf("}\n");
  std::fflush(stdout);
  return true;
}

std::vector<uint8_t> maskedTextFrames(std::size_t count) {
  constexpr std::string_view kJson =
      R"({"op":"subscribe","symbols":["AAPL","MSFT","NVDA"],"id":123})";
  static_assert(kJson.size() == 60);
  const std::string json(kJson);
  std::mt19937 rng(1);
  std::vector<uint8_t> out;
  out.reserve(count * (6 + json.size()));
  for (std::size_t i = 0; i < count; ++i) {
    const uint8_t key[4] = {static_cast<uint8_t>(rng()), static_cast<uint8_t>(rng()),
                            static_cast<uint8_t>(rng()), static_cast<uint8_t>(rng())};
    out.push_back(0x81);
    out.push_back(0x80 | static_cast<uint8_t>(json.size()));
    out.insert(out.end(), key, key + 4);
    const std::size_t at = out.size();
    out.insert(out.end(), json.begin(), json.end());
    applyMask(std::span<uint8_t>(out.data() + at, json.size()), key);
  }
  return out;
}

} // namespace

int main(int argc, char** argv) {
  const std::size_t frames = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;

  const std::vector<uint8_t> stream = maskedTextFrames(frames);
  std::vector<uint8_t> scratch(64 * 1024);
  const bool parse_ok = bench("ws_parse_60B", "frames_per_s", stream.size(), [&]() -> std::size_t {
    FrameParser parser;
    std::size_t messages = 0;
    std::size_t payload_bytes = 0;
    for (std::size_t at = 0; at < stream.size();) {
      const std::size_t n = std::min(scratch.size(), stream.size() - at);
      std::memcpy(scratch.data(), stream.data() + at, n);
      at += n;
      std::span<uint8_t> input(scratch.data(), n);
      for (;;) {
        const Event ev = parser.next(input);
        if (ev.type == EventType::NeedMore) {
          break;
        }
        if (ev.type != EventType::Text) {
          return 0;
        }
        ++messages;
        payload_bytes += ev.payload.size();
      }
    }
    return messages == frames && payload_bytes == frames * 60 ? messages : 0;
  });

  const std::size_t headers = frames * 20;
  std::vector<uint8_t> out(kMaxServerHeaderSize * 1024);
  const bool write_ok = bench("ws_write_header", "headers_per_s", 0, [&]() -> std::size_t {
    const std::size_t lengths[3] = {60, 300, 70'000};
    std::size_t written = 0;
    std::size_t slot = 0;
    for (std::size_t i = 0; i < headers; ++i) {
      // Successive headers go to successive slots, as a batch of per-connection headers would.
      written += writeHeader(out.data() + slot * kMaxServerHeaderSize,
                             i % 2 == 0 ? Opcode::Text : Opcode::Binary, lengths[i % 3]);
      slot = (slot + 1) & 1023U;
    }
    // 2 + 4 + 10 bytes per three headers; anything else means the loop was optimised wrongly.
    return written >= headers * 5 && out[1] != 0xFF ? headers : 0;
  });

  std::string text;
  while (text.size() < (1U << 20)) {
    text += R"({"symbol":"AAPL","bid":"189.25","ask":"189.27"} prix 189,25 € — 株価 😀 )";
  }
  const std::size_t utf8_rounds = 200;
  const bool utf8_ok =
      bench("ws_utf8", "bytes_per_s", 0, [&]() -> std::size_t {
        std::size_t valid = 0;
        for (std::size_t i = 0; i < utf8_rounds; ++i) {
          valid += isValidUtf8(text) ? 1 : 0;
        }
        return valid == utf8_rounds ? utf8_rounds * text.size() : 0;
      });
  return parse_ok && write_ok && utf8_ok ? 0 : 1;
}
