-- A tier set by hand from the console (a VIP made Gold, say) holds: points changes and new
-- tier thresholds no longer move that member, until the console hands the tier back to the
-- points.
ALTER TABLE members ADD COLUMN tier_held BIGINT NOT NULL DEFAULT 0 CHECK (tier_held IN (0, 1));
