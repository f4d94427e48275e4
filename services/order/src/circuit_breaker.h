#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>

namespace tickstream::order {

// The breaker's states; the numbers are the `order_venue_circuit_state` gauge's values.
enum class BreakerState : int { Closed = 0, Open = 1, HalfOpen = 2 };

const char* breakerStateName(BreakerState state) noexcept;

struct CircuitBreakerConfig {
  // Consecutive failed calls that open a closed circuit. Consecutive rather than a ratio in a
  // window: the venue is one dependency with modest traffic, where a ratio over a few calls is
  // noise and a window adds a parameter nobody can tune; N failures in a row with no success in
  // between is an unambiguous "the venue is not answering".
  int failure_threshold = 5;
  // How long an open circuit fails every call fast before it lets probes through.
  std::chrono::milliseconds open_duration{2000};
  // Calls admitted at the same time while half-open (the probes); others fail fast.
  int half_open_max_probes = 1;
  // Successful probes that close a half-open circuit; any failed probe opens it again.
  int half_open_successes = 1;

  // Throws std::invalid_argument naming the field.
  void validate() const;
};

// A circuit breaker for calls to the venue: closed (calls pass) → open after
// `failure_threshold` consecutive failures (calls fail fast for `open_duration`) → half-open
// (up to `half_open_max_probes` calls at once) → closed after `half_open_successes` successful
// probes, or open again on the first failed probe.
//
// A caller takes a Permit before the call and hands it back with success() or failure(). A
// Permit dropped without a verdict (the call was not made, or its result says nothing about
// the venue's health) only frees its probe slot. Results of calls admitted before the latest
// state change are ignored: a slow call that started while closed says nothing about the venue
// after the circuit opened. Thread-safe.
class CircuitBreaker {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  // Called on every state change, under the breaker's lock and in order; it must not call back
  // into the breaker (set a gauge, log).
  using Listener = std::function<void(BreakerState from, BreakerState to)>;

  class Permit {
   public:
    Permit(Permit&& other) noexcept;
    Permit& operator=(Permit&&) = delete;
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;
    ~Permit();

   private:
    friend class CircuitBreaker;
    Permit(CircuitBreaker* breaker, std::uint64_t epoch, bool probe)
        : breaker_(breaker), epoch_(epoch), probe_(probe) {}
    CircuitBreaker* breaker_;
    std::uint64_t epoch_;
    bool probe_;
  };

  explicit CircuitBreaker(CircuitBreakerConfig config, Clock clock = defaultClock(),
                          Listener listener = {});

  // A permit to call, or nothing when the call must fail fast (open, or every probe slot taken).
  std::optional<Permit> tryAcquire();
  void success(Permit permit);
  void failure(Permit permit);

  // The state now (an open circuit whose cool-down has passed reads as half-open).
  BreakerState state();
  // Whether the circuit is closed, without the time-based open → half-open step state() takes
  // (that step never closes it): a read with no side effect (no listener call), for hot paths
  // that hold locks of their own.
  bool closed();
  const CircuitBreakerConfig& config() const { return config_; }

  static Clock defaultClock();

 private:
  enum class Verdict { Success, Failure, None };
  void settle(Permit& permit, Verdict verdict);
  // Both with mu_ held.
  void refresh();
  void moveTo(BreakerState next);

  const CircuitBreakerConfig config_;
  const Clock clock_;
  const Listener listener_;
  std::mutex mu_;
  BreakerState state_ = BreakerState::Closed;
  std::uint64_t epoch_ = 0;  // bumped on every state change
  int consecutive_failures_ = 0;
  int probes_in_flight_ = 0;
  int probe_successes_ = 0;
  std::chrono::steady_clock::time_point opened_at_{};
};

}  // namespace tickstream::order
