#include <catch2/catch.hpp>

#include <grpcpp/grpcpp.h>

#include "grpc/health/v1/health.grpc.pb.h"
#include "tickstream/marketdata/v1/marketdata_service.grpc.pb.h"
#include "tickstream/rpc/grpc_server.h"

using tickstream::rpc::GrpcServer;
using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

namespace {

grpc::Status check(int port, const std::string& service, HealthCheckResponse& out) {
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
  auto stub = Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  HealthCheckRequest req;
  req.set_service(service);
  return stub->Check(&ctx, req, &out);
}

}  // namespace

TEST_CASE("grpc.health.v1 reports NOT_SERVING until the owner says it serves") {
  GrpcServer server({"127.0.0.1:0"});
  server.start();
  REQUIRE(server.port() > 0);

  HealthCheckResponse res;
  REQUIRE(check(server.port(), "", res).ok());
  CHECK(res.status() == HealthCheckResponse::NOT_SERVING);

  server.setAllServing(true);
  REQUIRE(check(server.port(), "", res).ok());
  CHECK(res.status() == HealthCheckResponse::SERVING);


  HealthCheckResponse unknown;
  CHECK(check(server.port(), "no.such.Service", unknown).error_code() == grpc::StatusCode::NOT_FOUND);
  server.stop();
}

TEST_CASE("a port that is taken is refused naming the address") {
  GrpcServer first({"127.0.0.1:0"});
  first.start();
  std::string taken = "127.0.0.1:" + std::to_string(first.port());
  GrpcServer second({taken});
  CHECK_THROWS_WITH(second.start(), Catch::Contains(taken));
}

TEST_CASE("a registered service is known to health checks from the start") {
  tickstream::marketdata::v1::MarketData::Service service;  // unimplemented: health only
  GrpcServer server({"127.0.0.1:0"});
  server.addService<tickstream::marketdata::v1::MarketData>(&service);
  server.start();
  const std::string name = "tickstream.marketdata.v1.MarketData";
  HealthCheckResponse res;
  REQUIRE(check(server.port(), name, res).ok());
  CHECK(res.status() == HealthCheckResponse::NOT_SERVING);
  server.setAllServing(true);
  REQUIRE(check(server.port(), name, res).ok());
  CHECK(res.status() == HealthCheckResponse::SERVING);
  server.setServing(name, false);
  REQUIRE(check(server.port(), name, res).ok());
  CHECK(res.status() == HealthCheckResponse::NOT_SERVING);
  server.stop();
}
