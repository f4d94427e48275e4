#include "venue_service.h"

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace tickstream::exchange_sim {

namespace {

namespace v1 = venue::v1;
using namespace std::chrono_literals;

grpc::Status toStatus(const Answer& a) {
  switch (a.outcome) {
  case Outcome::Ok: return grpc::Status::OK;
  case Outcome::InvalidArgument: return {grpc::StatusCode::INVALID_ARGUMENT, a.error};
  case Outcome::NotFound: return {grpc::StatusCode::NOT_FOUND, a.error};
  case Outcome::NotOpen: return {grpc::StatusCode::FAILED_PRECONDITION, a.error};
  case Outcome::Conflict: return {grpc::StatusCode::ALREADY_EXISTS, a.error};
  }
  return {grpc::StatusCode::INTERNAL, "unknown outcome"};
}

} // namespace

VenueFault parseVenueFault(std::string_view name) {
  if (name == "none") {
    return VenueFault::None;
  }
  if (name == "reject-all") {
    return VenueFault::RejectAll;
  }
  if (name == "unavailable") {
    return VenueFault::Unavailable;
  }
  if (name == "stall") {
    return VenueFault::Stall;
  }
  throw std::invalid_argument("venue fault must be none, reject-all, unavailable or stall, got '" +
                              std::string(name) + "'");
}

void VenueServiceConfig::validate() const {
  if (stall < 1ms || stall > 10min) {
    throw std::invalid_argument("VenueServiceConfig.stall: must be 1ms..10min");
  }
  if (stream_poll < 1ms || stream_poll > 10s) {
    throw std::invalid_argument("VenueServiceConfig.stream_poll: must be 1ms..10s");
  }
  if (stream_batch < 1) {
    throw std::invalid_argument("VenueServiceConfig.stream_batch: must be at least 1");
  }
}

VenueService::VenueService(VenueServiceConfig config, std::mutex& market_mu,
                           MatchingEngine& engine)
    : config_((config.validate(), config)), market_mu_(market_mu), engine_(engine),
      fault_(VenueFault::None) {
  setFault(config_.fault);
}

void VenueService::setFault(VenueFault fault) {
  std::lock_guard lock(market_mu_);
  fault_.store(fault);
  engine_.setRejectAll(fault == VenueFault::RejectAll);
}

void VenueService::shutdown() {
  {
    std::lock_guard lock(market_mu_);
    stopping_ = true;
  }
  reports_cv_.notify_all();
}

grpc::Status VenueService::admit(grpc::ServerContext* context) {
  context->AddInitialMetadata(std::string(kSessionHeader), engine_.config().session);
  switch (fault_.load()) {
  case VenueFault::Unavailable:
    return {grpc::StatusCode::UNAVAILABLE, "the venue is unavailable (fault injection)"};
  case VenueFault::Stall: {
    // Answers late rather than never: a client without a deadline still gets its answer.
    std::unique_lock lock(market_mu_);
    reports_cv_.wait_for(lock, config_.stall, [this] { return stopping_; });
    return grpc::Status::OK;
  }
  case VenueFault::None:
  case VenueFault::RejectAll: return grpc::Status::OK;
  }
  return grpc::Status::OK;
}

void VenueService::wakeIfNew(uint64_t before) {
  if (engine_.lastExecSeq() != before) {
    reports_cv_.notify_all();
  }
}

void VenueService::onBatch() noexcept {
  const uint64_t before = engine_.lastExecSeq();
  engine_.sweep();
  wakeIfNew(before);
}

void VenueService::onSessionEnd() noexcept {
  const uint64_t before = engine_.lastExecSeq();
  engine_.closeMarket();
  wakeIfNew(before);
}

template <class Response, class Call>
grpc::Status VenueService::orderCall(grpc::ServerContext* context, const std::string* order_id,
                                     Response* response, Call call) {
  if (grpc::Status s = admit(context); !s.ok()) {
    return s;
  }
  Answer answer;
  {
    std::lock_guard lock(market_mu_);
    const uint64_t before = engine_.lastExecSeq();
    answer = call();
    wakeIfNew(before);
  }
  if (answer.outcome != Outcome::Ok) {
    return toStatus(answer);
  }
  response->set_order_id(order_id != nullptr ? *order_id : answer.report.order_id());
  response->set_venue_order_id(std::move(answer.venue_order_id));
  *response->mutable_report() = std::move(answer.report);
  return grpc::Status::OK;
}

grpc::Status VenueService::NewOrder(grpc::ServerContext* context,
                                    const v1::NewOrderRequest* request,
                                    v1::NewOrderResponse* response) {
  return orderCall(context, &request->order_id(), response,
                   [&] { return engine_.newOrder(*request); });
}

grpc::Status VenueService::NewOrders(grpc::ServerContext* context,
                                     const v1::NewOrdersRequest* request,
                                     v1::NewOrdersResponse* response) {
  constexpr int kMaxOrders = 1000;  // the limit venue.proto states
  if (grpc::Status s = admit(context); !s.ok()) {
    return s;
  }
  if (request->orders_size() > kMaxOrders) {
    return {grpc::StatusCode::INVALID_ARGUMENT,
            "orders: " + std::to_string(request->orders_size()) + " in one call, at most " +
                std::to_string(kMaxOrders)};
  }
  // One hold of the market lock for the whole batch: the orders enter back to back, as
  // NewOrder calls arriving together would.
  std::lock_guard lock(market_mu_);
  const uint64_t before = engine_.lastExecSeq();
  for (const auto& order : request->orders()) {
    Answer answer = engine_.newOrder(order);
    auto* result = response->add_results();
    if (answer.outcome != Outcome::Ok) {
      const grpc::Status status = toStatus(answer);
      result->set_code(static_cast<int32_t>(status.error_code()));
      result->set_message(status.error_message());
      continue;
    }
    auto* r = result->mutable_response();
    r->set_order_id(order.order_id());
    r->set_venue_order_id(std::move(answer.venue_order_id));
    *r->mutable_report() = std::move(answer.report);
  }
  wakeIfNew(before);
  return grpc::Status::OK;
}

grpc::Status VenueService::CancelOrder(grpc::ServerContext* context,
                                       const v1::CancelOrderRequest* request,
                                       v1::CancelOrderResponse* response) {
  // A cancel names the order by either id: the reply names it as the report does.
  return orderCall(context, nullptr, response, [&] { return engine_.cancelOrder(*request); });
}

grpc::Status VenueService::ReplaceOrder(grpc::ServerContext* context,
                                        const v1::ReplaceOrderRequest* request,
                                        v1::ReplaceOrderResponse* response) {
  return orderCall(context, &request->order_id(), response,
                   [&] { return engine_.replaceOrder(*request); });
}

grpc::Status VenueService::ListOpenOrders(grpc::ServerContext* context,
                                          const v1::ListOpenOrdersRequest* request,
                                          v1::ListOpenOrdersResponse* response) {
  if (grpc::Status s = admit(context); !s.ok()) {
    return s;
  }
  std::lock_guard lock(market_mu_);
  engine_.listOpenOrders(request->account(), *response);
  return grpc::Status::OK;
}

grpc::Status VenueService::StreamExecutions(grpc::ServerContext* context,
                                            const v1::StreamExecutionsRequest* request,
                                            grpc::ServerWriter<v1::ExecutionReport>* writer) {
  if (grpc::Status s = admit(context); !s.ok()) {
    return s;
  }
  // The session header goes out now, before any report: the client learns at once that the
  // stream is up and which run of the venue it is talking to.
  writer->SendInitialMetadata();
  uint64_t next = std::max<uint64_t>(request->from_execution_seq(), 1);
  std::vector<v1::ExecutionReport> batch;
  batch.reserve(config_.stream_batch);
  for (;;) {
    batch.clear();
    {
      std::unique_lock lock(market_mu_);
      if (stopping_) {
        return {grpc::StatusCode::UNAVAILABLE, "the venue is shutting down"};
      }
      switch (engine_.reportsFrom(next, config_.stream_batch, batch)) {
      case MatchingEngine::Range::Gone:
        return {grpc::StatusCode::OUT_OF_RANGE,
                "exec_seq " + std::to_string(next) +
                    " is no longer held by the venue: reconcile with ListOpenOrders"};
      case MatchingEngine::Range::Future:
        return {grpc::StatusCode::OUT_OF_RANGE,
                "exec_seq " + std::to_string(next) + " is past the venue's last one (" +
                    std::to_string(engine_.lastExecSeq()) + ") in session " +
                    engine_.config().session +
                    ": the venue has restarted, reconcile with ListOpenOrders"};
      case MatchingEngine::Range::Ok: break;
      }
      if (batch.empty()) {
        // The sync API has no cancellation callback: wake now and then to notice a client that
        // went away.
        reports_cv_.wait_for(lock, config_.stream_poll,
                             [&] { return stopping_ || engine_.lastExecSeq() >= next; });
      }
    }
    if (context->IsCancelled()) {
      return grpc::Status::CANCELLED;
    }
    for (v1::ExecutionReport& r : batch) {
      const uint64_t seq = r.exec_seq();
      if (!writer->Write(r)) {
        return grpc::Status::CANCELLED; // the client has gone
      }
      next = seq + 1;
    }
  }
}

} // namespace tickstream::exchange_sim
