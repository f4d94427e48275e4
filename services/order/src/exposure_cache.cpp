#include "exposure_cache.h"

namespace tickstream::order {

bool isWorking(v1::OrderStatus status) noexcept {
  switch (status) {
    case v1::ORDER_STATUS_NEW:
    case v1::ORDER_STATUS_ACCEPTED:
    case v1::ORDER_STATUS_ROUTED:
    case v1::ORDER_STATUS_PARTIALLY_FILLED:
    case v1::ORDER_STATUS_PENDING_CANCEL:
    case v1::ORDER_STATUS_PENDING_REPLACE:
      return true;
    default:
      return false;
  }
}

void ExposureDelta::add(const v1::Order& order, int sign) {
  if (!isWorking(order.status())) return;
  open_orders += sign;
  const std::int64_t open = sign * (order.quantity() - order.filled_quantity());
  auto& s = symbols[order.symbol()];
  (order.side() == v1::SIDE_BUY ? s.open_buy : s.open_sell) += open;
}

const CachedExposure* ExposureCache::find(const std::string& account, std::int64_t last_seq) const {
  const auto it = entries_.find(account);
  return it != entries_.end() && it->second.last_seq == last_seq ? &it->second : nullptr;
}

void ExposureCache::put(const std::string& account, CachedExposure exposure) {
  entries_[account] = std::move(exposure);
}

void ExposureCache::apply(const std::string& account, const ExposureDelta& delta) {
  const auto it = entries_.find(account);
  if (it == entries_.end()) return;
  auto& e = it->second;
  if (e.last_seq != delta.from_seq) {
    entries_.erase(it);
    return;
  }
  e.last_seq = delta.to_seq;
  e.open_orders += delta.open_orders;
  for (const auto& [symbol, d] : delta.symbols) {
    auto& s = e.symbols[symbol];
    s.open_buy += d.open_buy;
    s.open_sell += d.open_sell;
    if (s.open_buy == 0 && s.open_sell == 0) e.symbols.erase(symbol);
  }
}

}  // namespace tickstream::order
