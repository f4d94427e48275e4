#include "connection.h"

#include <sys/socket.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <utility>

#include "server.h"
#include "tickstream/runtime/clock.h"
#include "tickstream/runtime/logging.h"
#include "tickstream/ws/frame.h"
#include "tickstream/ws/handshake.h"

namespace tickstream::gateway {

namespace asio = boost::asio;
namespace gv1 = gateway::v1;
using asio::ip::tcp;

namespace {

// Output buffers keep up to this much capacity between bursts (elements, bytes).
constexpr std::size_t kKeepControlSlots = 8;
constexpr std::size_t kKeepBacklogBytes = 4096;
constexpr int64_t kMs = 1'000'000;
constexpr uint16_t kCloseUnauthenticated = 4001;
constexpr uint16_t kCloseTokenExpired = 4002;
constexpr uint16_t kCloseSlowConsumer = 4008;
constexpr uint16_t kCloseRateLimited = 4009;
constexpr uint16_t kCloseReconnect = 4010;
// How long a closing connection waits for the client to close its side.
constexpr int64_t kLingerNs = 2'000'000'000;
// Unconflated output (replies, snapshots, replays) a connection may have queued.
constexpr std::size_t kMaxControlBytes = 4 << 20;

std::string frame(ws::Opcode opcode, std::string_view payload) {
  std::string out(ws::headerSize(payload.size()), '\0');
  ws::writeHeader(reinterpret_cast<uint8_t*>(out.data()), opcode, payload.size());
  out.append(payload);
  return out;
}

} // namespace

Connection::Connection(Server& server, tcp::socket socket, std::string peer, uint32_t index)
    : server_(server), socket_(std::move(socket)), peer_(std::move(peer)),
      parser_(ws::FrameParserConfig{.maxMessageBytes = server.config().max_frame_bytes}),
      inbound_(auth::RateLimit{static_cast<double>(server.config().max_inbound_per_second),
                               2.0 * server.config().max_inbound_per_second}) {
  static uint64_t next_id = 0;
  id_ = ++next_id;
  index_ = index;
  opened_ns_ = last_heard_ns_ = last_ping_ns_ = runtime::wallClockNs();
}

Connection::~Connection() = default;

void Connection::start() {
  boost::system::error_code ignored;
  socket_.non_blocking(true, ignored);  // onReadable() reads until the kernel has no more
  read();
}

void Connection::read() {
  if (state_ == State::Closed) {
    return;
  }
  socket_.async_wait(tcp::socket::wait_read,
                     [self = shared_from_this()](const boost::system::error_code& ec) {
                       if (ec) {
                         self->finish();
                         return;
                       }
                       self->onReadable();
                     });
}

void Connection::onReadable() {
  // The buffer is the server's, shared by every connection on this thread: everything read is
  // consumed (parsed, or copied by the parser when a frame is split) before the next read.
  const std::span<uint8_t> buf = server_.readBuffer();
  boost::system::error_code ec;
  const std::size_t n = socket_.read_some(asio::buffer(buf.data(), buf.size()), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    read();
    return;
  }
  if (ec) {
    finish();  // EOF or reset
    return;
  }
  last_heard_ns_ = runtime::wallClockNs();
  if (state_ == State::Http) {
    onHttp(buf.first(n));
  } else {
    onFrames(buf.first(n));
  }
  // Open, Http, or Closing (waiting for the client's Close or for the socket to go away).
  read();
}

void Connection::onHttp(std::span<const uint8_t> bytes) {
  http_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const ws::RequestResult r = ws::parseRequest(http_, server_.handshakeConfig());
  switch (r.kind) {
  case ws::RequestKind::NeedMore:
    return;
  case ws::RequestKind::Error:
    control_.push_back(ws::buildTextResponse(r.status, r.reason));
    close_after_flush_ = true;
    state_ = State::Closing;
    flush();
    return;
  case ws::RequestKind::PlainHttp:
    control_.push_back(server_.httpResponse(r.request));
    close_after_flush_ = true;
    state_ = State::Closing;
    flush();
    return;
  case ws::RequestKind::Upgrade:
    break;
  }
  if (r.request.path != "/v1/stream") {
    control_.push_back(ws::buildTextResponse(ws::HttpStatus::NotFound, "use /v1/stream\n"));
    close_after_flush_ = true;
    state_ = State::Closing;
    flush();
    return;
  }
  if (server_.draining()) {
    control_.push_back(
        ws::buildTextResponse(ws::HttpStatus::ServiceUnavailable, "draining: reconnect elsewhere\n", 1));
    close_after_flush_ = true;
    state_ = State::Closing;
    flush();
    return;
  }
  encoding_ = encodingFor(r.request.subprotocol);
  // The token may come in the upgrade (Authorization: Bearer, or ?token= for browsers, which
  // cannot set headers on a WebSocket); otherwise the first message must be Auth.
  std::string_view token = r.request.bearerToken;
  if (token.empty()) {
    token = ws::queryParam(r.request.query, "token");
  }
  std::string why;
  gv1::ErrorCode code = gv1::ERROR_CODE_UNSPECIFIED;
  const bool token_given = !token.empty();
  const bool token_ok = token_given && authenticate(token, why, code);
  control_.push_back(ws::buildUpgradeResponse(r.request));
  // Bytes after the request (a client may send its first frame right away).
  const std::size_t extra = http_.size() - r.request.headerBytes;
  std::string rest = http_.substr(r.request.headerBytes, extra);
  http_.clear();
  http_.shrink_to_fit();
  state_ = State::Open;
  if (token_ok || (!token_given && !server_.verifier())) {
    authed_ = true;
    sendWelcome(0);
  } else if (token_given) {
    if (server_.metrics()) server_.metrics()->auth_failures.Increment();
    sendError(0, code, why);
    close(code == gv1::ERROR_CODE_TOKEN_EXPIRED ? kCloseTokenExpired : kCloseUnauthenticated, why);
    return;
  }
  flush();
  if (!rest.empty()) {
    onFrames(std::span<uint8_t>(reinterpret_cast<uint8_t*>(rest.data()), rest.size()));
  }
}

void Connection::onFrames(std::span<uint8_t> bytes) {
  while (state_ == State::Open || state_ == State::Closing) {
    const ws::Event e = parser_.next(bytes);
    switch (e.type) {
    case ws::EventType::NeedMore:
      return;
    case ws::EventType::Text:
    case ws::EventType::Binary:
      if (state_ == State::Open) {
        onMessage(e.type == ws::EventType::Text,
                  std::string_view(reinterpret_cast<const char*>(e.payload.data()), e.payload.size()));
      }
      break;
    case ws::EventType::Ping: {
      // Nothing may follow our Close; pings count against the inbound limit like messages; and
      // only the latest unanswered Ping needs a Pong (RFC 6455 5.5.3).
      if (state_ != State::Open || !inboundAllowed()) {
        break;
      }
      if (!pong_.empty()) {
        pong_.clear();
      }
      pong_.resize(ws::kMaxControlFrameSize);
      pong_.resize(ws::writePong(reinterpret_cast<uint8_t*>(pong_.data()), e.payload));
      flush();
      break;
    }
    case ws::EventType::Pong:
      break;
    case ws::EventType::Close:
      if (state_ == State::Open) {
        close(static_cast<uint16_t>(ws::CloseCode::Normal), "");
      }
      close_after_flush_ = true;
      flush();
      return;
    case ws::EventType::ProtocolError:
      if (server_.metrics()) server_.metrics()->protocol_errors.Increment();
      if (e.code == ws::CloseCode::MessageTooBig) {
        sendError(0, gv1::ERROR_CODE_FRAME_TOO_LARGE,
                  "frame larger than " + std::to_string(server_.config().max_frame_bytes) + " bytes");
      }
      close(static_cast<uint16_t>(e.code), e.reason);
      return;
    }
  }
}

bool Connection::inboundAllowed() {
  const int64_t now = runtime::wallClockNs();
  if (inbound_.full(now)) {
    strikes_ = 0;  // behaved for a whole burst's worth of time: old strikes are forgiven
  }
  if (inbound_.tryTake(now)) {
    return true;
  }
  if (server_.metrics()) server_.metrics()->inbound_rate_limited.Increment();
  if (++strikes_ > server_.config().rate_limit_strikes) {
    close(kCloseRateLimited, "inbound rate limit");
    return false;
  }
  gv1::ServerMessage m;
  auto* err = m.mutable_error();
  err->set_code(gv1::ERROR_CODE_RATE_LIMITED);
  err->set_message("more than " + std::to_string(server_.config().max_inbound_per_second) +
                   " messages per second; message dropped");
  err->set_retry_after_ms(static_cast<uint32_t>(inbound_.retryAfterNs(now) / kMs + 1));
  sendMessage(m);
  return false;
}

void Connection::onMessage(bool text, std::string_view payload) {
  if (!inboundAllowed()) {
    return;
  }
  gv1::ClientMessage m;
  const DecodeResult r = decodeClient(encoding_, text, payload, m);
  if (!r.ok()) {
    if (server_.metrics()) server_.metrics()->protocol_errors.Increment();
    sendError(m.request_id(), r.code, r.message, r.symbol);
    return;
  }
  handle(m);
}

void Connection::handle(const gv1::ClientMessage& m) {
  const uint32_t id = m.request_id();
  if (m.has_auth()) {
    handleAuth(id, m.auth().token());
    return;
  }
  if (!authed_) {
    if (server_.metrics()) server_.metrics()->auth_failures.Increment();
    sendError(id, gv1::ERROR_CODE_UNAUTHENTICATED, "send Auth with a token first");
    close(kCloseUnauthenticated, "unauthenticated");
    return;
  }
  if (m.has_subscribe()) {
    handleSubscribe(id, m.subscribe());
  } else if (m.has_unsubscribe()) {
    handleUnsubscribe(id, m.unsubscribe());
  } else if (m.has_resume()) {
    handleResume(id, m.resume());
  } else if (m.has_ping()) {
    gv1::ServerMessage reply;
    reply.set_request_id(id);
    reply.mutable_pong()->set_client_ts_ns(m.ping().client_ts_ns());
    reply.mutable_pong()->set_server_ts_ns(runtime::wallClockNs());
    sendMessage(reply);
  }
}

bool Connection::authenticate(std::string_view token, std::string& why, gv1::ErrorCode& code) {
  const auto& verifier = server_.verifier();
  if (!verifier) {
    why = "this gateway takes no tokens";
    code = gv1::ERROR_CODE_UNAUTHENTICATED;
    return false;
  }
  const auto now_s = runtime::wallClockNs() / 1'000'000'000;
  const auth::VerifyResult r = verifier->verify(token, now_s);
  if (!r.ok()) {
    why = "token rejected: " + std::string(auth::toString(r.status));
    code = r.status == auth::VerifyStatus::Expired ? gv1::ERROR_CODE_TOKEN_EXPIRED
                                                   : gv1::ERROR_CODE_UNAUTHENTICATED;
    return false;
  }
  token_expires_ns_ = r.claims.expires_at * 1'000'000'000;
  return true;
}

void Connection::handleAuth(uint32_t request_id, std::string_view token) {
  std::string why;
  gv1::ErrorCode code = gv1::ERROR_CODE_UNSPECIFIED;
  if (!authenticate(token, why, code)) {
    if (server_.metrics()) server_.metrics()->auth_failures.Increment();
    sendError(request_id, code, why);
    close(code == gv1::ERROR_CODE_TOKEN_EXPIRED ? kCloseTokenExpired : kCloseUnauthenticated, why);
    return;
  }
  authed_ = true;  // a second Auth extends the session with the new expiry
  sendWelcome(request_id);
}

void Connection::sendWelcome(uint32_t request_id) {
  const auto& c = server_.config();
  gv1::ServerMessage m;
  m.set_request_id(request_id);
  auto* w = m.mutable_welcome();
  w->set_shard_id(static_cast<uint32_t>(c.shard_id));
  w->set_shard_count(static_cast<uint32_t>(c.shard_count));
  w->set_server_ts_ns(runtime::wallClockNs());
  w->set_token_expires_ts_ns(token_expires_ns_);
  w->set_connection_id(connectionId());
  auto* l = w->mutable_limits();
  l->set_max_symbols(c.max_symbols);
  l->set_max_inbound_msgs_per_sec(c.max_inbound_per_second);
  l->set_max_frame_bytes(c.max_frame_bytes);
  l->set_min_interval_floor_ms(c.min_interval_floor_ms);
  sendMessage(m);
}

void Connection::handleSubscribe(uint32_t request_id, const gv1::Subscribe& s) {
  const auto& c = server_.config();
  for (const auto& want : s.subscriptions()) {
    if (state_ != State::Open) {
      return;  // closed by one of this request's replies (over the backlog limit, or gone)
    }
    const std::string& symbol = want.symbol();
    const sharding::Route route = server_.ring().route(symbol);
    if (!server_.ring().owns(c.shard_id, route.partition)) {
      gv1::ServerMessage m;
      m.set_request_id(request_id);
      auto* err = m.mutable_error();
      err->set_code(gv1::ERROR_CODE_WRONG_SHARD);
      err->set_symbol(symbol);
      const int32_t right = route.shards.empty() ? -1 : route.shards[0];
      err->set_shard_id(static_cast<uint32_t>(right));
      err->set_endpoint(server_.endpointOf(right));
      err->set_message("shard " + std::to_string(right) + " serves " + symbol);
      sendMessage(m);
      continue;
    }
    if (server_.store().snapshot(symbol) == nullptr) {
      sendError(request_id, gv1::ERROR_CODE_UNKNOWN_SYMBOL, "not listed: " + symbol, symbol);
      continue;
    }
    auto it = findSub(symbol);
    if (it == subs_.end() && subs_.size() >= c.max_symbols) {
      sendError(request_id, gv1::ERROR_CODE_TOO_MANY_SUBSCRIPTIONS,
                "at most " + std::to_string(c.max_symbols) + " symbols per connection", symbol);
      continue;
    }
    const bool fresh = it == subs_.end();
    if (fresh) {
      if (subs_.size() == subs_.capacity()) {
        // Room for this request's symbols at once, not the doubling growth's slack.
        subs_.reserve(std::min<std::size_t>(c.max_symbols,
                                            subs_.size() + static_cast<std::size_t>(s.subscriptions_size())));
      }
      const auto slot = static_cast<uint32_t>(subs_.size());
      Sub& added = subs_.emplace_back();
      added.topic = server_.subscribe(symbol, index_, slot);
      // Nothing to pull until sendState() below brings it up to a snapshot or a replay.
      added.received = added.topic->received;
      it = subs_.end() - 1;
    }
    Sub& sub = *it;
    if (!fresh) {
      // New modes may select an update already in the topic that the old ones did not: look
      // at this slot in the flush below, as if it had been marked.
      pending_ |= slotBit(static_cast<uint32_t>(it - subs_.begin()));
    }
    sub.mask = maskOf(want.modes());
    sub.topic->masks_in_use |= 1U << sub.mask;
    sub.min_interval_ms = std::max(want.min_interval_ms(), c.min_interval_floor_ms);
    gv1::ServerMessage ack;
    ack.set_request_id(request_id);
    auto* sd = ack.mutable_subscribed();
    sd->set_symbol(symbol);
    modesOf(sub.mask, *sd->mutable_modes());
    sd->set_min_interval_ms(sub.min_interval_ms);
    sendMessage(ack);
    if (fresh) {
      std::optional<uint64_t> from;
      if (resume_) {
        if (auto r = resume_->find(symbol); r != resume_->end()) {
          from = r->second;
          resume_->erase(r);
        }
      }
      sendState(request_id, sub, from);
    }
  }
}

void Connection::handleUnsubscribe(uint32_t request_id, const gv1::Unsubscribe& u) {
  gv1::ServerMessage ack;
  ack.set_request_id(request_id);
  for (const auto& symbol : u.symbols()) {
    auto it = findSub(symbol);
    if (it == subs_.end()) {
      continue;
    }
    removeSub(static_cast<uint32_t>(it - subs_.begin()));
    ack.mutable_unsubscribed()->add_symbols(symbol);
  }
  if (!ack.has_unsubscribed()) {
    ack.mutable_unsubscribed();
  }
  sendMessage(ack);
}

void Connection::handleResume(uint32_t request_id, const gv1::Resume& r) {
  for (const auto& pos : r.positions()) {
    if (state_ != State::Open) {
      return;  // closed by one of this request's replays
    }
    auto it = findSub(pos.symbol());
    if (it == subs_.end()) {
      // Used by the next Subscribe for it; bounded like subscriptions are.
      if (!resume_) {
        resume_ = std::make_unique<std::unordered_map<std::string, uint64_t>>();
      }
      if (resume_->size() < server_.config().max_symbols || resume_->contains(pos.symbol())) {
        (*resume_)[pos.symbol()] = pos.last_seq();
      }
      continue;
    }
    // Gap repair on a live subscription: the replay (or snapshot) brings it up to date.
    sendState(request_id, *it, pos.last_seq());
  }
}

void Connection::sendState(uint32_t request_id, Sub& sub, std::optional<uint64_t> from_seq) {
  SymbolStore& store = server_.store();
  const std::string& symbol = sub.topic->name;
  // What the store holds is every update the topic counted (both are fed by onUpdates), so a
  // client brought up to the store's latest is at the topic's `received` count.
  if (from_seq) {
    std::vector<UpdatePtr> missed;
    if (store.updatesAfter(symbol, *from_seq, missed)) {
      sub.last_seq = *from_seq;
      uint64_t skipped = 0;
      for (const auto& u : missed) {
        auto frames = std::make_shared<UpdateFrames>(u, server_.config().latency_from_exchange);
        if (frames->empty(sub.mask)) {
          ++skipped;
          continue;
        }
        sendUpdateNow(frames, sub, skipped);
        skipped = 0;
      }
      // The history is contiguous up to the latest update: those after the last one sent are
      // counted in the next live Update.
      sub.received = sub.topic->received - static_cast<uint32_t>(skipped);
      return;
    }
  }
  const marketdata::v1::SymbolSnapshot* snap = store.snapshot(symbol);
  if (snap == nullptr) {
    return;
  }
  std::string payload;
  encodeSnapshot(encoding_, sub.mask, *snap, from_seq.has_value(), request_id, payload);
  queueFrame(dataOpcode(encoding_), std::move(payload));
  sub.last_seq = snap->last_seq();
  sub.received = sub.topic->received;
  flush();
}

void Connection::sendUpdateNow(const std::shared_ptr<UpdateFrames>& frames, Sub& sub,
                               uint64_t skipped) {
  const Pieces p = frames->pieces(encoding_, sub.mask, skipped);
  std::string payload;
  payload.reserve(p.size());
  for (const auto part : p.spans()) {
    payload.append(part);
  }
  queueFrame(dataOpcode(encoding_), std::move(payload));
  sub.last_seq = frames->update().seq();
  flush();
}

void Connection::removeSub(uint32_t slot) {
  server_.unsubscribe(*subs_[slot].topic, index_);
  const auto last = static_cast<uint32_t>(subs_.size() - 1);
  if (slot != last) {
    server_.moveSubscriber(*subs_[last].topic, index_, last, slot);
    subs_[slot] = subs_.back();
  }
  subs_.pop_back();
  // Marks made for the old slots may now name other subscriptions: look at all of them once.
  pending_ = kAllSlots;
}

uint32_t Connection::msSinceOpen(int64_t now_ns) const noexcept {
  return static_cast<uint32_t>(std::max<int64_t>(0, now_ns - opened_ns_) / kMs);
}

std::string Connection::connectionId() const {
  return std::to_string(server_.config().shard_id) + "-" + std::to_string(id_);
}

std::vector<Connection::Sub>::iterator Connection::findSub(std::string_view symbol) noexcept {
  // By name: only for client requests (subscribe, unsubscribe, resume), never per update.
  return std::find_if(subs_.begin(), subs_.end(), [&](const Sub& x) { return x.topic->name == symbol; });
}

void Connection::sendError(uint32_t request_id, gv1::ErrorCode code, std::string message,
                           std::string symbol) {
  gv1::ServerMessage m;
  m.set_request_id(request_id);
  auto* err = m.mutable_error();
  err->set_code(code);
  err->set_message(std::move(message));
  err->set_symbol(std::move(symbol));
  sendMessage(m);
}

void Connection::sendMessage(const gv1::ServerMessage& m) {
  std::string payload;
  encodeServer(encoding_, m, payload);
  queueFrame(dataOpcode(encoding_), std::move(payload));
  flush();
}

void Connection::queueFrame(ws::Opcode opcode, std::string payload) {
  if (state_ != State::Open) {
    return;  // closing: nothing more goes to this client but the Close already queued
  }
  control_bytes_ += payload.size() + ws::kMaxServerHeaderSize;
  control_.push_back(frame(opcode, payload));
  if (control_bytes_ > kMaxControlBytes) {
    // Replies, snapshots and replays are not conflated: a client that asks for more than it
    // reads is closed rather than allowed to grow the gateway's memory. What is queued and not
    // yet in a write is dropped (the client is leaving), so the Close (4008) gets out behind
    // at most the one write already started.
    if (server_.metrics()) server_.metrics()->slow_client_closes.Increment();
    logging::info("client backlog over the limit", {{"peer", peer_}, {"connection", connectionId()}});
    control_.clear();
    control_bytes_ = 0;
    close(kCloseSlowConsumer, "backlog over the limit");
  }
}

void Connection::close(uint16_t code, std::string_view reason) {
  if (state_ != State::Open) {
    return;
  }
  std::string f(ws::kMaxControlFrameSize, '\0');
  f.resize(ws::writeClose(reinterpret_cast<uint8_t*>(f.data()), static_cast<ws::CloseCode>(code),
                          reason));
  control_.push_back(std::move(f));
  state_ = State::Closing;
  close_after_flush_ = true;
  flush();
}

void Connection::drain(const gv1::Reconnect& reconnect) {
  if (state_ != State::Open) {
    return;
  }
  gv1::ServerMessage m;
  *m.mutable_reconnect() = reconnect;
  sendMessage(m);
  close(kCloseReconnect, "reconnect");
}

void Connection::flush() {
  if (writing_ || state_ == State::Closed) {
    return;
  }
  const int64_t now = runtime::wallClockNs();
  WriteBatch& batch = server_.writeBatch();
  for (;;) {
    batch.clear();
    const bool pong = !pong_.empty();
    const std::size_t replies = takeControl(batch);
    // Live updates only behind every queued reply: a replay or snapshot left for the next
    // write must not be overtaken by a newer update of its symbol.
    const bool all_replies = replies == control_.size();
    const bool more = !all_replies || (state_ == State::Open && pullUpdates(now, batch));
    if (batch.empty()) {
      break;
    }
    if (!send(batch, now)) {
      return;  // failed: finished
    }
    // Sent, or copied into backlog_: the replies are no longer needed.
    if (pong) pong_.clear();
    for (std::size_t i = 0; i < replies; ++i) {
      control_bytes_ -= std::min(control_bytes_, control_[i].size() + ws::kMaxServerHeaderSize);
    }
    control_.erase(control_.begin(), control_.begin() + static_cast<std::ptrdiff_t>(replies));
    if (writing_) {
      return;  // the rest when the socket has room
    }
    if (!more && control_.empty() && pong_.empty()) {
      break;
    }
  }
  releaseIdleBuffers();
  if (close_after_flush_) {
    linger();
  }
}

std::size_t Connection::takeControl(WriteBatch& batch) {
  if (!pong_.empty()) {
    batch.add(pong_);
    ++batch.messages;
  }
  std::size_t taken = 0;
  // At least one, however large; more while the write is under its soft limit.
  for (; taken < control_.size() && (taken == 0 || batch.roomForUpdate()); ++taken) {
    batch.add(control_[taken]);
  }
  batch.messages += taken;
  return taken;
}

bool Connection::pullUpdates(int64_t now_ns, WriteBatch& batch) {
  const uint32_t now_ms = msSinceOpen(now_ns);
  bool held_back = false;
  uint64_t todo = pending_;
  while (todo != 0) {
    const auto bit = static_cast<uint32_t>(std::countr_zero(todo));
    todo &= todo - 1;
    // Slots from kSharedSlot on share its bit: look at each of them.
    const std::size_t last = bit < kSharedSlot ? std::min<std::size_t>(bit + 1, subs_.size())
                                               : subs_.size();
    Pull result = Pull::Done;
    for (std::size_t slot = bit; slot < last; ++slot) {
      const Pull r = pullOne(subs_[slot], now_ms, batch);
      if (r == Pull::NoRoom) {
        return true;  // this bit and those after it stay pending
      }
      if (r == Pull::HeldBack) {
        result = Pull::HeldBack;
      }
    }
    if (result == Pull::HeldBack) {
      held_back = true;  // the bit stays: the server's timer wakes us to look again
    } else {
      pending_ &= ~(uint64_t{1} << bit);
    }
  }
  if (held_back) {
    server_.deferred(index_);
  }
  return false;
}

Connection::Pull Connection::pullOne(Sub& sub, uint32_t now_ms, WriteBatch& batch) {
  Topic::Latest& l = sub.topic->latest[sub.mask];
  if (l.frames == nullptr || !counterAfter(l.received, sub.received)) {
    return Pull::Done;  // nothing new for this client
  }
  if (l.seq <= sub.last_seq) {
    return Pull::Done;  // the client has it already (a snapshot or a replay)
  }
  if (now_ms < sub.next_allowed_ms) {
    return Pull::HeldBack;  // its min interval
  }
  if (!batch.roomForUpdate()) {
    return Pull::NoRoom;
  }
  const uint32_t skipped = skippedBetween(l.received, sub.received);
  if (skipped == 0) {
    const auto e = static_cast<std::size_t>(encoding_);
    if (l.frame_data[e] == nullptr) {
      const std::string_view f = l.frames->frame(encoding_, sub.mask);
      l.frame_data[e] = f.data();
      l.frame_size[e] = static_cast<uint32_t>(f.size());
    }
    batch.addEncoded({l.frame_data[e], l.frame_size[e]});
  } else {
    batch.addUpdate(*l.frames, encoding_, sub.mask, skipped);
  }
  batch.latency_start.push_back(l.latency_start_ns);
  sub.last_seq = l.seq;
  sub.received = l.received;
  sub.next_allowed_ms = now_ms + sub.min_interval_ms;
  return Pull::Done;
}

bool Connection::send(const WriteBatch& batch, int64_t now_ns) {
  // Straight to the kernel: on loopback and on any client that keeps up, the socket takes the
  // whole write at once, so no asynchronous operation, handler or kept buffer is needed.
  // One attempt: after a partial send the socket is full, and a second call would only say so.
  ssize_t n;
  do {
    n = ::send(socket_.native_handle(), batch.data(), batch.size, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
    finish();  // reset or gone
    return false;
  }
  const std::size_t sent = n < 0 ? 0 : static_cast<std::size_t>(n);
  if (server_.metrics() != nullptr) {
    DeliveryStats& stats = server_.deliveryStats();
    stats.wrote(batch.size, batch.messages, batch.skipped);
    for (const int64_t ts : batch.latency_start) {
      if (ts > 0) {
        // An exchange clock ahead of ours (--latency-from exchange) would give a negative
        // figure: it counts as 0, in the lowest bucket.
        stats.latency(std::max<int64_t>(now_ns - ts, 0));
      }
    }
  }
  if (sent == batch.size) {
    return true;
  }
  // A slow reader: keep the rest (at most this one write), send nothing more until it is out.
  backlog_.assign(batch.data() + sent, batch.size - sent);
  writing_ = true;
  write_started_ns_ = now_ns;
  waitForRoom();
  return true;
}

void Connection::waitForRoom() {
  socket_.async_wait(tcp::socket::wait_write, [self = shared_from_this()](
                                                  const boost::system::error_code& ec) {
    if (ec) {
      self->finish();  // closed meanwhile (finish is idempotent)
      return;
    }
    const ssize_t n = ::send(self->socket_.native_handle(), self->backlog_.data(),
                             self->backlog_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      self->finish();
      return;
    }
    if (n > 0) {
      self->backlog_.erase(0, static_cast<std::size_t>(n));
    }
    if (!self->backlog_.empty()) {
      self->waitForRoom();
      return;
    }
    self->writing_ = false;
    self->flush();  // what came meanwhile, newest only
  });
}

void Connection::releaseIdleBuffers() {
  if (control_.capacity() > kKeepControlSlots) {
    std::vector<std::string>().swap(control_);
  }
  if (backlog_.capacity() > kKeepBacklogBytes) {
    std::string().swap(backlog_);
  }
}

void Connection::housekeeping(int64_t now_ns) {
  const auto& c = server_.config();
  if (state_ == State::Closed) {
    return;
  }
  if (lingering_ && now_ns - linger_since_ns_ > kLingerNs) {
    abort("client did not close");
    return;
  }
  const int64_t slow_after = int64_t{c.slow_client_timeout_ms} * kMs;
  if (writing_ && now_ns - write_started_ns_ > slow_after) {
    if (state_ == State::Open) {
      // The client stopped reading: its pending data stays bounded (one update per symbol),
      // but it is behind for good. The Close (4008) waits behind the stuck write, so a client
      // that reads again learns why it was closed; one that does not is cut off below.
      if (server_.metrics()) server_.metrics()->slow_client_closes.Increment();
      logging::info("slow client closed", {{"peer", peer_}, {"connection", connectionId()}});
      close(kCloseSlowConsumer, "slow consumer");
      return;
    }
    if (now_ns - write_started_ns_ > slow_after + kLingerNs) {
      abort("slow consumer");  // closing, and still nothing read: the Close cannot get out
      return;
    }
  }
  if (state_ == State::Http && now_ns - opened_ns_ > int64_t{c.auth_timeout_ms} * kMs) {
    abort("no upgrade request in time");
    return;
  }
  if (state_ != State::Open) {
    return;
  }
  if (!authed_ && now_ns - opened_ns_ > int64_t{c.auth_timeout_ms} * kMs) {
    sendError(0, gv1::ERROR_CODE_UNAUTHENTICATED, "no Auth in time");
    close(kCloseUnauthenticated, "auth timeout");
    return;
  }
  if (authed_ && token_expires_ns_ != 0 && now_ns > token_expires_ns_) {
    sendError(0, gv1::ERROR_CODE_TOKEN_EXPIRED, "token expired; send Auth with a new one");
    close(kCloseTokenExpired, "token expired");
    return;
  }
  if (now_ns - last_heard_ns_ > int64_t{c.idle_timeout_ms} * kMs) {
    close(static_cast<uint16_t>(ws::CloseCode::GoingAway), "idle timeout");
    return;
  }
  // Pinged by what we hear, not by what we send: a client that only listens (a browser page
  // sends nothing after subscribing) hears a steady stream from us and would never be pinged
  // otherwise, so it would never send the pong that keeps it past the idle timeout. Browsers
  // and WebSocket libraries answer pings by themselves.
  const int64_t ping_every = int64_t{c.ping_interval_ms} * kMs;
  if (now_ns - last_heard_ns_ > ping_every && now_ns - last_ping_ns_ > ping_every) {
    std::string ping(ws::kMaxControlFrameSize, '\0');
    ping.resize(ws::writePing(reinterpret_cast<uint8_t*>(ping.data()), {}));
    control_.push_back(std::move(ping));
    last_ping_ns_ = now_ns;
    flush();
  }
}

void Connection::linger() {
  if (lingering_ || state_ == State::Closed) {
    return;
  }
  // Half-close, then read until the client closes too. Closing a socket with unread input makes
  // the kernel send a reset, and a reset makes the client's kernel drop what it has not read
  // yet: our last replies and the Close frame would never reach it.
  lingering_ = true;
  linger_since_ns_ = runtime::wallClockNs();
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
}

void Connection::abort(std::string_view why) {
  if (state_ == State::Closed) {
    return;
  }
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  logging::debug("connection aborted", {{"peer", peer_}, {"why", why}});
  finish();
}

void Connection::finish() {
  if (state_ == State::Closed) {
    return;
  }
  state_ = State::Closed;
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  // The rest once the current handler is done: finish() can run in the middle of a loop over
  // subs_ (a send that fails during a Subscribe or a Resume replay), which must not see its
  // subscriptions cleared under it. Meanwhile the connection is Closed, so nothing is sent and
  // whatever that loop still subscribes is removed here too.
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    for (const Sub& sub : self->subs_) {
      self->server_.unsubscribe(*sub.topic, self->index_);
    }
    self->subs_.clear();
    self->server_.closed(self);
  });
}

} // namespace tickstream::gateway
