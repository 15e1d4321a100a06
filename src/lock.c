/*-------------------------------------------------------------------------
 *
 * lock.c
 *		Serializes migr operations that change the catalog.
 *
 * Two advisory locks in a lock class of migr's own: user calls of
 * pg_advisory_lock() use classes 1 and 2 (the objsubid column of pg_locks),
 * so they can never collide with them.
 *
 * The operation lock (objid 0) is what every operation takes, in exclusive
 * mode, normally for its transaction: commit or abort releases it, so a
 * crashed or cancelled session never leaves it behind.  lock_timeout and
 * statement_timeout apply to the wait as to any lock.
 *
 * A step of a migr_script() script that runs outside a transaction (CREATE
 * INDEX CONCURRENTLY ...) holds the operation lock at session level from
 * migr_step_begin() to migr_step_end(), and with it the step lock (objid 1),
 * also exclusive and at session level.  Such a step must never wait for a
 * migr call: its statements wait for every transaction older than
 * themselves, so a call queued behind the step inside its transaction would
 * close a cycle that PostgreSQL breaks by cancelling one of the two, often
 * the index build.  Hence:
 *
 * - an operation first takes the step lock in share mode, without waiting:
 *   if a running step holds it, the operation fails at once (55P03) and
 *   names the step; otherwise it may wait for the operation lock, and no
 *   step can start meanwhile (it needs the step lock exclusively).  The
 *   share lock is dropped once the operation lock is granted;
 * - a step never queues for either lock: it tries both without waiting and
 *   sleeps between attempts, so it can never stand in a queue that a
 *   transaction waits in.  It takes the operation lock first, then the step
 *   lock, and gives both up if it cannot have the second.
 *
 * A session holds its step's locks once, however often it asks: a second
 * request is a no-op, and migr_lock_release_session() gives them up
 * whatever happened in between.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "utils/timestamp.h"

#include "migr.h"

/* Lock class (pg_locks.objsubid) and key (pg_locks.classid: "migr" in ASCII). */
#define MIGR_LOCK_CLASS		0x4D47
#define MIGR_LOCK_KEY		0x6D696772
/* pg_locks.objid of each lock. */
#define MIGR_LOCK_OPERATION	0
#define MIGR_LOCK_STEP		1

/* Sleep between two attempts of a step to take its locks, in milliseconds. */
#define STEP_RETRY_MIN_MS	5
#define STEP_RETRY_MAX_MS	100

/* Does this session hold both locks at session level (for a step)? */
static bool session_held = false;

static void
set_tag(LOCKTAG *tag, uint32 which)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, MIGR_LOCK_KEY, which, MIGR_LOCK_CLASS);
}

/* Try to take a lock without waiting; true if it is held now. */
static bool
try_lock(uint32 which, LOCKMODE mode, bool session)
{
	LOCKTAG		tag;

	set_tag(&tag, which);
	return LockAcquire(&tag, mode, session, true) != LOCKACQUIRE_NOT_AVAIL;
}

static void
unlock(uint32 which, LOCKMODE mode, bool session)
{
	LOCKTAG		tag;

	set_tag(&tag, which);
	(void) LockRelease(&tag, mode, session);
}

/*
 * The process holding the step lock (running a step outside a
 * transaction), or 0 if none does.
 */
int
migr_lock_step_holder(void)
{
	LOCKTAG		tag;
	LockData   *data;
	int			pid = 0;

	set_tag(&tag, MIGR_LOCK_STEP);
	data = GetLockStatusData();
	for (int i = 0; i < data->nelements && pid == 0; i++)
	{
		LockInstanceData *inst = &data->locks[i];

		if (memcmp(&inst->locktag, &tag, sizeof(LOCKTAG)) == 0 &&
			(inst->holdMask & LOCKBIT_ON(ExclusiveLock)))
			pid = inst->pid;
	}
	return pid;
}

/*
 * Fail because a step of another session runs outside a transaction: say
 * which one, and why waiting for it is not an option.  Called with SPI
 * connected, in an owner scope, as every caller of the lock functions is.
 */
static void
refuse_behind_running_step(const char *operation)
{
	int			pid = migr_lock_step_holder();
	MigrInProgress *step = migr_catalog_newest_in_progress();

	if (step == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("a migr script step is starting outside a transaction in another session"),
				 errdetail("Process %d holds the lock of such a step. Operation \"%s\" waiting for it would hold it up.",
						   pid, operation),
				 errhint("Try again when the step has finished; migr_status() lists it under in_progress.")));
	ereport(ERROR,
			(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
			 errmsg("migr step \"%s\" (%s) is running outside a transaction in another session",
					step->revision, step->direction),
			 errdetail("Process %d began it at %s as %s. Operation \"%s\" waiting for it would hold it up: statements such as CREATE INDEX CONCURRENTLY wait for every older transaction, and PostgreSQL would cancel one of the two.",
					   pid, step->started_at, step->started_by, operation),
			 errhint("Try again when the step has finished; migr_status() lists it under in_progress.")));
}

static void
notice_waiting(const char *operation)
{
	ereport(NOTICE,
			(errmsg("operation \"%s\" is waiting for another migr operation to finish",
					operation),
			 errdetail("Operations that change migr's catalog run one at a time in each database.")));
}

/*
 * Take the operation lock for this transaction, waiting for any other
 * holder, unless a step runs outside a transaction: then fail at once.
 * "operation" names the caller's operation in the messages, as migr.log
 * names operations ("upgrade", "register", ...).
 */
void
migr_lock_acquire(const char *operation)
{
	if (!try_lock(MIGR_LOCK_STEP, ShareLock, false))
		refuse_behind_running_step(operation);

	if (!try_lock(MIGR_LOCK_OPERATION, ExclusiveLock, false))
	{
		LOCKTAG		tag;

		notice_waiting(operation);
		set_tag(&tag, MIGR_LOCK_OPERATION);
		(void) LockAcquire(&tag, ExclusiveLock, false, false);
	}

	/* Granted: no step can start before this transaction ends anyway. */
	unlock(MIGR_LOCK_STEP, ShareLock, false);
}

/*
 * Both locks for a step of a migr_script() script that runs outside a
 * transaction, held by the session until migr_lock_release_session() or
 * the end of the session.  A no-op if this session holds them already.
 * Waits (without queueing) for operations in progress, but fails at once
 * if another step runs outside a transaction.  lock_timeout limits the
 * wait; statement_timeout and cancel interrupt it.
 */
void
migr_lock_acquire_session(const char *operation)
{
	TimestampTz start = GetCurrentTimestamp();
	long		delay = STEP_RETRY_MIN_MS;
	bool		noticed = false;

	if (session_held)
		return;

	for (;;)
	{
		if (try_lock(MIGR_LOCK_OPERATION, ExclusiveLock, true))
		{
			if (try_lock(MIGR_LOCK_STEP, ExclusiveLock, true))
			{
				session_held = true;
				return;
			}
			/* An operation is about to wait for the lock: let it have it. */
			unlock(MIGR_LOCK_OPERATION, ExclusiveLock, true);
		}
		else if (!try_lock(MIGR_LOCK_STEP, ShareLock, false))
			refuse_behind_running_step(operation);
		else
			unlock(MIGR_LOCK_STEP, ShareLock, false);

		if (!noticed)
		{
			notice_waiting(operation);
			noticed = true;
		}
		if (LockTimeout > 0 &&
			TimestampDifferenceExceeds(start, GetCurrentTimestamp(), LockTimeout))
			ereport(ERROR,
					(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
					 errmsg("canceling statement due to lock timeout"),
					 errdetail("Another migr operation held migr's lock for longer than lock_timeout.")));

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 delay, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		delay = Min(delay * 2, STEP_RETRY_MAX_MS);
	}
}

/* Does this session hold the locks of a step (migr_lock_acquire_session)? */
bool
migr_lock_session_held(void)
{
	return session_held;
}

/*
 * Give up the session's step locks now (after a failure: nothing of the
 * transaction becomes visible).  A no-op if the session holds none.
 */
void
migr_lock_release_session(void)
{
	if (!session_held)
		return;
	session_held = false;
	unlock(MIGR_LOCK_STEP, ExclusiveLock, true);
	unlock(MIGR_LOCK_OPERATION, ExclusiveLock, true);
}

/*
 * Give up the session's step locks at the end of the current transaction
 * (after a step: another operation must see what it recorded).  The
 * operation lock passes to the transaction, which releases it at commit
 * or abort; the step lock goes now, as operations may queue again.
 */
void
migr_lock_release_session_at_commit(void)
{
	LOCKTAG		tag;

	if (!session_held)
		return;
	set_tag(&tag, MIGR_LOCK_OPERATION);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
	migr_lock_release_session();
}
