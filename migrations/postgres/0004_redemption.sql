-- Redemption at the counter: locations, the append-only scan record, points expiry.

CREATE TABLE locations (
    id         TEXT PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs (id),
    name       TEXT NOT NULL,
    address    TEXT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX locations_by_name ON locations (program_id, name);

-- Every scan, accepted or rejected, and every action taken after one. A redemption is an
-- accepted scan with action 'redeem'. Codes that name no card we know (forged, malformed)
-- have no program, member or serial.
CREATE TABLE scans (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    program_id      TEXT REFERENCES programs (id),
    member_id       TEXT REFERENCES members (id),
    staff_key_id    TEXT NOT NULL REFERENCES api_keys (id),
    staff_name      TEXT NOT NULL,
    location_id     TEXT REFERENCES locations (id),
    action          TEXT NOT NULL CHECK (action IN ('lookup', 'visit', 'purchase', 'redeem')),
    result          TEXT NOT NULL CHECK (result IN ('accepted', 'rejected')),
    reason          TEXT,
    amount_minor    BIGINT,
    points          BIGINT NOT NULL,
    reward_id       TEXT REFERENCES rewards (id),
    single_use      BIGINT NOT NULL CHECK (single_use IN (0, 1)),
    ledger_entry_id BIGINT REFERENCES ledger_entries (id),
    idempotency_key TEXT,
    fingerprint     TEXT,
    created_at      BIGINT NOT NULL
);
-- A retried action never applies twice; a single-use reward is redeemed at most once.
CREATE UNIQUE INDEX scans_idempotency ON scans (program_id, idempotency_key)
    WHERE result = 'accepted' AND idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX scans_single_use ON scans (member_id, reward_id)
    WHERE result = 'accepted' AND single_use = 1;
CREATE INDEX scans_by_program ON scans (program_id, created_at);
CREATE INDEX scans_by_member ON scans (member_id, id);

CREATE FUNCTION scans_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'scan records are append-only';
END;
$$;
CREATE TRIGGER scans_no_change BEFORE UPDATE OR DELETE ON scans
    FOR EACH ROW EXECUTE FUNCTION scans_append_only();

-- Points expiry: the program's policy, the reminder shown on the card, and one row per
-- reminder so each is sent once.
ALTER TABLE programs ADD COLUMN expiry TEXT NOT NULL DEFAULT 'null';
ALTER TABLE members ADD COLUMN expiring_points BIGINT NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN expiring_at BIGINT;
ALTER TABLE members ADD COLUMN voided_at BIGINT;
-- The expiry reminder Google was last told about.
ALTER TABLE google_objects ADD COLUMN pushed_expiring_at BIGINT;
CREATE INDEX ledger_by_program_time ON ledger_entries (program_id, created_at);
CREATE INDEX members_by_program_created ON members (program_id, created_at);

CREATE TABLE expiry_reminders (
    member_id   TEXT NOT NULL REFERENCES members (id),
    expires_at  BIGINT NOT NULL,
    points      BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (member_id, expires_at)
);
