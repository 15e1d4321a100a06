-- test/helpers/base.sql: what every regression file starts with (through
-- core.sql or graph.sql, or directly): a fresh migr with no user tables
-- left in public, the one fingerprint of migr's catalog, and attempt(), the
-- try function every file's own helpers call.
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
-- Fingerprint of everything migr stores: the rows of every table of schema
-- migr (found in pg_class, so that a new table is covered without a change
-- here), with with_sequences the state of migr's sequences (not
-- transactional: a failed call may move them), and the relations in public.
-- Failure records are left out unless with_failure_records: a call that
-- fails while it runs a script leaves one migr.log row saying so (committed
-- by a background worker), the one change a failure makes; attempt() counts
-- them apart (migr_failure_records).
CREATE OR REPLACE FUNCTION public.migr_fingerprint(with_sequences boolean DEFAULT false,
                                                   with_failure_records boolean DEFAULT false)
RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $f$
DECLARE
  rel regclass;
  kind "char";
  part text;
  parts text[] := '{}';
BEGIN
  FOR rel, kind IN SELECT c.oid, c.relkind FROM pg_class c
                    WHERE c.relnamespace = 'migr'::regnamespace
                      AND c.relkind IN ('r', 'p', 'S') ORDER BY c.relname
  LOOP
    IF kind = 'S' AND NOT with_sequences THEN
      CONTINUE;
    END IF;
    EXECUTE format(CASE WHEN kind = 'S'
                        THEN 'SELECT last_value || '' '' || is_called FROM %s'
                        WHEN rel = 'migr.log'::regclass AND NOT with_failure_records
                        THEN 'SELECT string_agg(t::text, E''\n'' ORDER BY t::text) FROM %s t'
                             ' WHERE t.error_sqlstate IS NULL'
                        ELSE 'SELECT string_agg(t::text, E''\n'' ORDER BY t::text) FROM %s t' END,
                   rel) INTO part;
    parts := parts || (rel::text || ': ' || coalesce(part, ''));
  END LOOP;
  parts := parts || (SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_class c
                      WHERE c.relnamespace = 'public'::regnamespace);
  RETURN md5(array_to_string(parts, E'\n'));
END
$f$;
-- Failure records in migr.log (see migr_fingerprint).
CREATE OR REPLACE FUNCTION public.migr_failure_records() RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $f$
  SELECT count(*) FROM migr.log WHERE error_sqlstate IS NOT NULL
$f$;
-- Run "sql", a statement expected to fail, and say what happened: "ok"
-- (ok_text) when it did not fail, else "SQLSTATE: message" followed by what
-- "shows" lists of ' [detail]', ' <hint>' and ' {migr's error context}';
-- "(STATE CHANGED)" when the fingerprint function "fingerprint" (NULL:
-- none) gives another value afterwards, and "(failure recorded)" when the
-- failure left its record (with a fingerprint; a refusal before anything
-- runs leaves none).  Each file's try function is one call of this.
CREATE OR REPLACE FUNCTION public.attempt(sql text, ok_text text, shows text[],
                                          fingerprint text DEFAULT 'public.migr_fingerprint')
RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
  before text;
  after text;
  failures bigint;
  result text;
  detail text;
  hint text;
  context text;
BEGIN
  IF fingerprint IS NOT NULL THEN
    EXECUTE format('SELECT %s()', fingerprint) INTO before;
    failures := public.migr_failure_records();
  END IF;
  BEGIN
    EXECUTE sql;
    result := ok_text;
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT,
                            context = PG_EXCEPTION_CONTEXT;
    -- Keep the context lines migr adds; drop those of this helper.
    SELECT string_agg(l, ' / ') INTO context
      FROM regexp_split_to_table(context, E'\n') AS l
     WHERE l ~ '^(migration |upgrade script|downgrade script)';
    result := SQLSTATE || ': ' || SQLERRM;
    IF 'detail' = ANY (shows) AND detail <> '' THEN
      result := result || ' [' || detail || ']';
    END IF;
    IF 'hint' = ANY (shows) AND hint <> '' THEN
      result := result || ' <' || hint || '>';
    END IF;
    IF 'context' = ANY (shows) AND context <> '' THEN
      result := result || ' {' || context || '}';
    END IF;
  END;
  IF fingerprint IS NOT NULL THEN
    EXECUTE format('SELECT %s()', fingerprint) INTO after;
    IF after IS DISTINCT FROM before THEN
      result := result || ' (STATE CHANGED)';
    END IF;
    IF public.migr_failure_records() <> failures THEN
      result := result || ' (failure recorded)';
    END IF;
  END IF;
  RETURN result;
END
$f$;
