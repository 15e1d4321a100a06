-- 10_graph_alembic: the reproducers of issue 10 (each once ran scripts the
-- target did not require, or refused a target Alembic accepts), and the
-- deliberate differences from Alembic that README's "Differences from
-- Alembic" lists.  Graphs are written id(parents)[labels]{depends_on}.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/graph.sql
-- Applied set in one line, from migr.applied.
CREATE OR REPLACE FUNCTION public.ap() RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $f$
  SELECT 'applied=' || coalesce((SELECT string_agg(revision, ',' ORDER BY revision) FROM migr.applied), '-')
$f$;

-- 1. A downgrade removes only what the target requires.
-- a(); b(a); c(){a}, applied b, c: downgrading to a removes b; c depends
-- only on a, which stays.
SELECT g_new();
SELECT g_rev('a'), g_rev('b', '{a}'), g_rev('c', '{}', NULL, '{a}');
SELECT up('b'), up('c'), ap();
SELECT down('a'), ap(), st();
-- a1(); b1(){a1}; bmerge(a1,b1) from bmerge, downgrade to a1: -bmerge.
SELECT g_new();
SELECT g_rev('a1'), g_rev('b1', '{}', NULL, '{a1}'), g_rev('bmerge', '{a1,b1}');
SELECT up('bmerge'), ap();
SELECT down('a1'), ap(), st();
-- a1(); a2(a1); b1(); b2(b1){a2}; b3(b2); a3(a2){b1}, applied a3, b2,
-- downgrade to b1: -b2 (a3 depends on b1 only).
SELECT g_new();
SELECT g_rev('a1'), g_rev('a2', '{a1}'), g_rev('b1'), g_rev('b2', '{b1}', NULL, '{a2}'),
       g_rev('b3', '{b2}'), g_rev('a3', '{a2}', NULL, '{b1}');
SELECT up('a3'), up('b2'), ap();
SELECT down('b1'), ap(), st();
-- p1(); q(){p1}; p2(q); m(p1,p2) from m: -1 lands on both parents of m and
-- removes m only; q and p2 stay.
SELECT g_new();
SELECT g_rev('p1'), g_rev('q', '{}', NULL, '{p1}'), g_rev('p2', '{q}'), g_rev('m', '{p1,p2}');
SELECT up('m'), ap();
SELECT down('-1'), ap(), st();
-- a(); b(){a}; c(b) from c: downgrading to the heads (a, c) removes nothing.
SELECT g_new();
SELECT g_rev('a'), g_rev('b', '{}', NULL, '{a}'), g_rev('c', '{b}');
SELECT up('c'), ap();
SELECT down('heads'), ap(), st();

-- 2. X@T acts on X's lineage only, in every form.
-- a(); b(a); c(a), applied b, c: b@a removes b only.
SELECT g_new();
SELECT g_rev('a'), g_rev('b', '{a}'), g_rev('c', '{a}');
SELECT up('heads'), ap();
SELECT down('b@a'), ap(), st();
SELECT up('heads'), down('c@base+1'), ap();
-- a(); b(a); c1(b)[c1branch]; d1(c1); c2(b)[c2branch]; d2(c2), from d1, d2.
CREATE OR REPLACE FUNCTION public.g_fork() RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
  PERFORM g_new();
  PERFORM g_rev('a'), g_rev('b', '{a}'), g_rev('c1', '{b}', '{c1branch}'), g_rev('d1', '{c1}'),
          g_rev('c2', '{b}', '{c2branch}'), g_rev('d2', '{c2}');
  PERFORM up('heads');
END
$f$;
SELECT g_fork(), ap();
SELECT down('c2@b'), ap();
SELECT g_fork(), down('d1@b'), ap();
SELECT g_fork(), down('c1branch@b'), ap();
SELECT g_fork(), down('d1@-1'), ap();
SELECT g_fork(), down('d2@-2'), ap();
SELECT g_fork(), down('c2branch@head-1'), ap();
SELECT g_fork(), down('c1branch@base+1'), ap();
SELECT g_fork(), down('d1@head'), ap();
SELECT g_fork(), down('c1@a'), ap();

-- 3. An upgrade to base, X@base or a point at or below the state applies nothing.
-- a(); b(a); c(){b} at base: nothing, not b without a.
SELECT g_new();
SELECT g_rev('a'), g_rev('b', '{a}'), g_rev('c', '{}', NULL, '{b}');
SELECT up('base'), up('c@base'), up('b@base'), ap();
SELECT up('b'), up('a'), up('base'), up('b@base'), up('b-1'), ap();
SELECT g_fork(), up('c1branch@base'), up('c2branch@base'), up('b'), up('d1@base'), ap();

-- 4. REV@+N counts from what is applied on REV's lineage.
-- a(); b(a); c(a), applied b: c@+1 applies c.
SELECT g_new();
SELECT g_rev('a'), g_rev('b', '{a}'), g_rev('c', '{a}');
SELECT up('b'), ap();
SELECT up('c@+1'), ap(), st();
SELECT down('c@-1'), ap();
SELECT up('c@+1'), down('b@-1'), ap();

-- 5. Target forms: a plain label, label@label, label@ancestor, label@prefix.
SELECT g_new();
SELECT g_rev('a'), g_rev('b', '{a}'), g_rev('c1', '{b}', '{c1branch}'), g_rev('ddd_1', '{c1}'),
       g_rev('c2', '{b}', '{c2branch}'), g_rev('ddd_2', '{c2}');
SELECT up('c1branch'), ap();
SELECT up('c2branch@c2branch'), ap();
SELECT up('c1branch@ddd_'), ap();
SELECT up('c2branch@ddd_'), ap();
SELECT refused($$SELECT * FROM migr_upgrade('ddd_')$$);
SELECT refused($$SELECT * FROM migr_upgrade('c1branch@c2branch')$$);
SELECT refused($$SELECT * FROM migr_upgrade('c1branch@ddd_2')$$);
SELECT down('c1branch@b'), ap();
SELECT down('c2branch@a'), ap();
SELECT up('c1branch@a+2'), ap();
SELECT revision, branch_labels, children FROM migr_show('c2branch');

-- Differences from Alembic, each on purpose.
-- (1) label@base is just below the branch's first revision: c1branch@base
-- removes c1 and what stands on it; the trunk and branch c2 stay (Alembic
-- counts the branch from the root and removes everything).  Relative
-- targets inside a label's branch count from that revision too.
SELECT g_fork(), down('c1branch@base'), ap();
SELECT down('base'), up('c1branch@+1'), ap();
SELECT refused($$SELECT * FROM migr_downgrade('c1branch@-2')$$);
-- (2) -1 with several version rows is refused (Alembic warns and picks one).
SELECT g_fork(), refused($$SELECT * FROM migr_downgrade('-1')$$);
-- (3) a walk down through a merge: the last step lands on all its parents
-- (Alembic calls it ambiguous); a step further is refused.
SELECT g_new();
SELECT g_rev('r'), g_rev('x', '{r}'), g_rev('y', '{r}'), g_rev('m', '{x,y}');
SELECT up('m'), down('-1'), ap(), st();
SELECT up('m'), refused($$SELECT * FROM migr_downgrade('-2')$$);
SELECT down('m-1'), ap();
-- (4) head ignores a head that another revision depends on: a(); b(){a}
-- has one head for migr (Alembic: two heads, "head" is an error).
SELECT g_new();
SELECT g_rev('a'), g_rev('b', '{}', NULL, '{a}');
SELECT hd(), up('head'), ap();
-- (5) depends_on naming a label stores the branch's head at registration
-- (Alembic: the revision that carries the label).
SELECT g_new();
SELECT g_rev('l1', '{}', '{lab}'), g_rev('l2', '{l1}'), g_rev('u', '{}', NULL, '{lab}');
SELECT depends_on FROM migr_show('u');
SELECT up('u'), ap();
-- (6) X@REV with REV outside X's lineage is refused, also for a downgrade.
SELECT g_fork(), refused($$SELECT * FROM migr_downgrade('c1branch@c2')$$);
-- (7) a walk down off a root lands just below it: r0(); r1(r0); x(); m(x,r1)
-- all applied, x-1 removes x and m only (Alembic: everything).
SELECT g_new();
SELECT g_rev('r0'), g_rev('r1', '{r0}'), g_rev('x'), g_rev('m', '{x,r1}');
SELECT up('m'), down('x-1'), ap();
-- An upgrade to a walk that ends below a root applies nothing.
SELECT up('r1-2'), ap();
-- (8) downgrades to heads, X@head, X@heads resolve in X's lineage; heads
-- keeps every head (Alembic resolves them over the whole graph).
SELECT g_fork(), down('c1branch@head'), down('d2@heads'), down('heads'), ap();
SELECT down('c1branch@head-1'), ap();
-- (9) a downgrade with nothing to remove does nothing: a(); c(){a}.
SELECT g_new();
SELECT g_rev('a'), g_rev('c', '{}', NULL, '{a}');
SELECT up('c'), down('a'), ap();
-- (10) X@T with T at or above X: a(); b(a); c(a) applied, a@a removes b, c.
SELECT g_new();
SELECT g_rev('a'), g_rev('b', '{a}'), g_rev('c', '{a}');
SELECT up('heads'), down('a@a'), ap();

-- A stamp unmarks what a downgrade to the same target would remove, and
-- nothing else: a(); b(a); c(){a} stamped to a keeps c; b@a keeps c too.
SELECT g_new();
SELECT g_rev('a'), g_rev('b', '{a}'), g_rev('c', '{}', NULL, '{a}');
SELECT steps($$SELECT * FROM migr_stamp('heads')$$), ap();
SELECT steps($$SELECT * FROM migr_stamp('a')$$), ap();
SELECT g_new();
SELECT g_rev('a'), g_rev('b', '{a}'), g_rev('c', '{a}');
SELECT steps($$SELECT * FROM migr_stamp('heads')$$), steps($$SELECT * FROM migr_stamp('b@a')$$), ap();
SELECT g_fork(), steps($$SELECT * FROM migr_stamp('c1branch@b')$$), ap();
