#include "feed_publisher.h"

#include <algorithm>
#include <span>
#include <stdexcept>

#include "tickstream/itch/codec.h"

namespace tickstream::exchange_sim {

void FeedConfig::validate() const {
  if (rate < 1 || rate > 10'000'000) {
    throw std::invalid_argument("rate must be 1..10000000 messages/s");
  }
  if (burst_factor < 1 || burst_factor > 1000) {
    throw std::invalid_argument("burst_factor must be 1..1000");
  }
  if (tick < std::chrono::microseconds(100) || tick > std::chrono::microseconds(100'000)) {
    throw std::invalid_argument("tick must be 100us..100ms");
  }
}

namespace {
FeedConfig validated(FeedConfig c) {
  c.validate();
  return c;
}
} // namespace

FeedPublisher::FeedPublisher(FeedConfig feed, const MarketConfig& market, soup::SoupServer& server)
    : config_(validated(feed)),
      sim_(market),
      server_(server),
      schedule_(config_.rate, config_.burst_messages, config_.burst_factor,
                config_.spike_messages != 0   ? config_.spike_messages
                : config_.burst_messages != 0 ? config_.burst_messages
                                              : config_.rate) {}

bool FeedPublisher::publishOne() noexcept {
  sim_.next(message_);
  const std::size_t n = itch::encode(message_, buffer_);
  if (n == 0 || server_.append(std::span<const uint8_t>(buffer_.data(), n)) == 0) {
    return false;
  }
  if (capture_ && !capture_->append(std::span<const uint8_t>(buffer_.data(), n))) {
    capture_.reset();  // the live feed goes on; the caller learns from captureFailed()
    capture_failed_.store(true, std::memory_order_relaxed);
  }
  published_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void FeedPublisher::run() {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  bool ok = true;
  for (;;) {
    const double since_start = std::chrono::duration<double>(Clock::now() - start).count();
    if (const uint64_t asked = spike_requests_.load(std::memory_order_relaxed);
        asked != spike_requests_seen_) {
      spike_requests_seen_ = asked;
      if (schedule_.startSpike(since_start)) {
        spikes_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    uint64_t due = schedule_.dueAt(since_start);
    if (config_.messages != 0) {
      due = std::min(due, config_.messages);
    }
    // Everything that has come due since the last tick goes out as one batch; the server
    // coalesces the wake-ups, so clients see it as a few large writes.
    {
      std::lock_guard market(market_mu_);
      for (uint64_t i = published(); ok && i < due; ++i) {
        ok = publishOne();
      }
      if (listener_ != nullptr) {
        listener_->onBatch();
      }
    }
    if (!ok || (config_.messages != 0 && published() >= config_.messages)) {
      break;
    }
    std::unique_lock lock(mu_);
    if (wake_.wait_until(lock, Clock::now() + config_.tick, [this] { return stop_requested_; })) {
      break;
    }
  }
  // The simulator applies a whole event to its truth at once: finish it so the truth is exactly
  // the published stream.
  {
    std::lock_guard market(market_mu_);
    while (ok && !sim_.atEventBoundary()) {
      ok = publishOne();
    }
    // Under the same lock as the last message: nothing can queue an ITCH message that would
    // never go out.
    if (listener_ != nullptr) {
      listener_->onSessionEnd();
    }
  }
  elapsed_ = Clock::now() - start;
  if (capture_ && std::fflush(capture_file_) != 0) {
    capture_failed_.store(true, std::memory_order_relaxed);
  }
  server_.endSession();
  finished_.store(true, std::memory_order_release);
}

void FeedPublisher::stop() {
  {
    std::lock_guard lock(mu_);
    stop_requested_ = true;
  }
  wake_.notify_all();
}

} // namespace tickstream::exchange_sim
