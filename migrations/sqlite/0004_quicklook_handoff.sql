-- Quick-look of each archived frame (issue 6): what the first stage of image
-- processing measured, its pass/fail verdict, the preview, and the file's SHA-256 the
-- pipeline checks its copy against. One row per frame, written once.
CREATE TABLE frame_quicklook (
    frame_id            INTEGER PRIMARY KEY REFERENCES frames (id),
    measured_at         TEXT    NOT NULL,
    sha256              TEXT    NOT NULL,
    -- NULL when the frame is not judged (a dark, a bias) or could not be measured.
    pass                INTEGER,
    reason              TEXT,
    detail              TEXT    NOT NULL,
    background          REAL,
    noise               REAL,
    sources             INTEGER,
    fwhm_px             REAL,
    fwhm_arcsec         REAL,
    ellipticity         REAL,
    saturated_fraction  REAL,
    -- Relative to the archive root; NULL when no preview could be made.
    preview             TEXT
);

-- Handoff outbox: one row per frame and destination, written in the same transaction
-- as the quick-look, deleted never; `delivered_at` set once the destination
-- acknowledged. Survives restarts: what was not delivered is retried.
CREATE TABLE handoffs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    frame_id         INTEGER NOT NULL REFERENCES frames (id),
    sink             TEXT    NOT NULL,
    idempotency_key  TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    created_at       TEXT    NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_at          TEXT    NOT NULL,
    last_error       TEXT,
    delivered_at     TEXT,
    UNIQUE (frame_id, sink)
);
CREATE INDEX handoffs_pending ON handoffs (sink, next_at) WHERE delivered_at IS NULL;
