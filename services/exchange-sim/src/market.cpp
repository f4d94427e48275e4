#include "market.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace tickstream::exchange_sim {

namespace {

using book::Side;

constexpr uint64_t kHour = 3'600'000'000'000ULL;
constexpr uint64_t kMinute = 60'000'000'000ULL;
constexpr uint32_t kTick = 100; // $0.01 in Price(4)
// The mid never walks below $1 nor near ITCH's price ceiling.
constexpr uint32_t kMinMidTicks = 100;
constexpr uint32_t kMaxMidTicks = book::kMaxPrice / kTick - 1000;

constexpr std::string_view kConsonants = "BDFGHKLMNPRSTVZCJWXY"; // 20
constexpr std::string_view kVowels = "AEIOU";                   // 5
constexpr std::array<itch::Mpid, 6> kMpids{{{'G', 'S', 'C', 'O'},
                                            {'M', 'S', 'C', 'O'},
                                            {'J', 'P', 'M', 'S'},
                                            {'C', 'D', 'R', 'G'},
                                            {'V', 'I', 'R', 'T'},
                                            {'U', 'B', 'S', 'S'}}};

uint64_t splitmix64(uint64_t& x) noexcept {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

[[noreturn]] void bad(const std::string& field, const std::string& why) {
  throw std::invalid_argument("MarketConfig." + field + ": " + why);
}

Side opposite(Side s) noexcept { return s == Side::Buy ? Side::Sell : Side::Buy; }
char sideChar(Side s) noexcept { return s == Side::Buy ? 'B' : 'S'; }

} // namespace

void MarketConfig::validate() const {
  if (symbols < 1 || symbols > 65535) {
    bad("symbols", "must be 1..65535 (stock locates), got " + std::to_string(symbols));
  }
  if (target_orders < 1 || target_orders > 10000) {
    bad("target_orders", "must be 1..10000, got " + std::to_string(target_orders));
  }
  if (mean_gap_ns < 1 || mean_gap_ns > 1'000'000'000) {
    bad("mean_gap_ns", "must be 1..1000000000, got " + std::to_string(mean_gap_ns));
  }
  if (burst_speedup < 1 || burst_speedup > 1000) {
    bad("burst_speedup", "must be 1..1000, got " + std::to_string(burst_speedup));
  }
  if (halts_per_million > 1'000'000) {
    bad("halts_per_million", "must be at most 1000000, got " + std::to_string(halts_per_million));
  }
  if (min_price < kMinMidTicks * kTick || min_price % kTick != 0) {
    bad("min_price", "must be a multiple of 100 (a $0.01 tick) and at least 10000 ($1), got " +
                         std::to_string(min_price));
  }
  if (max_price < min_price || max_price / kTick > kMaxMidTicks) {
    bad("max_price", "must be between min_price and " + std::to_string(kMaxMidTicks * kTick) +
                         ", got " + std::to_string(max_price));
  }
}

Rng::Rng(uint64_t seed) noexcept {
  for (auto& word : s_) {
    word = splitmix64(seed);
  }
}

uint64_t Rng::next() noexcept {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

uint64_t Rng::below(uint64_t n) noexcept {
  __extension__ using U128 = unsigned __int128;
  return static_cast<uint64_t>((static_cast<U128>(next()) * n) >> 64);
}

itch::Symbol tickerFor(uint16_t locate) noexcept {
  // Syllable digits of a permuted index, so neighbouring locates do not look alike. Locates up
  // to 10000 get 2 syllables (4 letters), the rest 3 (6 letters): unique by length and digits.
  const uint32_t i = locate == 0 ? 0 : locate - 1U;
  uint32_t syllables = 2;
  uint32_t p = (i * 7919U) % 10'000U;
  if (i >= 10'000) {
    syllables = 3;
    p = static_cast<uint32_t>((uint64_t{i - 10'000U} * 7919U) % 1'000'000U);
  }
  itch::Symbol out{' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
  for (uint32_t k = 0; k < syllables; ++k) {
    const uint32_t syl = p % 100;
    p /= 100;
    out[2 * k] = kConsonants[syl / 5];
    out[2 * k + 1] = kVowels[syl % 5];
  }
  return out;
}

MarketSimulator::MarketSimulator(const MarketConfig& config)
    : config_((config.validate(), config)),
      rng_(config.seed),
      truth_(book::BookSetConfig{
          .books = size_t{config.symbols} + 1,
          .expected_orders = std::clamp<size_t>(size_t{config.symbols} * config.target_orders * 3,
                                                1024, size_t{1} << 24),
          .depth_levels = 1}) {
  symbols_.resize(size_t{config_.symbols} + 1);
  const uint32_t lo = config_.min_price / kTick;
  const uint32_t hi = config_.max_price / kTick;
  for (uint32_t locate = 1; locate <= config_.symbols; ++locate) {
    SymbolState& s = symbols_[locate];
    s.stock = tickerFor(static_cast<uint16_t>(locate));
    s.mid_ticks = lo + static_cast<uint32_t>(rng_.below(uint64_t{hi - lo} + 1));
    s.live.reserve(size_t{config_.target_orders} * 4);
  }
  pending_.reserve(std::max<size_t>(1024, size_t{config_.symbols} * 2 + 8));
  crossing_.reserve(size_t{config_.target_orders} * 4);
  preamble();
}

void MarketSimulator::preamble() {
  now_ns_ = 3 * kHour;
  push(itch::SystemEvent{.stock_locate = 0, .tracking = 0, .timestamp_ns = now_ns_,
                         .event_code = 'O'});
  static constexpr std::array<char, 3> kCategories{'Q', 'G', 'S'};
  for (uint32_t locate = 1; locate <= config_.symbols; ++locate) {
    now_ns_ += 1000;
    itch::StockDirectory d;
    d.stock_locate = static_cast<uint16_t>(locate);
    d.timestamp_ns = now_ns_;
    d.stock = symbols_[locate].stock;
    d.market_category = kCategories[rng_.below(kCategories.size())];
    d.financial_status = 'N';
    d.round_lot_size = 100;
    d.round_lots_only = 'N';
    d.issue_classification = 'C';
    d.issue_sub_type = {'Z', ' '};
    d.authenticity = 'P';
    d.short_sale_threshold = 'N';
    d.ipo_flag = 'N';
    d.luld_reference_price_tier = d.market_category == 'Q' ? '1' : '2';
    d.etp_flag = 'N';
    d.inverse_indicator = 'N';
    push(d);
  }
  now_ns_ = 4 * kHour;
  push(itch::SystemEvent{.timestamp_ns = now_ns_, .event_code = 'S'});
  now_ns_ = 9 * kHour + 30 * kMinute;
  push(itch::SystemEvent{.timestamp_ns = now_ns_, .event_code = 'Q'});
  for (uint32_t locate = 1; locate <= config_.symbols; ++locate) {
    now_ns_ += 100;
    tradingAction(static_cast<uint16_t>(locate), 'T');
  }
}

void MarketSimulator::next(itch::Message& out) noexcept {
  while (head_ == pending_.size()) {
    pending_.clear(); // keeps the capacity: no allocation once it has grown
    head_ = 0;
    generate();
  }
  out = pending_[head_++];
  ++emitted_;
  ++counts_[static_cast<unsigned char>(itch::messageType(out))];
}

TopOfBook MarketSimulator::topOfBook(uint16_t locate) const noexcept {
  if (locate >= truth_.bookCount()) {
    return {};
  }
  const book::OrderBook& b = truth_.book(locate);
  return {b.best(Side::Buy), b.best(Side::Sell)};
}

std::string_view MarketSimulator::symbol(uint16_t locate) const noexcept {
  if (locate == 0 || locate >= symbols_.size()) {
    return {};
  }
  return itch::symbol(symbols_[locate].stock);
}

void MarketSimulator::generate() noexcept {
  ++flow_events_;
  advanceClock();
  const auto locate = static_cast<uint16_t>(1 + rng_.below(config_.symbols));
  SymbolState& s = symbols_[locate];

  if (rng_.chance(1, 8)) {
    if (rng_.chance(1, 2)) {
      s.mid_ticks = std::min(s.mid_ticks + 1, kMaxMidTicks);
    } else {
      s.mid_ticks = std::max(s.mid_ticks - 1, kMinMidTicks);
    }
  }

  if (s.halted) {
    // A halted book takes cancels only, until it resumes.
    if (rng_.chance(1, 20) || !(rng_.chance(1, 2) ? deleteOne(locate) : cancelSome(locate))) {
      tradingAction(locate, 'T');
    }
    return;
  }
  if (rng_.chance(config_.halts_per_million, 1'000'000)) {
    tradingAction(locate, 'H');
    return;
  }

  // Weights per mille; deletes scale with the book's size so each book hovers around
  // target_orders resting orders whatever the add rate.
  const uint64_t live = s.live.size();
  const uint64_t w_add = 400;
  const uint64_t w_delete = std::min<uint64_t>(800, 220 * live / config_.target_orders);
  const uint64_t w_cancel = 70;
  const uint64_t w_replace = 70;
  const uint64_t w_aggress = 50;
  const uint64_t w_hidden = 25;
  uint64_t r = rng_.below(w_add + w_delete + w_cancel + w_replace + w_aggress + w_hidden);
  const Side side = rng_.chance(1, 2) ? Side::Buy : Side::Sell;
  if (r < w_add) {
    addPassive(locate, side);
    return;
  }
  r -= w_add;
  bool done = true;
  if (r < w_delete) {
    done = deleteOne(locate);
  } else if ((r -= w_delete) < w_cancel) {
    done = cancelSome(locate);
  } else if ((r -= w_cancel) < w_replace) {
    done = replaceOne(locate);
  } else if ((r -= w_replace) < w_aggress) {
    aggress(locate, side);
  } else {
    hiddenTrade(locate);
  }
  if (!done) {
    addPassive(locate, side); // nothing resting to act on: the book starts filling instead
  }
}

void MarketSimulator::advanceClock() noexcept {
  uint64_t mean = config_.mean_gap_ns;
  if (flow_events_ <= config_.burst_events) {
    mean = std::max<uint64_t>(1, mean / config_.burst_speedup);
  }
  // Never past midnight: the stream would rather bunch up at the end of the day.
  now_ns_ = std::min(now_ns_ + 1 + rng_.below(2 * mean), itch::kNanosPerDay - 1);
}

uint32_t MarketSimulator::orderSize() noexcept {
  const uint64_t r = rng_.below(10);
  if (r < 7) {
    return static_cast<uint32_t>(100 * (1 + rng_.below(5)));
  }
  if (r < 9) {
    return static_cast<uint32_t>(100 * (5 + rng_.below(30)));
  }
  return static_cast<uint32_t>(1 + rng_.below(99)); // odd lot
}

uint32_t MarketSimulator::passivePrice(uint16_t locate, Side side) noexcept {
  const SymbolState& s = symbols_[locate];
  // Most orders join within a few ticks of the mid; some sit deeper.
  uint32_t away = 1 + static_cast<uint32_t>(rng_.below(3));
  if (rng_.chance(1, 4)) {
    away += static_cast<uint32_t>(rng_.below(12));
  }
  const book::OrderBook& b = truth_.book(locate);
  if (side == Side::Buy) {
    uint32_t ticks = s.mid_ticks > away ? s.mid_ticks - away : 1;
    const book::Price ask = b.best(Side::Sell).price;
    if (ask != 0 && ticks * kTick >= ask) {
      ticks = ask / kTick - 1; // one tick under the ask: resting, not marketable
    }
    return ticks * kTick; // 0 when the ask is a single tick: no room to rest a bid
  }
  uint32_t ticks = s.mid_ticks + away;
  const book::Price bid = b.best(Side::Buy).price;
  if (bid != 0 && ticks * kTick <= bid) {
    ticks = bid / kTick + 1;
  }
  return ticks * kTick;
}

void MarketSimulator::addPassive(uint16_t locate, Side side) noexcept {
  const uint32_t price = passivePrice(locate, side);
  if (price == 0) {
    return;
  }
  SymbolState& s = symbols_[locate];
  const uint32_t shares = orderSize();
  const uint64_t ref = next_ref_++;
  if (rng_.chance(1, 10)) {
    push(itch::AddOrderMpid{.stock_locate = locate, .timestamp_ns = now_ns_, .order_ref = ref,
                            .side = sideChar(side), .shares = shares, .stock = s.stock,
                            .price = price, .attribution = kMpids[rng_.below(kMpids.size())]});
  } else {
    push(itch::AddOrder{.stock_locate = locate, .timestamp_ns = now_ns_, .order_ref = ref,
                        .side = sideChar(side), .shares = shares, .stock = s.stock,
                        .price = price});
  }
  check(truth_.add(ref, locate, side, shares, price));
  s.live.push_back(ref);
}

void MarketSimulator::aggress(uint16_t locate, Side side) noexcept {
  SymbolState& s = symbols_[locate];
  const Side resting = opposite(side);
  const book::Price best = truth_.book(locate).best(resting).price;
  if (best == 0) {
    addPassive(locate, side);
    return;
  }
  // An incoming marketable order: it takes the opposite side up to its limit, each fill an
  // execution against a resting order (price, then time priority), and never crosses the book.
  const uint32_t through = static_cast<uint32_t>(rng_.below(3)) * kTick;
  const book::Price limit =
      side == Side::Buy ? best + through : (best > through + kTick ? best - through : kTick);
  uint32_t remaining = orderSize() * static_cast<uint32_t>(1 + rng_.below(2));

  collectCrossing(locate, side, limit);
  for (const book::OrderEntry& e : crossing_) {
    if (remaining == 0) {
      break;
    }
    const uint32_t fill = std::min(remaining, e.shares);
    remaining -= fill;
    const uint64_t match = next_match_++;
    if (rng_.chance(1, 20)) {
      const char printable = rng_.chance(1, 10) ? 'N' : 'Y';
      push(itch::OrderExecutedWithPrice{.stock_locate = locate, .timestamp_ns = now_ns_,
                                        .order_ref = e.ref, .executed_shares = fill,
                                        .match_number = match, .printable = printable,
                                        .execution_price = e.price});
      check(truth_.executeWithPrice(e.ref, fill, e.price, printable == 'Y'));
    } else {
      push(itch::OrderExecuted{.stock_locate = locate, .timestamp_ns = now_ns_,
                               .order_ref = e.ref, .executed_shares = fill,
                               .match_number = match});
      check(truth_.execute(e.ref, fill));
    }
    if (fill == e.shares) {
      forgetLive(locate, e.ref);
    }
  }

  // Half the remainders rest at the limit (every opposite order at or through it is gone, so
  // the book stays uncrossed); the rest were immediate-or-cancel.
  if (remaining > 0 && rng_.chance(1, 2)) {
    const uint64_t ref = next_ref_++;
    push(itch::AddOrder{.stock_locate = locate, .timestamp_ns = now_ns_, .order_ref = ref,
                        .side = sideChar(side), .shares = remaining, .stock = s.stock,
                        .price = limit});
    check(truth_.add(ref, locate, side, remaining, limit));
    s.live.push_back(ref);
  }
}

void MarketSimulator::collectCrossing(uint16_t locate, Side side, book::Price limit) noexcept {
  const Side resting = opposite(side);
  crossing_.clear();
  for (const book::OrderRef ref : symbols_[locate].live) {
    const book::OrderEntry* e = truth_.order(ref);
    if (e != nullptr && e->side == resting &&
        (limit == 0 || (side == Side::Buy ? e->price <= limit : e->price >= limit))) {
      crossing_.push_back(*e);
    }
  }
  std::sort(crossing_.begin(), crossing_.end(),
            [side](const book::OrderEntry& a, const book::OrderEntry& b) {
              if (a.price != b.price) {
                return side == Side::Buy ? a.price < b.price : a.price > b.price;
              }
              return a.ref < b.ref; // refs increase with time: older first
            });
}

void MarketSimulator::forgetLive(uint16_t locate, book::OrderRef ref) noexcept {
  auto& live = symbols_[locate].live;
  auto it = std::find(live.begin(), live.end(), ref);
  if (it == live.end()) {
    ++truth_errors_;
    return;
  }
  *it = live.back();
  live.pop_back();
}

uint64_t MarketSimulator::liquidity(uint16_t locate, Side side, book::Price limit,
                                    uint64_t cap) const noexcept {
  if (locate == 0 || locate >= symbols_.size()) {
    return 0;
  }
  // Walks the orders rather than the levels: a book holds a few dozen, and this is the same
  // test take() applies, so the two can never disagree.
  const Side resting = opposite(side);
  uint64_t total = 0;
  for (const book::OrderRef ref : symbols_[locate].live) {
    const book::OrderEntry* e = truth_.order(ref);
    if (e != nullptr && e->side == resting &&
        (limit == 0 || (side == Side::Buy ? e->price <= limit : e->price >= limit))) {
      total += e->shares;
      if (total >= cap) {
        return cap;
      }
    }
  }
  return total;
}

uint64_t MarketSimulator::take(uint16_t locate, Side side, book::Price limit, uint64_t shares,
                               book::Price price, std::vector<SimFill>& fills) noexcept {
  if (locate == 0 || locate >= symbols_.size() || shares == 0) {
    return 0;
  }
  collectCrossing(locate, side, limit);
  uint64_t taken = 0;
  for (const book::OrderEntry& e : crossing_) {
    if (taken == shares) {
      break;
    }
    const auto fill = static_cast<book::Shares>(std::min<uint64_t>(shares - taken, e.shares));
    taken += fill;
    const uint64_t match = next_match_++;
    if (price == 0) {
      push(itch::OrderExecuted{.stock_locate = locate, .timestamp_ns = now_ns_,
                               .order_ref = e.ref, .executed_shares = fill,
                               .match_number = match});
      check(truth_.execute(e.ref, fill));
    } else {
      push(itch::OrderExecutedWithPrice{.stock_locate = locate, .timestamp_ns = now_ns_,
                                        .order_ref = e.ref, .executed_shares = fill,
                                        .match_number = match, .printable = 'Y',
                                        .execution_price = price});
      check(truth_.executeWithPrice(e.ref, fill, price, true));
    }
    fills.push_back(SimFill{.price = price == 0 ? e.price : price, .shares = fill,
                            .match_number = match});
    if (fill == e.shares) {
      forgetLive(locate, e.ref);
    }
  }
  return taken;
}

uint64_t MarketSimulator::printNonDisplayed(uint16_t locate, Side side, book::Shares shares,
                                            book::Price price) noexcept {
  const uint64_t match = next_match_++;
  push(itch::Trade{.stock_locate = locate, .timestamp_ns = now_ns_, .order_ref = 0,
                   .side = sideChar(side), .shares = shares, .stock = symbols_[locate].stock,
                   .price = price, .match_number = match});
  return match;
}

bool MarketSimulator::pickLive(uint16_t locate, std::size_t& index) noexcept {
  const SymbolState& s = symbols_[locate];
  if (s.live.empty()) {
    return false;
  }
  index = rng_.below(s.live.size());
  return true;
}

bool MarketSimulator::deleteOne(uint16_t locate) noexcept {
  std::size_t i = 0;
  if (!pickLive(locate, i)) {
    return false;
  }
  SymbolState& s = symbols_[locate];
  const book::OrderRef ref = s.live[i];
  push(itch::OrderDelete{.stock_locate = locate, .timestamp_ns = now_ns_, .order_ref = ref});
  check(truth_.deleteOrder(ref));
  s.live[i] = s.live.back();
  s.live.pop_back();
  return true;
}

bool MarketSimulator::cancelSome(uint16_t locate) noexcept {
  std::size_t i = 0;
  if (!pickLive(locate, i)) {
    return false;
  }
  const book::OrderRef ref = symbols_[locate].live[i];
  const book::OrderEntry* e = truth_.order(ref);
  if (e == nullptr || e->shares < 2) {
    return deleteOne(locate); // a partial cancel needs a share to leave behind
  }
  const auto cancelled = static_cast<uint32_t>(1 + rng_.below(e->shares - 1));
  push(itch::OrderCancel{.stock_locate = locate, .timestamp_ns = now_ns_, .order_ref = ref,
                         .cancelled_shares = cancelled});
  check(truth_.cancel(ref, cancelled));
  return true;
}

bool MarketSimulator::replaceOne(uint16_t locate) noexcept {
  std::size_t i = 0;
  if (!pickLive(locate, i)) {
    return false;
  }
  SymbolState& s = symbols_[locate];
  const book::OrderRef old_ref = s.live[i];
  const book::OrderEntry* e = truth_.order(old_ref);
  if (e == nullptr) {
    ++truth_errors_;
    return false;
  }
  const uint32_t price = passivePrice(locate, e->side);
  if (price == 0) {
    return deleteOne(locate);
  }
  const uint32_t shares = orderSize();
  const uint64_t new_ref = next_ref_++;
  push(itch::OrderReplace{.stock_locate = locate, .timestamp_ns = now_ns_,
                          .original_order_ref = old_ref, .new_order_ref = new_ref,
                          .shares = shares, .price = price});
  check(truth_.replace(old_ref, new_ref, shares, price));
  s.live[i] = new_ref;
  return true;
}

void MarketSimulator::hiddenTrade(uint16_t locate) noexcept {
  // A non-displayed order matched: ITCH reports it as a Trade with no book order behind it
  // (order reference 0), so the truth book does not change.
  const book::OrderBook& b = truth_.book(locate);
  uint32_t price = symbols_[locate].mid_ticks * kTick;
  const book::Price bid = b.best(Side::Buy).price;
  const book::Price ask = b.best(Side::Sell).price;
  if (bid != 0) {
    price = std::max(price, bid);
  }
  if (ask != 0) {
    price = std::min(price, ask);
  }
  push(itch::Trade{.stock_locate = locate, .timestamp_ns = now_ns_, .order_ref = 0,
                   .side = rng_.chance(1, 2) ? 'B' : 'S', .shares = orderSize(),
                   .stock = symbols_[locate].stock, .price = price,
                   .match_number = next_match_++});
}

void MarketSimulator::tradingAction(uint16_t locate, char state) noexcept {
  SymbolState& s = symbols_[locate];
  s.halted = state == 'H';
  itch::StockTradingAction m;
  m.stock_locate = locate;
  m.timestamp_ns = now_ns_;
  m.stock = s.stock;
  m.trading_state = state;
  if (state == 'H') {
    m.reason = {'L', 'U', 'D', 'P'}; // a limit up-limit down pause, the commonest halt
  }
  push(m);
}

void MarketSimulator::push(const itch::Message& m) noexcept { pending_.push_back(m); }

void MarketSimulator::check(const book::Update& u) noexcept {
  if (!u.ok()) {
    ++truth_errors_;
  }
}

} // namespace tickstream::exchange_sim
