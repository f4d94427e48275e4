#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tickstream/order/v1/order.pb.h"

// ListOrders' keyset pagination token: where the previous page ended (created_ts_ns, order_id,
// the sort key) and a digest of the filters it was issued for. Opaque to clients (hex), so the
// encoding can change; a token used with other filters is refused rather than silently
// paging through a different list.
namespace tickstream::order {

struct PageCursor {
  std::int64_t created_ts_ns = 0;  // the last order of the previous page
  std::string order_id;
};

// A digest of the filters (account, statuses in any order, symbol).
std::uint64_t filterDigest(const std::string& account, std::vector<v1::OrderStatus> statuses,
                           const std::string& symbol);

std::string encodePageToken(const PageCursor& cursor, std::uint64_t filter_digest);
// Nothing when `token` is malformed or was issued for another filter digest.
std::optional<PageCursor> decodePageToken(const std::string& token, std::uint64_t filter_digest);

}  // namespace tickstream::order
