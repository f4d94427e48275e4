#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <unistd.h>
#include <zlib.h>
#include <cstdio>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "capture_run.h"
#include "feed_handler.h"
#include "market.h"
#include "publisher.h"
#include "replay.h"
#include "tickstream/itch/capture.h"
#include "tickstream/itch/codec.h"
#include "tickstream/marketdata/v1/raw.pb.h"

namespace itch = tickstream::itch;
using tickstream::exchange_sim::MarketConfig;
using tickstream::exchange_sim::MarketSimulator;
using tickstream::ingestion::FeedHandler;
using tickstream::ingestion::FeedHandlerConfig;
using tickstream::ingestion::MemoryPublisher;
using tickstream::ingestion::replayCapture;
using tickstream::marketdata::v1::RawFeedMessage;

namespace {

using File = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;

FeedHandlerConfig config() {
  FeedHandlerConfig c;
  c.session = "sim.itch";
  c.trading_date = *tickstream::ingestion::parseTradingDate("2024-03-15");
  return c;
}

bool isOrderMessage(char t) {
  return std::string_view("AFECXDUP").find(t) != std::string_view::npos;
}

} // namespace

TEST_CASE("a simulator capture replays with every order message keyed by its symbol") {
  MarketConfig mc;
  mc.symbols = 50;
  mc.seed = 7;
  MarketSimulator sim(mc);
  File file(std::tmpfile(), &std::fclose);
  REQUIRE(file);
  constexpr uint64_t kMessages = 20'000;
  REQUIRE(tickstream::exchange_sim::writeCapture(sim, kMessages, file.get()));
  std::rewind(file.get());

  MemoryPublisher pub;
  FeedHandler h(config(), pub);
  const auto result = replayCapture(file.get(), h);
  CHECK(result.status == itch::CaptureStatus::End);
  CHECK(result.records == kMessages);
  CHECK(h.counters().published == kMessages);
  CHECK(h.counters().malformedTotal() == 0);
  CHECK(h.counters().unknown_locate == 0);
  CHECK(h.gaps() == 0);
  REQUIRE(pub.records().size() == kMessages);

  MarketSimulator again(mc); // same seed: the same stream, to compare with
  itch::Message expected;
  std::vector<uint8_t> buf(itch::kMaxMessageLength);
  uint64_t orders = 0, wrong = 0;
  for (std::size_t i = 0; i < pub.records().size(); ++i) {
    again.next(expected);
    buf.resize(itch::kMaxMessageLength);
    buf.resize(itch::encode(expected, buf));
    const auto& rec = pub.records()[i];
    RawFeedMessage m;
    REQUIRE(m.ParseFromString(rec.bytes));
    const uint16_t locate = std::visit([](const auto& x) { return x.stock_locate; }, expected);
    const char type = itch::messageType(expected);
    const std::string_view want =
        type == 'S' || locate == 0 ? std::string_view{} : again.symbol(locate);
    orders += isOrderMessage(type) ? 1 : 0;
    const bool ok = rec.key == want && m.symbol() == want &&
                    m.payload() == std::string(buf.begin(), buf.end()) &&
                    m.message_type() == std::string(1, type) && m.stock_locate() == locate &&
                    m.sequence_number() == i + 1 && m.session() == "sim.itch";
    wrong += ok ? 0 : 1;
  }
  CHECK(orders > kMessages / 2);
  CHECK(wrong == 0);
}

TEST_CASE("a capture with a truncated tail replays the whole records and reports the offset") {
  std::string capture;
  itch::CaptureWriter writer(capture);
  REQUIRE(writer.append(itch::Message{itch::SystemEvent{.event_code = 'O'}}));
  REQUIRE(writer.append(itch::Message{itch::SystemEvent{.event_code = 'S'}}));
  const uint64_t good_size = capture.size();
  capture += std::string("\x00\x24" "A\x00", 4); // a 36-byte record cut after 2 bytes

  File file(std::tmpfile(), &std::fclose);
  REQUIRE(file);
  REQUIRE(std::fwrite(capture.data(), 1, capture.size(), file.get()) == capture.size());
  std::rewind(file.get());

  MemoryPublisher pub;
  FeedHandler h(config(), pub);
  const auto result = replayCapture(file.get(), h);
  CHECK(result.status == itch::CaptureStatus::Truncated);
  CHECK(result.offset == good_size);
  CHECK(result.records == 2);
  CHECK(pub.records().size() == 2);
}

TEST_CASE("a gzip capture replays like the plain one and a cut gzip stream is an error, not a crash") {
  MarketConfig mc;
  mc.symbols = 20;
  mc.seed = 11;
  MarketSimulator sim(mc);
  constexpr uint64_t kMessages = 5'000;
  File plain(std::tmpfile(), &std::fclose);
  REQUIRE(tickstream::exchange_sim::writeCapture(sim, kMessages, plain.get()));
  std::rewind(plain.get());
  std::string bytes;
  char chunk[4096];
  for (size_t n; (n = std::fread(chunk, 1, sizeof chunk, plain.get())) > 0;) {
    bytes.append(chunk, n);
  }

  const std::string dir = std::filesystem::temp_directory_path().string();
  const std::string gz_path = dir + "/tickstream-replay-test-" + std::to_string(::getpid()) + ".itch.gz";
  gzFile gz = gzopen(gz_path.c_str(), "wb");
  REQUIRE(gz != nullptr);
  REQUIRE(gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size())) ==
          static_cast<int>(bytes.size()));
  REQUIRE(gzclose(gz) == Z_OK);

  MemoryPublisher pub;
  FeedHandler h(config(), pub);
  const auto result = replayCapture(gz_path, h);
  CHECK(result.status == itch::CaptureStatus::End);
  CHECK(result.records == kMessages);
  CHECK(result.offset == bytes.size());  // offsets count uncompressed bytes
  CHECK(h.counters().published == kMessages);

  // The same file cut in half: whole records before the cut replay, then a clear error.
  std::string compressed;
  {
    File f(std::fopen(gz_path.c_str(), "rb"), &std::fclose);
    REQUIRE(f);
    for (size_t n; (n = std::fread(chunk, 1, sizeof chunk, f.get())) > 0;) {
      compressed.append(chunk, n);
    }
  }
  {
    File f(std::fopen(gz_path.c_str(), "wb"), &std::fclose);
    REQUIRE(std::fwrite(compressed.data(), 1, compressed.size() / 2, f.get()) ==
            compressed.size() / 2);
  }
  MemoryPublisher pub2;
  FeedHandler h2(config(), pub2);
  const auto cut = replayCapture(gz_path, h2);
  CHECK(cut.status != itch::CaptureStatus::End);
  CHECK(cut.records > 0);
  CHECK(cut.records < kMessages);
  CHECK(h2.counters().malformedTotal() == 0);  // nothing half-decoded was handed on
  std::filesystem::remove(gz_path);
}

TEST_CASE("replaying a path that does not exist reports an I/O error") {
  MemoryPublisher pub;
  FeedHandler h(config(), pub);
  const auto result = replayCapture(std::string("/nonexistent/capture.itch"), h);
  CHECK(result.status == itch::CaptureStatus::IoError);
  CHECK(result.error.find("/nonexistent/capture.itch") != std::string::npos);
  CHECK(result.records == 0);
}
