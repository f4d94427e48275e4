#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tickstream/order/v1/order_service.pb.h"

// What order-loadgen sends: which account, symbol, side and price the n-th order of a sender
// gets, and its client_order_id. No gRPC here, so the unit test checks the mix.
namespace tickstream::order_loadgen {

struct SymbolPrice {
  std::string symbol;
  int64_t price = 0;  // limit price, fixed-point 1/10000
};

// Parses --symbols: "AAPL,MSFT=1500000" (an entry without "=PRICE" gets `default_price`).
// Throws std::invalid_argument naming the entry: empty, a bad number, a price that is not a
// positive multiple of 100 (the $0.01 tick grid), or no price at all.
std::vector<SymbolPrice> parseSymbols(const std::string& list, int64_t default_price);

// "load-0001" for index 0 with prefix "load-": four digits, more when there are more accounts.
std::string accountName(const std::string& prefix, int index);

// A run id for client_order_ids: "lg" and 8 random hex digits, so reruns against the same
// database do not collide with earlier runs' (account, client_order_id) keys.
std::string randomRunId();

struct PlanConfig {
  std::string run_id;                  // client_order_id prefix, unique per run
  std::string account_prefix = "load-";  // accounts are <prefix>0001 .. <prefix>N
  int accounts = 100;                  // N
  std::vector<SymbolPrice> symbols;    // traded in turn
  int64_t quantity = 100;              // shares per order (100: a round lot, valid whatever the lot)
};

class OrderPlan {
 public:
  explicit OrderPlan(PlanConfig config);

  // Fills `req` with order `seq` of sender `sender`: accounts and symbols in turn; an account's
  // orders alternate buy and sell so its position stays near flat; limit IOC at the symbol's
  // price; client_order_id "<run_id>-<sender>-<seq>", unique across senders.
  void fill(tickstream::order::v1::SubmitOrderRequest& req, int sender, uint64_t seq) const;

  const std::string& account(std::size_t i) const { return accounts_[i]; }
  std::size_t accountIndex(uint64_t seq) const { return seq % accounts_.size(); }
  std::size_t accountCount() const { return accounts_.size(); }

 private:
  PlanConfig config_;
  std::vector<std::string> accounts_;
};

}  // namespace tickstream::order_loadgen
