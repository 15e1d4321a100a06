-- core.sql: migr's API and core semantics, checked with pgTAP.  Runs in a
-- fresh database where pgtap and migr are installed; everything is rolled back.
BEGIN;
SELECT plan(59);

-- The API: names, parameter types, results.
SELECT has_function('migr_revision', ARRAY['text', 'text', 'text', 'text', 'text[]', 'text[]', 'text[]', 'boolean', 'boolean']);
SELECT has_function('migr_merge', ARRAY['text[]', 'text', 'text']);
SELECT has_function('migr_branches', ARRAY[]::text[]);
SELECT has_function('migr_upgrade', ARRAY['text', 'boolean']);
SELECT has_function('migr_upgrade', ARRAY['integer']);
SELECT has_function('migr_downgrade', ARRAY['text', 'boolean']);
SELECT has_function('migr_downgrade', ARRAY['integer']);
SELECT has_function('migr_stamp', ARRAY['text[]']);
SELECT has_function('migr_stamp', ARRAY['text[]', 'boolean']);
SELECT has_function('migr_current', ARRAY[]::text[]);
SELECT has_function('migr_heads', ARRAY[]::text[]);
SELECT has_function('migr_history', ARRAY['text']);
SELECT has_function('migr_show', ARRAY['text']);
SELECT function_returns('migr_revision', ARRAY['text', 'text', 'text', 'text', 'text[]', 'text[]', 'text[]', 'boolean', 'boolean'], 'text');
SELECT function_returns('migr_merge', ARRAY['text[]', 'text', 'text'], 'text');
SELECT function_returns('migr_current', 'setof text');
SELECT function_returns('migr_show', ARRAY['text'], 'migr.revision_info');
SELECT tables_are('migr', ARRAY['revisions', 'branch_labels', 'applied', 'version', 'log', 'state', 'launch', 'in_progress', 'schema_record', 'schema_record_info']);
SELECT is((SELECT array_agg(c.relname::text ORDER BY c.relname)
             FROM pg_extension e, unnest(e.extconfig) x(oid) JOIN pg_class c ON c.oid = x.oid
            WHERE e.extname = 'migr'),
          ARRAY['applied', 'branch_labels', 'in_progress', 'launch', 'log', 'log_seq', 'revision_seq', 'revisions', 'run_seq', 'schema_record', 'schema_record_info', 'version'],
          'every catalog table and sequence but migr.state is extension configuration');
SELECT ok(NOT has_function_privilege('public', 'migr_upgrade(text,boolean)', 'EXECUTE'), 'PUBLIC cannot migr_upgrade');
SELECT ok(NOT has_function_privilege('public', 'migr_show(text)', 'EXECUTE'), 'PUBLIC cannot migr_show');
SELECT ok(has_function_privilege('public', 'migr_history(text)', 'EXECUTE'), 'PUBLIC can migr_history');
SELECT ok(NOT has_function_privilege('public', 'migr_merge(text[],text,text)', 'EXECUTE'), 'PUBLIC cannot migr_merge');
SELECT ok(NOT has_function_privilege('public', 'migr_stamp(text[])', 'EXECUTE'), 'PUBLIC cannot migr_stamp');
SELECT ok(NOT has_function_privilege('public', 'migr_stamp(text[],boolean)', 'EXECUTE'), 'PUBLIC cannot migr_stamp with purge');
SELECT ok(has_function_privilege('public', 'migr_branches()', 'EXECUTE'), 'PUBLIC can migr_branches');

-- A chain of three.
SELECT is(migr_revision('one', 'CREATE TABLE tap_1 (id int)', 'DROP TABLE tap_1', 'tap_a1'), 'tap_a1', 'register tap_a1');
SELECT is(migr_revision('two', 'CREATE TABLE tap_2 (id int)', 'DROP TABLE tap_2', 'tap_b2'), 'tap_b2', 'register tap_b2');
SELECT is(migr_revision('three', 'CREATE TABLE tap_3 (id int)', 'DROP TABLE tap_3', 'tap_c3'), 'tap_c3', 'register tap_c3');
SELECT results_eq($$SELECT id COLLATE "default", down_revision COLLATE "default" FROM migr.revisions ORDER BY seq$$,
                  $$VALUES ('tap_a1', '{}'::text[]), ('tap_b2', '{tap_a1}'), ('tap_c3', '{tap_b2}')$$,
                  'default parents form a chain');

SELECT results_eq($$SELECT step, revision, direction FROM migr_upgrade(2)$$,
                  $$VALUES (1, 'tap_a1', 'up'), (2, 'tap_b2', 'up')$$, 'upgrade(2) applies two');
SELECT results_eq('SELECT * FROM migr_current()', ARRAY['tap_b2'], 'current is tap_b2');
SELECT has_table('tap_2');
SELECT hasnt_table('tap_3');

-- A savepoint rolled back takes a whole migr call with it.
SAVEPOINT before_head;
SELECT results_eq($$SELECT revision FROM migr_upgrade()$$, ARRAY['tap_c3'], 'upgrade head');
SELECT has_table('tap_3');
ROLLBACK TO SAVEPOINT before_head;
SELECT hasnt_table('tap_3');
SELECT results_eq('SELECT * FROM migr_current()', ARRAY['tap_b2'], 'current is tap_b2 again');
SELECT is((SELECT count(*) FROM migr.log WHERE revision = 'tap_c3' AND operation <> 'register'), 0::bigint, 'no log row survives');

-- Errors keep their SQLSTATE (throws_ok catches them in a subtransaction).
SELECT throws_ok($$SELECT * FROM migr_upgrade('tap_')$$, '42P08', NULL, 'ambiguous prefix');
SELECT throws_ok($$SELECT * FROM migr_upgrade('tap')$$, '42704', NULL, 'too short a prefix');
SELECT throws_ok($$SELECT * FROM migr_upgrade('-1')$$, '22023', NULL, 'upgrade -1');
SELECT throws_ok($$SELECT * FROM migr_downgrade('tap_c3')$$, '55000', NULL, 'downgrade above current');
SELECT throws_ok($$SELECT * FROM migr_downgrade(-3)$$, '22003', NULL, 'walk past base');
SELECT throws_ok($$SELECT migr_revision('x', 'COMMIT', NULL, 'tap_x')$$, '2D000', NULL, 'transaction control');
SELECT throws_ok($$SELECT migr_revision('x', 'SELEC 1', NULL, 'tap_x')$$, '42601', NULL, 'syntax error');
SELECT throws_ok($$SELECT migr_revision('x', 'SELECT 1', NULL, 'base')$$, '42939', NULL, 'reserved id');
SELECT isnt(migr_launch(), NULL, 'launch: applied revisions become immutable');
SELECT throws_ok($$SELECT migr_revision('x', 'SELECT 1', NULL, 'tap_a1')$$, '55000', NULL, 'applied revision cannot change');
-- A failing step 3 of 3 inside the same transaction leaves nothing.
SELECT migr_revision('three', E'CREATE TABLE tap_3 (id int);\nSELECT 1/0;', 'DROP TABLE tap_3', 'tap_c3');
SELECT lives_ok($$SELECT * FROM migr_downgrade('base')$$, 'downgrade to base');
SELECT throws_ok($$SELECT * FROM migr_upgrade()$$, '22012', NULL, 'step 3 fails');
SELECT is_empty('SELECT * FROM migr_current()', 'still at base');
SELECT hasnt_table('tap_1');
SELECT is((SELECT count(*) FROM migr.applied), 0::bigint, 'nothing applied');

-- The graph: a branch with a label, a merge, and 'head' with two heads.
SELECT migr_revision('three', 'CREATE TABLE tap_3 (id int)', 'DROP TABLE tap_3', 'tap_c3');
SELECT is(migr_revision('side', 'CREATE TABLE tap_s (id int)', 'DROP TABLE tap_s', 'tap_s1', ARRAY['tap_a1'], ARRAY['tap_side']), 'tap_s1', 'register a labelled branch');
SELECT throws_ok($$SELECT * FROM migr_upgrade('head')$$, '42P08', NULL, 'head with two heads');
SELECT results_eq($$SELECT step, revision FROM migr_upgrade('tap_side@head')$$,
                  $$VALUES (1, 'tap_a1'), (2, 'tap_s1')$$, 'upgrade one branch by its label');
SELECT is(migr_merge(message => 'join', revision => 'tap_m'), 'tap_m', 'merge the heads');
SELECT results_eq($$SELECT revision FROM migr_upgrade()$$, ARRAY['tap_b2', 'tap_c3', 'tap_m'], 'upgrade to the merge');

SELECT * FROM finish();
ROLLBACK;
