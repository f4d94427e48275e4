#include "order_rows.h"

#include "tickstream/runtime/logging.h"

#include <algorithm>
#include <array>
#include <stdexcept>
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
  o.set_collar_price(row[c++].as<std::int64_t>());
  return o;
}

std::optional<Fingerprint> fingerprintFrom(const pqxx::field& field) {
  const pqxx::binarystring bytes(field);
  if (bytes.size() != std::tuple_size_v<Fingerprint>) return std::nullopt;
  Fingerprint f;
  std::copy(bytes.begin(), bytes.end(), f.begin());
  return f;
}

SubmitOutcome outcomeForStored(const std::optional<Fingerprint>& stored, const Fingerprint& incoming,
                               const std::string& stored_order_id, const std::string& own_order_id) {
  if (classify(stored, incoming) != Idempotency::Duplicate) return SubmitOutcome::Conflict;
  return stored_order_id == own_order_id ? SubmitOutcome::Created : SubmitOutcome::Duplicate;
}

std::optional<RiskLimits> limitsFrom(const pqxx::row& row, int c) {
  if (row[c].is_null()) return std::nullopt;
  RiskLimits limits;
  limits.max_order_notional = row[c].as<std::int64_t>();
  limits.max_open_orders = row[c + 1].as<std::int64_t>();
  limits.max_position = row[c + 2].as<std::int64_t>();
  limits.orders_per_second = row[c + 3].as<std::int64_t>();
  limits.order_burst = row[c + 4].as<std::int64_t>();
  limits.allow_short = row[c + 5].as<bool>();
  return limits;
}

RiskInputs riskInputsFrom(const pqxx::row& row, int first) {
  RiskInputs inputs;
  inputs.limits = limitsFrom(row, first);
  const int c = first + 6;
  inputs.exposure.open_orders = row[c].as<std::int64_t>();
  inputs.exposure.open_buy_quantity = row[c + 1].as<std::int64_t>();
  inputs.exposure.open_sell_quantity = row[c + 2].as<std::int64_t>();
  inputs.exposure.position = row[c + 3].as<std::int64_t>();
  return inputs;
}

v1::OrderEvent newOrderEvent(const v1::SubmitOrderRequest& r, const std::string& order_id, std::int64_t now_ns,
                             const std::optional<Rejection>& rejection, std::int64_t account_seq,
                             std::int64_t collar_price) {
  // NEW → accept/reject in the table, stored as one event from UNSPECIFIED: NEW never outlives
  // the submit's transaction.
  const auto status = transition(v1::ORDER_STATUS_NEW, rejection ? Trigger::Reject : Trigger::Accept, Fills::None);
  if (!status) throw std::logic_error("state machine refuses accept/reject of a NEW order");
  v1::OrderEvent event;
  v1::Order& o = *event.mutable_order();
  o.set_order_id(order_id);
  o.set_account(r.account());
  o.set_client_order_id(r.client_order_id());
  o.set_symbol(r.symbol());
  o.set_side(r.side());
  o.set_type(r.type());
  o.set_time_in_force(r.time_in_force());
  o.set_quantity(r.quantity());
  o.set_limit_price(r.limit_price());
  o.set_collar_price(collar_price);
  o.set_status(*status);
  if (rejection) {
    o.set_reject_reason(rejection->reason);
    o.set_reject_text(rejection->text);
  }
  o.set_created_ts_ns(now_ns);
  o.set_updated_ts_ns(now_ns);
  o.set_version(1);
  event.set_event_id(eventId(r.account(), account_seq));
  event.set_account(r.account());
  event.set_order_id(order_id);
  event.set_account_seq(static_cast<std::uint64_t>(account_seq));
  event.set_from_status(v1::ORDER_STATUS_UNSPECIFIED);
  event.set_to_status(*status);
  event.set_event_ts_ns(now_ns);
  return event;
}

v1::Fill makeFill(const v1::Order& o, const FillReport& fill) {
  v1::Fill f;
  f.set_fill_id(newId("fill-"));
  f.set_venue_execution_id(fill.venue_execution_id);
  f.set_order_id(o.order_id());
  f.set_account(o.account());
  f.set_symbol(o.symbol());
  f.set_side(o.side());
  f.set_quantity(fill.quantity);
  f.set_price(fill.price);
  f.set_fill_ts_ns(fill.fill_ts_ns);
  f.set_liquidity(fill.liquidity);
  f.set_fee(fill.fee);
  return f;
}

bool addFill(v1::Order& o, const FillReport& fill, v1::OrderStatus next) {
  o.set_avg_fill_price(averagePrice(o.avg_fill_price(), o.filled_quantity(), fill.price, fill.quantity));
  o.set_filled_quantity(o.filled_quantity() + fill.quantity);
  o.set_status(next);
  // Not a replacement's: with an id its ack would be refused as a repeat (repeatsOrContradicts)
  // and the original's fills it carries lost.
  if (!o.venue_order_id().empty() || fill.venue_order_id.empty() || !o.replaces_order_id().empty()) {
    return false;
  }
  o.set_venue_order_id(fill.venue_order_id);
  return true;
}

std::optional<v1::OrderStatus> fillTransition(const v1::Order& o, const FillReport& fill) {
  const auto open = o.quantity() - o.filled_quantity();
  const auto fills = o.filled_quantity() > 0 ? Fills::Some : Fills::None;
  const auto next = fill.quantity > open ? std::nullopt
                                         : transition(o.status(), fill.quantity == open ? Trigger::FullFill
                                                                                        : Trigger::PartialFill,
                                                      fills);
  if (!next) {
    logging::error("fill refused", {{"order_id", o.order_id()},
                                    {"venue_execution_id", fill.venue_execution_id},
                                    {"status", v1::OrderStatus_Name(o.status())},
                                    {"quantity", static_cast<long long>(fill.quantity)},
                                    {"open_quantity", static_cast<long long>(open)}});
  }
  return next;
}

void applyTransitionDetails(v1::Order& o, v1::OrderStatus next, const TransitionDetails& details) {
  o.set_status(next);
  if (!details.venue_order_id.empty()) o.set_venue_order_id(details.venue_order_id);
  if (next == v1::ORDER_STATUS_REJECTED && details.rejection.reason != v1::REJECT_REASON_UNSPECIFIED) {
    o.set_reject_reason(details.rejection.reason);
    o.set_reject_text(details.rejection.text);
  }
  if (!details.replaced_by_order_id.empty()) o.set_replaced_by_order_id(details.replaced_by_order_id);
}

void inheritFills(v1::Order& o, const TransitionDetails& details) {
  const auto& inherited = details.inherited_fills;
  if (inherited && inherited->filled_quantity > o.filled_quantity()) {
    o.set_filled_quantity(inherited->filled_quantity);
    o.set_avg_fill_price(inherited->avg_fill_price);
  }
}

bool repeatsOrContradicts(const v1::Order& o, Trigger trigger, const TransitionDetails& details) {
  if (trigger == Trigger::ReplaceReject) {
    return !details.replaced_by_order_id.empty() && o.replaced_by_order_id() != details.replaced_by_order_id;
  }
  return trigger == Trigger::VenueAck && !o.venue_order_id().empty();
}

v1::OrderEvent changeEvent(const v1::Order& o, std::int64_t seq, v1::OrderStatus from) {
  v1::OrderEvent event;
  event.set_event_id(eventId(o.account(), seq));
  event.set_account(o.account());
  event.set_order_id(o.order_id());
  event.set_account_seq(static_cast<std::uint64_t>(seq));
  event.set_from_status(from);
  event.set_to_status(o.status());
  *event.mutable_order() = o;
  event.set_event_ts_ns(o.updated_ts_ns());
  return event;
}

std::string eventId(const std::string& account, std::int64_t account_seq) {
  return account + "/" + std::to_string(account_seq);
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
