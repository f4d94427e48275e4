#include "tick_sink.h"

namespace tickstream::normalizer {

void MemorySink::emit(std::string_view symbol, const marketdata::v1::MarketDataUpdate& update,
                      const marketdata::v1::SymbolSnapshot* snapshot) {
  updates_.push_back(update);
  updates_.back().set_symbol(std::string(symbol));
  if (snapshot != nullptr) {
    snapshots_.push_back(*snapshot);
    snapshots_.back().set_symbol(std::string(symbol));
  }
}

std::vector<marketdata::v1::MarketDataUpdate> MemorySink::updatesFor(
    std::string_view symbol) const {
  std::vector<marketdata::v1::MarketDataUpdate> out;
  for (const auto& u : updates_) {
    if (u.symbol() == symbol) {
      out.push_back(u);
    }
  }
  return out;
}

} // namespace tickstream::normalizer
