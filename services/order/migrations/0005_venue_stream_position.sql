-- How far the order service has applied the venue's execution reports (docs/order.md, "The
-- execution stream"): the venue session and the exec_seq of the last report applied. Written
-- after the transaction of each report's effects; re-applying a report is a no-op (fills are unique by
-- venue_execution_id, repeated transitions are refused by the state machine), so a crash between
-- the two only repeats work.
CREATE TABLE venue_stream_position (
  venue        text        PRIMARY KEY,
  session      text        NOT NULL,
  last_applied bigint      NOT NULL CHECK (last_applied >= 0),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
