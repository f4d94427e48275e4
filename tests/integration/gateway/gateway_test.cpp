// Two gateway shards on the real broker, each owning its half of md.ticks, driven by Python's
// websockets client (a client that is not ours): snapshot then ordered updates, resume from the
// history, wrong shard, unknown symbol, bad and expired tokens, bad JSON, /v1/route, and
// SIGTERM telling clients to reconnect.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tickstream/auth/jwt.h"
#include "tickstream/kafka/admin.h"
#include "tickstream/kafka/producer.h"
#include "tickstream/marketdata/v1/marketdata.pb.h"
#include "tickstream/sharding/ring.h"
#include "tickstream/testing/child.h"
#include "tickstream/testing/http_get.h"
#include "tickstream/testing/infra.h"
#include "tickstream/testing/metrics.h"
#include "tickstream/testing/topic_cleanup.h"

#include "gateway_support.h"

using namespace std::chrono_literals;
namespace testing = tickstream::testing;
namespace kafka = tickstream::kafka;
namespace mdv1 = tickstream::marketdata::v1;
using nlohmann::json;
using testing::Child;
using testing::httpGet;
using testing::gateway::closeCode;
using testing::gateway::freePort;
using testing::gateway::messages;
using testing::gateway::runClient;
using testing::gateway::waitForPort;

namespace {

constexpr int32_t kPartitions = 8;
const std::string kSecret = "integration-test-secret-0123456789abcdef";

std::string token(const std::string& subject, int64_t expires_in_s) {
  return tickstream::auth::Signer::hs256(kSecret).sign(testing::gateway::claimsFor(subject, expires_in_s));
}

uint64_t seqOf(const json& update_message) {
  return std::stoull(update_message["update"]["update"]["seq"].get<std::string>());
}

uint64_t skippedOf(const json& update_message) {
  const auto& u = update_message["update"];
  return u.contains("skippedByConflation") ? std::stoull(u["skippedByConflation"].get<std::string>()) : 0;
}

// Resident memory of a process, in KiB (VmRSS).
long rssKiB(pid_t pid) {
  std::istringstream in(testing::slurp("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// A client that upgrades, subscribes, and then never reads: a tiny receive buffer so the
// gateway's writes back up at once.
int stalledClient(uint16_t port, const std::string& tok, const std::string& symbol) {
  std::string resp;
  const int fd = testing::gateway::upgrade(port, tok, resp, "127.0.0.1", /*rcvbuf=*/2048);
  REQUIRE(resp.rfind("HTTP/1.1 101", 0) == 0);
  // One masked text frame (mask 0: the payload goes as it is).
  const std::string payload = R"({"subscribe":{"subscriptions":[{"symbol":")" + symbol + R"("}]}})";
  std::string frame{static_cast<char>(0x81), static_cast<char>(0x80 | payload.size()), 0, 0, 0, 0};
  frame += payload;
  REQUIRE(payload.size() < 126);
  REQUIRE(::write(fd, frame.data(), frame.size()) == static_cast<ssize_t>(frame.size()));
  return fd;
}

} // namespace

TEST_CASE("two gateway shards stream their own symbols to a real WebSocket client") {
  const std::string dir = testing::uniqueName(
      (std::filesystem::temp_directory_path() / "tickstream-gateway").string());
  std::filesystem::create_directories(dir);
  const std::string brokers = testing::kafkaBootstrap();
  const std::string ticks_topic = testing::uniqueName("it.gw.ticks");
  const std::string snapshot_topic = testing::uniqueName("it.gw.snapshot");
  const testing::TopicCleanup cleanup(brokers, {ticks_topic, snapshot_topic});  // passed or failed
  kafka::Admin admin(brokers);
  admin.ensureTopics({{ticks_topic, kPartitions, 1, {}},
                      {snapshot_topic, kPartitions, 1, {{"cleanup.policy", "compact"}}}});

  // Symbols and which shard owns each, as the gateways compute it.
  const tickstream::sharding::ShardRing ring({2, kPartitions, 1});
  std::vector<std::string> mine, theirs;  // owned by shard 0 / shard 1
  for (char a = 'A'; a <= 'Z'; ++a) {
    const std::string s = std::string("GW") + a;
    (ring.route(s).shards[0] == 0 ? mine : theirs).push_back(s);
  }
  REQUIRE(mine.size() >= 4);
  REQUIRE(!theirs.empty());
  const std::string sym = mine[0];
  std::string unknown;  // a listed-looking symbol of shard 0 with no snapshot
  for (int i = 0; unknown.empty(); ++i) {
    const std::string s = "NOPE" + std::to_string(i);
    if (ring.route(s).shards[0] == 0) unknown = s;
  }

  kafka::ProducerConfig pc;
  pc.brokers = brokers;
  pc.linger_ms = 1;
  kafka::Producer producer(pc);
  for (const auto& s : mine) {
    mdv1::SymbolSnapshot snap;
    snap.set_symbol(s);
    snap.set_last_seq(5);
    snap.mutable_quote()->set_bid_price(100'0000);
    snap.mutable_quote()->set_ask_price(101'0000);
    REQUIRE(producer.produce(snapshot_topic, s, snap.SerializeAsString()) == kafka::ProduceResult::Ok);
  }
  for (const auto& s : theirs) {
    mdv1::SymbolSnapshot snap;
    snap.set_symbol(s);
    snap.set_last_seq(1);
    REQUIRE(producer.produce(snapshot_topic, s, snap.SerializeAsString()) == kafka::ProduceResult::Ok);
  }
  REQUIRE(producer.flush(10s));

  const uint16_t port0 = freePort();
  const uint16_t port1 = freePort();
  const std::string url0 = "ws://127.0.0.1:" + std::to_string(port0) + "/v1/stream";
  const std::string url1 = "ws://127.0.0.1:" + std::to_string(port1) + "/v1/stream";
  const auto gatewayArgs = [&](int shard, uint16_t port, std::vector<std::string> extra) {
    std::vector<std::string> args{
        TICKSTREAM_GATEWAY_BIN, "--kafka-brokers", brokers, "--ticks-topic", ticks_topic,
        "--snapshot-topic", snapshot_topic, "--md-partitions", std::to_string(kPartitions),
        "--shard-id", std::to_string(shard), "--shard-count", "2", "--listen",
        "127.0.0.1:" + std::to_string(port), "--shard-endpoints", url0 + "," + url1,
        "--jwt-hs256-secret", kSecret, "--metrics-listen", "127.0.0.1:0", "--drain-grace-ms",
        "3000", "--slow-client-timeout-ms", "1500", "--socket-send-buffer-bytes", "4096"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  Child gw0(gatewayArgs(0, port0, {"--max-symbols", "3", "--history-per-symbol", "128"}), dir + "/gateway-0.log");
  // Shard 1 pings after 0.5 s of silence from a client and closes after 3 s of it, so a
  // client that only listens is seen through several pings within one test.
  Child gw1(gatewayArgs(1, port1, {"--ping-interval-ms", "500", "--idle-timeout-ms", "3000"}),
            dir + "/gateway-1.log");
  INFO("gateway 0 log:\n" << gw0.log());
  REQUIRE(waitForPort(gw0) == port0);
  REQUIRE(waitForPort(gw1) == port1);

  // Updates for `sym` keep flowing while the clients run: seq 6, 7, ...; and for shard 1's
  // theirs[0]: seq 2, 3, ...
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> produced{5};
  std::thread feed([&] {
    uint64_t theirs_seq = 1;
    while (!stop) {
      mdv1::MarketDataUpdate u;
      u.set_symbol(sym);
      u.set_seq(produced + 1);
      u.mutable_quote()->set_bid_price(100'0000 + static_cast<int64_t>(produced));
      u.mutable_quote()->set_ask_price(101'0000);
      u.set_receive_ts_ns(1);
      if (producer.produce(ticks_topic, sym, u.SerializeAsString()) == kafka::ProduceResult::Ok) {
        ++produced;
      }
      u.set_symbol(theirs[0]);
      u.set_seq(theirs_seq + 1);
      if (producer.produce(ticks_topic, theirs[0], u.SerializeAsString()) == kafka::ProduceResult::Ok) {
        ++theirs_seq;
      }
      std::this_thread::sleep_for(20ms);
    }
  });
  struct StopFeed {
    std::atomic<bool>& stop;
    std::thread& t;
    ~StopFeed() {
      stop = true;
      if (t.joinable()) t.join();
    }
  } stop_feed{stop, feed};

  const std::string good = token("alice", 3600);

  {
    // Subscribe: Welcome, Subscribed, Snapshot (seq 5 or later), then updates in order.
    const auto lines = runClient(dir, {url0, "--token", good, "--updates", "10", "--send",
                                       R"({"requestId":1,"subscribe":{"subscriptions":[{"symbol":")" +
                                           sym + R"("}]}})"});
    const auto msgs = messages(lines);
    REQUIRE(msgs.size() >= 13);
    CHECK(msgs[0].contains("welcome"));
    CHECK(msgs[0]["welcome"]["shardCount"] == 2);
    CHECK(msgs[1]["subscribed"]["symbol"] == sym);
    CHECK(msgs[1]["requestId"] == 1);
    REQUIRE(msgs[2].contains("snapshot"));
    const uint64_t snap_seq = std::stoull(msgs[2]["snapshot"]["snapshot"]["lastSeq"].get<std::string>());
    CHECK(snap_seq >= 5);
    CHECK_FALSE(msgs[2]["snapshot"]["snapshot"].contains("rawNextOffset"));
    uint64_t last = snap_seq;
    for (std::size_t i = 3; i < msgs.size(); ++i) {
      REQUIRE(msgs[i].contains("update"));
      // Either the next seq, or one that says how many conflation skipped: never a loss.
      CHECK(seqOf(msgs[i]) == last + skippedOf(msgs[i]) + 1);
      last = seqOf(msgs[i]);
    }

    // Resume: positions first, then Subscribe; the missed updates come from the history, with
    // no snapshot.
    const uint64_t from = last - 2;
    const auto resumed = messages(runClient(
        dir, {url0, "--token", good, "--messages", "4", "--send",
              R"({"resume":{"positions":[{"symbol":")" + sym + R"(","lastSeq":")" +
                  std::to_string(from) + R"("}]}})",
              "--send", R"({"subscribe":{"subscriptions":[{"symbol":")" + sym + R"("}]}})"}));
    REQUIRE(resumed.size() >= 4);
    CHECK(resumed[1].contains("subscribed"));
    REQUIRE(resumed[2].contains("update"));
    CHECK(seqOf(resumed[2]) == from + 1);
    CHECK(seqOf(resumed[3]) == from + 2);

    // Resume from further back than the history reaches (128 updates per symbol on shard 0:
    // ~2.5 s of this feed, so the resume above, whose client takes a second or so to start on a
    // busy machine, still finds its updates there): a fresh snapshot marked resync, then
    // updates in order from it.
    REQUIRE(testing::waitUntil([&] { return produced > 5 + 128 + 20; }, 20s));
    const auto stale = messages(runClient(
        dir, {url0, "--token", good, "--messages", "5", "--send",
              R"({"resume":{"positions":[{"symbol":")" + sym + R"(","lastSeq":"5"}]}})",
              "--send", R"({"subscribe":{"subscriptions":[{"symbol":")" + sym + R"("}]}})"}));
    REQUIRE(stale.size() >= 5);
    REQUIRE(stale[2].contains("snapshot"));
    CHECK(stale[2]["snapshot"].value("resync", false));
    uint64_t at = std::stoull(stale[2]["snapshot"]["snapshot"]["lastSeq"].get<std::string>());
    CHECK(at > 5 + 128);
    for (std::size_t i = 3; i < stale.size(); ++i) {
      REQUIRE(stale[i].contains("update"));
      CHECK(seqOf(stale[i]) == at + skippedOf(stale[i]) + 1);
      at = seqOf(stale[i]);
    }
  }

  {
    // Unsubscribe: acknowledged, and the subscription that moves into the freed slot (the
    // gateway marks updates per slot) keeps streaming in order.
    const auto msgs = messages(runClient(
        dir, {url0, "--token", good, "--updates", "5", "--send",
              R"({"requestId":1,"subscribe":{"subscriptions":[{"symbol":")" + mine[1] +
                  R"("},{"symbol":")" + sym + R"("}]}})",
              "--send",
              R"({"requestId":2,"unsubscribe":{"symbols":[")" + mine[1] + R"("]}})"}));
    std::optional<std::size_t> unsubscribed;
    std::optional<uint64_t> last;
    std::size_t after = 0;  // updates after the Unsubscribed
    for (std::size_t i = 0; i < msgs.size(); ++i) {
      if (msgs[i].contains("unsubscribed")) {
        CHECK(msgs[i]["requestId"] == 2);
        CHECK(msgs[i]["unsubscribed"]["symbols"] == json::array({mine[1]}));
        unsubscribed = i;
      } else if (msgs[i].contains("snapshot") && msgs[i]["snapshot"]["snapshot"]["symbol"] == sym) {
        last = std::stoull(msgs[i]["snapshot"]["snapshot"]["lastSeq"].get<std::string>());
      } else if (msgs[i].contains("update")) {
        CHECK(msgs[i]["update"]["update"]["symbol"] == sym);
        REQUIRE(last.has_value());
        CHECK(seqOf(msgs[i]) == *last + skippedOf(msgs[i]) + 1);
        last = seqOf(msgs[i]);
        after += unsubscribed ? 1 : 0;
      }
    }
    REQUIRE(unsubscribed.has_value());
    CHECK(after >= 3);
  }

  {
    // Wrong shard and unknown symbol: errors naming the right shard; the connection stays.
    const auto msgs = messages(runClient(
        dir, {url0, "--token", good, "--messages", "4", "--send",
              R"({"requestId":2,"subscribe":{"subscriptions":[{"symbol":")" + theirs[0] +
                  R"("},{"symbol":")" + unknown + R"("}]}})",
              "--send", R"({"requestId":3,"ping":{"clientTsNs":"42"}})"}));
    REQUIRE(msgs.size() == 4);
    CHECK(msgs[1]["error"]["code"] == "ERROR_CODE_WRONG_SHARD");
    CHECK(msgs[1]["error"]["shardId"] == 1);
    CHECK(msgs[1]["error"]["endpoint"] == url1);
    CHECK(msgs[2]["error"]["code"] == "ERROR_CODE_UNKNOWN_SYMBOL");
    CHECK(msgs[2]["error"]["symbol"] == unknown);
    CHECK(msgs[3]["pong"]["clientTsNs"] == "42");
    CHECK(msgs[3]["requestId"] == 3);
  }

  {
    // Bad input keeps the connection: invalid JSON, an unknown operation, binary on the JSON
    // protocol; each answered, then a ping still works.
    const auto msgs = messages(runClient(
        dir, {url0, "--token", good, "--messages", "5", "--send", "{nope", "--send",
              R"({"requestId":9,"teleport":{}})", "--send", R"({"requestId":4,"ping":{}})",
              "--send-binary", "deadbeef"}));
    REQUIRE(msgs.size() == 5);
    CHECK(msgs[1]["error"]["code"] == "ERROR_CODE_BAD_REQUEST");
    CHECK(msgs[2]["error"]["code"] == "ERROR_CODE_UNKNOWN_OPERATION");
    CHECK(msgs[2]["requestId"] == 9);
    CHECK(msgs[3].contains("pong"));
    CHECK(msgs[4]["error"]["code"] == "ERROR_CODE_BAD_REQUEST");
  }

  {
    // Limits, each answered as documented while a client on the same symbol keeps streaming:
    // a fourth symbol over --max-symbols 3 is TOO_MANY_SUBSCRIPTIONS (the three before it are
    // subscribed), and a frame over --max-frame-bytes (16 KiB) is FRAME_TOO_LARGE, then close 1009.
    std::vector<std::string> listener_argv{TICKSTREAM_PYTHON, TICKSTREAM_WS_CLIENT, url0, "--token", good,
                                           "--updates", "40", "--timeout", "30", "--send",
                                           R"({"subscribe":{"subscriptions":[{"symbol":")" + sym + R"("}]}})"};
    const std::string listener_log = dir + "/client-alongside-limits.log";
    Child listener(listener_argv, listener_log);
    const auto many = messages(runClient(
        dir, {url0, "--token", good, "--messages", "8", "--send",
              R"({"requestId":7,"subscribe":{"subscriptions":[{"symbol":")" + mine[0] + R"("},{"symbol":")" +
                  mine[1] + R"("},{"symbol":")" + mine[2] + R"("},{"symbol":")" + mine[3] + R"("}]}})"}));
    int subscribed = 0;
    std::optional<json> too_many;
    for (const auto& m : many) {
      subscribed += m.contains("subscribed") ? 1 : 0;
      if (m.contains("error")) too_many = m["error"];
    }
    CHECK(subscribed == 3);
    REQUIRE(too_many.has_value());
    CHECK((*too_many)["code"] == "ERROR_CODE_TOO_MANY_SUBSCRIPTIONS");
    CHECK((*too_many)["symbol"] == mine[3]);

    const auto big = runClient(dir, {url0, "--token", good, "--timeout", "10", "--send",
                                     R"({"ping":{"clientTsNs":")" + std::string(20'000, '7') + R"("}})"});
    const auto big_msgs = messages(big);
    REQUIRE(big_msgs.size() >= 2);  // Welcome, then the error
    CHECK(big_msgs.back()["error"]["code"] == "ERROR_CODE_FRAME_TOO_LARGE");
    CHECK(closeCode(big) == std::optional<int>(1009));

    REQUIRE(listener.waitExit(30s) == std::optional<int>(0));
    int listened = 0;
    std::istringstream in(testing::slurp(listener_log));
    for (std::string line; std::getline(in, line);) listened += line.find("\"update\"") != std::string::npos ? 1 : 0;
    CHECK(listened == 40);  // 40 updates (~0.8 s) went on meanwhile
  }

  {
    // An inbound flood: answered with RATE_LIMITED (retry_after_ms set) beyond the burst, then
    // closed with 4009 after repeated strikes.
    std::vector<std::string> args{url0, "--token", good, "--timeout", "10"};
    for (int i = 0; i < 80; ++i) {
      args.push_back("--send");
      args.push_back(R"({"ping":{}})");
    }
    const auto lines = runClient(dir, args);
    int pongs = 0, limited = 0;
    for (const auto& m : messages(lines)) {
      pongs += m.contains("pong") ? 1 : 0;
      if (m.contains("error") && m["error"]["code"] == "ERROR_CODE_RATE_LIMITED") {
        ++limited;
        CHECK(m["error"].value("retryAfterMs", 0) > 0);
      }
    }
    CHECK(pongs >= 40);  // the burst
    CHECK(pongs < 80);
    CHECK(limited >= 10);
    CHECK(closeCode(lines) == std::optional<int>(4009));
  }

  {
    // Tokens: none (first message not Auth), a forged one, an expired one.
    auto lines = runClient(dir, {url0, "--send", R"({"ping":{}})"});
    CHECK(closeCode(lines) == std::optional<int>(4001));
    lines = runClient(dir, {url0, "--token", good + "x"});
    CHECK(closeCode(lines) == std::optional<int>(4001));
    lines = runClient(dir, {url0, "--token", token("bob", -3600)});
    CHECK(closeCode(lines) == std::optional<int>(4002));
    // Auth as a message works too.
    const auto msgs = messages(runClient(
        dir, {url0, "--messages", "1", "--send", R"({"requestId":5,"auth":{"token":")" + good + R"("}})"}));
    REQUIRE(msgs.size() == 1);
    CHECK(msgs[0]["welcome"].value("shardId", 0) == 0);  // proto3 JSON leaves 0 out
    CHECK(msgs[0]["requestId"] == 5);
  }

  {
    // A client that only listens (as a browser page does: nothing sent after its Subscribe)
    // is pinged, its WebSocket library answers, and it stays past the idle timeout (3 s on
    // shard 1) for as long as it reads: 250 updates take ~5 s.
    const auto lines = runClient(dir, {url1, "--token", good, "--updates", "250", "--timeout", "30",
                                       "--send",
                                       R"({"subscribe":{"subscriptions":[{"symbol":")" + theirs[0] +
                                           R"("}]}})"});
    int updates = 0;
    for (const auto& m : messages(lines)) updates += m.contains("update") ? 1 : 0;
    INFO("closed: " << lines.back().dump());
    CHECK(updates == 250);
    CHECK(closeCode(lines) != std::optional<int>(1001));  // not closed as idle
  }

  {
    // A client that stops reading is closed once a write has waited 1.5 s, with 4008 behind
    // the write it did not take; its backlog is at most one pending update per symbol, so the
    // gateway's memory does not grow; a reading client on the same symbol keeps streaming
    // meanwhile.
    const long rss_before = rssKiB(gw0.pid());
    const int stalled = stalledClient(port0, good, sym);
    // Reads again as soon as the gateway has given up on it: what was stuck comes out, then
    // the Close frame and EOF (or, read too late, a reset).
    std::string drained;
    ssize_t last_read = 1;
    std::thread drainer([&] {
      if (!testing::waitUntil([&] { return gw0.log().find("slow client closed") != std::string::npos; },
                              30s)) {
        return;
      }
      timeval two_s{2, 0};
      ::setsockopt(stalled, SOL_SOCKET, SO_RCVTIMEO, &two_s, sizeof two_s);  // never hang here
      char buf[4096];
      const auto deadline = std::chrono::steady_clock::now() + 10s;
      while ((last_read = ::read(stalled, buf, sizeof buf)) > 0 &&
             std::chrono::steady_clock::now() < deadline) {
        drained.append(buf, static_cast<std::size_t>(last_read));
      }
    });
    const auto lines = runClient(dir, {url0, "--token", good, "--updates", "150", "--timeout", "30",
                                       "--send",
                                       R"({"subscribe":{"subscriptions":[{"symbol":")" + sym + R"("}]}})"});
    drainer.join();
    const auto msgs = messages(lines);
    int updates = 0;
    for (const auto& m : msgs) updates += m.contains("update") ? 1 : 0;
    CHECK(updates == 150);  // ~3 s of updates, none stalled by the other client
    REQUIRE(gw0.log().find("slow client closed") != std::string::npos);
    const long rss_after = rssKiB(gw0.pid());
    INFO("gateway RSS " << rss_before << " KiB -> " << rss_after << " KiB");
    CHECK(rss_after - rss_before < 16 * 1024);
    // The Close frame: FIN + opcode 8, 15 bytes of payload, status 4008 ("slow consumer").
    CHECK(drained.find(std::string("\x88\x0f\x0f\xa8slow consumer", 17)) != std::string::npos);
    CHECK(last_read <= 0);  // then the gateway closed it
    ::close(stalled);
  }

  {
    // A Subscribe that widens a live subscription's modes gets the newest update the new modes
    // select at once, even when no further update comes (the feed is stopped here). The client
    // resumes 5 behind with trades only, so the quote updates it missed are skipped, not sent.
    stop = true;
    feed.join();
    const uint64_t last = produced;
    REQUIRE(testing::waitUntil([&] {
      const auto m = messages(runClient(
          dir, {url0, "--token", good, "--messages", "3", "--send",
                R"({"subscribe":{"subscriptions":[{"symbol":")" + sym + R"("}]}})"}));
      return m.size() == 3 && m[2].contains("snapshot") &&
             m[2]["snapshot"]["snapshot"]["lastSeq"] == std::to_string(last);
    }, 20s));  // the shard has every update
    const auto msgs = messages(runClient(
        dir, {url0, "--token", good, "--messages", "4", "--timeout", "10", "--send",
              R"({"resume":{"positions":[{"symbol":")" + sym + R"(","lastSeq":")" +
                  std::to_string(last - 5) + R"("}]}})",
              "--send",
              R"({"requestId":2,"subscribe":{"subscriptions":[{"symbol":")" + sym +
                  R"(","modes":["MODE_TRADES"]}]}})",
              "--send",
              R"({"requestId":3,"subscribe":{"subscriptions":[{"symbol":")" + sym + R"("}]}})"}));
    REQUIRE(msgs.size() == 4);
    CHECK(msgs[1]["subscribed"]["symbol"] == sym);
    CHECK(msgs[2]["requestId"] == 3);
    REQUIRE(msgs[3].contains("update"));
    CHECK(seqOf(msgs[3]) == last);
    CHECK(skippedOf(msgs[3]) == 4);
  }

  {
    // What an operator sees on /metrics after all of the above (shard 0).
    const uint16_t metrics_port = testing::metricsPort(gw0);
    REQUIRE(metrics_port != 0);
    const std::string text = httpGet(metrics_port, "/metrics");
    const auto value = [&](const std::string& series) { return testing::metricValue(text, series).value_or(-1.0); };
    INFO(text.substr(0, 4000));
    CHECK(value("gateway_connections_total") >= 10);
    CHECK(value("gateway_messages_out_total") >= 150);
    CHECK(value("gateway_bytes_out_total") > 0);
    CHECK(value("gateway_slow_client_closes_total") >= 1);
    CHECK(value("gateway_protocol_errors_total") >= 1);   // the oversize frame
    CHECK(value("gateway_auth_failures_total") >= 2);     // the forged and the expired token
    CHECK(value("gateway_inbound_rate_limited_total") >= 10);
    CHECK(value("gateway_updates_in_total") >= 100);
    CHECK(value("gateway_delivery_latency_seconds_count") >= 150);
    CHECK(text.find("gateway_consumer_lag{partition=") != std::string::npos);
  }

  {
    // Route: any shard answers for any symbol.
    const json route = json::parse(httpGet(port1, "/v1/route?symbols=" + sym + "," + theirs[0]));
    REQUIRE(route["routes"].size() == 2);
    CHECK(route["routes"][0]["shards"][0].value("shardId", 0) == 0);  // 0 is left out
    CHECK(route["routes"][0]["shards"][0]["endpoint"] == url0);
    CHECK(route["routes"][1]["shards"][0]["shardId"] == 1);
  }

  {
    // SIGTERM: a connected client is told to reconnect, then closed with 4010; exit 0.
    std::vector<std::string> argv{TICKSTREAM_PYTHON, TICKSTREAM_WS_CLIENT, url0, "--token", good,
                                  "--timeout", "30", "--send",
                                  R"({"subscribe":{"subscriptions":[{"symbol":")" + sym + R"("}]}})"};
    const std::string log = dir + "/client-drain.log";
    Child client(argv, log);
    REQUIRE(testing::waitUntil([&] { return testing::slurp(log).find("snapshot") != std::string::npos; },
                               20s));
    gw0.signal(SIGTERM);
    CHECK(client.waitExit(30s) == std::optional<int>(0));
    const std::string out = testing::slurp(log);
    CHECK(out.find("RECONNECT_REASON_DRAINING") != std::string::npos);
    CHECK(out.find(R"("closed": 4010)") != std::string::npos);
    CHECK(gw0.waitExit(20s) == std::optional<int>(0));
  }

  gw1.signal(SIGTERM);
  CHECK(gw1.waitExit(20s) == std::optional<int>(0));
  std::filesystem::remove_all(dir);
}
