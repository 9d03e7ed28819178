-- Primary keys refuse NULL, as on PostgreSQL. SQLite lets a PRIMARY KEY column that is not
-- an INTEGER PRIMARY KEY hold NULL (even in several rows) unless it is declared NOT NULL, a
-- bug it keeps for compatibility: each `TEXT PRIMARY KEY` below took NULL. SQLite cannot add
-- NOT NULL to a column, so each table is rebuilt by SQLite's own procedure ("Making Other
-- Kinds Of Table Schema Changes", https://www.sqlite.org/lang_altertable.html): create
-- `x_new` with the same columns, defaults, checks and foreign keys in the same order, copy the
-- rows, drop `x`, rename `x_new` to `x`, and create `x`'s indexes again, each as the earlier
-- migrations made it (`x` has no triggers). A row whose key is NULL stops the migration here
-- (NOT NULL constraint failed: x_new.column) and nothing changes: such a row can be neither
-- referenced nor repaired by passwright, so the operator decides what it was.
--
-- Foreign keys: other tables' REFERENCES name a table, and name it again once `x_new` is
-- renamed `x`. The procedure needs foreign keys off: with them on, dropping `x` deletes its
-- rows first, deleting every row that references them ON DELETE CASCADE (program images,
-- Apple registrations, webhook deliveries, campaign members) and, with
-- `PRAGMA defer_foreign_keys`, leaving a violation counted for every other referencing row
-- that the rename does not uncount, so COMMIT fails. `PRAGMA foreign_keys = OFF` does nothing
-- inside a transaction, and sqlx runs each SQLite migration in one (it ignores
-- `-- no-transaction` on SQLite), so `Store::migrate` runs SQLite's migrations on a
-- connection of its own with foreign keys off. This migration checks that they are off
-- before it drops anything, and that no foreign key is broken before it commits; either
-- check failing fails the migration and rolls it all back.
CREATE TEMP TABLE migration_0009_checks (
    foreign_keys_off BIGINT
        CONSTRAINT "0009 must run with PRAGMA foreign_keys = OFF (see Store::migrate)"
        CHECK (foreign_keys_off = 1),
    foreign_keys_hold BIGINT
        CONSTRAINT "0009 left a foreign key broken (PRAGMA foreign_key_check)"
        CHECK (foreign_keys_hold = 1)
);
INSERT INTO migration_0009_checks (foreign_keys_off)
    SELECT foreign_keys = 0 FROM pragma_foreign_keys;

-- 0001_core, with 0002_wallet_updates' and 0004_redemption's columns.
CREATE TABLE programs_new (
    id             TEXT NOT NULL PRIMARY KEY,
    name           TEXT NOT NULL,
    organization   TEXT NOT NULL,
    pass_type_id   TEXT NOT NULL,
    team_id        TEXT NOT NULL,
    design         TEXT NOT NULL,
    tiers          TEXT NOT NULL,
    earn_rules     TEXT NOT NULL,
    design_version BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    pass_mark      BIGINT NOT NULL DEFAULT 0,
    pass_modified  BIGINT NOT NULL DEFAULT 0,
    expiry         TEXT NOT NULL DEFAULT 'null'
);
INSERT INTO programs_new (id, name, organization, pass_type_id, team_id, design, tiers,
        earn_rules, design_version, created_at, updated_at, pass_mark, pass_modified, expiry)
    SELECT id, name, organization, pass_type_id, team_id, design, tiers,
        earn_rules, design_version, created_at, updated_at, pass_mark, pass_modified, expiry
    FROM programs;
DROP TABLE programs;
ALTER TABLE programs_new RENAME TO programs;

-- 0001_core.
CREATE TABLE rewards_new (
    id         TEXT NOT NULL PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs (id),
    name       TEXT NOT NULL,
    cost       BIGINT NOT NULL CHECK (cost > 0),
    repeatable BIGINT NOT NULL CHECK (repeatable IN (0, 1)),
    active     BIGINT NOT NULL CHECK (active IN (0, 1)),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
INSERT INTO rewards_new (id, program_id, name, cost, repeatable, active, created_at, updated_at)
    SELECT id, program_id, name, cost, repeatable, active, created_at, updated_at
    FROM rewards;
DROP TABLE rewards;
ALTER TABLE rewards_new RENAME TO rewards;
CREATE INDEX rewards_by_program ON rewards (program_id, created_at);

-- 0001_core, with 0002_wallet_updates', 0004_redemption's and 0006_distribution's columns;
-- indexes from 0001, 0004, 0006 and 0007.
CREATE TABLE members_new (
    id                 TEXT NOT NULL PRIMARY KEY,
    program_id         TEXT NOT NULL REFERENCES programs (id),
    external_id        TEXT,
    name               TEXT NOT NULL,
    email              TEXT,
    phone              TEXT,
    consent_email      BIGINT NOT NULL CHECK (consent_email IN (0, 1)),
    consent_sms        BIGINT NOT NULL CHECK (consent_sms IN (0, 1)),
    status             TEXT NOT NULL CHECK (status IN ('active', 'voided')),
    balance            BIGINT NOT NULL,
    lifetime_points    BIGINT NOT NULL CHECK (lifetime_points >= 0),
    tier               TEXT,
    version            BIGINT NOT NULL,
    card_generation    BIGINT NOT NULL,
    serial             TEXT NOT NULL UNIQUE,
    auth_token         TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    pass_mark          BIGINT NOT NULL DEFAULT 0,
    pass_modified      BIGINT NOT NULL DEFAULT 0,
    expiring_points    BIGINT NOT NULL DEFAULT 0,
    expiring_at        BIGINT,
    voided_at          BIGINT,
    source_campaign_id TEXT REFERENCES campaigns (id),
    source_channel     TEXT
);
INSERT INTO members_new (id, program_id, external_id, name, email, phone, consent_email,
        consent_sms, status, balance, lifetime_points, tier, version, card_generation, serial,
        auth_token, created_at, updated_at, pass_mark, pass_modified, expiring_points,
        expiring_at, voided_at, source_campaign_id, source_channel)
    SELECT id, program_id, external_id, name, email, phone, consent_email,
        consent_sms, status, balance, lifetime_points, tier, version, card_generation, serial,
        auth_token, created_at, updated_at, pass_mark, pass_modified, expiring_points,
        expiring_at, voided_at, source_campaign_id, source_channel
    FROM members;
DROP TABLE members;
ALTER TABLE members_new RENAME TO members;
CREATE UNIQUE INDEX members_external_id ON members (program_id, external_id);
CREATE INDEX members_by_program ON members (program_id, created_at, id);
CREATE INDEX members_by_program_created ON members (program_id, created_at);
CREATE INDEX members_by_source ON members (source_campaign_id) WHERE source_campaign_id IS NOT NULL;
CREATE INDEX members_by_program_id ON members (program_id, id);

-- 0001_core.
CREATE TABLE api_keys_new (
    id          TEXT NOT NULL PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'marketer', 'staff')),
    program_id  TEXT REFERENCES programs (id),
    secret_hash TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
INSERT INTO api_keys_new (id, name, role, program_id, secret_hash, created_at, revoked_at)
    SELECT id, name, role, program_id, secret_hash, created_at, revoked_at
    FROM api_keys;
DROP TABLE api_keys;
ALTER TABLE api_keys_new RENAME TO api_keys;

-- 0001_core.
CREATE TABLE service_secrets_new (
    name       TEXT NOT NULL PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
INSERT INTO service_secrets_new (name, value, created_at)
    SELECT name, value, created_at
    FROM service_secrets;
DROP TABLE service_secrets;
ALTER TABLE service_secrets_new RENAME TO service_secrets;

-- 0002_wallet_updates.
CREATE TABLE apple_devices_new (
    device_library_id TEXT NOT NULL PRIMARY KEY,
    push_token        TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    -- Last registration call: a 410 from APNs older than this does not remove anything.
    updated_at        BIGINT NOT NULL
);
INSERT INTO apple_devices_new (device_library_id, push_token, created_at, updated_at)
    SELECT device_library_id, push_token, created_at, updated_at
    FROM apple_devices;
DROP TABLE apple_devices;
ALTER TABLE apple_devices_new RENAME TO apple_devices;
CREATE INDEX apple_devices_by_token ON apple_devices (push_token);

-- 0003_google, with 0004_redemption's column.
CREATE TABLE google_objects_new (
    member_id          TEXT NOT NULL PRIMARY KEY REFERENCES members (id),
    program_id         TEXT NOT NULL REFERENCES programs (id),
    object_id          TEXT NOT NULL UNIQUE,
    class_id           TEXT NOT NULL,
    -- What Google shows now: the member version, balance and tier last sent.
    pushed_version     BIGINT,
    pushed_balance     BIGINT,
    pushed_tier        TEXT,
    saved_at           BIGINT,
    deleted_at         BIGINT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    -- The expiry reminder Google was last told about.
    pushed_expiring_at BIGINT
);
INSERT INTO google_objects_new (member_id, program_id, object_id, class_id, pushed_version,
        pushed_balance, pushed_tier, saved_at, deleted_at, created_at, updated_at,
        pushed_expiring_at)
    SELECT member_id, program_id, object_id, class_id, pushed_version,
        pushed_balance, pushed_tier, saved_at, deleted_at, created_at, updated_at,
        pushed_expiring_at
    FROM google_objects;
DROP TABLE google_objects;
ALTER TABLE google_objects_new RENAME TO google_objects;
CREATE INDEX google_objects_by_program ON google_objects (program_id, member_id);

-- 0003_google.
CREATE TABLE google_callbacks_new (
    nonce       TEXT NOT NULL PRIMARY KEY,
    object_id   TEXT NOT NULL,
    class_id    TEXT NOT NULL,
    event       TEXT NOT NULL CHECK (event IN ('save', 'del')),
    received_at BIGINT NOT NULL
);
INSERT INTO google_callbacks_new (nonce, object_id, class_id, event, received_at)
    SELECT nonce, object_id, class_id, event, received_at
    FROM google_callbacks;
DROP TABLE google_callbacks;
ALTER TABLE google_callbacks_new RENAME TO google_callbacks;
CREATE INDEX google_callbacks_by_object ON google_callbacks (object_id, received_at);

-- 0004_redemption.
CREATE TABLE locations_new (
    id         TEXT NOT NULL PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs (id),
    name       TEXT NOT NULL,
    address    TEXT,
    created_at BIGINT NOT NULL
);
INSERT INTO locations_new (id, program_id, name, address, created_at)
    SELECT id, program_id, name, address, created_at
    FROM locations;
DROP TABLE locations;
ALTER TABLE locations_new RENAME TO locations;
CREATE UNIQUE INDEX locations_by_name ON locations (program_id, name);

-- 0005_webhooks.
CREATE TABLE webhook_endpoints_new (
    id              TEXT NOT NULL PRIMARY KEY,
    program_id      TEXT NOT NULL REFERENCES programs (id),
    url             TEXT NOT NULL,
    -- The HMAC key, shown to the marketer once; kept to sign every delivery.
    secret          TEXT NOT NULL,
    -- Comma-separated event types, or '*' for all of them.
    events          TEXT NOT NULL,
    active          BIGINT NOT NULL CHECK (active IN (0, 1)),
    description     TEXT,
    -- Why passwright switched the endpoint off (a 410 Gone); cleared when it is switched on.
    disabled_reason TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
INSERT INTO webhook_endpoints_new (id, program_id, url, secret, events, active, description,
        disabled_reason, created_at, updated_at)
    SELECT id, program_id, url, secret, events, active, description,
        disabled_reason, created_at, updated_at
    FROM webhook_endpoints;
DROP TABLE webhook_endpoints;
ALTER TABLE webhook_endpoints_new RENAME TO webhook_endpoints;
CREATE INDEX webhook_endpoints_by_program ON webhook_endpoints (program_id, created_at);

-- 0005_webhooks.
CREATE TABLE webhook_events_new (
    id         TEXT NOT NULL PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs (id),
    type       TEXT NOT NULL,
    -- The event's `data` object as JSON; the body sent is built around it.
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
INSERT INTO webhook_events_new (id, program_id, type, data, created_at)
    SELECT id, program_id, type, data, created_at
    FROM webhook_events;
DROP TABLE webhook_events;
ALTER TABLE webhook_events_new RENAME TO webhook_events;
CREATE INDEX webhook_events_by_time ON webhook_events (created_at);

-- 0006_distribution.
CREATE TABLE campaigns_new (
    id          TEXT NOT NULL PRIMARY KEY,
    program_id  TEXT NOT NULL REFERENCES programs (id),
    name        TEXT NOT NULL,
    -- email and sms campaigns send messages; print and web campaigns only carry links.
    channel     TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'print', 'web')),
    template    TEXT,
    -- Values the messages' template uses (an offer's text), as JSON.
    data        TEXT NOT NULL,
    -- Who it is for, as JSON: all members, a tier, inactive for N days, or a list.
    audience    TEXT NOT NULL,
    -- An automation's schedule as JSON (how often it runs, the once-per-member window);
    -- NULL for a one-off campaign.
    automation  TEXT,
    status      TEXT NOT NULL CHECK (status IN ('draft', 'sending', 'sent', 'active', 'paused')),
    next_run_at BIGINT,
    last_run_at BIGINT,
    sent_at     BIGINT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
INSERT INTO campaigns_new (id, program_id, name, channel, template, data, audience, automation,
        status, next_run_at, last_run_at, sent_at, created_at, updated_at)
    SELECT id, program_id, name, channel, template, data, audience, automation,
        status, next_run_at, last_run_at, sent_at, created_at, updated_at
    FROM campaigns;
DROP TABLE campaigns;
ALTER TABLE campaigns_new RENAME TO campaigns;
CREATE INDEX campaigns_by_program ON campaigns (program_id, created_at);
CREATE INDEX campaigns_due ON campaigns (next_run_at) WHERE status = 'active';

-- 0006_distribution.
CREATE TABLE links_new (
    code        TEXT NOT NULL PRIMARY KEY,
    program_id  TEXT NOT NULL REFERENCES programs (id),
    kind        TEXT NOT NULL CHECK (kind IN ('enroll', 'card')),
    member_id   TEXT REFERENCES members (id),
    campaign_id TEXT REFERENCES campaigns (id),
    channel     TEXT CHECK (channel IN ('email', 'sms', 'print', 'web')),
    label       TEXT,
    revoked_at  BIGINT,
    created_at  BIGINT NOT NULL,
    CHECK ((kind = 'card') = (member_id IS NOT NULL))
);
INSERT INTO links_new (code, program_id, kind, member_id, campaign_id, channel, label,
        revoked_at, created_at)
    SELECT code, program_id, kind, member_id, campaign_id, channel, label,
        revoked_at, created_at
    FROM links;
DROP TABLE links;
ALTER TABLE links_new RENAME TO links;
CREATE INDEX links_by_program ON links (program_id, created_at);
-- One live personal link per member, campaign and channel: a campaign re-run reuses it.
CREATE UNIQUE INDEX links_personal ON links (member_id, COALESCE(campaign_id, ''), COALESCE(channel, ''))
    WHERE kind = 'card' AND revoked_at IS NULL;

INSERT INTO migration_0009_checks (foreign_keys_hold)
    SELECT NOT EXISTS (SELECT 1 FROM pragma_foreign_key_check);
DROP TABLE migration_0009_checks;
