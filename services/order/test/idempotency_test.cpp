#include <catch2/catch.hpp>

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "idempotency.h"

using namespace tickstream::order;

namespace {

v1::SubmitOrderRequest submit() {
  v1::SubmitOrderRequest r;
  r.set_account("acct-1");
  r.set_client_order_id("c-42");
  r.set_symbol("AAPL");
  r.set_side(v1::SIDE_BUY);
  r.set_type(v1::ORDER_TYPE_LIMIT);
  r.set_time_in_force(v1::TIME_IN_FORCE_DAY);
  r.set_quantity(100);
  r.set_limit_price(1'195'000);
  return r;
}

v1::ReplaceOrderRequest replace() {
  v1::ReplaceOrderRequest r;
  r.set_account("acct-1");
  r.set_order_id("ord-7");
  r.set_client_order_id("c-43");
  r.set_quantity(200);
  r.set_limit_price(1'196'000);
  return r;
}

}  // namespace

TEST_CASE("fingerprints are pinned values, so every process and build agrees on them") {
  // Computed independently from the documented encoding (docs/order.md, "Idempotency") with
  // Python's hashlib: sha256(len-prefixed tag, strings as u64-BE length + bytes, numbers as
  // i64 big-endian).
  CHECK(toHex(submitFingerprint(submit())) == "5d79be9f11706708a6e8539b1ec2913cacc572fe13c8fb1bc688a00d81ee70e0");
  CHECK(toHex(replaceFingerprint(replace())) == "3a31846ce1440947a23c74a7024df4dffea57beabb74aa29622eee24fb2718ad");
}

TEST_CASE("changing any one submit field changes the fingerprint") {
  const std::vector<std::function<void(v1::SubmitOrderRequest&)>> edits = {
      [](auto& r) { r.set_account("acct-2"); },
      [](auto& r) { r.set_client_order_id("c-43"); },
      [](auto& r) { r.set_symbol("aapl"); },
      [](auto& r) { r.set_side(v1::SIDE_SELL); },
      [](auto& r) { r.set_type(v1::ORDER_TYPE_MARKET); },
      [](auto& r) { r.set_time_in_force(v1::TIME_IN_FORCE_GTC); },
      [](auto& r) { r.set_quantity(101); },
      [](auto& r) { r.set_limit_price(1'195'100); },
      // Moving bytes between adjacent strings must not collide (length prefixes).
      [](auto& r) {
        r.set_account("acct-1c");
        r.set_client_order_id("-42");
      },
  };
  std::set<std::string> seen{toHex(submitFingerprint(submit()))};
  for (std::size_t i = 0; i < edits.size(); ++i) {
    auto r = submit();
    edits[i](r);
    INFO("edit " << i);
    CHECK(seen.insert(toHex(submitFingerprint(r))).second);
  }
}

TEST_CASE("changing any one replace field changes the fingerprint - submit and replace never match") {
  const std::vector<std::function<void(v1::ReplaceOrderRequest&)>> edits = {
      [](auto& r) { r.set_account("acct-2"); },     [](auto& r) { r.set_order_id("ord-8"); },
      [](auto& r) { r.set_client_order_id("c-44"); }, [](auto& r) { r.set_quantity(201); },
      [](auto& r) { r.set_limit_price(1'196'100); },
  };
  std::set<std::string> seen{toHex(replaceFingerprint(replace()))};
  for (std::size_t i = 0; i < edits.size(); ++i) {
    auto r = replace();
    edits[i](r);
    INFO("edit " << i);
    CHECK(seen.insert(toHex(replaceFingerprint(r))).second);
  }
  CHECK(submitFingerprint(v1::SubmitOrderRequest{}) != replaceFingerprint(v1::ReplaceOrderRequest{}));
}

TEST_CASE("same key and payload is a duplicate, another payload a conflict, an unused key new") {
  const auto original = submitFingerprint(submit());
  CHECK(classify(std::nullopt, original) == Idempotency::New);
  CHECK(classify(original, submitFingerprint(submit())) == Idempotency::Duplicate);
  auto retry = submit();
  retry.set_quantity(99);
  CHECK(classify(original, submitFingerprint(retry)) == Idempotency::Conflict);
}
