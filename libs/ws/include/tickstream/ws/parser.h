#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "tickstream/ws/frame.h"

// Incremental parser of client→server WebSocket frames (RFC 6455 section 5), sans I/O: the caller
// reads socket bytes into a buffer of its own and hands them over; the parser returns events.
//
// Memory: the gateway reads into a per-thread scratch buffer. A frame whose payload is wholly in
// that buffer (the usual case: a small subscribe or ping message) is unmasked in place and its
// event points into the scratch buffer: nothing is copied or allocated. Only a frame split across
// reads, or a message fragmented over several frames, is accumulated, in a buffer the parser owns
// and frees again when the message is complete (see FrameParserConfig::retainBufferBytes). What is
// kept between reads is a few dozen bytes (sizeof(FrameParser)) plus, only while a message is
// split, the bytes of it received so far: never the length a header merely declares.
namespace tickstream::ws {

struct FrameParserConfig {
  // Largest message accepted, all its fragments together; a longer one is a 1009 error, raised
  // as soon as a frame header announces it. At most 2^32 - 1.
  std::size_t maxMessageBytes = 64 * 1024;
  // Reassembly-buffer capacity kept once a split or fragmented message is delivered; a larger
  // buffer is freed, so an idle connection holds no heap memory (0 = always free).
  std::size_t retainBufferBytes = 0;

  // Throws std::invalid_argument naming the first bad field: maxMessageBytes 0 or over
  // 2^32 - 1, retainBufferBytes over maxMessageBytes.
  void validate() const;
};

enum class EventType : uint8_t {
  NeedMore,      // every byte of the input is consumed; read more
  Text,          // a complete text message, valid UTF-8
  Binary,        // a complete binary message
  Ping,          // answer with a Pong carrying the same payload (writePong)
  Pong,          // a Pong, solicited or not
  Close,         // the peer's Close: echo its code (writeClose) and close the socket
  ProtocolError, // the peer broke the protocol: send writeClose(code, reason) and close
};

struct Event {
  EventType type = EventType::NeedMore;
  // Text/Binary: the whole message. Ping/Pong: the application data. Close: the reason bytes.
  // Points into the caller's input buffer or into the parser, and is valid until the next call to
  // next() or until the caller reuses its input buffer, whichever comes first.
  std::span<const uint8_t> payload;
  // Close: the peer's code (NoStatus if its Close frame had no payload).
  // ProtocolError: the code to close the connection with (1002, 1007, 1009; 1011 out of memory).
  CloseCode code = CloseCode::NoStatus;
  // Close: the peer's reason (the payload as text, valid UTF-8). ProtocolError: what was wrong,
  // a static string that fits a Close frame.
  std::string_view reason;

  [[nodiscard]] std::string_view text() const noexcept {
    return {reinterpret_cast<const char*>(payload.data()), payload.size()};
  }
};

// What a client frame must satisfy, all checked as soon as the bytes that show it arrive:
// masked (1002), RSV1-3 zero since no extension is negotiated (1002), a known opcode (1002),
// control frames final and at most 125 bytes (1002), a Continuation only inside a fragmented
// message and no new Text/Binary inside one (1002), a 64-bit length with its top bit clear (1002),
// the message within maxMessageBytes (1009), a text message valid UTF-8 once complete (1007), a
// Close payload empty or a valid code (1002) with a UTF-8 reason (1007). The reasons are static
// strings that fit a Close frame.
// Non-minimal length encodings (126 for a 5-byte payload) are accepted, as most peers do.
class FrameParser {
public:
  explicit FrameParser(const FrameParserConfig& config = {}) noexcept;

  // Consumes bytes from the front of `input` and returns the next event. `input` is mutable
  // because payloads are unmasked in place, and it is advanced past what was consumed; call again
  // with the rest until the event is NeedMore (which consumes everything). After a Close or a
  // ProtocolError the parser is finished: later calls discard their input and return NeedMore.
  // Allocates only to accumulate a split or fragmented message; if that fails, the event is a
  // ProtocolError with 1011 (InternalError).
  Event next(std::span<uint8_t>& input) noexcept;

  // A Close or ProtocolError has been returned.
  [[nodiscard]] bool finished() const noexcept { return state_ == State::Finished; }
  // Between frames and not inside a fragmented message: no byte of any frame is pending.
  [[nodiscard]] bool atMessageBoundary() const noexcept;
  // Heap bytes held for a split or fragmented message (the reassembly buffer's capacity).
  [[nodiscard]] std::size_t heapBytes() const noexcept { return buf_.capacity(); }

private:
  enum class State : uint8_t { Header, Payload, Finished };
  enum class Pending : uint8_t { None, ClearMessage, DropControl };

  [[nodiscard]] std::string_view checkStart(uint8_t b0, uint8_t b1) const noexcept;
  Event protocolError(CloseCode code, std::string_view reason) noexcept;
  Event completeFrame(std::span<const uint8_t> payload) noexcept;
  void applyPending() noexcept;

  // The message in progress (fragments so far, unmasked) followed, while a control frame is split
  // across reads, by that control frame's payload.
  std::vector<uint8_t> buf_;
  uint64_t remaining_ = 0;   // payload bytes of the current frame still to come
  uint32_t maxMessage_;      // FrameParserConfig::maxMessageBytes
  uint32_t retain_;          // FrameParserConfig::retainBufferBytes
  uint32_t messageBytes_ = 0; // bytes of the message in progress held in buf_
  uint8_t mask_[4] = {};     // masking key of the current frame
  uint8_t header_[kMaxClientHeaderSize] = {}; // a header split across reads, so far
  uint8_t headerBytes_ = 0;  // bytes of header_ filled
  uint8_t maskPos_ = 0;      // index into mask_ of the next payload byte
  Opcode opcode_ = Opcode::Continuation;  // current frame
  Opcode message_ = Opcode::Continuation; // Text/Binary while a message is in progress
  bool fin_ = false;          // current frame is final
  bool inMessage_ = false;    // a Text/Binary frame without fin has been seen
  State state_ = State::Header;
  Pending pending_ = Pending::None;
};

// Client-side masking, for tests and tools that play a client: XORs `bytes` with `key` starting
// at key index `key_offset`, 8 bytes at a time. Masking and unmasking are the same operation.
void applyMask(std::span<uint8_t> bytes, const uint8_t (&key)[4],
               std::size_t key_offset = 0) noexcept;

} // namespace tickstream::ws
