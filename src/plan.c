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
#include "utils/syscache.h"
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
					 errmsg("downgrade target %s is not applied", node->id),
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
					 errmsg("revision %s has no downgrade script", node->id),
					 errdetail("Downgrading to %s would have to undo it.", target),
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
 * In production, a plan that runs destructive statements needs them
 * acknowledged.  Going up, a revision registered with destructive => true
 * or migr.allow_destructive acknowledges them.  Going down (a downgrade, or
 * the first half of a redo), the script that runs is the downgrade kept
 * when the revision was applied; a downgrade that drops or truncates what
 * the upgrade made destroys the data put there since, so the statements of
 * that script that PostgreSQL's parser says are destructive need
 * migr.allow_destructive.  Checked before anything runs; the error lists
 * the statements.
 */
static void
check_destructive_steps(const MigrGraph *graph, List *steps)
{
	List	   *up_ids = NIL;
	List	   *down_ids = NIL;
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
			up_ids = lappend(up_ids, graph->nodes[step->node].id);
		else
			down_ids = lappend(down_ids, graph->nodes[step->node].id);
	}

	initStringInfo(&list);
	if (up_ids != NIL)
	{
		values[0] = migr_text_list_to_array(up_ids);
		migr_catalog_exec("SELECT r.id, s.statement"
						  "  FROM migr.revisions r,"
						  "       unnest(r.destructive_statements) AS s(statement)"
						  " WHERE r.id = ANY ($1) AND NOT r.destructive"
						  " ORDER BY r.seq",
						  1, types, values, NULL, SPI_OK_SELECT);
		for (uint64 i = 0; i < SPI_processed; i++)
			appendStringInfo(&list, "\n  %s: %s", migr_result_text(i, 1),
							 migr_result_text(i, 2));
	}
	if (list.len > 0)
		ereport(ERROR,
				(errcode(ERRCODE_MIGR_DESTRUCTIVE),
				 errmsg("upgrade runs destructive changes that were not acknowledged"),
				 errdetail("Destructive statements:%s", list.data),
				 errhint("Ship them in a deploy of their own; to run them, register the revision with destructive => true or SET migr.allow_destructive = on.")));

	/* Downgrades: parse each kept script, newest step first as they run. */
	foreach(lc, down_ids)
	{
		const char *id = lfirst(lc);
		MigrRevisionRow *row = migr_catalog_fetch_revision(id);
		const char *script = row ? migr_step_script(row, false) : NULL;
		ListCell   *lc2;

		if (script == NULL)
			continue;
		foreach(lc2, migr_parse_script(script, id, "downgrade"))
		{
			MigrStatement *stmt = lfirst(lc2);

			if (migr_statement_is_destructive(stmt->parsetree))
				appendStringInfo(&list, "\n  %s: %s", id, stmt->text);
		}
	}
	if (list.len > 0)
		ereport(ERROR,
				(errcode(ERRCODE_MIGR_DESTRUCTIVE),
				 errmsg("downgrade runs destructive changes that were not acknowledged"),
				 errdetail("Destructive statements:%s", list.data),
				 errhint("A downgrade destroys the data written since the upgrade; to run it in production, SET migr.allow_destructive = on.")));
}

/* ---------------------------------------------------------------------
 * Whose privileges a script runs with
 *
 * A script never runs with more privileges than the role that registered
 * it (or last changed it), whoever calls migr.  Each step runs as the less
 * privileged of the caller and the step's registrant: the caller when the
 * registrant has all the caller's privileges, the registrant when the
 * caller has all of the registrant's (a superuser running a deploy role's
 * revisions runs them as the deploy role), and not at all when neither
 * holds.  The runner switches to that role with a security-restricted
 * context (runner.c), so nothing in the script can switch back.
 * ---------------------------------------------------------------------
 */

/* The registrant of the script a step runs: see migr_step_script(). */
Oid
migr_step_registrant(const MigrRevisionRow *row, bool up)
{
	if (!up && row->applied)
		return row->applied_downgrade_registrant;
	return row->registrant;
}

/* Is "role" a role that exists now? */
static bool
role_exists(Oid role)
{
	return OidIsValid(role) &&
		SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(role));
}

/* Refuse a step whose registrant no longer exists (or was never known). */
static void
refuse_unknown_registrant(const char *revision)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("revision %s was registered by a role that no longer exists",
					revision),
			 errdetail("A script never runs with more privileges than the role that registered it."),
			 errhint("Have a role with the privileges the script needs register the revision again.")));
}

/*
 * The role a step registered by "registrant" runs as when "caller" runs it;
 * refuses (42501) when the two roles' privileges are not comparable.
 */
Oid
migr_step_role(Oid caller, Oid registrant, const char *revision)
{
	if (!role_exists(registrant))
		refuse_unknown_registrant(revision);
	if (has_privs_of_role(registrant, caller))
		return caller;
	if (has_privs_of_role(caller, registrant))
		return registrant;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("revision %s was registered by role \"%s\", whose privileges neither include nor are included in those of role \"%s\" running it",
					revision, GetUserNameFromId(registrant, false),
					GetUserNameFromId(caller, false)),
			 errdetail("A script runs with the privileges of the less privileged of the role that registered it and the role that runs it; these two roles cannot be compared."),
			 errhint("Run the operation as role \"%s\" or as a role that has its privileges, such as a superuser.",
					 GetUserNameFromId(registrant, false))));
	return InvalidOid;			/* keep compiler quiet */
}

/*
 * Every step of a plan must have a role to run as (migr_step_role), checked
 * before anything runs.  One query for the whole plan: the registrant of
 * each upgrade, and of each downgrade kept in migr.applied.
 */
static void
check_registrants(const MigrGraph *graph, List *steps, Oid caller)
{
	List	   *up_ids = NIL;
	List	   *down_ids = NIL;
	Oid			types[2] = {TEXTARRAYOID, TEXTARRAYOID};
	Datum		values[2];
	ListCell   *lc;

	if (steps == NIL)
		return;
	foreach(lc, steps)
	{
		MigrPlanStep *step = (MigrPlanStep *) lfirst(lc);

		if (step->up)
			up_ids = lappend(up_ids, graph->nodes[step->node].id);
		else
			down_ids = lappend(down_ids, graph->nodes[step->node].id);
	}
	values[0] = migr_text_list_to_array(up_ids);
	values[1] = migr_text_list_to_array(down_ids);
	if (migr_catalog_has_registrants())
		migr_catalog_exec("SELECT s.registrant::oid, min(s.id)"
						  "  FROM (SELECT r.id, r.registrant FROM migr.revisions r"
						  "         WHERE r.id = ANY ($1)"
						  "        UNION ALL"
						  "        SELECT a.revision, a.downgrade_registrant FROM migr.applied a"
						  "         WHERE a.revision = ANY ($2)) s"
						  " GROUP BY 1 ORDER BY 2",
						  2, types, values, NULL, SPI_OK_SELECT);
	else						/* a 0.1 catalog: by the name in created_by */
		migr_catalog_exec("SELECT g.oid, min(r.id)"
						  "  FROM migr.revisions r"
						  "  LEFT JOIN pg_catalog.pg_roles g ON g.rolname = r.created_by"
						  " WHERE r.id = ANY ($1) OR r.id = ANY ($2)"
						  " GROUP BY 1 ORDER BY 2",
						  2, types, values, NULL, SPI_OK_SELECT);

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		role = SPI_getbinval(SPI_tuptable->vals[i],
										 SPI_tuptable->tupdesc, 1, &isnull);

		(void) migr_step_role(caller, isnull ? InvalidOid : DatumGetObjectId(role),
							  migr_result_text(i, 2));
	}
}

/*
 * The psql path: the statements of a migr_script() script run in the psql
 * session as whoever it is, and RESET ROLE (or SET SESSION AUTHORIZATION,
 * for a session that logged in as a superuser) takes them back to the
 * role the session logged in as.  So a step runs only in a session whose
 * login role, session role and current role ("caller", captured before
 * any owner scope) all have no privileges beyond the registrant's.
 */
void
migr_check_script_session(const MigrRevisionRow *row, bool up, Oid caller)
{
	Oid			registrant = migr_step_registrant(row, up);
	Oid			users[3] = {GetAuthenticatedUserId(), GetSessionUserId(), caller};

	if (!role_exists(registrant))
		refuse_unknown_registrant(row->id);
	for (int i = 0; i < (int) lengthof(users); i++)
		if (!has_privs_of_role(registrant, users[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("revision %s was registered by role \"%s\", which does not have the privileges of role \"%s\" running this script",
							row->id, GetUserNameFromId(registrant, false),
							GetUserNameFromId(users[i], false)),
					 errdetail("The statements of a migr_script() script run with the privileges of the role the psql session logged in as, which RESET ROLE returns to."),
					 errhint("Run the script in a session that logs in as role \"%s\".",
							 GetUserNameFromId(registrant, false))));
}

/*
 * Changing a revision (registering it again, repairing it) is refused to a
 * role that lacks the privileges of its registrant, as PostgreSQL refuses
 * CREATE OR REPLACE FUNCTION on another role's function.  A revision whose
 * registrant no longer exists may be taken over.  "caller" is the role
 * calling migr (not the extension owner a catalog scope runs as).
 */
void
migr_check_change_allowed(Oid caller, Oid registrant, const char *revision,
						  const char *change)
{
	if (!role_exists(registrant) || has_privs_of_role(caller, registrant))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("%s revision %s is refused: it was registered by role \"%s\", whose privileges role \"%s\" does not have",
					change, revision, GetUserNameFromId(registrant, false),
					GetUserNameFromId(caller, false)),
			 errdetail("Whoever changes a revision becomes its registrant, and its scripts may run with the registrant's privileges."),
			 errhint("Change it as role \"%s\", or register a new revision.",
					 GetUserNameFromId(registrant, false))));
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
 * The revisions whose state a stamp to "targets" decides, whether or not it
 * changes it: what each target needs (applied) and what lies above it in
 * its lineage (not applied); with "purge", every revision.  Call inside an
 * owner scope, with the graph loaded and not yet changed by the stamp.
 */
Bitmapset *
migr_plan_stamp_scope(MigrGraph *graph, List *targets, bool purge)
{
	Bitmapset  *scope = NULL;
	ListCell   *lc;

	if (purge)
		return bms_add_range(NULL, 0, graph->nnodes - 1);
	foreach(lc, targets)
	{
		MigrPosition *pos = migr_resolve_target(graph, lfirst(lc), MIGR_FOR_STAMP);

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

/*
 * migr_redo() downgrades and upgrades again: what was written since the
 * revision ran is lost.  That is for development: in production, and
 * anywhere after launch (when applied revisions can no longer be edited,
 * so there is no new version to run), it is refused.
 */
static void
check_redo_allowed(void)
{
	bool		production = migr_environment == MIGR_ENV_PRODUCTION;

	if (production || migr_catalog_launched())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("migr_redo() is refused %s", production ? "in production" : "after launch"),
				 errdetail("A redo downgrades and upgrades again, and loses the data written in between."),
				 errhint("Register a new revision that makes the further change.")));
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
	if (op == OP_REDO)
		check_redo_allowed();
	if (op != OP_STAMP)
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
