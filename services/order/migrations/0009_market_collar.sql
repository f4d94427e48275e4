-- A market order's collar (docs/order.md, "Market order collar"): the worst price it may trade
-- at, fixed at submit from the last trade. Stored, because the venue must get the same request
-- bytes every time the order is sent again (it deduplicates NewOrders by order id and refuses
-- the same id with another payload), and the last trade moves between sends. A constant
-- default adds the column without rewriting the table (PostgreSQL 11+); 0 = no collar.
ALTER TABLE orders ADD COLUMN collar_price bigint NOT NULL DEFAULT 0
  CONSTRAINT orders_collar_market_only CHECK (collar_price >= 0 AND (collar_price = 0 OR type = 2));  -- 2: MARKET
