// OrderStore::submitMany: a group-commit batch of submits in four statements, whatever its size
// (docs/order.md, "Group commit"). The per-submit path (submitOne) costs three statements per
// submit; on a busy store those round trips, not the WAL flush, bound a writer lane.
#include <map>
#include <set>
#include <string_view>
#include <tuple>
#include <utility>

#include "order_rows.h"
#include "outbox_records.h"
#include "pg_array.h"
#include "order_store.h"

namespace tickstream::order {
namespace {

// Locks every account of the batch in one statement, in the batch's (sorted) order, and returns
// their last_seq unchanged: the write statement sets the final value, so numbers taken by
// duplicates never need giving back. Lock first, then read, as for a single submit.
const std::string kLockAccounts =
    "INSERT INTO account_sequences AS s (account, last_seq) "
    "SELECT a, 0 FROM unnest($1::text[]) WITH ORDINALITY AS t(a, n) ORDER BY n "
    "ON CONFLICT (account) DO UPDATE SET last_seq = s.last_seq RETURNING account, last_seq";

// The stored orders holding any of the batch's idempotency keys.
const std::string kReadKeys = std::string("SELECT request_fingerprint, ") + rows::kOrderColumns +
                              " FROM orders WHERE (account, client_order_id) IN "
                              "(SELECT * FROM unnest($1::text[], $2::text[]))";

// Limits and position per (account, symbol) of the batch: limitsFrom()'s six columns, then the
// position.
const std::string kReadLimits =
    "SELECT p.account, p.symbol, l.max_order_notional, l.max_open_orders, l.max_position, l.orders_per_second, "
    "  l.order_burst, l.allow_short, "
    "  coalesce((SELECT quantity FROM positions ps WHERE ps.account = p.account AND ps.symbol = p.symbol), 0)::bigint "
    "FROM unnest($1::text[], $2::text[]) AS p(account, symbol) LEFT JOIN risk_limits l ON l.account = p.account";

// The working orders of the accounts whose cached exposure is not current, per symbol and side.
const std::string kReadWorking =
    "SELECT account, symbol, side, count(*), coalesce(sum(quantity - filled_quantity), 0)::bigint "
    "FROM orders WHERE account = ANY($1::text[]) AND working GROUP BY account, symbol, side";

// Every new order, its event, the accounts' new last_seq and the batch's outbox row: its events in
// batch order ($20, outbox_records.h), so each account's follow its account_seq. $21: the collars.
const std::string kWriteBatch =
    "WITH o AS (INSERT INTO orders (order_id, account, client_order_id, request_fingerprint, symbol, side, type, "
    "   time_in_force, quantity, limit_price, status, reject_reason, reject_text, created_ts_ns, updated_ts_ns, "
    "   collar_price) "
    " SELECT t.id, t.account, t.cid, t.fp, t.symbol, t.side, t.type, t.tif, t.qty, t.price, t.status, t.reason, "
    "   t.text, t.ts, t.ts, t.collar "
    " FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::text[], $6::smallint[], $7::smallint[], "
    "   $8::smallint[], $9::bigint[], $10::bigint[], $11::smallint[], $12::smallint[], $13::text[], $14::bigint[], "
    "   $21::bigint[]) "
    "   AS t(id, account, cid, fp, symbol, side, type, tif, qty, price, status, reason, text, ts, collar)), "
    "e AS (INSERT INTO order_events (account, account_seq, event_id, order_id, from_status, to_status, "
    "   event_ts_ns, payload) "
    " SELECT t.account, t.seq, t.event_id, t.id, 0, t.status, t.ts, t.payload "
    " FROM unnest($2::text[], $15::bigint[], $16::text[], $1::text[], $11::smallint[], $14::bigint[], "
    "   $17::bytea[]) AS t(account, seq, event_id, id, status, ts, payload)), "
    "s AS (UPDATE account_sequences AS a SET last_seq = u.seq "
    " FROM unnest($18::text[], $19::bigint[]) AS u(account, seq) WHERE a.account = u.account) "
    "INSERT INTO outbox (records) VALUES ($20)";


}  // namespace

void OrderStore::prepareSubmitMany(pg::Pool& pool) {
  pool.registerPrepared("order_batch_lock", kLockAccounts);
  pool.registerPrepared("order_batch_keys", kReadKeys);
  pool.registerPrepared("order_batch_limits", kReadLimits);
  pool.registerPrepared("order_batch_working", kReadWorking);
  pool.registerPrepared("order_batch_write", kWriteBatch);
}

void OrderStore::submitMany(pqxx::work& tx, const std::vector<PendingSubmit*>& ordered, ExposureWork& work) {
  std::vector<std::string> accounts;  // distinct, in batch (sorted) order
  std::vector<std::string> key_accounts, key_ids, pair_accounts, pair_symbols;
  std::set<std::pair<std::string, std::string>> pairs;
  for (const auto* p : ordered) {
    const auto& r = *p->request;
    if (accounts.empty() || accounts.back() != r.account()) accounts.push_back(r.account());
    key_accounts.push_back(r.account());
    key_ids.push_back(r.client_order_id());
    if (pairs.emplace(r.account(), r.symbol()).second) {
      pair_accounts.push_back(r.account());
      pair_symbols.push_back(r.symbol());
    }
  }

  std::map<std::string, std::int64_t> last_seq;
  for (const auto& row : tx.exec_prepared("order_batch_lock", textArray(accounts))) {
    last_seq[row[0].as<std::string>()] = row[1].as<std::int64_t>();
  }
  // (account, client_order_id) → fingerprint and order; submits earlier in this batch join it.
  std::map<std::pair<std::string, std::string>, std::pair<std::optional<Fingerprint>, v1::Order>> stored;
  for (const auto& row : tx.exec_prepared("order_batch_keys", textArray(key_accounts), textArray(key_ids))) {
    auto order = rows::rowToOrder(row, 1);
    auto key = std::make_pair(order.account(), order.client_order_id());
    stored.emplace(std::move(key), std::make_pair(rows::fingerprintFrom(row[0]), std::move(order)));
  }
  // Each account's working orders as of its locked last_seq: from the lane's cache when the
  // entry is at that seq, else read (and cached) here.
  std::map<std::string, CachedExposure> loaded;
  std::vector<std::string> reload;
  std::map<std::string, const CachedExposure*> working;
  for (const auto& account : accounts) {
    const auto* hit = work.cache ? work.cache->find(account, last_seq.at(account)) : nullptr;
    if (hit) {
      working[account] = hit;
    } else {
      loaded[account].last_seq = last_seq.at(account);
      reload.push_back(account);
    }
  }
  if (!reload.empty()) {
    for (const auto& row : tx.exec_prepared("order_batch_working", textArray(reload))) {
      auto& e = loaded.at(row[0].as<std::string>());
      auto& s = e.symbols[row[1].as<std::string>()];
      const auto count = row[3].as<std::int64_t>(), open = row[4].as<std::int64_t>();
      e.open_orders += count;
      (row[2].as<int>() == v1::SIDE_BUY ? s.open_buy : s.open_sell) += open;
    }
    for (auto& [account, e] : loaded) {
      if (work.cache) {
        work.cache->put(account, e);
        working[account] = work.cache->find(account, e.last_seq);
      } else {
        working[account] = &e;
      }
    }
  }
  std::map<std::pair<std::string, std::string>, RiskInputs> limits;  // limits and position per pair
  for (const auto& row : tx.exec_prepared("order_batch_limits", textArray(pair_accounts), textArray(pair_symbols))) {
    auto& in = limits[{row[0].as<std::string>(), row[1].as<std::string>()}];
    in.limits = rows::limitsFrom(row, 2);
    in.exposure.position = row[8].as<std::int64_t>();
  }
  // What the batch's accepted orders add, per account: its delta for the cache after COMMIT.
  std::map<std::string, ExposureDelta> added;

  ArrayLiteral ids, accts, cids, fps, symbols, sides, types, tifs, qtys, prices, collars, statuses, reasons, texts, tss, seqs,
      event_ids, payloads;
  OutboxRecordsWriter outbox;
  bool wrote = false;
  for (auto* p : ordered) {
    const auto& r = *p->request;
    const auto key = std::make_pair(r.account(), r.client_order_id());
    if (auto it = stored.find(key); it != stored.end()) {
      p->result.order = it->second.second;
      p->result.outcome = rows::outcomeForStored(it->second.first, p->fingerprint, p->result.order.order_id(),
                                                 p->order_id);
      continue;
    }
    RiskInputs inputs = limits.at({r.account(), r.symbol()});
    const auto& base = *working.at(r.account());
    auto& delta = added[r.account()];
    inputs.exposure.open_orders = base.open_orders + delta.open_orders;
    if (const auto it = base.symbols.find(r.symbol()); it != base.symbols.end()) {
      inputs.exposure.open_buy_quantity = it->second.open_buy;
      inputs.exposure.open_sell_quantity = it->second.open_sell;
    }
    if (const auto it = delta.symbols.find(r.symbol()); it != delta.symbols.end()) {
      inputs.exposure.open_buy_quantity += it->second.open_buy;
      inputs.exposure.open_sell_quantity += it->second.open_sell;
    }
    const std::optional<Rejection> rejection = (*p->decide)(inputs);
    const std::int64_t seq = ++last_seq.at(r.account());
    const auto event = rows::newOrderEvent(r, p->order_id, p->now_ns, rejection, seq, p->collar_price);
    const v1::Order& o = event.order();
    delta.add(o, +1);  // only an accepted order works
    ids.text(p->order_id);
    accts.text(r.account());
    cids.text(r.client_order_id());
    fps.bytes(std::string_view(reinterpret_cast<const char*>(p->fingerprint.data()), p->fingerprint.size()));
    symbols.text(r.symbol());
    sides.number(r.side());
    types.number(r.type());
    tifs.number(r.time_in_force());
    qtys.number(r.quantity());
    prices.number(r.limit_price());
    collars.number(p->collar_price);
    statuses.number(o.status());
    reasons.number(o.reject_reason());
    texts.text(o.reject_text());
    tss.number(p->now_ns);
    seqs.number(seq);
    event_ids.text(event.event_id());
    const auto serialized = event.SerializeAsString();
    payloads.bytes(serialized);
    outbox.add(config_.events_topic, r.account(), serialized);
    stored.emplace(key, std::make_pair(std::optional<Fingerprint>(p->fingerprint), o));
    p->result = {SubmitOutcome::Created, o};
    wrote = true;
  }
  if (!wrote) return;  // all duplicates: the locks taken changed nothing
  for (auto& [account, delta] : added) {
    delta.from_seq = working.at(account)->last_seq;  // the locked last_seq
    delta.to_seq = last_seq.at(account);
    work.deltas.emplace_back(account, std::move(delta));
  }

  ArrayLiteral seq_accounts, seq_values;
  for (const auto& [account, seq] : last_seq) {
    seq_accounts.text(account);
    seq_values.number(seq);
  }
  tx.exec_prepared("order_batch_write", std::move(ids).take(), std::move(accts).take(), std::move(cids).take(),
                   std::move(fps).take(), std::move(symbols).take(), std::move(sides).take(), std::move(types).take(),
                   std::move(tifs).take(), std::move(qtys).take(), std::move(prices).take(),
                   std::move(statuses).take(), std::move(reasons).take(), std::move(texts).take(),
                   std::move(tss).take(), std::move(seqs).take(), std::move(event_ids).take(),
                   std::move(payloads).take(), std::move(seq_accounts).take(), std::move(seq_values).take(),
                   rows::bytea(outbox.bytes()), std::move(collars).take());
}

}  // namespace tickstream::order
