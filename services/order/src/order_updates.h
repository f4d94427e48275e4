#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "tickstream/order/v1/order.pb.h"
#include "tickstream/pg/pool.h"

// StreamOrderUpdates' sources (docs/order.md, "Order updates"): live events come from Kafka
// orders.events (what the outbox relay published, so every replica sees every account's events,
// whichever replica committed them), and anything the live feed cannot supply (the replay from a
// client's after_account_seq, a gap, a subscriber that fell behind) comes from PostgreSQL's
// order_events, which holds every committed event in account_seq order.
namespace tickstream::order {

struct OrderUpdatesConfig {
  std::string brokers;
  std::string topic = "orders.events";
  // Live events buffered per subscription; past it the buffer is dropped and the subscriber
  // catches up from PostgreSQL (a slow reader costs bounded memory and loses nothing).
  std::size_t max_buffered = 10'000;
};

class OrderUpdates {
 public:
  // One stream's live feed for one account.
  class Subscription {
   public:
    // Waits up to `timeout` for live events and moves them into `out`. `overflowed`: events
    // were dropped (catch up from committed()). Returns false once the hub is stopping.
    bool take(std::chrono::milliseconds timeout, std::vector<v1::OrderEvent>& out, bool& overflowed);

   private:
    friend class OrderUpdates;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<v1::OrderEvent> queue_;
    bool overflowed_ = false;
    bool closed_ = false;
  };

  OrderUpdates(pg::Pool& pool, OrderUpdatesConfig config);
  ~OrderUpdates();  // stop()
  OrderUpdates(const OrderUpdates&) = delete;
  OrderUpdates& operator=(const OrderUpdates&) = delete;

  // Starts the follower. It reads the topic only while a subscription is open (from a few
  // seconds before the first one), so a replica no client streams from fetches nothing. Throws
  // when the topic does not exist.
  void start();
  // Ends every subscription's take() and the consumer thread.
  void stop();

  std::shared_ptr<Subscription> subscribe(const std::string& account);
  void unsubscribe(const std::string& account, const std::shared_ptr<Subscription>& subscription);

  // The account's committed events with account_seq > after, oldest first, at most `limit`.
  std::vector<v1::OrderEvent> committed(const std::string& account, std::uint64_t after, int limit);
  // The account's latest committed account_seq (0 before its first event).
  std::uint64_t lastSeq(const std::string& account);

  std::size_t subscriptions() const;

 private:
  void run();
  void dispatch(const std::string& account, const v1::OrderEvent& event);
  bool subscribed(const std::string& account) const;

  pg::Pool& pool_;
  const OrderUpdatesConfig config_;
  int partitions_ = 0;
  mutable std::mutex mu_;
  std::unordered_multimap<std::string, std::shared_ptr<Subscription>> subscribers_;
  std::condition_variable subscribed_;  // wakes an idle follower: a first subscription, or stop
  bool stopping_ = false;
  std::atomic<bool> stop_thread_{false};
  std::thread thread_;
};

}  // namespace tickstream::order
