#include "report_applier.h"

#include "tickstream/runtime/logging.h"

namespace tickstream::order {

namespace vv1 = tickstream::venue::v1;

void ReportApplier::ack(const std::string& order_id, const std::string& venue_order_id) {
  TransitionDetails details;
  details.venue_order_id = venue_order_id;
  const auto r = store_.applyTransition(order_id, Trigger::VenueAck, details);
  if (r.outcome == ChangeOutcome::Applied && r.order.status() == v1::ORDER_STATUS_PENDING_CANCEL && cancel_due_) {
    cancel_due_(r.order);
  }
}

bool ReportApplier::claim(const std::string& id) {
  std::unique_lock lock(recent_mu_);
  for (;;) {
    const auto it = recent_.find(id);
    if (it == recent_.end()) {
      recent_.emplace(id, false);
      return true;
    }
    if (it->second) {
      ++repeats_skipped_;
      return false;
    }
    recent_cv_.wait(lock);  // another thread is applying it: its outcome decides
  }
}

void ReportApplier::release(const std::string& id, bool applied) {
  {
    std::lock_guard lock(recent_mu_);
    if (!applied) {
      recent_.erase(id);  // the next copy applies it
    } else {
      recent_[id] = true;
      recent_order_.push_back(id);
      if (recent_order_.size() > kRecent) {
        recent_.erase(recent_order_.front());
        recent_order_.pop_front();
      }
    }
  }
  recent_cv_.notify_all();
}

std::uint64_t ReportApplier::repeatsSkipped() {
  std::lock_guard lock(recent_mu_);
  return repeats_skipped_;
}

void ReportApplier::apply(const vv1::ExecutionReport& report) {
  const auto& id = report.venue_execution_id();
  if (id.empty()) {
    applyOnce(report);
    return;
  }
  if (!claim(id)) return;
  try {
    applyOnce(report);
  } catch (...) {
    release(id, false);  // the database is away: the report must be applied again later
    throw;
  }
  release(id, true);
}

void ReportApplier::applyOnce(const vv1::ExecutionReport& report) {
  ChangeResult result;
  switch (report.exec_type()) {
    case vv1::EXEC_TYPE_NEW:
      ack(report.order_id(), report.venue_order_id());
      return;
    case vv1::EXEC_TYPE_PARTIAL_FILL:
    case vv1::EXEC_TYPE_FILL: {
      FillReport fill;
      fill.venue_execution_id = report.venue_execution_id();
      fill.order_id = report.order_id();
      fill.quantity = report.last_quantity();
      fill.price = report.last_price();
      fill.fill_ts_ns = report.transact_ts_ns();
      fill.liquidity = report.liquidity();
      result = store_.applyFill(fill);
      break;
    }
    case vv1::EXEC_TYPE_CANCELED:
      result = store_.applyTransition(report.order_id(), Trigger::CancelAck);
      break;
    case vv1::EXEC_TYPE_REPLACED:
      // The original first: the replacement's ack may make it working with inherited fills.
      store_.applyTransition(report.orig_order_id(), Trigger::ReplaceAck);
      ack(report.order_id(), report.venue_order_id());
      return;
    case vv1::EXEC_TYPE_REJECTED: {
      TransitionDetails details;
      details.rejection = {v1::REJECT_REASON_VENUE_REJECTED, report.text()};
      result = store_.applyTransition(report.order_id(), Trigger::VenueReject, details);
      // A refused replacement: its original goes back to working.
      if (result.outcome == ChangeOutcome::Applied && !result.order.replaces_order_id().empty()) {
        store_.applyTransition(result.order.replaces_order_id(), Trigger::ReplaceReject);
      }
      break;
    }
    case vv1::EXEC_TYPE_EXPIRED:
      result = store_.applyTransition(report.order_id(), Trigger::Expire);
      break;
    default:
      logging::warn("venue report of unknown type skipped",
                    {{"exec_seq", static_cast<unsigned long long>(report.exec_seq())},
                     {"exec_type", static_cast<int>(report.exec_type())}});
      return;
  }
  if (result.outcome == ChangeOutcome::NotFound) {
    // Not ours (another service's order on a shared venue, or a bug): nothing to change.
    logging::warn("venue report for an unknown order", {{"order_id", report.order_id()},
                                                         {"exec_seq", static_cast<unsigned long long>(report.exec_seq())}});
  }
}

vv1::NewOrderRequest toVenueNewOrder(const v1::Order& order) {
  vv1::NewOrderRequest r;
  r.set_order_id(order.order_id());
  r.set_account(order.account());
  r.set_symbol(order.symbol());
  r.set_side(order.side());
  r.set_type(order.type());
  r.set_time_in_force(order.time_in_force());
  r.set_quantity(order.quantity());
  r.set_limit_price(order.limit_price());
  return r;
}

}  // namespace tickstream::order
