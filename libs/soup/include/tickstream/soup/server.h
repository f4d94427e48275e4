#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "tickstream/soup/store.h"

// SoupBinTCP 3.0 server for one session: logs clients in, replays the store from the sequence
// number they ask for and then follows new messages live. See docs/soupbintcp.md.
namespace tickstream::soup {

struct SoupServerConfig {
  std::string host = "127.0.0.1";  // address to listen on
  uint16_t port = 0;               // 0 picks an ephemeral port; see SoupServer::port()
  std::string username = "tick";   // accepted username (at most 6 characters)
  std::string password = "stream"; // accepted password (at most 10 characters)
  std::string session = "1";       // the one session this server serves (at most 10 characters)
  std::chrono::milliseconds heartbeat_interval{1000}; // Server Heartbeat after this much silence
  std::chrono::milliseconds idle_timeout{15000};      // drop a client that sends nothing this long
  std::size_t max_send_queue_bytes = 8u << 20; // live bytes a client may lag behind before it is
                                               // dropped (it can log in again from where it was)
  std::size_t max_packet_length = 1024;        // longest inbound packet; beyond it, drop the peer
};

class SoupServer {
public:
  // `store` may be shared with an earlier server (a restart); a new empty one if null. Throws
  // std::invalid_argument naming the field if the config is bad.
  explicit SoupServer(SoupServerConfig config, std::shared_ptr<SoupStore> store = nullptr);
  ~SoupServer();
  SoupServer(const SoupServer&) = delete;
  SoupServer& operator=(const SoupServer&) = delete;

  // Binds, listens and starts the I/O thread; throws std::runtime_error if it cannot listen.
  void start();
  // Closes every connection and the listener; idempotent. Clients see the connection drop.
  void stop();
  [[nodiscard]] uint16_t port() const;

  // Adds a message and wakes the clients that follow live; returns its sequence number, 0 if it
  // is too long or the session has ended. Any thread.
  uint64_t append(std::span<const uint8_t> payload);
  // Ends the session: every client gets the rest of the store then End of Session, and is
  // disconnected; later logins get the same. Further appends are refused. Any thread.
  void endSession();

  [[nodiscard]] const std::shared_ptr<SoupStore>& store() const;
  // Clients currently connected (logged in or not); for tests and metrics.
  [[nodiscard]] std::size_t connections() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace tickstream::soup
