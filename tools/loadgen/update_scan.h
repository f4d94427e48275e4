#pragma once

// Reads the few fields loadgen needs from a binary ServerMessage holding an Update, without
// building a protobuf message: the hot path of a load generator is one such message per
// ~1 µs, and a full parse (strings, sub-messages, the quote) costs several times the scan.
// Any other ServerMessage (Welcome, Subscribed, Snapshot, Error, ...) is rare and goes through
// the full protobuf parser.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tickstream::loadgen {

struct UpdateFields {
  std::string_view symbol;       // MarketDataUpdate.symbol (points into the frame)
  uint64_t seq = 0;              // MarketDataUpdate.seq
  int64_t receive_ts_ns = 0;     // MarketDataUpdate.receive_ts_ns
  int64_t publish_ts_ns = 0;     // MarketDataUpdate.publish_ts_ns
  uint64_t skipped = 0;          // Update.skipped_by_conflation
};

namespace detail {

inline bool readVarint(const uint8_t*& p, const uint8_t* end, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64 && p < end; shift += 7) {
    const uint8_t b = *p++;
    v |= uint64_t{b & 0x7Fu} << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

// Skips the value of a field with `wire_type`; false on a malformed or unsupported field.
inline bool skipField(const uint8_t*& p, const uint8_t* end, uint32_t wire_type) {
  uint64_t v = 0;
  switch (wire_type) {
    case 0: return readVarint(p, end, v);
    case 1: if (end - p < 8) return false; p += 8; return true;
    case 2:
      if (!readVarint(p, end, v) || v > static_cast<uint64_t>(end - p)) return false;
      p += v;
      return true;
    case 5: if (end - p < 4) return false; p += 4; return true;
    default: return false;  // groups: not used by these messages
  }
}

inline bool scanMarketDataUpdate(const uint8_t* p, const uint8_t* end, UpdateFields& out) {
  while (p < end) {
    uint64_t key = 0;
    if (!readVarint(p, end, key)) return false;
    const auto field = static_cast<uint32_t>(key >> 3);
    const auto wt = static_cast<uint32_t>(key & 7);
    uint64_t v = 0;
    if (field == 1 && wt == 2) {
      if (!readVarint(p, end, v) || v > static_cast<uint64_t>(end - p)) return false;
      out.symbol = std::string_view(reinterpret_cast<const char*>(p), v);
      p += v;
    } else if ((field == 2 || field == 4 || field == 5) && wt == 0) {
      if (!readVarint(p, end, v)) return false;
      if (field == 2) out.seq = v;
      else if (field == 4) out.receive_ts_ns = static_cast<int64_t>(v);
      else out.publish_ts_ns = static_cast<int64_t>(v);
    } else if (!skipField(p, end, wt)) {
      return false;
    }
  }
  return true;
}

}  // namespace detail

enum class ScanResult { Update, NotUpdate, Malformed };

// Scans a binary ServerMessage. Update: `out` holds the update's fields. NotUpdate: some other
// message (parse it fully). Malformed: not valid protobuf for these fields.
inline ScanResult scanServerMessage(const char* data, std::size_t size, UpdateFields& out) {
  const auto* p = reinterpret_cast<const uint8_t*>(data);
  const auto* end = p + size;
  bool found = false;
  out = UpdateFields{};
  while (p < end) {
    uint64_t key = 0;
    if (!detail::readVarint(p, end, key)) return ScanResult::Malformed;
    const auto field = static_cast<uint32_t>(key >> 3);
    const auto wt = static_cast<uint32_t>(key & 7);
    if (field == 6 && wt == 2) {  // ServerMessage.update
      uint64_t len = 0;
      if (!detail::readVarint(p, end, len) || len > static_cast<uint64_t>(end - p)) return ScanResult::Malformed;
      const uint8_t* u = p;
      const uint8_t* uend = p + len;
      p = uend;
      while (u < uend) {
        uint64_t k = 0;
        if (!detail::readVarint(u, uend, k)) return ScanResult::Malformed;
        const auto f = static_cast<uint32_t>(k >> 3);
        const auto w = static_cast<uint32_t>(k & 7);
        uint64_t v = 0;
        if (f == 1 && w == 2) {  // Update.update
          if (!detail::readVarint(u, uend, v) || v > static_cast<uint64_t>(uend - u)) return ScanResult::Malformed;
          if (!detail::scanMarketDataUpdate(u, u + v, out)) return ScanResult::Malformed;
          u += v;
        } else if (f == 2 && w == 0) {  // Update.skipped_by_conflation
          if (!detail::readVarint(u, uend, v)) return ScanResult::Malformed;
          out.skipped = v;
        } else if (!detail::skipField(u, uend, w)) {
          return ScanResult::Malformed;
        }
      }
      found = true;
    } else if (field == 1 && wt == 0) {  // request_id
      uint64_t v = 0;
      if (!detail::readVarint(p, end, v)) return ScanResult::Malformed;
    } else {
      return ScanResult::NotUpdate;  // another body: let the full parser have it
    }
  }
  return found ? ScanResult::Update : ScanResult::NotUpdate;
}

}  // namespace tickstream::loadgen
