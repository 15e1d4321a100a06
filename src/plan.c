/*-------------------------------------------------------------------------
 *
 * plan.c
 *		Which steps an upgrade, downgrade, stamp or redo takes.
 *
 * A plan is a list of steps over the revision graph: a revision to apply
 * (up) or to remove (down), in an order the graph allows (graph.c).  What a
 * plan must satisfy before it runs is checked in checks.c; migr_plan()
 * (report.c) shows one statement by statement.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "catalog/namespace.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "migr.h"

const char *const migr_operation_names[] = {"upgrade", "downgrade", "stamp", "redo", "adopt"};

static MigrPlanStep *
make_step(int node, bool up)
{
	MigrPlanStep *step = palloc(sizeof(MigrPlanStep));

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
 * dependencies first.  A target just below some revisions (base,
 * "billing@base") lies at or below every state: nothing to apply.
 */
static List *
plan_upgrade(MigrGraph *graph, const MigrPosition *pos)
{
	Bitmapset  *todo;

	/* Base, or just below a branch: at or below any state, nothing to do. */
	if (pos->at == NIL)
		return NIL;
	todo = migr_graph_wanted(graph, pos);

	todo = bms_del_members(todo, migr_graph_applied(graph));
	return steps_from(migr_graph_order(graph, todo, false), true);
}

/*
 * Downgrade: only what the target requires.  The applied revisions that
 * descend from the target through parents (for "X@T", through its children
 * in X's lineage only), then every applied revision that needs a removed
 * one, as a child or through depends_on; children and dependents first.
 * Revisions that merely depend on the target, and other branches, stay.
 * A target that is not applied lies above the current state, which is an
 * error.
 */
static List *
plan_downgrade(MigrGraph *graph, const MigrPosition *pos, const char *target)
{
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
					 errmsg("downgrade target \"%s\" is not applied", node->id),
					 current == NIL
					 ? errdetail("The database is at base.")
					 : errdetail("The database is at %s.",
								 migr_graph_id_list(graph, current)),
					 errhint("A downgrade goes to a revision below the current one; use migr_upgrade() to go up.")));
		}
	}

	todo = bms_int_members(migr_graph_removed_by(graph, pos),
						   migr_graph_applied(graph));
	steps = steps_from(migr_graph_order(graph, todo, true), false);

	/* Every step needs a downgrade script; check before running any. */
	foreach(lc, steps)
	{
		MigrNode   *node = &graph->nodes[((MigrPlanStep *) lfirst(lc))->node];

		if (!node->has_downgrade)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("revision \"%s\" has no downgrade script", node->id),
					 errdetail("Downgrading to \"%s\" would have to undo it.", target),
					 errhint("Register a new revision that reverses the change, or use migr_stamp() to move the version rows without running scripts.")));
	}
	return steps;
}

/*
 * Stamp: mark the targets as the database's state without running scripts.
 * Each target's lineage is set to it: what it needs becomes applied, and
 * what a downgrade to it would remove does not; other branches stay, unless
 * "purge" makes the applied set exactly what the targets need.  Removals go
 * first.
 */
static List *
plan_stamp(MigrGraph *graph, List *positions, bool purge)
{
	Bitmapset  *applied = migr_graph_applied(graph);
	Bitmapset  *wanted = NULL;
	Bitmapset  *above = NULL;
	Bitmapset  *result;
	ListCell   *lc;

	foreach(lc, positions)
	{
		wanted = bms_add_members(wanted, migr_graph_wanted(graph, lfirst(lc)));
		above = bms_add_members(above, migr_graph_removed_by(graph, lfirst(lc)));
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
plan_redo(MigrGraph *graph, const char *name)
{
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
				 errmsg("revision \"%s\" is not applied", graph->nodes[linitial_int(found)].id),
				 errhint("migr_redo() runs an applied revision again; use migr_upgrade() to apply it.")));

	below.below = found;
	redo = bms_int_members(migr_graph_above(graph, &below), migr_graph_applied(graph));
	foreach(lc, migr_graph_order(graph, redo, true))
	{
		if (!graph->nodes[lfirst_int(lc)].has_downgrade)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("revision \"%s\" has no downgrade script", graph->nodes[lfirst_int(lc)].id),
					 errhint("Register it again with a downgrade script, or use migr_stamp() and apply the change by hand.")));
	}
	return list_concat(steps_from(migr_graph_order(graph, redo, true), false),
					   steps_from(migr_graph_order(graph, redo, false), true));
}

/*
 * The revisions whose state a stamp to "targets" decides, whether or not it
 * changes it: what each target needs (applied) and what lies above it in
 * its lineage (not applied); with "purge", every revision.  Call inside an
 * owner scope, with the graph loaded and not yet changed by the stamp.
 */
Bitmapset *
migr_plan_stamp_decided(MigrGraph *graph, List *targets, bool purge)
{
	Bitmapset  *scope = NULL;
	ListCell   *lc;

	if (purge)
		return bms_add_range(NULL, 0, graph->nnodes - 1);
	foreach(lc, targets)
	{
		MigrPosition *pos = migr_resolve_target(graph, lfirst(lc), MIGR_TARGET_FOR_STAMP);

		scope = bms_add_members(scope, migr_graph_wanted(graph, pos));
		scope = bms_add_members(scope, migr_graph_above(graph, pos));
	}
	return scope;
}

/*
 * The steps of "op" to "targets" (several only for a stamp).  Call inside
 * an owner scope, with the graph loaded.
 */
List *
migr_plan_steps(MigrGraph *graph, MigrOperation op, List *targets, bool purge,
				const char *target_text)
{
	const char *target = linitial(targets);

	switch (op)
	{
		case MIGR_OP_UPGRADE:
			return plan_upgrade(graph, migr_resolve_target(graph, target,
														   MIGR_TARGET_FOR_UPGRADE));
		case MIGR_OP_DOWNGRADE:
			return plan_downgrade(graph, migr_resolve_target(graph, target,
															 MIGR_TARGET_FOR_DOWNGRADE),
								  target_text);
		case MIGR_OP_STAMP:
		case OP_ADOPT:
			{
				List	   *positions = NIL;
				ListCell   *lc;

				foreach(lc, targets)
					positions = lappend(positions,
										migr_resolve_target(graph, lfirst(lc),
															MIGR_TARGET_FOR_STAMP));
				return plan_stamp(graph, positions, purge);
			}
		case MIGR_OP_REDO:
			return plan_redo(graph, target);
	}
	return NIL;
}

/* The script a step runs: upgrade, or the downgrade kept when it was applied. */
const char *
migr_step_script(const MigrRevisionRow *row, bool up)
{
	if (up)
		return row->upgrade;
	return row->applied ? row->applied_downgrade : row->downgrade;
}

/*
 * The target and direction arguments of migr_plan() and migr_script():
 * neither may be NULL; the direction is "upgrade" or "downgrade".
 */
MigrOperation
migr_direction_arguments(FunctionCallInfo fcinfo, char **target)
{
	char	   *direction;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("target and direction must not be NULL")));
	*target = text_to_cstring(PG_GETARG_TEXT_PP(0));
	direction = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (strcmp(direction, "upgrade") == 0)
		return MIGR_OP_UPGRADE;
	if (strcmp(direction, "downgrade") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid direction \"%s\"", direction),
				 errhint("Use \"upgrade\" or \"downgrade\".")));
	return MIGR_OP_DOWNGRADE;
}
