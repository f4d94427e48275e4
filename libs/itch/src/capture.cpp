#include "tickstream/itch/capture.h"

#include <array>

#include "tickstream/itch/codec.h"

namespace tickstream::itch {
namespace {
constexpr std::size_t kPrefix = 2;
constexpr std::size_t kMaxRecord = 0xffff;
} // namespace

CaptureStatus CaptureReader::next(CaptureRecord& record) noexcept {
  const std::size_t left = buffer_.size() - pos_;
  if (left == 0) {
    return CaptureStatus::End;
  }
  if (left < kPrefix) {
    return CaptureStatus::Truncated;
  }
  const std::size_t len = (std::size_t{buffer_[pos_]} << 8) | buffer_[pos_ + 1];
  if (left - kPrefix < len) {
    return CaptureStatus::Truncated;
  }
  record.offset = pos_;
  record.message = buffer_.subspan(pos_ + kPrefix, len);
  pos_ += kPrefix + len;
  return CaptureStatus::Ok;
}

CaptureFileReader::CaptureFileReader(std::FILE* file) : file_(file), buf_(kMaxRecord) {}

CaptureStatus CaptureFileReader::next(CaptureRecord& record) noexcept {
  if (done_) {
    return final_;
  }
  auto finish = [this](CaptureStatus s) {
    done_ = true;
    final_ = s;
    return s;
  };
  std::array<uint8_t, kPrefix> prefix{};
  const std::size_t got = std::fread(prefix.data(), 1, kPrefix, file_);
  if (got < kPrefix) {
    if (std::ferror(file_) != 0) {
      return finish(CaptureStatus::IoError);
    }
    return finish(got == 0 ? CaptureStatus::End : CaptureStatus::Truncated);
  }
  const std::size_t len = (std::size_t{prefix[0]} << 8) | prefix[1];
  if (std::fread(buf_.data(), 1, len, file_) < len) {
    return finish(std::ferror(file_) != 0 ? CaptureStatus::IoError : CaptureStatus::Truncated);
  }
  record.offset = pos_;
  record.message = std::span<const uint8_t>(buf_.data(), len);
  pos_ += kPrefix + len;
  return CaptureStatus::Ok;
}

bool CaptureWriter::append(std::span<const uint8_t> message) noexcept {
  if (message.size() > kMaxRecord) {
    return false;
  }
  const std::array<uint8_t, kPrefix> prefix{static_cast<uint8_t>(message.size() >> 8),
                                            static_cast<uint8_t>(message.size() & 0xffU)};
  if (str_ != nullptr) {
    str_->append(reinterpret_cast<const char*>(prefix.data()), prefix.size());
    str_->append(reinterpret_cast<const char*>(message.data()), message.size());
  } else {
    if (std::fwrite(prefix.data(), 1, prefix.size(), file_) != prefix.size() ||
        std::fwrite(message.data(), 1, message.size(), file_) != message.size()) {
      return false;
    }
  }
  ++records_;
  return true;
}

bool CaptureWriter::append(const Message& m) noexcept {
  std::array<uint8_t, kMaxMessageLength> buf{};
  const std::size_t n = encode(m, buf);
  return n != 0 && append(std::span<const uint8_t>(buf.data(), n));
}

} // namespace tickstream::itch
