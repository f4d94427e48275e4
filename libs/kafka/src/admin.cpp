#include "tickstream/kafka/admin.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "tickstream/kafka/errors.h"

namespace tickstream::kafka {
namespace {

RdKafka::ErrorCode cpp(rd_kafka_resp_err_t e) { return static_cast<RdKafka::ErrorCode>(e); }

struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};
struct OptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
};
using Queue = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;
using Event = std::unique_ptr<rd_kafka_event_t, EventDeleter>;
using Options = std::unique_ptr<rd_kafka_AdminOptions_t, OptionsDeleter>;

Options makeOptions(rd_kafka_t* rk, rd_kafka_admin_op_t op, std::chrono::milliseconds timeout) {
  Options o(rd_kafka_AdminOptions_new(rk, op));
  char err[256];
  rd_kafka_AdminOptions_set_request_timeout(o.get(), static_cast<int>(timeout.count()), err, sizeof err);
  if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS || op == RD_KAFKA_ADMIN_OP_DELETETOPICS) {
    rd_kafka_AdminOptions_set_operation_timeout(o.get(), static_cast<int>(timeout.count()), err, sizeof err);
  }
  return o;
}

// Waits for the admin result on `q`; throws on a request-level error.
Event awaitResult(rd_kafka_queue_t* q, std::chrono::milliseconds timeout, const std::string& what) {
  Event ev(rd_kafka_queue_poll(q, static_cast<int>(timeout.count()) + 5000));
  if (!ev) throw KafkaError(RdKafka::ERR__TIMED_OUT, what);
  if (auto err = rd_kafka_event_error(ev.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw KafkaError(cpp(err), what + " (" + rd_kafka_event_error_string(ev.get()) + ")");
  }
  return ev;
}

}  // namespace

Admin::Admin(const std::string& brokers) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    throw KafkaError(RdKafka::ERR__INVALID_ARG, std::string("kafka admin: ") + err);
  }
  // Metadata look-ups from a producer-type handle would otherwise ask the broker to create
  // the topic being looked at (with its default partition count).
  rd_kafka_conf_set(conf, "allow.auto.create.topics", "false", err, sizeof err);
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);  // takes `conf` on success
  if (!rk_) {
    rd_kafka_conf_destroy(conf);
    throw KafkaError(RdKafka::ERR__INVALID_ARG, std::string("kafka admin: ") + err);
  }
}

Admin::~Admin() {
  if (rk_) rd_kafka_destroy(rk_);
}

void Admin::ensureTopics(const std::vector<TopicSpec>& topics, std::chrono::milliseconds timeout) {
  if (topics.empty()) return;
  std::vector<rd_kafka_NewTopic_t*> specs;
  char err[512];
  for (const auto& t : topics) {
    rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(t.name.c_str(), t.partitions, t.replication, err, sizeof err);
    if (!nt) {
      rd_kafka_NewTopic_destroy_array(specs.data(), specs.size());
      throw KafkaError(RdKafka::ERR__INVALID_ARG, "kafka topic " + t.name + ": " + err);
    }
    for (const auto& [k, v] : t.configs) rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str());
    specs.push_back(nt);
  }
  Queue q(rd_kafka_queue_new(rk_));
  Options opts = makeOptions(rk_, RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout);
  rd_kafka_CreateTopics(rk_, specs.data(), specs.size(), opts.get(), q.get());
  rd_kafka_NewTopic_destroy_array(specs.data(), specs.size());

  Event ev = awaitResult(q.get(), timeout, "kafka create topics");
  size_t n = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev.get()), &n);
  std::set<std::string> created;  // by this call: their partitions may not be writable yet
  for (size_t i = 0; i < n; ++i) {
    auto e = rd_kafka_topic_result_error(results[i]);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) created.insert(rd_kafka_topic_result_name(results[i]));
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) continue;
    const char* msg = rd_kafka_topic_result_error_string(results[i]);
    throw KafkaError(cpp(e), std::string("kafka create topic ") + rd_kafka_topic_result_name(results[i]) +
                                 (msg ? std::string(" (") + msg + ")" : ""));
  }
  // The controller has accepted the topics, but the broker's metadata catches up a little
  // later; return only when they can be used, or a produce right after would fail.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const auto& t : topics) {
    int32_t count;
    auto remaining = [&] {
      return std::max(std::chrono::milliseconds(1), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                        deadline - std::chrono::steady_clock::now()));
    };
    while ((count = partitionCount(t.name, remaining())) != t.partitions) {
      if (count > 0) {
        // It existed already with another shape: symbol -> partition would differ from what
        // every other component computes, so refuse rather than run misrouted.
        throw KafkaError(RdKafka::ERR_INVALID_PARTITIONS,
                         "kafka topic " + t.name + " exists with " + std::to_string(count) +
                             " partitions, expected " + std::to_string(t.partitions));
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        throw KafkaError(RdKafka::ERR__TIMED_OUT, "kafka topic " + t.name + " not visible in metadata");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    // Visible in metadata is not yet writable: for some tens of ms after creation a partition's
    // leader answers "not leader" to a produce. An idempotent producer's first batch refused that
    // way is then "implicitly acknowledged" by librdkafka 2.0 when the next batch succeeds, and
    // Kafka before 4.5 accepts that next batch's sequence on a partition it has no producer
    // state for (KAFKA-15591), so the first records are reported delivered and never written
    // (docs/topics.md, "A partition's first batch"). Return only when every partition's leader
    // answers a ListOffsets, which it does once the partition exists on it. Only for a topic
    // this call created: an existing one was written before, and one of its partitions being
    // offline must not stop a service from starting.
    for (int32_t p = 0; created.count(t.name) != 0 && p < t.partitions; ++p) {
      int64_t low = 0, high = 0;
      rd_kafka_resp_err_t e;
      while ((e = rd_kafka_query_watermark_offsets(rk_, t.name.c_str(), p, &low, &high,
                                                   static_cast<int>(remaining().count()))) !=
             RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (std::chrono::steady_clock::now() >= deadline) {
          throw KafkaError(cpp(e), "kafka topic " + t.name + " partition " + std::to_string(p) +
                                       " has no leader answering: " + rd_kafka_err2str(e));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
  }
}

void Admin::deleteTopics(const std::vector<std::string>& names, std::chrono::milliseconds timeout) {
  if (names.empty()) return;
  std::vector<rd_kafka_DeleteTopic_t*> specs;
  for (const auto& n : names) specs.push_back(rd_kafka_DeleteTopic_new(n.c_str()));
  Queue q(rd_kafka_queue_new(rk_));
  Options opts = makeOptions(rk_, RD_KAFKA_ADMIN_OP_DELETETOPICS, timeout);
  rd_kafka_DeleteTopics(rk_, specs.data(), specs.size(), opts.get(), q.get());
  rd_kafka_DeleteTopic_destroy_array(specs.data(), specs.size());
  Event ev = awaitResult(q.get(), timeout, "kafka delete topics");
  size_t n = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev.get()), &n);
  for (size_t i = 0; i < n; ++i) {
    auto e = rd_kafka_topic_result_error(results[i]);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) continue;
    throw KafkaError(cpp(e), std::string("kafka delete topic ") + rd_kafka_topic_result_name(results[i]));
  }
}

int32_t Admin::partitionCount(const std::string& topic, std::chrono::milliseconds timeout) {
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk_, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  auto err = rd_kafka_metadata(rk_, 0, t, &md, static_cast<int>(timeout.count()));
  rd_kafka_topic_destroy(t);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) throw KafkaError(cpp(err), "kafka metadata " + topic);
  int32_t count = -1;
  if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    count = md->topics[0].partition_cnt;
  }
  rd_kafka_metadata_destroy(md);
  return count;
}

std::string Admin::topicConfig(const std::string& topic, const std::string& key,
                               std::chrono::milliseconds timeout) {
  rd_kafka_ConfigResource_t* res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
  Queue q(rd_kafka_queue_new(rk_));
  Options opts = makeOptions(rk_, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout);
  rd_kafka_DescribeConfigs(rk_, &res, 1, opts.get(), q.get());
  rd_kafka_ConfigResource_destroy(res);
  Event ev = awaitResult(q.get(), timeout, "kafka describe configs " + topic);
  size_t n = 0;
  const rd_kafka_ConfigResource_t** resources =
      rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev.get()), &n);
  for (size_t i = 0; i < n; ++i) {
    if (auto e = rd_kafka_ConfigResource_error(resources[i]); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      throw KafkaError(cpp(e), "kafka describe configs " + topic);
    }
    size_t cn = 0;
    const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(resources[i], &cn);
    for (size_t j = 0; j < cn; ++j) {
      if (key == rd_kafka_ConfigEntry_name(entries[j])) {
        const char* v = rd_kafka_ConfigEntry_value(entries[j]);
        return v ? v : "";
      }
    }
  }
  return {};
}

}  // namespace tickstream::kafka
