#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "exposure_cache.h"
#include "idempotency.h"
#include "order_state_machine.h"
#include "risk_check.h"
#include "tickstream/order/v1/order_service.pb.h"
#include "tickstream/pg/pool.h"

// The order service's PostgreSQL persistence (docs/order.md, "Store"): every change of an order
// is one transaction that takes the account's sequence row lock first, writes the order, its
// order_events row (dense account_seq) and its outbox row (outbox_records.h), and commits. Nothing is
// acknowledged before COMMIT returned. Every write of an account goes through the lane its
// account hashes to (submits, transitions, fills; replace() excepted), and each lane's writer
// thread runs what queued behind the previous COMMIT in the next transaction: group commit, and
// no two lanes ever wait on each other's account locks.
namespace tickstream::order {

// Session options (PoolConfig::options) for the pool an OrderStore uses and the outbox relay
// (docs/order.md, "Query plans"). A custom plan per execution: a prepared statement otherwise
// gets a generic plan after five executions, and one made while the tables were small (a fresh
// database, before autovacuum's first ANALYZE) kept reading them whole, or through the wrong
// index, for every batch from then on (120 ms instead of 2 ms per batch read; 10 ms instead of
// 0.4 ms per idempotency-key read, measured). Planning costs ~17 % of PostgreSQL's CPU per order;
// that is the price of plans that stay right as the tables grow. No JIT: no statement here runs
// long enough to gain from it, and compiling one took ~100 ms, measured.
inline constexpr const char* kStoreSessionOptions = "-c plan_cache_mode=force_custom_plan -c jit=off";

// `url` with kStoreSessionOptions for every session it opens, and a search_path when one is given
// (tests and benchmarks work in a schema of their own). An operator's own `options` in the URL
// win, as for PoolConfig::options.
std::string storeSessionUrl(const std::string& url, const std::string& search_path = {});

struct OrderStoreConfig {
  // Submits go through writer lanes, several per transaction (group commit). false: each
  // submit is its own transaction on the caller's thread (the benchmark's baseline).
  bool group_commit = true;
  // Writer threads, each using one pooled connection per batch; an account always maps to the
  // same lane, so its submits are processed in the order they were queued.
  int writer_lanes = 2;
  // Most submits one transaction carries, and most changes (venue reports) besides them: bounds
  // the latency a batch adds to its last member. A lane queues the two apart, so a flood of
  // reports never holds back submits, nor submits the reports.
  int max_batch = 128;
  // Submits waiting per lane before submit() throws Overloaded (back-pressure, not buffering).
  std::size_t max_queued_per_lane = 20'000;
  // NOTIFY channel sent with every transaction that writes an outbox row (the relay LISTENs on
  // it); empty: no NOTIFY, the relay polls.
  std::string notify_channel = "tickstream_outbox";
  // Kafka topics named in the outbox rows' records; tests use their own names.
  std::string events_topic = "orders.events";
  std::string fills_topic = "orders.fills";
  // listOrders page size when the request says 0, and the most it may ask for.
  std::uint32_t default_page_size = 100;
  std::uint32_t max_page_size = 1000;

  // Throws std::invalid_argument naming the first bad field.
  void validate() const;
};

// Why the service refuses a well-formed order: stored as a REJECTED order with these.
struct Rejection {
  v1::RejectReason reason = v1::REJECT_REASON_UNSPECIFIED;
  std::string text;
};

// What the risk decision sees, read in the submit's transaction under the account's sequence
// lock, so no other change of the account can slip between this read and the insert.
struct RiskInputs {
  std::optional<RiskLimits> limits;  // the account's risk_limits row; nothing when it has none
  AccountExposure exposure;          // working orders, position (signed fills), open qty in the symbol
};
// Called inside the transaction (on a writer thread); nothing = accept. May throw: that submit
// fails with the exception and nothing of it is stored.
using RiskDecider = std::function<std::optional<Rejection>(const RiskInputs&)>;

enum class SubmitOutcome {
  Created,    // stored now (ACCEPTED, or REJECTED with the decider's reason)
  Duplicate,  // (account, client_order_id) held an order from the same payload: that order
  Conflict,   // (account, client_order_id) held an order from another payload: refuse the request
};
struct SubmitResult {
  SubmitOutcome outcome = SubmitOutcome::Created;
  v1::Order order;  // the stored order (for Conflict: the order that holds the key)
};

enum class ChangeOutcome {
  Applied,    // stored with its event and its outbox record(s)
  Refused,    // illegal for the order's status (or an overfill): logged, nothing stored
  NotFound,   // no such order
  Duplicate,  // applyFill only: the venue execution id was applied before
};
struct ChangeResult {
  ChangeOutcome outcome = ChangeOutcome::NotFound;
  v1::Order order;  // the order after the change (as it stands when refused or duplicate)
  // An applied fill gave the order its venue id (its ack was lost): a cancel that waited for
  // the ack is due now, as after an ack (the ack, if it still comes, is refused as a repeat).
  bool venue_id_from_fill = false;
};

// What a lifecycle trigger carries besides the trigger itself.
struct TransitionDetails {
  std::string venue_order_id;        // VenueAck: the venue's id for the order (empty: keep)
  Rejection rejection;               // VenueReject: why (reason UNSPECIFIED: keep)
  // ReplaceRequest: the replacement order (empty: keep). ReplaceReject: the refused replacement;
  // refused unless the original still waits for it (empty: any).
  std::string replaced_by_order_id;
  // VenueAck of a replacement: the original's fills as the venue replaced it. The replacement
  // was stored with the original's fills at the request; fills that came while the replace was
  // pending are the venue's replacement's too, so it takes these when they are more (and is
  // then working with fills).
  struct Fills {
    std::int64_t filled_quantity = 0;
    std::int64_t avg_fill_price = 0;
  };
  std::optional<Fills> inherited_fills;
};

// The details naming a replacement (TransitionDetails::replaced_by_order_id): the one a
// ReplaceRequest creates, or the one a ReplaceReject refused.
inline TransitionDetails replacedBy(std::string replacement_id) {
  TransitionDetails d;
  d.replaced_by_order_id = std::move(replacement_id);
  return d;
}

// One execution report from the venue.
struct FillReport {
  std::string venue_execution_id;  // unique per venue: the deduplication key
  std::string order_id;            // our order id (reports carry it)
  std::int64_t quantity = 0;       // shares executed, > 0
  std::int64_t price = 0;          // fixed-point 1/10000, > 0
  std::int64_t fill_ts_ns = 0;     // venue's execution time
  v1::Liquidity liquidity = v1::LIQUIDITY_UNSPECIFIED;
  std::int64_t fee = 0;            // money, fixed-point 1/10000
  // The venue's id for the order, from the report: stored when the order has none yet (its ack
  // was lost, e.g. in a gap of the execution stream), so a cancel can name it and a
  // reconciliation knows the venue held the order.
  std::string venue_order_id;
};

struct ReplaceResult {
  // The replacement's key, as for submit: Duplicate/Conflict change nothing.
  SubmitOutcome key = SubmitOutcome::Created;
  // The original: Applied (now PENDING_REPLACE, or unchanged when risk rejected the replacement),
  // Refused (its status does not allow a replace; nothing stored), NotFound (not this account's).
  ChangeOutcome original_outcome = ChangeOutcome::NotFound;
  v1::Order original;
  v1::Order replacement;  // ACCEPTED, or REJECTED with the decider's reason; empty when refused
};

struct ListOrdersPage {
  std::vector<v1::Order> orders;  // newest (created_ts_ns, then order_id) first
  std::string next_page_token;    // empty on the last page
};

// submit() refused because the lane's queue is full: answer RESOURCE_EXHAUSTED / UNAVAILABLE.
class Overloaded : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// A page token that this store did not issue, or issued for other filters: INVALID_ARGUMENT.
class BadPageToken : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Thread-safe. Database errors (pqxx exceptions, pg::AcquireTimeout) propagate to the caller;
// only work that is safe to repeat is retried across a lost connection (submits: the
// idempotency key makes a re-run find its own order; fills: the execution id).
class OrderStore {
 public:
  // Registers the prepared statements on `pool` (which must outlive the store and hold more
  // connections than writer_lanes) and starts the writer lanes.
  OrderStore(pg::Pool& pool, OrderStoreConfig config);
  // Stops the lanes once the submits already queued are committed (or failed); submit() after
  // that throws Overloaded.
  ~OrderStore();
  OrderStore(const OrderStore&) = delete;
  OrderStore& operator=(const OrderStore&) = delete;

  // A validated submit, made durable: blocks until its transaction committed. `decide` runs
  // only for a new key. The order id is generated here.
  // `collar_price`: a market order's collar (OrderValidator::marketCollar), stored with it.
  SubmitResult submit(const v1::SubmitOrderRequest& request, RiskDecider decide, std::int64_t collar_price = 0);

  // submit() without waiting: `done` is called exactly once, after COMMIT with the result or with
  // the error that failed the submit (the errors submit() throws). `request` and `decide` must
  // stay valid until then. Overloaded is thrown here, before anything is queued. `done` runs on a
  // writer lane's thread (on the caller's without group commit) and must not block: the lane
  // commits nothing else while it runs. The gRPC SubmitOrder answers from it, so no thread waits
  // per call in flight.
  using SubmitDone = std::function<void(SubmitResult result, std::exception_ptr error)>;
  void submitAsync(const v1::SubmitOrderRequest& request, const RiskDecider& decide, SubmitDone done,
                   std::int64_t collar_price = 0);

  // A lifecycle event other than a fill (use applyFill): accept/reject are submit's. The
  // transition is checked against the state machine under the account's lock; an illegal one is
  // logged and refused. Not retried across a lost connection (pqxx::in_doubt_error reaches the
  // caller, who re-reads the order).
  ChangeResult applyTransition(const std::string& order_id, Trigger trigger, const TransitionDetails& details = {});

  // A validated replace: the replacement order (new id, the original's symbol, side, type and
  // time in force, the request's quantity and price, the original's fills, replaces_order_id)
  // and the original's replace_request (→ PENDING_REPLACE, replaced_by_order_id) in one
  // transaction with both events. `decide` sees the exposure without the original. Idempotent
  // on (account, client_order_id) with replaceFingerprint.
  ReplaceResult replace(const v1::ReplaceOrderRequest& request, RiskDecider decide);

  // An execution: stored once per venue_execution_id, with the order's filled quantity, average
  // price, status (partial_fill / full_fill), the event, and one outbox row with its records for
  // orders.events and orders.fills.
  ChangeResult applyFill(const FillReport& fill);

  // applyTransition and applyFill without waiting: `done` is called exactly once, with the result
  // after COMMIT or with the error that failed the change (the same errors the waiting calls
  // throw, a refusal of the argument included). It runs on a writer lane's thread, or on the
  // caller's for an unknown order or without group commit, and must not block: a lane commits
  // nothing else while it runs. Venue reports use these, so a batch carries every report that
  // arrived during the previous COMMIT rather than one per waiting thread.
  using ChangeDone = std::function<void(ChangeResult result, std::exception_ptr error)>;
  void applyTransitionAsync(const std::string& order_id, Trigger trigger, TransitionDetails details, ChangeDone done);
  void applyFillAsync(FillReport fill, ChangeDone done);

  std::optional<v1::Order> getOrder(const std::string& order_id);

  // What a submit of `request` would get back for its idempotency key, read outside any lane:
  // the stored order as Duplicate or Conflict, or nothing when the key is free. For a submit
  // refused before the store (e.g. by the price band): a retry whose original was accepted
  // must get that order back, not the refusal.
  std::optional<SubmitResult> findSubmitted(const v1::SubmitOrderRequest& request);
  // Whether (account, client_order_id) holds an order already (read outside any lane).
  bool keyTaken(const std::string& account, const std::string& client_order_id);

  // An account's orders, newest first, with keyset pagination: the token is opaque and valid
  // only with the same filters (BadPageToken otherwise). page_size 0: the default.
  ListOrdersPage listOrders(const std::string& account, const std::vector<v1::OrderStatus>& statuses,
                            const std::string& symbol, std::uint32_t page_size, const std::string& page_token);

  // Submits committed, and transactions that carried them (group commit: fewer than submits).
  std::uint64_t submitsCommitted() const;
  std::uint64_t submitTransactions() const;

 private:
  // A transition or fill on its way through the lane of its order's account; the lane owns it
  // from the moment it is queued until `done` was called.
  struct PendingChange {
    enum class Kind { Transition, Fill };
    Kind kind = Kind::Transition;
    std::string order_id;
    Trigger trigger = Trigger::VenueAck;  // Transition
    TransitionDetails details;            // Transition
    FillReport fill;                      // Fill
    std::string account;  // the order's account (its lane)
    std::int64_t now_ns = 0;
    ChangeResult result;
    ChangeDone done;
  };
  // What a change's statements did: `wrote` false means refused, duplicate or not found; then
  // nothing was written but the account's sequence number, taken when `seq_account` is set,
  // which the caller gives back (or rolls the transaction back).
  struct ChangeWork {
    ChangeResult result;
    bool wrote = false;
    std::string seq_account;
  };
  // A submit on its way through a lane; result is set inside the transaction, done after COMMIT.
  // The lane owns it from the moment it is queued until `done` was called.
  struct PendingSubmit {
    const v1::SubmitOrderRequest* request = nullptr;
    const RiskDecider* decide = nullptr;
    std::int64_t collar_price = 0;
    Fingerprint fingerprint{};
    // Chosen once, so a re-run after an in-doubt COMMIT recognises its own order as created.
    std::string order_id;
    std::int64_t now_ns = 0;
    SubmitResult result;
    SubmitDone done;
  };
  struct Lane;
  // What one transaction attempt did to its accounts' working orders, in statement order;
  // applied to the lane's exposure cache once COMMIT returned (exposure_cache.h).
  struct ExposureWork {
    ExposureCache* cache = nullptr;  // the lane's; nullptr outside a lane
    std::vector<std::pair<std::string, ExposureDelta>> deltas;
  };

  void writerLoop(Lane& lane);
  // Commits `batch` in one transaction and completes each job; if that fails for one job's
  // reason (an SQL error, the decider throwing), retries each alone so only the bad one fails.
  void runBatch(const std::vector<PendingSubmit*>& submits, const std::vector<PendingChange*>& changes,
                ExposureCache* cache);
  void runInOneTransaction(const std::vector<PendingSubmit*>& submits, const std::vector<PendingChange*>& changes,
                           ExposureCache* cache);
  // Queues a change in its account's lane (or runs it here without group commit); its `done`
  // reports the outcome.
  void runChange(std::unique_ptr<PendingChange> change);
  // A change alone in its own transaction.
  ChangeResult runChangeAlone(PendingChange& change);
  // A lane's changes, one or many, in four statements (order_store_changes.cpp). Returns whether
  // any wrote.
  bool changeMany(pqxx::work& tx, const std::vector<PendingChange*>& changes, ExposureWork& exposure);
  static void prepareChangeMany(pg::Pool& pool);
  // The statements of a transition / a fill (order_store_changes.cpp).
  ChangeWork transitionIn(pqxx::transaction_base& tx, const PendingChange& change);
  ChangeWork fillIn(pqxx::transaction_base& tx, const PendingChange& change);
  // The account of an order, from a bounded cache of the orders this process has seen, or the
  // database; nothing for an unknown order.
  std::optional<std::string> accountOf(const std::string& order_id);
  void rememberAccount(const std::string& order_id, const std::string& account);
  Lane& laneOf(const std::string& account);
  // One submit: lock, read, write (three statements).
  SubmitResult submitOne(pqxx::work& tx, PendingSubmit& pending);
  // A batch sorted by account in four or five statements whatever its size, the accounts'
  // working orders from the lane's exposure cache where it is current (order_store_batch.cpp).
  void submitMany(pqxx::work& tx, const std::vector<PendingSubmit*>& ordered, ExposureWork& exposure);
  static void prepareSubmitMany(pg::Pool& pool);
  void notifyOutbox(pqxx::transaction_base& tx);

  pg::Pool& pool_;
  const OrderStoreConfig config_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  static constexpr std::size_t kAccountCache = 500'000;
  std::mutex accounts_mu_;
  std::unordered_map<std::string, std::string> accounts_;  // order id → account
  std::deque<std::string> accounts_order_;                 // oldest first, for eviction
  std::atomic<std::uint64_t> submits_committed_{0};
  std::atomic<std::uint64_t> submit_transactions_{0};
};

}  // namespace tickstream::order
