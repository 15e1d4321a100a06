-- 13_dry_run: migr_upgrade/migr_downgrade(dry_run => true) run every step for
-- real and roll it all back.  Nothing persists (catalog rows, migr's
-- sequences, the user schema's pg_class/pg_attribute/pg_constraint, the
-- data); each step reports the locks it took and the tables it rewrote, or
-- its error with the statement, and the run stops there.  In production a
-- dry run needs no confirmation and reports a guard that would refuse the
-- real run as step 0.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/base.sql
SET client_min_messages = warning;
ALTER DATABASE contrib_regression RESET migr.environment;
DROP SCHEMA IF EXISTS dr CASCADE;
RESET client_min_messages;
CREATE SCHEMA dr;
CREATE TABLE dr.accounts (id int PRIMARY KEY, email varchar(10), n int);
CREATE TABLE dr.orders (id int, account_id int, total int);
INSERT INTO dr.accounts SELECT g, 'a' || g, g FROM generate_series(1, 50) g;
INSERT INTO dr.orders SELECT g, g, g FROM generate_series(1, 50) g;

-- Everything a dry run must leave as it was.  (A real run that fails leaves
-- migr.run_seq advanced, as sequences are not transactional: compare without
-- them there.)
CREATE OR REPLACE FUNCTION public.dr_digest(with_sequences boolean DEFAULT true) RETURNS text
LANGUAGE sql AS $f$
  SELECT md5(public.migr_fingerprint(with_sequences, true) || E'\n' || coalesce(string_agg(x, E'\n' ORDER BY x), '')) FROM (
    SELECT 'class ' || c.relname || ' ' || c.relkind::text || ' ' || c.relfilenode || ' ' || c.relnatts
      FROM pg_class c WHERE c.relnamespace = 'dr'::regnamespace
    UNION ALL SELECT 'attribute ' || a.attrelid::regclass || ' ' || a.attname || ' ' || a.atttypid::regtype
                     || ' ' || a.atttypmod || ' ' || a.attnotnull || ' ' || a.atthasdef || ' ' || a.attisdropped
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
     WHERE c.relnamespace = 'dr'::regnamespace AND a.attnum > 0
    UNION ALL SELECT 'constraint ' || conname || ' ' || convalidated
      FROM pg_constraint WHERE connamespace = 'dr'::regnamespace
    UNION ALL SELECT 'accounts ' || t::text FROM dr.accounts t
    UNION ALL SELECT 'orders ' || t::text FROM dr.orders t
  ) AS d(x)
$f$;
CREATE OR REPLACE FUNCTION public.strong(locks text[]) RETURNS text[]
LANGUAGE sql AS $f$
  SELECT CASE WHEN locks IS NOT NULL
    THEN ARRAY(SELECT l FROM unnest(locks) l WHERE l !~ ': (AccessShare|RowShare)Lock$' ORDER BY l) END
$f$;
\set VERBOSITY terse
SET client_min_messages = error;
SELECT migr_revision('index', 'CREATE INDEX orders_account ON dr.orders (account_id)', 'DROP INDEX dr.orders_account', 'd1', '{}');
SELECT migr_revision('columns', E'ALTER TABLE dr.accounts ADD COLUMN seen timestamptz DEFAULT clock_timestamp();\nALTER TABLE dr.orders ALTER COLUMN total TYPE bigint',
       E'ALTER TABLE dr.accounts DROP COLUMN seen;\nALTER TABLE dr.orders ALTER COLUMN total TYPE int', 'd2');
SELECT migr_revision('widen', 'ALTER TABLE dr.accounts ALTER COLUMN email TYPE varchar(40)', 'ALTER TABLE dr.accounts ALTER COLUMN email TYPE varchar(10)', 'd3');
SELECT migr_revision('fk', E'ALTER TABLE dr.orders ADD CONSTRAINT orders_account_fk FOREIGN KEY (account_id) REFERENCES dr.accounts (id) NOT VALID;\nINSERT INTO dr.orders VALUES (1000, 1, 1)',
       'ALTER TABLE dr.orders DROP CONSTRAINT orders_account_fk; DELETE FROM dr.orders WHERE id = 1000', 'd4');
RESET client_min_messages;

-- A dry run to head: every step, its locks and rewrites; nothing changes.
SELECT dr_digest() AS before \gset
-- (Locks are shown without ACCESS SHARE / ROW SHARE, which depend on the
-- plans the executor picks; all modes are held until the end of the run, so
-- each step lists the locks earlier steps did not hold already.)
SELECT step, revision, direction, message, duration IS NOT NULL AS timed, strong(locks) AS locks, rewritten, error
  FROM migr_upgrade('head', dry_run => true);
SELECT dr_digest() = :'before' AS unchanged;
SELECT count(*) AS applied FROM migr.applied;
-- ... no locks left behind either.
SELECT count(*) AS locks_left FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
 WHERE l.pid = pg_backend_pid() AND c.relnamespace = 'dr'::regnamespace;
-- The same run inside a transaction block, then the real one.
BEGIN;
SELECT step, revision, rewritten FROM migr_upgrade('d2', dry_run => true);
SELECT dr_digest() = :'before' AS unchanged_in_block;
SELECT step, revision FROM migr_upgrade('d2');
COMMIT;
SELECT count(*) AS applied FROM migr.applied;
SELECT attname FROM pg_attribute WHERE attrelid = 'dr.accounts'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
-- The plan agrees with what the dry run saw about rewrites.
SELECT p.revision, bool_or(p.rewrites) AS plan_rewrites,
       (SELECT cardinality(d.rewritten) > 0 FROM migr_upgrade('head', dry_run => true) d WHERE d.revision = p.revision) AS dry_run_rewrote
  FROM migr_plan('head') p GROUP BY p.revision ORDER BY p.revision;

-- Downgrade dry run: the kept downgrade scripts, rolled back.
SELECT dr_digest() AS before \gset
SELECT step, revision, direction, strong(locks) AS locks, rewritten, error FROM migr_downgrade('base', dry_run => true);
SELECT dr_digest() = :'before' AS unchanged;
SELECT array_agg(c ORDER BY c) AS current FROM migr_current() c;

-- A failing step: its error with the statement, and the run stops there.
SET client_min_messages = error;
SELECT migr_revision('bad check', E'CREATE TABLE dr.audit (id int);\nINSERT INTO dr.audit VALUES (1);\nALTER TABLE dr.accounts ADD CONSTRAINT accounts_n_neg CHECK (n < 0)',
       'DROP TABLE dr.audit', 'd5');
SELECT migr_revision('after', 'CREATE TABLE dr.later (id int)', 'DROP TABLE dr.later', 'd6');
RESET client_min_messages;
SELECT dr_digest() AS before \gset
SELECT step, revision, direction, strong(locks) AS locks, rewritten, error FROM migr_upgrade('head', dry_run => true);
SELECT dr_digest() = :'before' AS unchanged;
SELECT to_regclass('dr.audit') IS NULL AS no_audit_table;
-- The same failure in a real run raises and changes nothing.
SELECT dr_digest(false) AS before_noseq \gset
SELECT step, revision FROM migr_upgrade('head');
SELECT dr_digest(false) = :'before_noseq' AS unchanged;

-- A non-transactional revision is not run by a dry run: the row says why.
SELECT migr_revision('redo check', 'ALTER TABLE dr.accounts ADD CONSTRAINT accounts_n_pos CHECK (n > 0)', 'ALTER TABLE dr.accounts DROP CONSTRAINT accounts_n_pos', 'd5', '{d4}');
SELECT migr_revision('concurrently', 'CREATE INDEX CONCURRENTLY accounts_n ON dr.accounts (n)', 'DROP INDEX CONCURRENTLY dr.accounts_n', 'd7', '{d6}');
SELECT dr_digest() AS before \gset
SELECT step, revision, strong(locks) AS locks, rewritten, error FROM migr_upgrade('head', dry_run => true);
SELECT dr_digest() = :'before' AS unchanged;

-- A NULL target is refused as always.
SELECT migr_upgrade(NULL, dry_run => true);
SELECT count(*) FROM migr_upgrade('d4');
SELECT count(*) AS applied FROM migr.applied;

-- ---------------------------------------------------------------------
-- Production: no confirmation needed; a guard that would refuse the real run
-- is reported as step 0 and the steps still run (and roll back).
-- ---------------------------------------------------------------------
SET client_min_messages = error;
SELECT migr_revision('drop n', 'ALTER TABLE dr.accounts DROP COLUMN n', 'ALTER TABLE dr.accounts ADD COLUMN n int', 'd8', '{d6}');
RESET client_min_messages;
ALTER DATABASE contrib_regression SET migr.environment = 'production';
\c
\set VERBOSITY terse
SELECT dr_digest() AS before \gset
SELECT step, revision, error FROM migr_upgrade('d6', dry_run => true);
SELECT dr_digest() = :'before' AS unchanged;
-- The destructive d8 without acknowledgement: "would be refused" as step 0,
-- and the steps still run (rolled back).
SELECT step, revision, error FROM migr_upgrade('d8', dry_run => true);
SELECT dr_digest() = :'before' AS unchanged;
-- The real run is refused (confirmation first, then the two-deploy rule).
SELECT step, revision FROM migr_upgrade('d8');
SET migr.confirm_production = yes;
SELECT step, revision FROM migr_upgrade('d8');
SELECT dr_digest() = :'before' AS unchanged;
-- A downgrade dry run in production.
SELECT step, revision, error FROM migr_downgrade('d3', dry_run => true);
SELECT dr_digest() = :'before' AS unchanged;
RESET migr.confirm_production;

\c
ALTER DATABASE contrib_regression RESET migr.environment;
\c
DROP EXTENSION migr CASCADE;
DROP SCHEMA dr CASCADE;
DROP FUNCTION public.dr_digest(boolean), public.strong(text[]);
