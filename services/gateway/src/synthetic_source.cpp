#include "synthetic_source.h"

#include <cstdio>
#include <memory>

#include "server.h"
#include "tickstream/runtime/clock.h"

namespace tickstream::gateway {

namespace mdv1 = marketdata::v1;

SyntheticSource::SyntheticSource(SyntheticSourceConfig config, boost::asio::io_context& io,
                                 Server& server)
    : config_(config), server_(server), timer_(io) {}

void SyntheticSource::start(std::function<void()> on_ready) {
  const int64_t now = runtime::wallClockNs();
  const auto first_seq = static_cast<uint64_t>(now / 1000);
  std::vector<mdv1::SymbolSnapshot> snapshots;
  for (int i = 0; i < config_.symbols; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "LG%05d", i);
    const auto route = server_.ring().route(name);
    if (!server_.ring().owns(server_.config().shard_id, route.partition)) {
      continue;
    }
    symbols_.emplace_back(name);
    seqs_.push_back(first_seq - 1);
    auto& s = snapshots.emplace_back();
    s.set_symbol(name);
    s.set_last_seq(first_seq - 1);
    auto* q = s.mutable_quote();
    q->set_bid_price(1'000'000 + i * 100);
    q->set_bid_size(100);
    q->set_ask_price(1'000'100 + i * 100);
    q->set_ask_size(100);
    s.mutable_status()->set_state(mdv1::TRADING_STATE_TRADING);
    s.set_publish_ts_ns(now);
  }
  server_.loadSnapshots(snapshots);
  on_ready();
  start_ = std::chrono::steady_clock::now();
  tick();
}

void SyntheticSource::tick() {
  if (!symbols_.empty()) {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const auto target = static_cast<uint64_t>(elapsed * config_.updates_per_second);
    std::vector<UpdatePtr> batch;
    batch.reserve(static_cast<std::size_t>(target - sent_));
    const int64_t now = runtime::wallClockNs();
    for (; sent_ < target; ++sent_) {
      const std::size_t i = next_;
      next_ = (next_ + 1) % symbols_.size();
      auto u = std::make_shared<mdv1::MarketDataUpdate>();
      u->set_symbol(symbols_[i]);
      u->set_seq(++seqs_[i]);
      u->set_exchange_ts_ns(now);
      u->set_receive_ts_ns(now);
      u->set_publish_ts_ns(now);
      auto* q = u->mutable_quote();
      const auto wobble = static_cast<int64_t>(seqs_[i] % 7) * 100;
      q->set_bid_price(1'000'000 + static_cast<int64_t>(i) * 100 + wobble);
      q->set_bid_size(100 + static_cast<int64_t>(seqs_[i] % 10) * 100);
      q->set_ask_price(1'000'100 + static_cast<int64_t>(i) * 100 + wobble);
      q->set_ask_size(200);
      q->set_exchange_ts_ns(now);
      batch.push_back(std::move(u));
    }
    if (!batch.empty()) {
      server_.onUpdates(batch);
    }
  }
  timer_.expires_after(std::chrono::milliseconds(1));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) tick();
  });
}

} // namespace tickstream::gateway
