-- 14_exec_roles: a script never runs with more privileges than the role
-- that registered it, whoever calls migr, and nothing inside a script can
-- raise them (issue 9, item 4).  A superuser runs a deploy role's revisions
-- without SET ROLE: they run as the deploy role, in a security-restricted
-- context, as REFRESH MATERIALIZED VIEW runs a view owner's code.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/core.sql
SET client_min_messages = warning;
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['regress_exec_deploy', 'regress_exec_other', 'regress_exec_ghost'] LOOP
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('DROP OWNED BY %I CASCADE', r);
      EXECUTE format('DROP ROLE %I', r);
    END IF;
  END LOOP;
END $$;
RESET client_min_messages;
-- The deploy role as README sets it up, and a second, unrelated one.
CREATE ROLE regress_exec_deploy;
CREATE ROLE regress_exec_other;
GRANT EXECUTE ON FUNCTION migr_revision(text, text, text, text, text[], text[], text[], boolean, boolean),
      migr_upgrade(text, boolean), migr_upgrade(integer), migr_downgrade(text, boolean),
      migr_downgrade(integer), migr_stamp(VARIADIC text[]), migr_stamp(text[], boolean),
      migr_show(text)
   TO regress_exec_deploy, regress_exec_other;
GRANT EXECUTE ON PROCEDURE migr_upgrade_each(text) TO regress_exec_deploy;
GRANT EXECUTE ON FUNCTION migr_step_begin(text, text, text, text) TO regress_exec_deploy;
GRANT CREATE ON SCHEMA public TO regress_exec_deploy, regress_exec_other;
-- The caller's session has a temporary schema already.
CREATE TEMP TABLE ex_caller_temp (id int);

-- The deploy role registers; the superuser runs it, without SET ROLE.
SET ROLE regress_exec_deploy;
SELECT migr_revision('deploy base', $s$
CREATE TABLE ex_items (id int PRIMARY KEY);
CREATE FUNCTION ex_whoami() RETURNS name LANGUAGE sql AS 'SELECT current_user';
CREATE TABLE ex_who AS SELECT current_user AS who, session_user = current_user AS session_is_current,
  (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser;
$s$, 'DROP TABLE ex_items, ex_who; DROP FUNCTION ex_whoami()', 'ex_base', '{}');
RESET ROLE;
SELECT step, revision FROM migr_upgrade('ex_base');
-- Everything it made belongs to the deploy role; it ran as the deploy role.
SELECT c.relname, pg_get_userbyid(c.relowner) AS owner FROM pg_class c
 WHERE c.relname IN ('ex_items', 'ex_who') ORDER BY 1;
SELECT p.proname, pg_get_userbyid(p.proowner) AS owner FROM pg_proc p WHERE p.proname = 'ex_whoami';
SELECT who, session_is_current, superuser FROM ex_who;
-- The caller is itself again afterwards.
SELECT current_user = session_user AS caller_back, current_setting('is_superuser') AS is_superuser;
SELECT revision, applied_by = session_user AS applied_by_caller FROM migr.applied;
SELECT id, created_by, registrant FROM migr.revisions;

-- Every way back to the superuser, run by the superuser on a revision the
-- deploy role registered: refused with its SQLSTATE, the step rolled back,
-- the deploy role still not a superuser, nothing of the catalog changed.
CREATE FUNCTION ex_probe(script text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
  id text := 'ex_' || left(md5(script), 12);
  result text;
BEGIN
  PERFORM set_config('role', 'regress_exec_deploy', true);
  PERFORM migr_revision('probe', script, 'SELECT 1', id, '{ex_base}');
  PERFORM set_config('role', 'none', true);
  result := refused(format('SELECT * FROM migr_upgrade(%L)', id));
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_exec_deploy') THEN
    result := result || ' (DEPLOY ROLE IS SUPERUSER)';
  END IF;
  IF EXISTS (SELECT 1 FROM pg_class WHERE relname LIKE 'ex_pwned%') THEN
    result := result || ' (OBJECT LEFT BEHIND)';
  END IF;
  RETURN result;
END
$f$;
\set payload 'ALTER ROLE regress_exec_deploy SUPERUSER; CREATE TABLE ex_pwned (id int)'
SELECT ex_probe('RESET ROLE; ' || :'payload');
SELECT ex_probe(format('SET ROLE %I; ', session_user) || :'payload');
SELECT ex_probe(format('SET LOCAL ROLE %I; ', session_user) || :'payload');
SELECT ex_probe(format('SET SESSION AUTHORIZATION %I; ', session_user) || :'payload');
SELECT ex_probe(format('SET LOCAL SESSION AUTHORIZATION %I; ', session_user) || :'payload');
SELECT ex_probe('SET SESSION AUTHORIZATION DEFAULT; ' || :'payload');
SELECT ex_probe('RESET SESSION AUTHORIZATION; ' || :'payload');
SELECT ex_probe('SELECT set_config(''role'', session_user, false); ' || :'payload');
SELECT ex_probe('SELECT set_config(''role'', session_user, true); ' || :'payload');
SELECT ex_probe('SELECT set_config(''session_authorization'', session_user, false); ' || :'payload');
SELECT ex_probe('DO $d$BEGIN RESET ROLE; ' || :'payload' || '; END$d$');
SELECT ex_probe('DO $d$BEGIN EXECUTE format(''SET ROLE %I'', session_user); ' || :'payload' || '; END$d$');
SELECT ex_probe('DO $d$BEGIN EXECUTE format(''SET SESSION AUTHORIZATION %I'', session_user); ' || :'payload' || '; END$d$');
SELECT ex_probe('DO $d$BEGIN PERFORM set_config(''role'', session_user, true); ' || :'payload' || '; END$d$');
SELECT ex_probe('DO $d$BEGIN PERFORM set_config(''session_authorization'', session_user, false); ' || :'payload' || '; END$d$');
SELECT ex_probe('RESET ALL; ' || :'payload');
SELECT ex_probe('DISCARD ALL; ' || :'payload');
SELECT ex_probe('DO $d$BEGIN COMMIT; RESET ROLE; ' || :'payload' || '; END$d$');
-- A deferred constraint trigger would fire at COMMIT, as whoever commits:
-- it cannot be queued; with SET CONSTRAINTS ... IMMEDIATE it fires inside
-- the step, as the deploy role.
SELECT ex_probe($s$
CREATE FUNCTION ex_trap() RETURNS trigger LANGUAGE plpgsql AS $t$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    ALTER ROLE regress_exec_deploy SUPERUSER;
    CREATE TABLE ex_pwned (id int);
  END IF;
  RETURN NULL;
END $t$;
CREATE TABLE ex_deferred (id int);
CREATE CONSTRAINT TRIGGER ex_later AFTER INSERT ON ex_deferred
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ex_trap();
INSERT INTO ex_deferred VALUES (1);
$s$);
SELECT ex_probe($s$
CREATE FUNCTION ex_trap() RETURNS trigger LANGUAGE plpgsql AS $t$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    ALTER ROLE regress_exec_deploy SUPERUSER;
    CREATE TABLE ex_pwned (id int);
  END IF;
  RETURN NULL;
END $t$;
CREATE TABLE ex_deferred (id int);
CREATE CONSTRAINT TRIGGER ex_later AFTER INSERT ON ex_deferred
  DEFERRABLE INITIALLY IMMEDIATE FOR EACH ROW EXECUTE FUNCTION ex_trap();
SET CONSTRAINTS ALL DEFERRED;
INSERT INTO ex_deferred VALUES (1);
$s$);
-- What would act later in the caller's session: temporary objects (the
-- caller has a temporary schema), cursors WITH HOLD, prepared statements,
-- LISTEN.
SELECT ex_probe('CREATE TEMP TABLE ex_items (id int)');
SELECT ex_probe('CREATE TABLE pg_temp.ex_items (id int)');
SELECT ex_probe('CREATE VIEW pg_temp.ex_items AS SELECT 1 AS id');
SELECT ex_probe('CREATE DOMAIN pg_temp.ex_d AS int CHECK (VALUE > 0)');
SELECT ex_probe('CREATE TYPE pg_temp.ex_t AS (a int)');
SELECT ex_probe('CREATE TYPE pg_temp.ex_e AS ENUM (''a'')');
SELECT ex_probe('DECLARE ex_c CURSOR WITH HOLD FOR SELECT 1');
SELECT ex_probe('PREPARE ex_p AS SELECT 1');
SELECT ex_probe('LISTEN ex_channel');
SELECT ex_probe('DO $d$BEGIN EXECUTE ''PREPARE ex_p AS SELECT 1''; END$d$');
SELECT count(*) AS caller_prepared FROM pg_prepared_statements;
SELECT count(*) AS caller_cursors FROM pg_cursors;
SELECT pg_listening_channels() AS caller_listening;
SELECT c.relname FROM pg_class c WHERE c.relnamespace = pg_my_temp_schema() ORDER BY 1;

-- The same attack through the other ways a step runs: a dry run, and
-- migr_upgrade_each, whose failure row says who ran it and why it failed.
SET ROLE regress_exec_deploy;
SELECT migr_revision('probe', 'RESET ROLE; ALTER ROLE regress_exec_deploy SUPERUSER', NULL, 'ex_probe', '{ex_base}');
RESET ROLE;
SELECT step, revision, error FROM migr_upgrade('ex_probe', dry_run => true);
CALL migr_upgrade_each('ex_probe');
SELECT revision, direction, error_sqlstate, error_message,
       session_user_name = session_user AS by_session_user, current_user_name = current_user AS by_current_user
  FROM migr.log WHERE error_sqlstate IS NOT NULL ORDER BY id;
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_exec_deploy';

-- Going down runs as the registrant of the kept downgrade too.
SET ROLE regress_exec_deploy;
SELECT migr_revision('probe', 'CREATE TABLE ex_p1 (id int)', 'RESET ROLE; ALTER ROLE regress_exec_deploy SUPERUSER', 'ex_probe', '{ex_base}');
RESET ROLE;
SELECT step, revision FROM migr_upgrade('ex_probe');
SELECT refused($$SELECT * FROM migr_downgrade('ex_base')$$);
SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_exec_deploy';
SELECT st();

-- Which role: the less privileged of caller and registrant.  A deploy role
-- runs a superuser's revision as itself; two unrelated roles refuse.
SELECT migr_revision('by the superuser', 'CREATE TABLE ex_su (id int)', 'DROP TABLE ex_su', 'ex_su', '{ex_probe}');
SET ROLE regress_exec_deploy;
SELECT step, revision FROM migr_upgrade('ex_su');
RESET ROLE;
SELECT pg_get_userbyid(relowner) AS ex_su_owner FROM pg_class WHERE relname = 'ex_su';
SET ROLE regress_exec_other;
SELECT refused($$SELECT * FROM migr_downgrade('ex_base')$$);
RESET ROLE;
-- A registrant dropped and created again under the same name is another
-- role: its revisions do not run until registered again.
CREATE ROLE regress_exec_ghost;
GRANT EXECUTE ON FUNCTION migr_revision(text, text, text, text, text[], text[], text[], boolean, boolean) TO regress_exec_ghost;
GRANT CREATE ON SCHEMA public TO regress_exec_ghost;
SET ROLE regress_exec_ghost;
SELECT migr_revision('by a ghost', 'CREATE TABLE ex_ghost (id int)', NULL, 'ex_ghost', '{ex_su}');
RESET ROLE;
DROP OWNED BY regress_exec_ghost;
DROP ROLE regress_exec_ghost;
CREATE ROLE regress_exec_ghost;
SELECT refused($$SELECT * FROM migr_upgrade('ex_ghost')$$);
SELECT created_by, registrant::oid = 'regress_exec_ghost'::regrole::oid AS same_role
  FROM migr.revisions WHERE id = 'ex_ghost';

-- The psql path: a migr_script() step runs in the psql session as whoever
-- logged in, and RESET ROLE gets back there, so migr_step_begin refuses a
-- session that logged in with more privileges than the registrant, even
-- after SET ROLE or SET SESSION AUTHORIZATION.
SET ROLE regress_exec_deploy;
SELECT migr_revision('psql path', 'CREATE TABLE ex_psql (id int)', 'DROP TABLE ex_psql', 'ex_psql', '{ex_su}');
RESET ROLE;
SELECT migr.script_checksum('CREATE TABLE ex_psql (id int)', 'DROP TABLE ex_psql') AS psql_sum \gset
BEGIN;
SELECT refused(format($$SELECT migr_step_begin('ex_psql', 'up', %L, 'ex_psql')$$, :'psql_sum'));
SET LOCAL ROLE regress_exec_deploy;
SELECT refused(format($$SELECT migr_step_begin('ex_psql', 'up', %L, 'ex_psql')$$, :'psql_sum'));
ROLLBACK;
BEGIN;
SET SESSION AUTHORIZATION regress_exec_deploy;
SELECT refused(format($$SELECT migr_step_begin('ex_psql', 'up', %L, 'ex_psql')$$, :'psql_sum'));
ROLLBACK;
RESET SESSION AUTHORIZATION;

-- Clean up.
SET client_min_messages = warning;
DROP EXTENSION migr CASCADE;
DROP FUNCTION ex_probe(text);
DROP OWNED BY regress_exec_deploy, regress_exec_other, regress_exec_ghost CASCADE;
DROP ROLE regress_exec_deploy;
DROP ROLE regress_exec_other;
DROP ROLE regress_exec_ghost;
DROP TABLE IF EXISTS ex_su;
RESET client_min_messages;
