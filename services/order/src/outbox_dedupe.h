#pragma once

#include <chrono>
#include <optional>
#include <cstdint>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "outbox_records.h"

// The relay's start-up check (docs/order.md, "Outbox relay"): which outbox rows are already in
// Kafka. A relay that stopped between the broker's acknowledgement and its DELETE (kill -9, a
// lost database connection, a stop in mid-round) left rows that were published; sending them
// again would put a second copy in the topic. So before its first round a relay reads each
// topic back from a little before the oldest row's created_at to the end and drops the records
// whose exact payload is there: rows left with none are deleted, rows left with some keep only
// those. Payloads identify records: each holds a unique event_id or fill_id.
namespace tickstream::order {

// What to drop from the outbox because its (topic, payload) is already in Kafka. `margin`: how
// far before the oldest row's created_at to start reading (covers the clock difference between
// the database and the broker's record timestamps). Throws on database or broker errors, and on
// a row it cannot decode. `up_to_id`: only rows with an id at most this (after a failed round,
// only that round's rows can be in Kafka; the whole outbox is read at start-up).
OutboxSettlement publishedOutboxRecords(pqxx::connection& conn, const std::string& brokers,
                                        std::chrono::milliseconds margin = std::chrono::minutes(1),
                                        std::optional<std::int64_t> up_to_id = std::nullopt);

}  // namespace tickstream::order
