-- 08_stamp: migr_stamp() moves the version rows without running scripts
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/core.sql
SELECT migr_revision('stamp one', 'CREATE TABLE stamp_1 (id int)', 'DROP TABLE stamp_1', 'stamp_s1', '{}');
SELECT migr_revision('stamp two', 'CREATE TABLE stamp_2 (id int)', NULL, 'stamp_s2');
SELECT migr_revision('stamp three', 'CREATE TABLE stamp_3 (id int)', 'DROP TABLE stamp_3', 'stamp_s3');

-- Stamp to a revision: version rows move, no script runs.
SELECT step, revision, direction, message, duration >= '0' AS duration_ok FROM migr_stamp('stamp_s2');
SELECT st();
SELECT revision, stamped, applied_by = current_user AS applied_by_ok,
       checksum = (SELECT r.checksum FROM migr.revisions r WHERE r.id = a.revision) AS checksum_ok
  FROM migr.applied a ORDER BY revision;
SELECT operation, revision, direction, target,
       run_id = max(run_id) OVER () AS same_run,
       session_user_name = session_user AS session_user_ok
  FROM migr.log WHERE operation <> 'register' ORDER BY id;
SELECT (migr_show('stamp_s2')).stamped AS s2_stamped;

-- An upgrade from there runs only the rest.
SELECT step, revision, direction FROM migr_upgrade();
SELECT st();
SELECT revision, stamped FROM migr.applied ORDER BY revision;

-- Stamp to base: everything unmarked without running a downgrade script
-- (stamp_s2 has none; stamp_3 stays).
SELECT step, revision, direction FROM migr_stamp('base');
SELECT st();
SELECT count(*) AS applied FROM migr.applied;
-- Stamp back up to head, then down to one revision.
SELECT step, revision, direction FROM migr_stamp('head');
SELECT st();
SELECT step, revision, direction FROM migr_stamp('stamp_s1');
SELECT st();
-- Reached targets are no-ops.
SELECT migr_fingerprint() AS fp \gset
SELECT * FROM migr_stamp('stamp_s1');
SELECT * FROM migr_stamp('current');
SELECT migr_fingerprint() = :'fp' AS unchanged;
-- Relative stamps go either way.
SELECT step, revision, direction FROM migr_stamp('+1');
SELECT step, revision, direction FROM migr_stamp('-1');
SELECT step, revision, direction FROM migr_stamp('stamp_s3-1');
SELECT st();
-- Errors.
SELECT refused($$SELECT * FROM migr_stamp('-5')$$);
SELECT refused($$SELECT * FROM migr_stamp('+5')$$);
SELECT refused($$SELECT * FROM migr_stamp('nope_x')$$);
SELECT refused($$SELECT * FROM migr_stamp('stamp_')$$);
SELECT refused($$SELECT * FROM migr_stamp('sta')$$);
SELECT refused($$SELECT * FROM migr_stamp('+y')$$);
-- A stamped revision counts as applied: before launch an edit warns that the
-- database has the earlier scripts, and validate reports it; after launch the
-- scripts can no longer change.
SELECT migr_revision('stamp two', 'CREATE TABLE stamp_2 (id bigint)', NULL, 'stamp_s2');
SELECT revision, problem FROM migr_validate();
SELECT migr_revision('stamp two', 'CREATE TABLE stamp_2 (id int)', NULL, 'stamp_s2');
SELECT count(*) AS mismatches FROM migr_validate();
SELECT migr_launch() IS NOT NULL AS launched;
SELECT refused($$SELECT migr_revision('stamp two', 'CREATE TABLE stamp_2 (id bigint)', NULL, 'stamp_s2')$$);
-- The stamp log rows.
SELECT operation, revision, direction, target FROM migr.log WHERE operation = 'stamp' ORDER BY id;
SELECT count(*) FILTER (WHERE operation = 'upgrade') AS upgrade_rows,
       count(*) FILTER (WHERE operation = 'stamp') AS stamp_rows FROM migr.log;

SET client_min_messages = warning;
DROP EXTENSION migr CASCADE;
RESET client_min_messages;
