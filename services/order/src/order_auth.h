#pragma once

#include <grpcpp/grpcpp.h>

#include <string>
#include <string_view>

#include "tickstream/auth/jwt.h"

// Who is calling the order service (docs/order.md, "Authentication"): every call carries
// `authorization: Bearer <JWT>` in its metadata, verified with the same keys and rules as the
// gateway's tokens (docs/auth.md). The token's `sub` is the trading account it speaks for; a
// token with the role `service` (internal callers: the simulated trader, operations tools) may
// act for any account.
namespace tickstream::order {

inline constexpr std::string_view kServiceRole = "service";

struct Principal {
  std::string subject;   // the token's `sub`
  bool service = false;  // holds kServiceRole
};

class OrderAuth {
 public:
  explicit OrderAuth(auth::Verifier verifier) : verifier_(std::move(verifier)) {}

  // UNAUTHENTICATED naming the problem ("no bearer token", "token expired", ...) unless the
  // metadata holds a valid token; then `out` is its principal.
  grpc::Status authenticate(const grpc::ServerContextBase& ctx, Principal& out) const;

  // PERMISSION_DENIED unless `principal` may act for `account`: its own, or any for a service.
  static grpc::Status authorize(const Principal& principal, std::string_view account);

 private:
  auth::Verifier verifier_;
};

}  // namespace tickstream::order
