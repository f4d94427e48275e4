#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

namespace tickstream::soup {

// One encoded Sequenced Data packet (header included) inside a SoupStore; the bytes stay valid
// and unchanged for the lifetime of the store.
struct StoredPacket {
  const uint8_t* data = nullptr;
  std::size_t size = 0;
};

// The sequenced messages of one session, numbered from 1. Each message is encoded as a
// Sequenced Data packet once, into large chunks that never move, so every client is sent the
// same bytes and appending does not allocate per message. Thread-safe: append from any thread.
// It keeps the whole session (a client may ask to replay from 1), so it only grows.
class SoupStore {
public:
  SoupStore() = default;
  SoupStore(const SoupStore&) = delete;
  SoupStore& operator=(const SoupStore&) = delete;

  // The sequence number given to the message; 0 if the payload is over 65534 bytes.
  uint64_t append(std::span<const uint8_t> payload);
  // The last sequence number (0 while empty).
  [[nodiscard]] uint64_t last() const;
  // Appends packets `from`, `from`+1, ... to `out`, stopping after `max_bytes` (at least one
  // packet if any is available) or `max_packets`; returns how many were added.
  std::size_t read(uint64_t from, std::size_t max_bytes, std::size_t max_packets,
                   std::vector<StoredPacket>& out) const;
  // Packet bytes of messages 1..seq (seq is clamped to last()).
  [[nodiscard]] uint64_t bytesThrough(uint64_t seq) const;

private:
  static constexpr std::size_t kChunkSize = 1 << 20; // > the largest packet (65537 bytes)

  mutable std::mutex mu_;
  std::deque<std::unique_ptr<uint8_t[]>> chunks_;
  std::size_t chunk_used_ = kChunkSize; // forces a first chunk
  std::vector<StoredPacket> index_;     // index_[seq - 1]
  std::vector<uint64_t> cum_bytes_;     // cum_bytes_[seq - 1] = bytes of 1..seq
};

} // namespace tickstream::soup
