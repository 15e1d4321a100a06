-- 04_branches: two roots, two heads, 'heads', a merge
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/helpers/core.sql
-- Two roots: ra1 <- ra2, and rb1 registered with '{}'.
SELECT migr_revision('a one', 'CREATE TABLE br_a1 (id int)', 'DROP TABLE br_a1', 'ra1_x');
SELECT migr_revision('a two', 'CREATE TABLE br_a2 (id int)', 'DROP TABLE br_a2', 'ra2_x');
SELECT migr_revision('b one', 'CREATE TABLE br_b1 (id int)', 'DROP TABLE br_b1', 'rb1_x', '{}');
SELECT id, down_revision, is_head FROM migr.revisions ORDER BY seq;
SELECT * FROM migr_heads();

-- 'head' is ambiguous and names both heads; nothing runs.
SELECT refused($$SELECT * FROM migr_upgrade('head')$$);
SELECT refused($$SELECT * FROM migr_upgrade()$$);
SELECT refused($$SELECT * FROM migr_upgrade('head-1')$$);
SELECT refused($$SELECT * FROM migr_downgrade('head')$$);
SELECT refused($$SELECT migr_show('head')$$);
-- '+1' from base has two roots to go to.
SELECT refused($$SELECT * FROM migr_upgrade('+1')$$);
-- A registration without down_revision cannot choose between the heads.
SELECT refused($$SELECT migr_revision('m', 'SELECT 1')$$);
SELECT refused($$SELECT migr_revision('m', 'SELECT 1', NULL, 'rc_x')$$);
SELECT st();

-- 'heads' applies both branches, oldest registration first among the ready ones.
SELECT step, revision, direction, message FROM migr_upgrade('heads');
SELECT st();
SELECT * FROM migr_current();
SELECT * FROM migr_upgrade('heads');
-- A relative step from two current heads is ambiguous.
SELECT refused($$SELECT * FROM migr_upgrade('+1')$$);
SELECT refused($$SELECT * FROM migr_downgrade('-1')$$);
-- Zero steps stay where the database is, however many heads it has.
SELECT count(*) AS no_steps FROM migr_downgrade(0);
SELECT count(*) AS no_steps FROM migr_upgrade(0);
SELECT st();
-- Downgrading one branch to its root leaves the other alone.
SELECT step, revision, direction, message FROM migr_downgrade('ra1_x');
SELECT st();
-- base removes both branches, newest registration first.
SELECT step, revision, direction, message FROM migr_downgrade('base');
SELECT st();
-- Upgrading to one revision applies only its ancestors.
SELECT step, revision, direction, message FROM migr_upgrade('rb1_x');
SELECT st();
SELECT step, revision, direction, message FROM migr_upgrade('ra2_x');
SELECT st();
-- An explicit revision relative to itself works in a branched graph.
SELECT step, revision, direction, message FROM migr_downgrade('ra2_x-1');
SELECT st();

-- A merge revision joins the heads: 'head' works again.
SELECT migr_revision('merge', 'CREATE TABLE br_m (id int)', 'DROP TABLE br_m', 'rm_x', ARRAY['ra2_x', 'rb1_x']);
SELECT * FROM migr_heads();
SELECT step, revision, direction, message FROM migr_upgrade('head');
SELECT st();
-- One version row for the merge ...
SELECT * FROM migr_current();
-- ... and both parents come back as version rows when it is removed.
SELECT step, revision, direction, message FROM migr_downgrade(-1);
SELECT st();
SELECT step, revision, direction, message FROM migr_upgrade();
-- The last step down from a merge may reach both parents.
SELECT step, revision, direction, message FROM migr_downgrade('head-1');
SELECT st();
-- A walk down past a merge is ambiguous.
SELECT step, revision, direction, message FROM migr_upgrade();
SELECT refused($$SELECT * FROM migr_downgrade('-2')$$);
SELECT refused($$SELECT * FROM migr_upgrade('base+2')$$);
-- History lists every revision newest first, children before parents.
SELECT revision, down_revision, is_current, is_head FROM migr_history();
SELECT step, revision, direction, message FROM migr_downgrade('base');
SELECT st();

SET client_min_messages = warning;
DROP EXTENSION migr CASCADE;
RESET client_min_messages;
