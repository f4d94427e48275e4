#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <google/protobuf/repeated_field.h>

#include "gateway_config.h"
#include "gateway_metrics.h"
#include "grpc_streams.h"
#include "server.h"
#include "tickstream/auth/jwt.h"
#include "tickstream/marketdata/v1/marketdata_service.grpc.pb.h"
#include "tickstream/sharding/ring.h"

// tickstream.marketdata.v1.MarketData for internal teams, served by each gateway shard next to
// its WebSockets (docs/gateway.md, "gRPC"): the same sharding, limits and tokens.
//
// Threads. Handlers run on gRPC's threads and read only what never changes after start-up (the
// config, the shard ring, the token verifier). Anything that touches the shard's market state is
// handed to the I/O thread:
//   - GetSnapshot (synchronous handler) posts the lookup to the I/O thread and waits on a future
//     until the call's deadline, at most kSnapshotWait; the I/O thread fills a response owned by
//     the shared call state, so a late answer never writes into a finished call;
//   - Subscribe (callback API, raw bytes out so the encoding is shared with the fan-out) builds a
//     SubscribeStream and posts its registration to the I/O thread (grpc_streams.h).
namespace tickstream::gateway {

using Symbols = google::protobuf::RepeatedPtrField<std::string>;

// OK, or INVALID_ARGUMENT naming the problem: no symbols, more than `max_symbols`, a malformed
// symbol (not 1-16 of [A-Z0-9.-]) or one listed twice.
[[nodiscard]] grpc::Status checkSymbols(const Symbols& symbols, uint32_t max_symbols);

// OK when `shard` serves every symbol; otherwise FAILED_PRECONDITION naming the first symbol it
// does not serve, the shard that does (also in `right_shard`) and that shard's gRPC endpoint
// from config.grpc_shard_endpoints when known.
[[nodiscard]] grpc::Status checkOwned(const Symbols& symbols, const sharding::ShardRing& ring,
                                      const GatewayConfig& config, int32_t& right_shard);

// Who is calling, from the metadata `authorization: Bearer <JWT>`, verified like a WebSocket
// token. With no verifier (an --allow-anonymous gateway) a call without a token is accepted
// and one with a token refused, as on the WebSocket side.
struct CallAuth {
  grpc::Status status;      // OK or UNAUTHENTICATED with the reason
  int64_t expires_ns = 0;   // the token's expiry; 0 when anonymous
};
[[nodiscard]] CallAuth authorize(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                                 const std::optional<auth::Verifier>& verifier, int64_t now_s);

class MarketDataGrpc final
    : public marketdata::v1::MarketData::WithRawCallbackMethod_Subscribe<
          marketdata::v1::MarketData::Service> {
public:
  // The I/O thread answers in microseconds; this bounds a GetSnapshot only when it has stopped
  // (shutdown) or is badly overloaded: UNAVAILABLE, so the caller retries elsewhere.
  static constexpr std::chrono::milliseconds kSnapshotWait{2000};

  // `server` and `streams` must outlive the gRPC server this is registered with.
  MarketDataGrpc(Server& server, GrpcStreams& streams, GatewayMetrics* metrics);

  grpc::Status GetSnapshot(grpc::ServerContext* context,
                           const marketdata::v1::GetSnapshotRequest* request,
                           marketdata::v1::GetSnapshotResponse* response) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* Subscribe(grpc::CallbackServerContext* context,
                                                         const grpc::ByteBuffer* request) override;

private:
  // Ready and not draining, token, symbols, ownership: OK or the status to end the call with.
  grpc::Status admit(grpc::ServerContextBase& context, const Symbols& symbols,
                     int64_t& token_expires_ns);

  Server& server_;
  GrpcStreams& streams_;
  GatewayMetrics* metrics_;
};

} // namespace tickstream::gateway
