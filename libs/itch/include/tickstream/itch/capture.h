#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "tickstream/itch/messages.h"

// NASDAQ's ITCH capture files (e.g. 01302019.NASDAQ_ITCH50): a plain sequence of records, each a
// 2-byte big-endian length followed by that many bytes of one message. The framing knows nothing
// about ITCH; hand each record to decode().
namespace tickstream::itch {

enum class CaptureStatus {
  Ok,        // `record` holds the next message
  End,       // clean end: the input stopped on a record boundary
  Truncated, // the input stops inside a record; offset() is where that record starts
  IoError,   // reading the FILE* failed (ferror); offset() is where the failed record starts
};

struct CaptureRecord {
  uint64_t offset = 0;                 // of the record's length prefix, from the start of input
  std::span<const uint8_t> message;    // the bytes after the prefix
};

// Walks records in a buffer that holds (part of) a capture file. No copies: each record's
// message points into the buffer.
class CaptureReader {
public:
  explicit CaptureReader(std::span<const uint8_t> buffer) noexcept : buffer_(buffer) {}

  // Ok and advances, or End / Truncated (sticky: calling again returns the same).
  [[nodiscard]] CaptureStatus next(CaptureRecord& record) noexcept;
  // Offset of the next record to read (on Truncated: of the incomplete one).
  [[nodiscard]] uint64_t offset() const noexcept { return pos_; }

private:
  std::span<const uint8_t> buffer_;
  std::size_t pos_ = 0;
};

// Reads records from a FILE* (a capture file too large to map). One 64 KiB buffer, allocated at
// construction and reused: a record's message is valid until the next call to next().
class CaptureFileReader {
public:
  explicit CaptureFileReader(std::FILE* file); // not owned
  [[nodiscard]] CaptureStatus next(CaptureRecord& record) noexcept;
  [[nodiscard]] uint64_t offset() const noexcept { return pos_; }

private:
  std::FILE* file_;
  std::vector<uint8_t> buf_;
  uint64_t pos_ = 0;
  bool done_ = false;
  CaptureStatus final_ = CaptureStatus::End;
};

// Appends length-prefixed records to a std::string or a FILE* (not owned).
class CaptureWriter {
public:
  explicit CaptureWriter(std::string& out) noexcept : str_(&out) {}
  explicit CaptureWriter(std::FILE* out) noexcept : file_(out) {}

  // False if the message is longer than 65535 bytes (the prefix cannot say so) or the write
  // failed; nothing is appended to a string in either case.
  [[nodiscard]] bool append(std::span<const uint8_t> message) noexcept;
  // Encodes then appends `m`.
  [[nodiscard]] bool append(const Message& m) noexcept;
  [[nodiscard]] uint64_t records() const noexcept { return records_; }

private:
  std::string* str_ = nullptr;
  std::FILE* file_ = nullptr;
  uint64_t records_ = 0;
};

} // namespace tickstream::itch
