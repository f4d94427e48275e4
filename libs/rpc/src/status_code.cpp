#include "tickstream/rpc/status_code.h"

#include <array>

namespace tickstream::rpc {

std::string_view statusCodeName(grpc::StatusCode code) noexcept {
  // Indexed by the code's number, which the gRPC spec fixes (0..16).
  static constexpr std::array<std::string_view, 17> kNames{
      "OK",           "CANCELLED",         "UNKNOWN",           "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
      "NOT_FOUND",    "ALREADY_EXISTS",    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION", "ABORTED",    "OUT_OF_RANGE",      "UNIMPLEMENTED",    "INTERNAL",
      "UNAVAILABLE",  "DATA_LOSS",         "UNAUTHENTICATED"};
  const auto i = static_cast<int>(code);
  if (i >= 0 && static_cast<size_t>(i) < kNames.size()) return kNames[static_cast<size_t>(i)];
  return "OUT_OF_SPEC";
}

}  // namespace tickstream::rpc
