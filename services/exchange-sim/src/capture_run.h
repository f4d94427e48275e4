#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "market.h"

// What the exchange-sim CLI does, as functions a test can call: write a number of the
// simulator's messages to a capture file and summarise the run as one JSON line.
namespace tickstream::exchange_sim {

// Appends the next `messages` messages of `sim` to `out` as capture-file records (2-byte length
// prefix, then the ITCH bytes). False if a write failed.
[[nodiscard]] bool writeCapture(MarketSimulator& sim, uint64_t messages, std::FILE* out);

// One JSON object on one line: messages, seed, symbols, the run's duration and rate, messages by
// ITCH type, truth errors, and the truth's top of book (Price(4) integers) of the first
// `top_symbols` locates.
[[nodiscard]] std::string summaryJson(const MarketSimulator& sim, double seconds,
                                      std::size_t top_symbols = 5);

// The truth file of a live run: one JSON object with messages, seed, symbols, truth_errors and
// top_of_book, the truth's best bid and ask of every symbol (Price(4) integers, 0 for an empty
// side), one symbol per line so that the file diffs well.
[[nodiscard]] std::string truthJson(const MarketSimulator& sim);
// Writes truthJson(sim) to `path` (replacing it); false if it cannot be written.
[[nodiscard]] bool writeTruthFile(const MarketSimulator& sim, const std::string& path);

} // namespace tickstream::exchange_sim
