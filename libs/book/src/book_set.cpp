#include "tickstream/book/book_set.h"

#include <stdexcept>
#include <string>

namespace tickstream::book {
namespace {

void require(bool ok, const std::string& message) {
  if (!ok) {
    throw std::invalid_argument("invalid book config: " + message);
  }
}

BookSetConfig validated(const BookSetConfig& c) {
  require(c.books >= 1 && c.books <= 65536,
          "BookSetConfig.books must be in [1, 65536], got " + std::to_string(c.books));
  require(c.expected_orders >= 1 && c.expected_orders <= (size_t{1} << 30),
          "BookSetConfig.expected_orders must be in [1, 2^30], got " +
              std::to_string(c.expected_orders));
  require(c.depth_levels >= 1 && c.depth_levels <= 1024,
          "BookSetConfig.depth_levels must be in [1, 1024], got " +
              std::to_string(c.depth_levels));
  return c;
}

constexpr bool validPrice(Price p) noexcept { return p != 0 && p <= kMaxPrice; }

Update failed(Status s) noexcept {
  Update u;
  u.status = s;
  return u;
}

} // namespace

BookSet::BookSet(const BookSetConfig& config)
    : config_(validated(config)), books_(config_.books), orders_(config_.expected_orders) {}

Update BookSet::add(OrderRef ref, BookId book, Side side, Shares shares, Price price) noexcept {
  if (book >= books_.size()) {
    return failed(Status::UnknownBook);
  }
  if (shares == 0) {
    return failed(Status::BadShares);
  }
  if (!validPrice(price)) {
    return failed(Status::BadPrice);
  }
  // Growing the table is the only allocation here, and only past the day's peak so far.
  if (!orders_.insert(OrderEntry{ref, price, shares, book, side})) {
    return failed(Status::DuplicateOrder);
  }
  const size_t rank = books_[book].mutableLevels(side).addOrder(price, shares);
  Update u;
  u.book = book;
  u.side = side;
  // Shares only ever grow at the touched level, so it changed; visible iff in the window.
  u.top_changed = rank == 0;
  u.depth_changed = rank < config_.depth_levels;
  return u;
}

Update BookSet::reduce(OrderRef ref, Shares shares, bool traded, Price trade_price,
                       bool printable) noexcept {
  OrderEntry* e = orders_.find(ref);
  if (e == nullptr) {
    return failed(Status::UnknownOrder);
  }
  if (shares > e->shares) {
    return failed(Status::Overfill);
  }
  const bool gone = shares == e->shares;
  OrderBook& b = books_[e->book];
  const size_t rank = b.mutableLevels(e->side).reduce(e->price, shares, gone);
  Update u;
  u.book = e->book;
  u.side = e->side;
  u.top_changed = rank == 0;
  u.depth_changed = rank < config_.depth_levels;
  if (traded) {
    u.traded = true;
    u.printable = printable;
    u.trade_shares = shares;
    u.trade_price = trade_price == 0 ? e->price : trade_price;
    if (printable) {
      TradeStats& t = b.trades_;
      t.last_price = u.trade_price;
      t.last_shares = shares;
      ++t.trades;
      t.volume += shares;
      t.notional += static_cast<Uint128>(u.trade_price) * shares;
    }
  }
  if (gone) {
    orders_.erase(e);
  } else {
    e->shares -= shares;
  }
  return u;
}

Update BookSet::execute(OrderRef ref, Shares shares) noexcept {
  if (shares == 0) {
    return failed(Status::BadShares);
  }
  return reduce(ref, shares, true, 0, true);
}

Update BookSet::executeWithPrice(OrderRef ref, Shares shares, Price price,
                                 bool printable) noexcept {
  if (shares == 0) {
    return failed(Status::BadShares);
  }
  if (!validPrice(price)) {
    return failed(Status::BadPrice);
  }
  return reduce(ref, shares, true, price, printable);
}

Update BookSet::cancel(OrderRef ref, Shares shares) noexcept {
  if (shares == 0) {
    return failed(Status::BadShares);
  }
  return reduce(ref, shares, false, 0, false);
}

Update BookSet::deleteOrder(OrderRef ref) noexcept {
  const OrderEntry* e = orders_.find(ref);
  if (e == nullptr) {
    return failed(Status::UnknownOrder);
  }
  return reduce(ref, e->shares, false, 0, false);
}

Update BookSet::replace(OrderRef old_ref, OrderRef new_ref, Shares shares, Price price) noexcept {
  if (shares == 0) {
    return failed(Status::BadShares);
  }
  if (!validPrice(price)) {
    return failed(Status::BadPrice);
  }
  OrderEntry* e = orders_.find(old_ref);
  if (e == nullptr) {
    return failed(Status::UnknownOrder);
  }
  // ITCH always assigns a fresh reference; reusing the old one (or any live one) is a fault.
  if (new_ref == old_ref || orders_.find(new_ref) != nullptr) {
    return failed(Status::DuplicateOrder);
  }
  const OrderEntry old = *e;
  PriceLevels& levels = books_[old.book].mutableLevels(old.side);
  Update u;
  u.book = old.book;
  u.side = old.side;
  if (old.price == price) {
    // Same level: its order count is unchanged and only a size change is visible. (Priority
    // is lost, but an aggregated book does not model queue position.)
    if (shares != old.shares) {
      const size_t rank =
          levels.resize(price, static_cast<int64_t>(shares) - static_cast<int64_t>(old.shares));
      u.top_changed = rank == 0;
      u.depth_changed = rank < config_.depth_levels;
    }
  } else {
    // Two different prices: the old level loses shares (or vanishes) and the new one gains
    // them, so neither can undo the other; each is visible iff it is within the window.
    const size_t removed = levels.reduce(old.price, old.shares, true);
    const size_t added = levels.addOrder(price, shares);
    u.top_changed = removed == 0 || added == 0;
    u.depth_changed = removed < config_.depth_levels || added < config_.depth_levels;
  }
  orders_.erase(e);
  orders_.insert(OrderEntry{new_ref, price, shares, old.book, old.side});
  return u;
}

Update BookSet::apply(const Event& ev) noexcept {
  switch (ev.type) {
  case EventType::Add: return add(ev.ref, ev.book, ev.side, ev.shares, ev.price);
  case EventType::Execute: return execute(ev.ref, ev.shares);
  case EventType::ExecuteWithPrice:
    return executeWithPrice(ev.ref, ev.shares, ev.price, ev.printable);
  case EventType::Cancel: return cancel(ev.ref, ev.shares);
  case EventType::Delete: return deleteOrder(ev.ref);
  case EventType::Replace: return replace(ev.ref, ev.new_ref, ev.shares, ev.price);
  }
  return failed(Status::BadShares);
}

} // namespace tickstream::book
