// What the gateway integration tests share: a free loopback port, waiting for a shard to
// listen, and ws_client.py (Python's websockets, a client that is not ours) run to completion.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tickstream/auth/jwt.h"
#include "tickstream/testing/child.h"
#include "tickstream/testing/infra.h"

namespace tickstream::testing::gateway {

inline uint16_t freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// The WebSocket port a shard listens on, once it has also said it is ready (its snapshot
// loaded); 0 if it exited or took more than 30 s.
inline uint16_t waitForPort(Child& gw) {
  uint16_t port = 0;
  const std::regex ready(R"("gateway ready")");
  const std::regex listening(R"("gateway listening".*"port":(\d+))");
  waitUntil(
      [&] {
        const std::string log = gw.log();
        std::smatch m;
        if (std::regex_search(log, m, listening) && std::regex_search(log, ready)) {
          port = static_cast<uint16_t>(std::stoi(m[1].str()));
        }
        return port != 0 || !gw.running();
      },
      std::chrono::seconds(30));
  return port;
}

// Runs ws_client.py to completion (its log under `dir`); one parsed JSON object per line it
// printed.
inline std::vector<nlohmann::json> runClient(const std::string& dir, const std::vector<std::string>& args) {
  static int n = 0;
  const std::string log = dir + "/client-" + std::to_string(++n) + ".log";
  std::vector<std::string> argv{TICKSTREAM_PYTHON, TICKSTREAM_WS_CLIENT};
  argv.insert(argv.end(), args.begin(), args.end());
  Child client(argv, log);
  REQUIRE(client.waitExit(std::chrono::seconds(60)) == std::optional<int>(0));
  std::vector<nlohmann::json> out;
  std::istringstream in(slurp(log));
  for (std::string line; std::getline(in, line);) {
    INFO(line);
    if (!line.empty() && line[0] == '{') {
      out.push_back(nlohmann::json::parse(line));
    }
  }
  return out;
}

// The messages (not the final {"closed": ...} line) a client printed.
inline std::vector<nlohmann::json> messages(const std::vector<nlohmann::json>& lines) {
  std::vector<nlohmann::json> out;
  for (const auto& l : lines) {
    if (l.contains("message")) out.push_back(l["message"]);
  }
  return out;
}

// Claims for `subject` expiring `expires_in_s` from now (whole seconds, as JWT has them).
inline auth::Claims claimsFor(const std::string& subject, int64_t expires_in_s) {
  auth::Claims c;
  c.subject = subject;
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  c.issued_at = now;
  c.expires_at = now + expires_in_s;
  return c;
}

// A raw client socket that sent a WebSocket upgrade to /v1/stream with `token`, from
// `source_ip` (127.0.0.x) with a receive buffer of `rcvbuf` bytes (0: the kernel's); what the
// gateway answered (status line and headers, "" if nothing came within 5 s) is in `response`.
// The caller owns the fd.
inline int upgrade(uint16_t port, const std::string& token, std::string& response,
                   const std::string& source_ip = "127.0.0.1", int rcvbuf = 0) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  REQUIRE(::inet_pton(AF_INET, source_ip.c_str(), &local.sin_addr) == 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) == 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  timeval five_s{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &five_s, sizeof five_s);
  const std::string req = "GET /v1/stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Authorization: Bearer " + token + "\r\n\r\n";
  REQUIRE(::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size()));
  response.clear();
  char c;
  while (response.find("\r\n\r\n") == std::string::npos && ::read(fd, &c, 1) == 1) response += c;
  timeval none{0, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
  return fd;
}

// The close code the client saw, if the server closed it.
inline std::optional<int> closeCode(const std::vector<nlohmann::json>& lines) {
  if (lines.empty() || !lines.back().contains("closed") || lines.back()["closed"].is_null()) {
    return std::nullopt;
  }
  return lines.back()["closed"].get<int>();
}

} // namespace tickstream::testing::gateway
