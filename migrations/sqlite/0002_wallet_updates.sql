-- Keeping installed passes current: change marks on passes, Apple device registrations,
-- device logs, and the outbox every delivery goes through.

-- Change marks. Every transaction that changes what a pass shows first advances this clock,
-- then stamps the changed member or program with it. SQLite runs one writer at a time, so
-- marks follow commit order and "changed after mark N" can never skip a committed change.
CREATE TABLE change_clock (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO change_clock (id, value) VALUES (1, 0);

-- pass_mark: the change mark above. pass_modified: the pass's Last-Modified, whole seconds,
-- strictly increasing with every change so If-Modified-Since never hides one.
ALTER TABLE members ADD COLUMN pass_mark BIGINT NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN pass_modified BIGINT NOT NULL DEFAULT 0;
ALTER TABLE programs ADD COLUMN pass_mark BIGINT NOT NULL DEFAULT 0;
ALTER TABLE programs ADD COLUMN pass_modified BIGINT NOT NULL DEFAULT 0;
UPDATE members SET pass_modified = updated_at / 1000000;
UPDATE programs SET pass_modified = updated_at / 1000000;

CREATE TABLE apple_devices (
    device_library_id TEXT PRIMARY KEY,
    push_token        TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    -- Last registration call: a 410 from APNs older than this does not remove anything.
    updated_at        BIGINT NOT NULL
);
CREATE INDEX apple_devices_by_token ON apple_devices (push_token);

CREATE TABLE apple_registrations (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    device_library_id TEXT NOT NULL REFERENCES apple_devices (device_library_id) ON DELETE CASCADE,
    pass_type_id      TEXT NOT NULL,
    serial            TEXT NOT NULL REFERENCES members (serial),
    program_id        TEXT NOT NULL REFERENCES programs (id),
    created_at        BIGINT NOT NULL
);
CREATE UNIQUE INDEX apple_registrations_unique ON apple_registrations (device_library_id, pass_type_id, serial);
CREATE INDEX apple_registrations_by_serial ON apple_registrations (serial);
CREATE INDEX apple_registrations_by_program ON apple_registrations (program_id, id);

CREATE TABLE device_logs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at BIGINT NOT NULL,
    message     TEXT NOT NULL
);
CREATE INDEX device_logs_by_time ON device_logs (received_at);

-- The outbox: jobs written in the same transaction as the change that needs them.
-- pending -> running (claimed under a lease) -> done | failed; a retry goes back to pending.
CREATE TABLE outbox_jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    -- Jobs with the same key coalesce: at most one of them is pending at a time.
    dedup_key   TEXT,
    payload     TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
    attempts    BIGINT NOT NULL DEFAULT 0,
    run_at      BIGINT NOT NULL,
    lease_until BIGINT,
    leased_by   TEXT,
    last_error  TEXT,
    created_at  BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE UNIQUE INDEX outbox_pending_once ON outbox_jobs (dedup_key) WHERE state = 'pending';
CREATE INDEX outbox_due ON outbox_jobs (run_at, id) WHERE state = 'pending';
CREATE INDEX outbox_leases ON outbox_jobs (lease_until) WHERE state = 'running';
CREATE INDEX outbox_finished ON outbox_jobs (state, finished_at);
