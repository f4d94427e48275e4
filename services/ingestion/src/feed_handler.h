#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "publisher.h"
#include "tickstream/itch/codec.h"
#include "tickstream/itch/messages.h"
#include "tickstream/marketdata/v1/raw.pb.h"

// The core of ingestion: one ITCH 5.0 message at a time (from SoupBinTCP or a capture file) in,
// one RawFeedMessage keyed by symbol out. docs/ingestion.md describes each kind of input.
namespace tickstream::ingestion {

struct FeedHandlerConfig {
  std::string session;                 // RawFeedMessage.session: Soup session id or capture name
  std::chrono::sys_days trading_date{}; // the session's trading day (exchange local date)
  int32_t utc_offset_s = 0;            // exchange local time minus UTC: -18000 for New York in
                                       // winter (EST), -14400 in summer (EDT); 0 = UTC
  uint64_t first_sequence = 1;         // the sequence number expected first; 0 = whatever comes

  // Throws std::invalid_argument naming the field.
  void validate() const;
};

// "2019-01-30" -> that day; nullopt if it is not a valid YYYY-MM-DD date.
[[nodiscard]] std::optional<std::chrono::sys_days> parseTradingDate(std::string_view s);

// ITCH's ns since (exchange local) midnight of `date` -> ns since the Unix epoch (UTC).
[[nodiscard]] constexpr int64_t exchangeToEpochNs(std::chrono::sys_days date, int32_t utc_offset_s,
                                                  uint64_t ns_since_midnight) noexcept {
  const int64_t midnight_ns =
      static_cast<int64_t>(date.time_since_epoch().count()) * 86'400'000'000'000LL;
  return midnight_ns + static_cast<int64_t>(ns_since_midnight) -
         static_cast<int64_t>(utc_offset_s) * 1'000'000'000LL;
}

// For metrics. Every message handed to onMessage() lands in exactly one of: duplicates,
// malformed[*], unknown_locate, published, publish_failed.
struct FeedCounters {
  static constexpr std::size_t kStatuses = 5; // itch::DecodeStatus values, Ok included (unused)

  uint64_t messages = 0;       // handed to onMessage()
  uint64_t published = 0;      // accepted by the publisher (a market-wide message counts once)
  uint64_t market_wide = 0;    // of published: System Event or stock locate 0, empty key
  uint64_t held = 0;           // already in md.raw from before a restart (resumed); not sent again
  uint64_t publish_failed = 0; // publisher said Backpressure (stopped while waiting) or Failed
  std::array<uint64_t, kStatuses> malformed{}; // by itch::DecodeStatus; skipped
  uint64_t unknown_locate = 0; // no Stock Directory seen for the locate yet; skipped
  uint64_t gaps = 0;           // times a sequence number jumped forward
  uint64_t missing = 0;        // sequence numbers skipped over by those jumps
  uint64_t duplicates = 0;     // sequence number below the expected one; skipped
  uint64_t directory = 0;      // Stock Directory messages (locate table updates)

  [[nodiscard]] uint64_t malformedTotal() const noexcept;
  [[nodiscard]] uint64_t malformedBy(itch::DecodeStatus s) const noexcept {
    return malformed[static_cast<std::size_t>(s)];
  }
};

// Not thread-safe: call it from one thread (the SoupClient's I/O thread, or the replay loop).
class FeedHandler {
public:
  // `publisher` is not owned and must outlive the handler. Throws on a bad config.
  FeedHandler(FeedHandlerConfig config, Publisher& publisher);

  // One message as framed by SoupBinTCP or a capture record. Never throws. `file_offset` is
  // the capture record's offset, when there is one, for the logs.
  void onMessage(uint64_t seq, std::span<const uint8_t> bytes, int64_t receive_ts_ns,
                 std::optional<uint64_t> file_offset = std::nullopt) noexcept;

  [[nodiscard]] const FeedCounters& counters() const noexcept { return counters_; }
  [[nodiscard]] uint64_t gaps() const noexcept { return counters_.gaps; }
  [[nodiscard]] uint64_t duplicates() const noexcept { return counters_.duplicates; }
  // The sequence number expected next (0 before the first message when first_sequence is 0).
  [[nodiscard]] uint64_t expectedSequence() const noexcept { return expected_; }
  // The symbol of `locate` from the Stock Directory, empty if none was seen.
  [[nodiscard]] std::string_view symbolOf(uint16_t locate) const noexcept;

private:
  struct LocateEntry {
    itch::Symbol stock{};
    uint8_t length = 0;
    bool known = false;
  };

  bool checkSequence(uint64_t seq) noexcept;

  FeedHandlerConfig config_;
  Publisher& publisher_;
  FeedCounters counters_;
  uint64_t expected_;
  // Indexed by stock locate: a fixed table, so lookups neither hash nor allocate.
  std::vector<LocateEntry> locates_;
  itch::Message decoded_;
  // Reused per message: the proto keeps its strings' capacity, out_ the encoding's.
  marketdata::v1::RawFeedMessage raw_;
  std::string out_;
};

} // namespace tickstream::ingestion
