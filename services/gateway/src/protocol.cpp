#include "protocol.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstring>
#include <utility>

#include <google/protobuf/stubs/stringpiece.h>
#include <google/protobuf/util/json_util.h>

#include "tickstream/ws/frame.h"

namespace tickstream::gateway {

namespace gwv1 = gateway::v1;
namespace mdv1 = marketdata::v1;

// ---------------------------------------------------------------------------------------------
// Encodings

Encoding encodingFor(std::string_view subprotocol) noexcept {
  return subprotocol == kProtoSubprotocol ? Encoding::Proto : Encoding::Json;
}

std::string_view subprotocolName(Encoding encoding) noexcept {
  return encoding == Encoding::Proto ? kProtoSubprotocol : kJsonSubprotocol;
}

// ---------------------------------------------------------------------------------------------
// Inbound

namespace {

DecodeResult badRequest(std::string message, std::string symbol = {}) {
  return DecodeResult{gwv1::ERROR_CODE_BAD_REQUEST, std::move(message), std::move(symbol)};
}

// A client-supplied string as echoed in an error: at most 64 bytes, cut at a UTF-8 character
// boundary so the echo stays valid UTF-8 (protobuf rejects a string field that is not).
std::string echo(std::string_view s) {
  constexpr std::size_t kMax = 64;
  if (s.size() <= kMax) {
    return std::string(s);
  }
  std::size_t n = kMax;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0U) == 0x80U) {
    --n; // s[n] continues a multi-byte character: cut before that character starts
  }
  return std::string(s.substr(0, n)) + "...";
}

std::string indexed(std::string_view field, int i) {
  std::string s(field);
  s += '[';
  s += std::to_string(i);
  s += ']';
  return s;
}

// Checks a symbol named by `field` (e.g. "subscribe.subscriptions[2].symbol"); ok if valid.
DecodeResult checkSymbol(const std::string& symbol, const std::string& field) {
  if (symbol.empty()) {
    return badRequest(field + ": empty symbol");
  }
  if (!validSymbol(symbol)) {
    return badRequest(field + ": \"" + echo(symbol) + "\" is not a symbol (1-" +
                          std::to_string(kMaxSymbolLength) + " characters of A-Z 0-9 . -)",
                      echo(symbol));
  }
  return {};
}

// The first symbol named twice in `symbols` (which it sorts), or nullptr.
const std::string_view* firstDuplicate(std::vector<std::string_view>& symbols) {
  std::sort(symbols.begin(), symbols.end());
  const auto it = std::adjacent_find(symbols.begin(), symbols.end());
  return it == symbols.end() ? nullptr : &*it;
}

DecodeResult validateSubscribe(const gwv1::Subscribe& subscribe) {
  // A Subscribe is answered per symbol: an empty one would get no answer at all.
  if (subscribe.subscriptions().empty()) {
    return badRequest("subscribe.subscriptions: empty");
  }
  std::vector<std::string_view> symbols;
  symbols.reserve(static_cast<std::size_t>(subscribe.subscriptions_size()));
  for (int i = 0; i < subscribe.subscriptions_size(); ++i) {
    const gwv1::Subscription& sub = subscribe.subscriptions(i);
    const std::string field = indexed("subscribe.subscriptions", i);
    if (DecodeResult r = checkSymbol(sub.symbol(), field + ".symbol"); !r.ok()) {
      return r;
    }
    for (int j = 0; j < sub.modes_size(); ++j) {
      const int mode = sub.modes(j);
      if (mode < mdv1::MODE_TRADES || mode > mdv1::MODE_BARS) {
        const std::string value =
            mdv1::Mode_IsValid(mode) ? mdv1::Mode_Name(mode) : std::to_string(mode);
        return badRequest(indexed(field + ".modes", j) + ": " + value +
                              " is not a mode (MODE_TRADES, MODE_QUOTE, MODE_DEPTH, MODE_BARS)",
                          sub.symbol());
      }
    }
    symbols.push_back(sub.symbol());
  }
  if (const std::string_view* dup = firstDuplicate(symbols)) {
    return badRequest("subscribe.subscriptions: " + std::string(*dup) + " appears twice",
                      std::string(*dup));
  }
  return {};
}

DecodeResult validateResume(const gwv1::Resume& resume) {
  std::vector<std::string_view> symbols;
  symbols.reserve(static_cast<std::size_t>(resume.positions_size()));
  for (int i = 0; i < resume.positions_size(); ++i) {
    const std::string& symbol = resume.positions(i).symbol();
    if (DecodeResult r = checkSymbol(symbol, indexed("resume.positions", i) + ".symbol"); !r.ok()) {
      return r;
    }
    symbols.push_back(symbol);
  }
  // Two positions for one symbol contradict each other.
  if (const std::string_view* dup = firstDuplicate(symbols)) {
    return badRequest("resume.positions: " + std::string(*dup) + " appears twice",
                      std::string(*dup));
  }
  return {};
}

DecodeResult validateUnsubscribe(const gwv1::Unsubscribe& unsubscribe) {
  for (int i = 0; i < unsubscribe.symbols_size(); ++i) {
    if (DecodeResult r = checkSymbol(unsubscribe.symbols(i), indexed("unsubscribe.symbols", i));
        !r.ok()) {
      return r;
    }
  }
  return {};
}

// Keeps only the request_id of a message that failed to decode, for the Error reply to echo.
void keepRequestId(gwv1::ClientMessage& out, uint32_t request_id) {
  out.Clear();
  out.set_request_id(request_id);
}

DecodeResult decodeJson(std::string_view bytes, gwv1::ClientMessage& out) {
  namespace pbu = google::protobuf::util;
  const google::protobuf::StringPiece input(bytes.data(), bytes.size());
  pbu::JsonParseOptions strict;
  strict.ignore_unknown_fields = false;
  const auto status = pbu::JsonStringToMessage(input, &out, strict);
  if (status.ok()) {
    return {};
  }
  // The parser's message; its first line says what and where (later lines draw a caret).
  std::string detail(status.message());
  detail.resize(std::min(detail.find('\n'), detail.size()));
  // An unknown key may be an operation from a newer protocol version, which the contract
  // answers with UNKNOWN_OPERATION rather than BAD_REQUEST: parse again ignoring unknown keys;
  // if that works and leaves no known operation, the unknown key was the operation. Either way
  // the lenient parse recovers the request_id for the Error to echo.
  out.Clear();
  pbu::JsonParseOptions lenient;
  lenient.ignore_unknown_fields = true;
  if (!pbu::JsonStringToMessage(input, &out, lenient).ok()) {
    keepRequestId(out, 0);
    return badRequest("invalid JSON ClientMessage: " + detail);
  }
  if (out.body_case() == gwv1::ClientMessage::BODY_NOT_SET) {
    keepRequestId(out, out.request_id());
    return DecodeResult{gwv1::ERROR_CODE_UNKNOWN_OPERATION,
                        "no operation this server knows: " + detail, {}};
  }
  keepRequestId(out, out.request_id());
  return badRequest("invalid JSON ClientMessage: " + detail);
}

DecodeResult decodeProto(std::string_view bytes, gwv1::ClientMessage& out) {
  if (bytes.size() > static_cast<std::size_t>(INT_MAX)) {
    keepRequestId(out, 0);
    return badRequest("frame too large for a ClientMessage");
  }
  if (!out.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    // request_id is field 1, so encoders write it first: a frame broken later still has it.
    keepRequestId(out, out.request_id());
    return badRequest("invalid protobuf ClientMessage");
  }
  return {};
}

} // namespace

bool validSymbol(std::string_view symbol) noexcept {
  if (symbol.empty() || symbol.size() > kMaxSymbolLength) {
    return false;
  }
  return std::all_of(symbol.begin(), symbol.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
  });
}

DecodeResult validateClient(const gwv1::ClientMessage& message) {
  switch (message.body_case()) {
  case gwv1::ClientMessage::kAuth:
    if (message.auth().token().empty()) {
      return badRequest("auth.token: empty");
    }
    return {};
  case gwv1::ClientMessage::kSubscribe:
    return validateSubscribe(message.subscribe());
  case gwv1::ClientMessage::kUnsubscribe:
    return validateUnsubscribe(message.unsubscribe());
  case gwv1::ClientMessage::kResume:
    return validateResume(message.resume());
  case gwv1::ClientMessage::kPing:
    return {};
  case gwv1::ClientMessage::BODY_NOT_SET:
    break;
  }
  return DecodeResult{gwv1::ERROR_CODE_UNKNOWN_OPERATION,
                      "the ClientMessage carries no operation this server knows", {}};
}

DecodeResult decodeClient(Encoding encoding, bool text_frame, std::string_view bytes,
                          gwv1::ClientMessage& out) {
  out.Clear();
  if (encoding == Encoding::Json && !text_frame) {
    return badRequest("binary frame on a tickstream.v1.json connection: send text frames "
                      "(or connect with tickstream.v1.proto)");
  }
  if (encoding == Encoding::Proto && text_frame) {
    return badRequest("text frame on a tickstream.v1.proto connection: send binary frames "
                      "(or connect with tickstream.v1.json)");
  }
  DecodeResult r = encoding == Encoding::Json ? decodeJson(bytes, out) : decodeProto(bytes, out);
  if (!r.ok()) {
    return r;
  }
  return validateClient(out);
}

// ---------------------------------------------------------------------------------------------
// Outbound, not hot

namespace {

// JSON as protobuf prints it by default (the proto3 JSON mapping, compact).
void toJson(const google::protobuf::Message& message, std::string& out) {
  out.clear();
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  options.always_print_primitive_fields = false;
  options.always_print_enums_as_ints = false;
  options.preserve_proto_field_names = false;
  if (!google::protobuf::util::MessageToJsonString(message, &out, options).ok()) {
    // Only Any, Timestamp or Duration values can fail to print, and these messages have none.
    out.clear();
  }
}

void toProto(const google::protobuf::Message& message, std::string& out) {
  if (!message.SerializeToString(&out)) {
    out.clear(); // only over 2 GiB
  }
}

} // namespace

void encodeServer(Encoding encoding, const gwv1::ServerMessage& message, std::string& out) {
  if (encoding == Encoding::Json) {
    toJson(message, out);
  } else {
    toProto(message, out);
  }
}

// ---------------------------------------------------------------------------------------------
// Modes

ModeMask maskOf(const google::protobuf::RepeatedField<int>& modes) noexcept {
  if (modes.empty()) {
    return kAllModes;
  }
  ModeMask mask = 0;
  for (const int mode : modes) {
    mask |= modeBit(static_cast<mdv1::Mode>(mode));
  }
  return mask;
}

void modesOf(ModeMask mask, google::protobuf::RepeatedField<int>& out) {
  out.Clear();
  for (int mode = mdv1::MODE_TRADES; mode <= mdv1::MODE_BARS; ++mode) {
    if ((mask & modeBit(static_cast<mdv1::Mode>(mode))) != 0) {
      out.Add(mode);
    }
  }
}

namespace {

constexpr bool has(ModeMask mask, mdv1::Mode mode) noexcept { return (mask & modeBit(mode)) != 0; }

} // namespace

// Fields are copied one by one rather than CopyFrom-and-clear, so a field added to the contract
// later (or an unknown field from a newer normalizer) is not forwarded to clients until someone
// decides it should be. protocol_test checks this list against the descriptor.
void filterUpdate(const mdv1::MarketDataUpdate& update, ModeMask mask,
                  mdv1::MarketDataUpdate& out) {
  out.Clear();
  out.set_symbol(update.symbol());
  out.set_seq(update.seq());
  out.set_exchange_ts_ns(update.exchange_ts_ns());
  out.set_receive_ts_ns(update.receive_ts_ns());
  out.set_publish_ts_ns(update.publish_ts_ns());
  out.set_conflated(update.conflated());
  // raw_next_offset is the normalizer's restart bookkeeping and rate_cap_hold_ns its latency
  // accounting: never sent.
  if (update.has_trade() && has(mask, mdv1::MODE_TRADES)) {
    *out.mutable_trade() = update.trade();
  }
  if (has(mask, mdv1::MODE_TRADES)) {
    *out.mutable_trade_breaks() = update.trade_breaks();
  }
  if (update.has_quote() && has(mask, mdv1::MODE_QUOTE)) {
    *out.mutable_quote() = update.quote();
  }
  if (update.has_depth() && has(mask, mdv1::MODE_DEPTH)) {
    *out.mutable_depth() = update.depth();
  }
  if (has(mask, mdv1::MODE_BARS)) {
    *out.mutable_bars() = update.bars();
  }
  // Status always: a halt changes the meaning of every other part.
  if (update.has_status()) {
    *out.mutable_status() = update.status();
  }
}

void filterSnapshot(const mdv1::SymbolSnapshot& snapshot, ModeMask mask,
                    mdv1::SymbolSnapshot& out) {
  out.Clear();
  out.set_symbol(snapshot.symbol());
  out.set_last_seq(snapshot.last_seq());
  out.set_trading_day(snapshot.trading_day());
  // raw_next_offset: never sent.
  if (snapshot.has_last_trade() && has(mask, mdv1::MODE_TRADES)) {
    *out.mutable_last_trade() = snapshot.last_trade();
  }
  if (snapshot.has_quote() && has(mask, mdv1::MODE_QUOTE)) {
    *out.mutable_quote() = snapshot.quote();
  }
  if (snapshot.has_depth() && has(mask, mdv1::MODE_DEPTH)) {
    *out.mutable_depth() = snapshot.depth();
  }
  if (has(mask, mdv1::MODE_BARS)) {
    *out.mutable_current_bars() = snapshot.current_bars();
  }
  if (snapshot.has_status()) {
    *out.mutable_status() = snapshot.status();
  }
  out.set_session_volume(snapshot.session_volume());
  out.set_session_vwap(snapshot.session_vwap());
  out.set_session_open(snapshot.session_open());
  out.set_session_high(snapshot.session_high());
  out.set_session_low(snapshot.session_low());
  out.set_session_close(snapshot.session_close());
  out.set_session_trade_count(snapshot.session_trade_count());
  out.set_exchange_ts_ns(snapshot.exchange_ts_ns());
  out.set_receive_ts_ns(snapshot.receive_ts_ns());
  out.set_publish_ts_ns(snapshot.publish_ts_ns());
}

void encodeSnapshot(Encoding encoding, ModeMask mask, const mdv1::SymbolSnapshot& snapshot,
                    bool resync, uint32_t request_id, std::string& out) {
  gwv1::ServerMessage message;
  message.set_request_id(request_id);
  gwv1::Snapshot* body = message.mutable_snapshot();
  filterSnapshot(snapshot, mask, *body->mutable_snapshot());
  body->set_resync(resync);
  encodeServer(encoding, message, out);
}

// ---------------------------------------------------------------------------------------------
// Outbound, hot

namespace {

// ServerMessage{update: Update{update: body, skipped_by_conflation: n}} in JSON is this prefix,
// the body, then `,"skippedByConflation":"<n>"}}` (a uint64 is a string in the proto3 JSON
// mapping) or, for n = 0, which the mapping omits, just `}}`.
constexpr std::string_view kJsonPrefix = R"({"update":{"update":)";
constexpr std::string_view kJsonSkipped = R"(,"skippedByConflation":")";
constexpr std::string_view kJsonEnd = R"(}})";

// Protobuf tags: (field number << 3) | wire type (0 varint, 2 length-delimited).
constexpr char kTagServerUpdate = (6 << 3) | 2;  // ServerMessage.update
constexpr char kTagUpdateUpdate = (1 << 3) | 2;  // Update.update
constexpr char kTagUpdateSkipped = (2 << 3) | 0; // Update.skipped_by_conflation

constexpr std::size_t kMaxVarint = 10;

static_assert(kJsonPrefix.size() + kJsonSkipped.size() + 20 + 1 + kJsonEnd.size() <=
              Pieces::kMaxClientBytes);
static_assert(2 * (1 + kMaxVarint) + 1 + kMaxVarint <= Pieces::kMaxClientBytes);

constexpr std::size_t varintSize(uint64_t v) noexcept {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

char* writeVarint(char* p, uint64_t v) noexcept {
  while (v >= 0x80) {
    *p++ = static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

char* writeString(char* p, std::string_view s) noexcept {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

std::size_t slotOf(Encoding encoding, ModeMask mask) noexcept {
  return (encoding == Encoding::Proto ? kModeMaskCount : 0) + (mask & kAllModes);
}

// ServerMessage{update: Update{...}} around a body of `body_len` for a client that skipped
// `skipped`: writes the bytes before the body, then those after it, to `out` (room for
// Pieces::kMaxClientBytes); returns both lengths.
std::pair<std::size_t, std::size_t> writeClientBytes(Encoding encoding, std::size_t body_len,
                                                     uint64_t skipped, char* out) noexcept {
  char* w = out;
  if (encoding == Encoding::Json) {
    w = writeString(w, kJsonPrefix);
    const auto prefix_len = static_cast<std::size_t>(w - out);
    if (skipped != 0) {
      w = writeString(w, kJsonSkipped);
      w = std::to_chars(w, out + Pieces::kMaxClientBytes, skipped).ptr;
      *w++ = '"';
    }
    w = writeString(w, kJsonEnd);
    return {prefix_len, static_cast<std::size_t>(w - out) - prefix_len};
  }
  const std::size_t suffix_len = skipped != 0 ? 1 + varintSize(skipped) : 0;
  const std::size_t update_len = 1 + varintSize(body_len) + body_len + suffix_len;
  *w++ = kTagServerUpdate;
  w = writeVarint(w, update_len);
  *w++ = kTagUpdateUpdate;
  w = writeVarint(w, body_len);
  const auto prefix_len = static_cast<std::size_t>(w - out);
  if (skipped != 0) {
    *w++ = kTagUpdateSkipped;
    w = writeVarint(w, skipped);
  }
  return {prefix_len, static_cast<std::size_t>(w - out) - prefix_len};
}

} // namespace

UpdateFrames::UpdateFrames(std::shared_ptr<const mdv1::MarketDataUpdate> update, bool from_exchange)
    : update_(std::move(update)), seq_(update_->seq()), latency_start_ns_(from_exchange ? update_->exchange_ts_ns() : update_->receive_ts_ns()) {}

UpdateFrames::~UpdateFrames() = default;

bool UpdateFrames::empty(ModeMask mask) const noexcept {
  const mdv1::MarketDataUpdate& u = *update_;
  return !u.has_status() &&
         !((u.has_trade() || u.trade_breaks_size() > 0) && has(mask, mdv1::MODE_TRADES)) &&
         !(u.has_quote() && has(mask, mdv1::MODE_QUOTE)) &&
         !(u.has_depth() && has(mask, mdv1::MODE_DEPTH)) &&
         !(u.bars_size() > 0 && has(mask, mdv1::MODE_BARS));
}

const UpdateFrames::Variant& UpdateFrames::variant(Encoding encoding, ModeMask mask) {
  const std::size_t slot = slotOf(encoding, mask);
  if (slot_[slot] == 0) {
    mdv1::MarketDataUpdate filtered;
    filterUpdate(*update_, mask, filtered);
    // Laid out as the whole frame for a client that skipped nothing: WebSocket header, prefix,
    // body, suffix. Other clients take the body from the middle (pieces()).
    std::string json;
    std::size_t body_len = 0;
    if (encoding == Encoding::Json) {
      toJson(filtered, json);
      body_len = json.size();
    } else {
      body_len = filtered.ByteSizeLong();
    }
    std::array<char, Pieces::kMaxClientBytes> client{};
    const auto [prefix_len, suffix_len] = writeClientBytes(encoding, body_len, 0, client.data());
    const std::size_t payload = prefix_len + body_len + suffix_len;
    std::array<uint8_t, ws::kMaxServerHeaderSize> header{};
    const std::size_t header_len = ws::writeHeader(
        header.data(), dataOpcode(encoding), payload);
    Variant v;
    v.frame_size = header_len + payload;
    v.body_offset = header_len + prefix_len;
    v.body_size = body_len;
    v.bytes = std::make_unique_for_overwrite<char[]>(v.frame_size);
    char* w = v.bytes.get();
    std::memcpy(w, header.data(), header_len);
    std::memcpy(w + header_len, client.data(), prefix_len);
    if (encoding == Encoding::Json) {
      std::memcpy(w + v.body_offset, json.data(), body_len);
    } else {
      filtered.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(w + v.body_offset));
    }
    std::memcpy(w + v.body_offset + body_len, client.data() + prefix_len, suffix_len);
    variants_.push_back(std::move(v));
    slot_[slot] = static_cast<uint8_t>(variants_.size());
  }
  return variants_[slot_[slot] - 1U];
}

std::string_view UpdateFrames::body(Encoding encoding, ModeMask mask) {
  const Variant& v = variant(encoding, mask);
  return {v.bytes.get() + v.body_offset, v.body_size};
}

std::string_view UpdateFrames::frame(Encoding encoding, ModeMask mask) {
  const Variant& v = variant(encoding, mask);
  return {v.bytes.get(), v.frame_size};
}

std::size_t UpdateFrames::maxFrameSize(Encoding encoding, ModeMask mask) {
  // The cached frame's header can only grow by what a larger length needs.
  return variant(encoding, mask).frame_size + ws::kMaxServerHeaderSize + Pieces::kMaxClientBytes;
}

std::size_t UpdateFrames::writeFrame(Encoding encoding, ModeMask mask, uint64_t skipped,
                                     char* out) {
  const Variant& v = variant(encoding, mask);
  if (skipped == 0) {
    std::memcpy(out, v.bytes.get(), v.frame_size);
    return v.frame_size;
  }
  std::array<char, Pieces::kMaxClientBytes> client;  // NOLINT: written before read
  const auto [prefix_len, suffix_len] =
      writeClientBytes(encoding, v.body_size, skipped, client.data());
  std::size_t n = ws::writeHeader(reinterpret_cast<uint8_t*>(out),
                                  dataOpcode(encoding),
                                  prefix_len + v.body_size + suffix_len);
  std::memcpy(out + n, client.data(), prefix_len);
  n += prefix_len;
  std::memcpy(out + n, v.bytes.get() + v.body_offset, v.body_size);
  n += v.body_size;
  std::memcpy(out + n, client.data() + prefix_len, suffix_len);
  return n + suffix_len;
}

Pieces UpdateFrames::pieces(Encoding encoding, ModeMask mask, uint64_t skipped) {
  Pieces p;
  p.body_ = body(encoding, mask);
  const auto [prefix_len, suffix_len] =
      writeClientBytes(encoding, p.body_.size(), skipped, p.buf_.data());
  p.prefix_len_ = static_cast<uint8_t>(prefix_len);
  p.suffix_len_ = static_cast<uint8_t>(suffix_len);
  return p;
}

} // namespace tickstream::gateway
