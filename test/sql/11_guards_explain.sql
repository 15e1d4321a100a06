-- 11_guards_explain: statements that create permanent relations without
-- firing the event trigger (EXPLAIN ANALYZE runs the statement it explains),
-- refused in production by migr's ProcessUtility hook with the same SQLSTATE
-- and the same log row as the event trigger, once, in every form: as an
-- application role, as a superuser, in a DO block, in functions, with a
-- prepared statement.  The database preloads migr in every session
-- (session_preload_libraries), as README's production section says, and
-- migr_status() says whether the session did.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/base.sql
SET client_min_messages = warning;
ALTER DATABASE contrib_regression RESET migr.environment;
ALTER DATABASE contrib_regression RESET session_preload_libraries;
DROP SCHEMA IF EXISTS guard_x CASCADE;
DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'regress_guard_x') THEN DROP OWNED BY regress_guard_x; DROP ROLE regress_guard_x; END IF; END $$;
RESET client_min_messages;

-- Everything a refusal must leave alone: migr's catalog and log, and the
-- relations of guard_x and public.
CREATE OR REPLACE FUNCTION public.gx_fp() RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $f$
  SELECT md5(concat_ws(E'\n',
    public.migr_fingerprint(),
    (SELECT string_agg(c.relname || ':' || c.relkind::text, ',' ORDER BY c.relname)
       FROM pg_class c WHERE c.relnamespace IN ('public'::regnamespace, to_regnamespace('guard_x')))))
$f$;
-- Run "sql": "SQLSTATE: message" (or "ok"), and "(STATE CHANGED)" when it
-- changed anything gx_fp() sees.
CREATE OR REPLACE FUNCTION public.gx_try(sql text) RETURNS text
LANGUAGE sql AS $f$ SELECT public.attempt(sql, 'ok', '{}', 'public.gx_fp') $f$;
GRANT EXECUTE ON FUNCTION public.gx_fp(), public.gx_try(text) TO PUBLIC;

-- The application role owns its schema: only the guard stops it.  Functions
-- it made before production run the statements later.
CREATE ROLE regress_guard_x LOGIN;
CREATE SCHEMA guard_x AUTHORIZATION regress_guard_x;
SET ROLE regress_guard_x;
CREATE TABLE guard_x.items (id int, v text);
INSERT INTO guard_x.items VALUES (1, 'one'), (2, 'two');
CREATE MATERIALIZED VIEW guard_x.item_count AS SELECT count(*) AS n FROM guard_x.items;
CREATE FUNCTION guard_x.plpgsql_explain() RETURNS void LANGUAGE plpgsql AS $f$
BEGIN EXECUTE 'EXPLAIN ANALYZE CREATE TABLE guard_x.by_plpgsql AS SELECT 1 AS x'; END $f$;
CREATE FUNCTION guard_x.sql_explain() RETURNS int LANGUAGE sql AS $f$
  EXPLAIN ANALYZE SELECT 1 AS x INTO guard_x.by_sql_function;
  SELECT 1 $f$;
CREATE FUNCTION guard_x.definer_explain() RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS $f$
BEGIN EXECUTE 'EXPLAIN (ANALYZE) CREATE MATERIALIZED VIEW guard_x.by_definer AS SELECT 1 AS x'; END $f$;
CREATE FUNCTION guard_x.ddl_inside() RETURNS int LANGUAGE plpgsql AS $f$
BEGIN CREATE TABLE guard_x.by_inner_ddl (id int); RETURN 1; END $f$;
RESET ROLE;

-- Outside production EXPLAIN ANALYZE creates what it explains, as in
-- PostgreSQL.
SET ROLE regress_guard_x;
EXPLAIN (ANALYZE, COSTS off, TIMING off, SUMMARY off) CREATE TABLE guard_x.dev_only AS SELECT 1 AS x;
SELECT to_regclass('guard_x.dev_only') IS NOT NULL AS dev_only_created;
DROP TABLE guard_x.dev_only;
RESET ROLE;

-- Production, and migr loaded at the start of every session.
ALTER DATABASE contrib_regression SET migr.environment = 'production';
ALTER DATABASE contrib_regression SET session_preload_libraries = 'migr';
\c - regress_guard_x
\set VERBOSITY terse
SELECT migr_status()->'guards'->'preloaded' AS preloaded, migr_status()->'warnings' AS warnings;

-- The very first statement of a session, before anything else loaded migr.
\c - regress_guard_x
\set VERBOSITY terse
EXPLAIN ANALYZE CREATE TABLE guard_x.first AS SELECT 1 AS x;
SELECT to_regclass('guard_x.first') AS first;

-- Every form of EXPLAIN that creates a relation: MG002, nothing changed.
SELECT gx_try('EXPLAIN ANALYZE CREATE TABLE guard_x.t AS SELECT * FROM guard_x.items');
SELECT gx_try('EXPLAIN ANALYZE CREATE UNLOGGED TABLE guard_x.t AS SELECT 1 AS x');
SELECT gx_try('EXPLAIN ANALYZE CREATE TABLE IF NOT EXISTS guard_x.t AS SELECT 1 AS x');
SELECT gx_try('EXPLAIN ANALYZE CREATE TABLE guard_x.t AS SELECT 1 AS x WITH NO DATA');
SELECT gx_try('EXPLAIN ANALYZE SELECT * INTO guard_x.t FROM guard_x.items');
SELECT gx_try('EXPLAIN (ANALYZE) SELECT 1 AS x INTO TABLE guard_x.t');
SELECT gx_try('EXPLAIN (ANALYZE true, VERBOSE, BUFFERS, FORMAT json) SELECT 1 AS x INTO guard_x.t');
SELECT gx_try('EXPLAIN (ANALYZE false, ANALYZE) CREATE TABLE guard_x.t AS SELECT 1 AS x');
SELECT gx_try('EXPLAIN (ANALYZE on) CREATE TABLE guard_x.t AS SELECT 1 AS x');
SELECT gx_try('EXPLAIN (ANALYZE 1) CREATE TABLE guard_x.t AS SELECT 1 AS x');
SELECT gx_try('EXPLAIN ANALYZE CREATE MATERIALIZED VIEW guard_x.mv AS SELECT * FROM guard_x.items');
SELECT gx_try('EXPLAIN ANALYZE CREATE MATERIALIZED VIEW guard_x.mv AS SELECT 1 AS x WITH NO DATA');
SELECT gx_try('EXPLAIN (ANALYZE, COSTS off) CREATE MATERIALIZED VIEW IF NOT EXISTS guard_x.mv AS SELECT 1 AS x');
SELECT gx_try('EXPLAIN ANALYZE CREATE TABLE public.in_public AS SELECT 1 AS x');
-- A prepared statement: PostgreSQL refuses to prepare CREATE TABLE AS
-- itself; CREATE TABLE AS EXECUTE fires the event trigger, and under
-- EXPLAIN ANALYZE meets the hook.
PREPARE gx_q AS SELECT * FROM guard_x.items;
PREPARE gx_ctas AS CREATE TABLE guard_x.t AS SELECT 1 AS x;
SELECT gx_try('CREATE TABLE guard_x.t AS EXECUTE gx_q');
SELECT gx_try('EXPLAIN ANALYZE CREATE TABLE guard_x.t AS EXECUTE gx_q');
SELECT gx_try('EXPLAIN ANALYZE EXECUTE gx_q') AS explain_execute_select;
-- The same statements without EXPLAIN: the event trigger refuses them.
SELECT gx_try('CREATE TABLE guard_x.t AS SELECT 1 AS x');
SELECT gx_try('SELECT 1 AS x INTO guard_x.t');
SELECT gx_try('CREATE MATERIALIZED VIEW guard_x.mv AS SELECT 1 AS x');
-- From a DO block, the app's own functions (plpgsql, SQL, SECURITY
-- DEFINER), and a function EXPLAIN ANALYZE calls.
SELECT gx_try($q$DO $d$ BEGIN EXECUTE 'EXPLAIN ANALYZE CREATE TABLE guard_x.t AS SELECT 1 AS x'; END $d$$q$);
SELECT gx_try($q$DO $d$ BEGIN EXECUTE 'EXPLAIN ANALYZE SELECT 1 AS x INTO guard_x.t'; END $d$$q$);
SELECT gx_try('SELECT guard_x.plpgsql_explain()');
SELECT gx_try('SELECT guard_x.sql_explain()');
SELECT gx_try('SELECT guard_x.definer_explain()');
SELECT gx_try('EXPLAIN ANALYZE SELECT guard_x.ddl_inside()');
SELECT gx_try('EXPLAIN ANALYZE CREATE TABLE guard_x.t AS SELECT guard_x.ddl_inside() AS x');

-- What EXPLAIN does that creates nothing permanent keeps working.
EXPLAIN (COSTS off) CREATE TABLE guard_x.plan_only AS SELECT * FROM guard_x.items;
EXPLAIN (ANALYZE false, COSTS off) SELECT * INTO guard_x.plan_only FROM guard_x.items;
EXPLAIN (COSTS off) CREATE MATERIALIZED VIEW guard_x.plan_only AS SELECT 1 AS x;
EXPLAIN (ANALYZE, COSTS off, TIMING off, SUMMARY off) CREATE TEMP TABLE scratch AS SELECT * FROM guard_x.items;
EXPLAIN (ANALYZE, COSTS off, TIMING off, SUMMARY off) SELECT * INTO TEMP scratch2 FROM guard_x.items;
EXPLAIN (ANALYZE, COSTS off, TIMING off, SUMMARY off) CREATE TABLE pg_temp.scratch3 AS SELECT 1 AS x;
EXPLAIN (ANALYZE, COSTS off, TIMING off, SUMMARY off) SELECT * FROM guard_x.items WHERE id = 1;
EXPLAIN (ANALYZE, COSTS off, TIMING off, SUMMARY off) EXECUTE gx_q;
EXPLAIN (COSTS off) REFRESH MATERIALIZED VIEW guard_x.item_count;
REFRESH MATERIALIZED VIEW guard_x.item_count;
SELECT count(*) AS temp_tables FROM pg_class WHERE relname LIKE 'scratch%' AND relpersistence = 't';
SELECT c.relname, c.relkind FROM pg_class c WHERE c.relnamespace = 'guard_x'::regnamespace ORDER BY 1;

-- A superuser is refused too; with the break glass the statement goes
-- through with one WARNING and one log row, the same row the event trigger
-- writes for CREATE TABLE AS.
\c - postgres
\set VERBOSITY terse
SELECT gx_try('EXPLAIN ANALYZE CREATE TABLE guard_x.by_superuser AS SELECT 1 AS x');
SET session_replication_role = replica;
SELECT gx_try('EXPLAIN ANALYZE CREATE TABLE guard_x.by_superuser AS SELECT 1 AS x');
RESET session_replication_role;
SELECT coalesce(max(id), 0) AS log_before FROM migr.log \gset
SET migr.allow_adhoc_ddl = on;
EXPLAIN (ANALYZE, COSTS off, TIMING off, SUMMARY off) CREATE TABLE guard_x.hotfix AS SELECT 1 AS x;
CREATE TABLE guard_x.hotfix2 AS SELECT 1 AS x;
RESET migr.allow_adhoc_ddl;
SELECT operation, command_tag, statement, session_user_name = session_user AS who_ok
  FROM migr.log WHERE id > :log_before ORDER BY id;

-- migr's own runner runs the same statements in production (confirmed).
SET migr.confirm_production = yes;
SELECT migr_revision('explain in a migration',
  'EXPLAIN (ANALYZE, COSTS off) CREATE TABLE guard_x.by_migration AS SELECT 1 AS x',
  'DROP TABLE guard_x.by_migration', 'gx_r1', '{}');
SELECT step, revision FROM migr_upgrade();
SELECT to_regclass('guard_x.by_migration') AS by_migration;
RESET migr.confirm_production;

-- A session that did not load migr at its start: migr_status() warns in
-- production (and only there).
ALTER DATABASE contrib_regression RESET session_preload_libraries;
\c - regress_guard_x
SELECT migr_status()->'guards'->'preloaded' AS preloaded, jsonb_array_length(migr_status()->'warnings') AS warnings,
       migr_status()->'warnings'->>0 LIKE 'migr is not preloaded in this session:%' AS says_why;
\c - postgres
SET migr.environment = 'staging';
SELECT migr_status()->'guards'->'preloaded' AS preloaded, migr_status()->'warnings' AS warnings;
RESET migr.environment;

-- Back to development for the files that follow.
ALTER DATABASE contrib_regression RESET migr.environment;
\c - postgres
SET client_min_messages = warning;
DROP EXTENSION migr CASCADE;
DROP SCHEMA guard_x CASCADE;
DROP FUNCTION public.gx_try(text), public.gx_fp();
DROP OWNED BY regress_guard_x;
DROP ROLE regress_guard_x;
