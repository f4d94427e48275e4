#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tickstream/book/order_book.h"
#include "tickstream/book/order_map.h"
#include "tickstream/book/types.h"

namespace tickstream::book {

struct BookSetConfig {
  size_t books = 16384;              // books indexed by stock locate 0..books-1; 1..65536
  size_t expected_orders = 1 << 20;  // live orders held without rehashing; 1..2^30
  size_t depth_levels = 10;          // N of Update::depth_changed (levels per side); 1..1024
};

// The order-level events a book is built from, as ITCH 5.0 defines them. The normaliser maps
// A and F (add with MPID; attribution does not change an aggregated book) to Add, E to Execute,
// C to ExecuteWithPrice, X to Cancel, D to Delete and U to Replace.
enum class EventType : uint8_t { Add, Execute, ExecuteWithPrice, Cancel, Delete, Replace };

struct Event {
  EventType type = EventType::Add;
  Side side = Side::Buy;   // Add
  bool printable = true;   // ExecuteWithPrice: ITCH Printable flag
  BookId book = 0;         // Add: stock locate
  Shares shares = 0;       // Add, Execute, ExecuteWithPrice, Cancel, Replace
  Price price = 0;         // Add, Replace; ExecuteWithPrice: the execution price
  OrderRef ref = 0;        // the order; Replace: the original order
  OrderRef new_ref = 0;    // Replace: the new order
};

// What one call changed, so a subscriber can skip updates that change nothing visible.
// book, side and the flags are meaningful only when status == Ok.
struct Update {
  Status status = Status::Ok;
  BookId book = 0;
  Side side = Side::Buy;
  bool top_changed = false;    // the best price or best size of `side` changed
  bool depth_changed = false;  // any of the best depth_levels levels of `side` changed
                               // (price, shares or order count); implied by top_changed
  bool traded = false;         // an execution took shares off the book
  bool printable = false;      // ...and counts as a trade (last/volume/VWAP were updated)
  Shares trade_shares = 0;
  Price trade_price = 0;       // the order's price, or the ExecuteWithPrice price

  [[nodiscard]] bool ok() const noexcept { return status == Status::Ok; }
};

// Every symbol's book plus the live orders that make them up (ITCH order references are unique
// per day across symbols, so executes, cancels and deletes, which carry no symbol, find their
// book here). Single-threaded; no call throws, and in steady state none allocates: the order
// table and each side's level vector only grow past their largest size so far.
class BookSet {
public:
  // Throws std::invalid_argument naming the offending BookSetConfig field.
  explicit BookSet(const BookSetConfig& config = {});

  // ITCH A/F: a new order resting at `price` for `shares`.
  Update add(OrderRef ref, BookId book, Side side, Shares shares, Price price) noexcept;
  // ITCH E: `shares` of the order executed at its own price; at 0 remaining it leaves the book.
  Update execute(OrderRef ref, Shares shares) noexcept;
  // ITCH C: as execute, but the trade happened at `price` (reported in the Update and counted
  // in the trade stats when `printable`); the order's resting price does not change.
  Update executeWithPrice(OrderRef ref, Shares shares, Price price, bool printable) noexcept;
  // ITCH X: `shares` cancelled; at 0 remaining the order leaves the book.
  Update cancel(OrderRef ref, Shares shares) noexcept;
  // ITCH D: the whole order leaves the book.
  Update deleteOrder(OrderRef ref) noexcept;
  // ITCH U: delete `old_ref`, add `new_ref` with the same book and side (it loses priority).
  Update replace(OrderRef old_ref, OrderRef new_ref, Shares shares, Price price) noexcept;
  // Dispatches on event.type.
  Update apply(const Event& event) noexcept;

  [[nodiscard]] const OrderBook& book(BookId book) const noexcept { return books_[book]; }
  [[nodiscard]] size_t bookCount() const noexcept { return books_.size(); }
  // The live order `ref`, or nullptr; valid until the next mutating call.
  [[nodiscard]] const OrderEntry* order(OrderRef ref) const noexcept { return orders_.find(ref); }
  [[nodiscard]] size_t orderCount() const noexcept { return orders_.size(); }
  [[nodiscard]] const BookSetConfig& config() const noexcept { return config_; }

private:
  Update reduce(OrderRef ref, Shares shares, bool traded, Price trade_price,
                bool printable) noexcept;

  BookSetConfig config_;
  std::vector<OrderBook> books_;
  OrderMap orders_;
};

} // namespace tickstream::book
