// grpc_floor: what a unary gRPC call costs on this machine when it does nothing, so the order
// service's figures can be read against it (docs/benchmarks.md, "The gRPC floor").
//
//   grpc_floor --serve [--listen 127.0.0.1:0]
//       a callback-API server (as the order service's SubmitOrder) answering grpc.health.v1
//       Health.Check with SERVING and nothing else; prints its port on stdout
//   grpc_floor --target HOST:PORT [--in-flight 256] [--threads 2] [--seconds 10]
//                   [--warmup-seconds 2] [--server-pid PID]
//       closed loop: `in-flight` Check calls outstanding over `threads` completion queues (as
//       order-loadgen drives SubmitOrder); prints one JSON line: calls/s, and the CPU per call of
//       this process and, given --server-pid, of the server
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "grpc/health/v1/health.grpc.pb.h"
#include "tickstream/runtime/flags.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace health = grpc::health::v1;

class FloorHealth final : public health::Health::CallbackService {
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* ctx, const health::HealthCheckRequest*,
                                  health::HealthCheckResponse* res) override {
    res->set_status(health::HealthCheckResponse::SERVING);
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

int serve(const std::string& listen) {
  FloorHealth service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::cerr << "grpc_floor: cannot listen on " << listen << "\n";
    return 1;
  }
  std::cout << port << std::endl;
  server->Wait();  // until killed
  return 0;
}

// CPU seconds (user + system) of a process, from /proc/PID/stat; -1 when it cannot be read.
double processCpuSeconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return -1;
  // Fields after the command name, which is in parentheses and may hold spaces.
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

struct Call {
  grpc::ClientContext ctx;
  health::HealthCheckResponse response;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<health::HealthCheckResponse>> reader;
};

int call(const std::string& target, int in_flight, int threads, double seconds, double warmup, int server_pid) {
  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  auto stub = health::Health::NewStub(channel);
  std::atomic<bool> measuring{false}, stop{false};
  std::atomic<uint64_t> calls{0}, errors{0};
  const health::HealthCheckRequest request;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    const int mine = in_flight / threads + (t < in_flight % threads ? 1 : 0);
    workers.emplace_back([&, mine] {
      grpc::CompletionQueue cq;
      const auto start = [&](Call* c) {
        c->reader = stub->PrepareAsyncCheck(&c->ctx, request, &cq);
        c->reader->StartCall();
        c->reader->Finish(&c->response, &c->status, c);
      };
      for (int i = 0; i < mine; ++i) start(new Call);
      int outstanding = mine;
      void* tag = nullptr;
      bool ok = false;
      while (outstanding > 0 && cq.Next(&tag, &ok)) {
        auto* done = static_cast<Call*>(tag);
        if (!done->status.ok()) errors.fetch_add(1, std::memory_order_relaxed);
        if (measuring.load(std::memory_order_relaxed)) calls.fetch_add(1, std::memory_order_relaxed);
        delete done;
        if (stop.load(std::memory_order_relaxed)) {
          --outstanding;
        } else {
          start(new Call);
        }
      }
      cq.Shutdown();
      while (cq.Next(&tag, &ok)) {
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(warmup));
  rusage before{};
  ::getrusage(RUSAGE_SELF, &before);
  const double server_before = server_pid > 0 ? processCpuSeconds(server_pid) : -1;
  const auto t0 = Clock::now();
  measuring = true;
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  measuring = false;
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  rusage after{};
  ::getrusage(RUSAGE_SELF, &after);
  const double server_after = server_pid > 0 ? processCpuSeconds(server_pid) : -1;
  stop = true;
  for (auto& w : workers) w.join();

  const auto cpu = [](const rusage& r) {
    return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
  };
  const double n = static_cast<double>(calls.load());
  const double client_cpu = cpu(after) - cpu(before);
  const double server_cpu = server_pid > 0 ? server_after - server_before : -1;
  std::printf(
      "{\"bench\":\"grpc_floor\",\"in_flight\":%d,\"threads\":%d,\"seconds\":%.1f,\"calls_per_s\":%.0f,"
      "\"errors\":%llu,\"client_cores\":%.3f,\"client_us_per_call\":%.1f,\"server_cores\":%.3f,"
      "\"server_us_per_call\":%.1f}\n",
      in_flight, threads, elapsed, n / elapsed, static_cast<unsigned long long>(errors.load()), client_cpu / elapsed,
      n > 0 ? client_cpu / n * 1e6 : 0.0, server_cpu >= 0 ? server_cpu / elapsed : -1.0,
      n > 0 && server_cpu >= 0 ? server_cpu / n * 1e6 : -1.0);
  return errors.load() == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  bool serve_mode = false;
  std::string listen = "127.0.0.1:0", target;
  int in_flight = 256, threads = 2, server_pid = 0;
  double seconds = 10, warmup = 2;
  tickstream::runtime::Flags flags("grpc_floor", "the cost of an empty unary gRPC call (docs/benchmarks.md)");
  flags.addSwitch("--serve", serve_mode, "serve Health.Check on --listen and print the port");
  flags.add("--listen", listen, "--serve: HOST:PORT to listen on (port 0 = any)");
  flags.add("--target", target, "HOST:PORT of a grpc_floor --serve to call");
  flags.add("--in-flight", in_flight, "calls outstanding")->check(CLI::Range(1, 100'000));
  flags.add("--threads", threads, "completion-queue threads")->check(CLI::Range(1, 64));
  flags.add("--seconds", seconds, "measured seconds")->check(CLI::PositiveNumber);
  flags.add("--warmup-seconds", warmup, "seconds of calls before measuring");
  flags.add("--server-pid", server_pid, "the server's pid, for its CPU per call (0 = not measured)");
  if (auto code = flags.parse(argc, argv)) return *code;
  if (serve_mode) return serve(listen);
  if (target.empty()) {
    std::cerr << "grpc_floor: give --serve, or --target HOST:PORT\n";
    return 2;
  }
  return call(target, in_flight, threads, seconds, warmup, server_pid);
}
