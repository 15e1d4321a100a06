/*-------------------------------------------------------------------------
 *
 * adopt.c
 *		What another migration tool says a live database has applied, as
 *		migr revisions: the reading half of migr_adopt().
 *
 * A database migrated by Alembic, Flyway, golang-migrate, dbmate, Diesel or
 * Sqitch keeps that tool's version table.  bin/migr-import turned the
 * tool's migrations into migr files, naming each revision after the
 * original version (migr_adopt_revision_id() is the same rule as the
 * importer's); here the version table is read, with the caller's
 * privileges and never as the extension owner, and turned into the set of
 * revisions that must be marked applied.  Refused: a table in a state the
 * tool itself would not go on from (golang-migrate's dirty flag, a failed
 * Flyway migration), an applied version without an imported revision, and
 * an applied set with holes (a later version applied, an earlier one not),
 * since migr's history applies them in order.  runner.c's migr_adopt()
 * then stamps the set.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/varlena.h"

#include "migr.h"

/* The tools, their default version tables and their id prefixes. */
typedef struct ToolInfo
{
	MigrTool	tool;
	const char *name;
	const char *default_table;
} ToolInfo;

static const ToolInfo tools[] = {
	{MIGR_TOOL_ALEMBIC, "alembic", "alembic_version"},
	{MIGR_TOOL_FLYWAY, "flyway", "flyway_schema_history"},
	{MIGR_TOOL_GOLANG_MIGRATE, "golang-migrate", "schema_migrations"},
	{MIGR_TOOL_DBMATE, "dbmate", "schema_migrations"},
	{MIGR_TOOL_DIESEL, "diesel", "__diesel_schema_migrations"},
	{MIGR_TOOL_SQITCH, "sqitch", "sqitch.changes"},
};

/* What the error context of a read names. */
typedef struct ReadContext
{
	const char *tool;
	const char *table;
} ReadContext;

static void
read_error_callback(void *arg)
{
	ReadContext *ctx = (ReadContext *) arg;

	errcontext("reading the version table %s of %s", ctx->table, ctx->tool);
}

/* Append "s" with leading zeros dropped (one zero stays for "0", "00"). */
static void
append_without_zeros(StringInfo buf, const char *s, int len)
{
	int			i = 0;

	while (i < len - 1 && s[i] == '0')
		i++;
	appendBinaryStringInfo(buf, s + i, len - i);
}

/*
 * The revision id bin/migr-import gives the migration of "version" of
 * "tool" (README, "Importing from other tools"):
 *	alembic			the revision id itself
 *	flyway			"V" and the version's parts (split at "." and "_",
 *					leading zeros dropped) joined by "_": 1.10 -> V1_10
 *	golang-migrate	"v" and the version, leading zeros dropped: v20240101
 *	dbmate			"v" and the version as written
 *	diesel			"v" and the version without "-"
 *	sqitch			the change's name
 * and in each, any character other than A-Z, a-z, 0-9 and "_" becomes "_".
 */
char *
migr_adopt_revision_id(MigrTool tool, const char *version)
{
	StringInfoData buf;

	initStringInfo(&buf);
	switch (tool)
	{
		case MIGR_TOOL_ALEMBIC:
		case MIGR_TOOL_SQITCH:
			appendStringInfoString(&buf, version);
			break;
		case MIGR_TOOL_FLYWAY:
			{
				const char *p = version;

				appendStringInfoChar(&buf, 'V');
				for (;;)
				{
					int			len = strcspn(p, "._");

					append_without_zeros(&buf, p, len);
					if (p[len] == '\0')
						break;
					appendStringInfoChar(&buf, '_');
					p += len + 1;
				}
				break;
			}
		case MIGR_TOOL_GOLANG_MIGRATE:
			appendStringInfoChar(&buf, 'v');
			append_without_zeros(&buf, version, strlen(version));
			break;
		case MIGR_TOOL_DBMATE:
			appendStringInfoChar(&buf, 'v');
			appendStringInfoString(&buf, version);
			break;
		case MIGR_TOOL_DIESEL:
			appendStringInfoChar(&buf, 'v');
			for (const char *p = version; *p; p++)
				if (*p != '-')
					appendStringInfoChar(&buf, *p);
			break;
	}
	for (int i = 0; i < buf.len; i++)
	{
		char		c = buf.data[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (c >= '0' && c <= '9') || c == '_'))
			buf.data[i] = '_';
	}
	return buf.data;
}

/* The tool named "name"; an error listing the tools otherwise. */
static const ToolInfo *
find_tool(const char *name)
{
	for (size_t i = 0; i < lengthof(tools); i++)
		if (strcmp(tools[i].name, name) == 0)
			return &tools[i];
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown migration tool \"%s\"", name),
			 errhint("Use alembic, flyway, golang-migrate, dbmate, diesel or sqitch.")));
	return NULL;				/* not reached */
}

/*
 * The relation "name" (qualified or not, as SQL writes it) names, on the
 * caller's search_path, as a quoted qualified name for a query.
 */
static char *
quoted_table(const char *name)
{
	List	   *names = stringToQualifiedNameList(name);
	RangeVar   *rv = makeRangeVarFromNameList(names);
	Oid			relid = RangeVarGetRelid(rv, NoLock, true);

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("version table \"%s\" does not exist", name),
				 errhint("Name the table the previous tool keeps its versions in as the second argument, schema-qualified if it is not on the search_path.")));
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/* The query that reads a tool's table; its first column is the version. */
static char *
version_query(MigrTool tool, const char *table)
{
	switch (tool)
	{
		case MIGR_TOOL_ALEMBIC:
			return psprintf("SELECT CAST(version_num AS pg_catalog.text) FROM %s", table);
		case MIGR_TOOL_FLYWAY:
			return psprintf("SELECT CAST(version AS pg_catalog.text), CAST(type AS pg_catalog.text),"
							" success, CAST(script AS pg_catalog.text)"
							" FROM %s ORDER BY installed_rank", table);
		case MIGR_TOOL_GOLANG_MIGRATE:
			return psprintf("SELECT CAST(version AS pg_catalog.text), dirty FROM %s", table);
		case MIGR_TOOL_DBMATE:
		case MIGR_TOOL_DIESEL:
			return psprintf("SELECT CAST(version AS pg_catalog.text) FROM %s", table);
		case MIGR_TOOL_SQITCH:
			return psprintf("SELECT CAST(change AS pg_catalog.text) FROM %s", table);
	}
	return NULL;				/* not reached */
}

/* Add (or, "remove", take out) the entry of "version" in "a". */
static void
note_version(MigrAdoption *a, const char *version, bool tip, bool remove)
{
	ListCell   *lc;

	foreach(lc, a->entries)
	{
		MigrAdoptedVersion *e = lfirst(lc);

		if (strcmp(e->version, version) == 0)
		{
			if (remove)
				a->entries = foreach_delete_current(a->entries, lc);
			else
				e->tip |= tip;
			return;
		}
	}
	if (!remove)
	{
		MigrAdoptedVersion *e = palloc(sizeof(MigrAdoptedVersion));

		e->version = pstrdup(version);
		e->id = migr_adopt_revision_id(a->tool, version);
		e->tip = tip;
		a->entries = lappend(a->entries, e);
	}
}

/*
 * One Flyway row, in installed_rank order.  A failed row refuses; undo rows
 * take their version out again; a baseline row stands for its version and
 * everything below it; the schema-creation row and repeatable migrations
 * (no version) are not versions.
 */
static void
flyway_row(MigrAdoption *a, int row)
{
	char	   *version = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, 1);
	char	   *type = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, 2);
	char	   *script = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, 4);
	bool		isnull;
	bool		success = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[row],
													 SPI_tuptable->tupdesc, 3, &isnull));

	if (!isnull && !success)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("flyway_schema_history records a failed migration"),
				 errdetail("Version %s (%s) has success = false: the database may hold part of it.",
						   version ? version : "(none)", script ? script : "no script"),
				 errhint("Fix the database by hand and run \"flyway repair\" (or delete the failed row), then adopt again.")));
	if (version == NULL)
	{
		a->skipped++;
		return;
	}
	if (type != NULL && strcmp(type, "SCHEMA") == 0)
		return;
	if (type != NULL && strcmp(type, "DELETE") == 0)
		return;
	if (type != NULL && strncmp(type, "UNDO", 4) == 0)
	{
		note_version(a, version, false, true);
		return;
	}
	note_version(a, version, type != NULL && strcmp(type, "BASELINE") == 0, false);
}

/*
 * Read the version table of "tool_name" ("table", or the tool's own when
 * NULL) with the caller's privileges: what the tool says is applied.  Call
 * with SPI connected and without switching to the extension owner; what
 * is returned lives in the memory that was current before SPI_connect
 * ("cxt").
 */
MigrAdoption *
migr_adopt_read(const char *tool_name, const char *table, MemoryContext cxt)
{
	const ToolInfo *info = find_tool(tool_name);
	MigrAdoption *a;
	ErrorContextCallback errcallback;
	ReadContext ctx;
	char	   *quoted;
	MemoryContext old;

	old = MemoryContextSwitchTo(cxt);
	a = palloc0(sizeof(MigrAdoption));
	a->tool = info->tool;
	a->tool_name = info->name;
	MemoryContextSwitchTo(old);

	ctx.tool = info->name;
	ctx.table = table ? table : info->default_table;
	errcallback.callback = read_error_callback;
	errcallback.arg = &ctx;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	quoted = quoted_table(ctx.table);
	ctx.table = quoted;
	if (SPI_execute(version_query(info->tool, quoted), true, 0) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed reading %s", quoted);

	old = MemoryContextSwitchTo(cxt);
	a->table = pstrdup(quoted);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *version = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		bool		isnull;

		switch (info->tool)
		{
			case MIGR_TOOL_FLYWAY:
				flyway_row(a, i);
				break;
			case MIGR_TOOL_GOLANG_MIGRATE:
				if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i],
											   SPI_tuptable->tupdesc, 2, &isnull)) && !isnull)
					ereport(ERROR,
							(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
							 errmsg("schema_migrations is dirty at version %s", version),
							 errdetail("golang-migrate marks a version dirty when its migration failed part way: the database may hold part of it."),
							 errhint("Fix the database by hand and clear the flag with \"migrate force VERSION\", then adopt again.")));
				/* golang-migrate keeps one row: the last version applied. */
				if (version != NULL)
					note_version(a, version, true, false);
				break;
			case MIGR_TOOL_ALEMBIC:
				/* One row per head: each stands for what it needs. */
				if (version != NULL)
					note_version(a, version, true, false);
				break;
			default:
				if (version != NULL)
					note_version(a, version, false, false);
				break;
		}
	}
	MemoryContextSwitchTo(old);
	error_context_stack = errcallback.previous;
	if (a->skipped > 0)
		ereport(NOTICE,
				(errmsg("%d repeatable migrations of %s are not adopted", a->skipped, a->table),
				 errdetail("migr has no repeatable migrations; bin/migr-import does not import R__ files either.")));
	return a;
}

/*
 * The revisions to stamp for adoption "a": the applied set's tips.  Checks
 * that every version has a revision, that the set has no holes, and that
 * migr records nothing as applied that the tool does not.  Call inside an
 * owner scope with the graph loaded.
 */
List *
migr_adopt_targets(const MigrGraph *graph, const MigrAdoption *a)
{
	Bitmapset  *listed = NULL;
	Bitmapset  *tips = NULL;
	Bitmapset  *wanted;
	Bitmapset  *below;
	List	   *needed = NIL;
	List	   *result = NIL;
	ListCell   *lc;
	int			n;

	foreach(lc, a->entries)
	{
		MigrAdoptedVersion *e = lfirst(lc);
		int			node = migr_graph_find(graph, e->id);

		if (node < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("version \"%s\" applied by %s has no revision \"%s\"",
							e->version, a->tool_name, e->id),
					 errdetail("%s lists the version as applied, but no revision of that id is registered.",
							   a->table),
					 errhint("Import the tool's migrations with bin/migr-import and load them with bin/migr-load first.")));
		listed = bms_add_member(listed, node);
		if (e->tip)
			tips = bms_add_member(tips, node);
	}

	/* Tips stand for what they need; other versions only for themselves. */
	n = -1;
	wanted = bms_copy(listed);
	while ((n = bms_next_member(tips, n)) >= 0)
		wanted = bms_add_members(wanted,
								 migr_graph_ancestors(graph, list_make1_int(n)));

	/* No holes: what an applied revision needs is applied. */
	n = -1;
	while ((n = bms_next_member(wanted, n)) >= 0)
	{
		const MigrNode *node = &graph->nodes[n];
		List	   *needs = NIL;

		for (int i = 0; i < node->nparents; i++)
			needs = lappend_int(needs, node->parents[i]);
		for (int i = 0; i < node->ndeps; i++)
			needs = lappend_int(needs, node->deps[i]);
		foreach(lc, needs)
		{
			int			need = lfirst_int(lc);

			if (!bms_is_member(need, wanted))
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("%s has applied revision \"%s\" but not revision \"%s\", which it needs",
								a->tool_name, node->id, graph->nodes[need].id),
						 errdetail("%s lists \"%s\" as applied and has no row for \"%s\"; migr applies a revision only after what it needs.",
								   a->table, node->id, graph->nodes[need].id),
						 errhint("Apply the missing migration with %s first, or mark the state by hand with migr_stamp().",
								 a->tool_name)));
			needed = lappend_int(needed, need);
		}
	}
	/* What some adopted revision needs is not a tip. */
	below = migr_graph_ancestors(graph, needed);

	/* Adoption only adds: migr must not know of more than the tool. */
	for (int i = 0; i < graph->nnodes; i++)
		if (graph->nodes[i].applied && !bms_is_member(i, wanted))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("revision \"%s\" is applied in migr but not according to %s",
							graph->nodes[i].id, a->tool_name),
					 errdetail("%s does not list it; adoption only marks what the previous tool applied.",
							   a->table),
					 errhint("Check which of the two records is right, and use migr_stamp() or migr_downgrade() to make migr's agree.")));

	n = -1;
	while ((n = bms_next_member(wanted, n)) >= 0)
		if (!bms_is_member(n, below))
			result = lappend(result, graph->nodes[n].id);
	return result;
}
