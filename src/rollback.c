/*-------------------------------------------------------------------------
 *
 * rollback.c
 *		migr_check_head() and migr_rollback_check(): is it safe to run code
 *		that expects the schema at some revision?
 *
 * A build records the head it was made for; before an older build is put
 * back, the database is compared with that head.  "Ahead" revisions are
 * applied but not expected; "behind" ones are expected but not applied.
 * The old code works on a database that is only ahead by additive
 * (backward compatible) revisions: computed from the scripts by the
 * server's parser at registration, not taken on trust.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "migr.h"

PG_FUNCTION_INFO_V1(migr_check_head);
PG_FUNCTION_INFO_V1(migr_rollback_check);

/* One revision between the database and the expected head. */
typedef struct Difference
{
	char	   *revision;
	char	   *message;
	bool		ahead;			/* applied, not expected (else the reverse) */
	bool		compatible;
	char	   *reason;
} Difference;

/* The statements of "statements" (char *), joined by "; ". */
static char *
join_statements(List *statements)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, statements)
		appendStringInfo(&buf, "%s%s", buf.len > 0 ? "; " : "",
						 (char *) lfirst(lc));
	return buf.data;
}

/*
 * Compare the database with "expected" (a target): the revisions ahead
 * (newest first), then those behind (oldest first).  Call inside an owner
 * scope.
 */
static List *
differences(const char *expected)
{
	MigrGraph  *graph = migr_graph_load();
	MigrPosition *pos = migr_resolve_target(graph, expected, MIGR_TARGET_FOR_RANGE);
	Bitmapset  *wanted = migr_graph_wanted(graph, pos);
	Bitmapset  *applied = migr_graph_applied(graph);
	List	   *ahead = migr_graph_order(graph, bms_difference(applied, wanted), true);
	List	   *behind = migr_graph_order(graph, bms_difference(wanted, applied), false);
	List	   *all = list_concat_copy(ahead, behind);
	List	   *result = NIL;
	const char **id_array;
	MigrRevisionRow **rows;
	int			n;
	ListCell   *lc;

	if (all == NIL)
		return NIL;
	n = list_length(all);
	id_array = palloc(sizeof(char *) * n);
	rows = palloc(sizeof(MigrRevisionRow *) * n);
	foreach(lc, all)
		id_array[foreach_current_index(lc)] = graph->nodes[lfirst_int(lc)].id;
	migr_catalog_fetch_revisions(id_array, n, rows);

	for (int i = 0; i < n; i++)
	{
		Difference *d;
		const char *changes;

		if (rows[i] == NULL)
			continue;
		d = palloc0(sizeof(Difference));
		changes = rows[i]->changes;
		d->revision = rows[i]->id;
		d->message = rows[i]->message;
		d->ahead = i < list_length(ahead);
		if (!d->ahead)
		{
			d->compatible = false;
			d->reason = "not applied: code made for the expected head needs it";
		}
		else if (strcmp(changes, "additive") == 0)
		{
			d->compatible = true;
			d->reason = "additive: code made for the expected head does not use what it adds";
		}
		else
		{
			d->compatible = false;
			d->reason = psprintf("%s: %s", changes,
								 join_statements(rows[i]->destructive_statements));
		}
		result = lappend(result, d);
	}
	return result;
}

/*
 * migr_rollback_check(expected): the revisions between the database and
 * "expected", each with its verdict and the reason for it.
 */
Datum
migr_rollback_check(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo;
	MigrOwnerScope scope;
	ListCell   *lc;

	migr_citus_note_on_worker();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("expected head must not be NULL")));
	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	migr_catalog_open(&scope);

	foreach(lc, differences(text_to_cstring(PG_GETARG_TEXT_PP(0))))
	{
		Difference *d = lfirst(lc);
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = CStringGetTextDatum(d->revision);
		values[1] = CStringGetTextDatum(d->message);
		values[2] = CStringGetTextDatum(d->ahead ? "applied, not expected"
										: "expected, not applied");
		values[3] = BoolGetDatum(d->compatible);
		values[4] = CStringGetTextDatum(d->reason);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	migr_owner_end(&scope);
	SPI_finish();
	return (Datum) 0;
}

/*
 * migr_check_head(expected, allow_compatible): true when the database is
 * exactly at "expected" or, with allow_compatible, ahead of it by additive
 * revisions only; otherwise a "migration mismatch" error that lists the
 * revisions between and says which call lines them up.
 */
Datum
migr_check_head(PG_FUNCTION_ARGS)
{
	MigrOwnerScope scope;
	char	   *expected;
	bool		allow_compatible;
	List	   *diffs;
	StringInfoData ahead;
	StringInfoData behind;
	bool		all_compatible = true;
	ListCell   *lc;

	migr_citus_note_on_worker();
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("expected head and allow_compatible must not be NULL")));
	expected = text_to_cstring(PG_GETARG_TEXT_PP(0));
	allow_compatible = PG_GETARG_BOOL(1);

	migr_catalog_open(&scope);
	diffs = differences(expected);

	initStringInfo(&ahead);
	initStringInfo(&behind);
	foreach(lc, diffs)
	{
		Difference *d = lfirst(lc);
		StringInfo	buf = d->ahead ? &ahead : &behind;

		appendStringInfo(buf, "%s\"%s\" (%s)", buf->len ? ", " : "", d->revision,
						 d->ahead ? (d->compatible ? "additive" : "not additive")
						 : "not applied");
		all_compatible &= d->compatible;
	}

	if (diffs != NIL && !(allow_compatible && all_compatible))
	{
		StringInfoData detail;

		initStringInfo(&detail);
		if (ahead.len)
			appendStringInfo(&detail, "The database is ahead of \"%s\" by %s.", expected, ahead.data);
		if (behind.len)
			appendStringInfo(&detail, "%sThe database is behind \"%s\" by %s.",
							 detail.len ? " " : "", expected, behind.data);
		ereport(ERROR,
				(errcode(ERRCODE_MIGR_HEAD_MISMATCH),
				 errmsg("migration mismatch: the database is not at \"%s\"", expected),
				 errdetail_internal("%s", detail.data),
				 behind.len == 0
				 ? (all_compatible
					? errhint("Run SELECT * FROM migr_downgrade('%s'); first, or pass allow_compatible => true: every revision between is additive.",
							  expected)
					: errhint("Run SELECT * FROM migr_downgrade('%s'); first.", expected))
				 : errhint("Run SELECT * FROM migr_upgrade('%s'); first.", expected)));
	}

	migr_owner_end(&scope);
	SPI_finish();
	PG_RETURN_BOOL(true);
}
