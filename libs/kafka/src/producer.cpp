#include "tickstream/kafka/producer.h"

#include <mutex>
#include <stdexcept>

#include "tickstream/kafka/errors.h"
#include "tickstream/runtime/logging.h"

namespace tickstream::kafka {

void ProducerConfig::validate() const {
  if (brokers.empty()) throw std::invalid_argument("kafka brokers: empty");
  if (linger_ms < 0) throw std::invalid_argument("kafka linger_ms: must be >= 0");
  if (batch_size_bytes <= 0) throw std::invalid_argument("kafka batch_size_bytes: must be > 0");
  if (queue_max_messages <= 0) throw std::invalid_argument("kafka queue_max_messages: must be > 0");
  if (delivery_timeout_ms <= 0) throw std::invalid_argument("kafka delivery_timeout_ms: must be > 0");
  if (idempotent && acks != "all" && acks != "-1") {
    throw std::invalid_argument("kafka acks: the idempotent producer requires acks=all");
  }
}

Properties ProducerConfig::toProperties() const {
  Properties p{
      {"bootstrap.servers", brokers},
      {"client.id", client_id},
      {"enable.idempotence", idempotent ? "true" : "false"},
      {"acks", acks},
      {"linger.ms", std::to_string(linger_ms)},
      {"batch.size", std::to_string(batch_size_bytes)},
      {"compression.codec", compression},
      {"delivery.timeout.ms", std::to_string(delivery_timeout_ms)},
      {"queue.buffering.max.messages", std::to_string(queue_max_messages)},
      {"partitioner", partitioner},
      // Producing to a missing topic is a deployment error; never create it with the
      // broker's default partition count, which would misroute every symbol.
      {"allow.auto.create.topics", "false"},
  };
  for (const auto& [k, v] : extra) p[k] = v;
  return p;
}

class Producer::Callbacks : public RdKafka::DeliveryReportCb, public RdKafka::EventCb {
 public:
  explicit Callbacks(Producer& owner) : owner_(owner) {}

  void dr_cb(RdKafka::Message& m) override {
    if (m.err() == RdKafka::ERR_NO_ERROR) {
      owner_.delivered_.fetch_add(1, std::memory_order_relaxed);
      if (m.offset() < 0) {
        // "Implicitly acknowledged": the broker never answered this record's own batch; a later
        // batch's success vouched for it. Usually it was written (a retried batch after a
        // timeout), but not always (docs/topics.md, "A partition's first batch"): counted and
        // logged so a loss can be traced to it.
        const uint64_t n = owner_.implicit_acks_.fetch_add(1, std::memory_order_relaxed) + 1;
        if (n <= 10 || n % 10'000 == 0) {
          logging::warn("kafka delivery acknowledged without an offset",
                        {{"topic", m.topic_name()}, {"partition", m.partition()},
                         {"count", static_cast<unsigned long long>(n)}});
        }
      }
    } else {
      owner_.failed_.fetch_add(1, std::memory_order_relaxed);
      logging::warn("kafka delivery failed", {{"topic", m.topic_name()},
                                              {"partition", m.partition()},
                                              {"error", RdKafka::err2str(m.err())},
                                              {"class", className(classify(m.err()))}});
    }
    if (owner_.on_delivery_) {
      std::string_view key = m.key_pointer()
                                 ? std::string_view(static_cast<const char*>(m.key_pointer()), m.key_len())
                                 : std::string_view();
      owner_.on_delivery_(DeliveryReport{m.topic_name(), m.partition(),
                                         m.err() ? -1 : m.offset(), m.err(), key, m.msg_opaque()});
    }
  }

  void event_cb(RdKafka::Event& e) override {
    if (e.type() != RdKafka::Event::EVENT_ERROR) return;
    if (e.fatal()) {
      owner_.fatal_.store(true, std::memory_order_release);
      logging::error("kafka producer fatal error", {{"error", e.str()}});
    } else {
      // Transport errors and the like: librdkafka reconnects by itself.
      logging::warn("kafka producer error", {{"error", e.str()}, {"code", RdKafka::err2str(e.err())}});
    }
  }

 private:
  Producer& owner_;
};

Producer::Producer(ProducerConfig config, DeliveryCallback on_delivery)
    : config_(std::move(config)), on_delivery_(std::move(on_delivery)) {
  config_.validate();
  callbacks_ = std::make_unique<Callbacks>(*this);
  auto conf = makeConf(config_.toProperties());
  std::string err;
  conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(callbacks_.get()), err);
  conf->set("event_cb", static_cast<RdKafka::EventCb*>(callbacks_.get()), err);
  producer_.reset(RdKafka::Producer::create(conf.get(), err));
  if (!producer_) throw KafkaError(RdKafka::ERR__INVALID_ARG, "kafka producer: " + err);
  poller_ = std::thread([this] { pollLoop(); });
}

Producer::~Producer() {
  if (!flush(config_.flush_timeout)) {
    logging::error("kafka producer closed with undelivered messages",
                   {{"outstanding", outstanding()}, {"timeout_ms", config_.flush_timeout.count()}});
  }
  // Only now, with the poll thread gone, may this thread serve any last delivery reports.
  stop_.store(true, std::memory_order_release);
  poller_.join();
  producer_->flush(0);
}

void Producer::pollLoop() {
  while (!stop_.load(std::memory_order_acquire)) producer_->poll(50);
}

ProduceResult Producer::produce(std::string_view topic, std::string_view key,
                                std::string_view value, int32_t partition, void* opaque,
                                std::chrono::milliseconds max_block) {
  if (fatal_.load(std::memory_order_acquire)) return ProduceResult::Fatal;
  const auto deadline = std::chrono::steady_clock::now() + max_block;
  RdKafka::Topic* handle = nullptr;
  try {
    handle = topicHandle(topic);
  } catch (const KafkaError& e) {
    logging::warn("kafka produce rejected", {{"topic", topic}, {"error", e.what()}});
    return ProduceResult::Rejected;
  }
  for (;;) {
    RdKafka::ErrorCode err = producer_->produce(
        handle, partition, RdKafka::Producer::RK_MSG_COPY,
        const_cast<char*>(value.data()), value.size(), key.data(), key.size(), opaque);
    if (err == RdKafka::ERR_NO_ERROR) return ProduceResult::Ok;
    if (err == RdKafka::ERR__QUEUE_FULL) {
      if (std::chrono::steady_clock::now() >= deadline) return ProduceResult::QueueFull;
      // The poll thread serves delivery reports; give it a moment to free room.
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    if (err == RdKafka::ERR__FATAL) return ProduceResult::Fatal;
    logging::warn("kafka produce rejected", {{"topic", topic}, {"error", RdKafka::err2str(err)}});
    return ProduceResult::Rejected;
  }
}

RdKafka::Topic* Producer::topicHandle(std::string_view topic) {
  {
    std::shared_lock lock(topics_mu_);
    auto it = topics_.find(topic);
    if (it != topics_.end()) return it->second.get();
  }
  std::unique_lock lock(topics_mu_);
  auto it = topics_.find(topic);
  if (it != topics_.end()) return it->second.get();
  std::string err;
  std::unique_ptr<RdKafka::Topic> handle(
      RdKafka::Topic::create(producer_.get(), std::string(topic), nullptr, err));
  if (!handle) throw KafkaError(RdKafka::ERR__INVALID_ARG, "kafka topic " + std::string(topic) + ": " + err);
  return topics_.emplace(std::string(topic), std::move(handle)).first->second.get();
}

bool Producer::flush(std::chrono::milliseconds timeout) {
  // librdkafka's own flush() would serve delivery reports on this thread while the poll thread
  // serves others: callbacks would run concurrently and out of order. So wait for the poll
  // thread to drain the queue instead.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (producer_->outq_len() > 0) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

bool Producer::flushAndVerify(std::chrono::milliseconds timeout) {
  if (!flush(timeout)) {
    logging::error("kafka flush timed out: records may be lost",
                   {{"timeout_ms", static_cast<long long>(timeout.count())},
                    {"outstanding", outstanding()}});
    return false;
  }
  if (failed() > 0 || !fatalError().empty()) {
    logging::error("kafka records not delivered",
                   {{"failed", static_cast<unsigned long long>(failed())}, {"fatal", fatalError()}});
    return false;
  }
  return true;
}

int Producer::outstanding() const { return producer_->outq_len(); }

std::string Producer::fatalError() const {
  if (!fatal_.load(std::memory_order_acquire)) return {};
  std::string reason;
  producer_->fatal_error(reason);
  return reason;
}

}  // namespace tickstream::kafka
