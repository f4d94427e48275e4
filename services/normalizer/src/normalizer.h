#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <google/protobuf/arena.h>

#include "tick_sink.h"
#include "trade_ledger.h"
#include "tickstream/book/book_set.h"
#include "tickstream/itch/messages.h"
#include "tickstream/marketdata/v1/marketdata.pb.h"

// The normalizer's core: decoded ITCH messages (as they arrive on md.raw) in, per-symbol
// MarketDataUpdates and SymbolSnapshots out through a TickSink. It keeps every book (libs/book),
// trades, session stats, 1 s and 1 min bars and the trading status; emits only what a subscriber
// can see changed; caps each symbol's update rate by conflation; and numbers each symbol's
// updates densely from 1 (or from a restored snapshot). Time is injected: nothing here reads a
// clock. docs/normalizer.md describes the rules.
namespace tickstream::normalizer {

struct NormalizerConfig {
  // Books, live orders and depth N (depth_levels). A book for every ITCH stock locate (a
  // uint16): an OrderBook costs nothing until it holds orders, and with fewer books a symbol
  // whose locate lay beyond them was dropped without a word (exchange-sim lists up to 65535).
  book::BookSetConfig book{.books = 65'536};
  uint32_t max_updates_per_second = 20;    // per-symbol rate cap; 1..1e9
  std::string trading_day;                 // exchange-local "YYYY-MM-DD" put in snapshots
  // Latest printable executions remembered per md.raw partition so a Broken Trade ('B') can
  // withdraw them (~60 bytes each, per partition owned); a break of an older one is counted in
  // unknown_breaks and changes nothing.
  size_t broken_trade_memory = size_t{1} << 16;

  // Throws std::invalid_argument naming the first bad field.
  void validate() const;
};

// What onMessage() did with a message.
enum class ApplyResult {
  Ok,            // applied (whether or not anything was emitted)
  Ignored,       // a type the normalizer does not use (NOII, Reg SHO, system events, ...)
  UnknownSymbol, // a locate no Stock Directory registered: book kept, nothing emitted
  BookRejected,  // the book refused the event (unknown order, overfill, ...): nothing changed
  UnknownTrade,  // a Broken Trade of an execution not remembered: nothing changed
};

// Where a symbol's published output ended, as a restart recovers it from md.snapshot and the
// tail of md.ticks (docs/normalizer.md, "Restart").
struct RestorePoint {
  uint64_t last_seq = 0;          // seq of the last update published
  int64_t raw_next_offset = 0;    // md.raw offset after the last record that update reflected
  int64_t publish_ts_ns = 0;      // when it was published (the rate cap continues from it)
};

struct NormalizerStats {
  uint64_t messages = 0;     // onMessage() calls
  uint64_t updates = 0;      // updates emitted
  uint64_t snapshots = 0;    // snapshots emitted
  uint64_t conflated = 0;    // changes merged into a later update by the rate cap
  uint64_t suppressed = 0;   // events that changed nothing visible
  uint64_t book_errors = 0;  // BookRejected results
  uint64_t unknown_symbol = 0;
  uint64_t absorbed = 0;     // changes already published before a restart (applied silently)
  uint64_t broken_trades = 0;   // Broken Trade messages applied
  uint64_t unknown_breaks = 0;  // Broken Trades of an execution not (or no longer) remembered
};

class Normalizer {
public:
  // `sink` is not owned and must outlive the normalizer. Throws std::invalid_argument on a bad
  // config.
  Normalizer(const NormalizerConfig& config, TickSink& sink);

  // One decoded message. `exchange_ts_ns` and `receive_ts_ns` are RawFeedMessage's (epoch ns);
  // `now_ns` is the injected current time the rate cap and publish_ts_ns use. `raw_next_offset`
  // is the md.raw offset after this record (0 = not from Kafka): it goes into updates and
  // snapshots, and a record at or below a symbol's restored point is applied without output.
  // Never throws; in steady state (symbols registered, buffers grown) it does not allocate.
  // `raw_partition` is the md.raw partition of the record (-1 = not from Kafka). Market-wide
  // messages are copied to every partition, so one from partition P is applied only to the
  // symbols whose Stock Directory came on P, in that partition's order.
  ApplyResult onMessage(const itch::Message& message, int64_t exchange_ts_ns,
                        int64_t receive_ts_ns, int64_t now_ns,
                        int64_t raw_next_offset = 0, int32_t raw_partition = -1) noexcept;

  // Emits every conflated symbol whose rate-cap interval has passed by `now_ns`. Call it
  // regularly (e.g. every few ms): it is what guarantees the latest state always goes out.
  void tick(int64_t now_ns) noexcept;
  // Emits every conflated symbol now, ignoring the cap (shutdown, end of a replay).
  void flushAll(int64_t now_ns) noexcept;

  // Restart: continues `symbol` after what was already published. Its seq continues after
  // `point.last_seq`; records up to `point.raw_next_offset` (replayed from md.raw) rebuild the
  // book and stats without output; the rate cap continues from `point.publish_ts_ns`. May come
  // before or after the symbol's Stock Directory; several points merge by taking the maximum
  // of each field, so nothing moves backwards.
  // Returns true when the point was beyond the seq the normalizer had for the symbol.
  bool restore(std::string_view symbol, const RestorePoint& point);
  bool restore(const marketdata::v1::SymbolSnapshot& snapshot);
  bool restore(const marketdata::v1::MarketDataUpdate& update);

  // The full current state of `symbol`, or false if unknown. Allocates: not for the hot path.
  [[nodiscard]] bool snapshot(std::string_view symbol, int64_t now_ns,
                              marketdata::v1::SymbolSnapshot& out) const;
  // Last seq emitted (or restored) for `symbol`; 0 if none or unknown.
  [[nodiscard]] uint64_t lastSeq(std::string_view symbol) const noexcept;

  [[nodiscard]] const book::BookSet& books() const noexcept { return books_; }
  [[nodiscard]] const NormalizerStats& stats() const noexcept { return stats_; }
  [[nodiscard]] const NormalizerConfig& config() const noexcept { return config_; }

private:
  static constexpr size_t kBars = 2;  // [0] = 1 s, [1] = 1 min

  struct BarState {
    int64_t start_ts_ns = 0;
    int64_t open = 0;
    int64_t high = 0;
    int64_t low = 0;
    int64_t close = 0;
    int64_t volume = 0;
    book::Uint128 notional = 0;
    uint32_t trades = 0;
    bool active = false;
  };

  struct TradeState {
    int64_t price = 0;
    int64_t size = 0;
    marketdata::v1::AggressorSide aggressor = marketdata::v1::AGGRESSOR_SIDE_UNSPECIFIED;
    uint64_t match_number = 0;
    int64_t exchange_ts_ns = 0;
    bool cross = false;
    int64_t session_volume = 0;
  };

  struct BreakState {
    uint64_t match_number = 0;
    int64_t price = 0;
    int64_t size = 0;
    int64_t exchange_ts_ns = 0;
    int64_t session_volume = 0;
    int64_t session_vwap = 0;
    uint64_t session_trade_count = 0;
  };

  struct SymbolState {
    std::string symbol;
    uint16_t locate = 0;
    uint64_t seq = 0;

    // Session.
    bool has_trade = false;
    TradeState last_trade;
    int64_t volume = 0;
    book::Uint128 notional = 0;
    uint64_t trade_count = 0;
    int64_t open = 0;
    int64_t high = 0;
    int64_t low = 0;
    std::array<BarState, kBars> bars{};
    std::array<BarState, kBars> closed{};  // a completed bar not yet emitted
    marketdata::v1::TradingState state = marketdata::v1::TRADING_STATE_UNSPECIFIED;  // published
    std::string reason;                                                              // published
    // What the Stock Trading Action ('H') messages say, and whether an Operational Halt ('h')
    // on NASDAQ holds the symbol: the published state is HALTED while it does, else the 'H' one.
    marketdata::v1::TradingState action_state = marketdata::v1::TRADING_STATE_UNSPECIFIED;
    std::string action_reason;
    bool operational_halt = false;
    // A market-wide circuit breaker ('W') breached at this level (1-3; 0 = none) halts the
    // symbol at once. Levels 1 and 2 hold until the symbol's next Trading Action (NASDAQ
    // halts and then resumes each security with its own); level 3 holds for the rest of the day.
    char mwcb_level = 0;
    int32_t raw_partition = -1;  // md.raw partition its Stock Directory came on (-1: not Kafka)
    int64_t status_ts_ns = 0;
    int64_t quote_ts_ns = 0;
    int64_t depth_ts_ns = 0;
    int64_t exchange_ts_ns = 0;  // latest event reflected
    int64_t receive_ts_ns = 0;
    int64_t changed_ns = 0;    // when the latest change was applied: the cap's hold runs from it
    int64_t raw_next = 0;      // md.raw offset after the latest record reflected
    int64_t silent_until = 0;  // restored: records with raw_next <= this were already published

    // What was last published, to suppress parts that did not change.
    book::Level pub_bid{};
    book::Level pub_ask{};
    std::vector<book::Level> pub_bids;  // size N; pub_nbids used
    std::vector<book::Level> pub_asks;
    size_t pub_nbids = 0;
    size_t pub_nasks = 0;

    // Changes not yet published.
    bool book_dirty = false;
    bool trade_dirty = false;
    bool status_dirty = false;
    std::vector<BreakState> breaks;  // not yet published; allocates, but breaks are rare
    std::array<bool, kBars> bar_dirty{};
    std::array<bool, kBars> closed_dirty{};
    uint32_t pending = 0;  // events merged into the next update
    int64_t next_allowed_ns = std::numeric_limits<int64_t>::min();
    bool queued = false;
  };

  SymbolState* stateFor(uint16_t locate) noexcept;
  void registerSymbol(uint16_t locate, std::string_view symbol);
  // The published trading state from the symbol's Trading Action and Operational Halt; an
  // update when it changed (a repeat is suppressed).
  void onStatus(SymbolState& s, int64_t exchange_ts_ns, int64_t receive_ts_ns, int64_t now_ns) noexcept;
  void onBook(const book::Update& u, uint64_t match_number, int64_t exchange_ts_ns,
              int64_t receive_ts_ns, int64_t now_ns) noexcept;
  // Closes every bar of `s` whose interval ended before the interval of `exchange_ts_ns`; true
  // if one closed (a visible change).
  // A completed bar still held by the rate cap is published first (over the cap) rather than
  // overwritten; `now_ns` stamps that update.
  bool rollBars(SymbolState& s, int64_t exchange_ts_ns, int64_t now_ns) noexcept;
  void onTrade(SymbolState& s, int64_t price, int64_t size, marketdata::v1::AggressorSide side,
               uint64_t match_number, bool cross, int64_t exchange_ts_ns, int64_t now_ns) noexcept;
  // Withdraws a remembered execution from `s`'s session totals and its bar in progress.
  void onBreak(SymbolState& s, const LedgerTrade& trade, int64_t exchange_ts_ns,
               int64_t now_ns) noexcept;
  // Records a visible change and emits now, or conflates if the symbol is over its rate.
  void changed(SymbolState& s, int64_t exchange_ts_ns, int64_t receive_ts_ns,
               int64_t now_ns) noexcept;
  // Publishes what is pending for `s`. Returns true if something is still pending (a bar that
  // has to wait for the next update).
  bool publish(SymbolState& s, int64_t now_ns) noexcept;
  // A change that was published before a restart: the state moves, the output does not.
  void absorb(SymbolState& s) noexcept;
  void applyRestore(SymbolState& s, const RestorePoint& p) noexcept;
  void releaseDirty(int64_t now_ns, bool ignore_cap) noexcept;
  void fillSnapshot(const SymbolState& s, int64_t now_ns,
                    marketdata::v1::SymbolSnapshot& out) const;

  NormalizerConfig config_;
  TickSink& sink_;
  book::BookSet books_;
  // One ledger per md.raw partition (index: partition + 1; -1 = not from Kafka), created when
  // the partition's first Stock Directory registers: a partition's records replay in the same
  // order after a restart, the interleaving of partitions does not, so a single ring would
  // forget different executions before and after a restart.
  std::vector<std::unique_ptr<TradeLedger>> ledgers_;
  TradeLedger& ledgerFor(const SymbolState& s) noexcept {
    return *ledgers_[static_cast<size_t>(s.raw_partition + 1)];
  }
  int64_t min_interval_ns_ = 0;
  std::vector<uint32_t> index_by_locate_;  // locate -> 1 + index in symbols_; 0 = unknown
  std::vector<SymbolState> symbols_;
  std::unordered_map<std::string, size_t> index_by_symbol_;
  std::unordered_map<std::string, RestorePoint> restored_;  // restores before the directory
  int64_t raw_next_ = 0;  // the record onMessage() is applying
  int32_t raw_partition_ = -1;  // and its md.raw partition
  std::vector<uint16_t> dirty_;  // locates with conflated changes waiting for the cap
  std::vector<uint16_t> still_dirty_;
  mutable std::vector<book::Level> scratch_bids_;  // depth reads without allocating
  mutable std::vector<book::Level> scratch_asks_;
  // The update and snapshot being published live on this arena, reset before each publish:
  // reusing plain messages did not avoid allocation, because Clear() deletes a message's
  // sub-messages (quote, depth and its levels, trade, status), ~50 mallocs and frees for an
  // update and its snapshot at depth 10, the largest items of the profile without a rate cap. The first block is ours
  // and survives Reset(), so an update and its snapshot normally allocate nothing.
  static constexpr size_t kArenaBlockBytes = 64 * 1024;
  std::unique_ptr<char[]> arena_block_;
  google::protobuf::Arena arena_;
  NormalizerStats stats_;
};

} // namespace tickstream::normalizer
