#include "tickstream/kafka/config.h"

#include "tickstream/kafka/errors.h"

namespace tickstream::kafka {

std::unique_ptr<RdKafka::Conf> makeConf(const Properties& props) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  // Every request goes out at once. librdkafka leaves Nagle's algorithm on by default, so a small
  // request written while an earlier one on the same connection is not yet acknowledged waits
  // for that ACK: requests queue behind the previous response, and a delayed ACK holds one for
  // up to 40 ms (docs/topics.md, "Client sockets"). `props` may still turn it back on.
  conf->set("socket.nagle.disable", "true", err);
  for (const auto& [key, value] : props) {
    if (conf->set(key, value, err) != RdKafka::Conf::CONF_OK) {
      throw KafkaError(RdKafka::ERR__INVALID_ARG,
                       "kafka property " + key + "=" + value + " rejected (" + err + ")");
    }
  }
  return conf;
}

}  // namespace tickstream::kafka
