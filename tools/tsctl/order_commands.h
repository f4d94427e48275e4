#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

// `tsctl order submit|cancel|replace|get|list|stream`: the order service's gRPC API from the command
// line. Responses print as JSON (the proto3 mapping, one line each); a gRPC error prints
// "error: CODE: message" on stderr and exits 1.
namespace tickstream::tsctl {

struct OrderCallConfig {
  std::string target = "127.0.0.1:50061";  // order service gRPC address (its default --grpc-listen)
  std::string token;          // bearer token; empty: minted from secret for account
  std::string secret;         // HS256 secret to mint a token with sub = account
  std::string account;        // the request's account
  int timeout_ms = 10000;     // deadline of unary calls
};

struct SubmitArgs {
  std::string symbol;             // e.g. AAPL
  std::string side;               // buy|sell
  std::string type = "limit";     // limit|market
  std::string tif = "day";        // day|gtc|ioc|fok
  int64_t quantity = 0;           // shares, > 0
  std::string price;              // decimal, e.g. 123.45; required for limit orders, absent for market
  std::string client_order_id;    // empty: a random UUID
};

struct ListArgs {
  std::vector<std::string> statuses;  // status names; empty: any
  std::string symbol;                 // empty: any
  uint32_t page_size = 0;             // 0: the server's default
  std::string page_token;             // next_page_token of the previous page
};

// Registers the `order` subcommand tree on `app`; after app.parse(), parsed() says whether it
// was chosen and run() executes it.
class OrderCommands {
 public:
  explicit OrderCommands(CLI::App& app);
  bool parsed() const { return order_->parsed(); }
  int run();

 private:
  CLI::App* order_;
  CLI::App* submit_;
  CLI::App* cancel_;
  CLI::App* replace_;
  CLI::App* get_;
  CLI::App* list_;
  CLI::App* stream_;
  OrderCallConfig call_;
  SubmitArgs submit_args_;
  std::string order_id_;
  int64_t replace_quantity_ = 0;          // replace: the new total quantity (fills included)
  std::string replace_price_;             // replace: the new limit price, decimal; empty: market
  std::string replace_client_order_id_;   // replace: the replacement's key; empty: a random UUID
  ListArgs list_args_;
  uint64_t after_seq_ = 0;
  CLI::Option* after_seq_option_ = nullptr;  // given or not: absent means only new events
};

}  // namespace tickstream::tsctl
