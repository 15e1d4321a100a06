-- examples/demo.sql: a tour of migr, run by `make demo`.
--
-- A small application's schema grows by two revisions: the initial schema
-- (tiers, users and an admin user) and "add widget table".  The demo
-- registers both, upgrades to head, downgrades one step, upgrades again and
-- shows the log.  It expects a fresh database; by hand:
--
--     createdb migr_demo
--     psql -v ON_ERROR_STOP=1 -d migr_demo -f examples/demo.sql

-- From here on psql shows each statement it sends (not comments or \echo
-- lines: those narrate).  `make demo` has created the extension already;
-- CREATE EXTENSION IF NOT EXISTS is for runs by hand.
\set ECHO none
\set QUIET on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS migr;
RESET client_min_messages;
\set QUIET off
\set ECHO queries

\echo
\echo '== 1. Register the initial schema (a new base: down_revision => ''{}'')'
SELECT migr_revision(
    message       => 'initial schema',
    revision      => '0001_initial_schema',
    down_revision => '{}',
    upgrade       => $up$
        CREATE TABLE tiers (
            id    integer PRIMARY KEY,
            name  text NOT NULL UNIQUE
        );
        CREATE TABLE users (
            id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            email    text NOT NULL UNIQUE,
            tier_id  integer NOT NULL REFERENCES tiers,
            is_admin boolean NOT NULL DEFAULT false
        );
        INSERT INTO tiers VALUES (1, 'free'), (2, 'pro');
        INSERT INTO users (email, tier_id, is_admin)
        VALUES ('admin@example.com', 2, true);
    $up$,
    downgrade     => $down$
        DROP TABLE users;
        DROP TABLE tiers;
    $down$);

\echo
\echo '== 2. Register "add widget table" (no down_revision: its parent is the current head)'
SELECT migr_revision(
    message   => 'add widget table',
    revision  => '0002_add_widget_table',
    upgrade   => $up$
        CREATE TABLE widgets (
            id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            owner_id bigint NOT NULL REFERENCES users,
            name     text NOT NULL
        );
    $up$,
    downgrade => 'DROP TABLE widgets;');

\echo
\echo '== 3. History, newest first.  Nothing is applied yet: the database is at base.'
SELECT revision, down_revision, message, is_current, is_head, applied_at
  FROM migr_history();
SELECT * FROM migr_current();

\echo
\echo '== 4. Upgrade to head: both revisions run, in one transaction'
SELECT * FROM migr_upgrade('head');
SELECT * FROM migr_current();
SELECT u.email, t.name AS tier, u.is_admin
  FROM users u JOIN tiers t ON t.id = u.tier_id;

\echo
\echo '== 5. Upgrading again has nothing to do: no rows'
SELECT * FROM migr_upgrade('head');

\echo
\echo '== 6. Downgrade one step: the widget table goes away'
SELECT * FROM migr_downgrade(-1);
SELECT * FROM migr_current();
SELECT to_regclass('widgets') AS widgets_table;

\echo
\echo '== 7. Upgrade again'
SELECT * FROM migr_upgrade('head');
SELECT * FROM migr_current();
SELECT revision, message, is_current, applied_at IS NOT NULL AS applied
  FROM migr_history();

\echo
\echo '== 8. The log: one row per step (durations, times and WAL positions omitted)'
SELECT run_id, operation, revision, direction, target,
       session_user_name, current_user_name
  FROM migr.log
 ORDER BY id;
