#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "circuit_breaker.h"
#include "tickstream/venue/v1/venue.grpc.pb.h"

// The order router's side of the venue API (docs/order.md, "Routing to the venue"): every
// NewOrder, CancelOrder and ReplaceOrder goes through the circuit breaker, has a deadline per
// attempt, and is retried only where a retry cannot do anything twice.
namespace tickstream::order {

namespace venue = tickstream::venue::v1;

struct VenueClientConfig {
  // Deadline of one attempt, including the wait for a connection. The venue answers in well
  // under a millisecond on a LAN; longer means it is stalled or overloaded.
  std::chrono::milliseconds call_deadline{300};
  // All attempts of one request together, pauses included: how long a client's SubmitOrder may
  // wait on the venue before it gets an answer (possibly "unknown").
  std::chrono::milliseconds retry_budget{1500};
  // First pause between attempts; doubles per attempt up to backoff_max.
  std::chrono::milliseconds backoff_min{20};
  std::chrono::milliseconds backoff_max{400};
  // Random fraction of each pause, so routers that lost the venue together do not retry together.
  double backoff_jitter = 0.5;
  // Cap on gRPC's own reconnect backoff (its default grows to 120 s), so a venue that is back
  // is used again within about this long.
  std::chrono::milliseconds reconnect_backoff_max{1000};
  // HTTP/2 keepalive: a ping after this long without reads on the connection (0 = off), and the
  // connection is dropped if its answer takes longer than keepalive_timeout. Without it a venue
  // host that vanishes without closing TCP leaves the report stream waiting until the kernel
  // gives up (many minutes); with it the stream reconnects within about the sum of the two.
  // The venue's server must permit pings this often (exchange-sim's venue permits every 0.5 s).
  std::chrono::milliseconds keepalive_time{10'000};
  std::chrono::milliseconds keepalive_timeout{5'000};

  // Throws std::invalid_argument naming the field.
  void validate() const;
};

// The venue's header on every answer: its session (a new one means it restarted).
inline constexpr const char* kVenueSessionHeader = "venue-session";

// The session header of the answer on `ctx`, or "" when the venue's answer never came.
std::string venueSessionOf(const grpc::ClientContext& ctx);

// A channel to the venue with the reconnect backoff of `config`.
std::shared_ptr<grpc::Channel> makeVenueChannel(const std::string& address,
                                                const VenueClientConfig& config);

// What became of a request. The service maps it onto the order (docs/order.md).
enum class VenueOutcome {
  // The venue answered OK; `response` holds its report (NEW, REJECTED, CANCELED, REPLACED).
  Answered,
  // The venue answered with an error about this request (`status`): NOT_FOUND,
  // FAILED_PRECONDITION (a cancel/replace too late → cancel_reject/replace_reject),
  // ALREADY_EXISTS (the order id was used for another request), INVALID_ARGUMENT.
  Refused,
  // Provably never reached the venue: the circuit was open, no connection could be made, or
  // the venue itself answered UNAVAILABLE (it does so before looking at a request). Safe to
  // treat as venue_reject, or to send again later.
  NotSent,
  // May have reached the venue (a deadline passed or the connection broke after the request
  // was written). The execution stream or reconciliation settles it; NewOrder and ReplaceOrder
  // may be sent again with the same order id.
  Unknown,
};

const char* venueOutcomeName(VenueOutcome outcome) noexcept;

template <class Response>
struct VenueResult {
  VenueOutcome outcome = VenueOutcome::Unknown;
  Response response;          // Answered only
  grpc::Status status;        // the last attempt's status (OK when Answered)
  bool circuit_open = false;  // the breaker refused the last attempt (fail fast)
  int attempts = 0;           // attempts the breaker let through
  std::string venue_session;  // the session header of the venue's answer, when it answered
};

// Sends requests to the venue. Thread-safe; blocks the calling thread for at most about
// retry_budget per request.
class VenueClient {
 public:
  VenueClient(std::shared_ptr<grpc::Channel> channel, VenueClientConfig config,
              CircuitBreaker& breaker);

  // Whether the circuit breaker is closed (CircuitBreaker::closed: no side effect).
  bool circuitClosed() { return breaker_.closed(); }

  // Idempotent at the venue by order_id: retried on UNAVAILABLE / DEADLINE_EXCEEDED.
  VenueResult<venue::NewOrderResponse> newOrder(const venue::NewOrderRequest& request);
  // Several orders in one call (Venue.NewOrders): retried like newOrder, since each order is
  // idempotent by its order_id. Answered: each order's own outcome is in response.results().
  VenueResult<venue::NewOrdersResponse> newOrders(const venue::NewOrdersRequest& request);
  // Idempotent at the venue by the replacement's order_id: retried like newOrder.
  VenueResult<venue::ReplaceOrderResponse> replaceOrder(const venue::ReplaceOrderRequest& request);
  // Not keyed at the venue: a second cancel that reaches it after the first worked is refused
  // (FAILED_PRECONDITION), which would read as a cancel_reject. So it is retried only while it
  // provably has not been sent; once sent, a failure is Unknown and the stream carries the
  // CANCELED report if it worked.
  VenueResult<venue::CancelOrderResponse> cancelOrder(const venue::CancelOrderRequest& request);

 private:
  enum class Retry { IfMaybeSent, OnlyIfNotSent };
  template <class Response, class Call>
  VenueResult<Response> run(Retry retry, Call&& call);
  // Whether the channel is connected by `deadline`: until then a request is never written.
  bool connected(std::chrono::system_clock::time_point deadline);

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<venue::Venue::Stub> stub_;
  VenueClientConfig config_;
  CircuitBreaker& breaker_;
};

}  // namespace tickstream::order
