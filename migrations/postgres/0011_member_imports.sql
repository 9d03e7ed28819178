-- Member imports from the console: the uploaded file (kept until the import is done, so any
-- instance can check and run it), how its columns are read, the problems found, and how far
-- the import got. The SHA-256 tells a file uploaded again.
CREATE TABLE member_imports (
    id          TEXT PRIMARY KEY NOT NULL,
    program_id  TEXT NOT NULL REFERENCES programs (id),
    created_by  TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    content     BYTEA NOT NULL,
    sha256      TEXT NOT NULL,
    -- JSON: the column mapping and the country of national phone numbers.
    mapping     TEXT,
    status      TEXT NOT NULL CHECK (status IN ('uploaded', 'checked', 'running', 'done')),
    total_rows  BIGINT NOT NULL DEFAULT 0,
    good_rows   BIGINT NOT NULL DEFAULT 0,
    done_rows   BIGINT NOT NULL DEFAULT 0,
    imported    BIGINT NOT NULL DEFAULT 0,
    -- JSON: every problem row (row, field, message) of the last check.
    problems    TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX member_imports_by_program ON member_imports (program_id, created_at);
