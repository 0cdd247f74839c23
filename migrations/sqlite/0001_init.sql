-- teld's store. Times are ISO-8601 UTC text with microseconds
-- ('2026-11-24T22:01:07.123456'), which sorts chronologically.

CREATE TABLE requests (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The request exactly as accepted (JSON of model::RequestSpec).
    spec          TEXT    NOT NULL,
    priority      INTEGER NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN
                    ('queued','scheduled','observing','completed','failed','expired','cancelled')),
    -- Failed observation attempts (device or driver faults); weather aborts don't count.
    attempts      INTEGER NOT NULL DEFAULT 0,
    submitted_at  TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
);
CREATE INDEX requests_open ON requests (state, priority DESC, id);

-- Every state change of a request, in order: the request's history.
CREATE TABLE request_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id  INTEGER NOT NULL REFERENCES requests (id),
    at          TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    detail      TEXT
);
CREATE INDEX request_events_by_request ON request_events (request_id, id);

-- One row per attempt of a telescope at a request.
CREATE TABLE observations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id  INTEGER NOT NULL REFERENCES requests (id),
    telescope   TEXT    NOT NULL,
    started_at  TEXT    NOT NULL,
    ended_at    TEXT,
    -- NULL while running; then completed | aborted | failed | interrupted.
    outcome     TEXT,
    detail      TEXT
);
CREATE INDEX observations_by_request ON observations (request_id);

CREATE TABLE frames (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id      INTEGER NOT NULL REFERENCES requests (id),
    observation_id  INTEGER NOT NULL REFERENCES observations (id),
    telescope       TEXT    NOT NULL,
    -- Relative to the archive root.
    path            TEXT    NOT NULL UNIQUE,
    date_obs        TEXT    NOT NULL,
    exptime_s       REAL    NOT NULL,
    bytes           INTEGER NOT NULL,
    created_at      TEXT    NOT NULL
);
CREATE INDEX frames_by_request ON frames (request_id, id);

-- Device and safety history: driver up/down, weather safe/unsafe, dome and mount
-- actions taken for safety.
CREATE TABLE device_events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,
    source  TEXT NOT NULL,
    kind    TEXT NOT NULL,
    detail  TEXT
);
