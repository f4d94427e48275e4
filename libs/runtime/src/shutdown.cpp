#include "tickstream/runtime/shutdown.h"

#include <csignal>
#include <cstdlib>
#include <ctime>
#include <pthread.h>

#include "tickstream/runtime/logging.h"

namespace tickstream::runtime {
namespace {

sigset_t shutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

ShutdownSignal::ShutdownSignal() {
  sigset_t set = shutdownSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  watcher_ = std::thread([this] { watch(); });
}

ShutdownSignal::~ShutdownSignal() {
  stop_.store(true, std::memory_order_release);
  watcher_.join();
}

void ShutdownSignal::watch() {
  sigset_t set = shutdownSignals();
  // A short timeout lets the destructor stop this thread without sending it a signal.
  const timespec tick{0, 100'000'000};
  while (!stop_.load(std::memory_order_acquire)) {
    siginfo_t info;
    int sig = sigtimedwait(&set, &info, &tick);
    if (sig <= 0) continue;
    if (requested()) {
      logging::warn("second signal during shutdown; exiting now", {{"signal", sig}});
      std::_Exit(130);
    }
    logging::info("shutdown requested", {{"signal", sig}});
    request(sig);
  }
}

void ShutdownSignal::request(int signal) {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(mu_);
    if (requested_.exchange(true, std::memory_order_acq_rel)) return;
    signal_.store(signal, std::memory_order_release);
    callbacks.swap(callbacks_);
  }
  // Callbacks (e.g. "wake the poll loop") run before waiters wake, so wait() returning means
  // they have all run.
  for (auto& cb : callbacks) cb();
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void ShutdownSignal::onRequest(std::function<void()> callback) {
  {
    std::lock_guard lock(mu_);
    if (!requested_.load(std::memory_order_acquire)) {
      callbacks_.push_back(std::move(callback));
      return;
    }
  }
  callback();  // already requested: run now rather than never
}

void ShutdownSignal::wait() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return woken_; });
}

bool ShutdownSignal::waitFor(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return woken_; });
}

}  // namespace tickstream::runtime
