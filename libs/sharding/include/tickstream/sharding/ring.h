#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace tickstream::sharding {

// Which gateway shards serve which partitions of md.ticks. docs/sharding.md specifies the
// algorithm exactly so that clients in other languages compute the same answer: change neither
// the constants nor the order of evaluation here without versioning that document.
struct RingConfig {
  int32_t shards = 0;       // N: gateway shards, StatefulSet ordinals 0..N-1; 1..kMaxShards
  int32_t partitions = 0;   // P: partitions of md.ticks; 1..kMaxPartitions
  int32_t replication = 1;  // R: distinct shards serving each partition; 1..N
};

// Sanity limits that turn a mistyped flag into an error instead of a start-up that never ends;
// both are far beyond a real deployment (a gateway shard holds ~20k connections).
inline constexpr int32_t kMaxShards = 1024;
inline constexpr int32_t kMaxPartitions = 65536;

// MurmurHash3's 64-bit finalizer: a bijection on uint64 with full avalanche.
[[nodiscard]] constexpr uint64_t fmix64(uint64_t x) noexcept {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

// Rendezvous weight of `shard` for `partition` (both non-negative): fmix64(shard << 32 | partition).
// Distinct pairs never tie because fmix64 is a bijection.
[[nodiscard]] constexpr uint64_t rendezvousScore(int32_t partition, int32_t shard) noexcept {
  return fmix64((static_cast<uint64_t>(static_cast<uint32_t>(shard)) << 32) |
                static_cast<uint64_t>(static_cast<uint32_t>(partition)));
}

// Where a symbol lives. `shards` views the ShardRing that produced it: keep the ring alive.
struct Route {
  int32_t partition = -1;           // partition of md.ticks the symbol's records go to
  std::span<const int32_t> shards;  // the R shards serving that partition, primary first
};

// The partition -> shards assignment for one (N, P, R), built once at start-up (or on a rescale)
// by "stepwise rendezvous" (docs/sharding.md): the ring for N shards is the ring for N-1 plus
// shard N-1 taking floor(P*R/N) slots, one at a time from the most loaded shards, choosing the
// partitions that rank it highest. Hence, for every N:
//   - balance is exact: every shard serves floor(P*R/N) or ceil(P*R/N) partitions;
//   - scaling N -> N+1 moves exactly floor(P*R/(N+1)) slots, all onto the new shard, and
//     scaling N -> N-1 (a StatefulSet drops its highest ordinal) moves only that shard's slots;
//     no slot ever moves between two shards that stay.
// Lookups read precomputed arrays: they neither throw nor allocate. Immutable, so it can be
// shared between threads.
class ShardRing {
public:
  // Throws std::invalid_argument naming the offending RingConfig field.
  explicit ShardRing(const RingConfig& config);

  [[nodiscard]] const RingConfig& config() const noexcept { return config_; }
  [[nodiscard]] int32_t shardCount() const noexcept { return config_.shards; }
  [[nodiscard]] int32_t partitionCount() const noexcept { return config_.partitions; }
  [[nodiscard]] int32_t replication() const noexcept { return config_.replication; }

  // The R distinct shards serving `partition`, primary (highest rendezvous score) first; empty
  // if `partition` is out of range.
  [[nodiscard]] std::span<const int32_t> shardsFor(int32_t partition) const noexcept;
  // shardsFor(partition)[0], or -1 if out of range.
  [[nodiscard]] int32_t primaryFor(int32_t partition) const noexcept;
  // Whether `shard` is one of the R shards serving `partition` (false if either is out of range).
  [[nodiscard]] bool owns(int32_t shard, int32_t partition) const noexcept;
  // The partitions `shard` serves (as primary or replica), ascending; empty if out of range.
  [[nodiscard]] std::span<const int32_t> partitionsOf(int32_t shard) const noexcept;

  // Partitions served by each shard, indexed by ordinal; they sum to P*R.
  [[nodiscard]] std::span<const int32_t> loads() const noexcept { return loads_; }
  [[nodiscard]] int32_t maxLoad() const noexcept;
  [[nodiscard]] int32_t minLoad() const noexcept;

  // symbol -> {partitionForKey(symbol, P), shardsFor(that partition)}.
  [[nodiscard]] Route route(std::string_view symbol) const noexcept;

private:
  RingConfig config_;
  std::vector<int32_t> assignment_;    // P rows of R shards: row p serves partition p
  std::vector<int32_t> loads_;         // per shard
  std::vector<int32_t> owned_offset_;  // N+1 offsets into owned_ (shard s: [off[s], off[s+1]))
  std::vector<int32_t> owned_;         // partitions grouped by shard, ascending within a shard
};

} // namespace tickstream::sharding
