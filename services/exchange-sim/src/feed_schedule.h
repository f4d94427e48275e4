#pragma once

#include <cstdint>
#include <optional>

// How many messages a live feed should have sent a given time after its start: the steady
// rate, the opening burst (a market-open spike), and spikes started on demand later in the day
// (news, an index rebalance). A pure function of time and the spikes started, so the pacing is
// testable without a clock.
namespace tickstream::exchange_sim {

class FeedSchedule {
public:
  // `burst_messages` go out at `burst_factor` x `rate` right after the start; each later spike
  // sends `spike_messages` at that same speed, on top of nothing else (the rate resumes after).
  FeedSchedule(uint64_t rate, uint64_t burst_messages, uint32_t burst_factor,
               uint64_t spike_messages) noexcept;

  // Messages due `seconds` after the start.
  [[nodiscard]] uint64_t dueAt(double seconds) const noexcept;
  // Starts a spike at `seconds`; false (and nothing changes) while an earlier one still runs.
  bool startSpike(double seconds) noexcept;
  // How long one spike lasts, in seconds.
  [[nodiscard]] double spikeSeconds() const noexcept { return spike_seconds_; }

private:
  double rate_;
  double burst_rate_;
  double burst_seconds_;
  uint64_t burst_messages_;
  double spike_seconds_;
  double spike_extra_rate_;   // messages/s a spike adds to the steady rate
  double finished_extra_ = 0; // what the spikes that have ended added
  std::optional<double> spike_start_;
};

} // namespace tickstream::exchange_sim
