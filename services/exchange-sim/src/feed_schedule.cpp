#include "feed_schedule.h"

#include <algorithm>

namespace tickstream::exchange_sim {

// double is fine here: these are message counts, not money, and 2^53 messages is years away.
FeedSchedule::FeedSchedule(uint64_t rate, uint64_t burst_messages, uint32_t burst_factor,
                           uint64_t spike_messages) noexcept
    : rate_(static_cast<double>(rate)),
      burst_rate_(rate_ * static_cast<double>(burst_factor)),
      burst_seconds_(static_cast<double>(burst_messages) / burst_rate_),
      burst_messages_(burst_messages),
      spike_seconds_(static_cast<double>(spike_messages) / burst_rate_),
      spike_extra_rate_(burst_rate_ - rate_) {}

uint64_t FeedSchedule::dueAt(double seconds) const noexcept {
  double due = seconds < burst_seconds_
                   ? seconds * burst_rate_
                   : static_cast<double>(burst_messages_) + (seconds - burst_seconds_) * rate_;
  due += finished_extra_;
  if (spike_start_ && seconds > *spike_start_) {
    due += std::min(seconds - *spike_start_, spike_seconds_) * spike_extra_rate_;
  }
  return static_cast<uint64_t>(due);
}

bool FeedSchedule::startSpike(double seconds) noexcept {
  if (spike_start_) {
    if (seconds < *spike_start_ + spike_seconds_) {
      return false;  // one at a time: a second request during a spike would only stretch it
    }
    finished_extra_ += spike_seconds_ * spike_extra_rate_;
  }
  spike_start_ = seconds;
  return true;
}

} // namespace tickstream::exchange_sim
