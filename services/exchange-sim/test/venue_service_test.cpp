#include <catch2/catch.hpp>

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "market.h"
#include "matching_engine.h"
#include "tickstream/rpc/grpc_server.h"
#include "tickstream/venue/v1/venue.grpc.pb.h"
#include "venue_service.h"

using tickstream::exchange_sim::MarketSimulator;
using tickstream::exchange_sim::MatchingEngine;
using tickstream::exchange_sim::VenueFault;
using tickstream::exchange_sim::VenueService;
using tickstream::rpc::GrpcServer;
namespace v1 = tickstream::venue::v1;
namespace ov1 = tickstream::order::v1;
using namespace std::chrono_literals;

namespace {

// The Venue service in process on 127.0.0.1:0 over a fresh simulator (empty books, so routed
// orders meet only each other), and a real stub to it.
struct Served {
  MarketSimulator sim{{.symbols = 2, .seed = 7}};
  std::mutex market_mu;
  MatchingEngine engine{{.session = "S1"}, sim, [] { return int64_t{1}; }};
  VenueService service{{.stall = 5s, .stream_poll = 20ms}, market_mu, engine};
  GrpcServer server{{"127.0.0.1:0"}};
  std::unique_ptr<v1::Venue::Stub> stub;

  Served() {
    server.addService<v1::Venue>(&service);
    server.start();
    server.setAllServing(true);
    stub = v1::Venue::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(server.port()),
                                                  grpc::InsecureChannelCredentials()));
  }
  ~Served() {
    service.shutdown();
    server.stop();
  }

  static void deadline(grpc::ClientContext& ctx, std::chrono::milliseconds in = 10s) {
    ctx.set_deadline(std::chrono::system_clock::now() + in);
  }

  grpc::Status newOrder(const std::string& id, ov1::Side side, int64_t qty, int64_t price,
                        v1::NewOrderResponse& out) {
    v1::NewOrderRequest r;
    r.set_order_id(id);
    r.set_account("acct");
    r.set_symbol(std::string(sim.symbol(1)));
    r.set_side(side);
    r.set_type(ov1::ORDER_TYPE_LIMIT);
    r.set_time_in_force(ov1::TIME_IN_FORCE_DAY);
    r.set_quantity(qty);
    r.set_limit_price(price);
    grpc::ClientContext ctx;
    deadline(ctx);
    return stub->NewOrder(&ctx, r, &out);
  }
  v1::NewOrderResponse mustNewOrder(const std::string& id, ov1::Side side, int64_t qty,
                                    int64_t price) {
    v1::NewOrderResponse out;
    const grpc::Status s = newOrder(id, side, qty, price, out);
    INFO(s.error_message());
    REQUIRE(s.ok());
    return out;
  }
  grpc::Status cancel(const std::string& id) {
    v1::CancelOrderRequest r;
    r.set_order_id(id);
    v1::CancelOrderResponse out;
    grpc::ClientContext ctx;
    deadline(ctx);
    return stub->CancelOrder(&ctx, r, &out);
  }
  v1::ListOpenOrdersResponse open() {
    v1::ListOpenOrdersResponse out;
    grpc::ClientContext ctx;
    deadline(ctx);
    REQUIRE(stub->ListOpenOrders(&ctx, v1::ListOpenOrdersRequest{}, &out).ok());
    return out;
  }
};

// A StreamExecutions call from `from`; every Read waits at most until the call's deadline.
struct Stream {
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<v1::ExecutionReport>> reader;
  bool finished = false;

  Stream(Served& s, uint64_t from) {
    Served::deadline(ctx);
    v1::StreamExecutionsRequest r;
    r.set_from_execution_seq(from);
    reader = s.stub->StreamExecutions(&ctx, r);
  }
  ~Stream() {
    if (!finished) {
      ctx.TryCancel();
      reader->Finish();
    }
  }
  grpc::Status finish() {
    finished = true;
    return reader->Finish();
  }
  v1::ExecutionReport next() {
    v1::ExecutionReport r;
    REQUIRE(reader->Read(&r));
    return r;
  }
};

} // namespace

TEST_CASE("Venue over gRPC: a fill arrives on StreamExecutions, a retried NewOrder returns the "
          "first answer, ListOpenOrders shows what rests") {
  Served s;
  Stream stream(s, 1);
  const auto sell = s.mustNewOrder("s1", ov1::SIDE_SELL, 100, 10'0000);
  CHECK(sell.order_id() == "s1");
  CHECK(sell.venue_order_id() == "S1-O1");
  CHECK(sell.report().exec_type() == v1::EXEC_TYPE_NEW);
  const auto buy = s.mustNewOrder("b1", ov1::SIDE_BUY, 40, 10'0000);

  const auto r1 = stream.next();
  CHECK(r1.exec_seq() == 1);
  CHECK(r1.venue_execution_id() == sell.report().venue_execution_id());
  CHECK(stream.next().exec_type() == v1::EXEC_TYPE_NEW);
  const auto maker = stream.next();
  CHECK(maker.order_id() == "s1");
  CHECK(maker.exec_type() == v1::EXEC_TYPE_PARTIAL_FILL);
  CHECK(maker.liquidity() == ov1::LIQUIDITY_ADDED);
  const auto taker = stream.next();
  CHECK(taker.order_id() == "b1");
  CHECK(taker.exec_type() == v1::EXEC_TYPE_FILL);
  CHECK(taker.last_quantity() == 40);
  CHECK(taker.last_price() == 10'0000);
  CHECK(taker.exec_seq() == 4);
  const auto& metadata = stream.ctx.GetServerInitialMetadata();
  const auto session = metadata.find(std::string(VenueService::kSessionHeader));
  REQUIRE(session != metadata.end());
  CHECK(std::string(session->second.data(), session->second.size()) == "S1");

  // A retry, e.g. after a timeout, enters nothing: same answer, no new report.
  const auto retry = s.mustNewOrder("b1", ov1::SIDE_BUY, 40, 10'0000);
  CHECK(retry.venue_order_id() == buy.venue_order_id());
  CHECK(retry.report().exec_seq() == buy.report().exec_seq());
  v1::NewOrderResponse ignored;
  CHECK(s.newOrder("b1", ov1::SIDE_BUY, 41, 10'0000, ignored).error_code() ==
        grpc::StatusCode::ALREADY_EXISTS);

  const auto open = s.open();
  CHECK(open.last_exec_seq() == 4);
  REQUIRE(open.orders_size() == 1);
  CHECK(open.orders(0).order_id() == "s1");
  CHECK(open.orders(0).venue_order_id() == sell.venue_order_id());
  CHECK(open.orders(0).leaves_quantity() == 60);

  CHECK(s.cancel("nope").error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(s.cancel("s1").ok());
  CHECK(s.cancel("s1").error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  const auto canceled = stream.next();
  CHECK(canceled.exec_type() == v1::EXEC_TYPE_CANCELED);
  CHECK(canceled.exec_seq() == 5);
}

TEST_CASE("NewOrders enters a batch in order, each as NewOrder would, with per-order refusals") {
  Served s;
  const auto order = [&](const std::string& id, ov1::Side side, int64_t qty) {
    v1::NewOrderRequest r;
    r.set_order_id(id);
    r.set_account("acct");
    r.set_symbol(std::string(s.sim.symbol(1)));
    r.set_side(side);
    r.set_type(ov1::ORDER_TYPE_LIMIT);
    r.set_time_in_force(ov1::TIME_IN_FORCE_DAY);
    r.set_quantity(qty);
    r.set_limit_price(10'0000);
    return r;
  };
  s.mustNewOrder("s0", ov1::SIDE_SELL, 10, 10'0000);  // already at the venue
  v1::NewOrdersRequest batch;
  *batch.add_orders() = order("s1", ov1::SIDE_SELL, 100);
  *batch.add_orders() = order("b1", ov1::SIDE_BUY, 40);   // meets s0 then s1: entered after s1
  *batch.add_orders() = order("s0", ov1::SIDE_SELL, 11);  // s0's id with another payload
  *batch.add_orders() = order("s0", ov1::SIDE_SELL, 10);  // a retry of s0: its first answer
  *batch.add_orders() = order("", ov1::SIDE_BUY, 1);      // no order id
  v1::NewOrdersResponse out;
  grpc::ClientContext ctx;
  Served::deadline(ctx);
  REQUIRE(s.stub->NewOrders(&ctx, batch, &out).ok());
  REQUIRE(out.results_size() == 5);
  CHECK(out.results(0).code() == 0);
  CHECK(out.results(0).response().order_id() == "s1");
  CHECK(out.results(0).response().report().exec_type() == v1::EXEC_TYPE_NEW);
  CHECK(out.results(1).code() == 0);
  CHECK(out.results(1).response().report().exec_seq() > out.results(0).response().report().exec_seq());
  CHECK(out.results(2).code() == static_cast<int>(grpc::StatusCode::ALREADY_EXISTS));
  CHECK_FALSE(out.results(2).message().empty());
  CHECK(out.results(3).code() == 0);
  CHECK(out.results(3).response().report().exec_seq() == 1);  // s0's NEW, not a second entry
  CHECK(out.results(4).code() == static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  // b1 filled 10 against s0 and 30 against s1: s1 rests with 70.
  const auto open = s.open();
  REQUIRE(open.orders_size() == 1);
  CHECK(open.orders(0).order_id() == "s1");
  CHECK(open.orders(0).leaves_quantity() == 70);

  v1::NewOrdersRequest too_many;
  for (int i = 0; i < 1001; ++i) *too_many.add_orders() = order("x" + std::to_string(i), ov1::SIDE_BUY, 1);
  grpc::ClientContext ctx2;
  Served::deadline(ctx2);
  CHECK(s.stub->NewOrders(&ctx2, too_many, &out).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("StreamExecutions resumes at a given exec_seq and refuses one past the end") {
  Served s;
  s.mustNewOrder("s1", ov1::SIDE_SELL, 100, 10'0000);
  s.mustNewOrder("b1", ov1::SIDE_BUY, 100, 10'0000); // 4 reports

  {
    Stream resumed(s, 3);
    CHECK(resumed.next().exec_seq() == 3);
    CHECK(resumed.next().exec_seq() == 4);
    // Then live: a report made after the stream caught up wakes it.
    s.mustNewOrder("b2", ov1::SIDE_BUY, 10, 9'0000);
    const auto live = resumed.next();
    CHECK(live.exec_seq() == 5);
    CHECK(live.order_id() == "b2");
  }

  Stream future(s, 7); // the next report is 6: 7 is a point of an earlier run of the venue
  v1::ExecutionReport r;
  CHECK_FALSE(future.reader->Read(&r));
  CHECK(future.finish().error_code() == grpc::StatusCode::OUT_OF_RANGE);
}

TEST_CASE("fault knobs: unavailable fails every call, reject-all rejects orders, stall lets "
          "deadlines pass") {
  Served s;
  v1::NewOrderResponse out;

  s.service.setFault(VenueFault::Unavailable);
  CHECK(s.newOrder("a", ov1::SIDE_BUY, 10, 10'0000, out).error_code() ==
        grpc::StatusCode::UNAVAILABLE);

  s.service.setFault(VenueFault::RejectAll);
  REQUIRE(s.newOrder("b", ov1::SIDE_BUY, 10, 10'0000, out).ok());
  CHECK(out.report().exec_type() == v1::EXEC_TYPE_REJECTED);
  CHECK(out.venue_order_id().empty());

  s.service.setFault(VenueFault::Stall);
  {
    grpc::ClientContext ctx;
    Served::deadline(ctx, 300ms);
    v1::ListOpenOrdersResponse open;
    CHECK(s.stub->ListOpenOrders(&ctx, v1::ListOpenOrdersRequest{}, &open).error_code() ==
          grpc::StatusCode::DEADLINE_EXCEEDED);
  }

  s.service.setFault(VenueFault::None);
  REQUIRE(s.newOrder("c", ov1::SIDE_BUY, 10, 10'0000, out).ok());
  CHECK(out.report().exec_type() == v1::EXEC_TYPE_NEW);
}
