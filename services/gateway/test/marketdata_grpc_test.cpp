// The MarketData gRPC service in-process: a Server and its store on an I/O thread of their own,
// a real gRPC server on a loopback port, the generated client stub. No Kafka: updates are handed
// to Server::onUpdates as TickSource would.
#include <catch2/catch.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <prometheus/registry.h>

#include "conflation_queue.h"
#include "grpc_streams.h"
#include "marketdata_grpc.h"
#include "server.h"
#include "symbol_store.h"
#include "tickstream/auth/jwt.h"
#include "tickstream/rpc/grpc_server.h"
#include "tickstream/testing/infra.h"

using namespace tickstream;
using namespace tickstream::gateway;
using namespace std::chrono_literals;
namespace mdv1 = tickstream::marketdata::v1;

namespace {

const std::string kSecret = "unit-test-secret-0123456789abcdef0123";

std::string token(int64_t expires_in_s) {
  auth::Claims c;
  c.subject = "svc-risk";
  c.roles = {"service"};
  c.expires_at = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch()).count() + expires_in_s;
  return auth::Signer::hs256(kSecret).sign(c);
}

UpdatePtr quote(const std::string& symbol, uint64_t seq) {
  auto u = std::make_shared<mdv1::MarketDataUpdate>();
  u->set_symbol(symbol);
  u->set_seq(seq);
  u->mutable_quote()->set_bid_price(100'0000 + static_cast<int64_t>(seq));
  return u;
}

// One shard (0 of 2) serving MarketData over gRPC; its I/O thread runs until destruction.
struct Shard {
  boost::asio::io_context io{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  prometheus::Registry registry;
  GatewayMetrics metrics{registry};
  SymbolStore store;
  sharding::ShardRing ring{{2, 8, 1}};
  std::unique_ptr<Server> server;
  GrpcStreams streams{io, 300, &metrics};  // a write stuck for 300 ms cancels the stream
  std::unique_ptr<MarketDataGrpc> service;
  rpc::GrpcServer grpc{{"127.0.0.1:0"}};
  std::thread thread;
  std::vector<std::string> mine, theirs;

  explicit Shard(bool ready = true) {
    GatewayConfig config;
    config.listen = "127.0.0.1:0";
    config.shard_count = 2;
    config.partitions = 8;
    config.max_symbols = 3;
    config.auth.hs256_secret = kSecret;
    config.grpc_shard_endpoints = {"127.0.0.1:7000", "127.0.0.1:7001"};
    server = std::make_unique<Server>(io, config, store, ring, &metrics);
    server->setGrpcStreams(&streams);
    service = std::make_unique<MarketDataGrpc>(*server, streams, &metrics);
    grpc.addService<mdv1::MarketData>(service.get());
    grpc.start();
    for (char a = 'A'; a <= 'Z'; ++a) {
      const std::string s = std::string("U") + a;
      (ring.route(s).shards[0] == 0 ? mine : theirs).push_back(s);
    }
    REQUIRE(mine.size() >= 3);
    REQUIRE(!theirs.empty());
    std::vector<mdv1::SymbolSnapshot> snaps;
    for (std::size_t i = 0; i < 2; ++i) {  // mine[2] stays unknown
      snaps.emplace_back().set_symbol(mine[i]);
      snaps.back().set_last_seq(5);
      snaps.back().set_raw_next_offset(77);
    }
    store.loadSnapshot(snaps[0]);
    store.loadSnapshot(snaps[1]);
    if (ready) streams.setReady();
    thread = std::thread([this] { io.run(); });
  }
  ~Shard() {
    grpc.stop();
    work.reset();
    io.stop();
    thread.join();
  }

  // Runs `f` on the I/O thread and waits for it.
  template <class F>
  void onIo(F f) {
    std::promise<void> done;
    boost::asio::post(io, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }

  std::unique_ptr<mdv1::MarketData::Stub> stub(const grpc::ChannelArguments& args = {}) {
    return mdv1::MarketData::NewStub(grpc::CreateCustomChannel(
        "127.0.0.1:" + std::to_string(grpc.port()), grpc::InsecureChannelCredentials(), args));
  }
};

void withToken(grpc::ClientContext& ctx, const std::string& tok) {
  ctx.AddMetadata("authorization", "Bearer " + tok);
  ctx.set_deadline(std::chrono::system_clock::now() + 10s);
}

} // namespace

TEST_CASE("conflation queue keeps the latest update per symbol, oldest symbol first") {
  ConflationQueue q(3);
  auto frames = [](uint64_t seq) { return std::make_shared<UpdateFrames>(quote("X", seq)); };
  CHECK_FALSE(q.put(2, {frames(1), {}}));
  CHECK_FALSE(q.put(0, {frames(2), {}}));
  CHECK(q.put(2, {frames(3), {}}));  // replaces seq 1
  PendingUpdate u;
  REQUIRE(q.take(u));
  CHECK(u.frames->update().seq() == 3);  // slot 2 became pending first
  REQUIRE(q.take(u));
  CHECK(u.frames->update().seq() == 2);
  CHECK_FALSE(q.take(u));
  CHECK(q.empty());
  // Each slot at most once in the ring, however often it is refilled.
  for (uint64_t i = 0; i < 10; ++i) {
    q.put(i % 3, {frames(i), {}});
  }
  int n = 0;
  while (q.take(u)) ++n;
  CHECK(n == 3);
  q.put(1, {frames(1), {}});
  q.clear();
  CHECK_FALSE(q.take(u));
}

TEST_CASE("gRPC requests: symbol list limits and shard ownership") {
  Symbols s;
  CHECK(checkSymbols(s, 3).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  s.Add("AAPL");
  CHECK(checkSymbols(s, 3).ok());
  s.Add("aapl");
  CHECK(checkSymbols(s, 3).error_message().find("aapl") != std::string::npos);
  s.Mutable(1)->assign("AAPL");
  CHECK(checkSymbols(s, 3).error_message().find("twice") != std::string::npos);
  s.Mutable(1)->assign("MSFT");
  s.Add("IBM");
  s.Add("F");
  const grpc::Status many = checkSymbols(s, 3);
  CHECK(many.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(many.error_message().find("at most 3") != std::string::npos);

  const sharding::ShardRing ring({2, 8, 1});
  GatewayConfig config;
  config.shard_count = 2;
  config.partitions = 8;
  config.grpc_shard_endpoints = {"gw-0:9090", "gw-1:9090"};
  std::string theirs;
  for (char a = 'A'; theirs.empty(); ++a) {
    if (ring.route(std::string(1, a)).shards[0] == 1) theirs = std::string(1, a);
  }
  Symbols one;
  one.Add(std::string(theirs));
  int32_t right = -1;
  const grpc::Status st = checkOwned(one, ring, config, right);
  CHECK(st.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(right == 1);
  CHECK(st.error_message() == theirs + " is served by shard 1 at gw-1:9090");
}

TEST_CASE("gRPC calls authenticate with a bearer JWT in the metadata") {
  auth::VerifierConfig vc;
  vc.hs256_secret = kSecret;
  const auto verifier = std::optional<auth::Verifier>(auth::Verifier::fromConfig(vc));
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  std::multimap<grpc::string_ref, grpc::string_ref> md;
  CHECK(authorize(md, verifier, now).status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(authorize(md, std::nullopt, now).status.ok());  // anonymous gateway

  const std::string good = "bearer " + token(60);  // the scheme is case-insensitive
  md.emplace("authorization", good);
  const CallAuth a = authorize(md, verifier, now);
  CHECK(a.status.ok());
  CHECK(a.expires_ns >= (now + 59) * 1'000'000'000);
  CHECK(authorize(md, std::nullopt, now).status.error_code() == grpc::StatusCode::UNAUTHENTICATED);

  const std::string forged = "Bearer " + token(60) + "x";
  std::multimap<grpc::string_ref, grpc::string_ref> bad{{"authorization", forged}};
  CHECK(authorize(bad, verifier, now).status.error_message().find("token rejected") != std::string::npos);
  const std::string basic = "Basic dXNlcjpwdw==";
  std::multimap<grpc::string_ref, grpc::string_ref> other{{"authorization", basic}};
  CHECK(authorize(other, verifier, now).status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
}

TEST_CASE("GetSnapshot answers owned symbols from the store and refuses the others") {
  Shard shard;
  auto stub = shard.stub();
  const std::string tok = token(600);

  mdv1::GetSnapshotRequest req;
  req.add_symbols(shard.mine[1]);
  req.add_symbols(shard.mine[2]);
  mdv1::GetSnapshotResponse res;
  grpc::ClientContext ctx;
  withToken(ctx, tok);
  REQUIRE(stub->GetSnapshot(&ctx, req, &res).ok());
  REQUIRE(res.snapshots_size() == 1);
  CHECK(res.snapshots(0).symbol() == shard.mine[1]);
  CHECK(res.snapshots(0).last_seq() == 5);
  CHECK(res.snapshots(0).raw_next_offset() == 0);  // internal: never sent
  REQUIRE(res.unknown_symbols_size() == 1);
  CHECK(res.unknown_symbols(0) == shard.mine[2]);

  mdv1::GetSnapshotRequest wrong;
  wrong.add_symbols(shard.theirs[0]);
  grpc::ClientContext wctx;
  withToken(wctx, tok);
  const grpc::Status st = stub->GetSnapshot(&wctx, wrong, &res);
  CHECK(st.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(st.error_message().find("127.0.0.1:7001") != std::string::npos);
  const auto& trailers = wctx.GetServerTrailingMetadata();
  REQUIRE(trailers.find("tickstream-shard-id") != trailers.end());
  CHECK(std::string(trailers.find("tickstream-shard-id")->second.data(),
                    trailers.find("tickstream-shard-id")->second.size()) == "1");

  grpc::ClientContext nctx;
  nctx.set_deadline(std::chrono::system_clock::now() + 10s);
  CHECK(stub->GetSnapshot(&nctx, req, &res).error_code() == grpc::StatusCode::UNAUTHENTICATED);

  mdv1::GetSnapshotRequest many;
  for (int i = 0; i < 4; ++i) many.add_symbols(shard.mine[0] + std::to_string(i));
  grpc::ClientContext mctx;
  withToken(mctx, tok);
  CHECK(stub->GetSnapshot(&mctx, many, &res).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("calls before md.snapshot is loaded are UNAVAILABLE, not NOT_FOUND") {
  Shard shard(false);
  auto stub = shard.stub();
  mdv1::GetSnapshotRequest req;
  req.add_symbols(shard.mine[0]);
  mdv1::GetSnapshotResponse res;
  grpc::ClientContext ctx;
  withToken(ctx, token(600));
  const grpc::Status st = stub->GetSnapshot(&ctx, req, &res);
  CHECK(st.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(st.error_message().find("loading") != std::string::npos);
}

TEST_CASE("GetSnapshot gives up at the caller's deadline when the I/O thread is busy") {
  Shard shard;
  auto stub = shard.stub();
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  boost::asio::post(shard.io, [released] { released.wait(); });  // the I/O thread is stuck
  mdv1::GetSnapshotRequest req;
  req.add_symbols(shard.mine[0]);
  mdv1::GetSnapshotResponse res;
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + token(600));
  ctx.set_deadline(std::chrono::system_clock::now() + 300ms);
  CHECK(stub->GetSnapshot(&ctx, req, &res).error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  release.set_value();
}

TEST_CASE("Subscribe streams ordered updates, and a slow reader gets the latest (conflated)") {
  Shard shard;
  auto stub = shard.stub();
  const std::string sym = shard.mine[0];
  mdv1::SubscribeRequest req;
  req.add_symbols(sym);
  grpc::ClientContext ctx;
  withToken(ctx, token(600));
  auto reader = stub->Subscribe(&ctx, req);
  reader->WaitForInitialMetadata();  // the subscription is live
  shard.onIo([&] { CHECK(shard.streams.size() == 1); });

  // 2000 updates at once, while the client has not read anything.
  constexpr uint64_t kFirst = 6, kCount = 2000;
  std::vector<UpdatePtr> batch;
  for (uint64_t seq = kFirst; seq < kFirst + kCount; ++seq) batch.push_back(quote(sym, seq));
  shard.onIo([&] { shard.server->onUpdates(batch); });

  mdv1::MarketDataUpdate u;
  uint64_t last = kFirst - 1, received = 0;
  while (last < kFirst + kCount - 1 && reader->Read(&u)) {
    CHECK(u.symbol() == sym);
    CHECK(u.seq() > last);  // strictly increasing; a jump is conflation
    CHECK(u.quote().bid_price() == 100'0000 + static_cast<int64_t>(u.seq()));
    last = u.seq();
    ++received;
  }
  CHECK(last == kFirst + kCount - 1);  // the newest always arrives
  // Each update was either written or conflated away; nothing else.
  CHECK(received + static_cast<uint64_t>(shard.metrics.grpc_conflated.Value()) == kCount);
  CHECK(static_cast<uint64_t>(shard.metrics.grpc_updates_out.Value()) == received);

  // An md.ticks seq jump is loss, not conflation: the stream says so and ends.
  shard.onIo([&] { shard.server->onUpdates({quote(sym, kFirst + kCount + 5)}); });
  CHECK_FALSE(reader->Read(&u));
  const grpc::Status st = reader->Finish();
  CHECK(st.error_code() == grpc::StatusCode::DATA_LOSS);
  CHECK(st.error_message().find(sym) != std::string::npos);
  // The stream leaves the I/O thread's index once gRPC is done with it.
  CHECK(tickstream::testing::waitUntil([&] {
    bool empty = false;
    shard.onIo([&] { empty = shard.streams.size() == 0; });
    return empty;
  }, 5s));
}

TEST_CASE("Subscribe refuses unknown and other shards' symbols, filters by mode, ends on drain") {
  Shard shard;
  auto stub = shard.stub();
  const std::string tok = token(600);
  const auto finish = [&](const std::vector<std::string>& symbols, const std::string& bearer) {
    mdv1::SubscribeRequest req;
    for (const auto& s : symbols) req.add_symbols(s);
    grpc::ClientContext ctx;
    withToken(ctx, bearer);
    auto reader = stub->Subscribe(&ctx, req);
    mdv1::MarketDataUpdate u;
    while (reader->Read(&u)) {
    }
    return reader->Finish();
  };
  grpc::Status st = finish({shard.mine[0], shard.mine[2]}, tok);
  CHECK(st.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(st.error_message() == "not listed: " + shard.mine[2]);
  st = finish({shard.theirs[0]}, tok);
  CHECK(st.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(st.error_message().find("shard 1 at 127.0.0.1:7001") != std::string::npos);
  CHECK(finish({shard.mine[0]}, tok + "x").error_code() == grpc::StatusCode::UNAUTHENTICATED);

  // Trades only: a quote-only update is not sent, the trade after it is (its seq jumps by 2).
  mdv1::SubscribeRequest req;
  req.add_symbols(shard.mine[1]);
  req.add_modes(mdv1::MODE_TRADES);
  grpc::ClientContext ctx;
  withToken(ctx, tok);
  auto reader = stub->Subscribe(&ctx, req);
  reader->WaitForInitialMetadata();
  auto trade = std::make_shared<mdv1::MarketDataUpdate>(*quote(shard.mine[1], 7));
  trade->mutable_trade()->set_price(99'0000);
  shard.onIo([&] { shard.server->onUpdates({quote(shard.mine[1], 6), trade}); });
  mdv1::MarketDataUpdate u;
  REQUIRE(reader->Read(&u));
  CHECK(u.seq() == 7);
  CHECK(u.has_trade());
  CHECK_FALSE(u.has_quote());  // filtered to the requested modes

  // SIGTERM: the stream ends with UNAVAILABLE and the reason; new ones are refused likewise.
  shard.onIo([&] { shard.streams.drain("shard 0 is shutting down"); });
  CHECK_FALSE(reader->Read(&u));
  st = reader->Finish();
  CHECK(st.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(st.error_message() == "shard 0 is shutting down");
  CHECK(finish({shard.mine[0]}, tok).error_code() == grpc::StatusCode::UNAVAILABLE);
}

TEST_CASE("a Subscribe stream ends with UNAUTHENTICATED when its token expires") {
  Shard shard;
  shard.onIo([&] { shard.streams.start(); });
  auto stub = shard.stub();
  mdv1::SubscribeRequest req;
  req.add_symbols(shard.mine[0]);
  grpc::ClientContext ctx;
  withToken(ctx, token(1));
  auto reader = stub->Subscribe(&ctx, req);
  mdv1::MarketDataUpdate u;
  while (reader->Read(&u)) {
  }
  const grpc::Status st = reader->Finish();
  CHECK(st.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(st.error_message() == "token expired");
}

TEST_CASE("a Subscribe stream whose consumer stopped reading is cancelled, not buffered") {
  Shard shard;
  shard.onIo([&] { shard.streams.start(); });
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);  // the client's window stays at HTTP/2's 64 KiB
  auto stub = shard.stub(args);
  mdv1::SubscribeRequest req;
  req.add_symbols(shard.mine[0]);
  req.add_symbols(shard.mine[1]);
  grpc::ClientContext ctx;
  withToken(ctx, token(600));
  auto reader = stub->Subscribe(&ctx, req);
  reader->WaitForInitialMetadata();
  // ~24 KB updates, far more than HTTP/2's initial 64 KiB window, while nothing is read: the
  // writes stall, the pending ones conflate, and the stalled stream is cancelled.
  uint64_t seq = 6;
  const auto big = [&](const std::string& symbol) {
    auto u = std::make_shared<mdv1::MarketDataUpdate>(*quote(symbol, seq));
    for (int i = 0; i < 2000; ++i) {
      auto* level = u->mutable_depth()->add_bids();
      level->set_price(100'0000 - i);
      level->set_size(100 + i);
    }
    return UpdatePtr(u);
  };
  REQUIRE(tickstream::testing::waitUntil([&] {
    std::vector<UpdatePtr> batch{big(shard.mine[0]), big(shard.mine[1])};
    ++seq;
    bool gone = false;
    shard.onIo([&] {
      shard.server->onUpdates(batch);
      gone = shard.streams.size() == 0;
    });
    return gone;
  }, 10s, 50ms));
  CHECK(shard.metrics.slow_client_closes.Value() == 1);
  CHECK(shard.metrics.grpc_conflated.Value() > 0);
  mdv1::MarketDataUpdate u;
  while (reader->Read(&u)) {
  }
  CHECK(reader->Finish().error_code() == grpc::StatusCode::CANCELLED);
}
