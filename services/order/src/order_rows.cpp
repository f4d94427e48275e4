#include "order_rows.h"

#include <array>
#include <random>

namespace tickstream::order::rows {
namespace {
__extension__ using Int128 = __int128;  // GCC/Clang's, as in order_validation.cpp
}  // namespace

v1::Order rowToOrder(const pqxx::row& row, int first) {
  v1::Order o;
  int c = first;
  o.set_order_id(row[c++].as<std::string>());
  o.set_account(row[c++].as<std::string>());
  o.set_client_order_id(row[c++].as<std::string>());
  o.set_symbol(row[c++].as<std::string>());
  o.set_side(static_cast<v1::Side>(row[c++].as<int>()));
  o.set_type(static_cast<v1::OrderType>(row[c++].as<int>()));
  o.set_time_in_force(static_cast<v1::TimeInForce>(row[c++].as<int>()));
  o.set_quantity(row[c++].as<std::int64_t>());
  o.set_limit_price(row[c++].as<std::int64_t>());
  o.set_filled_quantity(row[c++].as<std::int64_t>());
  o.set_avg_fill_price(row[c++].as<std::int64_t>());
  o.set_status(static_cast<v1::OrderStatus>(row[c++].as<int>()));
  o.set_reject_reason(static_cast<v1::RejectReason>(row[c++].as<int>()));
  o.set_reject_text(row[c++].as<std::string>());
  o.set_venue_order_id(row[c++].as<std::string>());
  o.set_created_ts_ns(row[c++].as<std::int64_t>());
  o.set_updated_ts_ns(row[c++].as<std::int64_t>());
  o.set_version(row[c++].as<std::uint64_t>());
  o.set_replaces_order_id(row[c++].as<std::string>());
  o.set_replaced_by_order_id(row[c++].as<std::string>());
  return o;
}

std::string newId(const char* prefix) {
  // One generator per thread: no lock on the submit path; seeded from the OS per thread.
  thread_local std::mt19937_64 rng{[] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(prefix);
  for (int half = 0; half < 2; ++half) {
    std::uint64_t v = rng();
    for (int i = 0; i < 16; ++i, v >>= 4) id.push_back(kHex[v & 0xf]);
  }
  return id;
}

std::int64_t averagePrice(std::int64_t avg, std::int64_t filled, std::int64_t price, std::int64_t quantity) {
  const Int128 total = static_cast<Int128>(avg) * filled + static_cast<Int128>(price) * quantity;
  const Int128 shares = static_cast<Int128>(filled) + quantity;
  return static_cast<std::int64_t>((total + shares / 2) / shares);  // prices are > 0: round half up
}

}  // namespace tickstream::order::rows
