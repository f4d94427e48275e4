#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "symbol_info.h"
#include "tickstream/marketdata/v1/marketdata.pb.h"

// The order service's view of the market (docs/order.md, "Symbols"): which symbols are listed,
// their last trade (the price band's centre, a market order's valuation) and whether they are
// halted. Filled from the compacted md.snapshot topic that the normalizer keeps, so it is the
// same market the apps see.
namespace tickstream::order {

class SymbolDirectory final : public SymbolLookup {
 public:
  [[nodiscard]] std::optional<SymbolInfo> find(std::string_view symbol) const override;
  // Halted or paused (TradingStatus HALTED / PAUSED): orders are rejected with SYMBOL_HALTED.
  [[nodiscard]] bool halted(std::string_view symbol) const;
  // Takes the snapshot's symbol, last trade and trading state.
  void apply(const marketdata::v1::SymbolSnapshot& snapshot);
  [[nodiscard]] std::size_t size() const;

 private:
  struct Entry {
    SymbolInfo info;
    bool halted = false;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> symbols_;
};

// A thread that reads md.snapshot from the beginning into a SymbolDirectory and keeps following
// it. `on_caught_up` runs once, on that thread, when every partition has been read up to where it
// ended at start (then the directory is as complete as the topic was: the service may report
// ready). A record that does not parse is counted and skipped.
class SnapshotFollower {
 public:
  SnapshotFollower(std::string brokers, std::string topic, SymbolDirectory& directory,
                   std::function<void()> on_caught_up);
  ~SnapshotFollower();
  SnapshotFollower(const SnapshotFollower&) = delete;
  SnapshotFollower& operator=(const SnapshotFollower&) = delete;

  // Throws when the topic does not exist.
  void start();
  void stop();
  [[nodiscard]] std::uint64_t malformed() const { return malformed_.load(); }

 private:
  void run();

  const std::string brokers_;
  const std::string topic_;
  SymbolDirectory& directory_;
  std::function<void()> on_caught_up_;
  int partitions_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> malformed_{0};
  std::thread thread_;
};

}  // namespace tickstream::order
