/*-------------------------------------------------------------------------
 *
 * runner.c
 *		migr_upgrade(), migr_downgrade() and migr_stamp(): plan the steps
 *		from the revision graph, then run them one by one.
 *
 * One call is one unit of work inside the caller's transaction: every step's
 * script, its version rows and its log row commit together or not at all.
 * The migr lock (lock.c) serializes calls, so a second deploy waits and then
 * sees what the first one committed.  Scripts run as the caller; the
 * catalog is written as the extension owner (catalog.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
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

typedef enum MigrOperation
{
	OP_UPGRADE,
	OP_DOWNGRADE,
	OP_STAMP,
	OP_REDO
} MigrOperation;

static const char *const operation_names[] = {"upgrade", "downgrade", "stamp", "redo"};

/* One step of a plan: a revision to apply (up) or to remove (down). */
typedef struct PlanStep
{
	int			node;
	bool		up;
} PlanStep;

/* Everything a running operation needs. */
typedef struct MigrRun
{
	MigrOperation op;
	const char *target;
	MigrGraph  *graph;
	List	   *steps;			/* of PlanStep * */
	int64		run_id;
	MigrCaller	caller;
	ReturnSetInfo *rsinfo;
} MigrRun;

/* Where in which script an error happened, for the error context. */
typedef struct StatementErrorContext
{
	const char *revision;
	const char *which;
	const MigrStatement *statement;
} StatementErrorContext;

/* True while an operation runs: scripts may not start another one. */
static bool operation_active = false;

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
	return operation_active;
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

static PlanStep *
make_step(int node, bool up)
{
	PlanStep   *step = palloc(sizeof(PlanStep));

	step->node = node;
	step->up = up;
	return step;
}

static List *
steps_from(List *nodes, bool up)
{
	List	   *steps = NIL;
	ListCell   *lc;

	foreach(lc, nodes)
		steps = lappend(steps, make_step(lfirst_int(lc), up));
	return steps;
}

/*
 * Upgrade: everything the target needs that is not applied yet, parents and
 * dependencies first.
 */
static List *
plan_upgrade(MigrRun *run, const MigrPosition *pos)
{
	Bitmapset  *todo = migr_graph_wanted(run->graph, pos);

	todo = bms_del_members(todo, migr_graph_applied(run->graph));
	return steps_from(migr_graph_order(run->graph, todo, false), true);
}

/*
 * Downgrade: every applied revision above the target (its descendants and
 * dependents), children and dependents first.  Other branches stay as they
 * are.  A target that is not applied lies above the current state, which is
 * an error.
 */
static List *
plan_downgrade(MigrRun *run, const MigrPosition *pos)
{
	MigrGraph  *graph = run->graph;
	Bitmapset  *todo;
	List	   *steps;
	ListCell   *lc;

	foreach(lc, pos->at)
	{
		MigrNode   *node = &graph->nodes[lfirst_int(lc)];

		if (!node->applied)
		{
			List	   *current = migr_graph_current(graph);

			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("downgrade target %s is not applied", node->id),
					 current == NIL
					 ? errdetail("The database is at base.")
					 : errdetail("The database is at %s.",
								 migr_graph_id_list(graph, current)),
					 errhint("A downgrade goes to a revision below the current one; use migr_upgrade() to go up.")));
		}
	}

	todo = bms_int_members(migr_graph_above(graph, pos), migr_graph_applied(graph));
	steps = steps_from(migr_graph_order(graph, todo, true), false);

	/* Every step needs a downgrade script; check before running any. */
	foreach(lc, steps)
	{
		MigrNode   *node = &graph->nodes[((PlanStep *) lfirst(lc))->node];

		if (!node->has_downgrade)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("revision %s has no downgrade script", node->id),
					 errdetail("Downgrading to %s would have to undo it.", run->target),
					 errhint("Register a new revision that reverses the change, or use migr_stamp() to move the version rows without running scripts.")));
	}
	return steps;
}

/*
 * Stamp: mark the targets as the database's state without running scripts.
 * Each target's lineage is set to it: what it needs becomes applied, what
 * lies above it does not; other branches stay, unless "purge" makes the
 * applied set exactly what the targets need.  Removals go first.
 */
static List *
plan_stamp(MigrRun *run, List *positions, bool purge)
{
	MigrGraph  *graph = run->graph;
	Bitmapset  *applied = migr_graph_applied(graph);
	Bitmapset  *wanted = NULL;
	Bitmapset  *above = NULL;
	Bitmapset  *result;
	ListCell   *lc;

	foreach(lc, positions)
	{
		wanted = bms_add_members(wanted, migr_graph_wanted(graph, lfirst(lc)));
		above = bms_add_members(above, migr_graph_above(graph, lfirst(lc)));
	}
	result = purge ? wanted
		: bms_union(bms_difference(applied, above), wanted);

	return list_concat(steps_from(migr_graph_order(graph, bms_difference(applied, result), true), false),
					   steps_from(migr_graph_order(graph, bms_difference(result, applied), false), true));
}

/*
 * Redo: remove the revision and everything above it, then apply them again,
 * so that edited scripts run.  The version rows end where they were.
 */
static List *
plan_redo(MigrRun *run, const char *name)
{
	MigrGraph  *graph = run->graph;
	List	   *found = migr_resolve_revisions(graph, name);
	MigrPosition below = {0};
	Bitmapset  *redo;
	ListCell   *lc;

	if (list_length(found) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" does not name a single revision", name),
				 errdetail("It names %s.", migr_graph_id_list(graph, found))));
	if (!graph->nodes[linitial_int(found)].applied)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("revision %s is not applied", graph->nodes[linitial_int(found)].id),
				 errhint("migr_redo() runs an applied revision again; use migr_upgrade() to apply it.")));

	below.below = found;
	redo = bms_int_members(migr_graph_above(graph, &below), migr_graph_applied(graph));
	foreach(lc, migr_graph_order(graph, redo, true))
		if (!graph->nodes[lfirst_int(lc)].has_downgrade)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("revision %s has no downgrade script", graph->nodes[lfirst_int(lc)].id),
					 errhint("Register it again with a downgrade script, or use migr_stamp() and apply the change by hand.")));
	return list_concat(steps_from(migr_graph_order(graph, redo, true), false),
					   steps_from(migr_graph_order(graph, redo, false), true));
}

/*
 * In production, an upgrade through destructive revisions needs them to be
 * registered with destructive => true, or migr.allow_destructive.  Checked
 * before anything runs; the error lists the statements.
 */
static void
check_destructive_steps(MigrRun *run)
{
	List	   *ids = NIL;
	ListCell   *lc;
	StringInfoData list;
	Oid			types[1] = {TEXTARRAYOID};
	Datum		values[1];

	if (migr_environment != MIGR_ENV_PRODUCTION || migr_allow_destructive)
		return;
	foreach(lc, run->steps)
	{
		PlanStep   *step = (PlanStep *) lfirst(lc);

		if (step->up)
			ids = lappend(ids, DatumGetPointer(CStringGetTextDatum(run->graph->nodes[step->node].id)));
	}
	if (ids == NIL)
		return;

	{
		Datum	   *elems = palloc(sizeof(Datum) * list_length(ids));

		foreach(lc, ids)
			elems[foreach_current_index(lc)] = PointerGetDatum(lfirst(lc));
		values[0] = PointerGetDatum(construct_array(elems, list_length(ids), TEXTOID,
													-1, false, TYPALIGN_INT));
	}
	migr_catalog_exec("SELECT r.id, s.statement"
					  "  FROM migr.revisions r,"
					  "       unnest(r.destructive_statements) AS s(statement)"
					  " WHERE r.id = ANY ($1) AND NOT r.destructive"
					  " ORDER BY r.seq",
					  1, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed == 0)
		return;

	initStringInfo(&list);
	for (uint64 i = 0; i < SPI_processed; i++)
		appendStringInfo(&list, "\n  %s: %s", migr_result_text(i, 1),
						 migr_result_text(i, 2));
	ereport(ERROR,
			(errcode(ERRCODE_MIGR_DESTRUCTIVE),
			 errmsg("upgrade runs destructive changes that were not acknowledged"),
			 errdetail("Destructive statements:%s", list.data),
			 errhint("Ship them in a deploy of their own; to run them, register the revision with destructive => true or SET migr.allow_destructive = on.")));
}

/*
 * Scripts run with the caller's privileges, so a script must not give its
 * author more than the author has: every revision a plan runs must have
 * been registered by a role that has all the privileges of the caller.
 * Otherwise a role allowed to register could have a superuser run its SQL.
 */
static void
check_registrants(MigrRun *run)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(list_length(run->steps), 1));
	Oid			types[1] = {TEXTARRAYOID};
	Datum		values[1];
	Oid			caller = GetUserId();
	ListCell   *lc;

	if (run->op == OP_STAMP || run->steps == NIL)
		return;
	foreach(lc, run->steps)
		elems[foreach_current_index(lc)] =
			CStringGetTextDatum(run->graph->nodes[((PlanStep *) lfirst(lc))->node].id);
	values[0] = PointerGetDatum(construct_array(elems, list_length(run->steps),
												TEXTOID, -1, false, TYPALIGN_INT));
	migr_catalog_exec("SELECT created_by::text, min(id)"
					  "  FROM migr.revisions WHERE id = ANY ($1)"
					  " GROUP BY created_by ORDER BY 1",
					  1, types, values, NULL, SPI_OK_SELECT);

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *registrant = migr_result_text(i, 1);
		Oid			role = get_role_oid(registrant, true);

		if (OidIsValid(role) && has_privs_of_role(role, caller))
			continue;
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("revision %s was registered by role \"%s\", which does not have the privileges of role \"%s\" running it",
						migr_result_text(i, 2), registrant,
						GetUserNameFromId(caller, false)),
				 errdetail("Scripts run with the privileges of the role that runs them."),
				 OidIsValid(role)
				 ? errhint("Run the operation as that role (SET ROLE \"%s\"), or have a role with your privileges register the revision.", registrant)
				 : errhint("The role no longer exists; have a role with your privileges register the revision again.")));
	}
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
		run_statement(ctx.statement->text);
	}

	error_context_stack = errcallback.previous;
}

/*
 * Version rows after "step": applying a revision replaces its parents;
 * removing one restores each parent that has no other applied child.  The
 * graph's applied flags are updated to match.
 */
static void
apply_to_graph(MigrGraph *graph, const PlanStep *step, MigrStepRecord *rec)
{
	MigrNode   *node = &graph->nodes[step->node];

	node->applied = step->up;
	if (step->up)
	{
		for (int j = 0; j < node->nparents; j++)
			rec->version_remove = lappend(rec->version_remove,
										  graph->nodes[node->parents[j]].id);
		rec->version_add = list_make1(node->id);
		return;
	}

	rec->version_remove = list_make1(node->id);
	for (int j = 0; j < node->nparents; j++)
	{
		MigrNode   *parent = &graph->nodes[node->parents[j]];
		bool		child_applied = false;

		for (int k = 0; k < parent->nchildren && !child_applied; k++)
			child_applied = graph->nodes[parent->children[k]].applied;
		if (!child_applied)
			rec->version_add = lappend(rec->version_add, parent->id);
	}
}

static Interval *
interval_between(TimestampTz start, TimestampTz end)
{
	Interval   *result = palloc0(sizeof(Interval));

	result->time = end - start;
	return result;
}

/*
 * Run (or, for a stamp, just record) one step and emit its result row.
 */
static void
execute_step(MigrRun *run, const PlanStep *step, int number)
{
	MigrNode   *node = &run->graph->nodes[step->node];
	MigrOwnerScope scope;
	MigrRevisionRow *row;
	MigrStepRecord rec = {0};
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};

	/*
	 * A connection of its own: everything the step allocates, including
	 * what SPI allocates for the script's statements, goes when it ends.
	 */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	migr_owner_begin(&scope);
	row = migr_catalog_fetch_revision(node->id);
	migr_owner_end(&scope);
	if (row == NULL)
		elog(ERROR, "revision %s disappeared while migr held its lock", node->id);

	rec.run_id = run->run_id;
	rec.operation = operation_names[run->op];
	rec.revision = node->id;
	rec.up = step->up;
	rec.target = run->target;
	/* The checksum of what actually runs, even if migr.revisions was edited. */
	rec.checksum = migr_checksum(row->upgrade, row->downgrade);
	rec.wal_before = GetXLogInsertRecPtr();
	rec.started_at = GetCurrentTimestamp();

	if (run->op != OP_STAMP)
	{
		/*
		 * Settings a script changes (SET search_path, SET ROLE ...) last
		 * until the end of its step, as in a function with a SET clause: they
		 * never leak into the next step or the caller's session.
		 */
		int			guc_nest_level = NewGUCNestLevel();

		if (migr_lock_timeout > 0)
			(void) set_config_option("lock_timeout",
									 psprintf("%d", migr_lock_timeout),
									 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
									 true, 0, false);
		run_script(step->up ? row->upgrade : row->downgrade, node->id,
				   step->up ? "upgrade" : "downgrade");
		AtEOXact_GUC(false, guc_nest_level);
	}

	rec.finished_at = GetCurrentTimestamp();
	apply_to_graph(run->graph, step, &rec);

	migr_owner_begin(&scope);
	migr_catalog_record_step(&rec, &run->caller);
	migr_owner_end(&scope);

	values[0] = Int32GetDatum(number);
	values[1] = CStringGetTextDatum(node->id);
	values[2] = CStringGetTextDatum(step->up ? "up" : "down");
	values[3] = CStringGetTextDatum(row->message);
	values[4] = IntervalPGetDatum(interval_between(rec.started_at, rec.finished_at));
	tuplestore_putvalues(run->rsinfo->setResult, run->rsinfo->setDesc,
						 values, nulls);

	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
}

/* Run every step of the plan, in order. */
static void
execute_plan(MigrRun *run)
{
	ListCell   *lc;

	foreach(lc, run->steps)
		execute_step(run, (PlanStep *) lfirst(lc), foreach_current_index(lc) + 1);
}

/*
 * Plan and run one operation.  The plan lives in the memory of the call's
 * SPI connection; each step has a connection (and so memory) of its own,
 * released when the step ends, so memory does not grow with the number of
 * steps.
 */
static void
run_operation(FunctionCallInfo fcinfo, MigrOperation op, List *targets,
			  bool purge)
{
	MigrRun		run = {0};
	MigrOwnerScope scope;
	const char *target = linitial(targets);

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
	migr_lock_acquire(operation_names[op]);

	/* The common no-op, "upgrade head" at head, without loading the graph. */
	if (op == OP_UPGRADE && migr_target_is_reached(target))
	{
		migr_owner_end(&scope);
		goto done;
	}

	run.graph = migr_graph_load();
	switch (op)
	{
		case OP_UPGRADE:
			run.steps = plan_upgrade(&run, migr_resolve_target(run.graph, target,
															   MIGR_FOR_UPGRADE));
			break;
		case OP_DOWNGRADE:
			run.steps = plan_downgrade(&run, migr_resolve_target(run.graph, target,
																 MIGR_FOR_DOWNGRADE));
			break;
		case OP_STAMP:
			{
				List	   *positions = NIL;
				ListCell   *lc;

				foreach(lc, targets)
					positions = lappend(positions,
										migr_resolve_target(run.graph, lfirst(lc),
															MIGR_FOR_STAMP));
				run.steps = plan_stamp(&run, positions, purge);
				break;
			}
		case OP_REDO:
			run.steps = plan_redo(&run, target);
			break;
	}
	if (run.steps != NIL)
	{
		migr_require_confirmation(op == OP_UPGRADE ? "an upgrade"
								  : op == OP_DOWNGRADE ? "a downgrade"
								  : op == OP_STAMP ? "a stamp" : "a redo");
		if (op == OP_UPGRADE)
			migr_check_checksums();
		if (op == OP_UPGRADE || op == OP_REDO)
			check_destructive_steps(&run);
		check_registrants(&run);
		migr_catalog_bump_generation();
		run.run_id = migr_catalog_next_run_id();
	}
	migr_owner_end(&scope);

	operation_active = true;
	PG_TRY();
	{
		execute_plan(&run);
	}
	PG_FINALLY();
	{
		operation_active = false;
	}
	PG_END_TRY();

done:
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
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

/* migr_upgrade(target text) and migr_upgrade(target integer) */
Datum
migr_upgrade(PG_FUNCTION_ARGS)
{
	run_operation(fcinfo, OP_UPGRADE, target_argument(fcinfo, false), false);
	return (Datum) 0;
}

/* migr_downgrade(target text) and migr_downgrade(target integer) */
Datum
migr_downgrade(PG_FUNCTION_ARGS)
{
	run_operation(fcinfo, OP_DOWNGRADE, target_argument(fcinfo, true), false);
	return (Datum) 0;
}

/*
 * migr_redo(revision): run an applied revision (and what is above it) again.
 */
Datum
migr_redo(PG_FUNCTION_ARGS)
{
	run_operation(fcinfo, OP_REDO, target_argument(fcinfo, true), false);
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
	run_operation(fcinfo, OP_STAMP, targets, purge);
	return (Datum) 0;
}
