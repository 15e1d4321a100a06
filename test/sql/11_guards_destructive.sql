-- 11_guards_destructive: classification of statements with the parser, the
-- mixed WARNING, destructive => false/true, and the two-deploy rule in
-- production.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/base.sql
ALTER DATABASE contrib_regression RESET migr.environment;
\set VERBOSITY terse

-- One root revision per statement (only parsed, never run): what migr_show
-- says about it.
CREATE OR REPLACE FUNCTION public.ds_class(id text, script text) RETURNS text
LANGUAGE plpgsql AS $f$
DECLARE s migr.revision_info;
BEGIN
  PERFORM migr_revision(id, script, NULL, id, '{}');
  s := migr_show(id);
  RETURN rpad(s.changes, 12) || array_to_string(s.destructive_statements, ' | ');
END
$f$;
SELECT id, ds_class(id, sql) AS classified FROM (VALUES
  ('d_drop_table',    'DROP TABLE t'),
  ('d_drop_column',   'ALTER TABLE t DROP COLUMN c'),
  ('d_drop_index',    'DROP INDEX i'),
  ('d_drop_schema',   'DROP SCHEMA s CASCADE'),
  ('d_drop_type',     'DROP TYPE ty'),
  ('d_drop_view',     'DROP VIEW v'),
  ('d_drop_function', 'DROP FUNCTION f(int)'),
  ('d_drop_seq',      'DROP SEQUENCE sq'),
  ('d_drop_constr',   'ALTER TABLE t DROP CONSTRAINT t_c_check'),
  ('d_rename_table',  'ALTER TABLE t RENAME TO u'),
  ('d_rename_column', 'ALTER TABLE t RENAME COLUMN a TO b'),
  ('d_rename_value',  'ALTER TYPE e RENAME VALUE ''a'' TO ''b'''),
  ('d_column_type',   'ALTER TABLE t ALTER COLUMN c TYPE bigint'),
  ('d_truncate',      'TRUNCATE t'),
  ('d_set_schema',    'ALTER TABLE t SET SCHEMA s'),
  ('d_revoke',        'REVOKE SELECT ON t FROM PUBLIC'),
  ('d_detach',        'ALTER TABLE t DETACH PARTITION t_2020'),
  ('d_drop_default',  'ALTER TABLE t ALTER COLUMN c DROP DEFAULT'),
  ('d_set_not_null',  'ALTER TABLE t ALTER COLUMN c SET NOT NULL'),
  ('a_create_table',  'CREATE TABLE t (id int)'),
  ('a_add_column',    'ALTER TABLE t ADD COLUMN c int'),
  ('a_create_index',  'CREATE INDEX i ON t (c)'),
  ('a_add_constr',    'ALTER TABLE t ADD CONSTRAINT t_c_check CHECK (c > 0)'),
  ('a_insert',        'INSERT INTO t VALUES (1)'),
  ('a_update',        'UPDATE t SET c = 1'),
  ('a_delete',        'DELETE FROM t'),
  ('a_grant',         'GRANT SELECT ON t TO PUBLIC'),
  ('a_create_view',   'CREATE VIEW v AS SELECT 1 AS one'),
  ('a_comment',       'COMMENT ON TABLE t IS ''x''')
) AS corpus(id, sql) ORDER BY id;
-- Several destructive statements: all listed, in order.
SELECT ds_class('d_two', 'DROP TABLE a; DROP TABLE b');
-- Mixed: a WARNING at registration.
SELECT ds_class('m_mixed', E'CREATE TABLE n (id int);\nDROP TABLE o;');
-- destructive => false asserts additive: refused when it is not, nothing stored.
SELECT count(*) AS revisions FROM migr.revisions;
SELECT migr_revision('claims additive', 'ALTER TABLE t DROP COLUMN c', NULL, 'f_claim', '{}', destructive => false);
SELECT migr_revision('is additive', 'ALTER TABLE t ADD COLUMN c int', NULL, 'f_ok', '{}', destructive => false);
SELECT count(*) AS revisions FROM migr.revisions;
SELECT revision, changes, destructive FROM migr_show('f_ok');
-- destructive => true acknowledges; NULL keeps what is stored.
SELECT migr_revision('d_drop_table', 'DROP TABLE t', NULL, 'd_drop_table', destructive => true);
SELECT changes, destructive FROM migr_show('d_drop_table');
SELECT migr_revision('d_drop_table', 'DROP TABLE t', NULL, 'd_drop_table');
SELECT changes, destructive FROM migr_show('d_drop_table');
SELECT migr_revision('d_drop_table', 'DROP TABLE t', NULL, 'd_drop_table', destructive => false);
SELECT changes, destructive FROM migr_show('d_drop_table');

-- The two-deploy rule in production.
SET client_min_messages = warning;
DROP EXTENSION migr CASCADE;
CREATE EXTENSION migr;
RESET client_min_messages;
SELECT migr_revision('base tables', 'CREATE TABLE ds_t (id int, old text, keep text); CREATE TABLE ds_gone (id int)', 'DROP TABLE ds_t, ds_gone', 'ds_r1', '{}');
SELECT step, revision FROM migr_upgrade();
SELECT migr_revision('contract', 'ALTER TABLE ds_t DROP COLUMN old; DROP TABLE ds_gone', NULL, 'ds_r2');
SELECT migr_revision('more', 'ALTER TABLE ds_t ADD COLUMN extra int', 'ALTER TABLE ds_t DROP COLUMN extra', 'ds_r3');
ALTER DATABASE contrib_regression SET migr.environment = 'production';
\c
\set VERBOSITY default
SET migr.confirm_production = yes;
SELECT max(id) AS log0 FROM migr.log \gset
-- Refused before anything runs, listing the statements.
SELECT * FROM migr_upgrade();
\set VERBOSITY terse
SELECT * FROM migr_upgrade('ds_r2');
SELECT array_agg(c) AS current, to_regclass('ds_gone') IS NOT NULL AS ds_gone_kept,
       (SELECT count(*) FROM migr.log WHERE id > :log0) AS new_log_rows
  FROM migr_current() c;
-- Additive upgrades are not concerned.  A downgrade whose script drops
-- tables is: refused before anything runs, then run acknowledged.
SELECT step, revision, direction FROM migr_downgrade('base');
SELECT to_regclass('ds_t') IS NOT NULL AS ds_t_kept, to_regclass('ds_gone') IS NOT NULL AS ds_gone_kept;
SET migr.allow_destructive = on;
SELECT step, revision, direction FROM migr_downgrade('base');
RESET migr.allow_destructive;
SELECT step, revision, direction FROM migr_upgrade('ds_r1');
-- SET migr.allow_destructive = on lets it run.
SET migr.allow_destructive = on;
SELECT step, revision, direction FROM migr_upgrade('ds_r2');
RESET migr.allow_destructive;
SELECT to_regclass('ds_gone') IS NULL AS ds_gone_dropped;
-- So does registering the revision with destructive => true.
SELECT migr_revision('contract more', 'ALTER TABLE ds_t DROP COLUMN keep', NULL, 'ds_r4', ARRAY['ds_r3']);
SELECT migr_revision('contract more', 'ALTER TABLE ds_t DROP COLUMN keep', NULL, 'ds_r4', ARRAY['ds_r3'], destructive => true);
SELECT step, revision, direction FROM migr_upgrade();
SELECT attname FROM pg_attribute WHERE attrelid = 'ds_t'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
-- A mixed revision registered in production: WARNING, and refused at upgrade.
SELECT migr_revision('mixed', 'CREATE TABLE ds_new (id int); ALTER TABLE ds_t DROP COLUMN extra', NULL, 'ds_r5');
SELECT * FROM migr_upgrade();
SELECT to_regclass('ds_new') IS NULL AS ds_new_not_created;
RESET migr.confirm_production;

ALTER DATABASE contrib_regression RESET migr.environment;
\c
-- Every ALTER DOMAIN subcommand, classified as the same change to a column
-- is: dropping a constraint or the default and SET NOT NULL are destructive.
SELECT id, ds_class(id, sql) AS classified FROM (VALUES
  ('dom_set_default',   'ALTER DOMAIN dm SET DEFAULT 0'),
  ('dom_drop_default',  'ALTER DOMAIN dm DROP DEFAULT'),
  ('dom_set_not_null',  'ALTER DOMAIN dm SET NOT NULL'),
  ('dom_drop_not_null', 'ALTER DOMAIN dm DROP NOT NULL'),
  ('dom_add_constr',    'ALTER DOMAIN dm ADD CONSTRAINT dm_pos CHECK (VALUE > 0)'),
  ('dom_add_not_valid', 'ALTER DOMAIN dm ADD CONSTRAINT dm_pos CHECK (VALUE > 0) NOT VALID'),
  ('dom_validate',      'ALTER DOMAIN dm VALIDATE CONSTRAINT dm_pos'),
  ('dom_drop_constr',   'ALTER DOMAIN dm DROP CONSTRAINT dm_pos'),
  ('dom_drop_if',       'ALTER DOMAIN dm DROP CONSTRAINT IF EXISTS dm_pos CASCADE'),
  ('dom_rename',        'ALTER DOMAIN dm RENAME TO dm2'),
  ('dom_rename_constr', 'ALTER DOMAIN dm RENAME CONSTRAINT dm_pos TO dm_positive'),
  ('dom_set_schema',    'ALTER DOMAIN dm SET SCHEMA s'),
  ('dom_owner',         'ALTER DOMAIN dm OWNER TO CURRENT_USER')
) AS corpus(id, sql) ORDER BY id;
SET client_min_messages = warning;
DROP EXTENSION migr CASCADE;
DROP TABLE IF EXISTS public.ds_t, public.ds_gone, public.ds_new;
