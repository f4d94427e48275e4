#include "order_commands.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <stdexcept>

#include "cli_option.h"
#include "order_args.h"
#include "tickstream/auth/jwt.h"
#include "tickstream/order/v1/order_service.grpc.pb.h"
#include "tickstream/rpc/status_code.h"
#include "tickstream/runtime/clock.h"
#include "tickstream/runtime/shutdown.h"

namespace tickstream::tsctl {

namespace ov1 = tickstream::order::v1;

namespace {

void printJson(const google::protobuf::Message& m) {
  std::string out;
  // Default proto3 JSON mapping, compact: one message per line, as the gateway's JSON encoding.
  if (!google::protobuf::util::MessageToJsonString(m, &out).ok()) out = "{}";
  std::printf("%s\n", out.c_str());
  std::fflush(stdout);
}

int printError(const grpc::Status& status) {
  std::fprintf(stderr, "error: %s: %s\n", std::string(rpc::statusCodeName(status.error_code())).c_str(),
               status.error_message().c_str());
  return 1;
}

std::string bearerToken(const OrderCallConfig& cfg) {
  if (!cfg.token.empty()) return cfg.token;
  if (cfg.secret.empty()) throw std::invalid_argument("give --token, or --jwt-hs256-secret to mint one for --account");
  auth::Claims claims;
  claims.subject = cfg.account;
  claims.issued_at = runtime::wallClockNs() / 1'000'000'000;
  claims.expires_at = claims.issued_at + 3600;
  return auth::Signer::hs256(cfg.secret).sign(claims);
}

class Client {
 public:
  explicit Client(const OrderCallConfig& cfg)
      : cfg_(cfg),
        bearer_("Bearer " + bearerToken(cfg)),
        stub_(ov1::OrderService::NewStub(grpc::CreateChannel(cfg.target, grpc::InsecureChannelCredentials()))) {}

  // A context with the token; unary calls get the deadline, the stream none (it runs until Ctrl-C).
  std::unique_ptr<grpc::ClientContext> context(bool unary) const {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", bearer_);
    if (unary) ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(cfg_.timeout_ms));
    return ctx;
  }
  ov1::OrderService::Stub& stub() { return *stub_; }

 private:
  const OrderCallConfig& cfg_;
  std::string bearer_;
  std::unique_ptr<ov1::OrderService::Stub> stub_;
};

template <class Response>
int finish(const grpc::Status& status, const Response& response) {
  if (!status.ok()) return printError(status);
  printJson(response);
  return 0;
}

ov1::SubmitOrderRequest submitRequest(const std::string& account, const SubmitArgs& a) {
  ov1::SubmitOrderRequest req;
  req.set_account(account);
  req.set_client_order_id(a.client_order_id.empty() ? newClientOrderId() : a.client_order_id);
  req.set_symbol(a.symbol);
  req.set_side(parseSide(a.side));
  req.set_type(parseOrderType(a.type));
  req.set_time_in_force(parseTimeInForce(a.tif));
  req.set_quantity(a.quantity);
  if (req.type() == ov1::ORDER_TYPE_LIMIT) {
    if (a.price.empty()) throw std::invalid_argument("--price is required for a limit order");
    try {
      req.set_limit_price(parsePrice(a.price));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(std::string("--price: ") + e.what());
    }
  } else if (!a.price.empty()) {
    throw std::invalid_argument("--price must not be given for a market order");
  }
  return req;
}

// Prints each event until the server ends the stream or Ctrl-C cancels it (exit 0).
int runStream(const OrderCallConfig& cfg, std::optional<uint64_t> after_seq) {
  // Before gRPC starts its threads, so they inherit the blocked signals.
  runtime::ShutdownSignal shutdown;
  Client client(cfg);
  auto ctx = client.context(false);
  shutdown.onRequest([&ctx] { ctx->TryCancel(); });
  ov1::StreamOrderUpdatesRequest req;
  req.set_account(cfg.account);
  if (after_seq) req.set_after_account_seq(*after_seq);
  auto reader = client.stub().StreamOrderUpdates(ctx.get(), req);
  ov1::OrderEvent event;
  while (reader->Read(&event)) printJson(event);
  const grpc::Status status = reader->Finish();
  if (shutdown.requested()) return 0;
  return status.ok() ? 0 : printError(status);
}

}  // namespace

OrderCommands::OrderCommands(CLI::App& app) {
  order_ = app.add_subcommand("order", "the order service's gRPC API (docs/order.md, Tools)");
  order_->require_subcommand(1);
  submit_ = order_->add_subcommand("submit", "submit an order; prints the SubmitOrderResponse");
  cancel_ = order_->add_subcommand("cancel", "request a cancel; prints the order");
  replace_ = order_->add_subcommand("replace", "replace an order's quantity and price; prints both orders");
  get_ = order_->add_subcommand("get", "one order by id");
  list_ = order_->add_subcommand("list", "the account's orders, newest first, one page");
  stream_ = order_->add_subcommand("stream", "the account's order events, one JSON line each, until Ctrl-C");
  for (CLI::App* sub : {submit_, cancel_, replace_, get_, list_, stream_}) {
    opt(sub, "--target", call_.target, "order service gRPC address HOST:PORT");
    // No `excludes`: a secret from the environment must not turn an explicit --token into an error.
    opt(sub, "--token", call_.token, "bearer token (e.g. from `tsctl token`); wins over --jwt-hs256-secret");
    opt(sub, "--jwt-hs256-secret", call_.secret, "without --token: mint a token for --account with this secret");
    opt(sub, "--account", call_.account, "the account the request is for (the minted token's sub)")->required();
    opt(sub, "--timeout-ms", call_.timeout_ms, "deadline of the call")->check(CLI::Range(1, 3'600'000));
  }
  submit_->add_option("--symbol", submit_args_.symbol, "symbol, e.g. AAPL")->required();
  submit_->add_option("--side", submit_args_.side, "buy|sell")->required()->check(CLI::IsMember({"buy", "sell"}));
  submit_->add_option("--type", submit_args_.type, "limit|market")
      ->capture_default_str()
      ->check(CLI::IsMember({"limit", "market"}));
  submit_->add_option("--tif", submit_args_.tif, "time in force: day|gtc|ioc|fok")
      ->capture_default_str()
      ->check(CLI::IsMember({"day", "gtc", "ioc", "fok"}));
  submit_->add_option("--quantity", submit_args_.quantity, "shares")->required()->check(CLI::PositiveNumber);
  submit_->add_option("--price", submit_args_.price, "limit price as a decimal, at most 4 decimals (123.45)");
  submit_->add_option("--client-order-id", submit_args_.client_order_id,
                      "idempotency key (default: a random UUID; reuse it to retry safely)");
  replace_->add_option("--quantity", replace_quantity_, "the new total quantity, fills included")
      ->required()
      ->check(CLI::PositiveNumber);
  replace_->add_option("--price", replace_price_, "the new limit price as a decimal (omit for a market order)");
  replace_->add_option("--client-order-id", replace_client_order_id_,
                       "the replacement's idempotency key (default: a random UUID; reuse it to retry safely)");
  for (CLI::App* sub : {cancel_, replace_, get_}) {
    sub->add_option("--order-id", order_id_, "the order's id")->required();
  }
  list_->add_option("--status", list_args_.statuses, "only these statuses, e.g. accepted,filled")->delimiter(',');
  list_->add_option("--symbol", list_args_.symbol, "only this symbol");
  list_->add_option("--page-size", list_args_.page_size, "orders per page (0: the server's default)");
  list_->add_option("--page-token", list_args_.page_token, "nextPageToken of the previous page");
  after_seq_option_ = stream_->add_option("--after-seq", after_seq_,
                      "first replay the events after this account_seq (default: only new events)");
}

int OrderCommands::run() {
  try {
    if (stream_->parsed()) {
      return runStream(call_, after_seq_option_->count() > 0 ? std::optional(after_seq_) : std::nullopt);
    }
    // Arguments are checked before any connection is made.
    ov1::SubmitOrderRequest submit;
    if (submit_->parsed()) submit = submitRequest(call_.account, submit_args_);
    ov1::ReplaceOrderRequest replace;
    if (replace_->parsed()) {
      replace.set_account(call_.account);
      replace.set_order_id(order_id_);
      replace.set_client_order_id(replace_client_order_id_.empty() ? newClientOrderId() : replace_client_order_id_);
      replace.set_quantity(replace_quantity_);
      if (!replace_price_.empty()) replace.set_limit_price(parsePrice(replace_price_));
    }
    ov1::ListOrdersRequest list;
    if (list_->parsed()) {
      list.set_account(call_.account);
      for (const auto& s : list_args_.statuses) list.add_statuses(parseStatus(s));
      list.set_symbol(list_args_.symbol);
      list.set_page_size(list_args_.page_size);
      list.set_page_token(list_args_.page_token);
    }
    Client client(call_);
    auto ctx = client.context(true);
    if (submit_->parsed()) {
      ov1::SubmitOrderResponse res;
      return finish(client.stub().SubmitOrder(ctx.get(), submit, &res), res);
    }
    if (cancel_->parsed()) {
      ov1::CancelOrderRequest req;
      req.set_account(call_.account);
      req.set_order_id(order_id_);
      ov1::CancelOrderResponse res;
      return finish(client.stub().CancelOrder(ctx.get(), req, &res), res);
    }
    if (replace_->parsed()) {
      ov1::ReplaceOrderResponse res;
      return finish(client.stub().ReplaceOrder(ctx.get(), replace, &res), res);
    }
    if (get_->parsed()) {
      ov1::GetOrderRequest req;
      req.set_account(call_.account);
      req.set_order_id(order_id_);
      ov1::GetOrderResponse res;
      return finish(client.stub().GetOrder(ctx.get(), req, &res), res);
    }
    ov1::ListOrdersResponse res;
    return finish(client.stub().ListOrders(ctx.get(), list, &res), res);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "tsctl order: %s\n", e.what());
    return 2;
  }
}

}  // namespace tickstream::tsctl
