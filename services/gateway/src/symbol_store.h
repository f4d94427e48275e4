#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tickstream/marketdata/v1/marketdata.pb.h"

// What a gateway shard knows about each symbol it serves: the latest full state (loaded from
// md.snapshot, then kept current by applying md.ticks updates) and a bounded history of recent
// updates, so a client that reconnects can be sent what it missed instead of a new snapshot.
// Used from one thread (the gateway's market thread); not thread-safe.
namespace tickstream::gateway {

struct SymbolStoreConfig {
  std::size_t history_per_symbol = 256;  // recent updates kept per symbol for Resume
  std::size_t max_symbols = 100'000;     // symbols beyond this are refused (counted)

  void validate() const;  // throws std::invalid_argument naming the field
};

// One update as the store keeps it: shared, immutable once stored.
using UpdatePtr = std::shared_ptr<const marketdata::v1::MarketDataUpdate>;

enum class ApplyStatus {
  Applied,    // newer than anything known: state advanced, update kept in the history
  Stale,      // seq at or below the symbol's last seq (a replay or duplicate): ignored
  Gap,        // newer, but not last + 1: applied; the history restarts from it (resume across
              // the gap gets a snapshot)
  Full,       // a new symbol beyond max_symbols: ignored
};

class SymbolStore {
public:
  explicit SymbolStore(SymbolStoreConfig config = {});

  // A snapshot from md.snapshot: replaces the symbol's state if it is at least as new.
  // Returns false when it is older than what is known (ignored).
  bool loadSnapshot(const marketdata::v1::SymbolSnapshot& snapshot);

  // An update from md.ticks, merged into the symbol's state.
  ApplyStatus apply(const UpdatePtr& update);

  // The symbol's current state, or null if unknown.
  [[nodiscard]] const marketdata::v1::SymbolSnapshot* snapshot(std::string_view symbol) const;

  // Appends to `out` the kept updates with seq > `last_seq`, oldest first, and returns true
  // if they continue `last_seq` without a hole (the client can be resumed from them). False
  // (and nothing appended) when the history no longer reaches back that far, or the symbol is
  // unknown: send a snapshot instead. A `last_seq` at the current seq yields true and nothing.
  bool updatesAfter(std::string_view symbol, uint64_t last_seq, std::vector<UpdatePtr>& out) const;

  // Every symbol known, in no particular order (allocates; for /v1/symbols).
  [[nodiscard]] std::vector<std::string> symbols() const;
  [[nodiscard]] std::size_t size() const noexcept { return symbols_.size(); }
  [[nodiscard]] uint64_t refused() const noexcept { return refused_; }

private:
  struct Entry {
    marketdata::v1::SymbolSnapshot state;
    std::vector<UpdatePtr> ring;  // history, circular; capacity history_per_symbol
    std::size_t head = 0;         // next slot to write
    std::size_t count = 0;        // valid entries
  };

  Entry* find(std::string_view symbol);
  const Entry* find(std::string_view symbol) const;
  Entry* findOrAdd(const std::string& symbol);
  void remember(Entry& e, const UpdatePtr& update);
  static void merge(marketdata::v1::SymbolSnapshot& state,
                    const marketdata::v1::MarketDataUpdate& update);

  SymbolStoreConfig config_;
  std::unordered_map<std::string, Entry> symbols_;
  uint64_t refused_ = 0;
};

} // namespace tickstream::gateway
