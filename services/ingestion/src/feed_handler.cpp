#include "feed_handler.h"

#include <charconv>
#include <stdexcept>
#include <variant>

#include "tickstream/runtime/logging.h"

namespace tickstream::ingestion {

namespace {

// A bad feed can send millions of bad messages: log the first few of each kind, then a sample,
// so the log shows the problem without becoming it. The counters carry the full numbers.
bool shouldLog(uint64_t count) noexcept { return count <= 10 || count % 10'000 == 0; }

bool parseInt(std::string_view s, int& out) {
  const auto* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, out);
  return ec == std::errc{} && p == end;
}

} // namespace

void FeedHandlerConfig::validate() const {
  if (trading_date == std::chrono::sys_days{}) {
    throw std::invalid_argument("FeedHandlerConfig.trading_date: must be set (YYYY-MM-DD)");
  }
  if (utc_offset_s <= -86'400 || utc_offset_s >= 86'400) {
    throw std::invalid_argument("FeedHandlerConfig.utc_offset_s: must be within one day");
  }
}

std::optional<std::chrono::sys_days> parseTradingDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') {
    return std::nullopt;
  }
  int y = 0, m = 0, d = 0;
  if (!parseInt(s.substr(0, 4), y) || !parseInt(s.substr(5, 2), m) ||
      !parseInt(s.substr(8, 2), d)) {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year{y},
                                        std::chrono::month{static_cast<unsigned>(m)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) {
    return std::nullopt;
  }
  return std::chrono::sys_days{ymd};
}

uint64_t FeedCounters::malformedTotal() const noexcept {
  uint64_t n = 0;
  for (uint64_t c : malformed) {
    n += c;
  }
  return n;
}

FeedHandler::FeedHandler(FeedHandlerConfig config, Publisher& publisher)
    : config_(std::move(config)), publisher_(publisher), expected_(config_.first_sequence),
      locates_(65'536) {
  config_.validate();
  raw_.set_session(config_.session);
  out_.reserve(128);
}

std::string_view FeedHandler::symbolOf(uint16_t locate) const noexcept {
  const LocateEntry& e = locates_[locate];
  return e.known ? std::string_view(e.stock.data(), e.length) : std::string_view{};
}

bool FeedHandler::checkSequence(uint64_t seq) noexcept {
  if (expected_ == 0 || seq == expected_) {
    expected_ = seq + 1;
    return true;
  }
  if (seq > expected_) {
    // The SoupClient re-logs in from its next expected number, so a jump here means the server
    // (or a capture) really lacks those messages: report it, then carry on from here.
    ++counters_.gaps;
    counters_.missing += seq - expected_;
    logging::warn("sequence gap", {{"session", config_.session},
                                   {"expected", expected_},
                                   {"received", seq},
                                   {"missing", seq - expected_}});
    expected_ = seq + 1;
    return true;
  }
  // Already handled (and published): publishing it again would only make the normalizer drop it.
  ++counters_.duplicates;
  if (shouldLog(counters_.duplicates)) {
    logging::warn("duplicate sequence skipped", {{"session", config_.session},
                                                 {"expected", expected_},
                                                 {"received", seq},
                                                 {"duplicates", counters_.duplicates}});
  }
  return false;
}

void FeedHandler::onMessage(uint64_t seq, std::span<const uint8_t> bytes, int64_t receive_ts_ns,
                            std::optional<uint64_t> file_offset) noexcept {
  ++counters_.messages;
  if (!checkSequence(seq)) {
    return;
  }

  const itch::DecodeStatus status = itch::decode(bytes, decoded_);
  if (status != itch::DecodeStatus::Ok) {
    uint64_t& n = counters_.malformed[static_cast<std::size_t>(status)];
    ++n;
    if (shouldLog(n)) {
      logging::warn("malformed message skipped",
                    {{"status", itch::toString(status)},
                     {"sequence", seq},
                     {"offset", file_offset ? static_cast<long long>(*file_offset) : -1LL},
                     {"length", bytes.size()},
                     {"type", bytes.empty() ? 0U : static_cast<unsigned>(bytes[0])},
                     {"count", n}});
    }
    return;
  }

  const char type = itch::messageType(decoded_);
  const auto [locate, ts_ns] = std::visit(
      [](const auto& m) { return std::pair<uint16_t, uint64_t>{m.stock_locate, m.timestamp_ns}; },
      decoded_);

  if (const auto* dir = std::get_if<itch::StockDirectory>(&decoded_); dir != nullptr) {
    ++counters_.directory;
    LocateEntry& e = locates_[locate];
    const std::string_view sym = itch::symbol(dir->stock);
    if (e.known && symbolOf(locate) != sym) {
      logging::warn("stock locate reassigned",
                    {{"locate", static_cast<unsigned>(locate)}, {"from", symbolOf(locate)},
                     {"to", sym}, {"sequence", seq}});
    }
    e.stock = dir->stock;
    e.length = static_cast<uint8_t>(sym.size());
    e.known = true;
  }

  // Market-wide messages have no symbol: published with an empty key, which the publisher sends
  // to every partition (docs/contracts.md, md.raw).
  const bool market_wide = type == itch::SystemEvent::kType || locate == 0;
  std::string_view symbol;
  if (!market_wide) {
    symbol = symbolOf(locate);
    if (symbol.empty()) {
      // It cannot be keyed, and a guessed key would put it on the wrong partition.
      ++counters_.unknown_locate;
      if (shouldLog(counters_.unknown_locate)) {
        logging::warn("unknown stock locate skipped",
                      {{"locate", static_cast<unsigned>(locate)},
                       {"type", std::string_view(&type, 1)},
                       {"sequence", seq},
                       {"offset", file_offset ? static_cast<long long>(*file_offset) : -1LL},
                       {"count", counters_.unknown_locate}});
      }
      return;
    }
  }

  raw_.mutable_payload()->assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  raw_.mutable_message_type()->assign(1, type);
  raw_.set_stock_locate(locate);
  raw_.mutable_symbol()->assign(symbol.data(), symbol.size());
  raw_.set_sequence_number(seq);
  raw_.set_receive_ts_ns(receive_ts_ns);
  raw_.set_exchange_ts_ns(exchangeToEpochNs(config_.trading_date, config_.utc_offset_s, ts_ns));
  raw_.set_trading_day(static_cast<int32_t>(config_.trading_date.time_since_epoch().count()));
  out_.clear();
  if (!raw_.AppendToString(&out_)) {
    ++counters_.publish_failed;
    return;
  }

  const PublishResult r = publisher_.publish(symbol, out_, seq);
  if (r == PublishResult::Held) {
    ++counters_.held;
    return;
  }
  if (r != PublishResult::Ok) {
    ++counters_.publish_failed;
    if (shouldLog(counters_.publish_failed)) {
      logging::error("publish failed", {{"result", toString(r)},
                                        {"sequence", seq},
                                        {"symbol", symbol},
                                        {"count", counters_.publish_failed}});
    }
    return;
  }
  ++counters_.published;
  if (market_wide) {
    ++counters_.market_wide;
  }
}

} // namespace tickstream::ingestion
