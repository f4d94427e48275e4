#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "book_rebuild.h"
#include "capture_run.h"
#include "feed_publisher.h"
#include "market.h"
#include "tickstream/book/book_set.h"
#include "tickstream/itch/capture.h"
#include "tickstream/itch/codec.h"
#include "tickstream/soup/client.h"
#include "tickstream/soup/server.h"

using tickstream::book::BookSet;
using tickstream::book::BookSetConfig;
using tickstream::book::Side;
using tickstream::book::Status;
using tickstream::exchange_sim::FeedConfig;
using tickstream::exchange_sim::FeedPublisher;
using tickstream::exchange_sim::FeedSchedule;
using tickstream::exchange_sim::MarketConfig;
using tickstream::exchange_sim::MarketListener;
using tickstream::exchange_sim::SimFill;
using tickstream::exchange_sim::TopOfBook;
using tickstream::exchange_sim::test::applyToBook;
namespace itch = tickstream::itch;
namespace soup = tickstream::soup;
using namespace std::chrono_literals;

namespace {

// Polls a condition until it holds or the deadline passes; the sleep is the poll interval, not
// the synchronisation.
bool waitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// A SoupBinTCP client that decodes every message and rebuilds the books from them, as the
// ingestion pipeline would. Counters are checked on the test thread: Catch2 assertions are not
// thread-safe.
class RebuildingClient {
public:
  RebuildingClient(uint16_t port, uint16_t symbols)
      : books_(BookSetConfig{.books = symbols + 1u, .expected_orders = 1 << 16,
                             .depth_levels = 1}) {
    soup::SoupClientConfig config;
    config.port = port;
    config.sequence = 1;
    soup::SoupClientHandlers handlers;
    handlers.on_message = [this](uint64_t seq, std::span<const uint8_t> bytes) {
      std::lock_guard lock(mu_);
      out_of_order_ += seq == next_ ? 0 : 1;
      next_ = seq + 1;
      wire_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      itch::Message m;
      if (itch::decode(bytes, m) != itch::DecodeStatus::Ok) {
        ++bad_decode_;
        return;
      }
      book_errors_ += applyToBook(books_, m) == Status::Ok ? 0 : 1;
      ++received_;
    };
    handlers.on_end_of_session = [this] { ended_ = true; };
    client_ = std::make_unique<soup::SoupClient>(config, std::move(handlers));
    client_->start();
  }
  ~RebuildingClient() { client_->stop(); }

  bool waitForEnd(std::chrono::milliseconds timeout) {
    return waitFor([this] { return ended_.load(); }, timeout);
  }
  // The rest is read after waitForEnd(), once the client has stopped delivering.
  uint64_t received() {
    std::lock_guard lock(mu_);
    return received_;
  }
  uint64_t outOfOrder() {
    std::lock_guard lock(mu_);
    return out_of_order_;
  }
  uint64_t badDecode() {
    std::lock_guard lock(mu_);
    return bad_decode_;
  }
  uint64_t bookErrors() {
    std::lock_guard lock(mu_);
    return book_errors_;
  }
  std::string wire() {
    std::lock_guard lock(mu_);
    return wire_;
  }
  TopOfBook top(uint16_t locate) {
    std::lock_guard lock(mu_);
    return {books_.book(locate).best(Side::Buy), books_.book(locate).best(Side::Sell)};
  }

private:
  std::mutex mu_;
  BookSet books_;
  uint64_t next_ = 1;
  uint64_t received_ = 0;
  uint64_t out_of_order_ = 0;
  uint64_t bad_decode_ = 0;
  uint64_t book_errors_ = 0;
  std::string wire_; // every payload, concatenated
  std::atomic<bool> ended_{false};
  std::unique_ptr<soup::SoupClient> client_;
};

// Every symbol's rebuilt top of book equals the publisher's truth; returns the mismatches.
uint64_t mismatches(RebuildingClient& client, const FeedPublisher& publisher) {
  uint64_t bad = 0;
  const auto& sim = publisher.simulator();
  for (uint32_t locate = 1; locate <= sim.config().symbols; ++locate) {
    const auto l = static_cast<uint16_t>(locate);
    bad += client.top(l) == sim.topOfBook(l) ? 0 : 1;
  }
  return bad;
}

MarketConfig smallMarket() {
  MarketConfig c;
  c.symbols = 200;
  c.seed = 11;
  return c;
}

} // namespace

// (No ';' in test names: catch_discover_tests would split the name at it.)
TEST_CASE("live: a client gets 1..N in order at the configured rate and rebuilds the truth, and "
          "a late client gets the full replay") {
  constexpr uint64_t kRate = 50'000;
  constexpr uint64_t kMessages = 20'000;
  soup::SoupServer server(soup::SoupServerConfig{});
  server.start();
  FeedPublisher publisher(FeedConfig{.rate = kRate, .messages = kMessages}, smallMarket(), server);

  RebuildingClient live(server.port(), 200);
  const auto start = std::chrono::steady_clock::now();
  std::thread runner([&] { publisher.run(); });
  runner.join();
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  REQUIRE(live.waitForEnd(8s));

  const uint64_t published = publisher.published();
  // Stops after kMessages plus the rest of the event in flight (a few messages at most).
  CHECK(published >= kMessages);
  CHECK(published < kMessages + 100);
  CHECK(server.store()->last() == published);
  CHECK(live.received() == published);
  CHECK(live.outOfOrder() == 0);
  CHECK(live.badDecode() == 0);
  CHECK(live.bookErrors() == 0);
  CHECK(publisher.simulator().truthErrors() == 0);
  CHECK(mismatches(live, publisher) == 0);

  const double rate = static_cast<double>(published) / took.count();
  INFO("achieved " << rate << " msgs/s over " << took.count() << " s");
  CHECK(rate > 0.5 * kRate);
  CHECK(rate < 1.5 * kRate);

  RebuildingClient late(server.port(), 200);
  REQUIRE(late.waitForEnd(5s));
  CHECK(late.received() == published);
  CHECK(late.outOfOrder() == 0);
  CHECK(late.wire() == live.wire());
  CHECK(mismatches(late, publisher) == 0);
  server.stop();
}

TEST_CASE("live: stop() ends an endless feed at an event boundary with End of Session") {
  soup::SoupServer server(soup::SoupServerConfig{});
  server.start();
  FeedPublisher publisher(FeedConfig{.rate = 200'000, .messages = 0}, smallMarket(), server);
  RebuildingClient client(server.port(), 200);
  std::thread runner([&] { publisher.run(); });
  REQUIRE(waitFor([&] { return publisher.published() >= 5'000; }, 5s));
  publisher.stop();
  runner.join();
  REQUIRE(client.waitForEnd(5s));
  CHECK(publisher.finished());
  CHECK(publisher.simulator().atEventBoundary());
  CHECK(client.received() == publisher.published());
  CHECK(client.outOfOrder() == 0);
  CHECK(client.bookErrors() == 0);
  CHECK(mismatches(client, publisher) == 0);
  server.stop();
}

namespace {

// Takes displayed liquidity between batches, as the venue's engine does for routed orders.
struct Taker final : MarketListener {
  explicit Taker(FeedPublisher& p) : publisher(p) {}
  void onBatch() noexcept override {
    calls_after_end += ends;
    auto& sim = publisher.market();
    for (uint16_t locate = 1; locate <= sim.config().symbols; ++locate) {
      if (!sim.halted(locate)) {
        taken += sim.take(locate, Side::Buy, 0, 50, 0, fills);
      }
    }
  }
  void onSessionEnd() noexcept override { ++ends; }

  FeedPublisher& publisher;
  std::vector<SimFill> fills;
  uint64_t taken = 0;
  int ends = 0;
  int calls_after_end = 0;
};

} // namespace

TEST_CASE("live: a market listener trades between batches and the feed carries its executions") {
  soup::SoupServer server(soup::SoupServerConfig{});
  server.start();
  FeedPublisher publisher(FeedConfig{.rate = 200'000, .messages = 20'000}, smallMarket(), server);
  Taker taker(publisher);
  publisher.setListener(&taker);
  // The capture tee: the file must be the very stream the client got, executions included.
  std::FILE* capture = std::tmpfile();
  REQUIRE(capture != nullptr);
  publisher.setCapture(capture);
  RebuildingClient client(server.port(), 200);
  std::thread runner([&] { publisher.run(); });
  runner.join();
  REQUIRE(client.waitForEnd(5s));
  CHECK(taker.taken > 0);
  CHECK(taker.ends == 1);
  CHECK(taker.calls_after_end == 0);
  // The outside executions reached the wire: a client's rebuild still equals the truth.
  CHECK(client.received() == publisher.published());
  CHECK(client.bookErrors() == 0);
  CHECK(mismatches(client, publisher) == 0);
  CHECK(publisher.simulator().truthErrors() == 0);

  CHECK_FALSE(publisher.captureFailed());
  std::rewind(capture);
  std::string payloads;  // the capture's records without their length prefixes
  uint64_t records = 0;
  itch::CaptureFileReader reader(capture);
  itch::CaptureRecord record;
  itch::CaptureStatus status;
  while ((status = reader.next(record)) == itch::CaptureStatus::Ok) {
    payloads.append(reinterpret_cast<const char*>(record.message.data()), record.message.size());
    ++records;
  }
  CHECK(status == itch::CaptureStatus::End);  // no record cut short
  std::fclose(capture);
  CHECK(records == publisher.published());
  CHECK(payloads == client.wire());
  server.stop();
}

TEST_CASE("live: an opening burst goes out faster than the steady rate") {
  soup::SoupServer server(soup::SoupServerConfig{});
  server.start();
  // 5000 messages at 10x 10k/s (0.05 s), then 1000 at 10k/s (0.1 s): 0.15 s, not 0.6 s.
  FeedPublisher publisher(
      FeedConfig{.rate = 10'000, .messages = 6'000, .burst_messages = 5'000, .burst_factor = 10},
      smallMarket(), server);
  const auto start = std::chrono::steady_clock::now();
  publisher.run();
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  CHECK(publisher.published() >= 6'000);
  CHECK(took.count() > 0.075);
  CHECK(took.count() < 0.4);
  server.stop();
}

TEST_CASE("the schedule: the opening burst, the steady rate, and spikes on demand one at a time") {
  // 1000/s; an opening burst of 500 at 10x (0.05 s); spikes of 2000 at 10x (0.2 s each). Times
  // in seconds are doubles, so a count may land one below the exact figure.
  FeedSchedule s(1'000, 500, 10, 2'000);
  const auto due = [&](double t, int64_t exact) {
    INFO("t = " << t);
    const auto d = static_cast<int64_t>(s.dueAt(t));
    CHECK(d <= exact);
    CHECK(d >= exact - 1);
  };
  due(0.0, 0);
  due(0.025, 250);  // inside the burst: 10,000/s
  due(0.05, 500);
  due(1.05, 1'500);  // then 1000/s
  CHECK(s.spikeSeconds() == Approx(0.2));
  REQUIRE(s.startSpike(2.0));
  due(2.0, 2'450);
  due(2.1, 2'450 + 1'000);  // 0.1 s at 10,000/s
  CHECK_FALSE(s.startSpike(2.15));  // one at a time
  due(2.2, 2'450 + 2'000);          // the whole spike: 1800 on top of the rate's 200
  due(3.2, 2'450 + 2'000 + 1'000);  // the steady rate again
  REQUIRE(s.startSpike(4.0));       // a later spike adds its own
  due(4.2, 4'650 + 2 * 1'800);
}

TEST_CASE("live: spike() sends a spike at the burst speed from the next tick, then the rate resumes") {
  soup::SoupServer server(soup::SoupServerConfig{});
  server.start();
  // 500/s steady; a spike is 5000 messages at 100x (0.1 s). Without it, 5000 would take 10 s.
  FeedPublisher publisher(
      FeedConfig{.rate = 500, .messages = 0, .burst_factor = 100, .spike_messages = 5'000},
      smallMarket(), server);
  std::thread runner([&] { publisher.run(); });
  REQUIRE(waitFor([&] { return publisher.published() >= 50; }, 5s));
  const uint64_t before = publisher.published();
  publisher.spike();
  const auto asked = std::chrono::steady_clock::now();
  CHECK(waitFor([&] { return publisher.published() >= before + 5'000; }, 3s));
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - asked;
  CHECK(took.count() < 3.0);
  CHECK(publisher.spikes() == 1);
  publisher.stop();
  runner.join();
  server.stop();
}

TEST_CASE("feed config names the bad field") {
  CHECK_THROWS_WITH(FeedConfig{.rate = 0}.validate(), Catch::Contains("rate"));
  CHECK_THROWS_WITH(FeedConfig{.burst_factor = 0}.validate(), Catch::Contains("burst_factor"));
  CHECK_THROWS_WITH(FeedConfig{.tick = 1us}.validate(), Catch::Contains("tick"));
  CHECK_NOTHROW(FeedConfig{}.validate());
}

TEST_CASE("the truth file has every symbol's top of book, one per line") {
  MarketConfig c = smallMarket();
  c.symbols = 3;
  tickstream::exchange_sim::MarketSimulator sim(c);
  itch::Message m;
  for (int i = 0; i < 5'000; ++i) sim.next(m);
  const std::string json = tickstream::exchange_sim::truthJson(sim);
  const TopOfBook top = sim.topOfBook(2);
  const std::string second = "{\"locate\":2,\"symbol\":\"" + std::string(sim.symbol(2)) +
                              "\",\"bid\":" + std::to_string(top.bid.price) +
                              ",\"bid_shares\":" + std::to_string(top.bid.shares) +
                              ",\"ask\":" + std::to_string(top.ask.price) +
                              ",\"ask_shares\":" + std::to_string(top.ask.shares) + "}";
  CHECK(json.find(second) != std::string::npos);
  CHECK(json.rfind("{\"messages\":5000,\"symbols\":3,\"seed\":11,\"truth_errors\":0,", 0) == 0);
  CHECK(std::count(json.begin(), json.end(), '\n') == 5);
  CHECK(top.bid.price != 0);
}
