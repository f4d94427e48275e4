#include "execution_stream.h"

#include <optional>
#include <stdexcept>

#include "tickstream/pg/backoff.h"
#include "tickstream/runtime/logging.h"
#include "venue_client.h"

namespace tickstream::order {

void ExecutionStreamConfig::validate() const {
  auto fail = [](const std::string& m) {
    throw std::invalid_argument("ExecutionStreamConfig." + m);
  };
  if (reconnect_min.count() < 1) fail("reconnect_min must be >= 1 ms");
  if (reconnect_max < reconnect_min) fail("reconnect_max must be >= reconnect_min");
  if (!(reconnect_jitter >= 0.0 && reconnect_jitter <= 1.0)) {
    fail("reconnect_jitter must be in [0, 1]");
  }
  if (list_deadline.count() < 1) fail("list_deadline must be >= 1 ms");
}

const char* reconciliationReasonName(Reconciliation::Reason reason) noexcept {
  switch (reason) {
    case Reconciliation::Reason::FirstConnect: return "first_connect";
    case Reconciliation::Reason::SessionChanged: return "session_changed";
    case Reconciliation::Reason::OutOfRange: return "out_of_range";
  }
  return "invalid";
}

ExecutionStream::ExecutionStream(std::shared_ptr<grpc::Channel> channel,
                                 ExecutionStreamConfig config, ExecutionHandler& handler,
                                 StreamPosition start_from)
    : stub_(venue::Venue::NewStub(std::move(channel))),
      config_(config),
      handler_(handler),
      position_(std::move(start_from)) {
  config_.validate();
}

ExecutionStream::~ExecutionStream() { stop(); }

void ExecutionStream::start() {
  if (thread_.joinable()) throw std::logic_error("ExecutionStream::start called twice");
  thread_ = std::thread([this] { run(); });
}

void ExecutionStream::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (active_ != nullptr) active_->TryCancel();
  }
  cv_.notify_all();
  handler_.interrupt();
  if (thread_.joinable()) thread_.join();
}

StreamPosition ExecutionStream::position() const {
  std::lock_guard lock(mu_);
  return position_;
}

bool ExecutionStream::stopping() const {
  std::lock_guard lock(mu_);
  return stopping_;
}

bool ExecutionStream::attach(grpc::ClientContext* ctx) {
  std::lock_guard lock(mu_);
  if (stopping_) return false;
  active_ = ctx;
  return true;
}

void ExecutionStream::detach() {
  std::lock_guard lock(mu_);
  active_ = nullptr;
}

bool ExecutionStream::pauseFor(std::chrono::milliseconds pause) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, pause, [this] { return stopping_; });
}

void ExecutionStream::run() {
  pg::Backoff backoff(config_.reconnect_min, config_.reconnect_max, config_.reconnect_jitter);
  std::optional<Reconciliation::Reason> pending;
  if (position().session.empty()) pending = Reconciliation::Reason::FirstConnect;
  for (;;) {
    if (pending) {
      if (reconcile(*pending)) {
        pending.reset();
        backoff.reset();
      } else if (!pauseFor(backoff.next())) {
        return;
      }
      continue;
    }
    Reconciliation::Reason reason{};
    bool went_live = false;
    if (follow(reason, went_live) == Next::Reconcile) {
      pending = reason;
      continue;
    }
    if (stopping()) return;  // the stream ended because we cancelled it
    ++reconnects_;
    // A stream that worked for a while starts the curve again; one that never came up climbs it.
    if (went_live) backoff.reset();
    if (!pauseFor(backoff.next())) return;
  }
}

ExecutionStream::Next ExecutionStream::follow(Reconciliation::Reason& reason, bool& went_live) {
  grpc::ClientContext ctx;
  // Wait for a connection rather than fail at once: a failed call does not drive gRPC's
  // reconnect, so failing fast in a loop would see the venue back only when gRPC's 5 s backup
  // poller notices. stop() cancels the wait.
  ctx.set_wait_for_ready(true);
  if (!attach(&ctx)) return Next::Reconnect;  // stopping: run() returns at its next pause
  const StreamPosition from = position();
  venue::StreamExecutionsRequest request;
  request.set_from_execution_seq(from.last_applied + 1);
  auto reader = stub_->StreamExecutions(&ctx, request);
  // The venue sends its header before any report: check the session before applying anything,
  // since a restarted venue's exec_seq N is a different report than the old session's N.
  reader->WaitForInitialMetadata();
  const std::string session = venueSessionOf(ctx);
  Next next = Next::Reconnect;
  venue::ExecutionReport report;
  if (!session.empty() && session != from.session) {
    logging::warn("venue session changed", {{"previous", from.session}, {"session", session}});
    reason = Reconciliation::Reason::SessionChanged;
    next = Next::Reconcile;
    ctx.TryCancel();
  } else if (!session.empty()) {
    live_ = true;
    went_live = true;
    std::uint64_t last = from.last_applied;
    while (reader->Read(&report)) {
      if (report.exec_seq() <= last) continue;  // applied before; the stream never repeats, but harmless
      if (report.exec_seq() != last + 1) {
        // exec_seq is dense: a jump means reports we will never see on this stream.
        logging::warn("venue execution stream skipped reports",
                      {{"expected", last + 1}, {"got", report.exec_seq()}});
        reason = Reconciliation::Reason::OutOfRange;
        next = Next::Reconcile;
        ctx.TryCancel();
        break;
      }
      if (!handler_.onReport(session, report)) {
        ctx.TryCancel();  // not applied: resume from this report after a pause
        break;
      }
      last = report.exec_seq();
      std::lock_guard lock(mu_);
      position_.last_applied = last;
    }
    live_ = false;
  }
  while (reader->Read(&report)) {
    // drain what was in flight when we cancelled; Finish() needs the stream read to its end
  }
  const grpc::Status status = reader->Finish();
  detach();
  if (next == Next::Reconnect && status.error_code() == grpc::StatusCode::OUT_OF_RANGE) {
    logging::warn("venue no longer holds the resume point",
                  {{"session", from.session}, {"from", from.last_applied + 1}});
    reason = Reconciliation::Reason::OutOfRange;
    next = Next::Reconcile;
  } else if (next == Next::Reconnect && !stopping()) {
    logging::warn("venue execution stream ended",
                  {{"code", static_cast<int>(status.error_code())},
                   {"error", status.error_message()}});
  }
  return next;
}

ExecutionStream::Replay ExecutionStream::replaySession(const Reconciliation& r) {
  // Why first: the router keeps sending orders while the stream finds the new session, and
  // applies the replies. An order the new session took and ended before its list (an IOC filled
  // at once) is in neither the list nor a stream that starts after it; its ack alone made the
  // repair cancel it as one the old session lost, and refuse its fill. With the session's reports
  // up to the list applied, every order it took is as the venue had it then, and an order still
  // working that the list lacks is one the old session lost.
  const std::uint64_t until = r.open.last_exec_seq();
  if (until == 0) return Replay::Done;
  grpc::ClientContext ctx;
  ctx.set_wait_for_ready(true);
  if (!attach(&ctx)) return Replay::Failed;
  venue::StreamExecutionsRequest request;
  request.set_from_execution_seq(1);
  auto reader = stub_->StreamExecutions(&ctx, request);
  reader->WaitForInitialMetadata();
  bool ok = venueSessionOf(ctx) == r.session;  // else it restarted again: a new list is due
  bool unavailable = false;
  std::uint64_t last = 0;
  venue::ExecutionReport report;
  while (ok && last < until && reader->Read(&report)) {
    if (report.exec_seq() != last + 1) {
      unavailable = last == 0;  // the session's history no longer starts at its first report
      ok = false;
      break;
    }
    if (!handler_.onReport(r.session, report)) {
      ok = false;
      break;
    }
    last = report.exec_seq();
  }
  ctx.TryCancel();
  while (reader->Read(&report)) {
  }
  const grpc::Status status = reader->Finish();
  detach();
  if (stopping()) return Replay::Failed;
  const bool same_session = venueSessionOf(ctx) == r.session;  // else a new list is due first
  if (same_session && (unavailable || status.error_code() == grpc::StatusCode::OUT_OF_RANGE)) {
    return Replay::Unavailable;
  }
  if (!ok || last < until) {
    logging::warn("venue session replay before reconciliation failed",
                  {{"session", r.session}, {"replayed", last}, {"until", until},
                   {"error", status.error_message()}});
    return Replay::Failed;
  }
  return Replay::Done;
}

bool ExecutionStream::reconcile(Reconciliation::Reason reason) {
  Reconciliation r;
  try {
    r.acked_before_list = handler_.ackedBeforeList();
  } catch (const std::exception& e) {
    logging::warn("venue reconciliation failed: our acknowledged orders", {{"error", e.what()}});
    return false;  // the database is away: redone after a pause, as a failed onReconcile
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + config_.list_deadline);
  ctx.set_wait_for_ready(true);  // as in follow()
  if (!attach(&ctx)) return false;
  const grpc::Status status = stub_->ListOpenOrders(&ctx, venue::ListOpenOrdersRequest{}, &r.open);
  detach();
  r.session = venueSessionOf(ctx);
  if (!status.ok() || r.session.empty()) {
    logging::warn("venue reconciliation failed", {{"code", static_cast<int>(status.error_code())},
                                                  {"error", status.error_message()}});
    return false;
  }
  const StreamPosition from = position();
  r.previous_session = from.session;
  r.previous_last_applied = from.last_applied;
  // The venue may have restarted since the stream told us it no longer holds our point.
  r.reason = from.session.empty()      ? Reconciliation::Reason::FirstConnect
             : r.session != from.session ? Reconciliation::Reason::SessionChanged
                                         : reason;
  if (r.reason == Reconciliation::Reason::SessionChanged) {
    const Replay replay = replaySession(r);
    if (replay == Replay::Failed) return false;  // redone after a pause, list and all
    if (replay == Replay::Unavailable) {
      r.replay_missing = true;
      logging::warn("venue no longer holds the new session's first reports; reconciling without them",
                    {{"session", r.session}});
    }
  }
  if (!handler_.onReconcile(r)) return false;
  {
    std::lock_guard lock(mu_);
    position_ = {r.session, r.open.last_exec_seq()};
  }
  ++reconciliations_;
  logging::info("venue reconciled", {{"reason", reconciliationReasonName(r.reason)},
                                     {"session", r.session},
                                     {"open_orders", r.open.orders_size()},
                                     {"last_exec_seq", r.open.last_exec_seq()}});
  return true;
}

}  // namespace tickstream::order
