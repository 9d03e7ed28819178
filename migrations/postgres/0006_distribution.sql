-- Distribution: campaigns, links, the email and SMS messages sent, what happened on the
-- landing page (for attribution), and each member's consent history.

CREATE TABLE campaigns (
    id          TEXT PRIMARY KEY,
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
CREATE INDEX campaigns_by_program ON campaigns (program_id, created_at);
CREATE INDEX campaigns_due ON campaigns (next_run_at) WHERE status = 'active';

-- A list audience: the members a CSV named.
CREATE TABLE campaign_members (
    campaign_id TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    member_id   TEXT NOT NULL REFERENCES members (id),
    PRIMARY KEY (campaign_id, member_id)
);

-- Enrollment links (a program's, usually a campaign's) and personal card links (a member's).
-- Codes are random; a personal code is long enough that it cannot be guessed.
CREATE TABLE links (
    code        TEXT PRIMARY KEY,
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
CREATE INDEX links_by_program ON links (program_id, created_at);
-- One live personal link per member, campaign and channel: a campaign re-run reuses it.
CREATE UNIQUE INDEX links_personal ON links (member_id, COALESCE(campaign_id, ''), COALESCE(channel, ''))
    WHERE kind = 'card' AND revoked_at IS NULL;

-- One email or SMS to one member: a campaign's, or a reminder's. `dedup` makes sending
-- once a constraint (a campaign's member and window, a reminder's date).
CREATE TABLE messages (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    program_id   TEXT NOT NULL REFERENCES programs (id),
    member_id    TEXT NOT NULL REFERENCES members (id),
    campaign_id  TEXT REFERENCES campaigns (id),
    channel      TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    template     TEXT NOT NULL,
    -- Values the template uses besides the member and program, as JSON.
    data         TEXT NOT NULL,
    link_code    TEXT REFERENCES links (code),
    dedup        TEXT NOT NULL UNIQUE,
    -- queued: handed to the outbox; delivered: the SMTP relay or SMS provider accepted it;
    -- skipped: not sent (no consent, unsubscribed, no address); failed: gave up.
    status       TEXT NOT NULL CHECK (status IN ('queued', 'delivered', 'skipped', 'failed')),
    reason       TEXT,
    provider_ref TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX messages_by_campaign ON messages (campaign_id, status);
CREATE INDEX messages_by_member ON messages (member_id, created_at);

-- What people did with links: opened the landing page, enrolled, downloaded the Apple pass,
-- went to save the Google card. Append-only.
CREATE TABLE link_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    link_code   TEXT NOT NULL REFERENCES links (code),
    program_id  TEXT NOT NULL REFERENCES programs (id),
    campaign_id TEXT REFERENCES campaigns (id),
    channel     TEXT,
    member_id   TEXT REFERENCES members (id),
    action      TEXT NOT NULL CHECK (action IN ('clicked', 'enrolled', 'apple_download', 'google_save')),
    platform    TEXT NOT NULL CHECK (platform IN ('ios', 'android', 'desktop')),
    created_at  BIGINT NOT NULL
);
CREATE INDEX link_events_by_campaign ON link_events (campaign_id, action);
CREATE INDEX link_events_by_member ON link_events (member_id, created_at);
CREATE INDEX link_events_by_program ON link_events (program_id, created_at);

-- Every change of a member's consent: when, which channel, granted or withdrawn, how.
CREATE TABLE consent_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs (id),
    member_id  TEXT NOT NULL REFERENCES members (id),
    channel    TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    granted    BIGINT NOT NULL CHECK (granted IN (0, 1)),
    -- enrollment, landing_page, api, import, unsubscribe_link, list_unsubscribe, sms_stop
    source     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX consent_events_by_member ON consent_events (member_id, id);

-- The campaign and channel that brought the member: set once, when the member enrolls
-- through a campaign link or first installs the card after following one.
ALTER TABLE members ADD COLUMN source_campaign_id TEXT REFERENCES campaigns (id);
ALTER TABLE members ADD COLUMN source_channel TEXT;
CREATE INDEX members_by_source ON members (source_campaign_id) WHERE source_campaign_id IS NOT NULL;

CREATE FUNCTION distribution_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER link_events_no_change BEFORE UPDATE OR DELETE ON link_events
    FOR EACH ROW EXECUTE FUNCTION distribution_append_only();
CREATE TRIGGER consent_events_no_change BEFORE UPDATE OR DELETE ON consent_events
    FOR EACH ROW EXECUTE FUNCTION distribution_append_only();

-- Email and SMS jobs queued before this migration named a template and member directly;
-- they now name a message. None was ever sent (no sender existed): close them.
UPDATE outbox_jobs SET state = 'failed', last_error = 'replaced by messages (migration 0006)',
    finished_at = created_at WHERE kind IN ('email', 'sms') AND state = 'pending';
