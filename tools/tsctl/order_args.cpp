#include "order_args.h"

#include <array>
#include <cctype>
#include <cstdio>
#include <limits>
#include <random>
#include <stdexcept>
#include <utility>

namespace tickstream::tsctl {

namespace ov1 = tickstream::order::v1;

int64_t parsePrice(std::string_view text) {
  const std::string shown(text);
  const auto dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  auto digits = [](std::string_view s) {
    for (char c : s) {
      if (c < '0' || c > '9') return false;
    }
    return true;
  };
  if (whole.empty() || !digits(whole) || !digits(frac) || (dot != std::string_view::npos && frac.empty())) {
    throw std::invalid_argument("\"" + shown + "\" is not a price (digits with up to 4 decimals, e.g. 123.45)");
  }
  if (frac.size() > 4) {
    throw std::invalid_argument("\"" + shown + "\" has more than 4 decimals (prices are in 1/10000)");
  }
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t value = 0;
  for (char c : whole) {
    if (value > (kMax - (c - '0')) / 10) throw std::invalid_argument("\"" + shown + "\" is too large");
    value = value * 10 + (c - '0');
  }
  int64_t fraction = 0;
  for (std::size_t i = 0; i < 4; ++i) fraction = fraction * 10 + (i < frac.size() ? frac[i] - '0' : 0);
  if (value > (kMax - fraction) / 10000) throw std::invalid_argument("\"" + shown + "\" is too large");
  return value * 10000 + fraction;
}

namespace {

template <class E, std::size_t N>
E lookup(std::string_view name, const std::array<std::pair<std::string_view, E>, N>& table, const char* what) {
  for (const auto& [n, e] : table) {
    if (n == name) return e;
  }
  std::string allowed;
  for (const auto& entry : table) allowed += (allowed.empty() ? "" : "|") + std::string(entry.first);
  throw std::invalid_argument(std::string(what) + " must be " + allowed + ", got \"" + std::string(name) + "\"");
}

}  // namespace

ov1::Side parseSide(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, ov1::Side>, 2> kTable{
      {{"buy", ov1::SIDE_BUY}, {"sell", ov1::SIDE_SELL}}};
  return lookup(name, kTable, "--side");
}

ov1::OrderType parseOrderType(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, ov1::OrderType>, 2> kTable{
      {{"limit", ov1::ORDER_TYPE_LIMIT}, {"market", ov1::ORDER_TYPE_MARKET}}};
  return lookup(name, kTable, "--type");
}

ov1::TimeInForce parseTimeInForce(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, ov1::TimeInForce>, 4> kTable{
      {{"day", ov1::TIME_IN_FORCE_DAY},
       {"gtc", ov1::TIME_IN_FORCE_GTC},
       {"ioc", ov1::TIME_IN_FORCE_IOC},
       {"fok", ov1::TIME_IN_FORCE_FOK}}};
  return lookup(name, kTable, "--tif");
}

ov1::OrderStatus parseStatus(std::string_view name) {
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  constexpr std::string_view kPrefix = "ORDER_STATUS_";
  if (!upper.starts_with(kPrefix)) upper.insert(0, kPrefix);
  ov1::OrderStatus status = ov1::ORDER_STATUS_UNSPECIFIED;
  if (!ov1::OrderStatus_Parse(upper, &status) || status == ov1::ORDER_STATUS_UNSPECIFIED) {
    throw std::invalid_argument("--status: unknown status \"" + std::string(name) +
                                "\" (new, accepted, routed, partially_filled, filled, pending_cancel, "
                                "canceled, pending_replace, replaced, rejected, expired)");
  }
  return status;
}

std::string newClientOrderId() {
  std::random_device rd;
  std::mt19937_64 rng((uint64_t{rd()} << 32) ^ rd());
  uint64_t hi = rng(), lo = rng();
  hi = (hi & ~uint64_t{0xF000}) | 0x4000;                           // version 4
  lo = (lo & ~(uint64_t{0xC} << 60)) | (uint64_t{0x8} << 60);       // variant 10xx
  char out[40];
  std::snprintf(out, sizeof out, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF),
                static_cast<unsigned>(lo >> 48), static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFull));
  return out;
}

}  // namespace tickstream::tsctl
