#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace tickstream::pg {

// Jittered exponential backoff between reconnect attempts. Exponential so a server that is down
// for a while is not hammered by every pooled client; jittered so replicas (and the threads of
// one replica) that lost the server at the same instant do not all come back at the same instant.
class Backoff {
 public:
  // `jitter` in [0, 1]: the fraction of each delay that is random (0 = fixed, 1 = "full jitter").
  Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max, double jitter,
          std::uint64_t seed = std::random_device{}());

  // The pause before the next attempt; each call moves one step up the curve.
  std::chrono::milliseconds next();
  // Back to the first step, after an attempt succeeded.
  void reset() noexcept { attempt_ = 0; }
  int attempts() const noexcept { return attempt_; }

  // The curve itself, pure so it can be tested: min * 2^attempt capped at max, then reduced by
  // up to `jitter` of itself according to `unit` in [0, 1).
  static std::chrono::milliseconds delay(int attempt, std::chrono::milliseconds min,
                                         std::chrono::milliseconds max, double jitter,
                                         double unit);

 private:
  std::chrono::milliseconds min_;
  std::chrono::milliseconds max_;
  double jitter_;
  int attempt_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace tickstream::pg
