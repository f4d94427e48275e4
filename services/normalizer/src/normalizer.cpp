#include "normalizer.h"

#include <algorithm>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

namespace tickstream::normalizer {

namespace mdv1 = marketdata::v1;

namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr std::array<int64_t, 2> kBarLength{kSecond, 60 * kSecond};
constexpr std::array<mdv1::BarInterval, 2> kBarInterval{mdv1::BAR_INTERVAL_1S,
                                                        mdv1::BAR_INTERVAL_1M};

int64_t roundedVwap(book::Uint128 notional, int64_t volume) noexcept {
  if (volume <= 0) {
    return 0;
  }
  const auto v = static_cast<book::Uint128>(volume);
  return static_cast<int64_t>((notional + v / 2) / v);
}

// The side that crossed the spread is the opposite of the resting order's side ITCH reports.
mdv1::AggressorSide aggressorAgainst(book::Side resting) noexcept {
  return resting == book::Side::Buy ? mdv1::AGGRESSOR_SIDE_SELL : mdv1::AGGRESSOR_SIDE_BUY;
}

// The reason published while an Operational Halt ('h', which has no reason of its own) holds
// a symbol on NASDAQ: 4 characters, like ITCH's Trading Action reasons.
constexpr std::string_view kOperationalHaltReason = "OPHL";

mdv1::TradingState tradingState(char c) noexcept {
  switch (c) {
  case 'H': return mdv1::TRADING_STATE_HALTED;
  case 'P': return mdv1::TRADING_STATE_PAUSED;
  case 'Q': return mdv1::TRADING_STATE_QUOTATION_ONLY;
  case 'T': return mdv1::TRADING_STATE_TRADING;
  default: return mdv1::TRADING_STATE_UNSPECIFIED;
  }
}

void setLevels(google::protobuf::RepeatedPtrField<mdv1::PriceLevel>& out,
               const book::Level* levels, size_t n) {
  out.Clear();  // keeps the element objects for reuse
  for (size_t i = 0; i < n; ++i) {
    auto* l = out.Add();
    l->set_price(levels[i].price);
    l->set_size(static_cast<int64_t>(levels[i].shares));
    l->set_order_count(levels[i].orders);
  }
}

void setQuote(mdv1::Quote& q, const book::Level& bid, const book::Level& ask, int64_t ts) {
  q.set_bid_price(bid.shares == 0 ? 0 : bid.price);
  q.set_bid_size(static_cast<int64_t>(bid.shares));
  q.set_ask_price(ask.shares == 0 ? 0 : ask.price);
  q.set_ask_size(static_cast<int64_t>(ask.shares));
  q.set_exchange_ts_ns(ts);
}

} // namespace

void NormalizerConfig::validate() const {
  if (max_updates_per_second < 1 || max_updates_per_second > 1'000'000'000) {
    throw std::invalid_argument("NormalizerConfig.max_updates_per_second must be 1..1e9");
  }
  if (book.depth_levels < 1 || book.depth_levels > 1024) {
    throw std::invalid_argument("NormalizerConfig.book.depth_levels must be 1..1024");
  }
  if (broken_trade_memory < 1 || broken_trade_memory > (size_t{1} << 28)) {
    throw std::invalid_argument("NormalizerConfig.broken_trade_memory must be 1..2^28");
  }
}

Normalizer::Normalizer(const NormalizerConfig& config, TickSink& sink)
    : config_((config.validate(), config)), sink_(sink), books_(config.book),
      min_interval_ns_(kSecond / config.max_updates_per_second),
      index_by_locate_(config.book.books, 0), scratch_bids_(config.book.depth_levels),
      scratch_asks_(config.book.depth_levels), arena_block_(new char[kArenaBlockBytes]),
      arena_(arena_block_.get(), kArenaBlockBytes) {
  dirty_.reserve(config.book.books);
  still_dirty_.reserve(config.book.books);
}

Normalizer::SymbolState* Normalizer::stateFor(uint16_t locate) noexcept {
  if (locate >= index_by_locate_.size() || index_by_locate_[locate] == 0) {
    return nullptr;
  }
  return &symbols_[index_by_locate_[locate] - 1];
}

void Normalizer::registerSymbol(uint16_t locate, std::string_view symbol) {
  if (locate >= index_by_locate_.size() || index_by_locate_[locate] != 0) {
    return;  // beyond the configured books, or already registered today
  }
  SymbolState s;
  s.symbol = std::string(symbol);
  s.locate = locate;
  s.raw_partition = raw_partition_;
  const auto ledger = static_cast<size_t>(raw_partition_ + 1);
  if (ledger >= ledgers_.size()) {
    ledgers_.resize(ledger + 1);
  }
  if (!ledgers_[ledger]) {
    ledgers_[ledger] = std::make_unique<TradeLedger>(config_.broken_trade_memory);
  }
  s.pub_bids.resize(config_.book.depth_levels);
  s.pub_asks.resize(config_.book.depth_levels);
  if (auto it = restored_.find(s.symbol); it != restored_.end()) {
    applyRestore(s, it->second);
    restored_.erase(it);
  }
  index_by_symbol_[s.symbol] = symbols_.size();
  symbols_.push_back(std::move(s));
  index_by_locate_[locate] = static_cast<uint32_t>(symbols_.size());
}

ApplyResult Normalizer::onMessage(const itch::Message& message, int64_t exchange_ts_ns,
                                  int64_t receive_ts_ns, int64_t now_ns,
                                  int64_t raw_next_offset, int32_t raw_partition) noexcept {
  ++stats_.messages;
  raw_next_ = raw_next_offset;
  raw_partition_ = raw_partition;
  auto bookResult = [&](const book::Update& u, uint64_t match) {
    if (!u.ok()) {
      ++stats_.book_errors;
      return ApplyResult::BookRejected;
    }
    if (stateFor(u.book) == nullptr) {
      ++stats_.unknown_symbol;
      return ApplyResult::UnknownSymbol;
    }
    onBook(u, match, exchange_ts_ns, receive_ts_ns, now_ns);
    return ApplyResult::Ok;
  };

  return std::visit(
      [&](const auto& m) -> ApplyResult {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, itch::StockDirectory>) {
          try {
            registerSymbol(m.stock_locate, itch::symbol(m.stock));
          } catch (...) {
            return ApplyResult::Ignored;  // out of memory registering: nothing to do but drop
          }
          return ApplyResult::Ok;
        } else if constexpr (std::is_same_v<T, itch::AddOrder> ||
                             std::is_same_v<T, itch::AddOrderMpid>) {
          const auto side = m.side == 'S' ? book::Side::Sell : book::Side::Buy;
          return bookResult(books_.add(m.order_ref, m.stock_locate, side, m.shares, m.price), 0);
        } else if constexpr (std::is_same_v<T, itch::OrderExecuted>) {
          return bookResult(books_.execute(m.order_ref, m.executed_shares), m.match_number);
        } else if constexpr (std::is_same_v<T, itch::OrderExecutedWithPrice>) {
          return bookResult(books_.executeWithPrice(m.order_ref, m.executed_shares,
                                                    m.execution_price, m.printable == 'Y'),
                            m.match_number);
        } else if constexpr (std::is_same_v<T, itch::OrderCancel>) {
          return bookResult(books_.cancel(m.order_ref, m.cancelled_shares), 0);
        } else if constexpr (std::is_same_v<T, itch::OrderDelete>) {
          return bookResult(books_.deleteOrder(m.order_ref), 0);
        } else if constexpr (std::is_same_v<T, itch::OrderReplace>) {
          return bookResult(
              books_.replace(m.original_order_ref, m.new_order_ref, m.shares, m.price), 0);
        } else if constexpr (std::is_same_v<T, itch::Trade> || std::is_same_v<T, itch::CrossTrade>) {
          SymbolState* s = stateFor(m.stock_locate);
          if (s == nullptr) {
            ++stats_.unknown_symbol;
            return ApplyResult::UnknownSymbol;
          }
          if constexpr (std::is_same_v<T, itch::Trade>) {
            // P: a non-displayed order executed; side is that resting order's side.
            onTrade(*s, m.price, m.shares,
                    aggressorAgainst(m.side == 'S' ? book::Side::Sell : book::Side::Buy),
                    m.match_number, false, exchange_ts_ns, now_ns);
          } else {
            onTrade(*s, m.cross_price, static_cast<int64_t>(m.shares),
                    mdv1::AGGRESSOR_SIDE_UNSPECIFIED, m.match_number, true, exchange_ts_ns, now_ns);
          }
          changed(*s, exchange_ts_ns, receive_ts_ns, now_ns);
          return ApplyResult::Ok;
        } else if constexpr (std::is_same_v<T, itch::BrokenTrade>) {
          SymbolState* s = stateFor(m.stock_locate);
          if (s == nullptr) {
            ++stats_.unknown_symbol;
            return ApplyResult::UnknownSymbol;
          }
          const auto trade = ledgerFor(*s).take(m.match_number);
          if (!trade || trade->locate != m.stock_locate) {
            ++stats_.unknown_breaks;
            return ApplyResult::UnknownTrade;
          }
          onBreak(*s, *trade, exchange_ts_ns, now_ns);
          changed(*s, exchange_ts_ns, receive_ts_ns, now_ns);
          return ApplyResult::Ok;
        } else if constexpr (std::is_same_v<T, itch::StockTradingAction>) {
          SymbolState* s = stateFor(m.stock_locate);
          if (s == nullptr) {
            ++stats_.unknown_symbol;
            return ApplyResult::UnknownSymbol;
          }
          if (s->mwcb_level != '3') {
            s->mwcb_level = 0;  // NASDAQ's own halt or resumption of the symbol supersedes it
          }
          s->action_state = tradingState(m.trading_state);
          s->action_reason.assign(itch::trimRight(m.reason));  // at most 4 chars: no allocation
          onStatus(*s, exchange_ts_ns, receive_ts_ns, now_ns);
          return ApplyResult::Ok;
        } else if constexpr (std::is_same_v<T, itch::OperationalHalt>) {
          SymbolState* s = stateFor(m.stock_locate);
          if (s == nullptr) {
            ++stats_.unknown_symbol;
            return ApplyResult::UnknownSymbol;
          }
          if (m.market_code != 'Q') {
            return ApplyResult::Ignored;  // BX's or PSX's own halt: NASDAQ's book trades on
          }
          s->operational_halt = m.action == 'H';
          onStatus(*s, exchange_ts_ns, receive_ts_ns, now_ns);
          return ApplyResult::Ok;
        } else if constexpr (std::is_same_v<T, itch::MwcbStatus>) {
          if (m.breached_level < '1' || m.breached_level > '3') {
            return ApplyResult::Ignored;  // the codec checks the range; defence in depth
          }
          for (SymbolState& s : symbols_) {
            if (raw_partition < 0 || s.raw_partition == raw_partition) {
              s.mwcb_level = std::max(s.mwcb_level, m.breached_level);  // levels only escalate
              onStatus(s, exchange_ts_ns, receive_ts_ns, now_ns);
            }
          }
          return ApplyResult::Ok;
        } else {
          return ApplyResult::Ignored;
        }
      },
      message);
}

void Normalizer::onStatus(SymbolState& s, int64_t exchange_ts_ns, int64_t receive_ts_ns, int64_t now_ns) noexcept {
  // A market-wide halt names itself as NASDAQ's own per-symbol halts do (MWC1..MWC3); it
  // outranks an operational halt, which outranks the Trading Action.
  const char mwcb_reason[4] = {'M', 'W', 'C', s.mwcb_level};
  const bool halted = s.mwcb_level != 0 || s.operational_halt;
  const auto state = halted ? mdv1::TRADING_STATE_HALTED : s.action_state;
  const std::string_view reason = s.mwcb_level != 0 ? std::string_view(mwcb_reason, 4)
                                  : s.operational_halt ? kOperationalHaltReason
                                                       : std::string_view(s.action_reason);
  const bool rolled = rollBars(s, exchange_ts_ns, now_ns);
  if (state == s.state && reason == s.reason) {
    if (rolled) {
      changed(s, exchange_ts_ns, receive_ts_ns, now_ns);
    } else {
      ++stats_.suppressed;  // a repeat: nothing a subscriber can see changed
    }
    return;
  }
  s.state = state;
  s.reason.assign(reason);
  s.status_ts_ns = exchange_ts_ns;
  s.status_dirty = true;
  changed(s, exchange_ts_ns, receive_ts_ns, now_ns);
}

void Normalizer::onBook(const book::Update& u, uint64_t match_number, int64_t exchange_ts_ns,
                        int64_t receive_ts_ns, int64_t now_ns) noexcept {
  SymbolState& s = *stateFor(u.book);
  bool visible = rollBars(s, exchange_ts_ns, now_ns);
  if (u.top_changed || u.depth_changed) {
    s.book_dirty = true;
    if (u.top_changed) {
      s.quote_ts_ns = exchange_ts_ns;
    }
    s.depth_ts_ns = exchange_ts_ns;
    visible = true;
  }
  if (u.traded && u.printable) {
    onTrade(s, u.trade_price, u.trade_shares, aggressorAgainst(u.side), match_number, false,
            exchange_ts_ns, now_ns);
    visible = true;
  }
  if (!visible) {
    ++stats_.suppressed;  // e.g. a change below the top N levels
    return;
  }
  changed(s, exchange_ts_ns, receive_ts_ns, now_ns);
}

bool Normalizer::rollBars(SymbolState& s, int64_t exchange_ts_ns, int64_t now_ns) noexcept {
  bool closed = false;
  for (size_t i = 0; i < kBars; ++i) {
    const int64_t len = kBarLength[i];
    const int64_t start = exchange_ts_ns - (((exchange_ts_ns % len) + len) % len);
    BarState& b = s.bars[i];
    if (b.active && start > b.start_ts_ns) {
      // The symbol's first event of a later interval closes the bar in progress: its own
      // events, not a shared clock, so a replay after a restart closes it at the same record.
      if (s.closed_dirty[i] && !(raw_next_ != 0 && raw_next_ <= s.silent_until)) {
        // The previous completed bar is still waiting for the rate cap (a burst of exchange
        // time, e.g. catching up): publish it now rather than lose it.
        publish(s, now_ns);
      }
      s.closed[i] = b;
      s.closed_dirty[i] = true;
      b = BarState{};
      closed = true;
    }
  }
  return closed;
}

void Normalizer::onTrade(SymbolState& s, int64_t price, int64_t size,
                         mdv1::AggressorSide side, uint64_t match_number, bool cross,
                         int64_t exchange_ts_ns, int64_t now_ns) noexcept {
  // First: a completed bar the cap still holds may be forced out here, and that update must not
  // carry this record's trade (its raw_next_offset does not cover this record yet).
  rollBars(s, exchange_ts_ns, now_ns);
  const auto notional = static_cast<book::Uint128>(price) * static_cast<book::Uint128>(size);
  s.volume += size;
  s.notional += notional;
  ++s.trade_count;
  if (!s.has_trade) {
    s.open = s.high = s.low = price;
  }
  s.high = std::max(s.high, price);
  s.low = std::min(s.low, price);
  s.has_trade = true;
  s.last_trade = TradeState{price, size, side, match_number, exchange_ts_ns, cross, s.volume};
  s.trade_dirty = true;
  ledgerFor(s).record({match_number, s.locate, price, size, exchange_ts_ns});

  for (size_t i = 0; i < kBars; ++i) {
    const int64_t len = kBarLength[i];
    const int64_t start = exchange_ts_ns - (((exchange_ts_ns % len) + len) % len);
    BarState& b = s.bars[i];
    if (!b.active) {
      b.active = true;
      b.start_ts_ns = start;
      b.open = b.high = b.low = price;
    }
    // A trade stamped before the bar in progress (out of order) is folded into it.
    b.high = std::max(b.high, price);
    b.low = std::min(b.low, price);
    b.close = price;
    b.volume += size;
    b.notional += notional;
    ++b.trades;
    s.bar_dirty[i] = true;
  }
}

void Normalizer::onBreak(SymbolState& s, const LedgerTrade& trade, int64_t exchange_ts_ns,
                         int64_t now_ns) noexcept {
  ++stats_.broken_trades;
  const auto notional =
      static_cast<book::Uint128>(trade.price) * static_cast<book::Uint128>(trade.size);
  s.volume -= trade.size;
  s.notional -= notional;
  --s.trade_count;
  // The break is an event of the symbol: it closes bars like any other (replay-deterministic).
  rollBars(s, exchange_ts_ns, now_ns);
  for (size_t i = 0; i < kBars; ++i) {
    const int64_t len = kBarLength[i];
    const int64_t start = trade.exchange_ts_ns - (((trade.exchange_ts_ns % len) + len) % len);
    // Only a bar subscribers have not yet seen complete is corrected: in progress, or closed
    // but still held by the rate cap. Open/high/low/close stay as printed: recomputing them
    // would need every trade of the interval, and exchanges publish corrected bars separately.
    auto withdraw = [&](BarState& b) {
      b.volume -= trade.size;
      b.notional -= notional;
      --b.trades;
    };
    if (s.bars[i].active && s.bars[i].start_ts_ns == start) {
      withdraw(s.bars[i]);
      s.bar_dirty[i] = true;
    } else if (s.closed_dirty[i] && s.closed[i].start_ts_ns == start) {
      withdraw(s.closed[i]);  // still held by the cap: goes out corrected, as complete
    }
  }
  s.breaks.push_back(BreakState{trade.match_number, trade.price, trade.size, exchange_ts_ns,
                                s.volume, roundedVwap(s.notional, s.volume), s.trade_count});
}

void Normalizer::changed(SymbolState& s, int64_t exchange_ts_ns, int64_t receive_ts_ns,
                         int64_t now_ns) noexcept {
  s.exchange_ts_ns = exchange_ts_ns;
  s.receive_ts_ns = receive_ts_ns;
  s.changed_ns = now_ns;
  s.raw_next = std::max(s.raw_next, raw_next_);
  if (raw_next_ != 0 && raw_next_ <= s.silent_until) {
    absorb(s);
    return;
  }
  ++s.pending;
  bool left = false;
  if (now_ns >= s.next_allowed_ns) {
    left = publish(s, now_ns);
  } else {
    left = true;  // conflate: merged into the update the cap lets out next
  }
  if (left && !s.queued) {
    s.queued = true;
    dirty_.push_back(s.locate);  // reserved for every book: no allocation
  }
}

bool Normalizer::publish(SymbolState& s, int64_t now_ns) noexcept {
  if (s.pending == 0) {
    return false;
  }
  arena_.Reset();  // the previous update and snapshot were only valid during their emit()
  mdv1::MarketDataUpdate& u = *google::protobuf::Arena::CreateMessage<mdv1::MarketDataUpdate>(&arena_);
  bool any = false;

  if (s.book_dirty) {
    const auto& b = books_.book(s.locate);
    const size_t nb = b.depth(book::Side::Buy, scratch_bids_);
    const size_t na = b.depth(book::Side::Sell, scratch_asks_);
    const book::Level bid = nb > 0 ? scratch_bids_[0] : book::Level{};
    const book::Level ask = na > 0 ? scratch_asks_[0] : book::Level{};
    if (bid != s.pub_bid || ask != s.pub_ask) {
      setQuote(*u.mutable_quote(), bid, ask, s.quote_ts_ns);
      s.pub_bid = bid;
      s.pub_ask = ask;
      any = true;
    }
    const bool bids_same = nb == s.pub_nbids && std::equal(scratch_bids_.begin(),
                                                           scratch_bids_.begin() + static_cast<std::ptrdiff_t>(nb),
                                                           s.pub_bids.begin());
    const bool asks_same = na == s.pub_nasks && std::equal(scratch_asks_.begin(),
                                                           scratch_asks_.begin() + static_cast<std::ptrdiff_t>(na),
                                                           s.pub_asks.begin());
    if (!bids_same || !asks_same) {
      auto* d = u.mutable_depth();
      setLevels(*d->mutable_bids(), scratch_bids_.data(), nb);
      setLevels(*d->mutable_asks(), scratch_asks_.data(), na);
      d->set_exchange_ts_ns(s.depth_ts_ns);
      std::copy_n(scratch_bids_.begin(), nb, s.pub_bids.begin());
      std::copy_n(scratch_asks_.begin(), na, s.pub_asks.begin());
      s.pub_nbids = nb;
      s.pub_nasks = na;
      any = true;
    }
  }
  if (s.trade_dirty) {
    // conflate: only the latest trade goes out; session_volume keeps the skipped ones' shares
    auto* t = u.mutable_trade();
    const TradeState& lt = s.last_trade;
    t->set_price(lt.price);
    t->set_size(lt.size);
    t->set_aggressor_side(lt.aggressor);
    t->set_match_number(lt.match_number);
    t->set_exchange_ts_ns(lt.exchange_ts_ns);
    t->set_cross(lt.cross);
    t->set_session_volume(lt.session_volume);
    any = true;
  }
  bool left = false;
  for (size_t i = 0; i < kBars; ++i) {
    const BarState* b = nullptr;
    bool complete = false;
    if (s.closed_dirty[i]) {
      // A completed bar goes out before the next one's first value: at most one bar per
      // interval per update, so the bar in progress waits for the next update.
      b = &s.closed[i];
      complete = true;
      s.closed_dirty[i] = false;
      left = left || s.bar_dirty[i];
    } else if (s.bar_dirty[i]) {
      b = &s.bars[i];
      s.bar_dirty[i] = false;
    }
    if (b != nullptr) {
      auto* bar = u.add_bars();
      bar->set_interval(kBarInterval[i]);
      bar->set_start_ts_ns(b->start_ts_ns);
      bar->set_open(b->open);
      bar->set_high(b->high);
      bar->set_low(b->low);
      bar->set_close(b->close);
      bar->set_volume(b->volume);
      bar->set_vwap(roundedVwap(b->notional, b->volume));
      bar->set_trade_count(b->trades);
      bar->set_complete(complete);
      any = true;
    }
  }
  for (const BreakState& br : s.breaks) {
    auto* tb = u.add_trade_breaks();
    tb->set_match_number(br.match_number);
    tb->set_price(br.price);
    tb->set_size(br.size);
    tb->set_exchange_ts_ns(br.exchange_ts_ns);
    tb->set_session_volume(br.session_volume);
    tb->set_session_vwap(br.session_vwap);
    tb->set_session_trade_count(br.session_trade_count);
    any = true;
  }
  s.breaks.clear();
  if (s.status_dirty) {
    auto* st = u.mutable_status();
    st->set_state(s.state);
    st->set_reason(s.reason);
    st->set_exchange_ts_ns(s.status_ts_ns);
    any = true;
  }

  const uint32_t merged = s.pending - 1;
  s.book_dirty = s.trade_dirty = s.status_dirty = false;
  s.pending = left ? 1 : 0;
  if (!any) {
    ++stats_.suppressed;  // changed and changed back within the window
    return false;
  }

  ++s.seq;
  u.set_symbol(s.symbol);  // reuses the string's capacity
  u.set_seq(s.seq);
  u.set_exchange_ts_ns(s.exchange_ts_ns);
  u.set_receive_ts_ns(s.receive_ts_ns);
  u.set_publish_ts_ns(now_ns);
  u.set_conflated(merged);
  // The cap's wait only: from the latest change to the slot the cap allowed (0 when it went out
  // at once). Any time after the slot, until tick() ran, is the pipeline's, not the cap's.
  u.set_rate_cap_hold_ns(
      std::clamp<int64_t>(s.next_allowed_ns - s.changed_ns, 0, std::max<int64_t>(0, now_ns - s.changed_ns)));
  u.set_raw_next_offset(s.raw_next);
  ++stats_.updates;
  stats_.conflated += merged;
  s.next_allowed_ns = now_ns + min_interval_ns_;

  // Every update carries its snapshot: md.snapshot is where a restart finds the seq and the
  // md.raw position to continue from, so it must not lag what md.ticks holds.
  auto& snapshot = *google::protobuf::Arena::CreateMessage<mdv1::SymbolSnapshot>(&arena_);
  fillSnapshot(s, now_ns, snapshot);
  ++stats_.snapshots;
  sink_.emit(s.symbol, u, &snapshot);
  return left;
}

void Normalizer::absorb(SymbolState& s) noexcept {
  // The record at the restored point itself: if it completed a bar and started the next one,
  // the update that covered it carried only the completed bar and left the bar in progress for
  // the next update, which may have died with the process. Keep it pending (at worst it goes
  // out twice with the same values, never not at all).
  std::array<bool, kBars> left{};
  for (size_t i = 0; i < kBars; ++i) {
    left[i] = raw_next_ == s.silent_until && s.closed_dirty[i] && s.bar_dirty[i];
  }
  // The published baseline becomes the current state, so the first change after the restored
  // point is compared with what subscribers really saw last.
  const auto& b = books_.book(s.locate);
  s.pub_nbids = b.depth(book::Side::Buy, s.pub_bids);
  s.pub_nasks = b.depth(book::Side::Sell, s.pub_asks);
  s.pub_bid = s.pub_nbids > 0 ? s.pub_bids[0] : book::Level{};
  s.pub_ask = s.pub_nasks > 0 ? s.pub_asks[0] : book::Level{};
  s.book_dirty = s.trade_dirty = s.status_dirty = false;
  s.breaks.clear();
  s.bar_dirty = {};
  s.closed_dirty = {};
  ++stats_.absorbed;
  if (std::any_of(left.begin(), left.end(), [](bool kept) { return kept; })) {
    s.bar_dirty = left;
    s.pending = 1;
    if (!s.queued) {
      s.queued = true;
      dirty_.push_back(s.locate);
    }
  }
}

void Normalizer::releaseDirty(int64_t now_ns, bool ignore_cap) noexcept {
  still_dirty_.clear();
  for (const uint16_t locate : dirty_) {
    SymbolState& s = *stateFor(locate);
    if (!ignore_cap && now_ns < s.next_allowed_ns) {
      still_dirty_.push_back(locate);
      continue;
    }
    bool left = publish(s, now_ns);
    if (left && ignore_cap) {
      left = publish(s, now_ns);
    }
    if (left) {
      still_dirty_.push_back(locate);
    } else {
      s.queued = false;
    }
  }
  dirty_.swap(still_dirty_);
}

void Normalizer::tick(int64_t now_ns) noexcept { releaseDirty(now_ns, false); }

void Normalizer::flushAll(int64_t now_ns) noexcept { releaseDirty(now_ns, true); }

void Normalizer::applyRestore(SymbolState& s, const RestorePoint& p) noexcept {
  s.seq = std::max(s.seq, p.last_seq);
  s.silent_until = std::max(s.silent_until, p.raw_next_offset);
  s.raw_next = std::max(s.raw_next, p.raw_next_offset);
  if (p.publish_ts_ns != 0) {
    s.next_allowed_ns = std::max(s.next_allowed_ns, p.publish_ts_ns + min_interval_ns_);
  }
}

bool Normalizer::restore(std::string_view symbol, const RestorePoint& point) {
  const std::string key(symbol);
  if (auto it = index_by_symbol_.find(key); it != index_by_symbol_.end()) {
    SymbolState& s = symbols_[it->second];
    const bool ahead = point.last_seq > s.seq;
    applyRestore(s, point);
    return ahead;
  }
  RestorePoint& r = restored_[key];
  const bool ahead = point.last_seq > r.last_seq;
  r.last_seq = std::max(r.last_seq, point.last_seq);
  r.raw_next_offset = std::max(r.raw_next_offset, point.raw_next_offset);
  r.publish_ts_ns = std::max(r.publish_ts_ns, point.publish_ts_ns);
  return ahead;
}

bool Normalizer::restore(const mdv1::SymbolSnapshot& snapshot) {
  return restore(snapshot.symbol(),
          {snapshot.last_seq(), snapshot.raw_next_offset(), snapshot.publish_ts_ns()});
}

bool Normalizer::restore(const mdv1::MarketDataUpdate& update) {
  return restore(update.symbol(), {update.seq(), update.raw_next_offset(), update.publish_ts_ns()});
}

uint64_t Normalizer::lastSeq(std::string_view symbol) const noexcept {
  const std::string key(symbol);
  if (auto it = index_by_symbol_.find(key); it != index_by_symbol_.end()) {
    return symbols_[it->second].seq;
  }
  if (auto it = restored_.find(key); it != restored_.end()) {
    return it->second.last_seq;
  }
  return 0;
}

bool Normalizer::snapshot(std::string_view symbol, int64_t now_ns,
                          mdv1::SymbolSnapshot& out) const {
  auto it = index_by_symbol_.find(std::string(symbol));
  if (it == index_by_symbol_.end()) {
    return false;
  }
  fillSnapshot(symbols_[it->second], now_ns, out);
  return true;
}

void Normalizer::fillSnapshot(const SymbolState& s, int64_t now_ns,
                              mdv1::SymbolSnapshot& out) const {
  out.Clear();
  out.set_symbol(s.symbol);
  out.set_last_seq(s.seq);
  out.set_trading_day(config_.trading_day);
  out.set_raw_next_offset(s.raw_next);
  if (s.has_trade) {
    auto* t = out.mutable_last_trade();
    t->set_price(s.last_trade.price);
    t->set_size(s.last_trade.size);
    t->set_aggressor_side(s.last_trade.aggressor);
    t->set_match_number(s.last_trade.match_number);
    t->set_exchange_ts_ns(s.last_trade.exchange_ts_ns);
    t->set_cross(s.last_trade.cross);
    t->set_session_volume(s.last_trade.session_volume);
  }
  const auto& b = books_.book(s.locate);
  const size_t nb = b.depth(book::Side::Buy, scratch_bids_);
  const size_t na = b.depth(book::Side::Sell, scratch_asks_);
  setQuote(*out.mutable_quote(), nb > 0 ? scratch_bids_[0] : book::Level{},
           na > 0 ? scratch_asks_[0] : book::Level{}, s.quote_ts_ns);
  auto* d = out.mutable_depth();
  setLevels(*d->mutable_bids(), scratch_bids_.data(), nb);
  setLevels(*d->mutable_asks(), scratch_asks_.data(), na);
  d->set_exchange_ts_ns(s.depth_ts_ns);
  for (size_t i = 0; i < kBars; ++i) {
    const BarState& bs = s.bars[i];
    if (!bs.active) {
      continue;
    }
    auto* bar = out.add_current_bars();
    bar->set_interval(kBarInterval[i]);
    bar->set_start_ts_ns(bs.start_ts_ns);
    bar->set_open(bs.open);
    bar->set_high(bs.high);
    bar->set_low(bs.low);
    bar->set_close(bs.close);
    bar->set_volume(bs.volume);
    bar->set_vwap(roundedVwap(bs.notional, bs.volume));
    bar->set_trade_count(bs.trades);
    bar->set_complete(false);
  }
  auto* st = out.mutable_status();
  st->set_state(s.state);
  st->set_reason(s.reason);
  st->set_exchange_ts_ns(s.status_ts_ns);
  out.set_session_volume(s.volume);
  out.set_session_vwap(roundedVwap(s.notional, s.volume));
  out.set_session_open(s.open);
  out.set_session_high(s.high);
  out.set_session_low(s.low);
  out.set_session_close(s.has_trade ? s.last_trade.price : 0);
  out.set_session_trade_count(s.trade_count);
  out.set_exchange_ts_ns(s.exchange_ts_ns);
  out.set_receive_ts_ns(s.receive_ts_ns);
  out.set_publish_ts_ns(now_ns);
}

} // namespace tickstream::normalizer
