/*-------------------------------------------------------------------------
 *
 * register.c
 *		migr_revision(): store a migration in the catalog.
 *
 * Everything is checked before anything is stored: the id, the parents,
 * and both scripts (parsed by the server's parser).  Registering the
 * identical revision again is a no-op; a revision that was never applied
 * may be registered again with other scripts, message or parents.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/string.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "migr.h"

PG_FUNCTION_INFO_V1(migr_revision);

/* A fresh random id of MIGR_GENERATED_ID_LEN hexadecimal digits. */
static char *
generate_revision_id(void)
{
	uint8		bytes[MIGR_GENERATED_ID_LEN / 2];
	char	   *id = palloc(MIGR_GENERATED_ID_LEN + 1);

	for (;;)
	{
		if (!pg_strong_random(bytes, sizeof(bytes)))
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate a random revision id")));
		for (int i = 0; i < (int) sizeof(bytes); i++)
			snprintf(id + i * 2, 3, "%02x", bytes[i]);
		if (migr_catalog_revision_exists(id) == NULL)
			return id;
	}
}

static bool
lists_equal(List *a, List *b)
{
	ListCell   *la;
	ListCell   *lb;

	if (list_length(a) != list_length(b))
		return false;
	forboth(la, a, lb, b)
		if (strcmp((char *) lfirst(la), (char *) lfirst(lb)) != 0)
		return false;
	return true;
}

static bool
strings_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/*
 * Resolve the down_revision argument to full ids: each entry is an id or a
 * unique prefix of one; no duplicates, no self-reference.
 */
static List *
resolve_parents(ArrayType *array, const char *id)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *parents = NIL;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("down_revision must be a one-dimensional array")));
	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		char	   *name;
		ListCell   *lc;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("down_revision must not contain NULL")));
		name = TextDatumGetCString(elems[i]);
		if (strcmp(name, id) != 0)
			name = migr_resolve_revision_id(name);
		if (strcmp(name, id) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_RECURSION),
					 errmsg("revision %s cannot be its own parent", id)));
		foreach(lc, parents)
			if (strcmp((char *) lfirst(lc), name) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("down_revision names revision %s twice", name)));
		parents = lappend(parents, name);
	}
	return parents;
}

/*
 * The parents of a new revision registered without down_revision: the
 * graph's single head, or none for the first revision.
 */
static List *
default_parents(void)
{
	List	   *applied;
	List	   *heads = migr_catalog_graph_heads(&applied);

	if (list_length(heads) > 1)
	{
		StringInfoData buf;
		ListCell   *lc;

		initStringInfo(&buf);
		foreach(lc, heads)
			appendStringInfo(&buf, "%s%s", buf.len ? ", " : "", (char *) lfirst(lc));
		ereport(ERROR,
				(errcode(ERRCODE_AMBIGUOUS_PARAMETER),
				 errmsg("cannot choose a parent: the revision graph has %d heads",
						list_length(heads)),
				 errdetail("The heads are %s.", buf.data),
				 errhint("Pass down_revision explicitly, for example down_revision => '{%s}'.",
						 (char *) linitial(heads))));
	}
	return heads;
}

/*
 * Refuse new parents that would put "id" below one of its own descendants.
 */
static void
check_no_cycle(const char *id, List *parents)
{
	MigrGraph  *graph = migr_graph_load();
	int			self = migr_graph_find(graph, id);
	Bitmapset  *below;
	ListCell   *lc;

	below = migr_graph_descendants(graph, list_make1_int(self));
	foreach(lc, parents)
	{
		int			p = migr_graph_find(graph, (char *) lfirst(lc));

		if (bms_is_member(p, below))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_RECURSION),
					 errmsg("revision %s cannot have %s as parent: that would make a cycle",
							id, (char *) lfirst(lc)),
					 errdetail("%s descends from %s.", (char *) lfirst(lc), id)));
	}
}

/*
 * migr_revision(message, upgrade, downgrade, revision, down_revision)
 */
Datum
migr_revision(PG_FUNCTION_ARGS)
{
	MigrRevisionRow row = {0};
	MigrRevisionRow *existing;
	MigrCaller	caller;
	MigrOwnerScope scope;
	List	   *statements;

	migr_check_not_nested();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("message must not be NULL"),
				 errhint("Describe the change in a few words, as in a commit message.")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("upgrade script must not be NULL")));

	row.message = text_to_cstring(PG_GETARG_TEXT_PP(0));
	row.upgrade = text_to_cstring(PG_GETARG_TEXT_PP(1));
	row.downgrade = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (!PG_ARGISNULL(3))
	{
		row.id = text_to_cstring(PG_GETARG_TEXT_PP(3));
		migr_check_revision_id(row.id);
	}

	migr_capture_caller(&caller);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	migr_owner_begin(&scope);
	migr_lock_acquire("registering a revision");

	if (row.id == NULL)
		row.id = generate_revision_id();

	/* Scripts: must parse, no psql meta-commands, no transaction control. */
	statements = migr_parse_script(row.upgrade, row.id, "upgrade");
	if (statements == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("upgrade script of revision %s contains no statement", row.id),
				 errhint("A migration must change something.")));
	if (row.downgrade != NULL)
		(void) migr_parse_script(row.downgrade, row.id, "downgrade");
	row.checksum = migr_checksum(row.upgrade, row.downgrade);

	existing = migr_catalog_fetch_revision(row.id);

	/* Parents. */
	if (!PG_ARGISNULL(4))
		row.parents = resolve_parents(PG_GETARG_ARRAYTYPE_P(4), row.id);
	else if (existing != NULL)
		row.parents = existing->parents;
	else
		row.parents = default_parents();

	if (existing == NULL)
		migr_catalog_insert_revision(&row, &caller);
	else if (strcmp(existing->checksum, row.checksum) == 0 &&
			 strings_equal(existing->message, row.message) &&
			 lists_equal(existing->parents, row.parents))
	{
		/* Identical: nothing to do. */
	}
	else
	{
		if (migr_catalog_was_ever_applied(row.id))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("revision %s has already been applied and cannot be changed",
							row.id),
					 errdetail("The database ran the registered version of this revision; changing it would make the history lie."),
					 errhint("Register a new revision that makes the further change.")));
		if (!lists_equal(existing->parents, row.parents))
			check_no_cycle(row.id, row.parents);
		migr_catalog_update_revision(&row, existing->parents);
	}

	migr_owner_end(&scope);
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(row.id));
}
