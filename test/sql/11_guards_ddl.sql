-- 11_guards_ddl: the DDL lock-down in production, and what an application
-- role (not superuser, no EXECUTE on migr's changing functions) tries to get
-- around it.  Every refusal shows its SQLSTATE, and that nothing changed.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/base.sql
SET client_min_messages = warning;
ALTER DATABASE contrib_regression RESET migr.environment;
DROP SCHEMA IF EXISTS guard_app CASCADE;
DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'regress_guard_app') THEN DROP OWNED BY regress_guard_app; DROP ROLE regress_guard_app; END IF; END $$;
RESET client_min_messages;

-- Everything a refusal must leave alone: migr's catalog, the objects of the
-- schema guard_app and of public, the app role's settings, the event trigger.
CREATE OR REPLACE FUNCTION public.guard_fp() RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $f$
  SELECT md5(concat_ws(E'\n',
    public.migr_fingerprint(),
    (SELECT string_agg(c.relname || ':' || c.relkind::text || ':' || c.relnatts, ',' ORDER BY c.relname)
       FROM pg_class c WHERE c.relnamespace IN ('public'::regnamespace, to_regnamespace('guard_app'))),
    (SELECT string_agg(p.proname || ':' || p.prosecdef, ',' ORDER BY p.proname)
       FROM pg_proc p WHERE p.pronamespace = to_regnamespace('guard_app')),
    (SELECT string_agg(s.setconfig::text, ',') FROM pg_db_role_setting s
      WHERE s.setrole = (SELECT oid FROM pg_roles WHERE rolname = 'regress_guard_app')),
    (SELECT string_agg(evtname || ':' || evtenabled::text, ',') FROM pg_event_trigger)))
$f$;
-- Run "sql": "SQLSTATE: message" (or "ok"), and "(STATE CHANGED)" when it
-- changed anything guard_fp() sees.
CREATE OR REPLACE FUNCTION public.guard_try(sql text) RETURNS text
LANGUAGE sql AS $f$ SELECT public.attempt(sql, 'ok', '{}', 'public.guard_fp') $f$;

-- The application role owns its schema: privileges alone would let it
-- change the schema, only the guard stops it.
CREATE ROLE regress_guard_app LOGIN;
CREATE SCHEMA guard_app AUTHORIZATION regress_guard_app;
SET ROLE regress_guard_app;
CREATE TABLE guard_app.items (id int PRIMARY KEY, v text);
INSERT INTO guard_app.items VALUES (1, 'one'), (2, 'two');
CREATE MATERIALIZED VIEW guard_app.item_count AS SELECT count(*) AS n FROM guard_app.items;
-- Made before production: a SECURITY DEFINER function of the app doing DDL.
CREATE FUNCTION guard_app.app_ddl() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER AS $f$ BEGIN CREATE TABLE guard_app.by_app_function (id int); END $f$;
RESET ROLE;
-- A migration (run by migr, so allowed) creates a SECURITY DEFINER function
-- owned by the superuser that does DDL, and lets the app call it.
SELECT migr_revision('definer trap',
  $s$CREATE FUNCTION guard_app.owner_ddl() RETURNS void
     LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog
     AS 'BEGIN CREATE TABLE guard_app.by_definer (id int); END';
     GRANT EXECUTE ON FUNCTION guard_app.owner_ddl() TO regress_guard_app;$s$,
  'DROP FUNCTION guard_app.owner_ddl()', 'guard_sd');
SELECT step, revision FROM migr_upgrade();
-- The app role cannot run migr's changing functions.
SELECT has_function_privilege('regress_guard_app', 'migr_upgrade(text,boolean)', 'EXECUTE') AS app_can_upgrade,
       has_function_privilege('regress_guard_app', 'migr_revision(text,text,text,text,text[],text[],text[],boolean,boolean)', 'EXECUTE') AS app_can_register;
-- Outside production the guard lets everything through.
SELECT guard_try('CREATE TABLE guard_app.dev_only (id int)') LIKE 'ok%' AS dev_ddl_ok;
SELECT guard_try('DROP TABLE guard_app.dev_only') LIKE 'ok%' AS dev_drop_ok;
SELECT evtname, evtevent, evtenabled, evtfoid::regproc FROM pg_event_trigger ORDER BY evtname;

-- Production, for every new session of the database.
ALTER DATABASE contrib_regression SET migr.environment = 'production';
\c - regress_guard_app
SHOW migr.environment;

-- Plain DDL, top level: refused, naming the command.
CREATE TABLE guard_app.new_table (id int);
\set VERBOSITY terse
SELECT guard_try('CREATE TABLE guard_app.new_table (id int)');
SELECT guard_try('ALTER TABLE guard_app.items ADD COLUMN extra int');
SELECT guard_try('ALTER TABLE guard_app.items RENAME COLUMN v TO w');
SELECT guard_try('CREATE INDEX ON guard_app.items (v)');
SELECT guard_try('DROP TABLE guard_app.items');
SELECT guard_try('DROP MATERIALIZED VIEW guard_app.item_count');
SELECT guard_try('CREATE VIEW guard_app.v AS SELECT 1 AS one');
SELECT guard_try('CREATE FUNCTION guard_app.f() RETURNS int LANGUAGE sql AS ''SELECT 1''');
SELECT guard_try('COMMENT ON TABLE guard_app.items IS ''hello''');
SELECT guard_try('GRANT SELECT ON guard_app.items TO PUBLIC');
SELECT guard_try('CREATE TABLE guard_app.copy AS SELECT * FROM guard_app.items');
SELECT guard_try('SELECT * INTO guard_app.copy2 FROM guard_app.items');
SELECT guard_try('CREATE SCHEMA guard_app2');
SELECT guard_try('DROP SCHEMA guard_app CASCADE');
SELECT guard_try('DROP EXTENSION migr');
-- DDL from a DO block, from the app's own SECURITY DEFINER function, and from
-- a SECURITY DEFINER function a migration created: still ad-hoc.
SELECT guard_try($q$DO $d$ BEGIN CREATE TABLE guard_app.from_do (id int); END $d$$q$);
SELECT guard_try($q$DO $d$ BEGIN EXECUTE 'ALTER TABLE guard_app.items DROP COLUMN v'; END $d$$q$);
SELECT guard_try('SELECT guard_app.app_ddl()');
SELECT guard_try('SELECT guard_app.owner_ddl()');
-- Switching the environment off: SET, SET LOCAL, set_config, the role's own
-- settings.  All 42501, and the environment stays production.
SELECT guard_try($$SET migr.environment = 'development'$$);
SELECT guard_try($$SET LOCAL migr.environment = 'development'$$);
SELECT guard_try($$SELECT set_config('migr.environment', 'development', false)$$);
SELECT guard_try($$ALTER ROLE regress_guard_app SET migr.environment = 'development'$$);
SELECT guard_try($$ALTER ROLE CURRENT_USER IN DATABASE contrib_regression SET migr.environment = 'staging'$$);
SELECT guard_try($$ALTER DATABASE contrib_regression SET migr.environment = 'development'$$);
SHOW migr.environment;
-- Disabling the guard: the break glass, replication role, the trigger itself.
SELECT guard_try('SET migr.allow_adhoc_ddl = on');
SELECT guard_try($$SELECT set_config('migr.allow_adhoc_ddl', 'on', true)$$);
SELECT guard_try($$ALTER ROLE regress_guard_app SET migr.allow_adhoc_ddl = on$$);
SELECT guard_try('SET session_replication_role = replica');
SELECT guard_try('ALTER EVENT TRIGGER migr_ddl_guard DISABLE');
SELECT guard_try('ALTER EVENT TRIGGER migr_ddl_guard ENABLE REPLICA');
SELECT guard_try('DROP EVENT TRIGGER migr_ddl_guard');
SELECT guard_try('ALTER EVENT TRIGGER migr_ddl_guard OWNER TO regress_guard_app');
SHOW migr.allow_adhoc_ddl;
SHOW session_replication_role;
-- Writing migr's catalog directly, or calling its changing functions.
SELECT guard_try($$INSERT INTO migr.log (operation, environment, confirmed, session_user_name, current_user_name, started_at, duration, wal_lsn, xid) VALUES ('adhoc_ddl', 'development', true, 'x', 'x', now(), '0', '0/0', '0')$$);
SELECT guard_try($$UPDATE migr.revisions SET upgrade = 'SELECT 1'$$);
SELECT guard_try($$INSERT INTO migr.launch VALUES (true, now(), 'x')$$);
SELECT guard_try('DELETE FROM migr.applied');
SELECT guard_try('SELECT migr.ddl_guard()');
SELECT guard_try($$SELECT migr_revision('app change', 'CREATE TABLE guard_app.x (id int)')$$);
SELECT guard_try('SELECT * FROM migr_upgrade()');
SELECT guard_try('SELECT migr_launch()');
SELECT guard_try($$SELECT migr_repair('guard_sd')$$);
-- confirm_production is the app's to set, but it opens nothing: DDL is still
-- refused and migr's functions are still not the app's to call.
SET migr.confirm_production = yes;
SELECT guard_try('CREATE TABLE guard_app.confirmed (id int)');
RESET migr.confirm_production;

-- What a running application legitimately does keeps working.
CREATE TEMP TABLE scratch (id int, v text);
CREATE TABLE pg_temp.scratch2 (id int);
CREATE TEMPORARY TABLE scratch3 AS SELECT * FROM guard_app.items;
CREATE INDEX scratch_v ON scratch (v);
ALTER TABLE scratch ADD COLUMN w int;
CREATE TEMP VIEW scratch_view AS SELECT id FROM scratch;
CREATE TEMP SEQUENCE scratch_seq;
ALTER SEQUENCE scratch_seq RESTART 5;
INSERT INTO scratch SELECT id, v, nextval('scratch_seq') FROM guard_app.items;
SELECT * FROM scratch ORDER BY id;
DROP VIEW scratch_view;
DROP INDEX scratch_v;
DROP TABLE scratch, scratch2, scratch3;
DROP SEQUENCE scratch_seq;
INSERT INTO guard_app.items VALUES (3, 'three');
REFRESH MATERIALIZED VIEW guard_app.item_count;
SELECT n FROM guard_app.item_count;
-- ... but a temporary name does not cover a permanent table.
SELECT guard_try('DROP TABLE pg_temp.items, guard_app.items');
SELECT guard_try('CREATE INDEX ON guard_app.items (v)');
-- The app can read where the database is.
SELECT migr_status()->>'environment' AS environment, migr_status()->'guards'->>'ddl_guard' AS ddl_guard;
SELECT count(*) AS mismatches FROM migr_validate();

-- A fresh session of the app whose very first statement sets the
-- environment, before the library is loaded: the value is discarded when
-- the library loads, and the DDL is refused.
\c - regress_guard_app
SET migr.environment = 'development';
CREATE TABLE guard_app.before_load (id int);
SHOW migr.environment;
\c - regress_guard_app
SET migr.allow_adhoc_ddl = on;
CREATE TABLE guard_app.before_load (id int);
SHOW migr.allow_adhoc_ddl;
SELECT to_regclass('guard_app.before_load') AS before_load;

-- A superuser is refused too, also with session_replication_role = replica
-- (the trigger is ENABLE ALWAYS).
\c - postgres
\set VERBOSITY terse
SELECT guard_try('CREATE TABLE guard_app.by_superuser (id int)');
SET session_replication_role = replica;
SELECT guard_try('CREATE TABLE guard_app.by_superuser (id int)');
RESET session_replication_role;
SELECT guard_try('DROP EXTENSION migr CASCADE');
SELECT guard_try('ALTER EXTENSION migr UPDATE');
-- The break glass (superuser only): the statement goes through with a
-- WARNING and a log row.
SELECT max(id) AS log_before FROM migr.log \gset
SET migr.allow_adhoc_ddl = on;
CREATE TABLE guard_app.hotfix (id int);
ALTER TABLE guard_app.hotfix ADD COLUMN note text;
RESET migr.allow_adhoc_ddl;
SELECT guard_try('DROP TABLE guard_app.hotfix');
SELECT operation, run_id, revision, command_tag, statement, environment, confirmed,
       session_user_name = session_user AS who_ok, started_at IS NOT NULL AS when_ok
  FROM migr.log WHERE id > :log_before ORDER BY id;
-- The app still has not changed anything.
SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'guard_app'::regnamespace AND c.relkind IN ('r', 'v', 'm') ORDER BY 1;
SELECT setconfig FROM pg_db_role_setting WHERE setrole = 'regress_guard_app'::regrole;

-- Back to development for the files that follow.
ALTER DATABASE contrib_regression RESET migr.environment;
\c - postgres
SELECT current_setting('migr.environment', true) AS environment;
SET client_min_messages = warning;
DROP EXTENSION migr CASCADE;
DROP SCHEMA guard_app CASCADE;
DROP OWNED BY regress_guard_app;
DROP ROLE regress_guard_app;
