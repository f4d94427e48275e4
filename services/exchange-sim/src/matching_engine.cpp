#include "matching_engine.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace tickstream::exchange_sim {

namespace {

namespace v1 = venue::v1;
namespace ov1 = order::v1;

bool isBuy(const ov1::Side side) noexcept { return side == ov1::SIDE_BUY; }

book::Side bookSide(const ov1::Side side) noexcept {
  return isBuy(side) ? book::Side::Buy : book::Side::Sell;
}

// Whether an order on `side` limited at `limit` (0 = market) trades at `price`.
bool crosses(const ov1::Side side, int64_t limit, int64_t price) noexcept {
  if (limit == 0) {
    return true;
  }
  return isBuy(side) ? price <= limit : price >= limit;
}

// The price-level key that sorts the best price first on either side.
int64_t levelKey(const ov1::Side side, int64_t price) noexcept {
  return isBuy(side) ? -price : price;
}

} // namespace

void MatchingConfig::validate() const {
  if (session.empty()) {
    throw std::invalid_argument("MatchingConfig.session: must not be empty");
  }
  if (tick_size < 1 || tick_size > book::kMaxPrice) {
    throw std::invalid_argument("MatchingConfig.tick_size: must be 1.." +
                                std::to_string(book::kMaxPrice));
  }
  if (max_quantity < 1 || max_quantity > int64_t{UINT32_MAX}) {
    throw std::invalid_argument("MatchingConfig.max_quantity: must be 1..4294967295");
  }
  if (history < 1) {
    throw std::invalid_argument("MatchingConfig.history: must be at least 1");
  }
}

MatchingEngine::MatchingEngine(MatchingConfig config, MarketSimulator& market, Clock clock)
    : config_((config.validate(), std::move(config))), market_(market), clock_(std::move(clock)) {
  const uint32_t symbols = market_.config().symbols;
  locates_.reserve(symbols);
  for (uint32_t locate = 1; locate <= symbols; ++locate) {
    locates_.emplace(std::string(market_.symbol(static_cast<uint16_t>(locate))),
                     static_cast<uint16_t>(locate));
  }
}

std::string MatchingEngine::priceRefusal(ov1::OrderType type, int64_t limit_price) const {
  if (type == ov1::ORDER_TYPE_MARKET) {
    return limit_price == 0 ? "" : "limit_price must be 0 for a market order";
  }
  if (limit_price < 1 || limit_price > book::kMaxPrice) {
    return "limit_price must be 1.." + std::to_string(book::kMaxPrice);
  }
  if (limit_price % config_.tick_size != 0) {
    return "limit_price must be a multiple of the tick size " + std::to_string(config_.tick_size);
  }
  return "";
}

std::string MatchingEngine::refusal(const v1::NewOrderRequest& r, uint16_t locate) const {
  if (reject_all_) {
    return "the venue rejects every order (fault injection)";
  }
  if (closed_) {
    return "market closed";
  }
  if (locate == 0) {
    return "unknown symbol '" + r.symbol() + "'";
  }
  if (r.side() != ov1::SIDE_BUY && r.side() != ov1::SIDE_SELL) {
    return "side must be BUY or SELL";
  }
  if (r.type() != ov1::ORDER_TYPE_LIMIT && r.type() != ov1::ORDER_TYPE_MARKET) {
    return "type must be LIMIT or MARKET";
  }
  if (r.time_in_force() < ov1::TIME_IN_FORCE_DAY || r.time_in_force() > ov1::TIME_IN_FORCE_FOK) {
    return "time_in_force must be DAY, GTC, IOC or FOK";
  }
  if (r.quantity() < 1 || r.quantity() > config_.max_quantity) {
    return "quantity must be 1.." + std::to_string(config_.max_quantity);
  }
  if (std::string why = priceRefusal(r.type(), r.limit_price()); !why.empty()) {
    return why;
  }
  if (r.collar_price() != 0 && r.type() != ov1::ORDER_TYPE_MARKET) {
    return "collar_price is for market orders only";
  }
  if (r.collar_price() < 0 || r.collar_price() > book::kMaxPrice) {
    return "collar_price must be 0 (none) or 1.." + std::to_string(book::kMaxPrice);
  }
  if (market_.halted(locate)) {
    return "symbol '" + r.symbol() + "' is halted";
  }
  return "";
}

Answer MatchingEngine::newOrder(const v1::NewOrderRequest& request) {
  Answer answer;
  if (request.order_id().empty()) {
    answer.outcome = Outcome::InvalidArgument;
    answer.error = "order_id is required";
    return answer;
  }
  // The tag keeps a NewOrder and a ReplaceOrder with equal bytes apart.
  std::string key = "N" + request.SerializeAsString();
  if (auto it = entries_.find(request.order_id()); it != entries_.end()) {
    if (it->second.request == key) {
      return it->second.answer; // a retry: the first answer, and nothing happens twice
    }
    answer.outcome = Outcome::Conflict;
    answer.error = "order_id '" + request.order_id() + "' was already used for another request";
    return answer;
  }

  const auto found = locates_.find(request.symbol());
  const uint16_t locate = found == locates_.end() ? 0 : found->second;
  if (std::string why = refusal(request, locate); !why.empty()) {
    v1::ExecutionReport r;
    r.set_order_id(request.order_id());
    r.set_exec_type(v1::EXEC_TYPE_REJECTED);
    r.set_symbol(request.symbol());
    r.set_side(request.side());
    r.set_text(std::move(why));
    answer.report = journal(std::move(r));
    entries_.emplace(request.order_id(), Entry{std::move(key), answer});
    return answer;
  }

  const uint64_t number = next_order_++;
  Order& order = orders_[number];
  order.order_id = request.order_id();
  order.venue_order_id = config_.session + "-O" + std::to_string(number);
  order.account = request.account();
  order.symbol = request.symbol();
  order.locate = locate;
  order.side = request.side();
  order.type = request.type();
  order.tif = request.time_in_force();
  order.quantity = request.quantity();
  // A market order's collar is its limit while it matches: it trades no further through the
  // book. Its type still makes whatever is left be canceled rather than rest.
  order.limit_price = request.type() == ov1::ORDER_TYPE_MARKET ? request.collar_price() : request.limit_price();
  order.leaves = request.quantity();
  by_order_id_.emplace(order.order_id, number);
  by_venue_id_.emplace(order.venue_order_id, number);

  answer.venue_order_id = order.venue_order_id;
  answer.report = report(order, v1::EXEC_TYPE_NEW);
  entries_.emplace(request.order_id(), Entry{std::move(key), answer});

  // Fill or kill: all of it now, or nothing (the remainder is then canceled below).
  if (order.tif != ov1::TIME_IN_FORCE_FOK || available(order) >= order.quantity) {
    match(order);
  }
  restOrCancel(number, order);
  return answer;
}

MatchingEngine::Order* MatchingEngine::find(const std::string& order_id,
                                            const std::string& venue_order_id, Answer& answer) {
  if (order_id.empty() && venue_order_id.empty()) {
    answer.outcome = Outcome::InvalidArgument;
    answer.error = "order_id or venue_order_id is required";
    return nullptr;
  }
  uint64_t number = 0;
  if (!venue_order_id.empty()) {
    const auto it = by_venue_id_.find(venue_order_id);
    if (it == by_venue_id_.end()) {
      answer.outcome = Outcome::NotFound;
      answer.error = "no order with venue_order_id '" + venue_order_id + "'";
      return nullptr;
    }
    number = it->second;
  }
  if (!order_id.empty()) {
    const auto it = by_order_id_.find(order_id);
    if (it == by_order_id_.end() || (number != 0 && it->second != number)) {
      answer.outcome = Outcome::NotFound;
      answer.error = "no order with order_id '" + order_id + "'" +
                     (venue_order_id.empty() ? "" : " and venue_order_id '" + venue_order_id + "'");
      return nullptr;
    }
    number = it->second;
  }
  Order& order = orders_.at(number);
  // An id a replace has retired names an order that is no longer open under that id.
  if (!order_id.empty() && order.order_id != order_id) {
    answer.outcome = Outcome::NotOpen;
    answer.error = "order '" + order_id + "' was replaced by '" + order.order_id + "'";
    return nullptr;
  }
  if (order.leaves == 0) {
    answer.outcome = Outcome::NotOpen;
    answer.error = "order '" + order.order_id + "' is no longer open (filled, canceled or expired)";
    return nullptr;
  }
  return &order;
}

Answer MatchingEngine::cancelOrder(const v1::CancelOrderRequest& request) {
  Answer answer;
  Order* order = find(request.order_id(), request.venue_order_id(), answer);
  if (order == nullptr) {
    return answer;
  }
  unrest(*order);
  order->leaves = 0;
  answer.venue_order_id = order->venue_order_id;
  answer.report = report(*order, v1::EXEC_TYPE_CANCELED);
  return answer;
}

Answer MatchingEngine::replaceOrder(const v1::ReplaceOrderRequest& request) {
  Answer answer;
  if (request.order_id().empty()) {
    answer.outcome = Outcome::InvalidArgument;
    answer.error = "order_id (of the replacement) is required";
    return answer;
  }
  std::string key = "R" + request.SerializeAsString();
  if (auto it = entries_.find(request.order_id()); it != entries_.end()) {
    if (it->second.request == key) {
      return it->second.answer;
    }
    answer.outcome = Outcome::Conflict;
    answer.error = "order_id '" + request.order_id() + "' was already used for another request";
    return answer;
  }
  if (by_order_id_.contains(request.order_id())) {
    answer.outcome = Outcome::Conflict;
    answer.error = "order_id '" + request.order_id() + "' already names an order";
    return answer;
  }
  Order* found = find(request.orig_order_id(), request.venue_order_id(), answer);
  if (found == nullptr) {
    return answer;
  }
  Order& order = *found;
  const uint64_t number = by_venue_id_.at(order.venue_order_id);

  std::string why;
  if (closed_) {
    why = "market closed";
  } else if (request.quantity() <= order.cum || request.quantity() > config_.max_quantity) {
    why = "quantity must be above the executed " + std::to_string(order.cum) + " and at most " +
          std::to_string(config_.max_quantity);
  } else {
    why = priceRefusal(order.type, request.limit_price());
  }
  if (!why.empty()) {
    // The replacement is refused; the original works on unchanged.
    v1::ExecutionReport r;
    r.set_order_id(request.order_id());
    r.set_venue_order_id(order.venue_order_id);
    r.set_orig_order_id(order.order_id);
    r.set_exec_type(v1::EXEC_TYPE_REJECTED);
    r.set_symbol(order.symbol);
    r.set_side(order.side);
    r.set_text(std::move(why));
    answer.venue_order_id = order.venue_order_id;
    answer.report = journal(std::move(r));
    entries_.emplace(request.order_id(), Entry{std::move(key), answer});
    return answer;
  }

  // Only a smaller quantity at the same price keeps the order's place in the queue: anything
  // else would let a replace jump ahead of orders that were there first.
  const bool keeps_priority =
      request.limit_price() == order.limit_price && request.quantity() < order.quantity;
  if (!keeps_priority) {
    unrest(order);
  }
  std::string orig = std::exchange(order.order_id, request.order_id());
  by_order_id_.emplace(order.order_id, number);
  order.quantity = request.quantity();
  order.limit_price = request.limit_price();
  order.leaves = order.quantity - order.cum;

  v1::ExecutionReport& r = report(order, v1::EXEC_TYPE_REPLACED);
  r.set_orig_order_id(std::move(orig));
  answer.venue_order_id = order.venue_order_id;
  answer.report = r;
  entries_.emplace(request.order_id(), Entry{std::move(key), answer});
  if (!keeps_priority) {
    // A new price may cross: the replacement trades as a new order would, then rests.
    match(order);
    restOrCancel(number, order);
  }
  return answer;
}

int64_t MatchingEngine::available(const Order& taker) const {
  if (closed_ || market_.halted(taker.locate)) {
    return 0;
  }
  int64_t total = 0;
  if (const auto b = books_.find(taker.locate); b != books_.end()) {
    const SideBook& opposite = isBuy(taker.side) ? b->second.asks : b->second.bids;
    for (const auto& [key, level] : opposite) {
      if (!crosses(taker.side, taker.limit_price, key < 0 ? -key : key) ||
          total >= taker.quantity) {
        break;
      }
      for (const uint64_t n : level) {
        total += orders_.at(n).leaves;
      }
    }
  }
  if (total >= taker.quantity) {
    return total;
  }
  return total + static_cast<int64_t>(market_.liquidity(
                     taker.locate, bookSide(taker.side), static_cast<book::Price>(taker.limit_price),
                     static_cast<uint64_t>(taker.quantity - total)));
}

void MatchingEngine::match(Order& taker) {
  if (closed_ || market_.halted(taker.locate)) {
    return; // a halted book does not trade; the order rests (or its IOC remainder is canceled)
  }
  const bool buy = isBuy(taker.side);
  SideBook& opposite = buy ? books_[taker.locate].asks : books_[taker.locate].bids;
  while (taker.leaves > 0) {
    int64_t routed = 0;
    if (!opposite.empty()) {
      const int64_t key = opposite.begin()->first;
      routed = key < 0 ? -key : key;
    }
    const TopOfBook top = market_.topOfBook(taker.locate);
    const int64_t displayed = buy ? top.ask.price : top.bid.price;
    const bool routed_crosses = routed != 0 && crosses(taker.side, taker.limit_price, routed);
    const bool displayed_crosses =
        displayed != 0 && crosses(taker.side, taker.limit_price, displayed);
    if (!routed_crosses && !displayed_crosses) {
      return;
    }
    // Best price first; at the same price the displayed (simulated) orders go before routed
    // ones, which are not displayed: the usual exchange rule for hidden liquidity.
    const bool take_displayed =
        displayed_crosses &&
        (!routed_crosses || (buy ? displayed <= routed : displayed >= routed));
    if (take_displayed) {
      sim_fills_.clear();
      market_.take(taker.locate, bookSide(taker.side), static_cast<book::Price>(displayed),
                   static_cast<uint64_t>(taker.leaves), 0, sim_fills_);
      if (sim_fills_.empty()) {
        return; // the top of book promised shares take() did not find: never loop on it
      }
      for (const SimFill& f : sim_fills_) {
        fill(taker, f.shares, f.price, ov1::LIQUIDITY_REMOVED);
      }
      continue;
    }
    Order& maker = orders_.at(opposite.begin()->second.front());
    const int64_t shares = std::min(taker.leaves, maker.leaves);
    market_.printNonDisplayed(taker.locate, bookSide(maker.side),
                              static_cast<book::Shares>(shares), static_cast<book::Price>(routed));
    fill(maker, shares, routed, ov1::LIQUIDITY_ADDED);
    fill(taker, shares, routed, ov1::LIQUIDITY_REMOVED);
    if (maker.leaves == 0) {
      unrest(maker);
    }
  }
}

void MatchingEngine::fill(Order& order, int64_t shares, int64_t price,
                          ov1::Liquidity liquidity) {
  order.cum += shares;
  order.leaves -= shares;
  v1::ExecutionReport& r =
      report(order, order.leaves == 0 ? v1::EXEC_TYPE_FILL : v1::EXEC_TYPE_PARTIAL_FILL);
  r.set_last_quantity(shares);
  r.set_last_price(price);
  r.set_liquidity(liquidity);
}

void MatchingEngine::restOrCancel(uint64_t number, Order& order) {
  if (order.leaves == 0) {
    return;
  }
  // Market orders have no price to rest at; IOC and FOK never rest by definition.
  if (order.type == ov1::ORDER_TYPE_MARKET || order.tif == ov1::TIME_IN_FORCE_IOC ||
      order.tif == ov1::TIME_IN_FORCE_FOK) {
    order.leaves = 0;
    report(order, v1::EXEC_TYPE_CANCELED);
    return;
  }
  rest(number, order);
}

void MatchingEngine::rest(uint64_t number, Order& order) {
  Book& book = books_[order.locate];
  SideBook& side = isBuy(order.side) ? book.bids : book.asks;
  Level& level = side[levelKey(order.side, order.limit_price)];
  order.pos = level.insert(level.end(), number);
  order.resting = true;
  ++resting_orders_;
  resting_locates_.insert(order.locate);
}

void MatchingEngine::unrest(Order& order) {
  if (!order.resting) {
    return;
  }
  Book& book = books_[order.locate];
  SideBook& side = isBuy(order.side) ? book.bids : book.asks;
  const auto level = side.find(levelKey(order.side, order.limit_price));
  level->second.erase(order.pos);
  if (level->second.empty()) {
    side.erase(level);
  }
  order.resting = false;
  --resting_orders_;
  if (book.bids.empty() && book.asks.empty()) {
    resting_locates_.erase(order.locate);
  }
}

void MatchingEngine::sweep() {
  if (closed_ || resting_locates_.empty()) {
    return;
  }
  // A copy: a sweep that fills the last resting order of a locate erases it from the set.
  const std::vector<uint16_t> locates(resting_locates_.begin(), resting_locates_.end());
  for (const uint16_t locate : locates) {
    if (!market_.halted(locate)) {
      sweepSide(locate, true);
      sweepSide(locate, false);
    }
  }
}

void MatchingEngine::sweepSide(uint16_t locate, bool buy) {
  SideBook& side = buy ? books_[locate].bids : books_[locate].asks;
  while (!side.empty()) {
    const int64_t key = side.begin()->first;
    const int64_t price = key < 0 ? -key : key;
    Order& maker = orders_.at(side.begin()->second.front());
    const TopOfBook top = market_.topOfBook(locate);
    const int64_t displayed = buy ? top.ask.price : top.bid.price;
    if (displayed == 0 || !crosses(maker.side, price, displayed)) {
      return;
    }
    sim_fills_.clear();
    market_.take(locate, bookSide(maker.side), static_cast<book::Price>(price),
                 static_cast<uint64_t>(maker.leaves), static_cast<book::Price>(price), sim_fills_);
    if (sim_fills_.empty()) {
      return;
    }
    for (const SimFill& f : sim_fills_) {
      fill(maker, f.shares, f.price, ov1::LIQUIDITY_ADDED);
    }
    if (maker.leaves == 0) {
      unrest(maker);
    }
  }
}

void MatchingEngine::closeMarket() {
  if (closed_) {
    return;
  }
  closed_ = true;
  std::vector<uint64_t> expiring;
  for (const auto& [number, order] : orders_) {
    if (order.resting && order.tif == ov1::TIME_IN_FORCE_DAY) {
      expiring.push_back(number);
    }
  }
  std::sort(expiring.begin(), expiring.end()); // reports in entry order, whatever the hashing
  for (const uint64_t number : expiring) {
    Order& order = orders_.at(number);
    unrest(order);
    order.leaves = 0;
    report(order, v1::EXEC_TYPE_EXPIRED);
  }
}

void MatchingEngine::listOpenOrders(const std::string& account,
                                    v1::ListOpenOrdersResponse& out) const {
  std::vector<uint64_t> open;
  for (const auto& [number, order] : orders_) {
    if (order.leaves > 0 && (account.empty() || order.account == account)) {
      open.push_back(number);
    }
  }
  std::sort(open.begin(), open.end());
  for (const uint64_t number : open) {
    const Order& o = orders_.at(number);
    v1::VenueOrder& v = *out.add_orders();
    v.set_order_id(o.order_id);
    v.set_venue_order_id(o.venue_order_id);
    v.set_account(o.account);
    v.set_symbol(o.symbol);
    v.set_side(o.side);
    v.set_type(o.type);
    v.set_time_in_force(o.tif);
    v.set_quantity(o.quantity);
    v.set_limit_price(o.limit_price);
    v.set_cumulative_quantity(o.cum);
    v.set_leaves_quantity(o.leaves);
  }
  out.set_last_exec_seq(lastExecSeq());
}

MatchingEngine::Range MatchingEngine::reportsFrom(uint64_t from, size_t max,
                                                  std::vector<v1::ExecutionReport>& out) const {
  from = std::max<uint64_t>(from, 1);
  if (from < first_seq_) {
    return Range::Gone;
  }
  if (from > next_seq_) {
    return Range::Future;
  }
  const uint64_t end = std::min<uint64_t>(next_seq_, from + max);
  for (uint64_t seq = from; seq < end; ++seq) {
    out.push_back(journal_[seq - first_seq_]);
  }
  return Range::Ok;
}

v1::ExecutionReport& MatchingEngine::report(const Order& order, v1::ExecType type) {
  v1::ExecutionReport r;
  r.set_order_id(order.order_id);
  r.set_venue_order_id(order.venue_order_id);
  r.set_exec_type(type);
  r.set_symbol(order.symbol);
  r.set_side(order.side);
  r.set_cumulative_quantity(order.cum);
  r.set_leaves_quantity(order.leaves);
  return journal(std::move(r));
}

v1::ExecutionReport& MatchingEngine::journal(v1::ExecutionReport&& r) {
  const uint64_t seq = next_seq_++;
  r.set_exec_seq(seq);
  // The session prefix keeps ids unique across restarts of the venue, whose sequence restarts.
  r.set_venue_execution_id(config_.session + "-E" + std::to_string(seq));
  r.set_transact_ts_ns(clock_());
  if (journal_.size() >= config_.history) {
    journal_.pop_front(); // references to the other reports stay valid
    ++first_seq_;
  }
  journal_.push_back(std::move(r));
  return journal_.back();
}

} // namespace tickstream::exchange_sim
