-- 10_graph_errors: every registration refusal of the revision graph, with
-- its SQLSTATE, and that nothing is stored.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/graph.sql
SELECT g_new();
SELECT g_chain('{x1,x2}'), g_rev('l1', '{}', '{lab}'), g_rev('y1');
-- Self-loops: in down_revision and in depends_on.
SELECT refused($$SELECT g_rev('s1', '{s1}')$$);
SELECT refused($$SELECT g_rev('s2', '{}', NULL, '{s2}')$$);
SELECT refused($$SELECT g_rev('x1', '{x1}')$$);
-- A cycle through down_revision (x1 is not applied, so it may be re-parented).
SELECT refused($$SELECT g_rev('x1', '{x2}')$$);
-- A dependency cycle, and a cycle mixing parents and dependencies.
SELECT g_rev('d1'), g_rev('d2', '{}', NULL, '{d1}');
SELECT refused($$SELECT g_rev('d1', '{}', NULL, '{d2}')$$);
SELECT refused($$SELECT g_rev('d1', '{d2}')$$);
SELECT refused($$SELECT g_rev('x1', '{}', NULL, '{x2}')$$);
-- Labels: used twice, given twice, equal to a revision id; an id equal to a label.
SELECT refused($$SELECT g_rev('l2', '{}', '{lab}')$$);
SELECT refused($$SELECT g_rev('l2', '{}', '{lab2,lab2}')$$);
SELECT refused($$SELECT g_rev('l2', '{}', '{y1}')$$);
SELECT refused($$SELECT g_rev('lab', '{}')$$);
SELECT refused($$SELECT g_rev('l2', '{}', '{head}')$$);
SELECT refused($$SELECT g_rev('l2', '{}', '{bad-label}')$$);
SELECT refused($$SELECT g_rev('l2', '{}', ARRAY[NULL])$$);
-- Unknown dependency, unknown parent.
SELECT refused($$SELECT g_rev('u1', '{}', NULL, '{nope_dep}')$$);
SELECT refused($$SELECT g_rev('u1', '{nope_parent}')$$);
-- Merges: fewer than two revisions, a revision with its own ancestor.
SELECT refused($$SELECT migr_merge(ARRAY['x2'])$$);
SELECT refused($$SELECT migr_merge(ARRAY['x2', 'x2'])$$);
SELECT refused($$SELECT migr_merge(ARRAY['x1', 'x2'])$$);
SELECT refused($$SELECT migr_merge(ARRAY['x2', 'x1'], 'm', 'mm')$$);
SELECT refused($$SELECT migr_merge(ARRAY['x2', 'nope_x'])$$);
SELECT refused($$SELECT migr_merge(NULL)$$);
SELECT refused($$SELECT migr_merge(ARRAY['x2', 'y1'], 'm', 'head')$$);
-- 'head' with several heads names them; nothing stored.
SELECT g_rev('z1');
SELECT refused($$SELECT * FROM migr_upgrade('head')$$);
SELECT refused($$SELECT migr_show('head')$$);
SELECT refused($$SELECT migr_show('base')$$);
SELECT count(*) AS revisions FROM migr.revisions;
SELECT count(*) AS labels FROM migr.branch_labels;

-- migr_merge() with a single head.
SELECT g_new();
SELECT g_chain('{x1,x2}');
SELECT refused($$SELECT migr_merge()$$);
-- migr_merge() joins the real heads; a head another head depends on is
-- already covered by that dependency.
SELECT g_rev('d1'), g_rev('d2', '{}', NULL, '{d1}');
SELECT hd();
SELECT migr_merge(revision => 'mall');
SELECT down_revision FROM migr_show('mall');
SELECT hd();
