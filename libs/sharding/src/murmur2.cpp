#include "tickstream/sharding/murmur2.h"

namespace tickstream::sharding {

int32_t murmur2(std::string_view data) noexcept {
  // Unsigned arithmetic gives Java's wrapping int semantics without signed-overflow UB; Java's
  // `>>>` is a logical shift, which is what >> does on uint32_t.
  constexpr uint32_t kSeed = 0x9747b28cU;
  constexpr uint32_t kM = 0x5bd1e995U;
  constexpr int kR = 24;

  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  const size_t length = data.size();
  // Java hashes an int-length array; a key longer than 2^31 bytes cannot exist there, and the
  // low 32 bits are what its `seed ^ length` sees anyway.
  uint32_t h = kSeed ^ static_cast<uint32_t>(length);

  const size_t blocks = length / 4;
  for (size_t i = 0; i < blocks; ++i) {
    const unsigned char* b = bytes + (i * 4);
    // Little-endian regardless of the host, as Java assembles it byte by byte.
    uint32_t k = static_cast<uint32_t>(b[0]) | (static_cast<uint32_t>(b[1]) << 8) |
                 (static_cast<uint32_t>(b[2]) << 16) | (static_cast<uint32_t>(b[3]) << 24);
    k *= kM;
    k ^= k >> kR;
    k *= kM;
    h *= kM;
    h ^= k;
  }

  const unsigned char* tail = bytes + (blocks * 4);
  switch (length % 4) {
  case 3:
    h ^= static_cast<uint32_t>(tail[2]) << 16;
    [[fallthrough]];
  case 2:
    h ^= static_cast<uint32_t>(tail[1]) << 8;
    [[fallthrough]];
  case 1:
    h ^= static_cast<uint32_t>(tail[0]);
    h *= kM;
    break;
  default:
    break;
  }

  h ^= h >> 13;
  h *= kM;
  h ^= h >> 15;
  return static_cast<int32_t>(h); // two's complement (guaranteed since C++20), as in Java
}

} // namespace tickstream::sharding
