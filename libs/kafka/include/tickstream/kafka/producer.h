#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>

#include "tickstream/kafka/config.h"

namespace tickstream::kafka {

struct ProducerConfig {
  std::string brokers = "127.0.0.1:9092";  // bootstrap servers, host:port[,host:port]
  std::string client_id = "tickstream";    // shows in broker logs and quotas
  bool idempotent = true;                  // no duplicates or reordering when librdkafka retries
  std::string acks = "all";                // all = committed to every in-sync replica
  int linger_ms = 5;                       // wait this long to fill a batch (latency vs. throughput)
  int batch_size_bytes = 1'000'000;        // upper bound of one batch per partition
  std::string compression = "lz4";         // none|gzip|snappy|lz4|zstd
  int delivery_timeout_ms = 120'000;       // how long librdkafka retries a message before failing it
  int queue_max_messages = 1'000'000;      // local queue bound; produce() blocks when it is full
  std::chrono::milliseconds flush_timeout{30'000};  // how long the destructor waits for deliveries
  // Kafka's Java-compatible partitioner, so symbol -> partition is the same for every client
  // (libs/sharding computes it); librdkafka's own default (CRC32) would disagree.
  std::string partitioner = "murmur2_random";
  Properties extra;                        // any other librdkafka property; wins over the above

  // Throws std::invalid_argument naming the field.
  void validate() const;
  Properties toProperties() const;
};

// The outcome of one message, reported on the producer's poll thread (one thread, never two
// at once), in order per partition.
struct DeliveryReport {
  std::string_view topic;
  int32_t partition;
  int64_t offset;            // -1 when it failed
  RdKafka::ErrorCode error;  // ERR_NO_ERROR on success
  std::string_view key;
  void* opaque;              // what the caller passed to produce()
};
using DeliveryCallback = std::function<void(const DeliveryReport&)>;

enum class ProduceResult {
  Ok,         // queued; its DeliveryReport will follow
  QueueFull,  // the local queue stayed full for the whole wait: back off or shed load
  Fatal,      // the producer cannot go on (see fatalError()); nothing was queued
  Rejected,   // this message can never be produced (too large, unknown topic or partition)
};

// An RAII Kafka producer: idempotent by default, a background thread serves delivery reports,
// and destruction flushes what is queued (up to flush_timeout) before closing.
class Producer {
 public:
  // RdKafka::Topic::PARTITION_UA, which is not a constant expression in the C++ API.
  static constexpr int32_t kAnyPartition = -1;

  explicit Producer(ProducerConfig config, DeliveryCallback on_delivery = {});
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Copies key and value into librdkafka's queue. When the queue is full it waits up to
  // `max_block` for deliveries to make room, so a fast caller is slowed down rather than
  // buffered without bound. Never throws.
  ProduceResult produce(std::string_view topic, std::string_view key, std::string_view value,
                        int32_t partition = kAnyPartition, void* opaque = nullptr,
                        std::chrono::milliseconds max_block = std::chrono::milliseconds(1000));

  // Waits until every queued message has its delivery report; false on timeout.
  bool flush(std::chrono::milliseconds timeout);
  // flush(), then checks nothing was lost: true when every record produced so far was
  // delivered; otherwise logs what went wrong (timed out with records outstanding, records
  // failed, fatal error) and returns false. What a service calls before it commits its input
  // offsets or exits.
  bool flushAndVerify(std::chrono::milliseconds timeout);

  // Messages queued or in flight.
  int outstanding() const;

  uint64_t delivered() const { return delivered_.load(std::memory_order_relaxed); }
  uint64_t failed() const { return failed_.load(std::memory_order_relaxed); }
  // Of delivered(): those acknowledged without an offset of their own (librdkafka's implicit
  // acknowledgement by a later batch of the partition); see producer.cpp.
  uint64_t implicitAcks() const { return implicit_acks_.load(std::memory_order_relaxed); }
  // Non-empty once librdkafka raised a fatal error (e.g. the idempotent producer lost
  // its guarantees); the producer must then be recreated.
  std::string fatalError() const;

  RdKafka::Producer& native() { return *producer_; }

 private:
  class Callbacks;
  void pollLoop();
  // Topic handles are created once per name: the by-name produce() call would build a
  // std::string and look the topic up on every message.
  RdKafka::Topic* topicHandle(std::string_view topic);

  ProducerConfig config_;
  DeliveryCallback on_delivery_;
  std::unique_ptr<Callbacks> callbacks_;
  std::unique_ptr<RdKafka::Producer> producer_;
  std::shared_mutex topics_mu_;
  std::map<std::string, std::unique_ptr<RdKafka::Topic>, std::less<>> topics_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> fatal_{false};
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> implicit_acks_{0};
  std::atomic<uint64_t> failed_{0};
  std::thread poller_;
};

}  // namespace tickstream::kafka
