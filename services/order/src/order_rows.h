#pragma once

#include <pqxx/pqxx>

#include <cstdint>
#include <string>

#include "order_store.h"
#include "tickstream/order/v1/order.pb.h"

// How orders are read from and written to PostgreSQL rows (services/order/migrations): the one
// column list every SELECT uses, the row → proto mapping, and the ids the store generates.
namespace tickstream::order::rows {

// The columns of `orders` in the order rowToOrder() reads them.
inline constexpr const char* kOrderColumns =
    "order_id, account, client_order_id, symbol, side, type, time_in_force, quantity, limit_price, "
    "filled_quantity, avg_fill_price, status, reject_reason, reject_text, coalesce(venue_order_id, ''), "
    "created_ts_ns, updated_ts_ns, version, coalesce(replaces_order_id, ''), coalesce(replaced_by_order_id, ''), "
    "collar_price";

// Reads kOrderColumns starting at column `first`.
v1::Order rowToOrder(const pqxx::row& row, int first = 0);

// Bytes as a bytea statement parameter (a payload, an outbox row's records).
inline pqxx::binarystring bytea(const std::string& bytes) { return pqxx::binarystring(bytes.data(), bytes.size()); }

// A stored request_fingerprint (bytea); nothing if it is not 32 bytes (classify() then conflicts).
std::optional<Fingerprint> fingerprintFrom(const pqxx::field& field);

// What a submit whose key is taken returns: Duplicate for the same payload, Conflict otherwise;
// Created when the stored order is the one this submit inserted (a re-run after an in-doubt
// COMMIT).
SubmitOutcome outcomeForStored(const std::optional<Fingerprint>& stored, const Fingerprint& incoming,
                               const std::string& stored_order_id, const std::string& own_order_id);

// RiskInputs from 10 columns starting at `first`: the risk_limits columns (max_order_notional,
// max_open_orders, max_position, orders_per_second, order_burst, allow_short; NULL when the
// account has no row), then open orders, open buy and open sell quantity, position.
RiskInputs riskInputsFrom(const pqxx::row& row, int first);
// The six risk_limits columns of riskInputsFrom() starting at `first`; nothing when NULL (no row).
std::optional<RiskLimits> limitsFrom(const pqxx::row& row, int first);

// The first event of a submitted order, with the order (ACCEPTED or, with `rejection`, REJECTED;
// version 1) inside: what order_events.payload and its outbox record hold.
// `collar_price`: a market order's collar (0 = none), kept in the order.
v1::OrderEvent newOrderEvent(const v1::SubmitOrderRequest& request, const std::string& order_id, std::int64_t now_ns,
                             const std::optional<Rejection>& rejection, std::int64_t account_seq,
                             std::int64_t collar_price);

// The event of a change: the order after it (`o`, already at its new status and version),
// numbered `seq` in its account, from status `from`.
v1::OrderEvent changeEvent(const v1::Order& o, std::int64_t seq, v1::OrderStatus from);

// The Fill record of `fill` on order `o`, with a new fill id.
v1::Fill makeFill(const v1::Order& o, const FillReport& fill);

// The status a fill of `quantity` takes `o` to, or nothing when it is refused (more than the
// open quantity, or illegal in its status; logged at error level: shares may have traded).
std::optional<v1::OrderStatus> fillTransition(const v1::Order& o, const FillReport& fill);

// Adds `fill` to `o` (filled quantity, average price) and moves it to `next` (fillTransition's
// answer). True when it also gave `o` the venue's id from the report: `o` had none (its ack was
// lost) and is not a replacement, whose ack must still come to bring it the original's fills.
bool addFill(v1::Order& o, const FillReport& fill, v1::OrderStatus next);

// Moves `o` to `next` and records what the trigger's details carry (the venue's id, a
// rejection, the replacing order).
void applyTransitionDetails(v1::Order& o, v1::OrderStatus next, const TransitionDetails& details);
// Before the transition is looked up (the fills decide between ROUTED and PARTIALLY_FILLED):
// takes details.inherited_fills when they are more than the order's own.
void inheritFills(v1::Order& o, const TransitionDetails& details);
// A transition the order's own fields refuse, beyond the state table, like an illegal one: a
// ReplaceReject naming another replacement than the one `o` waits for (an old report of an
// earlier refused replace, applied again), or a VenueAck of an order the venue has acknowledged
// already (a report applied again, or a redirected fill's ack of a replacement: in
// PENDING_CANCEL, where an ack is legal, it would write an event that changes nothing and send
// the cancel a second time).
bool repeatsOrContradicts(const v1::Order& o, Trigger trigger, const TransitionDetails& details);

// "<account>/<account_seq>": unique, and says where the event sits.
std::string eventId(const std::string& account, std::int64_t account_seq);

// A random 128-bit id with a prefix ("ord-", "fill-"): unique without a round trip, and not
// guessable from another account's ids.
std::string newId(const char* prefix);

// Shares-weighted average of the previous fills and a new one, rounded to nearest (half
// up: prices are positive), in 128 bits so quantity x price cannot overflow. Fixed-point 1/10000.
std::int64_t averagePrice(std::int64_t avg, std::int64_t filled, std::int64_t price, std::int64_t quantity);

}  // namespace tickstream::order::rows
