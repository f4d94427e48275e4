#include "order_updates.h"

#include <chrono>
#include <stdexcept>
#include <vector>

#include "tickstream/kafka/admin.h"
#include "tickstream/kafka/consumer.h"
#include "tickstream/runtime/logging.h"

namespace tickstream::order {

using namespace std::chrono_literals;

namespace {
// How far back the follower starts when a first subscription opens (covers publishing that
// raced the assignment, and clock differences between the relay's host and this one).
constexpr auto kFollowLookback = std::chrono::seconds(5);
// How long the follower keeps fetching after the last subscription closed: streams that come and
// go do not make it re-assign each time.
constexpr auto kFollowIdle = std::chrono::seconds(10);
// Longest the offset lookups of one assignment may take in all, so a broker that is away delays
// the live feed and a shutdown by at most about this much.
constexpr auto kLookupBudget = std::chrono::seconds(2);
}  // namespace

bool OrderUpdates::Subscription::take(std::chrono::milliseconds timeout, std::vector<v1::OrderEvent>& out,
                                      bool& overflowed) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return closed_ || overflowed_ || !queue_.empty(); });
  overflowed = overflowed_;
  overflowed_ = false;
  for (auto& e : queue_) out.push_back(std::move(e));
  queue_.clear();
  return !closed_;
}

OrderUpdates::OrderUpdates(pg::Pool& pool, OrderUpdatesConfig config) : pool_(pool), config_(std::move(config)) {
  pool_.registerPrepared("order_events_after",
                         "SELECT payload FROM order_events WHERE account = $1 AND account_seq > $2 "
                         "ORDER BY account_seq LIMIT $3");
  pool_.registerPrepared("order_events_last", "SELECT last_seq FROM account_sequences WHERE account = $1");
}

OrderUpdates::~OrderUpdates() { stop(); }

void OrderUpdates::start() {
  partitions_ = kafka::Admin(config_.brokers).partitionCount(config_.topic);
  if (partitions_ <= 0) throw std::runtime_error("topic " + config_.topic + " does not exist (tsctl topics ensure)");
  thread_ = std::thread([this] { run(); });
}

void OrderUpdates::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (auto& [account, sub] : subscribers_) {
      std::lock_guard sub_lock(sub->mu_);
      sub->closed_ = true;
      sub->cv_.notify_all();
    }
  }
  stop_thread_ = true;
  subscribed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<OrderUpdates::Subscription> OrderUpdates::subscribe(const std::string& account) {
  auto sub = std::make_shared<Subscription>();
  std::lock_guard lock(mu_);
  sub->closed_ = stopping_;
  subscribers_.emplace(account, sub);
  subscribed_.notify_all();
  return sub;
}

void OrderUpdates::unsubscribe(const std::string& account, const std::shared_ptr<Subscription>& subscription) {
  std::lock_guard lock(mu_);
  auto [first, last] = subscribers_.equal_range(account);
  for (auto it = first; it != last; ++it) {
    if (it->second == subscription) {
      subscribers_.erase(it);
      return;
    }
  }
}

std::size_t OrderUpdates::subscriptions() const {
  std::lock_guard lock(mu_);
  return subscribers_.size();
}

std::vector<v1::OrderEvent> OrderUpdates::committed(const std::string& account, std::uint64_t after, int limit) {
  return pool_.run(
      [&](pqxx::work& tx) {
        std::vector<v1::OrderEvent> out;
        for (const auto& row : tx.exec_prepared("order_events_after", account, static_cast<std::int64_t>(after), limit)) {
          const pqxx::binarystring bytes(row[0]);
          v1::OrderEvent e;
          if (!e.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
            throw std::runtime_error("order_events payload does not parse for account " + account);
          }
          out.push_back(std::move(e));
        }
        return out;
      },
      pg::Retry::Idempotent);
}

std::uint64_t OrderUpdates::lastSeq(const std::string& account) {
  return pool_.run(
      [&](pqxx::work& tx) -> std::uint64_t {
        const auto r = tx.exec_prepared("order_events_last", account);
        return r.empty() ? 0 : r[0][0].as<std::uint64_t>();
      },
      pg::Retry::Idempotent);
}

bool OrderUpdates::subscribed(const std::string& account) const {
  std::lock_guard lock(mu_);
  return subscribers_.count(account) > 0;
}

void OrderUpdates::dispatch(const std::string& account, const v1::OrderEvent& event) {
  std::lock_guard lock(mu_);
  auto [first, last] = subscribers_.equal_range(account);
  for (auto it = first; it != last; ++it) {
    auto& sub = *it->second;
    std::lock_guard sub_lock(sub.mu_);
    if (sub.queue_.size() >= config_.max_buffered) {
      sub.queue_.clear();
      sub.overflowed_ = true;
    } else {
      sub.queue_.push_back(event);
    }
    sub.cv_.notify_one();
  }
}

void OrderUpdates::run() {
  try {
    kafka::ConsumerConfig cc;
    cc.brokers = config_.brokers;
    cc.client_id = "order-service-updates";
    kafka::Consumer consumer(cc);
    v1::OrderEvent event;
    std::string account;  // the record's key, in a buffer reused across records
    bool following = false;
    auto last_wanted = std::chrono::steady_clock::now();  // a subscription was last seen
    auto last_checked = last_wanted;
    while (!stop_thread_) {
      if (!following) {
        {
          std::unique_lock lock(mu_);
          subscribed_.wait_for(lock, 1s, [&] { return stopping_ || !subscribers_.empty(); });
          if (stopping_) break;
          if (subscribers_.empty()) continue;
        }
        // From a few seconds back, not from the end: an event committed after the first
        // subscribe() but published before this assignment takes effect is then still fed live
        // (the streams drop what they already sent), instead of waiting for a stream's idle
        // check of PostgreSQL.
        const auto since_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch() - kFollowLookback)
                                  .count();
        // A partition whose offset cannot be looked up within the lookups' budget (the broker is
        // away) starts at its end instead: the streams' own checks of PostgreSQL cover what that
        // skips, and the follower must neither die nor hold up the live feed or a shutdown for it.
        const auto lookup_deadline = std::chrono::steady_clock::now() + kLookupBudget;
        std::vector<kafka::TopicPartitionOffset> from;
        for (int32_t p = 0; p < partitions_ && !stop_thread_; ++p) {
          std::int64_t offset = RdKafka::Topic::OFFSET_END;
          const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(lookup_deadline -
                                                                                  std::chrono::steady_clock::now());
          try {
            if (left.count() > 0) offset = consumer.offsetForTime(config_.topic, p, since_ms, left);
          } catch (const std::exception& e) {
            logging::warn("orders.events follower starts a partition at its end",
                          {{"partition", p}, {"error", e.what()}});
          }
          from.push_back({config_.topic, p, offset});
        }
        if (stop_thread_) break;
        try {
          consumer.assign(from);
        } catch (const std::exception& e) {
          logging::warn("orders.events follower could not assign; trying again", {{"error", e.what()}});
          continue;
        }
        following = true;
        last_wanted = std::chrono::steady_clock::now();
        logging::info("orders.events follower following", {{"subscriptions", static_cast<unsigned long long>(subscriptions())}});
      }
      const auto now = std::chrono::steady_clock::now();
      if (now - last_checked >= 100ms) {  // not per record: the hub's mutex is the streams' too
        last_checked = now;
        if (subscriptions() > 0) last_wanted = now;
      }
      if (now - last_wanted > kFollowIdle) {
        // No stream open for a while: stop fetching (and parsing) every account's events.
        consumer.native().unassign();
        following = false;
        continue;
      }
      auto m = consumer.poll(100ms);
      if (!m || !m->ok()) continue;
      // Keyed by account: most events have no stream open for their account, and are not parsed.
      account.assign(m->key());
      if (!subscribed(account)) continue;
      const auto payload = m->payload();
      if (!event.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
        logging::warn("orders.events record does not parse", {{"partition", m->partition()},
                                                             {"offset", static_cast<long long>(m->offset())}});
        continue;
      }
      dispatch(event.account(), event);
    }
    consumer.close();
  } catch (const std::exception& e) {
    // Streams then work from PostgreSQL alone (their idle check), only later.
    logging::error("orders.events follower stopped", {{"error", e.what()}});
  }
}

}  // namespace tickstream::order
