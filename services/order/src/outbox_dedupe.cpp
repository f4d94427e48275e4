#include "outbox_dedupe.h"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <map>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "tickstream/kafka/admin.h"
#include "tickstream/kafka/consumer.h"
#include "tickstream/kafka/read_to_end.h"
#include "outbox_records.h"

namespace tickstream::order {

OutboxSettlement publishedOutboxRecords(pqxx::connection& conn, const std::string& brokers,
                                        std::chrono::milliseconds margin, std::optional<std::int64_t> up_to_id) {
  OutboxBatch batch;
  std::vector<std::int64_t> created_ms;  // per row
  {
    pqxx::nontransaction tx(conn);
    for (const auto& row : tx.exec_params("SELECT id, records, (extract(epoch FROM created_at) * 1000)::bigint "
                                          "FROM outbox WHERE id <= $1 ORDER BY id",
                                          up_to_id.value_or(std::numeric_limits<std::int64_t>::max()))) {
      batch.add(row[0].as<std::int64_t>(), pqxx::binarystring(row[1]).str());
      created_ms.push_back(row[2].as<std::int64_t>());
    }
  }
  if (batch.ids.empty()) return {};
  batch.decode();
  const auto& records = batch.records;
  std::map<std::string, std::int64_t> oldest_ms;  // topic → created_at of the oldest row naming it
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto created = created_ms[batch.row_of[i]];
    const auto [it, fresh] = oldest_ms.emplace(std::string(records[i].topic), created);
    if (!fresh) it->second = std::min(it->second, created);
  }

  std::unordered_map<std::string, std::unordered_set<std::string>> in_kafka;  // topic → payloads
  kafka::ConsumerConfig cc;
  cc.brokers = brokers;
  cc.client_id = "order-outbox-dedupe";
  kafka::Consumer reader(cc);
  kafka::Admin admin(brokers);
  for (const auto& [topic, since_ms] : oldest_ms) {
    // A topic the broker cannot describe cannot be checked, nor published to (producers never
    // create topics): fail, and the relay tries again after its backoff.
    const auto partitions = admin.partitionCount(topic);
    if (partitions <= 0) throw std::runtime_error("outbox topic " + topic + " has no metadata (does it exist?)");
    std::map<int32_t, int64_t> starts;
    for (int32_t p = 0; p < partitions; ++p) {
      starts[p] = reader.offsetForTime(topic, p, since_ms - margin.count(), std::chrono::seconds(10));
    }
    auto& payloads = in_kafka[topic];
    kafka::readToEnd(reader, topic, starts, [&](const kafka::Message& m) { payloads.emplace(m.payload()); },
                     std::chrono::minutes(2));
  }

  std::vector<bool> published(records.size(), false);
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto it = in_kafka.find(std::string(records[i].topic));
    published[i] = it != in_kafka.end() && it->second.count(std::string(records[i].payload)) != 0;
  }
  return settleOutboxRows(batch, published);
}

}  // namespace tickstream::order
