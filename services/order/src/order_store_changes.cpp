// OrderStore::changeMany: a lane's transitions and fills in four statements (three without a
// fill), whatever their number (docs/order.md, "Group commit"). Under load a lane's batches are
// mostly venue reports (an IOC order brings an ack and a cancel), and round trips, not the WAL
// flush, bound it.
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "order_rows.h"
#include "order_store.h"
#include "outbox_records.h"
#include "pg_array.h"
#include "tickstream/runtime/logging.h"

namespace tickstream::order {
namespace {

const std::string kReadOrders = std::string("SELECT ") + rows::kOrderColumns +
                                " FROM orders WHERE order_id = ANY($1::text[]) ORDER BY order_id FOR UPDATE";

const std::string kReadFills = "SELECT venue_execution_id FROM fills WHERE venue_execution_id = ANY($1::text[])";

// Every changed order's final state, the fills, the events, the accounts' new last_seq and the
// batch's outbox row: its records in change order ($33, outbox_records.h), so each account's
// follow its account_seq.
const std::string kWriteChanges =
    "WITH u AS (UPDATE orders AS o SET status = t.status, filled_quantity = t.filled, avg_fill_price = t.avg, "
    "   reject_reason = t.reason, reject_text = t.text, venue_order_id = nullif(t.venue_id, ''), "
    "   replaced_by_order_id = nullif(t.replaced_by, ''), updated_ts_ns = t.ts, version = t.version "
    " FROM unnest($1::text[], $2::smallint[], $3::bigint[], $4::bigint[], $5::smallint[], $6::text[], $7::text[], "
    "   $8::text[], $9::bigint[], $10::bigint[]) "
    "   AS t(id, status, filled, avg, reason, text, venue_id, replaced_by, ts, version) WHERE o.order_id = t.id), "
    "f AS (INSERT INTO fills (fill_id, venue_execution_id, order_id, account, symbol, side, quantity, price, "
    "   fill_ts_ns, liquidity, fee) "
    " SELECT * FROM unnest($11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::smallint[], "
    "   $17::bigint[], $18::bigint[], $19::bigint[], $20::smallint[], $21::bigint[])), "
    "e AS (INSERT INTO order_events (account, account_seq, event_id, order_id, from_status, to_status, fill_id, "
    "   event_ts_ns, payload) "
    " SELECT t.account, t.seq, t.event_id, t.id, t.from_status, t.to_status, nullif(t.fill_id, ''), t.ts, t.payload "
    " FROM unnest($22::text[], $23::bigint[], $24::text[], $25::text[], $26::smallint[], $27::smallint[], "
    "   $28::text[], $29::bigint[], $30::bytea[]) "
    "   AS t(account, seq, event_id, id, from_status, to_status, fill_id, ts, payload)), "
    "s AS (UPDATE account_sequences AS a SET last_seq = q.seq "
    " FROM unnest($31::text[], $32::bigint[]) AS q(account, seq) WHERE a.account = q.account) "
    "INSERT INTO outbox (records) VALUES ($33)";

Fills fillsOf(const v1::Order& order) { return order.filled_quantity() > 0 ? Fills::Some : Fills::None; }

}  // namespace

void OrderStore::prepareChangeMany(pg::Pool& pool) {
  pool.registerPrepared("order_changes_orders", kReadOrders);
  pool.registerPrepared("order_changes_fills", kReadFills);
  pool.registerPrepared("order_changes_write", kWriteChanges);
}

bool OrderStore::changeMany(pqxx::work& tx, const std::vector<PendingChange*>& changes, ExposureWork& work) {
  std::set<std::string> accounts;  // sorted: the lock order every batch uses
  std::vector<std::string> order_ids, exec_ids;
  for (const auto* c : changes) {
    accounts.insert(c->account);
    order_ids.push_back(c->order_id);
    if (c->kind == PendingChange::Kind::Fill) exec_ids.push_back(c->fill.venue_execution_id);
  }
  std::map<std::string, std::int64_t> last_seq;
  // The submit batch's lock statement (order_store_batch.cpp): last_seq unchanged, set by the write.
  for (const auto& row : tx.exec_prepared("order_batch_lock", textArray({accounts.begin(), accounts.end()}))) {
    last_seq[row[0].as<std::string>()] = row[1].as<std::int64_t>();
  }
  // Read after the locks, as a single change does: every earlier change of these accounts is visible.
  std::unordered_map<std::string, v1::Order> orders;
  for (const auto& row : tx.exec_prepared("order_changes_orders", textArray(order_ids))) {
    auto o = rows::rowToOrder(row);
    orders.emplace(o.order_id(), std::move(o));
  }
  const auto locked_seq = last_seq;
  // Every order read leaves the exposure as it was and comes back as it ends (unchanged ones
  // cancel out): the delta of this batch for the lane's cache.
  std::map<std::string, ExposureDelta> exposure;
  for (const auto& [id, o] : orders) exposure[o.account()].add(o, -1);
  std::unordered_set<std::string> seen_exec_ids;
  if (!exec_ids.empty()) {
    for (const auto& row : tx.exec_prepared("order_changes_fills", textArray(exec_ids))) {
      seen_exec_ids.insert(row[0].as<std::string>());
    }
  }

  ArrayLiteral f_ids, f_exec, f_orders, f_accounts, f_symbols, f_sides, f_qtys, f_prices, f_ts, f_liq, f_fees;
  ArrayLiteral e_accounts, e_seqs, e_ids, e_orders, e_from, e_to, e_fills, e_ts, e_payloads;
  OutboxRecordsWriter outbox;
  std::set<std::string> changed;  // orders to write back (their final state)
  for (auto* c : changes) {
    const auto it = orders.find(c->order_id);
    // An order another account's cache entry pointed at (impossible) or that is gone: nothing to do.
    if (it == orders.end() || it->second.account() != c->account) {
      c->result = {ChangeOutcome::NotFound, {}};
      continue;
    }
    v1::Order& o = it->second;
    const auto from = o.status();
    v1::Fill f;
    bool venue_id_from_fill = false;
    if (c->kind == PendingChange::Kind::Fill) {
      const auto& fill = c->fill;
      if (!seen_exec_ids.insert(fill.venue_execution_id).second) {
        c->result = {ChangeOutcome::Duplicate, o};
        continue;
      }
      const auto next = rows::fillTransition(o, fill);
      if (!next) {
        seen_exec_ids.erase(fill.venue_execution_id);  // not stored: a later copy is judged again
        c->result = {ChangeOutcome::Refused, o};
        continue;
      }
      f = rows::makeFill(o, fill);
      venue_id_from_fill = rows::addFill(o, fill, *next);
    } else {
      v1::Order inherited = o;
      rows::inheritFills(inherited, c->details);
      auto next = transition(from, c->trigger, fillsOf(inherited));
      if (rows::repeatsOrContradicts(o, c->trigger, c->details)) next.reset();
      if (!next) {
        logging::warn("order transition refused", {{"order_id", o.order_id()},
                                                    {"status", v1::OrderStatus_Name(from)},
                                                    {"trigger", triggerName(c->trigger)}});
        c->result = {ChangeOutcome::Refused, o};
        continue;
      }
      o = std::move(inherited);
      rows::applyTransitionDetails(o, *next, c->details);
    }
    o.set_updated_ts_ns(c->now_ns);
    o.set_version(o.version() + 1);
    const auto seq = ++last_seq.at(o.account());
    auto event = rows::changeEvent(o, seq, from);
    if (!f.fill_id().empty()) *event.mutable_fill() = f;
    const auto serialized = event.SerializeAsString();
    e_accounts.text(o.account());
    e_seqs.number(seq);
    e_ids.text(event.event_id());
    e_orders.text(o.order_id());
    e_from.number(from);
    e_to.number(o.status());
    e_fills.text(f.fill_id());
    e_ts.number(c->now_ns);
    e_payloads.bytes(serialized);
    outbox.add(config_.events_topic, o.account(), serialized);
    if (!f.fill_id().empty()) {
      f_ids.text(f.fill_id());
      f_exec.text(f.venue_execution_id());
      f_orders.text(f.order_id());
      f_accounts.text(f.account());
      f_symbols.text(f.symbol());
      f_sides.number(f.side());
      f_qtys.number(f.quantity());
      f_prices.number(f.price());
      f_ts.number(f.fill_ts_ns());
      f_liq.number(f.liquidity());
      f_fees.number(f.fee());
      outbox.add(config_.fills_topic, o.account(), f.SerializeAsString());
    }
    changed.insert(o.order_id());
    c->result = {ChangeOutcome::Applied, o, venue_id_from_fill};
  }
  if (changed.empty()) return false;  // all refused or repeated: the locks changed nothing
  for (const auto& [id, o] : orders) exposure[o.account()].add(o, +1);
  for (auto& [account, delta] : exposure) {
    if (!locked_seq.count(account)) continue;  // an order of another account (NotFound above): untouched
    delta.from_seq = locked_seq.at(account);
    delta.to_seq = last_seq.at(account);
    work.deltas.emplace_back(account, std::move(delta));
  }

  ArrayLiteral u_ids, u_status, u_filled, u_avg, u_reason, u_text, u_venue, u_replaced, u_ts, u_version;
  for (const auto& id : changed) {
    const auto& o = orders.at(id);
    u_ids.text(id);
    u_status.number(o.status());
    u_filled.number(o.filled_quantity());
    u_avg.number(o.avg_fill_price());
    u_reason.number(o.reject_reason());
    u_text.text(o.reject_text());
    u_venue.text(o.venue_order_id());
    u_replaced.text(o.replaced_by_order_id());
    u_ts.number(o.updated_ts_ns());
    u_version.number(static_cast<std::int64_t>(o.version()));
  }
  ArrayLiteral s_accounts, s_values;
  for (const auto& [account, seq] : last_seq) {
    s_accounts.text(account);
    s_values.number(seq);
  }
  tx.exec_prepared("order_changes_write", std::move(u_ids).take(), std::move(u_status).take(),
                   std::move(u_filled).take(), std::move(u_avg).take(), std::move(u_reason).take(),
                   std::move(u_text).take(), std::move(u_venue).take(), std::move(u_replaced).take(),
                   std::move(u_ts).take(), std::move(u_version).take(), std::move(f_ids).take(),
                   std::move(f_exec).take(), std::move(f_orders).take(), std::move(f_accounts).take(),
                   std::move(f_symbols).take(), std::move(f_sides).take(), std::move(f_qtys).take(),
                   std::move(f_prices).take(), std::move(f_ts).take(), std::move(f_liq).take(),
                   std::move(f_fees).take(), std::move(e_accounts).take(), std::move(e_seqs).take(),
                   std::move(e_ids).take(), std::move(e_orders).take(), std::move(e_from).take(),
                   std::move(e_to).take(), std::move(e_fills).take(), std::move(e_ts).take(),
                   std::move(e_payloads).take(), std::move(s_accounts).take(), std::move(s_values).take(),
                   rows::bytea(outbox.bytes()));
  return true;
}

}  // namespace tickstream::order
