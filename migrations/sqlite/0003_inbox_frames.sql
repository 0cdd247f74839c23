-- Frames from the inbox (files other capture software wrote) may match no
-- observation, so request_id and observation_id become optional for them; teld's
-- own frames still always carry both (the CHECK says so). SQLite cannot drop a NOT
-- NULL in place, so the table is rebuilt (sqlite.org/lang_altertable.html, "making
-- other kinds of table schema changes"), inside the migration's transaction: a
-- failure leaves the old table as it was. Ids are kept, and the AUTOINCREMENT
-- counter too, so no id is ever handed out twice. Nothing references `frames` yet
-- (0004 adds tables that do), so dropping the old table breaks no foreign key.

CREATE TABLE frames_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id      INTEGER REFERENCES requests (id),
    observation_id  INTEGER REFERENCES observations (id),
    telescope       TEXT    NOT NULL,
    -- Relative to the archive root.
    path            TEXT    NOT NULL UNIQUE,
    date_obs        TEXT    NOT NULL,
    exptime_s       REAL    NOT NULL,
    bytes           INTEGER NOT NULL,
    created_at      TEXT    NOT NULL,
    -- Who wrote the file: teld itself, or other software through the inbox.
    source          TEXT    NOT NULL DEFAULT 'teld' CHECK (source IN ('teld', 'inbox')),
    -- Inbox frames: the file as it was found (name, size, mtime in ns since the Unix
    -- epoch), so a restart that finds the same file again knows it is already in.
    source_name     TEXT,
    source_bytes    INTEGER,
    source_mtime_ns INTEGER,
    -- SHA-256 (hex) of the primary data unit, unpadded: the same pixels whatever the
    -- header says, for finding duplicates. NULL where not computed (teld's frames).
    data_sha256     TEXT,
    CHECK (source = 'inbox' OR (request_id IS NOT NULL AND observation_id IS NOT NULL))
);

INSERT INTO frames_new (id, request_id, observation_id, telescope, path, date_obs,
                        exptime_s, bytes, created_at, source)
    SELECT id, request_id, observation_id, telescope, path, date_obs,
           exptime_s, bytes, created_at, 'teld'
    FROM frames;

-- Carry the id counter over (it may be above the largest id if rows were ever lost).
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'frames_new', 0
    WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'frames_new');
UPDATE sqlite_sequence
    SET seq = MAX(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'frames'), 0))
    WHERE name = 'frames_new';

DROP TABLE frames;
ALTER TABLE frames_new RENAME TO frames;

CREATE INDEX frames_by_request ON frames (request_id, id);
CREATE INDEX frames_by_data ON frames (data_sha256) WHERE data_sha256 IS NOT NULL;
