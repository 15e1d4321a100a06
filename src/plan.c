/*-------------------------------------------------------------------------
 *
 * plan.c
 *		Which steps an upgrade, downgrade, stamp or redo takes, and the
 *		checks a plan must pass before any of it runs; migr_plan().
 *
 * A plan is a list of steps over the revision graph: a revision to apply
 * (up) or to remove (down), in an order the graph allows (graph.c).  The
 * checks are the production guards that concern the whole plan:
 * confirmation, checksums, the two-deploy rule, who registered what, and
 * whether every step can run inside the caller's transaction.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "catalog/namespace.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "migr.h"

PG_FUNCTION_INFO_V1(migr_plan);

const char *const migr_operation_names[] = {"upgrade", "downgrade", "stamp", "redo"};

static MigrPlanStep *
make_step(int node, bool up)
{
	MigrPlanStep   *step = palloc(sizeof(MigrPlanStep));

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
 * dependencies first.
 */
static List *
plan_upgrade(MigrGraph *graph, const MigrPosition *pos)
{
	Bitmapset  *todo = migr_graph_wanted(graph, pos);

	todo = bms_del_members(todo, migr_graph_applied(graph));
	return steps_from(migr_graph_order(graph, todo, false), true);
}

/*
 * Downgrade: every applied revision above the target (its descendants and
 * dependents), children and dependents first.  Other branches stay as they
 * are.  A target that is not applied lies above the current state, which is
 * an error.
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
					 errmsg("downgrade target %s is not applied", node->id),
					 current == NIL
					 ? errdetail("The database is at base.")
					 : errdetail("The database is at %s.",
								 migr_graph_id_list(graph, current)),
					 errhint("A downgrade goes to a revision below the current one; use migr_upgrade() to go up.")));
		}
	}

	todo = bms_int_members(migr_graph_above(graph, pos), migr_graph_applied(graph));
	steps = steps_from(migr_graph_order(graph, todo, true), false);

	/* Every step needs a downgrade script; check before running any. */
	foreach(lc, steps)
	{
		MigrNode   *node = &graph->nodes[((MigrPlanStep *) lfirst(lc))->node];

		if (!node->has_downgrade)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("revision %s has no downgrade script", node->id),
					 errdetail("Downgrading to %s would have to undo it.", target),
					 errhint("Register a new revision that reverses the change, or use migr_stamp() to move the version rows without running scripts.")));
	}
	return steps;
}

/*
 * Stamp: mark the targets as the database's state without running scripts.
 * Each target's lineage is set to it: what it needs becomes applied, what
 * lies above it does not; other branches stay, unless "purge" makes the
 * applied set exactly what the targets need.  Removals go first.
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
		above = bms_add_members(above, migr_graph_above(graph, lfirst(lc)));
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
				 errmsg("revision %s is not applied", graph->nodes[linitial_int(found)].id),
				 errhint("migr_redo() runs an applied revision again; use migr_upgrade() to apply it.")));

	below.below = found;
	redo = bms_int_members(migr_graph_above(graph, &below), migr_graph_applied(graph));
	foreach(lc, migr_graph_order(graph, redo, true))
		if (!graph->nodes[lfirst_int(lc)].has_downgrade)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("revision %s has no downgrade script", graph->nodes[lfirst_int(lc)].id),
					 errhint("Register it again with a downgrade script, or use migr_stamp() and apply the change by hand.")));
	return list_concat(steps_from(migr_graph_order(graph, redo, true), false),
					   steps_from(migr_graph_order(graph, redo, false), true));
}

/*
 * In production, an upgrade through destructive revisions needs them to be
 * registered with destructive => true, or migr.allow_destructive.  Checked
 * before anything runs; the error lists the statements.
 */
static void
check_destructive_steps(const MigrGraph *graph, List *steps)
{
	List	   *ids = NIL;
	ListCell   *lc;
	StringInfoData list;
	Oid			types[1] = {TEXTARRAYOID};
	Datum		values[1];

	if (migr_environment != MIGR_ENV_PRODUCTION || migr_allow_destructive)
		return;
	foreach(lc, steps)
	{
		MigrPlanStep *step = (MigrPlanStep *) lfirst(lc);

		if (step->up)
			ids = lappend(ids, graph->nodes[step->node].id);
	}
	if (ids == NIL)
		return;

	values[0] = migr_text_list_to_array(ids);
	migr_catalog_exec("SELECT r.id, s.statement"
					  "  FROM migr.revisions r,"
					  "       unnest(r.destructive_statements) AS s(statement)"
					  " WHERE r.id = ANY ($1) AND NOT r.destructive"
					  " ORDER BY r.seq",
					  1, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed == 0)
		return;

	initStringInfo(&list);
	for (uint64 i = 0; i < SPI_processed; i++)
		appendStringInfo(&list, "\n  %s: %s", migr_result_text(i, 1),
						 migr_result_text(i, 2));
	ereport(ERROR,
			(errcode(ERRCODE_MIGR_DESTRUCTIVE),
			 errmsg("upgrade runs destructive changes that were not acknowledged"),
			 errdetail("Destructive statements:%s", list.data),
			 errhint("Ship them in a deploy of their own; to run them, register the revision with destructive => true or SET migr.allow_destructive = on.")));
}

/*
 * Scripts run with the caller's privileges, so a script must not give its
 * author more than the author has: every revision a plan runs must have
 * been registered by a role that has all the privileges of the caller.
 * Otherwise a role allowed to register could have a superuser run its SQL.
 */
static void
check_registrants(const MigrGraph *graph, List *steps, Oid caller)
{
	List	   *ids = NIL;
	Oid			types[1] = {TEXTARRAYOID};
	Datum		values[1];
	ListCell   *lc;

	if (steps == NIL)
		return;
	foreach(lc, steps)
		ids = lappend(ids, graph->nodes[((MigrPlanStep *) lfirst(lc))->node].id);
	values[0] = migr_text_list_to_array(ids);
	migr_catalog_exec("SELECT created_by::text, min(id)"
					  "  FROM migr.revisions WHERE id = ANY ($1)"
					  " GROUP BY created_by ORDER BY 1",
					  1, types, values, NULL, SPI_OK_SELECT);

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *registrant = migr_result_text(i, 1);
		Oid			role = get_role_oid(registrant, true);

		if (OidIsValid(role) && has_privs_of_role(role, caller))
			continue;
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("revision %s was registered by role \"%s\", which does not have the privileges of role \"%s\" running it",
						migr_result_text(i, 2), registrant,
						GetUserNameFromId(caller, false)),
				 errdetail("Scripts run with the privileges of the role that runs them."),
				 OidIsValid(role)
				 ? errhint("Run the operation as that role (SET ROLE \"%s\"), or have a role with your privileges register the revision.", registrant)
				 : errhint("The role no longer exists; have a role with your privileges register the revision again.")));
	}
}


/*
 * A revision that cannot run inside a transaction is applied with the
 * script migr_script() writes; refuse the plan before anything runs.
 */
static void
check_transactional(const MigrGraph *graph, List *steps)
{
	ListCell   *lc;

	foreach(lc, steps)
	{
		const MigrNode *node = &graph->nodes[((MigrPlanStep *) lfirst(lc))->node];

		if (!node->transactional)
			ereport(ERROR,
					(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
					 errmsg("revision %s cannot run inside a transaction", node->id),
					 errdetail("It has statements such as CREATE INDEX CONCURRENTLY that PostgreSQL runs only outside a transaction block."),
					 errhint("Apply the plan with the psql script from migr_script(): psql -v ON_ERROR_STOP=1 -f the_script.sql")));
	}
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
		case OP_UPGRADE:
			return plan_upgrade(graph, migr_resolve_target(graph, target,
														   MIGR_FOR_UPGRADE));
		case OP_DOWNGRADE:
			return plan_downgrade(graph, migr_resolve_target(graph, target,
															 MIGR_FOR_DOWNGRADE),
								  target_text);
		case OP_STAMP:
			{
				List	   *positions = NIL;
				ListCell   *lc;

				foreach(lc, targets)
					positions = lappend(positions,
										migr_resolve_target(graph, lfirst(lc),
															MIGR_FOR_STAMP));
				return plan_stamp(graph, positions, purge);
			}
		case OP_REDO:
			return plan_redo(graph, target);
	}
	return NIL;
}

/* What an operation is called in the refusal that asks for confirmation. */
static const char *
operation_phrase(MigrOperation op)
{
	return op == OP_UPGRADE ? "an upgrade"
		: op == OP_DOWNGRADE ? "a downgrade"
		: op == OP_STAMP ? "a stamp" : "a redo";
}

/* The checks of the steps themselves; see migr_check_plan(). */
static void
check_steps(const MigrGraph *graph, MigrOperation op, List *steps,
			const MigrCaller *caller, bool offline)
{
	if (op == OP_UPGRADE || op == OP_REDO)
		check_destructive_steps(graph, steps);
	if (op != OP_STAMP)
	{
		check_registrants(graph, steps, caller->current_user_id);
		if (!offline)
			check_transactional(graph, steps);
	}
}

/*
 * The checks a non-empty plan must pass before it runs.  "offline" is set
 * for the script of migr_script(), which can run what a transaction can't.
 */
void
migr_check_plan(const MigrGraph *graph, MigrOperation op, List *steps,
				const MigrCaller *caller, bool offline)
{
	migr_require_confirmation(operation_phrase(op));
	if (op == OP_UPGRADE)
		migr_check_checksums();
	check_steps(graph, op, steps, caller, offline);
}

/*
 * migr_check_plan() without the checksum check, which reads every applied
 * revision: for the later steps of migr_upgrade_each, whose whole plan was
 * checked before the first, while no other migr operation ran since.
 */
void
migr_check_steps(const MigrGraph *graph, MigrOperation op, List *steps,
				 const MigrCaller *caller, bool offline)
{
	migr_require_confirmation(operation_phrase(op));
	check_steps(graph, op, steps, caller, offline);
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
		return OP_UPGRADE;
	if (strcmp(direction, "downgrade") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid direction \"%s\"", direction),
				 errhint("Use \"upgrade\" or \"downgrade\".")));
	return OP_DOWNGRADE;
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

	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	migr_analysis_search_path(namespace_search_path);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	migr_owner_begin(&scope);

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

			migr_analyze_statement(st->parsetree, &info);
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
