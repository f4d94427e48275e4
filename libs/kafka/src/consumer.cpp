#include "tickstream/kafka/consumer.h"

#include <algorithm>
#include <exception>
#include <utility>
#include <stdexcept>
#include <thread>

#include "tickstream/kafka/errors.h"
#include "tickstream/runtime/logging.h"

namespace tickstream::kafka {
namespace {

// librdkafka's C++ API hands out raw TopicPartition pointers; this owns them.
struct PartitionList {
  std::vector<RdKafka::TopicPartition*> list;
  PartitionList() = default;
  explicit PartitionList(const std::vector<TopicPartitionOffset>& tps) {
    for (const auto& tp : tps) list.push_back(RdKafka::TopicPartition::create(tp.topic, tp.partition, tp.offset));
  }
  ~PartitionList() { RdKafka::TopicPartition::destroy(list); }
  PartitionList(const PartitionList&) = delete;
  PartitionList& operator=(const PartitionList&) = delete;

  std::vector<TopicPartitionOffset> values() const {
    std::vector<TopicPartitionOffset> out;
    for (auto* tp : list) out.push_back({tp->topic(), tp->partition(), tp->offset()});
    return out;
  }
};

}  // namespace

void ConsumerConfig::validate() const {
  if (brokers.empty()) throw std::invalid_argument("kafka brokers: empty");
  if (auto_offset_reset != "earliest" && auto_offset_reset != "latest" && auto_offset_reset != "error") {
    throw std::invalid_argument("kafka auto_offset_reset: earliest|latest|error, got " + auto_offset_reset);
  }
  if (session_timeout_ms <= 0) throw std::invalid_argument("kafka session_timeout_ms: must be > 0");
}

Properties ConsumerConfig::toProperties() const {
  Properties p{
      {"bootstrap.servers", brokers},
      {"client.id", client_id},
      {"auto.offset.reset", auto_offset_reset},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"session.timeout.ms", std::to_string(session_timeout_ms)},
      {"max.poll.interval.ms", std::to_string(max_poll_interval_ms)},
      // Silences EOF events unless a caller asks for them through `extra`.
      {"enable.partition.eof", "false"},
  };
  // librdkafka insists on a group id even for assign()-only consumers that never commit.
  p["group.id"] = group_id.empty() ? "tickstream-unassigned-" + client_id : group_id;
  for (const auto& [k, v] : extra) p[k] = v;
  return p;
}

// Hands librdkafka's rebalance events to the listener and then (re)assigns, eagerly or
// incrementally as the group's protocol requires. A listener's exception is kept for poll().
class Consumer::Rebalance : public RdKafka::RebalanceCb {
 public:
  explicit Rebalance(RebalanceListener& listener) : listener_(listener) {}

  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    const bool cooperative = consumer->rebalance_protocol() == "COOPERATIVE";
    std::vector<TopicPartitionOffset> tps;
    for (auto* tp : partitions) tps.push_back({tp->topic(), tp->partition(), tp->offset()});
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      try {
        listener_.onAssigned(tps);
      } catch (...) {
        if (!error_) error_ = std::current_exception();
      }
      for (std::size_t i = 0; i < partitions.size(); ++i) partitions[i]->set_offset(tps[i].offset);
      if (cooperative) {
        if (auto e = consumer->incremental_assign(partitions)) {
          logging::error("kafka incremental assign failed", {{"error", e->str()}});
          delete e;
        }
      } else {
        consumer->assign(partitions);
      }
      return;
    }
    try {
      if (consumer->assignment_lost()) {
        listener_.onLost(tps);
      } else {
        listener_.onRevoked(tps);
      }
    } catch (...) {
      if (!error_) error_ = std::current_exception();
    }
    if (cooperative) {
      if (auto e = consumer->incremental_unassign(partitions)) {
        logging::error("kafka incremental unassign failed", {{"error", e->str()}});
        delete e;
      }
    } else {
      consumer->unassign();
    }
  }

  void rethrow() {
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  }

 private:
  RebalanceListener& listener_;
  std::exception_ptr error_;
};

Consumer::Consumer(ConsumerConfig config, RebalanceListener* listener)
    : config_(std::move(config)) {
  config_.validate();
  auto conf = makeConf(config_.toProperties());
  std::string err;
  if (listener != nullptr) {
    rebalance_ = std::make_unique<Rebalance>(*listener);
    if (conf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(rebalance_.get()), err) !=
        RdKafka::Conf::CONF_OK) {
      throw KafkaError(RdKafka::ERR__INVALID_ARG, "kafka consumer rebalance_cb: " + err);
    }
  }
  consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!consumer_) throw KafkaError(RdKafka::ERR__INVALID_ARG, "kafka consumer: " + err);
}

Consumer::~Consumer() { close(); }

void Consumer::close() {
  if (closed_) return;
  closed_ = true;
  consumer_->close();
}

void Consumer::subscribe(const std::vector<std::string>& topics) {
  if (config_.group_id.empty()) throw std::invalid_argument("kafka group_id: required to subscribe");
  if (auto err = consumer_->subscribe(topics); err != RdKafka::ERR_NO_ERROR) {
    throw KafkaError(err, "kafka subscribe");
  }
}

void Consumer::assign(const std::vector<TopicPartitionOffset>& partitions) {
  PartitionList list(partitions);
  if (auto err = consumer_->assign(list.list); err != RdKafka::ERR_NO_ERROR) {
    throw KafkaError(err, "kafka assign");
  }
}

std::optional<Message> Consumer::poll(std::chrono::milliseconds timeout) {
  // The clock is read only once an event has been skipped: a record or a timeout (nearly every
  // call) reads none here, and consume(0) reads none in librdkafka either. At 150k records/s
  // the deadline arithmetic per call was a measurable share of a consuming thread.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  auto remaining = timeout;
  for (;;) {
    std::unique_ptr<RdKafka::Message> m(consumer_->consume(static_cast<int>(remaining.count())));
    if (rebalance_) rebalance_->rethrow();
    switch (m->err()) {
      case RdKafka::ERR_NO_ERROR:
        return Message(std::move(m));
      case RdKafka::ERR__TIMED_OUT:
        return std::nullopt;
      case RdKafka::ERR__PARTITION_EOF:
        break;
      default:
        if (classify(m->err()) != ErrorClass::Retriable) return Message(std::move(m));
        // librdkafka reconnects and refetches by itself; say so and keep waiting.
        logging::warn("kafka consumer transient error", {{"error", m->errstr()}});
        break;
    }
    // Skipped: keep waiting, at most `timeout` after this first skip (so up to twice `timeout`
    // in all).
    const auto now = std::chrono::steady_clock::now();
    if (!deadline) deadline = now + timeout;
    remaining = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - now);
    if (remaining.count() < 0) return std::nullopt;
  }
}

void Consumer::commit(const Message& m) {
  commit({{m.topic(), m.partition(), m.offset() + 1}});
}

void Consumer::commit(const std::vector<TopicPartitionOffset>& positions) {
  PartitionList list(positions);
  if (auto err = consumer_->commitSync(list.list); err != RdKafka::ERR_NO_ERROR) {
    throw KafkaError(err, "kafka commit");
  }
  for (auto* tp : list.list) {
    if (tp->err() != RdKafka::ERR_NO_ERROR) throw KafkaError(tp->err(), "kafka commit " + tp->topic());
  }
}

void Consumer::commitAsync(const std::vector<TopicPartitionOffset>& positions) {
  PartitionList list(positions);
  if (auto err = consumer_->commitAsync(list.list); err != RdKafka::ERR_NO_ERROR) {
    throw KafkaError(err, "kafka commit");
  }
}

std::vector<TopicPartitionOffset> Consumer::committed(std::vector<TopicPartitionOffset> partitions,
                                                      std::chrono::milliseconds timeout) {
  PartitionList list(partitions);
  if (auto err = consumer_->committed(list.list, static_cast<int>(timeout.count()));
      err != RdKafka::ERR_NO_ERROR) {
    throw KafkaError(err, "kafka committed");
  }
  return list.values();
}

int64_t Consumer::offsetForTime(const std::string& topic, int32_t partition, int64_t timestamp_ms,
                                std::chrono::milliseconds timeout) {
  // Transient errors (a new topic's partition has no leader yet) are retried until `timeout`,
  // as watermarks() does.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  PartitionList list({{topic, partition, timestamp_ms}});
  for (;;) {
    auto err = consumer_->offsetsForTimes(list.list, static_cast<int>(timeout.count()));
    if (err == RdKafka::ERR_NO_ERROR) err = list.list[0]->err();
    if (err == RdKafka::ERR_NO_ERROR) break;
    if (classify(err) != ErrorClass::Retriable || std::chrono::steady_clock::now() >= deadline) {
      throw KafkaError(err, "kafka offsetsForTimes " + topic);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    list.list[0]->set_offset(timestamp_ms);
  }
  const int64_t offset = list.list[0]->offset();
  if (offset >= 0) return offset;
  return watermarks(topic, partition, timeout).second;  // no record that late: the end
}

std::vector<TopicPartitionOffset> Consumer::assignment() {
  PartitionList list;
  if (auto err = consumer_->assignment(list.list); err != RdKafka::ERR_NO_ERROR) {
    throw KafkaError(err, "kafka assignment");
  }
  return list.values();
}

std::pair<int64_t, int64_t> Consumer::watermarks(const std::string& topic, int32_t partition,
                                                 std::chrono::milliseconds timeout) {
  int64_t low = -1, high = -1;
  // Right after a topic is created its partitions may have no leader yet (NOT_LEADER,
  // LEADER_NOT_AVAILABLE): retry transient answers until the timeout rather than fail start-up.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto err = consumer_->query_watermark_offsets(topic, partition, &low, &high,
                                                  static_cast<int>(std::max<int64_t>(remaining.count(), 1)));
    if (err == RdKafka::ERR_NO_ERROR) return {low, high};
    if (classify(err) == ErrorClass::Fatal || std::chrono::steady_clock::now() >= deadline) {
      throw KafkaError(err, "kafka watermarks " + topic);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace tickstream::kafka
