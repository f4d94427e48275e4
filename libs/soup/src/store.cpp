#include "tickstream/soup/store.h"

#include <algorithm>

#include "tickstream/itch/soup.h"

namespace tickstream::soup {

uint64_t SoupStore::append(std::span<const uint8_t> payload) {
  const std::size_t size = itch::soup::kHeaderSize + payload.size();
  if (payload.size() + 1 > 0xffff) {
    return 0;
  }
  std::lock_guard lock(mu_);
  if (kChunkSize - chunk_used_ < size) {
    chunks_.push_back(std::make_unique_for_overwrite<uint8_t[]>(kChunkSize));
    chunk_used_ = 0;
  }
  uint8_t* p = chunks_.back().get() + chunk_used_;
  // Cannot fail: the size was checked above and the chunk has room.
  (void)itch::soup::encodePacket(itch::soup::PacketType::SequencedData, payload,
                                 std::span<uint8_t>(p, size));
  chunk_used_ += size;
  index_.push_back({p, size});
  cum_bytes_.push_back((cum_bytes_.empty() ? 0 : cum_bytes_.back()) + size);
  return index_.size();
}

uint64_t SoupStore::last() const {
  std::lock_guard lock(mu_);
  return index_.size();
}

std::size_t SoupStore::read(uint64_t from, std::size_t max_bytes, std::size_t max_packets,
                            std::vector<StoredPacket>& out) const {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  std::size_t bytes = 0;
  for (uint64_t seq = std::max<uint64_t>(from, 1); seq <= index_.size() && n < max_packets;
       ++seq) {
    const StoredPacket& p = index_[seq - 1];
    if (n > 0 && bytes + p.size > max_bytes) {
      break;
    }
    out.push_back(p);
    bytes += p.size;
    ++n;
  }
  return n;
}

uint64_t SoupStore::bytesThrough(uint64_t seq) const {
  std::lock_guard lock(mu_);
  seq = std::min<uint64_t>(seq, index_.size());
  return seq == 0 ? 0 : cum_bytes_[seq - 1];
}

} // namespace tickstream::soup
