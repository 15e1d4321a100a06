/*-------------------------------------------------------------------------
 *
 * schema.c
 *		migr_diff(): what differs between the live schema and a desired one
 *		written as SQL, as ordered upgrade and downgrade statements; and
 *		migr_check(): what differs between the live schema and the one
 *		migr recorded after its last operation (drift).
 *
 * The comparison itself is diff.c's; describe.c reads the catalogs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "migr.h"

PG_FUNCTION_INFO_V1(migr_diff);
PG_FUNCTION_INFO_V1(migr_check);

/* Put the rows of a diff into the function's result. */
static void
emit_rows(FunctionCallInfo fcinfo, List *rows)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ListCell   *lc;

	foreach(lc, rows)
	{
		MigrDiffRow *r = lfirst(lc);
		Datum		values[8];
		bool		nulls[8] = {0};

		values[0] = Int32GetDatum(r->step);
		values[1] = CStringGetTextDatum(r->kind);
		values[2] = CStringGetTextDatum(r->schema_name);
		values[3] = CStringGetTextDatum(r->object_name);
		values[4] = CStringGetTextDatum(r->change);
		values[5] = CStringGetTextDatum(r->upgrade);
		if (r->downgrade)
			values[6] = CStringGetTextDatum(r->downgrade);
		else
			nulls[6] = true;
		values[7] = BoolGetDatum(r->destructive);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/*
 * The schemas argument of migr_diff: NIL for the default (NULL), else the
 * names given.
 */
static List *
schemas_argument(FunctionCallInfo fcinfo, int argno)
{
	List	   *schemas;
	ListCell   *lc;

	if (PG_ARGISNULL(argno))
		return NIL;
	schemas = migr_text_array_to_list(PG_GETARG_DATUM(argno));
	foreach(lc, schemas)
	{
		if (lfirst(lc) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("schemas must not contain NULL")));
		if (strcmp(lfirst(lc), "migr") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("schema \"migr\" cannot be compared"),
					 errdetail("It holds migr's own catalog, which the extension manages.")));
	}
	return schemas;
}

/*
 * migr_diff(desired text, schemas text[] DEFAULT NULL)
 * RETURNS TABLE (step integer, kind text, schema_name text, object_name text,
 *				  change text, upgrade text, downgrade text,
 *				  destructive boolean)
 */
Datum
migr_diff(PG_FUNCTION_ARGS)
{
	List	   *schemas;
	char	   *desired;
	List	   *rows;

	/* it runs DDL, even though it rolls it back */
	migr_check_can_change(fcinfo);
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the desired schema must not be NULL")));
	desired = text_to_cstring(PG_GETARG_TEXT_PP(0));
	schemas = schemas_argument(fcinfo, 1);
	InitMaterializedSRF(fcinfo, 0);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rows = migr_diff_against(desired, schemas);
	emit_rows(fcinfo, rows);
	SPI_finish();
	PG_RETURN_NULL();
}

/*
 * migr_check()
 * RETURNS TABLE (step integer, kind text, schema_name text, object_name text,
 *				  change text, upgrade text, downgrade text,
 *				  destructive boolean)
 *
 * Drift: what differs between the live schema and the description migr
 * recorded after its last operation that changed the schema.  The upgrade
 * column brings the live schema back to the record; empty without drift
 * (or before any operation recorded a description).
 */
Datum
migr_check(PG_FUNCTION_ARGS)
{
	List	   *rows;
	bool		recorded;

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rows = migr_drift_rows(&recorded);
	emit_rows(fcinfo, rows);
	SPI_finish();
	PG_RETURN_NULL();
}
