#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>

#include "feed_publisher.h"
#include "matching_engine.h"
#include "tickstream/venue/v1/venue.grpc.pb.h"

// The gRPC Venue service (proto/tickstream/venue/v1/venue.proto) over the MatchingEngine.
// docs/exchange-sim.md ("Venue API") describes what a client sees.
//
// Locking: one mutex, the market lock (FeedPublisher::marketMutex()), guards the engine and the
// simulator it trades against. The feed thread holds it while it generates a batch and calls
// onBatch()/onSessionEnd() under it; every RPC takes it for its engine call only. A stream
// copies a batch of reports under the lock and writes them to the network after releasing it,
// so a slow client never holds up the market. New reports wake waiting streams through a
// condition variable on the same mutex.
namespace tickstream::exchange_sim {

// Failures a client's tests can ask the venue to show (--venue-fault).
enum class VenueFault {
  None,
  RejectAll,    // every NewOrder gets a REJECTED report
  Unavailable,  // every call fails with UNAVAILABLE at once
  Stall,        // every call waits VenueServiceConfig::stall before it is served (deadlines pass)
};

// "none", "reject-all", "unavailable" or "stall"; throws std::invalid_argument otherwise.
VenueFault parseVenueFault(std::string_view name);

struct VenueServiceConfig {
  VenueFault fault = VenueFault::None;         // the fault shown from the start
  std::chrono::milliseconds stall{10'000};     // how long a call waits under Stall; 1ms..10min
  std::chrono::milliseconds stream_poll{200};  // how often an idle stream looks for a client
                                               // that went away; 1ms..10s
  std::size_t stream_batch = 256;              // reports a stream copies per hold of the lock;
                                               // >= 1

  // Throws std::invalid_argument naming the first bad field.
  void validate() const;
};

class VenueService final : public venue::v1::Venue::Service, public MarketListener {
public:
  // Initial metadata on every answer: the engine's session, which changes when the venue
  // restarts (its exec_seq then starts again at 1 and its open orders are gone).
  static constexpr std::string_view kSessionHeader = "venue-session";

  // `market_mu` guards `engine`; both must outlive the service. Throws std::invalid_argument.
  VenueService(VenueServiceConfig config, std::mutex& market_mu, MatchingEngine& engine);

  grpc::Status NewOrder(grpc::ServerContext* context, const venue::v1::NewOrderRequest* request,
                        venue::v1::NewOrderResponse* response) override;
  grpc::Status NewOrders(grpc::ServerContext* context, const venue::v1::NewOrdersRequest* request,
                         venue::v1::NewOrdersResponse* response) override;
  grpc::Status CancelOrder(grpc::ServerContext* context,
                           const venue::v1::CancelOrderRequest* request,
                           venue::v1::CancelOrderResponse* response) override;
  grpc::Status ReplaceOrder(grpc::ServerContext* context,
                            const venue::v1::ReplaceOrderRequest* request,
                            venue::v1::ReplaceOrderResponse* response) override;
  grpc::Status StreamExecutions(grpc::ServerContext* context,
                                const venue::v1::StreamExecutionsRequest* request,
                                grpc::ServerWriter<venue::v1::ExecutionReport>* writer) override;
  grpc::Status ListOpenOrders(grpc::ServerContext* context,
                              const venue::v1::ListOpenOrdersRequest* request,
                              venue::v1::ListOpenOrdersResponse* response) override;

  // MarketListener: on the feed thread, with the market lock held.
  void onBatch() noexcept override;
  void onSessionEnd() noexcept override;

  // Any thread.
  void setFault(VenueFault fault);
  // Ends open streams (UNAVAILABLE) and stalled calls, so the server stops without waiting out
  // its grace period for them. Call before GrpcServer::stop().
  void shutdown();

private:
  // Adds the session header; returns the status a fault imposes on the call (after the stall,
  // if any), or OK to serve it.
  grpc::Status admit(grpc::ServerContext* context);
  // Wakes streams when reports were added since `before`. Market lock held.
  void wakeIfNew(uint64_t before);
  // One order call: admits it, runs `call` on the engine under the market lock, and fills the
  // reply (its order_id is `order_id`, or the report's when null).
  template <class Response, class Call>
  grpc::Status orderCall(grpc::ServerContext* context, const std::string* order_id,
                         Response* response, Call call);

  VenueServiceConfig config_;
  std::mutex& market_mu_;
  MatchingEngine& engine_;
  std::condition_variable reports_cv_;  // with market_mu_: new reports, or stopping_
  bool stopping_ = false;               // under market_mu_
  std::atomic<VenueFault> fault_;
};

} // namespace tickstream::exchange_sim
