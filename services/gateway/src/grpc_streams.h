#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "conflation_queue.h"
#include "gateway_metrics.h"
#include "protocol.h"
#include "symbol_store.h"

// The live side of MarketData.Subscribe (docs/gateway.md, "gRPC").
//
// Threads. The gateway's state (SymbolStore, the fan-out) lives on the Asio I/O thread; gRPC
// runs reactions on its own threads. The hand-off is one mutex per stream:
//   - the I/O thread (GrpcStreams) registers a stream once its symbols are checked against the
//     store, and offers it each update of its symbols: SubscribeStream::offer puts the update's
//     shared encoded bytes into the stream's ConflationQueue under the stream's mutex;
//   - whichever thread finds the stream idle (no write in flight) takes the oldest pending
//     update and starts the write outside the mutex; OnWriteDone (a gRPC thread) takes the
//     next one. So at most one write is in flight, and a slow consumer holds at most one
//     pending update per symbol: memory is bounded however far behind it falls.
//   - ending (drain, data loss, token expiry, cancellation) is requested under the mutex from
//     any thread; Finish is called once no write is in flight. A write that flow control holds
//     for longer than the slow-client timeout gets the call cancelled (TryCancel), which fails
//     the write, and so the stream finishes;
//   - OnDone (a gRPC thread) posts the stream's removal to the I/O thread, which drops the
//     last reference. A stream is therefore never freed while the I/O thread can still see it.
//
// Conflation vs. loss. Within one stream, a symbol's seq strictly increases. A jump means the
// gateway skipped updates for this stream, never that they were lost: either the consumer was
// slower than the updates (latest wins) or an update had nothing for the requested modes. When
// the shard's own input jumps (an md.ticks seq gap: updates were lost upstream), every stream of
// that symbol ends with DATA_LOSS instead, so a consumer re-reads the state with GetSnapshot.
namespace tickstream::gateway {

class GrpcStreams;

class SubscribeStream final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
public:
  // `token_expires_ns`: when the caller's token expires (0: never); the stream ends with
  // UNAUTHENTICATED then. `context` is the call's, valid until OnDone.
  SubscribeStream(GrpcStreams& hub, grpc::CallbackServerContext* context,
                  std::vector<std::string> symbols, ModeMask mask, int64_t token_expires_ns,
                  GatewayMetrics* metrics);

  [[nodiscard]] const std::vector<std::string>& symbols() const noexcept { return symbols_; }
  [[nodiscard]] ModeMask mask() const noexcept { return mask_; }
  [[nodiscard]] int64_t tokenExpiresNs() const noexcept { return token_expires_ns_; }

  // I/O thread: the subscription is live; sends the initial metadata, so a client can wait for
  // it before calling GetSnapshot (nothing between the two is missed).
  void opened();
  // I/O thread: a newer update for symbols()[slot].
  void offer(std::size_t slot, PendingUpdate update);
  // Any thread: end the stream with `status` (the first request wins). Pending updates are
  // dropped; a write in flight completes first.
  void end(grpc::Status status);

  // Any thread: cancels the call when a write has been in flight since before `since_ns` (the
  // consumer stopped reading and HTTP/2 flow control holds the write; conflation bounds the
  // memory, this frees the stream). Returns whether it did.
  bool cancelIfStalled(int64_t since_ns);

  // Holds the stream until OnDone (the reactor must outlive it). Called once, by its creator.
  void keepUntilDone(std::shared_ptr<SubscribeStream> self) { self_ = std::move(self); }

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

private:
  // With mu_ held and no write in flight: starts the next write, or Finish if ending. Unlocks.
  void next(std::unique_lock<std::mutex>& lock);

  GrpcStreams& hub_;
  grpc::CallbackServerContext* const context_;
  const std::vector<std::string> symbols_;
  const ModeMask mask_;
  const int64_t token_expires_ns_;
  GatewayMetrics* metrics_;

  std::mutex mu_;
  ConflationQueue queue_;            // guarded by mu_
  bool writing_ = false;             // a StartWrite is in flight; guarded by mu_
  int64_t write_started_ns_ = 0;     // when it started; guarded by mu_
  std::optional<grpc::Status> end_;  // requested ending; guarded by mu_
  bool finished_ = false;            // Finish called; guarded by mu_
  grpc::ByteBuffer out_;             // the message in flight; only its writer touches it
  std::shared_ptr<SubscribeStream> self_;
};

// The I/O thread's index of open Subscribe streams: symbol -> (stream, slot). Everything but
// draining() runs on the I/O thread.
class GrpcStreams {
public:
  // A stream whose write has waited `slow_stream_timeout_ms` is cancelled.
  GrpcStreams(boost::asio::io_context& io, int slow_stream_timeout_ms, GatewayMetrics* metrics);
  ~GrpcStreams();

  // Starts the once-a-second check of token expiry and stalled writes.
  void start();

  // Checks the stream's symbols against `store` (an unknown one ends it with NOT_FOUND naming
  // it), then registers it. Ends it with UNAVAILABLE when draining.
  void open(std::shared_ptr<SubscribeStream> stream, const SymbolStore& store);
  // From SubscribeStream::OnDone (posted to the I/O thread).
  void closed(SubscribeStream* stream);

  // Whether any stream wants updates of `symbol` (the fan-out encodes an update only then).
  [[nodiscard]] bool wants(const std::string& symbol) const;
  // An update the store applied. `gap`: the store saw an md.ticks seq jump before it.
  void offer(const std::shared_ptr<UpdateFrames>& frames, bool gap);

  // md.snapshot is loaded: calls are taken from now on (before, a symbol would look unknown).
  void setReady() noexcept { ready_ = true; }
  // SIGTERM: every stream ends with UNAVAILABLE and `message`; later ones are refused.
  void drain(const std::string& message);
  // Any thread.
  [[nodiscard]] bool ready() const noexcept { return ready_.load(); }
  [[nodiscard]] bool draining() const noexcept { return draining_.load(); }

  [[nodiscard]] boost::asio::io_context& io() noexcept { return io_; }
  [[nodiscard]] std::size_t size() const noexcept { return streams_.size(); }

private:
  struct Subscriber {
    SubscribeStream* stream;
    std::size_t slot;
  };

  void housekeeping();

  boost::asio::io_context& io_;
  const int64_t slow_stream_timeout_ns_;
  GatewayMetrics* metrics_;
  boost::asio::steady_timer timer_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> draining_{false};
  std::string drain_message_;
  std::unordered_map<SubscribeStream*, std::shared_ptr<SubscribeStream>> streams_;
  std::unordered_map<std::string, std::vector<Subscriber>> subscribers_;
};

} // namespace tickstream::gateway
