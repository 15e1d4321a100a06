-- 10_graph_basic: conformance cases for the shape of the revision graph:
-- branches, merges of two and three, twin merges, a forest, a branch from a
-- merge point, migr_branches(), migr_heads(), migr_merge()'s defaults.
-- Each case: graph, starting state, operation, expected steps, final state.
\set VERBOSITY terse
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS migr CASCADE;
-- Tables left behind by earlier test files.
DO $$
DECLARE t regclass;
BEGIN
  FOR t IN SELECT c.oid::regclass FROM pg_class c
            WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
  LOOP
    EXECUTE format('DROP TABLE %s CASCADE', t);
  END LOOP;
END $$;
CREATE EXTENSION migr;
RESET client_min_messages;
-- Fingerprint of everything migr stores plus the user tables in public.
CREATE OR REPLACE FUNCTION public.g_fp() RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $f$
  SELECT md5(concat_ws(E'\n',
    (SELECT string_agg(r::text, E'\n' ORDER BY r.id) FROM migr.revisions r),
    (SELECT string_agg(b::text, E'\n' ORDER BY b.label) FROM migr.branch_labels b),
    (SELECT string_agg(a::text, E'\n' ORDER BY a.revision) FROM migr.applied a),
    (SELECT string_agg(v::text, E'\n' ORDER BY v.revision) FROM migr.version v),
    (SELECT string_agg(l::text, E'\n' ORDER BY l.id) FROM migr.log l),
    (SELECT string_agg(s::text, E'\n') FROM migr.state s),
    (SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_class c
      WHERE c.relnamespace = 'public'::regnamespace)))
$f$;
-- Run a statement that must fail: "SQLSTATE: message [detail] <hint>";
-- flags a statement that succeeded or changed anything migr stores.
CREATE OR REPLACE FUNCTION public.refused(sql text) RETURNS text
LANGUAGE plpgsql AS $f$
DECLARE
  before text := public.g_fp();
  result text;
  detail text;
  hint text;
BEGIN
  BEGIN
    EXECUTE sql;
    result := 'NO ERROR';
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    result := SQLSTATE || ': ' || SQLERRM
              || CASE WHEN detail <> '' THEN ' [' || detail || ']' ELSE '' END
              || CASE WHEN hint <> '' THEN ' <' || hint || '>' ELSE '' END;
  END;
  IF public.g_fp() IS DISTINCT FROM before THEN
    result := result || ' (STATE CHANGED)';
  END IF;
  RETURN result;
END
$f$;
-- A new case: empty catalog, no user tables.
CREATE OR REPLACE FUNCTION public.g_new() RETURNS void
LANGUAGE plpgsql AS $f$
DECLARE t regclass;
BEGIN
  PERFORM set_config('client_min_messages', 'warning', true);
  DROP EXTENSION migr CASCADE;
  CREATE EXTENSION migr;
  FOR t IN SELECT c.oid::regclass FROM pg_class c
            WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
  LOOP
    EXECUTE format('DROP TABLE %s', t);
  END LOOP;
END
$f$;
-- Register revision "id" whose scripts create / drop table t_<id>.
CREATE OR REPLACE FUNCTION public.g_rev(id text, parents text[] DEFAULT '{}',
                                        labels text[] DEFAULT NULL, deps text[] DEFAULT NULL)
RETURNS text LANGUAGE sql AS $f$
  SELECT migr_revision('m_' || id, format('CREATE TABLE t_%s ()', id),
                       format('DROP TABLE t_%s', id), id, parents, labels, deps)
$f$;
-- Register a chain: ids[1] on "parents", each next one on the previous.
CREATE OR REPLACE FUNCTION public.g_chain(ids text[], parents text[] DEFAULT '{}',
                                          labels text[] DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
  FOR i IN 1 .. cardinality(ids) LOOP
    PERFORM public.g_rev(ids[i], CASE WHEN i = 1 THEN parents ELSE ARRAY[ids[i - 1]] END,
                         CASE WHEN i = 1 THEN labels END);
  END LOOP;
  RETURN array_to_string(ids, ' ');
END
$f$;
-- The steps of a migr call, in order: "+rev" up, "-rev" down; "(none)".
CREATE OR REPLACE FUNCTION public.steps(sql text) RETURNS text
LANGUAGE plpgsql AS $f$
DECLARE result text;
BEGIN
  EXECUTE format($q$SELECT string_agg(CASE direction WHEN 'up' THEN '+' ELSE '-' END || revision, ' ' ORDER BY step) FROM (%s) s$q$, sql)
    INTO result;
  RETURN coalesce(result, '(none)');
END
$f$;
CREATE OR REPLACE FUNCTION public.up(target text DEFAULT 'heads') RETURNS text
LANGUAGE sql AS $f$ SELECT public.steps(format('SELECT * FROM migr_upgrade(%L)', target)) $f$;
CREATE OR REPLACE FUNCTION public.down(target text) RETURNS text
LANGUAGE sql AS $f$ SELECT public.steps(format('SELECT * FROM migr_downgrade(%L)', target)) $f$;
-- State in one line: migr_current() rows (in its order), version rows, t_* tables.
CREATE OR REPLACE FUNCTION public.st() RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $f$
  SELECT concat(
    'current=', coalesce((SELECT string_agg(c, ',') FROM public.migr_current() c), 'base'),
    ' version=', coalesce((SELECT string_agg(revision, ',' ORDER BY revision) FROM migr.version), '-'),
    ' tables=', coalesce((SELECT string_agg(substr(c.relname, 3), ',' ORDER BY c.relname) FROM pg_class c
                           WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
                             AND c.relname LIKE 't\_%'), '-'))
$f$;
-- Heads as "rev[labels]{depended on by}".
CREATE OR REPLACE FUNCTION public.hd() RETURNS text
LANGUAGE sql AS $f$
  SELECT string_agg(revision
           || CASE WHEN cardinality(branch_labels) > 0 THEN '[' || array_to_string(branch_labels, ',') || ']' ELSE '' END
           || CASE WHEN cardinality(depended_on_by) > 0 THEN '{' || array_to_string(depended_on_by, ',') || '}' ELSE '' END, ' ')
    FROM migr_heads()
$f$;

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
