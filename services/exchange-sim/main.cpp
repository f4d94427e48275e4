// exchange-sim: a deterministic simulated NASDAQ market written as an ITCH 5.0 capture file.
//   exchange-sim --symbols 1000 --seed 1 --messages 1000000 --capture-out day.itch
// prints one JSON summary line on stdout (docs/exchange-sim.md).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>

#include "capture_run.h"
#include "market.h"
#include "tickstream/runtime/flags.h"
#include "tickstream/runtime/logging.h"

using namespace tickstream;

int main(int argc, char** argv) {
  exchange_sim::MarketConfig config;
  uint64_t messages = 1'000'000;
  std::string capture_out;

  runtime::Flags flags("exchange-sim", "Deterministic simulated market emitting NASDAQ ITCH 5.0");
  flags.add("--symbols", config.symbols, "instruments (stock locate 1..N)")
      ->check(CLI::Range(1, 65535));
  flags.add("--seed", config.seed, "random seed: the same seed gives the same stream");
  flags.add("--messages", messages, "messages to write, preamble included");
  flags.add("--target-orders", config.target_orders, "resting orders per symbol to hover around");
  flags.add("--mean-gap-ns", config.mean_gap_ns, "mean ns between order-flow events");
  flags.add("--burst-events", config.burst_events, "order-flow events in the opening burst");
  flags.add("--burst-speedup", config.burst_speedup, "how much denser the opening burst is");
  flags.add("--halts-per-million", config.halts_per_million, "halts per million events");
  flags.add("--capture-out", capture_out, "capture file to write (length-prefixed ITCH)")
      ->required();
  if (auto code = flags.parse(argc, argv)) {
    return *code;
  }

  try {
    exchange_sim::MarketSimulator sim(config);
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> out(std::fopen(capture_out.c_str(), "wb"),
                                                        &std::fclose);
    if (!out) {
      logging::error("cannot open capture file", {{"path", capture_out}});
      return 1;
    }
    std::setvbuf(out.get(), nullptr, _IOFBF, 1 << 20);
    const auto start = std::chrono::steady_clock::now();
    const bool ok = exchange_sim::writeCapture(sim, messages, out.get());
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    if (!ok || std::fclose(out.release()) != 0) {
      logging::error("writing the capture file failed", {{"path", capture_out}});
      return 1;
    }
    std::printf("%s\n", exchange_sim::summaryJson(sim, took.count()).c_str());
    return sim.truthErrors() == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    logging::error("exchange-sim failed", {{"error", e.what()}});
    return 2;
  }
}
