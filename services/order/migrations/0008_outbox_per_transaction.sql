-- One outbox row per transaction instead of one per Kafka record (docs/order.md, "What an order
-- writes"). An order made four rows (three events and its fill), each inserted with an index
-- entry, read by the relay, deleted and vacuumed: about a fifth of the WAL an order wrote. A row
-- now holds every record of the transaction that wrote it, framed in `records` in publishing
-- order (services/order/src/outbox_records.h): per record a big-endian u16 topic length, the
-- topic, a u16 key length, the key, a u32 payload length and the payload.
--
-- Rows waiting at the upgrade become one-record rows, framed the same way, with their ids (so
-- their order) kept. Replicas of an older build fail to write from here on (their INSERT names
-- the dropped columns), so they acknowledge nothing they could lose: stop them before upgrading.
ALTER TABLE outbox ADD COLUMN records bytea;
-- (Lengths of the UTF-8 bytes written, whatever the database's encoding; topics are at most 249
-- characters and keys are account ids, far below smallint's 32,767.)
UPDATE outbox SET records =
  int2send(octet_length(convert_to(topic, 'UTF8'))::smallint) || convert_to(topic, 'UTF8') ||
  int2send(octet_length(convert_to(key, 'UTF8'))::smallint) || convert_to(key, 'UTF8') ||
  int4send(octet_length(payload)) || payload;
ALTER TABLE outbox
  DROP COLUMN topic,
  DROP COLUMN key,
  DROP COLUMN payload,
  ALTER COLUMN records SET NOT NULL,
  ADD CONSTRAINT outbox_records_not_empty CHECK (octet_length(records) > 0);
-- A row per transaction rather than per record: vacuum after fewer of them.
ALTER TABLE outbox SET (autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_insert_threshold = 1000);
