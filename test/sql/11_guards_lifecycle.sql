-- 11_guards_lifecycle: edit in place before launch, redo, validate, repair,
-- launch; check_head / rollback_check; migr_status.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/base.sql
SET client_min_messages = warning;
ALTER DATABASE contrib_regression RESET migr.environment;
DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'regress_lc_app') THEN DROP ROLE regress_lc_app; END IF; END $$;
RESET client_min_messages;
CREATE ROLE regress_lc_app LOGIN;
-- "ok" or "SQLSTATE: message [detail] <hint>".
CREATE OR REPLACE FUNCTION public.lc_try(sql text) RETURNS text
LANGUAGE sql AS $f$ SELECT public.attempt(sql, 'ok', '{detail,hint}', NULL) $f$;
CREATE OR REPLACE FUNCTION public.lc_cols() RETURNS text
LANGUAGE sql AS $f$
  SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
   WHERE attrelid = to_regclass('public.lc_t') AND attnum > 0 AND NOT attisdropped
$f$;
\set VERBOSITY terse

SELECT migr_revision('table', 'CREATE TABLE lc_t (id int)', 'DROP TABLE lc_t', 'lc_r1', '{}');
SELECT migr_revision('column a', 'ALTER TABLE lc_t ADD COLUMN a int', 'ALTER TABLE lc_t DROP COLUMN a', 'lc_r2');
SELECT step, revision FROM migr_upgrade();
SELECT lc_cols();

-- Edit in place before launch: a WARNING, and the database still has the
-- old version.
-- (The redo below undoes what really ran: migr keeps the downgrade script
-- registered when the revision was applied, so the new downgrade needs no
-- IF EXISTS to cope with the old upgrade.)
SELECT migr_revision('columns a and b', 'ALTER TABLE lc_t ADD COLUMN a int; ALTER TABLE lc_t ADD COLUMN b int', 'ALTER TABLE lc_t DROP COLUMN b, DROP COLUMN a', 'lc_r2');
SELECT lc_cols();
SELECT revision, applied_checksum <> current_checksum AS differs, applied_at IS NOT NULL AS when_ok, problem FROM migr_validate();
SELECT migr_status()->'checksum_mismatches' AS mismatches;
-- Parents of an applied revision cannot change.
SELECT lc_try($$SELECT migr_revision('columns a and b', 'ALTER TABLE lc_t ADD COLUMN a int; ALTER TABLE lc_t ADD COLUMN b int', 'ALTER TABLE lc_t DROP COLUMN b, DROP COLUMN a', 'lc_r2', '{}')$$);
-- An upgrade with steps is refused while a mismatch exists; a no-op is not.
SELECT migr_revision('column c', 'ALTER TABLE lc_t ADD COLUMN c int', 'ALTER TABLE lc_t DROP COLUMN c', 'lc_r3');
SELECT lc_try('SELECT * FROM migr_upgrade()');
SELECT count(*) AS steps FROM migr_upgrade('lc_r2');
SELECT lc_cols(), (SELECT array_agg(c) FROM migr_current() c) AS current;
-- migr_redo runs the new version: down past it and up again.
SELECT revision, downgrade FROM migr.applied WHERE revision = 'lc_r2';
SELECT step, revision, direction FROM migr_redo('lc_r2');
SELECT lc_cols();
-- Now the new downgrade is the one kept, and a plain downgrade/upgrade works.
SELECT revision, downgrade FROM migr.applied WHERE revision = 'lc_r2';
SELECT step, revision, direction FROM migr_downgrade('lc_r1');
SELECT lc_cols();
SELECT step, revision, direction FROM migr_upgrade('lc_r2');
SELECT lc_cols();
SELECT count(*) AS mismatches FROM migr_validate();
SELECT step, revision FROM migr_upgrade();
SELECT operation, revision, direction, target FROM migr.log WHERE operation = 'redo' ORDER BY id;
-- redo of what is not applied, or of nothing.
SELECT lc_try($$SELECT * FROM migr_redo('lc_nope')$$);
SELECT lc_try('SELECT * FROM migr_redo(NULL)');

-- A hand edit of migr.revisions (superuser) is detected and blocks upgrades.
UPDATE migr.revisions SET upgrade = 'CREATE TABLE lc_t (id bigint)' WHERE id = 'lc_r1';
SELECT revision, problem FROM migr_validate();
SELECT migr_revision('column d', 'ALTER TABLE lc_t ADD COLUMN d int', 'ALTER TABLE lc_t DROP COLUMN d', 'lc_r4');
SELECT lc_try('SELECT * FROM migr_upgrade()');
SELECT lc_try($$SELECT migr_repair('lc_r4')$$);
SELECT lc_try($$SELECT migr_repair('lc_zzz')$$);
SELECT lc_try('SELECT migr_repair(NULL)');
SELECT migr_repair('lc_r1') = migr.script_checksum('CREATE TABLE lc_t (id bigint)', 'DROP TABLE lc_t') AS repaired;
SELECT operation, revision, run_id, checksum = migr.script_checksum('CREATE TABLE lc_t (id bigint)', 'DROP TABLE lc_t') AS checksum_ok
  FROM migr.log ORDER BY id DESC LIMIT 1;
SELECT migr_repair('lc_r1') IS NOT NULL AS repair_again_is_a_noop;
SELECT count(*) AS mismatches FROM migr_validate();
SELECT step, revision FROM migr_upgrade();

-- Ever applied but downgraded: editable without a WARNING before launch.
SELECT step, revision FROM migr_downgrade(-1);
SELECT migr_revision('column d, bigint', 'ALTER TABLE lc_t ADD COLUMN d bigint', 'ALTER TABLE lc_t DROP COLUMN d', 'lc_r4');
SELECT step, revision FROM migr_upgrade();

-- Launch: who and when, once.
SELECT migr_launch() AS launched_at \gset
SELECT migr_launch() = :'launched_at' AS same_launch;
SELECT launched_by = current_user AS by_ok FROM migr.launch;
SELECT count(*) AS launch_rows FROM migr.log WHERE operation = 'launch';
SELECT (migr_status()->'launched'->>'by') = current_user AS status_launched_by;
-- After launch applied revisions are immutable; new ones are not.
SELECT lc_try($$SELECT migr_revision('columns a and b', 'ALTER TABLE lc_t ADD COLUMN a bigint; ALTER TABLE lc_t ADD COLUMN b int', 'ALTER TABLE lc_t DROP COLUMN b, DROP COLUMN a', 'lc_r2')$$);
SELECT step, revision FROM migr_downgrade(-1);
SELECT lc_try($$SELECT migr_revision('column d', 'ALTER TABLE lc_t ADD COLUMN d text', 'ALTER TABLE lc_t DROP COLUMN d', 'lc_r4')$$);
SELECT migr_revision('column e', 'ALTER TABLE lc_t ADD COLUMN e int', 'ALTER TABLE lc_t DROP COLUMN e', 'lc_r5', ARRAY['lc_r4']);
SELECT migr_revision('column e', 'ALTER TABLE lc_t ADD COLUMN e bigint', 'ALTER TABLE lc_t DROP COLUMN e', 'lc_r5', ARRAY['lc_r4']);
-- A hand edit after launch is still detected, and repair still accepts it.
UPDATE migr.revisions SET downgrade = 'ALTER TABLE lc_t DROP COLUMN c CASCADE' WHERE id = 'lc_r3';
SELECT revision, problem FROM migr_validate();
SELECT lc_try('SELECT * FROM migr_upgrade()');
SELECT migr_repair('lc_r3') IS NOT NULL AS repaired;
SELECT step, revision FROM migr_upgrade();

-- check_head and rollback_check.  Now: r1..r5 applied, all additive.
SELECT migr_revision('drop a', 'ALTER TABLE lc_t DROP COLUMN a', NULL, 'lc_r6', destructive => true);
SELECT migr_revision('column f', 'ALTER TABLE lc_t ADD COLUMN f int', 'ALTER TABLE lc_t DROP COLUMN f', 'lc_r7');
SELECT migr_check_head('lc_r5');
SELECT lc_try($$SELECT migr_check_head('lc_r3')$$);
SELECT migr_check_head('lc_r3', allow_compatible => true);
SELECT lc_try($$SELECT migr_check_head('lc_r7')$$);
SELECT lc_try($$SELECT migr_check_head('lc_r7', true)$$);
SELECT revision, state, compatible, reason FROM migr_rollback_check('lc_r3');
SELECT revision, state, compatible, reason FROM migr_rollback_check('lc_r7');
SELECT count(*) AS rows_at_head FROM migr_rollback_check('lc_r5');
SELECT step, revision FROM migr_upgrade('lc_r6');
-- A destructive revision ahead: not compatible.
SELECT lc_try($$SELECT migr_check_head('lc_r5', true)$$);
SELECT lc_try($$SELECT migr_check_head('lc_r3', true)$$);
SELECT revision, state, compatible, reason FROM migr_rollback_check('lc_r3');
SELECT lc_try('SELECT migr_check_head(NULL)');
SELECT lc_try($$SELECT migr_check_head('lc_nope')$$);
SELECT lc_try('SELECT * FROM migr_rollback_check(NULL)');

-- migr_status(): keys and values, for the app role too.
SELECT jsonb_object_keys(migr_status()) AS key ORDER BY 1;
SELECT s->'environment' AS environment, s->'confirmed' AS confirmed, s->'current' AS current,
       s->'heads' AS heads, s->'pending' AS pending, s->'checksum_mismatches' AS mismatches,
       s->'guards' AS guards
  FROM migr_status() s;
SELECT s->'last_operation'->>'operation' AS op, s->'last_operation'->>'target' AS target,
       s->'last_operation'->'steps' AS steps, s->'last_operation'->>'outcome' AS outcome,
       (s->'last_operation'->>'by') = session_user AS by_ok
  FROM migr_status() s;
SET migr.lock_timeout = '2s';
SET migr.allow_destructive = on;
SELECT migr_status()->'guards' AS guards;
RESET migr.lock_timeout;
RESET migr.allow_destructive;
\c - regress_lc_app
SELECT s->'environment' AS environment, s->'current' AS current, s->'pending' AS pending FROM migr_status() s;
SELECT migr_check_head('lc_r6');
-- migr_rollback_check quotes statements, like migr_show: not for PUBLIC.
SELECT lc_try($$SELECT count(*) FROM migr_rollback_check('lc_r3')$$);
SELECT count(*) FROM migr_validate();
\c - postgres
ALTER DATABASE contrib_regression SET migr.environment = 'production';
\c - regress_lc_app
SELECT s->'environment' AS environment, s->'confirmed' AS confirmed FROM migr_status() s;
SET migr.confirm_production = yes;
SELECT s->'confirmed' AS confirmed FROM migr_status() s;
\c - postgres
ALTER DATABASE contrib_regression RESET migr.environment;
\c - postgres
-- A hand edit that leaves a revision naming a parent that does not exist:
-- every operation that loads the graph refuses with XX001, naming both.
INSERT INTO migr.revisions (id, down_revision, message, upgrade, checksum, created_by)
VALUES ('lc_orphan', '{lc_nowhere}', 'orphan', 'SELECT 1', 'x', current_user);
SELECT lc_try($$SELECT * FROM migr_upgrade('heads')$$);
SELECT lc_try($$SELECT * FROM migr_history()$$);
DELETE FROM migr.revisions WHERE id = 'lc_orphan';
-- Parents edited by hand into a cycle: XX001 too, not an internal error.
INSERT INTO migr.revisions (id, down_revision, message, upgrade, checksum, created_by)
VALUES ('lc_cyc_a', '{lc_cyc_b}', 'cycle a', 'SELECT 1', 'x', current_user),
       ('lc_cyc_b', '{lc_cyc_a}', 'cycle b', 'SELECT 1', 'x', current_user);
SELECT lc_try($$SELECT * FROM migr_history()$$);
SELECT lc_try($$SELECT * FROM migr_upgrade('lc_cyc_b')$$);
DELETE FROM migr.revisions WHERE id IN ('lc_cyc_a', 'lc_cyc_b');
SET client_min_messages = warning;
DROP EXTENSION migr CASCADE;
DROP TABLE IF EXISTS public.lc_t;
DROP ROLE regress_lc_app;
