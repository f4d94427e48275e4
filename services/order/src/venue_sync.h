#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "execution_stream.h"
#include "order_router.h"
#include "tickstream/pg/pool.h"

// The service's ExecutionHandler (docs/order.md, "The execution stream: resume and
// reconciliation"): applies each venue report through the router's ReportApplier, records the
// stream position in venue_stream_position, and repairs orders from the venue's open-order list
// when the stream says to reconcile.
namespace tickstream::order {

// venue_stream_position, one row per venue name.
class StreamPositionStore {
 public:
  StreamPositionStore(pg::Pool& pool, std::string venue);
  StreamPosition load();
  void save(const StreamPosition& position);

 private:
  pg::Pool& pool_;
  const std::string venue_;
};

class VenueSync final : public ExecutionHandler {
 public:
  VenueSync(pg::Pool& pool, OrderStore& store, OrderRouter& router, StreamPositionStore& positions)
      : pool_(pool), store_(store), router_(router), positions_(positions) {}

  bool onReport(const std::string& session, const venue::ExecutionReport& report) override;
  bool onReconcile(const Reconciliation& reconciliation) override;

  // Orders whose venue state could not be matched with ours (fills missed in a gap, orders
  // that ended unseen): each also logged at error level for operations.
  std::uint64_t flagged() const { return flagged_.load(); }
  // Open orders the venue listed that the service does not know.
  std::uint64_t unknownAtVenue() const { return unknown_at_venue_.load(); }

 private:
  void repair(const Reconciliation& r);

  pg::Pool& pool_;
  OrderStore& store_;
  OrderRouter& router_;
  StreamPositionStore& positions_;
  std::atomic<std::uint64_t> flagged_{0};
  std::atomic<std::uint64_t> unknown_at_venue_{0};
};

}  // namespace tickstream::order
