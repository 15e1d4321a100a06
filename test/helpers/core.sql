-- test/helpers/core.sql: base.sql, and the helpers of the files that test
-- migr's functions one by one.
\set VERBOSITY terse
\ir base.sql
-- Run a statement that must fail: returns "SQLSTATE: message [detail]
-- {migr's error context}", flags a statement that succeeded ("NO ERROR")
-- or changed anything migr stores, and says when the failure left its
-- record (a refusal before anything runs leaves none).
CREATE OR REPLACE FUNCTION public.refused(sql text) RETURNS text
LANGUAGE sql AS $f$ SELECT public.attempt(sql, 'NO ERROR', '{detail,context}') $f$;
-- Current state in one line: version rows, applied count, user tables.
CREATE OR REPLACE FUNCTION public.st() RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $f$
  SELECT concat(
    'current=', coalesce((SELECT string_agg(c, ',') FROM public.migr_current() c), 'base'),
    ' version=', coalesce((SELECT string_agg(revision, ',' ORDER BY revision) FROM migr.version), '-'),
    ' applied=', (SELECT count(*) FROM migr.applied),
    ' tables=', coalesce((SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_class c
                           WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'), '-'))
$f$;

