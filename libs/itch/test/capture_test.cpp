#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "samples.h"
#include "tickstream/itch/capture.h"
#include "tickstream/itch/codec.h"

using namespace tickstream::itch;
using tickstream::itch::test::everyMessageType;

namespace {
std::span<const uint8_t> bytesOf(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
} // namespace

TEST_CASE("capture writer and reader round-trip every message type with their offsets") {
  std::string file;
  CaptureWriter writer(file);
  const auto all = everyMessageType();
  for (const auto& m : all) {
    REQUIRE(writer.append(m));
  }
  CHECK(writer.records() == all.size());

  CaptureReader reader(bytesOf(file));
  CaptureRecord rec;
  uint64_t expectedOffset = 0;
  for (const auto& m : all) {
    REQUIRE(reader.next(rec) == CaptureStatus::Ok);
    CHECK(rec.offset == expectedOffset);
    // The prefix is big-endian and equals the message's length.
    CHECK(static_cast<uint8_t>(file[rec.offset]) == 0);
    CHECK(static_cast<uint8_t>(file[rec.offset + 1]) == rec.message.size());
    Message back;
    REQUIRE(decode(rec.message, back) == DecodeStatus::Ok);
    CHECK(back == m);
    expectedOffset += 2 + rec.message.size();
  }
  CHECK(reader.next(rec) == CaptureStatus::End);
  CHECK(reader.offset() == file.size());
}

TEST_CASE("capture reader reports a truncated tail with the offset of the incomplete record") {
  std::string file;
  CaptureWriter writer(file);
  REQUIRE(writer.append(Message{OrderDelete{1, 2, 3, 4}}));          // 2 + 19 bytes
  REQUIRE(writer.append(Message{OrderCancel{1, 2, 3, 4, 5}}));       // 2 + 23 bytes
  const std::size_t lastStart = file.size();
  REQUIRE(writer.append(Message{OrderExecuted{1, 2, 3, 4, 5, 6}})); // 2 + 31 bytes

  // Every cut inside the last record: in its prefix, and anywhere in its body.
  for (std::size_t cut = lastStart + 1; cut < file.size(); ++cut) {
    INFO("cut at " << cut);
    CaptureReader reader(bytesOf(file).first(cut));
    CaptureRecord rec;
    REQUIRE(reader.next(rec) == CaptureStatus::Ok);
    REQUIRE(reader.next(rec) == CaptureStatus::Ok);
    CHECK(reader.next(rec) == CaptureStatus::Truncated);
    CHECK(reader.offset() == lastStart);
    CHECK(reader.next(rec) == CaptureStatus::Truncated); // sticky
  }
}

TEST_CASE("capture reader over a FILE* matches the buffer reader, truncated tail included") {
  std::string data;
  CaptureWriter writer(data);
  for (const auto& m : everyMessageType()) {
    REQUIRE(writer.append(m));
  }
  data.append("\x00\x24" "A12345", 8); // a 36-byte Add Order cut after 6 bytes
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  REQUIRE(std::fwrite(data.data(), 1, data.size(), f) == data.size());
  std::rewind(f);

  CaptureReader mem(bytesOf(data));
  CaptureFileReader disk(f);
  CaptureRecord a;
  CaptureRecord b;
  int n = 0;
  while (mem.next(a) == CaptureStatus::Ok) {
    REQUIRE(disk.next(b) == CaptureStatus::Ok);
    CHECK(a.offset == b.offset);
    CHECK(std::equal(a.message.begin(), a.message.end(), b.message.begin(), b.message.end()));
    ++n;
  }
  CHECK(n == 23);
  CHECK(disk.next(b) == CaptureStatus::Truncated);
  CHECK(disk.offset() == mem.offset());
  CHECK(mem.offset() == data.size() - 8);
  std::fclose(f);
}

TEST_CASE("capture writer refuses a record its 2-byte prefix cannot describe") {
  std::string file;
  CaptureWriter writer(file);
  const std::vector<uint8_t> huge(65'536, 'x');
  CHECK_FALSE(writer.append(huge));
  CHECK(file.empty());
  const std::vector<uint8_t> largest(65'535, 'x');
  CHECK(writer.append(largest));
  CHECK(file.size() == 65'537);
  CHECK(file.substr(0, 2) == std::string("\xff\xff", 2));
}
