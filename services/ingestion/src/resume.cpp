#include "resume.h"

#include <algorithm>
#include <map>
#include <stdexcept>

#include "tickstream/kafka/consumer.h"
#include "tickstream/kafka/read_to_end.h"
#include "tickstream/marketdata/v1/raw.pb.h"

namespace tickstream::ingestion {

std::vector<uint64_t> publishedThrough(const std::string& brokers, const std::string& topic,
                                       int32_t partitions, const std::string& session,
                                       std::chrono::sys_days trading_date, int32_t utc_offset_s,
                                       std::chrono::milliseconds timeout) {
  // The exchange-local day of a record: a record of another day (or without an exchange time)
  // does not count, so at worst a message is published twice, never held back.
  const auto dayOf = [utc_offset_s](int64_t exchange_ts_ns) {
    const int64_t local_s = exchange_ts_ns / 1'000'000'000 + utc_offset_s;
    return local_s >= 0 ? local_s / 86'400 : -1;
  };
  const int64_t today = trading_date.time_since_epoch().count();
  kafka::ConsumerConfig cc;
  cc.brokers = brokers;
  cc.client_id = "ingestion-resume";
  kafka::Consumer reader(cc);
  std::map<int32_t, int64_t> starts;
  for (int32_t p = 0; p < partitions; ++p) {
    const auto [low, high] = reader.watermarks(topic, p, timeout);
    if (high > low) {
      starts[p] = high - 1;  // the last record only
    }
  }
  std::vector<uint64_t> through(static_cast<std::size_t>(partitions), 0);
  if (starts.empty()) {
    return through;
  }
  marketdata::v1::RawFeedMessage raw;
  kafka::readToEnd(
      reader, topic, starts,
      [&](const kafka::Message& m) {
        if (!raw.ParseFromArray(m.payload().data(), static_cast<int>(m.payload().size()))) {
          throw std::runtime_error("resume: " + topic + " partition " + std::to_string(m.partition()) +
                                   " offset " + std::to_string(m.offset()) + " is not a RawFeedMessage");
        }
        if (raw.session() == session && raw.exchange_ts_ns() > 0 && dayOf(raw.exchange_ts_ns()) == today &&
            m.partition() >= 0 && m.partition() < partitions) {
          auto& t = through[static_cast<std::size_t>(m.partition())];
          t = std::max<uint64_t>(t, raw.sequence_number());
        }
      },
      timeout);
  return through;
}

} // namespace tickstream::ingestion
