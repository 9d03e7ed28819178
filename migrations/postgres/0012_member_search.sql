-- Member search and sorting at any number of members (see src/domain/search.rs). Each member
-- has one row per key it is found by (the start of each word of its name, its email, external
-- id, phone number and card code), folded in Rust the same way a typed search is, so a search
-- is a prefix range over (program_id, term). The rows are written with the member (enrolment,
-- import, profile change, erasure); `search_terms` says by which version of the rules, and
-- members whose rows are missing or older (all members before this migration) get them when
-- the service starts. `name_key` is the folded name the list is sorted by.
CREATE TABLE member_search (
    program_id TEXT NOT NULL REFERENCES programs (id),
    -- Compared byte for byte, so a prefix is one range of the index.
    term       TEXT COLLATE "C" NOT NULL,
    member_id  TEXT NOT NULL REFERENCES members (id),
    PRIMARY KEY (program_id, term, member_id)
);
CREATE INDEX member_search_by_member ON member_search (member_id);

ALTER TABLE members ADD COLUMN search_terms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
-- A page of the list sorted by name, or by balance, is a range scan at any size.
CREATE INDEX members_by_name ON members (program_id, name_key, id);
CREATE INDEX members_by_balance ON members (program_id, balance, id);
CREATE INDEX members_search_terms ON members (search_terms);
