#include "tickstream/ws/parser.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>

#include "tickstream/ws/utf8.h"

namespace tickstream::ws {

namespace {

uint32_t clamp32(std::size_t value) noexcept {
  return static_cast<uint32_t>(std::min<std::size_t>(value, std::numeric_limits<uint32_t>::max()));
}

// Header size announced by the second byte: 2, +2 or +8 for the extended length, +4 for the mask.
std::size_t headerLength(uint8_t b1) noexcept {
  const unsigned len7 = b1 & 0x7FU;
  return 2U + (len7 == 126 ? 2U : len7 == 127 ? 8U : 0U) + ((b1 & 0x80U) != 0 ? 4U : 0U);
}

bool isKnownOpcode(unsigned op) noexcept {
  return op <= 0x2 || (op >= 0x8 && op <= 0xA);
}

} // namespace

void applyMask(std::span<uint8_t> bytes, const uint8_t (&key)[4], std::size_t key_offset) noexcept {
  uint8_t rotated[8];
  for (std::size_t i = 0; i < 8; ++i) {
    rotated[i] = key[(key_offset + i) & 3U];
  }
  uint64_t key64 = 0;
  std::memcpy(&key64, rotated, 8);
  uint8_t* p = bytes.data();
  const std::size_t n = bytes.size();
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t word = 0;
    std::memcpy(&word, p + i, 8);
    word ^= key64;
    std::memcpy(p + i, &word, 8);
  }
  for (; i < n; ++i) {
    p[i] ^= rotated[i & 7U];
  }
}

void FrameParserConfig::validate() const {
  if (maxMessageBytes == 0 || maxMessageBytes > std::numeric_limits<uint32_t>::max()) {
    throw std::invalid_argument("FrameParserConfig.maxMessageBytes must be 1..4294967295, got " +
                                std::to_string(maxMessageBytes));
  }
  if (retainBufferBytes > maxMessageBytes) {
    throw std::invalid_argument("FrameParserConfig.retainBufferBytes must not exceed "
                                "maxMessageBytes, got " + std::to_string(retainBufferBytes));
  }
}

FrameParser::FrameParser(const FrameParserConfig& config) noexcept
    : maxMessage_(clamp32(config.maxMessageBytes)), retain_(clamp32(config.retainBufferBytes)) {}

bool FrameParser::atMessageBoundary() const noexcept {
  return state_ == State::Header && headerBytes_ == 0 && !inMessage_;
}

Event FrameParser::protocolError(CloseCode code, std::string_view reason) noexcept {
  state_ = State::Finished;
  pending_ = Pending::None;
  std::vector<uint8_t>().swap(buf_);
  Event ev;
  ev.type = EventType::ProtocolError;
  ev.code = code;
  ev.reason = reason;
  return ev;
}

void FrameParser::applyPending() noexcept {
  switch (pending_) {
  case Pending::None:
    return;
  case Pending::ClearMessage:
    buf_.clear();
    messageBytes_ = 0;
    break;
  case Pending::DropControl:
    buf_.resize(messageBytes_); // shrinking: never allocates
    break;
  }
  pending_ = Pending::None;
  if (buf_.empty() && buf_.capacity() > retain_) {
    std::vector<uint8_t>().swap(buf_); // an idle connection keeps no heap memory
  }
}

// The first two header bytes carry every rule that does not need the length or the mask key,
// so a broken frame is refused before the rest of its header arrives.
std::string_view FrameParser::checkStart(uint8_t b0, uint8_t b1) const noexcept {
  const unsigned op = b0 & 0x0FU;
  if ((b0 & 0x70U) != 0) {
    return "reserved bits set without a negotiated extension";
  }
  if (!isKnownOpcode(op)) {
    return "unknown opcode";
  }
  if ((b1 & 0x80U) == 0) {
    return "client frame not masked";
  }
  if ((op & 0x8U) != 0) {
    if ((b0 & 0x80U) == 0) {
      return "fragmented control frame";
    }
    if ((b1 & 0x7FU) > kMaxControlPayload) {
      return "control frame payload over 125 bytes";
    }
  } else if (op == 0x0 && !inMessage_) {
    return "continuation frame without a message in progress";
  } else if (op != 0x0 && inMessage_) {
    return "new data frame inside a fragmented message";
  }
  return {};
}

Event FrameParser::next(std::span<uint8_t>& input) noexcept {
  applyPending();
  if (state_ == State::Finished) {
    input = input.subspan(input.size());
    std::vector<uint8_t>().swap(buf_);
    return {};
  }
  for (;;) {
    if (state_ == State::Header) {
      const uint8_t* header = nullptr;
      if (headerBytes_ == 0 && input.size() >= 2 && input.size() >= headerLength(input[1])) {
        // The whole header is in this read: parse it where it is.
        if (const auto bad = checkStart(input[0], input[1]); !bad.empty()) {
          return protocolError(CloseCode::ProtocolError, bad);
        }
        header = input.data();
        input = input.subspan(headerLength(input[1]));
      } else {
        // Split header: collect it in header_ (at most 14 bytes) across reads.
        while (headerBytes_ < 2 && !input.empty()) {
          header_[headerBytes_++] = input[0];
          input = input.subspan(1);
        }
        if (headerBytes_ < 2) {
          return {};
        }
        if (const auto bad = checkStart(header_[0], header_[1]); !bad.empty()) {
          return protocolError(CloseCode::ProtocolError, bad);
        }
        const std::size_t need = headerLength(header_[1]);
        const std::size_t take = std::min(need - headerBytes_, input.size());
        std::memcpy(header_ + headerBytes_, input.data(), take);
        headerBytes_ = static_cast<uint8_t>(headerBytes_ + take);
        input = input.subspan(take);
        if (headerBytes_ < need) {
          return {};
        }
        header = header_;
        headerBytes_ = 0;
      }

      fin_ = (header[0] & 0x80U) != 0;
      opcode_ = static_cast<Opcode>(header[0] & 0x0FU);
      const unsigned len7 = header[1] & 0x7FU;
      uint64_t len = len7;
      const uint8_t* p = header + 2;
      if (len7 == 126) {
        len = (uint64_t{p[0]} << 8) | p[1];
        p += 2;
      } else if (len7 == 127) {
        len = 0;
        for (int i = 0; i < 8; ++i) {
          len = (len << 8) | p[i];
        }
        p += 8;
        if ((len >> 63) != 0) {
          return protocolError(CloseCode::ProtocolError, "payload length with the top bit set");
        }
      }
      std::memcpy(mask_, p, 4);
      maskPos_ = 0;
      remaining_ = len;

      if (!isControl(opcode_)) {
        if (len > maxMessage_ - messageBytes_) {
          return protocolError(CloseCode::MessageTooBig, "message over the size limit");
        }
        if (opcode_ != Opcode::Continuation) {
          message_ = opcode_;
        }
        inMessage_ = !fin_;
      }

      // A control frame, or a message in one frame, whose payload is all in this read is
      // unmasked where it is: the common case costs no copy.
      const bool whole_message = isControl(opcode_) || (opcode_ != Opcode::Continuation && fin_);
      if (whole_message && remaining_ <= input.size()) {
        const auto payload = input.first(static_cast<std::size_t>(remaining_));
        applyMask(payload, mask_);
        input = input.subspan(payload.size());
        remaining_ = 0;
        return completeFrame(payload);
      }
      state_ = State::Payload;
    }

    // Payload of a frame that is split across reads or belongs to a fragmented message.
    const std::size_t take =
        static_cast<std::size_t>(std::min<uint64_t>(remaining_, input.size()));
    if (take != 0) {
      const std::size_t old = buf_.size();
      try {
        buf_.resize(old + take);
      } catch (const std::bad_alloc&) {
        return protocolError(CloseCode::InternalError, "out of memory");
      }
      std::memcpy(buf_.data() + old, input.data(), take);
      applyMask(std::span<uint8_t>(buf_.data() + old, take), mask_, maskPos_);
      maskPos_ = static_cast<uint8_t>((maskPos_ + take) & 3U);
      input = input.subspan(take);
      remaining_ -= take;
      if (!isControl(opcode_)) {
        messageBytes_ = static_cast<uint32_t>(messageBytes_ + take);
      }
    }
    if (remaining_ != 0) {
      return {}; // input is exhausted
    }
    state_ = State::Header;
    if (isControl(opcode_)) {
      pending_ = Pending::DropControl;
      return completeFrame(std::span<const uint8_t>(buf_).subspan(messageBytes_));
    }
    if (fin_) {
      pending_ = Pending::ClearMessage;
      return completeFrame(std::span<const uint8_t>(buf_.data(), messageBytes_));
    }
    // A non-final fragment: go on with the next frame.
  }
}

Event FrameParser::completeFrame(std::span<const uint8_t> payload) noexcept {
  Event ev;
  ev.payload = payload;
  switch (opcode_) {
  case Opcode::Ping:
    ev.type = EventType::Ping;
    return ev;
  case Opcode::Pong:
    ev.type = EventType::Pong;
    return ev;
  case Opcode::Close: {
    if (payload.size() == 1) {
      return protocolError(CloseCode::ProtocolError, "close frame with a 1-byte payload");
    }
    ev.type = EventType::Close;
    if (payload.size() >= 2) {
      const auto code = static_cast<uint16_t>((payload[0] << 8) | payload[1]);
      if (!isValidWireCloseCode(code)) {
        return protocolError(CloseCode::ProtocolError, "invalid close code");
      }
      ev.payload = payload.subspan(2);
      if (!isValidUtf8(ev.payload)) {
        return protocolError(CloseCode::InvalidPayload, "close reason is not valid UTF-8");
      }
      ev.code = static_cast<CloseCode>(code);
      ev.reason = ev.text();
    }
    state_ = State::Finished;
    return ev;
  }
  case Opcode::Text:
  case Opcode::Binary:
  case Opcode::Continuation:
    break;
  }
  if (message_ == Opcode::Text) {
    if (!isValidUtf8(payload)) {
      return protocolError(CloseCode::InvalidPayload, "text message is not valid UTF-8");
    }
    ev.type = EventType::Text;
  } else {
    ev.type = EventType::Binary;
  }
  return ev;
}

} // namespace tickstream::ws
