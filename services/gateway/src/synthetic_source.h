#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

// A market-data source inside the gateway, for benchmarks only: made-up symbols ("LG00000", ...,
// the names tools/loadgen/ticks_producer uses), a snapshot each, then ~60-byte quote updates
// at a fixed rate, round robin, generated on the I/O thread. It takes Kafka and the broker off
// the machine so a benchmark measures the fan-out alone (docs/benchmarks.md says which source
// each figure used). Never used in production: main.cpp selects it only with
// --synthetic-updates-per-second.
namespace tickstream::gateway {

class Server;

struct SyntheticSourceConfig {
  int symbols = 1000;                  // LG00000 .. LG<symbols-1>; only the shard's own are made
  double updates_per_second = 1000;    // over all of this shard's symbols
};

class SyntheticSource {
public:
  SyntheticSource(SyntheticSourceConfig config, boost::asio::io_context& io, Server& server);

  // Loads the snapshots, calls `on_ready`, then produces updates until the io_context stops.
  void start(std::function<void()> on_ready);

private:
  void tick();

  SyntheticSourceConfig config_;
  Server& server_;
  boost::asio::steady_timer timer_;
  std::vector<std::string> symbols_;
  std::vector<uint64_t> seqs_;
  std::chrono::steady_clock::time_point start_;
  uint64_t sent_ = 0;
  std::size_t next_ = 0;
};

} // namespace tickstream::gateway
