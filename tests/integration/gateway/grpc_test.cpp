// A gateway shard's gRPC MarketData service, on the real broker with the real gateway binary,
// called through the generated C++ stub: health, GetSnapshot, Subscribe with ordered updates,
// wrong shard, unknown symbol, bad token, and SIGTERM ending the stream with UNAVAILABLE.
#include <catch2/catch.hpp>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "grpc/health/v1/health.grpc.pb.h"
#include "tickstream/auth/jwt.h"
#include "tickstream/kafka/admin.h"
#include "tickstream/kafka/producer.h"
#include "tickstream/marketdata/v1/marketdata_service.grpc.pb.h"
#include "tickstream/sharding/ring.h"
#include "tickstream/testing/child.h"
#include "tickstream/testing/infra.h"
#include "tickstream/testing/topic_cleanup.h"

#include "gateway_support.h"

using namespace std::chrono_literals;
namespace testing = tickstream::testing;
namespace kafka = tickstream::kafka;
namespace mdv1 = tickstream::marketdata::v1;
using grpc::health::v1::HealthCheckResponse;
using tickstream::testing::gateway::freePort;

namespace {

constexpr int32_t kPartitions = 8;
const std::string kSecret = "integration-test-grpc-secret-0123456789";

std::string token(const std::string& subject, std::vector<std::string> roles) {
  tickstream::auth::Claims c;
  c.subject = subject;
  c.roles = std::move(roles);
  c.expires_at = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch()).count() + 3600;
  return tickstream::auth::Signer::hs256(kSecret).sign(c);
}

void prepare(grpc::ClientContext& ctx, const std::string& tok) {
  ctx.AddMetadata("authorization", "Bearer " + tok);
  ctx.set_deadline(std::chrono::system_clock::now() + 20s);
}

HealthCheckResponse::ServingStatus health(const std::shared_ptr<grpc::Channel>& channel,
                                          const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  grpc::health::v1::HealthCheckRequest req;
  req.set_service(service);
  HealthCheckResponse res;
  const grpc::Status st = stub->Check(&ctx, req, &res);
  INFO(st.error_message());
  REQUIRE(st.ok());
  return res.status();
}

} // namespace

TEST_CASE("a gateway shard serves MarketData over gRPC to internal clients") {
  const std::string dir = testing::uniqueName(
      (std::filesystem::temp_directory_path() / "tickstream-gateway-grpc").string());
  std::filesystem::create_directories(dir);
  const std::string brokers = testing::kafkaBootstrap();
  const std::string ticks_topic = testing::uniqueName("it.gwrpc.ticks");
  const std::string snapshot_topic = testing::uniqueName("it.gwrpc.snapshot");
  const testing::TopicCleanup cleanup(brokers, {ticks_topic, snapshot_topic});  // passed or failed
  kafka::Admin admin(brokers);
  admin.ensureTopics({{ticks_topic, kPartitions, 1, {}},
                      {snapshot_topic, kPartitions, 1, {{"cleanup.policy", "compact"}}}});

  const tickstream::sharding::ShardRing ring({2, kPartitions, 1});
  std::vector<std::string> mine, theirs;
  for (char a = 'A'; a <= 'Z'; ++a) {
    const std::string s = std::string("RP") + a;
    (ring.route(s).shards[0] == 0 ? mine : theirs).push_back(s);
  }
  REQUIRE(mine.size() >= 2);
  REQUIRE(!theirs.empty());
  const std::string sym = mine[0];
  std::string unknown;  // shard 0's, never published
  for (int i = 0; unknown.empty(); ++i) {
    const std::string s = "NONE" + std::to_string(i);
    if (ring.route(s).shards[0] == 0) unknown = s;
  }

  kafka::ProducerConfig pc;
  pc.brokers = brokers;
  pc.linger_ms = 1;
  kafka::Producer producer(pc);
  for (const auto& s : mine) {
    mdv1::SymbolSnapshot snap;
    snap.set_symbol(s);
    snap.set_last_seq(5);
    snap.mutable_quote()->set_bid_price(100'0000);
    snap.mutable_quote()->set_ask_price(101'0000);
    REQUIRE(producer.produce(snapshot_topic, s, snap.SerializeAsString()) == kafka::ProduceResult::Ok);
  }
  REQUIRE(producer.flush(10s));

  // Shard 0 of 2 runs; shard 1's endpoint is only named in wrong-shard errors.
  const uint16_t grpc_port = freePort();
  const std::string endpoint0 = "127.0.0.1:" + std::to_string(grpc_port);
  const std::string endpoint1 = "127.0.0.1:" + std::to_string(freePort());
  testing::Child gw({TICKSTREAM_GATEWAY_BIN, "--kafka-brokers", brokers, "--ticks-topic", ticks_topic,
                     "--snapshot-topic", snapshot_topic, "--md-partitions", std::to_string(kPartitions),
                     "--shard-id", "0", "--shard-count", "2", "--listen", "127.0.0.1:0",
                     "--grpc-listen", endpoint0, "--grpc-shard-endpoints", endpoint0 + "," + endpoint1,
                     "--jwt-hs256-secret", kSecret, "--metrics-listen", "127.0.0.1:0", "--drain-grace-ms", "2000"},
                    dir + "/gateway.log");
  INFO("gateway log:\n" << gw.log());
  REQUIRE(testing::waitUntil(
      [&] { return gw.log().find("\"gateway ready\"") != std::string::npos || !gw.running(); }, 30s));
  REQUIRE(gw.running());

  auto channel = grpc::CreateChannel(endpoint0, grpc::InsecureChannelCredentials());
  CHECK(health(channel, "") == HealthCheckResponse::SERVING);
  CHECK(health(channel, "tickstream.marketdata.v1.MarketData") == HealthCheckResponse::SERVING);
  auto stub = mdv1::MarketData::NewStub(channel);
  const std::string service_token = token("svc-risk", {"service"});

  // Updates for `sym` keep flowing: seq 6, 7, ...
  std::atomic<bool> stop{false};
  std::thread feed([&] {
    for (uint64_t seq = 6; !stop; ++seq) {
      mdv1::MarketDataUpdate u;
      u.set_symbol(sym);
      u.set_seq(seq);
      u.mutable_quote()->set_bid_price(100'0000 + static_cast<int64_t>(seq));
      u.mutable_quote()->set_ask_price(101'0000);
      if (producer.produce(ticks_topic, sym, u.SerializeAsString()) != kafka::ProduceResult::Ok) {
        --seq;  // retried: the seq stays dense
      }
      std::this_thread::sleep_for(10ms);  // pacing, not synchronisation
    }
  });
  struct StopFeed {
    std::atomic<bool>& stop;
    std::thread& t;
    ~StopFeed() {
      stop = true;
      if (t.joinable()) t.join();
    }
  } stop_feed{stop, feed};

  {
    // Subscribe first, then GetSnapshot (the proto's recipe for a gap-free view): updates
    // after the snapshot's last_seq arrive in strictly increasing seq order.
    mdv1::SubscribeRequest sreq;
    sreq.add_symbols(sym);
    grpc::ClientContext sctx;
    prepare(sctx, service_token);
    auto reader = stub->Subscribe(&sctx, sreq);
    reader->WaitForInitialMetadata();

    mdv1::GetSnapshotRequest req;
    req.add_symbols(sym);
    req.add_symbols(unknown);
    mdv1::GetSnapshotResponse res;
    grpc::ClientContext ctx;
    prepare(ctx, service_token);
    const grpc::Status st = stub->GetSnapshot(&ctx, req, &res);
    INFO(st.error_message());
    REQUIRE(st.ok());
    REQUIRE(res.snapshots_size() == 1);
    CHECK(res.snapshots(0).symbol() == sym);
    CHECK(res.snapshots(0).last_seq() >= 5);
    CHECK(res.snapshots(0).quote().ask_price() == 101'0000);
    REQUIRE(res.unknown_symbols_size() == 1);
    CHECK(res.unknown_symbols(0) == unknown);

    uint64_t last = 0;
    int after_snapshot = 0;
    mdv1::MarketDataUpdate u;
    while (after_snapshot < 20 && reader->Read(&u)) {
      CHECK(u.symbol() == sym);
      CHECK(u.seq() > last);
      CHECK(u.quote().bid_price() == 100'0000 + static_cast<int64_t>(u.seq()));
      CHECK(u.raw_next_offset() == 0);
      last = u.seq();
      after_snapshot += u.seq() > res.snapshots(0).last_seq() ? 1 : 0;
    }
    CHECK(after_snapshot == 20);
    sctx.TryCancel();
    while (reader->Read(&u)) {
    }
    CHECK(reader->Finish().error_code() == grpc::StatusCode::CANCELLED);
  }

  const auto subscribeStatus = [&](const std::string& symbol, const std::string& tok) {
    mdv1::SubscribeRequest req;
    req.add_symbols(symbol);
    grpc::ClientContext ctx;
    prepare(ctx, tok);
    auto reader = stub->Subscribe(&ctx, req);
    mdv1::MarketDataUpdate u;
    while (reader->Read(&u)) {
    }
    return reader->Finish();
  };

  {
    // Another shard's symbol: refused, naming the shard that serves it and its gRPC endpoint.
    grpc::Status st = subscribeStatus(theirs[0], service_token);
    CHECK(st.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(st.error_message() == theirs[0] + " is served by shard 1 at " + endpoint1);
    mdv1::GetSnapshotRequest req;
    req.add_symbols(theirs[0]);
    mdv1::GetSnapshotResponse res;
    grpc::ClientContext ctx;
    prepare(ctx, service_token);
    CHECK(stub->GetSnapshot(&ctx, req, &res).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    const auto& trailers = ctx.GetServerTrailingMetadata();
    const auto it = trailers.find("tickstream-shard-endpoint");
    REQUIRE(it != trailers.end());
    CHECK(std::string(it->second.data(), it->second.size()) == endpoint1);

    // A symbol this shard would serve but has never seen.
    st = subscribeStatus(unknown, service_token);
    CHECK(st.error_code() == grpc::StatusCode::NOT_FOUND);
    CHECK(st.error_message().find(unknown) != std::string::npos);
  }

  {
    // Tokens: forged, missing, and a user's (not only services may read market data).
    CHECK(subscribeStatus(sym, service_token + "x").error_code() == grpc::StatusCode::UNAUTHENTICATED);
    mdv1::GetSnapshotRequest req;
    req.add_symbols(sym);
    mdv1::GetSnapshotResponse res;
    grpc::ClientContext none;
    none.set_deadline(std::chrono::system_clock::now() + 10s);
    CHECK(stub->GetSnapshot(&none, req, &res).error_code() == grpc::StatusCode::UNAUTHENTICATED);
    grpc::ClientContext user;
    prepare(user, token("alice", {}));
    CHECK(stub->GetSnapshot(&user, req, &res).ok());
  }

  {
    // SIGTERM: an open stream ends with UNAVAILABLE and a message, the shard exits 0.
    mdv1::SubscribeRequest req;
    req.add_symbols(sym);
    grpc::ClientContext ctx;
    prepare(ctx, service_token);
    auto reader = stub->Subscribe(&ctx, req);
    mdv1::MarketDataUpdate u;
    REQUIRE(reader->Read(&u));
    gw.signal(SIGTERM);
    while (reader->Read(&u)) {
    }
    const grpc::Status st = reader->Finish();
    CHECK(st.error_code() == grpc::StatusCode::UNAVAILABLE);
    CHECK(st.error_message().find("shutting down") != std::string::npos);
    CHECK(gw.waitExit(20s) == std::optional<int>(0));
  }

  stop = true;
  feed.join();
  std::filesystem::remove_all(dir);
}
