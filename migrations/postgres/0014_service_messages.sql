-- A message is either a service message (the member's own card link: sent whatever the
-- member chose about offers, since it is what they asked for) or marketing (campaigns,
-- reminders: only with the member's consent for the channel). Messages sent before this
-- were all marketing.
ALTER TABLE messages ADD COLUMN purpose TEXT NOT NULL DEFAULT 'marketing' CHECK (purpose IN ('service', 'marketing'));
