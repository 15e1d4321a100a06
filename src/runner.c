/*-------------------------------------------------------------------------
 *
 * runner.c
 *		The SQL entry points that run steps: migr_upgrade(),
 *		migr_downgrade(), migr_stamp(), migr_redo(), migr_upgrade_each(),
 *		migr_adopt(); migr.rewrite_watch for dry runs.
 *
 * One call is one unit of work inside the caller's transaction: every step's
 * script, its version rows and its log row commit together or not at all.
 * The migr lock (lock.c) serializes calls, so a second deploy waits and then
 * sees what the first one committed.  Scripts run as the less privileged of
 * the caller and their registrant, in a security-restricted context
 * (apply.c); the catalog is written as the extension owner (catalog.c).
 * This file parses arguments, plans (plan.c), checks (checks.c) and hands
 * the steps to the step engine (apply.c) or to a dry run (dryrun.c).
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
#include "utils/snapmgr.h"
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
PG_FUNCTION_INFO_V1(migr_downgrade_each);
PG_FUNCTION_INFO_V1(migr_adopt);

static List *target_argument(FunctionCallInfo fcinfo, bool downgrade);

/*
 * migr.rewrite_watch(): the table_rewrite event trigger.  During a dry
 * run it notes which table a step rewrites (dryrun.c); otherwise it does
 * nothing.
 */
Datum
migr_rewrite_watch(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		elog(ERROR, "migr.rewrite_watch() must be called as an event trigger");
	migr_dry_run_note_rewrite(DatumGetObjectId(OidFunctionCall0(F_PG_EVENT_TRIGGER_TABLE_REWRITE_OID)));
	PG_RETURN_VOID();
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

	if (run->op == MIGR_OP_STAMP)
	{
		Bitmapset  *scope = migr_plan_stamp_decided(run->graph, targets, purge);
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
 * Run (or dry-run) the plan of "run", marked as an operation in progress so
 * that its scripts cannot start another one (state.c).
 */
static void
run_plan(MigrRun *run, bool dry_run)
{
	const char *operation = migr_operation_names[run->op];

	if (dry_run)
		operation = psprintf("dry run of %s", operation);
	migr_set_operation_active(true);
	if (run->steps != NIL)
		migr_progress_begin(operation, run->target, list_length(run->steps));
	PG_TRY();
	{
		if (dry_run)
			migr_dry_run_plan(run);
		else
			migr_execute_plan(run);
	}
	PG_FINALLY();
	{
		migr_set_operation_active(false);
		migr_progress_end();
	}
	PG_END_TRY();
}

/*
 * Plan and run one operation.  The plan lives in the memory of the call's
 * SPI connection; each step has a connection (and so memory) of its own,
 * released when the step ends, so memory does not grow with the number of
 * steps.
 */
static void
run_operation(FunctionCallInfo fcinfo, MigrOperation op, List *targets,
			  bool purge, bool dry_run, const MigrAdoption *adoption)
{
	MigrRun		run = {0};
	MigrOwnerScope scope;
	const char *target = linitial(targets);
	List	   *volatile decided = NIL;

	migr_check_can_change(fcinfo);
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
	if (op == MIGR_OP_UPGRADE && migr_target_is_reached(target))
	{
		migr_owner_end(&scope);
		goto done;
	}

	run.graph = migr_graph_load();
	if (op == OP_ADOPT)
	{
		/* The tips of what the previous tool applied, stamped. */
		targets = migr_adopt_targets(run.graph, adoption);
		run.steps = targets == NIL ? NIL
			: migr_plan_steps(run.graph, op, targets, false, run.target);
	}
	else
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

	run_plan(&run, dry_run);

	if (decided != NIL)
	{
		migr_owner_begin(&scope);
		migr_resolve_in_progress(decided, migr_operation_names[op],
								 op == MIGR_OP_STAMP && run.steps == NIL);
		migr_owner_end(&scope);
	}

done:
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
}

/* ---------------------------------------------------------------------
 * migr_upgrade_each(), migr_downgrade_each(): a transaction per step
 * ---------------------------------------------------------------------
 */

/*
 * Run a step that cannot run inside a transaction in a background worker
 * (worker.c, offline.c), as the psql script of migr_script() runs it, and
 * wait for it.  Called in a fresh transaction that holds no lock and no
 * snapshot: the step's CREATE INDEX CONCURRENTLY waits for every older
 * snapshot, this backend's among them.  If the step fails, its log row is
 * committed here, as for any step of the call, and the error is returned.
 */
static ErrorData *
run_step_in_worker(MigrRun *run, const MigrPlanStep *step, int number,
				   const MigrRevisionRow *row, Oid role,
				   MemoryContext error_cxt)
{
	const char *id = row->id;
	const char *which = step->up ? "upgrade" : "downgrade";
	List	   *args = NIL;
	MigrWorkerOutcome outcome = {0};
	MigrStepRecord rec = {0};
	MigrOwnerScope scope;
	MigrStatement *volatile failed = NULL;
	List	   *statements;
	char	   *what = psprintf("step \"%s\" (%s)", id, step->up ? "up" : "down");
	bool		started = false;
	ErrorData  *edata;
	MemoryContext cxt = CurrentMemoryContext;

	args = lappend(args, (char *) id);
	args = lappend(args, step->up ? "up" : "down");
	args = lappend(args, migr_checksum(row->upgrade, row->downgrade));
	args = lappend(args, (char *) run->target);
	args = lappend(args, run->caller.session_user_name);
	args = lappend(args, run->caller.current_user_name);

	rec.run_id = run->run_id;
	rec.operation = migr_operation_names[run->op];
	rec.revision = id;
	rec.up = step->up;
	rec.target = run->target;
	rec.checksum = migr_checksum(row->upgrade, row->downgrade);
	rec.started_at = GetCurrentTimestamp();
	statements = migr_parse_script(migr_step_script(row, step->up), id, which);

	PG_TRY();
	{
		started = migr_worker_run("migr_step_worker_main", what, role, args,
								  false, 0, &outcome);
	}
	PG_CATCH();
	{
		/*
		 * This call was cancelled (or failed) while the worker ran the step,
		 * and the worker was stopped: this transaction rolls back, so a
		 * worker of its own records the failure.
		 */
		MemoryContextSwitchTo(error_cxt);
		edata = CopyErrorData();
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		if (outcome.statement > 0 && outcome.statement <= list_length(statements))
			failed = list_nth(statements, outcome.statement - 1);
		rec.finished_at = GetCurrentTimestamp();
		rec.wal_before = GetXLogInsertRecPtr();
		(void) migr_worker_record_failure(&rec, failed ? failed->text : NULL,
										  failed ? failed->line : 0, edata,
										  &run->caller);
		ReThrowError(edata);
	}
	PG_END_TRY();
	if (!started)
		migr_worker_refuse_no_slot(what);
	rec.finished_at = GetCurrentTimestamp();
	if (outcome.error == NULL)
	{
		migr_emit_step_row(run, number, id, step->up, row->message,
						   rec.started_at, rec.finished_at, (Datum) 0,
						   (Datum) 0, NULL);
		return NULL;
	}

	/* The failed step's row, as migr_run_step_alone() writes one. */
	if (outcome.statement > 0 && outcome.statement <= list_length(statements))
		failed = list_nth(statements, outcome.statement - 1);
	migr_catalog_open(&scope);
	rec.wal_before = GetXLogInsertRecPtr();
	migr_catalog_record_failure(&rec, failed ? failed->text : NULL,
								failed ? failed->line : 0,
								unpack_sql_state(outcome.error->sqlerrcode),
								outcome.error->message, &run->caller);
	migr_owner_end(&scope);
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");

	/* The error, to raise once the row is committed. */
	MemoryContextSwitchTo(error_cxt);
	edata = palloc(sizeof(ErrorData));
	memcpy(edata, outcome.error, sizeof(ErrorData));
	edata->message = pstrdup(outcome.error->message);
	edata->detail = outcome.error->detail ? pstrdup(outcome.error->detail) : NULL;
	edata->hint = outcome.error->hint ? pstrdup(outcome.error->hint) : NULL;
	edata->context = outcome.error->context ? pstrdup(outcome.error->context) : NULL;
	edata->schema_name = outcome.error->schema_name ? pstrdup(outcome.error->schema_name) : NULL;
	edata->table_name = outcome.error->table_name ? pstrdup(outcome.error->table_name) : NULL;
	edata->column_name = outcome.error->column_name ? pstrdup(outcome.error->column_name) : NULL;
	edata->datatype_name = outcome.error->datatype_name ? pstrdup(outcome.error->datatype_name) : NULL;
	edata->constraint_name = outcome.error->constraint_name ? pstrdup(outcome.error->constraint_name) : NULL;
	edata->detail_log = NULL;
	edata->internalquery = NULL;
	edata->cursorpos = 0;
	edata->internalpos = 0;
	edata->assoc_context = NULL;
	/* Raised here, as this backend's own error. */
	edata->output_to_server = true;
	edata->output_to_client = true;
	MemoryContextSwitchTo(cxt);
	return edata;
}

/*
 * CALL migr_upgrade_each(target) and CALL migr_downgrade_each(target): like
 * migr_upgrade and migr_downgrade, but every step commits on its own, so a
 * long chain keeps what was done before a failure.  The lock is taken
 * again for every step; a step another deploy did in the meantime is
 * skipped.  A step that cannot run inside a transaction (CREATE INDEX
 * CONCURRENTLY ...) runs in a background worker, as the psql script of
 * migr_script() would run it, with the same bookkeeping.
 *
 * Memory and time per step stay flat however long the chain: the graph is
 * loaded once, into a context of its own, and loaded again only when
 * another migr operation changed the catalog between two steps (the
 * catalog's generation says so); then the whole plan is checked again,
 * checksums included, as before the first step.  Everything else a step
 * allocates lives in an SPI connection of the step's own, gone when the
 * step commits.
 */
static void
each_operation(FunctionCallInfo fcinfo, MigrOperation op)
{
	MigrRun		run = {0};
	MigrOwnerScope scope;
	MemoryContext call_cxt;
	MemoryContext graph_cxt;
	MemoryContext step_cxt;
	ListCell   *lc;
	char	  **ids;
	int			nids;
	int64		generation;
	int			number = 0;
	bool		up = op == MIGR_OP_UPGRADE;
	const char *name = migr_operation_names[op];
	bool		atomic = fcinfo->context && IsA(fcinfo->context, CallContext) &&
	((CallContext *) fcinfo->context)->atomic;

	migr_check_can_change(fcinfo);
	if (atomic || fcinfo->context == NULL || !IsA(fcinfo->context, CallContext))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_TERMINATION),
				 up ? errmsg("migr_upgrade_each must be called with CALL outside a transaction block")
				 : errmsg("migr_downgrade_each must be called with CALL outside a transaction block"),
				 up ? errhint("Run CALL migr_upgrade_each('head'); on its own, or use migr_upgrade() inside a transaction.")
				 : errhint("Run CALL migr_downgrade_each('-1'); on its own, or use migr_downgrade() inside a transaction.")));
	run.op = op;
	run.target = linitial(target_argument(fcinfo, !up));
	migr_capture_caller(&run.caller);

	if (SPI_connect_ext(SPI_OPT_NONATOMIC) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* The call's connection outlives its transactions; so does its memory. */
	call_cxt = CurrentMemoryContext;
	graph_cxt = AllocSetContextCreate(call_cxt, "migr graph",
									  ALLOCSET_DEFAULT_SIZES);
	step_cxt = AllocSetContextCreate(call_cxt, "migr worker step",
									 ALLOCSET_DEFAULT_SIZES);

	/* Plan once, under the lock; remember the revisions by id. */
	migr_owner_begin(&scope);
	migr_lock_acquire(name);
	MemoryContextSwitchTo(graph_cxt);
	run.graph = migr_graph_load();
	MemoryContextSwitchTo(call_cxt);
	run.steps = migr_plan_steps(run.graph, op, list_make1((char *) run.target),
								false, run.target);
	if (run.steps != NIL)
		migr_check_plan(run.graph, op, run.steps, &run.caller, true);
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

	/*
	 * pg_stat_activity shows each step; an error that ends the call puts the
	 * caller's query back when it aborts the transaction (progress.c).
	 */
	if (nids > 0)
		migr_progress_begin(name, run.target, nids);

	for (int i = 0; i < nids; i++)
	{
		MigrPlanStep step = {0};
		ErrorData  *edata;
		int64		now;
		bool		changed;

		/* A connection of the step's own: its memory goes when it ends. */
		migr_catalog_open(&scope);
		migr_lock_acquire(name);
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
		step.up = up;
		if (step.node < 0 || run.graph->nodes[step.node].applied == up)
		{
			migr_owner_end(&scope);
			SPI_finish();
			SPI_commit();
			continue;
		}
		if (changed)
			migr_check_plan(run.graph, op, list_make1(&step), &run.caller, true);
		else
			migr_check_steps(run.graph, op, list_make1(&step), &run.caller, true);

		if (!run.graph->nodes[step.node].transactional)
		{
			/*
			 * The worker takes the lock, checks and records the step as
			 * migr_step_begin() and migr_step_end() do; this backend holds
			 * nothing meanwhile.
			 */
			MigrRevisionRow *row;
			Oid			role;

			MemoryContextReset(step_cxt);
			MemoryContextSwitchTo(step_cxt);
			row = migr_catalog_fetch_revision(ids[i]);
			role = migr_step_role(run.caller.current_user_id,
								  migr_step_registrant(row, up), row->id);
			/* For the step's failure row; the worker's record has its own. */
			run.run_id = migr_catalog_next_run_id();
			migr_owner_end(&scope);
			if (SPI_finish() != SPI_OK_FINISH)
				elog(ERROR, "SPI_finish failed");
			SPI_commit();
			InvalidateCatalogSnapshot();
			MemoryContextSwitchTo(step_cxt);
			/* The worker's own row shows the statement it runs. */
			migr_progress_step(number + 1, row->id, up);
			edata = run_step_in_worker(&run, &step, ++number, row, role, call_cxt);
			MemoryContextSwitchTo(call_cxt);
			SPI_commit();
			if (edata != NULL)
				ReThrowError(edata);
			/* The worker's step changed the catalog: read it again. */
			generation = -1;
			continue;
		}
		else
		{
			migr_catalog_bump_generation();
			generation = migr_catalog_generation();
			run.run_id = migr_catalog_next_run_id();
			migr_owner_end(&scope);

			edata = migr_run_step_alone(&run, &step, ++number, call_cxt);
			if (edata == NULL)
			{
				migr_owner_begin(&scope);
				migr_resolve_in_progress(list_make1(ids[i]), name, false);
				migr_owner_end(&scope);
			}
		}
		if (SPI_finish() != SPI_OK_FINISH)
			elog(ERROR, "SPI_finish failed");
		SPI_commit();
		if (edata != NULL)
			ReThrowError(edata);
	}

	migr_progress_end();
	SPI_finish();
}

/* CALL migr_upgrade_each(target) */
Datum
migr_upgrade_each(PG_FUNCTION_ARGS)
{
	each_operation(fcinfo, MIGR_OP_UPGRADE);
	PG_RETURN_VOID();
}

/* CALL migr_downgrade_each(target) */
Datum
migr_downgrade_each(PG_FUNCTION_ARGS)
{
	each_operation(fcinfo, MIGR_OP_DOWNGRADE);
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
	run_operation(fcinfo, MIGR_OP_UPGRADE, target_argument(fcinfo, false), false,
				  dry_run_argument(fcinfo), NULL);
	return (Datum) 0;
}

/* migr_downgrade(target text) and migr_downgrade(target integer) */
Datum
migr_downgrade(PG_FUNCTION_ARGS)
{
	run_operation(fcinfo, MIGR_OP_DOWNGRADE, target_argument(fcinfo, true), false,
				  dry_run_argument(fcinfo), NULL);
	return (Datum) 0;
}

/*
 * migr_redo(revision): run an applied revision (and what is above it) again.
 */
Datum
migr_redo(PG_FUNCTION_ARGS)
{
	run_operation(fcinfo, MIGR_OP_REDO, target_argument(fcinfo, true), false, false,
				  NULL);
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
	run_operation(fcinfo, MIGR_OP_STAMP, targets, purge, false, NULL);
	return (Datum) 0;
}

/*
 * migr_adopt(tool text, version_table text DEFAULT NULL): mark as applied
 * what another migration tool applied, per its version table, without
 * running anything; returns the stamped steps like migr_stamp().  The
 * table is read with the caller's privileges before migr's lock is taken;
 * the steps are logged with operation "adopt" and target "TABLE (TOOL)".
 */
Datum
migr_adopt(PG_FUNCTION_ARGS)
{
	MigrAdoption *adoption;
	MemoryContext cxt = CurrentMemoryContext;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("tool must not be NULL"),
				 errhint("Use alembic, flyway, golang-migrate, dbmate, diesel or sqitch.")));
	/* Before the tool's table is read: on a standby there is nothing to do. */
	migr_check_can_change(fcinfo);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	adoption = migr_adopt_read(text_to_cstring(PG_GETARG_TEXT_PP(0)),
							   PG_ARGISNULL(1) ? NULL
							   : text_to_cstring(PG_GETARG_TEXT_PP(1)),
							   cxt);
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
	run_operation(fcinfo, OP_ADOPT,
				  list_make1(psprintf("%s (%s)", adoption->table, adoption->tool_name)),
				  false, false, adoption);
	return (Datum) 0;
}
