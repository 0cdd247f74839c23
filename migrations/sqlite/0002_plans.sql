-- The latest plan of each night, as the API served it and as a picture: what the
-- telescopes were told to do, kept after the night for review.
CREATE TABLE plans (
    night_start  TEXT PRIMARY KEY,
    updated_at   TEXT NOT NULL,
    plan_json    TEXT NOT NULL,
    plan_svg     TEXT NOT NULL
);
