#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "feed_handler.h"
#include "tickstream/itch/capture.h"

// Feeding a NASDAQ ITCH capture file through the handler, for back-testing and tests.
namespace tickstream::ingestion {

struct ReplayResult {
  uint64_t records = 0;                               // handed to the handler
  itch::CaptureStatus status = itch::CaptureStatus::End; // End, Truncated or IoError
  uint64_t offset = 0; // on Truncated/IoError: where the bad record starts; on End: file size
  std::string error;   // why the file could not be opened, if it could not
};

// Reads records from `file` (not owned; from its current position) until it ends. A capture has
// no sequence numbers, so record i (from 1) is sequence `first_sequence + i - 1`; receive_ts_ns
// is the wall clock when the record was read. A truncated tail is logged with its offset and
// reported, not handed on.
ReplayResult replayCapture(std::FILE* file, FeedHandler& handler, uint64_t first_sequence = 1);
// Opens `path` (plain, or gzip-compressed as NASDAQ distributes captures: detected by content)
// and replays it; status IoError with `error` set if it cannot be opened or does not decompress.
ReplayResult replayCapture(const std::string& path, FeedHandler& handler,
                           uint64_t first_sequence = 1);

} // namespace tickstream::ingestion
