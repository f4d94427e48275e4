#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "tickstream/order/v1/order.pb.h"

// The order lifecycle as an explicit transition table over the proto's OrderStatus
// (docs/order.md, "State machine"). Pure: no clock, no I/O, no allocation; the service applies
// a transition only when transition() returns a status, and logs the refusal otherwise.
namespace tickstream::order {

using Status = v1::OrderStatus;

// What happens to an order. The service maps each input (its own decisions, venue reports,
// client requests, the clock) to exactly one trigger.
enum class Trigger : std::uint8_t {
  Accept,          // validation and pre-trade risk passed
  Reject,          // validation or pre-trade risk refused it (order service's own decision)
  CancelRequest,   // the client asked to cancel
  ReplaceRequest,  // the client asked to replace (quantity and/or price)
  VenueAck,        // the venue acknowledged the new order (or the replacement order)
  VenueReject,     // the venue refused the new order, or it provably never reached the venue
  PartialFill,     // an execution that leaves quantity open
  FullFill,        // an execution that completes the order
  CancelAck,       // the venue reports the order canceled: our request, or its own (IOC/FOK rest)
  CancelReject,    // the venue refused our cancel (too late, unknown)
  ReplaceAck,      // the venue confirmed our replace: this (original) order is superseded
  ReplaceReject,   // the venue refused our replace
  Expire,          // the time in force ended (DAY orders at the close)
};
inline constexpr int kTriggerCount = static_cast<int>(Trigger::Expire) + 1;

// Whether the order has any filled quantity before the trigger. Needed where the table goes
// back to "the working status" (ROUTED when nothing filled, PARTIALLY_FILLED otherwise), which
// the status alone does not tell for PENDING_CANCEL / PENDING_REPLACE / ACCEPTED.
enum class Fills : std::uint8_t { None, Some };

// The status after `trigger`, or nothing when the transition is illegal (refuse it, log it,
// change nothing). Statuses outside the proto's 1..11 (UNSPECIFIED, unknown numbers) refuse
// everything.
[[nodiscard]] std::optional<Status> transition(Status from, Trigger trigger, Fills fills) noexcept;

// FILLED, CANCELED, REPLACED, REJECTED, EXPIRED: nothing ever leaves them.
[[nodiscard]] bool isTerminal(Status status) noexcept;

// Stable lower-case name for logs and metric labels: "accept", "venue_ack", "partial_fill", ...
[[nodiscard]] std::string_view triggerName(Trigger trigger) noexcept;

}  // namespace tickstream::order
