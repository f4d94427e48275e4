// order-loadgen: SubmitOrder load on the order service through gRPC's async API. Each sender
// thread owns a channel, a completion queue and a fixed number of call slots; paced open loop
// (--rate R) or closed loop (--rate 0: every slot busy all the time). Prints one JSON line per
// second and a summary line (docs/order.md, "Tools").
//   order-loadgen --target 127.0.0.1:50061 --jwt-hs256-secret S --accounts 100 (continued:)
//                 --symbols AAPL=1900000,MSFT=4100000 --rate 10000 --warmup-s 5 --duration-s 30
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "latency_histogram.h"
#include "order_plan.h"
#include "pacer.h"
#include "tickstream/auth/jwt.h"
#include "tickstream/order/v1/order_service.grpc.pb.h"
#include "tickstream/rpc/status_code.h"
#include "tickstream/runtime/clock.h"
#include "tickstream/runtime/flags.h"
#include "tickstream/runtime/shutdown.h"

namespace tickstream::order_loadgen {
namespace {

namespace ov1 = tickstream::order::v1;

struct LoadgenConfig {
  std::string target = "127.0.0.1:50061";  // order service gRPC address (its default --grpc-listen)
  std::string secret;                     // HS256 secret the service verifies tokens with
  bool service_token = false;             // one token with role "service" instead of one per account
  int accounts = 100;                     // accounts load-0001 .. load-N
  std::string account_prefix = "load-";   // account name prefix
  std::string symbols;                    // SYM or SYM=PRICE, comma separated
  int64_t price = 0;                      // limit price of symbols given without one (1/10000)
  int64_t quantity = 100;                 // shares per order
  double rate = 0;                        // orders/s over all threads, open loop; 0: closed loop
  int in_flight = 128;                    // call slots per thread
  int threads = 1;                        // sender threads, each with its own channel
  int warmup_s = 5;                       // seconds of load before measuring
  int duration_s = 30;                    // measured seconds
  int drain_s = 10;                       // after the end, wait this long for calls still in flight
  int deadline_ms = 10000;                // per-call deadline
  std::string run_id;                     // client_order_id prefix (default: random)
  std::vector<std::string> allow_errors;  // gRPC codes that do not fail the run
};

int64_t monoNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

constexpr std::size_t kCodes = 18;  // gRPC codes 0..16 and one slot for a code outside the spec
constexpr std::size_t kStatuses = ov1::OrderStatus_ARRAYSIZE + 1;  // the last slot: an unknown number

std::size_t codeIndex(grpc::StatusCode code) {
  const auto i = static_cast<int>(code);
  return i >= 0 && i < static_cast<int>(kCodes) - 1 ? static_cast<std::size_t>(i) : kCodes - 1;
}

// The last index (a code outside the spec) names itself OUT_OF_SPEC, as statusCodeName does.
std::string codeName(std::size_t index) {
  return std::string(rpc::statusCodeName(static_cast<grpc::StatusCode>(index)));
}

std::string statusName(std::size_t i) {
  if (i + 1 == kStatuses) return "UNKNOWN_STATUS";
  std::string name = ov1::OrderStatus_Name(static_cast<ov1::OrderStatus>(i));
  constexpr std::string_view kPrefix = "ORDER_STATUS_";
  return name.starts_with(kPrefix) ? name.substr(kPrefix.size()) : name;
}

// The results of the calls of one window (a second, the measured window, the whole run).
struct Counters {
  uint64_t sent = 0;
  uint64_t acked = 0;                     // answered OK
  uint64_t duplicates = 0;                // acked with duplicate = true (should not happen)
  std::array<uint64_t, kCodes> errors{};  // answered with a gRPC error, by code
  std::array<uint64_t, kStatuses> statuses{};  // acked orders by status
  LatencyHistogram latency;               // acked calls, from the intended send time

  void merge(const Counters& o) {
    sent += o.sent;
    acked += o.acked;
    duplicates += o.duplicates;
    for (std::size_t i = 0; i < kCodes; ++i) errors[i] += o.errors[i];
    for (std::size_t i = 0; i < kStatuses; ++i) statuses[i] += o.statuses[i];
    latency.merge(o.latency);
  }
  uint64_t errorCount() const {
    uint64_t n = 0;
    for (uint64_t e : errors) n += e;
    return n;
  }
  nlohmann::ordered_json errorsJson() const {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    for (std::size_t i = 0; i < kCodes; ++i) {
      if (errors[i] != 0) j[codeName(i)] = errors[i];
    }
    return j;
  }
  nlohmann::ordered_json statusesJson() const {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    for (std::size_t i = 0; i < kStatuses; ++i) {
      if (statuses[i] != 0) j[statusName(i)] = statuses[i];
    }
    return j;
  }
};

// A latency quantile in ms, or null when nothing was acked: 0 would read as "instant".
nlohmann::ordered_json quantileMs(const LatencyHistogram& h, double q) {
  if (h.count() == 0) return nullptr;
  return h.quantileMs(q);
}

// When the load runs, on the steady clock; shared by every sender.
struct Schedule {
  int64_t start_ns = 0;    // the first call is due
  int64_t measure_ns = 0;  // warm-up ends: calls due from here on are measured
  int64_t end_ns = 0;      // no call is sent from here on
  int64_t drain_ns = 0;    // calls still in flight are cancelled
};

// One sender thread: a channel, a completion queue, `in_flight` call slots.
class Sender {
 public:
  Sender(int id, const LoadgenConfig& config, const OrderPlan& plan, const std::vector<std::string>& bearers,
         const std::atomic<bool>& stop)
      : id_(id), config_(config), plan_(plan), bearers_(bearers), stop_(stop), calls_(config.in_flight) {
    grpc::ChannelArguments args;
    // Its own connection per sender: channels with equal arguments would share one.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    channel_ = grpc::CreateCustomChannel(config.target, grpc::InsecureChannelCredentials(), args);
    stub_ = ov1::OrderService::NewStub(channel_);
    for (Call& c : calls_) free_.push_back(&c);
  }

  bool connect(std::chrono::seconds timeout) {
    return channel_->WaitForConnected(std::chrono::system_clock::now() + timeout);
  }

  void run(const Schedule& schedule) {
    const bool closed = config_.rate <= 0;
    // Senders share the rate and are offset by one global period, so their calls interleave.
    const double rate = closed ? 1 : config_.rate / config_.threads;
    const Pacer pacer(schedule.start_ns + (closed ? 0 : std::llround(id_ * 1e9 / config_.rate)), rate);
    uint64_t next = 0;  // the next call's sequence number (and its index in the pacer)
    bool sending = true;
    while (true) {
      int64_t now = monoNs();
      if (sending) {
        // Every call due before the end is sent, late if need be (a late wake-up near the end
        // must not drop calls that were due).
        while (!free_.empty()) {
          const int64_t due = closed ? now : pacer.dueAt(next);
          if (due > now || due >= schedule.end_ns) break;
          Call* c = free_.back();
          free_.pop_back();
          send(*c, next++, due, schedule);
        }
        if (now >= schedule.end_ns || stop_.load(std::memory_order_relaxed)) {
          sending = false;
          // Calls that fell due in time but found no free slot: the target rate was not reached.
          const uint64_t due = closed ? 0 : pacer.dueBy(std::min(now, schedule.end_ns - 1));
          unsent_due_ = due > next ? due - next : 0;
        }
      }
      if (!sending && busy() == 0) break;
      if (!sending && now >= schedule.drain_ns) {
        cancelRemaining();
        break;
      }
      // Sleep until a call completes, the next call is due, or the phase changes.
      int64_t wake = now + 100'000'000;
      if (sending) {
        wake = std::min(wake, schedule.end_ns);
        if (!closed && !free_.empty()) wake = std::min(wake, pacer.dueAt(next));
      } else {
        wake = std::min(wake, schedule.drain_ns);
      }
      void* tag = nullptr;
      bool ok = false;
      const auto deadline = std::chrono::system_clock::now() + std::chrono::nanoseconds(std::max<int64_t>(0, wake - now));
      if (cq_.AsyncNext(&tag, &ok, deadline) == grpc::CompletionQueue::GOT_EVENT) {
        complete(*static_cast<Call*>(tag), schedule);
      }
    }
    cq_.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (cq_.Next(&tag, &ok)) {
    }
  }

  // This second's results so far; starts the next second.
  Counters takeSecond() {
    std::lock_guard lock(mu_);
    Counters out = std::move(second_);
    second_ = Counters();
    return out;
  }
  Counters measured() const {
    std::lock_guard lock(mu_);
    return measured_;
  }
  Counters total() const {
    std::lock_guard lock(mu_);
    return total_;
  }
  uint64_t inFlight() const { return in_flight_.load(std::memory_order_relaxed); }
  uint64_t unsentDue() const { return unsent_due_; }  // read after run() returned

 private:
  struct Call {
    std::unique_ptr<grpc::ClientContext> ctx;  // one per call: a context cannot be reused
    ov1::SubmitOrderRequest request;
    ov1::SubmitOrderResponse response;
    grpc::Status status;
    std::unique_ptr<grpc::ClientAsyncResponseReader<ov1::SubmitOrderResponse>> reader;
    int64_t due_ns = 0;  // when the call was meant to be sent: latency starts here
  };

  std::size_t busy() const { return calls_.size() - free_.size(); }

  void send(Call& c, uint64_t seq, int64_t due_ns, const Schedule& schedule) {
    plan_.fill(c.request, id_, seq);
    c.ctx = std::make_unique<grpc::ClientContext>();
    c.ctx->AddMetadata("authorization", bearers_[bearers_.size() == 1 ? 0 : plan_.accountIndex(seq)]);
    c.ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(config_.deadline_ms));
    c.due_ns = due_ns;
    c.reader = stub_->AsyncSubmitOrder(c.ctx.get(), c.request, &cq_);
    c.reader->Finish(&c.response, &c.status, &c);
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    const bool measured = due_ns >= schedule.measure_ns && due_ns < schedule.end_ns;
    std::lock_guard lock(mu_);
    ++second_.sent;
    ++total_.sent;
    if (measured) ++measured_.sent;
  }

  void complete(Call& c, const Schedule& schedule) {
    const int64_t latency = monoNs() - c.due_ns;
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    free_.push_back(&c);
    const bool measured = c.due_ns >= schedule.measure_ns && c.due_ns < schedule.end_ns;
    std::lock_guard lock(mu_);
    for (Counters* w : {&second_, &total_, measured ? &measured_ : nullptr}) {
      if (w == nullptr) continue;
      if (c.status.ok()) {
        ++w->acked;
        if (c.response.duplicate()) ++w->duplicates;
        const auto s = static_cast<std::size_t>(c.response.order().status());
        ++w->statuses[s < kStatuses - 1 ? s : kStatuses - 1];
        w->latency.record(latency);
      } else {
        ++w->errors[codeIndex(c.status.error_code())];
      }
    }
  }

  // The drain time is over: cancel what is left and wait for the cancellations, which gRPC
  // requires before the queue and the contexts go away. These calls count as unanswered.
  void cancelRemaining() {
    std::vector<bool> is_free(calls_.size(), false);
    for (Call* c : free_) is_free[static_cast<std::size_t>(c - calls_.data())] = true;
    for (std::size_t i = 0; i < calls_.size(); ++i) {
      if (!is_free[i]) calls_[i].ctx->TryCancel();
    }
    void* tag = nullptr;
    bool ok = false;
    while (busy() > 0 && cq_.Next(&tag, &ok)) {
      in_flight_.fetch_sub(1, std::memory_order_relaxed);
      free_.push_back(static_cast<Call*>(tag));
    }
  }

  int id_;
  const LoadgenConfig& config_;
  const OrderPlan& plan_;
  const std::vector<std::string>& bearers_;  // "Bearer <token>" per account, or one service token
  const std::atomic<bool>& stop_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<ov1::OrderService::Stub> stub_;
  grpc::CompletionQueue cq_;
  std::vector<Call> calls_;
  std::vector<Call*> free_;
  std::atomic<uint64_t> in_flight_{0};
  uint64_t unsent_due_ = 0;
  mutable std::mutex mu_;  // the reporter reads the windows once a second
  Counters second_;
  Counters measured_;
  Counters total_;
};

// Tokens valid for the whole run and an hour more; one per account (sub = account), or one
// for every call with role "service" (may act for any account).
std::vector<std::string> mintBearers(const LoadgenConfig& config, const OrderPlan& plan) {
  const auto signer = auth::Signer::hs256(config.secret);
  const int64_t now = runtime::wallClockNs() / 1'000'000'000;
  auth::Claims claims;
  claims.issued_at = now;
  claims.expires_at = now + config.warmup_s + config.duration_s + config.drain_s + 3600;
  std::vector<std::string> out;
  if (config.service_token) {
    claims.subject = "order-loadgen";
    claims.roles = {"service"};
    out.push_back("Bearer " + signer.sign(claims));
    return out;
  }
  for (std::size_t i = 0; i < plan.accountCount(); ++i) {
    claims.subject = plan.account(i);
    out.push_back("Bearer " + signer.sign(claims));
  }
  return out;
}

void printLine(const nlohmann::ordered_json& j) {
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
}

int run(const LoadgenConfig& config, runtime::ShutdownSignal& shutdown) {
  PlanConfig pc;
  pc.run_id = config.run_id.empty() ? randomRunId() : config.run_id;
  pc.account_prefix = config.account_prefix;
  pc.accounts = config.accounts;
  pc.symbols = parseSymbols(config.symbols, config.price);
  pc.quantity = config.quantity;
  const OrderPlan plan(pc);
  const std::vector<std::string> bearers = mintBearers(config, plan);

  std::atomic<bool> stop{false};
  std::atomic<int64_t> stopped_ns{0};
  shutdown.onRequest([&stop, &stopped_ns] {
    stopped_ns.store(monoNs());
    stop.store(true);
  });
  std::vector<std::unique_ptr<Sender>> senders;
  for (int i = 0; i < config.threads; ++i) {
    senders.push_back(std::make_unique<Sender>(i, config, plan, bearers, stop));
    if (!senders.back()->connect(std::chrono::seconds(10))) {
      std::fprintf(stderr, "order-loadgen: cannot connect to %s within 10 s (--target)\n", config.target.c_str());
      return 1;
    }
  }

  constexpr int64_t kSecond = 1'000'000'000;
  Schedule schedule;
  schedule.start_ns = monoNs();
  schedule.measure_ns = schedule.start_ns + config.warmup_s * kSecond;
  schedule.end_ns = schedule.measure_ns + config.duration_s * kSecond;
  schedule.drain_ns = schedule.end_ns + config.drain_s * kSecond;
  std::vector<std::thread> threads;
  std::atomic<int> running{config.threads};
  for (auto& s : senders) {
    threads.emplace_back([&s, &schedule, &running] {
      s->run(schedule);
      running.fetch_sub(1);
    });
  }

  // One line per second of wall time since the start, until every sender has finished.
  for (int64_t second = 1;; ++second) {
    const int64_t tick = schedule.start_ns + second * kSecond;
    while (running.load() > 0 && monoNs() < tick) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    Counters c;
    uint64_t in_flight = 0;
    for (auto& s : senders) {
      c.merge(s->takeSecond());
      in_flight += s->inFlight();
    }
    const char* phase = tick <= schedule.measure_ns ? "warmup" : tick <= schedule.end_ns ? "measure" : "drain";
    printLine({{"second", second},
               {"phase", phase},
               {"sent", c.sent},
               {"acked", c.acked},
               {"errors", c.errorsJson()},
               {"in_flight", in_flight},
               {"p50_ms", quantileMs(c.latency, 0.5)},
               {"p99_ms", quantileMs(c.latency, 0.99)},
               {"p999_ms", quantileMs(c.latency, 0.999)}});
    if (running.load() == 0) break;
  }
  for (auto& t : threads) t.join();

  Counters measured, total;
  uint64_t unsent_due = 0;
  for (auto& s : senders) {
    measured.merge(s->measured());
    total.merge(s->total());
    unsent_due += s->unsentDue();
  }
  const uint64_t unanswered = total.sent - total.acked - total.errorCount();
  uint64_t unexpected = 0;
  for (std::size_t i = 0; i < kCodes; ++i) {
    if (std::find(config.allow_errors.begin(), config.allow_errors.end(), codeName(i)) == config.allow_errors.end()) {
      unexpected += total.errors[i];
    }
  }
  // Ctrl-C ends the measured window early.
  const int64_t measure_end = stop.load() ? std::min(schedule.end_ns, stopped_ns.load()) : schedule.end_ns;
  const double measured_s = static_cast<double>(std::max<int64_t>(0, measure_end - schedule.measure_ns)) / 1e9;
  printLine({{"bench", "order_submit"},
             {"mode", config.rate > 0 ? "open" : "closed"},
             {"rate_target", config.rate},
             {"in_flight_per_thread", config.in_flight},
             {"threads", config.threads},
             {"accounts", config.accounts},
             {"token", config.service_token ? "service" : "per_account"},
             {"run_id", pc.run_id},
             {"warmup_s", config.warmup_s},
             {"duration_s", config.duration_s},
             {"measured_s", measured_s},
             {"interrupted", stop.load()},
             {"measured_sent", measured.sent},
             {"measured_acked", measured.acked},
             {"acked_per_s", measured_s > 0 ? static_cast<double>(measured.acked) / measured_s : 0.0},
             {"p50_ms", quantileMs(measured.latency, 0.5)},
             {"p90_ms", quantileMs(measured.latency, 0.9)},
             {"p99_ms", quantileMs(measured.latency, 0.99)},
             {"p999_ms", quantileMs(measured.latency, 0.999)},
             {"max_ms", quantileMs(measured.latency, 1.0)},
             // Open loop: calls that fell due but never found a free slot. Not 0 means the
             // service did not keep up with rate_target (the latencies then cover only the calls
             // that were sent; the rest waited longer still).
             {"unsent_due", unsent_due},
             {"rate_sustained", config.rate > 0 ? nlohmann::ordered_json(unsent_due == 0) : nullptr},
             {"sent", total.sent},
             {"acked", total.acked},
             {"unanswered", unanswered},
             {"duplicates", total.duplicates},
             {"errors", total.errorsJson()},
             {"statuses", total.statusesJson()}});
  if (unexpected > 0 || unanswered > 0) {
    std::fprintf(stderr, "order-loadgen: %llu unexpected errors, %llu calls unanswered after the drain\n",
                 static_cast<unsigned long long>(unexpected), static_cast<unsigned long long>(unanswered));
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace tickstream::order_loadgen

int main(int argc, char** argv) {
  using namespace tickstream;
  runtime::ShutdownSignal shutdown;
  order_loadgen::LoadgenConfig config;
  runtime::Flags flags("order-loadgen", "SubmitOrder load generator for the order service (docs/order.md)");
  flags.add("--target", config.target, "order service gRPC address HOST:PORT");
  flags.add("--jwt-hs256-secret", config.secret, "HS256 secret the order service verifies tokens with (>= 32 bytes)")
      ->required()
      ->check([](const std::string& s) { return s.size() >= 32 ? std::string() : "must be at least 32 bytes"; });
  flags.addSwitch("--service-token", config.service_token,
                  "one token with role service for every call, instead of one token per account");
  flags.add("--accounts", config.accounts, "accounts <prefix>0001..N, used in turn")->check(CLI::Range(1, 1'000'000));
  flags.add("--account-prefix", config.account_prefix, "account name prefix");
  flags.add("--symbols", config.symbols, "symbols traded in turn: SYM or SYM=PRICE (fixed-point), comma separated")
      ->required();
  flags.add("--price", config.price, "limit price (fixed-point 1/10000, multiple of 100) of symbols without =PRICE");
  flags.add("--quantity", config.quantity, "shares per order")->check(CLI::Range(int64_t{1}, int64_t{10'000'000}));
  flags.add("--rate", config.rate, "orders/s over all threads, paced open loop; 0: closed loop (--in-flight busy)")
      ->check(CLI::Range(0.0, 1e7));
  flags.add("--in-flight", config.in_flight, "calls in flight per thread at most")->check(CLI::Range(1, 100'000));
  flags.add("--threads", config.threads, "sender threads, one channel each")->check(CLI::Range(1, 64));
  flags.add("--warmup-s", config.warmup_s, "seconds of load before measuring")->check(CLI::Range(0, 86400));
  flags.add("--duration-s", config.duration_s, "measured seconds")->check(CLI::Range(1, 86400));
  flags.add("--drain-s", config.drain_s, "seconds to wait for calls in flight at the end")->check(CLI::Range(0, 3600));
  flags.add("--deadline-ms", config.deadline_ms, "per-call deadline")->check(CLI::Range(1, 3'600'000));
  flags.add("--run-id", config.run_id, "client_order_id prefix (default: lg + 8 random hex digits)");
  flags.add("--allow-errors", config.allow_errors, "gRPC codes (e.g. RESOURCE_EXHAUSTED) that do not fail the run")
      ->delimiter(',');
  if (auto code = flags.parse(argc, argv)) return *code;
  try {
    return order_loadgen::run(config, shutdown);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "order-loadgen: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "order-loadgen: %s\n", e.what());
    return 1;
  }
}
