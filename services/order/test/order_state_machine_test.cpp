#include <catch2/catch.hpp>

#include <array>
#include <set>
#include <string>

#include "order_state_machine.h"

using tickstream::order::Fills;
using tickstream::order::isTerminal;
using tickstream::order::kTriggerCount;
using tickstream::order::Status;
using tickstream::order::transition;
using tickstream::order::Trigger;
using tickstream::order::triggerName;
namespace v1 = tickstream::order::v1;

namespace {

// The expected outcome of one (status, trigger) cell, written out independently of the
// implementation's rule list: a fixed status, "working" (ROUTED without fills,
// PARTIALLY_FILLED with), or refused.
struct Expect {
  int status;  // proto number; kRefused or kWorking for the two special outcomes
};
constexpr int kRefused = -1;
constexpr int kWorking = -2;
constexpr Expect xx{kRefused};
constexpr Expect WRK{kWorking};
constexpr Expect ACC{v1::ORDER_STATUS_ACCEPTED};
constexpr Expect PFL{v1::ORDER_STATUS_PARTIALLY_FILLED};
constexpr Expect FIL{v1::ORDER_STATUS_FILLED};
constexpr Expect PCX{v1::ORDER_STATUS_PENDING_CANCEL};
constexpr Expect CXD{v1::ORDER_STATUS_CANCELED};
constexpr Expect PRP{v1::ORDER_STATUS_PENDING_REPLACE};
constexpr Expect RPD{v1::ORDER_STATUS_REPLACED};
constexpr Expect REJ{v1::ORDER_STATUS_REJECTED};
constexpr Expect EXP{v1::ORDER_STATUS_EXPIRED};

// Columns in Trigger order.
constexpr std::array<Trigger, 13> kTriggers = {
    Trigger::Accept,      Trigger::Reject,   Trigger::CancelRequest, Trigger::ReplaceRequest, Trigger::VenueAck,
    Trigger::VenueReject, Trigger::PartialFill, Trigger::FullFill,   Trigger::CancelAck,      Trigger::CancelReject,
    Trigger::ReplaceAck,  Trigger::ReplaceReject, Trigger::Expire};
static_assert(kTriggers.size() == kTriggerCount, "a new trigger needs a column in kExpected");

struct Row {
  Status from;
  std::array<Expect, 13> to;
};

// clang-format off
const Row kExpected[] = {
  //                                    accept rej  cxlRq rplRq vAck vRej pFill fFill cxlAk cxlRj rplAk rplRj expire
  {v1::ORDER_STATUS_UNSPECIFIED,      {{xx,  xx,  xx,   xx,   xx,  xx,  xx,   xx,   xx,   xx,   xx,   xx,   xx}}},
  {v1::ORDER_STATUS_NEW,              {{ACC, REJ, CXD,  xx,   xx,  xx,  xx,   xx,   xx,   xx,   xx,   xx,   xx}}},
  {v1::ORDER_STATUS_ACCEPTED,         {{xx,  xx,  PCX,  xx,   WRK, REJ, PFL,  FIL,  CXD,  xx,   xx,   xx,   EXP}}},
  {v1::ORDER_STATUS_ROUTED,           {{xx,  xx,  PCX,  PRP,  xx,  xx,  PFL,  FIL,  CXD,  xx,   xx,   xx,   EXP}}},
  {v1::ORDER_STATUS_PARTIALLY_FILLED, {{xx,  xx,  PCX,  PRP,  xx,  xx,  PFL,  FIL,  CXD,  xx,   xx,   xx,   EXP}}},
  {v1::ORDER_STATUS_FILLED,           {{xx,  xx,  xx,   xx,   xx,  xx,  xx,   xx,   xx,   xx,   xx,   xx,   xx}}},
  {v1::ORDER_STATUS_PENDING_CANCEL,   {{xx,  xx,  xx,   xx,   PCX, REJ, PCX,  FIL,  CXD,  WRK,  xx,   xx,   EXP}}},
  {v1::ORDER_STATUS_CANCELED,         {{xx,  xx,  xx,   xx,   xx,  xx,  xx,   xx,   xx,   xx,   xx,   xx,   xx}}},
  {v1::ORDER_STATUS_PENDING_REPLACE,  {{xx,  xx,  xx,   xx,   xx,  xx,  PRP,  FIL,  CXD,  xx,   RPD,  WRK,  EXP}}},
  {v1::ORDER_STATUS_REPLACED,         {{xx,  xx,  xx,   xx,   xx,  xx,  xx,   xx,   xx,   xx,   xx,   xx,   xx}}},
  {v1::ORDER_STATUS_REJECTED,         {{xx,  xx,  xx,   xx,   xx,  xx,  xx,   xx,   xx,   xx,   xx,   xx,   xx}}},
  {v1::ORDER_STATUS_EXPIRED,          {{xx,  xx,  xx,   xx,   xx,  xx,  xx,   xx,   xx,   xx,   xx,   xx,   xx}}},
  // A number the proto does not define (a newer peer, a corrupt row) is not a status.
  {static_cast<Status>(99),           {{xx,  xx,  xx,   xx,   xx,  xx,  xx,   xx,   xx,   xx,   xx,   xx,   xx}}},
};
// clang-format on

std::string describe(Status from, Trigger trigger, Fills fills) {
  return v1::OrderStatus_Name(from) + " (" + std::to_string(static_cast<int>(from)) + ") on " +
         std::string(triggerName(trigger)) + (fills == Fills::Some ? " with fills" : " without fills");
}

}  // namespace

TEST_CASE("every (status, trigger) pair, with and without fills, matches the written-out table") {
  // Every defined status has a row: a status added to the proto must be added here too.
  std::set<int> covered;
  for (const Row& row : kExpected) covered.insert(static_cast<int>(row.from));
  for (int s = v1::OrderStatus_MIN; s <= v1::OrderStatus_MAX; ++s) {
    if (v1::OrderStatus_IsValid(s)) CHECK(covered.count(s) == 1);
  }

  int legal = 0;
  for (const Row& row : kExpected) {
    for (std::size_t t = 0; t < kTriggers.size(); ++t) {
      for (const Fills fills : {Fills::None, Fills::Some}) {
        const Trigger trigger = kTriggers[t];
        INFO(describe(row.from, trigger, fills));
        const auto got = transition(row.from, trigger, fills);
        const int want = row.to[t].status;
        if (want == kRefused) {
          CHECK_FALSE(got.has_value());
          continue;
        }
        ++legal;
        REQUIRE(got.has_value());
        if (want == kWorking) {
          CHECK(*got == (fills == Fills::Some ? v1::ORDER_STATUS_PARTIALLY_FILLED : v1::ORDER_STATUS_ROUTED));
        } else {
          CHECK(static_cast<int>(*got) == want);
        }
      }
    }
  }
  CHECK(legal == 2 * 35);  // 35 legal cells, each checked with and without fills
}

TEST_CASE("terminal statuses are exactly the ones that refuse every trigger") {
  for (const Row& row : kExpected) {
    if (!v1::OrderStatus_IsValid(row.from) || row.from == v1::ORDER_STATUS_UNSPECIFIED) continue;
    bool refusesAll = true;
    for (const Expect& e : row.to) refusesAll = refusesAll && e.status == kRefused;
    INFO(v1::OrderStatus_Name(row.from));
    CHECK(isTerminal(row.from) == refusesAll);
  }
  CHECK_FALSE(isTerminal(v1::ORDER_STATUS_UNSPECIFIED));
}

TEST_CASE("trigger names are distinct, lower-case words usable as metric labels") {
  std::set<std::string> names;
  for (const Trigger t : kTriggers) {
    const std::string name(triggerName(t));
    INFO(name);
    CHECK(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string::npos);
    CHECK(name != "unknown");
    names.insert(name);
  }
  CHECK(names.size() == kTriggers.size());
  CHECK(triggerName(Trigger::VenueAck) == "venue_ack");
}
