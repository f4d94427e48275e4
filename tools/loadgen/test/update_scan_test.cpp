#include <catch2/catch.hpp>

#include <string>

#include "tickstream/gateway/v1/gateway.pb.h"
#include "update_scan.h"

using namespace tickstream::loadgen;
namespace gv1 = tickstream::gateway::v1;

TEST_CASE("the update scan reads what protobuf wrote") {
  gv1::ServerMessage m;
  auto* u = m.mutable_update()->mutable_update();
  u->set_symbol("AAPL");
  u->set_seq(48215);
  u->set_exchange_ts_ns(1735828200001234567);
  u->set_receive_ts_ns(1735828200001280000);
  u->set_publish_ts_ns(1735828200001350000);
  u->mutable_quote()->set_bid_price(2431500);
  u->mutable_trade()->set_price(2431600);
  u->add_bars()->set_open(1);
  m.mutable_update()->set_skipped_by_conflation(3);
  const std::string wire = m.SerializeAsString();
  UpdateFields f;
  REQUIRE(scanServerMessage(wire.data(), wire.size(), f) == ScanResult::Update);
  CHECK(f.symbol == "AAPL");
  CHECK(f.seq == 48215);
  CHECK(f.receive_ts_ns == 1735828200001280000);
  CHECK(f.publish_ts_ns == 1735828200001350000);
  CHECK(f.skipped == 3);
}

TEST_CASE("other server messages are left to the full parser") {
  gv1::ServerMessage m;
  m.set_request_id(7);
  m.mutable_snapshot()->mutable_snapshot()->set_symbol("AAPL");
  const std::string wire = m.SerializeAsString();
  UpdateFields f;
  CHECK(scanServerMessage(wire.data(), wire.size(), f) == ScanResult::NotUpdate);
}

TEST_CASE("a truncated update is malformed, not misread") {
  gv1::ServerMessage m;
  m.mutable_update()->mutable_update()->set_symbol("AAPL");
  m.mutable_update()->mutable_update()->set_seq(1);
  const std::string wire = m.SerializeAsString();
  UpdateFields f;
  CHECK(scanServerMessage(wire.data(), wire.size() - 1, f) == ScanResult::Malformed);
}
