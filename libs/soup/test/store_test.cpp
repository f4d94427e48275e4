#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "tickstream/itch/soup.h"
#include "tickstream/soup/store.h"

using namespace tickstream::soup;
namespace wire = tickstream::itch::soup;

namespace {

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

} // namespace

TEST_CASE("store numbers messages from 1 and keeps them as Sequenced Data packets") {
  SoupStore store;
  CHECK(store.last() == 0);
  CHECK(store.append(bytes("one")) == 1);
  CHECK(store.append(bytes("two!")) == 2);
  CHECK(store.last() == 2);
  CHECK(store.bytesThrough(0) == 0);
  CHECK(store.bytesThrough(1) == 6);
  CHECK(store.bytesThrough(2) == 13);
  CHECK(store.bytesThrough(99) == 13);

  std::vector<StoredPacket> out;
  REQUIRE(store.read(2, 1 << 16, 10, out) == 1);
  wire::PacketView view;
  REQUIRE(wire::decodePacket({out[0].data, out[0].size}, view) == wire::SoupStatus::Ok);
  CHECK(view.type == wire::PacketType::SequencedData);
  CHECK(std::string(view.payload.begin(), view.payload.end()) == "two!");
}

TEST_CASE("store reads stop at the byte and packet limits but always return one packet") {
  SoupStore store;
  for (int i = 0; i < 10; ++i) {
    REQUIRE(store.append(bytes("0123456789")) != 0); // 13-byte packets
  }
  std::vector<StoredPacket> out;
  CHECK(store.read(1, 30, 100, out) == 2);
  out.clear();
  CHECK(store.read(1, 1, 100, out) == 1);
  out.clear();
  CHECK(store.read(4, 1 << 16, 3, out) == 3);
  out.clear();
  CHECK(store.read(11, 1 << 16, 3, out) == 0);
}

TEST_CASE("store refuses a payload too long for a SoupBinTCP packet and spans chunk boundaries") {
  SoupStore store;
  const std::string big(65534, 'x');
  for (int i = 0; i < 40; ++i) { // 40 * 64 KiB spans several 1 MiB chunks
    REQUIRE(store.append(bytes(big)) == static_cast<uint64_t>(i + 1));
  }
  CHECK(store.append(bytes(std::string(65535, 'x'))) == 0);
  std::vector<StoredPacket> out;
  REQUIRE(store.read(1, 1 << 30, 100, out) == 40);
  for (const auto& p : out) {
    wire::PacketView view;
    REQUIRE(wire::decodePacket({p.data, p.size}, view) == wire::SoupStatus::Ok);
    CHECK(view.payload.size() == big.size());
  }
}
