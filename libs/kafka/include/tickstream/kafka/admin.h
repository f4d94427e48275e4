#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

struct rd_kafka_s;

namespace tickstream::kafka {

struct TopicSpec {
  std::string name;                            // topic name
  int32_t partitions = 1;                      // partition count
  int16_t replication = 1;                     // replicas per partition (1 on a single broker)
  std::map<std::string, std::string> configs;  // topic configs, e.g. {"cleanup.policy","compact"}
};

// Topic administration over librdkafka's Admin API (the C++ API has none).
class Admin {
 public:
  explicit Admin(const std::string& brokers);
  ~Admin();
  Admin(const Admin&) = delete;
  Admin& operator=(const Admin&) = delete;

  // Creates the topics that do not exist yet; an existing topic is left as it is (so every
  // service can ensure its topics at start). Returns once every partition's leader answers (a
  // produce right after is taken, not refused as "not leader"). Throws KafkaError naming the
  // topic on any other failure.
  void ensureTopics(const std::vector<TopicSpec>& topics,
                    std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Deletes topics; missing ones are ignored (tests clean up with it).
  void deleteTopics(const std::vector<std::string>& names,
                    std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Partition count of `topic`, or -1 when it does not exist.
  int32_t partitionCount(const std::string& topic,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // A topic's configuration value as the broker reports it (e.g. "cleanup.policy").
  std::string topicConfig(const std::string& topic, const std::string& key,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  rd_kafka_s* rk_ = nullptr;
};

}  // namespace tickstream::kafka
