#include "venue_sync.h"

#include <unordered_map>

#include "order_rows.h"
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

bool VenueSync::onReport(const std::string& session, const venue::ExecutionReport& report) {
  try {
    router_.applier().apply(report);
    // After the effects: a crash in between re-applies the report, which is a no-op.
    positions_.save({session, report.exec_seq()});
    return true;
  } catch (const std::exception& e) {
    logging::warn("venue report not applied; the stream resumes from it",
                  {{"exec_seq", static_cast<unsigned long long>(report.exec_seq())}, {"error", e.what()}});
    return false;
  }
}

bool VenueSync::onReconcile(const Reconciliation& r) {
  try {
    repair(r);
    positions_.save({r.session, r.open.last_exec_seq()});
    return true;
  } catch (const std::exception& e) {
    logging::warn("reconciliation failed; it is redone", {{"error", e.what()}});
    return false;
  }
}

void VenueSync::repair(const Reconciliation& r) {
  std::unordered_map<std::string, const venue::VenueOrder*> listed;
  for (const auto& o : r.open.orders()) listed.emplace(o.order_id(), &o);
  const auto ours = pool_.run(
      [](pqxx::work& tx) {
        std::vector<v1::Order> out;
        for (const auto& row : tx.exec(std::string("SELECT ") + rows::kOrderColumns + " FROM orders WHERE status IN " +
                                       rows::kWorkingStatuses + " AND status <> 1")) {
          out.push_back(rows::rowToOrder(row));
        }
        return out;
      },
      pg::Retry::Idempotent);
  const bool restarted = r.reason == Reconciliation::Reason::SessionChanged;
  std::size_t acked = 0, ended = 0, resent = 0;
  for (const auto& order : ours) {
    const auto it = listed.find(order.order_id());
    if (it != listed.end()) {
      const auto& at_venue = *it->second;
      if (order.status() == v1::ORDER_STATUS_ACCEPTED) {
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
      if (at_venue.cumulative_quantity() > order.filled_quantity()) {
        // Fills happened in a gap of reports we cannot replay (the venue has no fill history).
        flagged_.fetch_add(1);
        logging::error("order has fills at the venue that the service never saw",
                       {{"order_id", order.order_id()},
                        {"venue_cumulative", static_cast<long long>(at_venue.cumulative_quantity())},
                        {"service_filled", static_cast<long long>(order.filled_quantity())}});
      }
      listed.erase(it);
      continue;
    }
    if (order.status() == v1::ORDER_STATUS_ACCEPTED) {
      if (restarted) {
        TransitionDetails details;
        details.rejection = {v1::REJECT_REASON_VENUE_UNAVAILABLE, "venue restarted before acknowledging"};
        store_.applyTransition(order.order_id(), Trigger::VenueReject, details);
      } else {
        router_.route(order, false);  // same session: idempotent NewOrder again
        ++resent;
      }
      continue;
    }
    // Working here, gone at the venue.
    store_.applyTransition(order.order_id(), Trigger::CancelAck);
    ++ended;
    if (!restarted) {
      flagged_.fetch_add(1);
      logging::error("order ended at the venue in a gap of reports", {{"order_id", order.order_id()}});
    }
  }
  unknown_at_venue_.fetch_add(listed.size());
  for (const auto& [id, o] : listed) {
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
                 {"last_exec_seq", static_cast<unsigned long long>(r.open.last_exec_seq())}});
}

}  // namespace tickstream::order
