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
	"     WHERE a.checksum <> migr.script_checksum(r.upgrade, r.downgrade))," \
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
 * The warnings about logical replication of migr's tables, as a text[].
 * Logical replication carries rows, not DDL: a subscriber that receives
 * migr's rows records revisions whose statements never ran there.
 */
static Datum
replication_warnings(void)
{
	List	   *sentences = NIL;
	ListCell   *lc;
	Datum	   *elems;
	int			n = 0;

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
	elems = palloc(sizeof(Datum) * Max(list_length(sentences), 1));
	foreach(lc, sentences)
		elems[n++] = CStringGetTextDatum((char *) lfirst(lc));
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
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
	Oid			types[14] = {TEXTOID, BOOLOID, INT4OID, BOOLOID, BOOLOID, INT4OID, INT4OID,
	BOOLOID, INT4OID, BOOLOID, TEXTARRAYOID, TEXTOID, INT4OID, TEXTOID};
	Datum		values[14];
	char		nulls[14];
	MigrCitusNode node;
	int			group;
	const char *coordinator;
	bool		details = may_see_details(fcinfo);
	char	   *json;
	Datum		result;

	node = migr_citus_node(&group, &coordinator);
	migr_catalog_open(&scope);

	graph = migr_graph_load();
	pending = migr_graph_ancestors(graph, migr_graph_heads(graph));
	pending = bms_del_members(pending, migr_graph_applied(graph));

	values[0] = CStringGetTextDatum(migr_environment_name());
	values[1] = BoolGetDatum(migr_confirm_production);
	values[2] = Int32GetDatum(bms_num_members(pending));
	values[3] = BoolGetDatum(migr_allow_adhoc_ddl);
	values[4] = BoolGetDatum(migr_allow_destructive);
	values[5] = Int32GetDatum(migr_lock_timeout);
	values[6] = Int32GetDatum(migr_statement_timeout);
	values[7] = BoolGetDatum(migr_loaded_at_start());
	values[8] = Int32GetDatum(migr_lock_step_holder());
	values[9] = BoolGetDatum(details);
	values[10] = replication_warnings();
	memset(nulls, ' ', sizeof(nulls));
	values[11] = CStringGetTextDatum(node == MIGR_CITUS_WORKER ? "worker" : "coordinator");
	values[12] = Int32GetDatum(group);
	values[13] = coordinator ? CStringGetTextDatum(coordinator) : (Datum) 0;
	if (node == MIGR_CITUS_NONE)
		nulls[11] = nulls[12] = nulls[13] = 'n';
	else if (coordinator == NULL)
		nulls[13] = 'n';
	migr_catalog_exec(STATUS_SQL, 14, types, values, nulls, SPI_OK_SELECT);
	json = migr_result_text(0, 1);

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
