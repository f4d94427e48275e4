#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "protocol.h"
#include "symbol_store.h"
#include "tickstream/auth/rate_limiter.h"
#include "tickstream/gateway/v1/gateway.pb.h"
#include "tickstream/ws/parser.h"

// One client of a gateway shard: HTTP upgrade, the WebSocket session, its subscriptions and
// what is waiting to be written to it. Runs on the server's I/O thread only.
//
// Conflation: per subscribed symbol the connection holds at most one pending update (the
// latest); a newer one replaces it and the replaced one is counted in the next Update's
// skipped_by_conflation. A slow reader therefore costs at most one pending update per
// subscription, and always gets the newest state. Everything ready goes out in one gathered
// write (header + shared bytes per update), so many small updates cost few syscalls.
namespace tickstream::gateway {

class Server;

class Connection : public std::enable_shared_from_this<Connection> {
public:
  Connection(Server& server, boost::asio::ip::tcp::socket socket, std::string peer);
  ~Connection();

  void start();
  // A new update for the subscription in `slot` (the index Server::subscribe() was given).
  void offer(uint32_t slot, const std::shared_ptr<UpdateFrames>& frames, int64_t now_ns);
  // Writes what offer() queued (Server::onUpdates calls it once per batch of updates).
  void flushQueued();
  // Sends deferred updates whose interval has passed; true if some are still deferred.
  bool releaseDeferred(int64_t now_ns);
  // Timers: auth deadline, pings, idle timeout, slow reader. Called about once per second.
  void housekeeping(int64_t now_ns);
  // SIGTERM: Reconnect, then close (4010) once it is written or the grace has passed.
  void drain(const gateway::v1::Reconnect& reconnect);
  // Closes the socket now (no close handshake).
  void abort(std::string_view why);

  [[nodiscard]] std::size_t subscriptions() const noexcept { return subs_.size(); }
  // "<shard>-<n>": names the connection in Welcome and in logs.
  [[nodiscard]] std::string connectionId() const;

private:
  static constexpr uint16_t kNoPending = UINT16_MAX;

  // One subscription, at a stable slot (index in subs_) the server's subscriber list names, so
  // an update reaches it without a search. Kept to 32 bytes: an idle connection is mostly its
  // subscriptions, and the budget is ~2 KB per idle connection with 20 of them. What only a
  // waiting update needs lives in pending_.
  struct Sub {
    const std::string* symbol = nullptr;  // interned by Server::subscribe()
    uint64_t last_seq = 0;                // last seq this client has (Update or Snapshot)
    // md.ticks updates not sent since the last Update; saturates rather than wraps (a client
    // that far behind is closed as slow long before).
    uint32_t skipped = 0;
    uint32_t min_interval_ms = 0;
    uint32_t next_allowed_ms = 0;         // ms after opened_ns_ from which one may go out
    ModeMask mask = kAllModes;
    uint16_t pending = kNoPending;        // index of its entry in pending_
  };

  // The latest update not yet sent for a subscription (conflation keeps one per symbol).
  struct PendingUpdate {
    uint32_t slot = 0;           // the subscription's index in subs_
    std::shared_ptr<UpdateFrames> frames;
    uint64_t through = 0;        // the seq the client has once it is sent
    uint32_t skipped_after = 0;  // later updates with nothing the subscription selects
    bool queued = false;         // in ready_
  };

  enum class State { Http, Open, Closing, Closed };

  // Waits until the socket is readable, then reads into the server's shared buffer: no read
  // buffer per connection (idle connections are the common case).
  void read();
  void onReadable();
  void onHttp(std::span<const uint8_t> bytes);
  void onFrames(std::span<uint8_t> bytes);
  void onMessage(bool text, std::string_view payload);
  // Takes one message (or Ping) from the inbound budget; answers RATE_LIMITED or closes if not.
  bool inboundAllowed();
  void handle(const gateway::v1::ClientMessage& m);
  void handleAuth(uint32_t request_id, std::string_view token);
  void handleSubscribe(uint32_t request_id, const gateway::v1::Subscribe& s);
  void handleUnsubscribe(uint32_t request_id, const gateway::v1::Unsubscribe& u);
  void handleResume(uint32_t request_id, const gateway::v1::Resume& r);
  // Snapshot, or the missed updates from the history when `from_seq` is set and it reaches.
  void sendState(uint32_t request_id, Sub& sub,
                 std::optional<uint64_t> from_seq);
  bool authenticate(std::string_view token, std::string& why, gateway::v1::ErrorCode& code);
  void sendWelcome(uint32_t request_id);
  void sendError(uint32_t request_id, gateway::v1::ErrorCode code, std::string message,
                 std::string symbol = {});
  void sendMessage(const gateway::v1::ServerMessage& m);
  void sendUpdateNow(const std::shared_ptr<UpdateFrames>& frames, Sub& sub);
  void queueFrame(ws::Opcode opcode, std::string payload);
  void close(uint16_t code, std::string_view reason);
  void flush();
  // Gives back the output buffers' capacity once everything is written, so a burst (a
  // subscribe's snapshots) does not stay allocated for the life of an idle connection.
  void releaseIdleBuffers();
  // Drops the subscription's pending update, if any, and its place in ready_ (resume,
  // unsubscribe).
  void dropPending(Sub& sub);
  // Removes the subscription's pending entry (it has one); the last entry moves into its place.
  void erasePending(Sub& sub);
  // Removes the subscription in `slot`; the last one moves into it.
  void removeSub(uint32_t slot);
  [[nodiscard]] uint32_t msSinceOpen(int64_t now_ns) const noexcept;
  // The subscription for a symbol name, or subs_.end().
  std::vector<Sub>::iterator findSub(std::string_view symbol) noexcept;
  void onWritten(const boost::system::error_code& ec, std::size_t bytes);
  // All output is written and the connection is to end: half-close and wait for the client.
  void linger();
  void finish();

  Server& server_;
  boost::asio::ip::tcp::socket socket_;
  std::string peer_;
  State state_ = State::Http;
  std::string http_;                 // the upgrade request until complete
  ws::FrameParser parser_;
  Encoding encoding_ = Encoding::Json;
  bool authed_ = false;
  int64_t token_expires_ns_ = 0;     // 0: no expiry
  uint64_t id_ = 0;                  // with the shard id, the connection id clients are told
  std::vector<Sub> subs_;            // by slot
  // Resume positions for later Subscribes; allocated by the first such Resume.
  std::unique_ptr<std::unordered_map<std::string, uint64_t>> resume_;
  std::vector<PendingUpdate> pending_;  // subscriptions with an update waiting
  auth::TokenBucket inbound_;
  uint32_t strikes_ = 0;             // RATE_LIMITED answers so far
  int64_t opened_ns_ = 0;
  int64_t last_heard_ns_ = 0;
  int64_t last_sent_ns_ = 0;
  bool close_after_flush_ = false;
  bool lingering_ = false;           // our side is shut; waiting for the client's EOF
  int64_t linger_since_ns_ = 0;

  // Output: control frames (encoded replies), then ready updates.
  std::vector<std::string> control_;     // complete frames (header + payload), oldest first
  std::size_t control_bytes_ = 0;        // about the bytes in control_ (capped)
  std::string pong_;                     // the Pong to the latest Ping, if unsent
  std::vector<uint32_t> ready_;           // slots with a pending update due
  bool writing_ = false;
  bool flush_queued_ = false;            // in the server's flush queue for this batch
  int64_t write_started_ns_ = 0;
  // What the write in flight refers to: kept alive until it completes.
  std::vector<std::string> inflight_control_;
  std::vector<std::shared_ptr<UpdateFrames>> inflight_frames_;
  std::vector<Pieces> inflight_pieces_;
  std::vector<std::array<uint8_t, 10>> inflight_headers_;
  std::vector<int64_t> inflight_receive_ts_;
  std::vector<boost::asio::const_buffer> iov_;
};

} // namespace tickstream::gateway
