#include "order_state_machine.h"

#include <array>

namespace tickstream::order {
namespace {

// A cell of the table: refuse, a fixed status, or "the working status" (ROUTED when nothing has
// filled yet, PARTIALLY_FILLED otherwise), used wherever an order goes back to working.
enum class Target : std::uint8_t { Refuse, Fixed, Working };
struct Cell {
  Target target = Target::Refuse;
  Status to = v1::ORDER_STATUS_UNSPECIFIED;
};

constexpr int kStatusSlots = v1::OrderStatus_MAX + 1;  // indexed by the proto number, 0 unused
using Table = std::array<std::array<Cell, kTriggerCount>, kStatusSlots>;

struct Rule {
  Status from;
  Trigger trigger;
  Cell cell;
};
constexpr Cell to(Status s) { return {Target::Fixed, s}; }
constexpr Cell kWorking{Target::Working, v1::ORDER_STATUS_UNSPECIFIED};

using T = Trigger;
constexpr Status NEW = v1::ORDER_STATUS_NEW;
constexpr Status ACCEPTED = v1::ORDER_STATUS_ACCEPTED;
constexpr Status ROUTED = v1::ORDER_STATUS_ROUTED;
constexpr Status PARTIALLY_FILLED = v1::ORDER_STATUS_PARTIALLY_FILLED;
constexpr Status FILLED = v1::ORDER_STATUS_FILLED;
constexpr Status PENDING_CANCEL = v1::ORDER_STATUS_PENDING_CANCEL;
constexpr Status CANCELED = v1::ORDER_STATUS_CANCELED;
constexpr Status PENDING_REPLACE = v1::ORDER_STATUS_PENDING_REPLACE;
constexpr Status REPLACED = v1::ORDER_STATUS_REPLACED;
constexpr Status REJECTED = v1::ORDER_STATUS_REJECTED;
constexpr Status EXPIRED = v1::ORDER_STATUS_EXPIRED;

// Every legal transition; anything not listed is refused. docs/order.md has the same table with
// the reason for each row. Principles: a fill is never refused while the venue may hold the
// order (shares really traded); terminal statuses refuse everything; a request the venue has
// not answered yet (cancel, replace) blocks a second request.
constexpr Rule kRules[] = {
    // Inside the order service: nothing has been sent to a venue, so a cancel needs no venue.
    {NEW, T::Accept, to(ACCEPTED)},
    {NEW, T::Reject, to(REJECTED)},
    {NEW, T::CancelRequest, to(CANCELED)},

    // Sent to the venue, not acknowledged yet. A fill implies the venue took it (its ack may
    // arrive later and is then refused: the fill already carried the venue's order id). A
    // replacement order waits here for the ReplaceAck and may inherit the original's fills.
    {ACCEPTED, T::VenueAck, kWorking},
    {ACCEPTED, T::VenueReject, to(REJECTED)},
    {ACCEPTED, T::PartialFill, to(PARTIALLY_FILLED)},
    {ACCEPTED, T::FullFill, to(FILLED)},
    {ACCEPTED, T::CancelRequest, to(PENDING_CANCEL)},
    {ACCEPTED, T::CancelAck, to(CANCELED)},
    {ACCEPTED, T::Expire, to(EXPIRED)},

    {ROUTED, T::PartialFill, to(PARTIALLY_FILLED)},
    {ROUTED, T::FullFill, to(FILLED)},
    {ROUTED, T::CancelRequest, to(PENDING_CANCEL)},
    {ROUTED, T::ReplaceRequest, to(PENDING_REPLACE)},
    {ROUTED, T::CancelAck, to(CANCELED)},
    {ROUTED, T::Expire, to(EXPIRED)},

    {PARTIALLY_FILLED, T::PartialFill, to(PARTIALLY_FILLED)},
    {PARTIALLY_FILLED, T::FullFill, to(FILLED)},
    {PARTIALLY_FILLED, T::CancelRequest, to(PENDING_CANCEL)},
    {PARTIALLY_FILLED, T::ReplaceRequest, to(PENDING_REPLACE)},
    {PARTIALLY_FILLED, T::CancelAck, to(CANCELED)},
    {PARTIALLY_FILLED, T::Expire, to(EXPIRED)},

    // Cancel sent; fills may still win the race. A cancel requested before the venue's ack
    // still sees that ack (and the venue may still refuse the order itself).
    {PENDING_CANCEL, T::VenueAck, to(PENDING_CANCEL)},
    {PENDING_CANCEL, T::VenueReject, to(REJECTED)},
    {PENDING_CANCEL, T::PartialFill, to(PENDING_CANCEL)},
    {PENDING_CANCEL, T::FullFill, to(FILLED)},
    {PENDING_CANCEL, T::CancelAck, to(CANCELED)},
    {PENDING_CANCEL, T::CancelReject, kWorking},
    {PENDING_CANCEL, T::Expire, to(EXPIRED)},

    // Replace sent; fills may still arrive on the original. Only working (acknowledged) orders
    // get here, so a venue reject of the new order cannot.
    {PENDING_REPLACE, T::PartialFill, to(PENDING_REPLACE)},
    {PENDING_REPLACE, T::FullFill, to(FILLED)},
    {PENDING_REPLACE, T::ReplaceAck, to(REPLACED)},
    {PENDING_REPLACE, T::ReplaceReject, kWorking},
    {PENDING_REPLACE, T::CancelAck, to(CANCELED)},
    {PENDING_REPLACE, T::Expire, to(EXPIRED)},
};

constexpr Table buildTable() {
  Table table{};
  for (const Rule& r : kRules) {
    table[static_cast<std::size_t>(r.from)][static_cast<std::size_t>(r.trigger)] = r.cell;
  }
  return table;
}
constexpr Table kTable = buildTable();

}  // namespace

std::optional<Status> transition(Status from, Trigger trigger, Fills fills) noexcept {
  const int s = static_cast<int>(from);
  const int t = static_cast<int>(trigger);
  if (s <= v1::ORDER_STATUS_UNSPECIFIED || s >= kStatusSlots || t < 0 || t >= kTriggerCount) {
    return std::nullopt;
  }
  const Cell cell = kTable[static_cast<std::size_t>(s)][static_cast<std::size_t>(t)];
  switch (cell.target) {
    case Target::Refuse:
      return std::nullopt;
    case Target::Fixed:
      return cell.to;
    case Target::Working:
      return fills == Fills::Some ? PARTIALLY_FILLED : ROUTED;
  }
  return std::nullopt;
}

bool isTerminal(Status status) noexcept {
  switch (status) {
    case FILLED:
    case CANCELED:
    case REPLACED:
    case REJECTED:
    case EXPIRED:
      return true;
    default:
      return false;
  }
}

std::string_view triggerName(Trigger trigger) noexcept {
  switch (trigger) {
    case T::Accept: return "accept";
    case T::Reject: return "reject";
    case T::CancelRequest: return "cancel_request";
    case T::ReplaceRequest: return "replace_request";
    case T::VenueAck: return "venue_ack";
    case T::VenueReject: return "venue_reject";
    case T::PartialFill: return "partial_fill";
    case T::FullFill: return "full_fill";
    case T::CancelAck: return "cancel_ack";
    case T::CancelReject: return "cancel_reject";
    case T::ReplaceAck: return "replace_ack";
    case T::ReplaceReject: return "replace_reject";
    case T::Expire: return "expire";
  }
  return "unknown";
}

}  // namespace tickstream::order
