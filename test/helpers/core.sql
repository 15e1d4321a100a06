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
CREATE OR REPLACE FUNCTION public.migr_fingerprint() RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $f$
  SELECT md5(concat_ws(E'\n',
    (SELECT string_agg(r::text, E'\n' ORDER BY r.id) FROM migr.revisions r),
    (SELECT string_agg(a::text, E'\n' ORDER BY a.revision) FROM migr.applied a),
    (SELECT string_agg(v::text, E'\n' ORDER BY v.revision) FROM migr.version v),
    (SELECT string_agg(l::text, E'\n' ORDER BY l.id) FROM migr.log l),
    (SELECT string_agg(s::text, E'\n') FROM migr.state s),
    (SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_class c
      WHERE c.relnamespace = 'public'::regnamespace)))
$f$;
-- Run a statement that must fail: returns "SQLSTATE: message [detail]
-- {migr's error context}", and
-- flags a statement that succeeded or changed anything migr stores.
CREATE OR REPLACE FUNCTION public.refused(sql text) RETURNS text
LANGUAGE plpgsql AS $f$
DECLARE
  before text := public.migr_fingerprint();
  result text;
  detail text;
  context text;
BEGIN
  BEGIN
    EXECUTE sql;
    result := 'NO ERROR';
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL,
                            context = PG_EXCEPTION_CONTEXT;
    -- Keep the context lines migr adds; drop those of this helper.
    SELECT string_agg(l, ' / ') INTO context
      FROM regexp_split_to_table(context, E'\n') AS l
     WHERE l ~ '^(migration |upgrade script|downgrade script)';
    result := SQLSTATE || ': ' || SQLERRM
              || CASE WHEN detail <> '' THEN ' [' || detail || ']' ELSE '' END
              || CASE WHEN context <> '' THEN ' {' || context || '}' ELSE '' END;
  END;
  IF public.migr_fingerprint() IS DISTINCT FROM before THEN
    result := result || ' (STATE CHANGED)';
  END IF;
  RETURN result;
END
$f$;
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

