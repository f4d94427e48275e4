#pragma once

#include <array>
#include <vector>

#include "tickstream/itch/messages.h"

// One message of every ITCH 5.0 type, each field set to a distinct, non-default value so a
// swapped or dropped field shows up in a round trip.
namespace tickstream::itch::test {

inline Symbol sym(std::string_view s) { return *makeSymbol(s); }
inline Mpid mpid(std::string_view s) { return *padRight<4>(s); }

inline std::vector<Message> everyMessageType() {
  constexpr uint64_t kT = 34'200'123'456'789ULL; // 09:30:00.123456789
  std::vector<Message> v;
  v.emplace_back(SystemEvent{1, 2, kT, 'Q'});
  {
    StockDirectory m;
    m.stock_locate = 17;
    m.tracking = 3;
    m.timestamp_ns = kT + 1;
    m.stock = sym("AAPL");
    m.market_category = 'Q';
    m.financial_status = 'N';
    m.round_lot_size = 100;
    m.round_lots_only = 'N';
    m.issue_classification = 'C';
    m.issue_sub_type = {'Z', ' '};
    m.authenticity = 'P';
    m.short_sale_threshold = 'N';
    m.ipo_flag = 'Y';
    m.luld_reference_price_tier = '1';
    m.etp_flag = 'Y';
    m.etp_leverage_factor = 3;
    m.inverse_indicator = 'Y';
    v.emplace_back(m);
  }
  v.emplace_back(StockTradingAction{18, 4, kT + 2, sym("MSFT"), 'H', ' ', {'L', 'U', 'D', 'P'}});
  v.emplace_back(RegSho{19, 5, kT + 3, sym("TSLA"), '1'});
  v.emplace_back(MarketParticipantPosition{20, 6, kT + 4, mpid("GSCO"), sym("NVDA"), 'Y', 'P', 'E'});
  v.emplace_back(MwcbDeclineLevel{0, 7, kT + 5, 3'712'345'000'000ULL, 3'456'789'000'000ULL,
                                  3'001'234'567'890ULL});
  v.emplace_back(MwcbStatus{0, 8, kT + 6, '2'});
  v.emplace_back(IpoQuotingPeriodUpdate{21, 9, kT + 7, sym("RDDT"), 41'400, 'C', 340'000});
  v.emplace_back(LuldAuctionCollar{22, 10, kT + 8, sym("GME"), 251'200, 276'300, 226'100, 2});
  v.emplace_back(OperationalHalt{23, 11, kT + 9, sym("AMC"), 'X', 'T'});
  v.emplace_back(AddOrder{24, 12, kT + 10, 0x0102030405060708ULL, 'S', 1'500, sym("SPY"),
                          4'523'100});
  v.emplace_back(AddOrderMpid{25, 13, kT + 11, 987'654'321'012ULL, 'B', 200, sym("QQQ"),
                              3'890'050, mpid("MSCO")});
  v.emplace_back(OrderExecuted{26, 14, kT + 12, 555'555'555ULL, 300, 0xa1b2c3d4e5f60718ULL});
  v.emplace_back(OrderExecutedWithPrice{27, 15, kT + 13, 666'666ULL, 75, 123'456'789ULL, 'N',
                                        1'000'100});
  v.emplace_back(OrderCancel{28, 16, kT + 14, 777'777ULL, 4'294'967'295U});
  v.emplace_back(OrderDelete{29, 17, kT + 15, 888'888'888'888ULL});
  v.emplace_back(OrderReplace{30, 18, kT + 16, 999'999ULL, 1'000'000ULL, 400, 1'234'500});
  v.emplace_back(Trade{31, 19, kT + 17, 0, 'B', 10'000, sym("BRK.A"), 4'123'450'000U,
                       42'424'242ULL});
  v.emplace_back(CrossTrade{32, 20, kT + 18, 12'345'678'901ULL, sym("IBM"), 1'875'000,
                            43'434'343ULL, 'C'});
  v.emplace_back(BrokenTrade{33, 21, kT + 19, 44'444'444ULL});
  v.emplace_back(Noii{34, 22, kT + 20, 1'000'000ULL, 25'000ULL, 'S', sym("ZVZZT"), 100'500,
                      100'400, 100'450, 'A', '7'});
  v.emplace_back(Rpii{35, 23, kT + 21, sym("ZXZZT"), 'A'});
  v.emplace_back(DirectListingCapitalRaise{36, 24, kT + 22, sym("DLCR"), 'Y', 100'000, 150'000,
                                           125'000, kT + 100, 110'000, 140'000});
  return v;
}

} // namespace tickstream::itch::test
