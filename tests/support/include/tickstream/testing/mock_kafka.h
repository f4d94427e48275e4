#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <stdexcept>
#include <string>

// librdkafka's in-process mock cluster, for fast unit tests of code that produces or consumes:
// a seam, never a stand-in for the real broker in integration tests.
namespace tickstream::testing {

class MockKafka {
public:
  explicit MockKafka(int brokers = 1) : brokers_(brokers) {
    char err[256];
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, rd_kafka_conf_new(), err, sizeof err);
    if (rk_ == nullptr) {
      throw std::runtime_error(std::string("mock cluster handle: ") + err);
    }
    cluster_ = rd_kafka_mock_cluster_new(rk_, brokers);
    if (cluster_ == nullptr) {
      rd_kafka_destroy(rk_);
      throw std::runtime_error("mock cluster could not be created");
    }
  }
  ~MockKafka() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(rk_);
  }
  MockKafka(const MockKafka&) = delete;
  MockKafka& operator=(const MockKafka&) = delete;

  // Creates `topic`; throws if the mock refuses.
  void createTopic(const std::string& topic, int partitions) {
    if (rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      throw std::runtime_error("mock topic " + topic + " could not be created");
    }
  }
  std::string bootstrap() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  // Delays every broker's responses by `rtt` (slow acknowledgements).
  void setRtt(std::chrono::milliseconds rtt) {
    for (int id = 1; id <= brokers_; ++id) {
      rd_kafka_mock_broker_set_rtt(cluster_, id, static_cast<int>(rtt.count()));
    }
  }

private:
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  int brokers_;
};

} // namespace tickstream::testing
