-- 05_failures: a failing step leaves everything as it was
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/core.sql
-- A chain of three revisions whose third fails at its second statement.
SELECT migr_revision('f one', 'CREATE TABLE fail_1 (id int)', 'DROP TABLE fail_1', 'fail_r1', '{}');
SELECT migr_revision('f two', 'CREATE TABLE fail_2 (id int)', 'DROP TABLE fail_2', 'fail_r2');
SELECT migr_revision('f three', E'CREATE TABLE fail_3a (id int);\n\n  INSERT INTO fail_missing VALUES (1);\nCREATE TABLE fail_3c (id int);',
                     'DROP TABLE fail_3c; DROP TABLE fail_3a', 'fail_r3');
SELECT migr_fingerprint() AS fp \gset
SELECT count(*) AS log_rows, (SELECT generation FROM migr.state) AS generation FROM migr.log WHERE operation <> 'register';

-- The error keeps its SQLSTATE and message; the context names the revision,
-- the statement number and the line of the script.
SELECT refused($$SELECT * FROM migr_upgrade('head')$$);
-- Nothing of steps 1 and 2 (nor of step 3's first statement) remains.
SELECT migr_fingerprint() = :'fp' AS unchanged;
SELECT to_regclass('fail_1') AS fail_1, to_regclass('fail_2') AS fail_2, to_regclass('fail_3a') AS fail_3a;
SELECT st();
-- The one thing the failed call leaves: its failure record, committed on
-- its own by a background worker while the call rolled back.
SELECT count(*) FILTER (WHERE error_sqlstate IS NULL) AS log_rows,
       count(*) FILTER (WHERE error_sqlstate IS NOT NULL) AS failure_records,
       (SELECT generation FROM migr.state) AS generation
  FROM migr.log WHERE operation <> 'register';
SELECT operation, revision, direction, target, statement, error_line, error_sqlstate, error_message,
       session_user_name = session_user AS by_session_user
  FROM migr.log WHERE error_sqlstate IS NOT NULL;
-- The same at top level: the statement fails as a whole.
SELECT * FROM migr_upgrade('head');
SELECT migr_fingerprint() = :'fp' AS unchanged;
-- Inside an explicit transaction, everything goes with the ROLLBACK.
BEGIN;
SELECT step, revision FROM migr_upgrade('fail_r2');
SELECT st();
ROLLBACK;
SELECT migr_fingerprint() = :'fp' AS unchanged;
SELECT st();
-- ... and a savepoint rolls back a whole migr call too.
BEGIN;
SELECT step, revision FROM migr_upgrade('fail_r1');
SAVEPOINT s;
SELECT step, revision FROM migr_upgrade('fail_r2');
ROLLBACK TO SAVEPOINT s;
SELECT st();
COMMIT;
SELECT st();

-- The steps before the failing one can be applied; the failing one is
-- still refused, with its own context.
SELECT step, revision FROM migr_upgrade('fail_r2');
SELECT migr_fingerprint() AS fp \gset
SELECT refused($$SELECT * FROM migr_upgrade(1)$$);
SELECT migr_fingerprint() = :'fp' AS unchanged;
SELECT st();

-- Errors raised by scripts keep their own SQLSTATE.
SELECT migr_revision('f three', E'CREATE TABLE fail_3a (id int);\nINSERT INTO fail_3a VALUES (1), (1);\nCREATE UNIQUE INDEX ON fail_3a (id);',
                     'DROP TABLE fail_3a', 'fail_r3');
SELECT refused($$SELECT * FROM migr_upgrade()$$);
SELECT migr_revision('f three', $s$DO $$BEGIN RAISE EXCEPTION 'custom failure' USING ERRCODE = 'MG123'; END$$;$s$,
                     'SELECT 1', 'fail_r3');
SELECT refused($$SELECT * FROM migr_upgrade()$$);
SELECT migr_revision('f three', E'SELECT 1;\nSELECT 1;\n\n\n   SELECT 1/0;', 'SELECT 1', 'fail_r3');
SELECT refused($$SELECT * FROM migr_upgrade()$$);
SELECT st();

-- A failing downgrade: step 1 (fail_r4 down) succeeds, step 2 (fail_r3 down)
-- fails at its second statement; both tables are still there.
SELECT migr_revision('f three', 'CREATE TABLE fail_3 (id int)', E'DROP TABLE fail_3;\nSELECT 1/0;', 'fail_r3');
SELECT migr_revision('f four', 'CREATE TABLE fail_4 (id int)', 'DROP TABLE fail_4', 'fail_r4');
SELECT step, revision FROM migr_upgrade();
SELECT migr_fingerprint() AS fp \gset
SELECT refused($$SELECT * FROM migr_downgrade('base')$$);
SELECT migr_fingerprint() = :'fp' AS unchanged;
SELECT st();
SELECT * FROM migr_downgrade('fail_r2');
SELECT migr_fingerprint() = :'fp' AS unchanged;
-- The step above the failing one can be undone on its own.
SELECT step, revision FROM migr_downgrade('-1');
SELECT step, revision FROM migr_upgrade();

-- A downgrade through a revision without a downgrade script fails before
-- running anything, naming that revision: fail_6 (undone first) stays.
SELECT migr_revision('no way back', 'CREATE TABLE fail_5 (id int)', NULL, 'fail_r5');
SELECT migr_revision('f six', 'CREATE TABLE fail_6 (id int)', 'DROP TABLE fail_6', 'fail_r6');
SELECT step, revision FROM migr_upgrade();
SELECT migr_fingerprint() AS fp \gset
SELECT refused($$SELECT * FROM migr_downgrade('fail_r4')$$);
SELECT refused($$SELECT * FROM migr_downgrade('base')$$);
SELECT refused($$SELECT * FROM migr_downgrade(-2)$$);
SELECT migr_fingerprint() = :'fp' AS unchanged;
SELECT to_regclass('fail_6') IS NOT NULL AS fail_6_still_there;
-- Above it, downgrades work.
SELECT step, revision FROM migr_downgrade('fail_r5');
SELECT st();
SELECT refused($$SELECT * FROM migr_downgrade(-1)$$);

-- A migration script cannot call migr functions: 0A000, nothing applied.
SELECT step, revision FROM migr_upgrade();
SELECT migr_revision('nested upgrade', 'CREATE TABLE fail_n (id int); SELECT * FROM migr_upgrade(''head'')', 'DROP TABLE fail_n', 'fail_n1');
SELECT refused($$SELECT * FROM migr_upgrade()$$);
SELECT migr_revision('nested upgrade', 'CREATE TABLE fail_n (id int); SELECT migr_revision(''x'', ''SELECT 1'')', 'DROP TABLE fail_n', 'fail_n1');
SELECT refused($$SELECT * FROM migr_upgrade()$$);
SELECT migr_revision('nested upgrade', 'CREATE TABLE fail_n (id int); SELECT * FROM migr_downgrade(''-1'')', 'DROP TABLE fail_n', 'fail_n1');
SELECT refused($$SELECT * FROM migr_upgrade()$$);
SELECT migr_revision('nested upgrade', 'CREATE TABLE fail_n (id int); SELECT * FROM migr_stamp(''base'')', 'DROP TABLE fail_n', 'fail_n1');
SELECT refused($$SELECT * FROM migr_upgrade()$$);
SELECT count(*) FILTER (WHERE error_sqlstate IS NULL) AS log_rows_of_fail_n1,
       count(*) FILTER (WHERE error_sqlstate IS NOT NULL) AS failure_records_of_fail_n1,
       (SELECT count(*) FROM migr.applied WHERE revision = 'fail_n1') AS applied_fail_n1
  FROM migr.log WHERE revision = 'fail_n1' AND operation <> 'register';
SELECT st();
-- After all these failures the next call works normally.
SELECT migr_revision('nested upgrade', 'CREATE TABLE fail_n (id int)', 'DROP TABLE fail_n', 'fail_n1');
SELECT step, revision FROM migr_upgrade();
SELECT st();

SET client_min_messages = warning;
DROP EXTENSION migr CASCADE;
RESET client_min_messages;
