#include "tickstream/soup/server.h"

#include <utility> // before Asio: its awaitable.hpp uses std::exchange without including it

#include <boost/asio.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tickstream/itch/soup.h"
#include "tickstream/runtime/logging.h"

namespace tickstream::soup {

namespace asio = boost::asio;
namespace wire = itch::soup;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// One write gathers at most this much of the store, so a replay from 1 streams in steps instead
// of pinning the whole backlog in one operation.
constexpr std::size_t kBatchBytes = 64 * 1024;
constexpr std::size_t kBatchPackets = 1024;

std::string describe(const tcp::socket& socket) {
  boost::system::error_code ec;
  const auto ep = socket.remote_endpoint(ec);
  return ec ? std::string("?") : ep.address().to_string() + ":" + std::to_string(ep.port());
}

bool printable(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

void validate(const SoupServerConfig& c) {
  auto fail = [](const std::string& what) { throw std::invalid_argument("soup server: " + what); };
  if (c.username.size() > 6 || !printable(c.username)) fail("username: at most 6 printable characters");
  if (c.password.size() > 10 || !printable(c.password)) fail("password: at most 10 printable characters");
  if (c.session.empty() || c.session.size() > 10 || !printable(c.session) ||
      c.session.find(' ') != std::string::npos) {
    fail("session: 1-10 printable characters without spaces");
  }
  if (c.heartbeat_interval.count() <= 0) fail("heartbeat_interval must be positive");
  if (c.idle_timeout <= c.heartbeat_interval) fail("idle_timeout must exceed heartbeat_interval");
  if (c.max_send_queue_bytes < kBatchBytes) fail("max_send_queue_bytes must be at least 65536");
  if (c.max_packet_length < wire::kLoginRequestPayload + 1 || c.max_packet_length > 0xffff) {
    fail("max_packet_length must be 47..65535 (a Login Request must fit)");
  }
}

} // namespace

class Connection;

// The server's state; Connection needs it, and SoupServer::Impl is private to SoupServer.
struct ServerCore {
  SoupServerConfig config;
  std::shared_ptr<SoupStore> store;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  asio::steady_timer ticker{io};
  std::thread thread;
  uint16_t port = 0;
  std::set<std::shared_ptr<Connection>> connections; // I/O thread only
  std::atomic<std::size_t> connection_count{0};
  std::atomic<bool> wake_pending{false};
  std::mutex end_mu; // orders appends against endSession(), so End of Session follows them all
  std::atomic<bool> ended{false};

  void accept();
  void tick();
  void wake();
  void remove(const std::shared_ptr<Connection>& c);
};

struct SoupServer::Impl : ServerCore {};

// One client connection: login, then the store from its sequence number onwards, live.
class Connection : public std::enable_shared_from_this<Connection> {
public:
  Connection(ServerCore& server, tcp::socket socket)
      : server_(server), socket_(std::move(socket)), peer_(describe(socket_)),
        framer_({server.config.max_packet_length}) {}

  void start() {
    last_recv_ = last_send_ = Clock::now();
    logging::debug("soup client connected", {{"peer", peer_}});
    read();
  }

  void pump() {
    if (state_ == State::Closed || writing_) {
      return;
    }
    if (!control_.empty()) {
      std::swap(control_, control_writing_);
      control_.clear();
      write(asio::buffer(control_writing_));
      return;
    }
    if (state_ == State::Closing) {
      close(closing_reason_, false);
      return;
    }
    if (state_ != State::Streaming) {
      return;
    }
    // Read before the store: once ended is seen, the store holds every message there will be.
    const bool ended = server_.ended.load();
    const uint64_t last = server_.store->last();
    if (last >= next_seq_) {
      const uint64_t owed = server_.store->bytesThrough(last) -
                            server_.store->bytesThrough(std::max(next_seq_ - 1, live_from_));
      if (owed > server_.config.max_send_queue_bytes) {
        // Never buffer without bound for a slow reader: it can log in again from next_seq_.
        logging::warn("soup client too slow, disconnecting",
                      {{"peer", peer_}, {"owed_bytes", owed}, {"next", next_seq_}});
        close("slow client", false);
        return;
      }
      batch_.clear();
      const std::size_t n = server_.store->read(next_seq_, kBatchBytes, kBatchPackets, batch_);
      buffers_.clear();
      for (const StoredPacket& p : batch_) {
        buffers_.emplace_back(p.data, p.size);
      }
      next_seq_ += n;
      write(buffers_);
      return;
    }
    if (ended && !end_sent_) {
      end_sent_ = true;
      appendPacket(wire::PacketType::EndOfSession);
      state_ = State::Closing;
      closing_reason_ = "end of session";
      pump();
    }
  }

  void tick(Clock::time_point now) {
    if (state_ == State::Closed) {
      return;
    }
    if (now - last_recv_ >= server_.config.idle_timeout) {
      close("idle timeout", true);
      return;
    }
    if (state_ == State::Streaming && !writing_ && control_.empty() &&
        now - last_send_ >= server_.config.heartbeat_interval) {
      appendPacket(wire::PacketType::ServerHeartbeat);
    }
    pump();
  }

  // Immediate close on server shutdown; no logging per connection.
  void abort() {
    state_ = State::Closed;
    boost::system::error_code ec;
    socket_.close(ec);
  }

private:
  enum class State { AwaitLogin, Streaming, Closing, Closed };

  void read() {
    socket_.async_read_some(asio::buffer(rbuf_),
                            [self = shared_from_this()](boost::system::error_code ec,
                                                        std::size_t n) { self->onRead(ec, n); });
  }

  void onRead(boost::system::error_code ec, std::size_t n) {
    if (state_ == State::Closed) {
      return;
    }
    if (ec) {
      close(ec == asio::error::eof ? "peer closed" : ec.message(), false);
      return;
    }
    last_recv_ = Clock::now();
    if (state_ != State::Closing) {
      framer_.feed(std::span<const uint8_t>(rbuf_.data(), n));
      wire::PacketView packet;
      for (;;) {
        const auto status = framer_.next(packet);
        if (status == wire::FrameStatus::NeedMore) {
          break;
        }
        if (status == wire::FrameStatus::Malformed) {
          logging::warn("soup malformed packet from client, disconnecting",
                        {{"peer", peer_}, {"stream_offset", framer_.streamOffset()}});
          close("malformed packet", false);
          return;
        }
        handle(packet);
        if (state_ == State::Closed || state_ == State::Closing) {
          break;
        }
      }
    }
    read();
  }

  void handle(const wire::PacketView& packet) {
    using T = wire::PacketType;
    if (packet.type == T::Debug) {
      return;
    }
    if (state_ == State::AwaitLogin) {
      if (packet.type != T::LoginRequest) {
        protocolError("expected a Login Request first");
        return;
      }
      login(packet.payload);
      return;
    }
    switch (packet.type) {
    case T::ClientHeartbeat:
      return; // last_recv_ is already refreshed
    case T::UnsequencedData:
      return; // nothing upstream of a market-data session takes orders
    case T::LogoutRequest:
      close("logout", false);
      return;
    default:
      protocolError("unexpected packet type after login");
      return;
    }
  }

  void login(std::span<const uint8_t> payload) {
    wire::LoginRequest req;
    if (wire::decodeLoginRequest(payload, req) != wire::SoupStatus::Ok) {
      protocolError("bad Login Request");
      return;
    }
    const auto& cfg = server_.config;
    if (wire::trimmed(req.username) != cfg.username || wire::trimmed(req.password) != cfg.password) {
      reject(wire::RejectReason::NotAuthorized);
      return;
    }
    const auto session = wire::trimmed(req.session);
    if (!session.empty() && session != cfg.session) {
      reject(wire::RejectReason::SessionNotAvailable);
      return;
    }
    const uint64_t last = server_.store->last();
    // 0 asks for new messages only; a number past the end also starts at the next new one.
    next_seq_ = req.sequence == 0 ? last + 1 : std::min(req.sequence, last + 1);
    live_from_ = last;
    wire::LoginAccepted accepted;
    (void)wire::makeLoginAccepted(cfg.session, next_seq_, accepted); // validated at start-up
    std::array<uint8_t, wire::kHeaderSize + wire::kLoginAcceptedPayload> buf{};
    const std::size_t n = wire::encodeLoginAccepted(accepted, buf);
    control_.insert(control_.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    state_ = State::Streaming;
    logging::info("soup login accepted",
                  {{"peer", peer_}, {"requested", req.sequence}, {"next", next_seq_}});
    pump();
  }

  void reject(wire::RejectReason reason) {
    std::array<uint8_t, wire::kHeaderSize + wire::kLoginRejectedPayload> buf{};
    const std::size_t n = wire::encodeLoginRejected(reason, buf);
    control_.insert(control_.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    state_ = State::Closing;
    closing_reason_ = "login rejected";
    logging::warn("soup login rejected",
                  {{"peer", peer_}, {"reason", std::string(1, static_cast<char>(reason))}});
    pump();
  }

  void protocolError(const char* what) {
    logging::warn("soup protocol error, disconnecting", {{"peer", peer_}, {"error", what}});
    close(what, false);
  }

  void appendPacket(wire::PacketType type) {
    std::array<uint8_t, wire::kHeaderSize> buf{};
    const std::size_t n = wire::encodePacket(type, {}, buf);
    control_.insert(control_.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
  }

  template <typename Buffers> void write(const Buffers& buffers) {
    writing_ = true;
    asio::async_write(socket_, buffers,
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        self->onWrite(ec);
                      });
  }

  void onWrite(boost::system::error_code ec) {
    writing_ = false;
    if (state_ == State::Closed) {
      return;
    }
    if (ec) {
      close(ec.message(), false);
      return;
    }
    last_send_ = Clock::now();
    pump();
  }

  void close(const std::string& reason, bool warn) {
    if (state_ == State::Closed) {
      return;
    }
    state_ = State::Closed;
    if (warn) {
      logging::warn("soup client disconnected", {{"peer", peer_}, {"reason", reason}});
    } else {
      logging::info("soup client disconnected", {{"peer", peer_}, {"reason", reason}});
    }
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    server_.remove(shared_from_this());
  }

  ServerCore& server_;
  tcp::socket socket_;
  std::string peer_;
  wire::SoupFramer framer_;
  std::array<uint8_t, 4096> rbuf_{};
  State state_ = State::AwaitLogin;
  std::string closing_reason_;
  uint64_t next_seq_ = 1;  // next sequence number to send
  uint64_t live_from_ = 0; // store end at login: only what came after counts as owed
  bool writing_ = false;
  bool end_sent_ = false;
  std::vector<uint8_t> control_;         // login answer, heartbeats, End of Session
  std::vector<uint8_t> control_writing_; // what the write in flight is sending
  std::vector<StoredPacket> batch_;
  std::vector<asio::const_buffer> buffers_;
  Clock::time_point last_recv_;
  Clock::time_point last_send_;
};

void ServerCore::accept() {
  acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) {
      return;
    }
    if (!ec) {
      boost::system::error_code opt_ec;
      socket.set_option(tcp::no_delay(true), opt_ec);
      auto c = std::make_shared<Connection>(*this, std::move(socket));
      connections.insert(c);
      connection_count = connections.size();
      c->start();
    } else {
      logging::warn("soup accept failed", {{"error", ec.message()}});
    }
    accept();
  });
}

void ServerCore::tick() {
  // A quarter of the shortest timer keeps heartbeats and idle checks within 25% of their period.
  const auto period = std::max(std::chrono::milliseconds(10),
                               std::min(config.heartbeat_interval, config.idle_timeout) / 4);
  ticker.expires_after(period);
  ticker.async_wait([this](boost::system::error_code ec) {
    if (ec) {
      return;
    }
    const auto now = Clock::now();
    // close() erases through a posted handler, so iterating here is safe.
    for (const auto& c : connections) {
      c->tick(now);
    }
    tick();
  });
}

void ServerCore::wake() {
  // Coalesce a burst of appends into one pass over the clients.
  if (wake_pending.exchange(true)) {
    return;
  }
  asio::post(io, [this] {
    wake_pending = false;
    for (const auto& c : connections) {
      c->pump();
    }
  });
}

void ServerCore::remove(const std::shared_ptr<Connection>& c) {
  asio::post(io, [this, c] {
    connections.erase(c);
    connection_count = connections.size();
  });
}

SoupServer::SoupServer(SoupServerConfig config, std::shared_ptr<SoupStore> store)
    : impl_(std::make_unique<Impl>()) {
  validate(config);
  impl_->config = std::move(config);
  impl_->store = store ? std::move(store) : std::make_shared<SoupStore>();
}

SoupServer::~SoupServer() { stop(); }

void SoupServer::start() {
  auto& impl = *impl_;
  const std::string where = impl.config.host + ":" + std::to_string(impl.config.port);
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(impl.config.host, ec);
  if (ec) {
    throw std::runtime_error("soup listen " + where + ": bad address: " + ec.message());
  }
  const tcp::endpoint ep(address, impl.config.port);
  impl.acceptor.open(ep.protocol(), ec);
  if (!ec) {
    // Lets a restarted server bind the port its predecessor's connections still hold in TIME_WAIT.
    impl.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    impl.acceptor.bind(ep, ec);
  }
  if (!ec) {
    impl.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    throw std::runtime_error("soup listen " + where + ": " + ec.message());
  }
  impl.port = impl.acceptor.local_endpoint().port();
  impl.accept();
  impl.tick();
  impl.thread = std::thread([&impl] { impl.io.run(); });
  logging::info("soup server listening", {{"address", impl.config.host},
                                          {"port", static_cast<unsigned>(impl.port)},
                                          {"session", impl.config.session},
                                          {"last_sequence", impl.store->last()}});
}

void SoupServer::stop() {
  auto& impl = *impl_;
  if (!impl.thread.joinable()) {
    return;
  }
  impl.io.stop();
  impl.thread.join();
  for (const auto& c : impl.connections) {
    c->abort();
  }
  impl.connections.clear();
  impl.connection_count = 0;
  boost::system::error_code ec;
  impl.acceptor.close(ec);
  logging::info("soup server stopped", {{"port", static_cast<unsigned>(impl.port)}});
}

uint16_t SoupServer::port() const { return impl_->port; }

uint64_t SoupServer::append(std::span<const uint8_t> payload) {
  uint64_t seq = 0;
  {
    std::lock_guard lock(impl_->end_mu);
    if (impl_->ended) {
      return 0;
    }
    seq = impl_->store->append(payload);
  }
  if (seq != 0) {
    impl_->wake();
  }
  return seq;
}

void SoupServer::endSession() {
  {
    std::lock_guard lock(impl_->end_mu);
    impl_->ended = true;
  }
  logging::info("soup session ending", {{"last_sequence", impl_->store->last()}});
  impl_->wake();
}

const std::shared_ptr<SoupStore>& SoupServer::store() const { return impl_->store; }

std::size_t SoupServer::connections() const { return impl_->connection_count; }

} // namespace tickstream::soup
