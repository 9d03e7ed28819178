-- Programs, members, the points ledger and API keys.
-- Times are microseconds since the Unix epoch (BIGINT), the same on both engines.
-- Flags are BIGINT 0/1: one representation that both engines and sqlx's Any driver agree on.

CREATE TABLE programs (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    organization   TEXT NOT NULL,
    pass_type_id   TEXT NOT NULL,
    team_id        TEXT NOT NULL,
    design         TEXT NOT NULL,
    tiers          TEXT NOT NULL,
    earn_rules     TEXT NOT NULL,
    design_version BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

CREATE TABLE program_images (
    program_id TEXT NOT NULL REFERENCES programs (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    content    BLOB NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (program_id, name)
);

CREATE TABLE rewards (
    id         TEXT PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs (id),
    name       TEXT NOT NULL,
    cost       BIGINT NOT NULL CHECK (cost > 0),
    repeatable BIGINT NOT NULL CHECK (repeatable IN (0, 1)),
    active     BIGINT NOT NULL CHECK (active IN (0, 1)),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX rewards_by_program ON rewards (program_id, created_at);

CREATE TABLE members (
    id              TEXT PRIMARY KEY,
    program_id      TEXT NOT NULL REFERENCES programs (id),
    external_id     TEXT,
    name            TEXT NOT NULL,
    email           TEXT,
    phone           TEXT,
    consent_email   BIGINT NOT NULL CHECK (consent_email IN (0, 1)),
    consent_sms     BIGINT NOT NULL CHECK (consent_sms IN (0, 1)),
    status          TEXT NOT NULL CHECK (status IN ('active', 'voided')),
    balance         BIGINT NOT NULL,
    lifetime_points BIGINT NOT NULL CHECK (lifetime_points >= 0),
    tier            TEXT,
    version         BIGINT NOT NULL,
    card_generation BIGINT NOT NULL,
    serial          TEXT NOT NULL UNIQUE,
    auth_token      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX members_external_id ON members (program_id, external_id);
CREATE INDEX members_by_program ON members (program_id, created_at, id);

CREATE TABLE ledger_entries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    program_id      TEXT NOT NULL REFERENCES programs (id),
    member_id       TEXT NOT NULL REFERENCES members (id),
    kind            TEXT NOT NULL CHECK (kind IN ('earn', 'redeem', 'adjust', 'expire')),
    amount          BIGINT NOT NULL,
    balance_after   BIGINT NOT NULL,
    reason          TEXT NOT NULL,
    actor           TEXT NOT NULL,
    idempotency_key TEXT,
    fingerprint     TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX ledger_idempotency ON ledger_entries (program_id, idempotency_key);
CREATE INDEX ledger_by_member ON ledger_entries (member_id, id);

-- The ledger is append-only: corrections are new entries, never edits.
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger entries are append-only');
END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger entries are append-only');
END;

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'marketer', 'staff')),
    program_id  TEXT REFERENCES programs (id),
    secret_hash TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

CREATE TABLE service_secrets (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
