#include "report_applier.h"

#include <future>
#include <memory>

#include "tickstream/runtime/logging.h"

namespace tickstream::order {

namespace vv1 = tickstream::venue::v1;

void ReportApplier::ack(const std::string& order_id, const std::string& venue_order_id, Done done,
                        std::optional<TransitionDetails::Fills> inherited_fills) {
  TransitionDetails details;
  details.venue_order_id = venue_order_id;
  details.inherited_fills = inherited_fills;
  store_.applyTransitionAsync(order_id, Trigger::VenueAck, std::move(details),
                              [this, done = std::move(done)](ChangeResult r, std::exception_ptr error) {
                                if (!error && r.outcome == ChangeOutcome::Applied &&
                                    r.order.status() == v1::ORDER_STATUS_PENDING_CANCEL && cancel_due_) {
                                  cancel_due_(r.order);
                                }
                                done(error);
                              });
}

void ReportApplier::redirectFill(FillReport fill, const v1::Order& original, Done done) {
  // An execution of the original that reached us after the replace was applied (the router
  // applies the venue's REPLACED reply as it comes, before the stream's earlier reports): the
  // shares are the replacement's now, because the venue keeps every fill of the order it
  // replaces. `original` is REPLACED (terminal), so its fills are final, but the replacement may
  // not have taken them yet: the REPLACED report is two transactions, and a failed batch, a
  // restart or the ungrouped write path can put this fill between them. So the replacement is
  // acked with them first (refused, with a logged warning, when it already was), then takes the
  // fill: an ack never meets a replacement with fills of its own, where it could only take the
  // larger of the two counts. A chain of replaces is followed to its end.
  fill.order_id = original.replaced_by_order_id();
  const auto target = fill.order_id;
  const auto venue_order_id = fill.venue_order_id;  // the report's: the replacement keeps the id
  ack(target, venue_order_id,
      [this, fill = std::move(fill), done = std::move(done)](std::exception_ptr e) mutable {
        if (e) {
          done(e);
          return;
        }
        store_.applyFillAsync(fill, [this, fill, done = std::move(done)](ChangeResult r, std::exception_ptr e2) mutable {
          if (!e2 && r.outcome == ChangeOutcome::Refused && r.order.status() == v1::ORDER_STATUS_REPLACED &&
              !r.order.replaced_by_order_id().empty()) {
            redirectFill(std::move(fill), r.order, std::move(done));  // replaced again
            return;
          }
          if (!e2 && r.outcome == ChangeOutcome::NotFound) {
            logging::warn("venue fill redirected to an unknown replacement",
                          {{"order_id", fill.order_id}, {"venue_execution_id", fill.venue_execution_id}});
          }
          done(e2);
        });
      },
      TransitionDetails::Fills{original.filled_quantity(), original.avg_fill_price()});
}

std::uint64_t ReportApplier::repeatsSkipped() {
  std::lock_guard lock(recent_mu_);
  return repeats_skipped_;
}

void ReportApplier::apply(const vv1::ExecutionReport& report) {
  auto promise = std::make_shared<std::promise<void>>();
  auto future = promise->get_future();
  applyAsync(report, [promise](std::exception_ptr error) {
    if (error) {
      promise->set_exception(error);
    } else {
      promise->set_value();
    }
  });
  future.get();
}

void ReportApplier::waitIdle() {
  std::unique_lock lock(recent_mu_);
  idle_.wait(lock, [&] { return outstanding_ == 0; });
}

void ReportApplier::applyAsync(const vv1::ExecutionReport& report, Done done) {
  {
    std::lock_guard lock(recent_mu_);
    ++outstanding_;
  }
  // Counted until the caller's done has returned, so waitIdle() covers every completion.
  done = [this, done = std::move(done)](std::exception_ptr error) {
    done(error);
    std::lock_guard lock(recent_mu_);
    if (--outstanding_ == 0) idle_.notify_all();
  };
  const auto& id = report.venue_execution_id();
  if (id.empty()) {
    applyOnce(report, std::move(done));
    return;
  }
  bool applied = false;
  {
    std::lock_guard lock(recent_mu_);
    const auto it = recent_.find(id);
    if (it == recent_.end()) {
      recent_.emplace(id, InProgress{});
    } else if (it->second) {
      it->second->waiting.emplace_back(report, std::move(done));  // the copy in progress decides
      return;
    } else {
      ++repeats_skipped_;
      applied = true;
    }
  }
  if (applied) {
    done(nullptr);
    return;
  }
  applyOnce(report, [this, id, done = std::move(done)](std::exception_ptr error) {
    finished(id, error);
    done(error);
  });
}

void ReportApplier::finished(const std::string& id, std::exception_ptr error) {
  std::vector<std::pair<vv1::ExecutionReport, Done>> waiting;
  {
    std::lock_guard lock(recent_mu_);
    const auto it = recent_.find(id);
    waiting = std::move(it->second->waiting);
    if (error) {
      recent_.erase(it);  // the database is away: the next copy applies it
    } else {
      it->second.reset();
      repeats_skipped_ += waiting.size();
      recent_order_.push_back(id);
      if (recent_order_.size() > kRecent) {
        // Only an applied id: one evicted earlier may be in progress again.
        if (const auto old = recent_.find(recent_order_.front()); old != recent_.end() && !old->second) {
          recent_.erase(old);
        }
        recent_order_.pop_front();
      }
    }
  }
  for (auto& [report, done] : waiting) {
    if (error) {
      applyAsync(report, std::move(done));  // the first of them applies it, the others wait again
    } else {
      done(nullptr);
    }
  }
}

void ReportApplier::applyOnce(const vv1::ExecutionReport& report, Done done) {
  // Every outcome but a database error is final for the report; an unknown order is logged.
  const auto settle = [exec_seq = report.exec_seq(), order_id = report.order_id()](ChangeResult& r) {
    if (r.outcome == ChangeOutcome::NotFound) {
      // Not ours (another service's order on a shared venue, or a bug): nothing to change.
      logging::warn("venue report for an unknown order",
                    {{"order_id", order_id}, {"exec_seq", static_cast<unsigned long long>(exec_seq)}});
    }
  };
  switch (report.exec_type()) {
    case vv1::EXEC_TYPE_NEW:
      ack(report.order_id(), report.venue_order_id(), std::move(done));
      return;
    case vv1::EXEC_TYPE_PARTIAL_FILL:
    case vv1::EXEC_TYPE_FILL: {
      if (report.venue_execution_id().empty() || report.last_quantity() <= 0 || report.last_price() <= 0) {
        // Retrying cannot make it valid, and waiting for it would stall every report behind
        // it: logged for an operator (the order's state is then repaired by reconciliation).
        logging::error("malformed venue fill skipped",
                       {{"order_id", report.order_id()},
                        {"exec_seq", static_cast<unsigned long long>(report.exec_seq())},
                        {"last_quantity", static_cast<long long>(report.last_quantity())},
                        {"last_price", static_cast<long long>(report.last_price())}});
        done(nullptr);
        return;
      }
      FillReport fill;
      fill.venue_execution_id = report.venue_execution_id();
      fill.order_id = report.order_id();
      fill.quantity = report.last_quantity();
      fill.price = report.last_price();
      fill.fill_ts_ns = report.transact_ts_ns();
      fill.liquidity = report.liquidity();
      fill.venue_order_id = report.venue_order_id();
      store_.applyFillAsync(fill, [this, fill, settle, done = std::move(done)](ChangeResult r,
                                                                               std::exception_ptr error) mutable {
        if (!error && r.outcome == ChangeOutcome::Refused && r.order.status() == v1::ORDER_STATUS_REPLACED &&
            !r.order.replaced_by_order_id().empty()) {
          redirectFill(std::move(fill), r.order, std::move(done));
          return;
        }
        if (!error) settle(r);
        if (!error && r.venue_id_from_fill && r.order.status() == v1::ORDER_STATUS_PENDING_CANCEL && cancel_due_) {
          cancel_due_(r.order);  // its ack was lost: the cancel that waited for it goes now
        }
        done(error);
      });
      return;
    }
    case vv1::EXEC_TYPE_CANCELED:
      store_.applyTransitionAsync(report.order_id(), Trigger::CancelAck, {},
                                  [settle, done = std::move(done)](ChangeResult r, std::exception_ptr error) {
                                    if (!error) settle(r);
                                    done(error);
                                  });
      return;
    case vv1::EXEC_TYPE_REPLACED:
      // The original first, then the replacement's ack with the original's final fills: the
      // venue's replacement keeps every fill of the original, those made while the replace was
      // pending included, which the replacement did not have when it was stored.
      store_.applyTransitionAsync(
          report.orig_order_id(), Trigger::ReplaceAck, {},
          [this, id = report.order_id(), venue_id = report.venue_order_id(), done = std::move(done)](
              ChangeResult original, std::exception_ptr error) mutable {
            if (error) {
              done(error);
              return;
            }
            std::optional<TransitionDetails::Fills> fills;
            if (original.outcome != ChangeOutcome::NotFound) {
              fills = TransitionDetails::Fills{original.order.filled_quantity(), original.order.avg_fill_price()};
            }
            ack(id, venue_id, std::move(done), fills);
          });
      return;
    case vv1::EXEC_TYPE_REJECTED: {
      TransitionDetails details;
      details.rejection = {v1::REJECT_REASON_VENUE_REJECTED, report.text()};
      store_.applyTransitionAsync(
          report.order_id(), Trigger::VenueReject, std::move(details),
          [this, settle, done = std::move(done)](ChangeResult r, std::exception_ptr error) mutable {
            if (error) {
              done(error);
              return;
            }
            settle(r);
            if (r.outcome == ChangeOutcome::Applied && rejected_) rejected_("venue_rejected");
            // A refused replacement: its original goes back to working. Also when the replacement
            // was REJECTED already: this is the report again after its second step was lost (a
            // failed batch, an in-doubt COMMIT, a restart between the two transactions). Only while
            // the original still waits for this replacement (a later replace may be pending).
            if (r.order.replaces_order_id().empty() || r.order.status() != v1::ORDER_STATUS_REJECTED ||
                (r.outcome != ChangeOutcome::Applied && r.outcome != ChangeOutcome::Refused)) {
              done(nullptr);
              return;
            }
            store_.applyTransitionAsync(r.order.replaces_order_id(), Trigger::ReplaceReject, replacedBy(r.order.order_id()),
                                        [done = std::move(done)](ChangeResult, std::exception_ptr e) { done(e); });
          });
      return;
    }
    case vv1::EXEC_TYPE_EXPIRED:
      store_.applyTransitionAsync(report.order_id(), Trigger::Expire, {},
                                  [settle, done = std::move(done)](ChangeResult r, std::exception_ptr error) {
                                    if (!error) settle(r);
                                    done(error);
                                  });
      return;
    default:
      logging::warn("venue report of unknown type skipped",
                    {{"exec_seq", static_cast<unsigned long long>(report.exec_seq())},
                     {"exec_type", static_cast<int>(report.exec_type())}});
      done(nullptr);
      return;
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
  // The stored collar, never one computed now: a re-send must be byte-for-byte the first send,
  // or the venue refuses the order id as used for another request.
  if (order.type() == v1::ORDER_TYPE_MARKET) r.set_collar_price(order.collar_price());
  return r;
}

}  // namespace tickstream::order
