-- 02_register: migr_revision(): ids, parents, re-registration, refusals, script parsing
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/core.sql
-- A generated id: 12 lower-case hexadecimal digits.  The first revision of an
-- empty graph is a root.
SELECT migr_revision('first', 'CREATE TABLE reg_a (id int)', 'DROP TABLE reg_a') AS r1 \gset
SELECT length(:'r1') AS len, :'r1' ~ '^[0-9a-f]{12}$' AS hex_id;
SELECT id = :'r1' AS is_r1, down_revision, message, upgrade, downgrade, is_head,
       checksum ~ '^[0-9a-f]{64}$' AS sha256_hex, created_by = session_user AS created_by_session_user,
       created_at <= now() AS created_before_now
  FROM migr.revisions;

-- No down_revision: the parent is the single head.
SELECT migr_revision('second', 'CREATE TABLE reg_b (id int)', 'DROP TABLE reg_b') AS r2 \gset
SELECT :'r2' ~ '^[0-9a-f]{12}$' AS hex_id, :'r1' <> :'r2' AS distinct_ids;
SELECT id = :'r1' AS is_r1, id = :'r2' AS is_r2, down_revision = ARRAY[:'r1'] AS parent_is_r1, is_head
  FROM migr.revisions ORDER BY seq;
SELECT (SELECT array_agg(h.revision) FROM migr_heads() h) = ARRAY[:'r2'] AS heads_is_r2;

-- Re-registering the identical revision is a no-op: same id, same row, same seq.
SELECT migr_fingerprint() AS fp \gset
SELECT migr_revision('second', 'CREATE TABLE reg_b (id int)', 'DROP TABLE reg_b', :'r2') = :'r2' AS same_id;
SELECT migr_revision('second', 'CREATE TABLE reg_b (id int)', 'DROP TABLE reg_b', :'r2', ARRAY[:'r1']) = :'r2' AS same_id;
-- (a parent given by a unique prefix is the same parent)
SELECT migr_revision('second', 'CREATE TABLE reg_b (id int)', 'DROP TABLE reg_b', :'r2', ARRAY[left(:'r1', 6)]) = :'r2' AS same_id;
SELECT migr_fingerprint() = :'fp' AS unchanged, count(*) AS revisions FROM migr.revisions;

-- An explicit id; a parent given by a unique prefix of at least 4 characters.
SELECT migr_revision('third', 'CREATE TABLE reg_c (id int)', 'DROP TABLE reg_c', 'reg_c', ARRAY[left(:'r2', 4)]);
SELECT down_revision = ARRAY[:'r2'] AS parent_is_r2, is_head, seq = 3 AS third
  FROM migr.revisions WHERE id = 'reg_c';
-- A 64-character id is fine.
SELECT migr_revision('long id', 'SELECT 1', 'SELECT 2', repeat('x', 64), '{}') = repeat('x', 64) AS ok;

-- '{}' makes a new root: the graph now has two heads.
SELECT migr_revision('other root', 'CREATE TABLE reg_root2 (id int)', 'DROP TABLE reg_root2', 'root2', '{}');
SELECT id, down_revision = ARRAY[:'r2'] AS under_r2, down_revision = '{}' AS root, is_head FROM migr.revisions WHERE id IN ('reg_c', 'root2', repeat('x', 64)) ORDER BY seq;
SELECT h.revision FROM migr_heads() h ORDER BY 1;
-- ... so a registration without down_revision cannot choose a parent.
SELECT refused($$SELECT migr_revision('no parent', 'SELECT 1', NULL, 'noparent')$$);
SELECT refused($$SELECT migr_revision('no parent', 'SELECT 1')$$);

-- Clean up the extra roots: a never-applied revision can be re-parented.
SELECT migr_revision('other root', 'CREATE TABLE reg_root2 (id int)', 'DROP TABLE reg_root2', 'root2', ARRAY['reg_c']);
SELECT migr_revision('long id', 'SELECT 1', 'SELECT 2', repeat('x', 64), ARRAY['root2']);
SELECT h.revision FROM migr_heads() h;

-- Changing a revision that was never applied is accepted: scripts, message
-- (checksum follows the scripts), parents (is_head is recomputed).
SELECT checksum AS ck_c, seq AS seq_c FROM migr.revisions WHERE id = 'reg_c' \gset
SELECT migr_revision('third', 'CREATE TABLE reg_c (id int, v text)', 'DROP TABLE reg_c', 'reg_c');
SELECT checksum <> :'ck_c' AS checksum_changed, seq = :seq_c AS same_seq, upgrade,
       down_revision = ARRAY[:'r2'] AS parent_kept
  FROM migr.revisions WHERE id = 'reg_c';
SELECT checksum AS ck_c2 FROM migr.revisions WHERE id = 'reg_c' \gset
SELECT migr_revision('third, renamed', 'CREATE TABLE reg_c (id int, v text)', 'DROP TABLE reg_c', 'reg_c');
SELECT message, checksum = :'ck_c2' AS checksum_same_for_message_change FROM migr.revisions WHERE id = 'reg_c';
-- Only the downgrade changes: the checksum changes too; no downgrade differs from an empty one.
SELECT migr_revision('third, renamed', 'CREATE TABLE reg_c (id int, v text)', NULL, 'reg_c');
SELECT checksum AS ck_nodown FROM migr.revisions WHERE id = 'reg_c' \gset
SELECT migr_revision('third, renamed', 'CREATE TABLE reg_c (id int, v text)', '', 'reg_c');
SELECT checksum <> :'ck_nodown' AS empty_differs_from_null, downgrade = '' AS empty_downgrade
  FROM migr.revisions WHERE id = 'reg_c';
SELECT migr_revision('third, renamed', 'CREATE TABLE reg_c (id int, v text)', 'DROP TABLE reg_c', 'reg_c');
SELECT checksum = :'ck_c2' AS checksum_back FROM migr.revisions WHERE id = 'reg_c';
-- Parents: move reg_c under r1; r2 becomes a head again, r1 stays a parent.
SELECT migr_revision('third, renamed', 'CREATE TABLE reg_c (id int, v text)', 'DROP TABLE reg_c', 'reg_c', ARRAY[:'r1']);
SELECT CASE id WHEN :'r1' THEN 'r1' WHEN :'r2' THEN 'r2' ELSE id END AS id, is_head FROM migr.revisions ORDER BY seq;
-- ... and back: r2 is no longer a head.
SELECT migr_revision('third, renamed', 'CREATE TABLE reg_c (id int, v text)', 'DROP TABLE reg_c', 'reg_c', ARRAY[:'r2']);
SELECT CASE id WHEN :'r1' THEN 'r1' WHEN :'r2' THEN 'r2' ELSE id END AS id, is_head FROM migr.revisions ORDER BY seq;
-- A change that would make a cycle is refused: reg_c is below root2.
SELECT refused($$SELECT migr_revision('third, renamed', 'CREATE TABLE reg_c (id int, v text)', 'DROP TABLE reg_c', 'reg_c', ARRAY['root2'])$$);
SELECT refused($$SELECT migr_revision('third, renamed', 'CREATE TABLE reg_c (id int, v text)', 'DROP TABLE reg_c', 'reg_c', ARRAY[repeat('x', 64)])$$);
SELECT refused($$SELECT migr_revision('selfie', 'SELECT 1', NULL, 'reg_c', ARRAY['reg_c'])$$);
SELECT refused($$SELECT migr_revision('selfie', 'SELECT 1', NULL, 'selfie', ARRAY['selfie'])$$);

-- Apply everything and launch: from then on changing an applied revision is
-- refused.  (Editing in place before launch: 11_guards_lifecycle.)
SELECT step, CASE revision WHEN :'r1' THEN 'r1' WHEN :'r2' THEN 'r2' ELSE revision END AS revision, direction, message FROM migr_upgrade();
SELECT st();
SELECT migr_launch() IS NOT NULL AS launched;
SELECT refused($$SELECT migr_revision('third, renamed', 'CREATE TABLE reg_c (id int, v int)', 'DROP TABLE reg_c', 'reg_c')$$);
SELECT refused($$SELECT migr_revision('third, renamed again', 'CREATE TABLE reg_c (id int, v text)', 'DROP TABLE reg_c', 'reg_c')$$);
SELECT refused($$SELECT migr_revision('third, renamed', 'CREATE TABLE reg_c (id int, v text)', 'DROP TABLE reg_c, reg_b', 'reg_c')$$);
SELECT refused($$SELECT migr_revision('third, renamed', 'CREATE TABLE reg_c (id int, v text)', NULL, 'reg_c')$$);
SELECT refused(format($$SELECT migr_revision('third, renamed', 'CREATE TABLE reg_c (id int, v text)', 'DROP TABLE reg_c', 'reg_c', ARRAY[%L])$$, :'r1'));
-- The identical registration is still a no-op after the apply.
SELECT migr_fingerprint() AS fp \gset
SELECT migr_revision('third, renamed', 'CREATE TABLE reg_c (id int, v text)', 'DROP TABLE reg_c', 'reg_c');
SELECT migr_fingerprint() = :'fp' AS unchanged;
-- Downgraded again, it still ran once: still refused.
SELECT step, revision, direction FROM migr_downgrade('reg_c');
SELECT step, revision, direction FROM migr_downgrade(format('%s', left(:'r2', 8)));
SELECT (SELECT array_agg(c) FROM migr_current() c) = ARRAY[:'r2'] AS at_r2,
       to_regclass('reg_c') IS NULL AS reg_c_gone, to_regclass('reg_root2') IS NULL AS reg_root2_gone;
SELECT refused($$SELECT migr_revision('third, renamed', 'CREATE TABLE reg_c (id int, v int)', 'DROP TABLE reg_c', 'reg_c')$$);
SELECT refused($$SELECT migr_revision('long id', 'SELECT 2', NULL, repeat('x', 64))$$);
-- A revision above the applied ones that never ran can still change.
SELECT migr_revision('tail', 'CREATE TABLE reg_tail (id int)', 'DROP TABLE reg_tail', 'reg_tail');
SELECT migr_revision('tail', 'CREATE TABLE reg_tail (id bigint)', 'DROP TABLE reg_tail', 'reg_tail');
SELECT upgrade FROM migr.revisions WHERE id = 'reg_tail';

-- Refusals: the SQLSTATE, and nothing stored.
SELECT count(*) AS revisions_before FROM migr.revisions;
SELECT refused($$SELECT migr_revision(NULL, 'SELECT 1')$$);
SELECT refused($$SELECT migr_revision('m', NULL)$$);
SELECT refused($$SELECT migr_revision('m', 'SELECT 1', NULL, 'has-dash')$$);
SELECT refused($$SELECT migr_revision('m', 'SELECT 1', NULL, '')$$);
SELECT refused($$SELECT migr_revision('m', 'SELECT 1', NULL, 'a b')$$);
SELECT refused($$SELECT migr_revision('m', 'SELECT 1', NULL, 'caf' || chr(233))$$);
SELECT refused($$SELECT migr_revision('m', 'SELECT 1', NULL, 'x+1')$$);
SELECT refused($$SELECT migr_revision('m', 'SELECT 1', NULL, repeat('y', 65))$$);
SELECT refused($$SELECT migr_revision('m', 'SELECT 1', NULL, 'head')$$);
SELECT refused($$SELECT migr_revision('m', 'SELECT 1', NULL, 'HEAD')$$);
SELECT refused($$SELECT migr_revision('m', 'SELECT 1', NULL, 'heads')$$);
SELECT refused($$SELECT migr_revision('m', 'SELECT 1', NULL, 'Base')$$);
SELECT refused($$SELECT migr_revision('m', 'SELECT 1', NULL, 'current')$$);
SELECT refused($$SELECT migr_revision('m', 'SELECT 1', NULL, 'CURRENT')$$);
SELECT refused($$SELECT migr_revision('m', 'SELECT 1', NULL, 'newrev', ARRAY['nope_nope'])$$);
SELECT refused($$SELECT migr_revision('m', 'SELECT 1', NULL, 'newrev', ARRAY['reg'])$$);
SELECT refused($$SELECT migr_revision('m', 'SELECT 1', NULL, 'newrev', ARRAY['reg_'])$$);
SELECT refused($$SELECT migr_revision('m', 'SELECT 1', NULL, 'newrev', ARRAY['reg_c', 'reg_c'])$$);
SELECT refused($$SELECT migr_revision('m', 'SELECT 1', NULL, 'newrev', ARRAY['reg_tail', 'reg_t'])$$);
SELECT refused($$SELECT migr_revision('m', 'SELECT 1', NULL, 'newrev', ARRAY['reg_c', NULL])$$);
SELECT refused($$SELECT migr_revision('m', 'SELECT 1', NULL, 'newrev', ARRAY[['reg_c'], ['root2']])$$);
-- Scripts are checked by the server's parser: a syntax error names line and column.
SELECT refused(E'SELECT migr_revision(''m'', ''CREATE TABLE reg_x (id int);\n\n  CREAT TABLE reg_y (id int);'', NULL, ''newrev'')');
SELECT refused(E'SELECT migr_revision(''m'', ''CREATE TABLE reg_x (id int);'', ''DROP TABLE reg_x;\nDROP TABLE;'', ''newrev'')');
SELECT refused(E'SELECT migr_revision(''m'', ''SELECT ''''\u00e9\u00e9\u00e9'''' AS x,\n       ''''\u00e9'''' AS y FROM;'', NULL, ''newrev'')');
SELECT refused($$SELECT migr_revision('m', 'SELECT (1', NULL, 'newrev')$$);
SELECT refused($$SELECT migr_revision('m', 'SELECT $x$ unterminated', NULL, 'newrev')$$);
-- psql meta-commands are not SQL.
SELECT refused(E'SELECT migr_revision(''m'', ''\\i other.sql'', NULL, ''newrev'')');
SELECT refused(E'SELECT migr_revision(''m'', ''CREATE TABLE reg_x (id int);\n\\set ON_ERROR_STOP 1\nSELECT 1;'', NULL, ''newrev'')');
SELECT refused(E'SELECT migr_revision(''m'', ''SELECT 1 \\gset'', NULL, ''newrev'')');
SELECT refused(E'SELECT migr_revision(''m'', ''SELECT 1;'', ''\\q'', ''newrev'')');
-- Transaction control: migr owns the transaction.
SELECT refused($$SELECT migr_revision('m', 'BEGIN; CREATE TABLE reg_x (id int); COMMIT;', NULL, 'newrev')$$);
SELECT refused($$SELECT migr_revision('m', 'CREATE TABLE reg_x (id int); COMMIT', NULL, 'newrev')$$);
SELECT refused($$SELECT migr_revision('m', 'START TRANSACTION', NULL, 'newrev')$$);
SELECT refused($$SELECT migr_revision('m', 'CREATE TABLE reg_x (id int); ROLLBACK', NULL, 'newrev')$$);
SELECT refused($$SELECT migr_revision('m', 'SAVEPOINT s1; CREATE TABLE reg_x (id int)', NULL, 'newrev')$$);
SELECT refused($$SELECT migr_revision('m', 'CREATE TABLE reg_x (id int); RELEASE SAVEPOINT s1', NULL, 'newrev')$$);
SELECT refused($$SELECT migr_revision('m', 'CREATE TABLE reg_x (id int); ROLLBACK TO SAVEPOINT s1', NULL, 'newrev')$$);
SELECT refused($$SELECT migr_revision('m', 'PREPARE TRANSACTION ''x''', NULL, 'newrev')$$);
SELECT refused($$SELECT migr_revision('m', 'SELECT 1', 'ABORT', 'newrev')$$);
-- COPY to or from the client.
SELECT refused($$SELECT migr_revision('m', 'CREATE TABLE reg_x (id int); COPY reg_x FROM STDIN', NULL, 'newrev')$$);
SELECT refused($$SELECT migr_revision('m', 'COPY (SELECT 1) TO STDOUT', NULL, 'newrev')$$);
SELECT refused($$SELECT migr_revision('m', 'SELECT 1', 'COPY reg_c TO STDOUT', 'newrev')$$);
-- An upgrade script must contain a statement.
SELECT refused($$SELECT migr_revision('m', '', NULL, 'newrev')$$);
SELECT refused($$SELECT migr_revision('m', '  -- nothing here
/* nor here */ ', NULL, 'newrev')$$);
SELECT refused($$SELECT migr_revision('m', ';;', NULL, 'newrev')$$);
SELECT count(*) AS revisions_after, count(*) FILTER (WHERE id = 'newrev') AS newrev FROM migr.revisions;

-- Scripts are split by the server's parser: dollar quoting, comments,
-- semicolons inside literals and identifiers, backslashes in strings.
SELECT migr_revision('tricky', $script$
-- a comment; with a semicolon
CREATE TABLE reg_q (n int, t text);  /* block comment; with ; and 'quote */
INSERT INTO reg_q VALUES (1, 'a;b'), (2, $$c;d$$), (3, $tag$e;'$$;f$tag$);
INSERT INTO reg_q VALUES (4, E'g\';h'), (5, 'back\slash'), (6, 'it''s;');
CREATE FUNCTION reg_fn() RETURNS int LANGUAGE plpgsql AS $body$
BEGIN
  -- inside a body; BEGIN; COMMIT; are not statements of the script
  RETURN 7;
END;
$body$;
CREATE TABLE "reg;odd" ("col;1" int);
INSERT INTO reg_q SELECT reg_fn(), 'fn' /* trailing comment */ ;
$script$, $down$DROP TABLE "reg;odd"; DROP FUNCTION reg_fn(); DROP TABLE reg_q$down$, 'reg_tricky');
SELECT step, revision, direction, message FROM migr_upgrade('reg_tricky');
SELECT * FROM reg_q ORDER BY n;
SELECT to_regclass('"reg;odd"') IS NOT NULL AS odd_table;
SELECT step, revision, direction FROM migr_downgrade('reg_tail');
SELECT to_regclass('reg_q') IS NULL AS reg_q_gone, to_regclass('"reg;odd"') IS NULL AS odd_gone,
       to_regprocedure('reg_fn()') IS NULL AS fn_gone;
-- The scripts are stored verbatim.
SELECT upgrade LIKE E'\n-- a comment; with a semicolon\n%' AS verbatim FROM migr.revisions WHERE id = 'reg_tricky';

-- COPY from a server file is not COPY from the client: it is accepted at
-- registration (it runs with the caller's privileges).
SELECT migr_revision('copy file', 'COPY reg_c FROM ''/nonexistent/file''', NULL, 'reg_copyfile') AS copy_ok;

SELECT st();
SET client_min_messages = warning;
DROP EXTENSION migr CASCADE;
DROP TABLE IF EXISTS reg_a, reg_b, reg_c, reg_root2, reg_tail, reg_q, "reg;odd";
