#include "replay.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <memory>

#include <zlib.h>

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

namespace {

// zlib's gzread reads a gzip file decompressed and any other file as it is, so one FILE* over a
// gzFile (fopencookie) serves plain and gzip captures alike; offsets are in the uncompressed
// stream. A corrupt or truncated gzip stream is a read error.
ssize_t gzCookieRead(void* cookie, char* buf, size_t size) {
  const int n = gzread(static_cast<gzFile>(cookie), buf,
                       static_cast<unsigned>(std::min<size_t>(size, INT_MAX)));
  if (n < 0) {
    errno = EIO;
    return -1;
  }
  return n;
}

int gzCookieClose(void* cookie) { return gzclose(static_cast<gzFile>(cookie)) == Z_OK ? 0 : EOF; }

std::FILE* openCapture(const std::string& path) {
  gzFile gz = gzopen(path.c_str(), "rb");
  if (gz == nullptr) {
    return nullptr;  // errno says why
  }
  gzbuffer(gz, 1 << 17);
  cookie_io_functions_t io{};
  io.read = &gzCookieRead;
  io.close = &gzCookieClose;
  std::FILE* f = fopencookie(gz, "rb", io);
  if (f == nullptr) {
    gzclose(gz);
  }
  return f;
}

} // namespace

ReplayResult replayCapture(const std::string& path, FeedHandler& handler,
                           uint64_t first_sequence) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(openCapture(path), &std::fclose);
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
