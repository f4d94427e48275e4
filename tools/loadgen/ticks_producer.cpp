// ticks_producer: a synthetic normalizer for load tests. Publishes one SymbolSnapshot per
// symbol to md.snapshot, then quote-only MarketDataUpdates to md.ticks at --rate per second,
// round robin over the symbols, each with the next per-symbol seq and publish_ts_ns = now.
//   ticks_producer --kafka-brokers 127.0.0.1:9092 --symbols 500 --rate 20000 --duration-s 60
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "tickstream/kafka/producer.h"
#include "tickstream/kafka/topics.h"
#include "tickstream/marketdata/v1/marketdata.pb.h"
#include "tickstream/runtime/clock.h"
#include "tickstream/runtime/flags.h"
#include "tickstream/runtime/shutdown.h"

using namespace tickstream;
namespace mdv1 = tickstream::marketdata::v1;

namespace {

struct ProducerToolConfig {
  std::string brokers = "127.0.0.1:9092";                 // Kafka bootstrap servers
  std::string ticks_topic = kafka::topics::kMdTicks;      // where updates go
  std::string snapshot_topic = kafka::topics::kMdSnapshot;  // where the initial snapshots go
  int symbols = 200;                                      // symbols LG00000 .. LGnnnnn
  double rate = 10'000;                                   // updates per second, all symbols
  double duration_s = 0;                                  // 0: until SIGINT/SIGTERM
  int linger_ms = 1;                                      // producer batching delay
  uint64_t seq_start = 0;                                 // first seq (0: derived from the clock)
};

}  // namespace

int main(int argc, char** argv) {
  runtime::ShutdownSignal shutdown;
  ProducerToolConfig config;
  runtime::Flags flags("ticks_producer", "synthetic md.snapshot + md.ticks publisher for load tests");
  flags.add("--kafka-brokers", config.brokers, "Kafka bootstrap servers");
  flags.add("--ticks-topic", config.ticks_topic, "topic of MarketDataUpdates");
  flags.add("--snapshot-topic", config.snapshot_topic, "compacted topic of SymbolSnapshots");
  flags.add("--symbols", config.symbols, "number of symbols")->check(CLI::Range(1, 99'999));
  flags.add("--rate", config.rate, "updates per second over all symbols")->check(CLI::PositiveNumber);
  flags.add("--duration-s", config.duration_s, "seconds to run (0: until a signal)");
  flags.add("--linger-ms", config.linger_ms, "Kafka producer linger");
  flags.add("--seq-start", config.seq_start, "first seq of every symbol (0: microseconds since epoch)");
  if (auto code = flags.parse(argc, argv)) return *code;

  kafka::ProducerConfig pc;
  pc.brokers = config.brokers;
  pc.client_id = "ticks_producer";
  pc.linger_ms = config.linger_ms;
  kafka::Producer producer(pc);

  // Seqs from the clock: a restarted producer continues above what the gateway has seen.
  const uint64_t first_seq =
      config.seq_start != 0 ? config.seq_start : static_cast<uint64_t>(runtime::wallClockNs() / 1000);
  std::vector<std::string> names;
  std::vector<uint64_t> seqs(static_cast<std::size_t>(config.symbols), first_seq - 1);
  std::string buf;
  const std::string day = runtime::todayUtc();
  for (int i = 0; i < config.symbols; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "LG%05d", i);
    names.emplace_back(name);
    mdv1::SymbolSnapshot s;
    s.set_symbol(name);
    s.set_last_seq(first_seq - 1);
    s.set_trading_day(day);
    auto* q = s.mutable_quote();
    q->set_bid_price(1'000'000 + i * 100);
    q->set_bid_size(100);
    q->set_ask_price(1'000'100 + i * 100);
    q->set_ask_size(100);
    s.mutable_status()->set_state(mdv1::TRADING_STATE_TRADING);
    const int64_t now = runtime::wallClockNs();
    s.set_exchange_ts_ns(now);
    s.set_receive_ts_ns(now);
    s.set_publish_ts_ns(now);
    s.SerializeToString(&buf);
    if (producer.produce(config.snapshot_topic, names.back(), buf) != kafka::ProduceResult::Ok) {
      std::fprintf(stderr, "ticks_producer: snapshot produce failed\n");
      return 1;
    }
  }
  if (!producer.flush(std::chrono::seconds(30))) {
    std::fprintf(stderr, "ticks_producer: snapshots not delivered within 30 s\n");
    return 1;
  }
  std::fprintf(stderr, "ticks_producer: %d snapshots published, updates at %.0f/s\n", config.symbols,
               config.rate);

  mdv1::MarketDataUpdate u;  // reused: one quote per update, ~60 bytes encoded
  const auto start = std::chrono::steady_clock::now();
  uint64_t sent = 0;
  uint64_t failed = 0;
  std::size_t next = 0;
  auto last_report = start;
  while (!shutdown.requested()) {
    const auto now_tp = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now_tp - start).count();
    if (config.duration_s > 0 && elapsed >= config.duration_s) break;
    const auto target = static_cast<uint64_t>(elapsed * config.rate);
    while (sent < target) {
      const std::size_t i = next;
      next = (next + 1) % names.size();
      const int64_t now = runtime::wallClockNs();
      u.set_symbol(names[i]);
      u.set_seq(++seqs[i]);
      u.set_exchange_ts_ns(now);
      u.set_receive_ts_ns(now);
      u.set_publish_ts_ns(now);
      auto* q = u.mutable_quote();
      const int64_t wobble = static_cast<int64_t>(seqs[i] % 7) * 100;
      q->set_bid_price(1'000'000 + static_cast<int64_t>(i) * 100 + wobble);
      q->set_bid_size(100 + static_cast<int64_t>(seqs[i] % 10) * 100);
      q->set_ask_price(1'000'100 + static_cast<int64_t>(i) * 100 + wobble);
      q->set_ask_size(200);
      q->set_exchange_ts_ns(now);
      u.SerializeToString(&buf);
      if (producer.produce(config.ticks_topic, names[i], buf) != kafka::ProduceResult::Ok) ++failed;
      ++sent;
    }
    if (now_tp - last_report >= std::chrono::seconds(5)) {
      std::fprintf(stderr, "ticks_producer: sent=%llu delivered=%llu failed=%llu\n",
                   static_cast<unsigned long long>(sent),
                   static_cast<unsigned long long>(producer.delivered()),
                   static_cast<unsigned long long>(failed + producer.failed()));
      last_report = now_tp;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  producer.flush(std::chrono::seconds(10));
  std::fprintf(stderr, "ticks_producer: done sent=%llu delivered=%llu failed=%llu\n",
               static_cast<unsigned long long>(sent), static_cast<unsigned long long>(producer.delivered()),
               static_cast<unsigned long long>(failed + producer.failed()));
  return failed + producer.failed() == 0 ? 0 : 1;
}
