#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "tickstream/order/v1/order_service.pb.h"

// Idempotent submit (docs/order.md, "Idempotency"): a request is identified by (account,
// client_order_id) and its payload by a fingerprint stored with the order. A retry with the
// same key and fingerprint gets the original order back; the same key with another payload is
// an error. The fingerprint is SHA-256 of a canonical encoding, so it is the same in every
// process, build and machine, and equal fingerprints mean equal payloads.
namespace tickstream::order {

using Fingerprint = std::array<std::uint8_t, 32>;

// Every field of the request (account, client_order_id, symbol, side, type, time_in_force,
// quantity, limit_price), exactly as sent: "aapl" and "AAPL" differ.
[[nodiscard]] Fingerprint submitFingerprint(const v1::SubmitOrderRequest& request);
// account, order_id, client_order_id, quantity, limit_price. A different domain tag from
// submit, so the two kinds can never match each other.
[[nodiscard]] Fingerprint replaceFingerprint(const v1::ReplaceOrderRequest& request);

// 64 lowercase hex digits, for logs.
[[nodiscard]] std::string toHex(const Fingerprint& fingerprint);

enum class Idempotency : std::uint8_t {
  New,        // the key is unused: process the request
  Duplicate,  // the key's stored order came from this payload: return it (duplicate = true)
  Conflict,   // the key was used with another payload: refuse (ALREADY_EXISTS / INVALID_ARGUMENT)
};

// `stored`: the fingerprint kept with the order that holds (account, client_order_id), if any.
[[nodiscard]] Idempotency classify(const std::optional<Fingerprint>& stored, const Fingerprint& incoming) noexcept;

}  // namespace tickstream::order
