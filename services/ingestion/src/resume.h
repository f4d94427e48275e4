#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

// Where a restarted feed handler takes up md.raw again (docs/ingestion.md, "Restarts").
namespace tickstream::ingestion {

// By partition of `topic`: the feed sequence number of its last record if that record is of
// `session`, else 0 (an empty partition, or another day's session). One idempotent producer
// writes each partition in sequence order, so the partition holds every message of the session
// up to that number that belongs to it. Throws on a Kafka error or after `timeout`.
[[nodiscard]] std::vector<uint64_t> publishedThrough(const std::string& brokers, const std::string& topic,
                                                     int32_t partitions, const std::string& session,
                                                     std::chrono::milliseconds timeout);

} // namespace tickstream::ingestion
