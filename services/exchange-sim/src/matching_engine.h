#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "market.h"
#include "tickstream/venue/v1/venue.pb.h"

// The venue's matching engine for routed orders (the Venue gRPC API, venue_service.h). Routed
// orders trade with each other and with the simulated market's displayed book; docs/
// exchange-sim.md ("Venue API") gives the rules. Single-threaded: the owner serialises every
// call with the lock that also guards the MarketSimulator (FeedPublisher::marketMutex()).
namespace tickstream::exchange_sim {

struct MatchingConfig {
  std::string session;            // prefix of every venue order and execution id; must differ
                                  // between runs of the venue (main: the start time); non-empty
  int64_t tick_size = 100;        // limit prices must be multiples of this, Price(4); 100 = $0.01
  int64_t max_quantity = 1'000'000;  // largest order (and replace) quantity, shares;
                                     // 1..4294967295 (ITCH Shares is 32-bit)
  size_t history = 1'000'000;     // execution reports kept for resuming the stream; >= 1

  // Throws std::invalid_argument naming the first bad field.
  void validate() const;
};

// How a request ended. A refused order is not an error: it is Ok with a REJECTED report.
enum class Outcome {
  Ok,
  InvalidArgument,  // the request names no order (missing ids)
  NotFound,         // no such order at the venue
  NotOpen,          // the order has nothing left to cancel or replace
  Conflict,         // the order id is taken by a different request (idempotency key reuse)
};

struct Answer {
  Outcome outcome = Outcome::Ok;
  std::string error;                   // why, when outcome != Ok
  std::string venue_order_id;          // empty for a rejected order
  venue::v1::ExecutionReport report;   // NEW, REJECTED, CANCELED or REPLACED (outcome Ok)
};

class MatchingEngine {
public:
  using Clock = std::function<int64_t()>;  // ns since the Unix epoch, for transact_ts_ns

  // `market` must outlive the engine. Throws std::invalid_argument (config.validate()).
  MatchingEngine(MatchingConfig config, MarketSimulator& market, Clock clock);

  // Idempotent on order_id: the same request again returns the first answer and changes nothing.
  Answer newOrder(const venue::v1::NewOrderRequest& request);
  Answer cancelOrder(const venue::v1::CancelOrderRequest& request);
  // Idempotent on the replacement's order_id, like newOrder.
  Answer replaceOrder(const venue::v1::ReplaceOrderRequest& request);

  // Resting routed orders that the simulated flow has crossed since the last call take that
  // liquidity at their own price (the flow's orders were added without seeing them: routed
  // orders are not displayed). Call after the simulator has advanced.
  void sweep();
  // The trading day is over: DAY orders expire, GTC orders stay open, new orders and replaces
  // are rejected, and nothing more trades with the simulated book.
  void closeMarket();
  [[nodiscard]] bool marketClosed() const noexcept { return closed_; }
  // A fault for the order service's tests: while on, every new order is rejected.
  void setRejectAll(bool on) noexcept { reject_all_ = on; }

  // Open orders of `account` ("" = all) in venue order id order, and the last exec_seq they
  // reflect.
  void listOpenOrders(const std::string& account, venue::v1::ListOpenOrdersResponse& out) const;

  enum class Range { Ok, Gone, Future };
  // Appends the reports from exec_seq `from` (0 counts as 1) on, at most `max`, to `out`. Gone:
  // `from` fell out of the history; Future: `from` is past the next report to come (a client of
  // an earlier run of the venue).
  Range reportsFrom(uint64_t from, size_t max, std::vector<venue::v1::ExecutionReport>& out) const;
  [[nodiscard]] uint64_t lastExecSeq() const noexcept { return next_seq_ - 1; }
  // Orders resting on the venue's book (what ListOpenOrders lists).
  [[nodiscard]] size_t openOrders() const noexcept { return resting_orders_; }
  [[nodiscard]] const MatchingConfig& config() const noexcept { return config_; }

private:
  struct Order {
    std::string order_id;        // the current one: a replace changes it
    std::string venue_order_id;
    std::string account;
    std::string symbol;
    uint16_t locate = 0;
    order::v1::Side side = order::v1::SIDE_UNSPECIFIED;
    order::v1::OrderType type = order::v1::ORDER_TYPE_UNSPECIFIED;
    order::v1::TimeInForce tif = order::v1::TIME_IN_FORCE_UNSPECIFIED;
    int64_t quantity = 0;
    int64_t limit_price = 0;  // a market order: its collar (0 = none), its limit while matching
    int64_t cum = 0;
    int64_t leaves = 0;
    bool resting = false;                  // in books_ (then `pos` is valid)
    std::list<uint64_t>::iterator pos;     // its place in its price level's queue
  };
  // A price level's queue of order numbers, oldest first (time priority).
  using Level = std::list<uint64_t>;
  // Keyed so that begin() is the best price: -price for bids, price for asks.
  using SideBook = std::map<int64_t, Level>;
  struct Book {
    SideBook bids;
    SideBook asks;
  };
  // What an order id was first used for, to answer a retry or refuse a reuse.
  struct Entry {
    std::string request;  // the serialized request
    Answer answer;
  };

  // A reason to refuse `request`, or "" to accept it.
  std::string refusal(const venue::v1::NewOrderRequest& request, uint16_t locate) const;
  std::string priceRefusal(order::v1::OrderType type, int64_t limit_price) const;
  // Finds the order named by (order_id, venue_order_id); sets `answer` when there is none.
  Order* find(const std::string& order_id, const std::string& venue_order_id, Answer& answer);
  // Trades `taker` against the routed book and the simulated book while it crosses either.
  void match(Order& taker);
  // Shares `taker` could trade now: for fill-or-kill.
  int64_t available(const Order& taker) const;
  void fill(Order& order, int64_t shares, int64_t price, order::v1::Liquidity liquidity);
  // After matching: rest the remainder, or cancel it (IOC, FOK, market orders).
  void restOrCancel(uint64_t number, Order& order);
  void rest(uint64_t number, Order& order);
  void unrest(Order& order);
  // The resting orders on one side of `locate` the simulated book has crossed take its shares.
  void sweepSide(uint16_t locate, bool buy);
  // Appends a report on `order` to the journal and returns it.
  venue::v1::ExecutionReport& report(const Order& order, venue::v1::ExecType type);
  venue::v1::ExecutionReport& journal(venue::v1::ExecutionReport&& r);

  MatchingConfig config_;
  MarketSimulator& market_;
  Clock clock_;
  std::unordered_map<std::string, uint16_t> locates_;   // symbol -> stock locate

  std::unordered_map<uint64_t, Order> orders_;          // order number -> order, open or done
  std::unordered_map<std::string, uint64_t> by_order_id_;   // every order id ever, replaced too
  std::unordered_map<std::string, uint64_t> by_venue_id_;
  std::unordered_map<std::string, Entry> entries_;      // NewOrder / replacement order id
  std::unordered_map<uint16_t, Book> books_;            // resting routed orders per locate
  std::set<uint16_t> resting_locates_;                  // locates with resting orders
  size_t resting_orders_ = 0;
  uint64_t next_order_ = 1;

  std::deque<venue::v1::ExecutionReport> journal_;      // exec_seq first_seq_ .. next_seq_-1
  uint64_t first_seq_ = 1;
  uint64_t next_seq_ = 1;
  std::vector<SimFill> sim_fills_;                      // reused by every match
  bool closed_ = false;
  bool reject_all_ = false;
};

} // namespace tickstream::exchange_sim
