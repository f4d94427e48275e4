#include "outbox_relay.h"

#include "outbox_dedupe.h"
#include "outbox_records.h"

#include <pqxx/pqxx>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

#include "tickstream/pg/backoff.h"
#include "tickstream/runtime/logging.h"

namespace tickstream::order {
namespace {

// Delivery outcome per record of the current round, written by the producer's poll thread.
struct Deliveries {
  enum State : std::uint8_t { Pending, Delivered, Failed };
  std::mutex mu;
  std::vector<State> state;

  void reset(std::size_t n) {
    std::lock_guard lock(mu);
    state.assign(n, Pending);
  }
  void report(const kafka::DeliveryReport& r) {
    const auto i = reinterpret_cast<std::uintptr_t>(r.opaque);
    std::lock_guard lock(mu);
    if (i < state.size()) state[i] = r.error == RdKafka::ERR_NO_ERROR ? Delivered : Failed;
  }
};

// LISTEN for as long as it lives; the relay only needs the wake-up, not the payload.
class Wakeup final : public pqxx::notification_receiver {
 public:
  using pqxx::notification_receiver::notification_receiver;
  void operator()(const std::string& /*payload*/, int /*backend_pid*/) override {}
};

std::unique_ptr<kafka::Producer> makeProducer(kafka::ProducerConfig config, Deliveries& deliveries) {
  config.idempotent = true;
  config.acks = "all";
  // A record that fails is fatal instead of letting the producer skip past it: a later record of
  // the same partition can then never be delivered ahead of an earlier one, so what was
  // delivered is always a prefix and deleting it keeps every account's order.
  config.extra["enable.gapless.guarantee"] = "true";
  return std::make_unique<kafka::Producer>(std::move(config),
                                           [&deliveries](const kafka::DeliveryReport& r) { deliveries.report(r); });
}

std::string idArray(const std::vector<std::int64_t>& ids) {
  std::string s = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(ids[i]);
  }
  return s + "}";
}

// Deletes the rows whose records are all in Kafka and leaves the others only what is not, in one
// transaction: a crash in between cannot leave a row that still holds a published record.
void applySettlement(pqxx::connection& conn, const OutboxSettlement& s) {
  if (s.deleted.empty() && s.trimmed.empty()) return;
  pqxx::work tx(conn);
  if (!s.deleted.empty()) tx.exec_prepared("outbox_delete", idArray(s.deleted));
  for (const auto& [id, rest] : s.trimmed) {
    tx.exec_prepared("outbox_trim", id, pqxx::binarystring(rest.data(), rest.size()));
  }
  tx.commit();
}

}  // namespace

void OutboxRelayConfig::validate() const {
  if (pg_url.empty()) throw std::invalid_argument("outbox relay pg_url: empty");
  producer.validate();
  if (batch_size < 1 || batch_size > 100'000) throw std::invalid_argument("outbox relay batch_size: must be 1..100000");
  if (poll_interval.count() < 1) throw std::invalid_argument("outbox relay poll_interval: must be >= 1 ms");
  if (retry_backoff_min.count() < 1 || retry_backoff_max < retry_backoff_min) {
    throw std::invalid_argument("outbox relay retry_backoff_min/max: need 1 ms <= min <= max");
  }
}

OutboxRelay::OutboxRelay(OutboxRelayConfig config) : config_(std::move(config)) { config_.validate(); }

OutboxRelay::~OutboxRelay() { stop(); }

void OutboxRelay::start() {
  if (thread_.joinable()) return;
  stop_.store(false);
  thread_ = std::thread([this] { run(); });
}

void OutboxRelay::stop() {
  {
    std::lock_guard lock(mu_);
    stop_.store(true);
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool OutboxRelay::pause(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !wake_.wait_for(lock, d, [this] { return stopping(); });
}

void OutboxRelay::run() {
  pg::Backoff backoff(config_.retry_backoff_min, config_.retry_backoff_max, 0.5);
  while (!stopping()) {
    try {
      session();
      backoff.reset();
    } catch (const std::exception& e) {
      // The session is gone with its lock; whatever it published but did not delete is
      // published again by whoever takes the lock next.
      active_.store(false);
      failures_.fetch_add(1, std::memory_order_relaxed);
      logging::warn("outbox relay session failed", {{"error", e.what()}, {"attempt", backoff.attempts() + 1}});
    }
    if (!pause(backoff.next())) break;
  }
  active_.store(false);
  lag_ms_.store(0, std::memory_order_relaxed);
}

void OutboxRelay::session() {
  pqxx::connection conn(config_.pg_url);
  // Standby until the lock is ours: two relays would interleave an account's events.
  while (!pqxx::nontransaction(conn).exec_params("SELECT pg_try_advisory_lock($1)", config_.lock_key)[0][0].as<bool>()) {
    // Another replica relays: no lag of ours to report. A figure kept from when this one held
    // the lock would keep the lag alert firing after the other took over and caught up. (A
    // relay whose round failed keeps its lag: it retries, and the rows really are waiting.)
    lag_ms_.store(0, std::memory_order_relaxed);
    if (!pause(config_.poll_interval)) return;
  }
  active_.store(true);
  logging::info("outbox relay active", {{"lock_key", static_cast<long long>(config_.lock_key)}});
  std::unique_ptr<Wakeup> wakeup;
  if (!config_.notify_channel.empty()) wakeup = std::make_unique<Wakeup>(conn, config_.notify_channel);
  // The oldest row's age is the lag: ids are drawn in commit order per account, and nearly so
  // overall.
  conn.prepare("outbox_read",
               "SELECT id, records, (extract(epoch FROM clock_timestamp() - created_at) * 1000)::bigint "
               "FROM outbox ORDER BY id LIMIT $1");
  conn.prepare("outbox_delete", "DELETE FROM outbox WHERE id = ANY($1::bigint[])");
  conn.prepare("outbox_trim", "UPDATE outbox SET records = $2 WHERE id = $1");
  // The lag is measured before Kafka is reached, and again if that fails: while the broker is
  // down, the growing lag is what shows it.
  const auto measureLag = [&] {
    pqxx::nontransaction tx(conn);
    const auto r = tx.exec_prepared("outbox_read", 1);
    lag_ms_.store(r.empty() ? 0 : r[0][2].as<std::int64_t>(), std::memory_order_relaxed);
  };
  measureLag();
  // Records Kafka holds but the outbox still has are dropped instead of published twice: after
  // a previous relay stopped between Kafka's acknowledgement and the delete (at start), and
  // after a round whose delivery reports said failed (a request that timed out on our side may
  // still have been appended by the broker). A broker that cannot be read fails the session.
  // `after_round`: the id of the last row of a round that failed (only its rows were sent);
  // nothing at start, when a previous relay may have sent any row.
  const auto dropPublished = [&](std::optional<std::int64_t> after_round) {
    OutboxSettlement published;
    try {
      published = publishedOutboxRecords(conn, config_.producer.brokers, std::chrono::minutes(1), after_round);
    } catch (...) {
      measureLag();
      throw;
    }
    if (published.done_records > 0) {
      applySettlement(conn, published);
      // After a round, they are this relay's (its delivery reports were wrong); at start, not.
      if (after_round) published_.fetch_add(published.done_records, std::memory_order_relaxed);
      logging::info("outbox records already in Kafka dropped",
                    {{"when", after_round ? "after an incomplete round" : "start"},
                     {"records", static_cast<unsigned long long>(published.done_records)},
                     {"rows_deleted", static_cast<unsigned long long>(published.deleted.size())},
                     {"rows_trimmed", static_cast<unsigned long long>(published.trimmed.size())}});
    }
  };
  dropPublished(std::nullopt);

  Deliveries deliveries;  // outlives the producer, whose poll thread reports into it
  auto producer = makeProducer(config_.producer, deliveries);
  pg::Backoff broker_backoff(config_.retry_backoff_min, config_.retry_backoff_max, 0.5);
  OutboxBatch batch;  // the round's rows and, decoded, their records in publishing order
  const auto& records = batch.records;
  while (!stopping()) {
    batch.clear();
    {
      pqxx::nontransaction tx(conn);
      const auto r = tx.exec_prepared("outbox_read", config_.batch_size);
      for (const auto& row : r) batch.add(row[0].as<std::int64_t>(), pqxx::binarystring(row[1]).str());
      lag_ms_.store(r.empty() ? 0 : r[0][2].as<std::int64_t>(), std::memory_order_relaxed);
    }
    if (batch.ids.empty()) {
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(config_.poll_interval).count();
      if (wakeup) {
        conn.await_notification(us / 1'000'000, us % 1'000'000);
      } else if (!pause(config_.poll_interval)) {
        return;
      }
      continue;
    }

    // A row that cannot be read throws: the session fails and retries after its backoff, and
    // the growing outbox lag is the alert.
    batch.decode();
    deliveries.reset(records.size());
    for (std::size_t i = 0; i < records.size(); ++i) {
      const auto& rec = records[i];
      auto result = producer->produce(rec.topic, rec.key, rec.payload, kafka::Producer::kAnyPartition,
                                      reinterpret_cast<void*>(static_cast<std::uintptr_t>(i)));
      while (result == kafka::ProduceResult::QueueFull && !stopping()) {
        result = producer->produce(rec.topic, rec.key, rec.payload, kafka::Producer::kAnyPartition,
                                   reinterpret_cast<void*>(static_cast<std::uintptr_t>(i)));
      }
      if (result == kafka::ProduceResult::QueueFull) break;  // stopping: the round is abandoned below
      if (result != kafka::ProduceResult::Ok) {
        // Stop here: producing later records would put them ahead of this one.
        logging::error("outbox relay cannot produce",
                       {{"outbox_id", static_cast<long long>(batch.ids[batch.row_of[i]])}, {"topic", std::string(rec.topic)},
                        {"result", static_cast<int>(result)}, {"fatal", producer->fatalError()}});
        break;
      }
    }
    // Every produced record gets a report within the producer's delivery timeout. On stop the
    // round is abandoned: its rows stay in the outbox and are published again.
    while (!producer->flush(std::chrono::milliseconds(250))) {
      if (stopping()) return;
    }

    std::vector<bool> done(records.size(), false);
    {
      // Done: records Kafka acknowledged, except any that follow a failed record of the same key
      // (gapless delivery should make that impossible; if not, republishing them is a duplicate
      // the consumer drops, skipping the failed one would be a reordering it cannot undo).
      std::lock_guard lock(deliveries.mu);
      std::unordered_set<std::string_view> blocked;
      for (std::size_t i = 0; i < records.size(); ++i) {
        if (deliveries.state[i] == Deliveries::Delivered && !blocked.count(records[i].key)) {
          done[i] = true;
        } else {
          blocked.insert(records[i].key);
        }
      }
    }
    const auto settled = settleOutboxRows(batch, done);
    applySettlement(conn, settled);
    published_.fetch_add(settled.done_records, std::memory_order_relaxed);
    if (settled.deleted.size() == batch.ids.size()) {
      broker_backoff.reset();
      continue;
    }
    // Some rows were not delivered (broker down, fatal producer error): a fresh producer (a
    // fatal one cannot go on) after a pause, then those rows again, first.
    failures_.fetch_add(1, std::memory_order_relaxed);
    logging::warn("outbox relay round incomplete",
                  {{"rows", static_cast<unsigned long long>(batch.ids.size())},
                   {"published_records", static_cast<unsigned long long>(settled.done_records)},
                   {"fatal", producer->fatalError()}});
    producer.reset();
    if (!pause(broker_backoff.next())) return;
    dropPublished(batch.ids.back());
    producer = makeProducer(config_.producer, deliveries);
  }
}

}  // namespace tickstream::order
