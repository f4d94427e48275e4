#pragma once

#include <grpcpp/grpcpp.h>

#include <string_view>

namespace tickstream::rpc {

// The canonical name of a gRPC status code ("NOT_FOUND"), as grpcurl and the gRPC docs spell
// it, for messages and JSON keys; "OUT_OF_SPEC" for a number outside 0..16 (possible on the
// wire). gRPC C++ has no public function for it.
[[nodiscard]] std::string_view statusCodeName(grpc::StatusCode code) noexcept;

}  // namespace tickstream::rpc
