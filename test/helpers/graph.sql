-- test/helpers/graph.sql: base.sql, and the helpers of the 10_graph_* files
-- (revisions named by short ids, steps and state in one line).
\set VERBOSITY terse
\ir base.sql
-- Run a statement that must fail: "SQLSTATE: message [detail] <hint>";
-- flags a statement that succeeded ("NO ERROR") or changed anything migr
-- stores.
CREATE OR REPLACE FUNCTION public.refused(sql text) RETURNS text
LANGUAGE sql AS $f$ SELECT public.attempt(sql, 'NO ERROR', '{detail,hint}') $f$;
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

