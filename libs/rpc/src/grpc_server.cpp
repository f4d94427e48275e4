#include "tickstream/rpc/grpc_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <stdexcept>

#include "tickstream/runtime/logging.h"

namespace tickstream::rpc {

GrpcServer::GrpcServer(GrpcServerConfig config) : config_(std::move(config)) {
  if (config_.max_message_bytes <= 0) throw std::invalid_argument("grpc max_message_bytes: must be > 0");
  if (config_.max_idle_threads < 0) throw std::invalid_argument("grpc max_idle_threads: must be >= 0");
}

GrpcServer::~GrpcServer() { stop(); }

void GrpcServer::addService(grpc::Service* service, std::string full_name) {
  if (server_) throw std::logic_error("grpc: addService after start");
  services_.push_back(service);
  service_names_.push_back(std::move(full_name));
}

void GrpcServer::start() {
  // Both are process-wide switches that must be set before a ServerBuilder is made.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  builder.AddListeningPort(config_.listen, grpc::InsecureServerCredentials(), &port_);
  builder.SetMaxReceiveMessageSize(config_.max_message_bytes);
  builder.SetMaxSendMessageSize(config_.max_message_bytes);
  // gRPC sets SO_REUSEPORT by default, so a second instance on a taken port would start and
  // silently share it; a misconfigured deploy must fail loudly instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  if (config_.min_client_ping_interval.count() > 0) {
    // Clients that detect a vanished peer by pinging (the order service's venue stream) would
    // otherwise be closed by gRPC's default policy, which allows one ping per 5 minutes.
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                               static_cast<int>(config_.min_client_ping_interval.count()));
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  }
  if (config_.max_idle_threads > 0) {
    builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, config_.max_idle_threads);
  }
  for (grpc::Service* s : services_) builder.RegisterService(s);
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0) {
    server_.reset();
    throw std::runtime_error("grpc listen " + config_.listen + ": cannot bind");
  }
  setAllServing(false);
  logging::info("grpc server listening", {{"listen", config_.listen}, {"port", port_}});
}

void GrpcServer::setServing(const std::string& service, bool serving) {
  if (!server_) return;
  auto* health = server_->GetHealthCheckService();
  if (service.empty()) {
    health->SetServingStatus(serving);
  } else {
    health->SetServingStatus(service, serving);
  }
}

void GrpcServer::setAllServing(bool serving) {
  setServing("", serving);
  for (const auto& name : service_names_) setServing(name, serving);
}

void GrpcServer::stop() {
  if (!server_) return;
  setAllServing(false);
  server_->Shutdown(std::chrono::system_clock::now() + config_.shutdown_grace);
  server_->Wait();
  server_.reset();
  logging::info("grpc server stopped", {{"listen", config_.listen}});
}

}  // namespace tickstream::rpc
