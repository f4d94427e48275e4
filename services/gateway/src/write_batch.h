#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "protocol.h"

// The one write a connection is building: its replies and its updates' WebSocket frames,
// gathered into one contiguous buffer. The server keeps a single one for every connection of
// its I/O thread (one write is built and sent at a time), so a connection holds no output
// buffers of its own: what the kernel does not take at once is copied into the connection's
// backlog.
//
// Why a copy and not a gathered write over the shared encoded bytes: the kernel copies every
// byte into its socket buffer either way, but it pays ~40 ns of bookkeeping per iovec, and an
// update is four (header, prefix, shared body, suffix). At 10,000 updates/s that bookkeeping
// was 14 % of the shard's core (perf, docs/benchmarks.md); copying the same ~80 bytes here costs
// a few ns. Each update is still encoded once and its bytes shared: only the final gather moved.
namespace tickstream::gateway {

struct WriteBatch {
  // Updates are added until a write holds this much; a reply or one update may exceed it.
  static constexpr std::size_t kSoftLimit = 64 * 1024;

  WriteBatch() {
    // Grows only for a large reply or update near the limit, and stays grown: one per server.
    buf.resize(2 * kSoftLimit);
    latency_start.reserve(1024);
  }
  void clear() noexcept {
    size = 0;
    latency_start.clear();
    messages = 0;
    skipped = 0;
  }
  [[nodiscard]] bool empty() const noexcept { return size == 0; }
  [[nodiscard]] const char* data() const noexcept { return buf.data(); }
  [[nodiscard]] bool roomForUpdate() const noexcept { return size < kSoftLimit; }

  void add(std::string_view bytes) {
    reserve(bytes.size());
    std::memcpy(buf.data() + size, bytes.data(), bytes.size());
    size += bytes.size();
  }
  // One update already encoded as its whole frame (UpdateFrames::frame()).
  void addEncoded(std::string_view frame) {
    add(frame);
    ++messages;
  }
  // One update as the WebSocket data frame a client gets (UpdateFrames::writeFrame), which
  // tells it that it skipped `skipped_before` updates.
  void addUpdate(UpdateFrames& frames, Encoding encoding, ModeMask mask, uint64_t skipped_before) {
    reserve(frames.maxFrameSize(encoding, mask));
    size += frames.writeFrame(encoding, mask, skipped_before, buf.data() + size);
    ++messages;
    skipped += skipped_before;
  }

  std::vector<char> buf;          // [0, size) is the write
  std::size_t size = 0;
  std::vector<int64_t> latency_start;  // per update: where its delivery latency starts
  std::size_t messages = 0;         // WebSocket messages (replies + updates)
  uint64_t skipped = 0;             // updates' skipped_by_conflation, summed

private:
  void reserve(std::size_t more) {
    if (size + more > buf.size()) {
      buf.resize(size + more);
    }
  }
};

} // namespace tickstream::gateway
