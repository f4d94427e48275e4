#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "tickstream/sharding/murmur2.h"
#include "tickstream/sharding/partitioner.h"
#include "tickstream/sharding/ring.h"

using tickstream::sharding::fmix64;
using tickstream::sharding::partitionForKey;
using tickstream::sharding::rendezvousScore;
using tickstream::sharding::RingConfig;
using tickstream::sharding::ShardRing;

namespace {

// The grid the balance and movement figures in docs/sharding.md come from.
constexpr int32_t kGridPartitions[] = {64, 128, 256, 512, 1024};
constexpr int32_t kGridShards[] = {1, 2, 3, 4, 8, 16, 32, 64};
constexpr int32_t kGridReplication[] = {1, 2};

bool contains(std::span<const int32_t> shards, int32_t shard) {
  return std::find(shards.begin(), shards.end(), shard) != shards.end();
}

// The algorithm exactly as docs/sharding.md states it, deliberately naive (every step scans
// every candidate), so the optimised ShardRing is checked against the specification itself.
std::vector<std::vector<int32_t>> referenceAssignment(int32_t n, int32_t p_count, int32_t r) {
  std::vector<std::vector<int32_t>> members(static_cast<size_t>(p_count));
  std::vector<int64_t> load(static_cast<size_t>(n), 0);
  for (auto& row : members) {
    for (int32_t s = 0; s < r; ++s) {
      row.push_back(s);
      ++load[static_cast<size_t>(s)];
    }
  }
  const int64_t total = int64_t{p_count} * r;
  for (int32_t k = r; k < n; ++k) {
    const int64_t quota = total / (k + 1);
    for (int64_t i = 0; i < quota; ++i) {
      const int64_t most = *std::max_element(load.begin(), load.begin() + k);
      int32_t best_p = -1;
      int32_t best_s = -1;
      for (int32_t p = 0; p < p_count; ++p) {
        const auto& row = members[static_cast<size_t>(p)];
        if (std::find(row.begin(), row.end(), k) != row.end()) {
          continue;
        }
        for (const int32_t s : row) {
          if (load[static_cast<size_t>(s)] != most) {
            continue;
          }
          const bool better = best_p < 0 || rendezvousScore(p, k) > rendezvousScore(best_p, k) ||
                              (p == best_p && s < best_s);
          if (better) {
            best_p = p;
            best_s = s;
          }
        }
      }
      REQUIRE(best_p >= 0);
      auto& row = members[static_cast<size_t>(best_p)];
      *std::find(row.begin(), row.end(), best_s) = k;
      --load[static_cast<size_t>(best_s)];
      ++load[static_cast<size_t>(k)];
    }
  }
  for (int32_t p = 0; p < p_count; ++p) {
    auto& row = members[static_cast<size_t>(p)];
    std::sort(row.begin(), row.end(), [p](int32_t a, int32_t b) {
      return rendezvousScore(p, a) > rendezvousScore(p, b);
    });
  }
  return members;
}

struct Movement {
  int64_t slots = 0;          // (partition, shard) pairs present after but not before
  int64_t partitions = 0;     // partitions whose set of shards changed
  int64_t primaries = 0;      // partitions whose primary changed
  std::set<int32_t> gainers;  // shards that gained a partition
  std::set<int32_t> losers;   // shards that lost a partition
};

// What changes from `before` to `after`.
Movement diff(const ShardRing& before, const ShardRing& after) {
  Movement m;
  for (int32_t p = 0; p < before.partitionCount(); ++p) {
    const auto b = before.shardsFor(p);
    const auto a = after.shardsFor(p);
    int64_t gained = 0;
    for (const int32_t s : a) {
      if (!contains(b, s)) {
        ++gained;
        m.gainers.insert(s);
      }
    }
    for (const int32_t s : b) {
      if (!contains(a, s)) {
        m.losers.insert(s);
      }
    }
    m.slots += gained;
    m.partitions += gained > 0 ? 1 : 0;
    m.primaries += a.front() != b.front() ? 1 : 0;
  }
  return m;
}

double primaryMaxOverMean(const ShardRing& ring) {
  std::vector<int32_t> primaries(static_cast<size_t>(ring.shardCount()), 0);
  for (int32_t p = 0; p < ring.partitionCount(); ++p) {
    ++primaries[static_cast<size_t>(ring.primaryFor(p))];
  }
  const double mean = double(ring.partitionCount()) / ring.shardCount();
  return *std::max_element(primaries.begin(), primaries.end()) / mean;
}

} // namespace

TEST_CASE("fmix64 and the rendezvous score follow MurmurHash3's finalizer") {
  STATIC_REQUIRE(fmix64(0) == 0); // the finalizer's one obvious fixed point
  // Spelled out step by step for x = 1, as a client would check its own port.
  uint64_t x = 1;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  CHECK(fmix64(1) == x);
  CHECK(rendezvousScore(7, 3) == fmix64((uint64_t{3} << 32) | 7U));
  // Values quoted in docs/sharding.md for ports to check against.
  CHECK(fmix64(1) == 0xb456bcfc34c2cb2cULL);
  CHECK(rendezvousScore(0, 1) == 0xba3a9e160a5f1419ULL);
  CHECK(rendezvousScore(5, 3) == 0xa1a3a29cf22f9dfbULL);
}

TEST_CASE("every partition is served by exactly R distinct shards") {
  for (const int32_t p_count : {1, 2, 5, 64, 257}) {
    for (const int32_t n : {1, 2, 3, 5, 8, 13}) {
      for (int32_t r = 1; r <= std::min(n, 4); ++r) {
        CAPTURE(p_count, n, r);
        const ShardRing ring({.shards = n, .partitions = p_count, .replication = r});
        int64_t total = 0;
        for (int32_t p = 0; p < p_count; ++p) {
          const auto shards = ring.shardsFor(p);
          REQUIRE(shards.size() == static_cast<size_t>(r));
          std::vector<int32_t> sorted(shards.begin(), shards.end());
          std::sort(sorted.begin(), sorted.end());
          REQUIRE(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
          REQUIRE(sorted.front() >= 0);
          REQUIRE(sorted.back() < n);
          REQUIRE(ring.primaryFor(p) == shards.front());
          for (int32_t s = 0; s < n; ++s) {
            REQUIRE(ring.owns(s, p) == contains(shards, s));
          }
        }
        for (int32_t s = 0; s < n; ++s) {
          const auto owned = ring.partitionsOf(s);
          REQUIRE(owned.size() == static_cast<size_t>(ring.loads()[static_cast<size_t>(s)]));
          REQUIRE(std::is_sorted(owned.begin(), owned.end()));
          for (const int32_t p : owned) {
            REQUIRE(ring.owns(s, p));
          }
          total += static_cast<int64_t>(owned.size());
        }
        REQUIRE(total == int64_t{p_count} * r);
      }
    }
  }
}

TEST_CASE("the primary is the shard that ranks the partition highest among its R shards") {
  const ShardRing ring({.shards = 7, .partitions = 200, .replication = 3});
  for (int32_t p = 0; p < 200; ++p) {
    const auto shards = ring.shardsFor(p);
    for (size_t i = 1; i < shards.size(); ++i) {
      REQUIRE(rendezvousScore(p, shards[i - 1]) > rendezvousScore(p, shards[i]));
    }
  }
}

TEST_CASE("the ring is a pure function of its config") {
  const RingConfig config{.shards = 9, .partitions = 300, .replication = 2};
  const ShardRing first(config);
  // Other rings built in between must not matter (no hidden state).
  const ShardRing unrelated({.shards = 5, .partitions = 64, .replication = 1});
  const ShardRing second(config);
  for (int32_t p = 0; p < config.partitions; ++p) {
    const auto a = first.shardsFor(p);
    const auto b = second.shardsFor(p);
    REQUIRE(std::equal(a.begin(), a.end(), b.begin(), b.end()));
  }
}

TEST_CASE("the ring computes exactly the algorithm specified in docs/sharding.md") {
  for (const int32_t p_count : {1, 2, 3, 7, 16, 64, 100}) {
    for (int32_t n = 1; n <= 12; ++n) {
      for (int32_t r = 1; r <= std::min(n, 3); ++r) {
        CAPTURE(p_count, n, r);
        const ShardRing ring({.shards = n, .partitions = p_count, .replication = r});
        const auto expected = referenceAssignment(n, p_count, r);
        for (int32_t p = 0; p < p_count; ++p) {
          const auto got = ring.shardsFor(p);
          const auto& want = expected[static_cast<size_t>(p)];
          REQUIRE(std::equal(got.begin(), got.end(), want.begin(), want.end()));
        }
      }
    }
  }
}

TEST_CASE("every shard serves the floor or the ceiling of PR/N partitions") {
  std::printf("\nbalance (slots = partitions served, primary or replica)\n");
  std::printf("%6s %4s %2s %9s %5s %5s %9s %13s\n", "P", "N", "R", "mean", "min", "max",
              "max/mean", "primary max/mean");
  double worst = 0.0;
  for (const int32_t p_count : kGridPartitions) {
    for (const int32_t n : kGridShards) {
      for (const int32_t r : kGridReplication) {
        if (r > n) {
          continue;
        }
        CAPTURE(p_count, n, r);
        const ShardRing ring({.shards = n, .partitions = p_count, .replication = r});
        const int64_t total = int64_t{p_count} * r;
        const double mean = double(total) / n;
        // Derived bound: loads are integers summing to P*R, so this is the best possible.
        REQUIRE(ring.maxLoad() == (total + n - 1) / n);
        REQUIRE(ring.minLoad() == total / n);
        const double ratio = ring.maxLoad() / mean;
        worst = std::max(worst, ratio);
        std::printf("%6d %4d %2d %9.2f %5d %5d %9.3f %13.3f\n", p_count, n, r, mean,
                    ring.minLoad(), ring.maxLoad(), ratio, primaryMaxOverMean(ring));
      }
    }
  }
  std::printf("worst max/mean over the grid: %.3f\n", worst);
  // The figure quoted in docs/sharding.md: P=64, N=3, R=1 has loads 21/21/22, 22 / 21.33.
  CHECK(worst == Approx(22.0 / (64.0 / 3.0)));
}

TEST_CASE("adding a shard moves about 1/N of the partitions and only onto the new shard") {
  std::printf("\nscale up N -> N+1: fraction of (partition, shard) slots that move\n");
  std::printf("%6s %4s %2s %9s %9s %11s %11s %10s\n", "P", "N", "R", "moved", "ideal",
              "partitions", "R/(N+1)", "primaries");
  for (const int32_t p_count : kGridPartitions) {
    for (const int32_t n : kGridShards) {
      for (const int32_t r : kGridReplication) {
        if (r > n) {
          continue;
        }
        CAPTURE(p_count, n, r);
        const ShardRing before({.shards = n, .partitions = p_count, .replication = r});
        const ShardRing after({.shards = n + 1, .partitions = p_count, .replication = r});
        const Movement m = diff(before, after);
        const int64_t total = int64_t{p_count} * r;
        // The new shard must end with at least floor(P*R/(N+1)) slots to be balanced; that is
        // exactly what moves, and nothing moves between shards that were already there.
        // (P*R < N+1 leaves the new shard idle: then nothing moves at all.)
        REQUIRE((m.gainers.empty() || m.gainers == std::set<int32_t>{n}));
        REQUIRE(m.slots == total / (n + 1));
        REQUIRE(m.slots == after.loads()[static_cast<size_t>(n)]);
        const double moved = double(m.slots) / double(total);
        const double ideal = 1.0 / (n + 1);
        REQUIRE(moved <= ideal);
        std::printf("%6d %4d %2d %9.4f %9.4f %11.4f %11.4f %10.4f\n", p_count, n, r, moved,
                    ideal, double(m.partitions) / p_count,
                    std::min(1.0, double(r) / (n + 1)), double(m.primaries) / p_count);
      }
    }
  }
}

TEST_CASE("removing the highest ordinal moves only that shard's partitions") {
  std::printf("\nscale down N -> N-1 (StatefulSet drops ordinal N-1)\n");
  std::printf("%6s %4s %2s %9s %9s %11s %10s\n", "P", "N", "R", "moved", "ideal", "partitions",
              "primaries");
  for (const int32_t p_count : kGridPartitions) {
    for (const int32_t n : kGridShards) {
      for (const int32_t r : kGridReplication) {
        if (n - 1 < r) {
          continue;
        }
        CAPTURE(p_count, n, r);
        const ShardRing before({.shards = n, .partitions = p_count, .replication = r});
        const ShardRing after({.shards = n - 1, .partitions = p_count, .replication = r});
        const Movement m = diff(before, after);
        const int64_t total = int64_t{p_count} * r;
        REQUIRE((m.losers.empty() || m.losers == std::set<int32_t>{n - 1}));
        // The departing shard's slots have to go somewhere; nothing else moves.
        REQUIRE(m.slots == before.loads()[static_cast<size_t>(n - 1)]);
        const double moved = double(m.slots) / double(total);
        const double ideal = 1.0 / n;
        REQUIRE(moved <= ideal);
        std::printf("%6d %4d %2d %9.4f %9.4f %11.4f %10.4f\n", p_count, n, r, moved, ideal,
                    double(m.partitions) / p_count, double(m.primaries) / p_count);
      }
    }
  }
}

TEST_CASE("scaling up by several shards at once moves partitions only onto the new shards") {
  const ShardRing from({.shards = 4, .partitions = 256, .replication = 2});
  const ShardRing to({.shards = 8, .partitions = 256, .replication = 2});
  int64_t moved = 0;
  for (int32_t p = 0; p < 256; ++p) {
    for (const int32_t s : to.shardsFor(p)) {
      if (!from.owns(s, p)) {
        REQUIRE(s >= 4); // only the new shards gain partitions
        ++moved;
      }
    }
  }
  int64_t new_slots = 0;
  for (int32_t s = 4; s < 8; ++s) {
    new_slots += to.loads()[static_cast<size_t>(s)];
  }
  CHECK(moved == new_slots);
}

TEST_CASE("bad config is rejected with a message naming the field") {
  const auto rejects = [](RingConfig config, const std::string& field) {
    CAPTURE(field);
    try {
      const ShardRing ring(config);
      FAIL("accepted an invalid config");
    } catch (const std::invalid_argument& e) {
      CHECK_THAT(e.what(), Catch::Contains(field));
    }
  };
  rejects({.shards = 0, .partitions = 64, .replication = 1}, "RingConfig.shards");
  rejects({.shards = -3, .partitions = 64, .replication = 1}, "RingConfig.shards");
  rejects({.shards = tickstream::sharding::kMaxShards + 1, .partitions = 64, .replication = 1},
          "RingConfig.shards");
  rejects({.shards = 4, .partitions = 0, .replication = 1}, "RingConfig.partitions");
  rejects({.shards = 4,
           .partitions = tickstream::sharding::kMaxPartitions + 1,
           .replication = 1},
          "RingConfig.partitions");
  rejects({.shards = 4, .partitions = 64, .replication = 0}, "RingConfig.replication");
  rejects({.shards = 4, .partitions = 64, .replication = 5}, "RingConfig.replication");
  rejects(RingConfig{}, "RingConfig.shards"); // the default must be set deliberately
  CHECK_NOTHROW(ShardRing({.shards = 4, .partitions = 64, .replication = 4}));
}

TEST_CASE("lookups outside the ring answer empty instead of throwing") {
  const ShardRing ring({.shards = 3, .partitions = 10, .replication = 2});
  CHECK(ring.shardsFor(-1).empty());
  CHECK(ring.shardsFor(10).empty());
  CHECK(ring.primaryFor(10) == -1);
  CHECK_FALSE(ring.owns(0, 10));
  CHECK_FALSE(ring.owns(3, 0));
  CHECK_FALSE(ring.owns(-1, 0));
  CHECK(ring.partitionsOf(3).empty());
  CHECK(ring.partitionsOf(-1).empty());
}

TEST_CASE("route gives a symbol's Kafka partition and the shards serving it") {
  const ShardRing ring({.shards = 4, .partitions = 64, .replication = 2});
  for (const char* symbol : {"AAPL", "MSFT", "RELIANCE", "BRK.B", ""}) {
    CAPTURE(symbol);
    const auto route = ring.route(symbol);
    CHECK(route.partition == partitionForKey(symbol, 64));
    const auto expected = ring.shardsFor(route.partition);
    CHECK(std::equal(route.shards.begin(), route.shards.end(), expected.begin(), expected.end()));
  }
}

TEST_CASE("the worked examples in docs/sharding.md hold") {
  struct Example {
    const char* symbol;
    int32_t murmur2;
    int32_t partition;
    int32_t shards[2];
  };
  // P = 64, N = 4, R = 2. Other-language clients test their ports against the same table.
  const Example examples[] = {
      {"AAPL", 1691292177, 17, {1, 2}},       {"MSFT", -1895496446, 2, {3, 0}},
      {"GOOGL", 282752101, 37, {3, 2}},       {"AMZN", -1488710007, 9, {1, 3}},
      {"NVDA", 503595197, 61, {3, 2}},        {"TSLA", 866263391, 31, {3, 2}},
      {"META", -1694578004, 44, {3, 0}},      {"SPY", 1772639735, 55, {3, 1}},
      {"QQQ", 122379425, 33, {1, 0}},         {"BRK.B", -1653694865, 47, {1, 0}},
      {"RELIANCE", -681900069, 27, {3, 1}},   {"INFY", -1782070259, 13, {0, 3}},
  };
  const ShardRing ring({.shards = 4, .partitions = 64, .replication = 2});
  for (const auto& e : examples) {
    CAPTURE(e.symbol);
    CHECK(tickstream::sharding::murmur2(e.symbol) == e.murmur2);
    const auto route = ring.route(e.symbol);
    CHECK(route.partition == e.partition);
    CHECK(std::equal(route.shards.begin(), route.shards.end(), std::begin(e.shards),
                     std::end(e.shards)));
  }

  // The whole table, "primary,replica" for partitions 0..63.
  const std::string expected =
      "3,2 3,1 3,0 1,0 3,1 0,3 0,2 2,0 0,1 1,3 0,2 0,2 0,2 0,3 2,1 0,2 "
      "2,1 1,2 3,2 0,2 2,3 1,2 3,0 0,3 3,1 0,1 3,1 3,1 1,2 2,3 0,1 3,2 "
      "3,2 1,0 3,2 3,1 2,0 3,2 2,1 1,0 2,3 0,2 0,1 1,2 3,0 3,1 2,0 1,0 "
      "3,1 0,1 1,0 1,3 3,0 0,2 2,1 3,1 1,0 2,3 2,1 0,3 2,0 3,2 3,0 3,1";
  std::string actual;
  for (int32_t p = 0; p < 64; ++p) {
    const auto shards = ring.shardsFor(p);
    actual += (p == 0 ? "" : " ") + std::to_string(shards[0]) + "," + std::to_string(shards[1]);
  }
  CHECK(actual == expected);

  // Scaling to N = 5 hands shard 4 exactly floor(128/5) = 25 partitions.
  const ShardRing five({.shards = 5, .partitions = 64, .replication = 2});
  const std::vector<int32_t> shard4 = {0,  3,  5,  7,  8,  11, 13, 15, 17, 18, 19, 24, 30,
                                       31, 34, 38, 39, 40, 42, 46, 47, 57, 58, 60, 63};
  const auto got = five.partitionsOf(4);
  CHECK(std::equal(got.begin(), got.end(), shard4.begin(), shard4.end()));
}
