/*-------------------------------------------------------------------------
 *
 * report.c
 *		migr_history(), migr_show(), migr_lint() and migr_plan(): read-only
 *		reports; and the Citus worker notice of the reading functions
 *		written in SQL.
 *
 * They read the catalog as the extension owner, so any role allowed to
 * execute them can use them without privileges on the tables.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "catalog/namespace.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "migr.h"

PG_FUNCTION_INFO_V1(migr_history);
PG_FUNCTION_INFO_V1(migr_show);
PG_FUNCTION_INFO_V1(migr_lint);
PG_FUNCTION_INFO_V1(migr_plan);
PG_FUNCTION_INFO_V1(migr_note_citus_worker);

/*
 * The revisions a history range selects.  "a:b" is every revision that
 * descends from a (or equals it) and is needed by b (or equals it); either
 * end may be empty (base, or the heads).  The ends are targets, so
 * "current:", "-2:", ":+1", "ab12:head" and "billing@base:billing@head" all
 * work.
 */
static Bitmapset *
select_range(const MigrGraph *graph, const char *range)
{
	const char *colon = strchr(range, ':');
	Bitmapset  *all = NULL;
	Bitmapset  *result;
	char	   *lower;
	const char *upper;

	for (int i = 0; i < graph->nnodes; i++)
		all = bms_add_member(all, i);

	if (colon == NULL || strchr(colon + 1, ':') != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid history range \"%s\"", range),
				 errhint("A range is \"start:end\"; either end may be left out, as in \"current:\" or \":head\".")));

	lower = pnstrdup(range, colon - range);
	upper = colon + 1;
	result = all;
	if (*lower != '\0')
	{
		MigrPosition *from = migr_resolve_target(graph, lower, MIGR_TARGET_FOR_RANGE);

		result = migr_graph_descendants(graph, from->at ? from->at : from->below);
	}
	if (*upper != '\0')
	{
		MigrPosition *to = migr_resolve_target(graph, upper, MIGR_TARGET_FOR_RANGE);

		result = bms_int_members(result, migr_graph_wanted(graph, to));
	}
	return result;
}

/*
 * migr_history(range text DEFAULT NULL): the selected revisions, newest
 * first (children before parents, later registrations before earlier).
 */
Datum
migr_history(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo;
	MigrOwnerScope scope;
	MigrGraph  *graph;
	Bitmapset  *selected = NULL;
	List	   *ids = NIL;
	ListCell   *lc;

	migr_citus_note_on_worker();
	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	migr_catalog_open(&scope);

	graph = migr_graph_load();
	if (PG_ARGISNULL(0) || VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(0)) == 0)
	{
		for (int i = 0; i < graph->nnodes; i++)
			selected = bms_add_member(selected, i);
	}
	else
		selected = select_range(graph, text_to_cstring(PG_GETARG_TEXT_PP(0)));

	foreach(lc, migr_graph_order(graph, selected, true))
		ids = lappend(ids, graph->nodes[lfirst_int(lc)].id);

	if (ids != NIL)
		migr_catalog_history_rows(ids, rsinfo->setResult, rsinfo->setDesc);

	migr_owner_end(&scope);
	SPI_finish();
	return (Datum) 0;
}

/*
 * migr_show(revision text): everything about one revision.  The argument
 * is any target that names exactly one revision: an id, a prefix, "head",
 * "current", "head-1" ...
 */
Datum
migr_show(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	MemoryContext fn_cxt = CurrentMemoryContext;
	TupleDesc	result_desc;
	MigrOwnerScope scope;
	MigrGraph  *graph;
	List	   *found;
	HeapTuple	result;

	migr_citus_note_on_worker();
	if (get_call_result_type(fcinfo, NULL, &result_desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "migr_show must return a composite type");
	result_desc = BlessTupleDesc(result_desc);

	migr_catalog_open(&scope);

	graph = migr_graph_load();
	found = migr_resolve_revisions(graph, name);
	if (list_length(found) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" does not name a single revision", name),
				 errdetail("It names %s.", migr_graph_id_list(graph, found))));

	/* The tuple outlives the SPI connection. */
	MemoryContextSwitchTo(fn_cxt);
	result = migr_catalog_show_row(graph->nodes[linitial_int(found)].id,
								   result_desc);
	if (result == NULL)
		elog(ERROR, "revision \"%s\" is in the graph but not in the catalog",
			 graph->nodes[linitial_int(found)].id);

	migr_owner_end(&scope);
	SPI_finish();
	PG_RETURN_DATUM(HeapTupleGetDatum(result));
}

/*
 * migr_lint(revision text DEFAULT NULL): the lint findings of one revision's
 * upgrade script, or of every revision not applied yet (NULL), in
 * registration order.
 */
Datum
migr_lint(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo;
	MigrOwnerScope scope;
	MigrGraph  *graph;
	List	   *revisions = NIL;
	ListCell   *lc;
	char	   *search_path;	/* the caller's, to read the scripts with */

	migr_citus_note_on_worker();
	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	search_path = pstrdup(namespace_search_path);
	migr_catalog_open(&scope);

	graph = migr_graph_load();
	if (PG_ARGISNULL(0))
	{
		for (int i = 0; i < graph->nnodes; i++)
			if (!graph->nodes[i].applied)
				revisions = lappend_int(revisions, i);
	}
	else
	{
		char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));

		revisions = migr_resolve_revisions(graph, name);
		if (list_length(revisions) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("\"%s\" does not name a single revision", name),
					 errdetail("It names %s.", migr_graph_id_list(graph, revisions))));
	}

	foreach(lc, revisions)
	{
		const char *id = graph->nodes[lfirst_int(lc)].id;
		MigrRevisionRow *row = migr_catalog_fetch_revision(id);
		ListCell   *lc2;

		foreach(lc2, migr_lint_statements(migr_parse_script(row->upgrade, id, "upgrade"),
										  search_path))
		{
			MigrFinding *f = lfirst(lc2);
			Datum		values[7];
			bool		nulls[7] = {0};

			values[0] = CStringGetTextDatum(f->rule);
			values[1] = CStringGetTextDatum(f->severity);
			values[2] = CStringGetTextDatum(id);
			values[3] = Int32GetDatum(f->statement);
			values[4] = Int32GetDatum(f->line);
			values[5] = CStringGetTextDatum(f->message);
			values[6] = CStringGetTextDatum(f->safer);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}

	migr_owner_end(&scope);
	SPI_finish();
	return (Datum) 0;
}

/* Lock modes of a statement as "relation: Mode" strings. */
static Datum
locks_array(List *locks)
{
	List	   *strings = NIL;
	ListCell   *lc;

	foreach(lc, locks)
	{
		MigrRelationLock *lock = lfirst(lc);

		strings = lappend(strings, psprintf("%s: %s", lock->relation,
											migr_lock_mode_name(lock->mode)));
	}
	return migr_text_list_to_array(strings);
}

/*
 * migr_plan(target, direction): what an upgrade or downgrade would run,
 * statement by statement, without running anything.
 */
Datum
migr_plan(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo;
	MigrOwnerScope scope;
	MigrGraph  *graph;
	char	   *target;
	MigrOperation op = migr_direction_arguments(fcinfo, &target);
	List	   *steps;
	ListCell   *lc;
	char	   *search_path;	/* the caller's, to read the scripts with */

	migr_citus_note_on_worker();
	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	search_path = pstrdup(namespace_search_path);
	migr_catalog_open(&scope);

	graph = migr_graph_load();
	steps = migr_plan_steps(graph, op, list_make1(target), false, target);
	foreach(lc, steps)
	{
		MigrPlanStep *step = lfirst(lc);
		MigrRevisionRow *row = migr_catalog_fetch_revision(graph->nodes[step->node].id);
		ListCell   *lc2;

		foreach(lc2, migr_parse_script(migr_step_script(row, step->up), row->id,
									   step->up ? "upgrade" : "downgrade"))
		{
			MigrStatement *st = lfirst(lc2);
			MigrStatementInfo info;
			Datum		values[11];
			bool		nulls[11] = {0};

			migr_analyze_statement(st->parsetree, search_path, &info);
			values[0] = Int32GetDatum(foreach_current_index(lc) + 1);
			values[1] = CStringGetTextDatum(row->id);
			values[2] = Int32GetDatum(st->number);
			values[3] = Int32GetDatum(st->line);
			values[4] = CStringGetTextDatum(st->text);
			values[5] = CStringGetTextDatum(info.tag);
			values[6] = locks_array(info.locks);
			values[7] = BoolGetDatum(info.rewrites);
			values[8] = BoolGetDatum(info.scans);
			values[9] = BoolGetDatum(info.destructive);
			values[10] = BoolGetDatum(info.transactional);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}

	migr_owner_end(&scope);
	SPI_finish();
	return (Datum) 0;
}

/*
 * migr.note_citus_worker() RETURNS void: the notice of the reading
 * functions written in SQL (migr_current(), migr_heads(),
 * migr_branches()) on a Citus worker.
 */
Datum
migr_note_citus_worker(PG_FUNCTION_ARGS)
{
	migr_citus_note_on_worker();
	PG_RETURN_VOID();
}
