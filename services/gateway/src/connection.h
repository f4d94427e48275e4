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
#include "topic.h"
#include "write_batch.h"
#include "tickstream/auth/rate_limiter.h"
#include "tickstream/gateway/v1/gateway.pb.h"
#include "tickstream/ws/parser.h"

// One client of a gateway shard: HTTP upgrade, the WebSocket session, its subscriptions and
// what is waiting to be written to it. Runs on the server's I/O thread only.
//
// Conflation: the connection holds no queue of updates. When it writes (flush), it pulls from
// each subscription's Topic the newest update for the subscription's modes, if it is newer
// than what the client has; the updates in between are counted in that Update's
// skipped_by_conflation. A slow reader therefore costs no memory per update, and always gets
// the newest state. Everything new goes out in one gathered write (header + shared bytes per
// update), so many small updates cost few syscalls; while a write waits for a full socket
// buffer the connection pulls nothing, so a slow reader is sent fewer, newer updates.
namespace tickstream::gateway {

class Server;

class Connection : public std::enable_shared_from_this<Connection> {
public:
  // `index`: the server's small number for it (Server::markDirty).
  Connection(Server& server, boost::asio::ip::tcp::socket socket, std::string peer, uint32_t index);
  ~Connection();

  void start();
  // Writes queued replies and every subscription's new update, if not writing already (then
  // the write's completion flushes). The server's sweep calls it for marked connections.
  void flush();
  // The sweep hands over the subscription slots marked since the last write (topic.h); the
  // next flush() looks at those (and at any it kept, e.g. held back by a min interval).
  void pullFrom(uint64_t slots) noexcept { pending_ |= slots; }
  // Timers: auth deadline, pings, idle timeout, slow reader. Called about once per second.
  void housekeeping(int64_t now_ns);
  // SIGTERM: Reconnect, then close (4010) once it is written or the grace has passed.
  void drain(const gateway::v1::Reconnect& reconnect);
  // Closes the socket now (no close handshake).
  void abort(std::string_view why);

  [[nodiscard]] std::size_t subscriptions() const noexcept { return subs_.size(); }
  [[nodiscard]] uint32_t index() const noexcept { return index_; }
  // "<shard>-<n>": names the connection in Welcome and in logs.
  [[nodiscard]] std::string connectionId() const;

private:
  // One subscription. Kept to 32 bytes: an idle connection is mostly its subscriptions, and
  // the budget is ~2 KB per idle connection with 20 of them.
  struct Sub {
    Topic* topic = nullptr;               // the symbol's, from Server::subscribe()
    uint64_t last_seq = 0;                // last seq this client has (Update or Snapshot)
    // The topic's `received` count this client was last brought up to (by an Update, a
    // Snapshot or a replay): the next Update's skipped_by_conflation is counted from it.
    uint32_t received = 0;
    uint32_t min_interval_ms = 0;
    uint32_t next_allowed_ms = 0;         // ms after opened_ns_ from which one may go out
    ModeMask mask = kAllModes;
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
  void sendUpdateNow(const std::shared_ptr<UpdateFrames>& frames, Sub& sub, uint64_t skipped);
  void queueFrame(ws::Opcode opcode, std::string payload);
  void close(uint16_t code, std::string_view reason);
  // Adds queued replies to `batch`; returns how many of control_ it took.
  std::size_t takeControl(WriteBatch& batch);
  // Adds the new update (if due) of each subscription in a pending slot to `batch`; true when
  // it stopped for lack of room and more are new.
  bool pullUpdates(int64_t now_ns, WriteBatch& batch);
  enum class Pull { Done, HeldBack, NoRoom };
  // One subscription's part of pullUpdates().
  Pull pullOne(Sub& sub, uint32_t now_ms, WriteBatch& batch);
  // Sends as much of `batch` as the socket takes now; the rest goes to backlog_. False when
  // the connection failed (it is finished).
  bool send(const WriteBatch& batch, int64_t now_ns);
  // Writes backlog_ once the socket has room again, then flushes what came meanwhile.
  void waitForRoom();
  // Gives back the output buffers' capacity once everything is written, so a burst (a
  // subscribe's snapshots) does not stay allocated for the life of an idle connection.
  void releaseIdleBuffers();
  // Removes the subscription in `slot`; the last one moves into it.
  void removeSub(uint32_t slot);
  [[nodiscard]] uint32_t msSinceOpen(int64_t now_ns) const noexcept;
  // The subscription for a symbol name, or subs_.end().
  std::vector<Sub>::iterator findSub(std::string_view symbol) noexcept;
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
  uint32_t index_ = 0;
  std::vector<Sub> subs_;
  // Slots (bit s: subs_[s], bit 63: slots 63 and on) that may have something new to pull.
  uint64_t pending_ = 0;
  // Resume positions for later Subscribes; allocated by the first such Resume.
  std::unique_ptr<std::unordered_map<std::string, uint64_t>> resume_;
  auth::TokenBucket inbound_;
  uint32_t strikes_ = 0;             // RATE_LIMITED answers so far
  int64_t opened_ns_ = 0;
  int64_t last_heard_ns_ = 0;        // anything from the client (a pong included)
  int64_t last_ping_ns_ = 0;         // our last ping
  bool close_after_flush_ = false;
  bool lingering_ = false;           // our side is shut; waiting for the client's EOF
  int64_t linger_since_ns_ = 0;

  // Output: control frames (encoded replies), then new updates, built into the server's
  // WriteBatch at each flush.
  std::vector<std::string> control_;     // complete frames (header + payload), oldest first
  std::size_t control_bytes_ = 0;        // about the bytes in control_ (capped)
  std::string pong_;                     // the Pong to the latest Ping, if unsent
  // What the socket did not take of the last write (a slow reader): at most one write's worth.
  // While it is not empty the connection waits for room and pulls nothing (writing_).
  std::string backlog_;
  bool writing_ = false;
  int64_t write_started_ns_ = 0;         // when backlog_ began waiting
};

} // namespace tickstream::gateway
