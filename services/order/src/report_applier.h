#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <exception>
#include <optional>
#include <utility>
#include <vector>
#include <unordered_map>

#include "order_store.h"
#include "tickstream/venue/v1/venue.pb.h"

// Turns one venue ExecutionReport into the store's transitions and fills (docs/order.md, "State
// machine": how ExecType maps to triggers). The same report may come twice (in a reply and on the
// stream, or again after a reconnect); applying it again changes nothing: a fill is stored once
// per venue_execution_id, and a repeated transition is refused by the state machine.
namespace tickstream::order {

class ReportApplier {
 public:
  // Called with an order that is PENDING_CANCEL and has just been acknowledged by the venue: the
  // client asked to cancel before the venue knew the order, so the cancel is sent now. Runs on a
  // writer lane's thread: it must only queue the work.
  using CancelDue = std::function<void(const v1::Order&)>;
  // Called once per applyAsync(): nullptr once the report is applied (or found applied before,
  // or there was nothing to do); else the database error that left it unapplied.
  using Done = std::function<void(std::exception_ptr error)>;

  // Called with "venue_rejected" when a report made an order REJECTED (for the metrics). Runs
  // on a writer lane's thread: it must not block.
  using Rejected = std::function<void(const std::string& reason)>;

  ReportApplier(OrderStore& store, CancelDue cancel_due, Rejected rejected = {})
      : store_(store), cancel_due_(std::move(cancel_due)), rejected_(std::move(rejected)) {}

  // Applies the report through the store's lanes without waiting; `done` runs on a lane's thread
  // (or this one) and must not block. Every other outcome than a database error (applied,
  // duplicate, refused, an order we do not know) counts as applied.
  void applyAsync(const tickstream::venue::v1::ExecutionReport& report, Done done);
  // applyAsync and wait: throws the database error.
  void apply(const tickstream::venue::v1::ExecutionReport& report);

  // Reports skipped because this process had applied them already.
  std::uint64_t repeatsSkipped();

  // Blocks until every applyAsync() so far has called its `done` (their completions run on the
  // store's lanes and use this object): before the applier's owner goes away.
  void waitIdle();

 private:
  // The store calls of one report, chained where a step depends on the one before.
  void applyOnce(const tickstream::venue::v1::ExecutionReport& report, Done done);
  void ack(const std::string& order_id, const std::string& venue_order_id, Done done,
           std::optional<TransitionDetails::Fills> inherited_fills = std::nullopt);
  void finished(const std::string& id, std::exception_ptr error);
  // A fill refused by `original` (REPLACED): the replacement's ack with the original's fills, then the fill.
  void redirectFill(FillReport fill, const v1::Order& original, Done done);

  // Every report normally arrives twice, in the venue's reply and on the stream, often at the
  // same moment. The second would be refused by the store anyway, but only after a transaction
  // that locks the account; remembering the last kRecent execution ids skips it for free. A copy
  // that arrives while the first is being applied waits for it (its `done` is held, nothing
  // blocks): skipping at once could let the stream move past a report whose first application
  // then fails, and if it does fail the waiting copy applies itself. (After a restart the memory
  // is empty and the store's refusal is the guard again.)
  static constexpr std::size_t kRecent = 200'000;
  struct InProgress {
    std::vector<std::pair<tickstream::venue::v1::ExecutionReport, Done>> waiting;  // later copies
  };
  std::mutex recent_mu_;
  std::unordered_map<std::string, std::optional<InProgress>> recent_;  // id → in progress, or applied (nullopt)
  std::deque<std::string> recent_order_;  // applied ids, oldest first
  std::uint64_t repeats_skipped_ = 0;
  std::size_t outstanding_ = 0;  // applyAsync calls whose done has not returned; under recent_mu_
  std::condition_variable idle_;

  OrderStore& store_;
  CancelDue cancel_due_;
  Rejected rejected_;
};

// The venue's NewOrder for one of our orders (ids, symbol, side, type, tif, quantity, price).
tickstream::venue::v1::NewOrderRequest toVenueNewOrder(const v1::Order& order);

}  // namespace tickstream::order
