-- Less work for PostgreSQL per order (docs/order.md, "What an order writes"). Each order is
-- written three times (submit, the venue's ack, its fill or cancel), and before this migration
-- each of those writes also inserted into every index of the rows it touched and checked a
-- foreign key per event and fill.

-- 1. HOT updates for orders. PostgreSQL updates a row without new index entries (a heap-only
-- tuple) only when no indexed column changes, and a partial index's predicate columns count as
-- indexed. orders_working's predicate named `status`, so every status change inserted into all
-- four indexes of orders. Its predicate now reads `working`, which changes once in an order's
-- life, when it ends; the transitions in between (ACCEPTED -> ROUTED -> PARTIALLY_FILLED, the
-- pending states) touch no index. The list is the working statuses of
-- services/order/src/exposure_cache.h (isWorking); a unit test keeps the two equal.
-- A HOT update needs room on the row's own page: leave a fifth of each page free (set first, so
-- the rewrite that adding the column causes already leaves it).
ALTER TABLE orders SET (fillfactor = 80);
ALTER TABLE orders ADD COLUMN working boolean NOT NULL
  GENERATED ALWAYS AS (status IN (1, 2, 3, 4, 6, 8)) STORED;
DROP INDEX orders_working;
CREATE INDEX orders_working ON orders (account, symbol) WHERE working;

-- 2. Indexes no statement reads, each written on every insert. Risk reads positions (0006), not
-- the sum of fills; nothing looks fills or events up by order.
DROP INDEX fills_account_symbol;
DROP INDEX fills_order;
DROP INDEX order_events_order;

-- 3. The foreign keys of the two append-only tables. Each event and fill row ran a referential
-- check per row: a query of its own that also locks the referenced row (a WAL record), about an
-- eighth of PostgreSQL's CPU per order, measured. The store writes an event or fill only in the
-- transaction that inserts its order or has just read it FOR UPDATE (order_store.cpp,
-- order_store_batch.cpp, order_store_changes.cpp), and orders are never deleted, so the check
-- could only ever catch a bug in those statements;
-- tests/integration/order checks that no event or fill points at a missing row instead. The
-- replacement links inside orders keep their keys (written only by a replace, and checked only
-- when they change).
ALTER TABLE order_events DROP CONSTRAINT order_events_order_id_fkey;
ALTER TABLE order_events DROP CONSTRAINT order_events_fill_id_fkey;
ALTER TABLE fills DROP CONSTRAINT fills_order_id_fkey;
