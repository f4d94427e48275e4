#include "tickstream/itch/codec.h"

#include <concepts>
#include <type_traits>

namespace tickstream::itch {
namespace {

// One field list per message, walked by a Reader (decode) or a Writer (encode), so the two
// directions cannot disagree about order or width. The lengths they add up to are checked
// against kLength at compile time below.

class Reader {
public:
  explicit Reader(const uint8_t* p) noexcept : p_(p) {}

  void u16(uint16_t& v) noexcept { v = static_cast<uint16_t>(be(2)); }
  void u32(uint32_t& v) noexcept { v = static_cast<uint32_t>(be(4)); }
  void u48(uint64_t& v) noexcept { v = be(6); }
  void u64(uint64_t& v) noexcept { v = be(8); }
  void raw(char& c) noexcept { c = static_cast<char>(*p_++); }

  // A single-character code the spec enumerates.
  template <std::size_t N> void oneOf(char& c, const char (&allowed)[N]) noexcept {
    raw(c);
    bool found = false;
    for (std::size_t i = 0; i + 1 < N; ++i) { // N - 1: skip the literal's NUL
      found = found || c == allowed[i];
    }
    bad_ = bad_ || !found;
  }

  // Alpha: printable ASCII, space padded.
  template <std::size_t N> void alpha(std::array<char, N>& a) noexcept {
    for (auto& c : a) {
      raw(c);
      bad_ = bad_ || c < 0x20 || c > 0x7e;
    }
  }
  void alpha(char& c) noexcept {
    raw(c);
    bad_ = bad_ || c < 0x20 || c > 0x7e;
  }

  void timestamp(uint64_t& v) noexcept {
    u48(v);
    bad_ = bad_ || v >= kNanosPerDay;
  }

  [[nodiscard]] bool bad() const noexcept { return bad_; }

private:
  uint64_t be(int n) noexcept {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) {
      v = (v << 8) | p_[i];
    }
    p_ += n;
    return v;
  }

  const uint8_t* p_;
  bool bad_ = false;
};

class Writer {
public:
  explicit Writer(uint8_t* p) noexcept : p_(p) {}

  void u16(const uint16_t& v) noexcept { be(v, 2); }
  void u32(const uint32_t& v) noexcept { be(v, 4); }
  void u48(const uint64_t& v) noexcept { be(v, 6); }
  void u64(const uint64_t& v) noexcept { be(v, 8); }
  void raw(const char& c) noexcept { *p_++ = static_cast<uint8_t>(c); }
  template <std::size_t N> void oneOf(const char& c, const char (&)[N]) noexcept { raw(c); }
  template <std::size_t N> void alpha(const std::array<char, N>& a) noexcept {
    for (const char c : a) {
      raw(c);
    }
  }
  void alpha(const char& c) noexcept { raw(c); }
  void timestamp(const uint64_t& v) noexcept { u48(v); }

private:
  void be(uint64_t v, int n) noexcept {
    for (int i = n - 1; i >= 0; --i) {
      p_[i] = static_cast<uint8_t>(v & 0xffU);
      v >>= 8;
    }
    p_ += n;
  }

  uint8_t* p_;
};

// Counts bytes, to check each field list against the spec's length at compile time.
class Sizer {
public:
  constexpr void u16(const uint16_t&) noexcept { n_ += 2; }
  constexpr void u32(const uint32_t&) noexcept { n_ += 4; }
  constexpr void u48(const uint64_t&) noexcept { n_ += 6; }
  constexpr void u64(const uint64_t&) noexcept { n_ += 8; }
  constexpr void raw(const char&) noexcept { n_ += 1; }
  template <std::size_t N> constexpr void oneOf(const char&, const char (&)[N]) noexcept {
    n_ += 1;
  }
  template <std::size_t N> constexpr void alpha(const std::array<char, N>&) noexcept { n_ += N; }
  constexpr void alpha(const char&) noexcept { n_ += 1; }
  constexpr void timestamp(const uint64_t&) noexcept { n_ += 6; }
  [[nodiscard]] constexpr std::size_t size() const noexcept { return n_; }

private:
  std::size_t n_ = 1; // the type byte
};

template <class M, class T>
concept Is = std::same_as<std::remove_const_t<M>, T>;

template <class Io, class M> constexpr void header(Io& io, M& m) noexcept {
  io.u16(m.stock_locate);
  io.u16(m.tracking);
  io.timestamp(m.timestamp_ns);
}

template <class Io, Is<SystemEvent> M> constexpr void body(Io& io, M& m) noexcept {
  io.oneOf(m.event_code, "OSQMEC");
}
template <class Io, Is<StockDirectory> M> constexpr void body(Io& io, M& m) noexcept {
  io.alpha(m.stock);
  io.oneOf(m.market_category, "QGSNAPZV ");
  io.oneOf(m.financial_status, "DEQSGHJKCN ");
  io.u32(m.round_lot_size);
  io.oneOf(m.round_lots_only, "YN");
  io.alpha(m.issue_classification);
  io.alpha(m.issue_sub_type);
  io.oneOf(m.authenticity, "PT");
  io.oneOf(m.short_sale_threshold, "YN ");
  io.oneOf(m.ipo_flag, "YN ");
  io.oneOf(m.luld_reference_price_tier, "12 ");
  io.oneOf(m.etp_flag, "YN ");
  io.u32(m.etp_leverage_factor);
  io.oneOf(m.inverse_indicator, "YN");
}
template <class Io, Is<StockTradingAction> M> constexpr void body(Io& io, M& m) noexcept {
  io.alpha(m.stock);
  io.oneOf(m.trading_state, "HPQT");
  io.raw(m.reserved);
  io.alpha(m.reason);
}
template <class Io, Is<RegSho> M> constexpr void body(Io& io, M& m) noexcept {
  io.alpha(m.stock);
  io.oneOf(m.reg_sho_action, "012");
}
template <class Io, Is<MarketParticipantPosition> M> constexpr void body(Io& io, M& m) noexcept {
  io.alpha(m.mpid);
  io.alpha(m.stock);
  io.oneOf(m.primary_market_maker, "YN");
  io.oneOf(m.market_maker_mode, "NPSRL");
  io.oneOf(m.market_participant_state, "AEWSD");
}
template <class Io, Is<MwcbDeclineLevel> M> constexpr void body(Io& io, M& m) noexcept {
  io.u64(m.level1);
  io.u64(m.level2);
  io.u64(m.level3);
}
template <class Io, Is<MwcbStatus> M> constexpr void body(Io& io, M& m) noexcept {
  io.oneOf(m.breached_level, "123");
}
template <class Io, Is<IpoQuotingPeriodUpdate> M> constexpr void body(Io& io, M& m) noexcept {
  io.alpha(m.stock);
  io.u32(m.release_time_s);
  io.oneOf(m.release_qualifier, "AC");
  io.u32(m.ipo_price);
}
template <class Io, Is<LuldAuctionCollar> M> constexpr void body(Io& io, M& m) noexcept {
  io.alpha(m.stock);
  io.u32(m.reference_price);
  io.u32(m.upper_price);
  io.u32(m.lower_price);
  io.u32(m.extension);
}
template <class Io, Is<OperationalHalt> M> constexpr void body(Io& io, M& m) noexcept {
  io.alpha(m.stock);
  io.oneOf(m.market_code, "QBX");
  io.oneOf(m.action, "HT");
}
template <class Io, Is<AddOrder> M> constexpr void body(Io& io, M& m) noexcept {
  io.u64(m.order_ref);
  io.oneOf(m.side, "BS");
  io.u32(m.shares);
  io.alpha(m.stock);
  io.u32(m.price);
}
template <class Io, Is<AddOrderMpid> M> constexpr void body(Io& io, M& m) noexcept {
  io.u64(m.order_ref);
  io.oneOf(m.side, "BS");
  io.u32(m.shares);
  io.alpha(m.stock);
  io.u32(m.price);
  io.alpha(m.attribution);
}
template <class Io, Is<OrderExecuted> M> constexpr void body(Io& io, M& m) noexcept {
  io.u64(m.order_ref);
  io.u32(m.executed_shares);
  io.u64(m.match_number);
}
template <class Io, Is<OrderExecutedWithPrice> M> constexpr void body(Io& io, M& m) noexcept {
  io.u64(m.order_ref);
  io.u32(m.executed_shares);
  io.u64(m.match_number);
  io.oneOf(m.printable, "YN");
  io.u32(m.execution_price);
}
template <class Io, Is<OrderCancel> M> constexpr void body(Io& io, M& m) noexcept {
  io.u64(m.order_ref);
  io.u32(m.cancelled_shares);
}
template <class Io, Is<OrderDelete> M> constexpr void body(Io& io, M& m) noexcept {
  io.u64(m.order_ref);
}
template <class Io, Is<OrderReplace> M> constexpr void body(Io& io, M& m) noexcept {
  io.u64(m.original_order_ref);
  io.u64(m.new_order_ref);
  io.u32(m.shares);
  io.u32(m.price);
}
template <class Io, Is<Trade> M> constexpr void body(Io& io, M& m) noexcept {
  io.u64(m.order_ref);
  io.oneOf(m.side, "BS");
  io.u32(m.shares);
  io.alpha(m.stock);
  io.u32(m.price);
  io.u64(m.match_number);
}
template <class Io, Is<CrossTrade> M> constexpr void body(Io& io, M& m) noexcept {
  io.u64(m.shares);
  io.alpha(m.stock);
  io.u32(m.cross_price);
  io.u64(m.match_number);
  io.oneOf(m.cross_type, "OCHI");
}
template <class Io, Is<BrokenTrade> M> constexpr void body(Io& io, M& m) noexcept {
  io.u64(m.match_number);
}
template <class Io, Is<Noii> M> constexpr void body(Io& io, M& m) noexcept {
  io.u64(m.paired_shares);
  io.u64(m.imbalance_shares);
  io.oneOf(m.imbalance_direction, "BSNOP");
  io.alpha(m.stock);
  io.u32(m.far_price);
  io.u32(m.near_price);
  io.u32(m.current_reference_price);
  io.oneOf(m.cross_type, "OCHA");
  io.oneOf(m.price_variation_indicator, "L123456789ABC ");
}
template <class Io, Is<Rpii> M> constexpr void body(Io& io, M& m) noexcept {
  io.alpha(m.stock);
  io.oneOf(m.interest_flag, "BSAN");
}
template <class Io, Is<DirectListingCapitalRaise> M>
constexpr void body(Io& io, M& m) noexcept {
  io.alpha(m.stock);
  io.oneOf(m.open_eligibility_status, "NY");
  io.u32(m.minimum_allowable_price);
  io.u32(m.maximum_allowable_price);
  io.u32(m.near_execution_price);
  io.u64(m.near_execution_time_ns);
  io.u32(m.lower_price_range_collar);
  io.u32(m.upper_price_range_collar);
}

template <class M> constexpr std::size_t fieldBytes() {
  Sizer s;
  const M m{};
  header(s, m);
  body(s, m);
  return s.size();
}

template <class... Ms> constexpr bool allLengthsMatch(std::variant<Ms...>*) {
  return ((fieldBytes<Ms>() == Ms::kLength) && ...);
}
static_assert(allLengthsMatch(static_cast<Message*>(nullptr)),
              "a field list disagrees with its message's spec length");

template <class M>
DecodeStatus decodeAs(std::span<const uint8_t> bytes, Message& out) noexcept {
  if (bytes.size() < M::kLength) {
    return DecodeStatus::Truncated;
  }
  if (bytes.size() > M::kLength) {
    return DecodeStatus::BadLength;
  }
  M m;
  Reader r(bytes.data() + 1);
  header(r, m);
  body(r, m);
  if (r.bad()) {
    return DecodeStatus::BadField;
  }
  out = m;
  return DecodeStatus::Ok;
}

} // namespace

std::string_view toString(DecodeStatus status) noexcept {
  switch (status) {
  case DecodeStatus::Ok:
    return "ok";
  case DecodeStatus::Truncated:
    return "truncated";
  case DecodeStatus::UnknownType:
    return "unknown type";
  case DecodeStatus::BadLength:
    return "bad length";
  case DecodeStatus::BadField:
    return "bad field";
  }
  return "?";
}

std::size_t messageLength(char type) noexcept {
  switch (type) {
  case SystemEvent::kType: return SystemEvent::kLength;
  case StockDirectory::kType: return StockDirectory::kLength;
  case StockTradingAction::kType: return StockTradingAction::kLength;
  case RegSho::kType: return RegSho::kLength;
  case MarketParticipantPosition::kType: return MarketParticipantPosition::kLength;
  case MwcbDeclineLevel::kType: return MwcbDeclineLevel::kLength;
  case MwcbStatus::kType: return MwcbStatus::kLength;
  case IpoQuotingPeriodUpdate::kType: return IpoQuotingPeriodUpdate::kLength;
  case LuldAuctionCollar::kType: return LuldAuctionCollar::kLength;
  case OperationalHalt::kType: return OperationalHalt::kLength;
  case AddOrder::kType: return AddOrder::kLength;
  case AddOrderMpid::kType: return AddOrderMpid::kLength;
  case OrderExecuted::kType: return OrderExecuted::kLength;
  case OrderExecutedWithPrice::kType: return OrderExecutedWithPrice::kLength;
  case OrderCancel::kType: return OrderCancel::kLength;
  case OrderDelete::kType: return OrderDelete::kLength;
  case OrderReplace::kType: return OrderReplace::kLength;
  case Trade::kType: return Trade::kLength;
  case CrossTrade::kType: return CrossTrade::kLength;
  case BrokenTrade::kType: return BrokenTrade::kLength;
  case Noii::kType: return Noii::kLength;
  case Rpii::kType: return Rpii::kLength;
  case DirectListingCapitalRaise::kType: return DirectListingCapitalRaise::kLength;
  default: return 0;
  }
}

char messageType(const Message& m) noexcept {
  return std::visit([](const auto& v) { return std::remove_cvref_t<decltype(v)>::kType; }, m);
}

DecodeStatus decode(std::span<const uint8_t> bytes, Message& out) noexcept {
  if (bytes.empty()) {
    return DecodeStatus::Truncated;
  }
  // Ordered roughly by frequency in a real session (adds, deletes, executes, cancels, replaces).
  switch (static_cast<char>(bytes[0])) {
  case AddOrder::kType: return decodeAs<AddOrder>(bytes, out);
  case OrderDelete::kType: return decodeAs<OrderDelete>(bytes, out);
  case OrderExecuted::kType: return decodeAs<OrderExecuted>(bytes, out);
  case OrderCancel::kType: return decodeAs<OrderCancel>(bytes, out);
  case OrderReplace::kType: return decodeAs<OrderReplace>(bytes, out);
  case Trade::kType: return decodeAs<Trade>(bytes, out);
  case AddOrderMpid::kType: return decodeAs<AddOrderMpid>(bytes, out);
  case OrderExecutedWithPrice::kType: return decodeAs<OrderExecutedWithPrice>(bytes, out);
  case SystemEvent::kType: return decodeAs<SystemEvent>(bytes, out);
  case StockDirectory::kType: return decodeAs<StockDirectory>(bytes, out);
  case StockTradingAction::kType: return decodeAs<StockTradingAction>(bytes, out);
  case RegSho::kType: return decodeAs<RegSho>(bytes, out);
  case MarketParticipantPosition::kType: return decodeAs<MarketParticipantPosition>(bytes, out);
  case MwcbDeclineLevel::kType: return decodeAs<MwcbDeclineLevel>(bytes, out);
  case MwcbStatus::kType: return decodeAs<MwcbStatus>(bytes, out);
  case IpoQuotingPeriodUpdate::kType: return decodeAs<IpoQuotingPeriodUpdate>(bytes, out);
  case LuldAuctionCollar::kType: return decodeAs<LuldAuctionCollar>(bytes, out);
  case OperationalHalt::kType: return decodeAs<OperationalHalt>(bytes, out);
  case CrossTrade::kType: return decodeAs<CrossTrade>(bytes, out);
  case BrokenTrade::kType: return decodeAs<BrokenTrade>(bytes, out);
  case Noii::kType: return decodeAs<Noii>(bytes, out);
  case Rpii::kType: return decodeAs<Rpii>(bytes, out);
  case DirectListingCapitalRaise::kType: return decodeAs<DirectListingCapitalRaise>(bytes, out);
  default: return DecodeStatus::UnknownType;
  }
}

std::size_t encode(const Message& m, std::span<uint8_t> out) noexcept {
  return std::visit(
      [out](const auto& v) noexcept -> std::size_t {
        using M = std::remove_cvref_t<decltype(v)>;
        if (out.size() < M::kLength) {
          return 0;
        }
        out[0] = static_cast<uint8_t>(M::kType);
        Writer w(out.data() + 1);
        header(w, v);
        body(w, v);
        return M::kLength;
      },
      m);
}

} // namespace tickstream::itch
