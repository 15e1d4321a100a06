/*-------------------------------------------------------------------------
 *
 * restore.c
 *		Restoring a dump keeps migr's log, and a 0.1 dump its registrants.
 *
 * pg_dump includes the rows of migr's catalog tables (they are registered
 * with pg_extension_config_dump); a restore first runs CREATE EXTENSION,
 * then the schema, then COPYs the rows in, then sets the sequences.  In a
 * production database the schema part is ad-hoc DDL: let through by
 * migr.allow_adhoc_ddl, each statement is logged in migr.log, with ids
 * 1, 2, ... from the fresh database's log_seq, before the dumped log rows,
 * which have such ids too, arrive.  Without help the COPY of migr.log then
 * fails on its first id and the restored database loses its history.
 *
 * migr.log_make_room() is a BEFORE INSERT trigger on migr.log that fires
 * only for rows that migr itself does not write (its own rows carry the id
 * of the inserting transaction; restored rows carry their old one).  At the
 * first such row of a transaction, before it is inserted, the rows already
 * there, which this database wrote, move below the lowest id (catalog.c),
 * and the restored rows keep their ids.  Later rows of the transaction pass
 * untouched, so a restore costs one UPDATE, not one per row.
 *
 * migr.restore_registrant() is a BEFORE INSERT trigger on migr.revisions
 * and migr.applied for rows of a dump taken on 0.1, which has no registrant
 * columns: the COPY leaves them at their default, 0, and the trigger finds
 * the role as the update to 0.2 does (sql/migr--0.1--0.2.sql).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/rel.h"

#include "migr.h"

PG_FUNCTION_INFO_V1(migr_log_make_room);
PG_FUNCTION_INFO_V1(migr_restore_registrant);
PG_FUNCTION_INFO_V1(migr_confirm_registrants);

/* The transaction that last made room, see above. */
static LocalTransactionId room_made_in = InvalidLocalTransactionId;

/*
 * migr.log_make_room(): the BEFORE INSERT row trigger on migr.log.
 */
Datum
migr_log_make_room(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		elog(ERROR, "migr.log_make_room() must be called as a BEFORE INSERT row trigger");

	if (room_made_in != MyProc->lxid)
	{
		MigrOwnerScope scope;
		uint64		moved;

		migr_catalog_open(&scope);
		moved = migr_catalog_log_make_room();
		migr_owner_end(&scope);
		SPI_finish();
		room_made_in = MyProc->lxid;
		if (moved > 0)
			ereport(NOTICE,
					(errmsg("migr.log: %llu row(s) written here before the restored history moved below it",
							(unsigned long long) moved)));
	}
	return PointerGetDatum(trigdata->tg_trigtuple);
}

/*
 * migr.restore_registrant(): the BEFORE INSERT row trigger on
 * migr.revisions and migr.applied, for rows whose registrant column is at
 * its default (0), those of a 0.1 dump.  Who registered the scripts a row
 * has is in the log, which pg_dump writes after these two tables: the row
 * gets the role named in its revision's created_by and no name, which
 * VERIFIED_ROLE (catalog.c) does not take, until confirm_registrants()
 * finds the role in the restored log.  NULL (unknown) when there is none.
 */
Datum
migr_restore_registrant(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	tuple;
	bool		revisions;
	int			column;
	Oid			role = InvalidOid;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		elog(ERROR, "migr.restore_registrant() must be called as a BEFORE INSERT row trigger");

	desc = RelationGetDescr(trigdata->tg_relation);
	tuple = trigdata->tg_trigtuple;
	revisions = strcmp(RelationGetRelationName(trigdata->tg_relation), "revisions") == 0;
	column = SPI_fnumber(desc, revisions ? "registrant" : "downgrade_registrant");
	if (column <= 0)
		elog(ERROR, "migr.restore_registrant() fired on an unexpected table");

	/*
	 * For now the role that created the revision, left to confirm (no name
	 * beside it, so it is not taken yet) once the log is restored: who
	 * changed the scripts last is in the log, which pg_dump writes after
	 * migr.revisions and migr.applied.
	 */
	if (revisions)
	{
		bool		isnull;
		Datum		value = heap_getattr(tuple, SPI_fnumber(desc, "created_by"),
										 desc, &isnull);

		if (!isnull)
			role = get_role_oid(NameStr(*DatumGetName(value)), true);
	}
	else
	{
		bool		isnull;
		Datum		value = heap_getattr(tuple, SPI_fnumber(desc, "revision"),
										 desc, &isnull);

		if (!isnull)
		{
			MigrOwnerScope scope;

			migr_catalog_open(&scope);
			role = migr_catalog_creator_of(TextDatumGetCString(value));
			migr_owner_end(&scope);
			SPI_finish();
		}
	}

	/* the role, its name column left empty: to confirm by the log */
	{
		int			columns[2];
		Datum		values[2] = {ObjectIdGetDatum(role), (Datum) 0};
		bool		nulls[2] = {!OidIsValid(role), true};

		columns[0] = column;
		columns[1] = SPI_fnumber(desc, revisions ? "registrant_name" : "downgrade_registrant_name");
		if (columns[1] <= 0)
			elog(ERROR, "migr.restore_registrant() fired on an unexpected table");
		return PointerGetDatum(heap_modify_tuple_by_cols(tuple, desc, 2, columns,
														 values, nulls));
	}
}

/*
 * migr.confirm_registrants(): the AFTER INSERT statement trigger on
 * migr.log.  After a statement that restored rows of the log (those
 * log_make_room() saw in this transaction), the registrants that
 * restore_registrant() left to confirm become those the log names.
 */
Datum
migr_confirm_registrants(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		elog(ERROR, "migr.confirm_registrants() must be called as an AFTER INSERT statement trigger");

	if (room_made_in == MyProc->lxid)
	{
		MigrOwnerScope scope;

		migr_catalog_open(&scope);
		migr_catalog_confirm_restored_registrants();
		migr_owner_end(&scope);
		SPI_finish();
	}
	return PointerGetDatum(NULL);
}
