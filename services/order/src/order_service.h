#pragma once

#include <atomic>
#include <memory>
#include <optional>

#include "order_auth.h"
#include "order_metrics.h"
#include "order_router.h"
#include "order_store.h"
#include "order_updates.h"
#include "order_validation.h"
#include "risk_check.h"
#include "symbol_directory.h"
#include "tickstream/order/v1/order_service.grpc.pb.h"

// The gRPC OrderService (proto/tickstream/order/v1/order_service.proto; docs/order.md "The
// service"): each call authenticates, checks that the token may act for the request's account,
// then validates, runs risk inside the store's transaction and commits before it answers.
namespace tickstream::order {

struct OrderServiceDeps {
  OrderAuth& auth;
  OrderValidator& validator;
  RiskChecker& risk;
  SymbolDirectory& symbols;
  OrderStore& store;
  OrderRouter& router;
  OrderUpdates& updates;
  OrderMetrics& metrics;
};

// SubmitOrder, the hot call, is on gRPC's callback API: it answers from the store's completion
// on a writer lane, so no thread waits per call in flight (docs/order.md, "Threads"). The
// others are synchronous.
class OrderServiceImpl final : public v1::OrderService::WithCallbackMethod_SubmitOrder<v1::OrderService::Service> {
 public:
  explicit OrderServiceImpl(OrderServiceDeps deps) : d_(deps) {}

  grpc::ServerUnaryReactor* SubmitOrder(grpc::CallbackServerContext* ctx, const v1::SubmitOrderRequest* req,
                                        v1::SubmitOrderResponse* res) override;
  grpc::Status CancelOrder(grpc::ServerContext* ctx, const v1::CancelOrderRequest* req,
                           v1::CancelOrderResponse* res) override;
  grpc::Status ReplaceOrder(grpc::ServerContext* ctx, const v1::ReplaceOrderRequest* req,
                            v1::ReplaceOrderResponse* res) override;
  grpc::Status GetOrder(grpc::ServerContext* ctx, const v1::GetOrderRequest* req, v1::GetOrderResponse* res) override;
  grpc::Status ListOrders(grpc::ServerContext* ctx, const v1::ListOrdersRequest* req,
                          v1::ListOrdersResponse* res) override;
  grpc::Status StreamOrderUpdates(grpc::ServerContext* ctx, const v1::StreamOrderUpdatesRequest* req,
                                  grpc::ServerWriter<v1::OrderEvent>* writer) override;

 private:
  struct SubmitCall;
  // Authenticates, validates and queues the submit; an error status when it ends here, nothing
  // when the store will answer (answerSubmit, then finishSubmit).
  std::optional<grpc::Status> startSubmit(const std::shared_ptr<SubmitCall>& call);
  // The reply for what the store did with the submit, and the routing of an accepted order.
  grpc::Status answerSubmit(SubmitCall& call, SubmitResult result);
  void finishSubmit(SubmitCall& call, const grpc::Status& status);
  grpc::Status cancel(grpc::ServerContext* ctx, const v1::CancelOrderRequest& req, v1::CancelOrderResponse& res);
  grpc::Status replace(grpc::ServerContext* ctx, const v1::ReplaceOrderRequest& req, v1::ReplaceOrderResponse& res);
  // The store's replace and the reply, once the request passed validation (or its key is taken).
  grpc::Status finishReplace(const v1::ReplaceOrderRequest& req, const v1::Order& original,
                             const Validation& validation, v1::ReplaceOrderResponse& res);
  grpc::Status stream(grpc::ServerContext* ctx, const v1::StreamOrderUpdatesRequest& req,
                      grpc::ServerWriter<v1::OrderEvent>& writer);
  // Authenticates and authorises for `account`.
  grpc::Status admit(const grpc::ServerContextBase* ctx, const std::string& account);
  // The account's order `order_id`, or NOT_FOUND (also for another account's order: its
  // existence is not revealed).
  grpc::Status ownOrder(const std::string& account, const std::string& order_id, v1::Order& out);
  // The risk decision for an order, run inside the store's transaction; records the rule that
  // refused it in `rule` for the metrics.
  RiskDecider decider(const OrderIntent& intent, std::string& rule);

  OrderServiceDeps d_;
};

}  // namespace tickstream::order
