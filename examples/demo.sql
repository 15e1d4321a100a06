-- examples/demo.sql: a tour of migr, run by `make demo`.
--
-- The example application's schema lives in examples/migrations/, one file
-- per revision: the initial schema (tiers, users and an admin user), "add
-- widget table", a data migration (users get a tier_id filled in from their
-- plan) and, shipped on its own, the destructive change that drops the old
-- plan column.  The demo loads the files with psql alone, upgrades to head,
-- downgrades one step, upgrades again and shows the log.  It expects a fresh
-- database and runs from examples/ (the file paths are relative); by hand:
--
--     createdb migr_demo
--     cd examples && psql -v ON_ERROR_STOP=1 -d migr_demo -f demo.sql

-- From here on psql shows each statement it sends (not comments or \echo
-- lines: those narrate).  `make demo` has created the extension already;
-- CREATE EXTENSION IF NOT EXISTS is for runs by hand.
\set ECHO none
\set QUIET on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS migr;
RESET client_min_messages;
\set QUIET off

\echo
\echo '== 1. Load the migration files: psql reads each into a variable (the "x"'
\echo '==    keeps a final newline that psql would drop), one migr_load call'
\echo '==    registers them all.  The order does not matter: parents go first.'
\echo '==    (bin/migr-load migrations does exactly this.)'
\set c4 `cat migrations/0004_drop_users_plan.sql && printf x`
\set c3 `cat migrations/0003_users_tier_id.sql && printf x`
\set c2 `cat migrations/0002_add_widget_table.sql && printf x`
\set c1 `cat migrations/0001_initial_schema.sql && printf x`
\set files 'ARRAY[left(:''c4'', -1), left(:''c3'', -1), left(:''c2'', -1), left(:''c1'', -1)]'
\set names 'ARRAY[''0004_drop_users_plan.sql'', ''0003_users_tier_id.sql'', ''0002_add_widget_table.sql'', ''0001_initial_schema.sql'']'
-- (psql would echo the files' whole text: show the call as written instead)
\echo 'SELECT * FROM migr_load(ARRAY[left(:''c4'', -1), ...], ARRAY[''0004_drop_users_plan.sql'', ...]);'
SELECT * FROM migr_load(:files, :names);
\set ECHO queries

\echo
\echo '== 2. History, newest first.  Nothing is applied yet: the database is at base.'
SELECT revision, down_revision, message, is_current, is_head, applied_at
  FROM migr_history();
SELECT * FROM migr_current();

\echo
\echo '== 3. Upgrade to head: every revision runs, in one transaction'
SELECT * FROM migr_upgrade('head');
SELECT * FROM migr_current();
SELECT u.email, t.name AS tier, u.is_admin
  FROM users u JOIN tiers t ON t.id = u.tier_id;

\echo
\echo '== 4. Loading the same files again and upgrading again change nothing'
\set ECHO none
\echo 'SELECT * FROM migr_load(ARRAY[left(:''c4'', -1), ...], ARRAY[''0004_drop_users_plan.sql'', ...]);'
SELECT * FROM migr_load(:files, :names);
\set ECHO queries
SELECT * FROM migr_upgrade('head');

\echo
\echo '== 5. Downgrade one step: the plan column comes back, filled in again'
SELECT * FROM migr_downgrade(-1);
SELECT * FROM migr_current();
SELECT email, plan, tier_id FROM users;

\echo
\echo '== 6. Upgrade again'
SELECT * FROM migr_upgrade('head');
SELECT revision, message, is_current, applied_at IS NOT NULL AS applied
  FROM migr_history();

\echo
\echo '== 7. The next migration file: a fresh id on top of the head, to edit'
\echo '==    (bin/migr-new migrations "message" writes it into the directory)'
\x on
SELECT filename, content FROM migr_template('add widget colors');
\x off

\echo
\echo '== 8. The log: one row per step (durations, times and WAL positions omitted)'
SELECT run_id, operation, revision, direction, target,
       session_user_name, current_user_name
  FROM migr.log
 ORDER BY id;
