#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>

// NASDAQ TotalView-ITCH 5.0 messages as plain structs. Every message starts with the same
// 11-byte header on the wire: type (1), stock locate (2), tracking number (2), timestamp (6, ns
// since midnight). Integers are big-endian on the wire and host-order here. Prices are
// fixed-point integers: Price(4) is a uint32 with 4 implied decimals (1234500 = $123.4500),
// Price(8) (MWCB levels only) a uint64 with 8. Alpha fields keep their wire form: left-justified,
// right-padded with spaces (use symbol()/trimRight() to read them, makeSymbol()/padRight() to
// build them). Each struct carries its type byte (kType) and exact wire length (kLength).
namespace tickstream::itch {

using Symbol = std::array<char, 8>;
using Mpid = std::array<char, 4>;

// 4.1 System Event. event_code: O S Q M E C.
struct SystemEvent {
  static constexpr char kType = 'S';
  static constexpr std::size_t kLength = 12;
  uint16_t stock_locate = 0;
  uint16_t tracking = 0;
  uint64_t timestamp_ns = 0;
  char event_code = 'O';
  bool operator==(const SystemEvent&) const = default;
};

// 4.2.1 Stock Directory.
struct StockDirectory {
  static constexpr char kType = 'R';
  static constexpr std::size_t kLength = 39;
  uint16_t stock_locate = 0;
  uint16_t tracking = 0;
  uint64_t timestamp_ns = 0;
  Symbol stock{' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
  char market_category = ' ';            // Q G S N A P Z V or ' '
  char financial_status = ' ';           // D E Q S G H J K C N or ' '
  uint32_t round_lot_size = 100;
  char round_lots_only = 'N';            // Y N
  char issue_classification = 'C';       // printable; the code list grows, so not enumerated
  std::array<char, 2> issue_sub_type{'Z', ' '}; // printable, likewise
  char authenticity = 'P';               // P T
  char short_sale_threshold = ' ';       // Y N ' '
  char ipo_flag = ' ';                   // Y N ' '
  char luld_reference_price_tier = ' ';  // 1 2 ' '
  char etp_flag = ' ';                   // Y N ' '
  uint32_t etp_leverage_factor = 0;
  char inverse_indicator = 'N';          // Y N
  bool operator==(const StockDirectory&) const = default;
};

// 4.2.2 Stock Trading Action. trading_state: H P Q T.
struct StockTradingAction {
  static constexpr char kType = 'H';
  static constexpr std::size_t kLength = 25;
  uint16_t stock_locate = 0;
  uint16_t tracking = 0;
  uint64_t timestamp_ns = 0;
  Symbol stock{' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
  char trading_state = 'T';
  char reserved = ' ';
  std::array<char, 4> reason{' ', ' ', ' ', ' '};
  bool operator==(const StockTradingAction&) const = default;
};

// 4.2.3 Reg SHO Short Sale Price Test Restricted Indicator. reg_sho_action: 0 1 2.
struct RegSho {
  static constexpr char kType = 'Y';
  static constexpr std::size_t kLength = 20;
  uint16_t stock_locate = 0;
  uint16_t tracking = 0;
  uint64_t timestamp_ns = 0;
  Symbol stock{' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
  char reg_sho_action = '0';
  bool operator==(const RegSho&) const = default;
};

// 4.2.4 Market Participant Position.
struct MarketParticipantPosition {
  static constexpr char kType = 'L';
  static constexpr std::size_t kLength = 26;
  uint16_t stock_locate = 0;
  uint16_t tracking = 0;
  uint64_t timestamp_ns = 0;
  Mpid mpid{' ', ' ', ' ', ' '};
  Symbol stock{' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
  char primary_market_maker = 'N';     // Y N
  char market_maker_mode = 'N';        // N P S R L
  char market_participant_state = 'A'; // A E W S D
  bool operator==(const MarketParticipantPosition&) const = default;
};

// 4.2.5.1 MWCB Decline Level. Levels are Price(8).
struct MwcbDeclineLevel {
  static constexpr char kType = 'V';
  static constexpr std::size_t kLength = 35;
  uint16_t stock_locate = 0;
  uint16_t tracking = 0;
  uint64_t timestamp_ns = 0;
  uint64_t level1 = 0;
  uint64_t level2 = 0;
  uint64_t level3 = 0;
  bool operator==(const MwcbDeclineLevel&) const = default;
};

// 4.2.5.2 MWCB Status. breached_level: 1 2 3.
struct MwcbStatus {
  static constexpr char kType = 'W';
  static constexpr std::size_t kLength = 12;
  uint16_t stock_locate = 0;
  uint16_t tracking = 0;
  uint64_t timestamp_ns = 0;
  char breached_level = '1';
  bool operator==(const MwcbStatus&) const = default;
};

// 4.2.6 IPO Quoting Period Update. release_time is seconds since midnight.
struct IpoQuotingPeriodUpdate {
  static constexpr char kType = 'K';
  static constexpr std::size_t kLength = 28;
  uint16_t stock_locate = 0;
  uint16_t tracking = 0;
  uint64_t timestamp_ns = 0;
  Symbol stock{' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
  uint32_t release_time_s = 0;
  char release_qualifier = 'A'; // A C
  uint32_t ipo_price = 0;       // Price(4)
  bool operator==(const IpoQuotingPeriodUpdate&) const = default;
};

// 4.2.7 LULD Auction Collar. Prices are Price(4).
struct LuldAuctionCollar {
  static constexpr char kType = 'J';
  static constexpr std::size_t kLength = 35;
  uint16_t stock_locate = 0;
  uint16_t tracking = 0;
  uint64_t timestamp_ns = 0;
  Symbol stock{' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
  uint32_t reference_price = 0;
  uint32_t upper_price = 0;
  uint32_t lower_price = 0;
  uint32_t extension = 0;
  bool operator==(const LuldAuctionCollar&) const = default;
};

// 4.2.8 Operational Halt. market_code: Q B X; action: H T.
struct OperationalHalt {
  static constexpr char kType = 'h';
  static constexpr std::size_t kLength = 21;
  uint16_t stock_locate = 0;
  uint16_t tracking = 0;
  uint64_t timestamp_ns = 0;
  Symbol stock{' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
  char market_code = 'Q';
  char action = 'H';
  bool operator==(const OperationalHalt&) const = default;
};

// 4.3.1 Add Order, no MPID attribution. side: B S.
struct AddOrder {
  static constexpr char kType = 'A';
  static constexpr std::size_t kLength = 36;
  uint16_t stock_locate = 0;
  uint16_t tracking = 0;
  uint64_t timestamp_ns = 0;
  uint64_t order_ref = 0;
  char side = 'B';
  uint32_t shares = 0;
  Symbol stock{' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
  uint32_t price = 0;
  bool operator==(const AddOrder&) const = default;
};

// 4.3.2 Add Order with MPID attribution.
struct AddOrderMpid {
  static constexpr char kType = 'F';
  static constexpr std::size_t kLength = 40;
  uint16_t stock_locate = 0;
  uint16_t tracking = 0;
  uint64_t timestamp_ns = 0;
  uint64_t order_ref = 0;
  char side = 'B';
  uint32_t shares = 0;
  Symbol stock{' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
  uint32_t price = 0;
  Mpid attribution{' ', ' ', ' ', ' '};
  bool operator==(const AddOrderMpid&) const = default;
};

// 4.4.1 Order Executed.
struct OrderExecuted {
  static constexpr char kType = 'E';
  static constexpr std::size_t kLength = 31;
  uint16_t stock_locate = 0;
  uint16_t tracking = 0;
  uint64_t timestamp_ns = 0;
  uint64_t order_ref = 0;
  uint32_t executed_shares = 0;
  uint64_t match_number = 0;
  bool operator==(const OrderExecuted&) const = default;
};

// 4.4.2 Order Executed With Price. printable: Y N.
struct OrderExecutedWithPrice {
  static constexpr char kType = 'C';
  static constexpr std::size_t kLength = 36;
  uint16_t stock_locate = 0;
  uint16_t tracking = 0;
  uint64_t timestamp_ns = 0;
  uint64_t order_ref = 0;
  uint32_t executed_shares = 0;
  uint64_t match_number = 0;
  char printable = 'Y';
  uint32_t execution_price = 0;
  bool operator==(const OrderExecutedWithPrice&) const = default;
};

// 4.4.3 Order Cancel.
struct OrderCancel {
  static constexpr char kType = 'X';
  static constexpr std::size_t kLength = 23;
  uint16_t stock_locate = 0;
  uint16_t tracking = 0;
  uint64_t timestamp_ns = 0;
  uint64_t order_ref = 0;
  uint32_t cancelled_shares = 0;
  bool operator==(const OrderCancel&) const = default;
};

// 4.4.4 Order Delete.
struct OrderDelete {
  static constexpr char kType = 'D';
  static constexpr std::size_t kLength = 19;
  uint16_t stock_locate = 0;
  uint16_t tracking = 0;
  uint64_t timestamp_ns = 0;
  uint64_t order_ref = 0;
  bool operator==(const OrderDelete&) const = default;
};

// 4.4.5 Order Replace.
struct OrderReplace {
  static constexpr char kType = 'U';
  static constexpr std::size_t kLength = 35;
  uint16_t stock_locate = 0;
  uint16_t tracking = 0;
  uint64_t timestamp_ns = 0;
  uint64_t original_order_ref = 0;
  uint64_t new_order_ref = 0;
  uint32_t shares = 0;
  uint32_t price = 0;
  bool operator==(const OrderReplace&) const = default;
};

// 4.5.1 Trade (non-cross). side: B S.
struct Trade {
  static constexpr char kType = 'P';
  static constexpr std::size_t kLength = 44;
  uint16_t stock_locate = 0;
  uint16_t tracking = 0;
  uint64_t timestamp_ns = 0;
  uint64_t order_ref = 0;
  char side = 'B';
  uint32_t shares = 0;
  Symbol stock{' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
  uint32_t price = 0;
  uint64_t match_number = 0;
  bool operator==(const Trade&) const = default;
};

// 4.5.2 Cross Trade. cross_type: O C H I.
struct CrossTrade {
  static constexpr char kType = 'Q';
  static constexpr std::size_t kLength = 40;
  uint16_t stock_locate = 0;
  uint16_t tracking = 0;
  uint64_t timestamp_ns = 0;
  uint64_t shares = 0; // 8 bytes on the wire, unlike every other share count
  Symbol stock{' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
  uint32_t cross_price = 0;
  uint64_t match_number = 0;
  char cross_type = 'O';
  bool operator==(const CrossTrade&) const = default;
};

// 4.5.3 Broken Trade / Order Execution.
struct BrokenTrade {
  static constexpr char kType = 'B';
  static constexpr std::size_t kLength = 19;
  uint16_t stock_locate = 0;
  uint16_t tracking = 0;
  uint64_t timestamp_ns = 0;
  uint64_t match_number = 0;
  bool operator==(const BrokenTrade&) const = default;
};

// 4.6 Net Order Imbalance Indicator (NOII).
struct Noii {
  static constexpr char kType = 'I';
  static constexpr std::size_t kLength = 50;
  uint16_t stock_locate = 0;
  uint16_t tracking = 0;
  uint64_t timestamp_ns = 0;
  uint64_t paired_shares = 0;
  uint64_t imbalance_shares = 0;
  char imbalance_direction = 'N'; // B S N O P
  Symbol stock{' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
  uint32_t far_price = 0;
  uint32_t near_price = 0;
  uint32_t current_reference_price = 0;
  char cross_type = 'O';                 // O C H A
  char price_variation_indicator = ' '; // L 1-9 A B C ' '
  bool operator==(const Noii&) const = default;
};

// 4.7 Retail Price Improvement Indicator (RPII). interest_flag: B S A N.
struct Rpii {
  static constexpr char kType = 'N';
  static constexpr std::size_t kLength = 20;
  uint16_t stock_locate = 0;
  uint16_t tracking = 0;
  uint64_t timestamp_ns = 0;
  Symbol stock{' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
  char interest_flag = 'N';
  bool operator==(const Rpii&) const = default;
};

// 4.8 Direct Listing with Capital Raise Price Discovery. Prices are Price(4).
struct DirectListingCapitalRaise {
  static constexpr char kType = 'O';
  static constexpr std::size_t kLength = 48;
  uint16_t stock_locate = 0;
  uint16_t tracking = 0;
  uint64_t timestamp_ns = 0;
  Symbol stock{' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
  char open_eligibility_status = 'N'; // N Y
  uint32_t minimum_allowable_price = 0;
  uint32_t maximum_allowable_price = 0;
  uint32_t near_execution_price = 0;
  uint64_t near_execution_time_ns = 0;
  uint32_t lower_price_range_collar = 0;
  uint32_t upper_price_range_collar = 0;
  bool operator==(const DirectListingCapitalRaise&) const = default;
};

using Message =
    std::variant<SystemEvent, StockDirectory, StockTradingAction, RegSho,
                 MarketParticipantPosition, MwcbDeclineLevel, MwcbStatus, IpoQuotingPeriodUpdate,
                 LuldAuctionCollar, OperationalHalt, AddOrder, AddOrderMpid, OrderExecuted,
                 OrderExecutedWithPrice, OrderCancel, OrderDelete, OrderReplace, Trade,
                 CrossTrade, BrokenTrade, Noii, Rpii, DirectListingCapitalRaise>;

// The largest message (NOII): an encode buffer of this size fits any message.
inline constexpr std::size_t kMaxMessageLength = 50;
// Timestamps are ns since midnight, so a valid one is below 24h.
inline constexpr uint64_t kNanosPerDay = 86'400'000'000'000ULL;

// The wire length of a message type, or 0 for a byte that is not an ITCH 5.0 type.
[[nodiscard]] std::size_t messageLength(char type) noexcept;
// The type byte of the alternative `m` holds.
[[nodiscard]] char messageType(const Message& m) noexcept;

// `field` without its right space padding. The view points into `field`.
template <std::size_t N>
[[nodiscard]] constexpr std::string_view trimRight(const std::array<char, N>& field) noexcept {
  std::size_t n = N;
  while (n > 0 && field[n - 1] == ' ') {
    --n;
  }
  return {field.data(), n};
}

// `s` left-justified and right-padded with spaces; nullopt if it is longer than N or holds a
// byte outside printable ASCII (an ITCH Alpha field cannot carry it).
template <std::size_t N>
[[nodiscard]] constexpr std::optional<std::array<char, N>> padRight(std::string_view s) noexcept {
  if (s.size() > N) {
    return std::nullopt;
  }
  std::array<char, N> out{};
  out.fill(' ');
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] < 0x20 || s[i] > 0x7e) {
      return std::nullopt;
    }
    out[i] = s[i];
  }
  return out;
}

// "AAPL    " -> "AAPL". The view points into `stock`: keep the array alive.
[[nodiscard]] constexpr std::string_view symbol(const Symbol& stock) noexcept {
  return trimRight(stock);
}

// "AAPL" -> "AAPL    "; nullopt for more than 8 characters or non-printable bytes.
[[nodiscard]] constexpr std::optional<Symbol> makeSymbol(std::string_view s) noexcept {
  return padRight<8>(s);
}

} // namespace tickstream::itch
