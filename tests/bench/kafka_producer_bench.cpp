// Producer throughput of libs/kafka against a real broker: 100-byte messages, acks=all,
// idempotent, for several linger settings. Prints one JSON line per run and one summary line
// per setting with the median. A benchmark, not a test: it asserts nothing.
//
//   kafka_producer_bench --brokers 127.0.0.1:9092 [--messages 1000000] [--runs 3]
//   (tests/bench/run_kafka_producer.sh starts a broker and runs it)
#include <algorithm>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "tickstream/kafka/admin.h"
#include "tickstream/kafka/producer.h"
#include "tickstream/runtime/flags.h"
#include "tickstream/runtime/logging.h"

using namespace tickstream;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  std::string brokers = "127.0.0.1:9092";
  int messages = 1'000'000;
  int runs = 3;
  int size = 100;
  int partitions = 8;
  std::vector<int> lingers{0, 1, 5};
  std::string compression = "lz4";
  runtime::Flags flags("kafka_producer_bench", "libs/kafka producer throughput");
  flags.add("--brokers", brokers, "Kafka bootstrap servers");
  flags.add("--messages", messages, "messages per run")->check(CLI::PositiveNumber);
  flags.add("--runs", runs, "runs per setting")->check(CLI::PositiveNumber);
  flags.add("--size", size, "message value bytes")->check(CLI::PositiveNumber);
  flags.add("--partitions", partitions, "partitions of the benchmark topic")->check(CLI::PositiveNumber);
  flags.add("--linger-ms", lingers, "linger.ms settings to measure");
  flags.add("--compression", compression, "compression codec");
  if (auto code = flags.parse(argc, argv)) return *code;

  // Every value is a distinct slice of one random buffer: nothing repeats within a run, so
  // compression gains nothing it would not gain on real data (a small pool of values would
  // repeat inside every batch and flatter lz4).
  std::mt19937_64 rng(42);
  std::string random(static_cast<size_t>(messages) * static_cast<size_t>(size), '\0');
  for (size_t i = 0; i + 8 <= random.size(); i += 8) {
    uint64_t r = rng();
    std::memcpy(random.data() + i, &r, 8);
  }
  std::vector<std::string> keys;
  for (int i = 0; i < 1000; ++i) keys.push_back("SYM" + std::to_string(i));

  kafka::Admin admin(brokers);
  for (int linger : lingers) {
    std::vector<double> rates;
    for (int run = 0; run < runs; ++run) {
      std::string topic = "bench.producer." + std::to_string(linger) + "." + std::to_string(run) + "." +
                          std::to_string(Clock::now().time_since_epoch().count());
      admin.ensureTopics({{topic, partitions, 1, {}}});
      kafka::ProducerConfig pc;
      pc.brokers = brokers;
      pc.linger_ms = linger;
      pc.compression = compression;
      kafka::Producer producer(pc);
      // One warm-up message so connection set-up and metadata are not timed.
      producer.produce(topic, "warmup", "x");
      producer.flush(std::chrono::seconds(30));

      auto start = Clock::now();
      int queue_full = 0;
      for (int i = 0; i < messages; ++i) {
        auto r = producer.produce(topic, keys[static_cast<size_t>(i) % keys.size()],
                                  std::string_view(random).substr(static_cast<size_t>(i) * static_cast<size_t>(size), static_cast<size_t>(size)));
        if (r == kafka::ProduceResult::QueueFull) {
          ++queue_full;
          --i;
        } else if (r != kafka::ProduceResult::Ok) {
          std::fprintf(stderr, "produce failed\n");
          return 1;
        }
      }
      bool flushed = producer.flush(std::chrono::seconds(120));
      double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      double rate = messages / seconds;
      rates.push_back(rate);
      std::printf(
          "{\"bench\":\"kafka_producer\",\"run\":%d,\"linger_ms\":%d,\"msg_bytes\":%d,\"messages\":%d,"
          "\"partitions\":%d,\"acks\":\"all\",\"idempotent\":true,\"compression\":\"%s\",\"seconds\":%.3f,"
          "\"msgs_per_s\":%.0f,\"mb_per_s\":%.2f,\"delivered\":%llu,\"failed\":%llu,\"flushed\":%s}\n",
          run, linger, size, messages, partitions, compression.c_str(), seconds, rate,
          rate * size / 1e6, static_cast<unsigned long long>(producer.delivered() - 1),
          static_cast<unsigned long long>(producer.failed()), flushed ? "true" : "false");
      std::fflush(stdout);
      admin.deleteTopics({topic});
    }
    std::sort(rates.begin(), rates.end());
    std::printf(
        "{\"bench\":\"kafka_producer\",\"summary\":true,\"linger_ms\":%d,\"msg_bytes\":%d,\"runs\":%d,"
        "\"median_msgs_per_s\":%.0f,\"min_msgs_per_s\":%.0f,\"max_msgs_per_s\":%.0f}\n",
        linger, size, runs, rates[rates.size() / 2], rates.front(), rates.back());
    std::fflush(stdout);
  }
  return 0;
}
