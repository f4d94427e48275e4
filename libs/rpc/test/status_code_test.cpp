#include <catch2/catch.hpp>

#include "tickstream/rpc/status_code.h"

using tickstream::rpc::statusCodeName;

TEST_CASE("status codes are named as the gRPC spec spells them") {
  CHECK(statusCodeName(grpc::StatusCode::OK) == "OK");
  CHECK(statusCodeName(grpc::StatusCode::INVALID_ARGUMENT) == "INVALID_ARGUMENT");
  CHECK(statusCodeName(grpc::StatusCode::RESOURCE_EXHAUSTED) == "RESOURCE_EXHAUSTED");
  CHECK(statusCodeName(grpc::StatusCode::FAILED_PRECONDITION) == "FAILED_PRECONDITION");
  CHECK(statusCodeName(grpc::StatusCode::UNAVAILABLE) == "UNAVAILABLE");
  CHECK(statusCodeName(grpc::StatusCode::UNAUTHENTICATED) == "UNAUTHENTICATED");
  CHECK(statusCodeName(static_cast<grpc::StatusCode>(17)) == "OUT_OF_SPEC");
  CHECK(statusCodeName(static_cast<grpc::StatusCode>(-1)) == "OUT_OF_SPEC");
}
