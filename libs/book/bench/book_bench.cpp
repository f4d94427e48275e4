// Book update throughput: generates a realistic ITCH-like order flow in memory, then times
// applying it to a BookSet in one thread. Also compares the chosen data structures with the
// obvious standard-library alternatives on the same flow. Prints JSON lines (docs/book.md).
//
//   book_bench [--events N] [--symbols N] [--runs N] [--seed N] [--no-compare]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "tickstream/book/book_set.h"
#include "tickstream/book/order_map.h"
#include "tickstream/book/price_levels.h"

using namespace tickstream::book;

namespace {

struct Options {
  size_t events = 5'000'000;
  size_t symbols = 1000;
  int runs = 5;
  uint64_t seed = 42;
  bool compare = true;
};

// One change to one side's levels, derived from the flow (for the level-structure comparison).
struct LevelOp {
  uint32_t slot;  // book * 2 + side
  Price price;
  uint32_t shares;
  bool add;
  bool remove_order;
};

struct Flow {
  std::vector<Event> events;
  std::vector<LevelOp> level_ops;
  size_t peak_live = 0;
};

// The mix of the brief: adds near the top 45 %, executes 10 % (+2 % execute-with-price),
// cancels 10 %, deletes 25 %, replaces 8 %. Removals pick a uniformly random live order.
Flow generate(const Options& o) {
  struct Live {
    BookId book;
    Side side;
    Price price;
    Shares shares;
    uint32_t pos;  // index in `live`
  };
  std::mt19937_64 rng(o.seed);
  std::vector<Price> mid(o.symbols);
  for (auto& m : mid) {
    m = static_cast<Price>(100 * (500 + rng() % 20000));
  }
  std::vector<Live> state;  // indexed by reference: references are issued sequentially
  state.reserve(o.events + 1);
  state.push_back({});
  std::vector<OrderRef> live;
  Flow f;
  f.events.reserve(o.events);
  f.level_ops.reserve(o.events + o.events / 8);

  const auto near_top = [&](BookId b, Side s) {
    if (rng() % 64 == 0) {
      mid[b] = rng() % 2 == 0 ? mid[b] + 100 : mid[b] - 100;
    }
    Price ticks = 0;
    while (ticks < 60 && rng() % 3 != 0) {
      ++ticks;
    }
    return s == Side::Buy ? mid[b] - 100 * (ticks + 1) : mid[b] + 100 * ticks;
  };
  const auto shares = [&] { return static_cast<Shares>(100 * (1 + rng() % 10)); };
  const auto slot = [](BookId b, Side s) { return uint32_t{b} * 2 + static_cast<uint32_t>(s); };
  const auto kill = [&](OrderRef r) {
    Live& l = state[r];
    live[l.pos] = live.back();
    state[live.back()].pos = l.pos;
    live.pop_back();
  };
  const auto add_live = [&](BookId b, Side s, Price p, Shares n) {
    const OrderRef r = state.size();
    state.push_back(Live{b, s, p, n, static_cast<uint32_t>(live.size())});
    live.push_back(r);
    f.level_ops.push_back(LevelOp{slot(b, s), p, n, true, false});
    return r;
  };

  while (f.events.size() < o.events) {
    Event ev;
    const auto dice = rng() % 100;
    if (dice < 45 || live.size() < 1000) {
      ev.type = EventType::Add;
      ev.book = static_cast<BookId>(rng() % o.symbols);
      ev.side = rng() % 2 == 0 ? Side::Buy : Side::Sell;
      ev.shares = shares();
      ev.price = near_top(ev.book, ev.side);
      ev.ref = add_live(ev.book, ev.side, ev.price, ev.shares);
    } else {
      const OrderRef r = live[rng() % live.size()];
      Live& l = state[r];
      ev.ref = r;
      if (dice < 67) {  // 55 execute, 2 execute-with-price, 10 cancel
        ev.type = dice < 55 ? EventType::Execute
                            : (dice < 57 ? EventType::ExecuteWithPrice : EventType::Cancel);
        ev.shares = rng() % 2 == 0 ? l.shares : static_cast<Shares>(1 + rng() % l.shares);
        ev.price = l.price;
        const bool gone = ev.shares == l.shares;
        f.level_ops.push_back(LevelOp{slot(l.book, l.side), l.price, ev.shares, false, gone});
        l.shares -= ev.shares;
        if (gone) {
          kill(r);
        }
      } else if (dice < 92) {
        ev.type = EventType::Delete;
        f.level_ops.push_back(LevelOp{slot(l.book, l.side), l.price, l.shares, false, true});
        kill(r);
      } else {
        ev.type = EventType::Replace;
        ev.shares = shares();
        ev.price = rng() % 3 == 0 ? l.price : near_top(l.book, l.side);
        const Live old = l;
        f.level_ops.push_back(LevelOp{slot(old.book, old.side), old.price, old.shares, false, true});
        kill(r);
        ev.new_ref = add_live(old.book, old.side, ev.price, ev.shares);
      }
    }
    f.events.push_back(ev);
    f.peak_live = std::max(f.peak_live, live.size());
  }
  return f;
}

double seconds(const std::function<void()>& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void summary(const char* bench, size_t events, const std::vector<double>& rates) {
  std::printf("{\"bench\":\"%s\",\"summary\":true,\"events\":%zu,\"runs\":%zu,"
              "\"median_events_per_s\":%.0f,\"min_events_per_s\":%.0f,"
              "\"max_events_per_s\":%.0f}\n",
              bench, events, rates.size(), median(rates),
              *std::min_element(rates.begin(), rates.end()),
              *std::max_element(rates.begin(), rates.end()));
  std::fflush(stdout);
}

// The order-table half of the work alone: the same lookups, inserts and erases.
template <class Table>
double replayOrders(const Flow& f, Table& t) {
  uint64_t sink = 0;
  const double s = seconds([&] {
    for (const Event& ev : f.events) {
      sink += t(ev);
    }
  });
  if (sink == 42) {
    std::puts("");
  }
  return s;
}

// Levels kept in std::map (bids by descending price so begin() is the best), with the
// rank-from-best the change flags need, capped at the window (10).
struct MapSide {
  std::map<uint32_t, Level> levels;  // keyed by key(price): ascending from the best
};

} // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&] { return i + 1 < argc ? std::strtoull(argv[++i], nullptr, 10) : 0ULL; };
    if (a == "--events") {
      o.events = value();
    } else if (a == "--symbols") {
      o.symbols = value();
    } else if (a == "--runs") {
      o.runs = static_cast<int>(value());
    } else if (a == "--seed") {
      o.seed = value();
    } else if (a == "--no-compare") {
      o.compare = false;
    } else {
      std::fprintf(stderr, "usage: book_bench [--events N] [--symbols N] [--runs N] [--seed N] "
                           "[--no-compare]\n");
      return 2;
    }
  }
  if (o.events == 0 || o.symbols == 0 || o.symbols > 65536 || o.runs <= 0) {
    std::fprintf(stderr, "book_bench: --events, --runs must be > 0, --symbols in [1, 65536]\n");
    return 2;
  }

  const Flow f = generate(o);
  std::fprintf(stderr, "generated %zu events over %zu symbols; peak live orders %zu\n",
               f.events.size(), o.symbols, f.peak_live);

  BookSetConfig config;
  config.books = o.symbols;
  config.expected_orders = f.peak_live;
  config.depth_levels = 10;
  std::vector<double> rates;
  for (int run = 0; run < o.runs; ++run) {
    BookSet set(config);
    size_t errors = 0;
    size_t top = 0;
    size_t depth = 0;
    const double s = seconds([&] {
      for (const Event& ev : f.events) {
        const Update u = set.apply(ev);
        errors += u.ok() ? 0 : 1;
        top += u.top_changed ? 1 : 0;
        depth += u.depth_changed ? 1 : 0;
      }
    });
    if (errors != 0) {
      std::fprintf(stderr, "book_bench: %zu events failed; the generator is wrong\n", errors);
      return 1;
    }
    const double rate = static_cast<double>(f.events.size()) / s;
    rates.push_back(rate);
    std::printf("{\"bench\":\"book_update\",\"events\":%zu,\"seconds\":%.4f,"
                "\"events_per_s\":%.0f,\"run\":%d,\"top_changed\":%zu,\"depth_changed\":%zu,"
                "\"live_orders\":%zu}\n",
                f.events.size(), s, rate, run, top, depth, set.orderCount());
    std::fflush(stdout);
  }
  summary("book_update", f.events.size(), rates);

  if (!o.compare) {
    return 0;
  }

  // Order table: OrderMap vs a reserve()d std::unordered_map on the same reference traffic.
  const int cmp_runs = 3;
  std::vector<double> open_rates;
  std::vector<double> std_rates;
  for (int run = 0; run < cmp_runs; ++run) {
    OrderMap m(f.peak_live);
    auto op_open = [&m](const Event& ev) -> uint64_t {
      switch (ev.type) {
      case EventType::Add: return m.insert(OrderEntry{ev.ref, ev.price, ev.shares, ev.book, ev.side});
      case EventType::Delete: m.erase(m.find(ev.ref)); return 1;
      case EventType::Replace: {
        OrderEntry e = *m.find(ev.ref);
        m.erase(m.find(ev.ref));
        e.ref = ev.new_ref;
        e.shares = ev.shares;
        return m.insert(e);
      }
      default: {
        OrderEntry* e = m.find(ev.ref);
        if (e->shares == ev.shares) {
          m.erase(e);
        } else {
          e->shares -= ev.shares;
        }
        return 1;
      }
      }
    };
    open_rates.push_back(static_cast<double>(f.events.size()) / replayOrders(f, op_open));
    std::unordered_map<OrderRef, OrderEntry> u;
    u.reserve(f.peak_live);
    auto op_std = [&u](const Event& ev) -> uint64_t {
      switch (ev.type) {
      case EventType::Add:
        return u.emplace(ev.ref, OrderEntry{ev.ref, ev.price, ev.shares, ev.book, ev.side}).second;
      case EventType::Delete: u.erase(ev.ref); return 1;
      case EventType::Replace: {
        auto it = u.find(ev.ref);
        OrderEntry e = it->second;
        u.erase(it);
        e.ref = ev.new_ref;
        e.shares = ev.shares;
        return u.emplace(e.ref, e).second;
      }
      default: {
        auto it = u.find(ev.ref);
        if (it->second.shares == ev.shares) {
          u.erase(it);
        } else {
          it->second.shares -= ev.shares;
        }
        return 1;
      }
      }
    };
    std_rates.push_back(static_cast<double>(f.events.size()) / replayOrders(f, op_std));
  }
  summary("order_table_open_addressing", f.events.size(), open_rates);
  summary("order_table_std_unordered_map", f.events.size(), std_rates);

  // Levels: sorted vector (best at the back) vs std::map, same level changes, both computing
  // the rank from the best that the change flags need.
  std::vector<double> vec_rates;
  std::vector<double> map_rates;
  const size_t slots = o.symbols * 2;
  for (int run = 0; run < cmp_runs; ++run) {
    std::vector<PriceLevels> sides;
    sides.reserve(slots);
    for (size_t i = 0; i < slots; ++i) {
      sides.emplace_back(i % 2 == 0 ? Side::Buy : Side::Sell);
    }
    size_t in_window = 0;
    const double sv = seconds([&] {
      for (const LevelOp& op : f.level_ops) {
        PriceLevels& s = sides[op.slot];
        const size_t rank = op.add ? s.addOrder(op.price, op.shares)
                                   : s.reduce(op.price, op.shares, op.remove_order);
        in_window += rank < 10 ? 1 : 0;
      }
    });
    vec_rates.push_back(static_cast<double>(f.level_ops.size()) / sv);
    std::vector<MapSide> msides(slots);
    size_t in_window_map = 0;
    const double sm = seconds([&] {
      for (const LevelOp& op : f.level_ops) {
        auto& lv = msides[op.slot].levels;
        const uint32_t key = op.slot % 2 == 0 ? ~op.price : op.price;  // ascending from best
        auto it = lv.find(key);
        if (op.add) {
          if (it == lv.end()) {
            it = lv.emplace(key, Level{op.price, 0, 0}).first;
          }
          it->second.shares += op.shares;
          ++it->second.orders;
        }
        size_t rank = 0;
        for (auto j = lv.begin(); j != it && rank < 10; ++j) {
          ++rank;
        }
        in_window_map += rank < 10 ? 1 : 0;
        if (!op.add) {
          it->second.shares -= op.shares;
          if (op.remove_order && --it->second.orders == 0) {
            lv.erase(it);
          }
        }
      }
    });
    map_rates.push_back(static_cast<double>(f.level_ops.size()) / sm);
    if (in_window != in_window_map) {
      std::fprintf(stderr, "book_bench: level structures disagree (%zu vs %zu)\n", in_window,
                   in_window_map);
      return 1;
    }
  }
  summary("levels_sorted_vector", f.level_ops.size(), vec_rates);
  summary("levels_std_map", f.level_ops.size(), map_rates);
  return 0;
}
