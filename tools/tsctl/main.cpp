// tsctl: the operator's command line.
//   tsctl topics ensure --kafka-brokers HOST:PORT    create the platform's topics (idempotent)
//   tsctl topics describe --kafka-brokers HOST:PORT  partitions and cleanup policy of each topic
//   tsctl route --symbols AAPL,MSFT --shards 4 --replication 2
//                                               which md.ticks partition and gateway shards
//                                               serve each symbol (the same answer as
//                                               GET /v1/route on a gateway)
//   tsctl watch --kafka-brokers HOST:PORT [--symbols AAPL,MSFT | --top 12] [--refresh-ms 1000]
//                                               live table of md.ticks: quote, last, volume,
//                                               seq, updates/s and halts per symbol
//   tsctl token --secret S --subject alice [--ttl 3600] [--issuer I] [--audience A] [--role R]...
//                                               an HS256 development token (docs/auth.md)
//   tsctl order submit|cancel|get|list|stream --target HOST:PORT --account A (--token T | --jwt-hs256-secret S) ...
//                                               the order service's gRPC API (docs/order.md, Tools)
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <unordered_set>
#include <vector>

#include "tickstream/auth/jwt.h"
#include "tickstream/kafka/consumer.h"
#include "tickstream/marketdata/v1/marketdata.pb.h"

#include "tickstream/kafka/admin.h"
#include "tickstream/kafka/topics.h"
#include "tickstream/runtime/clock.h"
#include "tickstream/runtime/logging.h"
#include "tickstream/runtime/shutdown.h"
#include "tickstream/sharding/ring.h"
#include "cli_option.h"
#include "order_commands.h"
#include "watch_table.h"

using namespace tickstream;
using tsctl::opt;

namespace {

struct WatchConfig {
  std::string topic = kafka::topics::kMdTicks;  // the topic of MarketDataUpdates to show
  std::vector<std::string> symbols;             // these symbols in this order; empty: the top N
  int top = 12;                                 // how many of the most active symbols without --symbols
  int refresh_ms = 1000;                        // how often the table is redrawn
  int once_after_ms = 0;                        // > 0: print one table after this long and exit
  bool from_beginning = false;                  // read the topic's retained history, not only new updates
};

// Consumes every partition of the ticks topic and redraws the table until SIGINT/SIGTERM.
int runWatch(const std::string& brokers, const WatchConfig& cfg) {
  // Before librdkafka starts its threads, so they inherit the blocked signals.
  runtime::ShutdownSignal shutdown;
  int32_t partitions = kafka::Admin(brokers).partitionCount(cfg.topic);
  if (partitions < 0) {
    std::fprintf(stderr, "tsctl watch: topic %s does not exist (--ticks-topic)\n", cfg.topic.c_str());
    return 1;
  }
  kafka::ConsumerConfig cc;
  cc.brokers = brokers;
  cc.client_id = "tsctl-watch";
  kafka::Consumer consumer(cc);
  std::vector<kafka::TopicPartitionOffset> assignment;
  int64_t start = cfg.from_beginning ? RdKafka::Topic::OFFSET_BEGINNING : RdKafka::Topic::OFFSET_END;
  for (int32_t p = 0; p < partitions; ++p) assignment.push_back({cfg.topic, p, start});
  consumer.assign(assignment);

  const bool tty = ::isatty(::fileno(stdout)) != 0;
  const std::unordered_set<std::string> wanted(cfg.symbols.begin(), cfg.symbols.end());
  tsctl::WatchTable table;
  marketdata::v1::MarketDataUpdate update;
  uint64_t bad = 0;

  using Clock = std::chrono::steady_clock;
  const auto began = Clock::now();
  auto last_table = began;
  const auto refresh = std::chrono::milliseconds(cfg.refresh_ms);
  const auto deadline = cfg.once_after_ms > 0 ? began + std::chrono::milliseconds(cfg.once_after_ms)
                                              : Clock::time_point::max();
  auto print = [&](Clock::time_point now) {
    auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - last_table).count();
    last_table = now;
    std::string text = tty ? "\x1b[H\x1b[2J" : "";
    text += cfg.topic + " @ " + brokers + "  symbols=" + std::to_string(table.symbolCount()) +
            "  updates=" + std::to_string(table.totalUpdates()) +
            (bad > 0 ? "  unparsable=" + std::to_string(bad) : "") + "\n";
    text += tsctl::renderTable(table.rows(cfg.symbols, static_cast<size_t>(cfg.top), elapsed));
    if (!tty) text += "\n";  // a blank line between tables in a log or pipe
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  };

  while (!shutdown.requested()) {
    auto now = Clock::now();
    if (now >= deadline) {
      print(now);
      break;
    }
    if (cfg.once_after_ms <= 0 && now - last_table >= refresh) print(now);
    // Short polls so a refresh, the deadline or a signal is noticed promptly.
    auto next = std::min(deadline, last_table + refresh);
    auto wait = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(next - now),
                           std::chrono::milliseconds(1), std::chrono::milliseconds(100));
    auto m = consumer.poll(wait);
    if (!m) continue;
    if (!m->ok()) {
      std::fprintf(stderr, "tsctl watch: kafka: %s\n", m->errorString().c_str());
      continue;
    }
    // The key is the symbol: skip unwanted symbols without parsing them.
    if (!wanted.empty() && !m->key().empty() && !wanted.contains(std::string(m->key()))) continue;
    auto payload = m->payload();
    if (!update.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      ++bad;
      continue;
    }
    if (!wanted.empty() && !wanted.contains(update.symbol())) continue;
    table.apply(update);
  }
  consumer.close();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Tickstream operator tool", "tsctl");
  app.require_subcommand(1);
  std::string brokers = "127.0.0.1:9092";
  kafka::topics::Layout layout;

  CLI::App* topics = app.add_subcommand("topics", "Kafka topics of the platform");
  topics->require_subcommand(1);
  CLI::App* ensure = topics->add_subcommand("ensure", "create missing topics (existing ones are kept)");
  CLI::App* describe = topics->add_subcommand("describe", "show each topic's partitions and cleanup policy");
  for (CLI::App* sub : {ensure, describe}) {
    opt(sub, "--kafka-brokers", brokers, "Kafka bootstrap servers");
    opt(sub, "--md-partitions", layout.md_partitions, "partitions of md.raw, md.ticks, md.snapshot")
        ->check(CLI::Range(1, 4096));
    opt(sub, "--order-partitions", layout.order_partitions, "partitions of orders.events, orders.fills")
        ->check(CLI::Range(1, 4096));
  }

  CLI::App* route = app.add_subcommand("route", "which partition and gateway shards serve a symbol");
  std::vector<std::string> symbols;
  sharding::RingConfig ring;
  ring.shards = 4;
  ring.partitions = layout.md_partitions;
  ring.replication = 1;
  route->add_option("--symbols", symbols, "symbols, comma separated")->delimiter(',')->required();
  opt(route, "--shards", ring.shards, "gateway shard count")->check(CLI::Range(1, 4096));
  opt(route, "--md-partitions", ring.partitions, "partitions of md.ticks")->check(CLI::Range(1, 4096));
  opt(route, "--replication", ring.replication, "shards serving each partition")->check(CLI::Range(1, 64));

  CLI::App* watch = app.add_subcommand("watch", "live table of the market from md.ticks");
  WatchConfig wcfg;
  opt(watch, "--kafka-brokers", brokers, "Kafka bootstrap servers");
  opt(watch, "--ticks-topic", wcfg.topic, "topic of MarketDataUpdates");
  CLI::Option* wsym = watch->add_option("--symbols", wcfg.symbols, "symbols to show, comma separated")
                          ->delimiter(',');
  opt(watch, "--top", wcfg.top, "without --symbols: show this many of the most active symbols")
      ->check(CLI::Range(1, 10000))
      ->excludes(wsym);
  opt(watch, "--refresh-ms", wcfg.refresh_ms, "redraw the table this often")->check(CLI::Range(50, 3600000));
  opt(watch, "--once-after-ms", wcfg.once_after_ms, "print one table after this long and exit (0: run until stopped)")
      ->check(CLI::Range(0, 86400000));
  watch->add_flag("--from-beginning", wcfg.from_beginning, "start at the oldest retained update, not the newest");

  CLI::App* token = app.add_subcommand("token", "mint an HS256 token for development (prints it)");
  std::string secret;
  auth::Claims claims;
  int64_t ttl = 3600;
  // From the environment (TICKSTREAM_SECRET) too, so the secret need not appear in `ps`.
  opt(token, "--secret", secret, "HS256 shared secret, at least 32 bytes: the gateway's")
      ->required()
      ->check([](const std::string& s) {
        return s.size() >= 32 ? std::string() : "must be at least 32 bytes (RFC 7518 section 3.2)";
      });
  token->add_option("--subject", claims.subject, "sub: the user the token speaks for")->required();
  token->add_option("--ttl", ttl, "seconds until exp")->capture_default_str()->check(CLI::Range(1, 366 * 86400));
  token->add_option("--issuer", claims.issuer, "iss (leave out when the gateway checks none)");
  token->add_option("--audience", claims.audience, "aud, repeatable or comma separated")->delimiter(',');
  token->add_option("--role", claims.roles, "a role for the roles claim, repeatable or comma separated")
      ->delimiter(',');
  token->add_option("--scope", claims.scope, "scope: space-separated scopes");

  tsctl::OrderCommands order(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  logging::init({"tsctl", logging::Level::Warn, logging::Format::Text});

  try {
    if (order.parsed()) return order.run();
    if (watch->parsed()) return runWatch(brokers, wcfg);
    if (token->parsed()) {
      const int64_t now = runtime::wallClockNs() / 1'000'000'000;
      claims.issued_at = now;
      claims.expires_at = now + ttl;
      std::printf("%s\n", auth::Signer::hs256(secret).sign(claims).c_str());
      return 0;
    }
    if (ensure->parsed()) {
      kafka::Admin admin(brokers);
      auto specs = kafka::topics::platformTopics(layout);
      admin.ensureTopics(specs);
      for (const auto& t : specs) {
        std::printf("%-14s partitions=%d\n", t.name.c_str(), admin.partitionCount(t.name));
      }
    } else if (describe->parsed()) {
      kafka::Admin admin(brokers);
      for (const auto& t : kafka::topics::platformTopics(layout)) {
        int32_t n = admin.partitionCount(t.name);
        if (n < 0) {
          std::printf("%-14s missing\n", t.name.c_str());
        } else {
          std::printf("%-14s partitions=%d cleanup.policy=%s\n", t.name.c_str(), n,
                      admin.topicConfig(t.name, "cleanup.policy").c_str());
        }
      }
    } else if (route->parsed()) {
      sharding::ShardRing r(ring);
      std::printf("%-10s %-9s %s\n", "symbol", "partition", "shards (primary first)");
      for (const auto& s : symbols) {
        auto rt = r.route(s);
        std::string shards;
        for (int32_t sh : rt.shards) shards += (shards.empty() ? "" : ",") + std::to_string(sh);
        std::printf("%-10s %-9d %s\n", s.c_str(), rt.partition, shards.c_str());
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tsctl: %s\n", e.what());
    return 1;
  }
  return 0;
}
