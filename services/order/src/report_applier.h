#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <condition_variable>
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
  // client asked to cancel before the venue knew the order, so the cancel is sent now.
  using CancelDue = std::function<void(const v1::Order&)>;

  ReportApplier(OrderStore& store, CancelDue cancel_due) : store_(store), cancel_due_(std::move(cancel_due)) {}

  // Throws on a database error (the report must then be applied again later); every other
  // outcome (applied, duplicate, refused, an order we do not know) is done with.
  void apply(const tickstream::venue::v1::ExecutionReport& report);

  // Reports skipped because this process had applied them already.
  std::uint64_t repeatsSkipped();

 private:
  void applyOnce(const tickstream::venue::v1::ExecutionReport& report);
  void ack(const std::string& order_id, const std::string& venue_order_id);

  // Every report normally arrives twice, in the venue's reply and on the stream, often at the
  // same moment. The second would be refused by the store anyway, but only after a transaction
  // that locks the account; remembering the last kRecent execution ids skips it for free. A copy
  // that arrives while the first is being applied waits for it: skipping at once could let the
  // stream move past a report whose first application then fails. (After a restart the memory is
  // empty and the store's refusal is the guard again.)
  static constexpr std::size_t kRecent = 200'000;
  // True when this thread now owns applying `id`; false when it was applied (waits while another
  // thread is applying it).
  bool claim(const std::string& id);
  void release(const std::string& id, bool applied);
  std::mutex recent_mu_;
  std::condition_variable recent_cv_;
  std::unordered_map<std::string, bool> recent_;  // id → applied (false: in progress)
  std::deque<std::string> recent_order_;
  std::uint64_t repeats_skipped_ = 0;

  OrderStore& store_;
  CancelDue cancel_due_;
};

// The venue's NewOrder for one of our orders (ids, symbol, side, type, tif, quantity, price).
tickstream::venue::v1::NewOrderRequest toVenueNewOrder(const v1::Order& order);

}  // namespace tickstream::order
