#include "server.h"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>

#include <google/protobuf/util/json_util.h>

#include "connection.h"
#include "grpc_streams.h"
#include "protocol.h"
#include "tickstream/gateway/v1/route.pb.h"
#include "tickstream/observability/http_endpoint.h"
#include "tickstream/runtime/clock.h"
#include "tickstream/runtime/logging.h"

namespace tickstream::gateway {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto kTick = 10ms;           // deferred (min interval) updates are released this often
constexpr uint64_t kHousekeepEvery = 100;  // ticks: ~1 s
constexpr int kAcceptBurst = 128;

std::string okResponse(std::string_view content_type, std::string_view body) {
  std::string out = "HTTP/1.1 200 OK\r\nContent-Type: ";
  out += content_type;
  out += "\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n";
  out += body;
  return out;
}

std::string_view contentType(std::string_view path) {
  if (path.ends_with(".html")) return "text/html; charset=utf-8";
  if (path.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (path.ends_with(".css")) return "text/css; charset=utf-8";
  return "application/octet-stream";
}

} // namespace

void GatewayConfig::validate() const {
  if (shard_count < 1) throw std::invalid_argument("--shard-count must be >= 1");
  if (shard_id < 0 || shard_id >= shard_count) {
    throw std::invalid_argument("--shard-id must be 0..shard-count-1");
  }
  if (replication < 1 || replication > shard_count) {
    throw std::invalid_argument("--replication must be 1..shard-count");
  }
  if (partitions < 1) throw std::invalid_argument("--md-partitions must be >= 1");
  if (!shard_endpoints.empty() && static_cast<int32_t>(shard_endpoints.size()) != shard_count) {
    throw std::invalid_argument("--shard-endpoints must name one URL per shard");
  }
  if (!grpc_shard_endpoints.empty() &&
      static_cast<int32_t>(grpc_shard_endpoints.size()) != shard_count) {
    throw std::invalid_argument("--grpc-shard-endpoints must name one HOST:PORT per shard");
  }
  if (max_symbols < 1) throw std::invalid_argument("--max-symbols must be >= 1");
  if (max_inbound_per_second < 1) throw std::invalid_argument("--max-inbound-per-second must be >= 1");
  if (max_frame_bytes < 256) throw std::invalid_argument("--max-frame-bytes must be >= 256");
  if (upgrades_per_ip_per_second <= 0 || upgrade_burst_per_ip < 1) {
    throw std::invalid_argument("--upgrades-per-ip-per-second and --upgrade-burst-per-ip must be positive");
  }
  if (auth.hs256_secret.empty() && auth.rs256_public_key_pem.empty() && !allow_anonymous) {
    throw std::invalid_argument(
        "no JWT key: give --jwt-hs256-secret or --jwt-rs256-public-key, or --allow-anonymous");
  }
  if (!auth.hs256_secret.empty() || !auth.rs256_public_key_pem.empty()) {
    auth.validate();
  }
}

Server::Server(asio::io_context& io, GatewayConfig config, SymbolStore& store,
               const sharding::ShardRing& ring, GatewayMetrics* metrics)
    : io_(io), config_((config.validate(), std::move(config))), store_(store), ring_(ring),
      metrics_(metrics), acceptor_(io), timer_(io), accept_retry_(io),
      upgrades_(auth::KeyedRateLimiterConfig{
          .limit = {config_.upgrades_per_ip_per_second, config_.upgrade_burst_per_ip}}) {
  if (!config_.auth.hs256_secret.empty() || !config_.auth.rs256_public_key_pem.empty()) {
    verifier_ = auth::Verifier::fromConfig(config_.auth);
  }
  handshake_.subprotocols = {std::string(kProtoSubprotocol), std::string(kJsonSubprotocol)};
}

Server::~Server() = default;

void Server::start() {
  const auto [host, port] = observability::parseHostPort(config_.listen);
  const tcp::endpoint ep(asio::ip::make_address(host), port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  boost::system::error_code ec;
  acceptor_.bind(ep, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + config_.listen + ": " + ec.message());
  }
  acceptor_.listen(asio::socket_base::max_listen_connections);
  port_ = acceptor_.local_endpoint().port();
  accept();
  timer_.expires_after(kTick);
  timer_.async_wait([this](const boost::system::error_code& e) {
    if (!e) tick();
  });
}

void Server::admit(tcp::socket socket) {
  boost::system::error_code e2;
  const auto remote = socket.remote_endpoint(e2);
  const std::string peer = e2 ? "?" : remote.address().to_string();
  // Per-IP upgrade rate limit, before any parsing: a reconnect storm costs an accept and a
  // 429, not a handshake and a subscription replay each.
  auto key = e2 ? std::optional<auth::IpKey>{} : auth::IpKey::parse(peer);
  const int64_t now = runtime::wallClockNs();
  if (key && !upgrades_.tryTake(*key, now)) {
    if (metrics_) metrics_->upgrades_rate_limited.Increment();
    const auto retry_s = static_cast<uint32_t>(upgrades_.retryAfterNs(*key, now) / 1'000'000'000 + 1);
    auto response = std::make_shared<std::string>(
        ws::buildTextResponse(ws::HttpStatus::TooManyRequests, "too many connections\n", retry_s));
    auto sock = std::make_shared<tcp::socket>(std::move(socket));
    asio::async_write(*sock, asio::buffer(*response),
                      [sock, response](const boost::system::error_code&, std::size_t) {
                        boost::system::error_code ignored;
                        sock->shutdown(tcp::socket::shutdown_both, ignored);
                      });
    return;
  }
  socket.set_option(tcp::no_delay(true), e2);
  if (config_.socket_send_buffer_bytes > 0) {
    // Bounds the kernel's share of a slow client's backlog too.
    socket.set_option(asio::socket_base::send_buffer_size(config_.socket_send_buffer_bytes), e2);
  }
  uint32_t index;
  if (!free_indices_.empty()) {
    index = free_indices_.back();
    free_indices_.pop_back();
  } else {
    index = static_cast<uint32_t>(by_index_.size());
    by_index_.push_back(nullptr);
    dirty_.grow(by_index_.size());
    slots_.push_back(0);
  }
  auto c = std::make_shared<Connection>(*this, std::move(socket), peer, index);
  by_index_[index] = c.get();
  connections_.insert(c);
  if (metrics_) {
    metrics_->connections.Set(static_cast<double>(connections_.size()));
    metrics_->connections_total.Increment();
  }
  c->start();
}

void Server::accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) {
      return;
    }
    if (ec) {
      // e.g. out of file descriptors: retry after a pause instead of spinning on the error.
      logging::warn("accept failed", {{"error", ec.message()}});
      accept_retry_.expires_after(100ms);
      accept_retry_.async_wait([this](const boost::system::error_code& e) {
        if (!e && !draining_) accept();
      });
      return;
    }
    admit(std::move(socket));
    // Take what else is waiting in the backlog now. One accept per completion would let a busy
    // I/O thread (fan-out batches between completions) admit only a few connections per second
    // while the backlog overflows into resets.
    boost::system::error_code e2;
    acceptor_.non_blocking(true, e2);
    for (int i = 0; i < kAcceptBurst && !draining_; ++i) {
      tcp::socket next(io_);
      acceptor_.accept(next, e2);
      if (e2) {
        break;  // would_block: the backlog is empty (other errors surface in async_accept)
      }
      admit(std::move(next));
    }
    if (!draining_) {
      accept();
    }
  });
}

void Server::tick() {
  const int64_t now = runtime::wallClockNs();
  for (const uint32_t index : deferred_) {
    wake(index);  // each pulls again; one still held back defers itself again
  }
  deferred_.clear();
  if (metrics_) {
    delivery_stats_.flushTo(*metrics_);
  }
  housekeepSlice(now);
  timer_.expires_after(kTick);
  timer_.async_wait([this](const boost::system::error_code& e) {
    if (!e) tick();
  });
}

void Server::housekeepSlice(int64_t now) {
  // Every connection about once per kHousekeepEvery ticks, a slice per tick. All at once, the
  // connections that came together (a deploy's reconnect storm, a load test's ramp) were pinged
  // together: 15 s later ~2,500 pings and their pongs in one tick, then again every 15 s, and
  // the pass itself (a cold cache line or two per connection) held the sweep up meanwhile.
  const std::size_t slice = (by_index_.size() + kHousekeepEvery - 1) / kHousekeepEvery;
  for (std::size_t k = 0; k < slice; ++k) {
    if (housekeep_cursor_ >= by_index_.size()) {
      housekeep_cursor_ = 0;
      if (metrics_) {  // a whole pass counted
        metrics_->connections.Set(static_cast<double>(connections_.size()));
        metrics_->subscriptions.Set(static_cast<double>(housekept_subscriptions_));
      }
      housekept_subscriptions_ = 0;
    }
    if (Connection* c = by_index_[housekeep_cursor_++]) {
      const auto keep = c->shared_from_this();  // housekeeping may close it, and closed() drop it
      keep->housekeeping(now);
      housekept_subscriptions_ += keep->subscriptions();
    }
  }
}

void Server::loadSnapshots(const std::vector<marketdata::v1::SymbolSnapshot>& snapshots) {
  for (const auto& s : snapshots) {
    store_.loadSnapshot(s);
  }
}

void Server::onUpdates(const std::vector<UpdatePtr>& updates) {
  for (const auto& u : updates) {
    const ApplyStatus st = store_.apply(u);
    if (metrics_) {
      if (st == ApplyStatus::Stale) metrics_->updates_stale.Increment();
      if (st == ApplyStatus::Gap) metrics_->updates_gap.Increment();
      if (st == ApplyStatus::Applied || st == ApplyStatus::Gap) metrics_->updates_in.Increment();
    }
    if (st != ApplyStatus::Applied && st != ApplyStatus::Gap) {
      continue;
    }
    // A topic once created follows every update, subscribers or not: its newest and its count
    // must match the store, or a client that resumes into it later (its replay comes from the
    // store) could be pulled an older update as the newest (found by the mode-change test).
    auto it = topics_.find(u->symbol());
    Topic* topic = it != topics_.end() ? &it->second : nullptr;
    const bool to_grpc = grpc_streams_ != nullptr && grpc_streams_->wants(u->symbol());
    if (topic == nullptr && !to_grpc) {
      continue;
    }
    // Encoded once per (encoding, modes) variant on first use, shared by every subscriber.
    auto frames = std::make_shared<UpdateFrames>(u, config_.latency_from_exchange);
    if (topic != nullptr) {
      topic->publish(frames);
      for (const uint32_t subscriber : topic->subscribers) {
        markDirty(subscriber);
      }
    }
    if (to_grpc) {
      grpc_streams_->offer(frames, st == ApplyStatus::Gap);
    }
  }
}

void Server::postSweep() {
  sweep_posted_ = true;
  asio::post(io_, [this] {
    sweep_posted_ = false;
    sweep();
  });
}

void Server::sweep() {
  // A slice, not the whole pass: between slices the I/O thread applies the md.ticks batches
  // that came meanwhile, so a connection further on in this pass writes them at once instead
  // of a pass later. 64 writes take about 0.8 ms at loopback's ~13 µs a write.
  constexpr int kSweepSlice = 64;
  for (int n = 0; n < kSweepSlice; ++n) {
    const std::optional<uint32_t> index = dirty_.take();
    if (!index) {
      return;
    }
    const uint64_t slots = std::exchange(slots_[*index], 0);
    if (Connection* c = by_index_[*index]) {
      const auto keep = c->shared_from_this();  // a failed write may close it mid-flush
      c->pullFrom(slots);
      c->flush();
    }
  }
  if (!dirty_.empty() && !sweep_posted_) {
    postSweep();
  }
}

Topic* Server::subscribe(std::string_view symbol, uint32_t index, uint32_t slot) {
  Topic& t = topics_.try_emplace(std::string(symbol), std::string(symbol)).first->second;
  t.subscribers.push_back(packSubscriber(index, slot));
  return &t;
}

void Server::unsubscribe(Topic& topic, uint32_t index) {
  auto& v = topic.subscribers;
  auto pos = std::find_if(v.begin(), v.end(),
                          [index](uint32_t s) { return subscriberIndex(s) == index; });
  if (pos != v.end()) {
    *pos = v.back();  // order among subscribers does not matter
    v.pop_back();
  }
}

void Server::moveSubscriber(Topic& topic, uint32_t index, uint32_t from, uint32_t to) {
  auto& v = topic.subscribers;
  auto pos = std::find(v.begin(), v.end(), packSubscriber(index, from));
  if (pos != v.end()) {
    *pos = packSubscriber(index, to);
  }
}

void Server::closed(const std::shared_ptr<Connection>& c) {
  by_index_[c->index()] = nullptr;
  slots_[c->index()] = 0;
  free_indices_.push_back(c->index());
  connections_.erase(c);
  if (metrics_) {
    metrics_->connections.Set(static_cast<double>(connections_.size()));
  }
}

void Server::drain(std::function<void()> done) {
  draining_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  gateway::v1::Reconnect r;
  r.set_reason(gateway::v1::RECONNECT_REASON_DRAINING);
  r.set_retry_after_ms(config_.reconnect_after_ms);
  r.set_message("shard " + std::to_string(config_.shard_id) + " is shutting down");
  std::vector<std::shared_ptr<Connection>> all(connections_.begin(), connections_.end());
  for (const auto& c : all) {
    c->drain(r);
  }
  auto deadline = std::make_shared<asio::steady_timer>(io_);
  auto poll = std::make_shared<std::function<void()>>();
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.drain_grace_ms);
  // The pending wait holds the poll; the poll refers to itself weakly (a strong self-reference
  // would be a cycle, leaked after the drain: ASan found it).
  std::weak_ptr<std::function<void()>> self = poll;
  *poll = [this, deadline, self, until, done = std::move(done)] {
    if (connections_.empty() || std::chrono::steady_clock::now() >= until) {
      std::vector<std::shared_ptr<Connection>> left(connections_.begin(), connections_.end());
      for (const auto& c : left) {
        c->abort("drain grace over");
      }
      timer_.cancel();
      accept_retry_.cancel();
      done();
      return;
    }
    deadline->expires_after(50ms);
    deadline->async_wait([next = self.lock()](const boost::system::error_code&) { (*next)(); });
  };
  (*poll)();
}

std::string Server::endpointOf(int32_t shard) const {
  if (shard < 0) {
    return {};
  }
  if (!config_.shard_endpoints.empty()) {
    return config_.shard_endpoints[static_cast<std::size_t>(shard)];
  }
  if (shard == config_.shard_id) {
    return "ws://" + config_.listen.substr(0, config_.listen.rfind(':')) + ":" +
           std::to_string(port_) + "/v1/stream";
  }
  return {};
}

std::string Server::routeResponse(std::string_view query) {
  gateway::v1::RouteResponse r;
  r.set_shard_count(static_cast<uint32_t>(ring_.shardCount()));
  r.set_partition_count(static_cast<uint32_t>(ring_.partitionCount()));
  std::string_view symbols = ws::queryParam(query, "symbols");
  while (!symbols.empty()) {
    const auto comma = symbols.find(',');
    const std::string_view s = symbols.substr(0, comma);
    symbols = comma == std::string_view::npos ? std::string_view{} : symbols.substr(comma + 1);
    if (s.empty()) {
      continue;
    }
    if (!validSymbol(s)) {
      r.add_unknown_symbols(std::string(s));
      continue;
    }
    const sharding::Route route = ring_.route(s);
    auto* out = r.add_routes();
    out->set_symbol(std::string(s));
    out->set_partition(static_cast<uint32_t>(route.partition));
    for (const int32_t shard : route.shards) {
      auto* e = out->add_shards();
      e->set_shard_id(static_cast<uint32_t>(shard));
      e->set_endpoint(endpointOf(shard));
    }
  }
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(r, &json);
  return json;
}

std::string Server::httpResponse(const ws::HttpRequest& request) {
  if (request.method != "GET") {
    return ws::buildTextResponse(ws::HttpStatus::MethodNotAllowed, "GET only\n");
  }
  if (request.path == "/v1/route") {
    return okResponse("application/json", routeResponse(request.query));
  }
  if (request.path == "/v1/symbols") {
    // The symbols this shard serves, sorted: what a watchlist can offer.
    std::vector<std::string> names = store_.symbols();
    std::sort(names.begin(), names.end());
    std::string body = "[";
    for (const auto& name : names) {
      if (!validSymbol(name)) {
        continue;  // only [A-Z0-9.-]: nothing to escape
      }
      body += (body.size() > 1 ? ",\"" : "\"") + name + "\"";
    }
    body += "]";
    return okResponse("application/json", body);
  }
  if (request.path == "/healthz") {
    return okResponse("text/plain", "ok\n");
  }
  if (!config_.static_dir.empty()) {
    std::string path(request.path == "/" ? "/index.html" : request.path);
    if (path.find("..") == std::string::npos) {
      std::ifstream in(config_.static_dir + path, std::ios::binary);
      if (in) {
        std::ostringstream body;
        body << in.rdbuf();
        return okResponse(contentType(path), body.str());
      }
    }
  }
  return ws::buildTextResponse(ws::HttpStatus::NotFound, "not found\n");
}

} // namespace tickstream::gateway
