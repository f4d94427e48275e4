#include <catch2/catch.hpp>

#include "raw_dedupe.h"

using tickstream::normalizer::RawDedupe;

TEST_CASE("md.raw records that repeat a session's sequence in a partition are dropped, the rest kept") {
  RawDedupe d;
  CHECK(d.fresh(0, 100, "S1", 1));
  CHECK(d.fresh(0, 100, "S1", 2));
  CHECK(d.fresh(0, 100, "S1", 5));  // a gap is not a repeat: the others went to other partitions
  CHECK_FALSE(d.fresh(0, 100, "S1", 2));  // published again after a restart
  CHECK_FALSE(d.fresh(0, 100, "S1", 5));
  CHECK(d.fresh(0, 100, "S1", 6));
  // Each partition and each session on its own: a market-wide message is in every partition.
  CHECK(d.fresh(1, 100, "S1", 5));
  CHECK(d.fresh(0, 100, "capture.gz", 1));
  CHECK(d.duplicates() == 2);
}

TEST_CASE("the next day's session starts afresh under the same name") {
  RawDedupe d;
  CHECK(d.fresh(3, 100, "1", 900));
  CHECK(d.fresh(3, 101, "1", 1));
  CHECK(d.fresh(3, 101, "1", 2));
  CHECK_FALSE(d.fresh(3, 101, "1", 1));
  CHECK(d.duplicates() == 1);
}
