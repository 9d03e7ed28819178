-- The least a scan action's writes can be, for comparison: tables with a primary key and
-- nothing else (no foreign keys, no other index, no checks). Load into an empty database,
-- then run minimal_write.sql. docs/BENCHMARKS.md, issue 5.
CREATE TABLE members (id TEXT PRIMARY KEY, program_id TEXT NOT NULL, balance INT8 NOT NULL,
                      lifetime_points INT8 NOT NULL, version INT8 NOT NULL, updated_at INT8)
    WITH (fillfactor = 80);
INSERT INTO members SELECT 'mem_b' || g, 'prg', 0, 0, 1, 0 FROM generate_series(1, 1000) g;
CREATE TABLE ledger_entries (id BIGSERIAL PRIMARY KEY, member_id TEXT NOT NULL, amount INT8,
                             balance_after INT8, idempotency_key TEXT, created_at INT8);
CREATE TABLE scans (id BIGSERIAL PRIMARY KEY, member_id TEXT NOT NULL, staff TEXT, location TEXT,
                    action TEXT, amount INT8, points INT8, idempotency_key TEXT, created_at INT8);
CREATE TABLE outbox (id BIGSERIAL PRIMARY KEY, kind TEXT, payload TEXT, run_at INT8);
ANALYZE;
