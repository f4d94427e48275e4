#include "outbox_dedupe.h"

#include <map>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "tickstream/kafka/admin.h"
#include "tickstream/kafka/consumer.h"
#include "tickstream/kafka/read_to_end.h"

namespace tickstream::order {

std::vector<std::int64_t> publishedOutboxRows(pqxx::connection& conn, const std::string& brokers,
                                              std::chrono::milliseconds margin) {
  std::map<std::string, std::int64_t> oldest_ms;  // topic → oldest row's created_at
  {
    pqxx::nontransaction tx(conn);
    for (const auto& row : tx.exec("SELECT topic, (extract(epoch FROM min(created_at)) * 1000)::bigint "
                                   "FROM outbox GROUP BY topic")) {
      oldest_ms.emplace(row[0].as<std::string>(), row[1].as<std::int64_t>());
    }
  }
  if (oldest_ms.empty()) return {};

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

  std::vector<std::int64_t> published;
  pqxx::nontransaction tx(conn);
  for (const auto& row : tx.exec("SELECT id, topic, payload FROM outbox ORDER BY id")) {
    const auto it = in_kafka.find(row[1].as<std::string>());
    if (it != in_kafka.end() && it->second.count(pqxx::binarystring(row[2]).str()) != 0) {
      published.push_back(row[0].as<std::int64_t>());
    }
  }
  return published;
}

}  // namespace tickstream::order
