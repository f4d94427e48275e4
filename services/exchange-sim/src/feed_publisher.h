#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <optional>

#include "feed_schedule.h"
#include "market.h"
#include "tickstream/itch/capture.h"
#include "tickstream/soup/server.h"

// The live venue: runs the MarketSimulator at a configured message rate and appends each
// message, ITCH-encoded, to a SoupBinTCP session, the way a real exchange's feed would serve it.
// docs/exchange-sim.md ("Live mode") describes what a client sees.
namespace tickstream::exchange_sim {

struct FeedConfig {
  uint64_t rate = 100'000;      // messages per second on the wire; 1..10'000'000
  uint64_t messages = 0;        // stop after this many (plus the rest of the event in flight);
                                // 0 = until stop()
  uint64_t burst_messages = 0;  // messages sent at burst_factor x rate right after the start
                                // (a market-open spike); 0 = none
  uint32_t burst_factor = 10;   // how much faster the opening spike (and any later one) is; 1..1000
  uint64_t spike_messages = 0;  // messages in a spike started by spike(), at burst_factor x rate;
                                // 0 = as many as burst_messages, or one second's worth if that is 0
  std::chrono::microseconds tick{1000}; // pacing period: each tick sends every message that has
                                        // come due, so there is no per-message sleep; 100us..100ms

  // Throws std::invalid_argument naming the first bad field.
  void validate() const;
};

// Something that trades against the simulated market while the feed runs (the venue). Its calls
// come on the feed's thread with FeedPublisher::marketMutex() held.
class MarketListener {
public:
  virtual ~MarketListener() = default;
  // After each batch of messages: the simulated flow may have crossed resting outside orders.
  virtual void onBatch() noexcept = 0;
  // The session has ended (the trading day is over): nothing queued now would be published.
  virtual void onSessionEnd() noexcept = 0;
};

class FeedPublisher {
public:
  // `server` must outlive the publisher; it may already be started (clients can log in before
  // the first message) or be started later. Throws std::invalid_argument (bad config).
  FeedPublisher(FeedConfig feed, const MarketConfig& market, soup::SoupServer& server);

  // Publishes until `messages` are out or stop() is called, finishing the event in flight so the
  // truth matches the stream, then ends the session: clients get the rest and End of Session.
  // Blocks; run it on a thread of its own. Call once.
  void run();
  // Asks run() to finish; wakes it at once. Any thread.
  void stop();
  // Asks run() for a spike (spike_messages at burst_factor x rate) from its next tick; ignored
  // while one is running. Any thread. Returns at once.
  void spike() noexcept { spike_requests_.fetch_add(1, std::memory_order_relaxed); }
  // Spikes run() has started (the opening burst not counted); any thread.
  [[nodiscard]] uint64_t spikes() const noexcept { return spikes_.load(std::memory_order_relaxed); }
  // Before run(): `listener` (which must outlive run()) hears about each batch and the end.
  void setListener(MarketListener* listener) noexcept { listener_ = listener; }
  // Before run(): every message appended to the session is also written to `out` as a capture
  // record (itch::CaptureWriter: 2-byte length, the ITCH bytes), in session order, venue
  // executions included, so the file is the very stream clients got. run() flushes it at the
  // end; the caller closes it. A failed write stops the capture, not the feed: see
  // captureFailed().
  void setCapture(std::FILE* out) noexcept {
    capture_.emplace(out);
    capture_file_ = out;
  }
  // True once a capture write or the final flush failed; any thread.
  [[nodiscard]] bool captureFailed() const noexcept {
    return capture_failed_.load(std::memory_order_relaxed);
  }

  // The market lock. run() holds it while it generates and sends a batch (not per message:
  // an uncontended lock per batch costs nothing at any rate), so another thread may trade
  // against market() between batches while holding it.
  [[nodiscard]] std::mutex& marketMutex() noexcept { return market_mu_; }
  // The simulator, for a thread holding marketMutex() while run() is live.
  [[nodiscard]] MarketSimulator& market() noexcept { return sim_; }

  // Messages appended so far; any thread.
  [[nodiscard]] uint64_t published() const noexcept {
    return published_.load(std::memory_order_relaxed);
  }
  // True once run() has ended the session; any thread.
  [[nodiscard]] bool finished() const noexcept { return finished_.load(std::memory_order_acquire); }
  // The simulator, whose truth() is the books the published stream implies. Read it only after
  // run() has returned (run() mutates it on its own thread).
  [[nodiscard]] const MarketSimulator& simulator() const noexcept { return sim_; }
  // Wall time run() spent publishing, once it has returned.
  [[nodiscard]] std::chrono::nanoseconds elapsed() const noexcept { return elapsed_; }

private:
  // Appends the next message of the simulator; false if the server refused it.
  bool publishOne() noexcept;

  FeedConfig config_;
  MarketSimulator sim_;
  soup::SoupServer& server_;
  itch::Message message_;
  std::array<uint8_t, itch::kMaxMessageLength> buffer_{}; // reused for every message

  FeedSchedule schedule_;                // run()'s thread only
  std::optional<itch::CaptureWriter> capture_;  // run()'s thread once it runs
  std::FILE* capture_file_ = nullptr;
  std::atomic<bool> capture_failed_{false};
  std::atomic<uint64_t> spike_requests_{0};
  uint64_t spike_requests_seen_ = 0;     // run()'s thread only
  std::atomic<uint64_t> spikes_{0};
  std::atomic<uint64_t> published_{0};
  std::atomic<bool> finished_{false};
  std::chrono::nanoseconds elapsed_{0};

  std::mutex market_mu_;               // guards sim_ while run() is live
  MarketListener* listener_ = nullptr; // called with market_mu_ held

  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_requested_ = false; // under mu_
};

} // namespace tickstream::exchange_sim
