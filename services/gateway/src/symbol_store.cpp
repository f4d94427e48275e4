#include "symbol_store.h"

#include <algorithm>
#include <stdexcept>

namespace tickstream::gateway {

namespace mdv1 = marketdata::v1;

void SymbolStoreConfig::validate() const {
  if (history_per_symbol < 1 || history_per_symbol > 1'000'000) {
    throw std::invalid_argument("SymbolStoreConfig.history_per_symbol must be 1..1e6");
  }
  if (max_symbols < 1) {
    throw std::invalid_argument("SymbolStoreConfig.max_symbols must be >= 1");
  }
}

SymbolStore::SymbolStore(SymbolStoreConfig config) : config_((config.validate(), config)) {}

SymbolStore::Entry* SymbolStore::find(std::string_view symbol) {
  auto it = symbols_.find(std::string(symbol));
  return it == symbols_.end() ? nullptr : &it->second;
}

const SymbolStore::Entry* SymbolStore::find(std::string_view symbol) const {
  auto it = symbols_.find(std::string(symbol));
  return it == symbols_.end() ? nullptr : &it->second;
}

SymbolStore::Entry* SymbolStore::findOrAdd(const std::string& symbol) {
  if (auto it = symbols_.find(symbol); it != symbols_.end()) {
    return &it->second;
  }
  if (symbols_.size() >= config_.max_symbols) {
    ++refused_;
    return nullptr;
  }
  Entry& e = symbols_[symbol];
  e.state.set_symbol(symbol);
  e.ring.resize(config_.history_per_symbol);
  return &e;
}

bool SymbolStore::loadSnapshot(const mdv1::SymbolSnapshot& snapshot) {
  Entry* e = findOrAdd(snapshot.symbol());
  if (e == nullptr) {
    return false;
  }
  if (snapshot.last_seq() < e->state.last_seq()) {
    return false;
  }
  const bool same = snapshot.last_seq() == e->state.last_seq();
  e->state = snapshot;
  e->state.clear_raw_next_offset();  // internal to the normalizer
  if (!same) {
    // The history no longer joins the state: resumes before this point need a snapshot.
    e->count = 0;
  }
  return true;
}

ApplyStatus SymbolStore::apply(const UpdatePtr& update) {
  Entry* e = findOrAdd(update->symbol());
  if (e == nullptr) {
    return ApplyStatus::Full;
  }
  const uint64_t last = e->state.last_seq();
  if (update->seq() <= last) {
    return ApplyStatus::Stale;
  }
  const bool gap = last != 0 && update->seq() != last + 1;
  if (gap || last == 0) {
    e->count = 0;  // the history must be contiguous
  }
  merge(e->state, *update);
  remember(*e, update);
  return gap ? ApplyStatus::Gap : ApplyStatus::Applied;
}

void SymbolStore::remember(Entry& e, const UpdatePtr& update) {
  e.ring[e.head] = update;
  e.head = (e.head + 1) % e.ring.size();
  e.count = std::min(e.count + 1, e.ring.size());
}

bool SymbolStore::updatesAfter(std::string_view symbol, uint64_t last_seq,
                               std::vector<UpdatePtr>& out) const {
  const Entry* e = find(symbol);
  if (e == nullptr) {
    return false;
  }
  const uint64_t current = e->state.last_seq();
  if (last_seq >= current) {
    return last_seq == current;  // a client ahead of the shard cannot be resumed
  }
  const uint64_t missing = current - last_seq;
  if (missing > e->count) {
    return false;
  }
  const std::size_t n = e->ring.size();
  // The newest is at head - 1; the first missing one `missing` slots before the head.
  for (std::size_t i = static_cast<std::size_t>(missing); i > 0; --i) {
    out.push_back(e->ring[(e->head + n - i) % n]);
  }
  return true;
}

std::vector<std::string> SymbolStore::symbols() const {
  std::vector<std::string> out;
  out.reserve(symbols_.size());
  for (const auto& [name, entry] : symbols_) {
    out.push_back(name);
  }
  return out;
}

const mdv1::SymbolSnapshot* SymbolStore::snapshot(std::string_view symbol) const {
  const Entry* e = find(symbol);
  return e == nullptr ? nullptr : &e->state;
}

void SymbolStore::merge(mdv1::SymbolSnapshot& s, const mdv1::MarketDataUpdate& u) {
  s.set_last_seq(u.seq());
  s.set_exchange_ts_ns(u.exchange_ts_ns());
  s.set_receive_ts_ns(u.receive_ts_ns());
  s.set_publish_ts_ns(u.publish_ts_ns());
  if (u.has_trade()) {
    const auto& t = u.trade();
    *s.mutable_last_trade() = t;
    // Exact from the trade: volume (cumulative in the trade), close, high, low. The update does
    // not carry VWAP or the trade count; they stay as of the last md.snapshot load.
    s.set_session_volume(t.session_volume());
    s.set_session_close(t.price());
    if (s.session_open() == 0) {
      s.set_session_open(t.price());
    }
    s.set_session_high(std::max(s.session_high(), t.price()));
    s.set_session_low(s.session_low() == 0 ? t.price() : std::min(s.session_low(), t.price()));
  }
  for (const auto& br : u.trade_breaks()) {
    // A break carries the session totals after it; it is newer than the update's trade unless
    // that trade was printed after it (the normalizer merged both under its rate cap).
    if (!u.has_trade() || br.exchange_ts_ns() >= u.trade().exchange_ts_ns()) {
      s.set_session_volume(br.session_volume());
    }
    s.set_session_vwap(br.session_vwap());
    s.set_session_trade_count(br.session_trade_count());
  }
  if (u.has_quote()) {
    *s.mutable_quote() = u.quote();
  }
  if (u.has_depth()) {
    *s.mutable_depth() = u.depth();
  }
  for (const auto& bar : u.bars()) {
    // current_bars holds the bar in progress per interval: a completed one leaves it.
    auto* bars = s.mutable_current_bars();
    auto it = std::find_if(bars->begin(), bars->end(),
                           [&](const mdv1::Bar& b) { return b.interval() == bar.interval(); });
    if (bar.complete()) {
      if (it != bars->end() && it->start_ts_ns() <= bar.start_ts_ns()) {
        bars->erase(it);
      }
    } else if (it != bars->end()) {
      *it = bar;
    } else {
      *bars->Add() = bar;
    }
  }
  if (u.has_status()) {
    *s.mutable_status() = u.status();
  }
}

} // namespace tickstream::gateway
