// trader-sim: simulated traders for the main job. Each round one of `--accounts` traders picks
// one of exchange-sim's first `--sim-symbols` symbols and sends a market order (it trades at
// once), a limit order a few ticks from the last trade (some cross and fill, some rest), a
// replace, or a cancel of one of its resting orders. Prices come from md.snapshot, like the
// order service's. Every order and every fill is printed as a line.
//   trader-sim --target 127.0.0.1:50061 --jwt-hs256-secret S --kafka-brokers 127.0.0.1:9092
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "market.h"
#include "price.h"
#include "symbol_directory.h"
#include "tickstream/auth/jwt.h"
#include "tickstream/kafka/topics.h"
#include "tickstream/order/v1/order_service.grpc.pb.h"
#include "tickstream/runtime/flags.h"
#include "tickstream/runtime/logging.h"
#include "tickstream/runtime/shutdown.h"

using namespace tickstream;
namespace v1 = tickstream::order::v1;
using namespace std::chrono_literals;

namespace {

struct Options {
  std::string target = "127.0.0.1:50061";
  std::string secret;
  std::string brokers = "127.0.0.1:9092";
  std::string snapshot_topic = kafka::topics::kMdSnapshot;
  int accounts = 3;
  int sim_symbols = 8;
  int interval_ms = 500;
  std::uint64_t seed = 1;
  int print_symbols = 0;
};

std::string now() {
  const auto t = std::time(nullptr);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", std::gmtime(&t));
  return buf;
}

const char* sideName(v1::Side s) { return s == v1::SIDE_BUY ? "BUY " : "SELL"; }

class Trader {
 public:
  Trader(const Options& o, const order::SymbolDirectory& prices, std::vector<std::string> symbols)
      : opts_(o), prices_(prices), symbols_(std::move(symbols)), rng_(o.seed),
        stub_(v1::OrderService::NewStub(grpc::CreateChannel(o.target, grpc::InsecureChannelCredentials()))) {
    auth::Claims c;
    c.subject = "trader-sim";
    c.roles = {"service"};  // acts for each of its accounts
    c.issued_at = std::time(nullptr);
    c.expires_at = c.issued_at + 365 * 24 * 3600;
    token_ = auth::Signer::hs256(o.secret).sign(c);
    for (int i = 1; i <= o.accounts; ++i) accounts_.push_back("trader-" + std::to_string(i));
  }

  // One StreamOrderUpdates per account, printing fills and final statuses, until `stop`.
  void followFills(runtime::ShutdownSignal& stop) {
    for (const auto& account : accounts_) {
      streams_.emplace_back([this, account, &stop] {
        while (!stop.requested()) {
          grpc::ClientContext ctx;
          ctx.AddMetadata("authorization", "Bearer " + token_);
          {
            std::lock_guard lock(mu_);
            contexts_.push_back(&ctx);
          }
          v1::StreamOrderUpdatesRequest req;
          req.set_account(account);
          auto reader = stub_->StreamOrderUpdates(&ctx, req);
          v1::OrderEvent e;
          while (reader->Read(&e)) printEvent(e);
          reader->Finish();
          {
            std::lock_guard lock(mu_);
            std::erase(contexts_, &ctx);
          }
          stop.waitFor(1000ms);
        }
      });
    }
  }

  void stopStreams() {
    {
      std::lock_guard lock(mu_);
      for (auto* c : contexts_) c->TryCancel();
    }
    for (auto& t : streams_) t.join();
  }

  void round() {
    const auto& account = accounts_[pick(accounts_.size())];
    const auto& symbol = symbols_[pick(symbols_.size())];
    const auto info = prices_.find(symbol);
    if (!info || !info->last_trade_price) return;  // no trade yet: nothing to price against
    const auto last = *info->last_trade_price;
    const int action = static_cast<int>(pick(10));
    auto& resting = resting_[account];
    if (action < 2 && !resting.empty()) {
      cancel(account, resting.front());
      resting.pop_front();
      return;
    }
    if (action < 3 && !resting.empty()) {
      replace(account, resting.front(), last);
      resting.pop_front();
      return;
    }
    v1::SubmitOrderRequest r;
    r.set_account(account);
    r.set_client_order_id(account + "-" + std::to_string(std::time(nullptr)) + "-" + std::to_string(++sent_));
    r.set_symbol(symbol);
    r.set_side(pick(2) ? v1::SIDE_BUY : v1::SIDE_SELL);
    r.set_quantity(100 * static_cast<std::int64_t>(1 + pick(5)));
    if (action < 5) {
      r.set_type(v1::ORDER_TYPE_MARKET);
      r.set_time_in_force(v1::TIME_IN_FORCE_IOC);
    } else {
      // -3..+5 ticks from the last trade on the buy side (mirrored for sells): mostly passive.
      const auto ticks = static_cast<std::int64_t>(pick(9)) - 3;
      const auto price = r.side() == v1::SIDE_BUY ? last + ticks * 100 : last - ticks * 100;
      r.set_type(v1::ORDER_TYPE_LIMIT);
      r.set_time_in_force(v1::TIME_IN_FORCE_DAY);
      r.set_limit_price(std::max<std::int64_t>(100, price / 100 * 100));
    }
    v1::SubmitOrderResponse res;
    grpc::ClientContext ctx;
    prepare(ctx);
    const auto s = stub_->SubmitOrder(&ctx, r, &res);
    if (!s.ok()) {
      std::printf("%s %-9s %s %5lld %-6s refused: %s\n", now().c_str(), account.c_str(), sideName(r.side()),
                  static_cast<long long>(r.quantity()), symbol.c_str(), s.error_message().c_str());
    } else {
      const auto& o = res.order();
      std::printf("%s %-9s %s %5lld %-6s @ %-9s -> %s %s\n", now().c_str(), account.c_str(), sideName(o.side()),
                  static_cast<long long>(o.quantity()), symbol.c_str(),
                  o.type() == v1::ORDER_TYPE_MARKET ? "market" : order::formatPrice(o.limit_price()).c_str(),
                  v1::OrderStatus_Name(o.status()).substr(13).c_str(), o.order_id().c_str());
      if (o.type() == v1::ORDER_TYPE_LIMIT && o.status() == v1::ORDER_STATUS_ACCEPTED) {
        resting.push_back(o.order_id());
        if (resting.size() > 20) resting.pop_front();  // old ones have filled or been left to work
      }
    }
    std::fflush(stdout);
  }

 private:
  std::size_t pick(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }

  void prepare(grpc::ClientContext& ctx) const {
    ctx.AddMetadata("authorization", "Bearer " + token_);
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  }

  void cancel(const std::string& account, const std::string& order_id) {
    v1::CancelOrderRequest r;
    r.set_account(account);
    r.set_order_id(order_id);
    v1::CancelOrderResponse res;
    grpc::ClientContext ctx;
    prepare(ctx);
    const auto s = stub_->CancelOrder(&ctx, r, &res);
    std::printf("%s %-9s cancel %s -> %s\n", now().c_str(), account.c_str(), order_id.c_str(),
                s.ok() ? v1::OrderStatus_Name(res.order().status()).substr(13).c_str() : s.error_message().c_str());
    std::fflush(stdout);
  }

  void replace(const std::string& account, const std::string& order_id, std::int64_t last) {
    v1::ReplaceOrderRequest r;
    r.set_account(account);
    r.set_order_id(order_id);
    r.set_client_order_id(account + "-r-" + std::to_string(std::time(nullptr)) + "-" + std::to_string(++sent_));
    r.set_quantity(100 * static_cast<std::int64_t>(1 + pick(5)));
    r.set_limit_price(last / 100 * 100);
    v1::ReplaceOrderResponse res;
    grpc::ClientContext ctx;
    prepare(ctx);
    const auto s = stub_->ReplaceOrder(&ctx, r, &res);
    if (s.ok()) {
      std::printf("%s %-9s replace %s -> %s, new %s %s @ %s\n", now().c_str(), account.c_str(), order_id.c_str(),
                  v1::OrderStatus_Name(res.original().status()).substr(13).c_str(),
                  res.replacement().order_id().c_str(), v1::OrderStatus_Name(res.replacement().status()).substr(13).c_str(),
                  order::formatPrice(res.replacement().limit_price()).c_str());
      if (res.replacement().status() == v1::ORDER_STATUS_ROUTED) resting_[account].push_back(res.replacement().order_id());
    } else {
      std::printf("%s %-9s replace %s refused: %s\n", now().c_str(), account.c_str(), order_id.c_str(),
                  s.error_message().c_str());
    }
    std::fflush(stdout);
  }

  void printEvent(const v1::OrderEvent& e) {
    const auto& o = e.order();
    if (e.has_fill()) {
      std::printf("%s %-9s FILL %s %5lld %-6s @ %s (%lld/%lld) %s\n", now().c_str(), e.account().c_str(),
                  sideName(e.fill().side()), static_cast<long long>(e.fill().quantity()), o.symbol().c_str(),
                  order::formatPrice(e.fill().price()).c_str(), static_cast<long long>(o.filled_quantity()),
                  static_cast<long long>(o.quantity()), o.order_id().c_str());
    } else if (e.to_status() == v1::ORDER_STATUS_REJECTED) {
      std::printf("%s %-9s REJECTED %s: %s\n", now().c_str(), e.account().c_str(), o.order_id().c_str(),
                  o.reject_text().c_str());
    }
    std::fflush(stdout);
  }

  const Options& opts_;
  const order::SymbolDirectory& prices_;
  std::vector<std::string> symbols_;
  std::mt19937_64 rng_;
  std::unique_ptr<v1::OrderService::Stub> stub_;
  std::string token_;
  std::vector<std::string> accounts_;
  std::map<std::string, std::deque<std::string>> resting_;
  std::uint64_t sent_ = 0;
  std::mutex mu_;
  std::vector<grpc::ClientContext*> contexts_;
  std::vector<std::thread> streams_;
};

}  // namespace

int main(int argc, char** argv) {
  runtime::ShutdownSignal shutdown;
  Options o;
  runtime::Flags flags("trader-sim", "simulated traders placing orders through the order service");
  flags.add("--target", o.target, "order service HOST:PORT");
  flags.add("--jwt-hs256-secret", o.secret, "HS256 key the order service verifies (>= 32 bytes)");
  flags.add("--kafka-brokers", o.brokers, "Kafka bootstrap servers (md.snapshot for prices)");
  flags.add("--snapshot-topic", o.snapshot_topic, "compacted topic of SymbolSnapshots");
  flags.add("--accounts", o.accounts, "traders trader-1..trader-N (each needs a risk_limits row)");
  flags.add("--sim-symbols", o.sim_symbols, "trade exchange-sim's first N symbols");
  flags.add("--interval-ms", o.interval_ms, "pause between orders");
  flags.add("--seed", o.seed, "random seed");
  flags.add("--print-symbols", o.print_symbols, "print exchange-sim's first N symbols, one per line, and exit");
  if (auto code = flags.parse(argc, argv)) return *code;
  const auto simSymbols = [](int n) {
    std::vector<std::string> out;
    for (int i = 1; i <= n; ++i) out.emplace_back(itch::symbol(exchange_sim::tickerFor(static_cast<std::uint16_t>(i))));
    return out;
  };
  if (o.print_symbols > 0) {
    for (const auto& s : simSymbols(o.print_symbols)) std::printf("%s\n", s.c_str());
    return 0;
  }
  if (o.secret.empty()) {
    logging::error("bad flag", {{"error", "--jwt-hs256-secret is required"}});
    return 2;
  }
  try {
    const auto symbols = simSymbols(o.sim_symbols);
    std::string list;
    for (const auto& s : symbols) list += (list.empty() ? "" : ",") + s;
    logging::info("trading", {{"symbols", list}, {"accounts", o.accounts}, {"target", o.target}});
    order::SymbolDirectory prices;
    order::SnapshotFollower follower(o.brokers, o.snapshot_topic, prices, [] {});
    follower.start();
    Trader trader(o, prices, symbols);
    trader.followFills(shutdown);
    while (!shutdown.waitFor(std::chrono::milliseconds(o.interval_ms))) trader.round();
    trader.stopStreams();
    follower.stop();
    return 0;
  } catch (const std::exception& e) {
    logging::error("trader-sim failed", {{"error", e.what()}});
    return 1;
  }
}
