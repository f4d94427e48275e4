// The producer and consumer against librdkafka's in-process mock cluster: fast checks of our
// wrappers' behaviour. The same flows against a real broker are in tests/integration/kafka.
#include <catch2/catch.hpp>

#include <atomic>
#include <string>

#include "tickstream/kafka/consumer.h"
#include "tickstream/kafka/producer.h"
#include "tickstream/testing/mock_kafka.h"

using namespace tickstream::kafka;
using namespace std::chrono_literals;

namespace {

// One topic, "mock.topic", with two partitions.
class MockCluster : public tickstream::testing::MockKafka {
 public:
  MockCluster() { createTopic("mock.topic", 2); }
};

}  // namespace

TEST_CASE("delivered messages are reported and a restarted consumer resumes after its commit") {
  MockCluster cluster;
  ProducerConfig pc;
  pc.brokers = cluster.bootstrap();
  pc.linger_ms = 0;
  std::atomic<int> delivered{0};
  {
    Producer producer(pc, [&](const DeliveryReport& r) {
      if (r.error == RdKafka::ERR_NO_ERROR) delivered++;
    });
    for (int i = 0; i < 100; ++i) {
      REQUIRE(producer.produce("mock.topic", "key", "value-" + std::to_string(i), 0) == ProduceResult::Ok);
    }
    REQUIRE(producer.flush(10s));
    CHECK(producer.delivered() == 100);
    CHECK(producer.failed() == 0);
  }
  CHECK(delivered == 100);

  ConsumerConfig cc;
  cc.brokers = cluster.bootstrap();
  cc.group_id = "mock-group";
  {
    Consumer consumer(cc);
    consumer.assign({{"mock.topic", 0, RdKafka::Topic::OFFSET_STORED}});
    for (int i = 0; i < 40; ++i) {
      auto m = consumer.poll(10s);
      REQUIRE(m.has_value());
      REQUIRE(m->ok());
      CHECK(m->payload() == "value-" + std::to_string(i));
      if (i == 39) consumer.commit(*m);
    }
  }
  Consumer again(cc);
  again.assign({{"mock.topic", 0, RdKafka::Topic::OFFSET_STORED}});
  auto m = again.poll(10s);
  REQUIRE(m.has_value());
  CHECK(m->offset() == 40);
  CHECK(m->payload() == "value-40");
}

TEST_CASE("a message larger than the producer allows is rejected, not queued") {
  MockCluster cluster;
  ProducerConfig pc;
  pc.brokers = cluster.bootstrap();
  pc.extra["message.max.bytes"] = "1000";
  Producer producer(pc);
  std::string big(5000, 'x');
  CHECK(producer.produce("mock.topic", "k", big) == ProduceResult::Rejected);
  CHECK(producer.outstanding() == 0);
}
