#include "tickstream/observability/http_endpoint.h"

#include <prometheus/text_serializer.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <charconv>
#include <stdexcept>

#include "tickstream/runtime/logging.h"

namespace tickstream::observability {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::pair<std::string, uint16_t> parseHostPort(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) {
    throw std::invalid_argument("listen address '" + listen + "': expected host:port");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  const char* first = listen.data() + colon + 1;
  const char* last = listen.data() + listen.size();
  auto [ptr, ec] = std::from_chars(first, last, port);
  if (ec != std::errc() || ptr != last || port > 65535) {
    throw std::invalid_argument("listen address '" + listen + "': bad port");
  }
  return {host, static_cast<uint16_t>(port)};
}

std::string renderMetrics(prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

namespace {

// One HTTP/1.1 connection: read a request, answer it, repeat while keep-alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  using Handler = std::function<http::response<http::string_body>(const http::request<http::string_body>&)>;

  Session(tcp::socket socket, const Handler& handler) : stream_(std::move(socket)), handler_(handler) {}

  void run() { read(); }

 private:
  void read() {
    request_ = {};
    // A client that sends nothing for this long is dropped: no idle socket piles up.
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, request_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->onRead(ec); });
  }

  void onRead(beast::error_code ec) {
    if (ec) {
      stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      return;
    }
    response_ = handler_(request_);
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code wec, std::size_t) {
      if (wec || !self->response_.keep_alive()) {
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, wec);
        return;
      }
      self->read();
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  const Handler& handler_;
};

}  // namespace

struct HttpEndpoint::Impl {
  HttpEndpointConfig config;
  std::shared_ptr<prometheus::Registry> registry;
  std::shared_ptr<Health> health;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  Session::Handler handler;
  std::thread thread;
  uint16_t port = 0;

  http::response<http::string_body> respond(const http::request<http::string_body>& req) {
    http::response<http::string_body> res;
    res.set(http::field::server, "tickstream");
    std::string_view target(req.target().data(), req.target().size());
    target = target.substr(0, target.find('?'));
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      res.result(http::status::method_not_allowed);
      res.set(http::field::content_type, "text/plain");
      res.body() = "only GET\n";
    } else if (target == "/metrics") {
      res.result(http::status::ok);
      res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      res.body() = renderMetrics(*registry);
    } else if (target == "/healthz") {
      res.result(health->live() ? http::status::ok : http::status::service_unavailable);
      res.set(http::field::content_type, "text/plain");
      res.body() = health->livenessReport();
    } else if (target == "/readyz") {
      res.result(health->ready() ? http::status::ok : http::status::service_unavailable);
      res.set(http::field::content_type, "text/plain");
      res.body() = health->readinessReport();
    } else {
      res.result(http::status::not_found);
      res.set(http::field::content_type, "text/plain");
      res.body() = "not found; try /metrics, /healthz or /readyz\n";
    }
    res.version(req.version());
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    if (req.method() == http::verb::head) {
      // HEAD: the headers of the GET (its Content-Length included), without the body.
      const auto length = res.body().size();
      res.body().clear();
      res.content_length(length);
    }
    return res;
  }

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) std::make_shared<Session>(std::move(socket), handler)->run();
      accept();
    });
  }
};

HttpEndpoint::HttpEndpoint(HttpEndpointConfig config, std::shared_ptr<prometheus::Registry> registry,
                           std::shared_ptr<Health> health)
    : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
  impl_->registry = std::move(registry);
  impl_->health = std::move(health);
  impl_->handler = [impl = impl_.get()](const http::request<http::string_body>& req) { return impl->respond(req); };
}

HttpEndpoint::~HttpEndpoint() { stop(); }

void HttpEndpoint::start() {
  auto [host, port] = parseHostPort(impl_->config.listen);
  beast::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("http listen " + impl_->config.listen + ": bad address: " + ec.message());
  tcp::endpoint ep(address, port);
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("http listen " + impl_->config.listen + ": " + ec.message());
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->accept();
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
  logging::info("http endpoint listening",
                {{"address", host}, {"port", impl_->port}, {"paths", "/metrics /healthz /readyz"}});
}

void HttpEndpoint::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->io.stop();
  impl_->thread.join();
  beast::error_code ec;
  impl_->acceptor.close(ec);
}

uint16_t HttpEndpoint::port() const { return impl_->port; }

std::unique_ptr<HttpEndpoint> startHttpEndpoint(const std::string& listen,
                                                std::shared_ptr<prometheus::Registry> registry,
                                                std::shared_ptr<Health> health) {
  if (listen.empty()) return nullptr;
  auto endpoint = std::make_unique<HttpEndpoint>(HttpEndpointConfig{listen}, std::move(registry),
                                                 std::move(health));
  endpoint->start();  // logs the bound port
  return endpoint;
}

}  // namespace tickstream::observability
