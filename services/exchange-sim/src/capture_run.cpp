#include "capture_run.h"

#include <algorithm>
#include <array>
#include <span>

#include "tickstream/itch/capture.h"
#include "tickstream/itch/codec.h"

namespace tickstream::exchange_sim {

namespace {

// `{"locate":..,"symbol":..,"bid":..,"bid_shares":..,"ask":..,"ask_shares":..}` for locates
// 1..n, comma-separated, each preceded by `sep`.
void appendTopOfBook(std::string& out, const MarketSimulator& sim, std::size_t n,
                     const char* sep) {
  char tmp[256];
  for (std::size_t locate = 1; locate <= n; ++locate) {
    const auto l = static_cast<uint16_t>(locate);
    const TopOfBook top = sim.topOfBook(l);
    const std::string sym(sim.symbol(l)); // tickers are [A-Z]: no JSON escaping needed
    std::snprintf(tmp, sizeof tmp,
                  "%s%s{\"locate\":%u,\"symbol\":\"%s\",\"bid\":%u,\"bid_shares\":%llu,"
                  "\"ask\":%u,\"ask_shares\":%llu}",
                  locate == 1 ? "" : ",", sep, unsigned{l}, sym.c_str(), top.bid.price,
                  static_cast<unsigned long long>(top.bid.shares), top.ask.price,
                  static_cast<unsigned long long>(top.ask.shares));
    out += tmp;
  }
}

} // namespace

bool writeCapture(MarketSimulator& sim, uint64_t messages, std::FILE* out) {
  itch::CaptureWriter writer(out);
  itch::Message m;
  std::array<uint8_t, itch::kMaxMessageLength> buf{};
  for (uint64_t i = 0; i < messages; ++i) {
    sim.next(m);
    const std::size_t n = itch::encode(m, buf);
    if (n == 0 || !writer.append(std::span<const uint8_t>(buf.data(), n))) {
      return false;
    }
  }
  return std::fflush(out) == 0;
}

std::string summaryJson(const MarketSimulator& sim, double seconds, std::size_t top_symbols) {
  std::string out;
  char tmp[256];
  const auto rate = seconds > 0 ? static_cast<double>(sim.emitted()) / seconds : 0.0;
  std::snprintf(tmp, sizeof tmp,
                "{\"messages\":%llu,\"symbols\":%u,\"seed\":%llu,\"seconds\":%.3f,"
                "\"msgs_per_s\":%.0f,\"truth_errors\":%llu,\"by_type\":{",
                static_cast<unsigned long long>(sim.emitted()), sim.config().symbols,
                static_cast<unsigned long long>(sim.config().seed), seconds, rate,
                static_cast<unsigned long long>(sim.truthErrors()));
  out += tmp;
  bool first = true;
  for (std::size_t type = 0; type < sim.counts().size(); ++type) {
    if (sim.counts()[type] == 0) {
      continue;
    }
    std::snprintf(tmp, sizeof tmp, "%s\"%c\":%llu", first ? "" : ",", static_cast<char>(type),
                  static_cast<unsigned long long>(sim.counts()[type]));
    out += tmp;
    first = false;
  }
  out += "},\"top_of_book\":[";
  appendTopOfBook(out, sim, std::min<std::size_t>(top_symbols, sim.config().symbols), "");
  out += "]}";
  return out;
}


std::string truthJson(const MarketSimulator& sim) {
  std::string out;
  char tmp[256];
  std::snprintf(tmp, sizeof tmp,
                "{\"messages\":%llu,\"symbols\":%u,\"seed\":%llu,\"truth_errors\":%llu,"
                "\"top_of_book\":[",
                static_cast<unsigned long long>(sim.emitted()), sim.config().symbols,
                static_cast<unsigned long long>(sim.config().seed),
                static_cast<unsigned long long>(sim.truthErrors()));
  out += tmp;
  appendTopOfBook(out, sim, sim.config().symbols, "\n");
  out += "\n]}\n";
  return out;
}

bool writeTruthFile(const MarketSimulator& sim, const std::string& path) {
  const std::string json = truthJson(sim);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    return false;
  }
  const bool written = std::fwrite(json.data(), 1, json.size(), f) == json.size();
  return std::fclose(f) == 0 && written;
}

} // namespace tickstream::exchange_sim
