/*-------------------------------------------------------------------------
 *
 * integrity.c
 *		Launch, and the checksums that keep applied history honest.
 *
 * Before launch (and outside production) an applied revision may still be
 * edited in place, as a team does before it has real users; migr_launch()
 * ends that: from then on, and always in production, applied revisions are
 * immutable.  Every applied step keeps the checksum of the scripts that ran.
 * migr_validate() compares them with the scripts stored now, which differ
 * after an edit in place or a hand edit of migr.revisions; migr_upgrade()
 * refuses to run while they differ, until migr_redo() runs the new version
 * or migr_repair() accepts the stored scripts.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "migr.h"

PG_FUNCTION_INFO_V1(migr_script_checksum);
PG_FUNCTION_INFO_V1(migr_launch);
PG_FUNCTION_INFO_V1(migr_validate);
PG_FUNCTION_INFO_V1(migr_repair);

/*
 * migr.script_checksum(upgrade, downgrade): the checksum stored for these
 * scripts.  Not strict: a NULL downgrade is part of what is hashed.
 */
Datum
migr_script_checksum(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(
									 migr_checksum(text_to_cstring(PG_GETARG_TEXT_PP(0)),
												   PG_ARGISNULL(1) ? NULL
												   : text_to_cstring(PG_GETARG_TEXT_PP(1)))));
}

/*
 * migr_launch(): record that the product has real users.  Returns when it
 * launched; calling it again changes nothing.
 */
Datum
migr_launch(PG_FUNCTION_ARGS)
{
	MigrCaller	caller;
	MigrOwnerScope scope;
	MemoryContext fn_cxt = CurrentMemoryContext;
	TimestampTz launched_at;

	migr_check_can_change(fcinfo);
	migr_capture_caller(&caller);
	migr_catalog_open(&scope);
	migr_lock_acquire("launch");

	if (!migr_catalog_launched())
	{
		MigrEventRecord rec = {0};

		migr_require_confirmation(MIGR_CONFIRM_LAUNCH);
		migr_catalog_bump_generation();
		migr_catalog_insert_launch(&caller);
		rec.operation = "launch";
		migr_catalog_record_event(&rec, &caller);
	}
	else
		ereport(NOTICE,
				(errmsg("the product was launched already")));

	if (!migr_catalog_launch_time(&launched_at))
		elog(ERROR, "migr.launch has no row after the launch");
	migr_owner_end(&scope);
	MemoryContextSwitchTo(fn_cxt);
	SPI_finish();
	PG_RETURN_TIMESTAMPTZ(launched_at);
}

/*
 * migr_validate(): every applied revision whose stored scripts are not the
 * ones that ran.
 */
Datum
migr_validate(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo;
	MigrOwnerScope scope;
	ListCell   *lc;

	migr_citus_note_on_worker();
	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	migr_catalog_open(&scope);
	foreach(lc, migr_catalog_checksum_mismatches())
	{
		MigrChecksumMismatch *m = lfirst(lc);
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = CStringGetTextDatum(m->revision);
		values[1] = CStringGetTextDatum(m->applied_checksum);
		values[2] = CStringGetTextDatum(m->stored_checksum);
		values[3] = TimestampTzGetDatum(m->applied_at);
		values[4] = CStringGetTextDatum(m->registered_again
										? "registered again with other scripts after it was applied"
										: "scripts changed in migr.revisions outside migr");
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	migr_owner_end(&scope);
	SPI_finish();
	return (Datum) 0;
}

/*
 * migr_repair(revision): accept the scripts stored now for an applied
 * revision as the ones it ran.  Returns the accepted checksum.
 */
Datum
migr_repair(PG_FUNCTION_ARGS)
{
	MigrCaller	caller;
	MigrOwnerScope scope;
	MemoryContext fn_cxt = CurrentMemoryContext;
	MigrRevisionRow *row;
	char	   *id;
	char	   *checksum;
	text	   *result;

	migr_check_can_change(fcinfo);
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("revision must not be NULL")));
	migr_capture_caller(&caller);
	migr_catalog_open(&scope);
	migr_lock_acquire("repair");

	id = migr_resolve_revision_id(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	if (!migr_catalog_is_applied(id))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("revision \"%s\" is not applied", id),
				 errhint("Only applied revisions have a checksum to repair.")));
	row = migr_catalog_fetch_revision(id);
	checksum = migr_checksum(row->upgrade, row->downgrade);

	if (strcmp(checksum, row->checksum) != 0 ||
		strcmp(checksum, row->applied_checksum) != 0)
	{
		MigrEventRecord rec = {0};

		migr_check_change_allowed(caller.current_user_id, row->registrant, id,
								  true);
		migr_require_confirmation(MIGR_CONFIRM_REPAIR);
		migr_catalog_bump_generation();
		migr_catalog_accept_scripts(id, checksum);
		rec.operation = "repair";
		rec.revision = id;
		rec.checksum = checksum;
		migr_catalog_record_event(&rec, &caller);
	}
	else
		ereport(NOTICE,
				(errmsg("revision \"%s\" already matches its scripts", id)));

	migr_owner_end(&scope);
	MemoryContextSwitchTo(fn_cxt);
	result = cstring_to_text(checksum);
	SPI_finish();
	PG_RETURN_TEXT_P(result);
}
