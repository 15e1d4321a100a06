/*-------------------------------------------------------------------------
 *
 * migr.h
 *		Types and prototypes shared by the files of the migr extension.
 *
 * The extension is split by concern, in six layers; a file calls only
 * files of lower layers (and earlier files of its own layer, below the
 * top one).  scripts/check-layers.sh checks it, and `make test` runs it.
 *
 *	0	migr.c		module entry point and settings (GUCs)
 *		classify.c	tells destructive statements from additive ones
 *		script.c	parses, validates and checksums migration scripts
 *		analysis.c	what a statement locks, rewrites, scans; lint rules
 *		citus.c		where this database stands in a Citus cluster
 *		state.c		backend-local execution state: is an operation or a
 *					migr_script() step running, the step's cover
 *		progress.c	what pg_stat_activity shows of a running operation
 *	1	catalog.c	reads and writes the catalog tables (as the extension owner)
 *		describe.c	describes schemas from the server's catalogs (pg_get_*def)
 *	2	lock.c		serializes every operation that changes the catalog
 *		graph.c		the in-memory revision graph and its walks
 *		target.c	turns a target string ("head", "-1", "ab12+2") into revisions
 *	3	plan.c		the steps of an operation
 *		checks.c	the policy gate: where a change can run (not on a
 *					standby), confirmation, checksums, the two-deploy rule,
 *					registrants, transactions, redo, a schema at base
 *		adopt.c		what another tool's version table says is applied
 *		diff.c		the schema differ: ordered upgrade and downgrade rows;
 *					reading a desired schema; the drift record
 *	4	worker.c	background workers: a step outside a transaction for
 *					CALL migr_upgrade_each(), failure records that outlive
 *					the caller's transaction
 *		apply.c		the step engine: run a step's script, record the step
 *		dryrun.c	dry runs
 *		register.c	migr_register(), the one registration path;
 *					migr_revision(), migr_merge()
 *	5	runner.c	migr_upgrade(), migr_downgrade(), migr_stamp(), migr_redo(),
 *					migr_upgrade_each()
 *		offline.c	migr_script() and the bookkeeping calls of its scripts
 *		files.c		migration files: their format (parse and write),
 *					migr_load(), migr_export(), migr_template(),
 *					migr_autogenerate()
 *		integrity.c	launch, checksum validation and repair
 *		report.c	migr_history(), migr_show(), migr_lint(), migr_plan()
 *		rollback.c	migr_check_head(), migr_rollback_check()
 *		status.c	migr_status()
 *		graph_render.c	migr_graph(): the graph as Graphviz DOT or Mermaid
 *		import.c	migr_script_statements(), for bin/migr-import
 *		schema.c	migr_diff(), migr_check()
 *		guard.c		the DDL lock-down in production (event trigger and
 *					ProcessUtility/executor hooks)
 *		restore.c	the trigger that lets a restored dump keep the log
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGR_H
#define MIGR_H

#include "postgres.h"

#include "access/xlogdefs.h"
#include "fmgr.h"
#include "nodes/execnodes.h"
#include "nodes/bitmapset.h"
#include "nodes/pg_list.h"
#include "utils/timestamp.h"

/* Longest revision id, and the shortest prefix accepted as a target. */
#define MIGR_MAX_ID_LEN			64
#define MIGR_MIN_PREFIX_LEN		4
/* Length of a generated revision id, in hexadecimal digits. */
#define MIGR_GENERATED_ID_LEN	12

/* ---------------------------------------------------------------------
 * migr.c: settings
 * ---------------------------------------------------------------------
 */
typedef enum MigrEnvironment
{
	MIGR_ENV_DEVELOPMENT,
	MIGR_ENV_STAGING,
	MIGR_ENV_PRODUCTION
} MigrEnvironment;

extern int	migr_environment;
extern bool migr_confirm_production;
extern bool migr_allow_adhoc_ddl;
extern bool migr_allow_destructive;
extern int	migr_lock_timeout;
extern int	migr_statement_timeout;

extern const char *migr_environment_name(void);

/* SQLSTATEs of migr's own refusals, class "MG". */
#define ERRCODE_MIGR_CONFIRMATION_REQUIRED	MAKE_SQLSTATE('M','G','0','0','1')
#define ERRCODE_MIGR_ADHOC_DDL				MAKE_SQLSTATE('M','G','0','0','2')
#define ERRCODE_MIGR_DESTRUCTIVE			MAKE_SQLSTATE('M','G','0','0','3')
#define ERRCODE_MIGR_CHECKSUM_MISMATCH		MAKE_SQLSTATE('M','G','0','0','4')
#define ERRCODE_MIGR_HEAD_MISMATCH			MAKE_SQLSTATE('M','G','0','0','5')
#define ERRCODE_MIGR_SCHEMA_NOT_AT_BASE		MAKE_SQLSTATE('M','G','0','0','6')
#define ERRCODE_MIGR_CITUS_WORKER			MAKE_SQLSTATE('M','G','0','0','7')

/* ---------------------------------------------------------------------
 * catalog.c
 * ---------------------------------------------------------------------
 */

/* Saved state of a switch to the extension owner; see migr_owner_begin(). */
typedef struct MigrOwnerScope
{
	Oid			saved_userid;
	int			saved_sec_context;
	int			guc_nest_level;
} MigrOwnerScope;

/* Who is calling: captured once per call, before any switch of user. */
typedef struct MigrCaller
{
	Oid			current_user_id;
	char	   *session_user_name;
	char	   *current_user_name;
	char	   *search_path;	/* the caller's, for reading its scripts */
} MigrCaller;

/* One row of migr.revisions, as far as the runner needs it. */
typedef struct MigrRevisionRow
{
	char	   *id;
	char	   *message;
	char	   *upgrade;
	char	   *downgrade;		/* NULL when the revision has none */
	char	   *checksum;
	List	   *parents;		/* list of char * */
	List	   *depends_on;		/* list of char * */
	List	   *labels;			/* list of char *, sorted */
	const char *changes;		/* "additive", "destructive" or "mixed" */
	List	   *destructive_statements; /* list of char * */
	bool		destructive;	/* destructive changes acknowledged */
	bool		transactional;	/* no statement needs to run outside a
								 * transaction */
	bool		applied;		/* filled by migr_catalog_fetch_revision */
	char	   *applied_downgrade;	/* the downgrade kept when it was applied */
	char	   *applied_checksum;	/* the checksum of the scripts that ran */
	Oid			registrant;		/* who registered or last changed it; 0
								 * unknown */
	Oid			applied_downgrade_registrant;	/* registrant of
												 * applied_downgrade */
	char	   *filename;		/* the migration file it was loaded from, or
								 * NULL */
	int			upgrade_line;	/* the file's line where the upgrade script
								 * starts; 0 unknown */
	int			downgrade_line; /* the same for the downgrade script */
} MigrRevisionRow;

extern void migr_catalog_set_source(const char *id, const char *filename,
									int upgrade_line, int downgrade_line);
extern void migr_catalog_open(MigrOwnerScope *scope);
extern void migr_owner_begin(MigrOwnerScope *scope);
extern void migr_owner_end(MigrOwnerScope *scope);
extern void migr_capture_caller(MigrCaller *caller);

extern MigrRevisionRow *migr_catalog_fetch_revision(const char *id);
extern void migr_catalog_fetch_revisions(const char *const *ids, int n,
										 MigrRevisionRow **rows);
extern List *migr_catalog_graph_heads(bool effective_only, List **applied_flags);
extern bool migr_catalog_is_applied(const char *id);
extern bool migr_catalog_is_head(const char *id);
extern bool migr_catalog_was_ever_applied(const char *id);
extern List *migr_catalog_prefix_matches(const char *prefix);
extern char *migr_catalog_revision_exists(const char *id);
extern char *migr_catalog_label_owner(const char *label);
extern void migr_catalog_insert_revision(const MigrRevisionRow *row,
										 const MigrCaller *caller);
extern void migr_catalog_update_revision(const MigrRevisionRow *row,
										 List *old_parents,
										 const MigrCaller *caller);
extern int64 migr_catalog_next_run_id(void);

/* A revision as the graph holds it: no scripts. */
typedef struct MigrGraphRow
{
	char	   *id;
	List	   *parents;		/* char *, as registered */
	int64		seq;			/* registration order */
	bool		applied;
	bool		has_downgrade;	/* the script a step down would run */
	List	   *depends_on;		/* char * */
	List	   *labels;			/* char *, sorted */
	bool		transactional;
} MigrGraphRow;

extern MigrGraphRow *migr_catalog_graph_rows(int *n);
extern void migr_catalog_history_rows(List *ids, Tuplestorestate *store,
									  TupleDesc desc);
extern HeapTuple migr_catalog_show_row(const char *id, TupleDesc desc);
extern List *migr_catalog_all_revisions(void);
extern List *migr_text_array_to_list(Datum array);

/* What a picture of the graph shows of a revision besides its edges. */
typedef struct MigrRevisionNote
{
	char	   *id;
	char	   *message;
	List	   *labels;			/* branch labels (char *), sorted */
} MigrRevisionNote;

extern List *migr_catalog_revision_notes(List *ids);

extern Datum migr_text_list_to_array(List *strings);
extern void migr_catalog_bump_generation(void);
extern int64 migr_catalog_generation(void);

/* What one executed (or stamped) step leaves behind in the catalog. */
typedef struct MigrStepRecord
{
	int64		run_id;
	const char *operation;		/* "upgrade", "downgrade" or "stamp" */
	const char *revision;
	bool		up;				/* true: revision becomes applied */
	const char *target;
	const char *checksum;
	const char *downgrade;		/* when up: the downgrade script to keep */
	Oid			downgrade_registrant;	/* when up: the registrant of that
										 * script */
	TimestampTz started_at;
	TimestampTz finished_at;
	XLogRecPtr	wal_before;
	List	   *version_remove; /* version rows to delete (char *) */
	List	   *version_add;	/* version rows to insert (char *) */
} MigrStepRecord;

extern void migr_catalog_record_step(const MigrStepRecord *rec,
									 const MigrCaller *caller);
extern void migr_catalog_record_steps(List *records, const MigrCaller *caller);
extern void migr_catalog_record_failure(const MigrStepRecord *rec,
										const char *statement, int line,
										const char *sqlstate,
										const char *message,
										const MigrCaller *caller);

/* A log row that is not a step: registration, launch, repair, ad-hoc DDL. */
typedef struct MigrEventRecord
{
	const char *operation;
	const char *revision;		/* or NULL */
	const char *checksum;		/* or NULL */
	const char *command_tag;	/* or NULL */
	const char *statement;		/* or NULL */
} MigrEventRecord;

extern void migr_catalog_record_event(const MigrEventRecord *rec,
									  const MigrCaller *caller);
extern uint64 migr_catalog_log_make_room(void);
extern List *migr_catalog_replication(bool subscriptions);
extern bool migr_catalog_launched(void);
extern bool migr_catalog_launch_time(TimestampTz *at);
extern void migr_catalog_insert_launch(const MigrCaller *caller);
extern bool migr_catalog_has_registrants(void);

/* An applied revision whose stored scripts are not those that ran. */
typedef struct MigrChecksumMismatch
{
	char	   *revision;
	char	   *applied_checksum;	/* of the scripts that ran */
	char	   *stored_checksum;	/* of the scripts stored now */
	TimestampTz applied_at;
	bool		registered_again;	/* by migr, not by hand: the revision's
									 * checksum matches its scripts */
} MigrChecksumMismatch;

extern List *migr_catalog_checksum_mismatches(void);
extern void migr_catalog_accept_scripts(const char *id, const char *checksum);

/* A statement of a revision's script. */
typedef struct MigrRevisionStatement
{
	char	   *revision;
	char	   *statement;
} MigrRevisionStatement;

extern List *migr_catalog_unacknowledged_destructive(List *ids);

/* A role whose scripts steps would run, and the first revision of them. */
typedef struct MigrRegistrantUse
{
	Oid			registrant;		/* 0: a role that no longer exists */
	char	   *revision;
} MigrRegistrantUse;

extern List *migr_catalog_step_registrants(List *up_ids, List *down_ids);

/* What migr_status() passes to migr_catalog_status() besides settings. */
typedef struct MigrStatusQuery
{
	int			pending;		/* revisions not applied up to the heads */
	bool		preloaded;		/* migr was loaded at session start */
	int			step_holder_pid;	/* process running a migr_script() step
									 * outside a transaction, or 0 */
	bool		error_details;	/* may the caller see error messages */
	List	   *warnings;		/* more warnings (char *), after migr's own */
	const char *citus_node;		/* "coordinator", "worker", or NULL: no Citus */
	int			citus_group;
	const char *citus_coordinator;	/* where the coordinator is, or NULL */
} MigrStatusQuery;

extern char *migr_catalog_status(const MigrStatusQuery *q);

/* A row of migr.in_progress, as text. */
typedef struct MigrInProgress
{
	char	   *revision;
	char	   *direction;		/* "up" or "down" */
	char	   *target;
	char	   *started_at;
	char	   *started_by;
} MigrInProgress;

extern MigrInProgress *migr_catalog_in_progress(const char *id);
extern MigrInProgress *migr_catalog_newest_in_progress(void);
extern List *migr_catalog_delete_in_progress(List *ids);
extern void migr_catalog_begin_in_progress(const char *id, bool up,
										   const char *target,
										   const MigrCaller *caller);
extern bool migr_catalog_end_in_progress(const char *id, bool up,
										 TimestampTz *started_at);

/* ---------------------------------------------------------------------
 * describe.c: the objects of a set of schemas, from the server's catalogs
 * ---------------------------------------------------------------------
 */

/* One described object (a table, a column, an index, a comment, ...). */
typedef struct MigrObject
{
	char	   *kind;			/* "table", "column", "index", ... */
	char	   *schema_name;
	char	   *object_name;
	char	   *key;			/* kind and qualified name: same in any
								 * database */
	char	   *parent;			/* key of the object it belongs to, or NULL */
	char	   *def;			/* what is compared */
	char	   *create_sql;
	char	   *drop_sql;
	char	   *target;			/* what COMMENT ON names, or NULL */
	int64		sortkey;		/* creation order: an OID */
	int			subrank;		/* order among objects of one sortkey */
	char	   *extra;			/* kind-specific facts, lines of text */
	List	   *deps;			/* keys of the objects it depends on */
} MigrObject;

/* catalog.c: the description recorded after each operation (drift) */
extern bool migr_catalog_record_schema(const char *describe_sql, List *schemas,
									   const char *operation);
extern bool migr_catalog_load_schema_record(List **objects, List **schemas,
											MemoryContext into);

extern const char *migr_describe_query(bool with_deps);
extern List *migr_describe_default_schemas(void);
extern List *migr_describe_schemas(List *schemas, bool with_deps,
								   MemoryContext into);

/* ---------------------------------------------------------------------
 * lock.c
 * ---------------------------------------------------------------------
 */
extern void migr_lock_acquire(const char *operation);
extern void migr_lock_acquire_session(const char *operation);
extern bool migr_lock_session_held(void);
extern void migr_lock_release_session(void);
extern void migr_lock_release_session_at_commit(void);
extern int	migr_lock_step_holder(void);

/* ---------------------------------------------------------------------
 * script.c
 * ---------------------------------------------------------------------
 */

/* One statement of a script, sliced out of it by the server's parser. */
typedef struct MigrStatement
{
	int			number;			/* 1-based */
	int			line;			/* 1-based line of its first token */
	int			location;		/* byte offset of its first token */
	char	   *text;
	Node	   *parsetree;		/* the raw statement node */
} MigrStatement;

extern List *migr_parse_script(const char *script, const char *revision,
							   const char *which);
extern char *migr_checksum(const char *upgrade, const char *downgrade);
extern int	migr_line_of(const char *text, int offset);

/* One token of a script, as the server's lexer reads it (script.c). */
typedef struct MigrToken
{
	int			offset;			/* in bytes */
	int			token;			/* the lexer's token code, or the character */
} MigrToken;

extern MigrToken *migr_scan_tokens(const char *script, int *ntokens,
								   List **cuts);

/* Where migr_line_at() has counted to in a text. */
typedef struct MigrLineCounter
{
	int			offset;
	int			line;
} MigrLineCounter;

#define MIGR_LINE_COUNTER_INIT {0, 1}
extern int	migr_line_at(const char *text, int offset, MigrLineCounter *counter);
extern int	migr_force_standard_strings(void);
extern char *migr_psql_text(const char *script, const char *revision,
							const char *which);

/* ---------------------------------------------------------------------
 * graph.c
 * ---------------------------------------------------------------------
 */
/*
 * A revision in the graph.  Two kinds of edges: parents (down_revision),
 * which make lineages and version rows, and dependencies (depends_on),
 * which only order.  Both count for what must be applied first.
 */
typedef struct MigrNode
{
	char	   *id;
	int64		seq;			/* registration order */
	int			nparents;
	int		   *parents;		/* positions in MigrGraph.nodes */
	int			nchildren;
	int		   *children;
	int			ndeps;
	int		   *deps;
	int			ndependents;
	int		   *dependents;
	bool		applied;
	bool		has_downgrade;
	bool		transactional;
} MigrNode;

typedef struct MigrGraph
{
	int			nnodes;
	MigrNode   *nodes;			/* in registration order */
	struct HTAB *index;			/* id -> position in nodes */
	struct HTAB *labels;		/* branch label -> position in nodes */
} MigrGraph;

/*
 * A place in the graph that a target names: either "at" some revisions (the
 * applied set's tips there), or "just below" some revisions (none of them
 * applied, everything under them applied).  Base is just below the roots.
 */
typedef struct MigrPosition
{
	List	   *at;				/* positions of revisions, or NIL */
	List	   *below;			/* used when at is NIL */
	Bitmapset  *lineage;		/* "X@...": the lineage of X; NULL: the graph */
} MigrPosition;

extern MigrGraph *migr_graph_load(void);
extern int	migr_graph_find(const MigrGraph *graph, const char *id);
extern int	migr_graph_find_label(const MigrGraph *graph, const char *label);
extern List *migr_graph_heads(const MigrGraph *graph);
extern List *migr_graph_effective_heads(const MigrGraph *graph);
extern List *migr_graph_roots(const MigrGraph *graph);
extern List *migr_graph_current(const MigrGraph *graph);
extern Bitmapset *migr_graph_ancestors(const MigrGraph *graph, List *from);
extern Bitmapset *migr_graph_descendants(const MigrGraph *graph, List *from);
extern Bitmapset *migr_graph_lineage_down(const MigrGraph *graph, List *from);
extern Bitmapset *migr_graph_lineage_up(const MigrGraph *graph, List *from);
extern Bitmapset *migr_graph_wanted(const MigrGraph *graph, const MigrPosition *pos);
extern Bitmapset *migr_graph_above(const MigrGraph *graph, const MigrPosition *pos);
extern Bitmapset *migr_graph_removed_by(const MigrGraph *graph,
										const MigrPosition *pos);
extern const char *migr_graph_branch_name(const MigrGraph *graph, int node);
extern void migr_graph_apply_step(MigrGraph *graph, int node, bool up,
								  List **remove, List **add);
extern Bitmapset *migr_graph_applied(const MigrGraph *graph);
extern List *migr_graph_order(const MigrGraph *graph, const Bitmapset *set,
							  bool newest_first);
extern char *migr_graph_id_list(const MigrGraph *graph, List *nodes);

/* ---------------------------------------------------------------------
 * plan.c
 * ---------------------------------------------------------------------
 */
typedef enum MigrOperation
{
	MIGR_OP_UPGRADE,
	MIGR_OP_DOWNGRADE,
	MIGR_OP_STAMP,
	MIGR_OP_REDO,
	OP_ADOPT					/* a stamp of what another tool applied */
} MigrOperation;

extern const char *const migr_operation_names[];

/* One step of a plan: a revision to apply (up) or to remove (down). */
typedef struct MigrPlanStep
{
	int			node;
	bool		up;
} MigrPlanStep;

extern Bitmapset *migr_plan_stamp_decided(MigrGraph *graph, List *targets,
										  bool purge);
extern List *migr_plan_steps(MigrGraph *graph, MigrOperation op, List *targets,
							 bool purge, const char *target_text);
extern const char *migr_step_script(const MigrRevisionRow *row, bool up);
extern MigrOperation migr_direction_arguments(FunctionCallInfo fcinfo,
											  char **target);

/* ---------------------------------------------------------------------
 * checks.c: the policy gate
 * ---------------------------------------------------------------------
 */
/* What asks for confirmation in production: see migr_require_confirmation. */
typedef enum MigrConfirmAction
{
	MIGR_CONFIRM_UPGRADE,
	MIGR_CONFIRM_DOWNGRADE,
	MIGR_CONFIRM_STAMP,
	MIGR_CONFIRM_REDO,
	MIGR_CONFIRM_LAUNCH,
	MIGR_CONFIRM_REPAIR,
	MIGR_CONFIRM_REGISTER,
	MIGR_CONFIRM_ADOPT,
	MIGR_CONFIRM_MISSING_FILE
} MigrConfirmAction;

extern void migr_check_can_change(FunctionCallInfo fcinfo);
extern void migr_require_confirmation(MigrConfirmAction action);
extern void migr_check_checksums(void);
extern void migr_check_plan(const MigrGraph *graph, MigrOperation op,
							List *steps, const MigrCaller *caller, bool offline);
extern void migr_check_steps(const MigrGraph *graph, MigrOperation op,
							 List *steps, const MigrCaller *caller, bool offline);
extern Oid	migr_step_registrant(const MigrRevisionRow *row, bool up);
extern Oid	migr_step_role(Oid caller, Oid registrant, const char *revision);
extern void migr_check_script_session(const MigrRevisionRow *row, bool up,
									  Oid caller);
extern void migr_check_change_allowed(Oid caller, Oid registrant,
									  const char *revision, bool repairing);

/* ---------------------------------------------------------------------
 * adopt.c: another tool's version table
 * ---------------------------------------------------------------------
 */
typedef enum MigrTool
{
	MIGR_TOOL_ALEMBIC,
	MIGR_TOOL_FLYWAY,
	MIGR_TOOL_GOLANG_MIGRATE,
	MIGR_TOOL_DBMATE,
	MIGR_TOOL_DIESEL,
	MIGR_TOOL_SQITCH
} MigrTool;

/* A version the tool says is applied, and the revision it was imported as. */
typedef struct MigrAdoptedVersion
{
	char	   *version;		/* as the tool's table has it */
	char	   *id;				/* migr_adopt_revision_id() */
	bool		tip;			/* stands for everything it needs, too */
} MigrAdoptedVersion;

/* What migr_adopt_read() found. */
typedef struct MigrAdoption
{
	MigrTool	tool;
	const char *tool_name;
	char	   *table;			/* quoted, qualified */
	List	   *entries;		/* of MigrAdoptedVersion * */
	int			skipped;		/* rows that are no version (repeatables) */
} MigrAdoption;

extern char *migr_adopt_revision_id(MigrTool tool, const char *version);
extern MigrAdoption *migr_adopt_read(const char *tool_name, const char *table,
									 MemoryContext cxt);
extern List *migr_adopt_targets(const MigrGraph *graph, const MigrAdoption *a);

/* ---------------------------------------------------------------------
 * diff.c: the schema differ
 * ---------------------------------------------------------------------
 */

/* One difference: a row of migr_diff() and migr_check(). */
typedef struct MigrDiffRow
{
	int			step;
	const char *kind;
	const char *schema_name;
	const char *object_name;
	char	   *change;
	char	   *upgrade;
	char	   *downgrade;
	bool		destructive;
	MigrObject *object;			/* the object the row is about */
	bool		addition;		/* it adds the object */
	bool		removal;		/* it removes the object */
	bool		collateral;		/* the object is unchanged: made again around
								 * another change */
	const char *rename_hint;	/* a RENAME that may be meant, or NULL */
} MigrDiffRow;

extern List *migr_diff_compute(List *live, List *want);
extern List *migr_diff_describe_desired(const char *sql, List *schemas,
										bool default_schemas, List *live,
										MemoryContext into);
extern List *migr_diff_against(const char *desired, List *schemas);
extern char *migr_diff_section(List *rows, bool upgrade);
extern void migr_drift_record(const char *operation);
extern List *migr_drift_rows(bool *recorded);

/* ---------------------------------------------------------------------
 * worker.c: background workers
 * ---------------------------------------------------------------------
 */
/* How a background worker's job ended. */
typedef struct MigrWorkerOutcome
{
	bool		finished;		/* the worker said it did its job */
	int			statement;		/* the statement it was at (1-based), or 0 */
	ErrorData  *error;			/* its error, to raise or report; or NULL */
} MigrWorkerOutcome;

extern bool migr_worker_run(const char *function, const char *what, Oid role,
							List *args, bool must_start, int timeout_ms,
							MigrWorkerOutcome *outcome);
extern void migr_worker_refuse_no_slot(const char *what);
extern List *migr_worker_attach(Datum main_arg);
extern void migr_worker_progress(int statement);
extern void migr_worker_done(void);
extern void migr_worker_exec(const char *sql);
extern bool migr_worker_record_failure(const MigrStepRecord *rec,
									   const char *statement, int line,
									   const ErrorData *edata,
									   const MigrCaller *caller);
extern PGDLLEXPORT void migr_failure_worker_main(Datum main_arg);

/* ---------------------------------------------------------------------
 * apply.c: the step engine
 * ---------------------------------------------------------------------
 */
/* Everything a running operation needs. */
typedef struct MigrRun
{
	MigrOperation op;
	const char *target;
	MigrGraph  *graph;
	List	   *steps;			/* of MigrPlanStep * */
	int64		run_id;
	MigrCaller	caller;
	ReturnSetInfo *rsinfo;
	MemoryContext batch_cxt;	/* the revisions and records of a batch */
	List	   *records;		/* of MigrStepRecord *, not written yet */
} MigrRun;

extern Interval *migr_interval_between(TimestampTz start, TimestampTz end);
extern void migr_run_step_script(const MigrRevisionRow *row, bool up,
								 const MigrCaller *caller);
extern void migr_statement_errcontext(const char *revision, const char *which,
									  const MigrStatement *statement,
									  const char *filename, int first_line);
extern const char *migr_step_source(const MigrRevisionRow *row, bool up,
									int *first_line);
extern void migr_emit_step_row(MigrRun *run, int number, const char *revision,
							   bool up, const char *message, TimestampTz started,
							   TimestampTz finished, Datum locks, Datum rewritten,
							   const char *error);
extern void migr_run_steps(MigrRun *run, List *steps, int number);
extern void migr_execute_plan(MigrRun *run);
extern char *migr_current_statement(void);
extern void migr_forget_current_step(void);
extern ErrorData *migr_run_step_alone(MigrRun *run, const MigrPlanStep *step,
									  int number, MemoryContext error_cxt);
extern void migr_resolve_in_progress(List *ids, const char *operation,
									 bool confirm);

/* ---------------------------------------------------------------------
 * dryrun.c
 * ---------------------------------------------------------------------
 */
extern void migr_dry_run_note_rewrite(Oid relid);
extern void migr_dry_run_plan(MigrRun *run);

/* ---------------------------------------------------------------------
 * register.c
 * ---------------------------------------------------------------------
 */

/*
 * What a registration asks for.  A list that is not "given" (SQL NULL)
 * keeps what an existing revision has: its parents (for a new revision,
 * the graph's single head), dependencies and labels; destructive not given
 * only classifies (or keeps what an existing revision has).
 */
typedef struct MigrRegistration
{
	const char *message;
	const char *upgrade;
	const char *downgrade;		/* NULL: the revision has none */
	const char *id;				/* NULL: generate one */
	List	   *down_revision;	/* names as given (char *) */
	bool		down_revision_given;
	List	   *branch_labels;
	bool		branch_labels_given;
	List	   *depends_on;
	bool		depends_on_given;
	bool		destructive;
	bool		destructive_given;
	bool		transactional;
	bool		transactional_given;
	const char *filename;		/* the migration file, or NULL (SQL) */
	int			upgrade_line;	/* the file's line where each script starts */
	int			downgrade_line; /* 0: no downgrade section */
	bool		from_file;		/* from a migration file: hints name its
								 * header lines */
} MigrRegistration;

/* What a registration did. */
typedef enum MigrRegisterResult
{
	MIGR_REGISTER_NEW,			/* a new revision */
	MIGR_REGISTER_CHANGED,		/* an existing one changed */
	MIGR_REGISTER_UNCHANGED		/* identical to what was registered */
} MigrRegisterResult;

extern char *migr_register(const MigrRegistration *reg,
						   MigrRegisterResult *result);
extern char *migr_generate_revision_id(void);
extern List *migr_new_revision_parents(List *names, bool given,
									   const char *self);

/* ---------------------------------------------------------------------
 * offline.c
 * ---------------------------------------------------------------------
 */
extern PGDLLEXPORT void migr_step_worker_main(Datum main_arg);

/* ---------------------------------------------------------------------
 * analysis.c
 * ---------------------------------------------------------------------
 */

/* A relation a statement locks, and the mode it takes. */
typedef struct MigrRelationLock
{
	char	   *relation;		/* as written: "schema.name" or "name" */
	struct RangeVar *rv;
	int			mode;			/* LOCKMODE */
} MigrRelationLock;

/* What one statement does, read from its parse tree. */
typedef struct MigrStatementInfo
{
	const char *tag;			/* command tag, e.g. "CREATE INDEX" */
	List	   *locks;			/* of MigrRelationLock * */
	List	   *creates;		/* names of relations it creates */
	bool		rewrites;		/* rewrites a table */
	bool		scans;			/* reads every row of a table */
	bool		destructive;
	bool		transactional;	/* can run inside a transaction block */
} MigrStatementInfo;

/* One lint finding. */
typedef struct MigrFinding
{
	const char *rule;
	const char *severity;		/* "error" or "warning" */
	int			statement;
	int			line;
	const char *message;
	const char *safer;
} MigrFinding;

extern void migr_analyze_statement(Node *parsetree, const char *search_path,
								   MigrStatementInfo *info);
extern const char *migr_lock_mode_name(int mode);
extern char *migr_statement_existing_object(Node *parsetree,
											const char *search_path);
extern List *migr_lint_statements(List *statements, const char *search_path);

/* ---------------------------------------------------------------------
 * classify.c
 * ---------------------------------------------------------------------
 */
extern bool migr_statement_is_destructive(Node *parsetree);
extern void migr_classify_script(List *statements, MigrRevisionRow *row);

/* ---------------------------------------------------------------------
 * guard.c
 * ---------------------------------------------------------------------
 */
extern void migr_guard_install_hooks(void);

/* ---------------------------------------------------------------------
 * citus.c
 * ---------------------------------------------------------------------
 */
typedef enum MigrCitusNode
{
	MIGR_CITUS_NONE,			/* no citus extension in this database */
	MIGR_CITUS_COORDINATOR,
	MIGR_CITUS_WORKER
} MigrCitusNode;

extern MigrCitusNode migr_citus_node(int *group, const char **coordinator);
extern void migr_citus_refuse_on_worker(FunctionCallInfo fcinfo);
extern void migr_citus_note_on_worker(void);
extern bool migr_citus_propagated_ddl(void);
extern bool migr_citus_schema_function(Oid fn_oid);

/* ---------------------------------------------------------------------
 * state.c
 * ---------------------------------------------------------------------
 */
extern void migr_set_operation_active(bool active);
extern void migr_set_script_step_begun(bool begun);
extern bool migr_script_step_begun(void);
extern bool migr_script_step_active(void);
extern bool migr_running_script(void);
extern void migr_check_not_nested(void);
extern void migr_set_loaded_at_start(bool at_start);
extern bool migr_loaded_at_start(void);
extern void migr_step_cover_begin(const char *revision, bool up,
								  List *statements, bool transactional);
extern bool migr_step_cover_active(void);
extern bool migr_step_cover_holds(void);
extern void migr_step_cover_statement(const char *query, int location, int len);
extern void migr_step_cover_check_complete(const char *revision, bool up);
extern char *migr_step_cover_describe(void);
extern void migr_step_cover_end(void);

/* ---------------------------------------------------------------------
 * progress.c
 * ---------------------------------------------------------------------
 */
extern void migr_progress_begin(const char *operation, const char *target,
								int nsteps);
extern void migr_progress_step(int number, const char *id, bool up);
extern void migr_progress_statement(int number, int count, const char *text);
extern void migr_progress_end(void);

/* ---------------------------------------------------------------------
 * target.c
 * ---------------------------------------------------------------------
 */

/* Which command a target is resolved for: it decides what "+N"/"-N" mean. */
typedef enum MigrTargetUse
{
	MIGR_TARGET_FOR_UPGRADE,
	MIGR_TARGET_FOR_DOWNGRADE,
	MIGR_TARGET_FOR_STAMP,
	MIGR_TARGET_FOR_RANGE
} MigrTargetUse;

extern MigrPosition *migr_resolve_target(const MigrGraph *graph,
										 const char *target, MigrTargetUse use);
extern List *migr_resolve_revisions(const MigrGraph *graph, const char *target);
extern int	migr_resolve_revision(const MigrGraph *graph, const char *name);
extern char *migr_resolve_revision_id(const char *name);
extern bool migr_target_is_reached(const char *target);
extern void migr_check_revision_id(const char *id, bool label);

#endif							/* MIGR_H */
