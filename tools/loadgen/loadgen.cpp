// loadgen: K WebSocket clients of a gateway shard on one epoll thread. Each subscribes to S
// random symbols, checks per-symbol seq continuity and measures publish→receive latency, then
// prints one JSON line of results (docs/loadgen.md).
//   loadgen --url ws://127.0.0.1:8080/v1/stream --connections 1000 --source-ips 16 (continued:)
//           --connect-rate 200 --symbols-per-connection 20 --warmup-s 5 --duration-s 30
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "tickstream/gateway/v1/gateway.pb.h"
#include "tickstream/runtime/flags.h"
#include "tickstream/runtime/shutdown.h"
#include "update_scan.h"
#include "ws_frame.h"

namespace gv1 = tickstream::gateway::v1;
namespace mdv1 = tickstream::marketdata::v1;

namespace tickstream::loadgen {
namespace {

struct LoadgenConfig {
  std::string url = "ws://127.0.0.1:8080/v1/stream";  // gateway WebSocket endpoint
  int connections = 1000;                             // WebSocket connections to open
  int source_ips = 16;                                // bind to 127.0.0.1 .. 127.0.0.N, round robin
  double connect_rate = 200;                          // connection attempts per second (all IPs)
  int symbols_per_connection = 20;                    // random symbols each connection subscribes
  std::string modes;                                  // comma list (trades,quote,depth,bars); empty = all
  uint32_t min_interval_ms = 0;                       // Subscribe.min_interval_ms
  std::string encoding = "proto";                     // proto | json
  std::string token;                                  // bearer token in the upgrade request
  double warmup_s = 5;                                // seconds after connecting before measuring
  double duration_s = 30;                             // measured seconds
  double connect_timeout_s = 0;                       // connect phase bound (0: connections / rate + 10 s)
  uint64_t seed = 1;                                  // symbol choice
  bool full_parse = false;                            // parse every proto update with protobuf
  int rcvbuf = 0;                                     // SO_RCVBUF per socket (0: kernel default)
  int busy_poll_us = 0;                               // poll without sleeping this long after events
  int poll_sleep_us = 0;                              // never block in epoll: poll, sleep this long when idle
  int timeline_ms = 0;                                // latency per slot of this width (0: none)
};

int64_t wallNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}
int64_t monoNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// Log-linear histogram of nanoseconds: 64 sub-buckets per power of two (~1.6% resolution), a
// fixed array so recording never allocates.
class Histogram {
 public:
  void record(int64_t ns) {
    const uint64_t v = ns < 0 ? 0 : static_cast<uint64_t>(ns);
    ++counts_[index(v)];
    ++total_;
    max_ = std::max(max_, v);
  }
  uint64_t count() const { return total_; }
  double maxMs() const { return static_cast<double>(max_) / 1e6; }
  // Upper bound of the bucket that holds quantile q, in ms.
  double quantileMs(double q) const {
    if (total_ == 0) return 0;
    const auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total_)));
    uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank && counts_[i] != 0) {
        return std::min(static_cast<double>(upper(i)), static_cast<double>(max_)) / 1e6;
      }
    }
    return maxMs();
  }

 private:
  static constexpr int kSubBits = 6;
  static std::size_t index(uint64_t v) {
    if (v < (uint64_t{2} << kSubBits)) return v;
    const int msb = 63 - __builtin_clzll(v);
    const int e = msb - kSubBits;
    return (std::size_t{2} << kSubBits) + static_cast<std::size_t>(e - 1) * (std::size_t{1} << kSubBits) +
           static_cast<std::size_t>((v >> e) - (uint64_t{1} << kSubBits));
  }
  static uint64_t upper(std::size_t i) {
    if (i < (std::size_t{2} << kSubBits)) return i;
    const std::size_t j = i - (std::size_t{2} << kSubBits);
    const int e = static_cast<int>(j >> kSubBits) + 1;
    const uint64_t sub = (j & ((1u << kSubBits) - 1)) + (uint64_t{1} << kSubBits);
    return ((sub + 1) << e) - 1;
  }
  std::array<uint64_t, 4096> counts_{};
  uint64_t total_ = 0;
  uint64_t max_ = 0;
};

struct Stats {
  uint64_t established = 0;
  uint64_t failed = 0;
  std::map<std::string, uint64_t> failures;  // reason -> count (connect phase only)
  uint64_t subscriptions = 0;                // Subscribed replies
  uint64_t snapshots = 0;
  uint64_t messages = 0;                     // every ServerMessage
  uint64_t updates = 0;
  uint64_t bytes = 0;                        // bytes read from sockets
  uint64_t seq_loss_events = 0;              // updates with seq > last + skipped + 1
  uint64_t seq_losses = 0;                   // missing seqs summed over those
  uint64_t conflation_skips = 0;             // sum of skipped_by_conflation on good updates
  uint64_t stale = 0;                        // seq <= last
  uint64_t before_snapshot = 0;              // update for a symbol without a snapshot yet
  uint64_t unknown_symbol_updates = 0;       // update for a symbol this connection did not ask for
  uint64_t parse_errors = 0;
  uint64_t negative_latency = 0;             // publish_ts in our future: clocks disagree
  std::map<std::string, uint64_t> errors;    // ErrorCode name -> count
  std::map<int, uint64_t> closes;            // close code (1006: no Close frame) -> count
  std::map<std::string, uint64_t> reconnects;
};

// Interned symbols, so a connection's subscriptions are small integers and a lookup from the
// wire's string_view does not allocate.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
class SymbolTable {
 public:
  uint32_t intern(const std::string& s) {
    auto [it, inserted] = ids_.try_emplace(s, static_cast<uint32_t>(ids_.size()));
    return it->second;
  }
  int64_t find(std::string_view s) const {
    auto it = ids_.find(s);
    return it == ids_.end() ? -1 : it->second;
  }

 private:
  std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>> ids_;
};

struct SubState {
  uint32_t symbol = 0;
  bool have_base = false;
  uint64_t last_seq = 0;
};

enum class ConnState { Idle, Connecting, Upgrading, Open, Closed };

struct Conn {
  int fd = -1;
  int index = 0;
  ConnState state = ConnState::Idle;
  std::string out;        // pending bytes to write (requests, pongs, close)
  std::string partial;    // an incomplete frame carried over to the next read
  std::string fragments;  // a fragmented message being assembled (rare)
  Opcode fragment_opcode = Opcode::Continuation;
  std::vector<SubState> subs;
  std::vector<std::string> symbols;  // names, for the Subscribe
  bool close_sent = false;
  bool counted_close = false;
};

struct Url {
  std::string host;
  uint16_t port = 0;
  std::string path;
};

bool parseUrl(const std::string& url, Url& out) {
  const std::string prefix = "ws://";
  if (url.rfind(prefix, 0) != 0) return false;
  std::string rest = url.substr(prefix.size());
  const auto slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  out.path = slash == std::string::npos ? "/" : rest.substr(slash);
  const auto colon = hostport.rfind(':');
  if (colon == std::string::npos) return false;
  out.host = hostport.substr(0, colon);
  out.port = static_cast<uint16_t>(std::stoi(hostport.substr(colon + 1)));
  return true;
}

// A blocking HTTP/1.1 GET (start-up only).
bool httpGet(const Url& url, const std::string& path, std::string& body, std::string& error) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(url.port);
  if (inet_pton(AF_INET, url.host.c_str(), &addr.sin_addr) != 1) {
    error = "host must be an IPv4 address: " + url.host;
    ::close(fd);
    return false;
  }
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error = std::string("connect: ") + std::strerror(errno);
    ::close(fd);
    return false;
  }
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + url.host + ":" +
                          std::to_string(url.port) + "\r\nConnection: close\r\n\r\n";
  (void)!::write(fd, req.data(), req.size());
  std::string resp;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    resp.append(buf, static_cast<std::size_t>(n));
    const auto hdr_end = resp.find("\r\n\r\n");
    if (hdr_end != std::string::npos) {
      std::string headers = resp.substr(0, hdr_end);
      std::transform(headers.begin(), headers.end(), headers.begin(), ::tolower);
      const auto cl = headers.find("content-length:");
      if (cl != std::string::npos &&
          resp.size() - hdr_end - 4 >= std::stoul(headers.substr(cl + 15))) break;
    }
  }
  ::close(fd);
  const auto hdr_end = resp.find("\r\n\r\n");
  if (resp.rfind("HTTP/1.1 200", 0) != 0 || hdr_end == std::string::npos) {
    error = "GET " + path + ": " + resp.substr(0, resp.find("\r\n"));
    return false;
  }
  body = resp.substr(hdr_end + 4);
  return true;
}

class LoadGen {
 public:
  LoadGen(LoadgenConfig config, Url url, std::vector<std::string> symbols)
      : config_(std::move(config)), url_(std::move(url)), all_symbols_(std::move(symbols)) {
    proto_ = config_.encoding == "proto";
    for (const auto& s : all_symbols_) table_.intern(s);
    conns_.resize(static_cast<std::size_t>(config_.connections));
    read_buf_.resize(1 << 20);
    std::mt19937_64 rng(config_.seed);
    std::vector<uint32_t> idx(all_symbols_.size());
    for (uint32_t i = 0; i < idx.size(); ++i) idx[i] = i;
    const auto per = std::min<std::size_t>(static_cast<std::size_t>(config_.symbols_per_connection), idx.size());
    for (std::size_t c = 0; c < conns_.size(); ++c) {
      Conn& conn = conns_[c];
      conn.index = static_cast<int>(c);
      for (std::size_t k = 0; k < per; ++k) {  // partial Fisher-Yates: `per` distinct symbols
        std::uniform_int_distribution<std::size_t> d(k, idx.size() - 1);
        std::swap(idx[k], idx[d(rng)]);
        conn.symbols.push_back(all_symbols_[idx[k]]);
        conn.subs.push_back(SubState{idx[k], false, 0});
      }
    }
    inet_pton(AF_INET, url_.host.c_str(), &dest_.sin_addr);
    dest_.sin_family = AF_INET;
    dest_.sin_port = htons(url_.port);
    upgrade_request_ = "GET " + url_.path + " HTTP/1.1\r\nHost: " + url_.host + ":" +
                       std::to_string(url_.port) +
                       "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                       "Sec-WebSocket-Protocol: " +
                       (proto_ ? "tickstream.v1.proto" : "tickstream.v1.json") + "\r\n" +
                       (config_.token.empty() ? "" : "Authorization: Bearer " + config_.token + "\r\n") +
                       "\r\n";
    epfd_ = epoll_create1(0);
  }

  int run(runtime::ShutdownSignal& shutdown) {
    const int64_t start = monoNs();
    const double connect_timeout =
        config_.connect_timeout_s > 0 ? config_.connect_timeout_s
                                      : static_cast<double>(config_.connections) / config_.connect_rate + 10;
    int64_t connect_deadline = start + static_cast<int64_t>(connect_timeout * 1e9);
    int64_t warm_start = 0, measure_start = 0, measure_end = 0;
    std::size_t next = 0;
    int64_t last_progress = start;
    std::array<epoll_event, 512> events{};
    while (!shutdown.requested()) {
      const int64_t now = monoNs();
      // Connection attempts, paced at connect_rate.
      if (next < conns_.size()) {
        const auto allowed = static_cast<std::size_t>(
            static_cast<double>(now - start) / 1e9 * config_.connect_rate) + 1;
        while (next < conns_.size() && next < allowed) startConnect(conns_[next++]);
      }
      // Phases: connect (until all settled or the deadline), warm-up, measure.
      if (warm_start == 0) {
        const bool settled = next == conns_.size() && pending_ == 0;
        if (settled || now >= connect_deadline) {
          warm_start = now;
          connect_phase_s_ = static_cast<double>(now - start) / 1e9;
          // Scripts wait for this line to sample the server with every connection held.
          std::fprintf(stderr, "loadgen: connected open=%d failed=%llu in %.1fs\n", open_,
                       static_cast<unsigned long long>(stats_.failed), connect_phase_s_);
        }
      } else if (measure_start == 0 && now >= warm_start + static_cast<int64_t>(config_.warmup_s * 1e9)) {
        measure_start = now;
        at_measure_ = stats_;
        measuring_ = true;
        timeline_start_ns_ = wallNs();
      } else if (measure_start != 0 && now >= measure_start + static_cast<int64_t>(config_.duration_s * 1e9)) {
        measure_end = now;
        break;
      }
      if (now - last_progress >= 5'000'000'000) {
        std::fprintf(stderr, "loadgen: t=%.0fs open=%d failed=%llu msgs=%llu losses=%llu\n",
                     static_cast<double>(now - start) / 1e9, open_,
                     static_cast<unsigned long long>(stats_.failed),
                     static_cast<unsigned long long>(stats_.messages),
                     static_cast<unsigned long long>(stats_.seq_losses));
        last_progress = now;
      }
      // With --busy-poll-us, a loop that saw events recently polls again at once instead of
      // sleeping: an awake reader needs no wake-up, which on loopback the sender's core pays
      // for (an IPI to this one), i.e. the shard being measured.
      const bool spin = config_.busy_poll_us > 0 &&
                        now - last_events_ns_ < int64_t{config_.busy_poll_us} * 1000;
      const int n = epoll_wait(epfd_, events.data(), static_cast<int>(events.size()),
                               spin || config_.poll_sleep_us > 0 ? 0 : 5);
      if (n > 0) last_events_ns_ = now;
      // With --poll-sleep-us the thread never waits inside epoll, so a socket becoming
      // readable finds no waiter to wake: like --busy-poll-us it takes the wake-up off the
      // sender's core, but it sleeps (on its own timer) instead of spinning, and adds at most
      // the sleep to each measured latency.
      if (n == 0 && config_.poll_sleep_us > 0 && !spin) {  // --busy-poll-us spins first
        const timespec ts{0, static_cast<long>(config_.poll_sleep_us) * 1000};
        nanosleep(&ts, nullptr);
      }
      for (int i = 0; i < n; ++i) {
        Conn& c = conns_[events[i].data.u32];
        onEvent(c, events[i].events);
      }
    }
    if (measure_end == 0) measure_end = monoNs();
    if (measure_start == 0) measure_start = measure_end;
    report(static_cast<double>(measure_end - measure_start) / 1e9);
    if (config_.timeline_ms > 0) printTimeline();
    return stats_.established > 0 ? 0 : 1;
  }

 private:
  void fail(Conn& c, const std::string& reason) {
    if (c.state == ConnState::Connecting || c.state == ConnState::Upgrading) {
      ++stats_.failed;
      ++stats_.failures[reason];
      --pending_;
    }
    closeFd(c);
  }

  void closeFd(Conn& c) {
    if (c.state == ConnState::Open) --open_;
    if (c.fd >= 0) {
      epoll_ctl(epfd_, EPOLL_CTL_DEL, c.fd, nullptr);
      ::close(c.fd);
    }
    c.fd = -1;
    c.state = ConnState::Closed;
  }

  void startConnect(Conn& c) {
    ++pending_;
    c.state = ConnState::Connecting;
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) return fail(c, std::string("socket: ") + std::strerror(errno));
    const int one = 1;
    setsockopt(c.fd, SOL_TCP, TCP_NODELAY, &one, sizeof one);
    if (config_.rcvbuf > 0) setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &config_.rcvbuf, sizeof config_.rcvbuf);
    if (config_.source_ips > 0) {
      // Each source address has its own ~28k ephemeral ports; the port is picked at connect()
      // (IP_BIND_ADDRESS_NO_PORT), so the 4-tuple, not the bind, limits the count.
      setsockopt(c.fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      sockaddr_in src{};
      src.sin_family = AF_INET;
      src.sin_addr.s_addr = htonl(0x7F000001u + static_cast<uint32_t>(c.index % config_.source_ips));
      if (::bind(c.fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
        return fail(c, std::string("bind: ") + std::strerror(errno));
      }
    }
    if (::connect(c.fd, reinterpret_cast<const sockaddr*>(&dest_), sizeof dest_) != 0 && errno != EINPROGRESS) {
      return fail(c, std::string("connect: ") + std::strerror(errno));
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u32 = static_cast<uint32_t>(c.index);
    epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev);
  }

  void setWriteInterest(Conn& c, bool want) {
    epoll_event ev{};
    ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
    ev.data.u32 = static_cast<uint32_t>(c.index);
    epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  void flush(Conn& c) {
    while (!c.out.empty()) {
      const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN) return setWriteInterest(c, true);
        return c.state == ConnState::Open ? peerGone(c) : fail(c, std::string("send: ") + std::strerror(errno));
      }
      c.out.erase(0, static_cast<std::size_t>(n));
    }
    setWriteInterest(c, false);
  }

  void onEvent(Conn& c, uint32_t events) {
    if (c.fd < 0) return;
    if (c.state == ConnState::Connecting) {
      if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) return;
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) return fail(c, std::string("connect: ") + std::strerror(err));
      c.state = ConnState::Upgrading;
      c.out = upgrade_request_;
      return flush(c);
    }
    if ((events & EPOLLOUT) != 0) {
      flush(c);
      if (c.fd < 0) return;
    }
    if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) onReadable(c);
  }

  void peerGone(Conn& c) {
    if (!c.counted_close) {
      ++stats_.closes[1006];  // no Close frame: reset or EOF
      c.counted_close = true;
    }
    closeFd(c);
  }

  void onReadable(Conn& c) {
    // Carry-over first, then read after it, all in the shared buffer: a connection owns no
    // read buffer, only the (usually empty) tail of an incomplete frame.
    std::size_t have = c.partial.size();
    if (have > 0) {
      if (read_buf_.size() < have * 2) read_buf_.resize(have * 2);
      std::memcpy(read_buf_.data(), c.partial.data(), have);
      c.partial.clear();
    }
    const ssize_t n = ::read(c.fd, read_buf_.data() + have, read_buf_.size() - have);
    if (n <= 0) {
      if (n < 0 && errno == EAGAIN) {
        c.partial.assign(read_buf_.data(), have);
        return;
      }
      return c.state == ConnState::Upgrading ? fail(c, n == 0 ? "eof during upgrade" : std::strerror(errno))
                                             : peerGone(c);
    }
    recv_wall_ns_ = wallNs();  // one clock read per read(): every message in it arrived by now
    stats_.bytes += static_cast<uint64_t>(n);
    have += static_cast<std::size_t>(n);
    char* p = read_buf_.data();
    std::size_t left = have;
    if (c.state == ConnState::Upgrading) {
      const std::string_view view(p, left);
      const auto end = view.find("\r\n\r\n");
      if (end == std::string_view::npos) {
        if (left > 16384) return fail(c, "upgrade response too large");
        c.partial.assign(p, left);
        return;
      }
      if (view.substr(0, 12) != "HTTP/1.1 101") {
        const auto eol = view.find("\r\n");
        return fail(c, "http: " + std::string(view.substr(9, eol > 9 ? eol - 9 : 0)));
      }
      c.state = ConnState::Open;
      --pending_;
      ++open_;
      ++stats_.established;
      p += end + 4;
      left -= end + 4;
    }
    std::size_t need = 0;
    while (left > 0 && c.fd >= 0) {
      Frame f;
      const ParseResult r = parseFrame(p, left, f);
      if (r.status == ParseStatus::NeedMore) {
        need = r.consumed;
        break;
      }
      if (r.status == ParseStatus::Error) {
        ++stats_.parse_errors;
        sendClose(c, 1002);
        return peerGone(c);
      }
      onFrame(c, f);
      p += r.consumed;
      left -= r.consumed;
    }
    if (c.fd >= 0 && left > 0) c.partial.assign(p, left);
    if (need > read_buf_.size() / 2) read_buf_.resize(need * 2);  // a frame bigger than the buffer
  }

  uint32_t maskKey() {
    rng_state_ ^= rng_state_ << 13;
    rng_state_ ^= rng_state_ >> 7;
    rng_state_ ^= rng_state_ << 17;
    return static_cast<uint32_t>(rng_state_);
  }

  void sendClose(Conn& c, uint16_t code) {
    if (c.close_sent || c.fd < 0) return;
    c.close_sent = true;
    const char payload[2] = {static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
    appendClientFrame(c.out, Opcode::Close, std::string_view(payload, 2), maskKey());
    flush(c);
  }

  void onFrame(Conn& c, const Frame& f) {
    switch (f.opcode) {
      case Opcode::Ping:
        appendClientFrame(c.out, Opcode::Pong, std::string_view(f.payload, f.length), maskKey());
        return flush(c);
      case Opcode::Pong:
        return;
      case Opcode::Close: {
        const int code = f.length >= 2 ? (static_cast<uint8_t>(f.payload[0]) << 8) | static_cast<uint8_t>(f.payload[1])
                                       : 1005;
        ++stats_.closes[code];
        c.counted_close = true;
        sendClose(c, static_cast<uint16_t>(code == 1005 ? 1000 : code));
        return closeFd(c);
      }
      case Opcode::Continuation:
        c.fragments.append(f.payload, f.length);
        if (f.fin) {
          onMessage(c, c.fragment_opcode, c.fragments.data(), c.fragments.size());
          c.fragments.clear();
        }
        return;
      case Opcode::Text:
      case Opcode::Binary:
        if (!f.fin) {
          c.fragment_opcode = f.opcode;
          c.fragments.assign(f.payload, f.length);
          return;
        }
        return onMessage(c, f.opcode, f.payload, f.length);
    }
  }

  void onMessage(Conn& c, Opcode opcode, const char* data, std::size_t size) {
    ++stats_.messages;
    if (proto_ && opcode == Opcode::Binary && !config_.full_parse) {
      UpdateFields u;
      const ScanResult r = scanServerMessage(data, size, u);
      if (r == ScanResult::Update) return onUpdate(c, u);
      if (r == ScanResult::Malformed) {
        ++stats_.parse_errors;
        return;
      }
    }
    if (opcode == Opcode::Text) {
      // Updates through nlohmann (protobuf's JsonStringToMessage builds a type resolver per
      // call, ~10x slower); anything else through protobuf below.
      json_doc_ = nlohmann::json::parse(data, data + size, nullptr, false);
      if (json_doc_.is_discarded()) {
        ++stats_.parse_errors;
        return;
      }
      const auto outer = json_doc_.find("update");
      if (outer != json_doc_.end()) {
        UpdateFields u;
        const auto& inner = (*outer)["update"];
        auto num = [](const nlohmann::json& obj, const char* key) -> uint64_t {
          const auto it = obj.find(key);
          if (it == obj.end()) return 0;
          return it->is_string() ? std::stoull(it->get_ref<const std::string&>()) : it->get<uint64_t>();
        };
        const auto& sym = inner["symbol"].get_ref<const std::string&>();
        u.symbol = sym;
        u.seq = num(inner, "seq");
        u.receive_ts_ns = static_cast<int64_t>(num(inner, "receiveTsNs"));
        u.publish_ts_ns = static_cast<int64_t>(num(inner, "publishTsNs"));
        u.skipped = num(*outer, "skippedByConflation");
        return onUpdate(c, u);
      }
    }
    bool ok = false;
    if (opcode == Opcode::Binary) {
      ok = msg_.ParseFromArray(data, static_cast<int>(size));
    } else {
      google::protobuf::util::JsonParseOptions opts;
      opts.ignore_unknown_fields = true;
      ok = google::protobuf::util::JsonStringToMessage(std::string_view(data, size), &msg_, opts).ok();
    }
    if (!ok) {
      ++stats_.parse_errors;
      return;
    }
    onServerMessage(c, msg_);
  }

  SubState* findSub(Conn& c, std::string_view symbol) {
    const int64_t id = table_.find(symbol);
    if (id < 0) return nullptr;
    for (auto& s : c.subs) {
      if (s.symbol == static_cast<uint32_t>(id)) return &s;
    }
    return nullptr;
  }

  void onUpdate(Conn& c, const UpdateFields& u) {
    ++stats_.updates;
    if (measuring_) {
      publish_latency_.record(recv_wall_ns_ - u.publish_ts_ns);
      if (config_.timeline_ms > 0) timeline(recv_wall_ns_ - u.publish_ts_ns);
      if (u.receive_ts_ns != 0) receive_latency_.record(recv_wall_ns_ - u.receive_ts_ns);
      if (recv_wall_ns_ < u.publish_ts_ns) ++stats_.negative_latency;
    }
    SubState* s = findSub(c, u.symbol);
    if (s == nullptr) {
      ++stats_.unknown_symbol_updates;
      return;
    }
    if (!s->have_base) {
      ++stats_.before_snapshot;
      return;
    }
    if (u.seq <= s->last_seq) {
      ++stats_.stale;
      return;
    }
    const uint64_t expected = s->last_seq + u.skipped + 1;
    if (u.seq == expected) {
      stats_.conflation_skips += u.skipped;
    } else {
      ++stats_.seq_loss_events;
      stats_.seq_losses += u.seq > expected ? u.seq - expected : 0;
    }
    s->last_seq = u.seq;  // keep checking from here (loadgen does not Resume)
  }

  // --timeline-ms: per slot of receive time, how many updates came and the slowest one's
  // latency. It shows whether a tail is steady queueing or a few stalls and their spacing.
  struct Slot {
    uint64_t count = 0;
    int64_t max_ns = 0;
  };
  void timeline(int64_t latency_ns) {
    // Wall clock, as the latencies: a step back lands in the first slot, not a negative index.
    const auto slot = static_cast<std::size_t>(std::max<int64_t>(recv_wall_ns_ - timeline_start_ns_, 0) /
                                               (int64_t{config_.timeline_ms} * 1'000'000));
    if (slot >= timeline_.size()) timeline_.resize(slot + 1);
    ++timeline_[slot].count;
    timeline_[slot].max_ns = std::max(timeline_[slot].max_ns, latency_ns);
  }
  void printTimeline() const {
    for (std::size_t i = 0; i < timeline_.size(); ++i) {
      std::fprintf(stderr, "{\"timeline_ms\": %zu, \"updates\": %llu, \"max_latency_ms\": %.1f}\n",
                   i * static_cast<std::size_t>(config_.timeline_ms),
                   static_cast<unsigned long long>(timeline_[i].count),
                   static_cast<double>(timeline_[i].max_ns) / 1e6);
    }
  }

  void onServerMessage(Conn& c, const gv1::ServerMessage& m) {
    switch (m.body_case()) {
      case gv1::ServerMessage::kUpdate: {
        UpdateFields u;
        const auto& up = m.update().update();
        u.symbol = up.symbol();
        u.seq = up.seq();
        u.receive_ts_ns = up.receive_ts_ns();
        u.publish_ts_ns = up.publish_ts_ns();
        u.skipped = m.update().skipped_by_conflation();
        return onUpdate(c, u);
      }
      case gv1::ServerMessage::kWelcome:
        return sendSubscribe(c);
      case gv1::ServerMessage::kSubscribed:
        ++stats_.subscriptions;
        return;
      case gv1::ServerMessage::kSnapshot: {
        ++stats_.snapshots;
        if (SubState* s = findSub(c, m.snapshot().snapshot().symbol())) {
          s->have_base = true;
          s->last_seq = m.snapshot().snapshot().last_seq();
        }
        return;
      }
      case gv1::ServerMessage::kError:
        ++stats_.errors[gv1::ErrorCode_Name(m.error().code())];
        return;
      case gv1::ServerMessage::kReconnect:
        ++stats_.reconnects[gv1::ReconnectReason_Name(m.reconnect().reason())];
        return;
      default:
        return;
    }
  }

  void sendSubscribe(Conn& c) {
    gv1::ClientMessage m;
    m.set_request_id(1);
    for (const auto& sym : c.symbols) {
      auto* sub = m.mutable_subscribe()->add_subscriptions();
      sub->set_symbol(sym);
      for (const auto mode : modes_) sub->add_modes(mode);
      sub->set_min_interval_ms(config_.min_interval_ms);
    }
    std::string payload;
    if (proto_) {
      m.SerializeToString(&payload);
    } else {
      (void)google::protobuf::util::MessageToJsonString(m, &payload);
    }
    appendClientFrame(c.out, proto_ ? Opcode::Binary : Opcode::Text, payload, maskKey());
    flush(c);
  }

 public:
  std::vector<mdv1::Mode> modes_;

 private:
  void report(double seconds) {
    const double secs = seconds > 0 ? seconds : 1;
    nlohmann::json j;
    j["connections_requested"] = config_.connections;
    j["connections_established"] = stats_.established;
    j["connections_failed"] = stats_.failed;
    j["connections_open_at_end"] = open_;
    j["connect_failures"] = stats_.failures;
    j["connect_phase_s"] = connect_phase_s_;
    j["encoding"] = config_.encoding;
    j["symbols_available"] = all_symbols_.size();
    j["subscriptions"] = stats_.subscriptions;
    j["snapshots"] = stats_.snapshots;
    j["measured_s"] = seconds;
    const uint64_t msgs = stats_.messages - at_measure_.messages;
    const uint64_t updates = stats_.updates - at_measure_.updates;
    const uint64_t bytes = stats_.bytes - at_measure_.bytes;
    j["messages"] = msgs;
    j["updates"] = updates;
    j["messages_per_s"] = std::round(static_cast<double>(msgs) / secs);
    j["updates_per_s"] = std::round(static_cast<double>(updates) / secs);
    j["bytes_per_s"] = std::round(static_cast<double>(bytes) / secs);
    auto lat = [](const Histogram& h) {
      return nlohmann::json{{"count", h.count()},       {"p50", h.quantileMs(0.5)},
                            {"p90", h.quantileMs(0.9)}, {"p99", h.quantileMs(0.99)},
                            {"p999", h.quantileMs(0.999)}, {"max", h.maxMs()}};
    };
    j["latency_publish_ms"] = lat(publish_latency_);
    j["latency_receive_ms"] = lat(receive_latency_);
    j["negative_latency"] = stats_.negative_latency;
    // Whole run (not just the measured window): one lost update anywhere matters.
    j["seq_losses"] = stats_.seq_losses;
    j["seq_loss_events"] = stats_.seq_loss_events;
    j["conflation_skips"] = stats_.conflation_skips;
    j["stale_updates"] = stats_.stale;
    j["updates_before_snapshot"] = stats_.before_snapshot;
    j["updates_unknown_symbol"] = stats_.unknown_symbol_updates;
    j["parse_errors"] = stats_.parse_errors;
    j["errors"] = stats_.errors;
    nlohmann::json closes = nlohmann::json::object();
    for (const auto& [code, n] : stats_.closes) closes[std::to_string(code)] = n;
    j["closes"] = closes;
    j["reconnects"] = stats_.reconnects;
    std::printf("%s\n", j.dump().c_str());
    std::fflush(stdout);
  }

  LoadgenConfig config_;
  Url url_;
  std::vector<std::string> all_symbols_;
  SymbolTable table_;
  std::vector<Conn> conns_;
  std::vector<char> read_buf_;
  sockaddr_in dest_{};
  std::string upgrade_request_;
  int epfd_ = -1;
  bool proto_ = true;
  int open_ = 0;
  int pending_ = 0;  // attempts not yet open or failed
  bool measuring_ = false;
  double connect_phase_s_ = 0;
  int64_t last_events_ns_ = 0;  // monotonic time of the last epoll_wait that returned events
  int64_t recv_wall_ns_ = 0;  // wall clock after the latest read(): the receive time
  uint64_t rng_state_ = 0x9E3779B97F4A7C15ull;
  gv1::ServerMessage msg_;  // reused for every full parse
  nlohmann::json json_doc_;  // reused for every JSON message
  Stats stats_;
  Stats at_measure_;
  Histogram publish_latency_;
  Histogram receive_latency_;
  int64_t timeline_start_ns_ = 0;  // wall clock when measuring began
  std::vector<Slot> timeline_;
};

}  // namespace
}  // namespace tickstream::loadgen

int main(int argc, char** argv) {
  using namespace tickstream;
  runtime::ShutdownSignal shutdown;
  loadgen::LoadgenConfig config;
  runtime::Flags flags("loadgen", "WebSocket load generator for the gateway (docs/loadgen.md)");
  flags.add("--url", config.url, "gateway WebSocket URL, ws://IPv4:PORT/v1/stream");
  flags.add("--connections", config.connections, "WebSocket connections")->check(CLI::Range(1, 10'000'000));
  flags.add("--source-ips", config.source_ips, "bind to 127.0.0.1..127.0.0.N (0: no bind)")->check(CLI::Range(0, 254));
  flags.add("--connect-rate", config.connect_rate, "connection attempts per second")->check(CLI::PositiveNumber);
  flags.add("--symbols-per-connection", config.symbols_per_connection, "random symbols per connection")
      ->check(CLI::Range(1, 100'000));
  flags.add("--modes", config.modes, "comma list of trades,quote,depth,bars (empty: all)");
  flags.add("--min-interval-ms", config.min_interval_ms, "Subscribe.min_interval_ms");
  flags.add("--encoding", config.encoding, "proto | json")->check(CLI::IsMember({"proto", "json"}));
  flags.add("--token", config.token, "bearer token (Authorization header of the upgrade)");
  flags.add("--warmup-s", config.warmup_s, "seconds between connecting and measuring");
  flags.add("--duration-s", config.duration_s, "measured seconds")->check(CLI::PositiveNumber);
  flags.add("--connect-timeout-s", config.connect_timeout_s, "bound on the connect phase (0: auto)");
  flags.add("--seed", config.seed, "seed of the symbol choice");
  flags.addSwitch("--full-parse", config.full_parse, "parse every binary update with protobuf");
  flags.add("--rcvbuf", config.rcvbuf, "SO_RCVBUF per socket (0: kernel default)");
  flags.add("--busy-poll-us", config.busy_poll_us,
            "keep polling without sleeping for this long after events (0: always sleep)");
  flags.add("--poll-sleep-us", config.poll_sleep_us,
            "never block in epoll_wait: poll, and sleep this long when nothing came, after any "
            "--busy-poll-us spin (0: block)")
      ->check(CLI::Range(0, 100'000));
  flags.add("--timeline-ms", config.timeline_ms,
            "print count and max latency per slot of this many ms to stderr (0: none)")
      ->check(CLI::NonNegativeNumber);
  if (auto code = flags.parse(argc, argv)) return *code;

  loadgen::Url url;
  if (!loadgen::parseUrl(config.url, url)) {
    std::fprintf(stderr, "loadgen: --url must be ws://IPv4:PORT/path, got %s\n", config.url.c_str());
    return 2;
  }
  std::vector<marketdata::v1::Mode> modes;
  {
    std::string rest = config.modes;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const std::string m = rest.substr(0, comma);
      rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
      if (m == "trades") modes.push_back(marketdata::v1::MODE_TRADES);
      else if (m == "quote") modes.push_back(marketdata::v1::MODE_QUOTE);
      else if (m == "depth") modes.push_back(marketdata::v1::MODE_DEPTH);
      else if (m == "bars") modes.push_back(marketdata::v1::MODE_BARS);
      else if (!m.empty()) {
        std::fprintf(stderr, "loadgen: --modes: unknown mode %s\n", m.c_str());
        return 2;
      }
    }
  }
  // One fd per connection: raise the soft limit to the hard one.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur < static_cast<rlim_t>(config.connections) + 16) {
    std::fprintf(stderr, "loadgen: --connections %d exceeds the open-file limit %llu\n", config.connections,
                 static_cast<unsigned long long>(rl.rlim_cur));
    return 2;
  }
  std::string body, error;
  if (!loadgen::httpGet(url, "/v1/symbols", body, error)) {
    std::fprintf(stderr, "loadgen: %s\n", error.c_str());
    return 1;
  }
  std::vector<std::string> symbols = nlohmann::json::parse(body).get<std::vector<std::string>>();
  if (symbols.empty()) {
    std::fprintf(stderr, "loadgen: GET /v1/symbols returned no symbols (is md.snapshot loaded?)\n");
    return 1;
  }
  loadgen::LoadGen gen(config, url, std::move(symbols));
  gen.modes_ = modes;
  return gen.run(shutdown);
}
