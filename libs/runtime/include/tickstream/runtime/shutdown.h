#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tickstream::runtime {

// Turns SIGINT and SIGTERM into an orderly shutdown request.
//
// Construct it first thing in main(), before any other thread starts: it blocks both signals
// in the calling thread, every thread created afterwards inherits that mask, and a watcher
// thread receives them with sigtimedwait. So no handler runs at an arbitrary point in some
// worker thread; services simply wait() and then drain, flush and commit in their own order.
// A second signal while shutting down exits at once (status 130): the operator insists.
class ShutdownSignal {
 public:
  ShutdownSignal();
  ~ShutdownSignal();
  ShutdownSignal(const ShutdownSignal&) = delete;
  ShutdownSignal& operator=(const ShutdownSignal&) = delete;

  bool requested() const { return requested_.load(std::memory_order_acquire); }
  // The signal that asked for shutdown, or 0 when request() did.
  int signal() const { return signal_.load(std::memory_order_acquire); }

  // Returns once shutdown was requested and every onRequest() callback has run.
  void wait();
  // Returns true when shutdown was requested within `timeout`.
  bool waitFor(std::chrono::milliseconds timeout);

  // Asks for shutdown from inside the process (a fatal component error, a test).
  void request(int signal = 0);

  // Runs `callback` on the watcher thread when shutdown is requested (e.g. to wake a poll loop).
  void onRequest(std::function<void()> callback);

 private:
  void watch();

  std::atomic<bool> requested_{false};
  std::atomic<int> signal_{0};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;  // under mu_: requested and every callback has run
  std::vector<std::function<void()>> callbacks_;
  std::thread watcher_;
};

}  // namespace tickstream::runtime
