// Boost.Beast's HTTP parser as a second opinion on ours (handshake.h explains why we have our own).
// GCC 12 reports a false -Wmaybe-uninitialized inside Beast's parser (boost::optional) once it is
// inlined with -O2 and the sanitizers; it is Beast's code, not this test's.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <catch2/catch.hpp>

#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <string>
#include <vector>

#include "requests.h"
#include "tickstream/ws/handshake.h"

using namespace tickstream::ws;
using namespace tickstream::ws::test;

namespace {

std::string_view sv(boost::beast::string_view s) { return {s.data(), s.size()}; }

RequestResult parse(std::string_view bytes, const HandshakeConfig& config = {}) {
  return parseRequest(bytes, config);
}

} // namespace

// A second opinion: on requests both accept, Beast's parser sees the same method, target and
// header values, and agrees on which are WebSocket upgrades; what Beast refuses we refuse too.
TEST_CASE("agrees with Boost.Beast's HTTP parser") {
  namespace http = boost::beast::http;
  struct Beast {
    bool ok = false;
    http::request<http::empty_body> req;
  };
  auto beastParse = [](const std::string& bytes) {
    Beast out;
    http::request_parser<http::empty_body> p;
    p.header_limit(8 * 1024);
    p.eager(true);
    boost::beast::error_code ec;
    p.put(boost::asio::const_buffer(bytes.data(), bytes.size()), ec);
    out.ok = !ec && p.is_header_done();
    if (out.ok) {
      out.req = p.release();
    }
    return out;
  };
  std::vector<std::string> valid = {kRfcRequest,
                                    upgradeWith("x", ""),
                                    upgradeWith("Upgrade", ""),
                                    "GET /v1/route?symbol=AAPL HTTP/1.1\r\nHost: gw\r\n\r\n",
                                    "HEAD /index.html HTTP/1.0\r\nUser-Agent: x y z\r\n\r\n",
                                    "GET /%7Ea?b=%20 HTTP/1.1\r\nHost:gw\r\nOrigin:   o  \r\n"
                                    "Authorization: Bearer t\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n",
                                    "GET / HTTP/1.1\r\nHOST: h\r\nX-Empty:\r\n\r\n"};
  for (const std::string& req : valid) {
    INFO(req);
    const auto ours = parse(req);
    const Beast theirs = beastParse(req);
    REQUIRE(theirs.ok);
    REQUIRE((ours.kind == RequestKind::Upgrade || ours.kind == RequestKind::PlainHttp));
    const HttpRequest& q = ours.request;
    CHECK(q.method == sv(theirs.req.method_string()));
    CHECK(q.target == sv(theirs.req.target()));
    CHECK(q.host == sv(theirs.req[http::field::host]));
    CHECK(q.origin == sv(theirs.req[http::field::origin]));
    CHECK(q.authorization == sv(theirs.req[http::field::authorization]));
    CHECK(q.userAgent == sv(theirs.req[http::field::user_agent]));
    CHECK(q.forwardedFor == sv(theirs.req["X-Forwarded-For"]));
    CHECK(q.key == sv(theirs.req[http::field::sec_websocket_key]));
    CHECK((ours.kind == RequestKind::Upgrade) == boost::beast::websocket::is_upgrade(theirs.req));
  }
  const std::vector<std::string> malformed = {
      "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n",
      "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\x80X: b\r\n\r\n"};
  for (const std::string& req : malformed) {
    INFO(req);
    if (!beastParse(req).ok) {
      CHECK(parse(req).kind == RequestKind::Error);
    }
  }
}
