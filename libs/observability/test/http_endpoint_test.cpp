#include <catch2/catch.hpp>

#include <prometheus/counter.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "tickstream/observability/http_endpoint.h"

using namespace tickstream::observability;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

http::response<http::string_body> get(uint16_t port, const std::string& target,
                                      http::verb verb = http::verb::get) {
  boost::asio::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  http::request<http::string_body> req(verb, target, 11);
  req.set(http::field::host, "127.0.0.1");
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.skip(verb == http::verb::head);  // a HEAD answer announces a length but has no body
  http::read(stream, buf, parser);
  return parser.release();
}

}  // namespace

TEST_CASE("/metrics, /healthz and /readyz are served on one port") {
  auto registry = std::make_shared<prometheus::Registry>();
  auto& family = prometheus::BuildCounter().Name("test_events_total").Help("Events seen").Register(*registry);
  family.Add({{"kind", "a"}}).Increment(3);
  auto health = std::make_shared<Health>();
  health->setReady("consumer", false, "starting");
  HttpEndpoint endpoint({"127.0.0.1:0"}, registry, health);
  endpoint.start();
  REQUIRE(endpoint.port() != 0);

  auto metrics = get(endpoint.port(), "/metrics");
  CHECK(metrics.result() == http::status::ok);
  CHECK_THAT(metrics.body(), Catch::Contains("test_events_total{kind=\"a\"} 3"));
  CHECK_THAT(std::string(metrics[http::field::content_type]), Catch::StartsWith("text/plain; version=0.0.4"));

  CHECK(get(endpoint.port(), "/healthz").result() == http::status::ok);
  auto notReady = get(endpoint.port(), "/readyz");
  CHECK(notReady.result() == http::status::service_unavailable);
  CHECK_THAT(notReady.body(), Catch::Contains("FAIL consumer: starting"));
  health->setReady("consumer", true);
  CHECK(get(endpoint.port(), "/readyz").result() == http::status::ok);

  CHECK(get(endpoint.port(), "/nope").result() == http::status::not_found);
  auto head = get(endpoint.port(), "/healthz", http::verb::head);
  CHECK(head.result() == http::status::ok);
  CHECK(head[http::field::content_length] == "3");  // "ok\n", as the GET would send
  CHECK(get(endpoint.port(), "/metrics", http::verb::post).result() == http::status::method_not_allowed);
  endpoint.stop();
}

TEST_CASE("a listen address that cannot be used is refused naming it") {
  CHECK_THROWS_WITH(parseHostPort("localhost"), Catch::Contains("localhost"));
  CHECK_THROWS_WITH(parseHostPort("127.0.0.1:99999"), Catch::Contains("bad port"));
  CHECK(parseHostPort("127.0.0.1:9100") == std::make_pair(std::string("127.0.0.1"), uint16_t{9100}));
  CHECK(parseHostPort("[::1]:80").first == "::1");
  auto registry = std::make_shared<prometheus::Registry>();
  HttpEndpoint first({"127.0.0.1:0"}, registry, std::make_shared<Health>());
  first.start();
  HttpEndpoint second({"127.0.0.1:" + std::to_string(first.port())}, registry, std::make_shared<Health>());
  CHECK_THROWS_WITH(second.start(), Catch::Contains("127.0.0.1:" + std::to_string(first.port())));
}
