-- 01_install: catalog tables, functions, privileges of a fresh install
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/core.sql
-- The catalog tables (and sequences) exist in schema migr ...
SELECT c.relname, c.relkind
  FROM pg_class c
 WHERE c.relnamespace = 'migr'::regnamespace AND c.relkind IN ('r', 'S')
 ORDER BY c.relname;

-- ... and every one of them except migr.state is dumped by pg_dump as extension
-- configuration (migr.state only holds a change counter: a restored database
-- starts its own).
SELECT c.relname
  FROM pg_extension e, unnest(e.extconfig) AS x(oid)
  JOIN pg_class c ON c.oid = x.oid
 WHERE e.extname = 'migr'
 ORDER BY 1;
SELECT count(*) AS catalog_tables_not_dumped
  FROM pg_class c
 WHERE c.relnamespace = 'migr'::regnamespace AND c.relkind IN ('r', 'S')
   AND c.oid NOT IN (SELECT unnest(extconfig) FROM pg_extension WHERE extname = 'migr');

-- Every table belongs to the extension.
SELECT count(*) AS tables_outside_extension
  FROM pg_class c
 WHERE c.relnamespace = 'migr'::regnamespace AND c.relkind IN ('r', 'S')
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                      AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e');

-- The columns of the catalog.
SELECT table_name, column_name, data_type
  FROM information_schema.columns
 WHERE table_schema = 'migr' AND table_name IN ('revisions', 'applied', 'version', 'log')
 ORDER BY table_name, ordinal_position;

-- The functions: exact names, parameter names, defaults and result types.
SELECT p.proname,
       pg_get_function_arguments(p.oid) AS arguments,
       pg_get_function_result(p.oid) AS result
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                  AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'migr'
 ORDER BY p.proname, pg_get_function_arguments(p.oid);

-- Only the two SQL readers are SECURITY DEFINER, and they pin search_path.
SELECT p.proname, p.prosecdef, p.proconfig
  FROM pg_proc p WHERE p.proname LIKE 'migr\_%' AND (p.prosecdef OR p.proconfig IS NOT NULL)
 ORDER BY 1;

-- The functions live in the extension's schema (on the default search_path).
SELECT DISTINCT p.pronamespace::regnamespace AS schema
  FROM pg_proc p WHERE p.proname LIKE 'migr\_%';

-- EXECUTE: revoked from PUBLIC on everything that changes something and on
-- migr_show (which reveals scripts); granted on the read-only functions.
SELECT f AS function, has_function_privilege('public', f, 'EXECUTE') AS public_execute
  FROM unnest(ARRAY[
    'migr_revision(text,text,text,text,text[],text[],text[],boolean,boolean)',
    'migr_merge(text[],text,text)',
    'migr_upgrade(text,boolean)', 'migr_upgrade(integer)',
    'migr_downgrade(text,boolean)', 'migr_downgrade(integer)',
    'migr_stamp(text[])', 'migr_stamp(text[],boolean)', 'migr_show(text)',
    'migr_redo(text)', 'migr_launch()', 'migr_repair(text)',
    'migr_plan(text,text)', 'migr_lint(text)', 'migr_script(text,text)',
    'migr_step_begin(text,text,text,text)', 'migr_step_end(text,text,text,text)',
    'migr_upgrade_each(text)',
    'migr_current()', 'migr_heads()', 'migr_branches()', 'migr_history(text)',
    'migr_validate()', 'migr_rollback_check(text)', 'migr_check_head(text,boolean)',
    'migr_status()']) AS f;

-- No privilege at all for PUBLIC on the schema migr and its tables.
SELECT has_schema_privilege('public', 'migr', 'USAGE') AS public_usage_migr,
       has_schema_privilege('public', 'migr', 'CREATE') AS public_create_migr;
SELECT c.relname, c.relacl IS NULL OR NOT EXISTS (
         SELECT 1 FROM aclexplode(c.relacl) a WHERE a.grantee = 0) AS nothing_for_public
  FROM pg_class c
 WHERE c.relnamespace = 'migr'::regnamespace AND c.relkind IN ('r', 'S')
 ORDER BY 1;

-- A fresh install is at base with an empty graph, and every operation on it
-- does nothing.
SELECT st();
SELECT count(*) AS revisions FROM migr.revisions;
SELECT generation FROM migr.state;
SELECT * FROM migr_current();
SELECT * FROM migr_heads();
SELECT revision FROM migr_history();
SELECT * FROM migr_upgrade();
SELECT * FROM migr_upgrade('head');
SELECT * FROM migr_upgrade('heads');
SELECT * FROM migr_downgrade('base');
SELECT * FROM migr_stamp('base');
SELECT refused($$SELECT * FROM migr_upgrade('+1')$$);
SELECT refused($$SELECT * FROM migr_downgrade('-1')$$);
SELECT refused($$SELECT * FROM migr_upgrade('abcd')$$);
SELECT refused($$SELECT migr_show('head')$$);
SELECT count(*) AS log_rows FROM migr.log;
SELECT generation FROM migr.state;

-- DROP EXTENSION removes the catalog; CREATE EXTENSION brings it back empty.
SELECT migr_revision('one', 'CREATE TABLE inst_one (id int)', 'DROP TABLE inst_one', 'inst_one');
SELECT step, revision, direction, message FROM migr_upgrade();
DROP EXTENSION migr;
SELECT to_regnamespace('migr') IS NULL AS migr_schema_gone,
       to_regclass('inst_one') IS NOT NULL AS user_table_kept;
DROP TABLE inst_one;
CREATE EXTENSION migr;
SELECT count(*) AS revisions FROM migr.revisions;
SELECT st();
