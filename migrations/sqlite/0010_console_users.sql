-- The console's people: users who sign in with an email and a password (argon2id), their
-- server-side sessions, the one-time links that invite them or reset their password, the
-- failed sign-ins the throttle counts, and the audit log of what was done in the console.
-- Roles are the API keys' (admin is the console's owner); a user may be limited to one program.
CREATE TABLE console_users (
    id            TEXT PRIMARY KEY NOT NULL,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'marketer', 'staff')),
    program_id    TEXT REFERENCES programs (id),
    -- NULL until the user sets a password through their invitation.
    password_hash TEXT,
    created_at    BIGINT NOT NULL,
    disabled_at   BIGINT
);

-- A session is found by the SHA-256 of the cookie's token; the token itself is never stored.
CREATE TABLE console_sessions (
    token_hash   TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL REFERENCES console_users (id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions (user_id);

-- One-time links (invitation, password reset). The link carries the id and a MAC of it; the
-- outbox job that emails it carries only the id.
CREATE TABLE console_links (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES console_users (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL CHECK (purpose IN ('invite', 'reset')),
    -- Who made it, as the email names them ("Ana Ruiz", "the command line").
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX console_links_user ON console_links (user_id, purpose, created_at);

CREATE TABLE console_sign_in_failures (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    email   TEXT NOT NULL,
    address TEXT NOT NULL,
    at      BIGINT NOT NULL
);
CREATE INDEX console_sign_in_failures_email ON console_sign_in_failures (email, at);
CREATE INDEX console_sign_in_failures_address ON console_sign_in_failures (address, at);

-- Who did what, when, in the console: `actor` is `user:<id>`, `api_key:<id>` or `cli`.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    program_id TEXT,
    subject    TEXT,
    before     TEXT,
    after      TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
