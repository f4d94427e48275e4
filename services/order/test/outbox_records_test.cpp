#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "outbox_records.h"

using tickstream::order::decodeOutboxRecords;
using tickstream::order::OutboxRecord;
using tickstream::order::OutboxRecordsWriter;

TEST_CASE("outbox records come back in the order they were added, bytes intact") {
  OutboxRecordsWriter w;
  const std::string binary("\x00\x01\xff\x00", 4);
  w.add("orders.events", "acct-1", binary);
  w.add("orders.fills", "acct-1", "");
  w.add("orders.events", "", std::string(70'000, 'x'));  // a payload longer than 16 bits
  CHECK(w.count() == 3);

  std::vector<OutboxRecord> out;
  std::string error;
  REQUIRE(decodeOutboxRecords(w.bytes(), out, error));
  REQUIRE(out.size() == 3);
  CHECK(out[0].topic == "orders.events");
  CHECK(out[0].key == "acct-1");
  CHECK(out[0].payload == binary);
  CHECK(out[1].topic == "orders.fills");
  CHECK(out[1].payload.empty());
  CHECK(out[2].key.empty());
  CHECK(out[2].payload.size() == 70'000);
}

TEST_CASE("the framing is the big-endian layout migration 0008 writes with int2send and int4send") {
  OutboxRecordsWriter w;
  w.add("t", "ab", "\x07");
  // SELECT int2send(1::int2) || 't' || int2send(2::int2) || 'ab' || int4send(1) || '\x07'
  CHECK(w.bytes() == std::string("\x00\x01t\x00\x02" "ab\x00\x00\x00\x01\x07", 12));
}

TEST_CASE("a malformed outbox row is refused with its reason and adds no record") {
  OutboxRecordsWriter w;
  w.add("orders.events", "acct-1", "payload");
  const std::string good = w.bytes();
  std::vector<OutboxRecord> out{{"kept", "", ""}};
  std::string error;

  CHECK_FALSE(decodeOutboxRecords(good.substr(0, good.size() - 1), out, error));
  CHECK(error.find("truncated") != std::string::npos);
  CHECK_FALSE(decodeOutboxRecords(good + std::string("\x00", 1), out, error));  // half a length
  CHECK_FALSE(decodeOutboxRecords(std::string("\x00\x00\x00\x00\x00\x00\x00\x00", 8), out, error));
  CHECK(error.find("empty topic") != std::string::npos);
  CHECK_FALSE(decodeOutboxRecords("", out, error));
  CHECK(error.find("no record") != std::string::npos);
  CHECK(out.size() == 1);  // untouched by every refusal
}

TEST_CASE("an outbox record the relay could not read is refused when written") {
  OutboxRecordsWriter w;
  CHECK_THROWS_AS(w.add("", "acct", "p"), std::invalid_argument);
  CHECK_THROWS_AS(w.add("t", std::string(65'536, 'k'), "p"), std::invalid_argument);
  CHECK(w.empty());
}

TEST_CASE("a settled round deletes rows wholly in Kafka and leaves the others only their unpublished records") {
  // Three rows: all published; the middle record missing; nothing published.
  tickstream::order::OutboxBatch batch;
  for (int r = 0; r < 3; ++r) {
    OutboxRecordsWriter w;
    for (int i = 0; i < 3; ++i) w.add("orders.events", "acct-" + std::to_string(i), std::to_string(r) + "/" + std::to_string(i));
    batch.add(10 + r, w.bytes());
  }
  batch.decode();
  REQUIRE(batch.records.size() == 9);
  CHECK(batch.row_of == std::vector<std::size_t>{0, 0, 0, 1, 1, 1, 2, 2, 2});
  const std::vector<bool> done{true, true, true, true, false, true, false, false, false};
  std::string error;

  const auto s = tickstream::order::settleOutboxRows(batch, done);
  CHECK(s.deleted == std::vector<std::int64_t>{10});
  CHECK(s.done_records == 5);
  REQUIRE(s.trimmed.size() == 1);  // row 12 published nothing: it stays as it is
  CHECK(s.trimmed[0].first == 11);
  std::vector<OutboxRecord> rest;
  REQUIRE(decodeOutboxRecords(s.trimmed[0].second, rest, error));
  REQUIRE(rest.size() == 1);
  CHECK(rest[0].key == "acct-1");
  CHECK(rest[0].payload == "1/1");
}

TEST_CASE("a batch with a row that cannot be read is refused, naming the row") {
  tickstream::order::OutboxBatch batch;
  OutboxRecordsWriter w;
  w.add("orders.events", "acct-1", "payload");
  batch.add(7, w.bytes());
  batch.add(8, w.bytes().substr(0, 5));
  try {
    batch.decode();
    FAIL("decode accepted a truncated row");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("outbox row 8") != std::string::npos);
  }
}
