#include "order_store.h"

#include <algorithm>
#include <future>
#include <limits>

#include "idempotency.h"
#include "order_rows.h"
#include "outbox_records.h"
#include "page_token.h"
#include "tickstream/runtime/clock.h"
#include "tickstream/runtime/logging.h"

namespace tickstream::order {

std::string storeSessionUrl(const std::string& url, const std::string& search_path) {
  pg::PoolConfig session;
  session.url = url;
  session.options = (search_path.empty() ? "" : "-c search_path=" + search_path + " ") + kStoreSessionOptions;
  return pg::connectionString(session);
}
namespace {

// The statements of the single-order transactions. Each write is one statement (CTEs), so a
// submit alone costs three round trips: the sequence lock, one read, one write. A batch of
// submits has its own four statements (order_store_batch.cpp).
const std::string kSeqNext =
    "INSERT INTO account_sequences AS s (account, last_seq) VALUES ($1, 1) "
    "ON CONFLICT (account) DO UPDATE SET last_seq = s.last_seq + 1 RETURNING last_seq";
// A duplicate submit records no event: give back the number kSeqNext took (still under the
// row lock, so nobody saw it) and account_seq stays dense.
const std::string kSeqUndo = "UPDATE account_sequences SET last_seq = last_seq - 1 WHERE account = $1";

// Idempotency key, limits and exposure in one read. Separate from kSeqNext on purpose: in READ
// COMMITTED a statement sees what committed before it started, so a read issued after the lock
// was granted sees every earlier transaction of the account (one CTE with the lock would not).
const std::string kSubmitRead =
    "SELECT k.order_id, k.request_fingerprint, "
    "       l.max_order_notional, l.max_open_orders, l.max_position, l.orders_per_second, l.order_burst, "
    "       l.allow_short, w.open_orders, w.open_buy, w.open_sell, "
    "       coalesce((SELECT quantity FROM positions WHERE account = $1 AND symbol = $3), 0)::bigint "
    "FROM (SELECT 1) AS one "
    "LEFT JOIN orders k ON k.account = $1 AND k.client_order_id = $2 "
    "LEFT JOIN risk_limits l ON l.account = $1 "
    "CROSS JOIN (SELECT count(*) AS open_orders, "
    "   coalesce(sum(quantity - filled_quantity) FILTER (WHERE symbol = $3 AND side = 1), 0)::bigint AS open_buy, "
    "   coalesce(sum(quantity - filled_quantity) FILTER (WHERE symbol = $3 AND side = 2), 0)::bigint AS open_sell "
    "   FROM orders WHERE account = $1 AND working) AS w";

// The new order, its first event (from UNSPECIFIED) and the outbox row announcing it ($18,
// outbox_records.h). The outbox id is drawn here, after the sequence lock: an account's outbox
// ids follow its account_seq. A replacement also carries the original's fills and id ($19-$21;
// 0, 0, '' for a submit), and a market order's collar ($22).
const std::string kInsertOrder =
    "WITH o AS (INSERT INTO orders (order_id, account, client_order_id, request_fingerprint, symbol, side, type, "
    "   time_in_force, quantity, limit_price, status, reject_reason, reject_text, created_ts_ns, updated_ts_ns, "
    "   filled_quantity, avg_fill_price, replaces_order_id, collar_price) "
    "   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $19, $20, nullif($21, ''), $22) "
    "   RETURNING order_id, account), "
    "e AS (INSERT INTO order_events (account, account_seq, event_id, order_id, from_status, to_status, "
    "   event_ts_ns, payload) SELECT account, $15, $16, order_id, 0, $11, $14, $17 FROM o) "
    "INSERT INTO outbox (records) VALUES ($18)";

// A lifecycle change: the order's new state, the event, and the outbox row ($16) with the event
// and, for a fill, the fill.
const std::string kChangeOrder =
    "WITH u AS (UPDATE orders SET status = $2, filled_quantity = $3, avg_fill_price = $4, reject_reason = $5, "
    "   reject_text = $6, venue_order_id = nullif($7, ''), replaced_by_order_id = nullif($8, ''), "
    "   updated_ts_ns = $9, version = $10 WHERE order_id = $1 RETURNING account, order_id), "
    "e AS (INSERT INTO order_events (account, account_seq, event_id, order_id, from_status, to_status, fill_id, "
    "   event_ts_ns, payload) SELECT account, $11, $12, order_id, $13, $2, nullif($14, ''), $9, $15 FROM u) "
    "INSERT INTO outbox (records) VALUES ($16)";

const std::string kInsertFill =
    "INSERT INTO fills (fill_id, venue_execution_id, order_id, account, symbol, side, quantity, price, fill_ts_ns, "
    "   liquidity, fee) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
    "ON CONFLICT (venue_execution_id) DO NOTHING RETURNING fill_id";

const std::string kOrderAccount = "SELECT account FROM orders WHERE order_id = $1";
const std::string kOrderById = std::string("SELECT ") + rows::kOrderColumns + " FROM orders WHERE order_id = $1";
const std::string kOrderByKey = std::string("SELECT ") + rows::kOrderColumns +
                                ", request_fingerprint FROM orders WHERE account = $1 AND client_order_id = $2";
const std::string kOrderForUpdate = kOrderById + " FOR UPDATE";

// Keyset pagination on the index orders_account_created: strictly after the previous page's
// last (created_ts_ns, order_id), newest first. An empty status array means any status.
const std::string kListOrders = std::string("SELECT ") + rows::kOrderColumns +
                                " FROM orders WHERE account = $1 "
                                "AND (cardinality($2::smallint[]) = 0 OR status = ANY($2::smallint[])) "
                                "AND ($3 = '' OR symbol = $3) AND (created_ts_ns, order_id) < ($4, $5) "
                                "ORDER BY created_ts_ns DESC, order_id DESC LIMIT $6";

const std::string kNotify = "SELECT pg_notify($1, '')";

// The outbox row of a transaction that announces one event.
pqxx::binarystring outboxRow(const std::string& topic, const std::string& key, const std::string& payload) {
  OutboxRecordsWriter records;
  records.add(topic, key, payload);
  return rows::bytea(records.bytes());
}

Fills fillsOf(const v1::Order& order) { return order.filled_quantity() > 0 ? Fills::Some : Fills::None; }

}  // namespace

void OrderStoreConfig::validate() const {
  if (writer_lanes < 1 || writer_lanes > 64) throw std::invalid_argument("order store writer_lanes: must be 1..64");
  if (max_batch < 1 || max_batch > 10'000) throw std::invalid_argument("order store max_batch: must be 1..10000");
  if (max_queued_per_lane < 1) throw std::invalid_argument("order store max_queued_per_lane: must be >= 1");
  if (events_topic.empty()) throw std::invalid_argument("order store events_topic: empty");
  if (fills_topic.empty()) throw std::invalid_argument("order store fills_topic: empty");
  if (default_page_size < 1 || default_page_size > max_page_size) {
    throw std::invalid_argument("order store default_page_size: must be 1..max_page_size");
  }
}

struct OrderStore::Lane {
  std::mutex mu;
  std::condition_variable wake;
  std::deque<PendingSubmit*> submits;
  std::deque<PendingChange*> changes;  // owned from here until done was called
  bool stop = false;
  ExposureCache exposure;  // the writer thread's alone
  std::thread writer;
};

OrderStore::OrderStore(pg::Pool& pool, OrderStoreConfig config) : pool_(pool), config_(std::move(config)) {
  config_.validate();
  if (config_.group_commit && pool_.config().size <= config_.writer_lanes) {
    throw std::invalid_argument("order store writer_lanes: the pool needs more connections than writer lanes");
  }
  pool_.registerPrepared("order_seq_next", kSeqNext);
  pool_.registerPrepared("order_seq_undo", kSeqUndo);
  pool_.registerPrepared("order_submit_read", kSubmitRead);
  pool_.registerPrepared("order_insert", kInsertOrder);
  pool_.registerPrepared("order_change", kChangeOrder);
  pool_.registerPrepared("order_fill_insert", kInsertFill);
  pool_.registerPrepared("order_fill_exists", "SELECT 1 FROM fills WHERE venue_execution_id = $1");
  pool_.registerPrepared("order_account", kOrderAccount);
  pool_.registerPrepared("order_by_id", kOrderById);
  pool_.registerPrepared("order_by_key", kOrderByKey);
  pool_.registerPrepared("order_for_update", kOrderForUpdate);
  pool_.registerPrepared("order_list", kListOrders);
  pool_.registerPrepared("order_outbox_notify", kNotify);
  prepareSubmitMany(pool_);
  prepareChangeMany(pool_);
  if (config_.group_commit) {
    for (int i = 0; i < config_.writer_lanes; ++i) lanes_.push_back(std::make_unique<Lane>());
    for (auto& lane : lanes_) lane->writer = std::thread([this, l = lane.get()] { writerLoop(*l); });
  }
}

OrderStore::~OrderStore() {
  for (auto& lane : lanes_) {
    std::lock_guard lock(lane->mu);
    lane->stop = true;
    lane->wake.notify_one();
  }
  for (auto& lane : lanes_) lane->writer.join();
}

OrderStore::Lane& OrderStore::laneOf(const std::string& account) {
  return *lanes_[std::hash<std::string>{}(account) % lanes_.size()];
}

namespace {

// Starts an asynchronous store call with a completion that hands its outcome here, and waits:
// the blocking calls are the asynchronous ones plus this.
template <class Result, class Start>
Result waitFor(const Start& start) {
  // Shared: the writer may still be inside set_value when this thread wakes and returns.
  auto promise = std::make_shared<std::promise<Result>>();
  auto future = promise->get_future();
  start([promise](Result result, std::exception_ptr error) {
    if (error) {
      promise->set_exception(error);
    } else {
      promise->set_value(std::move(result));
    }
  });
  return future.get();
}

}  // namespace

SubmitResult OrderStore::submit(const v1::SubmitOrderRequest& request, RiskDecider decide,
                                std::int64_t collar_price) {
  return waitFor<SubmitResult>(
      [&](SubmitDone done) { submitAsync(request, decide, std::move(done), collar_price); });
}

void OrderStore::submitAsync(const v1::SubmitOrderRequest& request, const RiskDecider& decide, SubmitDone done,
                             std::int64_t collar_price) {
  auto pending = std::make_unique<PendingSubmit>();
  pending->request = &request;
  pending->decide = &decide;
  pending->collar_price = collar_price;
  pending->fingerprint = submitFingerprint(request);
  pending->order_id = rows::newId("ord-");
  pending->now_ns = runtime::wallClockNs();
  // The order → account entry before the caller hears of the order: a venue report for it can
  // then find its lane without a query.
  pending->done = [this, done = std::move(done)](SubmitResult result, std::exception_ptr error) {
    if (!error && result.outcome == SubmitOutcome::Created) {
      try {
        rememberAccount(result.order.order_id(), result.order.account());
      } catch (const std::exception& e) {  // (allocation) the report then finds the account by a query
        logging::warn("order account not cached", {{"order_id", result.order.order_id()}, {"error", e.what()}});
      }
    }
    done(std::move(result), error);  // always: a call left without its answer would never finish
  };
  if (!config_.group_commit) {
    const std::vector<PendingSubmit*> batch{pending.get()};
    pending.release();  // runBatch frees it once done ran
    runBatch(batch, {}, nullptr);
    return;
  }
  // The same account always takes the same lane: its writes are handled in queue order.
  Lane& lane = laneOf(request.account());
  {
    std::lock_guard lock(lane.mu);
    if (lane.stop) throw Overloaded("order store stopped");
    if (lane.submits.size() >= config_.max_queued_per_lane) throw Overloaded("order store submit queue full");
    lane.submits.push_back(pending.get());
    pending.release();  // the lane owns it now (after push_back, which may throw)
  }
  lane.wake.notify_one();
}

void OrderStore::writerLoop(Lane& lane) {
  std::vector<PendingSubmit*> submits;
  std::vector<PendingChange*> changes;
  const auto take = [max = static_cast<std::size_t>(config_.max_batch)](auto& queue, auto& batch) {
    const auto n = static_cast<std::ptrdiff_t>(std::min(queue.size(), max));
    batch.assign(queue.begin(), queue.begin() + n);
    queue.erase(queue.begin(), queue.begin() + n);
  };
  for (;;) {
    {
      std::unique_lock lock(lane.mu);
      lane.wake.wait(lock, [&] { return lane.stop || !lane.submits.empty() || !lane.changes.empty(); });
      if (lane.submits.empty() && lane.changes.empty()) return;  // stopping, and everything queued is done
      // No waiting for a fuller batch: whatever queued up behind the previous COMMIT goes into
      // the next one, so an idle store adds no latency and a busy one batches by itself.
      take(lane.submits, submits);
      take(lane.changes, changes);
    }
    runBatch(submits, changes, &lane.exposure);
  }
}

namespace {

// Hands a submit or a change its outcome. A completion must not throw (SubmitDone's and
// ChangeDone's contract); if one does, it is logged here, so the lane neither fails the batch
// after the fact nor dies.
template <class Done, class Result>
void complete(const Done& done, Result result, std::exception_ptr error) noexcept {
  try {
    done(std::move(result), error);
  } catch (const std::exception& e) {
    logging::error("order store completion threw", {{"error", e.what()}});
  } catch (...) {
    logging::error("order store completion threw", {});
  }
}

}  // namespace

void OrderStore::runBatch(const std::vector<PendingSubmit*>& submits, const std::vector<PendingChange*>& changes,
                          ExposureCache* cache) {
  // Freed once done ran.
  std::vector<std::unique_ptr<PendingSubmit>> owned_submits(submits.begin(), submits.end());
  std::vector<std::unique_ptr<PendingChange>> owned_changes(changes.begin(), changes.end());
  std::exception_ptr error;
  try {
    runInOneTransaction(submits, changes, cache);
  } catch (...) {
    error = std::current_exception();
  }
  if (!error) {
    for (auto* p : submits) complete(p->done, std::move(p->result), nullptr);
    for (auto* c : changes) complete(c->done, std::move(c->result), nullptr);
    return;
  }
  // The database is unreachable (the pool already retried for its retry_timeout) or the pool
  // is saturated: every job would fail the same way, one by one.
  bool shared_cause = submits.size() + changes.size() == 1 || pg::isConnectionLoss(error, true);
  try {
    std::rethrow_exception(error);
  } catch (const pg::AcquireTimeout&) {
    shared_cause = true;
  } catch (...) {
  }
  if (shared_cause) {
    for (auto* p : submits) complete(p->done, SubmitResult{}, error);
    for (auto* c : changes) complete(c->done, ChangeResult{}, error);
    return;
  }
  for (auto* p : submits) {
    try {
      runInOneTransaction({p}, {}, nullptr);
    } catch (...) {
      complete(p->done, SubmitResult{}, std::current_exception());
      continue;
    }
    complete(p->done, std::move(p->result), nullptr);
  }
  for (auto* c : changes) {
    ChangeResult result;
    std::exception_ptr change_error;
    try {
      result = runChangeAlone(*c);
    } catch (...) {
      change_error = std::current_exception();
    }
    complete(c->done, std::move(result), change_error);
  }
}

void OrderStore::runInOneTransaction(const std::vector<PendingSubmit*>& submits,
                                     const std::vector<PendingChange*>& changes, ExposureCache* cache) {
  // Accounts in a fixed order (stable: an account's submits keep theirs), so two transactions
  // locking several accounts' sequence rows always lock them in the same order: no deadlock
  // between replicas.
  std::vector<PendingSubmit*> ordered(submits);
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const PendingSubmit* a, const PendingSubmit* b) { return a->request->account() < b->request->account(); });
  // Submits alone are idempotent: a re-run after a lost connection or an in-doubt COMMIT finds
  // what committed by the idempotency key and reports it as created (the order id is the one
  // chosen before). A transition is not (account_seq and version advance), so a batch holding
  // one is not re-run: the error reaches the callers, who re-read.
  ExposureWork exposure{cache, {}};
  pool_.run(
      [&](pqxx::connection& conn) {
        exposure.deltas.clear();  // a retried attempt starts over
        pqxx::work tx(conn);
        // In a lane, the batch statements even for one submit: they keep the lane's exposure cache
        // current (a write it does not see makes the account's next batch read all its working
        // orders again). Outside a lane, one submit is three statements.
        if (ordered.size() == 1 && !cache) {
          ordered[0]->result = submitOne(tx, *ordered[0]);
        } else if (!ordered.empty()) {
          submitMany(tx, ordered, exposure);
        }
        bool wrote = std::any_of(ordered.begin(), ordered.end(), [](const PendingSubmit* p) {
          return p->result.outcome == SubmitOutcome::Created;
        });
        if (!changes.empty()) wrote = changeMany(tx, changes, exposure) || wrote;
        if (wrote) notifyOutbox(tx);
        tx.commit();
      },
      changes.empty() ? pg::Retry::Idempotent : pg::Retry::Never);
  if (cache) {
    for (const auto& [account, delta] : exposure.deltas) cache->apply(account, delta);
    cache->trim();
  }
  std::uint64_t created = 0;
  for (auto* p : submits) created += p->result.outcome == SubmitOutcome::Created ? 1 : 0;
  submits_committed_.fetch_add(created, std::memory_order_relaxed);
  submit_transactions_.fetch_add(1, std::memory_order_relaxed);
}

SubmitResult OrderStore::submitOne(pqxx::work& tx, PendingSubmit& p) {
  const auto& r = *p.request;
  const auto seq = tx.exec_prepared("order_seq_next", r.account())[0][0].as<std::int64_t>();
  const auto read = tx.exec_prepared("order_submit_read", r.account(), r.client_order_id(), r.symbol());
  const auto row = read[0];

  if (!row[0].is_null()) {
    tx.exec_prepared("order_seq_undo", r.account());
    SubmitResult result;
    result.order = rows::rowToOrder(tx.exec_prepared("order_by_id", row[0].as<std::string>())[0]);
    result.outcome = rows::outcomeForStored(rows::fingerprintFrom(row[1]), p.fingerprint, result.order.order_id(),
                                            p.order_id);
    return result;
  }

  const std::optional<Rejection> rejection = (*p.decide)(rows::riskInputsFrom(row, 2));
  auto event = rows::newOrderEvent(r, p.order_id, p.now_ns, rejection, seq, p.collar_price);
  const v1::Order& o = event.order();
  const auto payload = event.SerializeAsString();
  tx.exec_prepared("order_insert", p.order_id, r.account(), r.client_order_id(),
                   pqxx::binarystring(p.fingerprint.data(), p.fingerprint.size()), r.symbol(),
                   static_cast<int>(r.side()), static_cast<int>(r.type()), static_cast<int>(r.time_in_force()),
                   r.quantity(), r.limit_price(), static_cast<int>(o.status()), static_cast<int>(o.reject_reason()),
                   o.reject_text(), p.now_ns, seq, event.event_id(), rows::bytea(payload),
                   outboxRow(config_.events_topic, r.account(), payload), std::int64_t{0}, std::int64_t{0},
                   std::string(), p.collar_price);
  return {SubmitOutcome::Created, o};
}

void OrderStore::notifyOutbox(pqxx::transaction_base& tx) {
  // Delivered at COMMIT (and only then), once per transaction however many rows it wrote.
  if (!config_.notify_channel.empty()) tx.exec_prepared("order_outbox_notify", config_.notify_channel);
}

namespace {

// What kChangeOrder writes, from the order after the change: the event and, with a fill
// (`fills_topic` not empty), the fill, in one outbox row.
void execChange(pqxx::transaction_base& tx, const v1::Order& o, std::int64_t seq, v1::OrderStatus from, const std::string& payload,
                const std::string& events_topic, const std::string& fill_id = {}, const std::string& fills_topic = {},
                const std::string& fill_payload = {}) {
  OutboxRecordsWriter records;
  records.add(events_topic, o.account(), payload);
  if (!fills_topic.empty()) records.add(fills_topic, o.account(), fill_payload);
  tx.exec_prepared("order_change", o.order_id(), static_cast<int>(o.status()), o.filled_quantity(), o.avg_fill_price(),
                   static_cast<int>(o.reject_reason()), o.reject_text(), o.venue_order_id(), o.replaced_by_order_id(),
                   o.updated_ts_ns(), static_cast<std::int64_t>(o.version()), seq, rows::eventId(o.account(), seq),
                   static_cast<int>(from), fill_id, rows::bytea(payload), rows::bytea(records.bytes()));
}

}  // namespace

namespace {

void checkTransitionTrigger(Trigger trigger) {
  if (trigger == Trigger::Accept || trigger == Trigger::Reject || trigger == Trigger::PartialFill ||
      trigger == Trigger::FullFill) {
    throw std::invalid_argument(std::string("applyTransition: ") + std::string(triggerName(trigger)) +
                                " belongs to submit() or applyFill()");
  }
}

void checkFill(const FillReport& fill) {
  if (fill.venue_execution_id.empty()) throw std::invalid_argument("applyFill: venue_execution_id is empty");
  if (fill.quantity <= 0) throw std::invalid_argument("applyFill: quantity must be > 0");
  if (fill.price <= 0) throw std::invalid_argument("applyFill: price must be > 0");
}

}  // namespace

ChangeResult OrderStore::applyTransition(const std::string& order_id, Trigger trigger, const TransitionDetails& details) {
  checkTransitionTrigger(trigger);  // thrown here, not through the future
  return waitFor<ChangeResult>([&](ChangeDone done) { applyTransitionAsync(order_id, trigger, details, std::move(done)); });
}

ChangeResult OrderStore::applyFill(const FillReport& fill) {
  checkFill(fill);
  return waitFor<ChangeResult>([&](ChangeDone done) { applyFillAsync(fill, std::move(done)); });
}

void OrderStore::applyTransitionAsync(const std::string& order_id, Trigger trigger, TransitionDetails details,
                                      ChangeDone done) {
  auto change = std::make_unique<PendingChange>();
  change->kind = PendingChange::Kind::Transition;
  change->order_id = order_id;
  change->trigger = trigger;
  change->details = std::move(details);
  change->now_ns = runtime::wallClockNs();
  change->done = std::move(done);
  try {
    checkTransitionTrigger(trigger);
  } catch (...) {
    complete(change->done, ChangeResult{}, std::current_exception());
    return;
  }
  runChange(std::move(change));
}

void OrderStore::applyFillAsync(FillReport fill, ChangeDone done) {
  auto change = std::make_unique<PendingChange>();
  change->kind = PendingChange::Kind::Fill;
  change->order_id = fill.order_id;
  change->now_ns = runtime::wallClockNs();
  change->done = std::move(done);
  try {
    checkFill(fill);
  } catch (...) {
    complete(change->done, ChangeResult{}, std::current_exception());
    return;
  }
  change->fill = std::move(fill);
  runChange(std::move(change));
}

void OrderStore::runChange(std::unique_ptr<PendingChange> change) {
  ChangeResult result;
  try {
    if (!config_.group_commit) {
      result = runChangeAlone(*change);
    } else if (const auto account = accountOf(change->order_id)) {
      change->account = *account;
      Lane& lane = laneOf(*account);
      {
        std::lock_guard lock(lane.mu);
        if (lane.stop) throw Overloaded("order store stopped");
        // Not bounded by max_queued_per_lane: venue reports must be applied whatever the submit
        // load; their rate is bounded by the orders already accepted.
        lane.changes.push_back(change.get());
        change.release();  // the lane owns it now (after push_back, which may throw)
      }
      lane.wake.notify_one();
      return;
    } else {
      result = {ChangeOutcome::NotFound, {}};
    }
  } catch (...) {
    complete(change->done, ChangeResult{}, std::current_exception());
    return;
  }
  complete(change->done, std::move(result), nullptr);
}

ChangeResult OrderStore::runChangeAlone(PendingChange& change) {
  const auto run = [&](pqxx::connection& conn) -> ChangeResult {
    pqxx::work tx(conn);
    auto work = change.kind == PendingChange::Kind::Transition ? transitionIn(tx, change) : fillIn(tx, change);
    if (!work.wrote) {
      tx.abort();  // also gives back the sequence number
      return work.result;
    }
    notifyOutbox(tx);
    tx.commit();
    return work.result;
  };
  // A fill re-run finds its execution id taken (Duplicate); a transition is not idempotent, so
  // an in-doubt COMMIT reaches the caller, who re-reads the order.
  return pool_.run(run, change.kind == PendingChange::Kind::Fill ? pg::Retry::Idempotent : pg::Retry::Never);
}

OrderStore::ChangeWork OrderStore::transitionIn(pqxx::transaction_base& tx, const PendingChange& change) {
  const auto& order_id = change.order_id;
  const auto& details = change.details;
  const auto account_row = tx.exec_prepared("order_account", order_id);
  if (account_row.empty()) return {{ChangeOutcome::NotFound, {}}, false, {}};
  const auto account = account_row[0][0].as<std::string>();  // never changes: safe to read before the lock
  const auto seq = tx.exec_prepared("order_seq_next", account)[0][0].as<std::int64_t>();
  v1::Order o = rows::rowToOrder(tx.exec_prepared("order_for_update", order_id)[0]);
  const auto from = o.status();
  const v1::Order before = o;
  rows::inheritFills(o, details);
  auto next = transition(from, change.trigger, fillsOf(o));
  if (rows::repeatsOrContradicts(o, change.trigger, details)) next.reset();
  if (!next) {
    logging::warn("order transition refused", {{"order_id", order_id},
                                                {"status", v1::OrderStatus_Name(from)},
                                                {"trigger", triggerName(change.trigger)}});
    return {{ChangeOutcome::Refused, before}, false, account};
  }
  rows::applyTransitionDetails(o, *next, details);
  o.set_updated_ts_ns(change.now_ns);
  o.set_version(o.version() + 1);
  execChange(tx, o, seq, from, rows::changeEvent(o, seq, from).SerializeAsString(), config_.events_topic);
  return {{ChangeOutcome::Applied, std::move(o)}, true, {}};
}

ReplaceResult OrderStore::replace(const v1::ReplaceOrderRequest& request, RiskDecider decide) {
  const auto fingerprint = replaceFingerprint(request);
  const auto replacement_id = rows::newId("ord-");  // kept across a re-run, like a submit's
  const auto now_ns = runtime::wallClockNs();
  // Idempotent: a re-run finds the replacement under its key and recognises its id.
  auto replaced = pool_.run(
      [&](pqxx::connection& conn) -> ReplaceResult {
        pqxx::work tx(conn);
        ReplaceResult result;
        const auto original_row = tx.exec_prepared("order_account", request.order_id());
        if (original_row.empty() || original_row[0][0].as<std::string>() != request.account()) return result;
        const auto& account = request.account();
        const auto first_seq = tx.exec_prepared("order_seq_next", account)[0][0].as<std::int64_t>();
        v1::Order original = rows::rowToOrder(tx.exec_prepared("order_for_update", request.order_id())[0]);
        const auto read = tx.exec_prepared("order_submit_read", account, request.client_order_id(), original.symbol());
        const auto row = read[0];
        if (!row[0].is_null()) {
          result.replacement = rows::rowToOrder(tx.exec_prepared("order_by_id", row[0].as<std::string>())[0]);
          result.key = rows::outcomeForStored(rows::fingerprintFrom(row[1]), fingerprint,
                                              result.replacement.order_id(), replacement_id);
          result.original_outcome = ChangeOutcome::Applied;
          result.original = std::move(original);
          tx.abort();  // nothing written; the sequence number goes back with it
          return result;
        }
        const auto from = original.status();
        const auto pending = transition(from, Trigger::ReplaceRequest, fillsOf(original));
        if (!pending) {
          logging::warn("order replace refused", {{"order_id", original.order_id()},
                                                  {"status", v1::OrderStatus_Name(from)}});
          tx.abort();
          result.original_outcome = ChangeOutcome::Refused;
          result.original = std::move(original);
          return result;
        }
        // The replacement takes the original's place: risk sees the account without it.
        RiskInputs inputs = rows::riskInputsFrom(row, 2);
        const auto open = original.quantity() - original.filled_quantity();
        inputs.exposure.open_orders -= 1;
        (original.side() == v1::SIDE_BUY ? inputs.exposure.open_buy_quantity : inputs.exposure.open_sell_quantity) -= open;
        const std::optional<Rejection> rejection = decide(inputs);

        v1::SubmitOrderRequest as_submit;
        as_submit.set_account(account);
        as_submit.set_client_order_id(request.client_order_id());
        as_submit.set_symbol(original.symbol());
        as_submit.set_side(original.side());
        as_submit.set_type(original.type());
        as_submit.set_time_in_force(original.time_in_force());
        as_submit.set_quantity(request.quantity());
        as_submit.set_limit_price(request.limit_price());
        auto event = rows::newOrderEvent(as_submit, replacement_id, now_ns, rejection, first_seq,
                                         original.collar_price());
        v1::Order& r = *event.mutable_order();
        r.set_filled_quantity(original.filled_quantity());
        r.set_avg_fill_price(original.avg_fill_price());
        r.set_replaces_order_id(original.order_id());
        const auto payload = event.SerializeAsString();
        tx.exec_prepared("order_insert", r.order_id(), account, r.client_order_id(),
                         pqxx::binarystring(fingerprint.data(), fingerprint.size()), r.symbol(),
                         static_cast<int>(r.side()), static_cast<int>(r.type()), static_cast<int>(r.time_in_force()),
                         r.quantity(), r.limit_price(), static_cast<int>(r.status()),
                         static_cast<int>(r.reject_reason()), r.reject_text(), now_ns, first_seq, event.event_id(),
                         rows::bytea(payload), outboxRow(config_.events_topic, account, payload), r.filled_quantity(),
                         r.avg_fill_price(), r.replaces_order_id(), r.collar_price());
        if (r.status() == v1::ORDER_STATUS_ACCEPTED) {
          const auto seq = tx.exec_prepared("order_seq_next", account)[0][0].as<std::int64_t>();
          original.set_status(*pending);
          original.set_replaced_by_order_id(r.order_id());
          original.set_updated_ts_ns(now_ns);
          original.set_version(original.version() + 1);
          execChange(tx, original, seq, from, rows::changeEvent(original, seq, from).SerializeAsString(), config_.events_topic);
        }
        notifyOutbox(tx);
        tx.commit();
        result.original_outcome = ChangeOutcome::Applied;
        result.original = std::move(original);
        result.replacement = r;
        return result;
      },
      pg::Retry::Idempotent);
  // Its venue reports are applied on a lane's thread, which should not have to look it up.
  if (!replaced.replacement.order_id().empty()) {
    rememberAccount(replaced.replacement.order_id(), request.account());
  }
  return replaced;
}

OrderStore::ChangeWork OrderStore::fillIn(pqxx::transaction_base& tx, const PendingChange& change) {
  const auto& fill = change.fill;
  const auto account_row = tx.exec_prepared("order_account", fill.order_id);
  if (account_row.empty()) return {{ChangeOutcome::NotFound, {}}, false, {}};
  const auto account = account_row[0][0].as<std::string>();
  const auto seq = tx.exec_prepared("order_seq_next", account)[0][0].as<std::int64_t>();
  v1::Order o = rows::rowToOrder(tx.exec_prepared("order_for_update", fill.order_id)[0]);

  const auto f = rows::makeFill(o, fill);
  // Checked before anything is written, so a refusal has only the sequence number to give back.
  // The account's lock (taken above) serialises every fill of its orders: nobody can insert
  // this execution id between the check and the insert.
  if (!tx.exec_prepared("order_fill_exists", fill.venue_execution_id).empty()) {
    return {{ChangeOutcome::Duplicate, std::move(o)}, false, account};
  }
  const auto from = o.status();
  const auto next = rows::fillTransition(o, fill);
  if (!next) return {{ChangeOutcome::Refused, std::move(o)}, false, account};
  const auto inserted = tx.exec_prepared("order_fill_insert", f.fill_id(), f.venue_execution_id(), f.order_id(),
                                         account, f.symbol(), static_cast<int>(f.side()), f.quantity(), f.price(),
                                         f.fill_ts_ns(), static_cast<int>(f.liquidity()), f.fee());
  if (inserted.empty()) {
    // Only another process without the account's lock could have inserted it (a second venue
    // key scheme, a manual fix): still a duplicate, nothing written.
    return {{ChangeOutcome::Duplicate, std::move(o)}, false, account};
  }
  const bool venue_id_from_fill = rows::addFill(o, fill, *next);
  o.set_updated_ts_ns(change.now_ns);
  o.set_version(o.version() + 1);
  auto event = rows::changeEvent(o, seq, from);
  *event.mutable_fill() = f;
  execChange(tx, o, seq, from, event.SerializeAsString(), config_.events_topic, f.fill_id(), config_.fills_topic,
             f.SerializeAsString());
  return {{ChangeOutcome::Applied, std::move(o), venue_id_from_fill}, true, {}};
}

std::optional<std::string> OrderStore::accountOf(const std::string& order_id) {
  {
    std::lock_guard lock(accounts_mu_);
    if (const auto it = accounts_.find(order_id); it != accounts_.end()) return it->second;
  }
  auto account = pool_.run(
      [&](pqxx::connection& conn) -> std::optional<std::string> {
        pqxx::nontransaction tx(conn);
        const auto r = tx.exec_prepared("order_account", order_id);
        if (r.empty()) return std::nullopt;
        return r[0][0].as<std::string>();
      },
      pg::Retry::Idempotent);
  if (account) rememberAccount(order_id, *account);
  return account;
}

void OrderStore::rememberAccount(const std::string& order_id, const std::string& account) {
  std::lock_guard lock(accounts_mu_);
  if (!accounts_.emplace(order_id, account).second) return;
  accounts_order_.push_back(order_id);
  if (accounts_order_.size() > kAccountCache) {
    accounts_.erase(accounts_order_.front());
    accounts_order_.pop_front();
  }
}

std::optional<v1::Order> OrderStore::getOrder(const std::string& order_id) {
  return pool_.run(
      [&](pqxx::connection& conn) -> std::optional<v1::Order> {
        pqxx::nontransaction tx(conn);
        const auto r = tx.exec_prepared("order_by_id", order_id);
        if (r.empty()) return std::nullopt;
        return rows::rowToOrder(r[0]);
      },
      pg::Retry::Idempotent);
}

std::optional<SubmitResult> OrderStore::findSubmitted(const v1::SubmitOrderRequest& request) {
  const Fingerprint incoming = submitFingerprint(request);
  return pool_.run(
      [&](pqxx::connection& conn) -> std::optional<SubmitResult> {
        pqxx::nontransaction tx(conn);
        const auto r = tx.exec_prepared("order_by_key", request.account(), request.client_order_id());
        if (r.empty()) return std::nullopt;
        SubmitResult result;
        result.order = rows::rowToOrder(r[0]);
        const auto& stored = r[0][static_cast<int>(r.columns()) - 1];
        // No order id of our own: a stored order is never this request's.
        result.outcome = rows::outcomeForStored(rows::fingerprintFrom(stored), incoming, result.order.order_id(), "");
        return result;
      },
      pg::Retry::Idempotent);
}

bool OrderStore::keyTaken(const std::string& account, const std::string& client_order_id) {
  return pool_.run(
      [&](pqxx::connection& conn) {
        pqxx::nontransaction tx(conn);
        return !tx.exec_prepared("order_by_key", account, client_order_id).empty();
      },
      pg::Retry::Idempotent);
}

ListOrdersPage OrderStore::listOrders(const std::string& account, const std::vector<v1::OrderStatus>& statuses,
                                      const std::string& symbol, std::uint32_t page_size,
                                      const std::string& page_token) {
  const std::uint32_t size =
      page_size == 0 ? config_.default_page_size : std::min(page_size, config_.max_page_size);
  const auto digest = filterDigest(account, statuses, symbol);
  // The first page starts after the largest possible key.
  PageCursor cursor{std::numeric_limits<std::int64_t>::max(), ""};
  if (!page_token.empty()) {
    auto decoded = decodePageToken(page_token, digest);
    if (!decoded) throw BadPageToken("page_token: not issued for this account and these filters");
    cursor = std::move(*decoded);
  }
  std::string status_array = "{";
  for (std::size_t i = 0; i < statuses.size(); ++i) {
    if (i) status_array += ',';
    status_array += std::to_string(static_cast<int>(statuses[i]));
  }
  status_array += '}';
  return pool_.run(
      [&](pqxx::connection& conn) {
        pqxx::nontransaction tx(conn);
        // One more than the page: whether a next page exists without a count.
        const auto r = tx.exec_prepared("order_list", account, status_array, symbol, cursor.created_ts_ns,
                                        cursor.order_id, static_cast<std::int64_t>(size) + 1);
        ListOrdersPage page;
        for (std::size_t i = 0; i < r.size() && i < size; ++i) page.orders.push_back(rows::rowToOrder(r[i]));
        if (r.size() > size) {
          const auto& last = page.orders.back();
          page.next_page_token = encodePageToken({last.created_ts_ns(), last.order_id()}, digest);
        }
        return page;
      },
      pg::Retry::Idempotent);
}

std::uint64_t OrderStore::submitsCommitted() const { return submits_committed_.load(std::memory_order_relaxed); }
std::uint64_t OrderStore::submitTransactions() const { return submit_transactions_.load(std::memory_order_relaxed); }

}  // namespace tickstream::order
