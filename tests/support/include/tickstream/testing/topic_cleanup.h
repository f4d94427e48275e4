#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "tickstream/kafka/admin.h"

namespace tickstream::testing {

// Deletes a test's topics when the test ends, whether it passed or failed. Tests that deleted
// theirs only on their last line left them behind on every failure, and a long-lived local
// broker collected ~2,500 partitions, until its start-up outgrew the fixture's 90 s wait. Best
// effort: a destructor must not throw, and a broker that is gone has nothing to clean.
class TopicCleanup {
 public:
  TopicCleanup(std::string brokers, std::vector<std::string> topics)
      : brokers_(std::move(brokers)), topics_(std::move(topics)) {}
  TopicCleanup(const TopicCleanup&) = delete;
  TopicCleanup& operator=(const TopicCleanup&) = delete;
  ~TopicCleanup() {
    try {
      kafka::Admin(brokers_).deleteTopics(topics_, std::chrono::seconds(5));  // a gone broker: give up soon
    } catch (...) {
    }
  }

 private:
  std::string brokers_;
  std::vector<std::string> topics_;
};

}  // namespace tickstream::testing
