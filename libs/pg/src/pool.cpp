#include "tickstream/pg/pool.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <thread>
#include <utility>

namespace tickstream::pg {

namespace {

// pqxx 6 silently reconnects a broken connection the next time a transaction begins ("connection
// reactivation"). The pool owns reconnection instead, so that lost connections are counted,
// replaced with backoff, and get the registry's prepared statements; and so that nothing runs on
// a connection that changed server sessions under its caller. The switch is deprecated in 6.4
// but still honoured, and the whole reactivation feature goes away in pqxx 7.
void inhibitReactivation(pqxx::connection& conn) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  conn.inhibit_reactivation(true);
#pragma GCC diagnostic pop
}

// Whether an idle connection still has a live server session, without a round trip. An idle
// session receives nothing unless something happened to it: when PostgreSQL shuts down or
// terminates the backend it sends a FATAL error and closes the socket, so a readable socket is
// the tell. libpq only notices EOF on a read, so consume what is there, then look again.
bool stillConnected(pqxx::connection& conn) {
  if (!conn.is_open()) return false;
  for (int round = 0; round < 4; ++round) {
    pollfd pfd{conn.sock(), POLLIN, 0};
    if (pfd.fd < 0) return false;
    const int ready = ::poll(&pfd, 1, 0);
    if (ready == 0) return true;  // quiet: the session is (as far as anyone can tell) alive
    if (ready < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if ((pfd.revents & (POLLERR | POLLNVAL)) != 0) return false;
    try {
      conn.get_notifs();  // reads what arrived; throws when the read hits EOF or an error
    } catch (const std::exception&) {
      return false;
    }
    if (!conn.is_open()) return false;
  }
  // Still chattering after four reads: not something an idle pooled session does.
  return false;
}

}  // namespace

bool isConnectionLoss(const std::exception_ptr& error, bool connection_open) noexcept {
  if (!error) return false;
  try {
    std::rethrow_exception(error);
  } catch (const pqxx::broken_connection&) {
    return true;
  } catch (const pqxx::in_doubt_error&) {
    return true;
  } catch (const pqxx::statement_completion_unknown&) {
    return true;
  } catch (...) {
    return !connection_open;
  }
}

// --- Lease ---------------------------------------------------------------------------------

Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      slot_(std::move(other.slot_)),
      broken_(std::exchange(other.broken_, false)) {}

Lease& Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    release();
    pool_ = std::exchange(other.pool_, nullptr);
    slot_ = std::move(other.slot_);
    broken_ = std::exchange(other.broken_, false);
  }
  return *this;
}

Lease::~Lease() { release(); }

void Lease::release() noexcept {
  if (pool_ != nullptr && slot_ != nullptr) pool_->giveBack(std::move(slot_), broken_);
  pool_ = nullptr;
  slot_.reset();
  broken_ = false;
}

// --- Pool ----------------------------------------------------------------------------------

Pool::Pool(PoolConfig config)
    : config_((config.validate(), std::move(config))), conninfo_(connectionString(config_)) {
  // Reserved once: giveBack() pushes without allocating, so it can stay noexcept.
  idle_.reserve(static_cast<std::size_t>(config_.size));
  for (int i = 0; i < config_.size; ++i) {
    idle_.push_back(openConnection());
    ++open_;
  }
  started_ = true;
}

Pool::~Pool() {
  std::lock_guard lock(mu_);
  idle_.clear();
}

std::unique_ptr<detail::PooledConnection> Pool::openConnection() {
  if (stop_retrying_.load() && connect_failed_.load()) {
    throw pqxx::broken_connection("PostgreSQL unreachable and the pool stopped retrying (shutdown)");
  }
  auto slot = std::make_unique<detail::PooledConnection>();
  try {
    slot->conn = std::make_unique<pqxx::connection>(conninfo_);
  } catch (const pqxx::broken_connection&) {
    connect_failures_.fetch_add(1, std::memory_order_relaxed);
    connect_failed_.store(true);
    throw;
  }
  connect_failed_.store(false);
  inhibitReactivation(*slot->conn);
  if (started_.load()) reconnects_.fetch_add(1, std::memory_order_relaxed);
  return slot;
}

void Pool::prepareMissing(detail::PooledConnection& slot, const std::vector<Statement>& registry) {
  for (std::size_t i = slot.prepared; i < registry.size(); ++i) {
    // pqxx 6 defines statements lazily; prepare_now() sends PREPARE so a statement is known to
    // work on this session before anyone leases it.
    slot.conn->prepare(registry[i].name, registry[i].sql);
    slot.conn->prepare_now(registry[i].name);
    slot.prepared = i + 1;
  }
}

Lease Pool::acquire(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::unique_ptr<detail::PooledConnection> slot;
  std::vector<Statement> registry;
  {
    std::unique_lock lock(mu_);
    const auto available = [this] { return !idle_.empty() || open_ < config_.size; };
    if (!available()) {
      waits_.fetch_add(1, std::memory_order_relaxed);
      if (!returned_.wait_until(lock, deadline, available)) {
        acquire_timeouts_.fetch_add(1, std::memory_order_relaxed);
        throw AcquireTimeout("no PostgreSQL connection free within " +
                             std::to_string(timeout.count()) + " ms (all " +
                             std::to_string(config_.size) + " leased)");
      }
    }
    if (!idle_.empty()) {
      slot = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++open_;  // reserve the slot; the connect happens below, outside the lock
    }
    // Copied only when this connection is behind (new statements, or a new connection), which
    // is rare; the common path copies nothing.
    if (slot == nullptr || slot->prepared < statements_.size()) registry = statements_;
  }

  try {
    if (slot != nullptr && !stillConnected(*slot->conn)) {
      slot.reset();
      discarded_.fetch_add(1, std::memory_order_relaxed);
      std::lock_guard lock(mu_);
      registry = statements_;
    }
    if (slot == nullptr) slot = openConnection();
    prepareMissing(*slot, registry);
  } catch (...) {
    slot.reset();
    {
      std::lock_guard lock(mu_);
      --open_;
    }
    returned_.notify_one();
    throw;
  }
  acquisitions_.fetch_add(1, std::memory_order_relaxed);
  return Lease(this, std::move(slot));
}

void Pool::giveBack(std::unique_ptr<detail::PooledConnection> slot, bool broken) noexcept {
  const bool keep = !broken && slot->conn->is_open();
  if (!keep) {
    slot.reset();  // closing is a syscall; not under the lock
    discarded_.fetch_add(1, std::memory_order_relaxed);
  }
  {
    std::lock_guard lock(mu_);
    if (keep) {
      idle_.push_back(std::move(slot));
    } else {
      --open_;
    }
  }
  returned_.notify_one();
}

void Pool::registerPrepared(const std::string& name, const std::string& sql) {
  {
    std::lock_guard lock(mu_);
    for (const auto& s : statements_) {
      if (s.name != name) continue;
      if (s.sql == sql) return;
      throw std::invalid_argument("prepared statement '" + name +
                                  "' is already registered with different SQL");
    }
  }
  // Preparing is idempotent, so a lost connection here is simply retried.
  run(
      [&](pqxx::connection& conn) {
        conn.prepare(name, sql);
        try {
          conn.prepare_now(name);  // bad SQL fails here, at start-up, not on first use
        } catch (...) {
          if (conn.is_open()) conn.unprepare(name);
          throw;
        }
        std::lock_guard lock(mu_);
        for (const auto& s : statements_) {
          // Another thread registered the same name while this one was preparing.
          if (s.name != name) continue;
          if (s.sql == sql) return;
          conn.unprepare(name);
          throw std::invalid_argument("prepared statement '" + name +
                                      "' is already registered with different SQL");
        }
        statements_.push_back(Statement{name, sql});
      },
      Retry::Idempotent);
}

PoolStats Pool::stats() const {
  PoolStats s;
  {
    std::lock_guard lock(mu_);
    s.open = open_;
    s.idle = static_cast<int>(idle_.size());
  }
  s.acquisitions = acquisitions_.load(std::memory_order_relaxed);
  s.waits = waits_.load(std::memory_order_relaxed);
  s.acquire_timeouts = acquire_timeouts_.load(std::memory_order_relaxed);
  s.reconnects = reconnects_.load(std::memory_order_relaxed);
  s.connect_failures = connect_failures_.load(std::memory_order_relaxed);
  s.discarded = discarded_.load(std::memory_order_relaxed);
  s.retries = retries_.load(std::memory_order_relaxed);
  return s;
}

// --- RetryBudget ---------------------------------------------------------------------------

Pool::RetryBudget::RetryBudget(const PoolConfig& config, const std::atomic<bool>& stopped)
    : stopped_(stopped),
      deadline_(Clock::now() + config.retry_timeout),
      backoff_(config.reconnect_backoff_min, config.reconnect_backoff_max,
               config.reconnect_jitter) {}

bool Pool::RetryBudget::pause() {
  const auto now = Clock::now();
  if (now >= deadline_) return false;
  if (stopped_.load()) {
    // One more attempt, at once: it resolves an in-doubt COMMIT while the server is up, and
    // fails fast while it is away.
    return !std::exchange(last_try_used_, true);
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - now);
  std::this_thread::sleep_for(std::min(backoff_.next(), left));
  return true;
}

}  // namespace tickstream::pg
