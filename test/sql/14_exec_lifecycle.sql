-- 14_exec_lifecycle: whoever last changed a revision is its registrant, and
-- a role without the registrant's privileges cannot change it, by any path
-- (issue 9, item 3); migr_redo is refused in production and after launch
-- (item 5); a production downgrade that drops what holds data needs the
-- destructive acknowledgement (item 13).
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/core.sql
SET client_min_messages = warning;
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['regress_lc_deploy', 'regress_lc_other'] LOOP
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('DROP OWNED BY %I CASCADE', r);
      EXECUTE format('DROP ROLE %I', r);
    END IF;
  END LOOP;
END $$;
RESET client_min_messages;
CREATE ROLE regress_lc_deploy;
CREATE ROLE regress_lc_other;
GRANT EXECUTE ON FUNCTION migr_revision(text, text, text, text, text[], text[], text[], boolean, boolean),
      migr_upgrade(text, boolean), migr_downgrade(text, boolean), migr_redo(text),
      migr_repair(text), migr_load(text, text), migr_load(text[], text[]), migr_export(),
      migr_show(text)
   TO regress_lc_deploy, regress_lc_other;
GRANT CREATE ON SCHEMA public TO regress_lc_deploy, regress_lc_other;
CREATE TABLE lc_ran (step text, who name);
GRANT INSERT ON lc_ran TO PUBLIC;

-- A superuser's pending revision.  Registering it again under the same id
-- with other scripts is refused to the deploy role (which lacks the
-- superuser's privileges), by migr_revision and by migr_load alike.
SELECT migr_revision('by the superuser', 'CREATE TABLE lc_a (id int)', 'DROP TABLE lc_a', 'lc_a', '{}');
SELECT created_by = session_user AS by_session_user FROM migr.revisions WHERE id = 'lc_a';
SELECT content AS lc_a_file FROM migr_export() WHERE filename LIKE 'lc_a%' \gset
SET ROLE regress_lc_deploy;
SELECT refused($$SELECT migr_revision('by the superuser', 'ALTER ROLE regress_lc_deploy SUPERUSER', NULL, 'lc_a', '{}')$$);
SELECT refused($$SELECT migr_revision('reworded', 'CREATE TABLE lc_a (id int)', 'DROP TABLE lc_a', 'lc_a')$$);
SELECT refused(format('SELECT migr_load(%L)',
               replace(:'lc_a_file', 'CREATE TABLE lc_a (id int)', 'ALTER ROLE regress_lc_deploy SUPERUSER')));
SELECT refused(format('SELECT * FROM migr_load(ARRAY[%L])',
               replace(:'lc_a_file', 'CREATE TABLE lc_a (id int)', 'ALTER ROLE regress_lc_deploy SUPERUSER')));
-- The identical revision is no change: not refused, nothing stored.
SELECT migr_revision('by the superuser', 'CREATE TABLE lc_a (id int)', 'DROP TABLE lc_a', 'lc_a', '{}');
SELECT migr_load(:'lc_a_file');
RESET ROLE;
SELECT upgrade, created_by = session_user AS by_session_user,
       registrant::oid = (SELECT oid FROM pg_roles WHERE rolname = session_user) AS registrant_session_user
  FROM migr.revisions WHERE id = 'lc_a';

-- The deploy role's pending revision: a superuser may change it, and then
-- is its registrant; another unrelated role may not.
SET ROLE regress_lc_deploy;
SELECT migr_revision('by deploy', 'INSERT INTO lc_ran SELECT ''b up'', current_user', 'INSERT INTO lc_ran SELECT ''b down'', current_user', 'lc_b', '{lc_a}');
RESET ROLE;
SET ROLE regress_lc_other;
SELECT refused($$SELECT migr_revision('by other', 'SELECT 1', NULL, 'lc_b', '{lc_a}')$$);
RESET ROLE;
SELECT id, created_by, registrant FROM migr.revisions WHERE id = 'lc_b';

-- Edit and redo (before launch, outside production): the deploy role's
-- revision is applied by the superuser (as the deploy role); its downgrade
-- is kept with its registrant.  The superuser edits it: the new version is
-- the superuser's, the kept downgrade still runs as the deploy role.
SELECT step, revision FROM migr_upgrade('lc_b');
SELECT revision, downgrade_registrant FROM migr.applied WHERE revision = 'lc_b';
SELECT migr_revision('by deploy, edited', 'INSERT INTO lc_ran SELECT ''b2 up'', current_user', 'INSERT INTO lc_ran SELECT ''b2 down'', current_user', 'lc_b', '{lc_a}');
SELECT created_by = session_user AS edited_by_session_user FROM migr.revisions WHERE id = 'lc_b';
SELECT step, revision, direction FROM migr_redo('lc_b');
SELECT step, CASE WHEN who = session_user THEN '(session user)' ELSE who END AS who FROM lc_ran;
SELECT revision, downgrade_registrant = session_user::regrole AS kept_downgrade_by_session_user
  FROM migr.applied WHERE revision = 'lc_b';
-- Now the superuser's, it cannot be edited back by the deploy role.
SET ROLE regress_lc_deploy;
SELECT refused($$SELECT migr_revision('mine again', 'ALTER ROLE regress_lc_deploy SUPERUSER', NULL, 'lc_b', '{lc_a}')$$);
RESET ROLE;

-- Edit and repair: a hand edit of migr.revisions (the extension owner's),
-- then migr_repair.  A role without the registrant's privileges cannot
-- repair; repairing keeps the kept downgrade with its registrant.
UPDATE migr.revisions SET downgrade = 'INSERT INTO lc_ran SELECT ''b3 down'', current_user' WHERE id = 'lc_b';
SET ROLE regress_lc_deploy;
SELECT refused($$SELECT migr_repair('lc_b')$$);
RESET ROLE;
SELECT migr_repair('lc_b') IS NOT NULL AS repaired;
SELECT revision, downgrade, downgrade_registrant = session_user::regrole AS by_session_user
  FROM migr.applied WHERE revision = 'lc_b';
-- A deploy-registered revision repaired by the superuser keeps running its
-- downgrade as the deploy role.
SET ROLE regress_lc_deploy;
SELECT migr_revision('deploy c', 'INSERT INTO lc_ran SELECT ''c up'', current_user', 'INSERT INTO lc_ran SELECT ''c down'', current_user', 'lc_c', '{lc_b}');
RESET ROLE;
SELECT step, revision FROM migr_upgrade('lc_c');
UPDATE migr.revisions SET downgrade = 'INSERT INTO lc_ran SELECT ''c2 down'', current_user' WHERE id = 'lc_c';
SELECT migr_repair('lc_c') IS NOT NULL AS repaired;
DELETE FROM lc_ran;
SELECT step, revision FROM migr_downgrade('lc_b');
SELECT step, who FROM lc_ran;

-- migr_redo after launch: refused, nothing changes.
SELECT migr_launch() IS NOT NULL AS launched;
SELECT refused($$SELECT * FROM migr_redo('lc_b')$$);

-- Production: migr_redo is refused even confirmed; a downgrade whose
-- script drops a table needs migr.allow_destructive, as an upgrade does.
SET client_min_messages = warning;
DROP EXTENSION migr CASCADE;
DROP TABLE IF EXISTS lc_a;
CREATE EXTENSION migr;
RESET client_min_messages;
SELECT migr_revision('table', 'CREATE TABLE lc_t (id int)', 'DROP TABLE lc_t', 'lc_t', '{}');
SELECT migr_revision('column', 'ALTER TABLE lc_t ADD COLUMN note text', 'ALTER TABLE lc_t DROP COLUMN note', 'lc_col', '{lc_t}');
SELECT migr_revision('index', 'CREATE INDEX lc_t_id ON lc_t (id)', 'DROP INDEX lc_t_id', 'lc_idx', '{lc_col}');
SELECT step, revision FROM migr_upgrade();
INSERT INTO lc_t VALUES (1, 'kept');
ALTER DATABASE contrib_regression SET migr.environment = 'production';
\c
SET migr.confirm_production = yes;
SELECT refused($$SELECT * FROM migr_redo('lc_idx')$$);
-- (migr counts dropping an index as destructive too, going up or down.)
SELECT refused($$SELECT * FROM migr_downgrade('lc_t')$$);
SELECT refused($$SELECT * FROM migr_downgrade('base')$$);
-- The same for a downgrade step of a migr_script() script.
SELECT refused($$SELECT migr_step_begin('lc_idx', 'down', migr.script_checksum('CREATE INDEX lc_t_id ON lc_t (id)', 'DROP INDEX lc_t_id'), 'lc_col')$$);
SELECT * FROM lc_t;
SET migr.allow_destructive = on;
SELECT step, revision FROM migr_downgrade('lc_t');
RESET migr.allow_destructive;
SELECT attname FROM pg_attribute WHERE attrelid = 'lc_t'::regclass AND attnum > 0 AND NOT attisdropped;
RESET migr.confirm_production;
\c
ALTER DATABASE contrib_regression RESET migr.environment;
\c

-- Clean up.
SET client_min_messages = warning;
DROP EXTENSION migr CASCADE;
DROP TABLE lc_ran, lc_t;
DROP OWNED BY regress_lc_deploy, regress_lc_other CASCADE;
DROP ROLE regress_lc_deploy;
DROP ROLE regress_lc_other;
RESET client_min_messages;
