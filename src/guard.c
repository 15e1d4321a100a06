/*-------------------------------------------------------------------------
 *
 * guard.c
 *		Production guards enforced in the server: confirmation of every
 *		change, and the lock-down of DDL that does not come from migr.
 *
 * The DDL lock-down is an event trigger on ddl_command_start, created by the
 * install script and enabled ALWAYS, so it fires in every session of the
 * database whether or not the library is preloaded (firing it loads the
 * library).  It lets through:
 *		- statements of migration scripts that migr itself is running, and
 *		  the registered statements of a migr_script() step, each in its turn
 *		  (state.c keeps that step's cover);
 *		- commands inside an extension script (the CREATE or ALTER EXTENSION
 *		  that runs it was checked already);
 *		- what a running application legitimately does: temporary tables,
 *		  views and sequences, indexes and ALTER TABLE on temporary tables,
 *		  dropping temporary objects, and REFRESH MATERIALIZED VIEW;
 *		- on a worker of a Citus cluster, the DDL that Citus sends from the
 *		  coordinator to the shards there (citus.c says how it is told from
 *		  ad-hoc DDL): the coordinator's own guard let it run;
 *		- anything, while a superuser has set migr.allow_adhoc_ddl, each
 *		  statement being written to migr.log.
 * Event triggers do not fire for shared objects (roles, databases,
 * tablespaces), nor for event trigger commands: those are out of its reach.
 *
 * Nor do they fire for EXPLAIN, whose ANALYZE option runs the statement it
 * explains: EXPLAIN ANALYZE CREATE TABLE ... AS (or SELECT ... INTO, or
 * CREATE MATERIALIZED VIEW) creates a table the event trigger never sees.
 * A ProcessUtility hook applies the same rule, with the same refusal and
 * the same log row, to those statements, and to nothing the event trigger
 * sees (so nothing is refused or logged twice).  An fmgr hook does the same
 * for the calls of Citus's functions that distribute, undistribute or
 * alter tables (create_distributed_table() ...), which are function calls,
 * not DDL, on the node where they are called.  A hook exists only in
 * sessions that loaded the library, so production needs migr in
 * shared_preload_libraries or session_preload_libraries; migr_status()
 * says when this session did not load it at its start.  The hooks also
 * tell state.c which statement the client sent, for a step's cover.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/defrem.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/lsyscache.h"

#include "migr.h"

PG_FUNCTION_INFO_V1(migr_ddl_guard);

/* The hooks this library chains into, and what was there before. */
static ProcessUtility_hook_type prev_ProcessUtility = NULL;
static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static needs_fmgr_hook_type prev_needs_fmgr_hook = NULL;
static fmgr_hook_type prev_fmgr_hook = NULL;

/* How deep in utility statements and executor runs this backend is. */
static int	nesting_level = 0;

/* Is the relation "rv" names (or is about to create) temporary? */
static bool
is_temporary(RangeVar *rv, bool creating)
{
	Oid			relid;

	if (rv->relpersistence == RELPERSISTENCE_TEMP)
		return true;
	if (rv->schemaname != NULL && strcmp(rv->schemaname, "pg_temp") == 0)
		return true;
	if (creating)
		return false;
	relid = RangeVarGetRelid(rv, NoLock, true);
	return OidIsValid(relid) && get_rel_persistence(relid) == RELPERSISTENCE_TEMP;
}

/*
 * Is "parsetree" something a running application may do in production?
 */
static bool
is_application_ddl(Node *parsetree)
{
	switch (nodeTag(parsetree))
	{
		case T_RefreshMatViewStmt:
			return true;
		case T_CreateStmt:
			return is_temporary(((CreateStmt *) parsetree)->relation, true);
		case T_ViewStmt:
			return is_temporary(((ViewStmt *) parsetree)->view, true);
		case T_CreateSeqStmt:
			return is_temporary(((CreateSeqStmt *) parsetree)->sequence, true);
		case T_CreateTableAsStmt:
			return is_temporary(((CreateTableAsStmt *) parsetree)->into->rel, true);
		case T_IndexStmt:
			return is_temporary(((IndexStmt *) parsetree)->relation, false);
		case T_AlterTableStmt:
			return is_temporary(((AlterTableStmt *) parsetree)->relation, false);
		case T_AlterSeqStmt:
			return is_temporary(((AlterSeqStmt *) parsetree)->sequence, false);
		case T_DropStmt:
			{
				DropStmt   *drop = (DropStmt *) parsetree;
				ListCell   *lc;

				if (drop->removeType != OBJECT_TABLE &&
					drop->removeType != OBJECT_VIEW &&
					drop->removeType != OBJECT_SEQUENCE &&
					drop->removeType != OBJECT_INDEX)
					return false;
				foreach(lc, drop->objects)
				{
					if (!is_temporary(makeRangeVarFromNameList(lfirst(lc)), false))
						return false;
				}
				return true;
			}
		default:
			return false;
	}
}

/* Write a statement let through by migr.allow_adhoc_ddl to migr.log. */
static void
log_adhoc_ddl(const char *tag)
{
	MigrCaller	caller;
	MigrOwnerScope scope;
	MigrEventRecord rec = {0};

	migr_capture_caller(&caller);
	rec.operation = "adhoc_ddl";
	rec.command_tag = tag;
	rec.statement = debug_query_string ? debug_query_string : tag;

	migr_catalog_open(&scope);
	migr_catalog_record_event(&rec, &caller);
	migr_owner_end(&scope);
	SPI_finish();

	ereport(WARNING,
			(errmsg("ad-hoc schema change \"%s\" let through by migr.allow_adhoc_ddl", tag),
			 errdetail("The statement was recorded in migr.log.")));
}

/*
 * An ad-hoc schema change "tag" in production: refused (MG002), or let
 * through with a log row while migr.allow_adhoc_ddl is set.  "explain" says
 * the change was asked for by EXPLAIN ANALYZE.
 */
static void
adhoc_ddl(const char *tag, bool explain)
{
	char	   *cover_detail;

	if (migr_allow_adhoc_ddl)
	{
		log_adhoc_ddl(tag);
		return;
	}

	cover_detail = migr_step_cover_describe();
	ereport(ERROR,
			(errcode(ERRCODE_MIGR_ADHOC_DDL),
			 errmsg("ad-hoc schema change \"%s\" is not allowed in production", tag),
			 cover_detail != NULL ? errdetail("%s", cover_detail) :
			 explain ? errdetail("EXPLAIN ANALYZE runs the statement it explains; in production, migrations are the only way to change the schema.") :
			 errdetail("In production, migrations are the only way to change the schema."),
			 errhint("Register the change with migr_revision() and apply it with migr_upgrade().")));
}

/*
 * migr.ddl_guard(): the ddl_command_start event trigger.
 */
Datum
migr_ddl_guard(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		elog(ERROR, "migr.ddl_guard() must be called as an event trigger");

	/* The hot path: every DDL statement of every environment comes here. */
	if (migr_environment != MIGR_ENV_PRODUCTION || migr_running_script() ||
		creating_extension)
		PG_RETURN_VOID();

	trigdata = (EventTriggerData *) fcinfo->context;
	if (is_application_ddl(trigdata->parsetree))
		PG_RETURN_VOID();

	/* On a Citus worker: DDL the coordinator sends to its shards. */
	if (migr_citus_propagated_ddl())
		PG_RETURN_VOID();

	adhoc_ddl(GetCommandTagName(trigdata->tag), false);
	PG_RETURN_VOID();
}

/*
 * EXPLAIN, which no event trigger sees: with ANALYZE it runs the statement
 * it explains, and CREATE TABLE AS, SELECT INTO and CREATE MATERIALIZED VIEW
 * (also AS EXECUTE of a prepared statement) create a relation.  The other
 * statements EXPLAIN accepts change no schema by themselves; DDL in a
 * function they call fires the event trigger.
 */
static void
guard_explain(ExplainStmt *stmt)
{
	bool		analyze = false;
	Query	   *query;
	CreateTableAsStmt *ctas;
	ListCell   *lc;

	if (migr_environment != MIGR_ENV_PRODUCTION || migr_running_script() ||
		creating_extension)
		return;

	/* As ExplainQuery() reads the option: the last one given counts. */
	foreach(lc, stmt->options)
	{
		DefElem    *opt = lfirst_node(DefElem, lc);

		if (strcmp(opt->defname, "analyze") == 0)
			analyze = defGetBoolean(opt);
	}
	if (!analyze || !IsA(stmt->query, Query))
		return;

	query = (Query *) stmt->query;
	if (query->commandType != CMD_UTILITY ||
		!IsA(query->utilityStmt, CreateTableAsStmt))
		return;
	ctas = (CreateTableAsStmt *) query->utilityStmt;
	if (is_temporary(ctas->into->rel, true))
		return;

	/* A preloaded library also sees databases where migr is not installed. */
	if (!OidIsValid(get_extension_oid("migr", true)))
		return;

	adhoc_ddl(GetCommandTagName(CreateCommandTag((Node *) ctas)), true);
}

/*
 * The ProcessUtility hook: a top-level statement is reported to the step
 * cover, EXPLAIN is checked, then the statement runs as it would have.
 */
static void
guard_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
					 bool readOnlyTree, ProcessUtilityContext context,
					 ParamListInfo params, QueryEnvironment *queryEnv,
					 DestReceiver *dest, QueryCompletion *qc)
{
	if (nesting_level == 0 && context == PROCESS_UTILITY_TOPLEVEL &&
		migr_step_cover_active())
		migr_step_cover_statement(queryString, pstmt->stmt_location,
								  pstmt->stmt_len);

	if (IsA(pstmt->utilityStmt, ExplainStmt))
		guard_explain((ExplainStmt *) pstmt->utilityStmt);

	/* pstmt belongs to the next hook from here on. */
	nesting_level++;
	PG_TRY();
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();
}

/*
 * The ExecutorStart hook: a query the client sent (not one a function or a
 * utility statement runs) is reported to the step cover.  The planner may
 * run functions before any executor hook sees them, so a top-level query
 * must also come in the text the client sent.
 */
static void
guard_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (nesting_level == 0 && migr_step_cover_active() &&
		debug_query_string != NULL && queryDesc->sourceText != NULL &&
		strcmp(queryDesc->sourceText, debug_query_string) == 0)
		migr_step_cover_statement(queryDesc->sourceText,
								  queryDesc->plannedstmt->stmt_location,
								  queryDesc->plannedstmt->stmt_len);

	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

/* ExecutorRun and ExecutorFinish run functions: one level deeper. */
static void
guard_ExecutorRun(QueryDesc *queryDesc, ScanDirection direction,
				  uint64 count, bool execute_once)
{
	nesting_level++;
	PG_TRY();
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(queryDesc, direction, count, execute_once);
		else
			standard_ExecutorRun(queryDesc, direction, count, execute_once);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();
}

static void
guard_ExecutorFinish(QueryDesc *queryDesc)
{
	nesting_level++;
	PG_TRY();
	{
		if (prev_ExecutorFinish)
			prev_ExecutorFinish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();
}

/*
 * Citus's functions that change tables or shards (create_distributed_table
 * and the like, see citus.c) are schema changes that no event trigger sees
 * on the node where they are called: in production, the fmgr hook refuses
 * their calls outside migrations as the event trigger refuses DDL.  Only
 * those functions go through the hook, and only in production.
 */
static bool
guard_needs_fmgr_hook(Oid fn_oid)
{
	if (prev_needs_fmgr_hook && prev_needs_fmgr_hook(fn_oid))
		return true;
	return migr_environment == MIGR_ENV_PRODUCTION &&
		migr_citus_schema_function(fn_oid);
}

static void
guard_fmgr_hook(FmgrHookEventType event, FmgrInfo *flinfo, Datum *private)
{
	if (event == FHET_START && migr_environment == MIGR_ENV_PRODUCTION &&
		!migr_running_script() && !creating_extension &&
		migr_citus_schema_function(flinfo->fn_oid) &&
		OidIsValid(get_extension_oid("migr", true)))
		adhoc_ddl(get_func_name(flinfo->fn_oid), false);

	if (prev_fmgr_hook)
		prev_fmgr_hook(event, flinfo, private);
}

/*
 * Chain the hooks in; called once, from _PG_init().  A library loaded by
 * shared_preload_libraries (in the postmaster) or session_preload_libraries
 * (while the backend initializes, before it reads any query) counts as
 * loaded at the start.
 */
void
migr_guard_install_hooks(void)
{
	migr_set_loaded_at_start(process_shared_preload_libraries_in_progress ||
							 IsInitProcessingMode());

	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = guard_ProcessUtility;
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = guard_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = guard_ExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = guard_ExecutorFinish;
	prev_needs_fmgr_hook = needs_fmgr_hook;
	needs_fmgr_hook = guard_needs_fmgr_hook;
	prev_fmgr_hook = fmgr_hook;
	fmgr_hook = guard_fmgr_hook;
}
