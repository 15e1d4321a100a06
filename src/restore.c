/*-------------------------------------------------------------------------
 *
 * restore.c
 *		Restoring a dump keeps migr's log.
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
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/rel.h"

#include "migr.h"

PG_FUNCTION_INFO_V1(migr_log_make_room);

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
