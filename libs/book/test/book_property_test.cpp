#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tickstream/book/book_set.h"

using namespace tickstream::book;

namespace {

constexpr size_t kBooks = 20;
constexpr size_t kDepth = 5;  // small, so many events land outside the window

// A deliberately simple model of the specification (docs/book.md): every order in one std::map,
// levels recomputed from scratch by scanning a book's orders, statuses checked in the documented
// precedence. Nothing here shares code or data structures with the library.
class Reference {
public:
  struct Order {
    BookId book;
    Side side;
    Price price;
    Shares shares;
  };
  struct Trades {
    Price last_price = 0;
    Shares last_shares = 0;
    uint64_t trades = 0;
    uint64_t volume = 0;
    Uint128 notional = 0;
  };
  struct Result {
    Status status = Status::Ok;
    BookId book = 0;
    Side side = Side::Buy;
    bool traded = false;
    bool printable = false;
    Shares trade_shares = 0;
    Price trade_price = 0;
  };

  std::map<OrderRef, Order> orders;
  std::vector<Trades> trades = std::vector<Trades>(kBooks);

  static bool badPrice(Price p) { return p == 0 || p > kMaxPrice; }

  Result apply(const Event& ev) {
    Result r;
    switch (ev.type) {
    case EventType::Add:
      if (ev.book >= kBooks) {
        r.status = Status::UnknownBook;
      } else if (ev.shares == 0) {
        r.status = Status::BadShares;
      } else if (badPrice(ev.price)) {
        r.status = Status::BadPrice;
      } else if (orders.count(ev.ref) != 0) {
        r.status = Status::DuplicateOrder;
      } else {
        orders[ev.ref] = Order{ev.book, ev.side, ev.price, ev.shares};
        r.book = ev.book;
        r.side = ev.side;
      }
      return r;
    case EventType::Execute:
    case EventType::ExecuteWithPrice:
    case EventType::Cancel: {
      const bool with_price = ev.type == EventType::ExecuteWithPrice;
      if (ev.shares == 0) {
        r.status = Status::BadShares;
        return r;
      }
      if (with_price && badPrice(ev.price)) {
        r.status = Status::BadPrice;
        return r;
      }
      auto it = orders.find(ev.ref);
      if (it == orders.end()) {
        r.status = Status::UnknownOrder;
        return r;
      }
      if (ev.shares > it->second.shares) {
        r.status = Status::Overfill;
        return r;
      }
      Order& o = it->second;
      r.book = o.book;
      r.side = o.side;
      if (ev.type != EventType::Cancel) {
        r.traded = true;
        r.printable = !with_price || ev.printable;
        r.trade_shares = ev.shares;
        r.trade_price = with_price ? ev.price : o.price;
        if (r.printable) {
          Trades& t = trades[o.book];
          t.last_price = r.trade_price;
          t.last_shares = ev.shares;
          ++t.trades;
          t.volume += ev.shares;
          t.notional += Uint128{r.trade_price} * ev.shares;
        }
      }
      o.shares -= ev.shares;
      if (o.shares == 0) {
        orders.erase(it);
      }
      return r;
    }
    case EventType::Delete: {
      auto it = orders.find(ev.ref);
      if (it == orders.end()) {
        r.status = Status::UnknownOrder;
        return r;
      }
      r.book = it->second.book;
      r.side = it->second.side;
      orders.erase(it);
      return r;
    }
    case EventType::Replace: {
      if (ev.shares == 0) {
        r.status = Status::BadShares;
        return r;
      }
      if (badPrice(ev.price)) {
        r.status = Status::BadPrice;
        return r;
      }
      auto it = orders.find(ev.ref);
      if (it == orders.end()) {
        r.status = Status::UnknownOrder;
        return r;
      }
      if (ev.new_ref == ev.ref || orders.count(ev.new_ref) != 0) {
        r.status = Status::DuplicateOrder;
        return r;
      }
      const Order old = it->second;
      orders.erase(it);
      orders[ev.new_ref] = Order{old.book, old.side, ev.price, ev.shares};
      r.book = old.book;
      r.side = old.side;
      return r;
    }
    }
    FAIL("unknown event type");
    return r;
  }

  // Brute force: scan every order, aggregate by price, sort best first.
  std::vector<Level> levels(BookId book, Side side) const {
    std::map<Price, Level> by_price;
    for (const auto& [ref, o] : orders) {
      if (o.book == book && o.side == side) {
        Level& l = by_price[o.price];
        l.price = o.price;
        ++l.orders;
        l.shares += o.shares;
      }
    }
    std::vector<Level> out;
    for (const auto& [p, l] : by_price) {
      out.push_back(l);
    }
    if (side == Side::Buy) {
      std::reverse(out.begin(), out.end());
    }
    return out;
  }
};

std::vector<Level> head(const std::vector<Level>& v, size_t n) {
  return {v.begin(), v.begin() + static_cast<ptrdiff_t>(std::min(n, v.size()))};
}

std::string describe(const Event& ev) {
  std::ostringstream os;
  os << "type=" << static_cast<int>(ev.type) << " ref=" << ev.ref << " new_ref=" << ev.new_ref
     << " book=" << ev.book << " side=" << static_cast<int>(ev.side) << " shares=" << ev.shares
     << " price=" << ev.price << " printable=" << ev.printable;
  return os.str();
}

// Realistic flow: adds a few ticks from each book's drifting mid, removals of random live
// orders, and a few percent of deliberately invalid events of every kind.
class Generator {
public:
  explicit Generator(uint64_t seed) : rng_(seed) {
    for (auto& m : mid_) {
      m = static_cast<Price>(100 * (1000 + rng_() % 50000));  // $10 .. $510
    }
  }

  Event next(const Reference& ref) {
    Event ev;
    const auto dice = rng_() % 1000;
    if (dice < 40) {
      return invalid(ref);
    }
    const auto kind = rng_() % 100;
    if (kind < 45 || ref.orders.empty()) {
      ev.type = EventType::Add;
      ev.ref = freshRef();
      ev.book = static_cast<BookId>(rng_() % kBooks);
      ev.side = rng_() % 2 == 0 ? Side::Buy : Side::Sell;
      ev.shares = shares();
      ev.price = nearTop(ev.book, ev.side);
      live_.push_back(ev.ref);
      return ev;
    }
    const OrderRef r = pickLive(ref);
    const Shares remaining = ref.orders.at(r).shares;
    ev.ref = r;
    if (kind < 55) {
      ev.type = EventType::Execute;
      ev.shares = partOf(remaining);
    } else if (kind < 58) {
      ev.type = EventType::ExecuteWithPrice;
      ev.shares = partOf(remaining);
      ev.price = ref.orders.at(r).price + static_cast<Price>(rng_() % 3) * 100;
      ev.printable = rng_() % 4 != 0;
    } else if (kind < 68) {
      ev.type = EventType::Cancel;
      ev.shares = partOf(remaining);
    } else if (kind < 92) {
      ev.type = EventType::Delete;
    } else {
      const auto& o = ref.orders.at(r);
      ev.type = EventType::Replace;
      ev.new_ref = freshRef();
      // Often the same price (a size change), otherwise a move a few ticks.
      ev.price = rng_() % 3 == 0 ? o.price : nearTop(o.book, o.side);
      ev.shares = rng_() % 5 == 0 ? o.shares : shares();
      live_.push_back(ev.new_ref);
    }
    return ev;
  }

private:
  Event invalid(const Reference& ref) {
    Event ev;
    const auto kind = rng_() % 9;
    const bool have = !ref.orders.empty();
    const OrderRef live = have ? pickLive(ref) : 1;
    switch (kind) {
    case 0:  // unknown order: a reference never issued, or one already gone
      ev.type = static_cast<EventType>(1 + rng_() % 5);
      ev.ref = rng_() % 2 == 0 ? next_ref_ + 1'000'000 : 0;
      ev.shares = 1;
      ev.price = 100;
      ev.new_ref = freshRef();
      return ev;
    case 1:  // duplicate add
      ev.type = EventType::Add;
      ev.ref = live;
      ev.book = static_cast<BookId>(rng_() % kBooks);
      ev.shares = shares();
      ev.price = nearTop(ev.book, Side::Buy);
      return ev;
    case 2:  // overfill
      ev.type = rng_() % 2 == 0 ? EventType::Execute : EventType::Cancel;
      ev.ref = live;
      ev.shares = have ? ref.orders.at(live).shares + 1 + static_cast<Shares>(rng_() % 100) : 5;
      return ev;
    case 3:  // replace onto a live reference (or onto itself)
      ev.type = EventType::Replace;
      ev.ref = live;
      ev.new_ref = rng_() % 2 == 0 ? live : (have ? pickLive(ref) : 2);
      ev.shares = shares();
      ev.price = 100 * (1 + static_cast<Price>(rng_() % 1000));
      return ev;
    case 4:  // bad price
      ev.type = rng_() % 2 == 0 ? EventType::Add : EventType::Replace;
      ev.ref = ev.type == EventType::Add ? freshRef() : live;
      ev.new_ref = freshRef();
      ev.book = static_cast<BookId>(rng_() % kBooks);
      ev.shares = shares();
      ev.price = rng_() % 2 == 0 ? 0 : kMaxPrice + 1;
      return ev;
    case 5:  // zero shares
      ev.type = static_cast<EventType>(rng_() % 6);
      ev.ref = ev.type == EventType::Add ? freshRef() : live;
      ev.new_ref = freshRef();
      ev.shares = 0;
      ev.price = 10'000;
      return ev;
    case 6:  // unknown book
      ev.type = EventType::Add;
      ev.ref = freshRef();
      ev.book = static_cast<BookId>(kBooks + rng_() % 100);
      ev.shares = 1;
      ev.price = 10'000;
      return ev;
    case 7:  // execute-with-price at a bad price
      ev.type = EventType::ExecuteWithPrice;
      ev.ref = live;
      ev.shares = 1;
      ev.price = 0;
      return ev;
    default:  // boundary: exactly the remaining shares (valid: removes the order)
      ev.type = EventType::Cancel;
      ev.ref = live;
      ev.shares = have ? ref.orders.at(live).shares : 1;
      return ev;
    }
  }

  OrderRef freshRef() {
    next_ref_ += 1 + (rng_() % 10 == 0 ? rng_() % 50 : 0);  // ITCH-like, with gaps
    return next_ref_;
  }
  Shares shares() {
    return rng_() % 4 == 0 ? static_cast<Shares>(1 + rng_() % 2000)
                           : static_cast<Shares>(100 * (1 + rng_() % 10));
  }
  Shares partOf(Shares remaining) {
    return rng_() % 3 == 0 ? remaining : static_cast<Shares>(1 + rng_() % remaining);
  }
  Price nearTop(BookId book, Side side) {
    if (rng_() % 50 == 0) {  // the mid drifts a tick
      mid_[book] = rng_() % 2 == 0 ? mid_[book] + 100 : mid_[book] - 100;
    }
    // Geometric distance from the mid: most activity within a few ticks of the top.
    Price ticks = 0;
    while (ticks < 40 && rng_() % 3 != 0) {
      ++ticks;
    }
    const Price sub = rng_() % 20 == 0 ? static_cast<Price>(rng_() % 100) : 0;  // sub-penny
    return side == Side::Buy ? mid_[book] - 100 * (ticks + 1) - sub : mid_[book] + 100 * ticks + sub;
  }
  OrderRef pickLive(const Reference& ref) {
    for (;;) {
      const size_t i = rng_() % live_.size();
      if (ref.orders.count(live_[i]) != 0) {
        return live_[i];
      }
      live_[i] = live_.back();
      live_.pop_back();
    }
  }

  std::mt19937_64 rng_;
  std::vector<Price> mid_ = std::vector<Price>(kBooks);
  std::vector<OrderRef> live_;
  OrderRef next_ref_ = 0;
};

bool sameTrades(const TradeStats& a, const Reference::Trades& b) {
  return a.last_price == b.last_price && a.last_shares == b.last_shares && a.trades == b.trades &&
         a.volume == b.volume && a.notional == b.notional;
}

} // namespace

TEST_CASE("random event streams leave every book, status and change flag equal to a brute-force "
          "reference") {
  constexpr int kSeeds = 20;
  constexpr int kEvents = 50'000;
  size_t checked_flags = 0;
  size_t outside_window = 0;
  size_t failures_seen = 0;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    BookSetConfig config;
    config.books = kBooks;
    config.depth_levels = kDepth;
    config.expected_orders = 64;  // small, so the order table grows during the stream
    BookSet set(config);
    Reference ref;
    Generator gen(seed);
    // The reference's levels per book and side as of the previous event.
    std::vector<std::vector<Level>> before(kBooks * 2);
    for (int i = 0; i < kEvents; ++i) {
      const Event ev = gen.next(ref);
      const Reference::Result want = ref.apply(ev);
      const Update got = set.apply(ev);
      INFO("seed " << seed << " event " << i << ": " << describe(ev));
      if (got.status != want.status) {
        FAIL("status " << toString(got.status) << ", reference " << toString(want.status));
      }
      if (!got.ok()) {
        ++failures_seen;
      } else {
        REQUIRE(got.book == want.book);
        REQUIRE(got.side == want.side);
        REQUIRE(got.traded == want.traded);
        REQUIRE(got.printable == want.printable);
        REQUIRE(got.trade_shares == want.trade_shares);
        REQUIRE(got.trade_price == want.trade_price);
        const size_t slot = size_t{want.book} * 2 + static_cast<size_t>(want.side);
        std::vector<Level> after = ref.levels(want.book, want.side);
        const Level best_before = before[slot].empty() ? Level{} : before[slot].front();
        const Level best_after = after.empty() ? Level{} : after.front();
        const bool top = best_before.price != best_after.price ||
                         best_before.shares != best_after.shares;
        const bool depth = head(before[slot], kDepth) != head(after, kDepth);
        if (got.top_changed != top || got.depth_changed != depth) {
          FAIL("flags top=" << got.top_changed << " depth=" << got.depth_changed
                            << ", reference top=" << top << " depth=" << depth);
        }
        ++checked_flags;
        outside_window += depth ? 0 : 1;
        if (set.book(want.book).depth(want.side, 100000) != after) {
          FAIL("levels of the touched book differ from the reference");
        }
        if (!sameTrades(set.book(want.book).trades(), ref.trades[want.book])) {
          FAIL("trade stats differ from the reference");
        }
        before[slot] = std::move(after);
      }
      if (i % 1000 == 999) {
        REQUIRE(set.orderCount() == ref.orders.size());
        for (BookId b = 0; b < kBooks; ++b) {
          for (const Side s : {Side::Buy, Side::Sell}) {
            REQUIRE(set.book(b).depth(s, 100000) == ref.levels(b, s));
          }
          REQUIRE(sameTrades(set.book(b).trades(), ref.trades[b]));
        }
        for (const auto& [r, o] : ref.orders) {
          const OrderEntry* e = set.order(r);
          REQUIRE(e != nullptr);
          REQUIRE(e->book == o.book);
          REQUIRE(e->side == o.side);
          REQUIRE(e->price == o.price);
          REQUIRE(e->shares == o.shares);
        }
      }
    }
  }
  // The stream must exercise what it claims to: errors, and changes both inside and outside
  // the top-N window.
  CHECK(failures_seen > kSeeds * kEvents / 50);
  CHECK(outside_window > checked_flags / 20);
  CHECK(checked_flags > kSeeds * kEvents / 2);
}
