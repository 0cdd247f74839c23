-- The operator's site-wide stop (issue 9). While the row exists every telescope of the
-- site is at safety level `stop` (abort, park, close) until an operator clears it.
-- Kept across restarts: a stop that a restart forgot would reopen the dome by itself.
CREATE TABLE safety_hold (
    -- One site-wide hold at most.
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    -- A token's name, 'local' (auth off) or 'cli'.
    by_name   TEXT NOT NULL,
    reason    TEXT,
    since     TEXT NOT NULL
);
