-- 14_long_runs: memory per step does not grow.  A long chain of steps runs
-- in one call; steps 100 and 400 record the backend's memory (the sum of
-- its memory contexts, pg_backend_memory_contexts) into a table, and the
-- two figures may differ by far less than what the 300 steps in between
-- would leave behind if a step's memory were kept (a revision's graph,
-- scripts and catalog rows: several kB a step, tens of MB in all before
-- this was fixed).  The bound is generous (1 MB) so that the test cannot
-- fail by chance.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/base.sql
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS lr CASCADE;
CREATE SCHEMA lr;
CREATE TABLE lr.mem (step int PRIMARY KEY, bytes bigint);
CREATE TABLE lr.t (n int);
DO $$
BEGIN
	FOR i IN 1..500 LOOP
		PERFORM migr_revision(format('step %s', i),
			CASE WHEN i IN (100, 400)
				THEN format('INSERT INTO lr.mem SELECT %s, sum(total_bytes) FROM pg_backend_memory_contexts;', i)
				ELSE format('INSERT INTO lr.t VALUES (%s);', i) END,
			format('DELETE FROM lr.t WHERE n = %s; DELETE FROM lr.mem WHERE step = %s;', i, i),
			'lr' || lpad(i::text, 3, '0'));
	END LOOP;
END $$;

-- One transaction per step.
CALL migr_upgrade_each('head');
SELECT count(*) AS applied FROM migr.applied;
SELECT count(*) AS log_rows FROM migr.log WHERE operation = 'upgrade';
SELECT (SELECT bytes FROM lr.mem WHERE step = 400) - (SELECT bytes FROM lr.mem WHERE step = 100) AS growth \gset
SELECT :growth < 1024 * 1024 AS upgrade_each_flat;

-- All steps in one transaction, down and up again.
SELECT count(*) AS removed FROM migr_downgrade('base');
SELECT count(*) FROM lr.mem;
SELECT count(*) AS applied FROM migr_upgrade('head');
SELECT (SELECT bytes FROM lr.mem WHERE step = 400) - (SELECT bytes FROM lr.mem WHERE step = 100) AS growth \gset
SELECT :growth < 1024 * 1024 AS upgrade_flat;

-- A dry run of all steps: everything is rolled back, so steps 100 and 400
-- record the memory in sequences, which a rollback leaves as they are.
SELECT count(*) AS removed FROM migr_downgrade('base');
CREATE SEQUENCE lr.m100;
CREATE SEQUENCE lr.m400;
SET client_min_messages = error;
SELECT migr_revision('step 100', 'SELECT setval(''lr.m100'', (SELECT sum(total_bytes) FROM pg_backend_memory_contexts)::bigint);', 'SELECT 1;', 'lr100');
SELECT migr_revision('step 400', 'SELECT setval(''lr.m400'', (SELECT sum(total_bytes) FROM pg_backend_memory_contexts)::bigint);', 'SELECT 1;', 'lr400');
SET client_min_messages = warning;
SELECT count(*) AS steps, count(error) AS errors FROM migr_upgrade('head', true);
SELECT count(*) AS applied FROM migr.applied;
SELECT (SELECT last_value FROM lr.m400) - (SELECT last_value FROM lr.m100) < 1024 * 1024 AS dry_run_flat;

DROP EXTENSION migr CASCADE;
DROP SCHEMA lr CASCADE;
