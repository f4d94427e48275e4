#pragma once

// Requests shared by the handshake tests.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tickstream::ws::test {

// RFC 6455 section 1.3's sample request.
inline const std::string kRfcRequest = "GET /chat HTTP/1.1\r\n"
                                       "Host: server.example.com\r\n"
                                       "Upgrade: websocket\r\n"
                                       "Connection: Upgrade\r\n"
                                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                       "Origin: http://example.com\r\n"
                                       "Sec-WebSocket-Protocol: chat, superchat\r\n"
                                       "Sec-WebSocket-Version: 13\r\n"
                                       "\r\n";

// A valid upgrade with one header line replaced (`name` → `line`) or removed (line empty).
inline std::string upgradeWith(std::string_view name, std::string_view line) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Host", "Host: md.tickstream.test"},
      {"Upgrade", "Upgrade: websocket"},
      {"Connection", "Connection: Upgrade"},
      {"Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="},
      {"Sec-WebSocket-Version", "Sec-WebSocket-Version: 13"},
  };
  std::string out = "GET /v1/stream HTTP/1.1\r\n";
  for (const auto& [n, l] : headers) {
    if (n == name) {
      if (!line.empty()) {
        out += std::string(line) + "\r\n";
      }
    } else {
      out += l + "\r\n";
    }
  }
  return out + "\r\n";
}

} // namespace tickstream::ws::test
