#pragma once

#include <cstdint>
#include <string_view>

namespace tickstream::sharding {

// Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2): 32-bit MurmurHash2 with
// seed 0x9747b28c, m = 0x5bd1e995, r = 24, over the raw bytes of `data`. Returns the same
// signed 32-bit value as the Java client, so Kafka's published test vectors apply as-is.
[[nodiscard]] int32_t murmur2(std::string_view data) noexcept;

} // namespace tickstream::sharding
