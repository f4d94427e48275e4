#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>

#include "tickstream/order/v1/order.pb.h"

// The working-order exposure of the accounts one writer lane serves, kept in memory so that a
// submit batch's risk check does not count each account's working orders in PostgreSQL again
// (docs/order.md, "Exposure cache"). Those counts walk the account's working orders (and the
// dead index entries of orders that stopped working), so their cost grew with the backlog of
// orders waiting for the venue: ~60 % of PostgreSQL's CPU under load before this cache.
//
// Why it cannot go stale: every write of an account (any lane, any replica, replace()) takes the
// account's next account_seq under the account's sequence-row lock. An entry records the
// last_seq it reflects; a batch that holds the lock and reads last_seq == the entry's seq knows
// that nothing committed since, and any other value means "reload from PostgreSQL". Entries
// move forward only after a COMMIT, by exactly the delta of what that transaction wrote.
// One lane's writer thread owns its cache: no locking.
namespace tickstream::order {

// Working orders' unfilled shares in one symbol.
struct SymbolExposure {
  std::int64_t open_buy = 0;
  std::int64_t open_sell = 0;
};

// An account's working orders as of one account_seq.
struct CachedExposure {
  std::int64_t last_seq = 0;
  std::int64_t open_orders = 0;                              // all symbols
  std::unordered_map<std::string, SymbolExposure> symbols;  // symbols with working orders only
};

// What one transaction did to an account's working orders: it found last_seq at from_seq
// (under the lock) and left it at to_seq.
struct ExposureDelta {
  std::int64_t from_seq = 0;
  std::int64_t to_seq = 0;
  std::int64_t open_orders = 0;
  std::map<std::string, SymbolExposure> symbols;  // signed changes

  // Adds (sign +1) or removes (sign -1) the order's contribution: nothing unless it works.
  void add(const v1::Order& order, int sign);
};

// Statuses an order still works in; the SQL mirror is the generated column orders.working
// (migration 0007; a unit test keeps the two equal).
[[nodiscard]] bool isWorking(v1::OrderStatus status) noexcept;

class ExposureCache {
 public:
  // Beyond max_accounts entries trim() starts over empty (a bound on memory; entries are cheap
  // to reload, one statement per batch for all the accounts missing).
  explicit ExposureCache(std::size_t max_accounts = 200'000) : max_accounts_(max_accounts) {}

  // The account's entry if it reflects exactly `last_seq`, else nothing.
  [[nodiscard]] const CachedExposure* find(const std::string& account, std::int64_t last_seq) const;
  // The account's exposure read from PostgreSQL while holding its lock (so it reflects the
  // last_seq read under that lock).
  void put(const std::string& account, CachedExposure exposure);
  // After a COMMIT: an entry at delta.from_seq moves to delta.to_seq with the delta applied;
  // an entry at any other seq is dropped (it missed a write), and a missing one stays missing.
  void apply(const std::string& account, const ExposureDelta& delta);
  // Between transactions (entries found earlier stay valid until then): empties the cache when
  // it holds more than max_accounts entries.
  void trim() {
    if (entries_.size() > max_accounts_) entries_.clear();
  }
  [[nodiscard]] std::size_t size() const { return entries_.size(); }

 private:
  std::size_t max_accounts_;
  std::unordered_map<std::string, CachedExposure> entries_;
};

}  // namespace tickstream::order
