#include "venue_client.h"

#include <algorithm>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>

#include "tickstream/pg/backoff.h"

namespace tickstream::order {

namespace {

using std::chrono::milliseconds;
using SysTime = std::chrono::system_clock::time_point;

// Errors that say the venue is unhealthy (they count against the breaker). Everything else is
// the venue's verdict on the request, which shows it is up.
bool isVenueFailure(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::DATA_LOSS:
    case grpc::StatusCode::CANCELLED: return true;
    default: return false;
  }
}

std::uint64_t seed() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

}  // namespace

void VenueClientConfig::validate() const {
  auto fail = [](const std::string& m) { throw std::invalid_argument("VenueClientConfig." + m); };
  if (call_deadline.count() < 1) fail("call_deadline must be >= 1 ms");
  if (retry_budget < call_deadline) fail("retry_budget must be >= call_deadline");
  if (backoff_min.count() < 1) fail("backoff_min must be >= 1 ms");
  if (backoff_max < backoff_min) fail("backoff_max must be >= backoff_min");
  if (!(backoff_jitter >= 0.0 && backoff_jitter <= 1.0)) fail("backoff_jitter must be in [0, 1]");
  if (reconnect_backoff_max.count() < 100) fail("reconnect_backoff_max must be >= 100 ms");
  if (keepalive_time.count() != 0 && keepalive_time.count() < 1000) {
    fail("keepalive_time must be 0 (off) or >= 1000 ms (the venue refuses more frequent pings)");
  }
  if (keepalive_timeout.count() < 100) fail("keepalive_timeout must be >= 100 ms");
}

std::string venueSessionOf(const grpc::ClientContext& ctx) {
  const auto& md = ctx.GetServerInitialMetadata();
  const auto it = md.find(kVenueSessionHeader);
  return it == md.end() ? std::string() : std::string(it->second.data(), it->second.size());
}

const char* venueOutcomeName(VenueOutcome outcome) noexcept {
  switch (outcome) {
    case VenueOutcome::Answered: return "answered";
    case VenueOutcome::Refused: return "refused";
    case VenueOutcome::NotSent: return "not_sent";
    case VenueOutcome::Unknown: return "unknown";
  }
  return "invalid";
}

std::shared_ptr<grpc::Channel> makeVenueChannel(const std::string& address,
                                                const VenueClientConfig& config) {
  grpc::ChannelArguments args;
  const int max_ms = static_cast<int>(config.reconnect_backoff_max.count());
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, std::min(100, max_ms));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, max_ms);
  if (config.keepalive_time.count() > 0) {
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(config.keepalive_time.count()));
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, static_cast<int>(config.keepalive_timeout.count()));
    // The report stream can be quiet for long (no orders): keep pinging without data (gRPC
    // stops after 2 such pings by default) and with no call open (between reconnects).
    args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  }
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

VenueClient::VenueClient(std::shared_ptr<grpc::Channel> channel, VenueClientConfig config,
                         CircuitBreaker& breaker)
    : channel_(std::move(channel)),
      stub_(venue::Venue::NewStub(channel_)),
      config_(config),
      breaker_(breaker) {
  config_.validate();
}

bool VenueClient::connected(SysTime deadline) {
  // GetState(true) starts connecting an idle channel; WaitForConnected then waits for READY.
  if (channel_->GetState(true) == GRPC_CHANNEL_READY) return true;
  return channel_->WaitForConnected(deadline);
}

template <class Response, class Call>
VenueResult<Response> VenueClient::run(Retry retry, Call&& call) {
  VenueResult<Response> result;
  // The budget on the steady clock (a wall-clock step must not stretch or cut it); gRPC takes
  // its deadlines as wall-clock times, made from the time left just before each use.
  using Steady = std::chrono::steady_clock;
  const Steady::time_point end = Steady::now() + config_.retry_budget;
  bool maybe_sent = false;
  std::optional<pg::Backoff> backoff;
  for (;;) {
    auto permit = breaker_.tryAcquire();
    if (!permit) {
      result.circuit_open = true;
      result.status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "venue circuit open");
      break;
    }
    ++result.attempts;
    const auto timeout = std::min<Steady::duration>(config_.call_deadline, end - Steady::now());
    const SysTime deadline = std::chrono::system_clock::now() +
                             std::chrono::duration_cast<std::chrono::system_clock::duration>(timeout);
    bool sent = false;
    result.venue_session.clear();
    if (!connected(deadline)) {
      result.status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "no connection to the venue");
    } else {
      grpc::ClientContext ctx;
      ctx.set_deadline(deadline);
      result.response.Clear();
      result.status = call(ctx, result.response);
      result.venue_session = venueSessionOf(ctx);
      // UNAVAILABLE with the venue's header is the venue itself refusing before it looks at the
      // request (Venue API); without it the connection may have broken after the write.
      sent = !(result.status.error_code() == grpc::StatusCode::UNAVAILABLE &&
               !result.venue_session.empty());
    }
    if (result.status.ok()) {
      breaker_.success(std::move(*permit));
      result.outcome = VenueOutcome::Answered;
      return result;
    }
    const auto code = result.status.error_code();
    if (!isVenueFailure(code)) {
      breaker_.success(std::move(*permit));
      result.outcome = VenueOutcome::Refused;
      return result;
    }
    breaker_.failure(std::move(*permit));
    maybe_sent = maybe_sent || sent;
    const bool transient =
        code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED;
    const bool may_retry =
        transient && (retry == Retry::IfMaybeSent || !maybe_sent);
    if (!may_retry) break;
    if (!backoff) backoff.emplace(config_.backoff_min, config_.backoff_max, config_.backoff_jitter, seed());
    const milliseconds pause = backoff->next();
    // Not worth an attempt that would have less than a tenth of its deadline left.
    if (Steady::now() + pause + config_.call_deadline / 10 >= end) break;
    std::this_thread::sleep_for(pause);
  }
  result.outcome = maybe_sent ? VenueOutcome::Unknown : VenueOutcome::NotSent;
  return result;
}

VenueResult<venue::NewOrderResponse> VenueClient::newOrder(const venue::NewOrderRequest& request) {
  return run<venue::NewOrderResponse>(
      Retry::IfMaybeSent, [&](grpc::ClientContext& ctx, venue::NewOrderResponse& response) {
        return stub_->NewOrder(&ctx, request, &response);
      });
}

VenueResult<venue::NewOrdersResponse> VenueClient::newOrders(const venue::NewOrdersRequest& request) {
  return run<venue::NewOrdersResponse>(
      Retry::IfMaybeSent, [&](grpc::ClientContext& ctx, venue::NewOrdersResponse& response) {
        return stub_->NewOrders(&ctx, request, &response);
      });
}

VenueResult<venue::ReplaceOrderResponse> VenueClient::replaceOrder(
    const venue::ReplaceOrderRequest& request) {
  return run<venue::ReplaceOrderResponse>(
      Retry::IfMaybeSent, [&](grpc::ClientContext& ctx, venue::ReplaceOrderResponse& response) {
        return stub_->ReplaceOrder(&ctx, request, &response);
      });
}

VenueResult<venue::CancelOrderResponse> VenueClient::cancelOrder(
    const venue::CancelOrderRequest& request) {
  return run<venue::CancelOrderResponse>(
      Retry::OnlyIfNotSent, [&](grpc::ClientContext& ctx, venue::CancelOrderResponse& response) {
        return stub_->CancelOrder(&ctx, request, &response);
      });
}

}  // namespace tickstream::order
