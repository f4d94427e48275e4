#include "order_service.h"

#include <pqxx/except>

#include <chrono>

#include "tickstream/runtime/logging.h"

namespace tickstream::order {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::int64_t steadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// Runs one call's body and turns what it throws into the documented status, so no exception
// reaches gRPC (which would answer UNKNOWN).
template <class Fn>
grpc::Status guarded(const char* method, Fn&& fn) {
  try {
    return fn();
  } catch (const Overloaded& e) {
    return {grpc::StatusCode::RESOURCE_EXHAUSTED, std::string("order service overloaded: ") + e.what()};
  } catch (const BadPageToken& e) {
    return {grpc::StatusCode::INVALID_ARGUMENT, std::string("page_token: ") + e.what()};
  } catch (const pg::AcquireTimeout& e) {
    return {grpc::StatusCode::UNAVAILABLE, "database unavailable, retry later"};
  } catch (const pqxx::in_doubt_error& e) {
    // The commit's fate is unknown: a retry of a submit with the same client_order_id settles it.
    return {grpc::StatusCode::UNAVAILABLE, "database connection lost at commit: retry with the same client_order_id"};
  } catch (const pqxx::broken_connection& e) {
    return {grpc::StatusCode::UNAVAILABLE, "database unavailable, retry later"};
  } catch (const std::exception& e) {
    logging::error("order call failed", {{"method", method}, {"error", e.what()}});
    return {grpc::StatusCode::INTERNAL, "internal error"};
  }
}

}  // namespace

grpc::Status OrderServiceImpl::admit(const grpc::ServerContextBase* ctx, const std::string& account) {
  Principal principal;
  if (auto s = d_.auth.authenticate(*ctx, principal); !s.ok()) return s;
  if (account.empty()) return {grpc::StatusCode::INVALID_ARGUMENT, "account: required"};
  return OrderAuth::authorize(principal, account);
}

grpc::Status OrderServiceImpl::ownOrder(const std::string& account, const std::string& order_id, v1::Order& out) {
  if (order_id.empty()) return {grpc::StatusCode::INVALID_ARGUMENT, "order_id: required"};
  auto order = d_.store.getOrder(order_id);
  if (!order || order->account() != account) {
    return {grpc::StatusCode::NOT_FOUND, "order_id: no order " + order_id + " for account " + account};
  }
  out = std::move(*order);
  return grpc::Status::OK;
}

RiskDecider OrderServiceImpl::decider(const OrderIntent& intent, std::string& rule) {
  return [this, &intent, &rule](const RiskInputs& in) -> std::optional<Rejection> {
    if (d_.symbols.halted(intent.symbol)) {
      rule = "symbol_halted";
      return Rejection{v1::REJECT_REASON_SYMBOL_HALTED, std::string(intent.symbol) + " is halted"};
    }
    const auto refused = d_.risk.check(intent, in.limits ? &*in.limits : nullptr, in.exposure, steadyNs());
    if (!refused) return std::nullopt;
    rule = std::string(riskRuleName(refused->rule));
    return Rejection{refused->reason, refused->text};
  };
}

// One SubmitOrder in flight, from the call until its reactor finishes; the store's completion
// holds it, so the risk decider and the metrics' rule outlive the handler.
struct OrderServiceImpl::SubmitCall {
  SubmitCall(grpc::CallbackServerContext* c, const v1::SubmitOrderRequest* rq, v1::SubmitOrderResponse* rs)
      : ctx(c), req(rq), res(rs), reactor(c->DefaultReactor()) {}

  grpc::CallbackServerContext* ctx;
  const v1::SubmitOrderRequest* req;  // gRPC's, valid until Finish
  v1::SubmitOrderResponse* res;
  grpc::ServerUnaryReactor* reactor;
  Clock::time_point start = Clock::now();
  std::optional<OrderIntent> intent;
  std::string rule;  // the risk rule that refused the order, for the metrics
  RiskDecider decide;
  std::string outcome = "invalid";
};

grpc::ServerUnaryReactor* OrderServiceImpl::SubmitOrder(grpc::CallbackServerContext* ctx,
                                                        const v1::SubmitOrderRequest* req,
                                                        v1::SubmitOrderResponse* res) {
  auto call = std::make_shared<SubmitCall>(ctx, req, res);
  std::optional<grpc::Status> ended;
  const auto status = guarded("SubmitOrder", [&] {
    ended = startSubmit(call);
    return ended.value_or(grpc::Status::OK);
  });
  // Refused before the store (or startSubmit threw): answer now.
  if (ended || !status.ok()) finishSubmit(*call, status);
  return call->reactor;
}

std::optional<grpc::Status> OrderServiceImpl::startSubmit(const std::shared_ptr<SubmitCall>& call) {
  const auto& req = *call->req;
  if (auto s = admit(call->ctx, req.account()); !s.ok()) return s;
  const auto validation = d_.validator.validateSubmit(req);
  if (!validation.ok()) {
    const Field field = validation.error->field;
    if (field == Field::Symbol || field == Field::LimitPrice || field == Field::Type || field == Field::Quantity) {
      // Idempotency before validation: a check that depends on the market (the symbol directory,
      // the price band and tick size, a market order's valuation, the lot size) can refuse a
      // retry whose original was accepted. The retry must get that order back. A blocking read,
      // taken only on a refusal by one of those fields (the others refuse the original too).
      if (auto stored = d_.store.findSubmitted(req)) return answerSubmit(*call, std::move(*stored));
    }
    return grpc::Status{grpc::StatusCode::INVALID_ARGUMENT, validation.error->message};
  }

  const std::int64_t collar = d_.validator.marketCollar(req.type(), req.side(), *validation.symbol);
  call->intent.emplace(OrderIntent{req.account(), req.symbol(), req.side(), req.quantity(),
                                   valuationPrice(req.type(), req.limit_price(), *validation.symbol, collar)});
  call->decide = decider(*call->intent, call->rule);
  // Runs on a writer lane after COMMIT: builds the reply, routes, finishes; blocks on nothing.
  d_.store.submitAsync(
      req, call->decide,
      [this, call](SubmitResult result, std::exception_ptr error) {
        const auto status = guarded("SubmitOrder", [&] {
          if (error) std::rethrow_exception(error);
          return answerSubmit(*call, std::move(result));
        });
        finishSubmit(*call, status);
      },
      collar);
  return std::nullopt;
}

grpc::Status OrderServiceImpl::answerSubmit(SubmitCall& call, SubmitResult result) {
  switch (result.outcome) {
    case SubmitOutcome::Conflict:
      call.outcome = "conflict";
      return {grpc::StatusCode::ALREADY_EXISTS,
              "client_order_id: " + call.req->client_order_id() + " was used for a different order (" +
                  result.order.order_id() + ")"};
    case SubmitOutcome::Duplicate:
      call.outcome = "duplicate";
      call.res->set_duplicate(true);
      break;
    case SubmitOutcome::Created:
      if (result.order.status() == v1::ORDER_STATUS_REJECTED) {
        call.outcome = "rejected";
        d_.metrics.reject(call.rule.empty() ? "other" : call.rule);
      } else {
        call.outcome = "accepted";
        d_.router.route(result.order);  // after the reply is decided: the client waits for PostgreSQL only
      }
      break;
  }
  *call.res->mutable_order() = std::move(result.order);
  return grpc::Status::OK;
}

void OrderServiceImpl::finishSubmit(SubmitCall& call, const grpc::Status& status) {
  try {
    d_.metrics.call("SubmitOrder", status);
    if (status.ok() || status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
        status.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
      d_.metrics.submit(call.outcome, std::chrono::duration<double>(Clock::now() - call.start).count());
    }
  } catch (const std::exception& e) {  // the call is answered whatever the metrics do
    logging::warn("SubmitOrder metrics failed", {{"error", e.what()}});
  }
  call.reactor->Finish(status);  // the last touch of the call's request and response
}

grpc::Status OrderServiceImpl::CancelOrder(grpc::ServerContext* ctx, const v1::CancelOrderRequest* req,
                                           v1::CancelOrderResponse* res) {
  const auto status = guarded("CancelOrder", [&] { return cancel(ctx, *req, *res); });
  d_.metrics.call("CancelOrder", status);
  return status;
}

grpc::Status OrderServiceImpl::cancel(grpc::ServerContext* ctx, const v1::CancelOrderRequest& req,
                                      v1::CancelOrderResponse& res) {
  if (auto s = admit(ctx, req.account()); !s.ok()) return s;
  v1::Order order;
  if (auto s = ownOrder(req.account(), req.order_id(), order); !s.ok()) return s;
  grpc::Status status;
  *res.mutable_order() = d_.router.cancel(order, status);
  return status;
}

grpc::Status OrderServiceImpl::ReplaceOrder(grpc::ServerContext* ctx, const v1::ReplaceOrderRequest* req,
                                            v1::ReplaceOrderResponse* res) {
  const auto status = guarded("ReplaceOrder", [&] { return replace(ctx, *req, *res); });
  d_.metrics.call("ReplaceOrder", status);
  return status;
}

grpc::Status OrderServiceImpl::replace(grpc::ServerContext* ctx, const v1::ReplaceOrderRequest& req,
                                       v1::ReplaceOrderResponse& res) {
  if (auto s = admit(ctx, req.account()); !s.ok()) return s;
  v1::Order original;
  if (auto s = ownOrder(req.account(), req.order_id(), original); !s.ok()) return s;
  if (original.type() == v1::ORDER_TYPE_MARKET) {
    // It trades at once and its rest is canceled: there is never a working market order at the
    // venue to replace (and a venue replace carries a limit price, not a collar).
    return {grpc::StatusCode::FAILED_PRECONDITION, "a market order cannot be replaced"};
  }
  const auto validation = d_.validator.validateReplace(req, original);
  if (!validation.ok()) {
    const Field field = validation.error->field;
    if (field != Field::Account && field != Field::ClientOrderId && field != Field::OrderId) {
      // A retry of a replace that was carried out: the original has moved on (PENDING_REPLACE,
      // REPLACED, more fills), which can fail the checks that depend on it. The key answers
      // (the store returns the stored replacement, or ALREADY_EXISTS for another payload).
      if (d_.store.keyTaken(req.account(), req.client_order_id())) return finishReplace(req, original, validation, res);
      // An order that can no longer be replaced is that, not an invalid request.
      const Fills fills = original.filled_quantity() > 0 ? Fills::Some : Fills::None;
      if (!transition(original.status(), Trigger::ReplaceRequest, fills)) {
        return {grpc::StatusCode::FAILED_PRECONDITION,
                "order is " + v1::OrderStatus_Name(original.status()) + ": it cannot be replaced now"};
      }
    }
    return {grpc::StatusCode::INVALID_ARGUMENT, validation.error->message};
  }
  return finishReplace(req, original, validation, res);
}

grpc::Status OrderServiceImpl::finishReplace(const v1::ReplaceOrderRequest& req, const v1::Order& original,
                                             const Validation& validation, v1::ReplaceOrderResponse& res) {
  // Only a key already taken gets here without a valid request: the store answers from the key
  // (Duplicate or Conflict) without deciding, so the intent's price is never used then.
  const std::int64_t valuation =
      validation.symbol ? valuationPrice(original.type(), req.limit_price(), *validation.symbol) : 0;

  OrderIntent intent{req.account(), original.symbol(), original.side(), req.quantity() - original.filled_quantity(),
                     valuation};
  std::string rule;
  auto result = d_.store.replace(req, decider(intent, rule));
  if (result.key == SubmitOutcome::Conflict) {
    return {grpc::StatusCode::ALREADY_EXISTS,
            "client_order_id: " + req.client_order_id() + " was used for a different order"};
  }
  if (result.key == SubmitOutcome::Created) {
    if (result.original_outcome == ChangeOutcome::NotFound) {
      return {grpc::StatusCode::NOT_FOUND, "order_id: no order " + req.order_id()};
    }
    if (result.original_outcome == ChangeOutcome::Refused) {
      return {grpc::StatusCode::FAILED_PRECONDITION,
              "order is " + v1::OrderStatus_Name(result.original.status()) + ": it cannot be replaced now"};
    }
    if (result.replacement.status() == v1::ORDER_STATUS_REJECTED) {
      d_.metrics.reject(rule.empty() ? "other" : rule);
    } else {
      d_.router.replace(result.original, result.replacement);
    }
  }
  *res.mutable_original() = std::move(result.original);
  *res.mutable_replacement() = std::move(result.replacement);
  return grpc::Status::OK;
}

grpc::Status OrderServiceImpl::GetOrder(grpc::ServerContext* ctx, const v1::GetOrderRequest* req,
                                        v1::GetOrderResponse* res) {
  const auto status = guarded("GetOrder", [&]() -> grpc::Status {
    if (auto s = admit(ctx, req->account()); !s.ok()) return s;
    return ownOrder(req->account(), req->order_id(), *res->mutable_order());
  });
  d_.metrics.call("GetOrder", status);
  return status;
}

grpc::Status OrderServiceImpl::ListOrders(grpc::ServerContext* ctx, const v1::ListOrdersRequest* req,
                                          v1::ListOrdersResponse* res) {
  const auto status = guarded("ListOrders", [&]() -> grpc::Status {
    if (auto s = admit(ctx, req->account()); !s.ok()) return s;
    std::vector<v1::OrderStatus> statuses;
    for (const auto s : req->statuses()) statuses.push_back(static_cast<v1::OrderStatus>(s));
    auto page = d_.store.listOrders(req->account(), statuses, req->symbol(), req->page_size(), req->page_token());
    for (auto& o : page.orders) *res->add_orders() = std::move(o);
    res->set_next_page_token(std::move(page.next_page_token));
    return grpc::Status::OK;
  });
  d_.metrics.call("ListOrders", status);
  return status;
}

grpc::Status OrderServiceImpl::StreamOrderUpdates(grpc::ServerContext* ctx, const v1::StreamOrderUpdatesRequest* req,
                                                  grpc::ServerWriter<v1::OrderEvent>* writer) {
  d_.metrics.update_streams.Increment();
  const auto status = guarded("StreamOrderUpdates", [&] { return stream(ctx, *req, *writer); });
  d_.metrics.update_streams.Decrement();
  d_.metrics.call("StreamOrderUpdates", status);
  return status;
}

grpc::Status OrderServiceImpl::stream(grpc::ServerContext* ctx, const v1::StreamOrderUpdatesRequest& req,
                                      grpc::ServerWriter<v1::OrderEvent>& writer) {
  if (auto s = admit(ctx, req.account()); !s.ok()) return s;
  const auto& account = req.account();
  // Subscribe before reading PostgreSQL: an event committed in between is then in one or both,
  // and account_seq drops the copy.
  const auto sub = d_.updates.subscribe(account);
  struct Unsubscribe {
    OrderUpdates& u;
    const std::string& a;
    const std::shared_ptr<OrderUpdates::Subscription>& s;
    ~Unsubscribe() { u.unsubscribe(a, s); }
  } unsubscribe{d_.updates, account, sub};

  std::uint64_t last = req.has_after_account_seq() ? req.after_account_seq() : d_.updates.lastSeq(account);
  bool broken = false;
  // Sends every committed event after `last` from PostgreSQL, a page at a time.
  const auto catch_up = [&] {
    constexpr int kPage = 500;
    for (;;) {
      const auto events = d_.updates.committed(account, last, kPage);
      for (const auto& e : events) {
        if (!writer.Write(e)) {
          broken = true;
          return;
        }
        last = e.account_seq();
      }
      if (events.size() < static_cast<std::size_t>(kPage)) return;
    }
  };
  catch_up();
  std::vector<v1::OrderEvent> live;
  auto idle_since = Clock::now();
  while (!broken && !ctx->IsCancelled()) {
    live.clear();
    bool overflowed = false;
    if (!sub->take(200ms, live, overflowed)) {
      return {grpc::StatusCode::UNAVAILABLE, "order service shutting down: resume with after_account_seq = " +
                                                 std::to_string(last)};
    }
    if (overflowed) catch_up();
    for (const auto& e : live) {
      if (broken) break;
      if (e.account_seq() <= last) continue;  // sent already (from PostgreSQL, or a relay repeat)
      if (e.account_seq() > last + 1) {
        catch_up();  // committed before it, published before we subscribed or dropped
        if (e.account_seq() <= last) continue;
      }
      if (!writer.Write(e)) {
        broken = true;
        break;
      }
      last = e.account_seq();
    }
    // No live event for a while: check PostgreSQL, in case the live feed missed the tail
    // (its consumer restarted or started a partition at its end, or the relay is behind).
    if (!live.empty()) {
      idle_since = Clock::now();
    } else if (Clock::now() - idle_since > 1s) {
      catch_up();
      idle_since = Clock::now();
    }
  }
  return grpc::Status::OK;
}

}  // namespace tickstream::order
