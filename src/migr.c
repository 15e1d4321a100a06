/*-------------------------------------------------------------------------
 *
 * migr.c
 *		Module entry point of the migr extension, and its settings.
 *
 * migr stores schema migrations in catalog tables and runs them inside the
 * server; see migr.h for how the code is divided.
 *
 * Settings that weaken a guard can only be set by a superuser (or a role
 * granted SET on them): PGC_SUSET.  PostgreSQL 15 remembers who set a
 * placeholder before this library was loaded, and discards a value a role
 * without that right put there, so loading the library late does not open
 * a way around them.  A value passed at connection start (PGOPTIONS) by
 * such a role is discarded too, but it had already hidden the database's
 * and role's stored settings, so those are applied again once the
 * variables exist.  The prefix "migr." is reserved.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_db_role_setting.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"

#include "migr.h"

PG_MODULE_MAGIC;

int			migr_environment = MIGR_ENV_DEVELOPMENT;
bool		migr_confirm_production = false;
bool		migr_allow_adhoc_ddl = false;
bool		migr_allow_destructive = false;
int			migr_lock_timeout = 5000;
int			migr_statement_timeout = 0;

static const struct config_enum_entry environment_options[] = {
	{"development", MIGR_ENV_DEVELOPMENT, false},
	{"staging", MIGR_ENV_STAGING, false},
	{"production", MIGR_ENV_PRODUCTION, false},
	{NULL, 0, false}
};

void		_PG_init(void);

/*
 * Apply the settings stored with ALTER DATABASE / ALTER ROLE ... SET again,
 * as the server did at connection start (postinit.c's process_settings).
 * Settings of higher priority (the session's own) are left alone; a
 * migr.* value that a role without the right to set it passed at
 * connection start was just discarded, so the stored value takes its place
 * instead of the built-in default.  Only possible inside a transaction of
 * a connected backend; a library preloaded by the postmaster defines the
 * variables before any connection option is read, so it needs none of
 * this.
 */
static void
reapply_stored_settings(void)
{
	Relation	rel;
	Snapshot	snapshot;

	if (!IsUnderPostmaster || !IsTransactionState() || !OidIsValid(MyDatabaseId))
		return;

	rel = table_open(DbRoleSettingRelationId, AccessShareLock);
	snapshot = RegisterSnapshot(GetCatalogSnapshot(DbRoleSettingRelationId));
	ApplySetting(snapshot, MyDatabaseId, GetSessionUserId(), rel, PGC_S_DATABASE_USER);
	ApplySetting(snapshot, InvalidOid, GetSessionUserId(), rel, PGC_S_USER);
	ApplySetting(snapshot, MyDatabaseId, InvalidOid, rel, PGC_S_DATABASE);
	ApplySetting(snapshot, InvalidOid, InvalidOid, rel, PGC_S_GLOBAL);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
}

/* "development", "staging" or "production". */
const char *
migr_environment_name(void)
{
	return environment_options[migr_environment].name;
}

void
_PG_init(void)
{
	DefineCustomEnumVariable("migr.environment",
							 "Which environment this database is: development, staging or production.",
							 "In production every change needs migr.confirm_production, and DDL outside migr is refused.",
							 &migr_environment,
							 MIGR_ENV_DEVELOPMENT,
							 environment_options,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("migr.confirm_production",
							 "Confirms that migr may change a production database in this session.",
							 NULL,
							 &migr_confirm_production,
							 false,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("migr.allow_adhoc_ddl",
							 "Lets DDL outside migr through in production; each statement is logged.",
							 NULL,
							 &migr_allow_adhoc_ddl,
							 false,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("migr.allow_destructive",
							 "Lets upgrades in production run destructive revisions that were not registered as such.",
							 NULL,
							 &migr_allow_destructive,
							 false,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("migr.lock_timeout",
							"lock_timeout for the statements of each migration step (0 keeps the session's).",
							NULL,
							&migr_lock_timeout,
							5000, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("migr.statement_timeout",
							"Time limit for each statement of a migration step (0: none).",
							NULL,
							&migr_statement_timeout,
							0, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("migr");
	reapply_stored_settings();
	migr_guard_install_hooks();
}
