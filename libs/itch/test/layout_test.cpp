// Byte layouts written out by hand from the offset/length tables of the ITCH 5.0 specification,
// independently of the codec's field lists: decode must read each field from its offset, and
// encode must produce these exact bytes.
#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "tickstream/itch/codec.h"

using namespace tickstream::itch;

namespace {

// Big-endian integer of `len` bytes at `offset`.
void putInt(std::vector<uint8_t>& b, std::size_t offset, std::size_t len, uint64_t v) {
  for (std::size_t i = 0; i < len; ++i) {
    b.at(offset + len - 1 - i) = static_cast<uint8_t>(v >> (8 * i));
  }
}
void putText(std::vector<uint8_t>& b, std::size_t offset, std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    b.at(offset + i) = static_cast<uint8_t>(text[i]);
  }
}

// The common header: type @0 (1), stock locate @1 (2), tracking number @3 (2), timestamp @5 (6).
std::vector<uint8_t> frame(std::size_t length, char type, uint16_t locate, uint16_t tracking,
                           uint64_t ts) {
  std::vector<uint8_t> b(length, 0xcc); // any byte the codec forgets to write shows up
  putText(b, 0, std::string_view(&type, 1));
  putInt(b, 1, 2, locate);
  putInt(b, 3, 2, tracking);
  putInt(b, 5, 6, ts);
  return b;
}

template <class M> M decodeAs(const std::vector<uint8_t>& bytes) {
  Message out;
  REQUIRE(decode(bytes, out) == DecodeStatus::Ok);
  REQUIRE(std::holds_alternative<M>(out));
  return std::get<M>(out);
}

void requireEncodesTo(const Message& m, const std::vector<uint8_t>& expected) {
  std::array<uint8_t, kMaxMessageLength> buf{};
  const std::size_t n = encode(m, buf);
  REQUIRE(n == expected.size());
  CHECK(std::vector<uint8_t>(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n)) ==
        expected);
}

constexpr uint64_t kTs = 0x0000'2F4C'A1B2'C3D4ULL; // 52,025,938,264,020 ns: 14:27:05.938...

} // namespace

TEST_CASE("System Event layout: event code at offset 11, 12 bytes") {
  auto b = frame(12, 'S', 0, 0x0102, kTs);
  putText(b, 11, "O");
  CHECK(b == std::vector<uint8_t>{'S', 0x00, 0x00, 0x01, 0x02, 0x2f, 0x4c, 0xa1, 0xb2, 0xc3,
                                  0xd4, 'O'});
  const auto m = decodeAs<SystemEvent>(b);
  CHECK(m.stock_locate == 0);
  CHECK(m.tracking == 0x0102);
  CHECK(m.timestamp_ns == kTs);
  CHECK(m.event_code == 'O');
  requireEncodesTo(m, b);
}

TEST_CASE("Stock Directory layout: 39 bytes, fields at the spec's offsets") {
  auto b = frame(39, 'R', 0x1234, 7, kTs);
  putText(b, 11, "AAPL    ");   // stock
  putText(b, 19, "Q");          // market category
  putText(b, 20, "N");          // financial status indicator
  putInt(b, 21, 4, 100);        // round lot size
  putText(b, 25, "N");          // round lots only
  putText(b, 26, "C");          // issue classification
  putText(b, 27, "Z ");         // issue sub-type
  putText(b, 29, "P");          // authenticity
  putText(b, 30, "N");          // short sale threshold indicator
  putText(b, 31, "Y");          // IPO flag
  putText(b, 32, "1");          // LULD reference price tier
  putText(b, 33, "Y");          // ETP flag
  putInt(b, 34, 4, 0x00010203); // ETP leverage factor
  putText(b, 38, "N");          // inverse indicator
  const auto m = decodeAs<StockDirectory>(b);
  CHECK(m.stock_locate == 0x1234);
  CHECK(m.tracking == 7);
  CHECK(m.timestamp_ns == kTs);
  CHECK(symbol(m.stock) == "AAPL");
  CHECK(m.market_category == 'Q');
  CHECK(m.financial_status == 'N');
  CHECK(m.round_lot_size == 100);
  CHECK(m.round_lots_only == 'N');
  CHECK(m.issue_classification == 'C');
  CHECK(m.issue_sub_type == std::array<char, 2>{'Z', ' '});
  CHECK(m.authenticity == 'P');
  CHECK(m.short_sale_threshold == 'N');
  CHECK(m.ipo_flag == 'Y');
  CHECK(m.luld_reference_price_tier == '1');
  CHECK(m.etp_flag == 'Y');
  CHECK(m.etp_leverage_factor == 0x00010203U);
  CHECK(m.inverse_indicator == 'N');
  requireEncodesTo(m, b);
}

TEST_CASE("Add Order layout: 36 bytes, order ref @11, side @19, shares @20, stock @24, price @32") {
  auto b = frame(36, 'A', 0x00ff, 0x0a0b, kTs);
  putInt(b, 11, 8, 0x0102030405060708ULL);
  putText(b, 19, "S");
  putInt(b, 20, 4, 0x000186a0); // 100000 shares
  putText(b, 24, "MSFT    ");
  putInt(b, 32, 4, 4'123'456); // $412.3456
  const auto m = decodeAs<AddOrder>(b);
  CHECK(m.stock_locate == 0x00ff);
  CHECK(m.tracking == 0x0a0b);
  CHECK(m.timestamp_ns == kTs);
  CHECK(m.order_ref == 0x0102030405060708ULL);
  CHECK(m.side == 'S');
  CHECK(m.shares == 100'000);
  CHECK(symbol(m.stock) == "MSFT");
  CHECK(m.price == 4'123'456);
  requireEncodesTo(m, b);
}

TEST_CASE("Order Executed layout: 31 bytes, order ref @11, shares @19, match number @23") {
  auto b = frame(31, 'E', 9, 10, kTs);
  putInt(b, 11, 8, 0xfedcba9876543210ULL);
  putInt(b, 19, 4, 0xdeadbeef);
  putInt(b, 23, 8, 0x1122334455667788ULL);
  const auto m = decodeAs<OrderExecuted>(b);
  CHECK(m.stock_locate == 9);
  CHECK(m.tracking == 10);
  CHECK(m.timestamp_ns == kTs);
  CHECK(m.order_ref == 0xfedcba9876543210ULL);
  CHECK(m.executed_shares == 0xdeadbeefU);
  CHECK(m.match_number == 0x1122334455667788ULL);
  requireEncodesTo(m, b);
}

TEST_CASE("Order Replace layout: 35 bytes, original @11, new @19, shares @27, price @31") {
  auto b = frame(35, 'U', 0xffff, 0xffff, kTs);
  putInt(b, 11, 8, 1);
  putInt(b, 19, 8, 0x8000000000000000ULL);
  putInt(b, 27, 4, 250);
  putInt(b, 31, 4, 0xffffffffU); // Price(4) is unsigned: the top bit is not a sign
  const auto m = decodeAs<OrderReplace>(b);
  CHECK(m.stock_locate == 0xffff);
  CHECK(m.tracking == 0xffff);
  CHECK(m.original_order_ref == 1);
  CHECK(m.new_order_ref == 0x8000000000000000ULL);
  CHECK(m.shares == 250);
  CHECK(m.price == 0xffffffffU);
  requireEncodesTo(m, b);
}

TEST_CASE("Trade layout: 44 bytes, order ref @11, side @19, shares @20, stock @24, price @32, "
          "match @36") {
  auto b = frame(44, 'P', 42, 1, kTs);
  putInt(b, 11, 8, 0); // non-displayed orders trade with order reference 0
  putText(b, 19, "B");
  putInt(b, 20, 4, 300);
  putText(b, 24, "BRK.B   ");
  putInt(b, 32, 4, 4'101'200);
  putInt(b, 36, 8, 0x0000000012345678ULL);
  const auto m = decodeAs<Trade>(b);
  CHECK(m.stock_locate == 42);
  CHECK(m.tracking == 1);
  CHECK(m.timestamp_ns == kTs);
  CHECK(m.order_ref == 0);
  CHECK(m.side == 'B');
  CHECK(m.shares == 300);
  CHECK(symbol(m.stock) == "BRK.B");
  CHECK(m.price == 4'101'200);
  CHECK(m.match_number == 0x12345678ULL);
  requireEncodesTo(m, b);
}
