#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "tickstream/sharding/murmur2.h"
#include "tickstream/sharding/partitioner.h"

using tickstream::sharding::murmur2;
using tickstream::sharding::partitionForKey;

namespace {
int32_t positive(uint32_t v) { return static_cast<int32_t>(v & 0x7fffffffU); }
} // namespace

TEST_CASE("murmur2 matches Kafka's published test vectors") {
  // org.apache.kafka.common.utils.UtilsTest#testMurmur2 (signed Java ints).
  CHECK(murmur2("21") == -973932308);
  CHECK(murmur2("foobar") == -790332482);
  CHECK(murmur2("a-little-bit-long-string") == -985981536);
  CHECK(murmur2("a-little-bit-longer-string") == -1486304829);
  CHECK(murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8") == -58897971);
  const char abc[] = {'a', 'b', 'c'};
  CHECK(murmur2(std::string_view(abc, sizeof abc)) == 479470107);
}

TEST_CASE("murmur2 covers every tail length like Kafka's Java implementation") {
  // Values of Utils.murmur2 quoted by other Kafka clients (Akka's Murmur2Spec, kafkajs);
  // lengths 1..5 exercise tails of 1, 2, 3, 0 and 1 bytes.
  CHECK(murmur2("1") == -1993445489);
  CHECK(murmur2("12") == 126087238);
  CHECK(murmur2("123") == -267702483);
  CHECK(murmur2("1234") == -1614185708);
  CHECK(murmur2("12345") == -1188365604);
}

TEST_CASE("murmur2 agrees with librdkafka's unit test after masking the sign bit") {
  // librdkafka src/rdmurmur2.c, unittest_murmurhashneutral2 (java_murmur2_results).
  CHECK((murmur2("kafka") & 0x7fffffff) == 1348980580);
  CHECK((murmur2("amqp") & 0x7fffffff) == 767747138);
  CHECK((murmur2("giberish123456789") & 0x7fffffff) == 257239820);
}

TEST_CASE("murmur2 hashes raw bytes including NULs and high bytes") {
  const std::string with_nul("a\0b", 3);
  CHECK(murmur2(with_nul) != murmur2("a"));
  CHECK(murmur2(with_nul) != murmur2("ab"));
  // Bytes >= 0x80 are unsigned in the hash (Java masks with & 0xff); flipping the high bit of
  // the last byte must change the result.
  CHECK(murmur2("\xff") != murmur2("\x7f"));
}

TEST_CASE("partitionForKey matches librdkafka's murmur2_random partitioner") {
  // librdkafka tests/0048-partitioner.c: expected partitions for keyed messages, computed by
  // the Java client (tests/java/Murmur2Cli), on 7 and 17 partitions.
  for (const int32_t partitions : {7, 17}) {
    CAPTURE(partitions);
    CHECK(partitionForKey("", partitions) == positive(0x106e08d9U) % partitions);
    CHECK(partitionForKey("23456", partitions) == positive(0x058d780fU) % partitions);
    CHECK(partitionForKey("this is another string with more length to it perhaps",
                          partitions) == positive(0x4f7703daU) % partitions);
    CHECK(partitionForKey("hejsan", partitions) == positive(0x5ec19395U) % partitions);
  }
}

TEST_CASE("partitionForKey masks the sign bit instead of taking abs()") {
  // murmur2("21") is negative: Kafka's toPositive keeps the low 31 bits.
  const int32_t h = murmur2("21");
  REQUIRE(h < 0);
  CHECK(partitionForKey("21", 1000) == (h & 0x7fffffff) % 1000);
  CHECK(partitionForKey("21", 1000) == (-973932308 & 0x7fffffff) % 1000);
}

TEST_CASE("partitionForKey is in range and stable for any partition count") {
  for (const int32_t partitions : {1, 2, 3, 7, 64, 1000, 65536}) {
    for (int i = 0; i < 500; ++i) {
      const std::string symbol = "SYM" + std::to_string(i);
      const int32_t p = partitionForKey(symbol, partitions);
      REQUIRE(p >= 0);
      REQUIRE(p < partitions);
      REQUIRE(partitionForKey(symbol, partitions) == p);
    }
  }
}

TEST_CASE("partitionForKey rejects a non-positive partition count without throwing") {
  CHECK(partitionForKey("AAPL", 0) == -1);
  CHECK(partitionForKey("AAPL", -5) == -1);
}
