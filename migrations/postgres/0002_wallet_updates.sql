-- Keeping installed passes current: change marks on passes, Apple device registrations,
-- device logs, and the outbox every delivery goes through.

-- pass_mark: the id of the transaction that last changed what the pass shows. A device's
-- "updated since" tag is the snapshot its previous answer was read at (pg_current_snapshot),
-- and a pass changed since then iff its mark is not visible in that snapshot: exact even when
-- transactions commit out of order, without a counter every writer would queue on.
-- pass_modified: the pass's Last-Modified, whole seconds, strictly increasing with every
-- change so If-Modified-Since never hides one.
ALTER TABLE members ADD COLUMN pass_mark xid8 NOT NULL DEFAULT pg_current_xact_id();
ALTER TABLE members ADD COLUMN pass_modified BIGINT NOT NULL DEFAULT 0;
ALTER TABLE programs ADD COLUMN pass_mark xid8 NOT NULL DEFAULT pg_current_xact_id();
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
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at BIGINT NOT NULL,
    message     TEXT NOT NULL
);
CREATE INDEX device_logs_by_time ON device_logs (received_at);

-- The outbox: jobs written in the same transaction as the change that needs them.
-- pending -> running (claimed under a lease) -> done | failed; a retry goes back to pending.
CREATE TABLE outbox_jobs (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
