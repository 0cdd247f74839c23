-- Access control, second part (issue 7): token expiry and use, request owners, audit log.

-- NULL: never expires. Compared as text: times are fixed-width ISO-8601 UTC.
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
-- Written at most once a minute per token, so authentication never queues on the writer.
ALTER TABLE api_tokens ADD COLUMN last_used_at TEXT;

-- The token that submitted the request; NULL for local callers (auth off), surveys and
-- requests from before this migration. Observers see only their own.
ALTER TABLE requests ADD COLUMN owner_token_id INTEGER REFERENCES api_tokens (id);
CREATE INDEX requests_owner ON requests (owner_token_id, id);

-- One row per audited API call (control actions, token changes, request submit and
-- cancel), written by the API's access layer, never by handlers. Never holds a secret.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Real UTC (wall clock): when it happened.
    at        TEXT NOT NULL,
    -- The daemon's clock at that moment (differs from `at` when simulated).
    clock_at  TEXT NOT NULL,
    token_id  INTEGER REFERENCES api_tokens (id),
    -- The token's name, or 'local' with auth off.
    actor     TEXT NOT NULL,
    role      TEXT,
    -- Remote ip:port.
    peer      TEXT,
    method    TEXT NOT NULL,
    -- The route template, e.g. /api/v1/telescopes/{name}/actions/{action}.
    route     TEXT NOT NULL,
    -- What it acted on: 't1 park', 'request 12', 'token 3'.
    target    TEXT,
    status    INTEGER NOT NULL,
    -- 'ok', or the error code of the answer ('forbidden', 'not_cancellable', ...).
    result    TEXT NOT NULL,
    -- JSON: what the handler reported, or the error message.
    detail    TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
