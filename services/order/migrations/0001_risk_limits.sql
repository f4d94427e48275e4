-- Pre-trade risk limits per account (services/order/src/risk_check.h, RiskLimits). An account
-- without a row cannot trade: risk fails closed. Money is fixed-point bigint in 1/10000.
-- The checks mirror RiskLimits::problem(), so a bad row is refused here rather than turning
-- every order of the account into a rejection.
CREATE TABLE risk_limits (
  account            text        PRIMARY KEY CHECK (length(account) BETWEEN 1 AND 256),
  max_order_notional bigint      NOT NULL CHECK (max_order_notional >= 0),
  max_open_orders    bigint      NOT NULL CHECK (max_open_orders >= 0),
  max_position       bigint      NOT NULL CHECK (max_position >= 0),
  orders_per_second  bigint      NOT NULL CHECK (orders_per_second BETWEEN 1 AND 1000000000),
  order_burst        bigint      NOT NULL CHECK (order_burst BETWEEN 1 AND 1000000),
  allow_short        boolean     NOT NULL DEFAULT false,
  updated_at         timestamptz NOT NULL DEFAULT now()
);
