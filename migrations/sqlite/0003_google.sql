-- Google Wallet: one loyalty object per member once a save link was issued, what was last
-- sent to Google (to decide which changes notify), notifying messages sent (Google allows
-- three per object per 24 hours), and the save/delete callbacks Google sent us.

CREATE TABLE google_objects (
    member_id      TEXT PRIMARY KEY REFERENCES members (id),
    program_id     TEXT NOT NULL REFERENCES programs (id),
    object_id      TEXT NOT NULL UNIQUE,
    class_id       TEXT NOT NULL,
    -- What Google shows now: the member version, balance and tier last sent.
    pushed_version BIGINT,
    pushed_balance BIGINT,
    pushed_tier    TEXT,
    saved_at       BIGINT,
    deleted_at     BIGINT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX google_objects_by_program ON google_objects (program_id, member_id);

CREATE TABLE google_notifications (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    object_id TEXT NOT NULL,
    sent_at   BIGINT NOT NULL
);
CREATE INDEX google_notifications_by_object ON google_notifications (object_id, sent_at);

CREATE TABLE google_callbacks (
    nonce       TEXT PRIMARY KEY,
    object_id   TEXT NOT NULL,
    class_id    TEXT NOT NULL,
    event       TEXT NOT NULL CHECK (event IN ('save', 'del')),
    received_at BIGINT NOT NULL
);
CREATE INDEX google_callbacks_by_object ON google_callbacks (object_id, received_at);
