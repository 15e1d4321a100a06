/*-------------------------------------------------------------------------
 *
 * lock.c
 *		Serializes migr operations that change the catalog.
 *
 * A transaction-scoped advisory lock in a lock class of migr's own: user
 * calls of pg_advisory_lock() use classes 1 and 2 (the objsubid column of
 * pg_locks), so they can never collide with it.  The lock is released by
 * commit or abort, so a crashed or cancelled session never leaves it behind.
 * lock_timeout and statement_timeout apply to the wait as to any lock.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"

#include "migr.h"

/* Lock class (pg_locks.objsubid) and key (pg_locks.classid: "migr" in ASCII). */
#define MIGR_LOCK_CLASS		0x4D47
#define MIGR_LOCK_KEY		0x6D696772

/*
 * Take the migr lock for this transaction, waiting for any other holder.
 * "operation" names the caller's operation in the message shown while it
 * waits.
 */
static void
acquire(const char *operation, bool session)
{
	LOCKTAG		tag;
	LockAcquireResult res;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, MIGR_LOCK_KEY, 0, MIGR_LOCK_CLASS);

	res = LockAcquire(&tag, ExclusiveLock, session, true);
	if (res != LOCKACQUIRE_NOT_AVAIL)
		return;

	ereport(NOTICE,
			(errmsg("waiting for another migr operation to finish before %s",
					operation),
			 errdetail("Operations that change migr's catalog run one at a time in each database.")));
	(void) LockAcquire(&tag, ExclusiveLock, session, false);
}

void
migr_lock_acquire(const char *operation)
{
	acquire(operation, false);
}

/*
 * The same lock held by the session, for a step of a migr_script() script
 * that runs outside a transaction; released by migr_lock_release_session()
 * or when the session ends.
 */
void
migr_lock_acquire_session(const char *operation)
{
	acquire(operation, true);
}

void
migr_lock_release_session(void)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, MIGR_LOCK_KEY, 0, MIGR_LOCK_CLASS);
	(void) LockRelease(&tag, ExclusiveLock, true);
}
