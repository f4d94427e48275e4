#include "tickstream/sharding/ring.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>

#include "tickstream/sharding/partitioner.h"

namespace tickstream::sharding {
namespace {

void require(bool ok, const std::string& message) {
  if (!ok) {
    throw std::invalid_argument("invalid sharding config: " + message);
  }
}

RingConfig validated(const RingConfig& c) {
  require(c.shards >= 1 && c.shards <= kMaxShards,
          "RingConfig.shards must be in [1, " + std::to_string(kMaxShards) + "], got " +
              std::to_string(c.shards));
  require(c.partitions >= 1 && c.partitions <= kMaxPartitions,
          "RingConfig.partitions must be in [1, " + std::to_string(kMaxPartitions) + "], got " +
              std::to_string(c.partitions));
  require(c.replication >= 1 && c.replication <= c.shards,
          "RingConfig.replication must be in [1, shards=" + std::to_string(c.shards) +
              "], got " + std::to_string(c.replication));
  return c;
}

size_t idx(int32_t i) { return static_cast<size_t>(i); }

// Stepwise rendezvous (docs/sharding.md). Returns P rows of R shards, each row in no particular
// order, and fills `loads`. The document states the algorithm as a naive loop; this is the same
// selection done in O(N * (P log P + P*R)): per step, each old shard's partitions are listed in
// the new shard's preference order, so the best candidate of a shard is the head of its bucket.
std::vector<int32_t> stepwiseRendezvous(const RingConfig& config, std::vector<int32_t>& loads) {
  const int32_t n = config.shards;
  const int32_t p_count = config.partitions;
  const int32_t r = config.replication;
  const auto row = [r](int32_t p) { return idx(p) * idx(r); };

  // N = R: every shard serves every partition.
  std::vector<int32_t> rows(idx(p_count) * idx(r));
  for (int32_t p = 0; p < p_count; ++p) {
    std::iota(rows.begin() + static_cast<std::ptrdiff_t>(row(p)),
              rows.begin() + static_cast<std::ptrdiff_t>(row(p) + idx(r)), 0);
  }
  loads.assign(idx(n), 0);
  std::fill(loads.begin(), loads.begin() + r, p_count);

  const int64_t total = static_cast<int64_t>(p_count) * r;
  std::vector<uint64_t> score(idx(p_count));
  std::vector<int32_t> by_score(idx(p_count));
  std::vector<int32_t> bucket(rows.size());  // old shards' partitions, bucketed by shard
  std::vector<int32_t> bucket_end(idx(n));   // end of each shard's bucket
  std::vector<int32_t> head(idx(n));         // next candidate in each shard's bucket
  std::vector<char> has_new(idx(p_count));   // partition already served by the new shard

  for (int32_t k = r; k < n; ++k) { // shard k joins shards 0..k-1
    const auto quota = static_cast<int32_t>(total / (k + 1));

    for (int32_t p = 0; p < p_count; ++p) {
      score[idx(p)] = rendezvousScore(p, k);
    }
    std::iota(by_score.begin(), by_score.end(), 0);
    std::sort(by_score.begin(), by_score.end(),
              [&](int32_t a, int32_t b) { return score[idx(a)] > score[idx(b)]; });
    int32_t offset = 0;
    for (int32_t s = 0; s < k; ++s) {
      head[idx(s)] = offset;
      offset += loads[idx(s)];
      bucket_end[idx(s)] = head[idx(s)];
    }
    for (const int32_t p : by_score) {
      for (size_t i = row(p); i < row(p) + idx(r); ++i) {
        bucket[idx(bucket_end[idx(rows[i])]++)] = p;
      }
    }
    std::fill(has_new.begin(), has_new.end(), 0);

    for (int32_t taken = 0; taken < quota; ++taken) {
      const int32_t most = *std::max_element(loads.begin(), loads.begin() + k);
      int32_t best_shard = -1;
      int32_t best_partition = -1;
      for (int32_t s = 0; s < k; ++s) {
        if (loads[idx(s)] != most) {
          continue;
        }
        int32_t& h = head[idx(s)];
        while (h < bucket_end[idx(s)] && has_new[idx(bucket[idx(h)])] != 0) {
          ++h;
        }
        if (h == bucket_end[idx(s)]) {
          continue; // cannot happen (docs/sharding.md proves a candidate exists); be safe
        }
        const int32_t p = bucket[idx(h)];
        // Strictly greater: on a tie (same partition) the lower ordinal, seen first, wins.
        if (best_shard < 0 || score[idx(p)] > score[idx(best_partition)]) {
          best_shard = s;
          best_partition = p;
        }
      }
      if (best_shard < 0) {
        throw std::logic_error("stepwise rendezvous found no partition to move");
      }
      auto first = rows.begin() + static_cast<std::ptrdiff_t>(row(best_partition));
      *std::find(first, first + r, best_shard) = k;
      has_new[idx(best_partition)] = 1;
      ++head[idx(best_shard)];
      --loads[idx(best_shard)];
      ++loads[idx(k)];
    }
  }
  return rows;
}

} // namespace

ShardRing::ShardRing(const RingConfig& config) : config_(validated(config)) {
  const int32_t n = config_.shards;
  const int32_t p_count = config_.partitions;
  const int32_t r = config_.replication;
  assignment_ = stepwiseRendezvous(config_, loads_);

  // Primary first: order each row by the rendezvous score, a function of the row's set alone,
  // so a partition's primary changes only when its set of shards does.
  for (int32_t p = 0; p < p_count; ++p) {
    auto first = assignment_.begin() + static_cast<std::ptrdiff_t>(idx(p) * idx(r));
    std::sort(first, first + r, [p](int32_t a, int32_t b) {
      return rendezvousScore(p, a) > rendezvousScore(p, b);
    });
  }

  // Invert into per-shard partition lists; visiting partitions in order keeps them ascending.
  owned_offset_.assign(idx(n) + 1, 0);
  for (int32_t s = 0; s < n; ++s) {
    owned_offset_[idx(s) + 1] = owned_offset_[idx(s)] + loads_[idx(s)];
  }
  owned_.resize(assignment_.size());
  std::vector<int32_t> cursor(owned_offset_.begin(), owned_offset_.end() - 1);
  for (int32_t p = 0; p < p_count; ++p) {
    for (const int32_t s : shardsFor(p)) {
      owned_[idx(cursor[idx(s)]++)] = p;
    }
  }
}

std::span<const int32_t> ShardRing::shardsFor(int32_t partition) const noexcept {
  if (partition < 0 || partition >= config_.partitions) {
    return {};
  }
  const auto r = idx(config_.replication);
  return std::span<const int32_t>(assignment_).subspan(idx(partition) * r, r);
}

int32_t ShardRing::primaryFor(int32_t partition) const noexcept {
  const auto shards = shardsFor(partition);
  return shards.empty() ? -1 : shards.front();
}

bool ShardRing::owns(int32_t shard, int32_t partition) const noexcept {
  const auto shards = shardsFor(partition);
  return std::find(shards.begin(), shards.end(), shard) != shards.end();
}

std::span<const int32_t> ShardRing::partitionsOf(int32_t shard) const noexcept {
  if (shard < 0 || shard >= config_.shards) {
    return {};
  }
  const auto begin = idx(owned_offset_[idx(shard)]);
  const auto end = idx(owned_offset_[idx(shard) + 1]);
  return std::span<const int32_t>(owned_).subspan(begin, end - begin);
}

int32_t ShardRing::maxLoad() const noexcept {
  return *std::max_element(loads_.begin(), loads_.end());
}

int32_t ShardRing::minLoad() const noexcept {
  return *std::min_element(loads_.begin(), loads_.end());
}

Route ShardRing::route(std::string_view symbol) const noexcept {
  const int32_t partition = partitionForKey(symbol, config_.partitions);
  return Route{partition, shardsFor(partition)};
}

} // namespace tickstream::sharding
