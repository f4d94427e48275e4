#include "tickstream/itch/soup.h"

#include <algorithm>
#include <cstring>

#include "tickstream/itch/messages.h"

namespace tickstream::itch::soup {
namespace {

constexpr std::size_t kMaxLength = 0xffff;
constexpr std::size_t kSequenceWidth = 20;

// Right-justified, left-padded with spaces.
template <std::size_t N> bool padLeft(std::string_view s, std::array<char, N>& out) noexcept {
  if (s.size() > N) {
    return false;
  }
  out.fill(' ');
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] < 0x20 || s[i] > 0x7e) {
      return false;
    }
    out[N - s.size() + i] = s[i];
  }
  return true;
}

template <std::size_t N> bool copyAlpha(const uint8_t* p, std::array<char, N>& out) noexcept {
  bool ok = true;
  for (std::size_t i = 0; i < N; ++i) {
    out[i] = static_cast<char>(p[i]);
    ok = ok && p[i] >= 0x20 && p[i] <= 0x7e;
  }
  return ok;
}

void writeSequence(uint64_t v, uint8_t* p) noexcept {
  std::memset(p, ' ', kSequenceWidth);
  std::size_t i = kSequenceWidth;
  do {
    p[--i] = static_cast<uint8_t>('0' + (v % 10));
    v /= 10;
  } while (v != 0); // a uint64 has at most 20 digits, so this fits
}

// Digits with space padding on either side (the spec says left, some servers pad right).
bool readSequence(const uint8_t* p, uint64_t& out) noexcept {
  std::size_t b = 0;
  std::size_t e = kSequenceWidth;
  while (b < e && p[b] == ' ') {
    ++b;
  }
  while (e > b && p[e - 1] == ' ') {
    --e;
  }
  if (b == e) {
    return false;
  }
  uint64_t v = 0;
  for (std::size_t i = b; i < e; ++i) {
    if (p[i] < '0' || p[i] > '9') {
      return false;
    }
    const uint64_t d = p[i] - '0';
    if (v > (UINT64_MAX - d) / 10) {
      return false;
    }
    v = (v * 10) + d;
  }
  out = v;
  return true;
}

void writeHeader(PacketType type, std::size_t payload, uint8_t* p) noexcept {
  const std::size_t len = payload + 1;
  p[0] = static_cast<uint8_t>(len >> 8);
  p[1] = static_cast<uint8_t>(len & 0xffU);
  p[2] = static_cast<uint8_t>(type);
}

} // namespace

bool isPacketType(uint8_t byte) noexcept {
  switch (byte) {
  case '+': case 'A': case 'J': case 'S': case 'H': case 'Z':
  case 'L': case 'U': case 'R': case 'O':
    return true;
  default:
    return false;
  }
}

std::size_t encodePacket(PacketType type, std::span<const uint8_t> payload,
                         std::span<uint8_t> out) noexcept {
  const std::size_t total = kHeaderSize + payload.size();
  if (payload.size() + 1 > kMaxLength || out.size() < total) {
    return 0;
  }
  writeHeader(type, payload.size(), out.data());
  if (!payload.empty()) {
    std::memcpy(out.data() + kHeaderSize, payload.data(), payload.size());
  }
  return total;
}

SoupStatus decodePacket(std::span<const uint8_t> bytes, PacketView& out) noexcept {
  if (bytes.size() < kHeaderSize) {
    return SoupStatus::Truncated;
  }
  const std::size_t len = (std::size_t{bytes[0]} << 8) | bytes[1];
  if (len == 0) {
    return SoupStatus::BadLength;
  }
  if (bytes.size() - 2 < len) {
    return SoupStatus::Truncated;
  }
  if (bytes.size() - 2 > len) {
    return SoupStatus::BadLength;
  }
  if (!isPacketType(bytes[2])) {
    return SoupStatus::UnknownType;
  }
  out.type = static_cast<PacketType>(bytes[2]);
  out.payload = bytes.subspan(kHeaderSize);
  return SoupStatus::Ok;
}

bool makeLoginRequest(std::string_view username, std::string_view password,
                      std::string_view session, uint64_t sequence, LoginRequest& out) noexcept {
  const auto u = padRight<6>(username);
  const auto p = padRight<10>(password);
  LoginRequest m;
  if (!u || !p || !padLeft(session, m.session)) {
    return false;
  }
  m.username = *u;
  m.password = *p;
  m.sequence = sequence;
  out = m;
  return true;
}

bool makeLoginAccepted(std::string_view session, uint64_t sequence, LoginAccepted& out) noexcept {
  LoginAccepted m;
  if (!padLeft(session, m.session)) {
    return false;
  }
  m.sequence = sequence;
  out = m;
  return true;
}

std::size_t encodeLoginRequest(const LoginRequest& m, std::span<uint8_t> out) noexcept {
  if (out.size() < kHeaderSize + kLoginRequestPayload) {
    return 0;
  }
  uint8_t* p = out.data();
  writeHeader(PacketType::LoginRequest, kLoginRequestPayload, p);
  p += kHeaderSize;
  p = std::copy(m.username.begin(), m.username.end(), p);
  p = std::copy(m.password.begin(), m.password.end(), p);
  p = std::copy(m.session.begin(), m.session.end(), p);
  writeSequence(m.sequence, p);
  return kHeaderSize + kLoginRequestPayload;
}

std::size_t encodeLoginAccepted(const LoginAccepted& m, std::span<uint8_t> out) noexcept {
  if (out.size() < kHeaderSize + kLoginAcceptedPayload) {
    return 0;
  }
  uint8_t* p = out.data();
  writeHeader(PacketType::LoginAccepted, kLoginAcceptedPayload, p);
  p += kHeaderSize;
  p = std::copy(m.session.begin(), m.session.end(), p);
  writeSequence(m.sequence, p);
  return kHeaderSize + kLoginAcceptedPayload;
}

std::size_t encodeLoginRejected(RejectReason reason, std::span<uint8_t> out) noexcept {
  if (out.size() < kHeaderSize + kLoginRejectedPayload) {
    return 0;
  }
  writeHeader(PacketType::LoginRejected, kLoginRejectedPayload, out.data());
  out[kHeaderSize] = static_cast<uint8_t>(reason);
  return kHeaderSize + kLoginRejectedPayload;
}

SoupStatus decodeLoginRequest(std::span<const uint8_t> payload, LoginRequest& out) noexcept {
  if (payload.size() < kLoginRequestPayload) {
    return SoupStatus::Truncated;
  }
  if (payload.size() > kLoginRequestPayload) {
    return SoupStatus::BadLength;
  }
  LoginRequest m;
  const uint8_t* p = payload.data();
  bool ok = copyAlpha(p, m.username);
  ok = copyAlpha(p + 6, m.password) && ok;
  ok = copyAlpha(p + 16, m.session) && ok;
  ok = readSequence(p + 26, m.sequence) && ok;
  if (!ok) {
    return SoupStatus::BadField;
  }
  out = m;
  return SoupStatus::Ok;
}

SoupStatus decodeLoginAccepted(std::span<const uint8_t> payload, LoginAccepted& out) noexcept {
  if (payload.size() < kLoginAcceptedPayload) {
    return SoupStatus::Truncated;
  }
  if (payload.size() > kLoginAcceptedPayload) {
    return SoupStatus::BadLength;
  }
  LoginAccepted m;
  if (!copyAlpha(payload.data(), m.session) || !readSequence(payload.data() + 10, m.sequence)) {
    return SoupStatus::BadField;
  }
  out = m;
  return SoupStatus::Ok;
}

SoupStatus decodeLoginRejected(std::span<const uint8_t> payload, RejectReason& out) noexcept {
  if (payload.empty()) {
    return SoupStatus::Truncated;
  }
  if (payload.size() > kLoginRejectedPayload) {
    return SoupStatus::BadLength;
  }
  if (payload[0] != 'A' && payload[0] != 'S') {
    return SoupStatus::BadField;
  }
  out = static_cast<RejectReason>(payload[0]);
  return SoupStatus::Ok;
}

SoupFramer::SoupFramer(SoupFramerConfig config) : config_(config) {
  config_.max_packet_length = std::clamp<std::size_t>(config_.max_packet_length, 1, kMaxLength);
  buf_.reserve(4 * (config_.max_packet_length + 2));
}

void SoupFramer::feed(std::span<const uint8_t> chunk) {
  if (malformed_) {
    return;
  }
  if (head_ != 0) {
    // Compact rather than grow forever: what is left is at most one partial packet plus
    // whatever the last read brought.
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
  buf_.insert(buf_.end(), chunk.begin(), chunk.end());
}

FrameStatus SoupFramer::next(PacketView& packet) noexcept {
  if (malformed_) {
    return FrameStatus::Malformed;
  }
  const std::size_t avail = buf_.size() - head_;
  if (avail < 2) {
    return FrameStatus::NeedMore;
  }
  const uint8_t* p = buf_.data() + head_;
  const std::size_t len = (std::size_t{p[0]} << 8) | p[1];
  if (len == 0 || len > config_.max_packet_length) {
    malformed_ = true;
    return FrameStatus::Malformed;
  }
  if (avail < 2 + len) {
    return FrameStatus::NeedMore;
  }
  if (!isPacketType(p[2])) {
    malformed_ = true;
    return FrameStatus::Malformed;
  }
  packet.type = static_cast<PacketType>(p[2]);
  packet.payload = std::span<const uint8_t>(p + kHeaderSize, len - 1);
  head_ += 2 + len;
  consumed_ += 2 + len;
  return FrameStatus::Ok;
}

void SoupFramer::reset() noexcept {
  buf_.clear();
  head_ = 0;
  consumed_ = 0;
  malformed_ = false;
}

} // namespace tickstream::itch::soup
