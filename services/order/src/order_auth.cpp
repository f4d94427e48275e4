#include "order_auth.h"

#include <ctime>

namespace tickstream::order {

grpc::Status OrderAuth::authenticate(const grpc::ServerContextBase& ctx, Principal& out) const {
  const auto& md = ctx.client_metadata();
  const auto it = md.find("authorization");
  if (it == md.end()) {
    return {grpc::StatusCode::UNAUTHENTICATED, "no bearer token: send metadata 'authorization: Bearer <JWT>'"};
  }
  const std::string_view value(it->second.data(), it->second.size());
  constexpr std::string_view kBearer = "Bearer ";
  if (value.size() <= kBearer.size() || value.substr(0, kBearer.size()) != kBearer) {
    return {grpc::StatusCode::UNAUTHENTICATED, "authorization metadata is not 'Bearer <JWT>'"};
  }
  const auto result = verifier_.verify(value.substr(kBearer.size()), std::time(nullptr));
  if (!result.ok()) {
    // The status names are documented (docs/auth.md) and say nothing about the key.
    return {grpc::StatusCode::UNAUTHENTICATED, "token refused: " + std::string(auth::toString(result.status))};
  }
  out.subject = result.claims.subject;
  out.service = result.claims.hasRole(kServiceRole);
  return grpc::Status::OK;
}

grpc::Status OrderAuth::authorize(const Principal& principal, std::string_view account) {
  if (principal.service || principal.subject == account) return grpc::Status::OK;
  return {grpc::StatusCode::PERMISSION_DENIED,
          "the token speaks for '" + principal.subject + "', not for account '" + std::string(account) + "'"};
}

}  // namespace tickstream::order
