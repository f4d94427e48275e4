#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "tickstream/kafka/consumer.h"

namespace tickstream::kafka {

// Reads partitions of `topic` from their start offsets (an offset, or OFFSET_BEGINNING) up to
// the high watermarks they had when called, handing each record to `fn`, then unassigns. For
// loading state at start-up: a compacted topic (md.snapshot) or the recent tail of a log.
// Compaction leaves holes in the offsets, so a partition is done once a record at or past its
// mark - 1 has been read. Throws std::runtime_error on a consumer error or after `timeout`.
void readToEnd(Consumer& reader, const std::string& topic,
               const std::map<int32_t, int64_t>& starts,
               const std::function<void(const Message&)>& fn,
               std::chrono::milliseconds timeout = std::chrono::minutes(5));

}  // namespace tickstream::kafka
