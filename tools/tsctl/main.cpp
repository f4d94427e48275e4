// tsctl: the operator's command line.
//   tsctl topics ensure --kafka-brokers HOST:PORT    create the platform's topics (idempotent)
//   tsctl topics describe --kafka-brokers HOST:PORT  partitions and cleanup policy of each topic
//   tsctl route --symbols AAPL,MSFT --shards 4 --replication 2
//                                               which md.ticks partition and gateway shards
//                                               serve each symbol (the same answer as
//                                               GET /v1/route on a gateway)
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "tickstream/kafka/admin.h"
#include "tickstream/kafka/topics.h"
#include "tickstream/runtime/flags.h"
#include "tickstream/runtime/logging.h"
#include "tickstream/sharding/ring.h"

using namespace tickstream;

namespace {

// Binds an option to its TICKSTREAM_* variable too, like every service's flags.
template <class T>
CLI::Option* opt(CLI::App* app, const std::string& name, T& value, const std::string& help) {
  return app->add_option(name, value, help)->envname(runtime::Flags::envName(name))->capture_default_str();
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

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  logging::init({"tsctl", logging::Level::Warn, logging::Format::Text});

  try {
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
