-- 12_files: migration files: migr_load (one file, a set in any order),
-- re-load, export/load round trip, malformed files, migr_template
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/core.sql
-- A file that must be refused by migr_load(content, filename).
CREATE OR REPLACE FUNCTION public.bad_file(content text, filename text DEFAULT NULL)
RETURNS text LANGUAGE sql AS $f$
  SELECT public.refused(format('SELECT migr_load(%L, %L)', content, filename))
$f$;
-- What the catalog holds about every revision, as one digest: everything a
-- file carries, and what registration derives from it.
CREATE OR REPLACE FUNCTION public.catalog_digest() RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $f$
  SELECT md5(string_agg(concat_ws('|', r.id, r.down_revision::text,
                                  r.depends_on::text, r.message, r.upgrade,
                                  coalesce(r.downgrade, '<none>'), r.checksum,
                                  r.changes, r.destructive_statements::text,
                                  r.destructive, r.is_head,
                                  (SELECT array_agg(l.label ORDER BY l.label)
                                     FROM migr.branch_labels l
                                    WHERE l.revision = r.id)::text),
                        E'\n' ORDER BY r.id))
    FROM migr.revisions r
$f$;

-- The files of a small project.  0001 is a root with a label; b1 branches off
-- 0001 with a label of its own and depends on 0002; m joins the two heads
-- (empty upgrade and downgrade: a merge); 0004 is an acknowledged
-- destructive change.
CREATE TEMP TABLE project (n int, filename text, content text);
INSERT INTO project VALUES
(1, '0001_initial_schema.sql', $f$-- migr:revision 0001_initial_schema
-- migr:down_revision
-- migr:message initial schema
-- migr:branch_labels core
-- A comment in the header, and a blank line:

-- migr:upgrade
CREATE TABLE tiers (id integer PRIMARY KEY, name text NOT NULL);
INSERT INTO tiers VALUES (1, 'free'), (2, 'pro');

-- migr:downgrade
DROP TABLE tiers;
$f$),
(2, '0002_add_widget_table.sql', $f$-- migr:revision 0002_add_widget_table
-- migr:down_revision 0001_initial_schema
-- migr:message add widget table

-- migr:upgrade
CREATE TABLE widgets (id bigint PRIMARY KEY, name text NOT NULL);
-- migr:downgrade
DROP TABLE widgets;$f$),
(3, 'b1_invoices.sql', $f$-- migr:revision b1
-- migr:down_revision 0001_initial_schema
-- migr:message billing: invoices
-- migr:branch_labels billing
-- migr:depends_on 0002_add_widget_table

-- migr:upgrade
CREATE TABLE invoices (id bigint PRIMARY KEY, widget_id bigint REFERENCES widgets);
$f$),
(4, '0003_seed_widgets.sql', $f$-- migr:revision 0003
-- migr:down_revision 0002_add_widget_table
-- migr:message seed widgets

-- migr:upgrade
INSERT INTO widgets VALUES (1, 'sprocket');

-- migr:downgrade
DELETE FROM widgets WHERE id = 1;

$f$),
(5, 'm.sql', $f$-- migr:revision m
-- migr:down_revision 0003 b1
-- migr:message join billing

-- migr:upgrade

-- migr:downgrade

$f$),
(6, '0004_drop_widget_name.sql', $f$-- migr:revision 0004
-- migr:down_revision m
-- migr:message drop widgets.name
-- migr:destructive true

-- migr:upgrade
ALTER TABLE widgets DROP COLUMN name;

-- migr:downgrade
ALTER TABLE widgets ADD COLUMN name text;
$f$);

-- Load the set in reverse order: parents and dependencies go first anyway,
-- and files ready at the same time go in array order.
SELECT * FROM migr_load(ARRAY(SELECT content FROM project ORDER BY n DESC),
                        ARRAY(SELECT filename FROM project ORDER BY n DESC));
SELECT id, down_revision, depends_on, message, changes, destructive, is_head
  FROM migr.revisions ORDER BY seq;
SELECT label, revision FROM migr.branch_labels ORDER BY label;
-- Sections are exact: no final newline is added or lost beyond the one the
-- format takes; an empty downgrade section is '', a missing one NULL.
SELECT id, upgrade, downgrade, downgrade IS NULL AS no_downgrade
  FROM migr.revisions ORDER BY seq;
-- A merge's checksum is that of migr_merge's merges.
SELECT checksum = migr.script_checksum('', '') AS merge_checksum
  FROM migr.revisions WHERE id = 'm';

-- Loading the same files again changes nothing.
SELECT migr_fingerprint() AS fp \gset
SELECT * FROM migr_load(ARRAY(SELECT content FROM project ORDER BY n),
                        ARRAY(SELECT filename FROM project ORDER BY n));
SELECT migr_load(content, filename) FROM project WHERE n = 2;
SELECT migr_fingerprint() = :'fp' AS unchanged;

-- A changed file updates its revision (it never ran); filenames are optional.
SELECT * FROM migr_load(ARRAY(SELECT replace(content, 'seed widgets', 'seed the widgets')
                                FROM project ORDER BY n));
SELECT message FROM migr.revisions WHERE id = '0003';
SELECT operation, revision FROM migr.log ORDER BY id DESC LIMIT 1;
-- Dropping the labels line from a file removes the label: a file says
-- everything about its revision.
SELECT migr_load(replace(content, E'-- migr:branch_labels billing\n', ''))
  FROM project WHERE n = 3;
SELECT label, revision FROM migr.branch_labels ORDER BY label;
SELECT migr_load(content) FROM project WHERE n = 3;
SELECT label, revision FROM migr.branch_labels ORDER BY label;

-- The loaded revisions run.
SELECT step, revision, direction FROM migr_upgrade('head');
SELECT * FROM widgets;

-- Line endings: a CRLF file loads; the CR before a section's last newline
-- stays in the script.
SELECT migr_load(E'-- migr:revision crlf\r\n-- migr:down_revision 0004\r\n-- migr:message crlf\r\n\r\n-- migr:upgrade\r\nCREATE TABLE crlf ();\r\n-- migr:downgrade\r\nDROP TABLE crlf;\r\n', 'crlf.sql');
SELECT message, upgrade = E'CREATE TABLE crlf ();\r' AS upgrade_keeps_cr,
       downgrade = E'DROP TABLE crlf;\r' AS downgrade_keeps_cr
  FROM migr.revisions WHERE id = 'crlf';

-- A branch registered by a call, and a merge made by migr_merge(), to
-- export too.
SELECT migr_revision('side', 'CREATE TABLE side (id int)', 'DROP TABLE side',
                     'side', '{0004}', depends_on => '{0002}');
SELECT migr_merge(ARRAY['heads'], 'join side', 'm2');

-- Export: one file per revision, in registration order, named <id>.sql.
CREATE TEMP TABLE exported AS SELECT * FROM migr_export();
SELECT filename FROM exported;
SELECT content FROM exported WHERE filename IN ('0001_initial_schema.sql', 'b1.sql', 'm2.sql', 'crlf.sql');

-- Round trip: into a fresh extension, the export gives the same catalog
-- (same ids, parents, dependencies, labels, messages, scripts, checksums,
-- flags), whatever order the files come in, and exports the same files.
SELECT catalog_digest() AS digest \gset
SET client_min_messages = warning;
DROP EXTENSION migr CASCADE;
DROP TABLE IF EXISTS invoices, widgets, tiers, crlf, side;
CREATE EXTENSION migr;
RESET client_min_messages;
SELECT count(*) AS revisions FROM migr.revisions;
SELECT count(*) AS loaded, array_agg(DISTINCT action) AS actions
  FROM migr_load(ARRAY(SELECT content FROM exported ORDER BY md5(filename)),
                 ARRAY(SELECT filename FROM exported ORDER BY md5(filename)));
SELECT catalog_digest() = :'digest' AS same_catalog;
SELECT count(*) AS same_files
  FROM migr_export() e JOIN exported x USING (filename, content);
SELECT step, revision, direction FROM migr_upgrade('head');

-- Malformed files: 42601 naming the file and the line; nothing is stored.
SELECT bad_file(E'-- migr:down_revision\n-- migr:message m\n-- migr:upgrade\nSELECT 1;\n', 'x.sql');
SELECT bad_file(E'-- migr:revision x\n-- migr:message m\n-- migr:upgrade\nSELECT 1;\n', 'x.sql');
SELECT bad_file(E'-- migr:revision x\n-- migr:down_revision\n-- migr:upgrade\nSELECT 1;\n');
SELECT bad_file(E'-- migr:revision x\n-- migr:down_revision\n-- migr:message m\n-- migr:foo bar\n-- migr:upgrade\nSELECT 1;\n', 'x.sql');
SELECT bad_file(E'-- migr:revision x\n-- migr:down_revision\n-- migr:message m\n-- migr:message n\n-- migr:upgrade\nSELECT 1;\n', 'x.sql');
SELECT bad_file(E'-- migr:revision x\n-- migr:down_revision\n\nCREATE TABLE oops ();\n-- migr:message m\n-- migr:upgrade\nSELECT 1;\n', 'x.sql');
SELECT bad_file(E'-- migr:revision x\n-- migr:down_revision\n-- migr:message m\n\nSELECT 1;\n', 'x.sql');
SELECT bad_file('', 'x.sql');
SELECT bad_file(E'-- migr:revision x\n-- migr:down_revision\n-- migr:message m\n-- migr:upgrade\nSELECT 1;\n-- migr:upgrade\nSELECT 2;\n', 'x.sql');
SELECT bad_file(E'-- migr:revision x\n-- migr:down_revision\n-- migr:message m\n-- migr:upgrade\nSELECT 1;\n-- migr:downgrade\nSELECT 2;\n-- migr:downgrade\nSELECT 3;\n', 'x.sql');
SELECT bad_file(E'-- migr:revision x\n-- migr:down_revision\n-- migr:message m\n-- migr:downgrade\nSELECT 2;\n-- migr:upgrade\nSELECT 1;\n', 'x.sql');
SELECT bad_file(E'-- migr:revision x\n-- migr:down_revision\n-- migr:message m\n-- migr:upgrade now\nSELECT 1;\n', 'x.sql');
SELECT bad_file(E'-- migr:revision x\n-- migr:down_revision\n-- migr:message m\n-- migr:destructive yes\n-- migr:upgrade\nSELECT 1;\n', 'x.sql');
SELECT bad_file(E'-- migr:revision x\n-- migr:down_revision\n-- migr:message m\n-- migr:upgrade\nSELECT 1;\n-- migr:message later\n', 'x.sql');
SELECT bad_file(E'-- migr:revision\n-- migr:down_revision\n-- migr:message m\n-- migr:upgrade\nSELECT 1;\n', 'x.sql');
-- The file name must be the id, or the id and "_" and anything, plus ".sql".
SELECT bad_file(E'-- migr:revision x\n-- migr:down_revision\n-- migr:message m\n-- migr:upgrade\nSELECT 1;\n', 'y.sql');
SELECT bad_file(E'-- migr:revision x\n-- migr:down_revision\n-- migr:message m\n-- migr:upgrade\nSELECT 1;\n', 'migrations/xy.sql');
SELECT bad_file(E'-- migr:revision 0002_add\n-- migr:down_revision\n-- migr:message m\n-- migr:upgrade\nSELECT 1;\n', '0002_addx.sql');
SELECT bad_file(E'-- migr:revision 0002_add\n-- migr:down_revision\n-- migr:message m\n-- migr:upgrade\nSELECT 1;\n', '0002.sql');
-- Registration refuses what it refuses for migr_revision, naming the file;
-- script lines count from the section's first line.
SELECT bad_file(E'-- migr:revision x\n-- migr:down_revision 0004\n-- migr:message m\n-- migr:upgrade\n-- nothing yet\n', 'x.sql');
SELECT bad_file(E'-- migr:revision x\n-- migr:down_revision 0004\n-- migr:message m\n\n-- migr:upgrade\nCREATE TABLE x ();\nCREAT TABLE y ();\n', 'x_1.sql');
SELECT bad_file(E'-- migr:revision x-1\n-- migr:down_revision 0004\n-- migr:message m\n-- migr:upgrade\nSELECT 1;\n');
SELECT bad_file(E'-- migr:revision x\n-- migr:down_revision nope_nope\n-- migr:message m\n-- migr:upgrade\nSELECT 1;\n', 'x.sql');
SELECT bad_file(E'-- migr:revision x\n-- migr:down_revision 0004\n-- migr:message m\n-- migr:branch_labels core\n-- migr:upgrade\nSELECT 1;\n', 'x.sql');
SELECT refused($$SELECT migr_load(NULL::text)$$);
-- Sets: a bad file anywhere stores nothing; duplicates; cycles; lengths.
SELECT refused($$SELECT * FROM migr_load(ARRAY[E'-- migr:revision y\n-- migr:down_revision 0004\n-- migr:message m\n-- migr:upgrade\nSELECT 1;\n', E'-- migr:revision z\n-- migr:message m\n-- migr:upgrade\nSELECT 1;\n'], ARRAY['y.sql', 'z.sql'])$$);
SELECT refused($$SELECT * FROM migr_load(ARRAY[E'-- migr:revision y\n-- migr:down_revision 0004\n-- migr:message m\n-- migr:upgrade\nSELECT 1;\n', E'-- migr:revision y\n-- migr:down_revision 0004\n-- migr:message m\n-- migr:upgrade\nSELECT 2;\n'], ARRAY['y.sql', 'y_again.sql'])$$);
SELECT refused($$SELECT * FROM migr_load(ARRAY[E'-- migr:revision c1\n-- migr:down_revision c2\n-- migr:message m\n-- migr:upgrade\nSELECT 1;\n', E'-- migr:revision c2\n-- migr:down_revision 0004\n-- migr:depends_on c1\n-- migr:message m\n-- migr:upgrade\nSELECT 2;\n'])$$);
SELECT refused($$SELECT * FROM migr_load(ARRAY[E'-- migr:revision y\n-- migr:down_revision 0004\n-- migr:message m\n-- migr:upgrade\nSELECT 1;\n', E'-- migr:revision z\n-- migr:down_revision unknown_parent\n-- migr:message m\n-- migr:upgrade\nSELECT 1;\n'], ARRAY['y.sql', 'z.sql'])$$);
SELECT refused($$SELECT * FROM migr_load(ARRAY['a', 'b'], ARRAY['a.sql'])$$);
SELECT refused($$SELECT * FROM migr_load(ARRAY['a', NULL], ARRAY['a.sql', 'b.sql'])$$);
SELECT refused($$SELECT * FROM migr_load(NULL::text[])$$);
SELECT * FROM migr_load('{}'::text[]);

-- Export refuses what a file cannot give back exactly.
SELECT migr_revision(E'two\nlines', 'SELECT 1', NULL, 'twolines', '{m2}');
SELECT refused($$SELECT * FROM migr_export()$$);
SELECT migr_revision('ok', E'SELECT 1;\n-- migr:downgrade\nSELECT 2;', NULL, 'twolines', '{m2}');
SELECT refused($$SELECT * FROM migr_export()$$);
-- A line that looks like a mistyped marker is refused too (loading would).
SELECT migr_revision('ok', E'SELECT 1;\n --  migr:downgrade\n', NULL, 'twolines', '{m2}');
SELECT refused($$SELECT * FROM migr_export()$$);
SELECT migr_revision('ok', E'SELECT 1; -- migr:downgrade is fine when not at the start\n', NULL, 'twolines', '{m2}');
SELECT count(*) AS exported FROM migr_export();

-- migr_template: a fresh id on top of the single head, ready to edit.
SELECT filename ~ '^[0-9a-f]{12}_add_the_foo_table_v2\.sql$' AS filename_ok,
       regexp_replace(content, '[0-9a-f]{12}', '<id>') AS content
  FROM migr_template('Add the "foo" table, v2!');
SELECT * FROM migr_template('root of its own', 'r0', '{}');
SELECT * FROM migr_template('---', 'r0', ARRAY['0001', 'billing@head']);
-- The unedited template is refused: its upgrade has no statement.
SELECT bad_file(content, filename) FROM migr_template('not yet', 'r0');
SELECT refused($$SELECT * FROM migr_template('x', 'twolines')$$);
SELECT refused($$SELECT * FROM migr_template('x', 'bad id')$$);
SELECT refused($$SELECT * FROM migr_template(E'two\nlines')$$);
SELECT refused($$SELECT * FROM migr_template(NULL)$$);
SELECT migr_revision('other root', 'SELECT 1', NULL, 'root2', '{}');
SELECT refused($$SELECT * FROM migr_template('x')$$);

-- Production: loading confirms like migr_revision; an identical re-load
-- needs nothing.
SET migr.environment = production;
SELECT bad_file(E'-- migr:revision y\n-- migr:down_revision twolines\n-- migr:message m\n-- migr:upgrade\nSELECT 1;\n', 'y.sql');
SELECT count(*) AS reloaded FROM migr_load(ARRAY(SELECT content FROM exported));
BEGIN;
SET LOCAL migr.confirm_production = yes;
SELECT migr_load(E'-- migr:revision y\n-- migr:down_revision twolines\n-- migr:message m\n-- migr:upgrade\nSELECT 1;\n', 'y.sql');
-- An applied revision's file changed: refused in production (append-only).
SELECT bad_file(E'-- migr:revision 0002_add_widget_table\n-- migr:down_revision 0001_initial_schema\n-- migr:message add widget table\n-- migr:upgrade\nCREATE TABLE widgets (id int);\n', '0002_add_widget_table.sql');
ROLLBACK;
RESET migr.environment;

-- Nobody but superusers may load, export or make templates by default.
SELECT p.oid::regprocedure AS function,
       EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                WHERE a.grantee = 0) AS public_execute
  FROM pg_proc p
 WHERE p.proname IN ('migr_load', 'migr_export', 'migr_template')
 ORDER BY p.oid::regprocedure::text;
