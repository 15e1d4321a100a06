/*-------------------------------------------------------------------------
 *
 * citus.c
 *		Where this database stands in a Citus cluster: on the coordinator,
 *		where migr keeps the history and runs migrations, or on a worker,
 *		which only receives the DDL that Citus propagates to its shards.
 *
 * migr does not link with Citus: it reads Citus's metadata tables, which
 * every role may read (pg_dist_local_group: this node's group, 0 on the
 * coordinator; pg_dist_node: where the coordinator is), once per
 * transaction, and only in a database where the citus extension exists.
 *
 * Three things depend on it:
 *		- every migr function that changes the catalog refuses to run on a
 *		  worker (MG007): a worker's migr catalog is not the cluster's history;
 *		- the reading functions say, on a worker, where the history lives;
 *		- the production DDL guard of a worker lets through the DDL that
 *		  Citus sends from the coordinator (see migr_citus_propagated_ddl()).
 * And on every node the production guard refuses, outside migrations, the
 * calls of Citus's functions that change tables or shards
 * (create_distributed_table() and the like): they are schema changes that
 * no event trigger sees where they are called.
 *
 * How a worker tells DDL propagated from the coordinator from ad-hoc DDL.
 * Citus opens its connections to workers with application_name
 * "citus_internal gpid=N", logged in as the role that runs the command on
 * the coordinator (the role a migration step runs as) or as the citus
 * extension's owner.  application_name is a setting anyone may set, so on
 * its own it proves nothing.  A worker therefore lets DDL through only
 * when both hold:
 *		- the session says it is Citus's internal connection, and
 *		- its login role (session_user, which only authentication or a
 *		  superuser's SET SESSION AUTHORIZATION decides) may run migrations:
 *		  a superuser, or a role with EXECUTE on migr_upgrade(text, boolean)
 *		  in this database, the rule migr_status() uses for the same
 *		  question.
 * An application role that forges the application name is still refused:
 * it may not run migrations.  What this cannot tell apart is a role that
 * may run migrations connecting to a worker directly under Citus's name;
 * README's "Citus clusters" says how pg_hba.conf keeps such roles to the
 * coordinator's address.  On the coordinator nothing changes: there the
 * guard lets through only what migr runs, and Citus propagates a statement
 * only after the coordinator's own guard let it run.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "migr.h"

/*
 * Citus's functions that create, change or drop tables or shards, called
 * as functions (SELECT create_distributed_table(...)): no event trigger
 * sees them on the node where they are called.  Sorted, for bsearch.
 */
static const char *const schema_functions[] = {
	"alter_distributed_table",
	"alter_old_partitions_set_access_method",
	"alter_table_set_access_method",
	"citus_add_local_table_to_metadata",
	"citus_schema_distribute",
	"citus_schema_undistribute",
	"create_distributed_function",
	"create_distributed_table",
	"create_distributed_table_concurrently",
	"create_reference_table",
	"create_time_partitions",
	"drop_old_time_partitions",
	"remove_local_tables_from_metadata",
	"undistribute_table",
	"update_distributed_table_colocation",
};

/* What Citus puts in application_name on its connections between nodes. */
#define CITUS_INTERNAL_PREFIX	"citus_internal gpid="

/* This node, as read in the transaction "lxid" (0: not read yet). */
static LocalTransactionId node_lxid = InvalidLocalTransactionId;
static MigrCitusNode node_kind = MIGR_CITUS_NONE;
static int	node_group = 0;
static char *node_coordinator = NULL;	/* in TopTransactionContext */

/* The statement whose call was already told where the history lives. */
static LocalTransactionId noted_lxid = InvalidLocalTransactionId;
static TimestampTz noted_statement = 0;

#define NODE_SQL \
	"SELECT g.groupid," \
	"       (SELECT n.nodename || ':' || n.nodeport" \
	"          FROM pg_catalog.pg_dist_node n" \
	"         WHERE n.groupid OPERATOR(pg_catalog.=) 0" \
	"           AND n.noderole::text OPERATOR(pg_catalog.=) 'primary'" \
	"         ORDER BY n.nodeid LIMIT 1)" \
	"  FROM pg_catalog.pg_dist_local_group g"

/* Read this node's place from Citus's metadata. */
static void
read_node(void)
{
	bool		isnull;
	Datum		d;

	node_kind = MIGR_CITUS_NONE;
	node_group = 0;
	node_coordinator = NULL;

	if (!OidIsValid(get_extension_oid("citus", true)))
		return;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(NODE_SQL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read Citus's pg_dist_local_group");
	if (SPI_processed == 1)
	{
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
						  &isnull);
		node_group = isnull ? 0 : DatumGetInt32(d);
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2,
						  &isnull);
		if (!isnull)
			node_coordinator = MemoryContextStrdup(TopTransactionContext,
												   TextDatumGetCString(d));
	}
	SPI_finish();

	node_kind = node_group > 0 ? MIGR_CITUS_WORKER : MIGR_CITUS_COORDINATOR;
}

/*
 * Where this database stands in a Citus cluster: MIGR_CITUS_NONE without
 * Citus, MIGR_CITUS_COORDINATOR (also a Citus node that is in no cluster
 * yet), or MIGR_CITUS_WORKER.  "group" gets the node's group (0 on the
 * coordinator), "coordinator" "host:port" of the coordinator when Citus's
 * metadata on this node knows it, else NULL.  Either may be NULL.  Read
 * once per transaction.
 */
MigrCitusNode
migr_citus_node(int *group, const char **coordinator)
{
	if (node_lxid != MyProc->lxid || node_lxid == InvalidLocalTransactionId)
	{
		read_node();
		node_lxid = MyProc->lxid;
	}
	if (group != NULL)
		*group = node_group;
	if (coordinator != NULL)
		*coordinator = node_coordinator;
	return node_kind;
}

/* "the coordinator (host:port)", or "the coordinator" when unknown here. */
static char *
coordinator_phrase(const char *coordinator)
{
	if (coordinator == NULL)
		return pstrdup("the coordinator");
	return psprintf("the coordinator (%s)", coordinator);
}

/*
 * Refuse to run the SQL function "fcinfo" calls (a migr function that
 * changes the catalog) on a Citus worker, before it does anything: the
 * history of the cluster lives on the coordinator, and a migration run on
 * a worker would change its shards alone.
 */
void
migr_citus_refuse_on_worker(FunctionCallInfo fcinfo)
{
	int			group;
	const char *coordinator;
	const char *function = NULL;

	if (migr_citus_node(&group, &coordinator) != MIGR_CITUS_WORKER)
		return;
	if (fcinfo->flinfo != NULL && OidIsValid(fcinfo->flinfo->fn_oid))
		function = get_func_name(fcinfo->flinfo->fn_oid);
	if (function == NULL)
		function = "this migr function";
	ereport(ERROR,
			(errcode(ERRCODE_MIGR_CITUS_WORKER),
			 errmsg("%s cannot run on a Citus worker node", function),
			 errdetail("This database is on a worker of a Citus cluster (node group %d). The cluster's migration history lives on %s, and migrations run there: Citus sends their DDL to the shards on the workers.",
					   group, coordinator_phrase(coordinator)),
			 errhint("Connect to the coordinator and run it there.")));
}

/*
 * On a Citus worker, tell the caller of a reading function (once per
 * statement) that the history it reads is not here.
 */
void
migr_citus_note_on_worker(void)
{
	const char *coordinator;

	if (migr_citus_node(NULL, &coordinator) != MIGR_CITUS_WORKER)
		return;
	if (noted_lxid == MyProc->lxid &&
		noted_statement == GetCurrentStatementStartTimestamp())
		return;
	noted_lxid = MyProc->lxid;
	noted_statement = GetCurrentStatementStartTimestamp();
	ereport(NOTICE,
			(errmsg("this is a Citus worker node: migr's history lives on %s",
					coordinator_phrase(coordinator)),
			 errdetail("Migrations run on the coordinator; the migr catalog of a worker stays empty."),
			 errhint("Connect to the coordinator to read or change the migration history.")));
}

/* The schema of the migr extension, or InvalidOid. */
static Oid
migr_schema(void)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			schema = InvalidOid;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum("migr"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		schema = ((Form_pg_extension) GETSTRUCT(tuple))->extnamespace;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return schema;
}

/*
 * May "role" run migrations in this database: a superuser, or a role with
 * EXECUTE on migr_upgrade(text, boolean) in the extension's schema?
 */
static bool
may_run_migrations(Oid role)
{
	Oid			schema;
	Oid			argtypes[2] = {TEXTOID, BOOLOID};
	Oid			upgrade;
	char	   *schema_name;
	List	   *name;

	if (superuser_arg(role))
		return true;
	schema = migr_schema();
	schema_name = OidIsValid(schema) ? get_namespace_name(schema) : NULL;
	if (schema_name == NULL)
		return false;

	/*
	 * the two names built in two statements: list_make2's order is
	 * unspecified
	 */
	name = list_make1(makeString(schema_name));
	name = lappend(name, makeString("migr_upgrade"));
	upgrade = LookupFuncName(name, 2, argtypes, true);
	return OidIsValid(upgrade) &&
		pg_proc_aclcheck(upgrade, role, ACL_EXECUTE) == ACLCHECK_OK;
}

/* Does application_name say this is Citus's internal connection? */
static bool
citus_internal_connection(void)
{
	const char *p;

	if (application_name == NULL ||
		strncmp(application_name, CITUS_INTERNAL_PREFIX,
				strlen(CITUS_INTERNAL_PREFIX)) != 0)
		return false;
	p = application_name + strlen(CITUS_INTERNAL_PREFIX);
	if (*p == '\0')
		return false;
	for (; *p != '\0'; p++)
	{
		if (!isdigit((unsigned char) *p))
			return false;
	}
	return true;
}

/*
 * Is the DDL statement running now one that Citus propagates from the
 * coordinator to this worker: does this session present itself as Citus's
 * internal connection, on a worker, logged in as a role that may run
 * migrations?  See the file header for why each part is needed.
 */
bool
migr_citus_propagated_ddl(void)
{
	if (!citus_internal_connection())
		return false;
	if (migr_citus_node(NULL, NULL) != MIGR_CITUS_WORKER)
		return false;
	return may_run_migrations(GetSessionUserId());
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/*
 * Is "fn_oid" one of Citus's functions that change tables or shards
 * (schema_functions above, in pg_catalog, belonging to the citus
 * extension)?  The production guard refuses their calls outside a
 * migration, as it refuses DDL.
 */
bool
migr_citus_schema_function(Oid fn_oid)
{
	char	   *name = get_func_name(fn_oid);
	Oid			citus;
	bool		listed;

	if (name == NULL)
		return false;
	listed = bsearch(&name, schema_functions, lengthof(schema_functions),
					 sizeof(char *), compare_names) != NULL;
	pfree(name);
	if (!listed)
		return false;
	if (get_func_namespace(fn_oid) != PG_CATALOG_NAMESPACE)
		return false;
	citus = get_extension_oid("citus", true);
	return OidIsValid(citus) &&
		getExtensionOfObject(ProcedureRelationId, fn_oid) == citus;
}
