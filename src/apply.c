/*-------------------------------------------------------------------------
 *
 * apply.c
 *		The step engine: run a step's script as the role it may run as,
 *		record what the step did, report it.
 *
 * Every path that runs migration scripts inside the server comes here: the
 * steps of migr_upgrade(), migr_downgrade(), migr_stamp() and migr_redo()
 * (migr_execute_plan), the per-step transactions of migr_upgrade_each()
 * (migr_run_step_alone), and the steps of a dry run (dryrun.c, through
 * migr_run_step_script).  A script runs statement by statement through SPI,
 * as the less privileged of the caller and its registrant (checks.c), in a
 * security-restricted context; the error context names the revision,
 * statement and line.  Catalog rows are written in batches as the extension
 * owner (catalog.c).
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
	const char *filename;		/* the migration file it came from, or NULL */
	int			first_line;		/* the file's line of the script's line 1 */
	const MigrStatement *statement;
} StatementErrorContext;

/*
 * The step and statement running now, for failure reports.  The step is
 * copied here because an error leaves the frame that filled it.
 */
static MigrStepRecord current_step_rec;
static MigrStepRecord *current_step = NULL;
static char *current_statement = NULL;
static int	current_statement_line = 0;

/* The role the running step's script runs as, for failure reports. */
static char current_step_role[NAMEDATALEN];

/*
 * The error context of a failing statement of a step's script: the
 * revision, statement and line (of the script); for a revision loaded from
 * a migration file ("filename" not NULL), also the file and the statement's
 * line in the file ("first_line" is the file's line of the script's line
 * 1).  Also used by the background worker's steps (offline.c).
 */
void
migr_statement_errcontext(const char *revision, const char *which,
						  const MigrStatement *statement,
						  const char *filename, int first_line)
{
	errcontext("migration \"%s\" (%s), statement %d, line %d",
			   revision, which, statement->number, statement->line);
	if (filename != NULL)
		errcontext("migration file \"%s\", line %d", filename,
				   first_line + statement->line - 1);
}

static void
statement_error_callback(void *arg)
{
	StatementErrorContext *ctx = (StatementErrorContext *) arg;

	migr_statement_errcontext(ctx->revision, ctx->which, ctx->statement,
							  ctx->filename, ctx->first_line);
}

/*
 * The migration file the script a step runs comes from, or NULL; in
 * *first_line the file's line where that script starts.  The file has the
 * script that runs, unless it is the downgrade kept when the revision was
 * applied and that is not the one registered now.
 */
const char *
migr_step_source(const MigrRevisionRow *row, bool up, int *first_line)
{
	const char *script = migr_step_script(row, up);

	*first_line = 0;
	if (row->filename == NULL)
		return NULL;
	if (up)
		*first_line = row->upgrade_line;
	else if (script != NULL && row->downgrade != NULL &&
			 strcmp(script, row->downgrade) == 0)
		*first_line = row->downgrade_line;
	return *first_line > 0 ? row->filename : NULL;
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
 * context that names the revision, statement and line, and the migration
 * file and its line when "filename" is not NULL ("first_line" is the
 * file's line of the script's first line).  pg_stat_activity shows each
 * statement as it starts (progress.c).
 */
static void
run_script(const char *script, const char *revision, const char *which,
		   const char *filename, int first_line)
{
	List	   *statements = migr_parse_script(script, revision, which);
	int			count = list_length(statements);
	StatementErrorContext ctx;
	ErrorContextCallback errcallback;
	ListCell   *lc;

	ctx.revision = revision;
	ctx.which = which;
	ctx.filename = filename;
	ctx.first_line = first_line;
	errcallback.callback = statement_error_callback;
	errcallback.arg = &ctx;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	foreach(lc, statements)
	{
		ctx.statement = (MigrStatement *) lfirst(lc);
		current_statement = ctx.statement->text;
		current_statement_line = ctx.statement->line;
		migr_progress_statement(ctx.statement->number, count,
								ctx.statement->text);
		run_statement(ctx.statement->text);
		/* The next statement must be read as registration read it. */
		if (!standard_conforming_strings)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("a migration statement turned standard_conforming_strings off"),
					 errhint("Scripts are always read and run with standard_conforming_strings on; write string literals that need backslash escapes as E'...'.")));
	}
	current_statement = NULL;

	error_context_stack = errcallback.previous;
}

Interval *
migr_interval_between(TimestampTz start, TimestampTz end)
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
void
migr_run_step_script(const MigrRevisionRow *row, bool up, const MigrCaller *caller)
{
	Oid			role = migr_step_role(caller->current_user_id,
									  migr_step_registrant(row, up), row->id);
	Oid			saved_userid;
	int			saved_sec_context;
	int			guc_nest_level;
	const char *script = migr_step_script(row, up);
	int			first_line;
	const char *filename = migr_step_source(row, up, &first_line);

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
	run_script(script, row->id, up ? "upgrade" : "downgrade", filename,
			   first_line);
	AtEOXact_GUC(false, guc_nest_level);
	SetUserIdAndSecContext(saved_userid, saved_sec_context);
}

/* Emit one result row; locks, rewritten and error may be NULL. */
void
migr_emit_step_row(MigrRun *run, int number, const char *revision, bool up,
				   const char *message, TimestampTz started, TimestampTz finished,
				   Datum locks, Datum rewritten, const char *error)
{
	Datum		values[8];
	bool		nulls[8] = {0};

	/* A procedure has no result set: say what was done instead. */
	if (run->rsinfo == NULL)
	{
		char	   *took = DatumGetCString(DirectFunctionCall1(interval_out,
															   IntervalPGetDatum(migr_interval_between(started, finished))));

		if (up)
			ereport(NOTICE,
					(errmsg("step %d: applied revision \"%s\" (%s) in %s",
							number, revision, message, took)));
		else
			ereport(NOTICE,
					(errmsg("step %d: removed revision \"%s\" (%s) in %s",
							number, revision, message, took)));
		return;
	}

	values[0] = Int32GetDatum(number);
	values[1] = CStringGetTextDatum(revision);
	values[2] = CStringGetTextDatum(up ? "up" : "down");
	values[3] = CStringGetTextDatum(message);
	values[4] = IntervalPGetDatum(migr_interval_between(started, finished));
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
	 * A connection of its own: everything the step allocates, including what
	 * SPI allocates for the script's statements, goes when it ends.
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
	migr_progress_step(number, node->id, step->up);
	if (run->op != MIGR_OP_STAMP && run->op != OP_ADOPT)
		migr_run_step_script(row, step->up, &run->caller);
	rec->finished_at = GetCurrentTimestamp();
	current_step = NULL;

	old = MemoryContextSwitchTo(run->batch_cxt);
	migr_graph_apply_step(run->graph, step->node, step->up,
						  &rec->version_remove, &rec->version_add);
	run->records = lappend(run->records, rec);
	MemoryContextSwitchTo(old);

	migr_emit_step_row(run, number, node->id, step->up, row->message, rec->started_at,
					   rec->finished_at, (Datum) 0, (Datum) 0, NULL);

	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
}

/*
 * Run the given steps (numbered from "number") in batches: read a batch's
 * revisions, run its steps, write their catalog rows.
 */
void
migr_run_steps(MigrRun *run, List *steps, int number)
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
				elog(ERROR, "revision \"%s\" disappeared while migr held its lock", ids[k]);
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
 * back, log rows included, so it is written to the server log here (which
 * revision and statement failed, the SQLSTATE), and its record to migr.log
 * by a background worker, committed whatever the caller's transaction
 * does (worker.c): the one row a failed call leaves.
 */
void
migr_execute_plan(MigrRun *run)
{
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		migr_run_steps(run, run->steps, 1);
		/* what the schema is now, for migr_check(); a no-op changed nothing */
		if (run->steps != NIL)
			migr_drift_record(migr_operation_names[run->op]);
	}
	PG_CATCH();
	{
		MigrStepRecord *failed = current_step;
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (failed != NULL)
			ereport(LOG,
					(errmsg("migr: %s of revision \"%s\" failed: SQLSTATE %s: %s",
							failed->up ? "upgrade" : "downgrade", failed->revision,
							unpack_sql_state(edata->sqlerrcode), edata->message),
					 errdetail("Failed statement: %s\nCalled by role \"%s\" (session user \"%s\"); the script ran as role \"%s\".",
							   current_statement ? current_statement : "(none)",
							   run->caller.current_user_name,
							   run->caller.session_user_name,
							   current_step_role[0] ? current_step_role : "(none)"),
					 errhidestmt(true)));
		FlushErrorState();
		if (failed != NULL)
		{
			failed->finished_at = GetCurrentTimestamp();
			(void) migr_worker_record_failure(failed, current_statement,
											  current_statement ? current_statement_line : 0,
											  edata, &run->caller);
		}
		current_step = NULL;
		current_statement = NULL;
		ReThrowError(edata);
	}
	PG_END_TRY();
}


/* The statement running now (NULL between statements), for failure reports. */
char *
migr_current_statement(void)
{
	return current_statement;
}

/* After a failure was reported: no step or statement is running. */
void
migr_forget_current_step(void)
{
	current_step = NULL;
	current_statement = NULL;
}

/*
 * Apply one step in a subtransaction.  On failure, roll the step back,
 * write a log row that says what failed and return the error, copied into
 * "error_cxt", for the caller to raise once that row is committed; NULL
 * when the step succeeded.
 */
ErrorData *
migr_run_step_alone(MigrRun *run, const MigrPlanStep *step, int number,
					MemoryContext error_cxt)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	ErrorData  *volatile result = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		migr_set_operation_active(true);
		migr_run_steps(run, list_make1((MigrPlanStep *) step), number);
		migr_set_operation_active(false);
		migr_drift_record(migr_operation_names[run->op]);
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
		int			line;
		bool		have_step = current_step != NULL;

		migr_set_operation_active(false);
		MemoryContextSwitchTo(error_cxt);
		edata = CopyErrorData();
		MemoryContextSwitchTo(cxt);
		/* Copy what the failure row needs before the step's memory goes. */
		statement = current_statement ? pstrdup(current_statement) : NULL;
		line = current_statement ? current_statement_line : 0;
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
			migr_catalog_record_failure(&failed, statement, line,
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
 * An operation that records where these revisions are has ended the steps
 * of migr_script() scripts that began on them and did not finish: delete
 * their in_progress rows, with a notice for each.  "confirm": the operation
 * changes nothing else, so the production confirmation is checked here.
 * Call inside an owner scope.
 */
void
migr_resolve_in_progress(List *ids, const char *operation, bool confirm)
{
	List	   *resolved = migr_catalog_delete_in_progress(ids);
	ListCell   *lc;

	if (resolved != NIL && confirm)
		migr_require_confirmation(MIGR_CONFIRM_STAMP);
	foreach(lc, resolved)
	{
		MigrInProgress *p = lfirst(lc);

		ereport(NOTICE,
				(errmsg("step \"%s\" (%s) of a migr script, begun at %s, is no longer in progress",
						p->revision, p->direction, p->started_at),
				 errdetail("Operation \"%s\" records where revision \"%s\" is.",
						   operation, p->revision)));
	}
}
