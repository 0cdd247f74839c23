-- API bearer tokens (issue 7). Only the SHA-256 of a token is kept: the secret is
-- printed once when it is made and can never be read back from here.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('observer', 'operator', 'admin')),
    hash         BLOB NOT NULL UNIQUE,
    -- The token's first characters, so a person can tell tokens apart in a list.
    hint         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    -- 'cli', or the name of the admin token that made it.
    created_by   TEXT NOT NULL,
    revoked_at   TEXT
);
-- One live token per name; a revoked name may be reused.
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;
