#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <map>
#include <memory>
#include <string>

namespace tickstream::kafka {

// librdkafka properties as a map, applied in one place so a bad one names itself.
using Properties = std::map<std::string, std::string>;

// Builds a global RdKafka::Conf from `props`; throws KafkaError(ERR__INVALID_ARG) naming the
// property and librdkafka's reason when one is unknown or has a bad value.
std::unique_ptr<RdKafka::Conf> makeConf(const Properties& props);

}  // namespace tickstream::kafka
