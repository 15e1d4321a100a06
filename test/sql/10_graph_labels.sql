-- 10_graph_labels: branch labels and lineage targets (X@...), relative moves
-- inside one branch, downgrading one branch, -1/+1 with several heads.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/graph.sql
-- The graph for every case: r -> a1 (alpha) -> a2 -> a3, r -> b1 (beta) -> b2 -> b3.
CREATE OR REPLACE FUNCTION public.g_two() RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
  PERFORM g_new();
  PERFORM g_rev('r');
  PERFORM g_chain('{a1,a2,a3}', '{r}', '{alpha}');
  PERFORM g_chain('{b1,b2,b3}', '{r}', '{beta}');
END
$f$;
SELECT g_two();
SELECT hd();
SELECT revision, branch_labels FROM migr_history() WHERE cardinality(branch_labels) > 0 ORDER BY 1;
SELECT branch_labels FROM migr_show('alpha@head');

-- label@head, label@heads, label@REV, label@+N from base.
SELECT up('alpha@head'), st();
SELECT up('beta@+2'), st();
SELECT up('beta@heads'), st();
SELECT down('alpha@a1'), st();
SELECT up('alpha@+1'), st();
SELECT up('alpha@a2+1'), st();
-- label@-N, label@head-N, label@base+N, label@base: the other branch stays.
SELECT down('alpha@-1'), st();
SELECT down('beta@head-2'), st();
SELECT down('alpha@base+1'), st();
SELECT down('alpha@base'), st();
SELECT down('beta@base'), st();
-- rev@head, rev@base.
SELECT up('b2@head'), st();
SELECT up('a2@head'), st();
SELECT down('a2@a1'), st();
SELECT down('b1@base'), st();
-- -1 / +1 with several current heads: an error naming them.
SELECT g_two();
SELECT up('alpha@a2'), up('beta@b2'), st();
SELECT refused($$SELECT * FROM migr_downgrade('-1')$$);
SELECT refused($$SELECT * FROM migr_downgrade(-1)$$);
SELECT refused($$SELECT * FROM migr_upgrade('+1')$$);
SELECT refused($$SELECT * FROM migr_upgrade(1)$$);
SELECT down('beta@-1'), up('alpha@+1'), st();
-- Walking past the end of a branch.
SELECT refused($$SELECT * FROM migr_upgrade('alpha@+2')$$);
SELECT refused($$SELECT * FROM migr_downgrade('beta@-3')$$);
-- A revision outside the branch.
SELECT refused($$SELECT * FROM migr_upgrade('alpha@b2')$$);
SELECT refused($$SELECT * FROM migr_downgrade('beta@a1')$$);
SELECT refused($$SELECT * FROM migr_upgrade('a1@b2')$$);
SELECT refused($$SELECT * FROM migr_upgrade('alpha@b1+1')$$);
-- Invalid "@" forms.
SELECT refused($$SELECT * FROM migr_upgrade('@head')$$);
SELECT refused($$SELECT * FROM migr_upgrade('alpha@')$$);
SELECT refused($$SELECT * FROM migr_upgrade('alpha@beta@head')$$);
SELECT refused($$SELECT * FROM migr_upgrade('gamma@head')$$);
SELECT refused($$SELECT * FROM migr_upgrade('alpha@heads+1')$$);
SELECT refused($$SELECT * FROM migr_upgrade('alpha@+x')$$);
SELECT refused($$SELECT * FROM migr_downgrade('alpha@+1')$$);
SELECT refused($$SELECT * FROM migr_upgrade('alpha@-1')$$);
SELECT st();
