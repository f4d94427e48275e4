#include "raw_dedupe.h"

#include "tickstream/itch/messages.h"

namespace tickstream::normalizer {

int64_t RawDedupe::dayOf(int32_t trading_day, int64_t exchange_ts_ns) noexcept {
  if (trading_day != 0) {
    return trading_day;
  }
  return exchange_ts_ns / static_cast<int64_t>(itch::kNanosPerDay);
}

bool RawDedupe::fresh(int32_t partition, int64_t exchange_day, std::string_view session, uint64_t sequence) {
  const auto index = static_cast<std::size_t>(partition + 1);
  if (index >= partitions_.size()) {
    partitions_.resize(index + 1);
  }
  Partition& p = partitions_[index];
  if (exchange_day > p.day) {
    p.day = exchange_day;
    p.sessions.clear();
  }
  for (auto& last : p.sessions) {
    if (last.session == session) {
      if (sequence <= last.sequence) {
        ++duplicates_;
        return false;
      }
      last.sequence = sequence;
      return true;
    }
  }
  p.sessions.push_back(Last{std::string(session), sequence});
  return true;
}

}  // namespace tickstream::normalizer
