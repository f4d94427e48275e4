#include "tickstream/kafka/errors.h"

namespace tickstream::kafka {

ErrorClass classify(RdKafka::ErrorCode code) {
  using E = RdKafka::ErrorCode;
  switch (code) {
    // Local conditions that pass: the broker is away, a timeout, our own queue is full.
    case E::ERR__TRANSPORT:
    case E::ERR__ALL_BROKERS_DOWN:
    case E::ERR__TIMED_OUT:
    case E::ERR__QUEUE_FULL:
    case E::ERR__RESOLVE:
    case E::ERR__WAIT_COORD:
    case E::ERR__IN_PROGRESS:
    case E::ERR__PARTITION_EOF:
    case E::ERR__TIMED_OUT_QUEUE:
    case E::ERR__UNKNOWN_PARTITION:  // may appear while a topic is being created
    case E::ERR__UNKNOWN_TOPIC:
    // Broker answers that mean "ask again later".
    case E::ERR_REQUEST_TIMED_OUT:
    case E::ERR_NOT_LEADER_FOR_PARTITION:
    case E::ERR_LEADER_NOT_AVAILABLE:
    case E::ERR_UNKNOWN_TOPIC_OR_PART:
    case E::ERR_NOT_ENOUGH_REPLICAS:
    case E::ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case E::ERR_NETWORK_EXCEPTION:
    case E::ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case E::ERR_COORDINATOR_NOT_AVAILABLE:
    case E::ERR_NOT_COORDINATOR:
    case E::ERR_REBALANCE_IN_PROGRESS:
    case E::ERR_KAFKA_STORAGE_ERROR:
    case E::ERR_FETCH_SESSION_ID_NOT_FOUND:
    case E::ERR_OFFSET_NOT_AVAILABLE:
    case E::ERR_PREFERRED_LEADER_NOT_AVAILABLE:
    case E::ERR_THROTTLING_QUOTA_EXCEEDED:
      return ErrorClass::Retriable;
    default:
      // ERR__MSG_TIMED_OUT is here too: in a delivery report it means librdkafka gave the
      // message up, and producing it again would put it behind newer messages of its key.
      // Everything else (ERR__FATAL, authorization, ERR_MSG_SIZE_TOO_LARGE, invalid
      // configuration, ...) needs a person, not a retry loop.
      return ErrorClass::Fatal;
  }
}

const char* className(ErrorClass c) { return c == ErrorClass::Retriable ? "retriable" : "fatal"; }

}  // namespace tickstream::kafka
