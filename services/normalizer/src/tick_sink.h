#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tickstream/marketdata/v1/marketdata.pb.h"

// Where the normalizer sends what it produces: Kafka (md.ticks and the compacted md.snapshot) in
// production, memory in a unit test. Both calls are keyed by symbol; the message is only valid
// for the duration of the call (the normalizer reuses it), so a sink serialises or copies it.
namespace tickstream::normalizer {

class TickSink {
public:
  virtual ~TickSink() = default;
  // One MarketDataUpdate for md.ticks and, when not null, the symbol's full state after it for
  // md.snapshot. The snapshot must never become visible before its update: a restart trusts
  // md.snapshot to describe only what md.ticks already holds (docs/normalizer.md, "Restart").
  virtual void emit(std::string_view symbol, const marketdata::v1::MarketDataUpdate& update,
                    const marketdata::v1::SymbolSnapshot* snapshot) = 0;
};

// Keeps a copy of everything, in order. For tests.
class MemorySink final : public TickSink {
public:
  void emit(std::string_view symbol, const marketdata::v1::MarketDataUpdate& update,
            const marketdata::v1::SymbolSnapshot* snapshot) override;

  [[nodiscard]] const std::vector<marketdata::v1::MarketDataUpdate>& updates() const noexcept {
    return updates_;
  }
  [[nodiscard]] const std::vector<marketdata::v1::SymbolSnapshot>& snapshots() const noexcept {
    return snapshots_;
  }
  // Updates emitted for `symbol`, in order.
  [[nodiscard]] std::vector<marketdata::v1::MarketDataUpdate> updatesFor(
      std::string_view symbol) const;
  void clear() noexcept {
    updates_.clear();
    snapshots_.clear();
  }

private:
  std::vector<marketdata::v1::MarketDataUpdate> updates_;
  std::vector<marketdata::v1::SymbolSnapshot> snapshots_;
};

} // namespace tickstream::normalizer
