-- 10_graph_deps: depends_on across branches: upgrades pull dependencies,
-- downgrades take dependents, version rows and heads stay correct.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/graph.sql
-- Case 1: b2 depends on a1, on another root's branch.
SELECT g_new();
SELECT g_chain('{a1,a2}', '{}', '{alpha}'), g_rev('b1', '{}', '{beta}'), g_rev('b2', '{b1}', NULL, '{a1}');
SELECT depends_on, dependents FROM migr_show('b2');
SELECT dependents FROM migr_show('a1');
SELECT revision, down_revision, depends_on, branch_labels FROM migr_history() ORDER BY revision;
SELECT hd();
-- Upgrading b2 pulls its dependency a1; a1's version row stays.
SELECT up('b2'), st();
SELECT up('a2'), st();
-- Downgrading the dependency takes its dependent with it.
SELECT down('alpha@base'), st();
SELECT up('b2'), st();
SELECT down('beta@base'), st();
SELECT down('base'), st();

-- Case 2: a head that another revision depends on; 'head' ignores it.
SELECT g_new();
SELECT g_chain('{a1,a2}', '{}', '{alpha}'), g_rev('b1', '{}', '{beta}'), g_rev('b2', '{b1}', NULL, '{a2}');
SELECT hd();
SELECT * FROM migr_heads();
SELECT up('head'), st();
SELECT down('a1'), st();
SELECT refused($$SELECT * FROM migr_downgrade('a2')$$);
SELECT up('head'), st();
SELECT down('alpha@-1'), st();

-- Case 3: a dependency given as a label and as a prefix.
SELECT g_new();
SELECT g_rev('dep_x1', '{}', '{xlab}'), g_rev('dep_x2', '{dep_x1}'), g_rev('dep_y1', '{}');
SELECT g_rev('y2', '{dep_y1}', NULL, '{xlab}'), g_rev('y3', '{y2}', NULL, '{dep_x2}');
SELECT revision, depends_on FROM migr_history() WHERE revision IN ('y2', 'y3') ORDER BY 1;
SELECT up('y2'), st();
SELECT up('y3'), st();
SELECT down('dep_x1'), st();
-- A label names its branch's head when registered: re-running the same
-- registration after the branch grew must still be an identical no-op.
SELECT up('y3'), st();
SELECT g_rev('dep_x3', '{dep_x2}');
SELECT g_rev('y2', '{dep_y1}', NULL, '{xlab}');
SELECT depends_on FROM migr_show('y2');

-- Case 4: a merge whose parent depends on the other branch.
SELECT g_new();
SELECT g_rev('r'), g_rev('a1', '{r}'), g_rev('b1', '{r}', NULL, '{a1}');
-- a1 is below b1 through the dependency: the merge is refused.
SELECT refused($$SELECT migr_merge(revision => 'm')$$);
SELECT hd();
SELECT up('head'), st();
SELECT down('a1'), st();
SELECT down('r'), st();
