#include "order_router.h"

#include <stdexcept>

#include "order_rows.h"
#include "tickstream/runtime/clock.h"
#include "tickstream/runtime/logging.h"

namespace tickstream::order {

namespace vv1 = tickstream::venue::v1;

void OrderRouterConfig::validate() const {
  if (threads < 1 || threads > 256) throw std::invalid_argument("OrderRouterConfig.threads must be 1..256");
  if (max_queued < 1) throw std::invalid_argument("OrderRouterConfig.max_queued must be >= 1");
  if (new_order_batch < 1 || new_order_batch > 1000) {
    throw std::invalid_argument("OrderRouterConfig.new_order_batch must be 1..1000");
  }
}

OrderRouter::OrderRouter(OrderStore& store, VenueClient& venue, OrderRouterConfig config, RouterHooks hooks)
    : store_(store), venue_(venue), config_(config), hooks_(std::move(hooks)),
      applier_(store, [this](const v1::Order& order) {
        // From the stream's thread: the venue call must not hold up the reports behind it. Sent
        // as a re-send: the client was answered PENDING_CANCEL long ago, so a venue out of reach
        // leaves it so for the next re-send instead of taking the cancel back (cancel_reject).
        queueCancel(order, true);
      }, [this](const std::string& reason) { rejected(reason); }) {
  config_.validate();
}

OrderRouter::~OrderRouter() { stop(); }

void OrderRouter::start() {
  for (int i = 0; i < config_.threads; ++i) workers_.emplace_back([this] { worker(); });
}

void OrderRouter::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    queue_.clear();
    new_orders_.clear();
    routing_.clear();
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  // Acks queued from replies complete on the store's lanes and call into the applier and this
  // router (a cancel due): they must all be done before either goes away.
  applier_.waitIdle();
}

std::size_t newOrderBatchSize(bool circuit_closed, int configured_batch) noexcept {
  return circuit_closed ? static_cast<std::size_t>(configured_batch) : 1;
}

void OrderRouter::worker() {
  std::vector<NewOrder> batch;
  for (;;) {
    std::function<void()> task;
    batch.clear();
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || !new_orders_.empty(); });
      if (stopping_) return;
      if (!queue_.empty()) {
        task = std::move(queue_.front());
        queue_.pop_front();
      } else {
        const auto n = std::min(new_orders_.size(),
                                newOrderBatchSize(venue_.circuitClosed(), config_.new_order_batch));
        for (std::size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(new_orders_.front()));
          new_orders_.pop_front();
        }
      }
    }
    try {
      if (task) {
        task();
      } else {
        sendNew(batch);
      }
    } catch (const std::exception& e) {
      // The database is away: the order keeps its status, and the stream or the next
      // resendAccepted() settles it.
      logging::warn("routing step failed", {{"error", e.what()}});
    }
    if (!batch.empty()) {
      std::lock_guard lock(mu_);
      for (const auto& n : batch) routing_.erase(n.order.order_id());
    }
  }
}

void OrderRouter::route(v1::Order order, bool first_send) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    if (queue_.size() + new_orders_.size() >= config_.max_queued) {
      if (hooks_.dropped) hooks_.dropped();
      return;  // stays ACCEPTED; resendAccepted() sends it
    }
    if (!routing_.insert(order.order_id()).second) return;  // already on its way
    if (order.replaces_order_id().empty()) {
      new_orders_.push_back({std::move(order), first_send});
    } else {
      queue_.push_back([this, order = std::move(order), first_send] {
        const RoutingDone done{*this, order.order_id()};
        const auto original = store_.getOrder(order.replaces_order_id());
        if (original) sendReplace(order, *original, first_send);
      });
    }
  }
  cv_.notify_one();
}

OrderRouter::RoutingDone::~RoutingDone() {
  std::lock_guard lock(router.mu_);
  router.routing_.erase(key);
}

void OrderRouter::queueCancel(const v1::Order& order, bool resend) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;  // the order stays PENDING_CANCEL with its venue id: the next start sends it
    const std::string key = "cancel:" + order.order_id();
    if (!routing_.insert(key).second) return;  // already on its way
    queue_.push_back([this, order, resend, key] {
      const RoutingDone done{*this, key};
      sendCancel(order, resend);
    });
  }
  cv_.notify_one();
}

std::size_t OrderRouter::resendAccepted(pg::Pool& pool, std::chrono::milliseconds min_age) {
  const auto before_ns =
      runtime::wallClockNs() - std::chrono::duration_cast<std::chrono::nanoseconds>(min_age).count();
  const auto orders = pool.run(
      [&](pqxx::work& tx) {
        std::vector<v1::Order> out;
        // ACCEPTED and PENDING_CANCEL are working statuses: `working` lets the partial index
        // orders_working find them, instead of a pass over every order ever stored.
        for (const auto& row : tx.exec_params(std::string("SELECT ") + rows::kOrderColumns +
                                                  " FROM orders WHERE working "
                                                  "AND (status = 2 OR status = 6) "
                                                  "AND updated_ts_ns < $1 "
                                                  "ORDER BY created_ts_ns LIMIT 10000",
                                              before_ns)) {
          out.push_back(rows::rowToOrder(row));
        }
        return out;
      },
      pg::Retry::Idempotent);
  for (const auto& o : orders) {
    // A PENDING_CANCEL order the venue acknowledged: its cancel was due after the ack (queued in
    // memory only, lost by a restart or a stop) or its outcome was unknown. Sent again.
    if (o.status() == v1::ORDER_STATUS_PENDING_CANCEL && !o.venue_order_id().empty()) {
      queueCancel(o, true);
    } else {
      route(o, false);
    }
  }
  return orders.size();
}

void OrderRouter::sendNew(const std::vector<NewOrder>& batch) {
  vv1::NewOrdersRequest request;
  for (const auto& n : batch) *request.add_orders() = toVenueNewOrder(n.order);
  const auto result = venue_.newOrders(request);
  if (result.outcome != VenueOutcome::Answered) {
    for (const auto& n : batch) settleNew(n, result.outcome, result.status, result.circuit_open, nullptr);
    return;
  }
  const auto& results = result.response.results();
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (i >= static_cast<std::size_t>(results.size())) {
      // A venue that answered fewer results than orders: those may or may not have entered.
      settleNew(batch[i], VenueOutcome::Unknown, {grpc::StatusCode::INTERNAL, "no result for the order"}, false,
                nullptr);
      continue;
    }
    const auto& r = results[static_cast<int>(i)];
    if (r.code() == grpc::StatusCode::OK) {
      settleNew(batch[i], VenueOutcome::Answered, grpc::Status::OK, false, &r.response().report());
    } else {
      settleNew(batch[i], VenueOutcome::Refused, {static_cast<grpc::StatusCode>(r.code()), r.message()}, false,
                nullptr);
    }
  }
}

void OrderRouter::settleNew(const NewOrder& n, VenueOutcome outcome, const grpc::Status& status, bool circuit_open,
                            const vv1::ExecutionReport* report) {
  const auto& order = n.order;
  if (hooks_.routed) hooks_.routed(outcome);
  switch (outcome) {
    case VenueOutcome::Answered:
      // Not waited for: this thread goes on to the next orders while the lanes commit. The same
      // report comes on the execution stream, which waits for this copy (or applies it if this
      // one fails) before its position moves past it.
      applier_.applyAsync(*report, [order_id = order.order_id()](std::exception_ptr error) {
        if (!error) return;
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          logging::warn("venue ack not applied from the reply; the stream applies it",
                        {{"order_id", order_id}, {"error", e.what()}});
        }
      });
      break;
    case VenueOutcome::NotSent: {
      if (!n.first_send) break;  // an earlier attempt may be at the venue: try again later
      TransitionDetails details;
      details.rejection = {v1::REJECT_REASON_VENUE_UNAVAILABLE,
                           circuit_open ? "venue unavailable (circuit open)"
                                        : "venue unavailable: " + status.error_message()};
      if (store_.applyTransition(order.order_id(), Trigger::VenueReject, details).outcome == ChangeOutcome::Applied) {
        rejected("venue_unavailable");
      }
      break;
    }
    case VenueOutcome::Refused:
      // ALREADY_EXISTS / INVALID_ARGUMENT: the request contradicts one the venue has, which is a
      // bug here; the order stays ACCEPTED for reconciliation and an operator.
      logging::error("venue refused a new order", {{"order_id", order.order_id()},
                                                    {"code", static_cast<int>(status.error_code())},
                                                    {"error", status.error_message()}});
      break;
    case VenueOutcome::Unknown:
      // May be at the venue: its report on the stream decides; reconciliation sends it again.
      logging::warn("new order outcome unknown", {{"order_id", order.order_id()},
                                                  {"error", status.error_message()}});
      break;
  }
}

void OrderRouter::sendReplace(const v1::Order& replacement, const v1::Order& original, bool first_send) {
  vv1::ReplaceOrderRequest request;
  request.set_orig_order_id(original.order_id());
  request.set_venue_order_id(original.venue_order_id());
  request.set_order_id(replacement.order_id());
  request.set_quantity(replacement.quantity());
  request.set_limit_price(replacement.limit_price());
  const auto result = venue_.replaceOrder(request);
  if (hooks_.routed) hooks_.routed(result.outcome);
  if (result.outcome == VenueOutcome::Answered) {
    applier_.apply(result.response.report());
    return;
  }
  if (result.outcome == VenueOutcome::Unknown || (result.outcome == VenueOutcome::NotSent && !first_send)) {
    logging::warn("replace outcome unknown", {{"order_id", replacement.order_id()},
                                              {"error", result.status.error_message()}});
    return;
  }
  // Refused or never sent: the original works on unchanged, the replacement is rejected.
  TransitionDetails details;
  details.rejection = result.outcome == VenueOutcome::NotSent
                          ? Rejection{v1::REJECT_REASON_VENUE_UNAVAILABLE, "venue unavailable"}
                          : Rejection{v1::REJECT_REASON_VENUE_REJECTED, result.status.error_message()};
  if (store_.applyTransition(replacement.order_id(), Trigger::VenueReject, details).outcome == ChangeOutcome::Applied) {
    rejected(result.outcome == VenueOutcome::NotSent ? "venue_unavailable" : "venue_rejected");
  }
  store_.applyTransition(original.order_id(), Trigger::ReplaceReject, replacedBy(replacement.order_id()));
}

grpc::Status OrderRouter::sendCancel(const v1::Order& order, bool resend) {
  vv1::CancelOrderRequest request;
  request.set_order_id(order.order_id());
  request.set_venue_order_id(order.venue_order_id());
  const auto result = venue_.cancelOrder(request);
  if (hooks_.routed) hooks_.routed(result.outcome);
  switch (result.outcome) {
    case VenueOutcome::Answered: {
      // The venue's executions before the cancel come on the stream, which may not have applied
      // them yet: CANCELED now would refuse them (a canceled order takes no fill). The stream
      // brings the CANCELED report after them; until then the order stays PENDING_CANCEL.
      const auto& report = result.response.report();
      if (report.exec_type() == vv1::EXEC_TYPE_CANCELED) {
        const auto now = store_.getOrder(order.order_id());
        if (now && report.cumulative_quantity() > now->filled_quantity()) return grpc::Status::OK;
      }
      applier_.apply(report);
      return grpc::Status::OK;
    }
    case VenueOutcome::Refused:
      // A cancel sent again: the first may have worked; the stream's report decides.
      if (resend) {
        if (result.status.error_code() != grpc::StatusCode::FAILED_PRECONDITION) {
          logging::warn("venue refused a cancel sent again", {{"order_id", order.order_id()},
                                                               {"error", result.status.error_message()}});
        }
        return grpc::Status::OK;
      }
      if (result.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
        // Too late: filled or done at the venue. The fills arrive on the stream.
        store_.applyTransition(order.order_id(), Trigger::CancelReject);
      } else {
        logging::error("venue refused a cancel", {{"order_id", order.order_id()},
                                                  {"error", result.status.error_message()}});
      }
      return grpc::Status::OK;
    case VenueOutcome::NotSent:
      if (resend) return grpc::Status::OK;  // still PENDING_CANCEL: the next re-send tries again
      store_.applyTransition(order.order_id(), Trigger::CancelReject);
      return {grpc::StatusCode::UNAVAILABLE, "venue unavailable: the cancel was not sent and the order is still working"};
    case VenueOutcome::Unknown:
      break;  // PENDING_CANCEL until the stream's report (or reconciliation) settles it
  }
  return grpc::Status::OK;
}

void OrderRouter::refresh(v1::Order& order) {
  if (auto now = store_.getOrder(order.order_id())) order = std::move(*now);
}

v1::Order OrderRouter::cancel(const v1::Order& order, grpc::Status& status) {
  status = grpc::Status::OK;
  auto requested = store_.applyTransition(order.order_id(), Trigger::CancelRequest);
  if (requested.outcome == ChangeOutcome::NotFound) {
    status = {grpc::StatusCode::NOT_FOUND, "no order " + order.order_id()};
    return order;
  }
  if (requested.outcome != ChangeOutcome::Applied) {
    status = {grpc::StatusCode::FAILED_PRECONDITION,
              "order is " + v1::OrderStatus_Name(requested.order.status()) + ": it cannot be canceled now"};
    return requested.order;
  }
  v1::Order result = std::move(requested.order);
  // NEW → CANCELED at once; ACCEPTED without a venue id: the cancel goes when the ack comes.
  if (result.status() != v1::ORDER_STATUS_PENDING_CANCEL || result.venue_order_id().empty()) return result;
  status = sendCancel(result);
  refresh(result);
  return result;
}

void OrderRouter::replace(v1::Order& original, v1::Order& replacement) {
  sendReplace(replacement, original, true);
  refresh(original);
  refresh(replacement);
}

}  // namespace tickstream::order
