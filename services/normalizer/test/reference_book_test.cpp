// The normalizer's published depth against a deliberately simple reference book that this test
// builds from the same ITCH messages, with std::map and no cleverness: an order table, and per
// symbol and side a sorted map of price -> (shares, orders). It shares no code with libs/book
// (whose own property test compares it with a brute-force model) nor with exchange-sim's truth
// (which is a libs/book BookSet), so a mistake in how the normalizer turns ITCH into book events
// (a side, a replace, an execution with price) or into PriceLevels shows here.
#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <variant>

#include "market.h"
#include "normalizer.h"
#include "tick_sink.h"
#include "tickstream/itch/messages.h"

namespace itch = tickstream::itch;
namespace mdv1 = tickstream::marketdata::v1;
using tickstream::exchange_sim::MarketConfig;
using tickstream::exchange_sim::MarketSimulator;
using tickstream::normalizer::MemorySink;
using tickstream::normalizer::Normalizer;
using tickstream::normalizer::NormalizerConfig;

namespace {

constexpr int64_t kDay = 1'704'153'600LL * 1'000'000'000;
constexpr int kDepth = 5;

struct Level {
  int64_t shares = 0;
  uint32_t orders = 0;
};

class ReferenceBooks {
 public:
  void apply(const itch::Message& message) {
    std::visit(
        [this](const auto& m) {
          using T = std::decay_t<decltype(m)>;
          if constexpr (std::is_same_v<T, itch::StockDirectory>) {
            symbols_[m.stock_locate] = std::string(itch::symbol(m.stock));
          } else if constexpr (std::is_same_v<T, itch::AddOrder> || std::is_same_v<T, itch::AddOrderMpid>) {
            add(m.order_ref, m.stock_locate, m.side == 'B', m.price, m.shares);
          } else if constexpr (std::is_same_v<T, itch::OrderExecuted> ||
                               std::is_same_v<T, itch::OrderExecutedWithPrice>) {
            reduce(m.order_ref, m.executed_shares);
          } else if constexpr (std::is_same_v<T, itch::OrderCancel>) {
            reduce(m.order_ref, m.cancelled_shares);
          } else if constexpr (std::is_same_v<T, itch::OrderDelete>) {
            reduce(m.order_ref, orders_.at(m.order_ref).shares);
          } else if constexpr (std::is_same_v<T, itch::OrderReplace>) {
            const Order old = orders_.at(m.original_order_ref);
            reduce(m.original_order_ref, old.shares);
            add(m.new_order_ref, old.locate, old.buy, m.price, m.shares);
          }
        },
        message);
  }

  [[nodiscard]] const std::map<uint16_t, std::string>& symbols() const { return symbols_; }

  // The best kDepth levels of a side, best first, as the normalizer publishes them.
  [[nodiscard]] std::vector<mdv1::PriceLevel> top(uint16_t locate, bool buy) const {
    std::vector<mdv1::PriceLevel> out;
    const auto collect = [&](const auto& levels) {
      for (const auto& [price, level] : levels) {
        if (static_cast<int>(out.size()) == kDepth) break;
        auto& l = out.emplace_back();
        l.set_price(price);
        l.set_size(level.shares);
        l.set_order_count(level.orders);
      }
    };
    if (const auto it = books_.find(locate); it != books_.end()) {
      if (buy) {
        collect(it->second.bids);
      } else {
        collect(it->second.asks);
      }
    }
    return out;
  }

 private:
  struct Order {
    uint16_t locate;
    bool buy;
    int64_t price;
    int64_t shares;
  };
  struct Book {
    std::map<int64_t, Level, std::greater<>> bids;  // best (highest) first
    std::map<int64_t, Level> asks;                  // best (lowest) first
  };

  void add(uint64_t ref, uint16_t locate, bool buy, int64_t price, int64_t shares) {
    orders_[ref] = Order{locate, buy, price, shares};
    Level& l = buy ? books_[locate].bids[price] : books_[locate].asks[price];
    l.shares += shares;
    ++l.orders;
  }

  void reduce(uint64_t ref, int64_t shares) {
    Order& o = orders_.at(ref);
    Book& b = books_[o.locate];
    const auto change = [&](auto& levels) {
      Level& l = levels.at(o.price);
      l.shares -= shares;
      if (o.shares == shares && --l.orders == 0) levels.erase(o.price);
    };
    if (o.buy) {
      change(b.bids);
    } else {
      change(b.asks);
    }
    o.shares -= shares;
    if (o.shares == 0) orders_.erase(ref);
  }

  std::unordered_map<uint64_t, Order> orders_;
  std::map<uint16_t, Book> books_;
  std::map<uint16_t, std::string> symbols_;
};

bool sameLevels(const google::protobuf::RepeatedPtrField<mdv1::PriceLevel>& published,
                const std::vector<mdv1::PriceLevel>& reference) {
  if (published.size() != static_cast<int>(reference.size())) return false;
  for (int i = 0; i < published.size(); ++i) {
    const auto& p = published[i];
    const auto& r = reference[static_cast<std::size_t>(i)];
    if (p.price() != r.price() || p.size() != r.size() || p.order_count() != r.order_count()) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("every symbol's published depth equals a simple reference book built from the same ITCH stream") {
  MarketConfig mc;
  mc.symbols = 40;
  mc.seed = GENERATE(3, 17, 2024);
  mc.target_orders = 60;
  MarketSimulator sim(mc);

  NormalizerConfig nc;
  nc.book.books = 64;
  nc.book.expected_orders = 1 << 14;
  nc.book.depth_levels = kDepth;
  nc.max_updates_per_second = 1'000'000'000;  // every visible change goes out at once
  nc.trading_day = "2024-01-02";
  MemorySink sink;
  Normalizer n(nc, sink);
  ReferenceBooks ref;

  std::map<std::string, mdv1::Depth> published;  // the last depth each symbol published
  std::size_t seen = 0;
  uint64_t checkpoints = 0, mismatches = 0, fed = 0, next_check = 5'000;
  itch::Message m;
  int64_t now = kDay;
  while (fed < 150'000 || !sim.atEventBoundary()) {
    sim.next(m);
    now = kDay + static_cast<int64_t>(std::visit([](const auto& x) { return x.timestamp_ns; }, m));
    n.onMessage(m, now, now, now);
    ref.apply(m);
    ++fed;
    // Compare at the first event boundary after every 5,000 messages (a cross is several
    // messages: in the middle of one the book is between states), and at the end.
    if (!sim.atEventBoundary() || (fed < next_check && fed < 150'000)) continue;
    next_check = fed + 5'000;
    n.flushAll(now);
    const auto& ups = sink.updates();
    for (; seen < ups.size(); ++seen) {
      if (ups[seen].has_depth()) published[ups[seen].symbol()] = ups[seen].depth();
    }
    ++checkpoints;
    for (const auto& [locate, symbol] : ref.symbols()) {
      const auto bids = ref.top(locate, true);
      const auto asks = ref.top(locate, false);
      const auto it = published.find(symbol);
      const bool empty = bids.empty() && asks.empty();
      const bool same = it == published.end() ? empty
                                              : sameLevels(it->second.bids(), bids) && sameLevels(it->second.asks(), asks);
      if (!same) {
        ++mismatches;
        INFO("symbol " << symbol << " after " << fed << " messages");
        CHECK(same);
      }
    }
  }
  CHECK(checkpoints >= 30);
  CHECK(mismatches == 0);
  CHECK(ref.symbols().size() == mc.symbols);
}
