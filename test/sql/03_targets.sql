-- 03_targets: every target form of migr_upgrade and migr_downgrade on a linear chain
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/core.sql
-- A linear chain of five revisions, each creating one table.
SELECT migr_revision('create one', 'CREATE TABLE t_one (id int)', 'DROP TABLE t_one', 'one_1111', '{}');
SELECT migr_revision('create two', 'CREATE TABLE t_two (id int)', 'DROP TABLE t_two', 'two_2222');
SELECT migr_revision('create three', 'CREATE TABLE t_three (id int)', 'DROP TABLE t_three', 'three_3333');
SELECT migr_revision('create four', 'CREATE TABLE t_four (id int)', 'DROP TABLE t_four', 'feat_a4');
SELECT migr_revision('create five', 'CREATE TABLE t_five (id int)', 'DROP TABLE t_five', 'feat_b5');
SELECT id, down_revision, is_head FROM migr.revisions ORDER BY seq;
SELECT st();

-- '+1' from base: the root.
SELECT step, revision, direction, message FROM migr_upgrade('+1');
SELECT st();
-- The integer overload: 1 = '+1'.
SELECT step, revision, direction, message FROM migr_upgrade(1);
SELECT st();
-- A unique prefix.
SELECT step, revision, direction, message FROM migr_upgrade('thre');
SELECT st();
-- Targets already reached: no rows, nothing changes.
SELECT migr_fingerprint() AS fp \gset
SELECT * FROM migr_upgrade('thre');
SELECT * FROM migr_upgrade('three_3333');
SELECT * FROM migr_upgrade('current');
SELECT * FROM migr_upgrade('one_1111');
SELECT * FROM migr_upgrade('base');
SELECT * FROM migr_upgrade('+0');
SELECT * FROM migr_upgrade(0);
SELECT migr_fingerprint() = :'fp' AS unchanged;
-- head-N.
SELECT step, revision, direction, message FROM migr_upgrade('head-1');
SELECT st();
-- head (the default).
SELECT step, revision, direction, message FROM migr_upgrade();
SELECT st();
-- At head: head, heads, the default, the head's id are no-ops; '+1' walks past the head.
SELECT migr_fingerprint() AS fp \gset
SELECT * FROM migr_upgrade();
SELECT * FROM migr_upgrade('head');
SELECT * FROM migr_upgrade('heads');
SELECT * FROM migr_upgrade('feat_b5');
SELECT refused($$SELECT * FROM migr_upgrade('+1')$$);
SELECT refused($$SELECT * FROM migr_upgrade(1)$$);
SELECT migr_fingerprint() = :'fp' AS unchanged;

-- '-1' and the integer overload -1.
SELECT step, revision, direction, message FROM migr_downgrade('-1');
SELECT st();
SELECT step, revision, direction, message FROM migr_downgrade(-1);
SELECT st();
-- Downgrade to the current revision (by name, by 'current'): no rows.
SELECT migr_fingerprint() AS fp \gset
SELECT * FROM migr_downgrade('current');
SELECT * FROM migr_downgrade('three_3333');
SELECT * FROM migr_downgrade('three');
SELECT * FROM migr_downgrade('-0');
SELECT migr_fingerprint() = :'fp' AS unchanged;
-- The integer 0 is '-0' for a downgrade, as 0 is '+0' for an upgrade: no rows.
SELECT * FROM migr_downgrade(0);
-- Targets above the current revision: 55000, nothing changes.
SELECT refused($$SELECT * FROM migr_downgrade('head')$$);
SELECT refused($$SELECT * FROM migr_downgrade('feat_a4')$$);
SELECT refused($$SELECT * FROM migr_downgrade('feat_a')$$);
SELECT refused($$SELECT * FROM migr_downgrade('heads')$$);
SELECT refused($$SELECT * FROM migr_downgrade('one_1111+3')$$);
-- Walking past the base: 22003 saying how far the walk got.
SELECT refused($$SELECT * FROM migr_downgrade('-4')$$);
SELECT refused($$SELECT * FROM migr_downgrade(-9)$$);
SELECT refused($$SELECT * FROM migr_downgrade('two_2222-3')$$);
SELECT refused($$SELECT * FROM migr_downgrade('base-1')$$);
SELECT st();
-- REV+N for a downgrade.
SELECT step, revision, direction, message FROM migr_downgrade('one_1111+1');
SELECT st();
-- base+N for a downgrade.
SELECT step, revision, direction, message FROM migr_downgrade('base+1');
SELECT st();
-- base.
SELECT step, revision, direction, message FROM migr_downgrade('base');
SELECT st();
-- base at base: no rows; '-1' at base walks past the base.
SELECT migr_fingerprint() AS fp \gset
SELECT * FROM migr_downgrade('base');
SELECT * FROM migr_downgrade('current');
SELECT migr_fingerprint() = :'fp' AS unchanged;
SELECT refused($$SELECT * FROM migr_downgrade('-1')$$);
SELECT refused($$SELECT * FROM migr_downgrade('one_1111')$$);

-- REV-N for an upgrade: several steps in one call.
SELECT step, revision, direction, message FROM migr_upgrade('three_3333-1');
SELECT st();
-- The integer overload with 2 steps.
SELECT step, revision, direction, message FROM migr_upgrade(2);
SELECT st();
-- base+N for an upgrade.
SELECT step, revision, direction, message FROM migr_upgrade('base+5');
SELECT st();
-- Walking past the head: 22003 saying how far the walk got.
SELECT refused($$SELECT * FROM migr_upgrade('one_1111+5')$$);
SELECT refused($$SELECT * FROM migr_upgrade('base+6')$$);
SELECT refused($$SELECT * FROM migr_upgrade('head+1')$$);
-- head-N for a downgrade, several steps, newest first.
SELECT step, revision, direction, message FROM migr_downgrade('head-2');
SELECT st();
-- A prefix for a downgrade.
SELECT step, revision, direction, message FROM migr_downgrade('one_');
SELECT st();
-- REV+N for an upgrade; a full id for an upgrade.
SELECT step, revision, direction, message FROM migr_upgrade('one_1111+1');
SELECT st();
SELECT step, revision, direction, message FROM migr_upgrade('feat_a4');
SELECT st();
-- '-3' in one call.
SELECT step, revision, direction, message FROM migr_downgrade('-3');
SELECT st();
-- 'heads' for an upgrade (single head here).
SELECT step, revision, direction, message FROM migr_upgrade('heads');
SELECT st();
-- Every step reports a duration, and the text and integer forms agree.
SELECT bool_and(duration >= '0') AS durations_ok, count(*) FROM migr_downgrade('base');
SELECT st();

-- Malformed and unknown targets: the SQLSTATE, and nothing changes.
SELECT refused($$SELECT * FROM migr_upgrade('feat')$$);
SELECT refused($$SELECT * FROM migr_upgrade('feat_')$$);
SELECT refused($$SELECT * FROM migr_downgrade('feat')$$);
SELECT refused($$SELECT * FROM migr_upgrade('feat+1')$$);
SELECT refused($$SELECT * FROM migr_upgrade('fea')$$);
SELECT refused($$SELECT * FROM migr_upgrade('one')$$);
SELECT refused($$SELECT * FROM migr_upgrade('nope_x')$$);
SELECT refused($$SELECT * FROM migr_upgrade('nope_x+1')$$);
SELECT refused($$SELECT * FROM migr_upgrade('one_11110')$$);
SELECT refused($$SELECT * FROM migr_upgrade('-1')$$);
SELECT refused($$SELECT * FROM migr_upgrade(-1)$$);
SELECT refused($$SELECT * FROM migr_upgrade('current-1')$$);
SELECT refused($$SELECT * FROM migr_downgrade('+1')$$);
SELECT refused($$SELECT * FROM migr_downgrade(1)$$);
SELECT refused($$SELECT * FROM migr_upgrade('+x')$$);
SELECT refused($$SELECT * FROM migr_upgrade('+')$$);
SELECT refused($$SELECT * FROM migr_upgrade('head-')$$);
SELECT refused($$SELECT * FROM migr_upgrade('+1+1')$$);
SELECT refused($$SELECT * FROM migr_upgrade('+ 1')$$);
SELECT refused($$SELECT * FROM migr_upgrade('+1234567890')$$);
SELECT refused($$SELECT * FROM migr_upgrade('heads+1')$$);
SELECT refused($$SELECT * FROM migr_upgrade('')$$);
SELECT refused($$SELECT * FROM migr_downgrade('')$$);
SELECT refused($$SELECT * FROM migr_stamp('')$$);
SELECT refused($$SELECT * FROM migr_upgrade('HEAD')$$);
-- NULL targets are refused (a deploy script passing an unset variable must
-- fail, not silently do nothing).
SELECT refused($$SELECT * FROM migr_upgrade(NULL::text)$$);
SELECT refused($$SELECT * FROM migr_downgrade(NULL::text)$$);
SELECT refused($$SELECT * FROM migr_upgrade(NULL::int)$$);
SELECT refused($$SELECT * FROM migr_downgrade(NULL::int)$$);
SELECT refused($$SELECT * FROM migr_stamp(NULL::text)$$);
SELECT refused($$SELECT * FROM migr_stamp(NULL::text[])$$);
SELECT refused($$SELECT * FROM migr_stamp(ARRAY['head'], NULL)$$);
SELECT st();
SELECT count(*) AS log_rows, count(DISTINCT run_id) AS runs FROM migr.log WHERE operation <> 'register';

SET client_min_messages = warning;
DROP EXTENSION migr CASCADE;
RESET client_min_messages;
