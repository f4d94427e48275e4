#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "tickstream/book/book_set.h"
#include "tickstream/itch/messages.h"

// A deterministic simulated market that speaks NASDAQ TotalView-ITCH 5.0: the start-of-day
// preamble, then an endless order flow per symbol around a random-walk mid price. It applies
// everything it emits to its own BookSet, which is the truth a pipeline's books are compared
// with. docs/exchange-sim.md describes the stream and the knobs.
namespace tickstream::exchange_sim {

struct MarketConfig {
  uint32_t symbols = 1000;            // instruments, stock locate 1..symbols; 1..65535
  uint64_t seed = 1;                  // the same seed (and config) gives the same stream
  uint32_t target_orders = 40;        // resting orders per symbol the flow hovers around; 1..10000
  uint64_t mean_gap_ns = 4000;        // mean time between order-flow events; 1..1e9
  uint64_t burst_events = 100'000;    // order-flow events after the open at burst_speedup x rate
  uint32_t burst_speedup = 10;        // how much denser the opening burst is; 1..1000
  uint32_t halts_per_million = 20;    // trading halts started per million order-flow events
  uint32_t min_price = 5'0000;        // lowest opening mid, Price(4) ($5); a multiple of 100
  uint32_t max_price = 500'0000;      // highest opening mid, Price(4) ($500); >= min_price

  // Throws std::invalid_argument naming the first bad field.
  void validate() const;
};

// The best level of each side; a zero Level for an empty side.
struct TopOfBook {
  book::Level bid;
  book::Level ask;
  bool operator==(const TopOfBook&) const = default;
};

// One execution of a resting simulated order against an order from outside the simulation (a
// routed order of the venue, services/exchange-sim/src/matching_engine.h).
struct SimFill {
  book::Price price = 0;      // the execution price
  book::Shares shares = 0;    // shares executed
  uint64_t match_number = 0;  // the ITCH match number the feed carries for this execution
};

// Messages emitted so far, by ITCH type byte.
using MessageCounts = std::array<uint64_t, 256>;

// xoshiro256** seeded through splitmix64: small, fast and the same on every platform (the
// standard distributions are not, so the simulator draws integers only).
class Rng {
public:
  explicit Rng(uint64_t seed) noexcept;
  uint64_t next() noexcept;
  // Uniform in [0, n) for n > 0 (Lemire's multiply-shift; the bias is below 2^-32 for our n).
  uint64_t below(uint64_t n) noexcept;
  // True with probability num/den.
  bool chance(uint64_t num, uint64_t den) noexcept { return below(den) < num; }

private:
  std::array<uint64_t, 4> s_{};
};

class MarketSimulator {
public:
  // Throws std::invalid_argument (config.validate()).
  explicit MarketSimulator(const MarketConfig& config);

  // The next message of the stream. Never ends, never throws and, once the pending queue and
  // the per-symbol order lists have reached their largest size, never allocates.
  void next(itch::Message& out) noexcept;

  // The truth: every message emitted so far applied to a BookSet (book index = stock locate).
  [[nodiscard]] TopOfBook topOfBook(uint16_t locate) const noexcept;
  [[nodiscard]] const book::BookSet& truth() const noexcept { return truth_; }
  // BookSet calls that did not return Ok; non-zero is a simulator bug.
  [[nodiscard]] uint64_t truthErrors() const noexcept { return truth_errors_; }

  // True when every message generated so far has been emitted, so truth() is exactly the
  // stream emitted so far; false in the middle of an event (or of the preamble).
  [[nodiscard]] bool atEventBoundary() const noexcept { return head_ == pending_.size(); }

  [[nodiscard]] uint64_t emitted() const noexcept { return emitted_; }
  [[nodiscard]] const MessageCounts& counts() const noexcept { return counts_; }
  [[nodiscard]] const MarketConfig& config() const noexcept { return config_; }
  // The ticker of `locate` (1..symbols), without padding.
  [[nodiscard]] std::string_view symbol(uint16_t locate) const noexcept;
  [[nodiscard]] bool halted(uint16_t locate) const noexcept { return symbols_[locate].halted; }

  // Orders from outside the simulation (the venue's routed orders) trade with the simulated
  // book through these. Whatever they change is queued as ITCH messages behind the event in
  // flight and applied to the truth at once, like the simulator's own events.

  // Displayed shares resting opposite an order on `side` at `limit` or better (0 = any price),
  // counted up to `cap`.
  [[nodiscard]] uint64_t liquidity(uint16_t locate, book::Side side, book::Price limit,
                                   uint64_t cap) const noexcept;
  // An order on `side` takes up to `shares` of the displayed liquidity at `limit` or better
  // (0 = any price), in price-time priority. Each fill is an ITCH E at the resting price, or,
  // when `price` is non-zero, a C at `price`: the outside order was resting first and its price
  // sets the trade's. Appends one SimFill per execution to `fills`; returns the shares taken.
  uint64_t take(uint16_t locate, book::Side side, book::Price limit, uint64_t shares,
                book::Price price, std::vector<SimFill>& fills) noexcept;
  // Two outside orders traded: an ITCH P (non-displayed trade, order reference 0), as the feed
  // shows a match between hidden orders. `side` is the resting order's, as ITCH's Buy/Sell
  // Indicator of a P message is. Returns the match number.
  uint64_t printNonDisplayed(uint16_t locate, book::Side side, book::Shares shares,
                             book::Price price) noexcept;

private:
  struct SymbolState {
    itch::Symbol stock{};
    uint32_t mid_ticks = 0;            // random-walk mid in $0.01 ticks
    bool halted = false;
    std::vector<book::OrderRef> live;  // the symbol's resting orders, in no particular order
  };

  void preamble();
  void generate() noexcept;
  void addPassive(uint16_t locate, book::Side side) noexcept;
  void aggress(uint16_t locate, book::Side side) noexcept;
  // Each returns false (and emits nothing) when the symbol has no resting order.
  bool cancelSome(uint16_t locate) noexcept;
  bool deleteOne(uint16_t locate) noexcept;
  bool replaceOne(uint16_t locate) noexcept;
  void hiddenTrade(uint16_t locate) noexcept;
  void tradingAction(uint16_t locate, char state) noexcept;

  // The index in live of an order of `locate` picked at random; false if it has none.
  bool pickLive(uint16_t locate, std::size_t& index) noexcept;
  // Fills crossing_ with the orders resting opposite `side` at `limit` or better (0 = any
  // price), best price first, then oldest first.
  void collectCrossing(uint16_t locate, book::Side side, book::Price limit) noexcept;
  // Removes a fully executed order from its symbol's list of resting orders.
  void forgetLive(uint16_t locate, book::OrderRef ref) noexcept;
  // A resting price for a new order on `side`: near the mid, never crossing the other side.
  uint32_t passivePrice(uint16_t locate, book::Side side) noexcept;
  uint32_t orderSize() noexcept;
  void advanceClock() noexcept;
  void push(const itch::Message& m) noexcept;
  void check(const book::Update& u) noexcept;

  MarketConfig config_;
  Rng rng_;
  book::BookSet truth_;
  std::vector<SymbolState> symbols_;  // index = stock locate; [0] unused
  std::vector<itch::Message> pending_;
  std::size_t head_ = 0;
  std::vector<book::OrderEntry> crossing_;
  uint64_t now_ns_ = 0;
  uint64_t next_ref_ = 1;
  uint64_t next_match_ = 1;
  uint64_t flow_events_ = 0;
  uint64_t emitted_ = 0;
  uint64_t truth_errors_ = 0;
  MessageCounts counts_{};
};

// The ticker of stock locate `locate`: pronounceable consonant-vowel syllables ("BAKO",
// "TUMELI"), unique per locate, independent of the seed.
[[nodiscard]] itch::Symbol tickerFor(uint16_t locate) noexcept;

} // namespace tickstream::exchange_sim
