-- Per-account event sequence. Each transaction that records events for an account first runs
--   INSERT INTO account_sequences AS s (account, last_seq) VALUES ($1, 1)
--   ON CONFLICT (account) DO UPDATE SET last_seq = s.last_seq + 1 RETURNING last_seq
-- which takes the account's row lock until commit. That makes account_seq dense (a rollback
-- undoes the increment, unlike a SEQUENCE) and makes an account's transactions commit one
-- after another, so their outbox rows get ids in account_seq order (docs/order.md, "Outbox").
CREATE TABLE account_sequences (
  account  text   PRIMARY KEY,
  last_seq bigint NOT NULL CHECK (last_seq >= 0)
);

-- Executions, deduplicated by the venue's execution id: a fill the venue repeats (after a
-- reconnect, in reconciliation) conflicts here and is applied once. One venue today; a second
-- one would make the key (venue, venue_execution_id).
CREATE TABLE fills (
  fill_id            text     PRIMARY KEY,
  venue_execution_id text     NOT NULL,
  order_id           text     NOT NULL REFERENCES orders (order_id),
  account            text     NOT NULL,
  symbol             text     NOT NULL,
  side               smallint NOT NULL CHECK (side IN (1, 2)),
  quantity           bigint   NOT NULL CHECK (quantity > 0),
  price              bigint   NOT NULL CHECK (price > 0),
  fill_ts_ns         bigint   NOT NULL,
  liquidity          smallint NOT NULL DEFAULT 0 CHECK (liquidity >= 0),
  fee                bigint   NOT NULL DEFAULT 0,
  CONSTRAINT fills_venue_execution_id_key UNIQUE (venue_execution_id)
);
CREATE INDEX fills_order ON fills (order_id);
-- Positions for risk until the portfolio service provides them: the sum of signed fills.
CREATE INDEX fills_account_symbol ON fills (account, symbol);

-- Every status transition, in account_seq order: the history StreamOrderUpdates replays from
-- after_account_seq, and the record the outbox rows were made from.
CREATE TABLE order_events (
  account     text     NOT NULL,
  account_seq bigint   NOT NULL CHECK (account_seq >= 1),
  event_id    text     NOT NULL,
  order_id    text     NOT NULL REFERENCES orders (order_id),
  from_status smallint NOT NULL CHECK (from_status BETWEEN 0 AND 11),
  to_status   smallint NOT NULL CHECK (to_status BETWEEN 1 AND 11),
  fill_id     text     REFERENCES fills (fill_id),
  event_ts_ns bigint   NOT NULL,
  payload     bytea    NOT NULL,  -- the serialised tickstream.order.v1.OrderEvent, as published
  PRIMARY KEY (account, account_seq)
);
CREATE INDEX order_events_order ON order_events (order_id);
