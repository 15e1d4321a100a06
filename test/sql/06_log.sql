-- 06_log: migr.log, migr.applied and migr.state rows written by each step
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/core.sql
SELECT migr_revision('log one', 'CREATE TABLE log_1 (id int)', 'DROP TABLE log_1', 'log_r1', '{}');
SELECT migr_revision('log two', 'CREATE TABLE log_2 (id int)', 'DROP TABLE log_2', 'log_r2');
SELECT migr_revision('log three', 'CREATE TABLE log_3 (id int)', 'DROP TABLE log_3', 'log_r3');
-- Each registration writes one log row (operation register, no run_id); each
-- registering transaction bumps the generation once.
SELECT count(*) AS log_rows, count(*) FILTER (WHERE operation = 'register' AND run_id IS NULL) AS register_rows,
       (SELECT generation FROM migr.state) AS generation FROM migr.log;

-- One call inside an explicit transaction: one log row per step, one run_id,
-- the transaction's xid, the caller's names and application_name.
SET application_name = 'migr_log_test';
BEGIN;
SELECT pg_current_xact_id() AS xid \gset
SELECT step, revision, direction, message, duration >= '0' AS duration_ok FROM migr_upgrade('head');
SELECT id = min(id) OVER () + row_number() OVER (ORDER BY id) - 1 AS consecutive_id,
       run_id = first_value(run_id) OVER (ORDER BY id) AS same_run,
       operation, revision, direction, target,
       checksum = (SELECT r.checksum FROM migr.revisions r WHERE r.id = l.revision) AS checksum_ok,
       session_user_name = session_user AS session_user_ok,
       current_user_name = current_user AS current_user_ok,
       application_name,
       client_addr IS NOT DISTINCT FROM inet_client_addr() AS client_addr_ok,
       started_at >= now() AND started_at <= clock_timestamp() AS started_ok,
       duration >= '0' AS duration_ok,
       wal_lsn >= lag(wal_lsn, 1, '0/0') OVER (ORDER BY id) AS wal_lsn_ordered,
       started_at >= lag(started_at, 1, '-infinity') OVER (ORDER BY id) AS started_ordered,
       xid = :'xid'::xid8 AS xid_is_transaction
  FROM migr.log l WHERE operation <> 'register' ORDER BY id;
COMMIT;
SELECT generation FROM migr.state;
-- applied rows: who, when, checksum as run, not stamped.
SELECT revision, applied_by = current_user AS applied_by_ok, applied_at IS NOT NULL AS applied_at_set,
       checksum = (SELECT r.checksum FROM migr.revisions r WHERE r.id = a.revision) AS checksum_ok, stamped
  FROM migr.applied a ORDER BY revision;
SELECT max(run_id) AS run1 FROM migr.log \gset

-- A downgrade by the integer overload: target '-1', a new run_id.
SELECT step, revision, direction FROM migr_downgrade(-1);
SELECT operation, revision, direction, target, run_id > :run1 AS new_run
  FROM migr.log WHERE id = (SELECT max(id) FROM migr.log);
SELECT max(run_id) AS run2 FROM migr.log \gset
SELECT step, revision, direction FROM migr_upgrade(1);
SELECT operation, revision, direction, target, run_id > :run2 AS new_run
  FROM migr.log WHERE id = (SELECT max(id) FROM migr.log);
SELECT step, revision, direction FROM migr_downgrade('log_r1');
SELECT operation, revision, direction, target, count(*) OVER (PARTITION BY run_id) AS steps_in_run
  FROM migr.log WHERE run_id = (SELECT max(run_id) FROM migr.log) ORDER BY id;
SELECT generation FROM migr.state;

-- No-op calls and failed calls write nothing and do not bump the generation.
SELECT count(*) AS log_rows FROM migr.log \gset
SELECT * FROM migr_downgrade('current');
SELECT * FROM migr_upgrade('log_r1');
SELECT refused($$SELECT * FROM migr_upgrade('nope_nope')$$);
SELECT count(*) = :log_rows AS no_new_rows, (SELECT generation FROM migr.state) AS generation FROM migr.log;

-- Two calls in one transaction: the same xid, two runs.
BEGIN;
SELECT pg_current_xact_id() AS xid \gset
SELECT step, revision FROM migr_upgrade(1);
SELECT step, revision FROM migr_upgrade(1);
SELECT count(*) AS rows, count(DISTINCT run_id) AS runs, bool_and(xid = :'xid'::xid8) AS same_xid
  FROM migr.log WHERE xid = :'xid'::xid8;
COMMIT;

-- The log is append-only: every step ever taken is still there.
SELECT operation, revision, direction, target FROM migr.log ORDER BY id;
SELECT st();
RESET application_name;

-- Registration changes bump the generation once per transaction; identical
-- re-registrations and refused registrations do not bump it.
SELECT generation AS g0 FROM migr.state \gset
SELECT max(id) AS log_id0 FROM migr.log \gset
SELECT migr_revision('log three', 'CREATE TABLE log_3 (id int)', 'DROP TABLE log_3', 'log_r3') = 'log_r3' AS same_id;
SELECT refused($$SELECT migr_revision('log bad', 'SELECT 1', NULL, 'log_rx', ARRAY['nope_nope'])$$);
SELECT generation - :g0 AS bumped FROM migr.state;
SELECT migr_revision('log four', 'CREATE TABLE log_4 (id int)', 'DROP TABLE log_4', 'log_r4', ARRAY['log_r3']);
SELECT generation - :g0 AS bumped FROM migr.state;
BEGIN;
SELECT migr_revision('log five', 'CREATE TABLE log_5 (id int)', 'DROP TABLE log_5', 'log_r5', '{}');
SELECT migr_revision('log six', 'CREATE TABLE log_6 (id int)', 'DROP TABLE log_6', 'log_r6', ARRAY['log_r5'], ARRAY['log_six_branch']);
SELECT migr_merge(ARRAY['log_r4', 'log_r6'], 'log merge', 'log_m');
COMMIT;
SELECT generation - :g0 AS bumped FROM migr.state;
-- Each registration that changes something writes one log row (no run_id,
-- no direction); identical and refused ones write none.
SELECT count(*) - :log_rows AS new_rows FROM migr.log;
SELECT operation, revision, run_id IS NULL AS no_run, direction, target, checksum IS NOT DISTINCT FROM (SELECT checksum FROM migr.revisions r WHERE r.id = l.revision) AS checksum_ok,
       environment, confirmed
  FROM migr.log l WHERE id > :log_id0 ORDER BY id;

SET client_min_messages = warning;
DROP EXTENSION migr CASCADE;
RESET client_min_messages;
