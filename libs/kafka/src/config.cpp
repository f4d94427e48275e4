#include "tickstream/kafka/config.h"

#include "tickstream/kafka/errors.h"

namespace tickstream::kafka {

std::unique_ptr<RdKafka::Conf> makeConf(const Properties& props) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  for (const auto& [key, value] : props) {
    if (conf->set(key, value, err) != RdKafka::Conf::CONF_OK) {
      throw KafkaError(RdKafka::ERR__INVALID_ARG,
                       "kafka property " + key + "=" + value + " rejected (" + err + ")");
    }
  }
  return conf;
}

}  // namespace tickstream::kafka
