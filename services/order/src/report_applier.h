#pragma once

#include <functional>

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

 private:
  void ack(const std::string& order_id, const std::string& venue_order_id);

  OrderStore& store_;
  CancelDue cancel_due_;
};

// The venue's NewOrder for one of our orders (ids, symbol, side, type, tif, quantity, price).
tickstream::venue::v1::NewOrderRequest toVenueNewOrder(const v1::Order& order);

}  // namespace tickstream::order
