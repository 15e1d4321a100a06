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
 * a way around them.  The prefix "migr." is reserved.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "utils/guc.h"

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
}
