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

/* The applied revisions whose scripts changed since they ran. */
#define MISMATCH_SQL \
	"SELECT a.revision, a.checksum, migr.script_checksum(r.upgrade, r.downgrade)," \
	"       a.applied_at," \
	"       CASE WHEN r.checksum = migr.script_checksum(r.upgrade, r.downgrade)" \
	"            THEN 'registered again with other scripts after it was applied'" \
	"            ELSE 'scripts changed in migr.revisions outside migr' END" \
	"  FROM migr.applied a JOIN migr.revisions r ON r.id = a.revision" \
	" WHERE a.checksum <> migr.script_checksum(r.upgrade, r.downgrade)" \
	" ORDER BY r.seq"

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
	bool		isnull;

	migr_check_can_change(fcinfo);
	migr_capture_caller(&caller);
	migr_catalog_open(&scope);
	migr_lock_acquire("launch");

	if (!migr_catalog_launched())
	{
		Oid			types[1] = {NAMEOID};
		Datum		values[1];
		MigrEventRecord rec = {0};

		migr_require_confirmation(MIGR_CONFIRM_LAUNCH);
		migr_catalog_bump_generation();
		values[0] = DirectFunctionCall1(namein, CStringGetDatum(caller.current_user_name));
		migr_catalog_exec("INSERT INTO migr.launch (launched_at, launched_by)"
						  " VALUES (now(), $1)", 1, types, values, NULL,
						  SPI_OK_INSERT);
		rec.operation = "launch";
		migr_catalog_record_event(&rec, &caller);
	}
	else
		ereport(NOTICE,
				(errmsg("the product was launched already")));

	migr_catalog_exec("SELECT launched_at FROM migr.launch", 0, NULL, NULL, NULL,
					  SPI_OK_SELECT);
	launched_at = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
													SPI_tuptable->tupdesc, 1,
													&isnull));
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

	migr_citus_note_on_worker();
	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	migr_catalog_open(&scope);
	migr_catalog_exec(MISMATCH_SQL, 0, NULL, NULL, NULL, SPI_OK_SELECT);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Datum		values[5];
		bool		nulls[5];

		heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
						  values, nulls);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	migr_owner_end(&scope);
	SPI_finish();
	return (Datum) 0;
}

/* Does the checksum recorded when "id" was applied differ from "checksum"? */
static bool
applied_checksum_differs(const char *id, const char *checksum)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		values[2] = {CStringGetTextDatum(id), CStringGetTextDatum(checksum)};

	migr_catalog_exec("SELECT 1 FROM migr.applied WHERE revision = $1 AND checksum <> $2",
					  2, types, values, NULL, SPI_OK_SELECT);
	return SPI_processed > 0;
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

	if (strcmp(checksum, row->checksum) != 0 || applied_checksum_differs(id, checksum))
	{
		Oid			types[2] = {TEXTOID, TEXTOID};
		Datum		values[2] = {CStringGetTextDatum(id), CStringGetTextDatum(checksum)};
		MigrEventRecord rec = {0};

		migr_check_change_allowed(caller.current_user_id, row->registrant, id,
								  true);
		migr_require_confirmation(MIGR_CONFIRM_REPAIR);
		migr_catalog_bump_generation();
		migr_catalog_exec("UPDATE migr.revisions SET checksum = $2 WHERE id = $1",
						  2, types, values, NULL, SPI_OK_UPDATE);
		migr_catalog_exec(migr_catalog_has_registrants()
						  ? "UPDATE migr.applied a SET checksum = $2, downgrade = r.downgrade,"
						  "       downgrade_registrant = r.registrant"
						  "  FROM migr.revisions r"
						  " WHERE a.revision = $1 AND r.id = a.revision"
						  : "UPDATE migr.applied a SET checksum = $2, downgrade = r.downgrade"
						  "  FROM migr.revisions r"
						  " WHERE a.revision = $1 AND r.id = a.revision",
						  2, types, values, NULL, SPI_OK_UPDATE);
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
