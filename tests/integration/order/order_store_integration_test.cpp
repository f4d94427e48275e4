// OrderStore against a real PostgreSQL 15 (the `postgres` fixture): what a submit, a lifecycle
// event and a fill leave in the tables, and what they refuse. Each case has its own schema.

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "order_store_support.h"
#include "circuit_breaker.h"
#include "order_router.h"
#include "report_applier.h"
#include "venue_client.h"
#include "venue_sync.h"
#include <grpcpp/create_channel.h>
#include <grpcpp/server_builder.h>
#include "tickstream/venue/v1/venue.grpc.pb.h"
#include "risk_check.h"

using namespace tickstream::order;
using namespace tickstream::order::test;
using namespace std::chrono_literals;
namespace vv1 = tickstream::venue::v1;

namespace {

// The payloads in the outbox for one topic, in the order the relay would publish them.
std::vector<std::string> outboxPayloads(const std::string& url, const std::string& topic) {
  std::vector<std::string> payloads;
  for (auto& r : outboxRecords(url)) {
    if (r.topic == topic) payloads.push_back(std::move(r.payload));
  }
  return payloads;
}

std::vector<v1::OrderEvent> outboxEvents(const std::string& url) {
  std::vector<v1::OrderEvent> events;
  for (const auto& payload : outboxPayloads(url, "orders.events")) {
    v1::OrderEvent e;
    REQUIRE(e.ParseFromString(payload));
    events.push_back(e);
  }
  return events;
}

// How many records the outbox holds (for `key` only, when given).
std::size_t outboxRecordCount(const std::string& url, const std::string& key = {}) {
  const auto records = outboxRecords(url);
  return static_cast<std::size_t>(
      std::count_if(records.begin(), records.end(), [&](const StoredRecord& r) { return key.empty() || r.key == key; }));
}

}  // namespace

TEST_CASE("a submit stores the order, its first event and its outbox row in one commit") {
  StoreEnv env;
  allowAccount(env.url, "acct-1");
  const auto result = env.store->submit(limitBuy("acct-1", "c-1"), acceptAll());
  CHECK(result.outcome == SubmitOutcome::Created);
  CHECK(result.order.status() == v1::ORDER_STATUS_ACCEPTED);
  CHECK(result.order.version() == 1);

  auto stored = env.store->getOrder(result.order.order_id());
  REQUIRE(stored);
  CHECK(stored->SerializeAsString() == result.order.SerializeAsString());
  CHECK(count(env.url, "SELECT count(*) FROM order_events WHERE account = 'acct-1' AND account_seq = 1") == 1);
  const auto events = outboxEvents(env.url);
  REQUIRE(events.size() == 1);
  CHECK(events[0].account_seq() == 1);
  CHECK(events[0].from_status() == v1::ORDER_STATUS_UNSPECIFIED);
  CHECK(events[0].to_status() == v1::ORDER_STATUS_ACCEPTED);
  CHECK(events[0].order().order_id() == result.order.order_id());
  CHECK(outboxRecordCount(env.url, "acct-1") == 1);
  CHECK(count(env.url, "SELECT count(*) FROM outbox") == 1);  // one row per transaction
  CHECK_FALSE(env.store->getOrder("ord-unknown"));
}

TEST_CASE("a repeated submit returns the original order, and another payload under the same key conflicts") {
  StoreEnv env;
  allowAccount(env.url, "acct-1");
  int decisions = 0;
  auto counting = [&](const RiskInputs&) {
    ++decisions;
    return std::optional<Rejection>();
  };
  const auto first = env.store->submit(limitBuy("acct-1", "c-1"), counting);
  const auto again = env.store->submit(limitBuy("acct-1", "c-1"), counting);
  CHECK(again.outcome == SubmitOutcome::Duplicate);
  CHECK(again.order.SerializeAsString() == first.order.SerializeAsString());

  const auto other = env.store->submit(limitBuy("acct-1", "c-1", /*quantity*/ 200), counting);
  CHECK(other.outcome == SubmitOutcome::Conflict);
  CHECK(other.order.order_id() == first.order.order_id());
  CHECK(other.order.quantity() == 100);

  CHECK(decisions == 1);  // risk runs for new keys only
  CHECK(count(env.url, "SELECT count(*) FROM orders") == 1);
  CHECK(count(env.url, "SELECT count(*) FROM order_events") == 1);
  CHECK(count(env.url, "SELECT count(*) FROM outbox") == 1);
  // The numbers the duplicates took were given back: the next event is 2.
  CHECK(count(env.url, "SELECT last_seq FROM account_sequences WHERE account = 'acct-1'") == 1);
  env.store->submit(limitBuy("acct-1", "c-2"), counting);
  CHECK(count(env.url, "SELECT max(account_seq) FROM order_events") == 2);
}

TEST_CASE("risk decides on the exposure read under the account lock, and a refusal is stored as REJECTED") {
  StoreEnv env;
  allowAccount(env.url, "acct-1", /*max_open_orders*/ 2);
  UnlimitedBuyingPower buying_power;
  RiskChecker checker(buying_power);
  std::vector<RiskInputs> seen;
  auto decide = [&](const v1::SubmitOrderRequest& r) -> RiskDecider {
    return [&, r](const RiskInputs& in) -> std::optional<Rejection> {
      seen.push_back(in);
      OrderIntent intent{r.account(), r.symbol(), r.side(), r.quantity(), r.limit_price()};
      auto refusal = checker.check(intent, in.limits ? &*in.limits : nullptr, in.exposure, 0);
      if (!refusal) return std::nullopt;
      return Rejection{refusal->reason, refusal->text};
    };
  };
  const auto a = limitBuy("acct-1", "c-1", 100);
  const auto b = limitBuy("acct-1", "c-2", 50);
  const auto c = limitBuy("acct-1", "c-3", 10);
  CHECK(env.store->submit(a, decide(a)).order.status() == v1::ORDER_STATUS_ACCEPTED);
  CHECK(env.store->submit(b, decide(b)).order.status() == v1::ORDER_STATUS_ACCEPTED);
  const auto refused = env.store->submit(c, decide(c));
  CHECK(refused.outcome == SubmitOutcome::Created);
  CHECK(refused.order.status() == v1::ORDER_STATUS_REJECTED);
  CHECK(refused.order.reject_reason() == v1::REJECT_REASON_RISK_LIMIT);
  CHECK_FALSE(refused.order.reject_text().empty());

  REQUIRE(seen.size() == 3);
  REQUIRE(seen[2].limits);
  CHECK(seen[2].limits->max_open_orders == 2);
  CHECK(seen[2].exposure.open_orders == 2);
  CHECK(seen[2].exposure.open_buy_quantity == 150);
  CHECK(seen[2].exposure.open_sell_quantity == 0);
  CHECK(seen[2].exposure.position == 0);

  // No limits row: the decider sees none (and RiskChecker fails closed).
  const auto stranger = limitBuy("acct-none", "c-1");
  CHECK(env.store->submit(stranger, decide(stranger)).order.status() == v1::ORDER_STATUS_REJECTED);
  CHECK_FALSE(seen.back().limits);
  const auto events = outboxEvents(env.url);
  REQUIRE(events.size() == 4);
  CHECK(events[2].to_status() == v1::ORDER_STATUS_REJECTED);
}

TEST_CASE("concurrent submits of one account get a dense account_seq whose outbox order follows it") {
  StoreEnv env(withGroupCommit(GENERATE(true, false)));
  allowAccount(env.url, "acct-hot");
  allowAccount(env.url, "acct-other");
  constexpr int kThreads = 4;
  constexpr int kPerThread = 60;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const auto account = i % 3 == 0 ? "acct-other" : "acct-hot";
        env.store->submit(limitBuy(account, "t" + std::to_string(t) + "-" + std::to_string(i)), acceptAll());
      }
    });
  }
  for (auto& t : threads) t.join();

  const long long hot = count(env.url, "SELECT count(*) FROM orders WHERE account = 'acct-hot'");
  CHECK(hot == kThreads * (kPerThread - kPerThread / 3));
  CHECK(env.store->submitsCommitted() == static_cast<std::uint64_t>(kThreads * kPerThread));
  std::map<std::string, std::uint64_t> last;
  for (const auto& e : outboxEvents(env.url)) {
    CHECK(e.account_seq() == last[e.account()] + 1);  // dense, and in outbox id order
    last[e.account()] = e.account_seq();
  }
  CHECK(last["acct-hot"] == static_cast<std::uint64_t>(hot));
  CHECK(count(env.url, "SELECT count(*) FROM order_events WHERE account = 'acct-hot'") == hot);
}

TEST_CASE("a market order's collar is stored with it and in its event, alone or in a batch") {
  StoreEnv env(withGroupCommit(GENERATE(true, false)));
  allowAccount(env.url, "acct-m");
  // Concurrent submits: with group commit several share a transaction (the batch statement),
  // without it each is written alone.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        auto r = limitBuy("acct-m", "m" + std::to_string(t) + "-" + std::to_string(i), 100, "AAPL", 0);
        r.set_type(v1::ORDER_TYPE_MARKET);
        r.set_time_in_force(v1::TIME_IN_FORCE_IOC);
        env.store->submit(r, acceptAll(), 1'000'000 + 100 * (10 * t + i));
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto limit = env.store->submit(limitBuy("acct-m", "limit-1"), acceptAll());
  CHECK(limit.order.collar_price() == 0);

  CHECK(count(env.url, "SELECT count(*) FROM orders WHERE account = 'acct-m' AND type = 2") == 40);
  CHECK(count(env.url, "SELECT count(DISTINCT collar_price) FROM orders WHERE type = 2") == 40);
  for (const auto& e : outboxEvents(env.url)) {
    const auto stored = env.store->getOrder(e.order().order_id());
    REQUIRE(stored);
    CHECK(stored->collar_price() == e.order().collar_price());
    if (stored->type() == v1::ORDER_TYPE_MARKET) {
      const auto& cid = stored->client_order_id();  // "m<t>-<i>"
      const int t = cid[1] - '0';
      const int i = std::stoi(cid.substr(3));
      CHECK(stored->collar_price() == 1'000'000 + 100 * (10 * t + i));
    }
  }
}

TEST_CASE("an illegal transition is refused and leaves no trace, legal ones are stored with their events") {
  StoreEnv env;
  allowAccount(env.url, "acct-1");
  const auto order = env.store->submit(limitBuy("acct-1", "c-1"), acceptAll()).order;
  const auto& id = order.order_id();

  // Replace needs an order the venue acknowledged.
  const auto refused = env.store->applyTransition(id, Trigger::ReplaceRequest, replacedBy("ord-x"));
  CHECK(refused.outcome == ChangeOutcome::Refused);
  CHECK(refused.order.status() == v1::ORDER_STATUS_ACCEPTED);
  CHECK(env.store->getOrder(id)->SerializeAsString() == order.SerializeAsString());
  CHECK(count(env.url, "SELECT count(*) FROM order_events") == 1);
  CHECK(count(env.url, "SELECT count(*) FROM outbox") == 1);
  CHECK(count(env.url, "SELECT last_seq FROM account_sequences") == 1);

  const auto routed = env.store->applyTransition(id, Trigger::VenueAck, venueId("V-1"));
  REQUIRE(routed.outcome == ChangeOutcome::Applied);
  CHECK(routed.order.status() == v1::ORDER_STATUS_ROUTED);
  CHECK(routed.order.venue_order_id() == "V-1");
  CHECK(routed.order.version() == 2);
  CHECK(env.store->applyTransition(id, Trigger::CancelRequest).order.status() == v1::ORDER_STATUS_PENDING_CANCEL);
  CHECK(env.store->applyTransition(id, Trigger::CancelAck).order.status() == v1::ORDER_STATUS_CANCELED);
  CHECK(env.store->applyTransition(id, Trigger::CancelRequest).outcome == ChangeOutcome::Refused);  // terminal
  CHECK(env.store->applyTransition("ord-unknown", Trigger::CancelRequest).outcome == ChangeOutcome::NotFound);
  CHECK_THROWS_AS(env.store->applyTransition(id, Trigger::FullFill), std::invalid_argument);

  const auto events = outboxEvents(env.url);
  REQUIRE(events.size() == 4);
  CHECK(events[1].from_status() == v1::ORDER_STATUS_ACCEPTED);
  CHECK(events[1].to_status() == v1::ORDER_STATUS_ROUTED);
  CHECK(events[3].to_status() == v1::ORDER_STATUS_CANCELED);
  CHECK(events[3].account_seq() == 4);
  CHECK(events[3].order().version() == 4);
  const auto stored = env.store->getOrder(id);
  CHECK(stored->status() == v1::ORDER_STATUS_CANCELED);
  CHECK(stored->venue_order_id() == "V-1");
}

TEST_CASE("a fill is applied once per venue execution id, with filled quantity and average price") {
  StoreEnv env;
  allowAccount(env.url, "acct-1");
  const auto id = env.store->submit(limitBuy("acct-1", "c-1", 100), acceptAll()).order.order_id();
  REQUIRE(env.store->applyTransition(id, Trigger::VenueAck, venueId("V-1")).outcome == ChangeOutcome::Applied);

  auto first = fill("exec-1", id, 40, 1'000'000);
  first.liquidity = v1::LIQUIDITY_ADDED;
  first.fee = 25;
  const auto partial = env.store->applyFill(first);
  REQUIRE(partial.outcome == ChangeOutcome::Applied);
  CHECK(partial.order.status() == v1::ORDER_STATUS_PARTIALLY_FILLED);
  CHECK(partial.order.filled_quantity() == 40);
  CHECK(partial.order.avg_fill_price() == 1'000'000);

  const auto repeated = env.store->applyFill(first);
  CHECK(repeated.outcome == ChangeOutcome::Duplicate);
  CHECK(repeated.order.filled_quantity() == 40);
  CHECK(count(env.url, "SELECT count(*) FROM fills") == 1);

  // More than is open: refused, nothing stored.
  CHECK(env.store->applyFill(fill("exec-big", id, 61, 1'000'000)).outcome == ChangeOutcome::Refused);
  CHECK(env.store->applyFill(fill("exec-x", "ord-unknown", 1, 1'000'000)).outcome == ChangeOutcome::NotFound);

  const auto full = env.store->applyFill(fill("exec-2", id, 60, 1'000'300));
  REQUIRE(full.outcome == ChangeOutcome::Applied);
  CHECK(full.order.status() == v1::ORDER_STATUS_FILLED);
  CHECK(full.order.filled_quantity() == 100);
  CHECK(full.order.avg_fill_price() == 1'000'180);  // (40 x 100.0000 + 60 x 100.0300) / 100
  CHECK(env.store->applyFill(fill("exec-3", id, 1, 1'000'000)).outcome == ChangeOutcome::Refused);  // terminal

  CHECK(count(env.url, "SELECT count(*) FROM fills") == 2);
  CHECK(count(env.url, "SELECT count(*) FROM order_events") == 4);  // accept, ack, two fills
  CHECK(count(env.url, "SELECT last_seq FROM account_sequences") == 4);
  const auto fills = outboxPayloads(env.url, "orders.fills");
  REQUIRE(fills.size() == 2);
  v1::Fill f;
  REQUIRE(f.ParseFromString(fills[0]));
  CHECK(f.venue_execution_id() == "exec-1");
  CHECK(f.quantity() == 40);
  CHECK(f.fee() == 25);
  CHECK(f.liquidity() == v1::LIQUIDITY_ADDED);
  const auto events = outboxEvents(env.url);
  REQUIRE(events.size() == 4);
  CHECK(events[2].fill().fill_id() == f.fill_id());

  // The fills are the account's position for the next submit's risk inputs.
  std::optional<RiskInputs> seen;
  env.store->submit(limitBuy("acct-1", "c-2"), [&](const RiskInputs& in) {
    seen = in;
    return std::optional<Rejection>();
  });
  REQUIRE(seen);
  CHECK(seen->exposure.position == 100);
  CHECK(seen->exposure.open_orders == 0);
}

TEST_CASE("listOrders pages newest first with an opaque token, filtered by status and symbol") {
  StoreEnv env;
  allowAccount(env.url, "acct-1");
  allowAccount(env.url, "acct-2");
  std::vector<std::string> ids;  // submit order = creation order
  for (int i = 0; i < 25; ++i) {
    const auto symbol = i % 5 == 0 ? "MSFT" : "AAPL";
    auto decide = [i](const RiskInputs&) {
      return i % 4 == 0 ? std::optional<Rejection>(Rejection{v1::REJECT_REASON_RISK_LIMIT, "test"}) : std::nullopt;
    };
    ids.push_back(env.store->submit(limitBuy("acct-1", "c-" + std::to_string(i), 100, symbol), decide).order.order_id());
  }
  env.store->submit(limitBuy("acct-2", "c-0"), acceptAll());

  std::vector<std::string> listed;
  std::string token;
  int pages = 0;
  do {
    auto page = env.store->listOrders("acct-1", {}, "", 10, token);
    for (const auto& o : page.orders) listed.push_back(o.order_id());
    token = page.next_page_token;
    ++pages;
  } while (!token.empty() && pages < 10);
  CHECK(pages == 3);
  std::vector<std::string> newest_first(ids.rbegin(), ids.rend());
  CHECK(listed == newest_first);

  const auto msft = env.store->listOrders("acct-1", {}, "MSFT", 0, "");
  CHECK(msft.orders.size() == 5);
  CHECK(msft.next_page_token.empty());
  const auto rejected = env.store->listOrders("acct-1", {v1::ORDER_STATUS_REJECTED}, "", 0, "");
  CHECK(rejected.orders.size() == 7);  // i = 0, 4, ..., 24
  for (const auto& o : rejected.orders) CHECK(o.status() == v1::ORDER_STATUS_REJECTED);
  const auto both = env.store->listOrders("acct-1", {v1::ORDER_STATUS_REJECTED, v1::ORDER_STATUS_ACCEPTED}, "AAPL", 3, "");
  CHECK(both.orders.size() == 3);
  CHECK_FALSE(both.next_page_token.empty());

  const auto first = env.store->listOrders("acct-1", {}, "", 10, "");
  CHECK_THROWS_AS(env.store->listOrders("acct-1", {}, "MSFT", 10, first.next_page_token), BadPageToken);
  CHECK_THROWS_AS(env.store->listOrders("acct-2", {}, "", 10, first.next_page_token), BadPageToken);
  CHECK_THROWS_AS(env.store->listOrders("acct-1", {}, "", 10, "not-a-token"), BadPageToken);
}

TEST_CASE("concurrent submits of one account never pass the same risk headroom twice") {
  StoreEnv env(withGroupCommit(GENERATE(true, false)));
  allowAccount(env.url, "acct-1", /*max_open_orders*/ 7);
  UnlimitedBuyingPower buying_power;
  RiskChecker checker(buying_power);
  std::vector<std::thread> threads;
  std::atomic<int> duplicates{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 15; ++i) {
        // Two threads share each key: retries racing each other, in one batch or across batches.
        const auto r = limitBuy("acct-1", "c-" + std::to_string(t % 2) + "-" + std::to_string(i));
        const auto result = env.store->submit(r, [&](const RiskInputs& in) -> std::optional<Rejection> {
          OrderIntent intent{r.account(), r.symbol(), r.side(), r.quantity(), r.limit_price()};
          auto refusal = checker.check(intent, in.limits ? &*in.limits : nullptr, in.exposure, 0);
          if (!refusal) return std::nullopt;
          return Rejection{refusal->reason, refusal->text};
        });
        if (result.outcome == SubmitOutcome::Duplicate) ++duplicates;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(duplicates == 30);
  CHECK(count(env.url, "SELECT count(*) FROM orders") == 30);
  CHECK(count(env.url, "SELECT count(*) FROM orders WHERE status = 2") == 7);
  CHECK(count(env.url, "SELECT count(*) FROM orders WHERE status = 10") == 23);
  CHECK(count(env.url, "SELECT last_seq FROM account_sequences") == 30);
  CHECK(outboxRecordCount(env.url) == 30);
}

TEST_CASE("two replicas writing one account: each batch's risk sees the other's orders, not a stale cache") {
  // The lanes keep each account's working orders in memory between batches (exposure_cache.h).
  // Another replica's submits and transitions must still count: a blind cache would accept past
  // max_open_orders here, and refuse orders after the other replica ended some.
  StoreEnv env;
  allowAccount(env.url, "acct-1", /*max_open_orders*/ 10);
  tickstream::pg::PoolConfig pc;
  pc.url = env.url;
  pc.size = OrderStoreConfig{}.writer_lanes + 4;
  tickstream::pg::Pool other_pool(pc);
  OrderStore other(other_pool, OrderStoreConfig{});
  UnlimitedBuyingPower buying_power;
  RiskChecker checker(buying_power);
  const auto decide = [&](const v1::SubmitOrderRequest& r) {
    return RiskDecider([&checker, r](const RiskInputs& in) -> std::optional<Rejection> {
      OrderIntent intent{r.account(), r.symbol(), r.side(), r.quantity(), r.limit_price()};
      auto refusal = checker.check(intent, in.limits ? &*in.limits : nullptr, in.exposure, 0);
      if (!refusal) return std::nullopt;
      return Rejection{refusal->reason, refusal->text};
    });
  };
  // `n` submits at once through `store` (so they share batches); the ids of those accepted.
  int next_key = 0;
  const auto burst = [&](OrderStore& store, int n) {
    std::vector<std::string> accepted;
    std::mutex mu;
    std::vector<std::thread> threads;
    std::atomic<int> ready{0};
    for (int i = 0; i < n; ++i) {
      const auto r = limitBuy("acct-1", "c-" + std::to_string(next_key++));
      threads.emplace_back([&, r] {
        ++ready;
        while (ready.load() < n) std::this_thread::yield();
        const auto result = store.submit(r, decide(r));
        std::lock_guard lock(mu);
        if (result.order.status() == v1::ORDER_STATUS_ACCEPTED) accepted.push_back(result.order.order_id());
      });
    }
    for (auto& t : threads) t.join();
    return accepted;
  };

  const auto first = burst(*env.store, 16);  // 10 accepted, in batches: the cache now holds the account
  REQUIRE(first.size() == 10);
  REQUIRE(env.store->submitTransactions() < env.store->submitsCommitted());  // some batch held several
  // The other replica ends 6 of them (the venue refused them)...
  for (int i = 0; i < 6; ++i) {
    REQUIRE(other.applyTransition(first[static_cast<std::size_t>(i)], Trigger::VenueReject).outcome ==
            ChangeOutcome::Applied);
  }
  // ...and fills 2 of the 6 free places itself.
  CHECK(burst(other, 2).size() == 2);
  // This replica's next batches see 6 working orders, not its cached 10: exactly 4 more pass.
  CHECK(burst(*env.store, 16).size() == 4);
  CHECK(count(env.url, "SELECT count(*) FROM orders WHERE status = 2") == 10);
  CHECK(burst(*env.store, 8).empty());
}

TEST_CASE("a replace stores the replacement with the original's fills and puts the original in PENDING_REPLACE") {
  StoreEnv env;
  allowAccount(env.url, "acct-1");
  const auto id = env.store->submit(limitBuy("acct-1", "c-1", 100), acceptAll()).order.order_id();
  REQUIRE(env.store->applyTransition(id, Trigger::VenueAck, venueId("V-1")).outcome == ChangeOutcome::Applied);
  REQUIRE(env.store->applyFill(fill("exec-1", id, 30, 1'000'000)).outcome == ChangeOutcome::Applied);

  auto req = replaceRequest("acct-1", id, "c-1-r1", 150, 1'000'100);
  std::optional<RiskInputs> seen;
  const auto result = env.store->replace(req, [&](const RiskInputs& in) {
    seen = in;
    return std::optional<Rejection>();
  });
  CHECK(result.key == SubmitOutcome::Created);
  REQUIRE(result.original_outcome == ChangeOutcome::Applied);
  CHECK(result.original.status() == v1::ORDER_STATUS_PENDING_REPLACE);
  CHECK(result.original.replaced_by_order_id() == result.replacement.order_id());
  CHECK(result.replacement.status() == v1::ORDER_STATUS_ACCEPTED);
  CHECK(result.replacement.replaces_order_id() == id);
  CHECK(result.replacement.filled_quantity() == 30);
  CHECK(result.replacement.avg_fill_price() == 1'000'000);
  CHECK(result.replacement.quantity() == 150);
  CHECK(result.replacement.symbol() == "AAPL");
  REQUIRE(seen);
  CHECK(seen->exposure.open_orders == 0);  // without the original it replaces
  CHECK(seen->exposure.open_buy_quantity == 0);
  CHECK(seen->exposure.position == 30);
  CHECK(env.store->getOrder(result.replacement.order_id())->SerializeAsString() ==
        result.replacement.SerializeAsString());

  const auto again = env.store->replace(req, acceptAll());
  CHECK(again.key == SubmitOutcome::Duplicate);
  CHECK(again.replacement.order_id() == result.replacement.order_id());
  req.set_quantity(200);
  CHECK(env.store->replace(req, acceptAll()).key == SubmitOutcome::Conflict);
  req.set_client_order_id("c-1-r2");  // a second replace while one is pending
  CHECK(env.store->replace(req, acceptAll()).original_outcome == ChangeOutcome::Refused);
  req.set_account("acct-2");
  CHECK(env.store->replace(req, acceptAll()).original_outcome == ChangeOutcome::NotFound);
  CHECK(count(env.url, "SELECT count(*) FROM orders") == 2);
  CHECK(count(env.url, "SELECT count(*) FROM order_events") == 5);  // accept, ack, fill, replacement, pending
  CHECK(count(env.url, "SELECT last_seq FROM account_sequences") == 5);

  CHECK(env.store->applyTransition(id, Trigger::ReplaceAck).order.status() == v1::ORDER_STATUS_REPLACED);
  CHECK(env.store->applyTransition(result.replacement.order_id(), Trigger::VenueAck, venueId("V-1")).order.status() ==
        v1::ORDER_STATUS_PARTIALLY_FILLED);
}

namespace {

// The venue's reports, as the execution stream or a reply brings them.
vv1::ExecutionReport replacedReport(const std::string& replacement_id, const std::string& original_id,
                                    const std::string& venue_order_id) {
  vv1::ExecutionReport r;
  r.set_exec_type(vv1::EXEC_TYPE_REPLACED);
  r.set_order_id(replacement_id);
  r.set_orig_order_id(original_id);
  r.set_venue_order_id(venue_order_id);
  return r;
}

vv1::ExecutionReport fillReport(const std::string& order_id, const std::string& venue_order_id,
                                const std::string& execution_id, long long quantity, long long price, bool last) {
  vv1::ExecutionReport r;
  r.set_exec_type(last ? vv1::EXEC_TYPE_FILL : vv1::EXEC_TYPE_PARTIAL_FILL);
  r.set_order_id(order_id);
  r.set_venue_order_id(venue_order_id);
  r.set_venue_execution_id(execution_id);
  r.set_last_quantity(quantity);
  r.set_last_price(price);
  return r;
}

// The venue's open orders in session S1 as of `last_exec_seq`: after a restart from S0
// (SessionChanged), or in the same session after the stream's resume point was outgrown.
Reconciliation reconciliationInS1(bool restarted, std::uint64_t last_exec_seq) {
  Reconciliation r;
  r.reason = restarted ? Reconciliation::Reason::SessionChanged : Reconciliation::Reason::OutOfRange;
  r.previous_session = restarted ? "S0" : "S1";
  r.session = "S1";
  r.open.set_last_exec_seq(last_exec_seq);
  return r;
}

// Adds an order to the venue's list.
vv1::VenueOrder& listOrder(Reconciliation& r, const std::string& order_id, const std::string& venue_order_id) {
  auto& o = *r.open.add_orders();
  o.set_order_id(order_id);
  o.set_venue_order_id(venue_order_id);
  return o;
}

// The service's venue side (breaker, client, router, report stream handler) against a venue at
// `address`; nobody serves 127.0.0.1:1, for tests that route nothing.
struct RouterEnv {
  RouterEnv(StoreEnv& env, const std::string& address)
      : venue(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()), VenueClientConfig{}, breaker),
        router(*env.store, venue, OrderRouterConfig{}),
        positions(*env.pool, "it-venue"),
        sync(*env.pool, *env.store, router, positions) {}
  CircuitBreaker breaker{CircuitBreakerConfig{}};
  VenueClient venue;
  OrderRouter router;
  StreamPositionStore positions;
  VenueSync sync;
};

}  // namespace

TEST_CASE("a fill of an order whose ack was lost stores the venue's id from the report, and a known id stays") {
  // Both write paths: a batch statement (group commit) and one transaction per change.
  StoreEnv env(withGroupCommit(GENERATE(true, false)));
  allowAccount(env.url, "acct-1");
  const auto unacked = env.store->submit(limitBuy("acct-1", "c-1", 100), acceptAll()).order.order_id();
  auto f = fill("exec-1", unacked, 40, 1'000'000);
  f.venue_order_id = "V-1";
  const auto partial = env.store->applyFill(f);
  REQUIRE(partial.outcome == ChangeOutcome::Applied);
  CHECK(partial.order.status() == v1::ORDER_STATUS_PARTIALLY_FILLED);
  CHECK(partial.order.venue_order_id() == "V-1");
  CHECK(partial.venue_id_from_fill);
  CHECK(env.store->getOrder(unacked)->venue_order_id() == "V-1");  // stored, not only returned
  auto again = fill("exec-1b", unacked, 10, 1'000'000);
  again.venue_order_id = "V-1";
  CHECK_FALSE(env.store->applyFill(again).venue_id_from_fill);  // it has one now

  const auto acked = env.store->submit(limitBuy("acct-1", "c-2", 100), acceptAll()).order.order_id();
  REQUIRE(env.store->applyTransition(acked, Trigger::VenueAck, venueId("V-2")).outcome == ChangeOutcome::Applied);
  auto g = fill("exec-2", acked, 100, 1'000'000);
  g.venue_order_id = "V-other";
  const auto full = env.store->applyFill(g);
  REQUIRE(full.outcome == ChangeOutcome::Applied);
  CHECK(full.order.status() == v1::ORDER_STATUS_FILLED);
  CHECK(full.order.venue_order_id() == "V-2");
  CHECK_FALSE(full.venue_id_from_fill);
  CHECK(env.store->getOrder(acked)->venue_order_id() == "V-2");

  // A replacement's id comes with its ack, which also brings the original's fills: a fill before
  // it must not give the id, or that ack would be refused as a repeat.
  const auto replacement =
      env.store->replace(replaceRequest("acct-1", unacked, "c-1-r1", 100, 1'000'100), acceptAll()).replacement.order_id();
  auto h = fill("exec-3", replacement, 5, 1'000'100);
  h.venue_order_id = "V-1";
  const auto early = env.store->applyFill(h);
  REQUIRE(early.outcome == ChangeOutcome::Applied);
  CHECK(early.order.venue_order_id().empty());
  CHECK_FALSE(early.venue_id_from_fill);
}

TEST_CASE("a cancel that waited for a lost ack is sent when a fill brings the venue's id, once") {
  StoreEnv env(withGroupCommit(GENERATE(true, false)));
  allowAccount(env.url, "acct-1");
  std::atomic<int> cancels{0};
  ReportApplier applier(*env.store, [&](const v1::Order&) { ++cancels; });
  const auto id = env.store->submit(limitBuy("acct-1", "c-1", 100), acceptAll()).order.order_id();
  REQUIRE(env.store->applyTransition(id, Trigger::CancelRequest).order.status() == v1::ORDER_STATUS_PENDING_CANCEL);
  applier.apply(fillReport(id, "V-1", "exec-1", 30, 1'000'000, false));
  auto o = *env.store->getOrder(id);
  CHECK(o.status() == v1::ORDER_STATUS_PENDING_CANCEL);
  CHECK(o.venue_order_id() == "V-1");
  CHECK(cancels == 1);
  applier.apply(fillReport(id, "V-1", "exec-2", 20, 1'000'000, false));  // already sent: not again
  CHECK(cancels == 1);
  CHECK(env.store->getOrder(id)->filled_quantity() == 50);
}

TEST_CASE("a fill while a replace is pending is the replacement's too: the venue's fills of the rest complete it") {
  StoreEnv env;
  allowAccount(env.url, "acct-1");
  ReportApplier applier(*env.store, [](const v1::Order&) {});
  const auto id = env.store->submit(limitBuy("acct-1", "c-9", 100), acceptAll()).order.order_id();
  REQUIRE(env.store->applyTransition(id, Trigger::VenueAck, venueId("V-9")).outcome == ChangeOutcome::Applied);
  const auto replaced = env.store->replace(replaceRequest("acct-1", id, "c-9-r1", 100, 1'000'100), acceptAll());
  REQUIRE(replaced.original_outcome == ChangeOutcome::Applied);
  const auto replacement_id = replaced.replacement.order_id();
  CHECK(replaced.replacement.filled_quantity() == 0);

  // The venue fills 30 of the original before it takes the replace: its replacement then keeps
  // those 30 (exchange-sim's matching engine, like real venues), so 70 are left.
  applier.apply(fillReport(id, "V-9", "exec-9-1", 30, 1'000'000, false));
  applier.apply(replacedReport(replacement_id, id, "V-9"));
  CHECK(env.store->getOrder(id)->status() == v1::ORDER_STATUS_REPLACED);
  auto replacement = *env.store->getOrder(replacement_id);
  CHECK(replacement.status() == v1::ORDER_STATUS_PARTIALLY_FILLED);
  CHECK(replacement.filled_quantity() == 30);
  CHECK(replacement.avg_fill_price() == 1'000'000);

  applier.apply(fillReport(replacement_id, "V-9", "exec-9-2", 70, 1'000'100, true));
  replacement = *env.store->getOrder(replacement_id);
  CHECK(replacement.status() == v1::ORDER_STATUS_FILLED);
  CHECK(replacement.filled_quantity() == 100);
  CHECK(replacement.avg_fill_price() == 1'000'070);  // (30 × 100.0000 + 70 × 100.0100) / 100
  applier.waitIdle();
}

TEST_CASE("a fill of the original that arrives after its REPLACED report goes to the replacement") {
  StoreEnv env;
  allowAccount(env.url, "acct-1");
  ReportApplier applier(*env.store, [](const v1::Order&) {});
  const auto id = env.store->submit(limitBuy("acct-1", "c-8", 100), acceptAll()).order.order_id();
  REQUIRE(env.store->applyTransition(id, Trigger::VenueAck, venueId("V-8")).outcome == ChangeOutcome::Applied);
  const auto replacement_id =
      env.store->replace(replaceRequest("acct-1", id, "c-8-r1", 100, 1'000'100), acceptAll()).replacement.order_id();
  // The router applies the venue's REPLACED reply as it comes; the stream's report of an
  // execution the venue made on the original just before is applied after it.
  applier.apply(replacedReport(replacement_id, id, "V-8"));
  REQUIRE(env.store->getOrder(id)->status() == v1::ORDER_STATUS_REPLACED);
  const auto late = fillReport(id, "V-8", "exec-8-1", 30, 1'000'000, false);
  applier.apply(late);
  applier.apply(late);  // the stream and the reply both bring it: once

  const auto replacement = *env.store->getOrder(replacement_id);
  CHECK(replacement.status() == v1::ORDER_STATUS_PARTIALLY_FILLED);
  CHECK(replacement.filled_quantity() == 30);
  CHECK(env.store->getOrder(id)->filled_quantity() == 0);
  CHECK(count(env.url, "SELECT count(*) FROM fills WHERE venue_execution_id = 'exec-8-1' AND order_id = '" +
                           replacement_id + "'") == 1);
  applier.waitIdle();
}

// The REPLACED report is two transactions (the original's ReplaceAck, then the replacement's
// ack carrying the original's final fills). A fill of the original that is redirected between
// the two, after a failed batch, a restart, or on the ungrouped write path, must not leave the
// replacement without its ack or with the larger of two counts instead of their sum.
TEST_CASE("a late fill of the original that reaches the replacement before its ack: the ack still brings the original's fills") {
  StoreEnv env(withGroupCommit(GENERATE(true, false)));
  allowAccount(env.url, "acct-1");
  ReportApplier applier(*env.store, [](const v1::Order&) {});
  const auto id = env.store->submit(limitBuy("acct-1", "c-6", 100), acceptAll()).order.order_id();
  REQUIRE(env.store->applyTransition(id, Trigger::VenueAck, venueId("V-6")).outcome == ChangeOutcome::Applied);
  applier.apply(fillReport(id, "V-6", "exec-6-1", 20, 1'000'000, false));
  const auto replacement_id =
      env.store->replace(replaceRequest("acct-1", id, "c-6-r1", 150, 1'000'100), acceptAll()).replacement.order_id();
  applier.apply(fillReport(id, "V-6", "exec-6-2", 10, 1'000'100, false));  // while the replace is pending
  // The REPLACED reply's first step committed, its second (the replacement's ack) did not.
  REQUIRE(env.store->applyTransition(id, Trigger::ReplaceAck).outcome == ChangeOutcome::Applied);
  applier.apply(fillReport(id, "V-6", "exec-6-3", 5, 1'000'200, false));  // redirected to the replacement
  applier.apply(replacedReport(replacement_id, id, "V-6"));               // the report again
  auto r = *env.store->getOrder(replacement_id);
  CHECK(r.venue_order_id() == "V-6");
  CHECK(r.status() == v1::ORDER_STATUS_PARTIALLY_FILLED);
  CHECK(r.filled_quantity() == 35);
  CHECK(r.avg_fill_price() == 1'000'057);
  CHECK(count(env.url, "SELECT quantity FROM positions WHERE account = 'acct-1'") == 35);
  CHECK(count(env.url, "SELECT count(*) FROM fills") == 3);
  applier.apply(fillReport(replacement_id, "V-6", "exec-6-4", 115, 1'000'100, true));  // the venue's rest
  r = *env.store->getOrder(replacement_id);
  CHECK(r.status() == v1::ORDER_STATUS_FILLED);
  CHECK(r.filled_quantity() == 150);
  applier.waitIdle();
}

TEST_CASE("a replacement canceled before its ack: a redirected fill and the inherited ones add up") {
  StoreEnv env(withGroupCommit(GENERATE(true, false)));
  allowAccount(env.url, "acct-1");
  std::atomic<int> cancels{0};
  ReportApplier applier(*env.store, [&](const v1::Order&) { ++cancels; });
  const auto id = env.store->submit(limitBuy("acct-1", "c-5", 100), acceptAll()).order.order_id();
  REQUIRE(env.store->applyTransition(id, Trigger::VenueAck, venueId("V-5")).outcome == ChangeOutcome::Applied);
  applier.apply(fillReport(id, "V-5", "exec-5-1", 20, 1'000'000, false));
  const auto replacement_id =
      env.store->replace(replaceRequest("acct-1", id, "c-5-r1", 150, 1'000'100), acceptAll()).replacement.order_id();
  REQUIRE(env.store->applyTransition(replacement_id, Trigger::CancelRequest).order.status() ==
          v1::ORDER_STATUS_PENDING_CANCEL);
  applier.apply(fillReport(id, "V-5", "exec-5-2", 10, 1'000'100, false));
  REQUIRE(env.store->applyTransition(id, Trigger::ReplaceAck).outcome == ChangeOutcome::Applied);
  applier.apply(fillReport(id, "V-5", "exec-5-3", 5, 1'000'200, false));
  applier.apply(replacedReport(replacement_id, id, "V-5"));
  const auto r = *env.store->getOrder(replacement_id);
  CHECK(r.status() == v1::ORDER_STATUS_PENDING_CANCEL);
  CHECK(r.filled_quantity() == 35);
  CHECK(r.venue_order_id() == "V-5");
  CHECK(cancels == 1);  // the cancel went out once: a second ack of the replacement is refused
  applier.waitIdle();
}

TEST_CASE("a late fill of the original after two replaces goes to the last replacement") {
  StoreEnv env;
  allowAccount(env.url, "acct-1");
  ReportApplier applier(*env.store, [](const v1::Order&) {});
  const auto id = env.store->submit(limitBuy("acct-1", "c-4", 100), acceptAll()).order.order_id();
  REQUIRE(env.store->applyTransition(id, Trigger::VenueAck, venueId("V-4")).outcome == ChangeOutcome::Applied);
  const auto r1 =
      env.store->replace(replaceRequest("acct-1", id, "c-4-r1", 120, 1'000'100), acceptAll()).replacement.order_id();
  applier.apply(replacedReport(r1, id, "V-4"));
  const auto r2 =
      env.store->replace(replaceRequest("acct-1", r1, "c-4-r2", 130, 1'000'200), acceptAll()).replacement.order_id();
  applier.apply(replacedReport(r2, r1, "V-4"));
  // Both REPLACED replies were applied before the stream's report of this fill of the original:
  // its first redirect (to r1) is refused too, and it must follow the chain, not be dropped.
  applier.apply(fillReport(id, "V-4", "exec-4-1", 5, 1'000'000, false));
  CHECK(env.store->getOrder(r2)->filled_quantity() == 5);
  CHECK(count(env.url, "SELECT count(*) FROM fills") == 1);
  CHECK(count(env.url, "SELECT quantity FROM positions WHERE account = 'acct-1'") == 5);
  applier.waitIdle();
}

TEST_CASE("reconciliation after a replace the venue made in a gap of reports: REPLACED, not canceled") {
  StoreEnv env;
  allowAccount(env.url, "acct-1");
  RouterEnv side(env, "127.0.0.1:1");  // the venue is never called here: nothing is routed or re-sent
  auto& sync = side.sync;

  const auto id = env.store->submit(limitBuy("acct-1", "c-7", 100), acceptAll()).order.order_id();
  REQUIRE(env.store->applyTransition(id, Trigger::VenueAck, venueId("V-7")).outcome == ChangeOutcome::Applied);
  REQUIRE(env.store->applyFill(fill("exec-7-1", id, 30, 1'000'000)).outcome == ChangeOutcome::Applied);
  const auto replacement_id =
      env.store->replace(replaceRequest("acct-1", id, "c-7-r1", 120, 1'000'100), acceptAll()).replacement.order_id();

  // The stream missed the venue's REPLACED report and one more fill of the original (10); the
  // venue now lists only the replacement, with the original's 40 executed.
  Reconciliation r = reconciliationInS1(false, 42);
  auto& listed = listOrder(r, replacement_id, "V-7");
  listed.set_cumulative_quantity(40);
  listed.set_leaves_quantity(80);
  REQUIRE(sync.onReconcile(r));

  CHECK(env.store->getOrder(id)->status() == v1::ORDER_STATUS_REPLACED);
  const auto replacement = *env.store->getOrder(replacement_id);
  CHECK(replacement.status() == v1::ORDER_STATUS_PARTIALLY_FILLED);
  CHECK(replacement.filled_quantity() == 30);  // what the service saw
  CHECK(sync.flagged() == 1);                  // the 10 it never saw, for an operator
}

namespace {

vv1::ExecutionReport venueReport(vv1::ExecType type, const std::string& order_id, const std::string& venue_order_id,
                                 const std::string& execution_id) {
  vv1::ExecutionReport r;
  r.set_exec_type(type);
  r.set_order_id(order_id);
  r.set_venue_order_id(venue_order_id);
  r.set_venue_execution_id(execution_id);
  return r;
}

// A venue that answers every CancelOrder with `cancel_answer` and every order of NewOrders with
// `new_answer` (its order id set), counting the calls; `session` is its venue-session header.
class FakeVenue final : public vv1::Venue::Service {
 public:
  FakeVenue() {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(this);
    server_ = b.BuildAndStart();
  }
  ~FakeVenue() override { server_->Shutdown(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  grpc::Status CancelOrder(grpc::ServerContext* ctx, const vv1::CancelOrderRequest*,
                           vv1::CancelOrderResponse* res) override {
    std::lock_guard lock(mu);
    if (!session.empty()) ctx->AddInitialMetadata(kVenueSessionHeader, session);
    ++cancels;
    *res->mutable_report() = cancel_answer;
    return grpc::Status::OK;
  }
  grpc::Status NewOrders(grpc::ServerContext* ctx, const vv1::NewOrdersRequest* req, vv1::NewOrdersResponse* res) override {
    std::lock_guard lock(mu);
    if (!session.empty()) ctx->AddInitialMetadata(kVenueSessionHeader, session);
    for (const auto& o : req->orders()) {
      ++new_orders;
      auto& r = *res->add_results()->mutable_response();
      r.set_order_id(o.order_id());
      r.set_venue_order_id(new_answer.venue_order_id());
      *r.mutable_report() = new_answer;
      r.mutable_report()->set_order_id(o.order_id());
    }
    return grpc::Status::OK;
  }
  // The execution stream: the session header, `journal` from the requested exec_seq, then open
  // until the client cancels. ListOpenOrders: nothing open, at the journal's last exec_seq.
  grpc::Status StreamExecutions(grpc::ServerContext* ctx, const vv1::StreamExecutionsRequest* req,
                                grpc::ServerWriter<vv1::ExecutionReport>* writer) override {
    std::vector<vv1::ExecutionReport> out;
    {
      std::lock_guard lock(mu);
      ctx->AddInitialMetadata(kVenueSessionHeader, session);
      for (const auto& r : journal) {
        if (r.exec_seq() >= std::max<std::uint64_t>(req->from_execution_seq(), 1)) out.push_back(r);
      }
    }
    writer->SendInitialMetadata();
    for (const auto& r : out) writer->Write(r);
    while (!ctx->IsCancelled()) std::this_thread::sleep_for(10ms);
    return grpc::Status::OK;
  }
  grpc::Status ListOpenOrders(grpc::ServerContext* ctx, const vv1::ListOpenOrdersRequest*,
                              vv1::ListOpenOrdersResponse* res) override {
    std::lock_guard lock(mu);
    ctx->AddInitialMetadata(kVenueSessionHeader, session);
    res->set_last_exec_seq(journal.empty() ? 0 : journal.back().exec_seq());
    return grpc::Status::OK;
  }
  std::mutex mu;
  std::string session;
  std::vector<vv1::ExecutionReport> journal;
  vv1::ExecutionReport cancel_answer;
  vv1::ExecutionReport new_answer;
  int cancels = 0;
  int new_orders = 0;

 private:
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

// The execution stream of `side` against the venue at `address`, from the stored position, once
// it has reconciled. stop() it before `side` goes.
std::unique_ptr<ExecutionStream> streamReconciled(RouterEnv& side, const std::string& address) {
  ExecutionStreamConfig cfg;
  cfg.reconnect_min = 20ms;
  cfg.reconnect_max = 100ms;
  auto stream = std::make_unique<ExecutionStream>(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()),
                                                  cfg, side.sync, side.positions.load());
  stream->start();
  REQUIRE(tickstream::testing::waitUntil([&] { return stream->reconciliations() >= 1; }, 10s));
  return stream;
}

}  // namespace

// The venue refuses a replace (REJECTED report): the replacement's venue_reject, then the
// original's replace_reject, two transactions. The second lost (a failed batch, an in-doubt
// COMMIT, kill -9 between them): the report again must still put the original back to working.
TEST_CASE("a refused replace whose second step was lost: the report again puts the original back to working") {
  StoreEnv env(withGroupCommit(GENERATE(true, false)));
  allowAccount(env.url, "acct-1");
  ReportApplier applier(*env.store, [](const v1::Order&) {});
  const auto id = env.store->submit(limitBuy("acct-1", "c-3", 100), acceptAll()).order.order_id();
  REQUIRE(env.store->applyTransition(id, Trigger::VenueAck, venueId("V-3")).outcome == ChangeOutcome::Applied);
  const auto r1 =
      env.store->replace(replaceRequest("acct-1", id, "c-3-r1", 150, 1'000'100), acceptAll()).replacement.order_id();
  auto rejected = venueReport(vv1::EXEC_TYPE_REJECTED, r1, "V-3", "S-E5");
  rejected.set_orig_order_id(id);
  TransitionDetails details;
  details.rejection = {v1::REJECT_REASON_VENUE_REJECTED, "refused"};
  REQUIRE(env.store->applyTransition(r1, Trigger::VenueReject, details).outcome == ChangeOutcome::Applied);
  applier.apply(rejected);  // the report again: a retry, or the stream after a restart
  CHECK(env.store->getOrder(id)->status() == v1::ORDER_STATUS_ROUTED);

  // Once the original works again, a second replace is pending; that old report once more (a
  // restart: the applier's memory is empty) must not end it.
  if (env.store->getOrder(id)->status() == v1::ORDER_STATUS_ROUTED) {
    const auto r2 =
        env.store->replace(replaceRequest("acct-1", id, "c-3-r2", 160, 1'000'100), acceptAll()).replacement.order_id();
    ReportApplier after_restart(*env.store, [](const v1::Order&) {});
    after_restart.apply(rejected);
    CHECK(env.store->getOrder(id)->status() == v1::ORDER_STATUS_PENDING_REPLACE);
    CHECK(env.store->getOrder(id)->replaced_by_order_id() == r2);
    after_restart.waitIdle();
  }
  applier.waitIdle();
}

// The router applies the venue's CANCELED reply as it comes; the stream's report of an
// execution just before the cancel may still be queued behind it.
TEST_CASE("an execution the stream brings after the cancel's reply is not lost") {
  StoreEnv env;
  allowAccount(env.url, "acct-1");
  FakeVenue fake;
  RouterEnv side(env, fake.address());
  auto& router = side.router;
  const auto id = env.store->submit(limitBuy("acct-1", "c-2", 100), acceptAll()).order.order_id();
  router.applier().apply(venueReport(vv1::EXEC_TYPE_NEW, id, "V-2", "S-E1"));
  // The venue executes 30 (S-E2: still queued in a VenueSync worker), then takes the cancel.
  auto canceled = venueReport(vv1::EXEC_TYPE_CANCELED, id, "V-2", "S-E3");
  canceled.set_cumulative_quantity(30);
  fake.cancel_answer = canceled;
  grpc::Status status;
  router.cancel(*env.store->getOrder(id), status);
  CHECK(status.ok());
  // The stream's reports, in the venue's order.
  router.applier().apply(fillReport(id, "V-2", "S-E2", 30, 1'000'000, false));
  router.applier().apply(canceled);
  const auto o = *env.store->getOrder(id);
  CHECK(o.status() == v1::ORDER_STATUS_CANCELED);
  CHECK(o.filled_quantity() == 30);
  CHECK(count(env.url, "SELECT coalesce(sum(quantity), 0) FROM positions WHERE account = 'acct-1'") == 30);
  router.stop();
}

// ListOpenOrders is taken first, the repair reads our orders later; the router keeps
// entering orders and applying the venue's replies in between.
TEST_CASE("reconciliation leaves alone an order the venue took after its list was made") {
  StoreEnv env;
  allowAccount(env.url, "acct-1");
  RouterEnv side(env, "127.0.0.1:1");
  auto& router = side.router;
  auto& sync = side.sync;
  const bool restarted = GENERATE(false, true);
  const auto id = env.store->submit(limitBuy("acct-1", "c-1", 100), acceptAll()).order.order_id();
  // And one the venue had acknowledged before the list, is gone at the venue (not listed), and
  // is touched after the list: the repair must still settle it.
  const auto old_id = env.store->submit(limitBuy("acct-1", "c-old", 100), acceptAll()).order.order_id();
  REQUIRE(env.store->applyTransition(old_id, Trigger::VenueAck, venueId("V-0")).outcome == ChangeOutcome::Applied);

  // The venue's list, before the router's NewOrder reached it.
  Reconciliation r = reconciliationInS1(restarted, 10);
  r.acked_before_list = sync.ackedBeforeList();
  REQUIRE(env.store->applyTransition(old_id, Trigger::CancelRequest).order.status() ==
          v1::ORDER_STATUS_PENDING_CANCEL);
  // OutOfRange: the NewOrder's reply is applied before the repair reads the orders. After a venue
  // restart: the NewOrder (re-sent at start-up) is still on its way while the repair runs.
  if (!restarted) router.applier().apply(venueReport(vv1::EXEC_TYPE_NEW, id, "V-1", "S1-E11"));
  REQUIRE(sync.onReconcile(r));
  if (restarted) router.applier().apply(venueReport(vv1::EXEC_TYPE_NEW, id, "V-1", "S1-E11"));
  // The stream, from last_exec_seq + 1.
  router.applier().apply(fillReport(id, "V-1", "S1-E12", 30, 1'000'000, false));
  const auto o = *env.store->getOrder(id);
  CHECK(o.status() == v1::ORDER_STATUS_PARTIALLY_FILLED);
  CHECK(o.filled_quantity() == 30);
  // The old one: gone in the restart, or ended in the gap (flagged for an operator).
  CHECK(env.store->getOrder(old_id)->status() == v1::ORDER_STATUS_CANCELED);
  CHECK(sync.flagged() == (restarted ? 0 : 1));
  router.stop();
}

TEST_CASE("a listed order that ended here since the list is not unknown at the venue, a foreign one is") {
  StoreEnv env;
  allowAccount(env.url, "acct-1");
  RouterEnv side(env, "127.0.0.1:1");
  const auto id = env.store->submit(limitBuy("acct-1", "c-1", 100), acceptAll()).order.order_id();
  REQUIRE(env.store->applyTransition(id, Trigger::VenueAck, venueId("V-1")).outcome == ChangeOutcome::Applied);
  Reconciliation r = reconciliationInS1(false, 10);
  r.acked_before_list = side.sync.ackedBeforeList();
  listOrder(r, id, "V-1");
  listOrder(r, "ord-foreign", "V-9");
  // The stream's cancel report, applied after the venue made its list.
  REQUIRE(env.store->applyTransition(id, Trigger::CancelRequest).outcome == ChangeOutcome::Applied);
  REQUIRE(env.store->applyTransition(id, Trigger::CancelAck).outcome == ChangeOutcome::Applied);
  REQUIRE(side.sync.onReconcile(r));
  CHECK(side.sync.unknownAtVenue() == 1);  // the foreign one only
  CHECK(side.sync.flagged() == 0);
  CHECK(env.store->getOrder(id)->status() == v1::ORDER_STATUS_CANCELED);
  side.router.stop();
}

// A cancel asked before the venue's ack is sent when the ack comes, from a queue in
// memory; the ack and the stream position are durable, the queued cancel is not.
TEST_CASE("a cancel due after the ack that a restart lost is sent by the next start") {
  StoreEnv env;
  allowAccount(env.url, "acct-1");
  FakeVenue fake;
  const auto id = env.store->submit(limitBuy("acct-1", "c-0", 100), acceptAll()).order.order_id();
  REQUIRE(env.store->applyTransition(id, Trigger::CancelRequest).order.status() == v1::ORDER_STATUS_PENDING_CANCEL);
  {
    // The process that applied the ack died (or stopped: router.stop() clears the queue) before
    // its router sent the cancel.
    ReportApplier dying(*env.store, [](const v1::Order&) {});
    dying.apply(venueReport(vv1::EXEC_TYPE_NEW, id, "V-0", "S-E1"));
    dying.waitIdle();
  }
  REQUIRE(env.store->getOrder(id)->venue_order_id() == "V-0");
  fake.cancel_answer = venueReport(vv1::EXEC_TYPE_CANCELED, id, "V-0", "S-E2");
  RouterEnv next_start(env, fake.address());
  auto& router = next_start.router;
  router.start();
  router.resendAccepted(*env.pool, 0ms);  // what main() does at start-up
  CHECK(tickstream::testing::waitUntil(
      [&] { return env.store->getOrder(id)->status() == v1::ORDER_STATUS_CANCELED; }, 5s));
  router.stop();
}

TEST_CASE("concurrent transitions and fills are group-committed in batches: each applied once, dense sequences") {
  OrderStoreConfig config;
  config.writer_lanes = 2;
  StoreEnv env(config);
  const std::vector<std::string> accounts{"acct-x", "acct-y", "acct-z"};
  for (const auto& a : accounts) allowAccount(env.url, a);
  std::vector<std::string> ids;
  for (int i = 0; i < 60; ++i) {
    ids.push_back(env.store->submit(limitBuy(accounts[i % 3], "b-" + std::to_string(i)), acceptAll()).order.order_id());
  }
  // Eight threads, each order touched by two of them at once: the same ack, the same two fills
  // (a venue report arriving twice), so batches hold repeats and several changes of one order.
  std::atomic<int> applied{0}, repeated{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t i = static_cast<std::size_t>(t % 4); i < ids.size(); i += 4) {
        const auto& id = ids[i];
        const auto ack = env.store->applyTransition(id, Trigger::VenueAck, venueId("V-" + id));
        const auto f1 = env.store->applyFill(fill("x1-" + id, id, 40, 1'000'000));
        const auto f2 = env.store->applyFill(fill("x2-" + id, id, 60, 1'000'100));
        for (const auto* r : {&ack, &f1, &f2}) {
          if (r->outcome == ChangeOutcome::Applied) ++applied;
          if (r->outcome == ChangeOutcome::Duplicate || r->outcome == ChangeOutcome::Refused) ++repeated;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(applied == 60 * 3);
  CHECK(repeated == 60 * 3);
  CHECK(count(env.url, "SELECT count(*) FROM fills") == 120);
  CHECK(count(env.url, "SELECT count(*) FROM orders WHERE status = 5 AND filled_quantity = 100") == 60);
  CHECK(count(env.url, "SELECT count(*) FROM order_events") == 60 * 4);
  CHECK(outboxRecordCount(env.url) == 60 * 4 + 120);
  // Every account: account_seq 1..n with no gap, n = its last_seq.
  for (const auto& a : accounts) {
    INFO(a);
    CHECK(count(env.url, "SELECT count(*) FROM order_events WHERE account = '" + a + "'") ==
          count(env.url, "SELECT last_seq FROM account_sequences WHERE account = '" + a + "'"));
    CHECK(count(env.url, "SELECT max(account_seq) FROM order_events WHERE account = '" + a + "'") ==
          count(env.url, "SELECT count(DISTINCT account_seq) FROM order_events WHERE account = '" + a + "'"));
  }
  // Average prices from the two fills: (40 x 100.0000 + 60 x 100.0100) / 100 = 100.0060.
  CHECK(count(env.url, "SELECT count(*) FROM orders WHERE avg_fill_price = 1000060") == 60);
  // The positions the fills trigger keeps: 20 orders of 100 bought shares per account.
  CHECK(count(env.url, "SELECT count(*) FROM positions WHERE quantity = 2000") == 3);
  CHECK(env.store->submitTransactions() > 0);
}

// kStoreSessionOptions: the store's statements are first planned on empty tables, and must
// still find rows by key once the tables have grown, instead of reading them whole for every
// batch (what a generic plan made on the empty tables did: docs/order.md, "Query plans").
TEST_CASE("plans made on empty tables still find rows by index once the tables have grown") {
  StoreEnv env;
  for (int a = 0; a < 20; ++a) allowAccount(env.url, "acct-" + std::to_string(a));
  {
    // No ANALYZE by autovacuum during the test: it would make the sessions plan again with the
    // grown tables' statistics, and a plan made on the empty tables would go unnoticed.
    pqxx::connection conn(env.url);
    pqxx::nontransaction(conn).exec("ALTER TABLE orders SET (autovacuum_enabled = off); "
                                    "ALTER TABLE fills SET (autovacuum_enabled = off)");
  }
  constexpr int kThreads = 16, kPerThread = 50, kOrdersPerPhase = kThreads * kPerThread, kFiller = 30'000;
  const auto lifecycles = [&](const std::string& phase) {
    std::atomic<int> done{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          const auto o = env.store->submit(limitBuy("acct-" + std::to_string((t + i) % 20),
                                                    phase + std::to_string(t) + "-" + std::to_string(i)),
                                           acceptAll()).order;
          const auto& id = o.order_id();
          if (env.store->applyTransition(id, Trigger::VenueAck, venueId("V-" + id)).outcome == ChangeOutcome::Applied &&
              env.store->applyFill(fill("x-" + id, id, 100, 1'000'000)).outcome == ChangeOutcome::Applied) {
            ++done;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    return done.load();
  };
  // Rows read by sequential scans and fetched by index scans of the two tables that grew (the
  // 20-row account tables may well be read whole, by a right plan).
  struct Reads {
    long long seq = 0, idx = 0;
  };
  const auto reads = [&] {
    pqxx::connection conn(env.url);
    const auto row = pqxx::nontransaction(conn).exec1(
        "SELECT coalesce(sum(seq_tup_read), 0), coalesce(sum(idx_tup_fetch), 0) FROM pg_stat_user_tables "
        "WHERE schemaname = current_schema() AND relname IN ('orders', 'fills')");
    return Reads{row[0].as<long long>(), row[1].as<long long>()};
  };
  // A session reports its table statistics when idle (within ~10 s) or when it ends.
  const auto inserted = [&](long long n) {
    return tickstream::testing::waitUntil(
        [&] { return count(env.url, "SELECT n_tup_ins FROM pg_stat_user_tables WHERE schemaname = current_schema() "
                                    "AND relname = 'orders'") >= n; },
        30s);
  };

  REQUIRE(lifecycles("a-") == kOrdersPerPhase);  // the first plans, on empty tables
  {
    // Grown tables, without ANALYZE (which would make sessions plan again): finished orders of
    // the same accounts (so a lookup through an index on the account alone reads thousands of
    // rows, not one) and their fills.
    pqxx::connection conn(env.url);
    pqxx::work tx(conn);
    tx.exec_params("INSERT INTO orders (order_id, account, client_order_id, request_fingerprint, symbol, side, type, "
                   "time_in_force, quantity, limit_price, filled_quantity, status, created_ts_ns, updated_ts_ns) "
                   "SELECT 'filler-' || g, 'acct-' || (g % 20), 'f-' || g, decode(repeat('ab', 32), 'hex'), 'AAPL', 1, 1, "
                   "1, 100, 1000000, 100, 5, g, g FROM generate_series(1, $1) AS g",
                   kFiller);
    tx.exec_params("INSERT INTO fills (fill_id, venue_execution_id, order_id, account, symbol, side, quantity, price, "
                   "fill_ts_ns) SELECT 'ff-' || g, 'fx-' || g, 'filler-' || g, 'acct-' || (g % 20), 'AAPL', 1, 100, "
                   "1000000, g FROM generate_series(1, $1) AS g",
                   kFiller);
    tx.commit();
  }
  REQUIRE(inserted(kOrdersPerPhase + kFiller));
  const auto before = reads();
  REQUIRE(lifecycles("b-") == kOrdersPerPhase);  // the same sessions, on the grown tables
  env.store.reset();
  env.pool.reset();
  REQUIRE(inserted(2 * kOrdersPerPhase + kFiller));
  const auto after = reads();
  INFO("second phase: " << after.seq - before.seq << " rows read by sequential scans, " << after.idx - before.idx
                        << " fetched by index scans");
  // A plan that reads the grown tables whole reads ~30k rows per batch (millions here). By key: a
  // few rows per order.
  CHECK(after.seq - before.seq < 10 * kOrdersPerPhase);
  CHECK(after.idx - before.idx < 20 * kOrdersPerPhase);
}

TEST_CASE("submitAsync completes each submit once after COMMIT, refuses past the queue bound, survives a throwing completion") {
  // Everything the completions touch is declared before the store, so the store (destroyed
  // first) drains its lanes while they still exist, even when a REQUIRE below gives up.
  std::mutex mu;
  std::condition_variable cv;
  int completed = 0, created = 0, failed = 0, overloaded = 0;
  std::set<std::string> ids;
  bool released = false;  // until then, each lane's first batch waits in the decider: the queues fill
  const RiskDecider decide = [&](const RiskInputs&) {
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::seconds(30), [&] { return released; });
    return std::optional<Rejection>();
  };
  std::vector<v1::SubmitOrderRequest> requests;
  for (int i = 0; i < 400; ++i) requests.push_back(limitBuy(i % 2 ? "acct-a" : "acct-b", "as-" + std::to_string(i)));

  OrderStoreConfig config;
  config.writer_lanes = 2;
  config.max_queued_per_lane = 40;
  config.max_batch = 16;
  StoreEnv env(config);
  allowAccount(env.url, "acct-a");
  allowAccount(env.url, "acct-b");
  // One thread queues all 400 without waiting for any, while the lanes are held: at most
  // 2 x (one batch of 16 + 40 queued) fit, the rest is refused before anything is queued.
  for (const auto& r : requests) {
    try {
      env.store->submitAsync(r, decide, [&](SubmitResult result, std::exception_ptr error) {
        bool throw_now = false;
        {
          std::lock_guard lock(mu);
          ++completed;
          if (error) ++failed;
          if (!error && result.outcome == SubmitOutcome::Created) {
            ++created;
            ids.insert(result.order.order_id());
          }
          throw_now = completed % 7 == 0;
          cv.notify_all();
        }
        if (throw_now) throw std::runtime_error("a completion that throws");  // logged by the lane, nothing else
      });
    } catch (const Overloaded&) {
      ++overloaded;
    }
  }
  CHECK(overloaded >= 400 - 2 * (16 + 40));
  {
    std::unique_lock lock(mu);
    CHECK(completed == 0);  // nothing is answered before its COMMIT, and the lanes are held
    released = true;
    cv.notify_all();
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return completed + overloaded == 400; }));
  }
  CHECK(failed == 0);
  CHECK(created == completed);
  CHECK(ids.size() == static_cast<std::size_t>(created));  // each completion once, each its own order
  CHECK(count(env.url, "SELECT count(*) FROM orders") == created);
  for (const std::string a : {"acct-a", "acct-b"}) {
    INFO(a);
    CHECK(count(env.url, "SELECT max(account_seq) FROM order_events WHERE account = '" + a + "'") ==
          count(env.url, "SELECT count(*) FROM order_events WHERE account = '" + a + "'"));
  }
  // The lanes kept working after the completions that threw.
  CHECK(env.store->submit(limitBuy("acct-a", "after"), decide).outcome == SubmitOutcome::Created);
}

// The venue restarted (S0 to S1). Before the stream has found S1 (it is in its reconnect
// backoff), the router re-sends an order whose first NewOrder had no answer: S1 takes it and
// fills it at once (an IOC), before its list, and the reply's ack is applied. The stream must
// then bring S1's reports before the repair: with only the ack, the repair took the order for
// one S0 lost and canceled it, and its fill was refused (CANCELED with 0 filled, 100 traded).
TEST_CASE("after a venue restart, an order the new session took and filled before its list ends FILLED, not canceled") {
  StoreEnv env;
  allowAccount(env.url, "acct-1");
  FakeVenue fake;
  fake.session = "S1";
  fake.new_answer = venueReport(vv1::EXEC_TYPE_NEW, "", "S1-O1", "S1-E1");
  fake.new_answer.set_exec_seq(1);
  RouterEnv side(env, fake.address());
  auto& router = side.router;
  side.positions.save({"S0", 40});  // where the stream was in the old session
  const auto id = env.store->submit(limitBuy("acct-1", "c-1", 100), acceptAll()).order.order_id();
  // And one S0 had acknowledged: gone with it.
  const auto old_id = env.store->submit(limitBuy("acct-1", "c-old", 100), acceptAll()).order.order_id();
  REQUIRE(env.store->applyTransition(old_id, Trigger::VenueAck, venueId("S0-O7")).outcome == ChangeOutcome::Applied);
  {
    // S1's journal: the order's NEW and its fill; nothing open.
    std::lock_guard lock(fake.mu);
    auto ack = fake.new_answer;
    auto fill = fillReport("", "S1-O1", "S1-E2", 100, 1'000'000, true);
    fill.set_exec_seq(2);
    fake.journal = {ack, fill};
  }
  router.start();
  side.sync.start();
  router.resendAccepted(*env.pool, 0ms);
  REQUIRE(tickstream::testing::waitUntil([&] { return env.store->getOrder(id)->status() == v1::ORDER_STATUS_ROUTED; }, 5s));
  {
    std::lock_guard lock(fake.mu);
    for (auto& r : fake.journal) r.set_order_id(id);
  }

  // Now the stream finds S1.
  const auto stream = streamReconciled(side, fake.address());
  const auto o = *env.store->getOrder(id);
  CHECK(o.status() == v1::ORDER_STATUS_FILLED);
  CHECK(o.filled_quantity() == 100);
  CHECK(env.store->getOrder(old_id)->status() == v1::ORDER_STATUS_CANCELED);
  CHECK(side.sync.flagged() == 0);
  CHECK(count(env.url, "SELECT coalesce(sum(quantity), 0) FROM positions WHERE account = 'acct-1'") == 100);
  CHECK(stream->position().session == "S1");
  CHECK(stream->position().last_applied == 2);
  stream->stop();
  side.sync.stop();
  router.stop();
}

// The new session's reports are applied ahead of its repair; a position in that session stored
// meanwhile would make a restart resume there and never repair the orders the old session lost.
TEST_CASE("a new session's position is not stored before its reconciliation") {
  StoreEnv env;
  allowAccount(env.url, "acct-1");
  RouterEnv side(env, "127.0.0.1:1");
  side.positions.save({"S0", 40});
  side.sync.start();
  const auto id = env.store->submit(limitBuy("acct-1", "c-1", 100), acceptAll()).order.order_id();
  auto ack = venueReport(vv1::EXEC_TYPE_NEW, id, "S1-O1", "S1-E1");
  ack.set_exec_seq(1);
  REQUIRE(side.sync.onReport("S1", ack));
  REQUIRE(tickstream::testing::waitUntil([&] { return env.store->getOrder(id)->status() == v1::ORDER_STATUS_ROUTED; }, 5s));
  side.sync.flushPosition();  // what a stop does: store the position now
  CHECK(side.positions.load().session == "S0");
  Reconciliation r = reconciliationInS1(true, 1);
  r.previous_last_applied = 40;
  listOrder(r, id, "S1-O1");
  REQUIRE(side.sync.onReconcile(r));
  CHECK(side.positions.load().session == "S1");
  CHECK(side.positions.load().last_applied == 1);
  CHECK(env.store->getOrder(id)->status() == v1::ORDER_STATUS_ROUTED);
  side.sync.stop();
}

// A venue that restarts twice in a row: S1 took the order (its ack applied from the reply) and
// died before the stream followed it. The stream then finds S2, which does not know the order:
// it is settled as one a restart lost, and never sent to S2 (S1 may have filled it).
TEST_CASE("an order a venue session took and lost in a second restart is canceled, not entered again") {
  StoreEnv env;
  allowAccount(env.url, "acct-1");
  FakeVenue fake;
  fake.session = "S1";
  fake.new_answer = venueReport(vv1::EXEC_TYPE_NEW, "", "S1-O1", "S1-E1");
  RouterEnv side(env, fake.address());
  side.positions.save({"S0", 40});
  const auto id = env.store->submit(limitBuy("acct-1", "c-1", 100), acceptAll()).order.order_id();
  side.router.start();
  side.sync.start();
  side.router.resendAccepted(*env.pool, 0ms);
  REQUIRE(tickstream::testing::waitUntil([&] { return env.store->getOrder(id)->status() == v1::ORDER_STATUS_ROUTED; }, 5s));
  {
    std::lock_guard lock(fake.mu);
    fake.session = "S2";
  }
  side.router.resendAccepted(*env.pool, 0ms);  // the periodic re-send: nothing is ACCEPTED
  const auto stream = streamReconciled(side, fake.address());
  CHECK(env.store->getOrder(id)->status() == v1::ORDER_STATUS_CANCELED);
  {
    std::lock_guard lock(fake.mu);
    CHECK(fake.new_orders == 1);
  }
  stream->stop();
  side.sync.stop();
  side.router.stop();
}

// A client's cancel of an order not yet acknowledged is sent when the ack comes. The client was
// answered PENDING_CANCEL then; a venue out of reach at that moment must leave it so for the
// next re-send, not take the cancel back (before 2026-12-04 it became working again, and the
// client's cancel was dropped without a word).
TEST_CASE("a cancel due after the ack that cannot reach the venue stays pending for the next re-send") {
  StoreEnv env;
  allowAccount(env.url, "acct-1");
  RouterEnv side(env, "127.0.0.1:1");
  auto& router = side.router;
  const auto id = env.store->submit(limitBuy("acct-1", "c-1", 100), acceptAll()).order.order_id();
  REQUIRE(env.store->applyTransition(id, Trigger::CancelRequest).order.status() == v1::ORDER_STATUS_PENDING_CANCEL);
  router.start();
  router.applier().apply(venueReport(vv1::EXEC_TYPE_NEW, id, "V-1", "S-E1"));
  // The venue client's retry budget is 1.5 s; the cancel_reject came after it.
  CHECK_FALSE(tickstream::testing::waitUntil(
      [&] { return env.store->getOrder(id)->status() != v1::ORDER_STATUS_PENDING_CANCEL; }, 3s));
  CHECK(env.store->getOrder(id)->venue_order_id() == "V-1");
  router.stop();
}

// The router keeps entering orders while a reconciliation lists, replays and repairs: an order
// submitted after the list was asked for, and acknowledged from the reply before the repair, is
// not in the list. It is no order the venue lost (before 2026-12-04 it was canceled here while
// the venue worked it, and its fills were then refused).
TEST_CASE("an order submitted and acknowledged while a reconciliation runs is left to the stream") {
  StoreEnv env;
  allowAccount(env.url, "acct-1");
  RouterEnv side(env, "127.0.0.1:1");
  const bool restarted = GENERATE(false, true);
  Reconciliation r = reconciliationInS1(restarted, 10);
  r.acked_before_list = side.sync.ackedBeforeList();
  // After the list: a new order, and its ack from the router's reply.
  const auto id = env.store->submit(limitBuy("acct-1", "c-late", 100), acceptAll()).order.order_id();
  side.router.applier().apply(venueReport(vv1::EXEC_TYPE_NEW, id, "S1-O11", "S1-E11"));
  REQUIRE(side.sync.onReconcile(r));
  CHECK(env.store->getOrder(id)->status() == v1::ORDER_STATUS_ROUTED);
  CHECK(side.sync.flagged() == 0);
  // The stream, from last_exec_seq + 1.
  side.router.applier().apply(fillReport(id, "S1-O11", "S1-E12", 100, 1'000'000, true));
  CHECK(env.store->getOrder(id)->status() == v1::ORDER_STATUS_FILLED);
  side.router.stop();
}
