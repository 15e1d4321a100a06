-- 13_plan_lint: migr_plan() and migr_lint() over a corpus of realistic
-- revisions.  Each lint rule fires where it should and stays quiet where it
-- should not (objects created in the same revision are exempt; a
-- binary-coercible type change does not rewrite; SET NOT NULL after a
-- VALIDATE CONSTRAINT on the same table does not scan).  migr_plan() lists
-- command tag, locks, rewrites, scans, destructive, transactional per
-- statement.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/base.sql
SET client_min_messages = warning;
ALTER DATABASE contrib_regression RESET migr.environment;
DROP SCHEMA IF EXISTS pl CASCADE;
RESET client_min_messages;
CREATE SCHEMA pl;
SET search_path = pl, public;
CREATE TABLE pl.accounts (id int, email varchar(10), note varchar, body text, n int, score numeric(10,2));
CREATE TABLE pl.orders (id int, account_id int, total int);
INSERT INTO pl.accounts SELECT g, 'a' || g, 'n', 'b', g, g FROM generate_series(1, 20) g;
INSERT INTO pl.orders SELECT g, g, g FROM generate_series(1, 20) g;
CREATE FUNCTION pl.new_token() RETURNS text LANGUAGE sql VOLATILE AS $$ SELECT md5(random()::text) $$;
CREATE OR REPLACE FUNCTION pl.reg(id text, up text, parent text DEFAULT NULL) RETURNS text
LANGUAGE sql AS $f$
  SELECT migr_revision(id, up, NULL, id, CASE WHEN parent IS NULL THEN '{}'::text[] ELSE ARRAY[parent] END)
$f$;
-- Findings of one revision, compactly.
CREATE OR REPLACE FUNCTION pl.rules(rev text) RETURNS text
LANGUAGE sql AS $f$
  SELECT coalesce(string_agg(rule || '@' || statement || ':' || line || '/' || severity, ' ' ORDER BY statement, rule), '(none)')
    FROM migr_lint(rev)
$f$;
\set VERBOSITY terse

-- Registration prints the findings as WARNINGs (and, in verbose mode, the
-- safer pattern as HINT).
\set VERBOSITY default
SELECT reg('l_idx', 'CREATE INDEX accounts_n ON accounts (n)');
\set VERBOSITY terse

-- The corpus: rule expected to fire (f_*) or not (q_*).  WARNINGs are
-- silenced here; migr_lint() shows the same findings.
SET client_min_messages = error;
SELECT reg(id, up) IS NOT NULL AS registered FROM (VALUES
  -- index-not-concurrent
  ('f_index',         'CREATE INDEX accounts_email ON accounts (email)'),
  ('f_index_unique',  'CREATE UNIQUE INDEX accounts_id ON pl.accounts (id)'),
  ('q_index_conc',    'CREATE INDEX CONCURRENTLY accounts_n2 ON accounts (n)'),
  ('q_index_new',     E'CREATE TABLE invoices (id int, account_id int);\nCREATE INDEX invoices_account ON invoices (account_id)'),
  -- add-column-rewrite
  ('f_add_volatile',  'ALTER TABLE accounts ADD COLUMN seen timestamptz DEFAULT clock_timestamp()'),
  ('f_add_random',    'ALTER TABLE accounts ADD COLUMN r float8 DEFAULT random()'),
  ('f_add_serial',    'ALTER TABLE accounts ADD COLUMN s bigserial'),
  ('f_add_identity',  'ALTER TABLE accounts ADD COLUMN i int GENERATED ALWAYS AS IDENTITY'),
  ('f_add_generated', 'ALTER TABLE accounts ADD COLUMN g int GENERATED ALWAYS AS (n * 2) STORED'),
  ('f_add_user_fn',   'ALTER TABLE accounts ADD COLUMN tok text DEFAULT pl.new_token()'),
  ('f_add_user_fn_u', 'ALTER TABLE accounts ADD COLUMN tok text DEFAULT new_token()'),
  ('q_add_plain',     'ALTER TABLE accounts ADD COLUMN plain int'),
  ('q_add_const',     'ALTER TABLE accounts ADD COLUMN flag boolean NOT NULL DEFAULT false'),
  ('q_add_now',       'ALTER TABLE accounts ADD COLUMN created timestamptz DEFAULT now()'),
  ('q_add_new_table', E'CREATE TABLE events (id int);\nALTER TABLE events ADD COLUMN at timestamptz DEFAULT clock_timestamp()'),
  -- column-type-rewrite
  ('f_type_int',      'ALTER TABLE accounts ALTER COLUMN n TYPE bigint'),
  ('f_type_shorter',  'ALTER TABLE accounts ALTER COLUMN email TYPE varchar(5)'),
  ('f_type_numeric',  'ALTER TABLE accounts ALTER COLUMN score TYPE numeric(12,4)'),
  ('q_type_longer',   'ALTER TABLE accounts ALTER COLUMN email TYPE varchar(20)'),
  ('q_type_longer_q', 'ALTER TABLE pl.accounts ALTER COLUMN email TYPE varchar(20)'),
  ('q_type_text',     'ALTER TABLE accounts ALTER COLUMN note TYPE text'),
  ('q_type_text_q',   'ALTER TABLE pl.accounts ALTER COLUMN note TYPE text'),
  ('q_type_unlimit',  'ALTER TABLE pl.accounts ALTER COLUMN email TYPE varchar'),
  -- set-not-null-scan
  ('f_not_null',      'ALTER TABLE accounts ALTER COLUMN n SET NOT NULL'),
  -- (The CHECK ... NOT VALID takes ACCESS EXCLUSIVE, so the statements after
  -- it in the same revision are exclusive-lock-then-work: that rule fires.)
  ('f_not_null_valid', E'ALTER TABLE accounts ADD CONSTRAINT accounts_n_nn CHECK (n IS NOT NULL) NOT VALID;\nALTER TABLE accounts VALIDATE CONSTRAINT accounts_n_nn;\nALTER TABLE accounts ALTER COLUMN n SET NOT NULL'),
  ('f_not_null_other', E'ALTER TABLE orders ADD CONSTRAINT orders_t_nn CHECK (total IS NOT NULL) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_t_nn;\nALTER TABLE accounts ALTER COLUMN n SET NOT NULL'),
  -- constraint-not-valid
  ('f_check',         'ALTER TABLE accounts ADD CONSTRAINT accounts_n_pos CHECK (n > 0)'),
  ('f_fk',            'ALTER TABLE orders ADD CONSTRAINT orders_account FOREIGN KEY (account_id) REFERENCES accounts (id)'),
  ('q_check_nv',      'ALTER TABLE accounts ADD CONSTRAINT accounts_n_pos CHECK (n > 0) NOT VALID'),
  ('q_fk_nv',         'ALTER TABLE orders ADD CONSTRAINT orders_account FOREIGN KEY (account_id) REFERENCES accounts (id) NOT VALID'),
  ('q_validate',      'ALTER TABLE accounts VALIDATE CONSTRAINT accounts_n_pos'),
  -- unique-without-index
  ('f_unique',        'ALTER TABLE accounts ADD CONSTRAINT accounts_email_key UNIQUE (email)'),
  ('f_pkey',          'ALTER TABLE accounts ADD PRIMARY KEY (id)'),
  ('q_unique_using',  'ALTER TABLE accounts ADD CONSTRAINT accounts_email_key UNIQUE USING INDEX accounts_email_idx'),
  ('q_pkey_using',    'ALTER TABLE accounts ADD CONSTRAINT accounts_pkey PRIMARY KEY USING INDEX accounts_id_idx'),
  ('q_unique_new',    E'CREATE TABLE tags (id int);\nALTER TABLE tags ADD PRIMARY KEY (id)'),
  -- drop-column, drop-table
  ('f_drop_column',   'ALTER TABLE accounts DROP COLUMN body'),
  ('f_drop_table',    'DROP TABLE orders'),
  ('q_drop_new',      E'CREATE TABLE scratch (id int);\nALTER TABLE scratch DROP COLUMN id;\nDROP TABLE scratch'),
  ('q_drop_index',    'DROP INDEX IF EXISTS accounts_email'),
  -- rename
  ('f_rename_table',  'ALTER TABLE orders RENAME TO purchases'),
  ('f_rename_column', 'ALTER TABLE accounts RENAME COLUMN body TO content'),
  ('q_rename_new',    E'CREATE TABLE drafts (id int);\nALTER TABLE drafts RENAME COLUMN id TO draft_id;\nALTER TABLE drafts RENAME TO drafts2'),
  ('q_rename_index',  'ALTER INDEX IF EXISTS accounts_email RENAME TO accounts_email2'),
  -- exclusive-lock-then-work
  ('f_lock_then',     E'ALTER TABLE accounts ADD COLUMN x int;\nUPDATE accounts SET x = n WHERE id < 10'),
  ('q_lock_last',     E'UPDATE accounts SET note = ''z'' WHERE id < 10;\nALTER TABLE accounts ADD COLUMN y int'),
  ('q_lock_new',      E'CREATE TABLE audit (id int);\nALTER TABLE audit ADD COLUMN at timestamptz;\nINSERT INTO audit VALUES (1, now())'),
  -- harmless everyday revisions
  ('q_create',        E'CREATE TABLE profiles (id int PRIMARY KEY, account_id int REFERENCES accounts (id), bio text);\nCREATE INDEX profiles_account ON profiles (account_id)'),
  ('q_view',          'CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 10'),
  ('q_function',      'CREATE FUNCTION pl.twice(int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT $1 * 2 $$'),
  ('q_insert',        'INSERT INTO orders VALUES (100, 1, 5)'),
  ('q_comment',       'COMMENT ON TABLE accounts IS ''customers''')
) AS corpus(id, up);
RESET client_min_messages;

-- Every finding of the corpus: one line per revision.  Unqualified names
-- resolve with the caller's search_path (pl, public) as when the script runs.
SELECT id, rules(id) FROM migr.revisions ORDER BY id COLLATE "C";
-- Every f_ revision has a finding, no q_ revision has one.
SELECT id FROM migr.revisions r
 WHERE (id LIKE 'f\_%' AND NOT EXISTS (SELECT FROM migr_lint(r.id)))
    OR (id LIKE 'q\_%' AND EXISTS (SELECT FROM migr_lint(r.id)))
 ORDER BY id COLLATE "C";

-- The finding columns: rule, severity, statement, line, message, safer.
SELECT rule, severity, statement, line, message, safer FROM migr_lint('f_lock_then');
SELECT rule, severity, message FROM migr_lint('f_type_int');
SELECT rule, severity, message FROM migr_lint('f_not_null_other');
SELECT rule, message FROM migr_lint('f_rename_column');
-- SET NOT NULL after VALIDATE CONSTRAINT on the same table: no scan finding.
SELECT rule, statement FROM migr_lint('f_not_null_valid');
-- Stable rule ids: the complete set the corpus exercises.
SELECT DISTINCT rule FROM migr_lint() ORDER BY 1;
-- NULL lints every pending revision: the sum of the per-revision results.
SELECT count(*) = (SELECT sum((SELECT count(*) FROM migr_lint(id))) FROM migr.revisions) AS all_pending
  FROM migr_lint();
SELECT migr_lint('nope_nope');

-- Lint reads what the script does, not its text: comments and strings that
-- look like DDL do not fire.
SELECT reg('q_comments', E'-- CREATE INDEX x ON accounts (n);\n/* DROP TABLE orders */\nINSERT INTO orders VALUES (101, 1, 1) /* ALTER TABLE orders RENAME TO x */');
SELECT rules('q_comments');

-- ---------------------------------------------------------------------
-- migr_plan: one row per statement, per step, without running anything.
-- ---------------------------------------------------------------------
DROP EXTENSION migr CASCADE;
CREATE EXTENSION migr SCHEMA public;
ALTER TABLE pl.accounts ADD PRIMARY KEY (id);
SET client_min_messages = error;
SELECT migr_revision('create', E'CREATE TABLE pl.items (id int PRIMARY KEY, account_id int REFERENCES pl.accounts (id), name text);\nCREATE INDEX items_name ON pl.items (name)', 'DROP TABLE pl.items', 'p1', '{}');
SELECT migr_revision('alter', E'ALTER TABLE pl.accounts ADD COLUMN nick text;\nALTER TABLE pl.accounts ALTER COLUMN n TYPE bigint;\nALTER TABLE pl.accounts ALTER COLUMN email TYPE varchar(30);\nALTER TABLE pl.accounts ADD COLUMN seen timestamptz DEFAULT clock_timestamp()',
       E'ALTER TABLE pl.accounts DROP COLUMN seen, DROP COLUMN nick;\nALTER TABLE pl.accounts ALTER COLUMN n TYPE int', 'p2');
SELECT migr_revision('constraints', E'ALTER TABLE pl.orders ADD CONSTRAINT orders_account FOREIGN KEY (account_id) REFERENCES pl.accounts (id) NOT VALID;\nALTER TABLE pl.orders VALIDATE CONSTRAINT orders_account;\nALTER TABLE pl.accounts ALTER COLUMN n SET NOT NULL;\nALTER TABLE pl.orders ADD CONSTRAINT orders_total CHECK (total >= 0)',
       'ALTER TABLE pl.orders DROP CONSTRAINT orders_total, DROP CONSTRAINT orders_account', 'p3');
SELECT migr_revision('data', E'UPDATE pl.orders SET total = 0 WHERE total IS NULL;\nUPDATE pl.orders SET total = total;\nDELETE FROM pl.orders WHERE id < 0;\nINSERT INTO pl.orders VALUES (1000, 1, 1);\nTRUNCATE pl.items;\nCREATE TRIGGER t BEFORE UPDATE ON pl.orders FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()',
       'DROP TRIGGER t ON pl.orders', 'p4');
SELECT migr_revision('offline', E'CREATE INDEX CONCURRENTLY orders_total ON pl.orders (total);\nDROP INDEX CONCURRENTLY IF EXISTS pl.nothing;\nREINDEX INDEX CONCURRENTLY pl.orders_total;\nVACUUM pl.orders',
       'DROP INDEX pl.orders_total', 'p5');
SELECT migr_revision('destroy', E'ALTER TABLE pl.accounts RENAME COLUMN body TO content;\nALTER TABLE pl.accounts DROP COLUMN content;\nDROP TABLE pl.items;\nREFRESH MATERIALIZED VIEW pl.nothing_mv',
       NULL, 'p6');
RESET client_min_messages;
SELECT step, revision, statement, line, sql, command, locks, rewrites, scans, destructive, transactional
  FROM migr_plan() ORDER BY step, statement;
-- The non-transactional revision is recorded as such.
SELECT id, transactional FROM migr.revisions ORDER BY seq;
-- A part of the plan (up to p2); migr_plan changes nothing.
SELECT step, revision, count(*) AS statements FROM migr_plan('p2') GROUP BY 1, 2 ORDER BY 1;
SELECT count(*) AS applied FROM migr.applied;
SELECT count(*) AS log_upgrades FROM migr.log WHERE operation <> 'register';
SELECT attname FROM pg_attribute WHERE attrelid = 'pl.accounts'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
-- Downgrade plans run the kept downgrade scripts, newest first.
SELECT step, revision FROM migr_upgrade('p3');
SELECT step, revision, statement, sql, command, locks, destructive
  FROM migr_plan('base', 'downgrade') ORDER BY step, statement;
SELECT step, revision, statement FROM migr_plan('p2', 'downgrade');
-- Arguments.
SELECT migr_plan('head', 'sideways');
SELECT migr_plan(NULL, 'upgrade');
SELECT migr_plan('head', NULL);
SELECT * FROM migr_plan('p9');
SELECT * FROM migr_plan('p1', 'upgrade');
-- Not for PUBLIC.
CREATE ROLE regress_pl_app;
SET ROLE regress_pl_app;
SELECT * FROM migr_plan();
SELECT * FROM migr_lint();
RESET ROLE;
DROP ROLE regress_pl_app;

DROP EXTENSION migr CASCADE;
DROP SCHEMA pl CASCADE;
RESET search_path;
