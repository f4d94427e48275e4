#pragma once

#include <atomic>

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

class OrderServiceImpl final : public v1::OrderService::Service {
 public:
  explicit OrderServiceImpl(OrderServiceDeps deps) : d_(deps) {}

  grpc::Status SubmitOrder(grpc::ServerContext* ctx, const v1::SubmitOrderRequest* req,
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
  grpc::Status submit(grpc::ServerContext* ctx, const v1::SubmitOrderRequest& req, v1::SubmitOrderResponse& res,
                      std::string& outcome);
  grpc::Status cancel(grpc::ServerContext* ctx, const v1::CancelOrderRequest& req, v1::CancelOrderResponse& res);
  grpc::Status replace(grpc::ServerContext* ctx, const v1::ReplaceOrderRequest& req, v1::ReplaceOrderResponse& res);
  grpc::Status stream(grpc::ServerContext* ctx, const v1::StreamOrderUpdatesRequest& req,
                      grpc::ServerWriter<v1::OrderEvent>& writer);
  // Authenticates and authorises for `account`.
  grpc::Status admit(grpc::ServerContext* ctx, const std::string& account);
  // The account's order `order_id`, or NOT_FOUND (also for another account's order: its
  // existence is not revealed).
  grpc::Status ownOrder(const std::string& account, const std::string& order_id, v1::Order& out);
  // The risk decision for an order, run inside the store's transaction; records the rule that
  // refused it in `rule` for the metrics.
  RiskDecider decider(const OrderIntent& intent, std::string& rule);

  OrderServiceDeps d_;
};

}  // namespace tickstream::order
