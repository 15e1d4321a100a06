/*-------------------------------------------------------------------------
 *
 * dryrun.c
 *		Dry runs: every step runs for real inside a subtransaction that is
 *		rolled back, and reports its duration, the locks it took, the
 *		tables it rewrote, or its error.
 *
 * The guards a real run would apply are reported as a row instead of
 * raised (dry_run_checks).  migr.rewrite_watch (runner.c) tells which
 * tables a step rewrote through migr_dry_run_note_rewrite().
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

/* Tables rewritten during the current dry-run step (see migr.rewrite_watch). */
static bool dry_run_active = false;
static List *rewritten_tables = NIL;

/*
 * A table_rewrite event: during a dry-run step, note which table the step
 * rewrites (once); otherwise do nothing.
 */
void
migr_dry_run_note_rewrite(Oid relid)
{
	MemoryContext old;
	char	   *name;
	ListCell   *lc;

	if (!dry_run_active)
		return;
	old = MemoryContextSwitchTo(TopTransactionContext);
	name = psprintf("%s.%s", get_namespace_name(get_rel_namespace(relid)),
					get_rel_name(relid));
	foreach(lc, rewritten_tables)
	{
		if (strcmp(lfirst(lc), name) == 0)
			break;
	}
	if (lc == NULL)
		rewritten_tables = lappend(rewritten_tables, name);
	MemoryContextSwitchTo(old);
}

/*
 * The relation locks this backend holds, as "schema.relation: Mode",
 * sorted; system catalogs and migr's own tables are left out.  Read from
 * the server's view pg_locks (not from migr's catalog), in an owner scope
 * for its safe search_path.
 */
static List *
held_relation_locks(void)
{
	MemoryContext caller_cxt = CurrentMemoryContext;
	MigrOwnerScope scope;
	List	   *result = NIL;
	int			rc;

	migr_owner_begin(&scope);
	rc = SPI_execute("SELECT format('%s.%s: %s', n.nspname, c.relname, l.mode)"
					 "  FROM pg_locks l"
					 "  JOIN pg_class c ON c.oid = l.relation"
					 "  JOIN pg_namespace n ON n.oid = c.relnamespace"
					 " WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation'"
					 "   AND l.granted"
					 "   AND n.nspname NOT IN ('pg_catalog', 'pg_toast', 'information_schema',"
					 "                         'migr')"
					 " ORDER BY 1",
					 false, 0);
	MemoryContextSwitchTo(caller_cxt);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "unexpected SPI result %s reading pg_locks",
			 SPI_result_code_string(rc));
	for (uint64 i = 0; i < SPI_processed; i++)
		result = lappend(result, SPI_getvalue(SPI_tuptable->vals[i],
											  SPI_tuptable->tupdesc, 1));
	SPI_freetuptable(SPI_tuptable);
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
		{
			if (strcmp(lfirst(lc), lfirst(lc2)) == 0)
			{
				seen = true;
				break;
			}
		}
		if (!seen)
			result = lappend(result, lfirst(lc));
	}
	return result;
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

		migr_emit_step_row(run, number, node->id, step->up, row->message, now, now,
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
		migr_progress_step(number, node->id, step->up);
		migr_run_step_script(row, step->up, &run->caller);
		dry_run_active = false;
		MemoryContextSwitchTo(cxt);
		locks_after = held_relation_locks();
		migr_emit_step_row(run, number, node->id, step->up, row->message, started,
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
		char	   *failed_statement = migr_current_statement();

		dry_run_active = false;
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		migr_forget_current_step();
		migr_emit_step_row(run, number, node->id, step->up, row->message, started,
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
void
migr_dry_run_plan(MigrRun *run)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	ListCell   *lc;
	List	   *locks_held;

	MemoryContext step_cxt[2];

	dry_run_checks(run);
	locks_held = held_relation_locks();

	/*
	 * Each step's memory is released two steps later: the locks a step found
	 * held are compared with those of the step after it.
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
