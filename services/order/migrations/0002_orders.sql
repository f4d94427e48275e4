-- Orders as the order service keeps them (proto tickstream.order.v1.Order). Enums are stored as
-- the proto's numbers (smallint): compact, and the numbers are frozen by the proto's rules.
-- Prices and money are fixed-point bigint in 1/10000; timestamps are ns since the Unix epoch.
CREATE TABLE orders (
  order_id             text     PRIMARY KEY,
  account              text     NOT NULL,
  client_order_id      text     NOT NULL,
  -- SHA-256 of the request's canonical encoding (services/order/src/idempotency.h): a retry
  -- with the same key and fingerprint gets this order back, another payload is refused.
  request_fingerprint  bytea    NOT NULL CHECK (length(request_fingerprint) = 32),
  symbol               text     NOT NULL,
  side                 smallint NOT NULL CHECK (side IN (1, 2)),
  type                 smallint NOT NULL CHECK (type IN (1, 2)),
  time_in_force        smallint NOT NULL CHECK (time_in_force BETWEEN 1 AND 4),
  quantity             bigint   NOT NULL CHECK (quantity > 0),
  limit_price          bigint   NOT NULL,
  filled_quantity      bigint   NOT NULL DEFAULT 0,
  avg_fill_price       bigint   NOT NULL DEFAULT 0 CHECK (avg_fill_price >= 0),
  -- The state machine's statuses (services/order/src/order_state_machine.h): a new status
  -- needs code and a migration together.
  status               smallint NOT NULL CHECK (status BETWEEN 1 AND 11),
  reject_reason        smallint NOT NULL DEFAULT 0 CHECK (reject_reason >= 0),
  reject_text          text     NOT NULL DEFAULT '',
  venue_order_id       text,
  created_ts_ns        bigint   NOT NULL,
  updated_ts_ns        bigint   NOT NULL,
  -- Order.version: +1 on every change, so consumers holding a copy can drop stale ones.
  version              bigint   NOT NULL DEFAULT 1 CHECK (version >= 1),
  replaces_order_id    text     REFERENCES orders (order_id),
  replaced_by_order_id text     REFERENCES orders (order_id),
  -- The idempotency key: one order per (account, client_order_id), enforced by the database
  -- so that two concurrent retries cannot both insert.
  CONSTRAINT orders_account_client_order_id_key UNIQUE (account, client_order_id),
  CONSTRAINT orders_limit_price_matches_type
    CHECK ((type = 1 AND limit_price > 0) OR (type = 2 AND limit_price = 0)),
  CONSTRAINT orders_filled_within_quantity CHECK (filled_quantity BETWEEN 0 AND quantity)
);

-- ListOrders: an account's orders, newest first (order_id breaks ties for stable pages).
CREATE INDEX orders_account_created ON orders (account, created_ts_ns DESC, order_id DESC);

-- Working orders (NEW, ACCEPTED, ROUTED, PARTIALLY_FILLED, PENDING_CANCEL, PENDING_REPLACE) by
-- account and symbol: the open-order count and open quantity risk needs, expiry at the close,
-- reconciliation with the venue. Partial, so terminal history does not weigh on it.
CREATE INDEX orders_working ON orders (account, symbol) WHERE status IN (1, 2, 3, 4, 6, 8);

-- No index on venue_order_id: execution reports and ListOpenOrders carry our order_id, and a
-- replacement may keep the original's venue_order_id (venue.proto), so it is not unique.
