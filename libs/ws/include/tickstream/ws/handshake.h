#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// The HTTP/1.1 side of RFC 6455 (section 4), server only: parse a request header block, decide
// whether it is a WebSocket upgrade, a plain HTTP GET for the same port (/v1/route, static files)
// or an error, and build the response bytes. Sans I/O: the caller accumulates the bytes it read
// and calls parseRequest() again until it stops answering NeedMore.
//
// The parser is our own rather than Beast's http::parser: the request is parsed in place and every
// field of HttpRequest is a view into the caller's bytes (no allocation, nothing to keep alive
// but the read buffer), and the grammar accepted is deliberately narrow — CRLF line endings only,
// no obs-fold, no whitespace before a colon, no request body — which closes off the
// request-smuggling ambiguities a lenient parser has to resolve. A unit test checks it against
// Beast's parser on the requests both accept.
namespace tickstream::ws {

enum class HttpStatus : uint16_t {
  Ok = 200,
  SwitchingProtocols = 101,
  BadRequest = 400,
  Forbidden = 403,
  NotFound = 404,
  MethodNotAllowed = 405,
  UpgradeRequired = 426,
  TooManyRequests = 429,
  RequestHeaderFieldsTooLarge = 431,
  InternalServerError = 500,
  ServiceUnavailable = 503,
};

[[nodiscard]] std::string_view reasonPhrase(HttpStatus status) noexcept;

// Most subprotocols a client may offer (all Sec-WebSocket-Protocol lines together); more is 400.
inline constexpr std::size_t kMaxOfferedSubprotocols = 16;

struct HandshakeConfig {
  // Request line + header lines + the blank line; a longer header block is refused with 431.
  std::size_t maxHeaderBytes = 8 * 1024;
  // Subprotocols the server speaks, most preferred first. The first of these that the client
  // offers is chosen (server preference, not client order); names compare case-sensitively.
  std::vector<std::string> subprotocols;
  // Refuse (400) an upgrade that offers none of `subprotocols`. When false such a client is
  // accepted without a Sec-WebSocket-Protocol in the response, which RFC 6455 leaves to the
  // client to accept or fail.
  bool requireSubprotocol = false;

  // Throws std::invalid_argument naming the first bad field: maxHeaderBytes outside
  // 256 B..1 MiB, a subprotocol that is not an HTTP token or is listed twice.
  void validate() const;
};

enum class RequestKind : uint8_t {
  NeedMore,  // the header block is not complete yet: read more and call again with all bytes
  Upgrade,   // a valid WebSocket upgrade: send buildUpgradeResponse(request)
  PlainHttp, // a GET or HEAD without "Upgrade: websocket": the gateway serves it itself
  Error,     // send buildTextResponse(status, reason) and close the connection
};

// Every view points into the bytes given to parseRequest(). Absent headers are empty views.
struct HttpRequest {
  std::string_view method;        // "GET" or "HEAD"
  std::string_view target;        // origin-form request target: path and query, e.g. "/v1/md?x=1"
  std::string_view path;          // target up to '?', not percent-decoded
  std::string_view query;         // after '?', empty if none
  bool http11 = true;             // HTTP/1.1 (false: HTTP/1.0)
  bool keepAlive = true;          // PlainHttp: the connection may serve another request after
                                  // this one (HTTP/1.1 without "Connection: close")
  std::string_view host;          // Host
  std::string_view origin;        // Origin, sent by browsers: check it against an allow list
  std::string_view authorization; // Authorization as sent
  std::string_view bearerToken;   // the token of "Authorization: Bearer <token>", else empty
  std::string_view forwardedFor;  // X-Forwarded-For as sent: trust only what your proxy added
  std::string_view userAgent;     // User-Agent
  std::string_view key;           // Sec-WebSocket-Key (Upgrade only)
  std::string_view extensions;    // Sec-WebSocket-Extensions as offered; never accepted
  std::array<std::string_view, kMaxOfferedSubprotocols> offered{}; // Sec-WebSocket-Protocol
  std::size_t offeredCount = 0;
  std::string_view subprotocol;   // the one chosen from HandshakeConfig::subprotocols, or empty
  std::size_t headerBytes = 0;    // bytes of the header block, including the final CRLF CRLF;
                                  // what follows in the buffer is the client's first frames
                                  // (Upgrade) or its next pipelined request (PlainHttp)

  [[nodiscard]] std::span<const std::string_view> offeredSubprotocols() const noexcept {
    return {offered.data(), offeredCount};
  }
};

struct RequestResult {
  RequestKind kind = RequestKind::NeedMore;
  HttpStatus status = HttpStatus::Ok; // Error: the response status (400/405/426/431)
  std::string_view reason;            // Error: a static one-line explanation for the body
  HttpRequest request;                // Upgrade/PlainHttp: the parsed request
};

// Parses the start of `bytes` as an HTTP/1.x request header block. Rules on top of RFC 7230:
// - leading empty lines are skipped; lines end in CRLF; no obs-fold; bytes that cannot start an
//   HTTP request (a TLS ClientHello, a control character) fail at once instead of waiting for
//   maxHeaderBytes;
// - GET and HEAD only (else 405); an origin-form target; HTTP/1.1 needs Host; a request body
//   (Content-Length other than 0, Transfer-Encoding) is 400;
// - one of each of Host, Authorization, Origin, X-Forwarded-For, Sec-WebSocket-Key and
//   Sec-WebSocket-Version (a repeated one is 400); list headers (Connection, Upgrade,
//   Sec-WebSocket-Protocol, Sec-WebSocket-Extensions) may repeat;
// - an upgrade is a request whose Upgrade header lists "websocket". It must be GET over HTTP/1.1
//   (405 / 400), have "upgrade" in Connection, a Sec-WebSocket-Key that is base64 of 16 bytes
//   (400) and Sec-WebSocket-Version 13 (missing: 400; another version: 426). Offered
//   subprotocols must be distinct tokens (400).
[[nodiscard]] RequestResult parseRequest(std::string_view bytes,
                                         const HandshakeConfig& config) noexcept;

// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), 28 characters.
[[nodiscard]] std::array<char, 28> computeAccept(std::string_view key) noexcept;

// "HTTP/1.1 101 Switching Protocols" with Upgrade, Connection, Sec-WebSocket-Accept and, when one
// was chosen, Sec-WebSocket-Protocol. No Sec-WebSocket-Extensions: none is ever accepted.
[[nodiscard]] std::string buildUpgradeResponse(const HttpRequest& request);

// A complete response with a text/plain body (`text` plus a newline) and "Connection: close":
// for errors (400/403/404/405/426/429/431/503) and other one-off answers. Adds what each status
// needs: 405 "Allow: GET, HEAD", 426 "Upgrade: websocket" and "Sec-WebSocket-Version: 13", and
// with retry_after_s > 0 "Retry-After" (429, 503).
[[nodiscard]] std::string buildTextResponse(HttpStatus status, std::string_view text,
                                            uint32_t retry_after_s = 0);

// Value of `name` in a query string ("a=1&b=2"), not percent-decoded; empty if absent. Browsers
// cannot set Authorization on a WebSocket, so tokens often come as "?token=...".
[[nodiscard]] std::string_view queryParam(std::string_view query, std::string_view name) noexcept;

} // namespace tickstream::ws
