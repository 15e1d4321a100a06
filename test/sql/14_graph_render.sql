-- 14_graph_render: migr_graph() as DOT and Mermaid: branches, a merge,
-- labels, depends_on, applied and pending revisions, heads; messages that
-- try to break out of their labels; bad formats; who may call it.
-- (test/t/009_graph_picture.pl renders the same kind of graph with dot.)
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/core.sql
\pset format unaligned
\pset tuples_only on

-- Nothing registered: an empty graph.
SELECT migr_graph();
SELECT migr_graph('mermaid');

-- r -> a1 (alpha) -> a2, r -> b1 (beta, gamma); m merges a2 and b1; c1 on
-- m depends on a1 too; x1 is a second root, d1 on it depends on b1.
SELECT migr_revision('root', 'CREATE TABLE g_r (i int);', 'DROP TABLE g_r;', 'r', '{}');
SELECT migr_revision('alpha starts', 'CREATE TABLE g_a1 (i int);', 'DROP TABLE g_a1;', 'a1', '{r}', '{alpha}');
SELECT migr_revision('alpha goes on', 'CREATE TABLE g_a2 (i int);', 'DROP TABLE g_a2;', 'a2', '{a1}');
SELECT migr_revision('beta', 'CREATE TABLE g_b1 (i int);', 'DROP TABLE g_b1;', 'b1', '{r}', '{gamma,beta}');
SELECT migr_merge('{a2,b1}', 'merge alpha and beta', 'm');
SELECT migr_revision('after the merge', 'CREATE TABLE g_c1 (i int);', 'DROP TABLE g_c1;', 'c1', '{m}', NULL, '{a1}');
SELECT migr_revision('second root', 'CREATE TABLE g_x1 (i int);', 'DROP TABLE g_x1;', 'x1', '{}');
SELECT migr_revision('needs beta', 'CREATE TABLE g_d1 (i int);', 'DROP TABLE g_d1;', 'd1', '{x1}', NULL, '{b1}');

-- Nothing applied yet: no node is filled.
SELECT migr_graph();
-- Up to m (r, a1, a2, b1 and m applied); c1, x1 and d1 pending.
SELECT count(*) FROM migr_upgrade('m');
SELECT migr_graph();
SELECT migr_graph('mermaid');
-- The same catalog gives the same text.
SELECT migr_graph() = migr_graph(), migr_graph('mermaid') = migr_graph('mermaid');

-- Hostile messages: each must stay text inside its own label.  DOT: no
-- user quote or backslash reaches the lexer; Mermaid: nothing but letters,
-- digits, spaces and harmless punctuation stays as it is.
SELECT migr_revision(E'q"]; evil [shape=box label="owned" -> "r"; //', 'SELECT 1;', NULL, 'h1', '{c1}');
SELECT migr_revision(E'ends in a backslash \\', 'SELECT 1;', NULL, 'h2', '{h1}');
SELECT migr_revision(E'backslash quote \\" and \\\\N \\l \\G', 'SELECT 1;', NULL, 'h3', '{h2}');
SELECT migr_revision(E'first line <b>bold</b> & ]] }} %%{init: {"theme":"dark"}}%%\n"]; second line\r\nthird', 'SELECT 1;', NULL, 'h4', '{h3}');
SELECT migr_revision(E'tab\there, #quot; #35; `code` ; end\nrev_r --> rev_h5', 'SELECT 1;', NULL, 'h5', '{h4}');
SELECT migr_revision(E'\nthe first line is empty', 'SELECT 1;', NULL, 'h6', '{h5}');
SELECT migr_revision(repeat('ü', 30) || repeat('x', 40), 'SELECT 1;', NULL, 'h7', '{h6}');
SELECT migr_graph();
SELECT migr_graph('mermaid');

-- Bad formats: 22023 naming the accepted ones; NULL: 22004.
\pset tuples_only off
\pset format aligned
SELECT public.refused($$SELECT migr_graph('svg')$$);
SELECT public.refused($$SELECT migr_graph('DOT')$$);
SELECT public.refused($$SELECT migr_graph('')$$);
SELECT public.refused($$SELECT migr_graph(NULL)$$);

-- Open to everyone, like migr_history(): a role without any grant reads it.
CREATE ROLE regress_migr_graph_reader;
SET ROLE regress_migr_graph_reader;
SELECT strpos(migr_graph(), '"m" [label="m\nmerge alpha and beta"') > 0 AS reads_dot,
       strpos(migr_graph('mermaid'), 'rev_m{{"m<br/>merge alpha and beta"}}') > 0 AS reads_mermaid;
RESET ROLE;
SELECT has_function_privilege('public', 'migr_graph(text)', 'EXECUTE');
DROP ROLE regress_migr_graph_reader;
