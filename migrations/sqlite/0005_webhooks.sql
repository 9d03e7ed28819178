-- Outgoing webhooks and the card install/remove history.
--
-- A program's endpoints (URL, signing secret, the event types they take), the events sent to
-- them, and one delivery per event and endpoint. A delivery's progress (attempts, last error,
-- done or failed) is its outbox job's; `job_id` finds it until finished jobs are purged.

CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
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
CREATE INDEX webhook_endpoints_by_program ON webhook_endpoints (program_id, created_at);

CREATE TABLE webhook_events (
    id         TEXT PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs (id),
    type       TEXT NOT NULL,
    -- The event's `data` object as JSON; the body sent is built around it.
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX webhook_events_by_time ON webhook_events (created_at);

CREATE TABLE webhook_deliveries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    TEXT NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    job_id      BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_id);

-- Cards installed in and removed from wallets, for reports. Apple: a registration of the pass
-- on a device that was not registered before is `installed`, its removal (the device
-- unregistering, or APNs saying the device token is gone) `removed`. Google: a save callback
-- is `installed`, a delete callback `removed`.
CREATE TABLE card_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    program_id TEXT NOT NULL REFERENCES programs (id),
    member_id  TEXT NOT NULL REFERENCES members (id),
    wallet     TEXT NOT NULL CHECK (wallet IN ('apple', 'google')),
    event      TEXT NOT NULL CHECK (event IN ('installed', 'removed')),
    created_at BIGINT NOT NULL
);
CREATE INDEX card_events_by_program ON card_events (program_id, created_at);

-- Append-only, like the ledger.
CREATE TRIGGER card_events_no_update BEFORE UPDATE ON card_events
BEGIN
    SELECT RAISE(ABORT, 'card events are append-only');
END;
CREATE TRIGGER card_events_no_delete BEFORE DELETE ON card_events
BEGIN
    SELECT RAISE(ABORT, 'card events are append-only');
END;
