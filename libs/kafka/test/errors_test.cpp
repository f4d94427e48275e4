#include <catch2/catch.hpp>

#include "tickstream/kafka/errors.h"

using namespace tickstream::kafka;
using E = RdKafka::ErrorCode;

TEST_CASE("transient broker and transport errors are retriable") {
  for (E e : {E::ERR__TRANSPORT, E::ERR__ALL_BROKERS_DOWN, E::ERR__QUEUE_FULL,
              E::ERR_NOT_LEADER_FOR_PARTITION, E::ERR_LEADER_NOT_AVAILABLE, E::ERR_REQUEST_TIMED_OUT,
              E::ERR_NOT_ENOUGH_REPLICAS, E::ERR_COORDINATOR_NOT_AVAILABLE}) {
    INFO(RdKafka::err2str(e));
    CHECK(classify(e) == ErrorClass::Retriable);
  }
}

TEST_CASE("configuration, authorization and size errors are fatal") {
  for (E e : {E::ERR__FATAL, E::ERR__INVALID_ARG, E::ERR_MSG_SIZE_TOO_LARGE,
              E::ERR_TOPIC_AUTHORIZATION_FAILED, E::ERR_CLUSTER_AUTHORIZATION_FAILED,
              E::ERR__AUTHENTICATION, E::ERR_INVALID_CONFIG, E::ERR__MSG_TIMED_OUT}) {
    INFO(RdKafka::err2str(e));
    CHECK(classify(e) == ErrorClass::Fatal);
  }
}

TEST_CASE("KafkaError carries the code, its class and librdkafka's text") {
  KafkaError e(E::ERR_MSG_SIZE_TOO_LARGE, "produce md.raw");
  CHECK(e.code() == E::ERR_MSG_SIZE_TOO_LARGE);
  CHECK(e.errorClass() == ErrorClass::Fatal);
  CHECK_THAT(std::string(e.what()), Catch::StartsWith("produce md.raw: "));
}
