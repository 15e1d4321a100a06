/*-------------------------------------------------------------------------
 *
 * status.c
 *		migr_status(): one read-only answer to "where is this database, and
 *		which guards hold?", as jsonb for scripts and monitoring.
 *
 * Open to every role; the text of a failure's error message (which can
 * quote data values) only to roles that may run migrations.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"

#include "migr.h"

PG_FUNCTION_INFO_V1(migr_status);

/*
 * May the calling role see the details of failures (error messages carry
 * data values)?  Those who may run migrations: the roles with EXECUTE on
 * migr_upgrade(text, boolean), found in this function's schema.
 */
static bool
may_see_details(FunctionCallInfo fcinfo)
{
	Oid			schema = get_func_namespace(fcinfo->flinfo->fn_oid);
	Oid			argtypes[2] = {TEXTOID, BOOLOID};
	Oid			upgrade;

	upgrade = LookupFuncName(list_make2(makeString(get_namespace_name(schema)),
										makeString("migr_upgrade")),
							 2, argtypes, true);
	return OidIsValid(upgrade) &&
		pg_proc_aclcheck(upgrade, GetUserId(), ACL_EXECUTE) == ACLCHECK_OK;
}

/*
 * The warnings about logical replication of migr's tables (char *).
 * Logical replication carries rows, not DDL: a subscriber that receives
 * migr's rows records revisions whose statements never ran there.
 */
static List *
replication_warnings(void)
{
	List	   *sentences = NIL;
	ListCell   *lc;

	foreach(lc, migr_catalog_replication(false))
		sentences = lappend(sentences,
							psprintf("publication \"%s\" publishes migr's own tables: a subscriber would record"
									 " revisions whose DDL it never ran (logical replication carries rows, not"
									 " schema changes); publish the application's schemas only"
									 " (CREATE PUBLICATION ... FOR TABLES IN SCHEMA ...) and run migr on each"
									 " subscriber too", (char *) lfirst(lc)));
	foreach(lc, migr_catalog_replication(true))
		sentences = lappend(sentences,
							psprintf("subscription \"%s\" replicates into migr's own tables: this database"
									 " records the publisher's revisions although their DDL never ran here;"
									 " subscribe to a publication of the application's schemas only, and run"
									 " migr here too", (char *) lfirst(lc)));
	return sentences;
}

/*
 * migr_status() RETURNS jsonb
 */
Datum
migr_status(PG_FUNCTION_ARGS)
{
	MigrOwnerScope scope;
	MemoryContext fn_cxt = CurrentMemoryContext;
	MigrGraph  *graph;
	Bitmapset  *pending;
	MigrStatusQuery q;
	char	   *json;
	Datum		result;
	MigrCitusNode node;
	int			group;
	const char *coordinator;

	q.error_details = may_see_details(fcinfo);
	node = migr_citus_node(&group, &coordinator);
	q.citus_node = node == MIGR_CITUS_NONE ? NULL
		: node == MIGR_CITUS_WORKER ? "worker" : "coordinator";
	q.citus_group = group;
	q.citus_coordinator = node == MIGR_CITUS_NONE ? NULL : coordinator;
	migr_catalog_open(&scope);

	graph = migr_graph_load();
	pending = migr_graph_ancestors(graph, migr_graph_heads(graph));
	pending = bms_del_members(pending, migr_graph_applied(graph));

	q.pending = bms_num_members(pending);
	q.preloaded = migr_loaded_at_start();
	q.step_holder_pid = migr_lock_step_holder();
	q.warnings = replication_warnings();
	json = migr_catalog_status(&q);

	migr_owner_end(&scope);
	MemoryContextSwitchTo(fn_cxt);
	{
		/* drift: does the live schema differ from the recorded one? */
		bool		recorded;
		List	   *drift = migr_drift_rows(&recorded);
		size_t		len = strlen(json);

		MemoryContextSwitchTo(fn_cxt);
		Assert(len > 0 && json[len - 1] == '}');
		json[len - 1] = '\0';
		json = psprintf("%s, \"drift\": %s}", json,
						!recorded ? "null" : drift != NIL ? "true" : "false");
	}
	result = DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
	SPI_finish();
	PG_RETURN_DATUM(result);
}
