/* sql/migr--0.1.sql: catalog tables and SQL functions of migr 0.1 */

\echo Use "CREATE EXTENSION migr" to load this file. \quit

/*
 * The catalog lives in its own schema.  Only the extension owner may touch it
 * directly; everyone else goes through the functions below, which write the
 * catalog as the extension owner and run migration scripts as the caller.
 */
CREATE SCHEMA migr;
REVOKE ALL ON SCHEMA migr FROM PUBLIC;

-- Registration order: ties in every plan are broken by it.
CREATE SEQUENCE migr.revision_seq;

CREATE TABLE migr.revisions (
    id            text COLLATE "C" PRIMARY KEY
                  CHECK (id OPERATOR(pg_catalog.~) '^[A-Za-z0-9_]{1,64}$'),
    down_revision text[] COLLATE "C" NOT NULL DEFAULT '{}',
    depends_on    text[] COLLATE "C" NOT NULL DEFAULT '{}',
    message       text NOT NULL,
    upgrade       text NOT NULL,
    downgrade     text,
    checksum      text NOT NULL,
    seq           bigint NOT NULL UNIQUE
                  DEFAULT pg_catalog.nextval('migr.revision_seq'),
    is_head       boolean NOT NULL DEFAULT true,
    changes       text NOT NULL DEFAULT 'additive'
                  CHECK (changes IN ('additive', 'destructive', 'mixed')),
    destructive_statements text[] NOT NULL DEFAULT '{}',
    destructive   boolean NOT NULL DEFAULT false,
    transactional boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    created_by    name NOT NULL
);
COMMENT ON TABLE migr.revisions IS 'Every registered migration: its scripts, parents and checksum.';
COMMENT ON COLUMN migr.revisions.down_revision IS 'Parents: applying this revision replaces their version rows.';
COMMENT ON COLUMN migr.revisions.depends_on IS 'Revisions of other branches that must be applied first.';
COMMENT ON COLUMN migr.revisions.is_head IS 'True while no revision names this one as a parent.';
COMMENT ON COLUMN migr.revisions.checksum IS 'SHA-256 of the upgrade and downgrade scripts.';
COMMENT ON COLUMN migr.revisions.changes IS 'What the upgrade script does to existing objects, by the server''s parser: additive, destructive or mixed.';
COMMENT ON COLUMN migr.revisions.destructive_statements IS 'The upgrade statements that drop, rename, retype or truncate.';
COMMENT ON COLUMN migr.revisions.transactional IS 'False when a script has statements that cannot run in a transaction (CREATE INDEX CONCURRENTLY ...): applied with migr_script().';
COMMENT ON COLUMN migr.revisions.destructive IS 'Registered with destructive => true: its destructive changes are acknowledged.';
-- The graph's heads, found without scanning the history.
CREATE INDEX revisions_heads ON migr.revisions (seq) WHERE is_head;
-- Children of a revision: down_revision @> ARRAY[parent].  No pending list:
-- every lookup would scan it, and the no-op upgrade must not grow with the
-- history between two vacuums.
CREATE INDEX revisions_children ON migr.revisions USING gin (down_revision)
    WITH (fastupdate = off);
-- Dependents of a revision: depends_on @> ARRAY[revision].
CREATE INDEX revisions_dependents ON migr.revisions USING gin (depends_on)
    WITH (fastupdate = off);

CREATE TABLE migr.branch_labels (
    label    text COLLATE "C" PRIMARY KEY
             CHECK (label OPERATOR(pg_catalog.~) '^[A-Za-z0-9_]{1,64}$'),
    revision text COLLATE "C" NOT NULL REFERENCES migr.revisions (id)
);
COMMENT ON TABLE migr.branch_labels IS 'Branch labels: each names the lineage that starts at its revision.';
CREATE INDEX branch_labels_revision ON migr.branch_labels (revision);

CREATE TABLE migr.applied (
    revision   text COLLATE "C" PRIMARY KEY REFERENCES migr.revisions (id),
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL,
    applied_by name NOT NULL,
    stamped    boolean NOT NULL,
    downgrade  text
);
COMMENT ON TABLE migr.applied IS 'One row per revision whose changes are in the database.';
COMMENT ON COLUMN migr.applied.checksum IS 'Checksum of the scripts as they were when they ran.';
COMMENT ON COLUMN migr.applied.stamped IS 'True when migr_stamp marked it without running its script.';
COMMENT ON COLUMN migr.applied.downgrade IS 'The downgrade script registered when it was applied: what undoes what ran.';

CREATE TABLE migr.version (
    revision text COLLATE "C" PRIMARY KEY REFERENCES migr.applied (revision)
);
COMMENT ON TABLE migr.version IS 'One row per applied head (Alembic''s version table); no rows means base.';

CREATE SEQUENCE migr.run_seq;
CREATE SEQUENCE migr.log_seq;

CREATE TABLE migr.log (
    id                bigint PRIMARY KEY
                      DEFAULT pg_catalog.nextval('migr.log_seq'),
    run_id            bigint,
    operation         text NOT NULL
                      CHECK (operation IN ('register', 'upgrade', 'downgrade',
                                           'stamp', 'redo', 'launch', 'repair',
                                           'adhoc_ddl')),
    revision          text COLLATE "C",
    direction         text CHECK (direction IN ('up', 'down')),
    target            text,
    checksum          text,
    command_tag       text,
    statement         text,
    environment       text NOT NULL,
    confirmed         boolean NOT NULL,
    error_sqlstate    text,
    error_message     text,
    session_user_name name NOT NULL,
    current_user_name name NOT NULL,
    application_name  text,
    client_addr       inet,
    started_at        timestamptz NOT NULL,
    duration          interval NOT NULL,
    wal_lsn           pg_lsn NOT NULL,
    xid               xid8 NOT NULL
);
COMMENT ON TABLE migr.log IS 'One row per change: each step of an upgrade, downgrade, stamp or redo, each registration, launch and repair, and each ad-hoc DDL statement let through (append-only).';
COMMENT ON COLUMN migr.log.confirmed IS 'migr.confirm_production was yes for this change.';
COMMENT ON COLUMN migr.log.statement IS 'For adhoc_ddl: the statement the break glass let through; for a failed step: the statement that failed.';
COMMENT ON COLUMN migr.log.error_sqlstate IS 'Set on the row of a step that failed (committed by migr_upgrade_each); NULL for steps that succeeded.';
COMMENT ON COLUMN migr.log.run_id IS 'Steps of one migr call share a run_id; NULL for rows that are not steps.';
COMMENT ON COLUMN migr.log.wal_lsn IS 'WAL insert position just before the step ran.';
CREATE INDEX log_revision ON migr.log (revision);

/*
 * Bumped by every operation that changes the catalog: under REPEATABLE READ
 * a caller whose snapshot predates another deploy fails with a serialization
 * error here instead of replaying migrations that already ran.  Its one row
 * is made here, so pg_dump leaves it out: a restore makes it anew.
 */
CREATE TABLE migr.state (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    generation bigint NOT NULL
);
INSERT INTO migr.state VALUES (true, 0);

/*
 * Steps of a script from migr_script() that started and have not finished.
 * A statement that cannot run in a transaction commits by itself, so a
 * failure in the middle of such a step leaves a row here for migr_status().
 */
CREATE TABLE migr.in_progress (
    revision   text COLLATE "C" PRIMARY KEY REFERENCES migr.revisions (id),
    direction  text NOT NULL CHECK (direction IN ('up', 'down')),
    target     text NOT NULL,
    started_at timestamptz NOT NULL,
    started_by name NOT NULL
);
COMMENT ON TABLE migr.in_progress IS 'Steps of a migr_script() run that began and did not finish.';

/* The product launched (has real users): from now on applied revisions are immutable. */
CREATE TABLE migr.launch (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    launched_at timestamptz NOT NULL,
    launched_by name NOT NULL
);
COMMENT ON TABLE migr.launch IS 'One row once migr_launch() has recorded that the product has real users.';

SELECT pg_catalog.pg_extension_config_dump('migr.revisions', '');
SELECT pg_catalog.pg_extension_config_dump('migr.branch_labels', '');
SELECT pg_catalog.pg_extension_config_dump('migr.applied', '');
SELECT pg_catalog.pg_extension_config_dump('migr.version', '');
SELECT pg_catalog.pg_extension_config_dump('migr.log', '');
SELECT pg_catalog.pg_extension_config_dump('migr.launch', '');
SELECT pg_catalog.pg_extension_config_dump('migr.in_progress', '');
SELECT pg_catalog.pg_extension_config_dump('migr.revision_seq', '');
SELECT pg_catalog.pg_extension_config_dump('migr.run_seq', '');
SELECT pg_catalog.pg_extension_config_dump('migr.log_seq', '');

/* What migr_show() returns. */
CREATE TYPE migr.revision_info AS (
    revision         text,
    down_revision    text[],
    depends_on       text[],
    branch_labels    text[],
    children         text[],
    dependents       text[],
    message          text,
    upgrade          text,
    downgrade        text,
    checksum         text,
    changes          text,
    destructive_statements text[],
    destructive      boolean,
    transactional    boolean,
    registered       bigint,
    created_at       timestamptz,
    created_by       name,
    is_head          boolean,
    is_current       boolean,
    applied_at       timestamptz,
    applied_checksum text,
    stamped          boolean
);

/* ---------------------------------------------------------------------
 * Registration
 * ---------------------------------------------------------------------
 */
CREATE FUNCTION migr_revision(
    message       text,
    upgrade       text,
    downgrade     text DEFAULT NULL,
    revision      text DEFAULT NULL,
    down_revision text[] DEFAULT NULL,
    branch_labels text[] DEFAULT NULL,
    depends_on    text[] DEFAULT NULL,
    destructive   boolean DEFAULT NULL,
    transactional boolean DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'migr_revision'
LANGUAGE C VOLATILE;

CREATE FUNCTION migr_merge(
    revisions text[] DEFAULT ARRAY['heads'],
    message   text DEFAULT 'merge',
    revision  text DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'migr_merge'
LANGUAGE C VOLATILE;

/* ---------------------------------------------------------------------
 * Running
 * ---------------------------------------------------------------------
 */
CREATE FUNCTION migr_upgrade(target text DEFAULT 'head', dry_run boolean DEFAULT false)
RETURNS TABLE (step integer, revision text, direction text, message text,
               duration interval, locks text[], rewritten text[], error text)
AS 'MODULE_PATHNAME', 'migr_upgrade'
LANGUAGE C VOLATILE;

CREATE FUNCTION migr_upgrade(target integer)
RETURNS TABLE (step integer, revision text, direction text, message text,
               duration interval, locks text[], rewritten text[], error text)
AS 'MODULE_PATHNAME', 'migr_upgrade'
LANGUAGE C VOLATILE;

CREATE FUNCTION migr_downgrade(target text, dry_run boolean DEFAULT false)
RETURNS TABLE (step integer, revision text, direction text, message text,
               duration interval, locks text[], rewritten text[], error text)
AS 'MODULE_PATHNAME', 'migr_downgrade'
LANGUAGE C VOLATILE;

CREATE FUNCTION migr_downgrade(target integer)
RETURNS TABLE (step integer, revision text, direction text, message text,
               duration interval, locks text[], rewritten text[], error text)
AS 'MODULE_PATHNAME', 'migr_downgrade'
LANGUAGE C VOLATILE;

CREATE FUNCTION migr_stamp(VARIADIC targets text[])
RETURNS TABLE (step integer, revision text, direction text, message text,
               duration interval)
AS 'MODULE_PATHNAME', 'migr_stamp'
LANGUAGE C VOLATILE;

CREATE FUNCTION migr_stamp(targets text[], purge boolean)
RETURNS TABLE (step integer, revision text, direction text, message text,
               duration interval)
AS 'MODULE_PATHNAME', 'migr_stamp'
LANGUAGE C VOLATILE;

/* ---------------------------------------------------------------------
 * Reading
 * ---------------------------------------------------------------------
 */
CREATE FUNCTION migr_current()
RETURNS SETOF text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
    SELECT v.revision
      FROM migr.version v
      JOIN migr.revisions r ON r.id OPERATOR(pg_catalog.=) v.revision
     ORDER BY r.seq
$$;

/*
 * Every head of the graph.  A head some other revision depends on is listed
 * with those dependents: "head" does not count it, since upgrading to the
 * dependents applies it anyway.
 */
CREATE FUNCTION migr_heads()
RETURNS TABLE (revision text, branch_labels text[], depended_on_by text[])
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
    SELECT r.id,
           ARRAY(SELECT l.label FROM migr.branch_labels l
                  WHERE l.revision OPERATOR(pg_catalog.=) r.id ORDER BY l.label),
           ARRAY(SELECT d.id FROM migr.revisions d
                  WHERE d.depends_on OPERATOR(pg_catalog.@>) ARRAY[r.id]
                  ORDER BY d.seq)
      FROM migr.revisions r
     WHERE r.is_head
     ORDER BY r.seq
$$;

/* Branch points: revisions with more than one child. */
CREATE FUNCTION migr_branches()
RETURNS TABLE (revision text, children text[])
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
    SELECT p.id, c.children
      FROM migr.revisions p
      JOIN LATERAL (
            SELECT array_agg(k.id ORDER BY k.seq) AS children
              FROM migr.revisions k
             WHERE k.down_revision OPERATOR(pg_catalog.@>) ARRAY[p.id]) c
        ON pg_catalog.cardinality(c.children) OPERATOR(pg_catalog.>) 1
     ORDER BY p.seq
$$;

CREATE FUNCTION migr_history(range text DEFAULT NULL)
RETURNS TABLE (revision text, down_revision text[], depends_on text[],
               branch_labels text[], message text, is_current boolean,
               is_head boolean, applied_at timestamptz,
               created_at timestamptz, created_by name)
AS 'MODULE_PATHNAME', 'migr_history'
LANGUAGE C STABLE;

CREATE FUNCTION migr_show(revision text)
RETURNS migr.revision_info
AS 'MODULE_PATHNAME', 'migr_show'
LANGUAGE C STABLE STRICT;

/* ---------------------------------------------------------------------
 * Production guards
 * ---------------------------------------------------------------------
 */

/* SHA-256 of a revision's scripts, as stored in the checksum columns. */
CREATE FUNCTION migr.script_checksum(upgrade text, downgrade text)
RETURNS text
AS 'MODULE_PATHNAME', 'migr_script_checksum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION migr_redo(revision text)
RETURNS TABLE (step integer, revision text, direction text, message text,
               duration interval)
AS 'MODULE_PATHNAME', 'migr_redo'
LANGUAGE C VOLATILE;

CREATE FUNCTION migr_launch()
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'migr_launch'
LANGUAGE C VOLATILE;

CREATE FUNCTION migr_validate()
RETURNS TABLE (revision text, applied_checksum text, current_checksum text,
               applied_at timestamptz, problem text)
AS 'MODULE_PATHNAME', 'migr_validate'
LANGUAGE C STABLE;

CREATE FUNCTION migr_repair(revision text)
RETURNS text
AS 'MODULE_PATHNAME', 'migr_repair'
LANGUAGE C VOLATILE;

CREATE FUNCTION migr_rollback_check(expected text)
RETURNS TABLE (revision text, message text, state text, compatible boolean,
               reason text)
AS 'MODULE_PATHNAME', 'migr_rollback_check'
LANGUAGE C STABLE;

CREATE FUNCTION migr_check_head(expected text, allow_compatible boolean DEFAULT false)
RETURNS boolean
AS 'MODULE_PATHNAME', 'migr_check_head'
LANGUAGE C STABLE;

CREATE FUNCTION migr_status()
RETURNS jsonb
AS 'MODULE_PATHNAME', 'migr_status'
LANGUAGE C STABLE;

/* ---------------------------------------------------------------------
 * Seeing before running: plan, lint, offline scripts, per-step commit
 * ---------------------------------------------------------------------
 */
CREATE FUNCTION migr_plan(target text DEFAULT 'head', direction text DEFAULT 'upgrade')
RETURNS TABLE (step integer, revision text, statement integer, line integer,
               sql text, command text, locks text[], rewrites boolean,
               scans boolean, destructive boolean, transactional boolean)
AS 'MODULE_PATHNAME', 'migr_plan'
LANGUAGE C VOLATILE;

CREATE FUNCTION migr_lint(revision text DEFAULT NULL)
RETURNS TABLE (rule text, severity text, revision text, statement integer,
               line integer, message text, safer text)
AS 'MODULE_PATHNAME', 'migr_lint'
LANGUAGE C STABLE;

CREATE FUNCTION migr_script(target text DEFAULT 'head', direction text DEFAULT 'upgrade')
RETURNS text
AS 'MODULE_PATHNAME', 'migr_script'
LANGUAGE C VOLATILE;

/* Bookkeeping calls around each step of a migr_script() script. */
CREATE FUNCTION migr_step_begin(revision text, direction text, checksum text, target text)
RETURNS void
AS 'MODULE_PATHNAME', 'migr_script_begin'
LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION migr_step_end(revision text, direction text, checksum text, target text)
RETURNS void
AS 'MODULE_PATHNAME', 'migr_script_end'
LANGUAGE C VOLATILE STRICT;

CREATE PROCEDURE migr_upgrade_each(target text DEFAULT 'head')
AS 'MODULE_PATHNAME', 'migr_upgrade_each'
LANGUAGE C;

/* Tables rewritten during a dry run, reported per step. */
CREATE FUNCTION migr.rewrite_watch()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'migr_rewrite_watch'
LANGUAGE C;

CREATE EVENT TRIGGER migr_rewrite_watch ON table_rewrite
    EXECUTE FUNCTION migr.rewrite_watch();

/*
 * The DDL lock-down: in production, DDL that does not come from a migr call
 * is refused.  ENABLE ALWAYS: session_replication_role = replica does not
 * switch it off.
 */
CREATE FUNCTION migr.ddl_guard()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'migr_ddl_guard'
LANGUAGE C;

CREATE EVENT TRIGGER migr_ddl_guard ON ddl_command_start
    EXECUTE FUNCTION migr.ddl_guard();
ALTER EVENT TRIGGER migr_ddl_guard ENABLE ALWAYS;

/*
 * Changing anything is for roles a DBA chose: see "Letting a deploy role
 * migrate" in README.md.  migr_show() reveals whole scripts, so it is not
 * public either.
 */
REVOKE ALL ON FUNCTION migr_revision(text, text, text, text, text[], text[], text[], boolean, boolean) FROM PUBLIC;
REVOKE ALL ON PROCEDURE migr_upgrade_each(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migr_script(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migr_plan(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migr_lint(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migr_step_begin(text, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migr_step_end(text, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migr_redo(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migr_launch() FROM PUBLIC;
REVOKE ALL ON FUNCTION migr_repair(text) FROM PUBLIC;
-- Its reasons quote destructive statements, like the scripts migr_show shows.
REVOKE ALL ON FUNCTION migr_rollback_check(text) FROM PUBLIC;

REVOKE ALL ON FUNCTION migr_merge(text[], text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migr_upgrade(text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION migr_upgrade(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION migr_downgrade(text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION migr_downgrade(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION migr_stamp(text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION migr_stamp(text[], boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION migr_show(text) FROM PUBLIC;

/* ---------------------------------------------------------------------
 * Migration files: one revision per file, parsed and written by migr
 * (src/files.c).  See "Migration files" in README.md.
 * ---------------------------------------------------------------------
 */

/* Register the revision one file describes; returns its id. */
CREATE FUNCTION migr_load(content text, filename text DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'migr_load_file'
LANGUAGE C VOLATILE;

/* Register a set of files, parents first whatever the array order. */
CREATE FUNCTION migr_load(contents text[], filenames text[] DEFAULT NULL)
RETURNS TABLE (filename text, revision text, action text)
AS 'MODULE_PATHNAME', 'migr_load_files'
LANGUAGE C VOLATILE;

/* Every revision as a file, in registration order. */
CREATE FUNCTION migr_export()
RETURNS TABLE (filename text, content text)
AS 'MODULE_PATHNAME', 'migr_export'
LANGUAGE C STABLE;

/* A new file to edit, on top of the single head; registers nothing. */
CREATE FUNCTION migr_template(message text, revision text DEFAULT NULL,
                              down_revision text[] DEFAULT NULL)
RETURNS TABLE (filename text, content text)
AS 'MODULE_PATHNAME', 'migr_template'
LANGUAGE C VOLATILE;

/* Loading registers revisions; export and template reveal scripts and ids. */
REVOKE ALL ON FUNCTION migr_load(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migr_load(text[], text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION migr_export() FROM PUBLIC;
REVOKE ALL ON FUNCTION migr_template(text, text, text[]) FROM PUBLIC;
