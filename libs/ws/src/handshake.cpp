#include "tickstream/ws/handshake.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace tickstream::ws {

namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// tchar of RFC 7230 section 3.2.6: the characters of a method, a header name or a token.
bool isTchar(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  if ((u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z')) {
    return true;
  }
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool isToken(std::string_view s) noexcept {
  return !s.empty() && std::all_of(s.begin(), s.end(), isTchar);
}

// field-vchar / obs-text / SP / HTAB: anything but the other control characters.
bool isFieldValueChar(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7F);
}

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) {
      return false;
    }
  }
  return true;
}

std::string_view trimOws(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// Calls fn(element) for each non-empty element of a comma-separated list (RFC 7230 section 7),
// trimmed of whitespace. Stops and returns false as soon as fn does.
template <typename Fn>
bool forEachListElement(std::string_view list, Fn&& fn) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view element = trimOws(list.substr(0, comma));
    if (!element.empty() && !fn(element)) {
      return false;
    }
    if (comma == std::string_view::npos) {
      break;
    }
    list.remove_prefix(comma + 1);
  }
  return true;
}

bool isBase64Char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// 16 bytes in base64 are 22 characters and "==" (RFC 6455 section 4.1, item 7).
bool isValidKey(std::string_view key) noexcept {
  return key.size() == 24 && key[22] == '=' && key[23] == '=' &&
         std::all_of(key.begin(), key.begin() + 22, isBase64Char);
}

// b64token of RFC 6750 section 2.1.
bool isB64Token(std::string_view s) noexcept {
  std::size_t n = 0;
  while (n < s.size() && (isBase64Char(s[n]) || s[n] == '-' || s[n] == '.' || s[n] == '_' ||
                          s[n] == '~')) {
    ++n;
  }
  if (n == 0) {
    return false;
  }
  while (n < s.size() && s[n] == '=') {
    ++n;
  }
  return n == s.size();
}

std::string_view bearerToken(std::string_view authorization) noexcept {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() ||
      !iequals(authorization.substr(0, kScheme.size()), kScheme) ||
      authorization[kScheme.size()] != ' ') {
    return {};
  }
  const std::string_view token = trimOws(authorization.substr(kScheme.size()));
  return isB64Token(token) ? token : std::string_view{};
}

RequestResult fail(HttpStatus status, std::string_view reason) noexcept {
  RequestResult r;
  r.kind = RequestKind::Error;
  r.status = status;
  r.reason = reason;
  return r;
}

// Whether an incomplete request can still become a valid one: a TLS ClientHello, a binary
// protocol or a port scanner fails now instead of after maxHeaderBytes or a read timeout.
bool plausiblePrefix(std::string_view prefix) noexcept {
  bool in_method = true;
  for (const char c : prefix) {
    const auto u = static_cast<unsigned char>(c);
    if (u == '\r' || u == '\n') {
      in_method = false;
      continue;
    }
    if (!isFieldValueChar(c)) {
      return false;
    }
    if (in_method) {
      if (c == ' ') {
        in_method = false;
      } else if (!isTchar(c)) {
        return false;
      }
    }
  }
  return true;
}

struct Seen {
  bool host = false;
  bool origin = false;
  bool authorization = false;
  bool forwardedFor = false;
  bool key = false;
  bool version = false;
  bool extensions = false;
  bool userAgent = false;
  bool connUpgrade = false;
  bool connClose = false;
  bool connKeepAlive = false;
  bool upgradeWebsocket = false;
  bool badProtocolList = false;
  bool tooManyProtocols = false;
  std::string_view version13;
};

} // namespace

void HandshakeConfig::validate() const {
  if (maxHeaderBytes < 256 || maxHeaderBytes > 1024 * 1024) {
    throw std::invalid_argument("HandshakeConfig.maxHeaderBytes must be 256..1048576, got " +
                                std::to_string(maxHeaderBytes));
  }
  for (std::size_t i = 0; i < subprotocols.size(); ++i) {
    if (!isToken(subprotocols[i])) {
      throw std::invalid_argument("HandshakeConfig.subprotocols: '" + subprotocols[i] +
                                  "' is not an HTTP token");
    }
    if (std::find(subprotocols.begin(), subprotocols.begin() + static_cast<std::ptrdiff_t>(i),
                  subprotocols[i]) != subprotocols.begin() + static_cast<std::ptrdiff_t>(i)) {
      throw std::invalid_argument("HandshakeConfig.subprotocols: '" + subprotocols[i] +
                                  "' is listed twice");
    }
  }
  if (requireSubprotocol && subprotocols.empty()) {
    throw std::invalid_argument("HandshakeConfig.requireSubprotocol needs subprotocols");
  }
}

std::string_view reasonPhrase(HttpStatus status) noexcept {
  switch (status) {
  case HttpStatus::SwitchingProtocols:
    return "Switching Protocols";
  case HttpStatus::Ok:
    return "OK";
  case HttpStatus::BadRequest:
    return "Bad Request";
  case HttpStatus::Forbidden:
    return "Forbidden";
  case HttpStatus::NotFound:
    return "Not Found";
  case HttpStatus::MethodNotAllowed:
    return "Method Not Allowed";
  case HttpStatus::UpgradeRequired:
    return "Upgrade Required";
  case HttpStatus::TooManyRequests:
    return "Too Many Requests";
  case HttpStatus::RequestHeaderFieldsTooLarge:
    return "Request Header Fields Too Large";
  case HttpStatus::InternalServerError:
    return "Internal Server Error";
  case HttpStatus::ServiceUnavailable:
    return "Service Unavailable";
  }
  return "Unknown";
}

RequestResult parseRequest(std::string_view bytes, const HandshakeConfig& config) noexcept {
  // RFC 7230 section 3.5: ignore empty lines before the request line.
  std::size_t start = 0;
  while (bytes.substr(start, 2) == "\r\n") {
    start += 2;
  }
  const std::size_t limit = std::min(bytes.size(), config.maxHeaderBytes);
  // The blank line that ends the block: the request line's own CRLF counts as the first half of
  // "\r\n\r\n" only when there are no header lines at all.
  std::size_t end = std::string_view::npos;
  if (start < limit) {
    const std::size_t at = bytes.substr(0, limit).find("\r\n\r\n", start);
    if (at != std::string_view::npos) {
      end = at + 4;
    }
  }
  if (end == std::string_view::npos) {
    if (!plausiblePrefix(bytes.substr(start, limit - std::min(start, limit)))) {
      return fail(HttpStatus::BadRequest, "not an HTTP request");
    }
    if (bytes.size() >= config.maxHeaderBytes) {
      return fail(HttpStatus::RequestHeaderFieldsTooLarge, "request header block too large");
    }
    return {};
  }

  RequestResult result;
  HttpRequest& req = result.request;
  req.headerBytes = end;
  std::string_view block = bytes.substr(start, end - 2 - start); // each line ends in CRLF

  // Request line: method SP request-target SP HTTP-version.
  const std::size_t line_end = block.find("\r\n");
  const std::string_view line = block.substr(0, line_end);
  block.remove_prefix(line_end + 2);
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return fail(HttpStatus::BadRequest, "malformed request line");
  }
  req.method = line.substr(0, sp1);
  req.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!isToken(req.method)) {
    return fail(HttpStatus::BadRequest, "malformed method");
  }
  if (req.target.empty() || req.target.front() != '/' ||
      !std::all_of(req.target.begin(), req.target.end(),
                   [](char c) { return c > 0x20 && c < 0x7F; })) {
    return fail(HttpStatus::BadRequest, "request target must be a path (origin-form)");
  }
  if (version == "HTTP/1.1") {
    req.http11 = true;
  } else if (version == "HTTP/1.0") {
    req.http11 = false;
  } else {
    return fail(HttpStatus::BadRequest, "unsupported HTTP version");
  }
  const std::size_t qmark = req.target.find('?');
  req.path = req.target.substr(0, qmark);
  if (qmark != std::string_view::npos) {
    req.query = req.target.substr(qmark + 1);
  }

  // Header lines.
  Seen seen;
  while (!block.empty()) {
    const std::size_t eol = block.find("\r\n");
    const std::string_view field = block.substr(0, eol);
    block.remove_prefix(eol + 2);
    if (field.front() == ' ' || field.front() == '\t') {
      return fail(HttpStatus::BadRequest, "obsolete line folding");
    }
    const std::size_t colon = field.find(':');
    if (colon == std::string_view::npos || !isToken(field.substr(0, colon))) {
      return fail(HttpStatus::BadRequest, "malformed header field");
    }
    const std::string_view name = field.substr(0, colon);
    const std::string_view raw_value = field.substr(colon + 1);
    if (!std::all_of(raw_value.begin(), raw_value.end(), isFieldValueChar)) {
      return fail(HttpStatus::BadRequest, "control character in a header value");
    }
    const std::string_view value = trimOws(raw_value);

    // A header that must appear once; a second copy is refused rather than guessed at.
    auto single = [&](bool& flag, std::string_view& slot) {
      if (flag) {
        return false;
      }
      flag = true;
      slot = value;
      return true;
    };
    bool ok = true;
    if (iequals(name, "host")) {
      ok = single(seen.host, req.host);
    } else if (iequals(name, "origin")) {
      ok = single(seen.origin, req.origin);
    } else if (iequals(name, "authorization")) {
      ok = single(seen.authorization, req.authorization);
    } else if (iequals(name, "x-forwarded-for")) {
      ok = single(seen.forwardedFor, req.forwardedFor);
    } else if (iequals(name, "sec-websocket-key")) {
      ok = single(seen.key, req.key);
    } else if (iequals(name, "sec-websocket-version")) {
      ok = single(seen.version, seen.version13);
    } else if (iequals(name, "user-agent")) {
      if (!seen.userAgent) {
        seen.userAgent = true;
        req.userAgent = value;
      }
    } else if (iequals(name, "sec-websocket-extensions")) {
      if (!seen.extensions) {
        seen.extensions = true;
        req.extensions = value;
      }
    } else if (iequals(name, "connection")) {
      forEachListElement(value, [&](std::string_view option) {
        seen.connUpgrade = seen.connUpgrade || iequals(option, "upgrade");
        seen.connClose = seen.connClose || iequals(option, "close");
        seen.connKeepAlive = seen.connKeepAlive || iequals(option, "keep-alive");
        return true;
      });
    } else if (iequals(name, "upgrade")) {
      forEachListElement(value, [&](std::string_view protocol) {
        seen.upgradeWebsocket = seen.upgradeWebsocket || iequals(protocol, "websocket");
        return true;
      });
    } else if (iequals(name, "sec-websocket-protocol")) {
      forEachListElement(value, [&](std::string_view protocol) {
        const auto offered = req.offeredSubprotocols();
        if (!isToken(protocol) ||
            std::find(offered.begin(), offered.end(), protocol) != offered.end()) {
          seen.badProtocolList = true;
          return false;
        }
        if (req.offeredCount == kMaxOfferedSubprotocols) {
          seen.tooManyProtocols = true;
          return false;
        }
        req.offered[req.offeredCount++] = protocol;
        return true;
      });
    } else if (iequals(name, "content-length")) {
      // Bodies are never read: a byte after the header block must be a frame or the next
      // request, so a request that announces a body is refused.
      ok = !value.empty() &&
           std::all_of(value.begin(), value.end(), [](char c) { return c == '0'; });
    } else if (iequals(name, "transfer-encoding")) {
      ok = false;
    }
    if (!ok) {
      return fail(HttpStatus::BadRequest, "repeated header or request body");
    }
  }
  if (seen.badProtocolList) {
    return fail(HttpStatus::BadRequest, "malformed Sec-WebSocket-Protocol");
  }
  if (seen.tooManyProtocols) {
    return fail(HttpStatus::BadRequest, "too many subprotocols offered");
  }
  if (req.http11 && !seen.host) {
    return fail(HttpStatus::BadRequest, "missing Host");
  }
  req.bearerToken = bearerToken(req.authorization);

  if (!seen.upgradeWebsocket) {
    if (req.method != "GET" && req.method != "HEAD") {
      return fail(HttpStatus::MethodNotAllowed, "only GET and HEAD are served");
    }
    req.keepAlive = req.http11 ? !seen.connClose : seen.connKeepAlive && !seen.connClose;
    result.kind = RequestKind::PlainHttp;
    return result;
  }

  // RFC 6455 section 4.2.1.
  if (req.method != "GET") {
    return fail(HttpStatus::MethodNotAllowed, "a WebSocket upgrade must be a GET");
  }
  if (!req.http11) {
    return fail(HttpStatus::BadRequest, "a WebSocket upgrade needs HTTP/1.1");
  }
  if (!seen.connUpgrade) {
    return fail(HttpStatus::BadRequest, "Connection header lacks the upgrade option");
  }
  if (!seen.key) {
    return fail(HttpStatus::BadRequest, "missing Sec-WebSocket-Key");
  }
  if (!isValidKey(req.key)) {
    return fail(HttpStatus::BadRequest, "Sec-WebSocket-Key is not base64 of 16 bytes");
  }
  if (!seen.version) {
    return fail(HttpStatus::BadRequest, "missing Sec-WebSocket-Version");
  }
  if (seen.version13 != "13") {
    return fail(HttpStatus::UpgradeRequired, "only WebSocket version 13 is supported");
  }
  const auto offered = req.offeredSubprotocols();
  for (const std::string& preferred : config.subprotocols) {
    const auto it = std::find(offered.begin(), offered.end(), preferred);
    if (it != offered.end()) {
      req.subprotocol = *it;
      break;
    }
  }
  if (config.requireSubprotocol && req.subprotocol.empty()) {
    return fail(HttpStatus::BadRequest, "none of the offered subprotocols is supported");
  }
  req.keepAlive = true;
  result.kind = RequestKind::Upgrade;
  return result;
}

std::array<char, 28> computeAccept(std::string_view key) noexcept {
  // The key is at most a few dozen bytes for a valid request; hash it and the GUID in one go.
  unsigned char input[128];
  const std::size_t key_len = std::min(key.size(), sizeof(input) - kGuid.size());
  std::memcpy(input, key.data(), key_len);
  std::memcpy(input + key_len, kGuid.data(), kGuid.size());
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(input, key_len + kGuid.size(), digest);
  unsigned char encoded[29]; // 4 * ceil(20 / 3) + NUL
  EVP_EncodeBlock(encoded, digest, SHA_DIGEST_LENGTH);
  std::array<char, 28> out{};
  std::memcpy(out.data(), encoded, out.size());
  return out;
}

std::string buildUpgradeResponse(const HttpRequest& request) {
  const auto accept = computeAccept(request.key);
  std::string out;
  out.reserve(160 + request.subprotocol.size());
  out += "HTTP/1.1 101 Switching Protocols\r\n"
         "Upgrade: websocket\r\n"
         "Connection: Upgrade\r\n"
         "Sec-WebSocket-Accept: ";
  out.append(accept.data(), accept.size());
  out += "\r\n";
  if (!request.subprotocol.empty()) {
    out += "Sec-WebSocket-Protocol: ";
    out += request.subprotocol;
    out += "\r\n";
  }
  out += "\r\n";
  return out;
}

std::string buildTextResponse(HttpStatus status, std::string_view text, uint32_t retry_after_s) {
  const auto code = static_cast<unsigned>(status);
  std::string out;
  out.reserve(200 + text.size());
  out += "HTTP/1.1 ";
  out += std::to_string(code);
  out += ' ';
  out += reasonPhrase(status);
  out += "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ";
  out += std::to_string(text.size() + 1);
  if (status == HttpStatus::UpgradeRequired) {
    // RFC 7230 section 6.7: an Upgrade header goes with the "upgrade" connection option.
    out += "\r\nConnection: Upgrade, close\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13";
  } else {
    out += "\r\nConnection: close";
  }
  if (status == HttpStatus::MethodNotAllowed) {
    out += "\r\nAllow: GET, HEAD";
  }
  if (retry_after_s > 0) {
    out += "\r\nRetry-After: ";
    out += std::to_string(retry_after_s);
  }
  out += "\r\n\r\n";
  out += text;
  out += '\n';
  return out;
}

std::string_view queryParam(std::string_view query, std::string_view name) noexcept {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) {
      break;
    }
    query.remove_prefix(amp + 1);
  }
  return {};
}

} // namespace tickstream::ws
