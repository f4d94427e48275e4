#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <stdexcept>

#include "tickstream/runtime/exchange_zone.h"

using namespace std::chrono;
using tickstream::runtime::exchangeDayAt;
using tickstream::runtime::formatDate;
using tickstream::runtime::todayIn;
using tickstream::runtime::todayUtc;
using tickstream::runtime::utcOffsetOn;

TEST_CASE("New York's offset follows daylight saving time") {
  CHECK(utcOffsetOn("America/New_York", sys_days{2024y / January / 2}) == -5 * 3600);
  CHECK(utcOffsetOn("America/New_York", sys_days{2024y / July / 1}) == -4 * 3600);
  // The clocks change at 2 a.m. on a Sunday; the Monday after is on the new offset.
  CHECK(utcOffsetOn("America/New_York", sys_days{2024y / March / 11}) == -4 * 3600);
  CHECK(utcOffsetOn("America/New_York", sys_days{2024y / November / 4}) == -5 * 3600);
  CHECK(utcOffsetOn("UTC", sys_days{2024y / July / 1}) == 0);
  CHECK(utcOffsetOn("Asia/Kolkata", sys_days{2024y / July / 1}) == 5 * 3600 + 1800);
}

TEST_CASE("the exchange's date is its local one: New York's evening session is still today") {
  // 2024-01-03 00:30 UTC is 19:30 on 2024-01-02 in New York.
  const auto evening = sys_days{2024y / January / 3} + minutes(30);
  const auto day = exchangeDayAt("America/New_York", evening);
  CHECK(formatDate(day.date) == "2024-01-02");
  CHECK(day.utc_offset_s == -5 * 3600);
  CHECK(formatDate(exchangeDayAt("UTC", evening).date) == "2024-01-03");
}

TEST_CASE("an unknown zone is an error, not UTC, and the process's TZ is left as it was") {
  ::setenv("TZ", "Europe/Berlin", 1);
  CHECK_THROWS_WITH(utcOffsetOn("America/Nowhere", sys_days{2024y / January / 2}),
                    Catch::Contains("unknown time zone 'America/Nowhere'"));
  CHECK_THROWS_AS(utcOffsetOn("../etc/passwd", sys_days{2024y / January / 2}), std::invalid_argument);
  utcOffsetOn("America/New_York", sys_days{2024y / January / 2});
  CHECK(std::string(std::getenv("TZ")) == "Europe/Berlin");
  ::unsetenv("TZ");
}

TEST_CASE("the default trading day is today in the zone, or in UTC without one") {
  CHECK(todayIn("") == todayUtc());
  const auto ny = todayIn("America/New_York");
  CHECK(ny.size() == 10);
  CHECK((ny == todayUtc() || ny == formatDate(floor<days>(
                                              system_clock::now() - hours(24)))));
  CHECK_THROWS_AS(todayIn("Nowhere/Atlantis"), std::invalid_argument);
}
