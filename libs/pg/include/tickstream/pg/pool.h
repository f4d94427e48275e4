#pragma once

#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tickstream/pg/backoff.h"
#include "tickstream/pg/config.h"

namespace tickstream::pg {

// Whether run() may execute the caller's work again after the connection was lost under it.
// Only the caller knows: an INSERT ... ON CONFLICT DO NOTHING keyed by a client id is safe to
// repeat, a bare INSERT that allocates a new order id is not.
enum class Retry {
  Idempotent,  // re-run after a lost connection or an in-doubt commit
  Never,       // run at most once; a lost connection or in-doubt commit goes to the caller
};

// acquire() found every connection leased for the whole timeout: the service is saturated (or
// leaking leases), not the database down.
class AcquireTimeout : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// True when `error` means the server connection is gone, so the statement's effect is unknown
// or nil and the connection must be replaced: pqxx::broken_connection, pqxx::in_doubt_error,
// pqxx::statement_completion_unknown, or any error after which the connection is no longer open
// (`connection_open` is conn.is_open() sampled after the error). SQL errors on a live connection
// (constraint violations, syntax, serialization failures) are not: retrying them blindly is the
// caller's decision.
bool isConnectionLoss(const std::exception_ptr& error, bool connection_open) noexcept;

// A snapshot of the pool's counters, for /metrics and tests.
struct PoolStats {
  int open = 0;                       // connections open or being opened (idle + leased)
  int idle = 0;                       // connections waiting in the pool
  std::uint64_t acquisitions = 0;     // leases handed out
  std::uint64_t waits = 0;            // acquisitions that had to wait for a returned connection
  std::uint64_t acquire_timeouts = 0; // acquisitions that gave up (AcquireTimeout)
  std::uint64_t reconnects = 0;       // connections opened after start-up to replace lost ones
  std::uint64_t connect_failures = 0; // connect attempts the server refused or did not answer
  std::uint64_t discarded = 0;        // broken connections dropped instead of reused
  std::uint64_t retries = 0;          // times run() re-executed idempotent work
};

namespace detail {

// One pooled connection and how much of the pool's statement registry it has prepared.
struct PooledConnection {
  std::unique_ptr<pqxx::connection> conn;
  std::size_t prepared = 0;  // registry entries [0, prepared) are prepared on `conn`
};

}  // namespace detail

class Pool;

// A connection borrowed from the pool; goes back on destruction. Move-only. A connection that
// broke (or was marked broken) is closed instead, and the pool opens a fresh one on demand.
class Lease {
 public:
  Lease() noexcept = default;
  Lease(Lease&& other) noexcept;
  Lease& operator=(Lease&& other) noexcept;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease();

  pqxx::connection& operator*() const noexcept { return *slot_->conn; }
  pqxx::connection* operator->() const noexcept { return slot_->conn.get(); }
  explicit operator bool() const noexcept { return slot_ != nullptr; }

  // Drop the connection on release even if libpq still thinks it is fine (e.g. its session
  // state is unknown after an error the caller could not clean up).
  void markBroken() noexcept { broken_ = true; }
  // Give the connection back now rather than at scope end.
  void release() noexcept;

 private:
  friend class Pool;
  Lease(Pool* pool, std::unique_ptr<detail::PooledConnection> slot) noexcept
      : pool_(pool), slot_(std::move(slot)) {}

  Pool* pool_ = nullptr;
  std::unique_ptr<detail::PooledConnection> slot_;
  bool broken_ = false;
};

namespace detail {

// Whether run() hands fn the connection itself; otherwise fn takes a transaction. A generic
// lambda (auto&) gets the connection.
template <class F>
inline constexpr bool kTakesConnection = std::is_invocable_v<F&, pqxx::connection&>;

// Runs fn on the connection, or in `tx` and commits it.
template <class F>
decltype(auto) invokeWork(F& fn, pqxx::connection& conn, std::optional<pqxx::work>& tx) {
  if constexpr (kTakesConnection<F>) {
    return std::invoke(fn, conn);
  } else {
    static_assert(std::is_invocable_v<F&, pqxx::work&>,
                  "Pool::run takes fn(pqxx::connection&) or fn(pqxx::work&)");
    if constexpr (std::is_void_v<std::invoke_result_t<F&, pqxx::work&>>) {
      std::invoke(fn, *tx);
      tx->commit();
    } else {
      auto result = std::invoke(fn, *tx);
      tx->commit();
      return result;
    }
  }
}

}  // namespace detail

// A fixed-size pool of PostgreSQL connections shared by a service's threads.
//
// Connections are opened eagerly in the constructor: a bad URL, password or unreachable server
// fails the service at start-up with libpq's message rather than on the first order, and the
// first requests do not pay connect + prepare latency. Connections lost later are replaced lazily, on
// the acquire() that needs one, so no background thread hammers a server that is down.
//
// Thread-safe. The pool must outlive its leases.
class Pool {
 public:
  // Validates `config` (std::invalid_argument naming the field) and opens config.size
  // connections; throws pqxx::broken_connection when the server cannot be reached.
  explicit Pool(PoolConfig config);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // A working connection with every registered statement prepared, waiting up to `timeout` for
  // one to be returned (AcquireTimeout). An idle connection whose server went away is noticed
  // here and replaced; if the replacement cannot connect, pqxx::broken_connection is thrown.
  Lease acquire(std::chrono::milliseconds timeout);
  Lease acquire() { return acquire(config_.acquire_timeout); }

  // Defines a prepared statement on every connection: now on one (so bad SQL throws
  // pqxx::sql_error here, at start-up), and on each other connection, including ones opened
  // after a reconnect, before it is next leased. Re-registering a name with the same SQL is a
  // no-op; with different SQL it throws std::invalid_argument.
  void registerPrepared(const std::string& name, const std::string& sql);

  // Runs fn(pqxx::connection&), or fn(pqxx::work&) in a transaction committed after it, on a
  // leased connection, and returns what fn returns.
  //
  // Until fn's first statement is sent (acquire, connect, BEGIN) a lost or refused connection is
  // retried whatever the policy, with jittered exponential backoff, for up to
  // config.retry_timeout. Once fn is running, a lost connection or a commit whose outcome is
  // unknown (pqxx::in_doubt_error) re-runs fn on a fresh connection only for Retry::Idempotent;
  // with Retry::Never that error reaches the caller, who must find out what happened before
  // doing anything else. Other errors (SQL errors, AcquireTimeout, fn's own) are never retried.
  template <class F>
  decltype(auto) run(F&& fn, Retry retry);

  // From now on run() does not wait for the server. A run() that meets a lost or refused
  // connection still gets one more attempt at once (so an in-doubt COMMIT is still resolved
  // while the server is up), but no pause; after a failed connect, no new connection is tried
  // (an unreachable host would cost connect_timeout per call). For shutdown: work that fails
  // then is redone by the next start, whereas waiting out retry_timeout for every queued piece
  // of work made a shutdown with the database away take minutes. Irreversible.
  void stopRetrying() noexcept { stop_retrying_.store(true); }

  PoolStats stats() const;
  const PoolConfig& config() const noexcept { return config_; }

 private:
  friend class Lease;
  struct Statement {
    std::string name;
    std::string sql;
  };
  using Clock = std::chrono::steady_clock;

  // The retry budget of one run() call.
  class RetryBudget {
   public:
    RetryBudget(const PoolConfig& config, const std::atomic<bool>& stopped);
    // Pauses before the next attempt; false when the budget is spent or the pool stopped
    // retrying (the caller rethrows).
    bool pause();

   private:
    const std::atomic<bool>& stopped_;
    bool last_try_used_ = false;  // stopped: the one immediate re-attempt was made
    Clock::time_point deadline_;
    Backoff backoff_;
  };

  std::unique_ptr<detail::PooledConnection> openConnection();
  void prepareMissing(detail::PooledConnection& slot, const std::vector<Statement>& registry);
  void giveBack(std::unique_ptr<detail::PooledConnection> slot, bool broken) noexcept;
  void noteRetry() noexcept { retries_.fetch_add(1, std::memory_order_relaxed); }

  const PoolConfig config_;
  const std::string conninfo_;

  mutable std::mutex mu_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<detail::PooledConnection>> idle_;  // LIFO: warm caches first
  int open_ = 0;                       // idle + leased + being opened; never above config_.size
  std::vector<Statement> statements_;  // append-only, so a connection tracks a prefix
  std::atomic<bool> started_{false};  // set after the eager fill; later opens are reconnects

  std::atomic<std::uint64_t> acquisitions_{0};
  std::atomic<std::uint64_t> waits_{0};
  std::atomic<std::uint64_t> acquire_timeouts_{0};
  std::atomic<std::uint64_t> reconnects_{0};
  std::atomic<std::uint64_t> connect_failures_{0};
  std::atomic<std::uint64_t> discarded_{0};
  std::atomic<std::uint64_t> retries_{0};
  std::atomic<bool> stop_retrying_{false};
  std::atomic<bool> connect_failed_{false};  // the last new connection failed to open
};

template <class F>
decltype(auto) Pool::run(F&& fn, Retry retry) {
  RetryBudget budget(config_, stop_retrying_);
  for (;;) {
    Lease lease;
    std::optional<pqxx::work> tx;  // declared after the lease: ends before it goes back
    try {
      // A saturated pool (AcquireTimeout) is not retried: waiting longer would hide overload.
      lease = acquire(config_.acquire_timeout);
      if constexpr (!detail::kTakesConnection<F>) tx.emplace(*lease);
    } catch (const pqxx::broken_connection&) {
      // None of fn's statements has been sent, so waiting for the server is safe whatever the
      // policy.
      lease.markBroken();
      lease.release();
      if (!budget.pause()) throw;
      continue;
    }
    try {
      return detail::invokeWork(fn, *lease, tx);
    } catch (...) {
      if (!isConnectionLoss(std::current_exception(), lease->is_open())) throw;
      tx.reset();
      lease.markBroken();
      lease.release();
      if (retry == Retry::Never || !budget.pause()) throw;
      noteRetry();
    }
  }
}

}  // namespace tickstream::pg
