#include "symbol_directory.h"

#include <chrono>
#include <map>
#include <mutex>
#include <stdexcept>

#include "tickstream/kafka/admin.h"
#include "tickstream/kafka/consumer.h"
#include "tickstream/runtime/logging.h"

namespace tickstream::order {

namespace md = marketdata::v1;
using namespace std::chrono_literals;

std::optional<SymbolInfo> SymbolDirectory::find(std::string_view symbol) const {
  std::shared_lock lock(mu_);
  const auto it = symbols_.find(symbol);
  if (it == symbols_.end()) return std::nullopt;
  return it->second.info;
}

bool SymbolDirectory::halted(std::string_view symbol) const {
  std::shared_lock lock(mu_);
  const auto it = symbols_.find(symbol);
  return it != symbols_.end() && it->second.halted;
}

void SymbolDirectory::apply(const md::SymbolSnapshot& snapshot) {
  if (snapshot.symbol().empty()) return;
  std::unique_lock lock(mu_);
  auto& entry = symbols_[snapshot.symbol()];
  // Tick and lot stay at SymbolInfo's defaults (0.01, 1 share): md.snapshot does not carry them,
  // and they are the US equity defaults for prices of a dollar and more.
  if (snapshot.has_last_trade() && snapshot.last_trade().price() > 0) {
    entry.info.last_trade_price = snapshot.last_trade().price();
  }
  const auto state = snapshot.status().state();
  entry.halted = state == md::TRADING_STATE_HALTED || state == md::TRADING_STATE_PAUSED;
}

std::size_t SymbolDirectory::size() const {
  std::shared_lock lock(mu_);
  return symbols_.size();
}

SnapshotFollower::SnapshotFollower(std::string brokers, std::string topic, SymbolDirectory& directory,
                                   std::function<void()> on_caught_up)
    : brokers_(std::move(brokers)), topic_(std::move(topic)), directory_(directory),
      on_caught_up_(std::move(on_caught_up)) {}

SnapshotFollower::~SnapshotFollower() { stop(); }

void SnapshotFollower::start() {
  partitions_ = kafka::Admin(brokers_).partitionCount(topic_);
  if (partitions_ <= 0) throw std::runtime_error("topic " + topic_ + " does not exist (tsctl topics ensure)");
  thread_ = std::thread([this] { run(); });
}

void SnapshotFollower::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void SnapshotFollower::run() {
  try {
    kafka::ConsumerConfig cc;
    cc.brokers = brokers_;
    cc.client_id = "order-service-symbols";
    kafka::Consumer consumer(cc);
    std::vector<kafka::TopicPartitionOffset> assignment;
    // Caught up with a partition once a record at or past its end-at-start minus one is read
    // (compaction leaves holes, so that exact offset may be gone).
    std::map<int32_t, int64_t> pending;
    for (int32_t p = 0; p < partitions_; ++p) {
      assignment.push_back({topic_, p, RdKafka::Topic::OFFSET_BEGINNING});
      const auto [low, high] = consumer.watermarks(topic_, p, 10s);
      if (high > low) pending[p] = high - 1;
    }
    consumer.assign(assignment);
    bool caught_up = false;
    const auto check_caught_up = [&] {
      if (!caught_up && pending.empty()) {
        caught_up = true;
        logging::info("symbol directory loaded", {{"symbols", static_cast<long long>(directory_.size())}});
        on_caught_up_();
      }
    };
    check_caught_up();
    md::SymbolSnapshot snapshot;
    while (!stop_) {
      auto m = consumer.poll(100ms);
      if (!m) continue;
      if (!m->ok()) {
        logging::warn("md.snapshot read error", {{"error", m->errorString()}});
        continue;
      }
      const auto payload = m->payload();
      if (snapshot.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
        directory_.apply(snapshot);
      } else if (!payload.empty()) {  // an empty value is a tombstone
        malformed_.fetch_add(1);
      }
      if (const auto it = pending.find(m->partition()); it != pending.end() && m->offset() >= it->second) {
        pending.erase(it);
      }
      check_caught_up();
    }
    consumer.close();
  } catch (const std::exception& e) {
    // Orders then keep being checked against the symbols read so far; the failure is logged
    // for the operator (the service stays up: refusing every order would be worse).
    logging::error("md.snapshot follower stopped", {{"error", e.what()}});
  }
}

}  // namespace tickstream::order
