#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/repeated_field.h>

#include "tickstream/gateway/v1/gateway.pb.h"
#include "tickstream/marketdata/v1/marketdata.pb.h"
#include "tickstream/ws/frame.h"

// The gateway's wire-protocol codec (docs/gateway-protocol.md): ClientMessage in, ServerMessage
// out, in either encoding a connection negotiated. Inbound decoding and the rare outbound
// messages go through protobuf's own serialisers; market-data updates, which fan out to many
// subscribers, are encoded once per (encoding, modes) and spliced into each client's frame
// (UpdateFrames).
namespace tickstream::gateway {

// ---------------------------------------------------------------------------------------------
// Encodings

// The two encodings of the protocol, chosen per connection by Sec-WebSocket-Protocol.
enum class Encoding : uint8_t {
  Json,  // "tickstream.v1.json": text frames, proto3 JSON mapping
  Proto, // "tickstream.v1.proto": binary frames, protobuf encoding
};

// The WebSocket opcode of a data frame (update, snapshot, reply) in that encoding.
[[nodiscard]] constexpr ws::Opcode dataOpcode(Encoding e) noexcept {
  return e == Encoding::Proto ? ws::Opcode::Binary : ws::Opcode::Text;
}

inline constexpr std::string_view kJsonSubprotocol = "tickstream.v1.json";
inline constexpr std::string_view kProtoSubprotocol = "tickstream.v1.proto";

// The encoding for a negotiated subprotocol: "tickstream.v1.proto" is Proto; anything else
// (including none) is JSON, the protocol's default.
[[nodiscard]] Encoding encodingFor(std::string_view subprotocol) noexcept;
// The Sec-WebSocket-Protocol value naming an encoding.
[[nodiscard]] std::string_view subprotocolName(Encoding encoding) noexcept;

// ---------------------------------------------------------------------------------------------
// Inbound

// Limits on what a client may name; anything else is BAD_REQUEST.
inline constexpr std::size_t kMaxSymbolLength = 16;

// Outcome of decodeClient. `code` is ERROR_CODE_UNSPECIFIED on success; otherwise it is the
// code for the Error reply, `message` the detail for Error.message and `symbol` the offending
// symbol, if the error is about one (for Error.symbol).
struct DecodeResult {
  gateway::v1::ErrorCode code = gateway::v1::ERROR_CODE_UNSPECIFIED;
  std::string message;
  std::string symbol;

  [[nodiscard]] bool ok() const noexcept { return code == gateway::v1::ERROR_CODE_UNSPECIFIED; }
};

// Decodes one client frame (`text_frame`: the WebSocket opcode was Text) into `out`, then
// validates it. Errors:
//  - a binary frame on a JSON connection, a text frame on a proto connection, JSON that does
//    not parse (syntax, unknown field, wrong type), bytes that are not a ClientMessage, or an
//    invalid field (symbol not 1-16 of [A-Z0-9.-], a symbol twice in one Subscribe or Resume,
//    an empty Subscribe, a mode outside MODE_TRADES..MODE_BARS, an empty Auth token):
//    ERROR_CODE_BAD_REQUEST;
//  - no operation set, e.g. one from a newer protocol version (in JSON: a top-level key this
//    server does not know and no known one): ERROR_CODE_UNKNOWN_OPERATION.
// On any error, out.request_id() holds the client's request_id when it could be read (else 0),
// so the Error reply can echo it. Does not throw.
[[nodiscard]] DecodeResult decodeClient(Encoding encoding, bool text_frame, std::string_view bytes,
                                        gateway::v1::ClientMessage& out);

// Validates an already decoded message (decodeClient calls it); ok when every field is valid.
[[nodiscard]] DecodeResult validateClient(const gateway::v1::ClientMessage& message);

// Whether `symbol` is a well-formed exchange symbol: 1-16 characters of A-Z, 0-9, '.', '-'.
[[nodiscard]] bool validSymbol(std::string_view symbol) noexcept;

// ---------------------------------------------------------------------------------------------
// Outbound, not on the hot path

// Encodes `message` into `out`, replacing its contents (its capacity is reused). JSON is the
// proto3 JSON mapping as protobuf prints it by default: lowerCamelCase names, enums by name,
// 64-bit integers as strings, default values omitted, no whitespace.
void encodeServer(Encoding encoding, const gateway::v1::ServerMessage& message, std::string& out);

// ---------------------------------------------------------------------------------------------
// Modes

// The parts a subscription wants: bit (m - 1) for each marketdata.v1.Mode m in 1..4.
using ModeMask = uint8_t;
inline constexpr ModeMask kAllModes = 0x0F;
// Number of distinct masks, 0 (status only) .. kAllModes.
inline constexpr std::size_t kModeMaskCount = 16;

[[nodiscard]] constexpr ModeMask modeBit(marketdata::v1::Mode mode) noexcept {
  const int m = static_cast<int>(mode);
  return m >= 1 && m <= 4 ? static_cast<ModeMask>(1U << (m - 1)) : ModeMask{0};
}

// The mask of a Subscription's (or Subscribed's) modes: empty means all. Values outside
// MODE_TRADES..MODE_BARS add nothing (validateClient rejects them before this is asked).
[[nodiscard]] ModeMask maskOf(const google::protobuf::RepeatedField<int>& modes) noexcept;
// The modes of a mask, in enum order, replacing `out` (for Subscribed.modes).
void modesOf(ModeMask mask, google::protobuf::RepeatedField<int>& out);

// The update as a subscriber with `mask` receives it, into `out` (replacing it): trade, quote,
// depth and bars kept when their mode is in the mask; status, symbol, seq, timestamps and
// conflated always kept; raw_next_offset and rate_cap_hold_ns (internal) never.
void filterUpdate(const marketdata::v1::MarketDataUpdate& update, ModeMask mask,
                  marketdata::v1::MarketDataUpdate& out);
// The same for a snapshot: last_trade, quote, depth and current_bars by mode; symbol, last_seq,
// trading_day, status, session statistics and timestamps always; raw_next_offset never.
void filterSnapshot(const marketdata::v1::SymbolSnapshot& snapshot, ModeMask mask,
                    marketdata::v1::SymbolSnapshot& out);

// Encodes ServerMessage{request_id, snapshot: Snapshot{snapshot filtered by mask, resync}} into
// `out`, replacing its contents.
void encodeSnapshot(Encoding encoding, ModeMask mask, const marketdata::v1::SymbolSnapshot& snapshot,
                    bool resync, uint32_t request_id, std::string& out);

// ---------------------------------------------------------------------------------------------
// Outbound, hot: one update fanned out to every subscriber

// The payload of one client's Update frame, as three byte spans to gather (writev) after the
// WebSocket header: a per-client prefix, the body shared by every client with the same
// (encoding, modes), and a per-client suffix. Concatenated they are exactly the encoding of
// ServerMessage{update: Update{update: <filtered update>, skipped_by_conflation: N}}.
//
// The per-client bytes live inside this object (no heap allocation), so prefix() and suffix()
// are valid while this Pieces is alive and unmoved; copying it is cheap (under 100 bytes) and
// the copy's views point into the copy. body() points into the UpdateFrames it came from and is
// valid as long as that UpdateFrames lives.
class Pieces {
public:
  // Room for the largest per-client bytes: JSON's 20-byte prefix plus a 47-byte suffix with a
  // 20-digit count; protobuf needs at most 2 tags + 2 length varints and 1 tag + 1 varint.
  static constexpr std::size_t kMaxClientBytes = 72;

  [[nodiscard]] std::string_view prefix() const noexcept { return {buf_.data(), prefix_len_}; }
  [[nodiscard]] std::string_view body() const noexcept { return body_; }
  [[nodiscard]] std::string_view suffix() const noexcept {
    return {buf_.data() + prefix_len_, suffix_len_};
  }
  // Payload length, for the WebSocket header: prefix + body + suffix.
  [[nodiscard]] std::size_t size() const noexcept {
    return prefix_len_ + body_.size() + suffix_len_;
  }
  // The three spans in order (some may be empty).
  [[nodiscard]] std::array<std::string_view, 3> spans() const noexcept {
    return {prefix(), body(), suffix()};
  }

private:
  friend class UpdateFrames;

  std::string_view body_;
  uint8_t prefix_len_ = 0;
  uint8_t suffix_len_ = 0;
  std::array<char, kMaxClientBytes> buf_;
};

// One MarketDataUpdate's frames for every subscriber: built once per update, it encodes the
// filtered update lazily, once per (encoding, mask) actually asked for, and keeps the bytes
// until it is destroyed; every later pieces() for that variant only writes the per-client
// prefix and suffix (no allocation, no protobuf call).
//
// Not thread-safe: every call, const ones included, must come from one thread (the gateway's
// I/O thread), because pieces() fills the cache. Bytes already returned never change or move
// (not even when other variants are added later), so another thread may read them once they
// were handed over with the usual synchronisation.
//
// Neither copyable nor movable, so bodies handed out stay where they are: hold it by pointer
// (typically a shared_ptr kept by every queued frame that refers to its bytes).
class UpdateFrames {
public:
  // `from_exchange`: the delivery latency starts at the update's exchange timestamp, not at
  // ingestion's receive time (GatewayConfig::latency_from_exchange).
  explicit UpdateFrames(std::shared_ptr<const marketdata::v1::MarketDataUpdate> update,
                        bool from_exchange = false);
  UpdateFrames(const UpdateFrames&) = delete;
  UpdateFrames& operator=(const UpdateFrames&) = delete;
  UpdateFrames(UpdateFrames&&) = delete;
  UpdateFrames& operator=(UpdateFrames&&) = delete;
  ~UpdateFrames();

  [[nodiscard]] const marketdata::v1::MarketDataUpdate& update() const noexcept { return *update_; }
  // update().seq() and where its delivery latency starts (its receive_ts_ns or exchange_ts_ns),
  // kept here: the fan-out reads them per delivery, and the message itself would be one more
  // cache line to fetch.
  [[nodiscard]] uint64_t seq() const noexcept { return seq_; }
  [[nodiscard]] int64_t latencyStartNs() const noexcept { return latency_start_ns_; }

  // True when, filtered by `mask`, the update has none of trade, quote, depth, bars or status:
  // only the envelope would be left, so the gateway does not send it to that client and counts
  // it in the client's next skipped_by_conflation instead. Cheap; encodes nothing.
  [[nodiscard]] bool empty(ModeMask mask) const noexcept;

  // The payload of ServerMessage{update: Update{update: <filtered by mask>,
  // skipped_by_conflation: skipped}} for one client (request_id 0: updates are unsolicited).
  // The first call for an (encoding, mask) encodes the filtered update; later calls reuse it.
  [[nodiscard]] Pieces pieces(Encoding encoding, ModeMask mask, uint64_t skipped);

  // The shared encoded filtered update alone (what Pieces::body() is).
  [[nodiscard]] std::string_view body(Encoding encoding, ModeMask mask);

  // The whole WebSocket frame (header included; text for JSON, binary for protobuf) of
  // pieces(encoding, mask, 0): what every client that skipped nothing is sent, the same bytes
  // for all of them, so such a delivery is one copy.
  [[nodiscard]] std::string_view frame(Encoding encoding, ModeMask mask);

  // Writes the WebSocket frame of pieces(encoding, mask, skipped) to `out`, which has room for
  // maxFrameSize(encoding, mask) bytes, and returns its size: frame() when nothing was
  // skipped, else header, prefix, shared body and suffix, each copied once.
  std::size_t writeFrame(Encoding encoding, ModeMask mask, uint64_t skipped, char* out);
  [[nodiscard]] std::size_t maxFrameSize(Encoding encoding, ModeMask mask);

private:
  struct Variant {
    // frame() of the variant; body() is the middle of it. A heap block never moves, so
    // handed-out views stay valid.
    std::unique_ptr<char[]> bytes;
    std::size_t frame_size = 0;
    std::size_t body_offset = 0;
    std::size_t body_size = 0;
  };
  // Encodes the variant on first use.
  const Variant& variant(Encoding encoding, ModeMask mask);

  std::shared_ptr<const marketdata::v1::MarketDataUpdate> update_;
  uint64_t seq_;
  int64_t latency_start_ns_;
  // slot_[encoding * 16 + mask] is 1 + the index in variants_ of that variant, or 0 if not
  // encoded yet. Usually only a few of the 32 combinations are used.
  std::array<uint8_t, 2 * kModeMaskCount> slot_{};
  std::vector<Variant> variants_;
};

} // namespace tickstream::gateway
