-- Seed for the pgbench scripts beside it: one program, a staff key, a location and 1,000
-- members (`mem_b1` .. `mem_b1000`, serials `ser_b1` ..), in a database that
-- `passwright migrate` has set up. See docs/BENCHMARKS.md, issue 5.
INSERT INTO programs (id, name, organization, pass_type_id, team_id, design, tiers, earn_rules,
                      design_version, created_at, updated_at, pass_modified, expiry)
VALUES ('prg_bench', 'Bench', 'Bench Org', 'pass.com.example.bench', 'BENCHTEAM1', '{}',
        '[{"name":"Bronze","threshold":0},{"name":"Gold","threshold":500}]',
        '{"points_per_unit":"1","multipliers":{"coffee":"2"}}', 1,
        1796351527000000, 1796351527000000, 1796351527, 'null');
INSERT INTO api_keys (id, name, role, program_id, secret_hash, created_at)
VALUES ('key_bench', 'Till 1', 'staff', 'prg_bench', repeat('0', 64), 1796351527000000);
INSERT INTO locations (id, program_id, name, address, created_at)
VALUES ('loc_bench', 'prg_bench', 'Main', NULL, 1796351527000000);
INSERT INTO members (id, program_id, external_id, name, email, phone, consent_email, consent_sms,
                     status, balance, lifetime_points, tier, version, card_generation, serial,
                     auth_token, created_at, updated_at, pass_modified)
SELECT 'mem_b' || g, 'prg_bench', NULL, 'Member ' || g, NULL, NULL, 0, 0, 'active', 0, 0,
       'Bronze', 1, 1, 'ser_b' || g, md5(g::text), 1796351527000000, 1796351527000000, 1796351527
FROM generate_series(1, 1000) g;
ANALYZE;
