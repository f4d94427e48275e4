// Durable submits through OrderStore against a real PostgreSQL: throughput and ack latency with
// group commit (writer lanes, several submits per transaction) and without (one transaction per
// submit on the caller's thread). An ack is submit() returning, i.e. after COMMIT. Prints one
// JSON line per mode. Run with tests/bench/run_order_store.sh (starts a throw-away PostgreSQL).
//
//   order_store_bench --pg-url URL [--mode group|direct|both] [--clients 64] [--accounts 2000]
//                     [--seconds 5] [--rate 0] [--lanes 2] [--max-batch 128]
//                     [--lifecycle] [--kafka BROKERS] [--migrations DIR]
//
// --rate 0 is closed loop (each client submits again as soon as it is acknowledged: the most
// the store sustains); --rate R paces the clients to R submits/s in total and measures latency
// from each submit's scheduled time, so a stall is not hidden by the clients slowing down.
// --lifecycle: each client takes each order on to the venue's ack and a full fill, the three
// writes an order costs the service's PostgreSQL (latency is then the whole lifecycle's).
// --kafka: the real outbox relay publishes and deletes the outbox rows meanwhile, so its reads and
// deletes are in the PostgreSQL figures too. --migrations: the schema to run (an A/B of schemas
// runs two builds, each with its own directory).
//
// Besides throughput, each line has PostgreSQL's cost per order: WAL records and bytes
// (pg_stat_wal, the whole cluster) and the CPU of every local process named "postgres" (so the
// server must run on this machine and serve only this benchmark).
#include <pqxx/pqxx>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "order_store.h"
#include "outbox_relay.h"
#include "risk_check.h"
#include "tickstream/kafka/admin.h"
#include "tickstream/kafka/topics.h"
#include "tickstream/pg/migrations.h"
#include "tickstream/pg/pool.h"

using namespace tickstream;
using namespace tickstream::order;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string pg_url;
  std::string mode = "both";
  int clients = 64;
  int accounts = 2000;
  double seconds = 5;
  double rate = 0;
  int lanes = 2;
  int max_batch = 128;
  bool lifecycle = false;
  std::string kafka;  // brokers for the outbox relay; empty: no relay
  std::string migrations = TICKSTREAM_ORDER_MIGRATIONS_DIR;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + ": needs a value");
      return argv[++i];
    };
    if (a == "--pg-url") o.pg_url = value();
    else if (a == "--mode") o.mode = value();
    else if (a == "--clients") o.clients = std::stoi(value());
    else if (a == "--accounts") o.accounts = std::stoi(value());
    else if (a == "--seconds") o.seconds = std::stod(value());
    else if (a == "--rate") o.rate = std::stod(value());
    else if (a == "--lanes") o.lanes = std::stoi(value());
    else if (a == "--max-batch") o.max_batch = std::stoi(value());
    else if (a == "--lifecycle") o.lifecycle = true;
    else if (a == "--kafka") o.kafka = value();
    else if (a == "--migrations") o.migrations = value();
    else if (a == "--help") {
      std::cout << "order_store_bench --pg-url URL [--mode group|direct|both] [--clients N] [--accounts N] "
                   "[--seconds S] [--rate R] [--lanes N] [--max-batch N] [--lifecycle] [--kafka BROKERS] "
                   "[--migrations DIR]\n";
      std::exit(0);
    } else {
      throw std::invalid_argument("unknown flag " + a);
    }
  }
  if (o.pg_url.empty()) throw std::invalid_argument("--pg-url: required");
  if (o.mode != "group" && o.mode != "direct" && o.mode != "both") throw std::invalid_argument("--mode: group|direct|both");
  if (o.clients < 1 || o.accounts < 1 || o.seconds <= 0 || o.rate < 0) throw std::invalid_argument("bad numbers");
  return o;
}

// A fresh schema with the order migrations and generous limits for every account.
std::string freshSchema(const Options& o, const std::string& name) {
  const std::string schema = name + "_" + std::to_string(::getpid());
  {
    pqxx::connection admin(o.pg_url);
    pqxx::nontransaction tx(admin);
    tx.exec("DROP SCHEMA IF EXISTS " + tx.quote_name(schema) + " CASCADE");
    tx.exec("CREATE SCHEMA " + tx.quote_name(schema));
  }
  // The URL's options replace the pool's (PoolConfig::options), so the store's own go here too.
  const std::string url = storeSessionUrl(o.pg_url, schema);
  pqxx::connection conn(url);
  pg::applyMigrations(conn, pg::loadMigrations(o.migrations));
  pqxx::work tx(conn);
  tx.exec_params(
      "INSERT INTO risk_limits (account, max_order_notional, max_open_orders, max_position, orders_per_second, "
      "order_burst, allow_short) SELECT 'acct-' || g, 1000000000000000, 1000000, 1000000000000, 1000000000, 1000000, "
      "true FROM generate_series(0, $1 - 1) AS g",
      o.accounts);
  tx.commit();
  return url;
}

// CPU time (user + system, µs) of every process on this machine whose name is "postgres": the
// server's backends, the WAL writer, checkpointer and the rest, plus what their children that
// ended used (the postmaster's cutime/cstime: backends and autovacuum workers that exited).
std::int64_t postgresCpuMicros() {
  const double tick_us = 1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK));
  std::int64_t ticks = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!stat || !std::getline(stat, line)) continue;  // not a process, or it just ended
    const auto open = line.find('('), close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos || line.substr(open + 1, close - open - 1) != "postgres") {
      continue;
    }
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    // After the name: state is field 3; utime, stime, cutime and cstime are fields 14 to 17.
    for (int i = 3; i < 14 && rest >> field; ++i) {
    }
    std::int64_t utime = 0, stime = 0, cutime = 0, cstime = 0;
    if (rest >> utime >> stime >> cutime >> cstime) ticks += utime + stime + cutime + cstime;
  }
  return static_cast<std::int64_t>(static_cast<double>(ticks) * tick_us);
}

// PostgreSQL's cost counters at one moment: WAL written (cluster-wide) and its processes' CPU.
struct PgCost {
  std::int64_t wal_records = 0;
  std::int64_t wal_bytes = 0;
  std::int64_t cpu_us = 0;
};

PgCost pgCost(const std::string& url) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  const auto row = tx.exec1("SELECT wal_records, wal_bytes::bigint FROM pg_stat_wal");
  return {row[0].as<std::int64_t>(), row[1].as<std::int64_t>(), postgresCpuMicros()};
}

std::int64_t percentile(std::vector<std::int64_t>& v, double q) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

// The venue's side of an order's life, as the service stores it: the ack, then one full fill.
// False when a step is not applied (the benchmark counts that as an error).
bool runLifecycle(OrderStore& store, const SubmitResult& submitted) {
  if (submitted.outcome != SubmitOutcome::Created || submitted.order.status() != v1::ORDER_STATUS_ACCEPTED) return false;
  const auto& order = submitted.order;
  TransitionDetails ack;
  ack.venue_order_id = "v-" + order.order_id();
  if (store.applyTransition(order.order_id(), Trigger::VenueAck, ack).outcome != ChangeOutcome::Applied) return false;
  FillReport fill;
  fill.venue_execution_id = "x-" + order.order_id();
  fill.order_id = order.order_id();
  fill.quantity = order.quantity();
  fill.price = order.limit_price();
  fill.fill_ts_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
  return store.applyFill(fill).outcome == ChangeOutcome::Applied;
}

void runMode(const Options& o, bool group_commit) {
  const std::string mode = group_commit ? "group_commit" : "direct";
  const std::string url = freshSchema(o, "bench_" + mode);
  pg::PoolConfig pc;
  pc.url = url;
  // Direct: a connection per client, so every client can be in its own transaction at once.
  pc.size = group_commit ? o.lanes + 2 : o.clients;
  pg::Pool pool(pc);
  OrderStoreConfig sc;
  sc.group_commit = group_commit;
  sc.writer_lanes = o.lanes;
  sc.max_batch = o.max_batch;
  OrderStore store(pool, sc);
  UnlimitedBuyingPower buying_power;
  RiskChecker checker(buying_power);

  std::optional<OutboxRelay> relay;
  if (!o.kafka.empty()) {
    // The broker here creates no topic by itself: the platform's layout of the two topics.
    kafka::Admin(o.kafka).ensureTopics({kafka::topics::platformTopic(kafka::topics::kOrdersEvents, sc.events_topic),
                                        kafka::topics::platformTopic(kafka::topics::kOrdersFills, sc.fills_topic)});
    OutboxRelayConfig rc;
    rc.pg_url = url;
    rc.producer.brokers = o.kafka;
    rc.producer.client_id = "order-store-bench-relay";
    rc.notify_channel = sc.notify_channel;
    relay.emplace(rc);
    relay->start();
  }

  std::atomic<bool> go{false};
  std::atomic<bool> stop{false};
  std::vector<std::vector<std::int64_t>> latencies(static_cast<std::size_t>(o.clients));
  std::atomic<std::uint64_t> errors{0};
  std::vector<std::thread> clients;
  const double per_client_rate = o.rate / o.clients;
  for (int c = 0; c < o.clients; ++c) {
    clients.emplace_back([&, c] {
      auto& lat = latencies[static_cast<std::size_t>(c)];
      lat.reserve(1 << 16);
      while (!go.load()) std::this_thread::yield();
      const auto start = Clock::now();
      for (std::uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        auto scheduled = Clock::now();
        if (per_client_rate > 0) {
          scheduled = start + std::chrono::nanoseconds(static_cast<std::int64_t>(static_cast<double>(i) * 1e9 / per_client_rate));
          std::this_thread::sleep_until(scheduled);  // pacing the load, not synchronisation
        }
        v1::SubmitOrderRequest r;
        r.set_account("acct-" + std::to_string((static_cast<std::uint64_t>(c) + i * static_cast<std::uint64_t>(o.clients)) %
                                               static_cast<std::uint64_t>(o.accounts)));
        r.set_client_order_id("c" + std::to_string(c) + "-" + std::to_string(i));
        r.set_symbol(i % 2 ? "AAPL" : "MSFT");
        r.set_side(v1::SIDE_BUY);
        r.set_type(v1::ORDER_TYPE_LIMIT);
        r.set_time_in_force(v1::TIME_IN_FORCE_DAY);
        r.set_quantity(100);
        r.set_limit_price(1'000'000);
        try {
          const auto submitted = store.submit(r, [&](const RiskInputs& in) -> std::optional<Rejection> {
            OrderIntent intent{r.account(), r.symbol(), r.side(), r.quantity(), r.limit_price()};
            const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
            if (auto refused = checker.check(intent, in.limits ? &*in.limits : nullptr, in.exposure, now)) {
              return Rejection{refused->reason, refused->text};
            }
            return std::nullopt;
          });
          if (o.lifecycle && !runLifecycle(store, submitted)) {
            if (errors.fetch_add(1) == 0) std::cerr << "an order's lifecycle was refused\n";
            continue;
          }
          lat.push_back(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - scheduled).count());
        } catch (const std::exception& e) {
          if (errors.fetch_add(1) == 0) std::cerr << "submit failed: " << e.what() << "\n";
        }
      }
    });
  }
  const auto cost0 = pgCost(url);
  const auto t0 = Clock::now();
  go.store(true);
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));  // the measurement window
  stop.store(true);
  for (auto& t : clients) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  const auto cost1 = pgCost(url);
  const std::uint64_t relayed = relay ? relay->published() : 0;
  if (relay) relay->stop();

  std::vector<std::int64_t> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  const auto n = all.size();
  const auto p50 = percentile(all, 0.50);
  const auto p99 = percentile(all, 0.99);
  const auto p999 = percentile(all, 0.999);
  const auto committed = store.submitsCommitted();
  const auto txs = store.submitTransactions();
  // Per order (per submit without --lifecycle): what PostgreSQL wrote and burnt for it.
  const double per = n ? 1.0 / static_cast<double>(n) : 0.0;
  std::printf(
      "{\"bench\":\"order_store_submit\",\"mode\":\"%s\",\"lifecycle\":%s,\"relay\":%s,\"clients\":%d,"
      "\"accounts\":%d,\"lanes\":%d,\"max_batch\":%d,\"target_rate\":%.0f,\"seconds\":%.2f,\"submits\":%zu,"
      "\"errors\":%llu,\"submits_per_s\":%.0f,\"transactions\":%llu,\"submits_per_tx\":%.2f,\"p50_us\":%lld,"
      "\"p99_us\":%lld,\"p999_us\":%lld,\"relayed\":%llu,\"wal_records_per_order\":%.1f,"
      "\"wal_bytes_per_order\":%.0f,\"pg_cpu_us_per_order\":%.1f,\"pg_cores\":%.2f}\n",
      mode.c_str(), o.lifecycle ? "true" : "false", relay ? "true" : "false", o.clients, o.accounts,
      group_commit ? o.lanes : 0, group_commit ? o.max_batch : 1, o.rate, elapsed, n,
      static_cast<unsigned long long>(errors.load()), static_cast<double>(n) / elapsed,
      static_cast<unsigned long long>(txs), txs ? static_cast<double>(committed) / static_cast<double>(txs) : 0.0,
      static_cast<long long>(p50), static_cast<long long>(p99), static_cast<long long>(p999),
      static_cast<unsigned long long>(relayed), static_cast<double>(cost1.wal_records - cost0.wal_records) * per,
      static_cast<double>(cost1.wal_bytes - cost0.wal_bytes) * per,
      static_cast<double>(cost1.cpu_us - cost0.cpu_us) * per,
      static_cast<double>(cost1.cpu_us - cost0.cpu_us) / 1e6 / elapsed);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = parse(argc, argv);
    if (o.mode != "direct") runMode(o, true);
    if (o.mode != "group") runMode(o, false);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "order_store_bench: " << e.what() << "\n";
    return 2;
  }
}
