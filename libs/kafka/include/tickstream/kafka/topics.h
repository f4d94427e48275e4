#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "tickstream/kafka/admin.h"

// The platform's Kafka topics: one owner for their names and shapes. docs/topics.md describes
// what flows on each; proto/ defines the payloads.
namespace tickstream::kafka::topics {

inline constexpr const char* kMdRaw = "md.raw";            // ITCH messages as received, key: symbol
inline constexpr const char* kMdTicks = "md.ticks";        // normalised updates, key: symbol
inline constexpr const char* kMdSnapshot = "md.snapshot";  // latest state per symbol, compacted
inline constexpr const char* kOrdersEvents = "orders.events";  // order transitions, key: account
inline constexpr const char* kOrdersFills = "orders.fills";    // fills, key: account

struct Layout {
  // md.raw, md.ticks and md.snapshot: the gateway's shard unit. 16, not more, per broker:
  // librdkafka sends one partition per ProduceRequest, so latency grows with the partitions a
  // broker leads (docs/benchmarks.md: 64 on one broker cost seconds at 20k msg/s).
  int32_t md_partitions = 16;
  int32_t order_partitions = 16;  // orders.events and orders.fills
  int16_t replication = 1;        // 1 on a single local broker; 3 in production
};

// The specs the services ensure at start. md.ticks and md.snapshot must have the same
// partition count: a gateway shard loads the snapshot partitions matching its tick partitions.
inline std::vector<TopicSpec> platformTopics(const Layout& l = {}) {
  return {
      {kMdRaw, l.md_partitions, l.replication, {{"retention.ms", "86400000"}}},
      {kMdTicks, l.md_partitions, l.replication, {{"retention.ms", "3600000"}}},
      {kMdSnapshot, l.md_partitions, l.replication,
       {{"cleanup.policy", "compact"}, {"min.cleanable.dirty.ratio", "0.1"}, {"segment.ms", "600000"}}},
      {kOrdersEvents, l.order_partitions, l.replication, {}},
      {kOrdersFills, l.order_partitions, l.replication, {}},
  };
}

// The spec of one platform topic (kMdRaw, ...), created under `as` — tests and parallel
// deployments use their own names with the same shape. Throws std::invalid_argument for a
// name that is not a platform topic.
inline TopicSpec platformTopic(const std::string& name, const std::string& as, const Layout& l = {}) {
  for (auto spec : platformTopics(l)) {
    if (spec.name == name) {
      spec.name = as;
      return spec;
    }
  }
  throw std::invalid_argument("not a platform topic: " + name);
}

}  // namespace tickstream::kafka::topics
