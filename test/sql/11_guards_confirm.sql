-- 11_guards_confirm: in production every call that changes something needs
-- migr.confirm_production; no-ops and reads need none.  The log records the
-- environment and the confirmation.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/base.sql
ALTER DATABASE contrib_regression RESET migr.environment;
-- "ok" or "SQLSTATE: message <hint>", and whether migr's catalog changed.
CREATE OR REPLACE FUNCTION public.cf_try(sql text) RETURNS text
LANGUAGE sql AS $f$ SELECT public.attempt(sql, 'ok', '{hint}') $f$;

-- Development: two revisions applied, one pending, a second branch pending.
SELECT migr_revision('one', 'CREATE TABLE cf_1 (id int)', 'DROP TABLE cf_1', 'cf_r1', '{}');
SELECT migr_revision('two', 'CREATE TABLE cf_2 (id int)', 'DROP TABLE cf_2', 'cf_r2');
SELECT step, revision FROM migr_upgrade();
SELECT migr_revision('three', 'CREATE TABLE cf_3 (id int)', 'DROP TABLE cf_3', 'cf_r3');
SELECT migr_revision('side', 'CREATE TABLE cf_s (id int)', 'DROP TABLE cf_s', 'cf_s1', ARRAY['cf_r1']);

ALTER DATABASE contrib_regression SET migr.environment = 'production';
\c
SHOW migr.environment;
SELECT current_setting('migr.confirm_production', true) AS confirm_before_load;

-- Every change is refused without confirmation, and nothing changes.
SELECT cf_try($$SELECT migr_revision('four', 'CREATE TABLE cf_4 (id int)', 'DROP TABLE cf_4', 'cf_r4', ARRAY['cf_r3'])$$);
SELECT cf_try($$SELECT migr_revision('three, reworded', 'CREATE TABLE cf_3 (id int)', 'DROP TABLE cf_3', 'cf_r3')$$);
SELECT cf_try($$SELECT migr_merge(revision => 'cf_m')$$);
SELECT cf_try($$SELECT * FROM migr_upgrade('heads')$$);
SELECT cf_try('SELECT * FROM migr_upgrade(1)');
SELECT cf_try('SELECT * FROM migr_downgrade(-1)');
SELECT cf_try($$SELECT * FROM migr_stamp('cf_r3')$$);
SELECT cf_try($$SELECT * FROM migr_redo('cf_r2')$$);
SELECT cf_try('SELECT migr_launch()');
SET migr.confirm_production = no;
SELECT cf_try($$SELECT * FROM migr_upgrade('heads')$$);
-- No-ops and reads need no confirmation.
SELECT cf_try($$SELECT migr_revision('three', 'CREATE TABLE cf_3 (id int)', 'DROP TABLE cf_3', 'cf_r3')$$);
SELECT cf_try($$SELECT * FROM migr_upgrade('cf_r2')$$);
SELECT cf_try($$SELECT * FROM migr_downgrade('current')$$);
SELECT cf_try($$SELECT migr_repair('cf_r1')$$);
SELECT cf_try($$SELECT migr_check_head('cf_r2')$$);
SELECT cf_try('SELECT migr_status()');
SELECT cf_try('SELECT * FROM migr_validate()');
SELECT cf_try($$SELECT * FROM migr_show('cf_r2')$$);

-- Confirmed for one transaction: works, and the setting ends with it.
SELECT max(id) AS log0 FROM migr.log \gset
BEGIN;
SET LOCAL migr.confirm_production = yes;
SELECT migr_revision('four', 'CREATE TABLE cf_4 (id int)', 'DROP TABLE cf_4', 'cf_r4', ARRAY['cf_r3']);
SELECT step, revision, direction FROM migr_upgrade('cf_r3');
COMMIT;
SHOW migr.confirm_production;
SELECT cf_try($$SELECT * FROM migr_upgrade('heads')$$);
-- Confirmed for the session: each kind of change.
SET migr.confirm_production = yes;
SELECT step, revision, direction FROM migr_upgrade('cf_r4');
-- (A redo is refused in production even confirmed, and a downgrade that
-- drops a table needs migr.allow_destructive too: see 14_exec_lifecycle.)
SELECT cf_try($$SELECT * FROM migr_redo('cf_r4')$$);
SET migr.allow_destructive = on;
SELECT step, revision, direction FROM migr_downgrade(-1);
RESET migr.allow_destructive;
SELECT step, revision, direction FROM migr_stamp('cf_r4');
SELECT step, revision, direction FROM migr_upgrade('heads');
SELECT migr_merge(revision => 'cf_m');
SELECT step, revision, direction FROM migr_upgrade();
SELECT migr_launch() IS NOT NULL AS launched;
-- Even confirmed, production never edits an applied revision.
SELECT cf_try($$SELECT migr_revision('two, edited', 'CREATE TABLE cf_2 (id bigint)', 'DROP TABLE cf_2', 'cf_r2')$$);
RESET migr.confirm_production;
-- The log: every change recorded as confirmed, in production.
SELECT operation, revision, direction, target, environment, confirmed
  FROM migr.log WHERE id > :log0 ORDER BY id;
SELECT count(*) FILTER (WHERE NOT confirmed) AS unconfirmed_rows_in_production
  FROM migr.log WHERE environment = 'production';
SELECT environment, confirmed, count(*) FROM migr.log GROUP BY 1, 2 ORDER BY 1, 2;

-- A hand edit (superuser) makes a mismatch; the repair needs confirmation too.
UPDATE migr.revisions SET upgrade = 'CREATE TABLE cf_1 (id int, note text)' WHERE id = 'cf_r1';
SELECT revision, problem FROM migr_validate();
SELECT cf_try($$SELECT migr_repair('cf_r1')$$);
SET migr.confirm_production = yes;
SELECT migr_repair('cf_r1') = migr.script_checksum('CREATE TABLE cf_1 (id int, note text)', 'DROP TABLE cf_1') AS repaired;
RESET migr.confirm_production;
SELECT operation, revision, environment, confirmed FROM migr.log ORDER BY id DESC LIMIT 1;
SELECT count(*) AS mismatches FROM migr_validate();

-- Staging behaves like development: no confirmation needed.
ALTER DATABASE contrib_regression SET migr.environment = 'staging';
\c
SELECT step, revision, direction FROM migr_downgrade(-1);
SELECT operation, environment, confirmed FROM migr.log ORDER BY id DESC LIMIT 1;

ALTER DATABASE contrib_regression RESET migr.environment;
\c
SELECT current_setting('migr.environment', true) AS environment;
SET client_min_messages = warning;
DROP EXTENSION migr CASCADE;
DROP TABLE IF EXISTS public.cf_1, public.cf_2, public.cf_3, public.cf_4, public.cf_s;
