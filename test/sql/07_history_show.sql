-- 07_history_show: migr_history() ranges and migr_show()
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/core.sql
SELECT migr_revision('hist one', 'CREATE TABLE hist_1 (id int)', 'DROP TABLE hist_1', 'hist_a1', '{}');
SELECT migr_revision('hist two', 'CREATE TABLE hist_2 (id int)', 'DROP TABLE hist_2', 'hist_b2');
SELECT migr_revision('hist three', 'CREATE TABLE hist_3 (id int)', 'DROP TABLE hist_3', 'hist_c3');
SELECT migr_revision('hist four', 'CREATE TABLE hist_4 (id int)', NULL, 'hist_d4');
SELECT step, revision FROM migr_upgrade('hist_b2');

-- Full history, newest first; is_current, is_head, applied_at exactly right.
SELECT revision, down_revision, message, is_current, is_head,
       applied_at IS NOT NULL AS applied, created_at IS NOT NULL AS created,
       created_by = session_user AS created_by_ok
  FROM migr_history();
SELECT revision FROM migr_history(NULL);
SELECT revision FROM migr_history('');
-- applied_at is the migr.applied time.
SELECT count(*) AS applied_at_matches
  FROM migr_history() h JOIN migr.applied a ON a.revision = h.revision AND a.applied_at = h.applied_at;

-- Ranges (both ends included, ends are targets).
SELECT 'hist_a1:hist_c3' AS range, string_agg(revision, ' ') AS revisions FROM migr_history('hist_a1:hist_c3')
UNION ALL SELECT ':hist_b2', string_agg(revision, ' ') FROM migr_history(':hist_b2')
UNION ALL SELECT 'hist_c3:', string_agg(revision, ' ') FROM migr_history('hist_c3:')
UNION ALL SELECT 'hist_b:hist_c', string_agg(revision, ' ') FROM migr_history('hist_b:hist_c')
UNION ALL SELECT 'current:', string_agg(revision, ' ') FROM migr_history('current:')
UNION ALL SELECT ':current', string_agg(revision, ' ') FROM migr_history(':current')
UNION ALL SELECT '-1:', string_agg(revision, ' ') FROM migr_history('-1:')
UNION ALL SELECT ':+1', string_agg(revision, ' ') FROM migr_history(':+1')
UNION ALL SELECT '-1:+1', string_agg(revision, ' ') FROM migr_history('-1:+1')
UNION ALL SELECT 'head:', string_agg(revision, ' ') FROM migr_history('head:')
UNION ALL SELECT ':head', string_agg(revision, ' ') FROM migr_history(':head')
UNION ALL SELECT 'head-1:head', string_agg(revision, ' ') FROM migr_history('head-1:head')
UNION ALL SELECT 'base:', string_agg(revision, ' ') FROM migr_history('base:')
UNION ALL SELECT 'base+1:base+2', string_agg(revision, ' ') FROM migr_history('base+1:base+2')
UNION ALL SELECT ':', string_agg(revision, ' ') FROM migr_history(':')
UNION ALL SELECT ':base', coalesce(string_agg(revision, ' '), '(none)') FROM migr_history(':base')
UNION ALL SELECT 'hist_c3:hist_a1', coalesce(string_agg(revision, ' '), '(none)') FROM migr_history('hist_c3:hist_a1');
-- Invalid ranges.
SELECT refused($$SELECT * FROM migr_history('hist_a1')$$);
SELECT refused($$SELECT * FROM migr_history('a:b:c')$$);
SELECT refused($$SELECT * FROM migr_history('nope_x:')$$);
SELECT refused($$SELECT * FROM migr_history(':hist')$$);
SELECT refused($$SELECT * FROM migr_history('+9:')$$);
SELECT refused($$SELECT * FROM migr_history('+x:')$$);

-- migr_show: by id, prefix, head, current, head-1.
SELECT revision, down_revision, children, message, upgrade, downgrade,
       checksum = (SELECT r.checksum FROM migr.revisions r WHERE r.id = 'hist_b2') AS checksum_ok,
       registered = (SELECT r.seq FROM migr.revisions r WHERE r.id = 'hist_b2') AS registered_is_seq,
       created_at IS NOT NULL AS created, created_by = session_user AS created_by_ok,
       is_head, is_current, applied_at IS NOT NULL AS applied,
       applied_checksum = checksum AS applied_checksum_ok, stamped
  FROM migr_show('hist_b2');
SELECT revision, children, is_head, is_current, applied_at IS NULL AS not_applied, applied_checksum, stamped
  FROM migr_show('hist_d');
SELECT (migr_show('head')).revision AS head, (migr_show('current')).revision AS current,
       (migr_show('head-1')).revision AS head_minus_1, (migr_show('base+1')).revision AS base_plus_1,
       (migr_show('+1')).revision AS plus_1, (migr_show('-1')).revision AS minus_1;
SELECT revision, down_revision, children FROM migr_show('hist_a1');
SELECT downgrade IS NULL AS no_downgrade FROM migr_show('hist_d4');
-- Errors.
SELECT refused($$SELECT migr_show('base')$$);
SELECT refused($$SELECT migr_show('hist')$$);
SELECT refused($$SELECT migr_show('his')$$);
SELECT refused($$SELECT migr_show('nope_x')$$);
SELECT refused($$SELECT migr_show('head+1')$$);
SELECT refused($$SELECT migr_show('')$$);
SELECT migr_show(NULL) IS NULL AS strict;
-- At base, 'current' names base.
SELECT step, revision FROM migr_downgrade('base');
SELECT refused($$SELECT migr_show('current')$$);
SELECT revision, is_current, applied_at IS NOT NULL AS applied FROM migr_history();

SET client_min_messages = warning;
DROP EXTENSION migr CASCADE;
RESET client_min_messages;
