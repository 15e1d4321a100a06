/*-------------------------------------------------------------------------
 *
 * guard.c
 *		Production guards enforced in the server: confirmation of every
 *		change, and the lock-down of DDL that does not come from migr.
 *
 * The DDL lock-down is an event trigger on ddl_command_start, created by the
 * install script and enabled ALWAYS, so it fires in every session of the
 * database whether or not the library is preloaded (firing it loads the
 * library).  It lets through:
 *		- statements of migration scripts that migr itself is running;
 *		- commands inside an extension script (the CREATE or ALTER EXTENSION
 *		  that runs it was checked already);
 *		- what a running application legitimately does: temporary tables,
 *		  views and sequences, indexes and ALTER TABLE on temporary tables,
 *		  dropping temporary objects, and REFRESH MATERIALIZED VIEW;
 *		- anything, while a superuser has set migr.allow_adhoc_ddl, each
 *		  statement being written to migr.log.
 * Event triggers do not fire for shared objects (roles, databases,
 * tablespaces), nor for event trigger commands: those are out of its reach.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "tcop/tcopprot.h"
#include "utils/lsyscache.h"

#include "migr.h"

PG_FUNCTION_INFO_V1(migr_ddl_guard);

/*
 * In production, refuse "what" (a change) unless this session confirmed
 * with migr.confirm_production.
 */
void
migr_require_confirmation(const char *what)
{
	if (migr_environment != MIGR_ENV_PRODUCTION || migr_confirm_production)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_MIGR_CONFIRMATION_REQUIRED),
			 errmsg("%s in production needs confirmation", what),
			 errdetail("migr.environment is \"production\" and migr.confirm_production is not set."),
			 errhint("Run SET migr.confirm_production = yes; (or SET LOCAL inside the deploy transaction) and repeat the call.")));
}

/* Is the relation "rv" names (or is about to create) temporary? */
static bool
is_temporary(RangeVar *rv, bool creating)
{
	Oid			relid;

	if (rv->relpersistence == RELPERSISTENCE_TEMP)
		return true;
	if (rv->schemaname != NULL && strcmp(rv->schemaname, "pg_temp") == 0)
		return true;
	if (creating)
		return false;
	relid = RangeVarGetRelid(rv, NoLock, true);
	return OidIsValid(relid) && get_rel_persistence(relid) == RELPERSISTENCE_TEMP;
}

/*
 * Is "parsetree" something a running application may do in production?
 */
static bool
is_application_ddl(Node *parsetree)
{
	switch (nodeTag(parsetree))
	{
		case T_RefreshMatViewStmt:
			return true;
		case T_CreateStmt:
			return is_temporary(((CreateStmt *) parsetree)->relation, true);
		case T_ViewStmt:
			return is_temporary(((ViewStmt *) parsetree)->view, true);
		case T_CreateSeqStmt:
			return is_temporary(((CreateSeqStmt *) parsetree)->sequence, true);
		case T_CreateTableAsStmt:
			return is_temporary(((CreateTableAsStmt *) parsetree)->into->rel, true);
		case T_IndexStmt:
			return is_temporary(((IndexStmt *) parsetree)->relation, false);
		case T_AlterTableStmt:
			return is_temporary(((AlterTableStmt *) parsetree)->relation, false);
		case T_AlterSeqStmt:
			return is_temporary(((AlterSeqStmt *) parsetree)->sequence, false);
		case T_DropStmt:
			{
				DropStmt   *drop = (DropStmt *) parsetree;
				ListCell   *lc;

				if (drop->removeType != OBJECT_TABLE &&
					drop->removeType != OBJECT_VIEW &&
					drop->removeType != OBJECT_SEQUENCE &&
					drop->removeType != OBJECT_INDEX)
					return false;
				foreach(lc, drop->objects)
					if (!is_temporary(makeRangeVarFromNameList(lfirst(lc)), false))
						return false;
				return true;
			}
		default:
			return false;
	}
}

/* Write a statement let through by migr.allow_adhoc_ddl to migr.log. */
static void
log_adhoc_ddl(const char *tag)
{
	MigrCaller	caller;
	MigrOwnerScope scope;
	MigrEventRecord rec = {0};

	migr_capture_caller(&caller);
	rec.operation = "adhoc_ddl";
	rec.command_tag = tag;
	rec.statement = debug_query_string ? debug_query_string : tag;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	migr_owner_begin(&scope);
	migr_catalog_record_event(&rec, &caller);
	migr_owner_end(&scope);
	SPI_finish();

	ereport(WARNING,
			(errmsg("ad-hoc schema change \"%s\" let through by migr.allow_adhoc_ddl", tag),
			 errdetail("The statement was recorded in migr.log.")));
}

/*
 * migr.ddl_guard(): the ddl_command_start event trigger.
 */
Datum
migr_ddl_guard(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	const char *tag;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		elog(ERROR, "migr.ddl_guard() must be called as an event trigger");

	/* The hot path: every DDL statement of every environment comes here. */
	if (migr_environment != MIGR_ENV_PRODUCTION || migr_running_script() ||
		creating_extension)
		PG_RETURN_VOID();

	trigdata = (EventTriggerData *) fcinfo->context;
	if (is_application_ddl(trigdata->parsetree))
		PG_RETURN_VOID();

	tag = GetCommandTagName(trigdata->tag);
	if (migr_allow_adhoc_ddl)
	{
		log_adhoc_ddl(tag);
		PG_RETURN_VOID();
	}

	ereport(ERROR,
			(errcode(ERRCODE_MIGR_ADHOC_DDL),
			 errmsg("ad-hoc schema change \"%s\" is not allowed in production", tag),
			 errdetail("In production, migrations are the only way to change the schema."),
			 errhint("Register the change with migr_revision() and apply it with migr_upgrade().")));
	PG_RETURN_VOID();
}
