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
-- Fingerprint of everything migr stores plus the user tables in public,
-- except failure records: a call that fails while it runs a script leaves
-- one migr.log row saying so (committed by a background worker), the one
-- change a failure makes.  refused() counts them apart.
CREATE OR REPLACE FUNCTION public.migr_fingerprint() RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $f$
  SELECT md5(concat_ws(E'\n',
    (SELECT string_agg(r::text, E'\n' ORDER BY r.id) FROM migr.revisions r),
    (SELECT string_agg(a::text, E'\n' ORDER BY a.revision) FROM migr.applied a),
    (SELECT string_agg(v::text, E'\n' ORDER BY v.revision) FROM migr.version v),
    (SELECT string_agg(l::text, E'\n' ORDER BY l.id) FROM migr.log l
      WHERE l.error_sqlstate IS NULL),
    (SELECT string_agg(s::text, E'\n') FROM migr.state s),
    (SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_class c
      WHERE c.relnamespace = 'public'::regnamespace)))
$f$;
-- Failure records in migr.log (see migr_fingerprint).
CREATE OR REPLACE FUNCTION public.migr_failure_records() RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $f$
  SELECT count(*) FROM migr.log WHERE error_sqlstate IS NOT NULL
$f$;
-- Run a statement that must fail: returns "SQLSTATE: message [detail]
-- {migr's error context}", flags a statement that succeeded or changed
-- anything migr stores, and says when the failure left its record (a
-- refusal before anything runs leaves none).
CREATE OR REPLACE FUNCTION public.refused(sql text) RETURNS text
LANGUAGE plpgsql AS $f$
DECLARE
  before text := public.migr_fingerprint();
  failures bigint := public.migr_failure_records();
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
  IF public.migr_failure_records() <> failures THEN
    result := result || ' (failure recorded)';
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

