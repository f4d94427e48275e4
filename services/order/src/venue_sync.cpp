#include "venue_sync.h"

#include <algorithm>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "order_rows.h"
#include "pg_array.h"
#include "tickstream/runtime/logging.h"

namespace tickstream::order {

StreamPositionStore::StreamPositionStore(pg::Pool& pool, std::string venue) : pool_(pool), venue_(std::move(venue)) {
  pool_.registerPrepared("venue_position_load",
                         "SELECT session, last_applied FROM venue_stream_position WHERE venue = $1");
  pool_.registerPrepared("venue_position_save",
                         "INSERT INTO venue_stream_position AS p (venue, session, last_applied) VALUES ($1, $2, $3) "
                         "ON CONFLICT (venue) DO UPDATE SET session = $2, last_applied = $3, updated_at = now()");
}

StreamPosition StreamPositionStore::load() {
  return pool_.run(
      [&](pqxx::work& tx) {
        StreamPosition p;
        const auto r = tx.exec_prepared("venue_position_load", venue_);
        if (!r.empty()) {
          p.session = r[0][0].as<std::string>();
          p.last_applied = r[0][1].as<std::uint64_t>();
        }
        return p;
      },
      pg::Retry::Idempotent);
}

void StreamPositionStore::save(const StreamPosition& position) {
  pool_.run([&](pqxx::work& tx) {
        tx.exec_prepared("venue_position_save", venue_, position.session,
                         static_cast<std::int64_t>(position.last_applied));
      },
      pg::Retry::Idempotent);
}

VenueSync::VenueSync(pg::Pool& pool, OrderStore& store, OrderRouter& router, StreamPositionStore& positions,
                     int workers)
    : pool_(pool), store_(store), router_(router), positions_(positions) {
  if (workers < 1) throw std::invalid_argument("VenueSync: workers must be >= 1");
  for (int i = 0; i < workers; ++i) workers_.push_back(std::make_unique<Worker>());
}

VenueSync::~VenueSync() { stop(); }

void VenueSync::start() {
  reconciled_session_ = positions_.load().session;  // the stream resumes there
  for (auto& w : workers_) {
    w->thread = std::thread([this, worker = w.get()] { work(*worker); });
  }
}

void VenueSync::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  for (auto& w : workers_) w->wake.notify_all();
  idle_.notify_all();
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

bool VenueSync::onReport(const std::string& session, const venue::ExecutionReport& report) {
  std::unique_lock lock(mu_);
  if (session != session_) {
    // A new session's exec_seq restarts: the old one's reports must be done before positions mix.
    drain(lock);
    session_ = session;
  }
  // One worker per venue order: a replacement keeps its original's venue order id, so the
  // original's last fills and the REPLACED report apply in the venue's order (by our order id,
  // they went to two workers, and a fill could arrive after the original was REPLACED).
  const std::string& key = report.venue_order_id().empty() ? report.order_id() : report.venue_order_id();
  auto& w = *workers_[std::hash<std::string>{}(key) % workers_.size()];
  idle_.wait(lock, [&] { return stopping_ || interrupted_ || w.queue.size() < kMaxQueued; });
  if (stopping_ || interrupted_) return false;
  in_flight_.insert(report.exec_seq());
  last_handed_ = report.exec_seq();
  w.queue.push_back(report);
  w.wake.notify_one();
  return true;
}

void VenueSync::work(Worker& w) {
  std::vector<venue::ExecutionReport> group;
  std::unordered_set<std::string> group_orders;
  std::vector<venue::ExecutionReport> later;  // reports of orders already in the group
  std::unique_lock lock(mu_);
  for (;;) {
    w.wake.wait(lock, [&] { return stopping_ || !w.queue.empty(); });
    if (stopping_) return;
    // The oldest queued report of each order: one order's reports still apply one after the
    // other in stream order, while different orders' go into the lanes together and share their
    // transactions (one report at a time per worker bound the stream to a commit per report).
    group.clear();
    group_orders.clear();
    later.clear();
    while (!w.queue.empty() && group.size() < kGroup) {
      auto& r = w.queue.front();
      (group_orders.insert(r.order_id()).second ? group : later).push_back(std::move(r));
      w.queue.pop_front();
    }
    for (auto it = later.rbegin(); it != later.rend(); ++it) w.queue.push_front(std::move(*it));
    lock.unlock();

    struct Waiting {
      std::mutex mu;
      std::condition_variable done;
      std::size_t left = 0;
      std::vector<std::exception_ptr> errors;
    } waiting;
    waiting.left = group.size();
    waiting.errors.resize(group.size());
    for (std::size_t i = 0; i < group.size(); ++i) {
      router_.applier().applyAsync(group[i], [&waiting, i](std::exception_ptr error) {
        std::lock_guard wl(waiting.mu);
        waiting.errors[i] = error;
        if (--waiting.left == 0) waiting.done.notify_one();
      });
    }
    {
      std::unique_lock wl(waiting.mu);
      waiting.done.wait(wl, [&] { return waiting.left == 0; });
    }
    // A report the database did not take is applied again, before anything later of its order
    // (still queued behind it), until it is.
    for (std::size_t i = 0; i < group.size(); ++i) {
      if (waiting.errors[i] && !applyRetrying(group[i])) return;  // stopping: left out of the saved position
    }
    lock.lock();
    for (const auto& r : group) in_flight_.erase(r.exec_seq());
    idle_.notify_all();
    lock.unlock();
    saveIfDue(false);
    lock.lock();
  }
}

bool VenueSync::applyRetrying(const venue::ExecutionReport& report) {
  auto pause = std::chrono::milliseconds(50);
  for (;;) {
    try {
      router_.applier().apply(report);
      return true;
    } catch (const std::exception& e) {
      logging::warn("venue report not applied yet; retrying",
                    {{"exec_seq", static_cast<unsigned long long>(report.exec_seq())}, {"error", e.what()}});
    }
    std::unique_lock lock(mu_);
    if (idle_.wait_for(lock, pause, [&] { return stopping_; })) return false;
    pause = std::min(pause * 2, std::chrono::milliseconds(2000));
  }
}

void VenueSync::drain(std::unique_lock<std::mutex>& lock) {
  idle_.wait(lock, [&] { return stopping_ || interrupted_ || in_flight_.empty(); });
}

void VenueSync::interrupt() {
  {
    std::lock_guard lock(mu_);
    interrupted_ = true;
  }
  idle_.notify_all();
}

std::uint64_t VenueSync::appliedUpTo() const {
  return in_flight_.empty() ? last_handed_ : *in_flight_.begin() - 1;
}

void VenueSync::saveIfDue(bool force) {
  StreamPosition position;
  {
    std::lock_guard lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    // Not a session before its reconciliation (its reports replayed ahead of the repair): stored,
    // a restart would resume in it and never repair the orders the old session lost.
    if (session_.empty() || session_ != reconciled_session_ || (!force && now - last_save_ < kSaveInterval)) return;
    position = {session_, appliedUpTo()};
    if (position.session == saved_.session && position.last_applied == saved_.last_applied) return;
    last_save_ = now;
  }
  try {
    positions_.save(position);
    std::lock_guard lock(mu_);
    saved_ = position;
  } catch (const std::exception& e) {
    // The next save covers it; a restart meanwhile re-applies from the older position.
    logging::warn("venue stream position not saved", {{"error", e.what()}});
  }
}

void VenueSync::flushPosition() {
  {
    // Give the reports still in the workers a moment, so the next start has less to re-apply.
    std::unique_lock lock(mu_);
    idle_.wait_for(lock, std::chrono::seconds(5), [&] { return stopping_ || in_flight_.empty(); });
  }
  saveIfDue(true);
}

bool VenueSync::onReconcile(const Reconciliation& r) {
  try {
    {
      std::unique_lock lock(mu_);
      drain(lock);  // the repair reads orders that reports in flight would still change
      if (interrupted_) return false;
    }
    repair(r);
    const StreamPosition position{r.session, r.open.last_exec_seq()};
    positions_.save(position);
    std::lock_guard lock(mu_);
    session_ = position.session;
    reconciled_session_ = position.session;
    last_handed_ = position.last_applied;
    saved_ = position;
    return true;
  } catch (const std::exception& e) {
    logging::warn("reconciliation failed; it is redone", {{"error", e.what()}});
    return false;
  }
}

std::unordered_map<std::string, std::string> VenueSync::ackedBeforeList() {
  {
    // Reports handed over (a replay that failed half-way) apply first: an ack still in a worker
    // would otherwise count as one made after the list, and its order be left to a stream that
    // never reports it.
    std::unique_lock lock(mu_);
    drain(lock);
    if (interrupted_) throw std::runtime_error("stopping");
  }
  return pool_.run(
      [](pqxx::work& tx) {
        std::unordered_map<std::string, std::string> out;
        for (const auto& row : tx.exec("SELECT order_id, venue_order_id FROM orders WHERE working AND status <> 1 "
                                       "AND coalesce(venue_order_id, '') <> ''")) {
          out.emplace(row[0].as<std::string>(), row[1].as<std::string>());
        }
        return out;
      },
      pg::Retry::Idempotent);
}

void VenueSync::repair(const Reconciliation& r) {
  std::unordered_map<std::string, const venue::VenueOrder*> listed;
  for (const auto& o : r.open.orders()) listed.emplace(o.order_id(), &o);
  const auto ours = pool_.run(
      [](pqxx::work& tx) {
        std::vector<v1::Order> out;
        for (const auto& row :
             tx.exec(std::string("SELECT ") + rows::kOrderColumns + " FROM orders WHERE working AND status <> 1")) {
          out.push_back(rows::rowToOrder(row));
        }
        return out;
      },
      pg::Retry::Idempotent);
  const bool restarted = r.reason == Reconciliation::Reason::SessionChanged;
  std::size_t acked = 0, ended = 0, resent = 0, replaced = 0;
  // A replace the venue carried out in the gap: the original (PENDING_REPLACE) is gone and the
  // venue lists its replacement. Applied as the REPLACED report that was missed, so the original
  // ends REPLACED (not CANCELED) and the replacement takes the original's fills with its ack.
  std::unordered_map<std::string, std::int64_t> replaced_in_gap;  // replacement id → original's fills
  for (const auto& order : ours) {
    if (order.status() != v1::ORDER_STATUS_PENDING_REPLACE || order.replaced_by_order_id().empty() ||
        listed.contains(order.order_id())) {
      continue;
    }
    const auto rep = listed.find(order.replaced_by_order_id());
    if (rep == listed.end()) continue;
    router_.applier().apply([&] {
      venue::ExecutionReport report;
      report.set_exec_type(venue::EXEC_TYPE_REPLACED);
      report.set_order_id(order.replaced_by_order_id());
      report.set_orig_order_id(order.order_id());
      report.set_venue_order_id(rep->second->venue_order_id());
      return report;
    }());
    replaced_in_gap.emplace(order.replaced_by_order_id(), order.filled_quantity());
    ++replaced;
  }
  for (const auto& order : ours) {
    const auto it = listed.find(order.order_id());
    if (it == listed.end() && replaced_in_gap.contains(order.replaced_by_order_id())) {
      continue;  // the original of a replace applied above
    }
    if (it == listed.end() && !order.venue_order_id().empty()) {
      const auto before = r.acked_before_list.find(order.order_id());
      if (before == r.acked_before_list.end() || before->second != order.venue_order_id()) {
        continue;  // acknowledged since the list was asked for: the stream settles it
      }
    }
    if (it != listed.end()) {
      const auto& at_venue = *it->second;
      const auto via_replace = replaced_in_gap.find(order.order_id());
      std::int64_t known_filled = order.filled_quantity();
      if (via_replace != replaced_in_gap.end()) {
        known_filled = std::max(known_filled, via_replace->second);  // acknowledged above
      } else if (order.status() == v1::ORDER_STATUS_ACCEPTED) {
        // As if its NEW report had come: a pending cancel is then sent.
        router_.applier().apply([&] {
          venue::ExecutionReport ack;
          ack.set_exec_type(venue::EXEC_TYPE_NEW);
          ack.set_order_id(order.order_id());
          ack.set_venue_order_id(at_venue.venue_order_id());
          return ack;
        }());
        ++acked;
      }
      if (at_venue.cumulative_quantity() > known_filled) {
        // Fills happened in a gap of reports we cannot replay (the venue has no fill history).
        flagged_.fetch_add(1);
        logging::error("order has fills at the venue that the service never saw",
                       {{"order_id", order.order_id()},
                        {"venue_cumulative", static_cast<long long>(at_venue.cumulative_quantity())},
                        {"service_filled", static_cast<long long>(known_filled)}});
      }
      listed.erase(it);
      continue;
    }
    if (order.status() == v1::ORDER_STATUS_ACCEPTED ||
        (order.status() == v1::ORDER_STATUS_PENDING_CANCEL && order.venue_order_id().empty())) {
      // Also after a venue restart: the router re-sends ACCEPTED orders to whatever session it
      // reaches (at start-up and every few seconds), so one may be entering the new session
      // right now; rejecting it here would refuse its ack and fills. The venue's answer decides.
      // A cancel asked before any ack too: the router re-sends it as a NewOrder (resendAccepted),
      // so cancelling it here could leave the venue an order we call CANCELED. Once entered and
      // acked, its cancel is sent. (One that entered and ended in a gap then stays PENDING_CANCEL,
      // its cancel refused at each re-send: visible, where the other way a live order was not.)
      router_.route(order, false);  // idempotent NewOrder again
      ++resent;
      continue;
    }
    // Working here, gone at the venue.
    store_.applyTransition(order.order_id(), Trigger::CancelAck);
    ++ended;
    // After a restart whose first reports were replayed, it is one the restart lost, and its
    // fills all came before; otherwise what it did at the venue may be unseen.
    if (!restarted || r.replay_missing) {
      flagged_.fetch_add(1);
      logging::error("order ended at the venue in a gap of reports", {{"order_id", order.order_id()}});
    }
  }
  // Listed, and not working here: ours, ended since the list was made (its last report applied
  // before the repair read our orders), or not ours at all. Only the latter are unknown; the
  // former are logged with our status, for an operator to tell a race from a discrepancy.
  std::unordered_map<std::string, v1::OrderStatus> ended_here;
  if (!listed.empty()) {
    std::vector<std::string> ids;
    for (const auto& [id, o] : listed) ids.push_back(id);
    ended_here = pool_.run(
        [&](pqxx::work& tx) {
          std::unordered_map<std::string, v1::OrderStatus> out;
          for (const auto& row : tx.exec_params("SELECT order_id, status FROM orders WHERE order_id = ANY($1::text[])",
                                                textArray(ids))) {
            out.emplace(row[0].as<std::string>(), static_cast<v1::OrderStatus>(row[1].as<int>()));
          }
          return out;
        },
        pg::Retry::Idempotent);
  }
  for (const auto& [id, o] : listed) {
    if (const auto it = ended_here.find(id); it != ended_here.end()) {
      logging::warn("venue listed an order that is no longer working here",
                    {{"order_id", id}, {"status", v1::OrderStatus_Name(it->second)}});
      continue;
    }
    unknown_at_venue_.fetch_add(1);
    logging::warn("venue holds an order the service does not know", {{"order_id", id}});
  }
  logging::info("reconciled with the venue",
                {{"reason", reconciliationReasonName(r.reason)},
                 {"session", r.session},
                 {"previous_session", r.previous_session},
                 {"venue_open", static_cast<long long>(r.open.orders_size())},
                 {"acked", static_cast<long long>(acked)},
                 {"ended", static_cast<long long>(ended)},
                 {"resent", static_cast<long long>(resent)},
                 {"replaced", static_cast<long long>(replaced)},
                 {"last_exec_seq", static_cast<unsigned long long>(r.open.last_exec_seq())}});
}

}  // namespace tickstream::order
