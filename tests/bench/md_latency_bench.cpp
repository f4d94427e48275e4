// Feed -> md.ticks latency, as a consumer of md.ticks sees it: for every MarketDataUpdate read,
// now - receive_ts_ns (when ingestion took the latest event it reflects off the SoupBinTCP
// session), split into ingestion -> normalizer publish (publish_ts_ns - receive_ts_ns) and
// publish -> visible here (now - publish_ts_ns). The pipeline's own latency is the total less
// the time the normalizer's rate cap held the update back (rate_cap_hold_ns): a held update's
// latest event waited for its symbol's next slot by design, not for a busy process. Prints one
// JSON line. A benchmark, not a test.
//
//   md_latency_bench --brokers 127.0.0.1:9092 --topic md.ticks --partitions 64
//                    --warmup-s 3 --duration-s 10
//   (tests/bench/run_md_latency.sh starts the whole pipeline and runs it)
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "tickstream/kafka/consumer.h"
#include "tickstream/marketdata/v1/marketdata.pb.h"
#include "tickstream/marketdata/v1/raw.pb.h"
#include "tickstream/runtime/clock.h"
#include "tickstream/runtime/flags.h"

using namespace tickstream;
using Clock = std::chrono::steady_clock;

namespace {

double percentileMs(std::vector<int64_t>& ns, double q) {
  if (ns.empty()) {
    return 0;
  }
  const auto k = static_cast<std::size_t>(q * static_cast<double>(ns.size() - 1));
  std::nth_element(ns.begin(), ns.begin() + static_cast<std::ptrdiff_t>(k), ns.end());
  return static_cast<double>(ns[k]) / 1e6;
}

} // namespace

int main(int argc, char** argv) {
  std::string brokers = "127.0.0.1:9092";
  std::string topic = "md.ticks";
  int partitions = 64;
  int warmup_s = 3;
  int duration_s = 10;
  std::string label;
  bool raw = false;
  int fetch_wait_ms = 5;
  runtime::Flags flags("md_latency_bench", "feed -> md.ticks latency seen by a consumer");
  flags.add("--brokers", brokers, "Kafka bootstrap servers");
  flags.add("--topic", topic, "the md.ticks topic to read");
  flags.add("--partitions", partitions, "its partition count")->check(CLI::PositiveNumber);
  flags.add("--warmup-s", warmup_s, "seconds read before measuring")->check(CLI::NonNegativeNumber);
  flags.add("--duration-s", duration_s, "seconds measured")->check(CLI::PositiveNumber);
  flags.add("--label", label, "free text copied into the JSON line");
  flags.add("--fetch-wait-ms", fetch_wait_ms, "fetch.wait.max.ms of this consumer");
  flags.add("--raw", raw, "read md.raw (RawFeedMessage) instead: the ingestion -> Kafka leg alone");
  if (auto code = flags.parse(argc, argv)) {
    return *code;
  }

  kafka::ConsumerConfig cc;
  cc.brokers = brokers;
  cc.client_id = "md-latency-bench";
  // A gateway-like consumer: fetch as soon as anything is there.
  cc.extra = {{"fetch.wait.max.ms", std::to_string(fetch_wait_ms)}, {"fetch.min.bytes", "1"}};
  kafka::Consumer consumer(cc);
  std::vector<kafka::TopicPartitionOffset> all;
  for (int32_t p = 0; p < partitions; ++p) {
    all.push_back({topic, p, RdKafka::Topic::OFFSET_END});
  }
  consumer.assign(all);

  marketdata::v1::MarketDataUpdate u;
  marketdata::v1::RawFeedMessage r;
  std::vector<int64_t> total, to_publish, to_consumer, pipeline;
  total.reserve(4'000'000);
  pipeline.reserve(4'000'000);
  to_publish.reserve(4'000'000);
  to_consumer.reserve(4'000'000);
  uint64_t conflated_updates = 0, held_updates = 0, bad = 0;
  const auto start = Clock::now();
  const auto measure_from = start + std::chrono::seconds(warmup_s);
  const auto end = measure_from + std::chrono::seconds(duration_s);
  while (Clock::now() < end) {
    auto m = consumer.poll(std::chrono::milliseconds(50));
    if (!m || !m->ok()) {
      continue;
    }
    const int64_t now = runtime::wallClockNs();
    if (Clock::now() < measure_from) {
      continue;
    }
    if (raw) {
      if (!r.ParseFromArray(m->payload().data(), static_cast<int>(m->payload().size()))) {
        ++bad;
        continue;
      }
      // md.raw has no publish stamp: the whole latency is ingestion -> visible here.
      u.Clear();
      u.set_receive_ts_ns(r.receive_ts_ns());
      u.set_publish_ts_ns(r.receive_ts_ns());
    } else if (!u.ParseFromArray(m->payload().data(), static_cast<int>(m->payload().size()))) {
      ++bad;
      continue;
    }
    if (u.receive_ts_ns() == 0) {
      ++bad;
      continue;
    }
    total.push_back(now - u.receive_ts_ns());
    to_publish.push_back(u.publish_ts_ns() - u.receive_ts_ns());
    to_consumer.push_back(now - u.publish_ts_ns());
    pipeline.push_back(now - u.receive_ts_ns() - u.rate_cap_hold_ns());
    conflated_updates += u.conflated() > 0 ? 1 : 0;
    held_updates += u.rate_cap_hold_ns() > 0 ? 1 : 0;
  }
  const std::size_t n = total.size();
  std::printf(
      "{\"bench\":\"md_latency\",\"label\":\"%s\",\"updates\":%zu,\"updates_per_s\":%.0f,"
      "\"conflated_share\":%.4f,\"held_share\":%.4f,\"bad\":%llu,"
      "\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,"
      "\"to_publish_p50_ms\":%.3f,\"to_publish_p99_ms\":%.3f,"
      "\"to_consumer_p50_ms\":%.3f,\"to_consumer_p99_ms\":%.3f,"
      "\"pipeline_p50_ms\":%.3f,\"pipeline_p99_ms\":%.3f}\n",
      label.c_str(), n, static_cast<double>(n) / duration_s,
      n == 0 ? 0.0 : static_cast<double>(conflated_updates) / static_cast<double>(n),
      n == 0 ? 0.0 : static_cast<double>(held_updates) / static_cast<double>(n),
      static_cast<unsigned long long>(bad), percentileMs(total, 0.5), percentileMs(total, 0.9),
      percentileMs(total, 0.99), percentileMs(total, 0.999), percentileMs(total, 1.0),
      percentileMs(to_publish, 0.5), percentileMs(to_publish, 0.99),
      percentileMs(to_consumer, 0.5), percentileMs(to_consumer, 0.99),
      percentileMs(pipeline, 0.5), percentileMs(pipeline, 0.99));
  consumer.close();
  return n == 0 ? 1 : 0;
}
