#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>
#include <thread>
#include <vector>
#include <cstdint>
#include <string>

#include "execution_stream.h"
#include "order_router.h"
#include "tickstream/pg/pool.h"

// The service's ExecutionHandler (docs/order.md, "The execution stream: resume and
// reconciliation"): applies each venue report through the router's ReportApplier, records the
// stream position in venue_stream_position, and repairs orders from the venue's open-order list
// when the stream says to reconcile.
namespace tickstream::order {

// venue_stream_position, one row per venue name.
class StreamPositionStore {
 public:
  StreamPositionStore(pg::Pool& pool, std::string venue);
  StreamPosition load();
  void save(const StreamPosition& position);

 private:
  pg::Pool& pool_;
  const std::string venue_;
};

// Reports are applied by `workers` threads, each owning the orders whose id hashes to it. A
// worker hands the oldest queued report of every order it holds to the store's lanes at once and
// waits for them all, so one order's reports apply in stream order while up to kGroup orders'
// share the lanes' transactions. onReport hands the report to its worker and returns: a worker
// that cannot reach the database retries the same report with a backoff until it can, never
// skipping it. The stored position is
// the last exec_seq below which every report is applied, so a restart re-applies whatever was
// still in a worker (each re-application a no-op).
class VenueSync final : public ExecutionHandler {
 public:
  VenueSync(pg::Pool& pool, OrderStore& store, OrderRouter& router, StreamPositionStore& positions, int workers = 8);
  ~VenueSync() override;  // stop()
  VenueSync(const VenueSync&) = delete;
  VenueSync& operator=(const VenueSync&) = delete;

  void start();
  // Ends the workers; reports not yet applied are left to the next start (the stored position
  // does not cover them). Call after the ExecutionStream has stopped.
  void stop();

  bool onReport(const std::string& session, const venue::ExecutionReport& report) override;
  bool onReconcile(const Reconciliation& reconciliation) override;
  std::unordered_map<std::string, std::string> ackedBeforeList() override;
  void interrupt() override;
  // Stores the position of what has been applied (at shutdown, after waiting up to 5 s for the
  // reports still in the workers).
  void flushPosition();

  // Orders whose venue state could not be matched with ours (fills missed in a gap, orders
  // that ended unseen): each also logged at error level for operations.
  std::uint64_t flagged() const { return flagged_.load(); }
  // Open orders the venue listed that the service does not know.
  std::uint64_t unknownAtVenue() const { return unknown_at_venue_.load(); }

 private:
  struct Worker {
    std::deque<venue::ExecutionReport> queue;
    std::condition_variable wake;
    std::thread thread;
  };
  static constexpr std::size_t kMaxQueued = 10'000;  // per worker; onReport waits beyond it
  static constexpr std::size_t kGroup = 1024;       // reports a worker hands to the lanes at once
  // The position is written at most every kSaveInterval, not per report.
  static constexpr std::chrono::milliseconds kSaveInterval{200};

  void work(Worker& w);
  // Applies one report, retrying while the database is away; false only when stopping.
  bool applyRetrying(const venue::ExecutionReport& report);
  // Blocks until every handed-over report has been applied (or stopping).
  void drain(std::unique_lock<std::mutex>& lock);
  // The exec_seq below which every handed-over report is applied. mu_ held.
  std::uint64_t appliedUpTo() const;
  void saveIfDue(bool force);
  void repair(const Reconciliation& r);

  pg::Pool& pool_;
  OrderStore& store_;
  OrderRouter& router_;
  StreamPositionStore& positions_;

  std::mutex mu_;
  std::condition_variable idle_;           // signalled when a report finishes
  std::vector<std::unique_ptr<Worker>> workers_;
  std::set<std::uint64_t> in_flight_;      // exec_seqs handed over, not yet applied
  std::string session_;                    // the session of the reports handed over
  std::string reconciled_session_;         // the stored one at start, then each reconciliation's
  std::uint64_t last_handed_ = 0;          // the highest exec_seq handed over
  StreamPosition saved_;                   // what venue_stream_position holds
  std::chrono::steady_clock::time_point last_save_{};
  bool stopping_ = false;
  bool interrupted_ = false;               // the stream is stopping (interrupt())

  std::atomic<std::uint64_t> flagged_{0};
  std::atomic<std::uint64_t> unknown_at_venue_{0};
};

}  // namespace tickstream::order
