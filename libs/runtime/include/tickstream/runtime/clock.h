#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

// Wall-clock helpers shared by the services. Wall clock (not steady) on purpose: these values
// are compared with exchange timestamps and written into messages other processes read.
namespace tickstream::runtime {

// Nanoseconds since the Unix epoch.
inline int64_t wallClockNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// YYYY-MM-DD.
inline std::string formatDate(std::chrono::sys_days date) {
  const std::chrono::year_month_day ymd{date};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

// Today's date in UTC as YYYY-MM-DD (the default trading day without an exchange time zone).
inline std::string todayUtc() {
  return formatDate(std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now()));
}

}  // namespace tickstream::runtime
