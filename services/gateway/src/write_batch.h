#pragma once

#include <sys/uio.h>

#include <array>
#include <cstdint>
#include <vector>

#include "protocol.h"

// The one gathered write a connection is building: iovecs over its replies, its updates'
// WebSocket headers and each update's per-client pieces around the shared encoded body.
// The server keeps a single one for every connection of its I/O thread (one write is built
// and sent at a time), so a connection holds no output buffers of its own: what the kernel
// does not take at once is copied into the connection's backlog.
namespace tickstream::gateway {

struct WriteBatch {
  static constexpr std::size_t kMaxIov = 512;             // per sendmsg (IOV_MAX is 1024)
  static constexpr std::size_t kMaxUpdates = kMaxIov / 4;  // header + 3 pieces each

  WriteBatch() {
    iov.reserve(kMaxIov);
    // Reserved once: iovecs point into these, so they must never reallocate.
    pieces.reserve(kMaxUpdates);
    headers.reserve(kMaxUpdates);
    receive_ts.reserve(kMaxUpdates);
  }
  void clear() noexcept {
    iov.clear();
    pieces.clear();
    headers.clear();
    receive_ts.clear();
    bytes = 0;
    messages = 0;
    skipped = 0;
  }
  void add(const void* data, std::size_t size) {
    if (size > 0) {
      iov.push_back({const_cast<void*>(data), size});
      bytes += size;
    }
  }
  [[nodiscard]] bool roomForUpdate() const noexcept {
    return iov.size() + 4 <= kMaxIov && pieces.size() < kMaxUpdates;
  }

  std::vector<iovec> iov;
  std::vector<Pieces> pieces;                       // per update: the client's prefix/suffix
  std::vector<std::array<uint8_t, 10>> headers;     // per update: its WebSocket frame header
  std::vector<int64_t> receive_ts;                  // per update: for the latency histogram
  std::size_t bytes = 0;
  std::size_t messages = 0;                         // WebSocket messages (replies + updates)
  uint64_t skipped = 0;                             // updates' skipped_by_conflation, summed
};

} // namespace tickstream::gateway
