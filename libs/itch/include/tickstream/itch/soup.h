#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

// SoupBinTCP 3.00, the session layer NASDAQ delivers ITCH over. Each logical packet is a 2-byte
// big-endian length (counting the type byte and payload, not itself), a 1-byte packet type and
// the payload. TCP does not preserve those boundaries, so SoupFramer reassembles them.
namespace tickstream::itch::soup {

enum class PacketType : uint8_t {
  Debug = '+',           // either direction: free text
  LoginAccepted = 'A',   // server: session (10) + next sequence number (20)
  LoginRejected = 'J',   // server: reason code (1)
  SequencedData = 'S',   // server: one ITCH message
  ServerHeartbeat = 'H', // server: empty
  EndOfSession = 'Z',    // server: empty
  LoginRequest = 'L',    // client: username (6) password (10) session (10) sequence (20)
  UnsequencedData = 'U', // client: one higher-level message
  ClientHeartbeat = 'R', // client: empty
  LogoutRequest = 'O',   // client: empty
};

[[nodiscard]] bool isPacketType(uint8_t byte) noexcept;

inline constexpr std::size_t kHeaderSize = 3; // length (2) + type (1)
inline constexpr std::size_t kLoginRequestPayload = 46;
inline constexpr std::size_t kLoginAcceptedPayload = 30;
inline constexpr std::size_t kLoginRejectedPayload = 1;

enum class SoupStatus {
  Ok,
  Truncated,   // fewer bytes than the length field promises, or than a fixed payload needs
  BadLength,   // more bytes than the length field says, a length of 0, or a fixed payload's
               // size is wrong
  UnknownType, // not one of the ten packet types
  BadField,    // a non-numeric sequence number, a non-printable Alpha, an unknown reject code
};

// One packet; payload points into the bytes it was decoded from.
struct PacketView {
  PacketType type = PacketType::ServerHeartbeat;
  std::span<const uint8_t> payload;
};

// Writes length + type + payload to `out`; returns bytes written, 0 if `out` is too small or
// the payload is over 65534 bytes.
[[nodiscard]] std::size_t encodePacket(PacketType type, std::span<const uint8_t> payload,
                                       std::span<uint8_t> out) noexcept;
// `bytes` must be exactly one whole packet.
[[nodiscard]] SoupStatus decodePacket(std::span<const uint8_t> bytes, PacketView& out) noexcept;

// Alpha fields hold their wire form. Per the spec, username and password are left-justified
// (right-padded with spaces), and the session is right-justified (left-padded with spaces);
// all blanks in a Login Request means "the currently active session". Sequence numbers are
// ASCII digits, right-justified and left-padded with spaces; 0 in a Login Request asks for the
// most recently generated message onwards.
struct LoginRequest {
  std::array<char, 6> username{' ', ' ', ' ', ' ', ' ', ' '};
  std::array<char, 10> password{' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
  std::array<char, 10> session{' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
  uint64_t sequence = 0;
  bool operator==(const LoginRequest&) const = default;
};

struct LoginAccepted {
  std::array<char, 10> session{' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
  uint64_t sequence = 0; // of the next sequenced message the client will receive
  bool operator==(const LoginAccepted&) const = default;
};

enum class RejectReason : char {
  NotAuthorized = 'A',       // bad username/password
  SessionNotAvailable = 'S', // the requested session is not available
};

// Builders for the padded forms; false if a value does not fit or is not printable ASCII.
[[nodiscard]] bool makeLoginRequest(std::string_view username, std::string_view password,
                                    std::string_view session, uint64_t sequence,
                                    LoginRequest& out) noexcept;
[[nodiscard]] bool makeLoginAccepted(std::string_view session, uint64_t sequence,
                                     LoginAccepted& out) noexcept;
// An Alpha field without padding on either side.
template <std::size_t N>
[[nodiscard]] constexpr std::string_view trimmed(const std::array<char, N>& field) noexcept {
  std::size_t b = 0;
  std::size_t e = N;
  while (b < e && field[b] == ' ') {
    ++b;
  }
  while (e > b && field[e - 1] == ' ') {
    --e;
  }
  return {field.data() + b, e - b};
}

// Whole packets (header included); each returns bytes written, 0 if `out` is too small.
[[nodiscard]] std::size_t encodeLoginRequest(const LoginRequest& m, std::span<uint8_t> out) noexcept;
[[nodiscard]] std::size_t encodeLoginAccepted(const LoginAccepted& m,
                                              std::span<uint8_t> out) noexcept;
[[nodiscard]] std::size_t encodeLoginRejected(RejectReason reason, std::span<uint8_t> out) noexcept;
// Sequenced/unsequenced data, debug text, and the empty packets go through encodePacket.

// Payload decoders: `payload` is PacketView::payload of a packet of the matching type.
[[nodiscard]] SoupStatus decodeLoginRequest(std::span<const uint8_t> payload,
                                            LoginRequest& out) noexcept;
[[nodiscard]] SoupStatus decodeLoginAccepted(std::span<const uint8_t> payload,
                                             LoginAccepted& out) noexcept;
[[nodiscard]] SoupStatus decodeLoginRejected(std::span<const uint8_t> payload,
                                             RejectReason& out) noexcept;

struct SoupFramerConfig {
  // Largest length field accepted; anything above is treated as a corrupt stream. The default
  // is far above any ITCH message (50 bytes) or login packet (47) yet stops a garbage length
  // from making us wait for 64 KiB that is never coming.
  std::size_t max_packet_length = 1024;
};

enum class FrameStatus {
  Ok,        // `packet` is the next complete packet
  NeedMore,  // no complete packet buffered; feed() more bytes
  Malformed, // a length of 0 or above the maximum, or an unknown packet type; sticky, since the
             // stream cannot be resynchronised: drop the connection
};

// Reassembles packets from arbitrary TCP reads. Its buffer grows to the largest backlog seen
// and is then reused, so steady-state framing does not allocate.
class SoupFramer {
public:
  explicit SoupFramer(SoupFramerConfig config = {});

  // Appends bytes as read from the socket. Invalidates packets returned earlier.
  void feed(std::span<const uint8_t> chunk);
  // The next complete packet; its payload points into the framer's buffer and is valid until
  // the next feed() or reset().
  [[nodiscard]] FrameStatus next(PacketView& packet) noexcept;
  // Bytes received but not yet returned as packets.
  [[nodiscard]] std::size_t buffered() const noexcept { return buf_.size() - head_; }
  // Offset in the whole stream of the next unreturned byte (where a malformed packet starts).
  [[nodiscard]] uint64_t streamOffset() const noexcept { return consumed_; }
  // Forget everything, e.g. after reconnecting.
  void reset() noexcept;

private:
  SoupFramerConfig config_;
  std::vector<uint8_t> buf_;
  std::size_t head_ = 0;
  uint64_t consumed_ = 0;
  bool malformed_ = false;
};

} // namespace tickstream::itch::soup
