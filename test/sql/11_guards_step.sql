-- 11_guards_step: between migr_step_begin() and migr_step_end() (the calls
-- around a step of a migr_script() script) only the registered statements
-- of that step may run, in order, and the step is recorded as applied only
-- when all of them ran.  A deploy role (granted as README says) tries to run
-- other DDL under a step's cover, to skip, reorder, undo or swap statements,
-- and to end a step it did not run: each attempt is refused with a SQLSTATE
-- and records nothing.  The statements are compared as parse trees, so
-- spacing, comments and letter case do not matter.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/base.sql
SET client_min_messages = warning;
ALTER DATABASE contrib_regression RESET migr.environment;
DROP SCHEMA IF EXISTS guard_s CASCADE;
DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'regress_guard_deploy') THEN DROP OWNED BY regress_guard_deploy; DROP ROLE regress_guard_deploy; END IF; END $$;
RESET client_min_messages;

CREATE ROLE regress_guard_deploy LOGIN;
GRANT EXECUTE ON FUNCTION migr_script(text, text),
    migr_step_begin(text, text, text, text), migr_step_end(text, text, text, text)
  TO regress_guard_deploy;
CREATE SCHEMA guard_s AUTHORIZATION regress_guard_deploy;
SET ROLE regress_guard_deploy;
CREATE TABLE guard_s.items (id int PRIMARY KEY, name text, k int);
INSERT INTO guard_s.items SELECT g, 'n' || g, g FROM generate_series(1, 10) g;
-- Runs any statement it is given: a way to smuggle DDL inside a SELECT.
CREATE FUNCTION guard_s.run(sql text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN EXECUTE sql; END $f$;
RESET ROLE;

-- s1 cannot run in a transaction; s2 can.
SELECT migr_revision('index and backfill',
  $s$CREATE INDEX CONCURRENTLY items_name ON guard_s.items (name);
UPDATE guard_s.items SET k = k + 100;
DO $d$ BEGIN EXECUTE 'CREATE TABLE guard_s.from_do (id int)'; END $d$;$s$,
  $s$DROP TABLE guard_s.from_do; DROP INDEX CONCURRENTLY guard_s.items_name;$s$,
  's1', '{}');
SELECT migr_revision('column', 'ALTER TABLE guard_s.items ADD COLUMN note text; INSERT INTO guard_s.items VALUES (100, ''x'', 0)',
  'ALTER TABLE guard_s.items DROP COLUMN note; DELETE FROM guard_s.items WHERE id = 100', 's2');
SELECT id, transactional FROM migr.revisions ORDER BY seq;
SELECT migr.script_checksum(upgrade, downgrade) AS c1 FROM migr.revisions WHERE id = 's1' \gset
SELECT migr.script_checksum(upgrade, downgrade) AS c2 FROM migr.revisions WHERE id = 's2' \gset

-- What the deploy role must not change by a refused attempt.
CREATE OR REPLACE FUNCTION public.gs_state() RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $f$
  SELECT concat_ws(' | ',
    'version=' || coalesce((SELECT string_agg(revision, ',' ORDER BY revision) FROM migr.version), ''),
    'applied=' || (SELECT count(*) FROM migr.applied),
    'steps logged=' || (SELECT count(*) FROM migr.log WHERE operation IN ('upgrade', 'downgrade')),
    'relations=' || (SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class
                      WHERE relnamespace = 'guard_s'::regnamespace),
    'columns=' || (SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
                    WHERE attrelid = 'guard_s.items'::regclass AND attnum > 0 AND NOT attisdropped),
    'k=' || (SELECT sum(k) FROM guard_s.items))
$f$;
GRANT EXECUTE ON FUNCTION public.gs_state() TO regress_guard_deploy;
SELECT public.gs_state();

ALTER DATABASE contrib_regression SET migr.environment = 'production';
\c - regress_guard_deploy
\set VERBOSITY terse
SET client_min_messages = warning;
SET migr.confirm_production = yes;

-- 1. begin + end without running anything: refused, nothing recorded.
SELECT migr_step_begin('s1', 'up', :'c1', 'head');
\set VERBOSITY default
SELECT migr_step_end('s1', 'up', :'c1', 'head');
\set VERBOSITY terse
SELECT public.gs_state();

-- 2. Other DDL under the step's cover: refused (MG002), saying which step
-- runs and what it expects next.  The failure ends the step.
SELECT migr_step_begin('s1', 'up', :'c1', 'head');
\set VERBOSITY default
CREATE TABLE guard_s.evil (id int);
\set VERBOSITY terse
SELECT migr_step_end('s1', 'up', :'c1', 'head');
SELECT public.gs_state();

-- 3. The first statement, then ad-hoc DDL in its place of the second: the
-- first ran (the step stays unfinished in migr.in_progress), the second is
-- refused, and the step cannot be ended.
SELECT migr_step_begin('s1', 'up', :'c1', 'head');
CREATE INDEX CONCURRENTLY items_name ON guard_s.items (name);
CREATE INDEX CONCURRENTLY items_evil ON guard_s.items (k);
SELECT migr_step_end('s1', 'up', :'c1', 'head');
SELECT public.gs_state();
\c - postgres
SET migr.allow_adhoc_ddl = on;
SET client_min_messages = error;
DROP INDEX guard_s.items_name;
RESET client_min_messages;
RESET migr.allow_adhoc_ddl;
\c - regress_guard_deploy
\set VERBOSITY terse
SET client_min_messages = warning;
SET migr.confirm_production = yes;

-- 4. Skipping a statement (the UPDATE): the DO block that follows is not
-- the next registered statement, so its DDL is ad-hoc.
SELECT migr_step_begin('s1', 'up', :'c1', 'head');
CREATE INDEX CONCURRENTLY items_name ON guard_s.items (name);
DO $d$ BEGIN EXECUTE 'CREATE TABLE guard_s.from_do (id int)'; END $d$;
SELECT migr_step_end('s1', 'up', :'c1', 'head');
\c - postgres
SET migr.allow_adhoc_ddl = on;
SET client_min_messages = error;
DROP INDEX guard_s.items_name;
RESET client_min_messages;
RESET migr.allow_adhoc_ddl;
\c - regress_guard_deploy
\set VERBOSITY terse
SET client_min_messages = warning;
SET migr.confirm_production = yes;

-- 5. A look-alike (another index name) or the registered DDL wrapped in a
-- function call are not the registered statement.
SELECT migr_step_begin('s1', 'up', :'c1', 'head');
CREATE INDEX CONCURRENTLY items_name2 ON guard_s.items (name);
SELECT migr_step_begin('s1', 'up', :'c1', 'head');
SELECT guard_s.run('CREATE INDEX items_name ON guard_s.items (name)');
SELECT migr_step_end('s1', 'up', :'c1', 'head');
SELECT public.gs_state();

-- 6. The registered statements, spaced, commented and cased differently:
-- the same parse trees, so they run and the step is recorded.  A plain
-- query in between (not DDL) neither counts nor breaks the step.
SELECT migr_step_begin('s1', 'up', :'c1', 'head');
create index   concurrently items_name
  on guard_s.items (name);   -- registered statement 1
SELECT count(*) FROM guard_s.items;
UPDATE guard_s.items SET k = k + 100 /* statement 2 */;
DO $d$ BEGIN EXECUTE 'CREATE TABLE guard_s.from_do (id int)'; END $d$;
SELECT migr_step_end('s1', 'up', :'c1', 'head');
SELECT public.gs_state();

-- 7. A transactional step whose statements are undone by ROLLBACK TO
-- SAVEPOINT before migr_step_end: they no longer count.
BEGIN;
SELECT migr_step_begin('s2', 'up', :'c2', 'head');
SAVEPOINT sp;
ALTER TABLE guard_s.items ADD COLUMN note text;
INSERT INTO guard_s.items VALUES (100, 'x', 0);
ROLLBACK TO SAVEPOINT sp;
SELECT migr_step_end('s2', 'up', :'c2', 'head');
ROLLBACK;
-- ... nor when only the second one is undone.
BEGIN;
SELECT migr_step_begin('s2', 'up', :'c2', 'head');
ALTER TABLE guard_s.items ADD COLUMN note text;
SAVEPOINT sp;
INSERT INTO guard_s.items VALUES (100, 'x', 0);
ROLLBACK TO SAVEPOINT sp;
SELECT migr_step_end('s2', 'up', :'c2', 'head');
ROLLBACK;
-- A released savepoint keeps what ran in it.
BEGIN;
SELECT migr_step_begin('s2', 'up', :'c2', 'head');
SAVEPOINT sp;
ALTER TABLE guard_s.items ADD COLUMN note text;
RELEASE SAVEPOINT sp;
INSERT INTO guard_s.items VALUES (100, 'x', 0);
-- 8. Ending another step than the one begun: refused.
SELECT migr_step_end('s1', 'down', :'c1', 'head');
ROLLBACK;
SELECT public.gs_state();

-- migr_step_begin() itself undone by ROLLBACK TO SAVEPOINT: the step is
-- gone, its first statement is ad-hoc DDL.
BEGIN;
SAVEPOINT before_step;
SELECT migr_step_begin('s2', 'up', :'c2', 'head');
ROLLBACK TO SAVEPOINT before_step;
ALTER TABLE guard_s.items ADD COLUMN note text;
ROLLBACK;
-- ... but a released savepoint hands the step to the transaction.
BEGIN;
SAVEPOINT before_step;
SELECT migr_step_begin('s2', 'up', :'c2', 'head');
RELEASE SAVEPOINT before_step;
ALTER TABLE guard_s.items ADD COLUMN note text;
INSERT INTO guard_s.items VALUES (100, 'x', 0);
SELECT migr_step_end('s2', 'up', :'c2', 'head');
ROLLBACK;
SELECT public.gs_state();

-- 9. A step whose transaction commits without migr_step_end: the cover is
-- gone with it, so DDL after it is ad-hoc again.
BEGIN;
SELECT migr_step_begin('s2', 'up', :'c2', 'head');
COMMIT;
ALTER TABLE guard_s.items ADD COLUMN note text;
SELECT migr_step_end('s2', 'up', :'c2', 'head');
SELECT public.gs_state();

-- 10. The step run as the script runs it: recorded.
BEGIN;
SELECT migr_step_begin('s2', 'up', :'c2', 'head');
ALTER TABLE guard_s.items ADD COLUMN note text;
INSERT INTO guard_s.items VALUES (100, 'x', 0);
SELECT migr_step_end('s2', 'up', :'c2', 'head');
COMMIT;
SELECT public.gs_state();

-- 11. Downgrade: the downgrade script's statements, and only them.  (It
-- drops a column: a destructive downgrade, acknowledged.)
SET migr.allow_destructive = on;
BEGIN;
SELECT migr_step_begin('s2', 'down', :'c2', 'head');
SELECT migr_step_end('s2', 'down', :'c2', 'head');
ROLLBACK;
BEGIN;
SELECT migr_step_begin('s2', 'down', :'c2', 'head');
ALTER TABLE guard_s.items DROP COLUMN note;
DELETE FROM guard_s.items WHERE id = 100;
SELECT migr_step_end('s2', 'down', :'c2', 'head');
COMMIT;
SELECT public.gs_state();

-- Outside production the guard lets ad-hoc DDL through, but a step is
-- still recorded only when its own statements ran.
\c - postgres
ALTER DATABASE contrib_regression SET migr.environment = 'development';
\c - regress_guard_deploy
\set VERBOSITY terse
SET client_min_messages = warning;
BEGIN;
SELECT migr_step_begin('s2', 'up', :'c2', 'head');
CREATE TABLE guard_s.dev_scratch (id int);
SELECT migr_step_end('s2', 'up', :'c2', 'head');
ROLLBACK;
SELECT public.gs_state();

-- Back to development for the files that follow.
\c - postgres
ALTER DATABASE contrib_regression RESET migr.environment;
SELECT count(*) AS in_progress FROM migr.in_progress;
SET client_min_messages = warning;
DROP EXTENSION migr CASCADE;
DROP SCHEMA guard_s CASCADE;
DROP FUNCTION public.gs_state();
DROP OWNED BY regress_guard_deploy;
DROP ROLE regress_guard_deploy;
