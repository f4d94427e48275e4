#include "marketdata_grpc.h"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "protocol.h"
#include "tickstream/runtime/clock.h"

namespace tickstream::gateway {

namespace mdv1 = marketdata::v1;

namespace {

constexpr std::string_view kDraining = "shard is shutting down: call again (another replica, or after restart)";
constexpr std::string_view kLoading = "shard is loading md.snapshot: call again shortly";

// Ends a Subscribe that was refused before it started.
class Rejected final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
public:
  explicit Rejected(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

bool startsWithBearer(std::string_view v) {
  constexpr std::string_view kBearer = "bearer ";
  if (v.size() < kBearer.size()) {
    return false;
  }
  for (std::size_t i = 0; i < kBearer.size(); ++i) {
    if (static_cast<char>(std::tolower(static_cast<unsigned char>(v[i]))) != kBearer[i]) {
      return false;
    }
  }
  return true;
}

} // namespace

grpc::Status checkSymbols(const Symbols& symbols, uint32_t max_symbols) {
  if (symbols.empty()) {
    return {grpc::StatusCode::INVALID_ARGUMENT, "no symbols"};
  }
  if (static_cast<uint32_t>(symbols.size()) > max_symbols) {
    return {grpc::StatusCode::INVALID_ARGUMENT,
            "too many symbols: at most " + std::to_string(max_symbols) + " per call"};
  }
  std::unordered_set<std::string_view> seen;
  for (const auto& s : symbols) {
    if (!validSymbol(s)) {
      return {grpc::StatusCode::INVALID_ARGUMENT, "not a symbol (1-16 of A-Z 0-9 . -): " + s};
    }
    if (!seen.insert(s).second) {
      return {grpc::StatusCode::INVALID_ARGUMENT, "symbol listed twice: " + s};
    }
  }
  return grpc::Status::OK;
}

grpc::Status checkOwned(const Symbols& symbols, const sharding::ShardRing& ring,
                        const GatewayConfig& config, int32_t& right_shard) {
  for (const auto& s : symbols) {
    const sharding::Route route = ring.route(s);
    if (ring.owns(config.shard_id, route.partition)) {
      continue;
    }
    right_shard = route.shards.empty() ? -1 : route.shards[0];
    std::string message = s + " is served by shard " + std::to_string(right_shard);
    if (right_shard >= 0 && !config.grpc_shard_endpoints.empty()) {
      message += " at " + config.grpc_shard_endpoints[static_cast<std::size_t>(right_shard)];
    }
    return {grpc::StatusCode::FAILED_PRECONDITION, message};
  }
  return grpc::Status::OK;
}

CallAuth authorize(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                   const std::optional<auth::Verifier>& verifier, int64_t now_s) {
  std::string_view token;
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    const std::string_view value(it->second.data(), it->second.size());
    if (!startsWithBearer(value)) {
      return {{grpc::StatusCode::UNAUTHENTICATED, "authorization metadata must be 'Bearer <JWT>'"}};
    }
    token = value.substr(7);
  }
  if (token.empty()) {
    if (!verifier) {
      return {grpc::Status::OK};  // Server's config only allows this with --allow-anonymous
    }
    return {{grpc::StatusCode::UNAUTHENTICATED, "no token: send metadata 'authorization: Bearer <JWT>'"}};
  }
  if (!verifier) {
    return {{grpc::StatusCode::UNAUTHENTICATED, "this gateway takes no tokens"}};
  }
  const auth::VerifyResult r = verifier->verify(token, now_s);
  if (!r.ok()) {
    return {{grpc::StatusCode::UNAUTHENTICATED, "token rejected: " + std::string(auth::toString(r.status))}};
  }
  return {grpc::Status::OK, r.claims.expires_at * 1'000'000'000};
}

MarketDataGrpc::MarketDataGrpc(Server& server, GrpcStreams& streams, GatewayMetrics* metrics)
    : server_(server), streams_(streams), metrics_(metrics) {}

grpc::Status MarketDataGrpc::admit(grpc::ServerContextBase& context, const Symbols& symbols,
                                   int64_t& token_expires_ns) {
  if (streams_.draining()) {
    return {grpc::StatusCode::UNAVAILABLE, std::string(kDraining)};
  }
  if (!streams_.ready()) {
    return {grpc::StatusCode::UNAVAILABLE, std::string(kLoading)};
  }
  const CallAuth a = authorize(context.client_metadata(), server_.verifier(),
                               runtime::wallClockNs() / 1'000'000'000);
  if (!a.status.ok()) {
    if (metrics_) metrics_->auth_failures.Increment();
    return a.status;
  }
  token_expires_ns = a.expires_ns;
  if (auto st = checkSymbols(symbols, server_.config().max_symbols); !st.ok()) {
    return st;
  }
  int32_t right = -1;
  auto st = checkOwned(symbols, server_.ring(), server_.config(), right);
  if (!st.ok()) {
    // Machine-readable too, so a client library can redirect without parsing the message.
    context.AddTrailingMetadata("tickstream-shard-id", std::to_string(right));
    if (right >= 0 && !server_.config().grpc_shard_endpoints.empty()) {
      context.AddTrailingMetadata("tickstream-shard-endpoint",
                                  server_.config().grpc_shard_endpoints[static_cast<std::size_t>(right)]);
    }
  }
  return st;
}

grpc::Status MarketDataGrpc::GetSnapshot(grpc::ServerContext* context,
                                         const mdv1::GetSnapshotRequest* request,
                                         mdv1::GetSnapshotResponse* response) {
  int64_t expires_ns = 0;
  if (auto st = admit(*context, request->symbols(), expires_ns); !st.ok()) {
    return st;
  }
  // Shared with the I/O thread's handler, which may run after this call has given up.
  struct Call {
    std::vector<std::string> symbols;
    mdv1::GetSnapshotResponse response;
    std::promise<void> done;
  };
  auto call = std::make_shared<Call>();
  call->symbols.assign(request->symbols().begin(), request->symbols().end());
  std::future<void> done = call->done.get_future();
  boost::asio::post(streams_.io(), [call, &server = server_] {
    const SymbolStore& store = server.store();
    for (const auto& s : call->symbols) {
      const mdv1::SymbolSnapshot* snap = store.snapshot(s);
      if (snap == nullptr) {
        call->response.add_unknown_symbols(s);  // the proto's contract: listed, not an error
      } else {
        filterSnapshot(*snap, kAllModes, *call->response.add_snapshots());  // drops internal fields
      }
    }
    call->done.set_value();
  });
  const auto cap = std::chrono::system_clock::now() + kSnapshotWait;
  const bool by_deadline = context->deadline() < cap;
  if (done.wait_until(by_deadline ? context->deadline() : cap) != std::future_status::ready) {
    return by_deadline ? grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "deadline passed")
                       : grpc::Status(grpc::StatusCode::UNAVAILABLE, "shard busy: try again");
  }
  response->Swap(&call->response);  // the I/O thread is done with it (set_value happened before)
  return grpc::Status::OK;
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* MarketDataGrpc::Subscribe(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) {
  mdv1::SubscribeRequest req;
  grpc::ByteBuffer bytes(*request);  // Deserialize consumes its buffer; this copies a reference
  if (!grpc::SerializationTraits<mdv1::SubscribeRequest>::Deserialize(&bytes, &req).ok()) {
    return new Rejected({grpc::StatusCode::INVALID_ARGUMENT, "not a SubscribeRequest"});
  }
  int64_t expires_ns = 0;
  if (auto st = admit(*context, req.symbols(), expires_ns); !st.ok()) {
    return new Rejected(std::move(st));
  }
  for (const int mode : req.modes()) {
    if (modeBit(static_cast<mdv1::Mode>(mode)) == 0) {
      return new Rejected({grpc::StatusCode::INVALID_ARGUMENT, "unknown mode " + std::to_string(mode)});
    }
  }
  auto stream = std::make_shared<SubscribeStream>(
      streams_, context, std::vector<std::string>(req.symbols().begin(), req.symbols().end()),
      maskOf(req.modes()), expires_ns, metrics_);
  stream->keepUntilDone(stream);
  // Whether the symbols are known is the store's business: decided on the I/O thread, which
  // then registers the stream before any later update can be fanned out.
  boost::asio::post(streams_.io(), [&streams = streams_, &server = server_, stream] {
    streams.open(stream, server.store());
  });
  return stream.get();
}

} // namespace tickstream::gateway
