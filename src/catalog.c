/*-------------------------------------------------------------------------
 *
 * catalog.c
 *		Reads and writes migr's catalog tables (schema "migr").
 *
 * Every access runs as the extension owner with search_path set to
 * "pg_catalog, pg_temp", the same protection a SECURITY DEFINER function
 * with a SET clause gets: the caller needs no privilege on the tables, and
 * no object of the caller's can capture a name used here.  Migration scripts
 * themselves never run inside such a scope; they run as the less privileged
 * of the caller and their registrant (runner.c, plan.c).
 *
 * This is the only file that speaks SQL to migr's tables (scripts/
 * check-layers.sh fails on a statement naming one anywhere else).  Other
 * files get typed results: structs and lists of them, never rows left in
 * SPI_tuptable; the predicates several statements share ("is it applied",
 * "the applied checksum differs") are written once, as macros below.
 *
 * Statements are prepared once per backend (SPI_keepplan) because the
 * runner issues several of them for every step.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/pg_lsn.h"
#include "utils/tuplestore.h"

#include "migr.h"

/* Prepared statements, by purpose. */
typedef enum MigrQuery
{
	Q_FETCH_REVISION,
	Q_FETCH_REVISIONS,
	Q_GRAPH_HEADS,
	Q_IS_APPLIED,
	Q_EVER_APPLIED,
	Q_PREFIX,
	Q_EXISTS,
	Q_INSERT_REVISION,
	Q_CLEAR_HEADS,
	Q_UPDATE_REVISION,
	Q_REFRESH_HEADS,
	Q_NEXT_RUN,
	Q_BUMP_GENERATION,
	Q_GENERATION,
	Q_APPLIED_INSERT,
	Q_APPLIED_DELETE,
	Q_VERSION_DELETE,
	Q_VERSION_INSERT,
	Q_LOG_INSERT,
	Q_LOG_INSERT_STEPS,
	Q_GRAPH,
	Q_LABEL_OWNER,
	Q_LABELS_DELETE,
	Q_LABELS_INSERT,
	Q_HISTORY_ROWS,
	Q_SHOW,
	Q_LAUNCH,
	Q_MISMATCHES,
	Q_IS_HEAD,
	Q_DEPENDED_ON,
	Q_IN_PROGRESS,
	Q_NEWEST_IN_PROGRESS,
	Q_DELETE_IN_PROGRESS,
	Q_LOG_MAKE_ROOM,
	Q_PUBLICATIONS,
	Q_SUBSCRIPTIONS,
	Q_SET_SOURCE,
	Q_BEGIN_IN_PROGRESS,
	Q_END_IN_PROGRESS,
	Q_INSERT_LAUNCH,
	Q_ACCEPT_REVISION_CHECKSUM,
	Q_ACCEPT_APPLIED_CHECKSUM,
	Q_UNACKNOWLEDGED_DESTRUCTIVE,
	Q_STEP_REGISTRANTS,
	Q_ALL_REVISIONS,
	Q_STATUS,
	Q_REVISION_NOTES,
	MIGR_NUM_QUERIES
} MigrQuery;

/*
 * A query, and when it differs, its form for a catalog still at 0.1 (the
 * library is updated before ALTER EXTENSION migr UPDATE runs): without the
 * registrant columns, a role is found in the log (REGISTRANT_BY_LOG), as
 * the update to 0.2 finds it.
 */
typedef struct MigrQueryDef
{
	const char *sql;
	int			nargs;
	Oid			argtypes[19];
	const char *sql_01;
} MigrQueryDef;


/*
 * A registrant column "role" read with its name column "name": the role,
 * when a role with that OID still has the name it had when it registered,
 * and NULL (unknown, so its scripts do not run) otherwise.  A dump keeps
 * the names of the roles that exist, but a dropped registrant's OID is
 * dumped as a bare number, which another cluster may have given to
 * another role.
 */
#define VERIFIED_ROLE(role, name) \
	"(SELECT g.oid::pg_catalog.regrole FROM pg_catalog.pg_roles g" \
	" WHERE g.oid = " role " AND g.rolname = " name ")"

/* The name of the role "role" (a regrole), to store beside it. */
#define NAME_OF_ROLE(role) \
	"(SELECT g.rolname FROM pg_catalog.pg_roles g WHERE g.oid = " role ")"

/*
 * On a catalog still at 0.1: the name of the role that registered the
 * scripts with checksum "sum" of revision "rev", by the log (0.1 logged each
 * registration with its role and checksum, but kept the first author in
 * created_by even after another role changed the scripts); NULL (not
 * known) when the log has no registration of these scripts, which in 0.1
 * means the log lost it.  The update to 0.2 (migr.registrant_01 in
 * sql/migr--0.1--0.2.sql) reads it the same.  0.1 logged names only: a
 * role dropped and made again under the name is taken for it.
 */
#define REGISTRANT_BY_LOG(rev, sum) \
	"(SELECT l.current_user_name FROM migr.log l" \
	"  WHERE l.operation = 'register' AND l.revision = " rev \
	"    AND l.checksum = " sum \
	"  ORDER BY l.id DESC LIMIT 1)"

/* The same, the role itself. */
#define ROLE_BY_LOG(rev, sum) \
	"(SELECT g.oid FROM pg_catalog.pg_roles g" \
	" WHERE g.rolname = " REGISTRANT_BY_LOG(rev, sum) ")"

/*
 * The predicates and joins that several statements share, each written
 * once.  "r" is a row of migr.revisions, "a" its row of migr.applied.
 */
/* Revision r with its applied row, if any. */
#define JOIN_APPLIED \
	"  LEFT JOIN migr.applied a ON a.revision = r.id"
/* Is revision r applied (joined with JOIN_APPLIED)? */
#define IS_APPLIED "a.revision IS NOT NULL"
/* The checksum of the scripts stored now for revision r. */
#define STORED_CHECKSUM "migr.script_checksum(r.upgrade, r.downgrade)"
/* Applied revision r ran other scripts than those stored now. */
#define APPLIED_CHECKSUM_DIFFERS "a.checksum <> " STORED_CHECKSUM
/* The branch labels of revision r, sorted. */
#define LABELS_OF_REVISION \
	"ARRAY(SELECT l.label FROM migr.branch_labels l" \
	"       WHERE l.revision = r.id ORDER BY l.label)"
/* The columns of a migr.in_progress row that in_progress_row() reads. */
#define IN_PROGRESS_COLUMNS \
	"revision, direction, target, started_at::text, started_by::text"

/*
 * The columns of a revision row, in the order fill_revision_row() reads
 * them; "r" is migr.revisions, "a" its migr.applied row if any.  The second
 * form is for a catalog still at 0.1.
 */
#define REVISION_COLUMNS_COMMON \
	"r.id, r.message, r.upgrade, r.downgrade, r.checksum," \
	"       r.down_revision, r.depends_on, " LABELS_OF_REVISION "," \
	"       r.changes, r.destructive_statements, r.destructive," \
	"       " IS_APPLIED ", a.downgrade, r.transactional, a.checksum,"
#define REVISION_COLUMNS \
	REVISION_COLUMNS_COMMON "       " VERIFIED_ROLE("r.registrant", "r.registrant_name") "," \
	"       " VERIFIED_ROLE("a.downgrade_registrant", "a.downgrade_registrant_name") "," \
	"       r.filename, r.upgrade_line, r.downgrade_line"
#define REVISION_COLUMNS_01 \
	REVISION_COLUMNS_COMMON "       " ROLE_BY_LOG("r.id", "r.checksum") "," \
	"       CASE WHEN a.revision IS NOT NULL THEN " ROLE_BY_LOG("r.id", "a.checksum") " END," \
	"       NULL::text, NULL::integer, NULL::integer"

#define FROM_REVISION \
	"  FROM migr.revisions r" JOIN_APPLIED \
	" WHERE r.id = $1"
#define FROM_REVISIONS \
	"  FROM unnest($1::text[]) WITH ORDINALITY AS u(id, ord)" \
	"  JOIN migr.revisions r ON r.id = u.id" \
	JOIN_APPLIED \
	" ORDER BY u.ord"
#define FROM_ALL_REVISIONS \
	"  FROM migr.revisions r" JOIN_APPLIED \
	" ORDER BY r.seq"

/*
 * migr_status(): one JSON object, assembled by the server from the
 * catalog and the parameters of MigrStatusQuery (see migr_catalog_status).
 */
#define STATUS_SQL \
	"SELECT jsonb_build_object(" \
	"  'environment', $1," \
	"  'confirmed', $2," \
	"  'current', (SELECT coalesce(jsonb_agg(v.revision ORDER BY r.seq), '[]')" \
	"                FROM migr.version v JOIN migr.revisions r ON r.id = v.revision)," \
	"  'heads', (SELECT coalesce(jsonb_agg(r.id ORDER BY r.seq), '[]')" \
	"              FROM migr.revisions r WHERE r.is_head)," \
	"  'pending', $3," \
	"  'launched', (SELECT jsonb_build_object('at', launched_at, 'by', launched_by)" \
	"                 FROM migr.launch)," \
	"  'checksum_mismatches', (SELECT coalesce(jsonb_agg(a.revision ORDER BY r.seq), '[]')" \
	"      FROM migr.applied a JOIN migr.revisions r ON r.id = a.revision" \
	"     WHERE " APPLIED_CHECKSUM_DIFFERS ")," \
	"  'guards', jsonb_build_object(" \
	"      'allow_adhoc_ddl', $4, 'allow_destructive', $5," \
	"      'lock_timeout_ms', $6, 'statement_timeout_ms', $7," \
	"      'ddl_guard', (SELECT CASE evtenabled WHEN 'D' THEN 'disabled'" \
	"                                           WHEN 'A' THEN 'always'" \
	"                                           ELSE 'enabled' END" \
	"                      FROM pg_event_trigger WHERE evtname = 'migr_ddl_guard')," \
	"      'preloaded', $8)," \
	"  'warnings', CASE WHEN $1 = 'production' AND NOT $8 THEN jsonb_build_array(" \
	"        'migr is not preloaded in this session: EXPLAIN ANALYZE of CREATE TABLE AS,'" \
	"        || ' SELECT INTO and CREATE MATERIALIZED VIEW is guarded only in sessions that'" \
	"        || ' load migr at their start; add migr to shared_preload_libraries or'" \
	"        || ' session_preload_libraries') ELSE '[]' END || to_jsonb($11::text[])" \
	"    || CASE WHEN $12 = 'worker' THEN jsonb_build_array(" \
	"        'this is a Citus worker node: migr''s history lives on the coordinator'" \
	"        || coalesce(' (' || $14 || ')', '') || '; run migr there') ELSE '[]' END," \
	"  'citus', CASE WHEN $12 IS NOT NULL THEN jsonb_build_object(" \
	"        'node', $12, 'group', $13, 'coordinator', $14) END," \
	"  'in_progress', (SELECT coalesce(jsonb_agg(jsonb_build_object(" \
	"        'revision', p.revision, 'direction', p.direction, 'target', p.target," \
	"        'started_at', p.started_at, 'started_by', p.started_by," \
	"        'running', p.running, 'pid', CASE WHEN p.running THEN $9 END," \
	"        'explanation', CASE WHEN p.running" \
	"          THEN 'a step outside a transaction (of a migr_script() script, or of'" \
	"            || ' CALL migr_upgrade_each() in its background worker) is running'" \
	"            || ' in process ' || $9 || '; until it ends, migr calls that change'" \
	"            || ' the catalog fail at once (55P03) instead of holding it up.'" \
	"          ELSE 'a step outside a transaction (of a migr_script() script, or of'" \
	"            || ' CALL migr_upgrade_each()) began and did not finish;'" \
	"            || ' statements outside a transaction may have run (an index built'" \
	"            || ' CONCURRENTLY may be left invalid). Repair what it left, then run'" \
	"            || ' the CALL again, or write the script again with migr_script() and'" \
	"            || ' run it: the step runs again.'" \
	"            || ' Or finish (or undo) the step by hand and record where the revision'" \
	"            || ' is with migr_stamp().' END)" \
	"        ORDER BY p.started_at), '[]')" \
	"      FROM (SELECT q.*, $9 > 0 AND q.started_at =" \
	"                   (SELECT max(started_at) FROM migr.in_progress) AS running" \
	"              FROM migr.in_progress q) p)," \
	"  'last_operation', (SELECT jsonb_build_object(" \
	"        'operation', l.operation, 'target', l.target, 'revision', l.revision," \
	"        'run_id', l.run_id," \
	"        'steps', (SELECT count(*) FROM migr.log s WHERE s.run_id = l.run_id)," \
	"        'at', l.started_at, 'by', l.session_user_name," \
	"        'outcome', CASE WHEN l.error_sqlstate IS NULL THEN 'succeeded' ELSE 'failed' END," \
	"        'error', CASE WHEN l.error_sqlstate IS NULL THEN NULL" \
	"                      WHEN $10 THEN l.error_sqlstate || ': ' || l.error_message" \
	"                      ELSE l.error_sqlstate END)" \
	"      FROM migr.log l ORDER BY l.id DESC LIMIT 1))::text"

static const MigrQueryDef query_defs[MIGR_NUM_QUERIES] = {
	[Q_FETCH_REVISION] = {
		"SELECT " REVISION_COLUMNS FROM_REVISION,
		1, {TEXTOID},
		"SELECT " REVISION_COLUMNS_01 FROM_REVISION
	},
	[Q_FETCH_REVISIONS] = {
		"SELECT " REVISION_COLUMNS FROM_REVISIONS,
		1, {TEXTARRAYOID},
		"SELECT " REVISION_COLUMNS_01 FROM_REVISIONS
	},
	[Q_GRAPH_HEADS] = {
		"SELECT r.id, " IS_APPLIED
		"  FROM migr.revisions r" JOIN_APPLIED
		" WHERE r.is_head ORDER BY r.seq",
		0, {InvalidOid}
	},
	[Q_IS_APPLIED] = {
		"SELECT 1 FROM migr.applied WHERE revision = $1",
		1, {TEXTOID}
	},
	/* by the log, or by migr.applied should the log have lost its rows */
	[Q_EVER_APPLIED] = {
		"SELECT 1 FROM migr.log WHERE revision = $1 AND direction = 'up'"
		" AND error_sqlstate IS NULL"
		" UNION ALL SELECT 1 FROM migr.applied WHERE revision = $1 LIMIT 1",
		1, {TEXTOID}
	},
	[Q_PREFIX] = {
		"SELECT id FROM migr.revisions"
		" WHERE id >= $1 AND id < $1 || '~' AND starts_with(id, $1)"
		" ORDER BY seq",
		1, {TEXTOID}
	},
	[Q_EXISTS] = {
		"SELECT id FROM migr.revisions WHERE id = $1",
		1, {TEXTOID}
	},
	[Q_INSERT_REVISION] = {
		"INSERT INTO migr.revisions (id, down_revision, message, upgrade,"
		"  downgrade, checksum, created_by, depends_on, changes,"
		"  destructive_statements, destructive, transactional, registrant,"
		"  registrant_name)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,"
		"         " NAME_OF_ROLE("$13") ")",
		13, {TEXTOID, TEXTARRAYOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, NAMEOID,
		TEXTARRAYOID, TEXTOID, TEXTARRAYOID, BOOLOID, BOOLOID, REGROLEOID},
		"INSERT INTO migr.revisions (id, down_revision, message, upgrade,"
		"  downgrade, checksum, created_by, depends_on, changes,"
		"  destructive_statements, destructive, transactional)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
	},
	[Q_CLEAR_HEADS] = {
		"UPDATE migr.revisions SET is_head = false"
		" WHERE id = ANY ($1) AND is_head",
		1, {TEXTARRAYOID}
	},
	[Q_UPDATE_REVISION] = {
		"UPDATE migr.revisions"
		"   SET down_revision = $2, message = $3, upgrade = $4, downgrade = $5,"
		"       checksum = $6, depends_on = $7, changes = $8,"
		"       destructive_statements = $9, destructive = $10,"
		"       transactional = $11, created_by = $12, registrant = $13,"
		"       registrant_name = " NAME_OF_ROLE("$13")
		" WHERE id = $1",
		13, {TEXTOID, TEXTARRAYOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
			TEXTARRAYOID, TEXTOID, TEXTARRAYOID, BOOLOID, BOOLOID, NAMEOID,
		REGROLEOID},
		"UPDATE migr.revisions"
		"   SET down_revision = $2, message = $3, upgrade = $4, downgrade = $5,"
		"       checksum = $6, depends_on = $7, changes = $8,"
		"       destructive_statements = $9, destructive = $10,"
		"       transactional = $11, created_by = $12"
		" WHERE id = $1"
	},
	[Q_REFRESH_HEADS] = {
		"UPDATE migr.revisions r"
		"   SET is_head = NOT EXISTS (SELECT 1 FROM migr.revisions c"
		"                              WHERE c.down_revision @> ARRAY[r.id])"
		" WHERE r.id = ANY ($1)",
		1, {TEXTARRAYOID}
	},
	[Q_NEXT_RUN] = {
		"SELECT nextval('migr.run_seq')",
		0, {InvalidOid}
	},
	[Q_BUMP_GENERATION] = {
		"UPDATE migr.state SET generation = generation + 1",
		0, {InvalidOid}
	},
	[Q_GENERATION] = {
		"SELECT generation FROM migr.state",
		0, {InvalidOid}
	},
	[Q_APPLIED_INSERT] = {
		"INSERT INTO migr.applied (revision, checksum, applied_at, applied_by, stamped,"
		"  downgrade, downgrade_registrant, downgrade_registrant_name)"
		" SELECT u.revision, u.checksum, u.applied_at, $4, $5, u.downgrade, u.registrant,"
		"        " NAME_OF_ROLE("u.registrant")
		"   FROM unnest($1::text[], $2::text[], $3::timestamptz[], $6::text[],"
		"               $7::regrole[])"
		"        AS u(revision, checksum, applied_at, downgrade, registrant)",
		7, {TEXTARRAYOID, TEXTARRAYOID, TIMESTAMPTZARRAYOID, NAMEOID, BOOLOID,
		TEXTARRAYOID, REGROLEARRAYOID},
		"INSERT INTO migr.applied (revision, checksum, applied_at, applied_by, stamped,"
		"  downgrade)"
		" SELECT u.revision, u.checksum, u.applied_at, $4, $5, u.downgrade"
		"   FROM unnest($1::text[], $2::text[], $3::timestamptz[], $6::text[])"
		"        AS u(revision, checksum, applied_at, downgrade)"
	},
	[Q_APPLIED_DELETE] = {
		"DELETE FROM migr.applied WHERE revision = ANY ($1)",
		1, {TEXTARRAYOID}
	},
	[Q_VERSION_DELETE] = {
		"DELETE FROM migr.version WHERE revision = ANY ($1)",
		1, {TEXTARRAYOID}
	},
	[Q_VERSION_INSERT] = {
		"INSERT INTO migr.version SELECT unnest($1::text[])",
		1, {TEXTARRAYOID}
	},
	[Q_LOG_INSERT] = {
		"INSERT INTO migr.log (run_id, operation, revision, direction, target,"
		"  checksum, session_user_name, current_user_name, application_name,"
		"  client_addr, started_at, duration, wal_lsn, xid, command_tag,"
		"  statement, environment, confirmed, error_sqlstate, error_message,"
		"  error_line)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, inet_client_addr(),"
		"  $10, $11 - $10, $12, pg_current_xact_id(), $13, $14, $15, $16,"
		"  $17, $18, $19)",
		19, {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, NAMEOID,
			NAMEOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, PG_LSNOID, TEXTOID,
		TEXTOID, TEXTOID, BOOLOID, TEXTOID, TEXTOID, INT4OID},
		/* 0.1 has no error_line */
		"INSERT INTO migr.log (run_id, operation, revision, direction, target,"
		"  checksum, session_user_name, current_user_name, application_name,"
		"  client_addr, started_at, duration, wal_lsn, xid, command_tag,"
		"  statement, environment, confirmed, error_sqlstate, error_message)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, inet_client_addr(),"
		"  $10, $11 - $10, $12, pg_current_xact_id(), $13, $14, $15, $16,"
		"  $17, $18)"
	},
	[Q_LOG_INSERT_STEPS] = {
		"INSERT INTO migr.log (run_id, operation, revision, direction, target,"
		"  checksum, session_user_name, current_user_name, application_name,"
		"  client_addr, started_at, duration, wal_lsn, xid, environment, confirmed)"
		" SELECT u.run_id, u.operation, u.revision, u.direction, u.target,"
		"        u.checksum, $10, $11, $12, inet_client_addr(),"
		"        u.started_at, u.finished_at - u.started_at, u.wal_lsn,"
		"        pg_current_xact_id(), $13, $14"
		"   FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[],"
		"               $6::text[], $7::timestamptz[], $8::timestamptz[],"
		"               $9::pg_lsn[])"
		"        AS u(run_id, operation, revision, direction, target, checksum,"
		"             started_at, finished_at, wal_lsn)",
		14, {INT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
			TEXTARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID, PG_LSNARRAYOID,
		NAMEOID, NAMEOID, TEXTOID, TEXTOID, BOOLOID}
	},
	[Q_GRAPH] = {
		"SELECT r.id, r.down_revision, r.seq, " IS_APPLIED ","
		"       CASE WHEN " IS_APPLIED " THEN a.downgrade IS NOT NULL"
		"            ELSE r.downgrade IS NOT NULL END,"
		"       r.depends_on, " LABELS_OF_REVISION ", r.transactional"
		"  FROM migr.revisions r" JOIN_APPLIED
		" ORDER BY r.seq",
		0, {InvalidOid}
	},
	[Q_DEPENDED_ON] = {
		"SELECT 1 FROM migr.revisions WHERE depends_on @> ARRAY[$1] LIMIT 1",
		1, {TEXTOID}
	},
	[Q_IN_PROGRESS] = {
		"SELECT " IN_PROGRESS_COLUMNS
		"  FROM migr.in_progress WHERE revision = $1",
		1, {TEXTOID}
	},
	[Q_NEWEST_IN_PROGRESS] = {
		"SELECT " IN_PROGRESS_COLUMNS
		"  FROM migr.in_progress ORDER BY started_at DESC LIMIT 1",
		0, {InvalidOid}
	},
	[Q_DELETE_IN_PROGRESS] = {
		"WITH d AS (DELETE FROM migr.in_progress WHERE revision = ANY ($1)"
		"           RETURNING revision, direction, target, started_at, started_by)"
		" SELECT " IN_PROGRESS_COLUMNS
		"  FROM d ORDER BY started_at",
		1, {TEXTARRAYOID}
	},
	/* See migr_catalog_replication(). */
	[Q_PUBLICATIONS] = {
		"SELECT DISTINCT pubname::text FROM pg_catalog.pg_publication_tables"
		" WHERE schemaname = 'migr' ORDER BY 1",
		0, {InvalidOid}
	},
	[Q_SUBSCRIPTIONS] = {
		"SELECT DISTINCT s.subname::text"
		"  FROM pg_catalog.pg_subscription_rel r"
		"  JOIN pg_catalog.pg_subscription s ON s.oid = r.srsubid"
		"  JOIN pg_catalog.pg_class c ON c.oid = r.srrelid"
		" WHERE c.relnamespace = 'migr'::pg_catalog.regnamespace ORDER BY 1",
		0, {InvalidOid}
	},
	/* See migr_catalog_log_make_room(). */
	[Q_LOG_MAKE_ROOM] = {
		"UPDATE migr.log SET id = id - m.hi - 1 + m.lo"
		"  FROM (SELECT max(id) AS hi, least(0, min(id)) AS lo FROM migr.log) m"
		" WHERE id > 0",
		0, {InvalidOid}
	},
	[Q_SET_SOURCE] = {
		"UPDATE migr.revisions"
		"   SET filename = $2, upgrade_line = $3, downgrade_line = $4"
		" WHERE id = $1"
		"   AND (filename, upgrade_line, downgrade_line)"
		"       IS DISTINCT FROM ($2, $3, $4)",
		4, {TEXTOID, TEXTOID, INT4OID, INT4OID}
	},
	[Q_BEGIN_IN_PROGRESS] = {
		"INSERT INTO migr.in_progress"
		" (revision, direction, target, started_at, started_by)"
		" VALUES ($1, $2, $3, clock_timestamp(), $4)"
		" ON CONFLICT (revision) DO UPDATE"
		"   SET direction = EXCLUDED.direction, target = EXCLUDED.target,"
		"       started_at = EXCLUDED.started_at,"
		"       started_by = EXCLUDED.started_by",
		4, {TEXTOID, TEXTOID, TEXTOID, NAMEOID}
	},
	[Q_END_IN_PROGRESS] = {
		"DELETE FROM migr.in_progress"
		" WHERE revision = $1 AND direction = $2 RETURNING started_at",
		2, {TEXTOID, TEXTOID}
	},
	[Q_IS_HEAD] = {
		"SELECT 1 FROM migr.revisions WHERE id = $1 AND is_head",
		1, {TEXTOID}
	},
	[Q_LAUNCH] = {
		"SELECT launched_at FROM migr.launch",
		0, {InvalidOid}
	},
	[Q_INSERT_LAUNCH] = {
		"INSERT INTO migr.launch (launched_at, launched_by) VALUES (now(), $1)",
		1, {NAMEOID}
	},
	[Q_MISMATCHES] = {
		"SELECT a.revision, a.checksum, " STORED_CHECKSUM ", a.applied_at,"
		"       r.checksum = " STORED_CHECKSUM
		"  FROM migr.applied a JOIN migr.revisions r ON r.id = a.revision"
		" WHERE " APPLIED_CHECKSUM_DIFFERS
		" ORDER BY r.seq",
		0, {InvalidOid}
	},
	[Q_ACCEPT_REVISION_CHECKSUM] = {
		"UPDATE migr.revisions SET checksum = $2 WHERE id = $1",
		2, {TEXTOID, TEXTOID}
	},
	[Q_ACCEPT_APPLIED_CHECKSUM] = {
		"UPDATE migr.applied a SET checksum = $2, downgrade = r.downgrade,"
		"       downgrade_registrant = r.registrant,"
		"       downgrade_registrant_name = r.registrant_name"
		"  FROM migr.revisions r"
		" WHERE a.revision = $1 AND r.id = a.revision",
		2, {TEXTOID, TEXTOID},
		"UPDATE migr.applied a SET checksum = $2, downgrade = r.downgrade"
		"  FROM migr.revisions r"
		" WHERE a.revision = $1 AND r.id = a.revision"
	},
	[Q_UNACKNOWLEDGED_DESTRUCTIVE] = {
		"SELECT r.id, s.statement"
		"  FROM migr.revisions r,"
		"       unnest(r.destructive_statements) AS s(statement)"
		" WHERE r.id = ANY ($1) AND NOT r.destructive"
		" ORDER BY r.seq",
		1, {TEXTARRAYOID}
	},
	[Q_STEP_REGISTRANTS] = {
		"SELECT s.registrant::oid, min(s.id)"
		"  FROM (SELECT r.id, " VERIFIED_ROLE("r.registrant", "r.registrant_name") " AS registrant"
		"          FROM migr.revisions r"
		"         WHERE r.id = ANY ($1)"
		"        UNION ALL"
		"        SELECT a.revision, " VERIFIED_ROLE("a.downgrade_registrant", "a.downgrade_registrant_name")
		"          FROM migr.applied a"
		"         WHERE a.revision = ANY ($2)) s"
		" GROUP BY 1 ORDER BY 2",
		2, {TEXTARRAYOID, TEXTARRAYOID},
		/* by the log (REGISTRANT_BY_LOG) */
		"SELECT s.registrant, min(s.id)"
		"  FROM (SELECT r.id, " ROLE_BY_LOG("r.id", "r.checksum") " AS registrant"
		"          FROM migr.revisions r"
		"         WHERE r.id = ANY ($1)"
		"        UNION ALL"
		"        SELECT r.id, " ROLE_BY_LOG("r.id", "a.checksum")
		"          FROM migr.applied a JOIN migr.revisions r ON r.id = a.revision"
		"         WHERE a.revision = ANY ($2)) s"
		" GROUP BY 1 ORDER BY 2"
	},
	[Q_ALL_REVISIONS] = {
		"SELECT " REVISION_COLUMNS FROM_ALL_REVISIONS,
		0, {InvalidOid},
		"SELECT " REVISION_COLUMNS_01 FROM_ALL_REVISIONS
	},
	[Q_REVISION_NOTES] = {
		"SELECT r.id, r.message, " LABELS_OF_REVISION
		"  FROM unnest($1::text[]) WITH ORDINALITY AS u(id, ord)"
		"  JOIN migr.revisions r ON r.id = u.id"
		" ORDER BY u.ord",
		1, {TEXTARRAYOID}
	},
	[Q_STATUS] = {
		STATUS_SQL,
		14, {TEXTOID, BOOLOID, INT4OID, BOOLOID, BOOLOID, INT4OID, INT4OID,
		BOOLOID, INT4OID, BOOLOID, TEXTARRAYOID, TEXTOID, INT4OID, TEXTOID}
	},
	[Q_LABEL_OWNER] = {
		"SELECT revision FROM migr.branch_labels WHERE label = $1",
		1, {TEXTOID}
	},
	[Q_LABELS_DELETE] = {
		"DELETE FROM migr.branch_labels WHERE revision = $1",
		1, {TEXTOID}
	},
	[Q_LABELS_INSERT] = {
		"INSERT INTO migr.branch_labels (label, revision)"
		" SELECT unnest($2::text[]), $1",
		2, {TEXTOID, TEXTARRAYOID}
	},
	[Q_HISTORY_ROWS] = {
		"SELECT r.id, r.down_revision, r.depends_on, " LABELS_OF_REVISION ","
		"       r.message, v.revision IS NOT NULL,"
		"       r.is_head, a.applied_at, r.created_at, r.created_by"
		"  FROM unnest($1::text[]) WITH ORDINALITY AS u(id, ord)"
		"  JOIN migr.revisions r ON r.id = u.id"
		JOIN_APPLIED
		"  LEFT JOIN migr.version v ON v.revision = r.id"
		" ORDER BY u.ord",
		1, {TEXTARRAYOID}
	},
	[Q_SHOW] = {
		"SELECT r.id, r.down_revision, r.depends_on, " LABELS_OF_REVISION ","
		"       ARRAY(SELECT c.id FROM migr.revisions c"
		"              WHERE c.down_revision @> ARRAY[r.id] ORDER BY c.seq),"
		"       ARRAY(SELECT d.id FROM migr.revisions d"
		"              WHERE d.depends_on @> ARRAY[r.id] ORDER BY d.seq),"
		"       r.message, r.upgrade, r.downgrade, r.checksum, r.changes,"
		"       r.destructive_statements, r.destructive, r.transactional, r.seq,"
		"       r.created_at, r.created_by, r.is_head, v.revision IS NOT NULL,"
		"       a.applied_at, a.checksum, a.stamped"
		"  FROM migr.revisions r" JOIN_APPLIED
		"  LEFT JOIN migr.version v ON v.revision = r.id"
		" WHERE r.id = $1",
		1, {TEXTOID}
	},
};

static SPIPlanPtr query_plans[MIGR_NUM_QUERIES];
static SPIPlanPtr query_plans_01[MIGR_NUM_QUERIES];

/*
 * Has the catalog the registrant columns of 0.2?  Not cached: ALTER
 * EXTENSION migr UPDATE may run in the same transaction as a migr call.
 */
bool
migr_catalog_has_registrants(void)
{
	Oid			nsp = get_namespace_oid("migr", true);
	Oid			rel = OidIsValid(nsp) ? get_relname_relid("revisions", nsp) : InvalidOid;

	return OidIsValid(rel) && get_attnum(rel, "registrant") != InvalidAttrNumber;
}

/*
 * Return the OID of the role that owns the migr extension.
 */
static Oid
extension_owner(void)
{
	static LocalTransactionId cached_lxid = InvalidLocalTransactionId;
	static Oid	cached_ext_oid = InvalidOid;
	static Oid	cached_owner = InvalidOid;
	Oid			ext_oid = get_extension_oid("migr", false);
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			owner;

	/*
	 * Every step of a call switches to the owner twice: look it up once per
	 * transaction (REASSIGN OWNED may change it between transactions).
	 */
	if (cached_lxid == MyProc->lxid && ext_oid == cached_ext_oid)
		return cached_owner;
	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(ext_oid));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "could not find tuple for extension %u", ext_oid);
	owner = ((Form_pg_extension) GETSTRUCT(tuple))->extowner;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	cached_lxid = MyProc->lxid;
	cached_ext_oid = ext_oid;
	cached_owner = owner;
	return owner;
}

/*
 * Open the scope every catalog read or write of an entry point runs in: an
 * SPI connection, then the switch to the extension owner (below).  Close it
 * with migr_owner_end() and SPI_finish(), which callers place where their
 * results no longer need SPI's memory.
 */
void
migr_catalog_open(MigrOwnerScope *scope)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	migr_owner_begin(scope);
}

/*
 * Switch to the extension owner with a safe search_path.  Must be paired
 * with migr_owner_end(); on error, transaction (or subtransaction) abort
 * restores both the user and the setting.
 */
void
migr_owner_begin(MigrOwnerScope *scope)
{
	Oid			owner = extension_owner();

	GetUserIdAndSecContext(&scope->saved_userid, &scope->saved_sec_context);
	scope->guc_nest_level = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);

	/*
	 * Catalog queries are small; compiling them would cost more than it
	 * saves.
	 */
	(void) set_config_option("jit", "off",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);

	/*
	 * Catalog statements look rows up by key.  Statistics cannot be trusted
	 * for that: one call adds and removes a row of migr.version and
	 * migr.applied per step, and a plan (or a foreign-key check) that read
	 * those tables sequentially would make a call of n steps cost n squared.
	 * Their plans are made once, like this.
	 */
	(void) set_config_option("enable_seqscan", "off",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	SetUserIdAndSecContext(owner, scope->saved_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE);
}

void
migr_owner_end(MigrOwnerScope *scope)
{
	SetUserIdAndSecContext(scope->saved_userid, scope->saved_sec_context);
	AtEOXact_GUC(true, scope->guc_nest_level);
}

/*
 * Record who is calling, for created_by and the log.
 */
void
migr_capture_caller(MigrCaller *caller)
{
	caller->current_user_id = GetUserId();
	caller->session_user_name = GetUserNameFromId(GetSessionUserId(), false);
	caller->current_user_name = GetUserNameFromId(GetUserId(), false);
	caller->search_path = pstrdup(namespace_search_path);
}

/*
 * Run prepared statement "q" with the given arguments; check that it did
 * what a statement of its kind does.  Must be called inside an owner scope.
 *
 * SPI leaves the connection's procedure context current after every call;
 * the caller's context is made current again, so that what the caller
 * allocates from the result goes where the caller means it to (a graph
 * kept across the transactions of migr_upgrade_each, a per-step context).
 */
static int
run_query(MigrQuery q, Datum *values, const char *nulls)
{
	MemoryContext caller_cxt = CurrentMemoryContext;
	int			rc;
	int			expected;
	bool		old = query_defs[q].sql_01 != NULL && !migr_catalog_has_registrants();
	const char *sql = old ? query_defs[q].sql_01 : query_defs[q].sql;
	SPIPlanPtr *plans = old ? query_plans_01 : query_plans;

	if (plans[q] == NULL)
	{
		SPIPlanPtr	plan;

		plan = SPI_prepare(sql, query_defs[q].nargs,
						   (Oid *) query_defs[q].argtypes);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s",
				 sql, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		plans[q] = plan;
	}

	rc = SPI_execute_plan(plans[q], values, nulls, false, 0);
	MemoryContextSwitchTo(caller_cxt);

	if (strncmp(query_defs[q].sql, "SELECT", 6) == 0 ||
		strncmp(query_defs[q].sql, "WITH", 4) == 0)
		expected = SPI_OK_SELECT;
	else if (strncmp(query_defs[q].sql, "INSERT", 6) == 0)
		expected = SPI_OK_INSERT;
	else if (strncmp(query_defs[q].sql, "UPDATE", 6) == 0)
		expected = SPI_OK_UPDATE;
	else if (strstr(query_defs[q].sql, " RETURNING ") != NULL)
		expected = SPI_OK_DELETE_RETURNING;
	else
		expected = SPI_OK_DELETE;
	if (rc != expected)
		elog(ERROR, "unexpected SPI result %s for \"%s\"",
			 SPI_result_code_string(rc), query_defs[q].sql);
	return rc;
}

/*
 * Run "sql", a statement the query table cannot hold because its arguments
 * are built per call (the schema record's arrays), and check the SPI result
 * code it gives.  Must be called inside an owner scope.
 */
static void
exec_sql(const char *sql, int nargs, Oid *argtypes, Datum *values,
		 const char *nulls, int expected)
{
	MemoryContext caller_cxt = CurrentMemoryContext;
	int			rc = SPI_execute_with_args(sql, nargs, argtypes, values, nulls,
										   false, 0);

	MemoryContextSwitchTo(caller_cxt);	/* as run_query does */
	if (rc != expected)
		elog(ERROR, "unexpected SPI result %s for \"%s\"",
			 SPI_result_code_string(rc), sql);
}

/* Text value of column "col" (1-based) of row "row" of the last result. */
static char *
result_text(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
								  col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/* Boolean value of column "col" of row "row" of the last result; NULL is false. */
static bool
result_bool(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
								  col, &isnull);

	return !isnull && DatumGetBool(d);
}

/*
 * Turn a text[] datum into a List of C strings, and back.
 */
static List *
text_array_to_list(Datum array)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *result = NIL;

	deconstruct_array(DatumGetArrayTypeP(array), TEXTOID, -1, false,
					  TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
		if (!nulls[i])
			result = lappend(result, TextDatumGetCString(elems[i]));
	return result;
}

/* Column "col" (text[]) of row "row" of the last result as a List; NULL is NIL. */
static List *
result_list(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
								  col, &isnull);

	return isnull ? NIL : text_array_to_list(d);
}

Datum
migr_text_list_to_array(List *strings)
{
	int			n = list_length(strings);
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	int			i = 0;
	ListCell   *lc;

	foreach(lc, strings)
		elems[i++] = CStringGetTextDatum((char *) lfirst(lc));
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false,
										   TYPALIGN_INT));
}

static Datum
text_or_null(const char *s, char *null_flag)
{
	*null_flag = (s == NULL) ? 'n' : ' ';
	return s ? CStringGetTextDatum(s) : (Datum) 0;
}

static Datum
name_datum(const char *s)
{
	Name		n = palloc0(NAMEDATALEN);

	namestrcpy(n, s);
	return NameGetDatum(n);
}

/* OID value of column "col" of row "row" of the last result; NULL is 0. */
static Oid
result_oid(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
								  col, &isnull);

	return isnull ? InvalidOid : DatumGetObjectId(d);
}

/* Integer value of column "col" of row "row" of the last result; NULL is 0. */
static int
result_int(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
								  col, &isnull);

	return isnull ? 0 : DatumGetInt32(d);
}

/* Revision row "i" of the last result (columns REVISION_COLUMNS). */
static MigrRevisionRow *
fill_revision_row(uint64 i)
{
	MigrRevisionRow *row = palloc0(sizeof(MigrRevisionRow));

	row->id = result_text(i, 1);
	row->message = result_text(i, 2);
	row->upgrade = result_text(i, 3);
	row->downgrade = result_text(i, 4);
	row->checksum = result_text(i, 5);
	row->parents = result_list(i, 6);
	row->depends_on = result_list(i, 7);
	row->labels = result_list(i, 8);
	row->changes = result_text(i, 9);
	row->destructive_statements = result_list(i, 10);
	row->destructive = result_bool(i, 11);
	row->applied = result_bool(i, 12);
	row->applied_downgrade = result_text(i, 13);
	row->transactional = result_bool(i, 14);
	row->applied_checksum = result_text(i, 15);
	row->registrant = result_oid(i, 16);
	row->applied_downgrade_registrant = result_oid(i, 17);
	row->filename = result_text(i, 18);
	row->upgrade_line = result_int(i, 19);
	row->downgrade_line = result_int(i, 20);
	return row;
}

/*
 * Fetch one revision with its scripts; NULL if there is none with that id.
 */
MigrRevisionRow *
migr_catalog_fetch_revision(const char *id)
{
	Datum		args[1] = {CStringGetTextDatum(id)};
	MigrRevisionRow *row;

	run_query(Q_FETCH_REVISION, args, NULL);
	if (SPI_processed == 0)
		return NULL;
	row = fill_revision_row(0);
	SPI_freetuptable(SPI_tuptable);
	return row;
}

/*
 * Fetch the revisions "ids" (n of them) with one query: rows[k] is that
 * of ids[k], NULL if there is no such revision.  The runner reads the
 * revisions of a plan this way, a batch of steps at a time.
 */
void
migr_catalog_fetch_revisions(const char *const *ids, int n,
							 MigrRevisionRow **rows)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	Datum		args[1];
	uint64		next = 0;

	for (int k = 0; k < n; k++)
		elems[k] = CStringGetTextDatum(ids[k]);
	args[0] = PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false,
											  TYPALIGN_INT));
	run_query(Q_FETCH_REVISIONS, args, NULL);
	for (int k = 0; k < n; k++)
	{
		rows[k] = NULL;
		if (next < SPI_processed)
		{
			char	   *id = result_text(next, 1);

			if (strcmp(id, ids[k]) == 0)
				rows[k] = fill_revision_row(next++);
			pfree(id);
		}
	}
	SPI_freetuptable(SPI_tuptable);
}

/*
 * Steer the planner to plain index scans for the next statements (see
 * migr_catalog_graph_heads; sequential scans are off in every owner scope
 * already); without plain_only, bitmap scans, which GIN lookups need, and
 * the other joins are allowed again.  Lasts until the end of the owner
 * scope.
 */
static void
steer_planner(bool plain_only)
{
	static const char *const plain[] = {"enable_bitmapscan", "enable_hashjoin",
	"enable_mergejoin"};

	for (int i = 0; i < (int) lengthof(plain); i++)
		(void) set_config_option(plain[i], plain_only ? "off" : "on",
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
								 true, 0, false);
}

/*
 * The graph's heads, oldest first, found through the partial index on
 * is_head; with effective_only, only those no revision depends on.
 * *applied_flags receives a parallel list of bool (as int).  Call inside an
 * owner scope: it ends the setting made here.
 */
List *
migr_catalog_graph_heads(bool effective_only, List **applied_flags)
{
	List	   *heads = NIL;
	List	   *all_heads = NIL;
	List	   *all_applied = NIL;
	ListCell   *lh;

	/*
	 * Heads are few and the partial index lists exactly them.  Without
	 * statistics (after a bulk registration or a restore) the planner would
	 * read the whole history instead, so these plans, made once, are steered
	 * to index scans: a plain scan of the partial index (which also marks the
	 * entries of dead row versions for later scans to skip) and primary key
	 * lookups; dependents are found through the GIN index.
	 */
	steer_planner(true);
	run_query(Q_GRAPH_HEADS, NULL, NULL);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		all_heads = lappend(all_heads, result_text(i, 1));
		all_applied = lappend_int(all_applied, result_bool(i, 2));
	}
	steer_planner(false);

	*applied_flags = NIL;
	foreach(lh, all_heads)
	{
		bool		applied = list_nth_int(all_applied, foreach_current_index(lh));

		if (effective_only)
		{
			Datum		args[1] = {CStringGetTextDatum(lfirst(lh))};

			run_query(Q_DEPENDED_ON, args, NULL);
			if (SPI_processed > 0)
				continue;
		}
		heads = lappend(heads, lfirst(lh));
		*applied_flags = lappend_int(*applied_flags, applied);
	}
	return heads;
}

bool
migr_catalog_is_applied(const char *id)
{
	Datum		args[1] = {CStringGetTextDatum(id)};

	run_query(Q_IS_APPLIED, args, NULL);
	return SPI_processed > 0;
}

/* Is there a revision "id" that no revision names as parent? */
bool
migr_catalog_is_head(const char *id)
{
	Datum		args[1] = {CStringGetTextDatum(id)};

	run_query(Q_IS_HEAD, args, NULL);
	return SPI_processed > 0;
}

/*
 * Has this revision ever been applied or stamped (per the log, or per
 * migr.applied should the log have lost its rows)?  The row of
 * a step that failed does not count: the step left nothing behind, and its
 * file must be fixable.
 */
bool
migr_catalog_was_ever_applied(const char *id)
{
	Datum		args[1] = {CStringGetTextDatum(id)};

	run_query(Q_EVER_APPLIED, args, NULL);
	return SPI_processed > 0;
}

/* Ids starting with "prefix", in registration order. */
List *
migr_catalog_prefix_matches(const char *prefix)
{
	Datum		args[1] = {CStringGetTextDatum(prefix)};
	List	   *result = NIL;

	run_query(Q_PREFIX, args, NULL);
	for (uint64 i = 0; i < SPI_processed; i++)
		result = lappend(result, result_text(i, 1));
	return result;
}

/* The id itself if a revision has exactly this id, else NULL. */
char *
migr_catalog_revision_exists(const char *id)
{
	Datum		args[1] = {CStringGetTextDatum(id)};

	run_query(Q_EXISTS, args, NULL);
	return SPI_processed > 0 ? result_text(0, 1) : NULL;
}

/* Write the branch labels of a revision, replacing its old ones. */
static void
store_labels(const MigrRevisionRow *row, bool replace)
{
	Datum		args[2];

	args[0] = CStringGetTextDatum(row->id);
	if (replace)
		run_query(Q_LABELS_DELETE, args, NULL);
	if (row->labels != NIL)
	{
		args[1] = migr_text_list_to_array(row->labels);
		run_query(Q_LABELS_INSERT, args, NULL);
	}
}

/*
 * Store a new revision with its labels; its parents stop being heads.
 */
void
migr_catalog_insert_revision(const MigrRevisionRow *row,
							 const MigrCaller *caller)
{
	Datum		args[13];
	char		nulls[13] = "             ";
	Datum		parents = migr_text_list_to_array(row->parents);

	args[0] = CStringGetTextDatum(row->id);
	args[1] = parents;
	args[2] = CStringGetTextDatum(row->message);
	args[3] = CStringGetTextDatum(row->upgrade);
	args[4] = text_or_null(row->downgrade, &nulls[4]);
	args[5] = CStringGetTextDatum(row->checksum);
	args[6] = name_datum(caller->current_user_name);
	args[7] = migr_text_list_to_array(row->depends_on);
	args[8] = CStringGetTextDatum(row->changes);
	args[9] = migr_text_list_to_array(row->destructive_statements);
	args[10] = BoolGetDatum(row->destructive);
	args[11] = BoolGetDatum(row->transactional);
	args[12] = ObjectIdGetDatum(caller->current_user_id);
	run_query(Q_INSERT_REVISION, args, nulls);

	if (row->parents != NIL)
		run_query(Q_CLEAR_HEADS, &parents, NULL);
	store_labels(row, false);
}

/*
 * Replace the scripts, message and parents of a revision that never ran.
 * Parents it no longer has may become heads again.  The caller becomes its
 * registrant: whoever last changed a revision answers for its scripts.
 */
void
migr_catalog_update_revision(const MigrRevisionRow *row, List *old_parents,
							 const MigrCaller *caller)
{
	Datum		args[13];
	char		nulls[13] = "             ";
	Datum		parents = migr_text_list_to_array(row->parents);
	Datum		old = migr_text_list_to_array(old_parents);

	args[0] = CStringGetTextDatum(row->id);
	args[1] = parents;
	args[2] = CStringGetTextDatum(row->message);
	args[3] = CStringGetTextDatum(row->upgrade);
	args[4] = text_or_null(row->downgrade, &nulls[4]);
	args[5] = CStringGetTextDatum(row->checksum);
	args[6] = migr_text_list_to_array(row->depends_on);
	args[7] = CStringGetTextDatum(row->changes);
	args[8] = migr_text_list_to_array(row->destructive_statements);
	args[9] = BoolGetDatum(row->destructive);
	args[10] = BoolGetDatum(row->transactional);
	args[11] = name_datum(caller->current_user_name);
	args[12] = ObjectIdGetDatum(caller->current_user_id);
	run_query(Q_UPDATE_REVISION, args, nulls);

	if (old_parents != NIL)
		run_query(Q_REFRESH_HEADS, &old, NULL);
	if (row->parents != NIL)
		run_query(Q_CLEAR_HEADS, &parents, NULL);
	store_labels(row, true);
}

/*
 * Record where a revision's scripts are: the migration file it was loaded
 * from and the file's lines where its upgrade and downgrade scripts start
 * (0: no downgrade), or, with a NULL filename, nowhere (registered by SQL).
 * Writes only when that differs from what is recorded.  A catalog still at
 * 0.1 has no place for it.
 */
void
migr_catalog_set_source(const char *id, const char *filename,
						int upgrade_line, int downgrade_line)
{
	Datum		args[4];
	char		nulls[4] = "    ";

	if (!migr_catalog_has_registrants())
		return;
	args[0] = CStringGetTextDatum(id);
	args[1] = text_or_null(filename, &nulls[1]);
	args[2] = Int32GetDatum(upgrade_line);
	args[3] = Int32GetDatum(downgrade_line);
	if (filename == NULL || upgrade_line <= 0)
		nulls[2] = 'n';
	if (filename == NULL || downgrade_line <= 0)
		nulls[3] = 'n';
	run_query(Q_SET_SOURCE, args, nulls);
}

/* The revision that carries branch label "label", or NULL. */
char *
migr_catalog_label_owner(const char *label)
{
	Datum		args[1] = {CStringGetTextDatum(label)};

	run_query(Q_LABEL_OWNER, args, NULL);
	return SPI_processed > 0 ? result_text(0, 1) : NULL;
}

/*
 * Every revision as the graph needs it (no scripts), oldest first: an
 * array of *n rows in the current memory context.
 */
MigrGraphRow *
migr_catalog_graph_rows(int *n)
{
	MigrGraphRow *rows;

	run_query(Q_GRAPH, NULL, NULL);
	*n = (int) SPI_processed;
	rows = palloc0(sizeof(MigrGraphRow) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		MigrGraphRow *row = &rows[i];
		bool		isnull;

		row->id = result_text(i, 1);
		row->parents = result_list(i, 2);
		row->seq = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
											   SPI_tuptable->tupdesc, 3, &isnull));
		row->applied = result_bool(i, 4);
		row->has_downgrade = result_bool(i, 5);
		row->depends_on = result_list(i, 6);
		row->labels = result_list(i, 7);
		row->transactional = result_bool(i, 8);
	}
	SPI_freetuptable(SPI_tuptable);
	return rows;
}

/*
 * Check that the rows of the last result have the columns of "desc" (the
 * SQL function's result type), by number and type.
 */
static void
check_result_shape(TupleDesc desc, const char *function)
{
	TupleDesc	got = SPI_tuptable->tupdesc;

	if (got->natts != desc->natts)
		elog(ERROR, "%s: catalog rows have %d columns, the result %d",
			 function, got->natts, desc->natts);
	for (int i = 0; i < desc->natts; i++)
		if (TupleDescAttr(got, i)->atttypid != TupleDescAttr(desc, i)->atttypid)
			elog(ERROR, "%s: column %d of the catalog rows has type %u, of the result %u",
				 function, i + 1, TupleDescAttr(got, i)->atttypid,
				 TupleDescAttr(desc, i)->atttypid);
}

/*
 * The migr_history() rows of the given revisions, in the given order, put
 * into "store" (whose rows have the columns "desc" of migr_history()).
 */
void
migr_catalog_history_rows(List *ids, Tuplestorestate *store, TupleDesc desc)
{
	Datum		args[1] = {migr_text_list_to_array(ids)};
	Datum	   *values = palloc(sizeof(Datum) * desc->natts);
	bool	   *nulls = palloc(sizeof(bool) * desc->natts);

	run_query(Q_HISTORY_ROWS, args, NULL);
	check_result_shape(desc, "migr_history");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
						  values, nulls);
		tuplestore_putvalues(store, desc, values, nulls);
	}
	SPI_freetuptable(SPI_tuptable);
}

/*
 * The migr_show() row of one revision, as a tuple of "desc" (the type
 * migr.revision_info) in the current memory context; NULL if there is no
 * such revision.
 */
HeapTuple
migr_catalog_show_row(const char *id, TupleDesc desc)
{
	Datum		args[1] = {CStringGetTextDatum(id)};
	Datum	   *values = palloc(sizeof(Datum) * desc->natts);
	bool	   *nulls = palloc(sizeof(bool) * desc->natts);
	HeapTuple	result = NULL;

	run_query(Q_SHOW, args, NULL);
	check_result_shape(desc, "migr_show");
	if (SPI_processed > 0)
	{
		heap_deform_tuple(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
						  values, nulls);
		result = heap_form_tuple(desc, values, nulls);
	}
	SPI_freetuptable(SPI_tuptable);
	return result;
}

/*
 * The message and the branch labels (sorted) of each revision in "ids", in
 * that order, for pictures of the graph.  Looked up by id, so that the
 * answer matches a graph loaded a moment earlier even if a registration
 * committed in between.  Must be called inside an owner scope.
 */
List *
migr_catalog_revision_notes(List *ids)
{
	Datum		args[1] = {migr_text_list_to_array(ids)};
	List	   *result = NIL;

	run_query(Q_REVISION_NOTES, args, NULL);
	if (SPI_processed != (uint64) list_length(ids))
		elog(ERROR, "%d revisions asked for, %llu found",
			 list_length(ids), (unsigned long long) SPI_processed);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		MigrRevisionNote *note = palloc(sizeof(MigrRevisionNote));

		note->id = result_text(i, 1);
		note->message = result_text(i, 2);
		note->labels = result_list(i, 3);
		result = lappend(result, note);
	}
	SPI_freetuptable(SPI_tuptable);
	return result;
}

/*
 * Every revision with its scripts, in registration order (a list of
 * MigrRevisionRow *), for migr_export().
 */
List *
migr_catalog_all_revisions(void)
{
	List	   *result = NIL;

	run_query(Q_ALL_REVISIONS, NULL, NULL);
	for (uint64 i = 0; i < SPI_processed; i++)
		result = lappend(result, fill_revision_row(i));
	SPI_freetuptable(SPI_tuptable);
	return result;
}

/*
 * The destructive statements of the revisions "ids" that were registered
 * without acknowledging them (destructive => false), in registration
 * order: a list of MigrRevisionStatement *.
 */
List *
migr_catalog_unacknowledged_destructive(List *ids)
{
	Datum		args[1] = {migr_text_list_to_array(ids)};
	List	   *result = NIL;

	run_query(Q_UNACKNOWLEDGED_DESTRUCTIVE, args, NULL);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		MigrRevisionStatement *st = palloc(sizeof(MigrRevisionStatement));

		st->revision = result_text(i, 1);
		st->statement = result_text(i, 2);
		result = lappend(result, st);
	}
	SPI_freetuptable(SPI_tuptable);
	return result;
}

/*
 * The registrants of the scripts that steps would run: of the upgrade
 * scripts of "up_ids" and of the downgrade scripts kept for "down_ids"
 * (applied revisions).  One MigrRegistrantUse per role, naming the
 * least of its revisions' ids, by that id.  On a 0.1 catalog the role is
 * found in the log (REGISTRANT_BY_LOG); an unknown one is 0.
 */
List *
migr_catalog_step_registrants(List *up_ids, List *down_ids)
{
	Datum		args[2] = {migr_text_list_to_array(up_ids),
	migr_text_list_to_array(down_ids)};
	List	   *result = NIL;

	run_query(Q_STEP_REGISTRANTS, args, NULL);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		MigrRegistrantUse *use = palloc(sizeof(MigrRegistrantUse));

		use->registrant = result_oid(i, 1);
		use->revision = result_text(i, 2);
		result = lappend(result, use);
	}
	SPI_freetuptable(SPI_tuptable);
	return result;
}

/*
 * migr_status()'s object, as JSON text: the catalog's part read here, the
 * rest from the settings and from "q".
 */
char *
migr_catalog_status(const MigrStatusQuery *q)
{
	Datum		args[14];
	char		nulls[14];
	char	   *json;

	args[0] = CStringGetTextDatum(migr_environment_name());
	args[1] = BoolGetDatum(migr_confirm_production);
	args[2] = Int32GetDatum(q->pending);
	args[3] = BoolGetDatum(migr_allow_adhoc_ddl);
	args[4] = BoolGetDatum(migr_allow_destructive);
	args[5] = Int32GetDatum(migr_lock_timeout);
	args[6] = Int32GetDatum(migr_statement_timeout);
	args[7] = BoolGetDatum(q->preloaded);
	args[8] = Int32GetDatum(q->step_holder_pid);
	args[9] = BoolGetDatum(q->error_details);
	args[10] = migr_text_list_to_array(q->warnings);
	memset(nulls, ' ', sizeof(nulls));
	args[11] = text_or_null(q->citus_node, &nulls[11]);
	args[12] = Int32GetDatum(q->citus_group);
	if (q->citus_node == NULL)
		nulls[12] = 'n';
	args[13] = text_or_null(q->citus_coordinator, &nulls[13]);
	run_query(Q_STATUS, args, nulls);
	json = result_text(0, 1);
	SPI_freetuptable(SPI_tuptable);
	return json;
}

/* Convert a text[] datum to a List of C strings (for graph.c). */
List *
migr_text_array_to_list(Datum array)
{
	return text_array_to_list(array);
}

int64
migr_catalog_next_run_id(void)
{
	bool		isnull;

	run_query(Q_NEXT_RUN, NULL, NULL);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
									   SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * Mark the catalog as changed.  Under REPEATABLE READ or SERIALIZABLE this
 * raises a serialization failure when another migr operation committed
 * after this transaction took its snapshot.  Once per (sub)transaction is
 * enough, since the migr lock keeps others out until it ends; more would
 * build a long chain of versions of the one row when thousands of
 * revisions are registered in one transaction.
 */
void
migr_catalog_bump_generation(void)
{
	static LocalTransactionId bumped_lxid = InvalidLocalTransactionId;
	static SubTransactionId bumped_subxid = InvalidSubTransactionId;

	if (bumped_lxid == MyProc->lxid &&
		bumped_subxid == GetCurrentSubTransactionId())
		return;
	run_query(Q_BUMP_GENERATION, NULL, NULL);
	bumped_lxid = MyProc->lxid;
	bumped_subxid = GetCurrentSubTransactionId();
}

/*
 * The catalog's generation: it changes whenever a migr operation changes
 * the catalog (see migr_catalog_bump_generation).
 */
int64
migr_catalog_generation(void)
{
	bool		isnull;

	run_query(Q_GENERATION, NULL, NULL);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
									   SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * Insert one row into migr.log; run_id 0 means none.  Every row records the
 * environment and whether production was confirmed.
 */
static void
insert_log(int64 run_id, const char *operation, const char *revision,
		   const char *direction, const char *target, const char *checksum,
		   const char *command_tag, const char *statement,
		   TimestampTz started_at, TimestampTz finished_at,
		   XLogRecPtr wal_before, const char *error_sqlstate,
		   const char *error_message, int error_line, const MigrCaller *caller)
{
	Datum		args[19];
	char		nulls[19] = "                   ";

	args[0] = Int64GetDatum(run_id);
	if (run_id == 0)
		nulls[0] = 'n';
	args[1] = CStringGetTextDatum(operation);
	args[2] = text_or_null(revision, &nulls[2]);
	args[3] = text_or_null(direction, &nulls[3]);
	args[4] = text_or_null(target, &nulls[4]);
	args[5] = text_or_null(checksum, &nulls[5]);
	args[6] = name_datum(caller->session_user_name);
	args[7] = name_datum(caller->current_user_name);
	args[8] = text_or_null(application_name, &nulls[8]);
	args[9] = TimestampTzGetDatum(started_at);
	args[10] = TimestampTzGetDatum(finished_at);
	args[11] = LSNGetDatum(wal_before);
	args[12] = text_or_null(command_tag, &nulls[12]);
	args[13] = text_or_null(statement, &nulls[13]);
	args[14] = CStringGetTextDatum(migr_environment_name());
	args[15] = BoolGetDatum(migr_confirm_production);
	args[16] = text_or_null(error_sqlstate, &nulls[16]);
	args[17] = text_or_null(error_message, &nulls[17]);
	args[18] = Int32GetDatum(error_line);
	if (error_line <= 0)
		nulls[18] = 'n';
	run_query(Q_LOG_INSERT, args, nulls);
}

/* Entry of the tables migr_catalog_record_steps() keeps by revision id. */
typedef struct RecordEntry
{
	char		id[MIGR_MAX_ID_LEN + 1];
	int			last;			/* the last step (or version change) naming it */
	bool		flag;			/* whether that was an addition (or an "up") */
	bool		removed;		/* whether a change removed it */
} RecordEntry;

static HTAB *
record_table(const char *name, int size)
{
	HASHCTL		ctl;

	ctl.keysize = MIGR_MAX_ID_LEN + 1;
	ctl.entrysize = sizeof(RecordEntry);
	ctl.hcxt = CurrentMemoryContext;
	return hash_create(name, Max(size, 16), &ctl,
					   HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

/*
 * Note that "id" was changed at position "pos" (added or applied when
 * "flag"); a removal is added to *removals the first time.
 */
static void
record_touch(HTAB *table, const char *id, int pos, bool flag, List **removals)
{
	bool		found;
	RecordEntry *entry = hash_search(table, id, HASH_ENTER, &found);

	if (!found)
		entry->removed = false;
	entry->last = pos;
	entry->flag = flag;
	if (!flag && !entry->removed)
	{
		entry->removed = true;
		*removals = lappend(*removals, (char *) id);
	}
}

static bool
record_is_last(HTAB *table, const char *id, int pos)
{
	RecordEntry *entry = hash_search(table, id, HASH_FIND, NULL);

	return entry != NULL && entry->last == pos && entry->flag;
}

static Datum
array_of(Datum *elems, bool *nulls, int n, Oid type)
{
	int16		len;
	bool		byval;
	char		align;
	int			dims[1] = {n};
	int			lbs[1] = {1};

	get_typlenbyvalalign(type, &len, &byval, &align);
	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs, type,
											  len, byval, align));
}

/*
 * Write what a sequence of steps did, in order, with one statement per
 * table and change instead of four per step: the version rows, the applied
 * rows and one log row per step.  The rows are those that writing the
 * steps one by one would leave: a version row is deleted if any step
 * removes it and inserted if the last step that touches it adds it; an
 * applied row is deleted if any step removes its revision and inserted
 * (with what the last step says) if the last step of its revision applies
 * it.  Deletions go first, so that the foreign key from migr.version to
 * migr.applied holds after every statement.
 */
void
migr_catalog_record_steps(List *records, const MigrCaller *caller)
{
	int			n = list_length(records);
	HTAB	   *versions = record_table("migr version changes", n * 2);
	HTAB	   *applied = record_table("migr applied changes", n);
	List	   *version_delete = NIL;
	List	   *applied_delete = NIL;
	bool		version_adds = false;
	Datum	   *a_rev = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *a_checksum = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *a_at = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *a_down = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *a_down_null = palloc(sizeof(bool) * Max(n, 1));
	Datum	   *a_registrant = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *a_registrant_null = palloc(sizeof(bool) * Max(n, 1));
	int			na = 0;
	Datum	   *l_run = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *l_run_null = palloc(sizeof(bool) * Max(n, 1));
	Datum	   *l_op = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *l_rev = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *l_dir = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *l_target = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *l_target_null = palloc(sizeof(bool) * Max(n, 1));
	Datum	   *l_checksum = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *l_checksum_null = palloc(sizeof(bool) * Max(n, 1));
	Datum	   *l_start = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *l_finish = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *l_lsn = palloc(sizeof(Datum) * Max(n, 1));
	Datum		args[14];
	char		nulls[14];
	ListCell   *lc;
	int			pos = 0;
	bool		stamp = false;

	if (records == NIL)
		return;

	/* Who changes what, and what the last change to each row is. */
	foreach(lc, records)
	{
		MigrStepRecord *rec = (MigrStepRecord *) lfirst(lc);
		ListCell   *lv;
		int			step = foreach_current_index(lc);

		foreach(lv, rec->version_remove)
			record_touch(versions, lfirst(lv), pos++, false, &version_delete);
		foreach(lv, rec->version_add)
		{
			record_touch(versions, lfirst(lv), pos++, true, NULL);
			version_adds = true;
		}
		record_touch(applied, rec->revision, step, rec->up, &applied_delete);
		stamp = strcmp(rec->operation, "stamp") == 0 ||
			strcmp(rec->operation, "adopt") == 0;
	}

	if (version_delete != NIL)
	{
		args[0] = migr_text_list_to_array(version_delete);
		run_query(Q_VERSION_DELETE, args, NULL);
	}
	if (applied_delete != NIL)
	{
		args[0] = migr_text_list_to_array(applied_delete);
		run_query(Q_APPLIED_DELETE, args, NULL);
	}

	foreach(lc, records)
	{
		MigrStepRecord *rec = (MigrStepRecord *) lfirst(lc);

		if (!record_is_last(applied, rec->revision, foreach_current_index(lc)))
			continue;
		a_rev[na] = CStringGetTextDatum(rec->revision);
		a_checksum[na] = CStringGetTextDatum(rec->checksum);
		a_at[na] = TimestampTzGetDatum(rec->finished_at);
		a_down_null[na] = rec->downgrade == NULL;
		a_down[na] = rec->downgrade ? CStringGetTextDatum(rec->downgrade) : (Datum) 0;
		a_registrant_null[na] = !OidIsValid(rec->downgrade_registrant);
		a_registrant[na] = ObjectIdGetDatum(rec->downgrade_registrant);
		na++;
	}
	if (na > 0)
	{
		args[0] = array_of(a_rev, NULL, na, TEXTOID);
		args[1] = array_of(a_checksum, NULL, na, TEXTOID);
		args[2] = array_of(a_at, NULL, na, TIMESTAMPTZOID);
		args[3] = name_datum(caller->current_user_name);
		args[4] = BoolGetDatum(stamp);
		args[5] = array_of(a_down, a_down_null, na, TEXTOID);
		args[6] = array_of(a_registrant, a_registrant_null, na, REGROLEOID);
		run_query(Q_APPLIED_INSERT, args, NULL);
	}

	/* Only the rows whose last change is an addition. */
	if (version_adds)
	{
		List	   *rows = NIL;
		ListCell   *lv;

		pos = 0;
		foreach(lc, records)
		{
			MigrStepRecord *rec = (MigrStepRecord *) lfirst(lc);

			pos += list_length(rec->version_remove);
			foreach(lv, rec->version_add)
			{
				if (record_is_last(versions, lfirst(lv), pos))
					rows = lappend(rows, lfirst(lv));
				pos++;
			}
		}
		if (rows != NIL)
		{
			args[0] = migr_text_list_to_array(rows);
			run_query(Q_VERSION_INSERT, args, NULL);
		}
	}

	/* One log row per step, in order. */
	foreach(lc, records)
	{
		MigrStepRecord *rec = (MigrStepRecord *) lfirst(lc);
		int			k = foreach_current_index(lc);

		l_run[k] = Int64GetDatum(rec->run_id);
		l_run_null[k] = rec->run_id == 0;
		l_op[k] = CStringGetTextDatum(rec->operation);
		l_rev[k] = CStringGetTextDatum(rec->revision);
		l_dir[k] = CStringGetTextDatum(rec->up ? "up" : "down");
		l_target_null[k] = rec->target == NULL;
		l_target[k] = rec->target ? CStringGetTextDatum(rec->target) : (Datum) 0;
		l_checksum_null[k] = rec->checksum == NULL;
		l_checksum[k] = rec->checksum ? CStringGetTextDatum(rec->checksum) : (Datum) 0;
		l_start[k] = TimestampTzGetDatum(rec->started_at);
		l_finish[k] = TimestampTzGetDatum(rec->finished_at);
		l_lsn[k] = LSNGetDatum(rec->wal_before);
	}
	memset(nulls, ' ', sizeof(nulls));
	args[0] = array_of(l_run, l_run_null, n, INT8OID);
	args[1] = array_of(l_op, NULL, n, TEXTOID);
	args[2] = array_of(l_rev, NULL, n, TEXTOID);
	args[3] = array_of(l_dir, NULL, n, TEXTOID);
	args[4] = array_of(l_target, l_target_null, n, TEXTOID);
	args[5] = array_of(l_checksum, l_checksum_null, n, TEXTOID);
	args[6] = array_of(l_start, NULL, n, TIMESTAMPTZOID);
	args[7] = array_of(l_finish, NULL, n, TIMESTAMPTZOID);
	args[8] = array_of(l_lsn, NULL, n, PG_LSNOID);
	args[9] = name_datum(caller->session_user_name);
	args[10] = name_datum(caller->current_user_name);
	args[11] = text_or_null(application_name, &nulls[11]);
	args[12] = CStringGetTextDatum(migr_environment_name());
	args[13] = BoolGetDatum(migr_confirm_production);
	run_query(Q_LOG_INSERT_STEPS, args, nulls);

	hash_destroy(versions);
	hash_destroy(applied);
}

/*
 * Write what one step did: the applied row, the version rows and the log.
 */
void
migr_catalog_record_step(const MigrStepRecord *rec, const MigrCaller *caller)
{
	migr_catalog_record_steps(list_make1((MigrStepRecord *) rec), caller);
}

/*
 * Log a step that failed: no applied or version change, just the row that
 * says which statement (at which line of its script; 0: none) failed and
 * why.
 */
void
migr_catalog_record_failure(const MigrStepRecord *rec, const char *statement,
							int line, const char *sqlstate, const char *message,
							const MigrCaller *caller)
{
	insert_log(rec->run_id, rec->operation, rec->revision,
			   rec->up ? "up" : "down", rec->target, rec->checksum, NULL,
			   statement, rec->started_at, rec->finished_at, rec->wal_before,
			   sqlstate, message, line, caller);
}

/*
 * Write a log row for something other than a step.
 */
void
migr_catalog_record_event(const MigrEventRecord *rec, const MigrCaller *caller)
{
	TimestampTz now = GetCurrentTimestamp();

	insert_log(0, rec->operation, rec->revision, NULL, NULL, rec->checksum,
			   rec->command_tag, rec->statement, now, now,
			   GetXLogInsertRecPtr(), NULL, NULL, 0, caller);
}

/*
 * Rows are about to be inserted into migr.log by someone other than migr:
 * a restore (pg_restore, or psql running a plain dump) bringing back the
 * history of the database it was dumped from.  In a production database,
 * the restore's own DDL, let through by migr.allow_adhoc_ddl, was logged
 * here before that history arrived, with ids 1, 2, ... from this database's
 * fresh log_seq, which the restored rows have too.  Move every row with a
 * positive id below the lowest id there is (0 at most): they keep their
 * order, sort before the restored history, and leave every positive id to
 * it, so that log_seq, which the restore sets after the rows, goes on from
 * there.  Returns how many rows moved.
 */
uint64
migr_catalog_log_make_room(void)
{
	run_query(Q_LOG_MAKE_ROOM, NULL, NULL);
	return SPI_processed;
}

/*
 * Logical replication of migr's own tables: the names of the publications
 * of this database that publish one of them (a FOR ALL TABLES publication
 * does), or, with "subscriptions", of the subscriptions that replicate into
 * one.  Either way a subscriber records revisions whose DDL it never ran
 * (logical replication carries rows, not schema changes).
 */
List *
migr_catalog_replication(bool subscriptions)
{
	List	   *result = NIL;

	run_query(subscriptions ? Q_SUBSCRIPTIONS : Q_PUBLICATIONS, NULL, NULL);
	for (uint64 i = 0; i < SPI_processed; i++)
		result = lappend(result, result_text(i, 1));
	return result;
}

/*
 * Has migr_launch() been called?  If so, and "at" is not NULL, *at says
 * when.
 */
bool
migr_catalog_launch_time(TimestampTz *at)
{
	bool		isnull;
	bool		launched;

	run_query(Q_LAUNCH, NULL, NULL);
	launched = SPI_processed > 0;
	if (launched && at != NULL)
		*at = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
												SPI_tuptable->tupdesc, 1,
												&isnull));
	SPI_freetuptable(SPI_tuptable);
	return launched;
}

/* Has migr_launch() been called? */
bool
migr_catalog_launched(void)
{
	return migr_catalog_launch_time(NULL);
}

/* Record the launch, now, by the caller. */
void
migr_catalog_insert_launch(const MigrCaller *caller)
{
	Datum		args[1] = {name_datum(caller->current_user_name)};

	run_query(Q_INSERT_LAUNCH, args, NULL);
}

/*
 * Applied revisions whose scripts, as stored now, are not the ones that ran
 * (by checksum), oldest first: a list of MigrChecksumMismatch *.
 */
List *
migr_catalog_checksum_mismatches(void)
{
	List	   *result = NIL;

	run_query(Q_MISMATCHES, NULL, NULL);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		MigrChecksumMismatch *m = palloc(sizeof(MigrChecksumMismatch));
		bool		isnull;

		m->revision = result_text(i, 1);
		m->applied_checksum = result_text(i, 2);
		m->stored_checksum = result_text(i, 3);
		m->applied_at = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[i],
														  SPI_tuptable->tupdesc,
														  4, &isnull));
		m->registered_again = result_bool(i, 5);
		result = lappend(result, m);
	}
	SPI_freetuptable(SPI_tuptable);
	return result;
}

/*
 * Accept the scripts stored now for applied revision "id" as those that
 * ran: both its checksums become "checksum", and the downgrade kept when it
 * was applied becomes the one stored now, with its registrant.
 */
void
migr_catalog_accept_scripts(const char *id, const char *checksum)
{
	Datum		args[2] = {CStringGetTextDatum(id), CStringGetTextDatum(checksum)};

	run_query(Q_ACCEPT_REVISION_CHECKSUM, args, NULL);
	run_query(Q_ACCEPT_APPLIED_CHECKSUM, args, NULL);
}

/* Row "row" of the last result of an in_progress query. */
static MigrInProgress *
in_progress_row(uint64 row)
{
	MigrInProgress *p = palloc(sizeof(MigrInProgress));

	p->revision = result_text(row, 1);
	p->direction = result_text(row, 2);
	p->target = result_text(row, 3);
	p->started_at = result_text(row, 4);
	p->started_by = result_text(row, 5);
	return p;
}

/* The in_progress row of a revision, or NULL. */
MigrInProgress *
migr_catalog_in_progress(const char *id)
{
	Datum		args[1];

	args[0] = CStringGetTextDatum(id);
	run_query(Q_IN_PROGRESS, args, NULL);
	return SPI_processed > 0 ? in_progress_row(0) : NULL;
}

/*
 * The newest in_progress row, or NULL.  A step running now is this one:
 * it wrote its row under migr's lock, which it still holds.
 */
MigrInProgress *
migr_catalog_newest_in_progress(void)
{
	run_query(Q_NEWEST_IN_PROGRESS, NULL, NULL);
	return SPI_processed > 0 ? in_progress_row(0) : NULL;
}

/*
 * Record that a migr_script() step of revision "id" begins now (its row of
 * migr.in_progress replaces an earlier one of the same revision).
 */
void
migr_catalog_begin_in_progress(const char *id, bool up, const char *target,
							   const MigrCaller *caller)
{
	Datum		args[4];

	args[0] = CStringGetTextDatum(id);
	args[1] = CStringGetTextDatum(up ? "up" : "down");
	args[2] = CStringGetTextDatum(target);
	args[3] = name_datum(caller->current_user_name);
	run_query(Q_BEGIN_IN_PROGRESS, args, NULL);
}

/*
 * Delete the in_progress row of the step of "id" in direction "up"; false
 * if there is none, else *started_at says when the step began.
 */
bool
migr_catalog_end_in_progress(const char *id, bool up, TimestampTz *started_at)
{
	Datum		args[2];
	bool		isnull;
	bool		found;

	args[0] = CStringGetTextDatum(id);
	args[1] = CStringGetTextDatum(up ? "up" : "down");
	run_query(Q_END_IN_PROGRESS, args, NULL);
	found = SPI_processed > 0;
	if (found)
		*started_at = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
														SPI_tuptable->tupdesc, 1,
														&isnull));
	SPI_freetuptable(SPI_tuptable);
	return found;
}

/*
 * Delete the in_progress rows of these revisions; returns the rows deleted
 * (MigrInProgress *), oldest first.
 */
List *
migr_catalog_delete_in_progress(List *ids)
{
	Datum		args[1];
	List	   *result = NIL;

	args[0] = migr_text_list_to_array(ids);
	run_query(Q_DELETE_IN_PROGRESS, args, NULL);
	for (uint64 i = 0; i < SPI_processed; i++)
		result = lappend(result, in_progress_row(i));
	return result;
}

/* ---------------------------------------------------------------------
 * The recorded description of the schema (drift, issue 13)
 *
 * After each operation that changes the schema, migr keeps describe.c's
 * description of it in migr.schema_record (one row per object) and
 * migr.schema_record_info (when, by which operation, which schemas);
 * migr_check() compares the live schema with it.  A database still on the
 * 0.1 catalog has no such table: nothing is recorded there.
 * ---------------------------------------------------------------------
 */

/* Has the catalog the tables of the recorded description (0.2)? */
static bool
schema_record_exists(void)
{
	return OidIsValid(get_relname_relid("schema_record",
										get_namespace_oid("migr", false)));
}

/*
 * The statement that records the description, around the description query
 * (%s).  The columns of migr.schema_record, in the order of its rows.
 */
#define RECORD_COLUMNS \
"key, kind, schema_name, object_name, parent, def, create_sql, drop_sql, target, sortkey, subrank, extra, deps"

/*
 * When the description differs from the recorded one, the statement
 * deletes every recorded row and inserts the description (the DELETE sees
 * the table as it was before the statement, so it does not see the new
 * rows); when it is the same, it writes nothing.  The two sides are
 * compared by set operations, whose cost does not depend on the planner's
 * estimate of the record's size, which is wrong right after a VACUUM of
 * the empty table.
 */
#define RECORD_SCHEMA_SQL \
"WITH d AS MATERIALIZED (" \
"  SELECT x.key, x.kind, x.schema_name, x.object_name, x.parent, coalesce(x.def, '') AS def," \
"         x.create_sql, x.drop_sql, x.target, x.sortkey, x.subrank, x.extra," \
"         pg_catalog.array_to_string(x.deps, E'\\n') AS deps" \
"    FROM (%s) AS x (kind, schema_name, object_name, key, parent, def, create_sql, drop_sql," \
"                   target, sortkey, subrank, extra, deps))," \
"differs AS MATERIALIZED (" \
"  SELECT EXISTS (SELECT * FROM d EXCEPT SELECT " RECORD_COLUMNS " FROM migr.schema_record)" \
"      OR EXISTS (SELECT " RECORD_COLUMNS " FROM migr.schema_record EXCEPT SELECT * FROM d) AS yes)," \
"gone AS (" \
"  DELETE FROM migr.schema_record WHERE (SELECT yes FROM differs))" \
"INSERT INTO migr.schema_record (" RECORD_COLUMNS ")" \
"SELECT d.* FROM d WHERE (SELECT yes FROM differs)"

/*
 * Record the description of the live schemas "schemas", after "operation".
 * "describe_sql" is describe.c's description query (migr_describe_query()):
 * its rows go from the catalogs to migr.schema_record in one statement,
 * never through C.  Call inside an owner scope.  Returns false (recording
 * nothing) on a 0.1 catalog.
 */
bool
migr_catalog_record_schema(const char *describe_sql, List *schemas,
						   const char *operation)
{
	Oid			argtypes[1] = {TEXTARRAYOID};
	Datum		args[1];
	Datum		info[2];
	Oid			info_types[2] = {TEXTOID, TEXTARRAYOID};
	int			guc_level;

	if (!schema_record_exists())
		return false;

	/*
	 * The description is read with an empty search_path, as describe.c does,
	 * and reads whole catalogs: sequential scans are right.
	 */
	guc_level = NewGUCNestLevel();
	(void) set_config_option("search_path", "", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("enable_seqscan", "on", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	args[0] = migr_text_list_to_array(schemas);
	exec_sql(psprintf(RECORD_SCHEMA_SQL, describe_sql), 1, argtypes, args,
			 NULL, SPI_OK_INSERT);
	AtEOXact_GUC(true, guc_level);

	info[0] = CStringGetTextDatum(operation);
	info[1] = migr_text_list_to_array(schemas);
	exec_sql("INSERT INTO migr.schema_record_info AS i (recorded_at, operation, schemas)"
			 " VALUES (pg_catalog.now(), $1, $2)"
			 " ON CONFLICT (one) DO UPDATE SET recorded_at = excluded.recorded_at,"
			 "   operation = excluded.operation, schemas = excluded.schemas",
			 2, info_types, info, NULL, SPI_OK_INSERT);
	return true;
}

/*
 * The recorded description (MigrObject, allocated in "into") and, in
 * "schemas", the schemas it describes; false when there is none.  Call
 * inside an owner scope.
 */
bool
migr_catalog_load_schema_record(List **objects, List **schemas,
								MemoryContext into)
{
	MemoryContext old;
	bool		isnull;

	*objects = NIL;
	*schemas = NIL;
	if (!schema_record_exists())
		return false;
	exec_sql("SELECT schemas FROM migr.schema_record_info", 0, NULL,
			 NULL, NULL, SPI_OK_SELECT);
	if (SPI_processed == 0)
		return false;
	old = MemoryContextSwitchTo(into);
	*schemas = migr_text_array_to_list(SPI_getbinval(SPI_tuptable->vals[0],
													 SPI_tuptable->tupdesc, 1,
													 &isnull));
	MemoryContextSwitchTo(old);

	exec_sql("SELECT key, kind, schema_name, object_name, parent, def,"
			 "       create_sql, drop_sql, target, sortkey, subrank, extra, deps"
			 "  FROM migr.schema_record",
			 0, NULL, NULL, NULL, SPI_OK_SELECT);
	old = MemoryContextSwitchTo(into);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		MigrObject *o = palloc0(sizeof(MigrObject));
		char	   *s;
		char	   *deps;

		CHECK_FOR_INTERRUPTS();
		o->key = result_text(i, 1);
		o->kind = result_text(i, 2);
		o->schema_name = result_text(i, 3);
		o->object_name = result_text(i, 4);
		o->parent = result_text(i, 5);
		o->def = result_text(i, 6);
		o->create_sql = result_text(i, 7);
		o->drop_sql = result_text(i, 8);
		o->target = result_text(i, 9);
		s = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 10);
		o->sortkey = strtoi64(s, NULL, 10);
		s = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 11);
		o->subrank = atoi(s);
		o->extra = result_text(i, 12);
		deps = result_text(i, 13);
		while (deps != NULL && *deps != '\0')
		{
			char	   *end = strchr(deps, '\n');

			o->deps = lappend(o->deps, end ? pnstrdup(deps, end - deps) : pstrdup(deps));
			deps = end ? end + 1 : NULL;
		}
		*objects = lappend(*objects, o);
	}
	MemoryContextSwitchTo(old);
	return true;
}
