#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace tickstream::rpc {

struct GrpcServerConfig {
  std::string listen = "127.0.0.1:50051";  // host:port (port 0 = any; see port())
  int max_message_bytes = 4 * 1024 * 1024; // largest request or response accepted
  std::chrono::milliseconds shutdown_grace{5000};  // in-flight calls get this long on stop()
  // Threads of the synchronous API kept waiting for the next call; a thread that finishes a
  // call while this many wait exits. gRPC's default (0 here: 2) suits calls that return at
  // once; a service whose calls block (the order service waits for a commit) would otherwise
  // start and end a thread for nearly every call.
  int max_idle_threads = 0;
  // Clients may send keepalive pings this often, also with no call open; 0 keeps gRPC's policy
  // (one ping per 5 minutes, GOAWAY for a client that pings more often: a guard against ping
  // floods, kept for public-facing services). Servers whose clients detect a dead peer by
  // pinging (exchange-sim's venue) set it below the clients' shortest keepalive.
  std::chrono::milliseconds min_client_ping_interval{0};
};

// A gRPC server with the standard grpc.health.v1 health checking and server reflection
// already registered, so every service answers `grpc_health_probe` and `grpcurl list`.
// Health starts NOT_SERVING for every registered service; the owner says when it is ready.
class GrpcServer {
 public:
  explicit GrpcServer(GrpcServerConfig config);
  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // Registers an implementation of the generated service `Api` (e.g.
  // `addService<OrderService>(&impl)`) before start(); the server does not own it. Its full name
  // is recorded so health checks for it answer NOT_SERVING from the first moment, rather than
  // NOT_FOUND.
  template <class Api>
  void addService(typename Api::Service* service) {
    addService(service, Api::service_full_name());
  }
  void addService(grpc::Service* service, std::string full_name);
  // Binds and starts; throws std::runtime_error naming the address when it cannot bind.
  void start();
  int port() const { return port_; }

  // Health of one service by its full name ("tickstream.order.v1.OrderService"), or of the
  // whole server with "".
  void setServing(const std::string& service, bool serving);
  // The whole server and every registered service.
  void setAllServing(bool serving);

  // Marks everything NOT_SERVING (load balancers stop sending), then stops accepting and
  // waits up to shutdown_grace for in-flight calls before cancelling them.
  void stop();

  grpc::Server& native() { return *server_; }

 private:
  GrpcServerConfig config_;
  std::vector<grpc::Service*> services_;
  std::vector<std::string> service_names_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace tickstream::rpc
