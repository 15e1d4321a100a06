/* sql/migr--0.1--0.2.sql: from migr 0.1 to 0.2 */

\echo Use "ALTER EXTENSION migr UPDATE TO '0.2'" to load this file. \quit

/*
 * 0.1 is released: every catalog change of 0.2 is made here, never in
 * sql/migr--0.1.sql.  CREATE EXTENSION migr runs migr--0.1.sql and then this
 * file; ALTER EXTENSION migr UPDATE runs this file on a 0.1 database whose
 * history it must keep.  Each section below names the change it belongs to.
 */

/* ---------------------------------------------------------------------
 * migr_graph: the revision graph as Graphviz DOT or Mermaid text, for
 * pictures (src/graph_render.c; bin/migr-graph renders it).  It shows ids,
 * labels and messages, as migr_history() does, so it is open to everyone
 * like migr_history() and migr_heads().
 * ---------------------------------------------------------------------
 */
CREATE FUNCTION migr_graph(format text DEFAULT 'dot')
RETURNS text
AS 'MODULE_PATHNAME', 'migr_graph'
LANGUAGE C STABLE;

/* ---------------------------------------------------------------------
 * Registrants: whose privileges a script runs with (issue 9, items 3, 4)
 *
 * created_by names the role; a name outlives its role (DROP ROLE, then a
 * new role with the same name), so the role itself is kept too, as a
 * regrole: the same role by OID inside a cluster, dumped and restored by
 * name, kept by pg_upgrade.  Whoever last changed a revision is its
 * registrant.  migr.applied keeps the registrant of the downgrade script it
 * keeps, since that script may differ from the one registered now.
 *
 * Beside each registrant, the name its role had then: a role is the
 * registrant only while the role with that OID still has that name.  A
 * dump writes a regrole as its role's name, but a dropped role's OID as a
 * bare number, which the cluster the dump is restored into may have given
 * to another role; so may a cluster where the role was renamed.  Either
 * way the registrant is unknown and its scripts do not run.
 * ---------------------------------------------------------------------
 */
ALTER TABLE migr.revisions ADD COLUMN registrant regrole;
COMMENT ON COLUMN migr.revisions.registrant IS 'The role that registered (or last changed) the revision: its scripts never run with more privileges than this role has.';
ALTER TABLE migr.revisions ADD COLUMN registrant_name name;
COMMENT ON COLUMN migr.revisions.registrant_name IS 'The name registrant had when it registered the revision: the revision''s scripts run only while the role with that OID has this name.';
/*
 * Who registered the scripts a revision has now.  0.1 kept the first
 * author in created_by, even after another role changed the scripts, but
 * logged every registration with its role and checksum: the registrant is
 * the role of the last registration of the revision's present checksum.
 * Where the log has no registration of these scripts (in 0.1 every
 * registration was logged, so the log lost it), who wrote them is not known
 * and the registrant stays unknown: its scripts do not run until registered
 * again.  The same goes for the downgrade kept in migr.applied, by the
 * checksum it ran with.  (catalog.c's REGISTRANT_BY_LOG reads a catalog
 * still at 0.1 the same way.)
 */
CREATE FUNCTION migr.registrant_01(revision text, checksum text)
RETURNS name
LANGUAGE sql STABLE
AS $$
SELECT l.current_user_name FROM migr.log l
 WHERE l.operation OPERATOR(pg_catalog.=) 'register'
   AND l.revision OPERATOR(pg_catalog.=) $1
   AND l.checksum OPERATOR(pg_catalog.=) $2
 ORDER BY l.id DESC LIMIT 1
$$;
UPDATE migr.revisions r SET registrant = g.oid, registrant_name = g.rolname
  FROM pg_catalog.pg_roles g
 WHERE g.rolname OPERATOR(pg_catalog.=) migr.registrant_01(r.id, r.checksum);

ALTER TABLE migr.applied ADD COLUMN downgrade_registrant regrole;
COMMENT ON COLUMN migr.applied.downgrade_registrant IS 'The registrant of the downgrade script kept here: it never runs with more privileges than this role has.';
ALTER TABLE migr.applied ADD COLUMN downgrade_registrant_name name;
COMMENT ON COLUMN migr.applied.downgrade_registrant_name IS 'The name downgrade_registrant had when it registered the downgrade script kept here.';
UPDATE migr.applied a SET downgrade_registrant = g.oid,
       downgrade_registrant_name = g.rolname
  FROM migr.revisions r, pg_catalog.pg_roles g
 WHERE r.id OPERATOR(pg_catalog.=) a.revision
   AND g.rolname OPERATOR(pg_catalog.=) migr.registrant_01(r.id, a.checksum);
DROP FUNCTION migr.registrant_01(text, text);

/* ---------------------------------------------------------------------
 * offline: steps of migr_script() scripts (issue 9, items 8, 9, 11)
 *
 * 0.2 ends a step's migr.in_progress entry when an upgrade, downgrade,
 * stamp or redo records where its revision is (the documented fix of an
 * interrupted step is to repair by hand, then migr_stamp()); 0.1 left the
 * entry behind, so migr_status() kept reporting such a step as unfinished.
 * End the entries that a later recorded step of their revision has
 * overtaken.  Entries of steps that nothing recorded since stay: running
 * the script again, or a stamp, ends them.
 * ---------------------------------------------------------------------
 */
DELETE FROM migr.in_progress p
 WHERE EXISTS (SELECT 1 FROM migr.log l
                WHERE l.revision OPERATOR(pg_catalog.=) p.revision
                  AND l.operation OPERATOR(pg_catalog.=) ANY ('{upgrade,downgrade,stamp,redo}'::text[])
                  AND l.error_sqlstate IS NULL
                  AND l.started_at OPERATOR(pg_catalog.>=) p.started_at);

/* ---------------------------------------------------------------------
 * C functions named like their SQL functions (issue 11)
 *
 * 0.1 called the C functions of migr_step_begin() and migr_step_end()
 * migr_script_begin and migr_script_end; the library keeps those names
 * for this file's predecessor.  CREATE OR REPLACE keeps each function's
 * owner, privileges and dependents.
 * ---------------------------------------------------------------------
 */
CREATE OR REPLACE FUNCTION migr_step_begin(revision text, direction text, checksum text, target text)
RETURNS void
AS 'MODULE_PATHNAME', 'migr_step_begin'
LANGUAGE C VOLATILE STRICT;

CREATE OR REPLACE FUNCTION migr_step_end(revision text, direction text, checksum text, target text)
RETURNS void
AS 'MODULE_PATHNAME', 'migr_step_end'
LANGUAGE C VOLATILE STRICT;

/* ---------------------------------------------------------------------
 * Replicas and dumps: a restore keeps migr.log (issue 15)
 *
 * Restored into a production database, a dump's schema is ad-hoc DDL that
 * migr.allow_adhoc_ddl lets through and logs in migr.log, with ids 1, 2, ...
 * before the dumped log rows, which have such ids too, arrive: their COPY
 * failed on a duplicate key and the history was lost (src/restore.c).  At
 * the first restored row of a transaction, this trigger moves the rows this
 * database wrote below the lowest id, so the restored rows keep theirs.  It
 * fires only for rows migr does not write: migr's own rows carry the id of
 * the inserting transaction, restored rows the one they had.
 * ---------------------------------------------------------------------
 */
CREATE FUNCTION migr.log_make_room()
RETURNS trigger
AS 'MODULE_PATHNAME', 'migr_log_make_room'
LANGUAGE C;
REVOKE ALL ON FUNCTION migr.log_make_room() FROM PUBLIC;

CREATE TRIGGER log_make_room
BEFORE INSERT ON migr.log
FOR EACH ROW
WHEN (NEW.xid OPERATOR(pg_catalog.<>) pg_catalog.pg_current_xact_id())
EXECUTE FUNCTION migr.log_make_room();

/*
 * A dump of a 0.1 database has no registrant columns: restored into a
 * database with 0.2 (pg_dump's CREATE EXTENSION names no version), its COPY
 * leaves them NULL, and every registrant of such a restore is unknown.  Who
 * last registered a revision's scripts is only in its log (see
 * migr.registrant_01 above), which a restore may load after the revisions,
 * in pieces, or not at all; to get the registrants, create the extension
 * at 0.1, restore, then update.  A 0.2 dump has the columns, NULL where the
 * registrant is unknown, and such a registrant stays unknown.
 */

/* ---------------------------------------------------------------------
 * One call deploys any history; failures stay on record (issue 12)
 *
 * CALL migr_upgrade_each() runs steps that cannot run in a transaction in
 * a background worker (src/worker.c); migr_downgrade_each() is its
 * counterpart going down, not public either.  A failed step's log row now
 * says at which line of its script the failing statement starts; 0.1 rows
 * have none.  Failed operations leave such a row even when their own
 * transaction rolls back (a background worker commits it).
 * ---------------------------------------------------------------------
 */
CREATE PROCEDURE migr_downgrade_each(target text)
AS 'MODULE_PATHNAME', 'migr_downgrade_each'
LANGUAGE C;
REVOKE ALL ON PROCEDURE migr_downgrade_each(text) FROM PUBLIC;

ALTER TABLE migr.log ADD COLUMN error_line integer;
COMMENT ON COLUMN migr.log.error_line IS 'On the row of a failed step: the line of its script where the failing statement starts.';
COMMENT ON COLUMN migr.log.error_sqlstate IS 'Set on the row of a step that failed (committed even when the failed call rolled back); NULL for steps that succeeded.';

/* ---------------------------------------------------------------------
 * Citus (issue 15): on a worker node of a Citus cluster the history lives
 * on the coordinator, and a worker's migr catalog stays empty.  The reading
 * functions written in SQL say so, as the C ones do, with a notice from
 * migr.note_citus_worker() (nothing happens off a worker).  CREATE OR
 * REPLACE keeps each function's owner, privileges and dependents.
 * ---------------------------------------------------------------------
 */
CREATE FUNCTION migr.note_citus_worker()
RETURNS void
AS 'MODULE_PATHNAME', 'migr_note_citus_worker'
LANGUAGE C STABLE;

CREATE OR REPLACE FUNCTION migr_current()
RETURNS SETOF text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
    SELECT migr.note_citus_worker();
    SELECT v.revision
      FROM migr.version v
      JOIN migr.revisions r ON r.id OPERATOR(pg_catalog.=) v.revision
     ORDER BY r.seq
$$;

CREATE OR REPLACE FUNCTION migr_heads()
RETURNS TABLE (revision text, branch_labels text[], depended_on_by text[])
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
    SELECT migr.note_citus_worker();
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

CREATE OR REPLACE FUNCTION migr_branches()
RETURNS TABLE (revision text, children text[])
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
    SELECT migr.note_citus_worker();
    SELECT p.id, c.children
      FROM migr.revisions p
      JOIN LATERAL (
            SELECT array_agg(k.id ORDER BY k.seq) AS children
              FROM migr.revisions k
             WHERE k.down_revision OPERATOR(pg_catalog.@>) ARRAY[p.id]) c
        ON pg_catalog.cardinality(c.children) OPERATOR(pg_catalog.>) 1
     ORDER BY p.seq
$$;

/* ---------------------------------------------------------------------
 * deploy: errors name the migration file (issue 12)
 *
 * A revision loaded from a migration file (migr_load) remembers the file's
 * name and the file's lines where its upgrade and downgrade scripts start,
 * so that the error context of a failing statement names the file and the
 * statement's line in it.  Revisions registered by SQL have none (NULL);
 * so do those of a 0.1 database until their files are loaded again.
 * ---------------------------------------------------------------------
 */
ALTER TABLE migr.revisions ADD COLUMN filename text;
ALTER TABLE migr.revisions ADD COLUMN upgrade_line integer;
ALTER TABLE migr.revisions ADD COLUMN downgrade_line integer;
ALTER TABLE migr.revisions ADD CONSTRAINT revisions_source_check
  CHECK ((filename IS NULL AND upgrade_line IS NULL AND downgrade_line IS NULL)
         OR (filename IS NOT NULL AND upgrade_line OPERATOR(pg_catalog.>) 0
             AND (downgrade_line IS NULL OR downgrade_line OPERATOR(pg_catalog.>) 0)));
COMMENT ON COLUMN migr.revisions.filename IS 'The migration file the revision was last loaded from (as migr_load was given it); NULL when registered by SQL.';
COMMENT ON COLUMN migr.revisions.upgrade_line IS 'The line of that file where the upgrade script starts.';
COMMENT ON COLUMN migr.revisions.downgrade_line IS 'The line of that file where the downgrade script starts; NULL without one.';

/* ---------------------------------------------------------------------
 * Switching from other tools (issue 14): migr_adopt() marks as applied
 * what another tool's version table says it applied, logged with the new
 * operation "adopt"; migr_script_statements() splits a script with the
 * server's parser for bin/migr-import.  migr_script_statements() reveals
 * nothing stored, so it is open to everyone; migr_adopt() changes the
 * state like migr_stamp() and is not.
 * ---------------------------------------------------------------------
 */
ALTER TABLE migr.log DROP CONSTRAINT log_operation_check;
ALTER TABLE migr.log ADD CONSTRAINT log_operation_check
    CHECK (operation IN ('register', 'upgrade', 'downgrade', 'stamp', 'redo',
                         'launch', 'repair', 'adhoc_ddl', 'adopt'));

CREATE FUNCTION migr_adopt(tool text, version_table text DEFAULT NULL)
RETURNS TABLE (step integer, revision text, direction text, message text,
               duration interval)
AS 'MODULE_PATHNAME', 'migr_adopt'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION migr_adopt(text, text) FROM PUBLIC;

CREATE FUNCTION migr_script_statements(script text)
RETURNS TABLE (number integer, line integer, "position" integer,
               length integer, command_tag text, transaction_control text,
               relation text, error text)
AS 'MODULE_PATHNAME', 'migr_script_statements'
LANGUAGE C STABLE STRICT;

/* ---------------------------------------------------------------------
 * The file workflow for teams (issue 14)
 *
 * migr_load_directory(): migr_load() of a whole directory, which also
 * reports the registered revisions that no file describes any more (an
 * applied one needs confirmation in production).  bin/migr-load calls it.
 * ---------------------------------------------------------------------
 */
CREATE FUNCTION migr_load_directory(contents text[], filenames text[] DEFAULT NULL)
RETURNS TABLE (filename text, revision text, action text)
AS 'MODULE_PATHNAME', 'migr_load_directory'
LANGUAGE C VOLATILE;

REVOKE ALL ON FUNCTION migr_load_directory(text[], text[]) FROM PUBLIC;

/* ---------------------------------------------------------------------
 * Schema diff, autogenerate and drift (issue 13)
 *
 * migr_diff() compares the live schema with a desired one written as SQL
 * (it runs that SQL in a subtransaction it rolls back, so it needs the
 * privileges to run it, and is refused in production).
 * ---------------------------------------------------------------------
 */
CREATE FUNCTION migr_diff(desired text, schemas text[] DEFAULT NULL)
RETURNS TABLE (step integer, kind text, schema_name text, object_name text,
               change text, upgrade text, downgrade text, destructive boolean)
AS 'MODULE_PATHNAME', 'migr_diff'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION migr_diff(text, text[]) FROM PUBLIC;

-- migr_autogenerate(): the next migration file, written from migr_diff()
-- (nothing registered or run), as migr_template() writes an empty one.
CREATE FUNCTION migr_autogenerate(message text, desired text, revision text DEFAULT NULL)
RETURNS TABLE (filename text, content text)
AS 'MODULE_PATHNAME', 'migr_autogenerate'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION migr_autogenerate(text, text, text) FROM PUBLIC;

-- Drift: after each operation that changes the schema (upgrade, downgrade,
-- stamp, redo, each step of migr_upgrade_each and of migr_script()
-- scripts), migr records describe.c's description of the schemas it
-- compares by default, one row per object; migr_check() compares the live
-- schema with it.  Kept by pg_dump like the rest of the catalog.
CREATE TABLE migr.schema_record (
    key         text NOT NULL,      -- one row per object: describe.c's keys are unique
    kind        text NOT NULL,
    schema_name text NOT NULL,
    object_name text NOT NULL,
    parent      text,
    def         text NOT NULL,
    create_sql  text,
    drop_sql    text,
    target      text,
    sortkey     bigint NOT NULL,
    subrank     integer NOT NULL,
    extra       text,
    deps        text
);
COMMENT ON TABLE migr.schema_record IS 'The description of the schema recorded after the last operation that changed it (one row per object), which migr_check() compares the live schema with.';
CREATE TABLE migr.schema_record_info (
    one         boolean PRIMARY KEY DEFAULT true CHECK (one),
    recorded_at timestamptz NOT NULL,
    operation   text NOT NULL,
    schemas     text[] NOT NULL
);
COMMENT ON TABLE migr.schema_record_info IS 'When migr.schema_record was recorded, after which operation, and which schemas it describes.';
SELECT pg_catalog.pg_extension_config_dump('migr.schema_record', '');
SELECT pg_catalog.pg_extension_config_dump('migr.schema_record_info', '');

CREATE FUNCTION migr_check()
RETURNS TABLE (step integer, kind text, schema_name text, object_name text,
               change text, upgrade text, downgrade text, destructive boolean)
AS 'MODULE_PATHNAME', 'migr_check'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION migr_check() FROM PUBLIC;
