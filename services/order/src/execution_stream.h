#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <thread>

#include "tickstream/venue/v1/venue.grpc.pb.h"

// Follows the venue's execution reports (docs/order.md, "Routing to the venue"): keeps
// StreamExecutions open, resumes after the last report the service durably applied, and
// reconciles with ListOpenOrders when the venue restarted or no longer holds that point.
namespace tickstream::order {

namespace venue = tickstream::venue::v1;

struct ExecutionStreamConfig {
  // First pause before reopening a stream that broke; doubles up to reconnect_max.
  std::chrono::milliseconds reconnect_min{50};
  std::chrono::milliseconds reconnect_max{2000};
  // Random fraction of each pause, so replicas do not reconnect in step.
  double reconnect_jitter = 0.5;
  // Deadline of ListOpenOrders during a reconciliation (the list can be long).
  std::chrono::milliseconds list_deadline{5000};

  // Throws std::invalid_argument naming the field.
  void validate() const;
};

// How far the service has durably applied the venue's reports. Stored with the reports' effects
// (same transaction), so after a restart of the service the stream resumes exactly there.
struct StreamPosition {
  std::string session;             // the venue session the position belongs to; empty = none
  std::uint64_t last_applied = 0;  // exec_seq of the last applied report in that session
};

// The venue's open orders at a point of its stream, for the service to repair its state.
struct Reconciliation {
  enum class Reason {
    FirstConnect,    // no stored position: start from what the venue holds now
    SessionChanged,  // the venue restarted: its orders and exec_seq of the old session are gone
    OutOfRange,      // same session, but the venue no longer holds our resume point
  };
  Reason reason = Reason::FirstConnect;
  std::string previous_session;         // the stored position's session
  std::uint64_t previous_last_applied = 0;
  std::string session;                  // the venue's session now
  venue::ListOpenOrdersResponse open;   // open orders and the last_exec_seq they reflect
  // Our working orders that had a venue id just before ListOpenOrders was called, with that id
  // (ExecutionHandler::ackedBeforeList). The router keeps sending orders and applying replies
  // while the list, the replay and the repair run: a working order the list lacks is one the
  // venue no longer has only if it is here with the same id. Any other was acknowledged since
  // (submitted meanwhile, re-sent, or a replacement), and the stream settles it.
  std::unordered_map<std::string, std::string> acked_before_list;
  // SessionChanged only: the venue no longer held the new session's first reports, so they were
  // not applied before the repair (ExecutionStream::replaySession); what the repair settles
  // unseen is flagged as after a gap.
  bool replay_missing = false;
};

const char* reconciliationReasonName(Reconciliation::Reason reason) noexcept;

// What the service does with reports. Called on the stream's thread, one call at a time.
class ExecutionHandler {
 public:
  virtual ~ExecutionHandler() = default;
  // Applies one report durably, together with the position {session, report.exec_seq()}.
  // Reports can come again (after a reconnect, or also in a reply): deduplicate fills by
  // venue_execution_id. Return true once applied (or found applied before): the stream then
  // moves past it. false (the database is away): the stream closes and resumes from this
  // report after a pause.
  virtual bool onReport(const std::string& session, const venue::ExecutionReport& report) = 0;
  // Repairs the service's state from the venue's open orders and stores the position
  // {session, open.last_exec_seq()}; reports after that point follow on the stream. After a venue
  // restart (SessionChanged) the new session's reports up to that point have been handed to
  // onReport first, so a position of that session must not be stored before this call. Orders the
  // service holds as working that the list lacks are done at the venue (docs/order.md says how
  // each case is settled). Return false to have the whole reconciliation redone after a pause.
  virtual bool onReconcile(const Reconciliation& reconciliation) = 0;
  // The working orders that have a venue order id (order id → venue order id), once every report
  // handed over is applied; asked just before ListOpenOrders (Reconciliation::acked_before_list).
  virtual std::unordered_map<std::string, std::string> ackedBeforeList() { return {}; }
  // Called by ExecutionStream::stop() before it joins the stream's thread: a call of the thread
  // that waits for reports being applied (a database that is away) returns, and onReport returns
  // false. Without it a stop during a database outage hung in such a wait.
  virtual void interrupt() {}
};

// The stream's thread. start() once; stop() (or the destructor) cancels the open call and joins.
class ExecutionStream {
 public:
  ExecutionStream(std::shared_ptr<grpc::Channel> channel, ExecutionStreamConfig config,
                  ExecutionHandler& handler, StreamPosition start_from);
  ~ExecutionStream();
  ExecutionStream(const ExecutionStream&) = delete;
  ExecutionStream& operator=(const ExecutionStream&) = delete;

  void start();
  void stop();

  // The last durably applied position.
  StreamPosition position() const;
  // Whether a stream is open on the current session (for readiness and a gauge).
  bool live() const { return live_.load(); }
  // Counters for metrics.
  std::uint64_t reconnects() const { return reconnects_.load(); }
  std::uint64_t reconciliations() const { return reconciliations_.load(); }

 private:
  enum class Next { Reconnect, Reconcile };
  void run();
  // One stream from position_.last_applied + 1 until it ends; what to do after it.
  // `went_live`: the stream reached the current session's reports.
  Next follow(Reconciliation::Reason& reason, bool& went_live);
  bool reconcile(Reconciliation::Reason reason);
  enum class Replay { Done, Failed, Unavailable };
  // A new session's reports from its first up to the list's last_exec_seq, handed to the handler
  // before the repair (docs/order.md says why). Unavailable: the venue no longer holds its first
  // report, and the repair goes ahead without.
  Replay replaySession(const Reconciliation& r);
  // Waits `pause` or until stop(); false when stopping.
  bool pauseFor(std::chrono::milliseconds pause);
  bool stopping() const;
  // Registers the call's context so stop() can cancel it; false when stopping.
  bool attach(grpc::ClientContext* ctx);
  void detach();

  std::unique_ptr<venue::Venue::Stub> stub_;
  const ExecutionStreamConfig config_;
  ExecutionHandler& handler_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  grpc::ClientContext* active_ = nullptr;  // the call in flight, for TryCancel
  StreamPosition position_;                // guarded by mu_ (written by the thread)

  std::atomic<bool> live_{false};
  std::atomic<std::uint64_t> reconnects_{0};
  std::atomic<std::uint64_t> reconciliations_{0};
  std::thread thread_;
};

}  // namespace tickstream::order
