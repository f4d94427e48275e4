#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <stdexcept>
#include <string>

namespace tickstream::kafka {

// What a caller should do about a Kafka error.
//  Retriable: the condition is transient (broker down, leader moving, local queue full, a
//             timeout); librdkafka is already retrying or the caller may try again later.
//  Fatal:     retrying cannot help (bad configuration, authorization, a message larger than
//             the broker accepts, the idempotent producer's fatal state): stop and say why.
enum class ErrorClass { Retriable, Fatal };

ErrorClass classify(RdKafka::ErrorCode code);
const char* className(ErrorClass c);

// Thrown by set-up calls (construction, subscribe, topic creation) and by Consumer::commit;
// never by Producer::produce or Consumer::poll, the per-message calls.
class KafkaError : public std::runtime_error {
 public:
  KafkaError(RdKafka::ErrorCode code, const std::string& what)
      : std::runtime_error(what + ": " + RdKafka::err2str(code)), code_(code) {}
  RdKafka::ErrorCode code() const { return code_; }
  ErrorClass errorClass() const { return classify(code_); }

 private:
  RdKafka::ErrorCode code_;
};

}  // namespace tickstream::kafka
