#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "capture_run.h"
#include "market.h"
#include "tickstream/itch/capture.h"
#include "tickstream/itch/codec.h"

using tickstream::exchange_sim::MarketConfig;
using tickstream::exchange_sim::MarketSimulator;
using tickstream::exchange_sim::summaryJson;
using tickstream::exchange_sim::writeCapture;
namespace itch = tickstream::itch;

TEST_CASE("a capture file written by the CLI path reads back to the same messages") {
  MarketConfig c;
  c.symbols = 100;
  c.seed = 3;
  MarketSimulator sim(c);
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::tmpfile(), &std::fclose);
  REQUIRE(file);
  REQUIRE(writeCapture(sim, 20'000, file.get()));
  std::rewind(file.get());

  MarketSimulator again(c); // the same seed: the file must hold exactly its stream
  itch::CaptureFileReader reader(file.get());
  itch::CaptureRecord record;
  itch::Message decoded;
  itch::Message expected;
  uint64_t records = 0, bad = 0;
  itch::CaptureStatus status;
  while ((status = reader.next(record)) == itch::CaptureStatus::Ok) {
    ++records;
    again.next(expected);
    bad += itch::decode(record.message, decoded) == itch::DecodeStatus::Ok && decoded == expected
               ? 0
               : 1;
  }
  CHECK(status == itch::CaptureStatus::End);
  CHECK(records == 20'000);
  CHECK(bad == 0);
}

TEST_CASE("the summary line counts messages by type and shows the truth's top of book") {
  MarketConfig c;
  c.symbols = 10;
  MarketSimulator sim(c);
  itch::Message m;
  for (int i = 0; i < 5'000; ++i) {
    sim.next(m);
  }
  const std::string json = summaryJson(sim, 0.5);
  CHECK_THAT(json, Catch::StartsWith("{\"messages\":5000,\"symbols\":10,\"seed\":1,"));
  CHECK_THAT(json, Catch::Contains("\"R\":10"));
  CHECK_THAT(json, Catch::Contains("\"truth_errors\":0"));
  const auto top = sim.topOfBook(1);
  CHECK_THAT(json, Catch::Contains("{\"locate\":1,\"symbol\":\"" + std::string(sim.symbol(1)) +
                                   "\",\"bid\":" + std::to_string(top.bid.price)));
  CHECK_THAT(json, Catch::Contains("{\"locate\":5,"));
  CHECK_THAT(json, !Catch::Contains("{\"locate\":6,"));
  CHECK(json.find('\n') == std::string::npos);
}
