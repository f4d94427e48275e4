#include "tickstream/sharding/partitioner.h"

#include "tickstream/sharding/murmur2.h"

namespace tickstream::sharding {

int32_t partitionForKey(std::string_view key, int32_t partitions) noexcept {
  if (partitions < 1) {
    return -1;
  }
  // Kafka's Utils.toPositive: mask the sign bit (not abs(), which breaks on INT32_MIN).
  const int32_t positive = murmur2(key) & 0x7fffffff;
  return positive % partitions;
}

} // namespace tickstream::sharding
