#pragma once

#include <variant>

#include "tickstream/book/book_set.h"
#include "tickstream/itch/messages.h"

namespace tickstream::exchange_sim::test {

inline book::Side sideOf(char c) { return c == 'B' ? book::Side::Buy : book::Side::Sell; }

// A pipeline in miniature: rebuilds books from the decoded wire bytes alone.
inline book::Status applyToBook(book::BookSet& books, const itch::Message& m) {
  if (const auto* a = std::get_if<itch::AddOrder>(&m)) {
    return books.add(a->order_ref, a->stock_locate, sideOf(a->side), a->shares, a->price).status;
  }
  if (const auto* f = std::get_if<itch::AddOrderMpid>(&m)) {
    return books.add(f->order_ref, f->stock_locate, sideOf(f->side), f->shares, f->price).status;
  }
  if (const auto* e = std::get_if<itch::OrderExecuted>(&m)) {
    return books.execute(e->order_ref, e->executed_shares).status;
  }
  if (const auto* c = std::get_if<itch::OrderExecutedWithPrice>(&m)) {
    return books.executeWithPrice(c->order_ref, c->executed_shares, c->execution_price,
                                  c->printable == 'Y').status;
  }
  if (const auto* x = std::get_if<itch::OrderCancel>(&m)) {
    return books.cancel(x->order_ref, x->cancelled_shares).status;
  }
  if (const auto* d = std::get_if<itch::OrderDelete>(&m)) {
    return books.deleteOrder(d->order_ref).status;
  }
  if (const auto* u = std::get_if<itch::OrderReplace>(&m)) {
    return books.replace(u->original_order_ref, u->new_order_ref, u->shares, u->price).status;
  }
  return book::Status::Ok;
}

} // namespace tickstream::exchange_sim::test
