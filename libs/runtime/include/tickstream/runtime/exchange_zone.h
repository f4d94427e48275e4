#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "tickstream/runtime/clock.h"  // formatDate

// An exchange's calendar from its IANA time zone (e.g. "America/New_York"): the local trading
// date and the UTC offset that ITCH's "nanoseconds since midnight" need. A fixed offset flag is
// wrong half of every year where the exchange keeps daylight saving time, and "today in UTC" is
// the next day during New York's evening session, so both come from the zone instead
// (docs/ingestion.md, "Trading day and time zone").
namespace tickstream::runtime {

struct ExchangeDay {
  std::chrono::sys_days date;  // the exchange's local date
  int32_t utc_offset_s = 0;    // local time minus UTC on that date (at local noon)
};

// The exchange's local date at `now`, and its offset on that date. Throws std::invalid_argument
// naming the zone when the time zone database has no such zone (glibc would silently use UTC).
// Start-up only: it sets the process's TZ while it works, and restores it.
ExchangeDay exchangeDayAt(const std::string& zone, std::chrono::system_clock::time_point now);

// The zone's offset on `date` (at local noon: clock changes happen at night, never in a session).
int32_t utcOffsetOn(const std::string& zone, std::chrono::sys_days date);

// Today's date in `zone` as YYYY-MM-DD, or UTC's when `zone` is empty: the services' default
// trading day. Throws as exchangeDayAt.
std::string todayIn(const std::string& zone);

}  // namespace tickstream::runtime
