#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// Drops md.raw records that repeat a message the normalizer already applied from the same
// partition. A message is (session, sequence_number) on one trading day, and ingestion
// publishes a session's messages to a partition in sequence order, so per partition and
// session the sequence only goes up. A record at or below the last one seen is a copy: from an
// ingestion restart whose resume read a high watermark that did not yet show the dead
// producer's last records (replication > 1), from `--resume=false`, or from a capture replayed
// twice. Applied again, its executions would count twice in the book, the volume and the bars.
// Market-wide messages are copied to every partition once each, so they are fresh in each.
namespace tickstream::normalizer {

class RawDedupe {
 public:
  // True when the record is new and should be applied. `exchange_day` is the record's day
  // (exchange_ts_ns in whole days): a later day starts every session of the partition afresh,
  // because venues reuse session names and number each day from 1.
  bool fresh(int32_t partition, int64_t exchange_day, std::string_view session, uint64_t sequence);

  uint64_t duplicates() const noexcept { return duplicates_; }

  // The day `fresh` keys a record on: its trading day when ingestion recorded it, else (older
  // records) its exchange timestamp's day in UTC. Not the timestamp's UTC day when the trading
  // day is there: New York's evening session crosses UTC midnight, and a session forgotten
  // there would take a pre-midnight message's copy arriving after midnight for a new one.
  static int64_t dayOf(int32_t trading_day, int64_t exchange_ts_ns) noexcept;

 private:
  struct Last {
    std::string session;
    uint64_t sequence = 0;
  };
  struct Partition {
    int64_t day = INT64_MIN;
    std::vector<Last> sessions;  // usually one: a linear search beats a hash here
  };
  std::vector<Partition> partitions_;  // index: partition + 1 (-1: not from Kafka)
  uint64_t duplicates_ = 0;
};

}  // namespace tickstream::normalizer
