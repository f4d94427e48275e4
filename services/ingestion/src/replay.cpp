#include "replay.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

#include "tickstream/runtime/logging.h"

namespace tickstream::ingestion {

ReplayResult replayCapture(std::FILE* file, FeedHandler& handler, uint64_t first_sequence) {
  ReplayResult result;
  itch::CaptureFileReader reader(file);
  itch::CaptureRecord record;
  uint64_t seq = first_sequence;
  while ((result.status = reader.next(record)) == itch::CaptureStatus::Ok) {
    const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    handler.onMessage(seq++, record.message, now_ns, record.offset);
    ++result.records;
  }
  result.offset = reader.offset();
  if (result.status == itch::CaptureStatus::Truncated) {
    logging::warn("capture ends inside a record; tail ignored",
                  {{"offset", result.offset}, {"records", result.records}});
  } else if (result.status == itch::CaptureStatus::IoError) {
    result.error = "read failed";
    logging::error("capture read failed",
                   {{"offset", result.offset}, {"records", result.records}});
  }
  return result;
}

ReplayResult replayCapture(const std::string& path, FeedHandler& handler,
                           uint64_t first_sequence) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (!file) {
    ReplayResult result;
    result.status = itch::CaptureStatus::IoError;
    result.error = path + ": " + std::strerror(errno);
    logging::error("cannot open capture", {{"path", path}, {"error", result.error}});
    return result;
  }
  return replayCapture(file.get(), handler, first_sequence);
}

} // namespace tickstream::ingestion
