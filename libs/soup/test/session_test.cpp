#include <catch2/catch.hpp>

#include <utility> // before Asio: its awaitable.hpp uses std::exchange without including it

#include <boost/asio.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tickstream/itch/soup.h"
#include "tickstream/soup/client.h"
#include "tickstream/soup/server.h"

using namespace tickstream::soup;
namespace wire = tickstream::itch::soup;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

// Polls a condition until it holds or the deadline passes; the sleep is the poll interval, not
// the synchronisation.
bool waitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 5000ms) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

std::string text(uint64_t i) { return "msg-" + std::to_string(i); }

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

void appendRange(SoupServer& server, uint64_t from, uint64_t to) {
  for (uint64_t i = from; i <= to; ++i) {
    REQUIRE(server.append(bytes(text(i))) == i);
  }
}

// What a SoupClient delivered, guarded for reading from the test thread.
struct Received {
  std::mutex mu;
  std::vector<std::pair<uint64_t, std::string>> messages;
  std::atomic<int> logins{0};
  std::atomic<int> heartbeats{0};
  std::atomic<int> disconnects{0};
  std::atomic<bool> ended{false};
  std::optional<wire::RejectReason> rejected;

  std::size_t count() {
    std::lock_guard lock(mu);
    return messages.size();
  }
  std::optional<wire::RejectReason> rejection() {
    std::lock_guard lock(mu);
    return rejected;
  }
  // Sequence numbers first..last, each once and in order, each with its own payload.
  void checkExactly(uint64_t first, uint64_t last) {
    std::lock_guard lock(mu);
    REQUIRE(messages.size() == last - first + 1);
    for (std::size_t i = 0; i < messages.size(); ++i) {
      INFO("index " << i);
      REQUIRE(messages[i].first == first + i);
      REQUIRE(messages[i].second == text(first + i));
    }
  }

  SoupClientHandlers handlers() {
    SoupClientHandlers h;
    h.on_message = [this](uint64_t seq, std::span<const uint8_t> m) {
      std::lock_guard lock(mu);
      messages.emplace_back(seq, std::string(m.begin(), m.end()));
    };
    h.on_login = [this](std::string_view, uint64_t) { ++logins; };
    h.on_heartbeat = [this] { ++heartbeats; };
    h.on_disconnect = [this](std::string_view) { ++disconnects; };
    h.on_end_of_session = [this] { ended = true; };
    h.on_rejected = [this](wire::RejectReason r) {
      std::lock_guard lock(mu);
      rejected = r;
    };
    return h;
  }
};

SoupClientConfig clientFor(uint16_t port, uint64_t sequence = 1) {
  SoupClientConfig c;
  c.port = port;
  c.sequence = sequence;
  c.silence_timeout = 3000ms;
  c.reconnect_min = 20ms;
  c.reconnect_max = 200ms;
  return c;
}

// Reads until the peer closes or the timeout passes; true if it closed.
bool closedByPeer(tcp::socket& socket, asio::io_context& io, std::chrono::milliseconds timeout) {
  bool closed = false;
  std::array<uint8_t, 512> buf{};
  std::function<void()> readMore = [&] {
    socket.async_read_some(asio::buffer(buf), [&](boost::system::error_code ec, std::size_t) {
      if (ec) {
        closed = true;
        return;
      }
      readMore();
    });
  };
  readMore();
  io.restart();
  io.run_for(timeout);
  return closed;
}

} // namespace

TEST_CASE("a client logging in from 1 receives messages 1..N in order") {
  SoupServer server({});
  appendRange(server, 1, 500);
  server.start();
  Received got;
  SoupClient client(clientFor(server.port(), 1), got.handlers());
  client.start();
  REQUIRE(waitFor([&] { return got.count() >= 500; }));
  got.checkExactly(1, 500);
  CHECK(client.nextSequence() == 501);
}

TEST_CASE("a client logging in from sequence k receives k..N") {
  SoupServer server({});
  appendRange(server, 1, 100);
  server.start();
  Received got;
  SoupClient client(clientFor(server.port(), 42), got.handlers());
  client.start();
  REQUIRE(waitFor([&] { return got.count() >= 59; }));
  got.checkExactly(42, 100);
}

TEST_CASE("a wrong password or session is rejected and the client stops") {
  SoupServer server({});
  appendRange(server, 1, 3);
  server.start();
  Received got;
  auto config = clientFor(server.port());
  wire::RejectReason expected = wire::RejectReason::NotAuthorized;
  SECTION("wrong password") {
    config.password = "nope";
    expected = wire::RejectReason::NotAuthorized;
  }
  SECTION("wrong session") {
    config.session = "OTHER";
    expected = wire::RejectReason::SessionNotAvailable;
  }
  SoupClient client(config, got.handlers());
  client.start();
  REQUIRE(waitFor([&] { return got.rejection().has_value(); }));
  CHECK(*got.rejection() == expected);
  CHECK(got.count() == 0);
  CHECK(got.logins == 0);
  CHECK(waitFor([&] { return server.connections() == 0; }));
}

TEST_CASE("messages appended after login arrive live and sequence 0 skips the backlog") {
  SoupServer server({});
  appendRange(server, 1, 10);
  server.start();
  Received got;
  SoupClient client(clientFor(server.port(), 0), got.handlers());
  client.start();
  REQUIRE(waitFor([&] { return got.logins == 1; }));
  std::thread producer([&] { appendRange(server, 11, 1010); });
  producer.join();
  REQUIRE(waitFor([&] { return got.count() >= 1000; }));
  got.checkExactly(11, 1010);
}

TEST_CASE("an idle session carries server heartbeats") {
  SoupServer server({}); // heartbeat after 1 s of silence
  server.start();
  Received got;
  SoupClient client(clientFor(server.port()), got.handlers());
  client.start();
  REQUIRE(waitFor([&] { return got.logins == 1; }));
  CHECK(waitFor([&] { return got.heartbeats >= 1; }, 2000ms));
  CHECK(got.disconnects == 0);
}

TEST_CASE("after a server restart mid-stream the client reconnects and gets every message once") {
  auto store = std::make_shared<SoupStore>();
  std::optional<SoupServer> server;
  server.emplace(SoupServerConfig{}, store);
  server->start();
  const uint16_t port = server->port();
  constexpr uint64_t kBefore = 100000; // enough that the stop lands mid-replay
  appendRange(*server, 1, kBefore);

  Received got;
  SoupClient client(clientFor(port), got.handlers());
  client.start();
  REQUIRE(waitFor([&] { return got.count() >= 1; }));
  server.reset(); // stops: the client sees the connection drop, wherever it was in the stream
  const std::size_t at_stop = got.count();
  INFO("messages received when the server stopped: " << at_stop);

  for (uint64_t i = kBefore + 1; i <= kBefore + 500; ++i) { // still sequencing while down
    REQUIRE(store->append(bytes(text(i))) == i);
  }
  SoupServerConfig again;
  again.port = port;
  server.emplace(again, store);
  server->start();
  appendRange(*server, kBefore + 501, kBefore + 1000);

  REQUIRE(waitFor([&] { return got.count() >= kBefore + 1000; }));
  got.checkExactly(1, kBefore + 1000);
  CHECK(got.logins >= 2);
  CHECK(got.disconnects >= 1);
}

TEST_CASE("a peer sending garbage or an oversize length is dropped while other clients go on") {
  SoupServer server({});
  appendRange(server, 1, 5);
  server.start();
  Received got;
  SoupClient client(clientFor(server.port()), got.handlers());
  client.start();
  REQUIRE(waitFor([&] { return got.count() >= 5; }));

  std::vector<uint8_t> bad;
  SECTION("garbage") {
    const std::string junk = "GET / HTTP/1.1\r\n\r\n";
    bad.assign(junk.begin(), junk.end());
  }
  SECTION("oversize length") { bad = {0xff, 0xff, 'L'}; }
  SECTION("zero length") { bad = {0x00, 0x00}; }
  SECTION("data before login") { bad = {0x00, 0x01, 'R'}; }

  asio::io_context io;
  tcp::socket raw(io);
  raw.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
  asio::write(raw, asio::buffer(bad));
  CHECK(closedByPeer(raw, io, 3000ms));

  appendRange(server, 6, 10);
  REQUIRE(waitFor([&] { return got.count() >= 10; }));
  got.checkExactly(1, 10);
  CHECK(got.disconnects == 0);
}

namespace {

// A scripted server: connection i gets script[i](its login request) once logged in, and is then
// held open so that only the client can decide to drop it.
struct FakeServer {
  using Script = std::function<std::vector<uint8_t>(const wire::LoginRequest&)>;

  explicit FakeServer(std::vector<Script> s) : script(std::move(s)) {
    serve(0);
    thread = std::thread([this] { io.run(); });
  }
  ~FakeServer() {
    io.stop();
    thread.join();
  }

  void serve(std::size_t i) {
    if (i >= script.size()) {
      return;
    }
    auto socket = std::make_shared<tcp::socket>(io);
    acceptor.async_accept(*socket, [this, i, socket](boost::system::error_code ec) {
      if (ec) {
        return;
      }
      held.push_back(socket);
      auto login = std::make_shared<std::array<uint8_t, 49>>();
      asio::async_read(*socket, asio::buffer(*login),
                       [this, i, socket, login](boost::system::error_code rec, std::size_t) {
                         wire::PacketView view;
                         wire::LoginRequest req;
                         if (rec || wire::decodePacket(*login, view) != wire::SoupStatus::Ok ||
                             wire::decodeLoginRequest(view.payload, req) != wire::SoupStatus::Ok) {
                           return;
                         }
                         {
                           std::lock_guard lock(mu);
                           requested.push_back(req.sequence);
                         }
                         auto out = std::make_shared<std::vector<uint8_t>>(script[i](req));
                         asio::async_write(*socket, asio::buffer(*out),
                                           [out](boost::system::error_code, std::size_t) {});
                         serve(i + 1);
                       });
    });
  }

  std::vector<uint64_t> requests() {
    std::lock_guard lock(mu);
    return requested;
  }

  std::vector<Script> script;
  asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  std::vector<std::shared_ptr<tcp::socket>> held;
  std::mutex mu;
  std::vector<uint64_t> requested;
  std::thread thread;
};

void put(std::vector<uint8_t>& out, wire::PacketType type, const std::string& payload = "") {
  std::vector<uint8_t> buf(wire::kHeaderSize + payload.size());
  (void)wire::encodePacket(type, bytes(payload), buf); // runs on the fake's thread: no REQUIRE
  out.insert(out.end(), buf.begin(), buf.end());
}

void putAccepted(std::vector<uint8_t>& out, uint64_t next) {
  wire::LoginAccepted a;
  (void)wire::makeLoginAccepted("1", next, a);
  std::array<uint8_t, wire::kHeaderSize + wire::kLoginAcceptedPayload> buf{};
  (void)wire::encodeLoginAccepted(a, buf);
  out.insert(out.end(), buf.begin(), buf.end());
}

} // namespace

TEST_CASE("a malformed packet from the server makes the client reconnect from the next sequence") {
  FakeServer fake({
      [](const wire::LoginRequest&) {
        std::vector<uint8_t> out;
        putAccepted(out, 1);
        for (uint64_t i = 1; i <= 3; ++i) {
          put(out, wire::PacketType::SequencedData, text(i));
        }
        out.insert(out.end(), {0x00, 0x05, 'X', 'Y', 'Z', '!', '!'}); // unknown type 'X'
        put(out, wire::PacketType::SequencedData, text(99)); // must never be delivered
        return out;
      },
      [](const wire::LoginRequest& req) {
        std::vector<uint8_t> out;
        putAccepted(out, req.sequence);
        for (uint64_t i = req.sequence; i <= 5; ++i) {
          put(out, wire::PacketType::SequencedData, text(i));
        }
        put(out, wire::PacketType::EndOfSession);
        return out;
      },
  });
  Received got;
  SoupClient client(clientFor(fake.acceptor.local_endpoint().port()), got.handlers());
  client.start();
  REQUIRE(waitFor([&] { return got.ended.load(); }));
  got.checkExactly(1, 5);
  CHECK(fake.requests() == std::vector<uint64_t>{1, 4});
  CHECK(got.disconnects == 1);
}

TEST_CASE("End of Session follows the backlog and ends the client") {
  SoupServer server({});
  appendRange(server, 1, 20);
  server.start();
  Received got;
  SoupClient client(clientFor(server.port()), got.handlers());
  client.start();
  REQUIRE(waitFor([&] { return got.count() >= 20; }));
  appendRange(server, 21, 30);
  server.endSession();
  CHECK(server.append(bytes("late")) == 0);
  REQUIRE(waitFor([&] { return got.ended.load(); }));
  got.checkExactly(1, 30);
  CHECK(waitFor([&] { return server.connections() == 0; }));

  // A client that logs in after the end still gets the whole session, then the end.
  Received late;
  SoupClient latecomer(clientFor(server.port(), 25), late.handlers());
  latecomer.start();
  REQUIRE(waitFor([&] { return late.ended.load(); }));
  late.checkExactly(25, 30);
}
