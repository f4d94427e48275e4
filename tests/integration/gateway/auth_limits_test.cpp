// A gateway shard that trusts only RS256 tokens, with short timers, driven by Python's websockets
// client and by raw sockets: the RS256 key from its PEM file, tokens it must refuse, a client
// that never authenticates, a session whose token expires while it streams (and one renewed in
// time), and the per-IP upgrade rate limit answered with 429. Synthetic market data: no broker.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "tickstream/auth/jwt.h"
#include "tickstream/testing/child.h"
#include "tickstream/testing/metrics.h"
#include "tickstream/testing/infra.h"

#include "gateway_support.h"

using namespace std::chrono_literals;
namespace testing = tickstream::testing;
namespace auth = tickstream::auth;
using nlohmann::json;
using testing::Child;
using testing::gateway::closeCode;
using testing::gateway::freePort;
using testing::gateway::messages;
using testing::gateway::runClient;
using testing::gateway::waitForPort;

namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// A fresh RSA key pair for this run: (private PEM, public PEM).
std::pair<std::string, std::string> rsaKeyPair() {
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  REQUIRE(key);
  const auto pem = [&](bool priv) {
    BIO* bio = BIO_new(BIO_s_mem());
    REQUIRE((priv ? PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr)
                  : PEM_write_bio_PUBKEY(bio, key.get())) == 1);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
  };
  return {pem(true), pem(false)};
}

auth::Claims claims(const std::string& subject, int64_t expires_in_s) {
  return testing::gateway::claimsFor(subject, expires_in_s);
}

// An upgrade from `source_ip`: the status line and headers the gateway sent back. The
// connection is closed afterwards.
std::string upgradeFrom(const std::string& source_ip, uint16_t port, const std::string& tok) {
  std::string response;
  ::close(testing::gateway::upgrade(port, tok, response, source_ip));
  return response;
}

std::string statusLine(const std::string& response) { return response.substr(0, response.find("\r\n")); }

} // namespace

TEST_CASE("a shard takes RS256 tokens, times out silent clients, ends expired sessions, limits upgrades per IP") {
  const std::string dir = testing::uniqueName(
      (std::filesystem::temp_directory_path() / "tickstream-gateway-auth").string());
  std::filesystem::create_directories(dir);
  const auto [private_pem, public_pem] = rsaKeyPair();
  const auto [other_private_pem, other_public_pem] = rsaKeyPair();
  std::ofstream(dir + "/jwt-rs256.pub.pem") << public_pem;
  const auth::Signer rs256 = auth::Signer::rs256(private_pem);

  const uint16_t port = freePort();
  const std::string url = "ws://127.0.0.1:" + std::to_string(port) + "/v1/stream";
  // 4 symbols at 200 updates/s in all: 50 a second each. One upgrade a second per IP after a
  // burst of 4, so every case below connects from an address of its own.
  Child gw({TICKSTREAM_GATEWAY_BIN, "--synthetic-updates-per-second", "200", "--synthetic-symbols", "4",
            "--listen", "127.0.0.1:" + std::to_string(port), "--metrics-listen", "127.0.0.1:0",
            "--jwt-rs256-public-key-file", dir + "/jwt-rs256.pub.pem", "--auth-timeout-ms", "1500",
            "--upgrades-per-ip-per-second", "1", "--upgrade-burst-per-ip", "4"},
           dir + "/gateway.log");
  INFO("gateway log:\n" << gw.log());
  REQUIRE(waitForPort(gw) == port);
  const std::string subscribe = R"({"subscribe":{"subscriptions":[{"symbol":"LG00001"}]}})";

  {
    // A token signed with the key whose public half the shard read from its PEM file: Welcome,
    // then the snapshot and updates of the subscription.
    const auto msgs = messages(runClient(dir, {url, "--source-ip", "127.0.0.2", "--token",
                                               rs256.sign(claims("alice", 3600)), "--updates", "5",
                                               "--send", subscribe}));
    REQUIRE(msgs.size() >= 8);
    CHECK(msgs[0].contains("welcome"));
    CHECK(msgs[1]["subscribed"]["symbol"] == "LG00001");
    CHECK(msgs[2].contains("snapshot"));
    CHECK(msgs.back().contains("update"));
  }

  {
    // Refused: an RS256 token of another key, an HS256 token (this shard has no HS256 secret,
    // so no secret can make one valid), and an expired RS256 token (its own close code).
    auto lines = runClient(dir, {url, "--source-ip", "127.0.0.3", "--token",
                                 auth::Signer::rs256(other_private_pem).sign(claims("mallory", 3600))});
    CHECK(closeCode(lines) == std::optional<int>(4001));
    lines = runClient(dir, {url, "--source-ip", "127.0.0.3", "--token",
                            auth::Signer::hs256(std::string(40, 's')).sign(claims("mallory", 3600))});
    CHECK(closeCode(lines) == std::optional<int>(4001));
    lines = runClient(dir, {url, "--source-ip", "127.0.0.3", "--token", rs256.sign(claims("bob", -3600))});
    CHECK(closeCode(lines) == std::optional<int>(4002));
  }

  {
    // A client that upgrades and never authenticates is told why and closed after the auth
    // timeout (1.5 s), not before, and not left holding a connection.
    const auto started = std::chrono::steady_clock::now();
    const auto lines = runClient(dir, {url, "--source-ip", "127.0.0.4", "--timeout", "20"});
    const auto took = std::chrono::steady_clock::now() - started;
    CHECK(closeCode(lines) == std::optional<int>(4001));
    const auto msgs = messages(lines);
    REQUIRE(!msgs.empty());
    CHECK(msgs.back()["error"]["code"] == "ERROR_CODE_UNAUTHENTICATED");
    CHECK(took >= 1400ms);
    CHECK(took < 10s);
  }

  {
    // A token that expires 5-6 s from now (exp is in whole seconds), seconds into a streaming
    // session: updates flow until then, then TOKEN_EXPIRED and close 4002, well before the
    // client's own 20 s timeout.
    const auto started = std::chrono::steady_clock::now();
    const auto lines = runClient(dir, {url, "--source-ip", "127.0.0.5", "--token",
                                       rs256.sign(claims("carol", 6)), "--timeout", "20", "--send",
                                       subscribe});
    const auto took = std::chrono::steady_clock::now() - started;
    const auto msgs = messages(lines);
    int updates = 0;
    for (const auto& m : msgs) updates += m.contains("update") ? 1 : 0;
    CHECK(updates >= 20);  // seconds at 50 a second, whatever the client's start-up took
    REQUIRE(!msgs.empty());
    CHECK(msgs.back()["error"]["code"] == "ERROR_CODE_TOKEN_EXPIRED");
    CHECK(closeCode(lines) == std::optional<int>(4002));
    CHECK(took < 15s);
  }

  {
    // The same short token, renewed at once by an Auth message carrying a longer one: the
    // session outlives the first token (500 updates take ~10 s) and is not closed.
    const auto lines = runClient(
        dir, {url, "--source-ip", "127.0.0.6", "--token", rs256.sign(claims("carol", 6)), "--updates", "500",
              "--timeout", "30", "--send",
              R"({"auth":{"token":")" + rs256.sign(claims("carol", 3600)) + R"("}})", "--send", subscribe});
    int updates = 0;
    for (const auto& m : messages(lines)) {
      updates += m.contains("update") ? 1 : 0;
      CHECK_FALSE(m.contains("error"));
    }
    CHECK(updates == 500);
    CHECK(closeCode(lines) == std::nullopt);
  }

  {
    // Per-IP upgrade limit (burst 4, then 1 a second): a quick fifth and sixth upgrade from one
    // address get 429 with Retry-After, while another address is still let in; a second later
    // the first address is let in again.
    const std::string tok = rs256.sign(claims("dave", 3600));
    std::vector<std::string> statuses;
    for (int i = 0; i < 6; ++i) statuses.push_back(upgradeFrom("127.0.0.20", port, tok));
    for (int i = 0; i < 4; ++i) CHECK(statusLine(statuses[i]) == "HTTP/1.1 101 Switching Protocols");
    for (int i = 4; i < 6; ++i) {
      CHECK(statusLine(statuses[i]).rfind("HTTP/1.1 429", 0) == 0);
      CHECK(statuses[i].find("Retry-After: ") != std::string::npos);
    }
    CHECK(statusLine(upgradeFrom("127.0.0.21", port, tok)) == "HTTP/1.1 101 Switching Protocols");
    std::this_thread::sleep_for(1200ms);  // the bucket's refill is the behaviour under test
    CHECK(statusLine(upgradeFrom("127.0.0.20", port, tok)) == "HTTP/1.1 101 Switching Protocols");

    CHECK(testing::metricValue(testing::metricsPort(gw), "gateway_upgrades_rate_limited_total") ==
          std::optional<double>(2.0));
  }

  gw.signal(SIGTERM);
  CHECK(gw.waitExit(20s) == std::optional<int>(0));
  std::filesystem::remove_all(dir);
}

TEST_CASE("a subscription's minimum interval: the client's own, never below the shard's floor, skips counted") {
  const std::string dir = testing::uniqueName(
      (std::filesystem::temp_directory_path() / "tickstream-gateway-interval").string());
  std::filesystem::create_directories(dir);
  const uint16_t port = freePort();
  const std::string url = "ws://127.0.0.1:" + std::to_string(port) + "/v1/stream";
  // 2 symbols at 400 updates/s in all: 200 a second each; the shard allows one per 100 ms at most.
  Child gw({TICKSTREAM_GATEWAY_BIN, "--synthetic-updates-per-second", "400", "--synthetic-symbols", "2",
            "--listen", "127.0.0.1:" + std::to_string(port), "--metrics-listen", "", "--allow-anonymous",
            "true", "--min-interval-floor-ms", "100"},
           dir + "/gateway.log");
  INFO("gateway log:\n" << gw.log());
  REQUIRE(waitForPort(gw) == port);

  // What a client saw: the interval the Subscribed answer granted, and per update how many the
  // shard skipped for it; continuity (seq = previous + skipped + 1) checked on the way.
  struct Seen {
    int64_t granted_ms = -1;
    std::vector<uint64_t> skipped;
  };
  const auto subscribeWith = [&](int interval_ms, int updates) {
    const auto msgs = messages(runClient(
        dir, {url, "--updates", std::to_string(updates), "--timeout", "30", "--send",
              R"({"subscribe":{"subscriptions":[{"symbol":"LG00001","minIntervalMs":)" +
                  std::to_string(interval_ms) + "}]}}"}));
    Seen seen;
    std::optional<uint64_t> last;
    for (const auto& m : msgs) {
      if (m.contains("subscribed")) seen.granted_ms = m["subscribed"].value("minIntervalMs", 0);
      if (m.contains("snapshot")) last = std::stoull(m["snapshot"]["snapshot"]["lastSeq"].get<std::string>());
      if (!m.contains("update")) continue;
      const auto& u = m["update"];
      const uint64_t skipped =
          u.contains("skippedByConflation") ? std::stoull(u["skippedByConflation"].get<std::string>()) : 0;
      const uint64_t seq = std::stoull(u["update"]["seq"].get<std::string>());
      REQUIRE(last.has_value());
      CHECK(seq == *last + skipped + 1);  // nothing lost, only skipped
      last = seq;
      seen.skipped.push_back(skipped);
    }
    return seen;
  };
  const auto mean = [](const std::vector<uint64_t>& v) {
    double sum = 0;
    for (const auto x : v) sum += static_cast<double>(x);
    return v.empty() ? 0.0 : sum / static_cast<double>(v.size());
  };

  // Asking for none gets the floor: ~20 updates of the symbol's 200/s skipped per 100 ms slot.
  const Seen floor = subscribeWith(0, 12);
  CHECK(floor.granted_ms == 100);
  REQUIRE(floor.skipped.size() == 12);
  CHECK(mean(floor.skipped) >= 8);
  // Asking for more than the floor gets it: ~100 skipped per 500 ms.
  const Seen slow = subscribeWith(500, 6);
  CHECK(slow.granted_ms == 500);
  REQUIRE(slow.skipped.size() == 6);
  CHECK(mean(slow.skipped) >= 50);

  gw.signal(SIGTERM);
  CHECK(gw.waitExit(20s) == std::optional<int>(0));
  std::filesystem::remove_all(dir);
}
