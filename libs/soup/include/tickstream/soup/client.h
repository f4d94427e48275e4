#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "tickstream/itch/soup.h"

// SoupBinTCP 3.0 client: logs in, hands each sequenced message to a callback with its sequence
// number, and reconnects by itself (jittered exponential backoff), logging in again from the
// next expected sequence number so nothing is missed or repeated. See docs/soupbintcp.md.
namespace tickstream::soup {

struct SoupClientConfig {
  std::string host = "127.0.0.1"; // server address
  uint16_t port = 0;              // server port
  std::string username = "tick";  // at most 6 characters
  std::string password = "stream"; // at most 10 characters
  std::string session;            // blank: whatever session is current
  uint64_t sequence = 1;          // first message wanted: 1 = from the start, 0 = only new ones
  std::chrono::milliseconds heartbeat_interval{1000}; // Client Heartbeat period once logged in
  std::chrono::milliseconds silence_timeout{15000};   // reconnect if the server sends nothing
                                                      // (data or heartbeat) for this long; also
                                                      // bounds connect + login
  std::chrono::milliseconds reconnect_min{100};       // first reconnect delay
  std::chrono::milliseconds reconnect_max{5000};      // delay cap; each failure doubles it
  std::size_t max_packet_length = 1024;               // longer inbound packets are malformed
};

struct SoupClientHandlers {
  // Every Sequenced Data packet, in order, exactly once across reconnects. Required.
  std::function<void(uint64_t sequence, std::span<const uint8_t> message)> on_message;
  // Each successful login (also after a reconnect).
  std::function<void(std::string_view session, uint64_t next_sequence)> on_login;
  // Login Rejected: the client stops; credentials do not fix themselves.
  std::function<void(itch::soup::RejectReason reason)> on_rejected;
  // End of Session: the client stops.
  std::function<void()> on_end_of_session;
  // Each Server Heartbeat.
  std::function<void()> on_heartbeat;
  // Each lost connection (with a reason), before the reconnect is scheduled.
  std::function<void(std::string_view reason)> on_disconnect;
};

// Handlers run on the client's own I/O thread, one at a time.
class SoupClient {
public:
  // Throws std::invalid_argument naming the field if the config is bad.
  SoupClient(SoupClientConfig config, SoupClientHandlers handlers);
  ~SoupClient();
  SoupClient(const SoupClient&) = delete;
  SoupClient& operator=(const SoupClient&) = delete;

  void start();
  // Disconnects and joins the I/O thread; idempotent. Safe to call from outside handlers only.
  void stop();

  // The sequence number of the next message expected; any thread.
  [[nodiscard]] uint64_t nextSequence() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace tickstream::soup
