#include <catch2/catch.hpp>

#include "tickstream/kafka/consumer.h"
#include "tickstream/kafka/errors.h"
#include "tickstream/kafka/producer.h"

using namespace tickstream::kafka;

TEST_CASE("the producer is idempotent with acks=all and Kafka's partitioner by default") {
  ProducerConfig c;
  auto p = c.toProperties();
  CHECK(p["enable.idempotence"] == "true");
  CHECK(p["acks"] == "all");
  CHECK(p["partitioner"] == "murmur2_random");
  CHECK_NOTHROW(c.validate());
}

TEST_CASE("extra properties override the typed fields") {
  ProducerConfig c;
  c.extra["linger.ms"] = "42";
  CHECK(c.toProperties()["linger.ms"] == "42");
}

TEST_CASE("invalid producer settings are refused naming the field") {
  ProducerConfig c;
  c.acks = "1";
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("acks"));
  ProducerConfig d;
  d.brokers = "";
  CHECK_THROWS_WITH(d.validate(), Catch::Contains("brokers"));
  ProducerConfig e;
  e.linger_ms = -1;
  CHECK_THROWS_WITH(e.validate(), Catch::Contains("linger_ms"));
}

TEST_CASE("an unknown librdkafka property is refused naming it") {
  ProducerConfig c;
  c.extra["no.such.property"] = "1";
  CHECK_THROWS_WITH(Producer(c), Catch::Contains("no.such.property"));
  ProducerConfig d;
  d.compression = "brotli";
  CHECK_THROWS_WITH(Producer(d), Catch::Contains("compression.codec"));
}

TEST_CASE("the consumer never auto-commits") {
  ConsumerConfig c;
  c.group_id = "g";
  auto p = c.toProperties();
  CHECK(p["enable.auto.commit"] == "false");
  CHECK(p["enable.auto.offset.store"] == "false");
  ConsumerConfig bad;
  bad.auto_offset_reset = "sometime";
  CHECK_THROWS_WITH(bad.validate(), Catch::Contains("auto_offset_reset"));
}

TEST_CASE("subscribe without a group id is refused") {
  ConsumerConfig c;
  Consumer consumer(c);
  CHECK_THROWS_WITH(consumer.subscribe({"t"}), Catch::Contains("group_id"));
}
