#pragma once

#include <cstdint>
#include <string_view>

namespace tickstream::sharding {

// The partition Kafka gives a keyed record: (murmur2(key) & 0x7fffffff) % partitions, exactly
// what the Java client's default partitioner and librdkafka's `murmur2_random` (and `murmur2`)
// partitioners compute when the record has a key (an empty key is a key and is hashed; only a
// null key is spread some other way). The key is hashed as raw bytes, so a symbol must be
// encoded exactly as the producer's record key (ASCII/UTF-8, no padding, no terminator).
//
// Called per message on the publish path, so it does not throw: `partitions` < 1 returns -1.
[[nodiscard]] int32_t partitionForKey(std::string_view key, int32_t partitions) noexcept;

} // namespace tickstream::sharding
