#include "order_plan.h"

#include <charconv>
#include <cstdio>
#include <random>
#include <stdexcept>

namespace tickstream::order_loadgen {

namespace ov1 = tickstream::order::v1;

std::vector<SymbolPrice> parseSymbols(const std::string& list, int64_t default_price) {
  std::vector<SymbolPrice> out;
  std::size_t pos = 0;
  while (pos <= list.size()) {
    const std::size_t comma = std::min(list.find(',', pos), list.size());
    const std::string entry = list.substr(pos, comma - pos);
    pos = comma + 1;
    const std::size_t eq = entry.find('=');
    SymbolPrice sp{entry.substr(0, eq), default_price};
    if (sp.symbol.empty()) throw std::invalid_argument("--symbols: empty symbol in \"" + list + "\"");
    if (eq != std::string::npos) {
      const std::string num = entry.substr(eq + 1);
      const auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), sp.price);
      if (ec != std::errc() || end != num.data() + num.size() || num.empty()) {
        throw std::invalid_argument("--symbols: " + entry + ": the price must be an integer (1/10000)");
      }
    }
    if (sp.price <= 0) {
      throw std::invalid_argument("--symbols: " + sp.symbol + " has no price (give --price or " + sp.symbol +
                                  "=PRICE)");
    }
    if (sp.price % 100 != 0) {
      throw std::invalid_argument("--symbols/--price: " + sp.symbol + " price " + std::to_string(sp.price) +
                                  " is not a multiple of 100 (the $0.01 tick)");
    }
    out.push_back(std::move(sp));
  }
  return out;
}

std::string accountName(const std::string& prefix, int index) {
  char digits[16];
  std::snprintf(digits, sizeof digits, "%04d", index + 1);
  return prefix + digits;
}

std::string randomRunId() {
  std::random_device rd;
  char id[16];
  std::snprintf(id, sizeof id, "lg%08x", static_cast<unsigned>(rd()));
  return id;
}

OrderPlan::OrderPlan(PlanConfig config) : config_(std::move(config)) {
  if (config_.accounts < 1) throw std::invalid_argument("--accounts must be at least 1");
  if (config_.symbols.empty()) throw std::invalid_argument("--symbols is empty");
  // The service takes ids of at most 64 bytes of A-Z a-z 0-9 - _ . : (docs/order.md, Validation);
  // 40 leaves room for "-<sender>-<seq>".
  const bool id_ok = !config_.run_id.empty() && config_.run_id.size() <= 40 &&
                     config_.run_id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                      "0123456789-_.:") == std::string::npos;
  if (!id_ok) throw std::invalid_argument("--run-id: 1..40 of A-Z a-z 0-9 - _ . :, got \"" + config_.run_id + "\"");
  accounts_.reserve(static_cast<std::size_t>(config_.accounts));
  for (int i = 0; i < config_.accounts; ++i) accounts_.push_back(accountName(config_.account_prefix, i));
}

void OrderPlan::fill(ov1::SubmitOrderRequest& req, int sender, uint64_t seq) const {
  const std::size_t n_accounts = accounts_.size();
  const SymbolPrice& sp = config_.symbols[seq % config_.symbols.size()];
  req.set_account(accounts_[seq % n_accounts]);
  req.set_client_order_id(config_.run_id + "-" + std::to_string(sender) + "-" + std::to_string(seq));
  req.set_symbol(sp.symbol);
  // The account's k-th order (k = seq / accounts) buys when k is even.
  req.set_side((seq / n_accounts) % 2 == 0 ? ov1::SIDE_BUY : ov1::SIDE_SELL);
  req.set_type(ov1::ORDER_TYPE_LIMIT);
  req.set_time_in_force(ov1::TIME_IN_FORCE_IOC);
  req.set_quantity(config_.quantity);
  req.set_limit_price(sp.price);
}

}  // namespace tickstream::order_loadgen
