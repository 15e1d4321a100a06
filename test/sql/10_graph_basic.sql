-- 10_graph_basic: conformance cases for the shape of the revision graph:
-- branches, merges of two and three, twin merges, a forest, a branch from a
-- merge point, migr_branches(), migr_heads(), migr_merge()'s defaults.
-- Each case: graph, starting state, operation, expected steps, final state.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/graph.sql
-- Case 1: two branches from one point (r -> a1 -> a2, r -> b1 -> b2).
SELECT g_new();
SELECT g_chain('{r,a1,a2}'), g_chain('{b1,b2}', '{r}');
SELECT hd();
SELECT * FROM migr_branches();
SELECT refused($$SELECT * FROM migr_upgrade('head')$$);
SELECT up('a2'), st();
SELECT up('heads'), st();
SELECT up('heads'), st();
SELECT down('r'), st();
SELECT up('b1'), st();
SELECT down('base'), st();
SELECT up(), st();

-- Case 2: a merge of two branches, and a revision after it.
SELECT g_new();
SELECT g_chain('{r,a1}'), g_rev('b1', '{r}');
SELECT migr_merge(revision => 'm');
SELECT down_revision, message, upgrade, downgrade, children FROM migr_show('m');
SELECT g_rev('c', '{m}');
SELECT hd();
SELECT up('a1'), st();
SELECT up('c'), st();
-- Downgrading one parent of the merge undoes the merge: both rows come back.
SELECT down('a1'), st();
SELECT up('head'), st();
SELECT down('m'), st();
SELECT down('base'), st();

-- Case 3: a merge of three branches.
SELECT g_new();
SELECT g_rev('r'), g_rev('a1', '{r}'), g_rev('b1', '{r}'), g_rev('c1', '{r}');
SELECT migr_merge(ARRAY['a1', 'b1', 'c1'], 'join three', 'm3');
SELECT down_revision FROM migr_show('m3');
SELECT up('head'), st();
SELECT down('-1'), st();
SELECT down('b1'), st();
SELECT up('m3'), st();
SELECT down('base'), st();

-- Case 4: two merges of the same parents.
SELECT g_new();
SELECT g_rev('r'), g_rev('a1', '{r}'), g_rev('b1', '{r}');
SELECT migr_merge(ARRAY['a1', 'b1'], 'first join', 'm1'), migr_merge(ARRAY['a1', 'b1'], 'second join', 'm2');
SELECT hd();
SELECT * FROM migr_branches();
SELECT up('m1'), st();
SELECT up('heads'), st();
SELECT down('m1'), st();
SELECT down('a1'), st();
SELECT up('m2'), st();

-- Case 5: a forest of independent roots.
SELECT g_new();
SELECT g_chain('{x1,x2}'), g_chain('{y1,y2}'), g_rev('z1');
SELECT hd();
SELECT up('y2'), st();
SELECT up('heads'), st();
SELECT down('y1@base'), st();
SELECT down('x1'), st();
SELECT down('base'), st();

-- Case 6: a branch from a merge point.
SELECT g_new();
SELECT g_rev('r'), g_rev('a1', '{r}'), g_rev('b1', '{r}');
SELECT migr_merge(revision => 'm');
SELECT g_rev('c1', '{m}'), g_rev('d1', '{m}');
SELECT * FROM migr_branches();
SELECT hd();
SELECT up('c1'), st();
SELECT up('heads'), st();
SELECT down('m'), st();
SELECT down('b1'), st();
SELECT up('d1'), st();

-- Case 7: migr_merge() defaults: all heads, message 'merge', a fresh id.
SELECT g_new();
SELECT g_rev('r'), g_rev('a1', '{r}'), g_rev('b1', '{r}'), g_rev('q1');
SELECT migr_merge() AS mid \gset
SELECT :'mid' ~ '^[0-9a-f]{12}$' AS hex_id;
SELECT down_revision, message, upgrade IS NULL OR upgrade = '' AS no_script FROM migr_show(:'mid');
SELECT hd() = :'mid' AS single_head;
SELECT up() = '+r +a1 +b1 +q1 +' || :'mid' AS plan_ok, replace(st(), :'mid', 'MID') AS st;
