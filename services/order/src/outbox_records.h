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

// Outbox rows read together (a relay round, the start-up check) and their records decoded: the
// one place that turns rows into records, for the relay and its dedupe alike.
struct OutboxBatch {
  std::vector<std::int64_t> ids;       // per row, in id order
  std::vector<std::string> bytes;      // per row: its `records` column
  std::vector<OutboxRecord> records;   // after decode(): every record, rows in order; views into `bytes`
  std::vector<std::size_t> row_of;     // after decode(): per record, the index of its row

  void clear();
  void add(std::int64_t id, std::string row_bytes) {
    ids.push_back(id);
    bytes.push_back(std::move(row_bytes));
  }
  // Decodes every row added (add nothing after it). Throws std::runtime_error naming the first
  // row that cannot be read: only the store writes rows, so that is a bug or damage, and the
  // caller must neither skip the row (its records would be lost) nor go past it (reordered).
  void decode();
};

// What becomes of a round's rows once it is known which of their records are in Kafka: a row all
// of whose records are there is deleted; a row with only some there keeps its id and the rest of
// its records, in order (so none is published twice, and nothing moves ahead of what it followed).
struct OutboxSettlement {
  std::vector<std::int64_t> deleted;
  std::vector<std::pair<std::int64_t, std::string>> trimmed;  // id, the records still to publish
  std::size_t done_records = 0;                               // records now gone from the outbox
};

// `done` per record of the decoded `batch`.
[[nodiscard]] OutboxSettlement settleOutboxRows(const OutboxBatch& batch, const std::vector<bool>& done);

}  // namespace tickstream::order
