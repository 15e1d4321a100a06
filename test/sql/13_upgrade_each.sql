-- 13_upgrade_each: CALL migr_upgrade_each() commits after every step.  When
-- step k fails, steps 1..k-1 stay applied, step k is rolled back, and a
-- failure row (revision, statement, SQLSTATE, message, who) is committed to
-- migr.log before the error is raised.  It must be called with CALL outside a
-- transaction block (pg_regress runs each statement in autocommit).
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/base.sql
SET client_min_messages = warning;
ALTER DATABASE contrib_regression RESET migr.environment;
DROP SCHEMA IF EXISTS ue CASCADE;
RESET client_min_messages;
CREATE SCHEMA ue;
CREATE TABLE ue.accounts (id int, n int);
INSERT INTO ue.accounts SELECT g, g FROM generate_series(1, 10) g;
\set VERBOSITY terse
SET client_min_messages = error;
SELECT migr_revision('one', 'CREATE TABLE ue.one (id int)', 'DROP TABLE ue.one', 'ue1', '{}');
SELECT migr_revision('two', E'CREATE TABLE ue.two (id int);\nINSERT INTO ue.two VALUES (2)', 'DROP TABLE ue.two', 'ue2');
SELECT migr_revision('three fails', E'CREATE TABLE ue.three (id int);\nINSERT INTO ue.three VALUES (3);\nALTER TABLE ue.accounts ADD CONSTRAINT accounts_n_neg CHECK (n < 0);\nCREATE TABLE ue.never (id int)',
       'DROP TABLE ue.three', 'ue3');
SELECT migr_revision('four', 'CREATE TABLE ue.four (id int)', 'DROP TABLE ue.four', 'ue4');
-- Each step says what it did in a NOTICE ("step 1: applied ue1 (one) in
-- <duration>"); durations vary, so NOTICEs are off from here on.
SET client_min_messages = warning;

-- Refused inside a transaction block, from a function, and as a SELECT.
BEGIN;
CALL migr_upgrade_each('head');
ROLLBACK;
CREATE FUNCTION ue.f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN CALL migr_upgrade_each('head'); END $$;
SELECT ue.f();
SELECT migr_upgrade_each('head');
SELECT count(*) AS applied FROM migr.applied;

-- Steps 1 and 2 commit, step 3 fails: its error is raised ...
CALL migr_upgrade_each('head');
-- ... 1 and 2 stay, nothing of 3 (or 4) is there.
SELECT array_agg(revision ORDER BY revision) AS applied FROM migr.applied;
SELECT array_agg(c) AS current FROM migr_current() c;
SELECT to_regclass('ue.one') IS NOT NULL AS one, to_regclass('ue.two') IS NOT NULL AS two,
       to_regclass('ue.three') IS NULL AS no_three, to_regclass('ue.never') IS NULL AS no_never,
       to_regclass('ue.four') IS NULL AS no_four;
SELECT * FROM ue.two;
-- One log row per step that ran; the failed step's row says what failed.
SELECT revision, operation, direction, target, error_sqlstate, error_message, statement,
       session_user_name = session_user AS who_ok, started_at IS NOT NULL AS when_ok
  FROM migr.log WHERE operation <> 'register' ORDER BY id;
-- Each step is a run of its own.
SELECT count(DISTINCT run_id) AS runs FROM migr.log WHERE operation <> 'register';
-- The failed step is not applied and its version row did not move.
SELECT count(*) AS ue3_applied FROM migr.applied WHERE revision = 'ue3';
-- migr_status reports the failure as the last operation.
SELECT s->'last_operation'->>'revision' AS revision, s->'last_operation'->>'outcome' AS outcome,
       s->'last_operation'->>'error' AS error, s->'pending' AS pending
  FROM migr_status() s;

-- Fix the revision (never applied, so it may change) and run again: 3 and 4.
SET client_min_messages = error;
SELECT migr_revision('three fixed', E'CREATE TABLE ue.three (id int);\nINSERT INTO ue.three VALUES (3);\nALTER TABLE ue.accounts ADD CONSTRAINT accounts_n_pos CHECK (n > 0)',
       'DROP TABLE ue.three; ALTER TABLE ue.accounts DROP CONSTRAINT accounts_n_pos', 'ue3');
SET client_min_messages = warning;
CALL migr_upgrade_each('head');
SELECT array_agg(revision ORDER BY revision) AS applied FROM migr.applied;
SELECT revision, operation, error_sqlstate IS NOT NULL AS failed FROM migr.log WHERE operation <> 'register' ORDER BY id;
SELECT s->'last_operation'->>'revision' AS revision, s->'last_operation'->>'outcome' AS outcome,
       s->'last_operation'->'error' AS error
  FROM migr_status() s;
-- At head: nothing to do, nothing logged.
SELECT count(*) AS log_rows FROM migr.log \gset
CALL migr_upgrade_each();
SELECT count(*) = :log_rows AS nothing_logged FROM migr.log;
-- Bad targets are refused before anything runs.
CALL migr_upgrade_each(NULL);
CALL migr_upgrade_each('nope_nope');

-- The failure row of a step that fails on its first statement, and of a
-- step that fails in a statement after a comment and blank lines.
SET client_min_messages = error;
SELECT migr_revision('five', E'-- a comment\n\nSELECT 1/0', NULL, 'ue5');
SET client_min_messages = warning;
CALL migr_upgrade_each();
SELECT revision, error_sqlstate, error_message, statement FROM migr.log WHERE error_sqlstate IS NOT NULL ORDER BY id DESC LIMIT 1;

-- In production: confirmation is needed, as for migr_upgrade.
ALTER DATABASE contrib_regression SET migr.environment = 'production';
\c
\set VERBOSITY terse
SET client_min_messages = warning;
CALL migr_upgrade_each();
SET migr.confirm_production = yes;
CALL migr_upgrade_each();
SELECT revision, operation, error_sqlstate, confirmed, environment FROM migr.log WHERE revision = 'ue5' ORDER BY id;

-- Not for PUBLIC.
\c
ALTER DATABASE contrib_regression RESET migr.environment;
\c
\set VERBOSITY terse
CREATE ROLE regress_ue_app;
SET ROLE regress_ue_app;
CALL migr_upgrade_each();
RESET ROLE;
DROP ROLE regress_ue_app;

DROP EXTENSION migr CASCADE;
DROP SCHEMA ue CASCADE;
