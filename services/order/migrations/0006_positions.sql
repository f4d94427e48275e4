-- Each account's signed position per symbol (bought minus sold shares), kept by a trigger on
-- fills in the same transaction as the fill, so pre-trade risk reads one row instead of summing
-- every fill of the account in the symbol (a read that grew with each fill; docs/order.md,
-- "Risk"). Fills are only ever inserted, so an insert trigger keeps it exact.
CREATE TABLE positions (
  account  text   NOT NULL,
  symbol   text   NOT NULL,
  quantity bigint NOT NULL,
  PRIMARY KEY (account, symbol)
);

INSERT INTO positions (account, symbol, quantity)
SELECT account, symbol, sum(CASE side WHEN 1 THEN quantity ELSE -quantity END)
FROM fills GROUP BY account, symbol;

CREATE FUNCTION positions_add_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO positions AS p (account, symbol, quantity)
  VALUES (NEW.account, NEW.symbol, CASE NEW.side WHEN 1 THEN NEW.quantity ELSE -NEW.quantity END)
  ON CONFLICT (account, symbol) DO UPDATE SET quantity = p.quantity + EXCLUDED.quantity;
  RETURN NULL;
END;
$$;

CREATE TRIGGER fills_add_to_positions AFTER INSERT ON fills
  FOR EACH ROW EXECUTE FUNCTION positions_add_fill();
