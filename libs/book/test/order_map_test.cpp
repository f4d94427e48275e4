#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <unordered_map>
#include <vector>

#include "tickstream/book/order_map.h"

using tickstream::book::OrderEntry;
using tickstream::book::OrderMap;
using tickstream::book::OrderRef;
using tickstream::book::Side;

namespace {

OrderEntry entry(OrderRef ref, uint32_t shares) {
  return OrderEntry{ref, 1000, shares, 7, Side::Sell};
}

} // namespace

TEST_CASE("order map finds inserted orders, refuses a live reference and forgets erased ones") {
  OrderMap map(4);
  REQUIRE(map.insert(entry(42, 100)));
  REQUIRE(map.insert(entry(0, 5)));  // reference 0 is an ordinary key: emptiness is shares == 0
  CHECK_FALSE(map.insert(entry(42, 1)));
  REQUIRE(map.size() == 2);
  REQUIRE(map.find(42) != nullptr);
  CHECK(map.find(42)->shares == 100);
  CHECK(map.find(0)->shares == 5);
  CHECK(map.find(43) == nullptr);
  map.erase(map.find(42));
  CHECK(map.find(42) == nullptr);
  CHECK(map.find(0) != nullptr);
  CHECK(map.size() == 1);
  REQUIRE(map.insert(entry(42, 3)));
  CHECK(map.find(42)->shares == 3);
}

TEST_CASE("order map agrees with std::unordered_map through growth and backward-shift erases") {
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    std::mt19937_64 rng(seed);
    OrderMap map(8);  // tiny, so it grows several times and probe runs wrap around
    std::unordered_map<OrderRef, uint32_t> model;
    std::vector<OrderRef> keys;
    OrderRef next = 1;
    for (int step = 0; step < 200000; ++step) {
      const auto dice = rng() % 100;
      if (dice < 50 || keys.empty()) {
        // Mostly sequential references (as ITCH issues them), sometimes arbitrary 64-bit ones.
        const OrderRef ref = dice % 7 == 0 ? rng() : next++;
        const auto shares = static_cast<uint32_t>(1 + rng() % 1000);
        const bool inserted = map.insert(entry(ref, shares));
        const bool expected = model.emplace(ref, shares).second;
        REQUIRE(inserted == expected);
        if (inserted) {
          keys.push_back(ref);
        }
      } else {
        const size_t i = rng() % keys.size();
        const OrderRef ref = keys[i];
        keys[i] = keys.back();
        keys.pop_back();
        OrderEntry* e = map.find(ref);
        REQUIRE(e != nullptr);
        REQUIRE(e->shares == model.at(ref));
        map.erase(e);
        model.erase(ref);
      }
      REQUIRE(map.size() == model.size());
      if (step % 5000 == 0) {
        for (const auto& [ref, shares] : model) {
          const OrderEntry* e = map.find(ref);
          REQUIRE(e != nullptr);
          REQUIRE(e->shares == shares);
        }
        for (OrderRef r = next; r < next + 100; ++r) {
          REQUIRE((map.find(r) == nullptr) == (model.count(r) == 0));
        }
      }
    }
    CHECK(map.capacity() >= 2 * map.size());
  }
}
