/*-------------------------------------------------------------------------
 *
 * checks.c
 *		The policy gate: what a plan, a change or a script session must
 *		satisfy before anything runs.
 *
 * Every rule that can refuse an operation as a whole lives here, so that
 * the production guards read in one place: confirmation in production,
 * checksums of applied revisions, the two-deploy rule (destructive
 * statements acknowledged), whose privileges a script runs with (the
 * registrant rule), which steps can run inside a transaction, when a redo
 * is allowed, and whether a schema at base is really empty of what the
 * first revisions create.  The entry points call migr_check_plan() (or
 * migr_check_steps() between the steps of migr_upgrade_each) with a plan
 * from plan.c; registration and repair call migr_check_change_allowed();
 * the psql path calls migr_check_script_session().  Call inside an owner
 * scope.  migr_check_can_change() comes first of all, before any scope:
 * every function that changes the catalog calls it on entry.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "migr.h"

/* ---------------------------------------------------------------------
 * Where a change can run at all
 * ---------------------------------------------------------------------
 */

/*
 * The first check of every SQL function that changes migr's catalog
 * (registering, loading, upgrading, downgrading, stamping, redoing, dry
 * runs, launching, repairing, the steps of migr_script() scripts), made on
 * entry, before it reads or locks anything.  Such a function cannot run
 * from inside a migration script, nor on a worker of a Citus cluster
 * (MG007: the history lives on the coordinator, see citus.c), nor where
 * the server accepts no writes: on a hot standby (recovery), or in a
 * read-only transaction.  There its first write would fail late, with
 * PostgreSQL's generic "cannot execute UPDATE in a read-only transaction"
 * from a statement of migr's own.  The reading functions never call this:
 * they work on a standby, and on a worker they say where the history
 * lives.
 */
void
migr_check_can_change(FunctionCallInfo fcinfo)
{
	const char *name = NULL;

	migr_check_not_nested();
	migr_citus_refuse_on_worker(fcinfo);
	if (!RecoveryInProgress() && !XactReadOnly)
		return;
	if (fcinfo->flinfo != NULL && OidIsValid(fcinfo->flinfo->fn_oid))
		name = get_func_name(fcinfo->flinfo->fn_oid);
	if (name == NULL)
		name = "this migr function";
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("%s cannot run on a standby server", name),
				 errdetail("This server is a hot standby: it is in recovery, replaying the primary's changes, and %s changes migr's catalog.",
						   name),
				 errhint("Run it on the primary server; the standby receives the change by replication. The reading functions (migr_status(), migr_current(), migr_history(), ...) work here.")));
	ereport(ERROR,
			(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
			 errmsg("%s cannot run in a read-only transaction", name),
			 errdetail("%s changes migr's catalog.", name),
			 errhint("Run it in a read-write transaction (see default_transaction_read_only and SET TRANSACTION READ WRITE).")));
}

/* ---------------------------------------------------------------------
 * Confirmation and checksums
 * ---------------------------------------------------------------------
 */

/*
 * In production, refuse "action" (a change) unless this session confirmed
 * with migr.confirm_production.  One whole message per action.
 */
void
migr_require_confirmation(MigrConfirmAction action)
{
	const char *msg = NULL;

	if (migr_environment != MIGR_ENV_PRODUCTION || migr_confirm_production)
		return;
	switch (action)
	{
		case MIGR_CONFIRM_UPGRADE:
			msg = gettext_noop("an upgrade in production needs confirmation");
			break;
		case MIGR_CONFIRM_DOWNGRADE:
			msg = gettext_noop("a downgrade in production needs confirmation");
			break;
		case MIGR_CONFIRM_STAMP:
			msg = gettext_noop("a stamp in production needs confirmation");
			break;
		case MIGR_CONFIRM_REDO:
			msg = gettext_noop("a redo in production needs confirmation");
			break;
		case MIGR_CONFIRM_LAUNCH:
			msg = gettext_noop("launching in production needs confirmation");
			break;
		case MIGR_CONFIRM_REPAIR:
			msg = gettext_noop("repairing a revision in production needs confirmation");
			break;
		case MIGR_CONFIRM_REGISTER:
			msg = gettext_noop("registering a revision in production needs confirmation");
			break;
		case MIGR_CONFIRM_ADOPT:
			msg = gettext_noop("an adoption in production needs confirmation");
			break;
		case MIGR_CONFIRM_MISSING_FILE:
			msg = gettext_noop("loading a directory without the file of an applied revision in production needs confirmation");
			break;
	}
	Assert(msg != NULL);
	ereport(ERROR,
			(errcode(ERRCODE_MIGR_CONFIRMATION_REQUIRED),
			 errmsg_internal("%s", _(msg)),
			 errdetail("migr.environment is \"production\" and migr.confirm_production is not set."),
			 errhint("Run SET migr.confirm_production = yes; (or SET LOCAL inside the deploy transaction) and repeat the call.")));
}

/*
 * Refuse to go on while an applied revision does not match its scripts.
 * Call inside an owner scope.
 */
void
migr_check_checksums(void)
{
	List	   *mismatches = migr_catalog_checksum_mismatches();
	const char *first;
	StringInfoData buf;
	ListCell   *lc;

	if (mismatches == NIL)
		return;
	first = ((MigrChecksumMismatch *) linitial(mismatches))->revision;
	initStringInfo(&buf);
	foreach(lc, mismatches)
		appendStringInfo(&buf, "%s\"%s\"", buf.len ? ", " : "",
						 ((MigrChecksumMismatch *) lfirst(lc))->revision);
	/* migr_redo() is refused in production and after launch. */
	if (migr_environment == MIGR_ENV_PRODUCTION || migr_catalog_launched())
		ereport(ERROR,
				(errcode(ERRCODE_MIGR_CHECKSUM_MISMATCH),
				 errmsg("applied revisions no longer match their scripts"),
				 errdetail("Changed since they ran: %s.", buf.data),
				 errhint("See migr_validate(); then accept the stored scripts with migr_repair('%s'), and make further changes with a new revision.",
						 first)));
	ereport(ERROR,
			(errcode(ERRCODE_MIGR_CHECKSUM_MISMATCH),
			 errmsg("applied revisions no longer match their scripts"),
			 errdetail("Changed since they ran: %s.", buf.data),
			 errhint("See migr_validate(); then run the new version with migr_redo('%s'), or accept the stored scripts with migr_repair('%s').",
					 first, first)));
}

/* ---------------------------------------------------------------------
 * The two-deploy rule, whose privileges, transactions
 * ---------------------------------------------------------------------
 */

/* The ids of the revisions "steps" apply (*up) and remove (*down), in order. */
static void
split_step_ids(const MigrGraph *graph, List *steps, List **up, List **down)
{
	ListCell   *lc;

	foreach(lc, steps)
	{
		MigrPlanStep *step = (MigrPlanStep *) lfirst(lc);

		if (step->up)
			*up = lappend(*up, graph->nodes[step->node].id);
		else
			*down = lappend(*down, graph->nodes[step->node].id);
	}
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

	if (migr_environment != MIGR_ENV_PRODUCTION || migr_allow_destructive)
		return;
	split_step_ids(graph, steps, &up_ids, &down_ids);

	initStringInfo(&list);
	if (up_ids != NIL)
	{
		foreach(lc, migr_catalog_unacknowledged_destructive(up_ids))
		{
			MigrRevisionStatement *st = lfirst(lc);

			appendStringInfo(&list, "\n  %s: %s", st->revision, st->statement);
		}
	}
	if (list.len > 0)
		ereport(ERROR,
				(errcode(ERRCODE_MIGR_DESTRUCTIVE),
				 errmsg("upgrade runs destructive changes that were not acknowledged"),
				 errdetail("Destructive statements:%s", list.data),
				 errhint("Ship them in a deploy of their own; to run them, acknowledge them (in its migration file the header line \"-- migr:destructive true\", in migr_revision() destructive => true) or SET migr.allow_destructive = on.")));

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
			 errmsg("revision \"%s\" was registered by a role that no longer exists",
					revision),
			 errdetail("A script never runs with more privileges than the role that registered it, which migr recognises by its OID and the name it had then."),
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
			 errmsg("revision \"%s\" was registered by role \"%s\", whose privileges neither include nor are included in those of role \"%s\" running it",
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
	ListCell   *lc;

	if (steps == NIL)
		return;
	split_step_ids(graph, steps, &up_ids, &down_ids);
	foreach(lc, migr_catalog_step_registrants(up_ids, down_ids))
	{
		MigrRegistrantUse *use = lfirst(lc);

		(void) migr_step_role(caller, use->registrant, use->revision);
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
					 errmsg("revision \"%s\" was registered by role \"%s\", which does not have the privileges of role \"%s\" running this script",
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
						  bool repairing)
{
	const char *msg;

	if (!role_exists(registrant) || has_privs_of_role(caller, registrant))
		return;
	msg = repairing
		? gettext_noop("repairing revision \"%s\" is refused: it was registered by role \"%s\", whose privileges role \"%s\" does not have")
		: gettext_noop("changing revision \"%s\" is refused: it was registered by role \"%s\", whose privileges role \"%s\" does not have");
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg(msg, revision, GetUserNameFromId(registrant, false),
					GetUserNameFromId(caller, false)),
			 errdetail("Whoever changes a revision becomes its registrant, and its scripts may run with the registrant's privileges."),
			 errhint("Change it as role \"%s\", or register a new revision.",
					 GetUserNameFromId(registrant, false))));
}

/*
 * A revision that cannot run inside a transaction is applied by CALL
 * migr_upgrade_each() (or migr_downgrade_each()), which runs it in a
 * background worker, or with the script migr_script() writes; a function
 * cannot, so refuse the plan before anything runs.
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
					 errmsg("revision \"%s\" cannot run inside a transaction", node->id),
					 errdetail("It has statements such as CREATE INDEX CONCURRENTLY that PostgreSQL runs only outside a transaction block."),
					 errhint("Apply the plan with CALL migr_upgrade_each(...) or CALL migr_downgrade_each(...), which commit step by step, or with the psql script from migr_script().")));
	}
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
				 production
				 ? errmsg("migr_redo() is refused in production")
				 : errmsg("migr_redo() is refused after launch"),
				 errdetail("A redo downgrades and upgrades again, and loses the data written in between."),
				 errhint("Register a new revision that makes the further change.")));
}

/*
 * An upgrade of a database whose history says base (nothing applied) into
 * a schema that already has what a first revision creates: the objects were
 * copied without migr's rows, as pg_dump --schema-only copies them (the
 * rows of migr's tables are data), or were made by hand before migr came.
 * The plan would run every revision again, and fail at the first CREATE,
 * or half succeed where a script says IF NOT EXISTS.  Refuse, and say how to
 * record the state the schema is in.  Only the first revisions (no parent,
 * no dependency) are read: they are the ones that start from nothing.
 */
static void
check_base_schema(const MigrGraph *graph, List *steps, const MigrCaller *caller)
{
	ListCell   *lc;

	if (!bms_is_empty(migr_graph_applied(graph)))
		return;
	foreach(lc, steps)
	{
		MigrPlanStep *step = lfirst(lc);
		const MigrNode *node = &graph->nodes[step->node];
		MigrRevisionRow *row;
		ListCell   *lc2;

		if (!step->up || node->nparents > 0 || node->ndeps > 0)
			continue;
		row = migr_catalog_fetch_revision(node->id);
		foreach(lc2, migr_parse_script(row->upgrade, row->id, "upgrade"))
		{
			MigrStatement *st = lfirst(lc2);
			char	   *found = migr_statement_existing_object(st->parsetree,
															   caller->search_path);

			if (found == NULL)
				continue;

			/*
			 * In REPEATABLE READ or SERIALIZABLE the history this plan was
			 * made from may predate a deploy that committed since, whose
			 * objects the catalogs already show.  The bump the operation
			 * makes next raises the serialization failure (40001) that says
			 * so; make it now.  (The refusal below rolls it back.)
			 */
			if (IsolationUsesXactSnapshot())
				migr_catalog_bump_generation();
			ereport(ERROR,
					(errcode(ERRCODE_MIGR_SCHEMA_NOT_AT_BASE),
					 errmsg("the schema already has %s, which revision \"%s\" creates, but migr's history says no revision is applied",
							found, row->id),
					 errdetail("The schema was probably copied without migr's rows, as pg_dump --schema-only copies it; upgrading would run every revision again."),
					 errhint("Record the revision the schema is at without running anything: SELECT * FROM migr_stamp('REVISION'); or copy the history as well: pg_dump --data-only --table='migr.*' of the source, restored into this database.")));
		}
	}
}

/* The confirmation an operation asks for in production. */
static MigrConfirmAction
operation_confirm_action(MigrOperation op)
{
	return op == MIGR_OP_UPGRADE ? MIGR_CONFIRM_UPGRADE
		: op == MIGR_OP_DOWNGRADE ? MIGR_CONFIRM_DOWNGRADE
		: op == MIGR_OP_STAMP ? MIGR_CONFIRM_STAMP
		: op == OP_ADOPT ? MIGR_CONFIRM_ADOPT : MIGR_CONFIRM_REDO;
}

/* The checks of the steps themselves; see migr_check_plan(). */
static void
check_steps(const MigrGraph *graph, MigrOperation op, List *steps,
			const MigrCaller *caller, bool offline)
{
	if (op == MIGR_OP_REDO)
		check_redo_allowed();
	if (op != MIGR_OP_STAMP && op != OP_ADOPT)
		check_destructive_steps(graph, steps);
	if (op == MIGR_OP_UPGRADE)
		check_base_schema(graph, steps, caller);
	if (op != MIGR_OP_STAMP && op != OP_ADOPT)
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
	migr_require_confirmation(operation_confirm_action(op));
	if (op == MIGR_OP_UPGRADE)
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
	migr_require_confirmation(operation_confirm_action(op));
	check_steps(graph, op, steps, caller, offline);
}
