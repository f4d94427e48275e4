#include "tickstream/runtime/exchange_zone.h"

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <optional>
#include <stdexcept>

namespace tickstream::runtime {

namespace {

// glibc reads zones from $TZDIR or /usr/share/zoneinfo and falls back to UTC, without a word,
// for a name it cannot find: check that the file is there first.
void requireZone(const std::string& zone) {
  const char* dir = std::getenv("TZDIR");
  const std::filesystem::path base = dir != nullptr && *dir != '\0' ? dir : "/usr/share/zoneinfo";
  if (zone.empty() || zone.front() == '/' || zone.find("..") != std::string::npos ||
      !std::filesystem::is_regular_file(base / zone)) {
    throw std::invalid_argument("unknown time zone '" + zone + "' (not in " + base.string() +
                                "; install the tzdata package)");
  }
}

// Runs `fn` with TZ set to `zone`, then puts the process's TZ back.
template <typename Fn>
auto inZone(const std::string& zone, Fn fn) {
  requireZone(zone);
  const char* old = std::getenv("TZ");
  const std::optional<std::string> saved = old != nullptr ? std::optional<std::string>(old) : std::nullopt;
  ::setenv("TZ", zone.c_str(), 1);
  ::tzset();
  struct Restore {
    const std::optional<std::string>& saved;
    ~Restore() {
      if (saved) {
        ::setenv("TZ", saved->c_str(), 1);
      } else {
        ::unsetenv("TZ");
      }
      ::tzset();
    }
  } restore{saved};
  return fn();
}

int32_t offsetAtLocalNoon(std::chrono::sys_days date) {
  const std::chrono::year_month_day ymd{date};
  std::tm local{};
  local.tm_year = static_cast<int>(ymd.year()) - 1900;
  local.tm_mon = static_cast<int>(static_cast<unsigned>(ymd.month())) - 1;
  local.tm_mday = static_cast<int>(static_cast<unsigned>(ymd.day()));
  local.tm_hour = 12;
  local.tm_isdst = -1;  // let the zone's rules decide
  const std::time_t utc = std::mktime(&local);
  // Local noon read as if it were UTC, minus the instant it really is.
  const auto as_if_utc = std::chrono::sys_seconds(date) + std::chrono::hours(12);
  return static_cast<int32_t>(as_if_utc.time_since_epoch().count() - static_cast<int64_t>(utc));
}

}  // namespace

ExchangeDay exchangeDayAt(const std::string& zone, std::chrono::system_clock::time_point now) {
  return inZone(zone, [&] {
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm local{};
    ::localtime_r(&t, &local);
    const std::chrono::sys_days date{std::chrono::year{local.tm_year + 1900} /
                                     std::chrono::month{static_cast<unsigned>(local.tm_mon + 1)} /
                                     std::chrono::day{static_cast<unsigned>(local.tm_mday)}};
    return ExchangeDay{date, offsetAtLocalNoon(date)};
  });
}

int32_t utcOffsetOn(const std::string& zone, std::chrono::sys_days date) {
  return inZone(zone, [&] { return offsetAtLocalNoon(date); });
}

std::string todayIn(const std::string& zone) {
  return zone.empty() ? todayUtc() : formatDate(exchangeDayAt(zone, std::chrono::system_clock::now()).date);
}

}  // namespace tickstream::runtime
