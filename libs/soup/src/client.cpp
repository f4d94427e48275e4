#include "tickstream/soup/client.h"

#include <utility> // before Asio: its awaitable.hpp uses std::exchange without including it

#include <boost/asio.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tickstream/runtime/logging.h"

namespace tickstream::soup {

namespace asio = boost::asio;
namespace wire = itch::soup;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// One TCP connection; a reconnect makes a new one, so handlers of the old one find themselves
// stale (conn != current) and do nothing.
struct Conn {
  Conn(asio::io_context& io, std::size_t max_packet_length)
      : socket(io), framer({max_packet_length}) {}
  tcp::socket socket;
  wire::SoupFramer framer;
  std::array<uint8_t, 8192> rbuf{};
  std::vector<uint8_t> out;     // queued
  std::vector<uint8_t> writing; // the write in flight
  bool write_busy = false;
  bool logged_in = false;
  uint64_t rx_seq = 0; // sequence number of the next Sequenced Data packet on this connection
};

void validate(const SoupClientConfig& c, const SoupClientHandlers& h) {
  auto fail = [](const std::string& what) { throw std::invalid_argument("soup client: " + what); };
  wire::LoginRequest probe;
  if (!wire::makeLoginRequest(c.username, c.password, c.session, 0, probe)) {
    fail("username (<= 6), password (<= 10) and session (<= 10) must be printable ASCII");
  }
  if (c.port == 0) fail("port must be set");
  if (c.heartbeat_interval.count() <= 0) fail("heartbeat_interval must be positive");
  if (c.silence_timeout.count() <= 0) fail("silence_timeout must be positive");
  if (c.reconnect_min.count() <= 0 || c.reconnect_max < c.reconnect_min) {
    fail("reconnect_min must be positive and <= reconnect_max");
  }
  if (!h.on_message) fail("on_message handler is required");
}

} // namespace

struct SoupClient::Impl {
  SoupClientConfig config;
  SoupClientHandlers handlers;
  asio::io_context io{1};
  asio::steady_timer ticker{io};
  asio::steady_timer retry{io};
  std::thread thread;
  std::shared_ptr<Conn> conn;
  std::atomic<uint64_t> next_seq{0}; // what the next login asks for
  unsigned failures = 0;             // consecutive failed attempts since the last login
  bool finished = false;             // rejected or session ended: no more reconnects
  Clock::time_point last_recv;
  Clock::time_point last_send;
  std::mt19937_64 rng{std::random_device{}()};

  void connect() {
    if (finished) {
      return;
    }
    auto c = std::make_shared<Conn>(io, config.max_packet_length);
    conn = c;
    last_recv = Clock::now(); // the silence timeout also bounds connect + login
    boost::system::error_code ec;
    tcp::resolver resolver(io);
    const auto endpoints = resolver.resolve(config.host, std::to_string(config.port), ec);
    if (ec) {
      drop(c, "resolve: " + ec.message());
      return;
    }
    asio::async_connect(c->socket, endpoints,
                        [this, c](boost::system::error_code cec, const tcp::endpoint&) {
                          onConnected(c, cec);
                        });
  }

  void onConnected(const std::shared_ptr<Conn>& c, boost::system::error_code ec) {
    if (c != conn) {
      return;
    }
    if (ec) {
      drop(c, "connect: " + ec.message());
      return;
    }
    boost::system::error_code opt_ec;
    c->socket.set_option(tcp::no_delay(true), opt_ec);
    wire::LoginRequest req;
    (void)wire::makeLoginRequest(config.username, config.password, config.session,
                                 next_seq.load(), req); // validated in the constructor
    std::array<uint8_t, wire::kHeaderSize + wire::kLoginRequestPayload> buf{};
    const std::size_t n = wire::encodeLoginRequest(req, buf);
    send(c, std::span<const uint8_t>(buf.data(), n));
    read(c);
  }

  void read(const std::shared_ptr<Conn>& c) {
    c->socket.async_read_some(asio::buffer(c->rbuf),
                              [this, c](boost::system::error_code ec, std::size_t n) {
                                onRead(c, ec, n);
                              });
  }

  void onRead(const std::shared_ptr<Conn>& c, boost::system::error_code ec, std::size_t n) {
    if (c != conn) {
      return;
    }
    if (ec) {
      drop(c, ec == asio::error::eof ? "server closed the connection" : ec.message());
      return;
    }
    last_recv = Clock::now();
    c->framer.feed(std::span<const uint8_t>(c->rbuf.data(), n));
    wire::PacketView packet;
    for (;;) {
      const auto status = c->framer.next(packet);
      if (status == wire::FrameStatus::NeedMore) {
        break;
      }
      if (status == wire::FrameStatus::Malformed) {
        logging::warn("soup malformed packet from server, reconnecting",
                      {{"host", config.host},
                       {"port", static_cast<unsigned>(config.port)},
                       {"stream_offset", c->framer.streamOffset()}});
        drop(c, "malformed packet");
        return;
      }
      handle(c, packet);
      if (c != conn) {
        return; // handle() dropped or finished the connection
      }
    }
    read(c);
  }

  void handle(const std::shared_ptr<Conn>& c, const wire::PacketView& packet) {
    using T = wire::PacketType;
    switch (packet.type) {
    case T::Debug:
      return;
    case T::LoginAccepted: {
      wire::LoginAccepted accepted;
      if (c->logged_in || wire::decodeLoginAccepted(packet.payload, accepted) != wire::SoupStatus::Ok) {
        drop(c, "bad Login Accepted");
        return;
      }
      c->logged_in = true;
      c->rx_seq = accepted.sequence;
      failures = 0;
      const uint64_t wanted = next_seq.load();
      if (wanted == 0) {
        next_seq = accepted.sequence;
      } else if (accepted.sequence > wanted) {
        // The server does not have what we asked for; say so rather than hide the gap.
        logging::warn("soup server starts past the requested sequence",
                      {{"requested", wanted}, {"next", accepted.sequence}});
        next_seq = accepted.sequence;
      }
      logging::info("soup logged in", {{"session", wire::trimmed(accepted.session)},
                                       {"next", accepted.sequence}});
      if (handlers.on_login) {
        handlers.on_login(wire::trimmed(accepted.session), accepted.sequence);
      }
      return;
    }
    case T::LoginRejected: {
      wire::RejectReason reason = wire::RejectReason::NotAuthorized;
      if (wire::decodeLoginRejected(packet.payload, reason) != wire::SoupStatus::Ok) {
        drop(c, "bad Login Rejected");
        return;
      }
      logging::error("soup login rejected, giving up",
                     {{"reason", std::string(1, static_cast<char>(reason))}});
      finish(c);
      if (handlers.on_rejected) {
        handlers.on_rejected(reason);
      }
      return;
    }
    case T::SequencedData: {
      if (!c->logged_in) {
        drop(c, "Sequenced Data before Login Accepted");
        return;
      }
      const uint64_t seq = c->rx_seq++;
      // Below next_seq only if a server restarted us earlier than asked: already delivered.
      if (seq >= next_seq.load()) {
        next_seq = seq + 1;
        handlers.on_message(seq, packet.payload);
      }
      return;
    }
    case T::ServerHeartbeat:
      if (handlers.on_heartbeat) {
        handlers.on_heartbeat();
      }
      return;
    case T::EndOfSession:
      logging::info("soup end of session", {{"next", next_seq.load()}});
      finish(c);
      if (handlers.on_end_of_session) {
        handlers.on_end_of_session();
      }
      return;
    default:
      drop(c, "client-only packet type from server");
      return;
    }
  }

  void send(const std::shared_ptr<Conn>& c, std::span<const uint8_t> bytes) {
    c->out.insert(c->out.end(), bytes.begin(), bytes.end());
    flush(c);
  }

  void flush(const std::shared_ptr<Conn>& c) {
    if (c->write_busy || c->out.empty()) {
      return;
    }
    std::swap(c->out, c->writing);
    c->out.clear();
    c->write_busy = true;
    last_send = Clock::now();
    asio::async_write(c->socket, asio::buffer(c->writing),
                      [this, c](boost::system::error_code ec, std::size_t) {
                        c->write_busy = false;
                        if (c != conn) {
                          return;
                        }
                        if (ec) {
                          drop(c, "write: " + ec.message());
                          return;
                        }
                        flush(c);
                      });
  }

  void closeSocket(const std::shared_ptr<Conn>& c) {
    boost::system::error_code ec;
    c->socket.shutdown(tcp::socket::shutdown_both, ec);
    c->socket.close(ec);
  }

  void finish(const std::shared_ptr<Conn>& c) {
    finished = true;
    closeSocket(c);
    conn.reset();
  }

  void drop(const std::shared_ptr<Conn>& c, const std::string& reason) {
    if (c != conn) {
      return;
    }
    closeSocket(c);
    conn.reset();
    logging::warn("soup connection lost", {{"reason", reason}, {"next", next_seq.load()}});
    if (handlers.on_disconnect) {
      handlers.on_disconnect(reason);
    }
    scheduleReconnect();
  }

  void scheduleReconnect() {
    if (finished) {
      return;
    }
    // Exponential backoff with "equal jitter": half fixed, half random, so a crowd of feed
    // handlers that lost the same server do not all come back in the same millisecond.
    const auto min = config.reconnect_min.count();
    const auto max = config.reconnect_max.count();
    const auto base = std::min<long long>(max, min << std::min(failures, 20u));
    ++failures;
    std::uniform_int_distribution<long long> jitter(0, base / 2);
    const auto delay = std::chrono::milliseconds(base - (base / 2) + jitter(rng));
    logging::info("soup reconnect scheduled", {{"delay_ms", static_cast<long long>(delay.count())},
                                               {"attempt", failures}});
    retry.expires_after(delay);
    retry.async_wait([this](boost::system::error_code ec) {
      if (!ec) {
        connect();
      }
    });
  }

  void tick() {
    const auto period = std::max(std::chrono::milliseconds(10),
                                 std::min(config.heartbeat_interval, config.silence_timeout) / 4);
    ticker.expires_after(period);
    ticker.async_wait([this](boost::system::error_code ec) {
      if (ec) {
        return;
      }
      const auto now = Clock::now();
      if (auto c = conn) {
        if (now - last_recv >= config.silence_timeout) {
          drop(c, c->logged_in ? "server silent" : "connect/login timed out");
        } else if (c->logged_in && now - last_send >= config.heartbeat_interval) {
          const std::array<uint8_t, wire::kHeaderSize> hb{0, 1,
                                                          static_cast<uint8_t>('R')};
          send(c, hb);
        }
      }
      tick();
    });
  }
};

SoupClient::SoupClient(SoupClientConfig config, SoupClientHandlers handlers)
    : impl_(std::make_unique<Impl>()) {
  validate(config, handlers);
  impl_->next_seq = config.sequence;
  impl_->config = std::move(config);
  impl_->handlers = std::move(handlers);
}

SoupClient::~SoupClient() { stop(); }

void SoupClient::start() {
  auto& impl = *impl_;
  if (impl.thread.joinable()) {
    return;
  }
  asio::post(impl.io, [&impl] {
    impl.connect();
    impl.tick();
  });
  impl.thread = std::thread([&impl] { impl.io.run(); });
}

void SoupClient::stop() {
  auto& impl = *impl_;
  if (!impl.thread.joinable()) {
    return;
  }
  impl.io.stop();
  impl.thread.join();
  impl.finished = true;
  if (impl.conn) {
    impl.closeSocket(impl.conn);
    impl.conn.reset();
  }
}

uint64_t SoupClient::nextSequence() const { return impl_->next_seq.load(); }

} // namespace tickstream::soup
