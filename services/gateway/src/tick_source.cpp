#include "tick_source.h"

#include <boost/asio/post.hpp>

#include <chrono>
#include <exception>
#include <map>
#include <memory>
#include <utility>

#include "tickstream/kafka/consumer.h"
#include "tickstream/kafka/read_to_end.h"
#include "tickstream/runtime/clock.h"
#include "tickstream/runtime/logging.h"

namespace tickstream::gateway {

using namespace std::chrono_literals;
namespace mdv1 = marketdata::v1;

namespace {

constexpr std::size_t kBatch = 512;       // updates handed to the I/O thread at once, at most
constexpr std::size_t kSnapshotBatch = 1024;

} // namespace

TickSource::TickSource(TickSourceConfig config, boost::asio::io_context& io, Server& server,
                       GatewayMetrics* metrics, std::function<void()> on_ready,
                       std::function<void(std::string)> on_fatal)
    : config_(std::move(config)), io_(io), server_(server), metrics_(metrics),
      on_ready_(std::move(on_ready)), on_fatal_(std::move(on_fatal)) {}

TickSource::~TickSource() { stop(); }

void TickSource::start() {
  thread_ = std::thread([this] {
    try {
      run();
    } catch (const std::exception& e) {
      logging::error("tick source failed", {{"error", e.what()}});
      on_fatal_(e.what());
    }
  });
}

void TickSource::stop() {
  stop_.store(true);
  // Wakes a Kafka thread waiting for the I/O thread, which may have stopped: a wait returns only
  // once the value changed. The count means nothing after stop.
  batches_in_flight_.fetch_sub(1 << 20);
  batches_in_flight_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void TickSource::run() {
  kafka::ConsumerConfig cc;
  cc.brokers = config_.brokers;
  cc.client_id = config_.client_id;
  // Fetches return as soon as there is data (librdkafka waits up to 500 ms by default).
  cc.extra = {{"fetch.wait.max.ms", "5"}};
  kafka::Consumer consumer(cc);

  // Where md.ticks starts: decided before the snapshots are read, so nothing between the two
  // is missed (overlap is dropped by seq).
  std::map<int32_t, int64_t> ticks_from;
  const int64_t since_ms = runtime::wallClockNs() / 1'000'000 - config_.lookback_ms;
  for (const int32_t p : config_.partitions) {
    ticks_from[p] = consumer.offsetForTime(config_.ticks_topic, p, since_ms, 10s);
  }

  const auto started = std::chrono::steady_clock::now();
  std::map<int32_t, int64_t> all;
  for (const int32_t p : config_.partitions) {
    all[p] = RdKafka::Topic::OFFSET_BEGINNING;
  }
  auto batch = std::make_shared<std::vector<mdv1::SymbolSnapshot>>();
  uint64_t loaded = 0;
  const auto post_snapshots = [&] {
    if (batch->empty()) return;
    boost::asio::post(io_, [this, b = std::move(batch)] { server_.loadSnapshots(*b); });
    batch = std::make_shared<std::vector<mdv1::SymbolSnapshot>>();
  };
  kafka::readToEnd(consumer, config_.snapshot_topic, all, [&](const kafka::Message& m) {
    mdv1::SymbolSnapshot s;
    if (!s.ParseFromArray(m.payload().data(), static_cast<int>(m.payload().size()))) {
      logging::warn("unparseable snapshot skipped", {{"partition", m.partition()},
                                                     {"offset", static_cast<long long>(m.offset())}});
      return;
    }
    batch->push_back(std::move(s));
    ++loaded;
    if (batch->size() >= kSnapshotBatch) post_snapshots();
  });
  post_snapshots();
  boost::asio::post(io_, on_ready_);
  logging::info("snapshots loaded",
                {{"snapshots", static_cast<unsigned long long>(loaded)},
                 {"partitions", static_cast<long long>(config_.partitions.size())},
                 {"ms", static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                   std::chrono::steady_clock::now() - started)
                                                   .count())}});

  std::vector<kafka::TopicPartitionOffset> assignment;
  for (const auto& [p, offset] : ticks_from) {
    assignment.push_back({config_.ticks_topic, p, offset});
  }
  consumer.assign(assignment);
  std::map<int32_t, int64_t> next;  // partition -> next offset, for the lag gauge
  auto updates = std::make_shared<std::vector<UpdatePtr>>();
  auto next_lag = std::chrono::steady_clock::now();
  while (!stop_.load(std::memory_order_relaxed)) {
    auto m = consumer.poll(updates->empty() ? 100ms : 0ms);
    if (m && m->ok()) {
      auto u = std::make_shared<mdv1::MarketDataUpdate>();
      if (u->ParseFromArray(m->payload().data(), static_cast<int>(m->payload().size())) &&
          !u->symbol().empty()) {
        updates->push_back(std::move(u));
      } else {
        logging::warn("unparseable update skipped", {{"partition", m->partition()},
                                                     {"offset", static_cast<long long>(m->offset())}});
      }
      next[m->partition()] = m->offset() + 1;
    } else if (m) {
      logging::error("md.ticks consumer error", {{"error", m->errorString()}});
    }
    if (!updates->empty() && (!m || updates->size() >= kBatch)) {
      // Backpressure: wait while the I/O thread has enough to do.
      for (int n = batches_in_flight_.load(); n >= config_.max_batches_in_flight &&
                                              !stop_.load(std::memory_order_relaxed);
           n = batches_in_flight_.load()) {
        batches_in_flight_.wait(n);
      }
      batches_in_flight_.fetch_add(1);
      boost::asio::post(io_, [this, b = std::move(updates)] {
        server_.onUpdates(*b);
        batches_in_flight_.fetch_sub(1);
        batches_in_flight_.notify_one();
      });
      updates = std::make_shared<std::vector<UpdatePtr>>();
    }
    if (metrics_ != nullptr && std::chrono::steady_clock::now() >= next_lag) {
      next_lag = std::chrono::steady_clock::now() + 2s;
      for (const auto& [p, n] : next) {
        int64_t low = 0, high = 0;
        // Cached from fetch responses: no request to the broker.
        if (consumer.native().get_watermark_offsets(config_.ticks_topic, p, &low, &high) ==
            RdKafka::ERR_NO_ERROR) {
          metrics_->consumer_lag.Add({{"partition", std::to_string(p)}})
              .Set(static_cast<double>(std::max<int64_t>(0, high - n)));
        }
      }
    }
  }
  consumer.close();
}

} // namespace tickstream::gateway
