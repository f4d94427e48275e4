#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
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

// What becomes of a round's rows once it is known which of their records are in Kafka: a row all
// of whose records are there is deleted; a row with only some there keeps its id and the rest of
// its records, in order (so none is published twice, and nothing moves ahead of what it followed).
struct OutboxSettlement {
  std::vector<std::int64_t> deleted;
  std::vector<std::pair<std::int64_t, std::string>> trimmed;  // id, the records still to publish
  std::size_t done_records = 0;                               // records now gone from the outbox
};

// `row_ids` per row; `records`, `row_of` (its row's index) and `done` per record, rows in order
// and each row's records together.
[[nodiscard]] OutboxSettlement settleOutboxRows(const std::vector<std::int64_t>& row_ids,
                                                const std::vector<OutboxRecord>& records,
                                                const std::vector<std::size_t>& row_of, const std::vector<bool>& done);

}  // namespace tickstream::order
