-- One member update and three inserts in one trip, then COMMIT: see minimal_schema.sql.
\set m random(1, 1000)
\set k random(1, 1000000000000)
BEGIN \; UPDATE members SET balance = balance + 8, lifetime_points = lifetime_points + 8, version = version + 1, updated_at = 5 WHERE id = 'mem_b' || :m RETURNING balance \; INSERT INTO ledger_entries (member_id, amount, balance_after, idempotency_key, created_at) VALUES ('mem_b' || :m, 8, 0, 'k' || :k, 5) \; INSERT INTO outbox (kind, payload, run_at) VALUES ('pass', 'ser' || :m, 5) \; INSERT INTO scans (member_id, staff, location, action, amount, points, idempotency_key, created_at) VALUES ('mem_b' || :m, 'key', 'loc', 'purchase', 420, 8, 'k' || :k, 5);
COMMIT;
