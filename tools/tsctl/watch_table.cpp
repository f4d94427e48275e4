#include "watch_table.h"

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdio>

namespace tickstream::tsctl {

namespace md = marketdata::v1;

std::string formatPrice(int64_t fixed) {
  if (fixed == 0) return "-";
  // Unsigned magnitude: negating INT64_MIN would overflow.
  uint64_t mag = fixed < 0 ? 0 - static_cast<uint64_t>(fixed) : static_cast<uint64_t>(fixed);
  uint64_t whole = mag / 10'000;
  uint64_t frac = mag % 10'000;
  char buf[40];
  if (frac % 100 == 0) {
    std::snprintf(buf, sizeof buf, "%s%" PRIu64 ".%02" PRIu64, fixed < 0 ? "-" : "", whole, frac / 100);
  } else {
    std::snprintf(buf, sizeof buf, "%s%" PRIu64 ".%04" PRIu64, fixed < 0 ? "-" : "", whole, frac);
  }
  return buf;
}

void WatchTable::apply(const md::MarketDataUpdate& u) {
  SymbolState& s = states_[u.symbol()];
  ++s.updates;
  ++total_updates_;
  s.conflated += u.conflated();
  s.last_seq = std::max(s.last_seq, u.seq());
  if (u.has_trade()) {
    s.last_price = u.trade().price();
    s.last_size = u.trade().size();
    s.session_volume = u.trade().session_volume();
  }
  if (u.has_quote()) {
    const md::Quote& q = u.quote();
    s.bid_price = q.bid_price();
    s.bid_size = q.bid_size();
    s.ask_price = q.ask_price();
    s.ask_size = q.ask_size();
  }
  if (u.has_status()) s.state = u.status().state();
}

const SymbolState* WatchTable::find(std::string_view symbol) const {
  auto it = states_.find(std::string(symbol));
  return it == states_.end() ? nullptr : &it->second;
}

std::vector<std::string> WatchTable::topSymbols(size_t top) const {
  std::vector<std::pair<uint64_t, const std::string*>> by_activity;
  by_activity.reserve(states_.size());
  for (const auto& [sym, s] : states_) by_activity.emplace_back(s.updates + s.conflated, &sym);
  size_t n = std::min(top, by_activity.size());
  std::partial_sort(by_activity.begin(), by_activity.begin() + static_cast<std::ptrdiff_t>(n), by_activity.end(),
                    [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : *a.second < *b.second; });
  std::vector<std::string> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(*by_activity[i].second);
  return out;
}

namespace {

std::string statusText(md::TradingState state) {
  switch (state) {
    case md::TRADING_STATE_HALTED: return "HALTED";
    case md::TRADING_STATE_PAUSED: return "PAUSED";
    case md::TRADING_STATE_QUOTATION_ONLY: return "QUOTE-ONLY";
    default: return "";
  }
}

// A quote side: the size is what matters when the price is 0 (an empty side).
std::string side(int64_t size, int64_t price, bool size_first) {
  if (size == 0) return "-";
  std::string p = formatPrice(price);
  std::string sz = std::to_string(size);
  return size_first ? sz + "@" + p : p + "@" + sz;
}

Row makeRow(const std::string& symbol, SymbolState* s, int64_t elapsed_ms) {
  Row r;
  r.symbol = symbol;
  if (s == nullptr) {
    r.bid = r.ask = r.last = r.volume = r.seq = "-";
    r.rate = "0.0";
    return r;
  }
  r.bid = side(s->bid_size, s->bid_price, true);
  r.ask = side(s->ask_size, s->ask_price, false);
  r.last = formatPrice(s->last_price);
  r.volume = std::to_string(s->session_volume);
  r.seq = std::to_string(s->last_seq);
  uint64_t window = s->updates - s->updates_at_refresh;
  // A rate is a display value, not money: a double is fine here.
  double rate = elapsed_ms > 0 ? static_cast<double>(window) * 1000.0 / static_cast<double>(elapsed_ms) : 0.0;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", rate);
  r.rate = buf;
  r.status = statusText(s->state);
  return r;
}

}  // namespace

std::vector<Row> WatchTable::rows(const std::vector<std::string>& symbols, size_t top, int64_t elapsed_ms) {
  std::vector<std::string> chosen = symbols.empty() ? topSymbols(top) : symbols;
  std::vector<Row> out;
  out.reserve(chosen.size());
  for (const auto& sym : chosen) {
    auto it = states_.find(sym);
    out.push_back(makeRow(sym, it == states_.end() ? nullptr : &it->second, elapsed_ms));
  }
  // Every symbol's window restarts now, shown or not: a symbol entering the top N later must
  // not report everything since it was last shown as one refresh's worth.
  for (auto& [sym, st] : states_) st.updates_at_refresh = st.updates;
  return out;
}

std::string renderTable(const std::vector<Row>& rows) {
  constexpr size_t kColumns = 8;
  const std::array<std::string, kColumns> header{"SYMBOL", "BID", "ASK", "LAST", "VOLUME", "SEQ", "UPD/S", "HALT"};
  auto cells = [](const Row& r) {
    return std::array<const std::string*, kColumns>{&r.symbol, &r.bid, &r.ask, &r.last,
                                                   &r.volume, &r.seq, &r.rate, &r.status};
  };
  std::array<size_t, kColumns> width{};
  for (size_t c = 0; c < kColumns; ++c) width[c] = header[c].size();
  for (const Row& r : rows) {
    auto cs = cells(r);
    for (size_t c = 0; c < kColumns; ++c) width[c] = std::max(width[c], cs[c]->size());
  }
  // Symbol and status read left to right; numbers align on the right.
  auto line = [&](const std::array<const std::string*, kColumns>& cs) {
    std::string out;
    for (size_t c = 0; c < kColumns; ++c) {
      const std::string& v = *cs[c];
      std::string pad(width[c] - v.size(), ' ');
      bool left = c == 0 || c == kColumns - 1;
      if (c > 0) out += "  ";
      out += left ? v + pad : pad + v;
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = line({&header[0], &header[1], &header[2], &header[3], &header[4], &header[5], &header[6], &header[7]});
  for (const Row& r : rows) out += line(cells(r));
  return out;
}

}  // namespace tickstream::tsctl
