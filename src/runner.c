/*-------------------------------------------------------------------------
 *
 * runner.c
 *		migr_upgrade(), migr_downgrade() and migr_stamp(): plan the steps
 *		from the revision graph, then run them one by one.
 *
 * One call is one unit of work inside the caller's transaction: every step's
 * script, its version rows and its log row commit together or not at all.
 * The migr lock (lock.c) serializes calls, so a second deploy waits and then
 * sees what the first one committed.  Scripts run as the less privileged of
 * the caller and their registrant, in a security-restricted context
 * (run_step_script); the catalog is written as the extension owner
 * (catalog.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/catalog.h"
#include "catalog/namespace.h"
#include "commands/event_trigger.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "storage/lock.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/resowner.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timeout.h"
#include "utils/tuplestore.h"

#include "migr.h"

PG_FUNCTION_INFO_V1(migr_upgrade);
PG_FUNCTION_INFO_V1(migr_downgrade);
PG_FUNCTION_INFO_V1(migr_stamp);
PG_FUNCTION_INFO_V1(migr_redo);
PG_FUNCTION_INFO_V1(migr_rewrite_watch);
PG_FUNCTION_INFO_V1(migr_upgrade_each);

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

/*
 * Steps are run in batches of this many: their revisions are read with one
 * query before the batch, and what they did is written with one statement
 * per catalog table after it (all inside the call's transaction, so a
 * failure still leaves nothing behind).  The batch's memory is released
 * when it is written, so memory stays flat however many steps there are.
 */
#define STEP_BATCH	64

/* Where in which script an error happened, for the error context. */
typedef struct StatementErrorContext
{
	const char *revision;
	const char *which;
	const MigrStatement *statement;
} StatementErrorContext;

/* True while an operation runs: scripts may not start another one. */
static bool operation_active = false;

/*
 * The step and statement running now, for failure reports.  The step is
 * copied here because an error leaves the frame that filled it.
 */
static MigrStepRecord current_step_rec;
static MigrStepRecord *current_step = NULL;
static char *current_statement = NULL;
/* The role the running step's script runs as, for failure reports. */
static char current_step_role[NAMEDATALEN];

static List *target_argument(FunctionCallInfo fcinfo, bool downgrade);

static void
statement_error_callback(void *arg)
{
	StatementErrorContext *ctx = (StatementErrorContext *) arg;

	errcontext("migration %s (%s), statement %d, line %d",
			   ctx->revision, ctx->which, ctx->statement->number,
			   ctx->statement->line);
}

/* Is migr running a migration script in this backend right now? */
bool
migr_running_script(void)
{
	return operation_active || migr_script_step_active();
}

/*
 * Refuse to start an operation from inside a migration script.
 */
void
migr_check_not_nested(void)
{
	if (operation_active)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("migr functions cannot be called from a migration script"),
				 errhint("Register and run each migration with its own call.")));
}

/*
 * Run one statement of a script, with migr.statement_timeout as its time
 * limit when that is set (and sooner than the caller's own deadline).
 */
static void
run_statement(const char *sql)
{
	bool		outer_active = get_timeout_active(STATEMENT_TIMEOUT);
	TimestampTz outer_finish = outer_active ? get_timeout_finish_time(STATEMENT_TIMEOUT) : 0;
	TimestampTz own_finish = 0;
	volatile int rc = 0;

	if (migr_statement_timeout > 0)
	{
		own_finish = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
												 migr_statement_timeout);
		if (outer_active && outer_finish <= own_finish)
			own_finish = 0;
		else
			enable_timeout_at(STATEMENT_TIMEOUT, own_finish);
	}

	PG_TRY();
	{
		rc = SPI_execute(sql, false, 0);
	}
	PG_FINALLY();
	{
		if (own_finish != 0)
		{
			disable_timeout(STATEMENT_TIMEOUT, false);
			if (outer_active)
				enable_timeout_at(STATEMENT_TIMEOUT, outer_finish);
		}
	}
	PG_END_TRY();

	if (rc < 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("statement cannot run in a migration: %s",
						SPI_result_code_string(rc))));
	SPI_freetuptable(SPI_tuptable);
}

/*
 * Run one script statement by statement, as the caller, with an error
 * context that names the revision, statement and line.
 */
static void
run_script(const char *script, const char *revision, const char *which)
{
	List	   *statements = migr_parse_script(script, revision, which);
	StatementErrorContext ctx;
	ErrorContextCallback errcallback;
	ListCell   *lc;

	ctx.revision = revision;
	ctx.which = which;
	errcallback.callback = statement_error_callback;
	errcallback.arg = &ctx;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	foreach(lc, statements)
	{
		ctx.statement = (MigrStatement *) lfirst(lc);
		current_statement = ctx.statement->text;
		run_statement(ctx.statement->text);
		/* The next statement must be read as registration read it. */
		if (!standard_conforming_strings)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("statement %d of revision %s turned standard_conforming_strings off",
							ctx.statement->number, revision),
					 errhint("Scripts are always read and run with standard_conforming_strings on; write string literals that need backslash escapes as E'...'.")));
	}
	current_statement = NULL;

	error_context_stack = errcallback.previous;
}

static Interval *
interval_between(TimestampTz start, TimestampTz end)
{
	Interval   *result = palloc0(sizeof(Interval));

	result->time = end - start;
	return result;
}

/*
 * Run a step's script as the role migr_step_role() chooses: the less
 * privileged of the caller and the step's registrant.  As core does for
 * code it runs on behalf of a less trusted role (REFRESH MATERIALIZED VIEW,
 * VACUUM), the switch is a security-restricted operation: the script can
 * change neither the role (SET ROLE, RESET ROLE, SET SESSION AUTHORIZATION,
 * set_config('role', ...), in a DO block or not) nor leave behind what
 * would act later with the caller's privileges: temporary objects, cursors
 * WITH HOLD, prepared statements, LISTEN, and deferred trigger events,
 * which would fire at commit as whoever commits (core refuses to queue
 * them: a script that writes to a table with a deferred constraint runs
 * SET CONSTRAINTS ... IMMEDIATE first).  Settings the script changes
 * (SET search_path ...) last until the end of its step, as in a function
 * with a SET clause: they never leak into the next step or the caller's
 * session.  migr.lock_timeout applies to its statements, and
 * standard_conforming_strings is on, as when the script was registered.
 * An error leaves the switch to (sub)transaction abort, which undoes both.
 */
static void
run_step_script(const MigrRevisionRow *row, bool up, const MigrCaller *caller)
{
	Oid			role = migr_step_role(caller->current_user_id,
									  migr_step_registrant(row, up), row->id);
	Oid			saved_userid;
	int			saved_sec_context;
	int			guc_nest_level;

	strlcpy(current_step_role, GetUserNameFromId(role, false), NAMEDATALEN);
	GetUserIdAndSecContext(&saved_userid, &saved_sec_context);
	guc_nest_level = migr_force_standard_strings();
	if (migr_lock_timeout > 0)
		(void) set_config_option("lock_timeout",
								 psprintf("%d", migr_lock_timeout),
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
								 true, 0, false);
	SetUserIdAndSecContext(role, saved_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	run_script(migr_step_script(row, up), row->id, up ? "upgrade" : "downgrade");
	AtEOXact_GUC(false, guc_nest_level);
	SetUserIdAndSecContext(saved_userid, saved_sec_context);
}

/* Emit one result row; locks, rewritten and error may be NULL. */
static void
emit_row(MigrRun *run, int number, const char *revision, bool up,
		 const char *message, TimestampTz started, TimestampTz finished,
		 Datum locks, Datum rewritten, const char *error)
{
	Datum		values[8];
	bool		nulls[8] = {0};

	/* A procedure has no result set: say what was done instead. */
	if (run->rsinfo == NULL)
	{
		ereport(NOTICE,
				(errmsg("step %d: %s %s (%s) in %s", number,
						up ? "applied" : "removed", revision, message,
						DatumGetCString(DirectFunctionCall1(interval_out,
															IntervalPGetDatum(interval_between(started, finished)))))));
		return;
	}

	values[0] = Int32GetDatum(number);
	values[1] = CStringGetTextDatum(revision);
	values[2] = CStringGetTextDatum(up ? "up" : "down");
	values[3] = CStringGetTextDatum(message);
	values[4] = IntervalPGetDatum(interval_between(started, finished));
	values[5] = locks;
	nulls[5] = locks == (Datum) 0;
	values[6] = rewritten;
	nulls[6] = rewritten == (Datum) 0;
	values[7] = error ? CStringGetTextDatum(error) : (Datum) 0;
	nulls[7] = error == NULL;
	tuplestore_putvalues(run->rsinfo->setResult, run->rsinfo->setDesc,
						 values, nulls);
}

/* What the catalog rows of a step will say; run_id and times filled later. */
static void
prepare_record(MigrRun *run, const MigrNode *node, const MigrPlanStep *step,
			   const MigrRevisionRow *row, MigrStepRecord *rec)
{
	memset(rec, 0, sizeof(MigrStepRecord));
	rec->run_id = run->run_id;
	rec->operation = migr_operation_names[run->op];
	rec->revision = node->id;
	rec->up = step->up;
	rec->target = run->target;
	/* The checksum of what actually runs, even if migr.revisions was edited. */
	rec->checksum = migr_checksum(row->upgrade, row->downgrade);
	rec->downgrade = row->downgrade;
	rec->downgrade_registrant = row->registrant;
	rec->wal_before = GetXLogInsertRecPtr();
	rec->started_at = GetCurrentTimestamp();
}

/*
 * Run (or, for a stamp, just record) one step and emit its result row; its
 * catalog rows are added to the batch's records.
 */
static void
execute_step(MigrRun *run, const MigrPlanStep *step, int number,
			 const MigrRevisionRow *row)
{
	MigrNode   *node = &run->graph->nodes[step->node];
	MigrStepRecord *rec;
	MemoryContext old;

	/*
	 * A connection of its own: everything the step allocates, including
	 * what SPI allocates for the script's statements, goes when it ends.
	 */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	old = MemoryContextSwitchTo(run->batch_cxt);
	rec = palloc(sizeof(MigrStepRecord));
	prepare_record(run, node, step, row, rec);
	MemoryContextSwitchTo(old);
	current_step_role[0] = '\0';
	current_step_rec = *rec;
	current_step = &current_step_rec;
	if (run->op != OP_STAMP)
		run_step_script(row, step->up, &run->caller);
	rec->finished_at = GetCurrentTimestamp();
	current_step = NULL;

	old = MemoryContextSwitchTo(run->batch_cxt);
	migr_graph_apply_step(run->graph, step->node, step->up,
						  &rec->version_remove, &rec->version_add);
	run->records = lappend(run->records, rec);
	MemoryContextSwitchTo(old);

	emit_row(run, number, node->id, step->up, row->message, rec->started_at,
			 rec->finished_at, (Datum) 0, (Datum) 0, NULL);

	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
}

/*
 * Run the given steps (numbered from "number") in batches: read a batch's
 * revisions, run its steps, write their catalog rows.
 */
static void
run_steps(MigrRun *run, List *steps, int number)
{
	MigrOwnerScope scope;
	int			nsteps = list_length(steps);

	run->batch_cxt = AllocSetContextCreate(CurrentMemoryContext,
										   "migr step batch",
										   ALLOCSET_DEFAULT_SIZES);
	for (int first = 0; first < nsteps; first += STEP_BATCH)
	{
		int			n = Min(STEP_BATCH, nsteps - first);
		const char *ids[STEP_BATCH];
		MigrRevisionRow *rows[STEP_BATCH];
		MemoryContext old;

		MemoryContextReset(run->batch_cxt);
		run->records = NIL;
		for (int k = 0; k < n; k++)
			ids[k] = run->graph->nodes[((MigrPlanStep *) list_nth(steps, first + k))->node].id;
		old = MemoryContextSwitchTo(run->batch_cxt);
		migr_owner_begin(&scope);
		migr_catalog_fetch_revisions(ids, n, rows);
		migr_owner_end(&scope);
		MemoryContextSwitchTo(old);

		for (int k = 0; k < n; k++)
		{
			if (rows[k] == NULL)
				elog(ERROR, "revision %s disappeared while migr held its lock", ids[k]);
			execute_step(run, (MigrPlanStep *) list_nth(steps, first + k),
						 number + first + k, rows[k]);
		}

		old = MemoryContextSwitchTo(run->batch_cxt);
		migr_owner_begin(&scope);
		migr_catalog_record_steps(run->records, &run->caller);
		migr_owner_end(&scope);
		MemoryContextSwitchTo(old);
	}
	run->records = NIL;
	MemoryContextDelete(run->batch_cxt);
	run->batch_cxt = NULL;
}

/*
 * Run every step of the plan, in order.  A failure rolls the whole call
 * back, log rows included, so it is written to the server log here: which
 * revision and statement failed, and the SQLSTATE.
 */
static void
execute_plan(MigrRun *run)
{
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		run_steps(run, run->steps, 1);
	}
	PG_CATCH();
	{
		MigrStepRecord *failed = current_step;
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (failed != NULL)
			ereport(LOG,
					(errmsg("migr: %s of revision %s failed: SQLSTATE %s: %s",
							failed->up ? "upgrade" : "downgrade", failed->revision,
							unpack_sql_state(edata->sqlerrcode), edata->message),
					 errdetail("Failed statement: %s\nCalled by role \"%s\" (session user \"%s\"); the script ran as role \"%s\".",
							   current_statement ? current_statement : "(none)",
							   run->caller.current_user_name,
							   run->caller.session_user_name,
							   current_step_role[0] ? current_step_role : "(none)"),
					 errhidestmt(true)));
		current_step = NULL;
		current_statement = NULL;
		FlushErrorState();
		ReThrowError(edata);
	}
	PG_END_TRY();
}

/* ---------------------------------------------------------------------
 * Dry runs
 * ---------------------------------------------------------------------
 */

/* Tables rewritten during the current dry-run step (see migr.rewrite_watch). */
static bool dry_run_active = false;
static List *rewritten_tables = NIL;

/*
 * The relation locks this backend holds, as "schema.relation: Mode",
 * sorted; system catalogs are left out.  Read from pg_locks.
 */
static List *
held_relation_locks(void)
{
	MigrOwnerScope scope;
	List	   *result = NIL;

	migr_owner_begin(&scope);
	migr_catalog_exec("SELECT format('%s.%s: %s', n.nspname, c.relname, l.mode)"
					  "  FROM pg_locks l"
					  "  JOIN pg_class c ON c.oid = l.relation"
					  "  JOIN pg_namespace n ON n.oid = c.relnamespace"
					  " WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation'"
					  "   AND l.granted"
					  "   AND n.nspname NOT IN ('pg_catalog', 'pg_toast', 'information_schema',"
					  "                         'migr')"
					  " ORDER BY 1",
					  0, NULL, NULL, NULL, SPI_OK_SELECT);
	for (uint64 i = 0; i < SPI_processed; i++)
		result = lappend(result, migr_result_text(i, 1));
	migr_owner_end(&scope);
	return result;
}

/* The strings of "after" that are not in "before" (both sorted). */
static List *
new_strings(List *before, List *after)
{
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, after)
	{
		ListCell   *lc2;
		bool		seen = false;

		foreach(lc2, before)
			if (strcmp(lfirst(lc), lfirst(lc2)) == 0)
			{
				seen = true;
				break;
			}
		if (!seen)
			result = lappend(result, lfirst(lc));
	}
	return result;
}

/*
 * migr.rewrite_watch(): the table_rewrite event trigger.  During a dry
 * run it notes which table a step rewrites; otherwise it does nothing.
 */
Datum
migr_rewrite_watch(PG_FUNCTION_ARGS)
{
	Oid			relid;
	MemoryContext old;
	char	   *name;
	ListCell   *lc;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		elog(ERROR, "migr.rewrite_watch() must be called as an event trigger");
	if (!dry_run_active)
		PG_RETURN_VOID();
	relid = DatumGetObjectId(OidFunctionCall0(F_PG_EVENT_TRIGGER_TABLE_REWRITE_OID));
	old = MemoryContextSwitchTo(TopTransactionContext);
	name = psprintf("%s.%s", get_namespace_name(get_rel_namespace(relid)),
					get_rel_name(relid));
	foreach(lc, rewritten_tables)
		if (strcmp(lfirst(lc), name) == 0)
			break;
	if (lc == NULL)
		rewritten_tables = lappend(rewritten_tables, name);
	MemoryContextSwitchTo(old);
	PG_RETURN_VOID();
}

/*
 * Run one step of a dry run in a subtransaction of its own, released into
 * the dry run's, and report it: duration, the relation locks it took that
 * earlier steps did not hold already (all are held until the end), the
 * tables it rewrote, or its error.  Returns false when the step failed.
 */
static bool
dry_run_step(MigrRun *run, const MigrPlanStep *step, int number,
			 List **locks_held)
{
	MigrNode   *node = &run->graph->nodes[step->node];
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	MigrOwnerScope scope;
	MigrRevisionRow *row;
	TimestampTz started;
	volatile bool ok = true;

	migr_owner_begin(&scope);
	row = migr_catalog_fetch_revision(node->id);
	migr_owner_end(&scope);

	if (!node->transactional)
	{
		TimestampTz now = GetCurrentTimestamp();

		emit_row(run, number, node->id, step->up, row->message, now, now,
				 (Datum) 0, (Datum) 0,
				 "not run: the revision cannot run inside a transaction; apply it with migr_script()");
		return false;
	}

	started = GetCurrentTimestamp();
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		List	   *locks_after;

		/* As in execute_step: what SPI allocates goes when the step ends. */
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		MemoryContextSwitchTo(cxt);
		rewritten_tables = NIL;
		dry_run_active = true;
		run_step_script(row, step->up, &run->caller);
		dry_run_active = false;
		MemoryContextSwitchTo(cxt);
		locks_after = held_relation_locks();
		emit_row(run, number, node->id, step->up, row->message, started,
				 GetCurrentTimestamp(),
				 migr_text_list_to_array(new_strings(*locks_held, locks_after)),
				 migr_text_list_to_array(rewritten_tables), NULL);
		*locks_held = locks_after;
		if (SPI_finish() != SPI_OK_FINISH)
			elog(ERROR, "SPI_finish failed");
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		char	   *failed_statement = current_statement;

		dry_run_active = false;
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		current_statement = NULL;
		emit_row(run, number, node->id, step->up, row->message, started,
				 GetCurrentTimestamp(), (Datum) 0, (Datum) 0,
				 psprintf("SQLSTATE %s: %s%s%s",
						  unpack_sql_state(edata->sqlerrcode), edata->message,
						  failed_statement ? " (statement: " : "",
						  failed_statement ? psprintf("%s)", failed_statement) : ""));
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();

	if (ok)
		migr_graph_apply_step(run->graph, step->node, step->up, NULL, NULL);
	return ok;
}

/*
 * Report a guard that would refuse the plan, as a row with step 0, instead
 * of raising it: a dry run shows what a real run would be refused.
 */
static void
dry_run_checks(MigrRun *run)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		bool		saved = migr_confirm_production;

		/* A dry run needs no confirmation; every other guard applies. */
		migr_confirm_production = true;
		PG_TRY();
		{
			migr_check_plan(run->graph, run->op, run->steps, &run->caller, true);
		}
		PG_FINALLY();
		{
			migr_confirm_production = saved;
		}
		PG_END_TRY();
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		Datum		values[8];
		bool		nulls[8] = {false, true, true, true, true, true, true, false};

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		values[0] = Int32GetDatum(0);
		values[7] = CStringGetTextDatum(psprintf("would be refused: SQLSTATE %s: %s",
												 unpack_sql_state(edata->sqlerrcode),
												 edata->message));
		tuplestore_putvalues(run->rsinfo->setResult, run->rsinfo->setDesc,
							 values, nulls);
		FreeErrorData(edata);
	}
	PG_END_TRY();
}

/*
 * A dry run: every step runs for real inside one subtransaction that is
 * rolled back at the end, so nothing persists (no catalog row is written;
 * sequences a script advances stay advanced, as sequences do).
 */
static void
dry_run_plan(MigrRun *run)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	ListCell   *lc;
	List	   *locks_held;

	MemoryContext step_cxt[2];

	dry_run_checks(run);
	locks_held = held_relation_locks();

	/*
	 * Each step's memory is released two steps later: the locks a step
	 * found held are compared with those of the step after it.
	 */
	step_cxt[0] = AllocSetContextCreate(cxt, "migr dry-run step",
										ALLOCSET_DEFAULT_SIZES);
	step_cxt[1] = AllocSetContextCreate(cxt, "migr dry-run step",
										ALLOCSET_DEFAULT_SIZES);
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		foreach(lc, run->steps)
		{
			MemoryContext this_cxt = step_cxt[foreach_current_index(lc) % 2];
			bool		ok;

			MemoryContextReset(this_cxt);
			MemoryContextSwitchTo(this_cxt);
			ok = dry_run_step(run, (MigrPlanStep *) lfirst(lc),
							  foreach_current_index(lc) + 1, &locks_held);
			MemoryContextSwitchTo(cxt);
			if (!ok)
				break;
		}
	}
	PG_FINALLY();
	{
		dry_run_active = false;
	}
	PG_END_TRY();
	RollbackAndReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
}

/*
 * The revisions whose state the operation records: its steps', and for a
 * stamp every revision it decides, changed or not.  A step of a
 * migr_script() script left in progress on one of them is over once the
 * operation commits (see migr_resolve_in_progress).
 */
static List *
decided_revisions(MigrRun *run, List *targets, bool purge)
{
	List	   *ids = NIL;
	ListCell   *lc;

	if (run->op == OP_STAMP)
	{
		Bitmapset  *scope = migr_plan_stamp_scope(run->graph, targets, purge);
		int			n = -1;

		while ((n = bms_next_member(scope, n)) >= 0)
			ids = lappend(ids, run->graph->nodes[n].id);
		return ids;
	}
	foreach(lc, run->steps)
		ids = lappend(ids, run->graph->nodes[((MigrPlanStep *) lfirst(lc))->node].id);
	return ids;
}

/*
 * Plan and run one operation.  The plan lives in the memory of the call's
 * SPI connection; each step has a connection (and so memory) of its own,
 * released when the step ends, so memory does not grow with the number of
 * steps.
 */
static void
run_operation(FunctionCallInfo fcinfo, MigrOperation op, List *targets,
			  bool purge, bool dry_run)
{
	MigrRun		run = {0};
	MigrOwnerScope scope;
	const char *target = linitial(targets);
	List	   *volatile decided = NIL;

	migr_check_not_nested();
	InitMaterializedSRF(fcinfo, 0);
	run.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	run.op = op;
	run.target = target;
	if (list_length(targets) > 1)
	{
		StringInfoData buf;
		ListCell   *lc;

		initStringInfo(&buf);
		foreach(lc, targets)
			appendStringInfo(&buf, "%s%s", buf.len ? "," : "", (char *) lfirst(lc));
		run.target = buf.data;
	}
	migr_capture_caller(&run.caller);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	migr_owner_begin(&scope);
	migr_lock_acquire(migr_operation_names[op]);

	/* The common no-op, "upgrade head" at head, without loading the graph. */
	if (op == OP_UPGRADE && migr_target_is_reached(target))
	{
		migr_owner_end(&scope);
		goto done;
	}

	run.graph = migr_graph_load();
	run.steps = migr_plan_steps(run.graph, op, targets, purge, run.target);
	if (run.steps != NIL && !dry_run)
	{
		migr_check_plan(run.graph, op, run.steps, &run.caller, false);
		migr_catalog_bump_generation();
		run.run_id = migr_catalog_next_run_id();
	}
	if (!dry_run)
		decided = decided_revisions(&run, targets, purge);
	migr_owner_end(&scope);

	operation_active = true;
	PG_TRY();
	{
		if (dry_run)
			dry_run_plan(&run);
		else
			execute_plan(&run);
	}
	PG_FINALLY();
	{
		operation_active = false;
	}
	PG_END_TRY();

	if (decided != NIL)
	{
		migr_owner_begin(&scope);
		migr_resolve_in_progress(decided, migr_operation_names[op],
								 op == OP_STAMP && run.steps == NIL);
		migr_owner_end(&scope);
	}

done:
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
}

/* ---------------------------------------------------------------------
 * migr_upgrade_each(): a transaction per step
 * ---------------------------------------------------------------------
 */

/*
 * Apply one step in a subtransaction.  On failure, roll the step back,
 * write a log row that says what failed and return the error, copied into
 * "error_cxt", for the caller to raise once that row is committed; NULL
 * when the step succeeded.
 */
static ErrorData *
each_step(MigrRun *run, const MigrPlanStep *step, int number,
		  MemoryContext error_cxt)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	ErrorData  *volatile result = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		operation_active = true;
		run_steps(run, list_make1((MigrPlanStep *) step), number);
		operation_active = false;
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		MigrStepRecord failed;
		MigrOwnerScope scope;
		char	   *statement;
		bool		have_step = current_step != NULL;

		operation_active = false;
		MemoryContextSwitchTo(error_cxt);
		edata = CopyErrorData();
		MemoryContextSwitchTo(cxt);
		/* Copy what the failure row needs before the step's memory goes. */
		statement = current_statement ? pstrdup(current_statement) : NULL;
		if (have_step)
		{
			failed = *current_step;
			failed.checksum = pstrdup(failed.checksum);
		}
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		current_step = NULL;
		current_statement = NULL;

		if (have_step)
		{
			/* The failed step's row, committed on its own by the caller. */
			failed.finished_at = GetCurrentTimestamp();
			failed.wal_before = GetXLogInsertRecPtr();
			migr_owner_begin(&scope);
			migr_catalog_record_failure(&failed, statement,
										unpack_sql_state(edata->sqlerrcode),
										edata->message, &run->caller);
			migr_owner_end(&scope);
		}
		result = edata;
	}
	PG_END_TRY();
	return result;
}

/*
 * CALL migr_upgrade_each(target): like migr_upgrade, but every step commits
 * on its own, so a long chain keeps what was done before a failure.  The
 * lock is taken again for every step; a step another deploy applied in the
 * meantime is skipped.
 *
 * Memory and time per step stay flat however long the chain: the graph is
 * loaded once, into a context of its own, and loaded again only when
 * another migr operation changed the catalog between two steps (the
 * catalog's generation says so); then the whole plan is checked again,
 * checksums included, as before the first step.  Everything else a step
 * allocates lives in an SPI connection of the step's own, gone when the
 * step commits.
 */
Datum
migr_upgrade_each(PG_FUNCTION_ARGS)
{
	MigrRun		run = {0};
	MigrOwnerScope scope;
	MemoryContext call_cxt;
	MemoryContext graph_cxt;
	ListCell   *lc;
	char	  **ids;
	int			nids;
	int64		generation;
	int			number = 0;
	bool		atomic = fcinfo->context && IsA(fcinfo->context, CallContext) &&
	((CallContext *) fcinfo->context)->atomic;

	migr_check_not_nested();
	if (atomic || fcinfo->context == NULL || !IsA(fcinfo->context, CallContext))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_TERMINATION),
				 errmsg("migr_upgrade_each must be called with CALL outside a transaction block"),
				 errhint("Run CALL migr_upgrade_each('head'); on its own, or use migr_upgrade() inside a transaction.")));
	run.op = OP_UPGRADE;
	run.target = linitial(target_argument(fcinfo, false));
	migr_capture_caller(&run.caller);

	if (SPI_connect_ext(SPI_OPT_NONATOMIC) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* The call's connection outlives its transactions; so does its memory. */
	call_cxt = CurrentMemoryContext;
	graph_cxt = AllocSetContextCreate(call_cxt, "migr_upgrade_each graph",
									  ALLOCSET_DEFAULT_SIZES);

	/* Plan once, under the lock; remember the revisions by id. */
	migr_owner_begin(&scope);
	migr_lock_acquire("upgrade");
	MemoryContextSwitchTo(graph_cxt);
	run.graph = migr_graph_load();
	MemoryContextSwitchTo(call_cxt);
	run.steps = migr_plan_steps(run.graph, OP_UPGRADE, list_make1((char *) run.target),
								false, run.target);
	if (run.steps != NIL)
		migr_check_plan(run.graph, OP_UPGRADE, run.steps, &run.caller, false);
	generation = migr_catalog_generation();
	migr_owner_end(&scope);
	MemoryContextSwitchTo(call_cxt);
	nids = list_length(run.steps);
	ids = palloc(sizeof(char *) * Max(nids, 1));
	foreach(lc, run.steps)
		ids[foreach_current_index(lc)] =
			pstrdup(run.graph->nodes[((MigrPlanStep *) lfirst(lc))->node].id);
	list_free_deep(run.steps);
	run.steps = NIL;
	SPI_commit();

	for (int i = 0; i < nids; i++)
	{
		MigrPlanStep step = {0};
		ErrorData  *edata;
		int64		now;
		bool		changed;

		/* A connection of the step's own: its memory goes when it ends. */
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		migr_owner_begin(&scope);
		migr_lock_acquire("upgrade");
		now = migr_catalog_generation();
		changed = now != generation;
		generation = now;
		if (changed)
		{
			/* Another operation ran: see what it did. */
			MemoryContext old;

			MemoryContextReset(graph_cxt);
			old = MemoryContextSwitchTo(graph_cxt);
			run.graph = migr_graph_load();
			MemoryContextSwitchTo(old);
		}
		step.node = migr_graph_find(run.graph, ids[i]);
		step.up = true;
		if (step.node < 0 || run.graph->nodes[step.node].applied)
		{
			migr_owner_end(&scope);
			SPI_finish();
			SPI_commit();
			continue;
		}
		if (changed)
			migr_check_plan(run.graph, OP_UPGRADE, list_make1(&step), &run.caller, false);
		else
			migr_check_steps(run.graph, OP_UPGRADE, list_make1(&step), &run.caller, false);
		migr_catalog_bump_generation();
		generation = migr_catalog_generation();
		run.run_id = migr_catalog_next_run_id();
		migr_owner_end(&scope);

		edata = each_step(&run, &step, ++number, call_cxt);
		if (edata == NULL)
		{
			migr_owner_begin(&scope);
			migr_resolve_in_progress(list_make1(ids[i]), "upgrade", false);
			migr_owner_end(&scope);
		}
		if (SPI_finish() != SPI_OK_FINISH)
			elog(ERROR, "SPI_finish failed");
		SPI_commit();
		if (edata != NULL)
			ReThrowError(edata);
	}

	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * The target argument of a call; NULL is refused rather than ignored, so a
 * deploy script passing an unset variable fails instead of doing nothing.
 */
static List *
target_argument(FunctionCallInfo fcinfo, bool downgrade)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("migration target must not be NULL"),
				 errhint("Use \"head\", \"base\", a revision id, or a relative target such as \"-1\".")));
	if (get_fn_expr_argtype(fcinfo->flinfo, 0) == INT4OID)
	{
		int32		steps = PG_GETARG_INT32(0);

		/* Zero steps is "+0" going up and "-0" going down: a no-op. */
		if (steps > 0 || (steps == 0 && !downgrade))
			return list_make1(psprintf("+%d", steps));
		return list_make1(psprintf("-%lld", -(long long) steps));
	}
	return list_make1(text_to_cstring(PG_GETARG_TEXT_PP(0)));
}

/* The dry_run argument of the text forms; NULL is refused like a NULL target. */
static bool
dry_run_argument(FunctionCallInfo fcinfo)
{
	if (PG_NARGS() < 2)
		return false;
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("dry_run must not be NULL")));
	return PG_GETARG_BOOL(1);
}

/* migr_upgrade(target text) and migr_upgrade(target integer) */
Datum
migr_upgrade(PG_FUNCTION_ARGS)
{
	run_operation(fcinfo, OP_UPGRADE, target_argument(fcinfo, false), false,
				  dry_run_argument(fcinfo));
	return (Datum) 0;
}

/* migr_downgrade(target text) and migr_downgrade(target integer) */
Datum
migr_downgrade(PG_FUNCTION_ARGS)
{
	run_operation(fcinfo, OP_DOWNGRADE, target_argument(fcinfo, true), false,
				  dry_run_argument(fcinfo));
	return (Datum) 0;
}

/*
 * migr_redo(revision): run an applied revision (and what is above it) again.
 */
Datum
migr_redo(PG_FUNCTION_ARGS)
{
	run_operation(fcinfo, OP_REDO, target_argument(fcinfo, true), false, false);
	return (Datum) 0;
}

/*
 * migr_stamp(VARIADIC targets text[]) and migr_stamp(targets text[], purge).
 */
Datum
migr_stamp(PG_FUNCTION_ARGS)
{
	List	   *targets;
	bool		purge;

	if (PG_ARGISNULL(0) || (PG_NARGS() > 1 && PG_ARGISNULL(1)))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("stamp targets and purge must not be NULL")));
	targets = migr_text_array_to_list(PG_GETARG_DATUM(0));
	purge = PG_NARGS() > 1 && PG_GETARG_BOOL(1);
	if (array_contains_nulls(PG_GETARG_ARRAYTYPE_P(0)))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("stamp targets must not be NULL")));
	if (targets == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("migr_stamp needs at least one target"),
				 errhint("Use migr_stamp('base') to mark nothing as applied.")));
	run_operation(fcinfo, OP_STAMP, targets, purge, false);
	return (Datum) 0;
}
