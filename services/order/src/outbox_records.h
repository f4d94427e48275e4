#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// One outbox row per transaction (docs/order.md, "Per-account sequence and the outbox"): the
// Kafka records a transaction announces, in the order they must be published, framed into the
// row's `records` bytea. One row instead of one per record, because each row is inserted, read
// and deleted, with its index entries and WAL records, whatever it carries.
//
// Layout, big-endian (migration 0008 frames the rows it converts the same way, with int2send and
// int4send), repeated once per record:
//   u16 topic length | topic | u16 key length | key | u32 payload length | payload
namespace tickstream::order {

struct OutboxRecord {
  std::string_view topic;
  std::string_view key;      // the Kafka key: the account
  std::string_view payload;  // the serialised protobuf message
};

// Builds a row's `records`. Topics and keys are at most 65,535 bytes; add() throws
// std::invalid_argument beyond that (or an empty topic) rather than write a row the relay cannot read.
class OutboxRecordsWriter {
 public:
  void add(std::string_view topic, std::string_view key, std::string_view payload);
  [[nodiscard]] const std::string& bytes() const noexcept { return bytes_; }
  [[nodiscard]] std::size_t count() const noexcept { return count_; }
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }

 private:
  std::string bytes_;
  std::size_t count_ = 0;
};

// Appends the records of `bytes` to `out`, viewing into `bytes`. On a malformed row (a length
// past the end, an empty topic, no record at all) returns false, leaves `out` as it was and says
// why in `error`.
[[nodiscard]] bool decodeOutboxRecords(std::string_view bytes, std::vector<OutboxRecord>& out, std::string& error);

}  // namespace tickstream::order
