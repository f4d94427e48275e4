#include "outbox_records.h"

#include <limits>
#include <stdexcept>

namespace tickstream::order {
namespace {

void putBigEndian(std::string& out, std::uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

// Reads a big-endian length of `bytes` bytes and the field it announces; false past the end.
bool takeField(std::string_view& in, int bytes, std::string_view& field) {
  if (in.size() < static_cast<std::size_t>(bytes)) return false;
  std::size_t length = 0;
  for (int i = 0; i < bytes; ++i) length = length << 8 | static_cast<unsigned char>(in[i]);
  in.remove_prefix(bytes);
  if (in.size() < length) return false;
  field = in.substr(0, length);
  in.remove_prefix(length);
  return true;
}

}  // namespace

void OutboxRecordsWriter::add(std::string_view topic, std::string_view key, std::string_view payload) {
  constexpr auto kMaxShort = std::numeric_limits<std::uint16_t>::max();
  if (topic.empty() || topic.size() > kMaxShort) throw std::invalid_argument("outbox record: topic must be 1 to 65535 bytes");
  if (key.size() > kMaxShort) throw std::invalid_argument("outbox record: key longer than 65535 bytes");
  if (payload.size() > std::numeric_limits<std::uint32_t>::max()) throw std::invalid_argument("outbox record: payload too long");
  bytes_.reserve(bytes_.size() + 8 + topic.size() + key.size() + payload.size());
  putBigEndian(bytes_, topic.size(), 2);
  bytes_.append(topic);
  putBigEndian(bytes_, key.size(), 2);
  bytes_.append(key);
  putBigEndian(bytes_, payload.size(), 4);
  bytes_.append(payload);
  ++count_;
}

bool decodeOutboxRecords(std::string_view bytes, std::vector<OutboxRecord>& out, std::string& error) {
  const auto before = out.size();
  std::size_t n = 0;
  while (!bytes.empty()) {
    OutboxRecord r;
    const auto offset = std::to_string(n);
    if (!takeField(bytes, 2, r.topic) || !takeField(bytes, 2, r.key) || !takeField(bytes, 4, r.payload)) {
      error = "outbox row truncated in record " + offset;
      out.resize(before);
      return false;
    }
    if (r.topic.empty()) {
      error = "outbox row has an empty topic in record " + offset;
      out.resize(before);
      return false;
    }
    out.push_back(r);
    ++n;
  }
  if (n == 0) {
    error = "outbox row holds no record";
    return false;
  }
  return true;
}

void OutboxBatch::clear() {
  ids.clear();
  bytes.clear();
  records.clear();
  row_of.clear();
}

void OutboxBatch::decode() {
  records.clear();
  row_of.clear();
  for (std::size_t r = 0; r < bytes.size(); ++r) {
    std::string error;
    if (!decodeOutboxRecords(bytes[r], records, error)) {
      throw std::runtime_error("outbox row " + std::to_string(ids[r]) + " cannot be read: " + error);
    }
    row_of.resize(records.size(), r);
  }
}

OutboxSettlement settleOutboxRows(const OutboxBatch& batch, const std::vector<bool>& done) {
  const auto& records = batch.records;
  const auto& row_of = batch.row_of;
  OutboxSettlement s;
  std::size_t i = 0;
  for (std::size_t row = 0; row < batch.ids.size(); ++row) {
    OutboxRecordsWriter rest;
    std::size_t in_row = 0;
    for (; i < records.size() && row_of[i] == row; ++i, ++in_row) {
      if (done[i]) {
        ++s.done_records;
      } else {
        rest.add(records[i].topic, records[i].key, records[i].payload);
      }
    }
    if (rest.empty()) {
      s.deleted.push_back(batch.ids[row]);
    } else if (rest.count() < in_row) {
      s.trimmed.emplace_back(batch.ids[row], rest.bytes());
    }
  }
  return s;
}

}  // namespace tickstream::order
