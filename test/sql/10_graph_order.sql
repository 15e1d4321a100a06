-- 10_graph_order: determinism (registration-order tie-breaks, same plan
-- twice) and migr_stamp with several targets and purge.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/graph.sql
-- Case 1: branches registered interleaved: r, a1, b1, b2, a2, c1 (a new root).
SELECT g_new();
SELECT g_rev('r'), g_rev('a1', '{r}'), g_rev('b1', '{r}'), g_rev('b2', '{b1}'), g_rev('a2', '{a1}'), g_rev('c1');
BEGIN;
SAVEPOINT s;
SELECT up('heads') AS first_plan, st();
ROLLBACK TO SAVEPOINT s;
SELECT st();
SELECT up('heads') AS second_plan, st();
SAVEPOINT s2;
SELECT down('base') AS first_down;
ROLLBACK TO SAVEPOINT s2;
SELECT down('base') AS second_down, st();
COMMIT;
SELECT revision FROM migr_history();

-- Case 2: migr_stamp with several targets, then without and with purge.
SELECT g_new();
SELECT g_rev('r'), g_chain('{a1,a2,a3}', '{r}', '{alpha}'), g_chain('{b1,b2,b3}', '{r}', '{beta}');
SELECT steps($$SELECT * FROM migr_stamp('alpha@a2', 'beta@b1')$$), st();
SELECT steps($$SELECT * FROM migr_stamp('beta@head')$$), st();
SELECT steps($$SELECT * FROM migr_stamp('alpha@a1')$$), st();
SELECT steps($$SELECT * FROM migr_stamp('alpha@a1')$$), st();
SELECT steps($$SELECT * FROM migr_stamp(ARRAY['alpha@a3'], false)$$), st();
SELECT steps($$SELECT * FROM migr_stamp(ARRAY['alpha@a1'], true)$$), st();
SELECT steps($$SELECT * FROM migr_stamp(ARRAY['b2', 'a2'], true)$$), st();
SELECT stamped, count(*) FROM migr.applied GROUP BY 1;
SELECT operation, count(*) FROM migr.log GROUP BY 1;
SELECT steps($$SELECT * FROM migr_stamp('heads')$$), st();
SELECT steps($$SELECT * FROM migr_stamp('base')$$), st();
SELECT refused($$SELECT * FROM migr_stamp(VARIADIC ARRAY[]::text[])$$);
SELECT refused($$SELECT * FROM migr_stamp(VARIADIC ARRAY['a1', NULL])$$);
SELECT refused($$SELECT * FROM migr_stamp('head')$$);
