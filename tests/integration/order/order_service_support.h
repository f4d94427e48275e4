#pragma once

// The whole order service as a process for the integration tests: a fresh schema on the
// `postgres` fixture, its own Kafka topics on the `kafka` fixture (md.snapshot seeded with the
// venue's symbol), the real exchange-sim venue, and the real order-service binary.

#include <catch2/catch.hpp>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "order_store_support.h"
#include "tickstream/auth/jwt.h"
#include "tickstream/kafka/admin.h"
#include "tickstream/kafka/producer.h"
#include "tickstream/kafka/topics.h"
#include "tickstream/marketdata/v1/marketdata.pb.h"
#include "tickstream/order/v1/order_service.grpc.pb.h"
#include "tickstream/testing/metrics.h"
#include "tickstream/testing/topic_cleanup.h"
#include "venue_process.h"

namespace tickstream::order::test {

inline constexpr const char* kSecret = "integration-test-secret-at-least-32-bytes!";
// The seeded last trade: $1.00, far below any price exchange-sim quotes (its opening mids are
// $5..$500), so a limit buy inside the ±10% band around it rests at the venue and never trades,
// while a market order trades against the venue's real book.
inline constexpr std::int64_t kLastTrade = 10'000;
inline constexpr const char* kHalted = "HALTD";

inline std::string token(const std::string& subject, bool service = false, std::int64_t ttl = 3600) {
  auth::Claims c;
  c.subject = subject;
  c.issued_at = std::time(nullptr);
  c.expires_at = c.issued_at + ttl;
  if (service) c.roles = {"service"};
  return auth::Signer::hs256(kSecret).sign(c);
}

struct ServiceEnv {
  std::string snapshot_topic = testing::uniqueName("it.md.snapshot");
  std::string events_topic = testing::uniqueName("it.orders.events");
  std::string fills_topic = testing::uniqueName("it.orders.fills");
  // Declared before the service and the venue, so it deletes the topics after they are gone.
  testing::TopicCleanup topics{testing::kafkaBootstrap(), {snapshot_topic, events_topic, fills_topic}};
  std::string url;
  std::int64_t lock_key = (static_cast<std::int64_t>(::getpid()) << 20) + 77;
  std::unique_ptr<VenueProcess> venue;
  std::unique_ptr<testing::Child> service;
  int port = 0;
  std::uint16_t metrics_port = 0;  // the service's /metrics
  int restarts = 0;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::OrderService::Stub> stub;

  ServiceEnv() {
    kafka::Admin admin(testing::kafkaBootstrap());
    admin.ensureTopics({kafka::topics::platformTopic(kafka::topics::kMdSnapshot, snapshot_topic),
                        kafka::topics::platformTopic(kafka::topics::kOrdersEvents, events_topic),
                        kafka::topics::platformTopic(kafka::topics::kOrdersFills, fills_topic)});
    seedSnapshots();
    url = freshSchemaUrl("order_service");
    allowAccount(url, "alice");
    allowAccount(url, "bob");
    venue = std::make_unique<VenueProcess>("svc-it-1", 0);
    start();
  }

  // md.snapshot says the venue's symbol last traded at `price` (the price band's centre); false
  // when the broker did not take it.
  bool publishLastTrade(std::int64_t price) { return publishSnapshots({{symbol(), price, false}}); }

  void seedSnapshots() {
    REQUIRE(publishSnapshots({{symbol(), kLastTrade, false}, {kHalted, kLastTrade, true}}));
  }

  struct Listing {
    std::string symbol;
    std::int64_t last_trade;
    bool halted;
  };
  // Each listing's SymbolSnapshot on md.snapshot, as the normalizer would keep it.
  bool publishSnapshots(const std::vector<Listing>& listings) {
    kafka::ProducerConfig pc;
    pc.brokers = testing::kafkaBootstrap();
    kafka::Producer producer(pc);
    for (const auto& l : listings) {
      marketdata::v1::SymbolSnapshot s;
      s.set_symbol(l.symbol);
      s.mutable_last_trade()->set_price(l.last_trade);
      s.mutable_status()->set_state(l.halted ? marketdata::v1::TRADING_STATE_HALTED
                                             : marketdata::v1::TRADING_STATE_TRADING);
      producer.produce(snapshot_topic, s.symbol(), s.SerializeAsString());
    }
    return producer.flushAndVerify(std::chrono::seconds(30));
  }

  // The value of one sample of /metrics, e.g. `order_rejects_total{reason="venue_unavailable"}`;
  // 0 when the series is not there yet.
  double metric(const std::string& series) const {
    return testing::metricValue(metrics_port, series).value_or(0.0);
  }

  // Starts the service (again, after a kill: same port) and waits until it is SERVING.
  void start() {
    const std::string log = "/tmp/order_service_it_" + std::to_string(::getpid()) + "_" + std::to_string(restarts++) + ".log";
    service = std::make_unique<testing::Child>(
        std::vector<std::string>{TICKSTREAM_ORDER_SERVICE_BIN, "--grpc-listen", "127.0.0.1:" + std::to_string(port),
                                 "--pg-url", url, "--kafka-brokers", testing::kafkaBootstrap(), "--venue",
                                 venue->address(), "--jwt-hs256-secret", kSecret, "--snapshot-topic", snapshot_topic,
                                 "--events-topic", events_topic, "--fills-topic", fills_topic,
                                 "--outbox-lock-key", std::to_string(lock_key), "--outbox-notify-channel",
                                 "outbox_it_" + std::to_string(::getpid()), "--breaker-open-ms", "500",
                                 "--metrics-listen", "127.0.0.1:0"},
        log);
    const std::regex listening(R"(order service listening.*"port":(\d+))");
    std::smatch m;
    std::string text;
    INFO("order-service log: " << log);
    REQUIRE(testing::waitUntil([&] {
      text = service->log();
      return std::regex_search(text, m, listening) || !service->running();
    }, std::chrono::seconds(30)));
    INFO(text);
    REQUIRE(std::regex_search(text, m, listening));
    port = std::stoi(m[1].str());
    metrics_port = testing::metricsPort(*service);
    REQUIRE(metrics_port != 0);
    channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
    stub = v1::OrderService::NewStub(channel);
    auto health = grpc::health::v1::Health::NewStub(channel);
    REQUIRE(testing::waitUntil([&] {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
      grpc::health::v1::HealthCheckRequest req;
      req.set_service("tickstream.order.v1.OrderService");
      grpc::health::v1::HealthCheckResponse res;
      return health->Check(&ctx, req, &res).ok() && res.status() == grpc::health::v1::HealthCheckResponse::SERVING;
    }, std::chrono::seconds(30)));
  }

  // A context carrying `bearer` (none when empty) and a deadline.
  static std::unique_ptr<grpc::ClientContext> ctx(const std::string& bearer) {
    auto c = std::make_unique<grpc::ClientContext>();
    if (!bearer.empty()) c->AddMetadata("authorization", "Bearer " + bearer);
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return c;
  }

  grpc::Status submit(const std::string& bearer, const v1::SubmitOrderRequest& req, v1::SubmitOrderResponse& res) {
    auto c = ctx(bearer);
    return stub->SubmitOrder(c.get(), req, &res);
  }

  v1::Order get(const std::string& account, const std::string& order_id) {
    v1::GetOrderRequest req;
    req.set_account(account);
    req.set_order_id(order_id);
    v1::GetOrderResponse res;
    auto c = ctx(token(account));
    const auto s = stub->GetOrder(c.get(), req, &res);
    INFO(s.error_message());
    REQUIRE(s.ok());
    return res.order();
  }

  // Polls GetOrder until the order reaches `status` (true) or 15 s pass (false).
  bool waitStatus(const std::string& account, const std::string& order_id, v1::OrderStatus status) {
    return testing::waitUntil([&] { return get(account, order_id).status() == status; }, std::chrono::seconds(15));
  }
};

// A limit buy of the venue's symbol inside the band that rests at the venue.
inline v1::SubmitOrderRequest restingLimitBuy(const std::string& account, const std::string& client_order_id) {
  auto r = limitBuy(account, client_order_id, 100, symbol(), kLastTrade - 500);
  r.set_time_in_force(v1::TIME_IN_FORCE_GTC);
  return r;
}

inline v1::SubmitOrderRequest marketBuy(const std::string& account, const std::string& client_order_id,
                                        long long quantity = 100) {
  auto r = limitBuy(account, client_order_id, quantity, symbol(), 0);
  r.set_type(v1::ORDER_TYPE_MARKET);
  r.set_time_in_force(v1::TIME_IN_FORCE_IOC);
  return r;
}

}  // namespace tickstream::order::test
