// A minimal blocking WebSocket server on 127.0.0.1 built on libs/ws, for the interop test
// (interop_client.py drives it with Python's `websockets`). One connection at a time, plain POSIX
// sockets, driven the way the gateway will drive the library: read into a scratch buffer, hand it
// to parseRequest()/FrameParser, answer with writeHeader() + the payload in one writev.
//
// Prints "PORT <n>" once listening, then one JSON line per connection saying what it saw; exits 0
// after "GET /quit", 1 on an unexpected failure. Paths:
//   /echo    echoes every message; sends one ping of its own after the first message; a text
//            "burst:N" is answered with N small messages in a single writev
//   /tiny    as /echo with a 1 KiB message limit (a larger message is closed with 1009)
//   /strict  requires a subprotocol (400 without)
//   anything else over plain HTTP: 404
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tickstream/ws/frame.h"
#include "tickstream/ws/handshake.h"
#include "tickstream/ws/parser.h"

namespace {

using namespace tickstream::ws;

bool writeAll(int fd, std::vector<iovec> iov) {
  std::size_t at = 0;
  while (at < iov.size()) {
    const int count = static_cast<int>(std::min<std::size_t>(iov.size() - at, IOV_MAX));
    const ssize_t n = ::writev(fd, iov.data() + at, count);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    auto left = static_cast<std::size_t>(n);
    while (at < iov.size() && left >= iov[at].iov_len) {
      left -= iov[at].iov_len;
      ++at;
    }
    if (left > 0) {
      iov[at].iov_base = static_cast<char*>(iov[at].iov_base) + left;
      iov[at].iov_len -= left;
    }
  }
  return true;
}

bool writeAll(int fd, const void* data, std::size_t len) {
  return writeAll(fd, {iovec{const_cast<void*>(data), len}});
}

std::string jsonEscape(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

struct Report {
  std::string path;
  std::string subprotocol;
  int http_status = 101;
  std::size_t text = 0;
  std::size_t binary = 0;
  std::size_t bytes = 0;
  std::size_t largest = 0;
  std::size_t client_pings = 0;
  bool server_ping_answered = false;
  int close_code = 0; // the client's Close code, or the one we sent on a protocol error
  std::string close_reason;
  bool protocol_error = false;

  void print() const {
    std::printf("{\"path\":\"%s\",\"http_status\":%d,\"subprotocol\":\"%s\",\"text\":%zu,"
                "\"binary\":%zu,\"bytes\":%zu,\"largest\":%zu,\"client_pings\":%zu,"
                "\"server_ping_answered\":%s,\"close_code\":%d,\"close_reason\":\"%s\","
                "\"protocol_error\":%s}\n",
                jsonEscape(path).c_str(), http_status, jsonEscape(subprotocol).c_str(), text,
                binary, bytes, largest, client_pings, server_ping_answered ? "true" : "false",
                close_code, jsonEscape(close_reason).c_str(), protocol_error ? "true" : "false");
    std::fflush(stdout);
  }
};

constexpr std::string_view kServerPing = "server-ping";

// Runs the frames of one upgraded connection. `first` holds bytes that came after the handshake.
void serveWebSocket(int fd, std::string_view first, std::size_t max_message, Report& report) {
  FrameParserConfig config;
  config.maxMessageBytes = max_message;
  config.validate();
  FrameParser parser(config);
  std::vector<uint8_t> scratch(64 * 1024); // the gateway's per-thread read buffer
  std::size_t have = first.size();
  std::memcpy(scratch.data(), first.data(), have);
  bool pinged = false;
  uint8_t control[kMaxControlFrameSize];

  for (;;) {
    std::span<uint8_t> input(scratch.data(), have);
    for (;;) {
      const Event ev = parser.next(input);
      if (ev.type == EventType::NeedMore) {
        break;
      }
      switch (ev.type) {
      case EventType::Text:
      case EventType::Binary: {
        const bool is_text = ev.type == EventType::Text;
        (is_text ? report.text : report.binary)++;
        report.bytes += ev.payload.size();
        report.largest = std::max(report.largest, ev.payload.size());
        std::vector<iovec> iov;
        // Headers live here; payloads are shared (the echo points into the read buffer).
        std::vector<std::array<uint8_t, kMaxServerHeaderSize>> headers;
        std::vector<std::string> bodies;
        if (is_text && ev.text().starts_with("burst:")) {
          const int n = std::atoi(std::string(ev.text().substr(6)).c_str());
          headers.resize(static_cast<std::size_t>(n));
          bodies.resize(static_cast<std::size_t>(n));
          for (int i = 0; i < n; ++i) {
            const auto k = static_cast<std::size_t>(i);
            bodies[k] = "m" + std::to_string(i);
            const std::size_t h = writeHeader(headers[k].data(), Opcode::Text, bodies[k].size());
            iov.push_back({headers[k].data(), h});
            iov.push_back({bodies[k].data(), bodies[k].size()});
          }
        } else {
          headers.resize(1);
          const Opcode op = is_text ? Opcode::Text : Opcode::Binary;
          const std::size_t h = writeHeader(headers[0].data(), op, ev.payload.size());
          iov.push_back({headers[0].data(), h});
          iov.push_back({const_cast<uint8_t*>(ev.payload.data()), ev.payload.size()});
        }
        if (!pinged) {
          pinged = true;
          const std::size_t n = writePing(
              control, std::span(reinterpret_cast<const uint8_t*>(kServerPing.data()),
                                 kServerPing.size()));
          iov.push_back({control, n});
        }
        if (!writeAll(fd, iov)) {
          return;
        }
        break;
      }
      case EventType::Ping: {
        ++report.client_pings;
        const std::size_t n = writePong(control, ev.payload);
        if (!writeAll(fd, control, n)) {
          return;
        }
        break;
      }
      case EventType::Pong:
        report.server_ping_answered = report.server_ping_answered || ev.text() == kServerPing;
        break;
      case EventType::Close: {
        // Echo the code and reason, then close: the server closes TCP first (RFC 6455 7.1.1).
        report.close_code = static_cast<int>(ev.code);
        report.close_reason = std::string(ev.reason);
        const std::size_t n = writeClose(control, ev.code, ev.reason);
        writeAll(fd, control, n);
        return;
      }
      case EventType::ProtocolError: {
        report.protocol_error = true;
        report.close_code = static_cast<int>(ev.code);
        report.close_reason = std::string(ev.reason);
        const std::size_t n = writeClose(control, ev.code, ev.reason);
        writeAll(fd, control, n);
        // Give the client a moment to answer with its Close before the socket goes.
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 2000) > 0) {
          (void)::recv(fd, scratch.data(), scratch.size(), 0);
        }
        return;
      }
      case EventType::NeedMore:
        break;
      }
    }
    const ssize_t n = ::recv(fd, scratch.data(), scratch.size(), 0);
    if (n <= 0) {
      return; // EOF, timeout or error: the client went away without a Close
    }
    have = static_cast<std::size_t>(n);
  }
}

// Returns false when the client asked the server to quit.
bool serveConnection(int fd, bool& failed) {
  HandshakeConfig config;
  config.subprotocols = {"tickstream.v1", "tickstream.v2"};
  config.validate();
  std::string request;
  char buf[4096];
  RequestResult r;
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      return true;
    }
    request.append(buf, static_cast<std::size_t>(n));
    r = parseRequest(request, config);
    if (r.kind != RequestKind::NeedMore) {
      break;
    }
  }
  Report report;
  report.path = std::string(r.request.path);
  if (r.kind == RequestKind::Upgrade && r.request.path == "/strict") {
    config.requireSubprotocol = true;
    r = parseRequest(request, config);
  }
  if (r.kind == RequestKind::Error) {
    const std::string resp = buildTextResponse(r.status, r.reason);
    writeAll(fd, resp.data(), resp.size());
    report.http_status = static_cast<int>(r.status);
    report.print();
    return true;
  }
  if (r.kind == RequestKind::PlainHttp) {
    const bool quit = r.request.path == "/quit";
    const std::string resp = quit ? buildTextResponse(HttpStatus::Ok, "bye")
                                  : buildTextResponse(HttpStatus::NotFound, "no such page");
    writeAll(fd, resp.data(), resp.size());
    report.http_status = quit ? 200 : 404;
    report.print();
    return !quit;
  }
  report.subprotocol = std::string(r.request.subprotocol);
  const std::string resp = buildUpgradeResponse(r.request);
  if (!writeAll(fd, resp.data(), resp.size())) {
    failed = true;
    return true;
  }
  const std::size_t max_message = r.request.path == "/tiny" ? 1024 : 1 << 20;
  serveWebSocket(fd, std::string_view(request).substr(r.request.headerBytes), max_message, report);
  if (report.protocol_error && r.request.path != "/tiny") {
    failed = true; // a real client broke our parser's rules: that is what this test looks for
  }
  report.print();
  return true;
}

} // namespace

int main() {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 8) != 0) {
    std::perror("bind/listen");
    return 1;
  }
  socklen_t len = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  std::printf("PORT %u\n", ntohs(addr.sin_port));
  std::fflush(stdout);

  bool failed = false;
  for (;;) {
    // Bounded: a client that never comes (the driver died) does not leave this running.
    pollfd p{listener, POLLIN, 0};
    if (::poll(&p, 1, 60'000) <= 0) {
      std::fprintf(stderr, "no connection for 60 s, giving up\n");
      return 1;
    }
    const int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) {
      continue;
    }
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const bool go_on = serveConnection(fd, failed);
    ::shutdown(fd, SHUT_WR);
    ::close(fd);
    if (!go_on) {
      break;
    }
  }
  ::close(listener);
  return failed ? 1 : 0;
}
