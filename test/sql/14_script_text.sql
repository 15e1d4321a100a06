-- 14_script_text: what migr writes for people and psql carries user text
-- without letting it change anything.  Mistyped section markers and header
-- keys are refused, naming file and line; messages with line breaks or
-- other control characters never reach a header line; files round-trip;
-- migr_script() escapes user text in comments and writes statements psql
-- cannot reinterpret; scripts are read with standard_conforming_strings on.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/core.sql
CREATE OR REPLACE FUNCTION public.bad_file(content text, filename text DEFAULT NULL)
RETURNS text LANGUAGE sql AS $f$
  SELECT public.refused(format('SELECT migr_load(%L, %L)', content, filename))
$f$;
-- A file for revision x with "line" as its fourth line (between the header
-- and the upgrade section), or (when in_script) as a line of the upgrade.
CREATE OR REPLACE FUNCTION public.file_with(line text, in_script boolean)
RETURNS text LANGUAGE sql AS $f$
  SELECT CASE WHEN in_script
    THEN E'-- migr:revision x\n-- migr:down_revision\n-- migr:message m\n-- migr:upgrade\nCREATE TABLE x1 (i int);\n'
         || line || E'\nDROP TABLE x1;\n'
    ELSE E'-- migr:revision x\n-- migr:down_revision\n-- migr:message m\n'
         || line || E'\n-- migr:upgrade\nCREATE TABLE x1 (i int);\n'
  END
$f$;

-- Item 12: every near miss of a marker, in the header and in a section.
SELECT l AS line, public.bad_file(public.file_with(l, s), 'x.sql') AS refusal, s AS in_script
  FROM unnest(ARRAY[
    '--migr:downgrade', '-- migr: downgrade', '-- migr:downgrades',
    '-- Migr:downgrade', '-- MIGR:downgrade', '-- migr:Downgrade',
    '  -- migr:downgrade', E'\t-- migr:downgrade', '-- migr :downgrade',
    '-- migr downgrade', '---migr:downgrade', '-- mgir:downgrade',
    '-- mig:downgrade', '-- migrr:downgrade', '# migr:downgrade',
    '/* migr:downgrade */', '-- migr:down_grade', '-- migr:dowgrade',
    '-- migr:upgarde', '-- migr', '--migr:depends_on y',
    '-- migr:depend_on y', '-- migr:message_ x'
  ]) AS l, unnest(ARRAY[false, true]) AS s
 ORDER BY s, l;
-- Not near misses: ordinary comments that mention other words.
SELECT migr_load(public.file_with('-- migrate the data; migration notes', true), 'x.sql');
SELECT upgrade FROM migr.revisions WHERE id = 'x';
-- A carriage return that ends no line, in the header or in a script: an
-- editor would show a line break there that migr does not see.
SELECT public.bad_file(E'-- migr:revision y\n-- migr:down_revision x\n-- migr:message m\r-- migr:depends_on x\n-- migr:upgrade\nSELECT 1;\n', 'y.sql');
SELECT public.bad_file(E'-- migr:revision y\n-- migr:down_revision x\n-- migr:message m\n-- migr:upgrade\nSELECT 1;\r-- migr:downgrade\rDROP TABLE x1;\n', 'y.sql');
-- CR LF files are fine, and their scripts keep their line ends.
SELECT migr_load(E'-- migr:revision y\r\n-- migr:down_revision x\r\n-- migr:message crlf\r\n-- migr:upgrade\r\nSELECT 1;\r\n-- migr:downgrade\r\nSELECT 2;\r\n', 'y.sql');
SELECT upgrade = E'SELECT 1;\r', downgrade = E'SELECT 2;\r' FROM migr.revisions WHERE id = 'y';
-- A message with a control character in a header line is refused.
SELECT public.bad_file(E'-- migr:revision z\n-- migr:down_revision y\n-- migr:message a\u000bb\n-- migr:upgrade\nSELECT 1;\n', 'z.sql');
SELECT public.bad_file(E'-- migr:revision z\n-- migr:down_revision y\n-- migr:message a\u2028b\n-- migr:upgrade\nSELECT 1;\n', 'z.sql');

-- Item 1 for files: a message with any kind of line break cannot be
-- written as a file (export and template refuse; nothing else is written).
SELECT n, public.refused(format('SELECT migr_template(%L)', m)) AS template
  FROM unnest(ARRAY[E'x\nALTER ROLE r SUPERUSER;', E'x\r\n-- migr:upgrade', E'x\rDROP TABLE t;',
                    E'x\u0085y', E'x\u2028y', E'x\u2029y', E'x\fy', E'x\u000by'])
       WITH ORDINALITY AS t(m, n);
SELECT migr_revision(E'x\n-- migr:upgrade\nDROP TABLE t;', 'SELECT 3;', NULL, 'w1', ARRAY['y']);
SELECT public.refused('SELECT * FROM migr_export()');
SELECT migr_revision('fixed', 'SELECT 3;', NULL, 'w1', ARRAY['y']);
-- A script line that looks like a mistyped marker, or holds a lone CR,
-- cannot be written either: loading would refuse it.
SELECT migr_revision('w2', E'SELECT 4;\n--migr:downgrade\nSELECT 5;', NULL, 'w2', ARRAY['w1']);
SELECT public.refused('SELECT * FROM migr_export()');
SELECT migr_revision('w2', E'SELECT 4;\rSELECT 5;', NULL, 'w2', ARRAY['w1']);
SELECT public.refused('SELECT * FROM migr_export()');
SELECT migr_revision('w2', E'SELECT 4;\n-- migr notes\nSELECT 5;', NULL, 'w2', ARRAY['w1']);
SELECT public.refused('SELECT * FROM migr_export()');
SELECT migr_revision('w2 ok', E'SELECT 4; -- a\\b, a tab\there\r\nSELECT 5;\r', E'SELECT 6;\n', 'w2', ARRAY['w1']);
-- Round trip: every exported file loads back to the same revisions.
CREATE TEMP TABLE exported AS SELECT * FROM migr_export();
CREATE TEMP TABLE before AS SELECT id, message, upgrade, downgrade, checksum FROM migr.revisions;
SELECT count(*) AS files FROM exported;
SELECT count(*) AS reloaded FROM migr_load((SELECT array_agg(content) FROM exported),
                                           (SELECT array_agg(filename) FROM exported))
 WHERE action = 'unchanged';
SELECT count(*) AS differing FROM (
  SELECT id, message, upgrade, downgrade, checksum FROM migr.revisions
  EXCEPT SELECT * FROM before) d;

-- Item 1 for migr_script(): user text in comments is escaped, one line each.
SELECT migr_revision(E'evil\nALTER ROLE postgres NOSUPERUSER;\n\\! touch pwned\r\nx\ry\u2028z\u0085w\tv\\u', 'CREATE TABLE s1 (i int);', NULL, 's1', ARRAY['w2']);
SELECT line FROM regexp_split_to_table(migr_script('s1'), E'\n') AS line
 WHERE line LIKE '-- step%';
-- Nothing in the script but the expected lines: comments, psql's
-- ON_ERROR_STOP, SET, BEGIN/COMMIT, the bookkeeping calls and the scripts.
SELECT line AS lines_starting_with_a_backslash
  FROM regexp_split_to_table(migr_script('s1'), E'[\n\r\u2028\u0085]') AS line
 WHERE line ~ '^\s*\\';

-- Item 2: scripts are read with standard_conforming_strings on, whatever
-- the session says.
SET standard_conforming_strings = off;
SELECT public.refused($s$SELECT migr_revision('scs', $$SELECT 'x\'; \! touch pwned.txt #';$$, NULL, 'q1', ARRAY['s1'])$s$);
SELECT migr_revision('scs', $$SELECT 'a\b' AS v;$$, NULL, 'q1', ARRAY['s1']);
SELECT upgrade FROM migr.revisions WHERE id = 'q1';
RESET standard_conforming_strings;
-- A script cannot change the setting itself.
SELECT public.refused($s$SELECT migr_revision('scs', 'SET standard_conforming_strings = off; SELECT 1;', NULL, 'q2', ARRAY['q1'])$s$);
SELECT public.refused($s$SELECT migr_revision('scs', 'SET LOCAL standard_conforming_strings TO DEFAULT', NULL, 'q2', ARRAY['q1'])$s$);
SELECT public.refused($s$SELECT migr_revision('scs', 'RESET standard_conforming_strings', NULL, 'q2', ARRAY['q1'])$s$);
-- Nor at run time: the step fails and nothing of it stays.
SELECT migr_revision('scs at run time', $$CREATE TABLE q2t (v text);
SELECT set_config('standard_conforming_strings', 'off', true);
INSERT INTO q2t VALUES ('a\b');$$, NULL, 'q2', ARRAY['q1']);
-- The statements as migr_script() writes them for psql.
SELECT line FROM regexp_split_to_table(migr_script('q1'), E'\n') AS line
 WHERE line LIKE 'SELECT%AS v;';
SELECT count(*) AS steps FROM migr_upgrade('q1');
SELECT public.refused($$SELECT * FROM migr_upgrade('q2')$$);
SELECT to_regclass('q2t') AS q2t, current_setting('standard_conforming_strings') AS scs,
       migr_current() AS current;
-- A backslash literal that cannot be written as one E'' literal (continued
-- over lines, or national): migr_script() refuses, naming revision and line.
SELECT migr_revision('continued', E'SELECT 1;\nSELECT ''a\\''\n  ''b'' AS v;', NULL, 'q3', ARRAY['q2']);
SELECT public.refused($$SELECT migr_script('q3')$$);
SELECT migr_revision('national', E'SELECT 1;\n\nSELECT N''a\\b'' AS v;', NULL, 'q3', ARRAY['q2']);
SELECT public.refused($$SELECT migr_script('q3')$$);
-- E'' literals and literals without backslashes are written as they are.
SELECT migr_revision('national', E'SELECT 1;\n\nSELECT N''ab'' AS v, E''\\\\'' AS w, ''\\'' AS x;', NULL, 'q3', ARRAY['q2']);
SELECT line FROM regexp_split_to_table(migr_script('q3'), E'\n') AS line
 WHERE line LIKE '%AS w%';

-- Item 10: a long script is parsed in pieces of about 64 kB, cut only after
-- a ";" that ends a statement, never inside parentheses (CREATE RULE ... DO
-- (...)) or BEGIN ... END (BEGIN ATOMIC bodies); statement numbers, lines
-- and error positions are those of the whole script.
CREATE TEMP TABLE long_parts AS SELECT
  (SELECT string_agg(format('SELECT %s;', g), E'\n') FROM generate_series(1, 10000) g) AS selects,
  'CREATE FUNCTION long_f() RETURNS int LANGUAGE sql BEGIN ATOMIC '
    || repeat('SELECT CASE WHEN true THEN 1 END; ', 3000) || 'SELECT 2; END;' AS atomic,
  'CREATE RULE long_r AS ON INSERT TO long_t DO ALSO ('
    || repeat('SELECT (1); ', 6000) || 'SELECT 2);' AS rule;
SELECT length(atomic) > 65536 AS atomic_spans_a_cut, length(rule) > 65536 AS rule_spans_a_cut FROM long_parts;
SELECT public.refused(format('SELECT migr_revision(%L, %L, NULL, %L, ARRAY[%L])', 'long',
         concat_ws(E'\n', selects, atomic, rule, selects, 'COMMIT;'), 'long1', 'q3'))
  FROM long_parts;
SELECT public.refused(format('SELECT migr_revision(%L, %L, NULL, %L, ARRAY[%L])', 'long',
         concat_ws(E'\n', selects, atomic, rule, selects, '  SELEC 1;'), 'long1', 'q3'))
  FROM long_parts;
