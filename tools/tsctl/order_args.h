#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tickstream/order/v1/order.pb.h"

// The text forms `tsctl order` reads (prices, enum names) and the ids it makes; apart from the
// gRPC calls so the unit test covers them without a server.
namespace tickstream::tsctl {

// "123.45" -> 1234500: a decimal price as fixed-point 1/10000. Digits with an optional '.' and
// 1..4 decimals; no sign, exponent or spaces. Throws std::invalid_argument saying what is wrong
// (more than 4 decimals, not a number, too large for int64).
int64_t parsePrice(std::string_view text);

// buy|sell, limit|market, day|gtc|ioc|fok: the names `tsctl order submit` accepts.
order::v1::Side parseSide(std::string_view name);
order::v1::OrderType parseOrderType(std::string_view name);
order::v1::TimeInForce parseTimeInForce(std::string_view name);

// "accepted", "PARTIALLY_FILLED" or "ORDER_STATUS_FILLED" (any case) -> the status. Throws
// std::invalid_argument for anything else, UNSPECIFIED included.
order::v1::OrderStatus parseStatus(std::string_view name);

// A random UUID (version 4) as 36 characters: a client_order_id that will not repeat.
std::string newClientOrderId();

}  // namespace tickstream::tsctl
