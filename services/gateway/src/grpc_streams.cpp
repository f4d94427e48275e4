#include "grpc_streams.h"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <chrono>
#include <utility>

#include "tickstream/runtime/clock.h"
#include "tickstream/runtime/logging.h"

namespace tickstream::gateway {

using namespace std::chrono_literals;

SubscribeStream::SubscribeStream(GrpcStreams& hub, grpc::CallbackServerContext* context,
                                 std::vector<std::string> symbols, ModeMask mask,
                                 int64_t token_expires_ns, GatewayMetrics* metrics)
    : hub_(hub), context_(context), symbols_(std::move(symbols)), mask_(mask),
      token_expires_ns_(token_expires_ns), metrics_(metrics), queue_(symbols_.size()) {}

void SubscribeStream::opened() {
  std::lock_guard lock(mu_);
  // Not after Finish: gRPC forbids any operation once the stream is finished.
  if (!end_ && !finished_) {
    StartSendInitialMetadata();
  }
}

void SubscribeStream::offer(std::size_t slot, PendingUpdate update) {
  std::unique_lock lock(mu_);
  if (end_) {
    return;
  }
  if (queue_.put(slot, std::move(update)) && metrics_) {
    metrics_->grpc_conflated.Increment();
  }
  if (!writing_) {
    next(lock);
  }
}

void SubscribeStream::end(grpc::Status status) {
  std::unique_lock lock(mu_);
  if (end_) {
    return;
  }
  end_ = std::move(status);
  queue_.clear();
  if (!writing_) {
    next(lock);
  }
}

void SubscribeStream::next(std::unique_lock<std::mutex>& lock) {
  if (end_) {
    if (finished_) {
      return;
    }
    finished_ = true;
    grpc::Status status = *end_;
    lock.unlock();
    Finish(std::move(status));
    return;
  }
  PendingUpdate u;
  if (!queue_.take(u)) {
    return;
  }
  writing_ = true;
  write_started_ns_ = runtime::wallClockNs();
  lock.unlock();
  // One copy into a gRPC slice; the encoding itself is shared with every other subscriber
  // (and with WebSocket clients on the protobuf encoding) through UpdateFrames.
  grpc::Slice slice(u.bytes.data(), u.bytes.size());
  out_ = grpc::ByteBuffer(&slice, 1);
  if (metrics_) {
    metrics_->grpc_updates_out.Increment();
  }
  StartWrite(&out_);
}

bool SubscribeStream::cancelIfStalled(int64_t since_ns) {
  std::lock_guard lock(mu_);
  if (!writing_ || write_started_ns_ >= since_ns || end_) {
    return false;
  }
  end_ = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "consumer too slow");
  queue_.clear();
  // Under mu_, so the context is alive: a write in flight means Finish has not been called,
  // so OnDone cannot have happened. No deadlock: this reactor is not inlineable, so gRPC runs
  // its reactions (OnWriteDone, OnCancel) on its own threads, never inside TryCancel.
  context_->TryCancel();
  return true;
}

void SubscribeStream::OnWriteDone(bool ok) {
  std::unique_lock lock(mu_);
  writing_ = false;
  if (!ok && !end_) {
    // The call is broken (client gone, deadline): nothing more can be written.
    end_ = grpc::Status(grpc::StatusCode::CANCELLED, "stream broken");
    queue_.clear();
  }
  next(lock);
}

void SubscribeStream::OnCancel() {
  // Client cancelled, deadline exceeded or server shutdown. Finish is still required.
  end(grpc::Status::CANCELLED);
}

void SubscribeStream::OnDone() {
  // The I/O thread drops the stream from its index and then the last reference. If the I/O
  // thread has stopped, the handler is destroyed with the io_context, which frees the stream.
  boost::asio::post(hub_.io(), [hub = &hub_, self = std::move(self_)] { hub->closed(self.get()); });
}

GrpcStreams::GrpcStreams(boost::asio::io_context& io, int slow_stream_timeout_ms,
                         GatewayMetrics* metrics)
    : io_(io), slow_stream_timeout_ns_(int64_t{slow_stream_timeout_ms} * 1'000'000),
      metrics_(metrics), timer_(io) {}

GrpcStreams::~GrpcStreams() = default;

void GrpcStreams::start() {
  timer_.expires_after(1s);
  timer_.async_wait([this](const boost::system::error_code& e) {
    if (!e) housekeeping();
  });
}

void GrpcStreams::housekeeping() {
  const int64_t now = runtime::wallClockNs();
  for (const auto& [raw, stream] : streams_) {
    if (stream->tokenExpiresNs() != 0 && now >= stream->tokenExpiresNs()) {
      stream->end(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "token expired"));
    } else if (stream->cancelIfStalled(now - slow_stream_timeout_ns_)) {
      if (metrics_) metrics_->slow_client_closes.Increment();
      logging::warn("slow grpc stream cancelled", {{"symbols", static_cast<long long>(stream->symbols().size())}});
    }
  }
  start();
}

void GrpcStreams::open(std::shared_ptr<SubscribeStream> stream, const SymbolStore& store) {
  if (draining_) {
    stream->end(grpc::Status(grpc::StatusCode::UNAVAILABLE, drain_message_));
    return;
  }
  for (const auto& symbol : stream->symbols()) {
    if (store.snapshot(symbol) == nullptr) {
      stream->end(grpc::Status(grpc::StatusCode::NOT_FOUND, "not listed: " + symbol));
      return;
    }
  }
  for (std::size_t i = 0; i < stream->symbols().size(); ++i) {
    subscribers_[stream->symbols()[i]].push_back({stream.get(), i});
  }
  SubscribeStream* raw = stream.get();
  streams_.emplace(raw, std::move(stream));
  if (metrics_) {
    metrics_->grpc_streams.Set(static_cast<double>(streams_.size()));
  }
  raw->opened();
}

void GrpcStreams::closed(SubscribeStream* stream) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) {
    return;  // ended before it was registered
  }
  for (const auto& symbol : stream->symbols()) {
    auto s = subscribers_.find(symbol);
    if (s == subscribers_.end()) {
      continue;
    }
    auto& v = s->second;
    v.erase(std::remove_if(v.begin(), v.end(), [&](const Subscriber& x) { return x.stream == stream; }),
            v.end());
    if (v.empty()) {
      subscribers_.erase(s);
    }
  }
  streams_.erase(it);
  if (metrics_) {
    metrics_->grpc_streams.Set(static_cast<double>(streams_.size()));
  }
}

bool GrpcStreams::wants(const std::string& symbol) const {
  return subscribers_.contains(symbol);
}

void GrpcStreams::offer(const std::shared_ptr<UpdateFrames>& frames, bool gap) {
  auto it = subscribers_.find(frames->update().symbol());
  if (it == subscribers_.end()) {
    return;
  }
  for (const Subscriber& s : it->second) {
    if (gap) {
      s.stream->end(grpc::Status(grpc::StatusCode::DATA_LOSS,
                                 it->first + ": updates before seq " +
                                     std::to_string(frames->update().seq()) +
                                     " were lost upstream; GetSnapshot and subscribe again"));
      continue;
    }
    if (frames->empty(s.stream->mask())) {
      continue;  // nothing for its modes: a seq jump the documented rule covers
    }
    // Encoded once per mode mask, shared by every stream and WebSocket client that wants it.
    s.stream->offer(s.slot, {frames, frames->body(Encoding::Proto, s.stream->mask())});
  }
}

void GrpcStreams::drain(const std::string& message) {
  draining_ = true;
  drain_message_ = message;
  timer_.cancel();
  for (const auto& [raw, stream] : streams_) {
    stream->end(grpc::Status(grpc::StatusCode::UNAVAILABLE, message));
  }
}

} // namespace tickstream::gateway
