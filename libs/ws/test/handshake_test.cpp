#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "requests.h"
#include "tickstream/ws/handshake.h"

using namespace tickstream::ws;
using namespace tickstream::ws::test;

namespace {

HandshakeConfig serverSpeaks(std::vector<std::string> protocols) {
  HandshakeConfig c;
  c.subprotocols = std::move(protocols);
  return c;
}

RequestResult parse(std::string_view bytes, const HandshakeConfig& config = {}) {
  return parseRequest(bytes, config);
}

} // namespace

TEST_CASE("Sec-WebSocket-Accept of RFC 6455's sample key") {
  const auto accept = computeAccept("dGhlIHNhbXBsZSBub25jZQ==");
  CHECK(std::string_view(accept.data(), accept.size()) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("RFC 6455's sample request is an upgrade and the server's preferred subprotocol wins") {
  const auto r = parse(kRfcRequest, serverSpeaks({"superchat", "chat"}));
  REQUIRE(r.kind == RequestKind::Upgrade);
  const HttpRequest& q = r.request;
  CHECK(q.method == "GET");
  CHECK(q.target == "/chat");
  CHECK(q.path == "/chat");
  CHECK(q.query.empty());
  CHECK(q.host == "server.example.com");
  CHECK(q.origin == "http://example.com");
  CHECK(q.key == "dGhlIHNhbXBsZSBub25jZQ==");
  REQUIRE(q.offeredSubprotocols().size() == 2);
  CHECK(q.offeredSubprotocols()[0] == "chat");
  CHECK(q.offeredSubprotocols()[1] == "superchat");
  CHECK(q.subprotocol == "superchat");
  CHECK(q.headerBytes == kRfcRequest.size());
  CHECK(buildUpgradeResponse(q) == "HTTP/1.1 101 Switching Protocols\r\n"
                                   "Upgrade: websocket\r\n"
                                   "Connection: Upgrade\r\n"
                                   "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                                   "Sec-WebSocket-Protocol: superchat\r\n"
                                   "\r\n");
}

TEST_CASE("subprotocol selection") {
  SECTION("server order, not client order") {
    CHECK(parse(kRfcRequest, serverSpeaks({"chat", "superchat"})).request.subprotocol == "chat");
  }
  SECTION("none in common: accepted without a subprotocol, unless one is required") {
    const auto r = parse(kRfcRequest, serverSpeaks({"tickstream.v1"}));
    REQUIRE(r.kind == RequestKind::Upgrade);
    CHECK(r.request.subprotocol.empty());
    CHECK(buildUpgradeResponse(r.request).find("Sec-WebSocket-Protocol") == std::string::npos);
    HandshakeConfig strict = serverSpeaks({"tickstream.v1"});
    strict.requireSubprotocol = true;
    const auto refused = parse(kRfcRequest, strict);
    CHECK(refused.kind == RequestKind::Error);
    CHECK(refused.status == HttpStatus::BadRequest);
  }
  SECTION("names compare case-sensitively") {
    CHECK(parse(kRfcRequest, serverSpeaks({"CHAT"})).request.subprotocol.empty());
  }
  SECTION("several header lines are one list") {
    // The views in the result point into the request: keep it alive.
    const std::string req = upgradeWith("x", "").insert(
        25, "Sec-WebSocket-Protocol: a\r\nSec-WebSocket-Protocol: b,  c\r\n");
    const auto r = parse(req, serverSpeaks({"c"}));
    REQUIRE(r.kind == RequestKind::Upgrade);
    CHECK(r.request.offeredSubprotocols().size() == 3);
    CHECK(r.request.subprotocol == "c");
  }
  SECTION("duplicates, non-tokens and too many are refused") {
    for (const char* bad : {"Sec-WebSocket-Protocol: chat, chat", "Sec-WebSocket-Protocol: a b",
                            "Sec-WebSocket-Protocol: a, \"b\"", "Sec-WebSocket-Protocol: a/b"}) {
      INFO(bad);
      const auto r = parse(upgradeWith("x", "").insert(25, std::string(bad) + "\r\n"));
      CHECK(r.kind == RequestKind::Error);
      CHECK(r.status == HttpStatus::BadRequest);
    }
    std::string many = "Sec-WebSocket-Protocol: p0";
    for (int i = 1; i <= static_cast<int>(kMaxOfferedSubprotocols); ++i) {
      many += ", p" + std::to_string(i);
    }
    CHECK(parse(upgradeWith("x", "").insert(25, many + "\r\n")).kind == RequestKind::Error);
  }
}

TEST_CASE("incomplete input needs more, trailing bytes are left for the frame parser") {
  for (std::size_t n = 0; n < kRfcRequest.size(); ++n) {
    INFO(n);
    REQUIRE(parse(std::string_view(kRfcRequest).substr(0, n)).kind == RequestKind::NeedMore);
  }
  const std::string with_frame = kRfcRequest + "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
  const auto r = parse(with_frame);
  REQUIRE(r.kind == RequestKind::Upgrade);
  CHECK(r.request.headerBytes == kRfcRequest.size());
}

TEST_CASE("a header block over the limit is refused with 431") {
  std::string big = "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(9000, 'a');
  auto r = parse(big);
  CHECK(r.kind == RequestKind::Error);
  CHECK(r.status == HttpStatus::RequestHeaderFieldsTooLarge);
  big += "\r\n\r\n";
  CHECK(parse(big).status == HttpStatus::RequestHeaderFieldsTooLarge);

  HandshakeConfig small;
  small.maxHeaderBytes = 100;
  CHECK(parse(kRfcRequest, small).status == HttpStatus::RequestHeaderFieldsTooLarge);
  CHECK(parse(std::string_view(kRfcRequest).substr(0, 99), small).kind == RequestKind::NeedMore);
  small.maxHeaderBytes = kRfcRequest.size();
  CHECK(parse(kRfcRequest, small).kind == RequestKind::Upgrade);
}

TEST_CASE("bytes that cannot start an HTTP request fail at once") {
  const std::string tls_hello("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
  CHECK(parse(tls_hello).status == HttpStatus::BadRequest);
  CHECK(parse(std::string_view("G\0T", 3)).kind == RequestKind::Error);
  CHECK(parse("GE(T / HTTP/1.1\r\n").kind == RequestKind::Error);
  CHECK(parse("GET / HTTP/1.1\r\nHost: a\x01").kind == RequestKind::Error);
}

TEST_CASE("each required upgrade header, missing or wrong") {
  struct Case {
    const char* header;
    const char* line;
    HttpStatus status;
  };
  const Case cases[] = {
      {"Host", "", HttpStatus::BadRequest},
      {"Connection", "", HttpStatus::BadRequest},
      {"Connection", "Connection: keep-alive", HttpStatus::BadRequest},
      {"Sec-WebSocket-Key", "", HttpStatus::BadRequest},
      {"Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=", HttpStatus::BadRequest},
      {"Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ", HttpStatus::BadRequest},
      {"Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZXg=", HttpStatus::BadRequest},
      {"Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j*Q==", HttpStatus::BadRequest},
      {"Sec-WebSocket-Version", "", HttpStatus::BadRequest},
      {"Sec-WebSocket-Version", "Sec-WebSocket-Version: 8", HttpStatus::UpgradeRequired},
      {"Sec-WebSocket-Version", "Sec-WebSocket-Version: 13, 8", HttpStatus::UpgradeRequired},
  };
  for (const Case& c : cases) {
    INFO(c.header << " -> '" << c.line << "'");
    const auto r = parse(upgradeWith(c.header, c.line));
    CHECK(r.kind == RequestKind::Error);
    CHECK(r.status == c.status);
    CHECK(!r.reason.empty());
  }
  // Without "Upgrade: websocket" it is not an upgrade at all but a plain GET.
  CHECK(parse(upgradeWith("Upgrade", "")).kind == RequestKind::PlainHttp);
  CHECK(parse(upgradeWith("Upgrade", "Upgrade: h2c")).kind == RequestKind::PlainHttp);
  CHECK(parse(upgradeWith("x", "")).kind == RequestKind::Upgrade);
}

TEST_CASE("upgrade must be GET over HTTP/1.1") {
  std::string post = upgradeWith("x", "");
  post.replace(0, 3, "POST");
  CHECK(parse(post).status == HttpStatus::MethodNotAllowed);
  std::string head = upgradeWith("x", "");
  head.replace(0, 3, "HEAD");
  CHECK(parse(head).status == HttpStatus::MethodNotAllowed);
  std::string http10 = upgradeWith("x", "");
  http10.replace(http10.find("HTTP/1.1"), 8, "HTTP/1.0");
  CHECK(parse(http10).status == HttpStatus::BadRequest);
}

TEST_CASE("header names and the upgrade tokens are case-insensitive, Connection is a list") {
  const std::string req = "GET /ws HTTP/1.1\r\n"
                          "host: a\r\n"
                          "UPGRADE: WebSocket\r\n"
                          "connection: keep-alive, UPGRADE\r\n"
                          "sec-websocket-key:dGhlIHNhbXBsZSBub25jZQ==   \r\n"
                          "SEC-WEBSOCKET-VERSION: 13\r\n"
                          "\r\n";
  const auto r = parse(req);
  REQUIRE(r.kind == RequestKind::Upgrade);
  CHECK(r.request.key == "dGhlIHNhbXBsZSBub25jZQ==");
  // Connection split over two lines (Firefox sends "keep-alive, Upgrade" on one).
  const std::string two = "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
                          "Connection: keep-alive\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\n\r\n";
  CHECK(parse(two).kind == RequestKind::Upgrade);
}

TEST_CASE("headers the gateway needs: target, bearer token, X-Forwarded-For, Origin") {
  const std::string req = "GET /v1/stream?token=abc.def&shard=3 HTTP/1.1\r\n"
                          "Host: md.example.com:8443\r\n"
                          "Upgrade: websocket\r\n"
                          "Connection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\n"
                          "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig-_~+/==\r\n"
                          "X-Forwarded-For: 203.0.113.7, 10.0.0.2\r\n"
                          "Origin: https://app.example.com\r\n"
                          "User-Agent: test/1.0\r\n"
                          "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
                          "\r\n";
  const auto r = parse(req);
  REQUIRE(r.kind == RequestKind::Upgrade);
  const HttpRequest& q = r.request;
  CHECK(q.target == "/v1/stream?token=abc.def&shard=3");
  CHECK(q.path == "/v1/stream");
  CHECK(q.query == "token=abc.def&shard=3");
  CHECK(queryParam(q.query, "token") == "abc.def");
  CHECK(queryParam(q.query, "shard") == "3");
  CHECK(queryParam(q.query, "missing").empty());
  CHECK(queryParam(q.query, "tok").empty());
  CHECK(q.host == "md.example.com:8443");
  CHECK(q.authorization == "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig-_~+/==");
  CHECK(q.bearerToken == "eyJhbGciOiJIUzI1NiJ9.e30.sig-_~+/==");
  CHECK(q.forwardedFor == "203.0.113.7, 10.0.0.2");
  CHECK(q.origin == "https://app.example.com");
  CHECK(q.userAgent == "test/1.0");
  CHECK(q.extensions == "permessage-deflate; client_max_window_bits");
  // Extensions are never accepted.
  CHECK(buildUpgradeResponse(q).find("Extensions") == std::string::npos);
}

TEST_CASE("bearer token: scheme case-insensitive, anything else is no token") {
  auto token = [](std::string_view auth) {
    const std::string req = "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: " + std::string(auth) +
                            "\r\n\r\n";
    const auto r = parse(req);
    REQUIRE(r.kind == RequestKind::PlainHttp);
    return std::string(r.request.bearerToken);
  };
  CHECK(token("bearer abc") == "abc");
  CHECK(token("BEARER abc=") == "abc=");
  CHECK(token("Basic dXNlcjpwYXNz").empty());
  CHECK(token("Bearer").empty());
  CHECK(token("Bearer ").empty());
  CHECK(token("Bearer a b").empty());
  CHECK(token("Bearerabc").empty());
  CHECK(token("Bearer =abc").empty());
}

TEST_CASE("plain HTTP on the same port") {
  auto r = parse("GET /v1/route?symbol=AAPL HTTP/1.1\r\nHost: gw\r\n\r\n");
  REQUIRE(r.kind == RequestKind::PlainHttp);
  CHECK(r.request.path == "/v1/route");
  CHECK(queryParam(r.request.query, "symbol") == "AAPL");
  CHECK(r.request.keepAlive);

  r = parse("HEAD / HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n");
  REQUIRE(r.kind == RequestKind::PlainHttp);
  CHECK(r.request.method == "HEAD");
  CHECK_FALSE(r.request.keepAlive);

  r = parse("GET /index.html HTTP/1.0\r\n\r\n");
  REQUIRE(r.kind == RequestKind::PlainHttp);
  CHECK_FALSE(r.request.http11);
  CHECK_FALSE(r.request.keepAlive);
  CHECK(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").request.keepAlive);

  // Leading empty lines are skipped; a pipelined second request is left in the buffer.
  const std::string two =
      "\r\nGET /a HTTP/1.1\r\nHost: gw\r\n\r\nGET /b HTTP/1.1\r\nHost: gw\r\n\r\n";
  r = parse(two);
  REQUIRE(r.kind == RequestKind::PlainHttp);
  CHECK(r.request.path == "/a");
  const auto second = parse(std::string_view(two).substr(r.request.headerBytes));
  REQUIRE(second.kind == RequestKind::PlainHttp);
  CHECK(second.request.path == "/b");

  CHECK(parse("POST /v1/route HTTP/1.1\r\nHost: gw\r\n\r\n").status ==
        HttpStatus::MethodNotAllowed);
  CHECK(parse("get / HTTP/1.1\r\nHost: gw\r\n\r\n").status == HttpStatus::MethodNotAllowed);
  CHECK(parse("GET / HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\n\r\n").kind ==
        RequestKind::PlainHttp);
}

TEST_CASE("malformed requests are 400") {
  const char* bad[] = {
      "GET / HTTP/1.1\r\n\r\n",                                   // HTTP/1.1 without Host
      "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",                       // two spaces
      "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",                       // trailing space
      "GET /\r\nHost: a\r\n\r\n",                                 // HTTP/0.9 style
      "GET / HTTP/2.0\r\nHost: a\r\n\r\n",                        // not 1.x
      "GET / http/1.1\r\nHost: a\r\n\r\n",                        // version is case-sensitive
      "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",                // absolute-form
      "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",                    // asterisk-form
      "GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n",                   // DEL in the target
      "GET / HTTP/1.1\r\nHost : a\r\n\r\n",                       // space before the colon
      "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n",        // obs-fold
      "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n",             // no colon
      "GET / HTTP/1.1\r\nHost: a\r\n: empty-name\r\n\r\n",        // empty name
      "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n",                  // bare LF
      "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n",                  // bare CR
      "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",             // two Hosts
      "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", // a body
      "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -0\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.2.3.4\r\nX-Forwarded-For: 5.6.7.8\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nOrigin: x\r\nOrigin: y\r\n\r\n",
  };
  for (const char* req : bad) {
    INFO(req);
    const auto r = parse(req);
    CHECK(r.kind == RequestKind::Error);
    CHECK(r.status == HttpStatus::BadRequest);
  }
  // A repeated key is refused even when both copies agree.
  std::string twice = upgradeWith("x", "");
  twice.insert(25, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n");
  CHECK(parse(twice).status == HttpStatus::BadRequest);
}

TEST_CASE("error responses carry a text body and what each status needs") {
  auto split = [](const std::string& resp) {
    const auto at = resp.find("\r\n\r\n");
    REQUIRE(at != std::string::npos);
    return std::pair{resp.substr(0, at + 2), resp.substr(at + 4)};
  };
  {
    const auto [head, body] = split(buildTextResponse(HttpStatus::BadRequest, "missing Host"));
    CHECK(head.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
    CHECK(head.find("Content-Type: text/plain; charset=utf-8\r\n") != std::string::npos);
    CHECK(head.find("Content-Length: 13\r\n") != std::string::npos);
    CHECK(head.find("Connection: close\r\n") != std::string::npos);
    CHECK(body == "missing Host\n");
  }
  {
    const auto [head, body] = split(buildTextResponse(HttpStatus::NotFound, "no such page"));
    CHECK(head.rfind("HTTP/1.1 404 Not Found\r\n", 0) == 0);
    CHECK(body == "no such page\n");
  }
  {
    const auto [head, body] = split(buildTextResponse(HttpStatus::MethodNotAllowed, "GET only"));
    CHECK(head.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0) == 0);
    CHECK(head.find("Allow: GET, HEAD\r\n") != std::string::npos);
  }
  {
    const auto [head, body] = split(buildTextResponse(HttpStatus::UpgradeRequired, "v13"));
    CHECK(head.rfind("HTTP/1.1 426 Upgrade Required\r\n", 0) == 0);
    CHECK(head.find("Upgrade: websocket\r\n") != std::string::npos);
    CHECK(head.find("Sec-WebSocket-Version: 13\r\n") != std::string::npos);
    CHECK(head.find("Connection: Upgrade, close\r\n") != std::string::npos);
  }
  {
    const auto [head, body] =
        split(buildTextResponse(HttpStatus::TooManyRequests, "slow down", 30));
    CHECK(head.rfind("HTTP/1.1 429 Too Many Requests\r\n", 0) == 0);
    CHECK(head.find("Retry-After: 30\r\n") != std::string::npos);
    CHECK(body == "slow down\n");
  }
  {
    const auto [head, body] = split(buildTextResponse(HttpStatus::RequestHeaderFieldsTooLarge, ""));
    CHECK(head.rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0) == 0);
    CHECK(head.find("Content-Length: 1\r\n") != std::string::npos);
    CHECK(head.find("Retry-After") == std::string::npos);
  }
}

TEST_CASE("handshake config is validated with the field's name") {
  HandshakeConfig c;
  CHECK_NOTHROW(c.validate());
  c.subprotocols = {"tickstream.v1.proto", "tickstream.v1.json"};
  CHECK_NOTHROW(c.validate());
  c.maxHeaderBytes = 100;
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("maxHeaderBytes"));
  c.maxHeaderBytes = 8192;
  c.subprotocols = {"a b"};
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("subprotocols"));
  c.subprotocols = {"x", "x"};
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("twice"));
  c.subprotocols.clear();
  c.requireSubprotocol = true;
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("requireSubprotocol"));
}
