-- Transactional outbox: rows written in the same transaction as the state they announce
-- (orders.events, orders.fills), relayed to Kafka by one relay at a time in id order and
-- deleted by id once the broker acknowledged them (docs/order.md, "Outbox").
CREATE TABLE outbox (
  id         bigserial   PRIMARY KEY,
  topic      text        NOT NULL CHECK (topic <> ''),
  key        text        NOT NULL,  -- the Kafka key: the account
  payload    bytea       NOT NULL,  -- the serialised protobuf message
  created_at timestamptz NOT NULL DEFAULT now()  -- outbox lag = now() - min(created_at)
);

-- Every row is inserted once and deleted soon after: vacuum by row count rather than by a
-- fraction of a table that is nearly empty, so dead rows do not pile up under load.
ALTER TABLE outbox SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000,
                        autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 10000);
