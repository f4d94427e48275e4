// The order router's venue side (services/order/src: VenueClient, ExecutionStream,
// CircuitBreaker) against the real exchange-sim binary with --venue-listen: fills on the stream,
// idempotent retries, the breaker under faults, stalls and restarts, and reconciliation.
#include <catch2/catch.hpp>

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "circuit_breaker.h"
#include "execution_stream.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "market.h"
#include "tickstream/testing/child.h"
#include "venue_process.h"
#include "venue_client.h"

namespace venue = tickstream::venue::v1;
namespace ov1 = tickstream::order::v1;
using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using tickstream::order::BreakerState;
using tickstream::order::CircuitBreaker;
using tickstream::order::CircuitBreakerConfig;
using tickstream::order::ExecutionHandler;
using tickstream::order::ExecutionStream;
using tickstream::order::ExecutionStreamConfig;
using tickstream::order::Reconciliation;
using tickstream::order::StreamPosition;
using tickstream::order::VenueClient;
using tickstream::order::VenueClientConfig;
using tickstream::order::VenueOutcome;
using tickstream::order::test::VenueProcess;
using tickstream::order::test::processState;
using tickstream::order::test::symbol;
using tickstream::testing::Child;
using tickstream::testing::waitUntil;
using namespace std::chrono_literals;

namespace {

// A buy far below the market: it rests and never trades.
venue::NewOrderRequest restingBuy(const std::string& order_id) {
  venue::NewOrderRequest r;
  r.set_order_id(order_id);
  r.set_account("acct");
  r.set_symbol(symbol());
  r.set_side(ov1::SIDE_BUY);
  r.set_type(ov1::ORDER_TYPE_LIMIT);
  r.set_time_in_force(ov1::TIME_IN_FORCE_GTC);
  r.set_quantity(100);
  r.set_limit_price(10000);  // $1.00
  return r;
}

venue::NewOrderRequest marketBuy(const std::string& order_id) {
  venue::NewOrderRequest r = restingBuy(order_id);
  r.set_type(ov1::ORDER_TYPE_MARKET);
  r.set_time_in_force(ov1::TIME_IN_FORCE_IOC);
  r.set_limit_price(0);
  return r;
}

// Records what the stream hands over, as the service would store it.
class RecordingHandler : public ExecutionHandler {
 public:
  bool onReport(const std::string& session, const venue::ExecutionReport& report) override {
    std::lock_guard lock(mu_);
    sessions_.push_back(session);
    reports_.push_back(report);
    return true;
  }
  bool onReconcile(const Reconciliation& r) override {
    std::lock_guard lock(mu_);
    reconciliations_.push_back(r);
    return true;
  }

  // The first report for `order_id` whose type is one of `types`.
  std::optional<venue::ExecutionReport> find(const std::string& order_id,
                                             std::vector<venue::ExecType> types) const {
    std::lock_guard lock(mu_);
    for (const auto& r : reports_) {
      if (r.order_id() != order_id) continue;
      for (auto t : types) {
        if (r.exec_type() == t) return r;
      }
    }
    return std::nullopt;
  }
  int count(const std::string& order_id, venue::ExecType type) const {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& r : reports_) n += r.order_id() == order_id && r.exec_type() == type;
    return n;
  }
  std::vector<Reconciliation> reconciliations() const {
    std::lock_guard lock(mu_);
    return reconciliations_;
  }
  // exec_seqs handed over, in order, for one session.
  std::vector<std::uint64_t> seqs(const std::string& session) const {
    std::lock_guard lock(mu_);
    std::vector<std::uint64_t> out;
    for (std::size_t i = 0; i < reports_.size(); ++i) {
      if (sessions_[i] == session) out.push_back(reports_[i].exec_seq());
    }
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> sessions_;
  std::vector<venue::ExecutionReport> reports_;
  std::vector<Reconciliation> reconciliations_;
};

CircuitBreakerConfig breakerConfig(int threshold, std::chrono::milliseconds open) {
  CircuitBreakerConfig c;
  c.failure_threshold = threshold;
  c.open_duration = open;
  return c;
}

VenueClientConfig clientConfig(std::chrono::milliseconds deadline, std::chrono::milliseconds budget) {
  VenueClientConfig c;
  c.call_deadline = deadline;
  c.retry_budget = budget;
  return c;
}

ExecutionStreamConfig streamConfig() {
  ExecutionStreamConfig c;
  c.reconnect_min = 20ms;
  c.reconnect_max = 300ms;
  return c;
}

bool dense(const std::vector<std::uint64_t>& seqs) {
  for (std::size_t i = 1; i < seqs.size(); ++i) {
    if (seqs[i] != seqs[i - 1] + 1) return false;
  }
  return true;
}

// Every state change of a breaker, for the tests to assert on.
struct Transitions {
  std::mutex mu;
  std::vector<std::pair<BreakerState, BreakerState>> seen;
  CircuitBreaker::Listener listener() {
    return [this](BreakerState from, BreakerState to) {
      std::lock_guard lock(mu);
      seen.emplace_back(from, to);
    };
  }
  bool saw(BreakerState from, BreakerState to) {
    std::lock_guard lock(mu);
    for (const auto& [f, t] : seen) {
      if (f == from && t == to) return true;
    }
    return false;
  }
};

} // namespace

TEST_CASE("a routed marketable order is acknowledged and its fill arrives on the execution stream") {
  VenueProcess sim("F1", 0);
  const auto cfg = clientConfig(2s, 5s);
  auto channel = tickstream::order::makeVenueChannel(sim.address(), cfg);
  CircuitBreaker breaker(breakerConfig(5, 1s));
  VenueClient client(channel, cfg, breaker);
  RecordingHandler handler;
  ExecutionStream stream(channel, streamConfig(), handler, StreamPosition{});
  stream.start();

  // A fresh service has no position: it starts from what the venue holds now.
  REQUIRE(waitUntil([&] { return !handler.reconciliations().empty(); }, 10s));
  CHECK(handler.reconciliations()[0].reason == Reconciliation::Reason::FirstConnect);
  CHECK(handler.reconciliations()[0].session == "F1");

  // The book may be empty just after the open: send market IOC orders until one fills.
  int sent = 0;
  std::optional<venue::ExecutionReport> fill;
  const bool filled = waitUntil(
      [&] {
        const std::string id = "fill-" + std::to_string(++sent);
        auto result = client.newOrder(marketBuy(id));
        REQUIRE(result.outcome == VenueOutcome::Answered);
        REQUIRE(result.response.report().exec_type() == venue::EXEC_TYPE_NEW);
        CHECK(result.venue_session == "F1");
        // Every market order ends in a fill or a cancel on the stream.
        std::optional<venue::ExecutionReport> end;
        REQUIRE(waitUntil(
            [&] {
              end = handler.find(id, {venue::EXEC_TYPE_FILL, venue::EXEC_TYPE_PARTIAL_FILL,
                                      venue::EXEC_TYPE_CANCELED});
              return end.has_value();
            },
            10s));
        if (end->exec_type() == venue::EXEC_TYPE_CANCELED) return false;
        fill = end;
        return true;
      },
      20s, 50ms);
  INFO("orders sent: " << sent);
  REQUIRE(filled);
  CHECK(fill->last_quantity() > 0);
  CHECK(fill->last_price() > 0);
  CHECK(fill->venue_execution_id().rfind("F1-E", 0) == 0);
  CHECK(breaker.state() == BreakerState::Closed);
  // The resume point follows what the handler applied, without gaps.
  REQUIRE(waitUntil([&] { return stream.position().last_applied >= fill->exec_seq(); }, 5s));
  CHECK(stream.position().session == "F1");
  CHECK(dense(handler.seqs("F1")));
  stream.stop();
}

TEST_CASE("NewOrder retried after its deadline passed enters the order at the venue once") {
  // Every call waits 400 ms at the venue and is then served, after the caller gave up: each
  // attempt reaches the venue, and only the order id keeps them from being separate orders.
  VenueProcess sim("D1", 0, {"--venue-fault", "stall", "--venue-stall-ms", "400"});
  const auto impatient = clientConfig(150ms, 1000ms);
  auto channel = tickstream::order::makeVenueChannel(sim.address(), impatient);
  CircuitBreaker breaker(breakerConfig(100, 1s));  // this test is about retries, not the breaker
  VenueClient client(channel, impatient, breaker);

  const auto request = restingBuy("retry-1");
  auto first = client.newOrder(request);
  CHECK(first.outcome == VenueOutcome::Unknown);  // sent, never answered in time
  CHECK(first.status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  CHECK(first.attempts >= 2);

  // The same request again, patient enough for the stall: the venue's first answer.
  const auto patient = clientConfig(2s, 3s);
  VenueClient again(channel, patient, breaker);
  auto second = again.newOrder(request);
  REQUIRE(second.outcome == VenueOutcome::Answered);
  CHECK(second.response.report().exec_type() == venue::EXEC_TYPE_NEW);
  CHECK(second.response.report().exec_seq() == 1);  // the first attempt's report
  CHECK(second.response.venue_order_id() == "D1-O1");

  // Every attempt has been served by now (each waited 400 ms from its start, the last one
  // before `second` began): one open order, one report.
  auto stub = venue::Venue::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  venue::ListOpenOrdersResponse open;
  REQUIRE(stub->ListOpenOrders(&ctx, {}, &open).ok());
  REQUIRE(open.orders_size() == 1);
  CHECK(open.orders(0).order_id() == "retry-1");
  CHECK(open.last_exec_seq() == 1);

  // A cancel is not keyed: once written it is never sent again, the outcome stays unknown.
  venue::CancelOrderRequest cancel;
  cancel.set_order_id("retry-1");
  cancel.set_venue_order_id("D1-O1");
  auto canceled = client.cancelOrder(cancel);
  CHECK(canceled.outcome == VenueOutcome::Unknown);
  CHECK(canceled.status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  CHECK(canceled.attempts == 1);
}

TEST_CASE("a request that never finds a connection is NotSent, and a cancel is retried meanwhile") {
  // A port nothing listens on: bind one, note it, close it.
  int port = 0;
  {
    VenueProcess gone("N1", 0);
    port = gone.port();
    gone.child().signal(SIGKILL);
    REQUIRE(gone.child().waitExit(10s));
  }
  const auto cfg = clientConfig(100ms, 600ms);
  auto channel = tickstream::order::makeVenueChannel("127.0.0.1:" + std::to_string(port), cfg);
  CircuitBreaker breaker(breakerConfig(100, 1s));
  VenueClient client(channel, cfg, breaker);

  auto order = client.newOrder(restingBuy("n-1"));
  CHECK(order.outcome == VenueOutcome::NotSent);  // safe to mark venue_reject
  CHECK(order.status.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(order.attempts >= 2);
  venue::CancelOrderRequest cancel;
  cancel.set_order_id("n-1");
  auto canceled = client.cancelOrder(cancel);
  CHECK(canceled.outcome == VenueOutcome::NotSent);
  CHECK(canceled.attempts >= 2);
}

TEST_CASE("replace and cancel reach the venue, and its refusals do not count against the breaker") {
  VenueProcess sim("C1", 0);
  const auto cfg = clientConfig(1s, 3s);
  auto channel = tickstream::order::makeVenueChannel(sim.address(), cfg);
  // One failure would open it: every refusal below must count as the venue being healthy.
  CircuitBreaker breaker(breakerConfig(1, 10s));
  VenueClient client(channel, cfg, breaker);

  auto placed = client.newOrder(restingBuy("c-1"));
  REQUIRE(placed.outcome == VenueOutcome::Answered);
  venue::ReplaceOrderRequest replace;
  replace.set_orig_order_id("c-1");
  replace.set_venue_order_id(placed.response.venue_order_id());
  replace.set_order_id("c-2");
  replace.set_quantity(200);
  replace.set_limit_price(10100);
  auto replaced = client.replaceOrder(replace);
  REQUIRE(replaced.outcome == VenueOutcome::Answered);
  CHECK(replaced.response.report().exec_type() == venue::EXEC_TYPE_REPLACED);
  CHECK(replaced.response.report().orig_order_id() == "c-1");
  // Sent again (a retry after a lost answer): the first answer, nothing replaced twice.
  auto again = client.replaceOrder(replace);
  REQUIRE(again.outcome == VenueOutcome::Answered);
  CHECK(again.response.report().exec_seq() == replaced.response.report().exec_seq());

  venue::CancelOrderRequest cancel;
  cancel.set_order_id("c-2");
  cancel.set_venue_order_id(replaced.response.venue_order_id());
  auto canceled = client.cancelOrder(cancel);
  REQUIRE(canceled.outcome == VenueOutcome::Answered);
  CHECK(canceled.response.report().exec_type() == venue::EXEC_TYPE_CANCELED);

  auto too_late = client.cancelOrder(cancel);  // → cancel_reject
  CHECK(too_late.outcome == VenueOutcome::Refused);
  CHECK(too_late.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  venue::CancelOrderRequest unknown;
  unknown.set_order_id("nobody");
  unknown.set_venue_order_id("C1-O999");
  auto missing = client.cancelOrder(unknown);
  CHECK(missing.outcome == VenueOutcome::Refused);
  CHECK(missing.status.error_code() == grpc::StatusCode::NOT_FOUND);
  auto conflict = client.newOrder(marketBuy("c-1"));  // c-1's id with another payload
  CHECK(conflict.outcome == VenueOutcome::Refused);
  CHECK(conflict.status.error_code() == grpc::StatusCode::ALREADY_EXISTS);
  CHECK(breaker.state() == BreakerState::Closed);
}

TEST_CASE("a report the service could not apply is delivered again before any later one") {
  VenueProcess sim("A1", 0);
  const auto cfg = clientConfig(1s, 3s);
  auto channel = tickstream::order::makeVenueChannel(sim.address(), cfg);
  CircuitBreaker breaker(breakerConfig(5, 1s));
  VenueClient client(channel, cfg, breaker);
  for (const char* id : {"a-1", "a-2"}) {
    REQUIRE(client.newOrder(restingBuy(id)).outcome == VenueOutcome::Answered);
  }

  // The database is "away" for the first attempt at exec_seq 2.
  struct Flaky : RecordingHandler {
    bool failed = false;
    std::vector<std::uint64_t> offered;
    bool onReport(const std::string& session, const venue::ExecutionReport& report) override {
      offered.push_back(report.exec_seq());
      if (report.exec_seq() == 2 && !failed) {
        failed = true;
        return false;
      }
      return RecordingHandler::onReport(session, report);
    }
  } handler;
  ExecutionStream stream(channel, streamConfig(), handler, StreamPosition{"A1", 0});
  stream.start();
  REQUIRE(waitUntil([&] { return stream.position().last_applied == 2; }, 10s));
  stream.stop();
  CHECK(handler.offered == std::vector<std::uint64_t>{1, 2, 2});
  CHECK(handler.seqs("A1") == std::vector<std::uint64_t>{1, 2});
  CHECK(stream.reconnects() == 1);
  CHECK(handler.reconciliations().empty());  // a known position in the same session
}

TEST_CASE("an unavailable venue opens the breaker, calls fail fast, and a half-open probe closes "
          "it once the venue is back") {
  auto sim = std::make_unique<VenueProcess>("U1", 0, std::vector<std::string>{"--venue-fault", "unavailable"});
  const int port = sim->port();
  const auto cfg = clientConfig(300ms, 1000ms);
  auto channel = tickstream::order::makeVenueChannel(sim->address(), cfg);
  Transitions transitions;
  CircuitBreaker breaker(breakerConfig(3, 500ms), CircuitBreaker::defaultClock(),
                         transitions.listener());
  VenueClient client(channel, cfg, breaker);

  // The venue itself answers UNAVAILABLE: provably not taken, retried until the breaker opens.
  auto refused = client.newOrder(restingBuy("u-1"));
  CHECK(refused.outcome == VenueOutcome::NotSent);
  CHECK(refused.attempts == 3);
  CHECK(refused.circuit_open);
  CHECK(refused.status.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(breaker.state() == BreakerState::Open);

  // While open: no call at all.
  const auto before = std::chrono::steady_clock::now();
  auto fast = client.cancelOrder([] {
    venue::CancelOrderRequest c;
    c.set_order_id("u-1");
    return c;
  }());
  CHECK(std::chrono::steady_clock::now() - before < 50ms);
  CHECK(fast.outcome == VenueOutcome::NotSent);
  CHECK(fast.circuit_open);
  CHECK(fast.attempts == 0);

  // The venue comes back on the same address without the fault.
  sim->child().signal(SIGKILL);
  REQUIRE(sim->child().waitExit(10s));
  sim = std::make_unique<VenueProcess>("U2", port);

  std::optional<tickstream::order::VenueResult<venue::NewOrderResponse>> answer;
  REQUIRE(waitUntil(
      [&] {
        auto r = client.newOrder(restingBuy("u-2"));
        if (r.outcome != VenueOutcome::Answered) return false;
        answer = std::move(r);
        return true;
      },
      15s, 100ms));
  CHECK(answer->response.report().exec_type() == venue::EXEC_TYPE_NEW);
  CHECK(breaker.state() == BreakerState::Closed);
  CHECK(transitions.saw(BreakerState::Closed, BreakerState::Open));
  CHECK(transitions.saw(BreakerState::Open, BreakerState::HalfOpen));
  CHECK(transitions.saw(BreakerState::HalfOpen, BreakerState::Closed));
}

TEST_CASE("a venue restart is detected on the stream and reconciled, and the stream follows the "
          "new session") {
  auto sim = std::make_unique<VenueProcess>("R1", 0);
  const int port = sim->port();
  const auto cfg = clientConfig(1s, 3s);
  auto channel = tickstream::order::makeVenueChannel(sim->address(), cfg);
  CircuitBreaker breaker(breakerConfig(5, 500ms));
  VenueClient client(channel, cfg, breaker);
  RecordingHandler handler;
  ExecutionStream stream(channel, streamConfig(), handler, StreamPosition{});
  stream.start();
  // Orders sent before the first reconciliation would be in its list, not on the stream.
  REQUIRE(waitUntil([&] { return !handler.reconciliations().empty(); }, 10s));

  REQUIRE(client.newOrder(restingBuy("r-1")).outcome == VenueOutcome::Answered);
  REQUIRE(waitUntil([&] { return handler.find("r-1", {venue::EXEC_TYPE_NEW}).has_value(); }, 10s));
  REQUIRE(stream.live());

  sim->child().signal(SIGKILL);
  REQUIRE(sim->child().waitExit(10s));
  sim = std::make_unique<VenueProcess>("R2", port);

  REQUIRE(waitUntil(
      [&] {
        for (const auto& r : handler.reconciliations()) {
          if (r.reason == Reconciliation::Reason::SessionChanged) return true;
        }
        return false;
      },
      15s));
  const auto recs = handler.reconciliations();
  const auto& rec = recs.back();
  CHECK(rec.previous_session == "R1");
  CHECK(rec.previous_last_applied >= 1);
  CHECK(rec.session == "R2");
  CHECK(rec.open.orders_size() == 0);  // r-1 went with the old session: the service settles it
  REQUIRE(waitUntil([&] { return stream.live(); }, 10s));

  // The stream follows the new session from the reconciled point.
  REQUIRE(waitUntil([&] { return client.newOrder(restingBuy("r-2")).outcome == VenueOutcome::Answered; },
                    10s, 100ms));
  std::optional<venue::ExecutionReport> ack;
  REQUIRE(waitUntil(
      [&] {
        ack = handler.find("r-2", {venue::EXEC_TYPE_NEW});
        return ack.has_value();
      },
      10s));
  CHECK(ack->venue_execution_id().rfind("R2-E", 0) == 0);
  CHECK(stream.position().session == "R2");
  CHECK(dense(handler.seqs("R2")));
  stream.stop();
}

// The new session takes an order before the stream has found it (the service's router re-sends
// orders as soon as the venue answers, while the stream is still in its backoff). A market IOC
// ends at once, so the list lacks it; the stream must still bring its reports, which lie before
// the list's last_exec_seq: a new session is replayed from its first report before the repair
// (ExecutionStream::replaySession).
TEST_CASE("after a venue restart the stream brings the reports of orders the new session took before its list") {
  auto sim = std::make_unique<VenueProcess>("Q1", 0);
  const int port = sim->port();
  const auto cfg = clientConfig(1s, 3s);
  auto channel = tickstream::order::makeVenueChannel(sim->address(), cfg);
  CircuitBreaker breaker(breakerConfig(100, 100ms));
  VenueClient client(tickstream::order::makeVenueChannel(sim->address(), cfg), cfg, breaker);
  RecordingHandler handler;
  auto slow = streamConfig();
  slow.reconnect_min = 5s;  // the stream stays away from the new session while the order goes in
  slow.reconnect_max = 5s;
  slow.reconnect_jitter = 0;
  ExecutionStream stream(channel, slow, handler, StreamPosition{});
  stream.start();
  REQUIRE(waitUntil([&] { return !handler.reconciliations().empty(); }, 10s));
  REQUIRE(client.newOrder(restingBuy("q-1")).outcome == VenueOutcome::Answered);
  REQUIRE(waitUntil([&] { return handler.find("q-1", {venue::EXEC_TYPE_NEW}).has_value(); }, 10s));

  sim->child().signal(SIGKILL);
  REQUIRE(sim->child().waitExit(10s));
  sim = std::make_unique<VenueProcess>("Q2", port);
  REQUIRE(waitUntil([&] { return client.newOrder(marketBuy("q-2")).outcome == VenueOutcome::Answered; }, 4s, 50ms));
  const auto before = handler.reconciliations();
  REQUIRE(before.back().reason == Reconciliation::Reason::FirstConnect);  // the stream has not found Q2 yet

  std::optional<venue::ExecutionReport> ack, end;
  REQUIRE(waitUntil(
      [&] {
        ack = handler.find("q-2", {venue::EXEC_TYPE_NEW});
        end = handler.find("q-2", {venue::EXEC_TYPE_FILL, venue::EXEC_TYPE_CANCELED});
        return ack.has_value() && end.has_value();
      },
      15s));
  const auto rec = handler.reconciliations().back();
  CHECK(rec.reason == Reconciliation::Reason::SessionChanged);
  CHECK(rec.open.last_exec_seq() >= end->exec_seq());  // both lie before the list's point
  CHECK(ack->venue_execution_id().rfind("Q2-E", 0) == 0);
  CHECK(stream.position().session == "Q2");
  const auto seqs = handler.seqs("Q2");
  REQUIRE_FALSE(seqs.empty());
  CHECK(seqs.front() == 1);
  CHECK(dense(seqs));
  stream.stop();
}

// A handler whose ackedBeforeList waits, as VenueSync's does for reports it cannot apply while
// the database is away, until interrupted (or 10 s pass).
class BlockingHandler : public ExecutionHandler {
 public:
  bool onReport(const std::string&, const venue::ExecutionReport&) override { return false; }
  bool onReconcile(const Reconciliation&) override { return false; }
  std::unordered_map<std::string, std::string> ackedBeforeList() override {
    std::unique_lock lock(mu);
    entered = true;
    cv.notify_all();
    cv.wait_for(lock, 10s, [&] { return interrupted; });
    throw std::runtime_error("stopping");
  }
  void interrupt() override {
    std::lock_guard lock(mu);
    interrupted = true;
    cv.notify_all();
  }
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false;
  bool interrupted = false;
};

TEST_CASE("stopping the stream ends a reconciliation that waits on its handler") {
  auto channel = grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials());
  BlockingHandler handler;
  ExecutionStream stream(channel, streamConfig(), handler, StreamPosition{});
  stream.start();  // no position: it reconciles first, and the handler's question waits
  {
    std::unique_lock lock(handler.mu);
    REQUIRE(handler.cv.wait_for(lock, 5s, [&] { return handler.entered; }));
  }
  const auto t0 = std::chrono::steady_clock::now();
  stream.stop();
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
}

TEST_CASE("a resume point the venue no longer holds leads to reconciliation with its open orders") {
  // The venue keeps only 2 reports: resuming from the first is OUT_OF_RANGE.
  VenueProcess sim("H1", 0, {"--venue-history", "2"});
  const auto cfg = clientConfig(1s, 3s);
  auto channel = tickstream::order::makeVenueChannel(sim.address(), cfg);
  CircuitBreaker breaker(breakerConfig(5, 500ms));
  VenueClient client(channel, cfg, breaker);
  for (const char* id : {"h-1", "h-2", "h-3"}) {
    REQUIRE(client.newOrder(restingBuy(id)).outcome == VenueOutcome::Answered);
  }

  RecordingHandler handler;
  ExecutionStream stream(channel, streamConfig(), handler, StreamPosition{"H1", 0});
  stream.start();
  REQUIRE(waitUntil([&] { return !handler.reconciliations().empty(); }, 10s));
  const auto rec = handler.reconciliations().front();
  CHECK(rec.reason == Reconciliation::Reason::OutOfRange);
  CHECK(rec.session == "H1");
  REQUIRE(rec.open.orders_size() == 3);
  CHECK(rec.open.orders(0).order_id() == "h-1");
  CHECK(rec.open.last_exec_seq() == 3);

  // From there on the stream continues at last_exec_seq + 1.
  REQUIRE(client.newOrder(restingBuy("h-4")).outcome == VenueOutcome::Answered);
  REQUIRE(waitUntil([&] { return handler.find("h-4", {venue::EXEC_TYPE_NEW}).has_value(); }, 10s));
  CHECK(handler.seqs("H1") == std::vector<std::uint64_t>{4});
  stream.stop();
}

TEST_CASE("a stalled venue (SIGSTOP) trips deadlines and the breaker, and after SIGCONT it closes and "
          "the stream carries on") {
  VenueProcess sim("S1", 0);
  const auto cfg = clientConfig(200ms, 700ms);
  auto channel = tickstream::order::makeVenueChannel(sim.address(), cfg);
  Transitions transitions;
  CircuitBreaker breaker(breakerConfig(3, 300ms), CircuitBreaker::defaultClock(),
                         transitions.listener());
  VenueClient client(channel, cfg, breaker);
  RecordingHandler handler;
  ExecutionStream stream(channel, streamConfig(), handler, StreamPosition{});
  stream.start();
  REQUIRE(waitUntil([&] { return !handler.reconciliations().empty(); }, 10s));
  REQUIRE(client.newOrder(restingBuy("s-1")).outcome == VenueOutcome::Answered);
  REQUIRE(waitUntil([&] { return handler.find("s-1", {venue::EXEC_TYPE_NEW}).has_value(); }, 10s));

  sim.child().signal(SIGSTOP);
  // kill() returns before every thread of the venue has stopped; a request sent meanwhile
  // could still be answered.
  REQUIRE(waitUntil([&] { return processState(sim.child().pid()) == 'T'; }, 10s));
  auto stalled = client.newOrder(restingBuy("s-2"));
  CHECK(stalled.outcome == VenueOutcome::Unknown);  // written to a connection nobody reads
  CHECK(stalled.status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  REQUIRE(waitUntil(
      [&] {
        if (breaker.state() == BreakerState::Open) return true;
        client.newOrder(restingBuy("s-2"));
        return breaker.state() == BreakerState::Open;
      },
      10s));
  // While open, a call is not even attempted. (The service knows s-2 may be at the venue from
  // the earlier Unknown; this call by itself sent nothing.)
  auto fast = client.newOrder(restingBuy("s-2"));
  CHECK(fast.circuit_open);
  CHECK(fast.attempts == 0);
  CHECK(fast.outcome == VenueOutcome::NotSent);

  sim.child().signal(SIGCONT);
  // The same order id again, once the venue answers: one order, the first attempt's.
  std::optional<tickstream::order::VenueResult<venue::NewOrderResponse>> answer;
  REQUIRE(waitUntil(
      [&] {
        auto r = client.newOrder(restingBuy("s-2"));
        if (r.outcome != VenueOutcome::Answered) return false;
        answer = std::move(r);
        return true;
      },
      15s, 50ms));
  CHECK(breaker.state() == BreakerState::Closed);
  CHECK(transitions.saw(BreakerState::HalfOpen, BreakerState::Closed));
  // The stream was only paused: the reports come in order on the same session, no reconcile.
  REQUIRE(waitUntil([&] { return handler.find("s-2", {venue::EXEC_TYPE_NEW}).has_value(); }, 10s));
  CHECK(handler.count("s-2", venue::EXEC_TYPE_NEW) == 1);
  CHECK(handler.find("s-2", {venue::EXEC_TYPE_NEW})->exec_seq() ==
        answer->response.report().exec_seq());
  CHECK(handler.reconciliations().size() == 1);  // the first connect only
  CHECK(dense(handler.seqs("S1")));
  stream.stop();
}

TEST_CASE("keepalive notices a venue that stops answering without closing its connection, and the "
          "stream resumes in the same session") {
  VenueProcess sim("S1", 0);
  auto cfg = clientConfig(200ms, 700ms);
  cfg.keepalive_time = 1000ms;
  // Not shorter: a venue thread held up for a moment on a loaded machine must not count as gone.
  cfg.keepalive_timeout = 3000ms;
  auto channel = tickstream::order::makeVenueChannel(sim.address(), cfg);
  CircuitBreaker breaker(breakerConfig(3, 300ms), CircuitBreaker::defaultClock());
  VenueClient client(channel, cfg, breaker);
  RecordingHandler handler;
  ExecutionStream stream(channel, streamConfig(), handler, StreamPosition{});
  stream.start();
  REQUIRE(waitUntil([&] { return stream.live(); }, 10s));
  // A quiet stream for several keepalive periods: the venue answers the pings, nothing breaks.
  // (A server with gRPC's default ping policy, one ping per 5 minutes, counts each later ping
  // as a strike and sends GOAWAY after the third, ~4 s in here: the stream would reconnect.)
  std::this_thread::sleep_for(6s);
  CHECK(stream.live());
  CHECK(stream.reconnects() == 0);

  // SIGSTOP keeps the TCP connection open (the kernel still acknowledges), so only an unanswered
  // HTTP/2 ping can tell the stream its venue is gone.
  sim.child().signal(SIGSTOP);
  REQUIRE(waitUntil([&] { return processState(sim.child().pid()) == 'T'; }, 10s));
  const auto stopped_at = std::chrono::steady_clock::now();
  REQUIRE(waitUntil([&] { return !stream.live(); }, 15s));
  // keepalive_time + keepalive_timeout, plus scheduling slack; TCP alone takes many minutes.
  CHECK(std::chrono::steady_clock::now() - stopped_at < 8s);

  sim.child().signal(SIGCONT);
  REQUIRE(waitUntil([&] { return stream.live(); }, 30s));
  CHECK(stream.reconnects() >= 1);
  REQUIRE(waitUntil([&] { return client.newOrder(restingBuy("k-1")).outcome == VenueOutcome::Answered; },
                    15s, 50ms));
  REQUIRE(waitUntil([&] { return handler.find("k-1", {venue::EXEC_TYPE_NEW}).has_value(); }, 10s));
  CHECK(handler.reconciliations().size() == 1);  // the first connect only: same session resumed
  CHECK(dense(handler.seqs("S1")));
  stream.stop();
}
