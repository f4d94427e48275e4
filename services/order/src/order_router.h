#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "order_store.h"
#include "report_applier.h"
#include "venue_client.h"

// Sends the service's orders to the venue and applies its answers (docs/order.md, "Routing to
// the venue"). New orders are routed after SubmitOrder has replied (the reply waits only for
// PostgreSQL), by a few worker threads; cancels and replaces are sent while the client waits,
// since the answer decides what the call returns.
namespace tickstream::order {

struct OrderRouterConfig {
  // Threads sending NewOrders (each blocks on one venue call at a time).
  int threads = 8;
  // Most new orders one venue call carries (Venue.NewOrders): a thread takes every new order
  // queued, up to this many, so under load one round trip enters many (the venue's limit is 1000).
  int new_order_batch = 256;
  // NewOrders waiting to be sent; beyond it an order stays ACCEPTED and is sent by the next
  // resendAccepted() (at start-up or reconciliation), rather than growing memory without bound.
  std::size_t max_queued = 100'000;

  void validate() const;  // throws std::invalid_argument naming the field
};

// How many new orders the next NewOrders call may carry. The configured batch while the venue's
// circuit is closed; one while it is not: the call that finds the circuit half-open is its
// probe, and a probe to a venue that is still failing leaves its orders in doubt (Unknown,
// settled later by the stream or a resend), so it should put one order at risk, not hundreds.
std::size_t newOrderBatchSize(bool circuit_closed, int configured_batch) noexcept;

// Counters the service exports; called on router threads.
struct RouterHooks {
  std::function<void(VenueOutcome)> routed;  // each NewOrder/Replace/Cancel's outcome
  std::function<void()> dropped;             // a NewOrder not queued (queue full)
  // An order that ended REJECTED after its submit was answered: "venue_unavailable" (not sent)
  // or "venue_rejected" (the venue refused it).
  // Called on a router worker or a writer lane: it must not block.
  std::function<void(const std::string& reason)> rejected;
};

class OrderRouter {
 public:
  OrderRouter(OrderStore& store, VenueClient& venue, OrderRouterConfig config, RouterHooks hooks = {});
  ~OrderRouter();  // stop()
  OrderRouter(const OrderRouter&) = delete;
  OrderRouter& operator=(const OrderRouter&) = delete;

  void start();
  // Ends the workers after the venue call each is in; queued orders stay ACCEPTED in the
  // database and are sent again by the next start's resendAccepted().
  void stop();

  // Queues an ACCEPTED order (or a replacement whose ReplaceOrder is due again) for the venue.
  // `first_send`: no earlier attempt can have reached the venue, so a request that provably was
  // not sent rejects the order (venue unavailable). A re-send leaves it ACCEPTED instead: an
  // earlier attempt may be at the venue, and rejecting an order the venue may fill would lose
  // the fills.
  void route(v1::Order order, bool first_send = true);
  // Queues every order that has been ACCEPTED for at least `min_age` (or PENDING_CANCEL before the
  // venue acknowledged it): after a restart their NewOrder may never have been sent, and an
  // attempt whose outcome was unknown (the venue stalled) is settled by sending it again. Safe to
  // repeat: the venue answers a repeated order id with its first answer. A PENDING_CANCEL order
  // the venue did acknowledge gets its cancel again (queueCancel): the cancel due after the ack
  // lives in memory only, and a restart or a stop loses it.
  std::size_t resendAccepted(pg::Pool& pool, std::chrono::milliseconds min_age);

  // A client's cancel of `order` (its account already checked): the store's cancel_request,
  // then the venue's CancelOrder when the venue knows the order. Returns the order as it stands
  // after the call; `status` is UNAVAILABLE when the venue could not be reached (the order is
  // then back to working) and OK otherwise.
  v1::Order cancel(const v1::Order& order, grpc::Status& status);

  // After the store recorded a replace (original PENDING_REPLACE, replacement ACCEPTED): sends
  // ReplaceOrder and applies the answer. Both orders as they stand after it.
  void replace(v1::Order& original, v1::Order& replacement);

  // Applies a venue report (from a reply here or from the execution stream).
  ReportApplier& applier() { return applier_; }
  // Counts an order that ended REJECTED after its submit was answered (RouterHooks::rejected);
  // reconciliation calls it too. Must not block.
  void rejected(const std::string& reason) {
    if (hooks_.rejected) hooks_.rejected(reason);
  }

 private:
  struct NewOrder {
    v1::Order order;
    bool first_send = true;
  };
  void worker();
  // Enters new orders at the venue in one call, then settles each as its outcome says.
  void sendNew(const std::vector<NewOrder>& batch);
  // What becomes of one new order after the venue call; `report` when the venue answered it.
  void settleNew(const NewOrder& n, VenueOutcome outcome, const grpc::Status& status, bool circuit_open,
                 const tickstream::venue::v1::ExecutionReport* report);
  void sendReplace(const v1::Order& replacement, const v1::Order& original, bool first_send);
  // Sends the cancel of an order the venue has acknowledged; applies cancel_ack/cancel_reject.
  // `resend`: sent again (an earlier cancel may have worked), so a refusal or no connection
  // leaves it PENDING_CANCEL for the stream or the next re-send.
  grpc::Status sendCancel(const v1::Order& order, bool resend = false);
  // Queues sendCancel on a worker, once per order at a time.
  void queueCancel(const v1::Order& order, bool resend);
  // Ends a queued task's entry in routing_ when the task ends, however it ends.
  struct RoutingDone {
    OrderRouter& router;
    const std::string& key;
    ~RoutingDone();
  };
  void refresh(v1::Order& order);

  OrderStore& store_;
  VenueClient& venue_;
  const OrderRouterConfig config_;
  RouterHooks hooks_;
  ReportApplier applier_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // replaces, and cancels due after an ack
  std::deque<NewOrder> new_orders_;           // sent in batches
  // Orders queued or being sent: a re-send of an order still on its way is skipped (under a
  // backlog the periodic re-send would otherwise queue every waiting order again and again).
  std::unordered_set<std::string> routing_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace tickstream::order
