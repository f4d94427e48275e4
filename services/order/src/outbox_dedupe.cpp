#include "outbox_dedupe.h"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "tickstream/kafka/admin.h"
#include "tickstream/kafka/consumer.h"
#include "tickstream/kafka/read_to_end.h"
#include "outbox_records.h"

namespace tickstream::order {

std::vector<std::int64_t> publishedOutboxRows(pqxx::connection& conn, const std::string& brokers,
                                              std::chrono::milliseconds margin) {
  struct Row {
    std::int64_t id;
    std::string bytes;
    std::vector<OutboxRecord> records;  // views into `bytes`
  };
  std::vector<Row> rows;
  std::map<std::string, std::int64_t> oldest_ms;  // topic → created_at of the oldest row naming it
  {
    pqxx::nontransaction tx(conn);
    const auto r = tx.exec("SELECT id, records, (extract(epoch FROM created_at) * 1000)::bigint FROM outbox ORDER BY id");
    rows.reserve(r.size());  // no reallocation: the records view into each row's bytes
    for (const auto& row : r) {
      auto& out = rows.emplace_back(Row{row[0].as<std::int64_t>(), pqxx::binarystring(row[1]).str(), {}});
      std::string error;
      if (!decodeOutboxRecords(out.bytes, out.records, error)) {
        throw std::runtime_error("outbox row " + std::to_string(out.id) + " cannot be read: " + error);
      }
      const auto created_ms = row[2].as<std::int64_t>();
      for (const auto& rec : out.records) {
        const auto [it, fresh] = oldest_ms.emplace(std::string(rec.topic), created_ms);
        if (!fresh) it->second = std::min(it->second, created_ms);
      }
    }
  }
  if (rows.empty()) return {};

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

  // A row counts as published only with every one of its records in Kafka; a row only partly
  // there is published again whole, its other records duplicates the consumers drop.
  std::vector<std::int64_t> published;
  for (const auto& row : rows) {
    const bool all = std::all_of(row.records.begin(), row.records.end(), [&](const OutboxRecord& rec) {
      const auto it = in_kafka.find(std::string(rec.topic));
      return it != in_kafka.end() && it->second.count(std::string(rec.payload)) != 0;
    });
    if (all) published.push_back(row.id);
  }
  return published;
}

}  // namespace tickstream::order
