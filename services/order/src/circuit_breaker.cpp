#include "circuit_breaker.h"

#include <stdexcept>
#include <string>

namespace tickstream::order {

const char* breakerStateName(BreakerState state) noexcept {
  switch (state) {
    case BreakerState::Closed: return "closed";
    case BreakerState::Open: return "open";
    case BreakerState::HalfOpen: return "half_open";
  }
  return "unknown";
}

void CircuitBreakerConfig::validate() const {
  auto fail = [](const std::string& m) { throw std::invalid_argument("CircuitBreakerConfig." + m); };
  if (failure_threshold < 1) {
    fail("failure_threshold must be >= 1, got " + std::to_string(failure_threshold));
  }
  if (open_duration.count() < 1) {
    fail("open_duration must be >= 1 ms, got " + std::to_string(open_duration.count()));
  }
  if (half_open_max_probes < 1) {
    fail("half_open_max_probes must be >= 1, got " + std::to_string(half_open_max_probes));
  }
  if (half_open_successes < 1) {
    fail("half_open_successes must be >= 1, got " + std::to_string(half_open_successes));
  }
}

CircuitBreaker::Clock CircuitBreaker::defaultClock() {
  return [] { return std::chrono::steady_clock::now(); };
}

CircuitBreaker::CircuitBreaker(CircuitBreakerConfig config, Clock clock, Listener listener)
    : config_(config), clock_(std::move(clock)), listener_(std::move(listener)) {
  config_.validate();
}

CircuitBreaker::Permit::Permit(Permit&& other) noexcept
    : breaker_(other.breaker_), epoch_(other.epoch_), probe_(other.probe_) {
  other.breaker_ = nullptr;
}

CircuitBreaker::Permit::~Permit() {
  if (breaker_ != nullptr) breaker_->settle(*this, Verdict::None);
}

std::optional<CircuitBreaker::Permit> CircuitBreaker::tryAcquire() {
  std::lock_guard lock(mu_);
  refresh();
  switch (state_) {
    case BreakerState::Closed: return Permit(this, epoch_, false);
    case BreakerState::Open: return std::nullopt;
    case BreakerState::HalfOpen:
      if (probes_in_flight_ >= config_.half_open_max_probes) return std::nullopt;
      ++probes_in_flight_;
      return Permit(this, epoch_, true);
  }
  return std::nullopt;
}

void CircuitBreaker::success(Permit permit) { settle(permit, Verdict::Success); }

void CircuitBreaker::failure(Permit permit) { settle(permit, Verdict::Failure); }

BreakerState CircuitBreaker::state() {
  std::lock_guard lock(mu_);
  refresh();
  return state_;
}

bool CircuitBreaker::closed() {
  std::lock_guard lock(mu_);
  return state_ == BreakerState::Closed;
}

void CircuitBreaker::settle(Permit& permit, Verdict verdict) {
  permit.breaker_ = nullptr;  // settled once, whatever happens below
  std::lock_guard lock(mu_);
  if (permit.epoch_ != epoch_) return;  // admitted before the last state change: stale
  if (permit.probe_) --probes_in_flight_;
  if (verdict == Verdict::None) return;
  switch (state_) {
    case BreakerState::Closed:
      if (verdict == Verdict::Success) {
        consecutive_failures_ = 0;
      } else if (++consecutive_failures_ >= config_.failure_threshold) {
        moveTo(BreakerState::Open);
      }
      break;
    case BreakerState::HalfOpen:
      if (verdict == Verdict::Failure) {
        moveTo(BreakerState::Open);
      } else if (++probe_successes_ >= config_.half_open_successes) {
        moveTo(BreakerState::Closed);
      }
      break;
    case BreakerState::Open:
      break;  // unreachable: an open circuit hands out no permits of its epoch
  }
}

void CircuitBreaker::refresh() {
  if (state_ == BreakerState::Open && clock_() - opened_at_ >= config_.open_duration) {
    moveTo(BreakerState::HalfOpen);
  }
}

void CircuitBreaker::moveTo(BreakerState next) {
  const BreakerState from = state_;
  state_ = next;
  ++epoch_;
  consecutive_failures_ = 0;
  probes_in_flight_ = 0;
  probe_successes_ = 0;
  if (next == BreakerState::Open) opened_at_ = clock_();
  if (listener_) listener_(from, next);
}

}  // namespace tickstream::order
