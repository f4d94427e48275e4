#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

// Where a restarted feed handler takes up md.raw again (docs/ingestion.md, "Restarts").
namespace tickstream::ingestion {

// By partition of `topic`: the feed sequence number of its last record if that record is of
// `session` on `trading_date` (its exchange time, in exchange local time with `utc_offset_s`),
// else 0 (an empty partition, or another day: venues reuse session names and restart their
// numbering every day, and md.raw may keep yesterday's records). One idempotent producer
// writes each partition in sequence order, with no gap (gapless), so the partition holds every
// message of the session up to that number that belongs to it. Throws on a Kafka error or
// after `timeout`.
[[nodiscard]] std::vector<uint64_t> publishedThrough(const std::string& brokers, const std::string& topic,
                                                     int32_t partitions, const std::string& session,
                                                     std::chrono::sys_days trading_date, int32_t utc_offset_s,
                                                     std::chrono::milliseconds timeout);

} // namespace tickstream::ingestion
