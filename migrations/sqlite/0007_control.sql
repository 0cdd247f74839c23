-- Who controls each telescope (issue 7). Kept across restarts: a telescope an
-- operator paused or took for maintenance must not start observing by itself
-- because teld restarted.
CREATE TABLE telescope_control (
    telescope       TEXT PRIMARY KEY,
    mode            TEXT NOT NULL CHECK (mode IN ('auto', 'paused', 'manual')),
    -- Who set the mode: a token's name, 'local' (auth off) or 'cli'.
    holder_name     TEXT,
    -- The token behind holder_name; no foreign key, so revoking or removing a
    -- token never blocks or rewrites this history.
    holder_token_id INTEGER,
    reason          TEXT,
    since           TEXT NOT NULL
);
