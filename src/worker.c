/*-------------------------------------------------------------------------
 *
 * worker.c
 *		migr's background workers: work that cannot run in the caller's
 *		transaction, done by a process of its own that the caller starts,
 *		waits for, and speaks through.
 *
 * Two kinds of work need one.  A step with statements that PostgreSQL runs
 * only at the top level, outside any transaction block (CREATE INDEX
 * CONCURRENTLY ...), cannot run inside a function, not even a procedure:
 * CALL migr_upgrade_each() hands it to a worker that runs it as a psql
 * session runs the step of a migr_script() script (offline.c has the
 * worker's entry point).  And the record of a failed operation must be
 * committed while the caller's transaction is rolled back: a worker writes
 * it in a transaction of its own (migr_worker_record_failure below).
 *
 * The workers are dynamic background workers of the migr library, so no
 * shared_preload_libraries entry is needed; they take a slot of
 * max_worker_processes while they run.  The caller passes the job through
 * a dynamic shared memory segment: the database, the role to connect as,
 * the job's arguments, and the caller's settings that decide what a step
 * does and how its messages read (search_path, migr.*, TimeZone ...).  The
 * worker redirects its client messages to a shared memory queue, as a
 * parallel worker does; the caller relays each NOTICE or WARNING as it
 * arrives and raises the worker's error as its own, SQLSTATE, detail,
 * hint and context unchanged, once the worker has exited (so whatever it
 * held, the migr lock above all, is released by then).
 *
 * If the caller fails or is cancelled while it waits, it stops the worker
 * and waits for it to exit; if the caller's process dies, detaching from
 * the segment stops the worker.  A worker that dies (pg_terminate_backend)
 * releases its locks as any backend does, and its last words reach the
 * caller as an error.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "libpq/pqformat.h"
#include "libpq/pqmq.h"
#include "miscadmin.h"
#include "parser/analyze.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shm_mq.h"
#include "storage/shm_toc.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/pg_lsn.h"
#include "utils/portal.h"
#include "utils/ps_status.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "migr.h"

/* Keys of the shared memory segment's table of contents. */
#define WORKER_MAGIC		0x6D677277
#define KEY_FIXED			1
#define KEY_ARGS			2
#define KEY_SETTINGS		3
#define KEY_QUEUE			4

/* Messages a worker may send before the caller reads them. */
#define QUEUE_SIZE			65536

/* How long a failure record may take before the caller gives up on it. */
#define RECORD_TIMEOUT_MS	10000

/*
 * The caller's settings a worker takes over: what decides what a step does
 * (the migr.* settings, search_path, lock_timeout) and how its messages and
 * records read (application_name, the date and time formats).
 */
static const char *const copied_settings[] = {
	"search_path",
	"lock_timeout",
	"application_name",
	"TimeZone",
	"DateStyle",
	"IntervalStyle",
	"client_min_messages",
	"migr.environment",
	"migr.confirm_production",
	"migr.allow_adhoc_ddl",
	"migr.allow_destructive",
	"migr.lock_timeout",
	"migr.statement_timeout"
};

/* The fixed part of the segment. */
typedef struct WorkerShared
{
	Oid			database;
	Oid			role;
	/* Written by the worker: */
	int			statement;		/* number of the statement it runs, or 0 */
	bool		finished;		/* it did its job */
} WorkerShared;

/* In a worker: its segment's fixed part. */
static WorkerShared *my_shared = NULL;

/* Size of "strings" (NULL entries allowed) packed by pack_strings(). */
static Size
packed_size(List *strings)
{
	Size		size = sizeof(int32);
	ListCell   *lc;

	foreach(lc, strings)
	{
		const char *s = lfirst(lc);

		size = add_size(size, sizeof(int32));
		if (s != NULL)
			size = add_size(size, strlen(s) + 1);
	}
	return size;
}

/* Pack "strings" at "dest": a count, then each length (-1: NULL) and text. */
static void
pack_strings(char *dest, List *strings)
{
	int32		n = list_length(strings);
	ListCell   *lc;

	memcpy(dest, &n, sizeof(int32));
	dest += sizeof(int32);
	foreach(lc, strings)
	{
		const char *s = lfirst(lc);
		int32		len = s ? (int32) strlen(s) : -1;

		memcpy(dest, &len, sizeof(int32));
		dest += sizeof(int32);
		if (s != NULL)
		{
			memcpy(dest, s, len + 1);
			dest += len + 1;
		}
	}
}

/* The strings pack_strings() packed at "src", copied. */
static List *
unpack_strings(const char *src)
{
	int32		n;
	List	   *result = NIL;

	memcpy(&n, src, sizeof(int32));
	src += sizeof(int32);
	for (int i = 0; i < n; i++)
	{
		int32		len;

		memcpy(&len, src, sizeof(int32));
		src += sizeof(int32);
		if (len < 0)
			result = lappend(result, NULL);
		else
		{
			result = lappend(result, pstrdup(src));
			src += len + 1;
		}
	}
	return result;
}

/* The caller's values of copied_settings, as name, value, name, value ... */
static List *
caller_settings(void)
{
	List	   *result = NIL;

	for (int i = 0; i < (int) lengthof(copied_settings); i++)
	{
		const char *value = GetConfigOption(copied_settings[i], true, false);

		if (value == NULL)
			continue;
		result = lappend(result, pstrdup(copied_settings[i]));
		result = lappend(result, pstrdup(value));
	}
	return result;
}

/*
 * The caller's segment goes away (its transaction ended, or its process):
 * a worker still running has nobody to report to, and must not keep
 * anything held; stop it.
 */
static void
stop_worker_on_detach(dsm_segment *seg, Datum arg)
{
	TerminateBackgroundWorker((BackgroundWorkerHandle *) DatumGetPointer(arg));
}

/* Refuse to run "what" for want of a worker slot; changes nothing. */
void
migr_worker_refuse_no_slot(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("no background worker slot is free to run %s", what),
			 errdetail("migr runs statements that cannot run inside a transaction in a background worker, and every one of the max_worker_processes slots (%d) is taken.",
					   max_worker_processes),
			 errhint("Try again when fewer background workers run, or raise max_worker_processes (this needs a restart).")));
}

/*
 * Relay one message of the worker.  A NOTICE or WARNING is raised here at
 * once, as the caller's own; an error (a FATAL of a worker that was
 * terminated among them) is kept in "error", to be raised as an ERROR of
 * the caller once the worker is gone.
 */
static void
relay_message(char *data, Size nbytes, ErrorData **error)
{
	StringInfoData msg;
	char		type;

	initStringInfo(&msg);
	appendBinaryStringInfo(&msg, data, (int) nbytes);
	type = pq_getmsgbyte(&msg);
	if (type == 'E' || type == 'N')
	{
		ErrorData	edata;

		memset(&edata, 0, sizeof(edata));
		pq_parse_errornotice(&msg, &edata);
		if (edata.elevel >= ERROR)
		{
			if (*error == NULL)
			{
				*error = palloc(sizeof(ErrorData));
				memcpy(*error, &edata, sizeof(ErrorData));
				(*error)->elevel = ERROR;
			}
		}
		else
			ThrowErrorData(&edata);
	}
	/* Anything else (a command's completion, a result) says nothing new. */
	pfree(msg.data);
}

/*
 * Run "function" of the migr library in a background worker connected to
 * this database as "role", with "args", and wait for it.  Its notices are
 * relayed as they come.  Returns false, having started nothing, when no
 * worker slot is free and "must_start" is false (else that is an error).
 * "timeout_ms" (0: none) bounds the wait; then the worker is stopped.
 *
 * The outcome goes to "outcome": whether the worker said it finished, the
 * number of the statement it was at, and its error (NULL if none), which
 * the caller raises or reports as it sees fit.  An error or cancel of the
 * caller while it waits stops the worker and waits for it to exit first;
 * "outcome" then says which statement the worker was at.
 */
bool
migr_worker_run(const char *function, const char *what, Oid role, List *args,
				bool must_start, int timeout_ms, MigrWorkerOutcome *outcome)
{
	List	   *settings = caller_settings();
	shm_toc_estimator e;
	Size		size;
	dsm_segment *seg;
	shm_toc    *toc;
	WorkerShared *shared;
	char	   *packed;
	shm_mq	   *mq;
	shm_mq_handle *mqh;
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	MemoryContext old;
	TimestampTz deadline = timeout_ms > 0
	? TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms) : 0;
	ErrorData  *error = NULL;

	memset(outcome, 0, sizeof(MigrWorkerOutcome));

	shm_toc_initialize_estimator(&e);
	shm_toc_estimate_chunk(&e, sizeof(WorkerShared));
	shm_toc_estimate_chunk(&e, packed_size(args));
	shm_toc_estimate_chunk(&e, packed_size(settings));
	shm_toc_estimate_chunk(&e, QUEUE_SIZE);
	shm_toc_estimate_keys(&e, 4);
	size = shm_toc_estimate(&e);

	seg = dsm_create(size, 0);
	toc = shm_toc_create(WORKER_MAGIC, dsm_segment_address(seg), size);
	shared = shm_toc_allocate(toc, sizeof(WorkerShared));
	memset(shared, 0, sizeof(WorkerShared));
	shared->database = MyDatabaseId;
	shared->role = role;
	shm_toc_insert(toc, KEY_FIXED, shared);
	packed = shm_toc_allocate(toc, packed_size(args));
	pack_strings(packed, args);
	shm_toc_insert(toc, KEY_ARGS, packed);
	packed = shm_toc_allocate(toc, packed_size(settings));
	pack_strings(packed, settings);
	shm_toc_insert(toc, KEY_SETTINGS, packed);
	mq = shm_mq_create(shm_toc_allocate(toc, QUEUE_SIZE), QUEUE_SIZE);
	shm_toc_insert(toc, KEY_QUEUE, mq);
	shm_mq_set_receiver(mq, MyProc);
	mqh = shm_mq_attach(mq, seg, NULL);

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "migr");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "%s", function);
	snprintf(worker.bgw_name, BGW_MAXLEN, "migr worker for PID %d", MyProcPid);
	snprintf(worker.bgw_type, BGW_MAXLEN, "migr worker");
	worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg));
	worker.bgw_notify_pid = MyProcPid;

	/* The handle must outlive whatever context an abort resets. */
	old = MemoryContextSwitchTo(TopMemoryContext);
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		MemoryContextSwitchTo(old);
		dsm_detach(seg);
		if (must_start)
			migr_worker_refuse_no_slot(what);
		return false;
	}
	MemoryContextSwitchTo(old);
	shm_mq_set_handle(mqh, handle);
	on_dsm_detach(seg, stop_worker_on_detach, PointerGetDatum(handle));

	PG_TRY();
	{
		for (;;)
		{
			Size		nbytes;
			void	   *data;
			shm_mq_result res = shm_mq_receive(mqh, &nbytes, &data, true);
			long		wait = -1;

			if (res == SHM_MQ_SUCCESS)
			{
				relay_message(data, nbytes, &error);
				continue;
			}
			if (res == SHM_MQ_DETACHED)
				break;
			if (deadline != 0)
			{
				wait = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
				if (wait <= 0)
				{
					TerminateBackgroundWorker(handle);
					ereport(ERROR,
							(errcode(ERRCODE_QUERY_CANCELED),
							 errmsg("background worker running %s did not finish within %d ms",
									what, timeout_ms)));
				}
			}
			(void) WaitLatch(MyLatch,
							 WL_LATCH_SET | WL_EXIT_ON_PM_DEATH | (wait >= 0 ? WL_TIMEOUT : 0),
							 wait, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
		(void) WaitForBackgroundWorkerShutdown(handle);
	}
	PG_CATCH();
	{
		/*
		 * Cancelled, or out of time: stop the worker, and let it release what
		 * it holds before this error reaches the client.
		 */
		TerminateBackgroundWorker(handle);
		HOLD_INTERRUPTS();
		(void) WaitForBackgroundWorkerShutdown(handle);
		RESUME_INTERRUPTS();
		outcome->statement = shared->statement;
		PG_RE_THROW();
	}
	PG_END_TRY();

	outcome->finished = shared->finished;
	outcome->statement = shared->statement;
	cancel_on_dsm_detach(seg, stop_worker_on_detach, PointerGetDatum(handle));
	dsm_detach(seg);
	pfree(handle);

	if (error == NULL && !outcome->finished)
	{
		error = palloc0(sizeof(ErrorData));
		error->elevel = ERROR;
		error->sqlerrcode = ERRCODE_INTERNAL_ERROR;
		error->message = psprintf("background worker running %s exited before it finished",
								  what);
	}
	outcome->error = error;
	return true;
}

/* ---------------------------------------------------------------------
 * In the worker
 * ---------------------------------------------------------------------
 */

/*
 * Start a worker's job: attach to the caller's segment, send every
 * message to the caller from now on, connect to the caller's database as
 * the role chosen for the job, take over the caller's settings.  Returns
 * the job's arguments.  Whatever fails from here on ends the process, and
 * its error reaches the caller.
 */
List *
migr_worker_attach(Datum main_arg)
{
	dsm_segment *seg;
	shm_toc    *toc;
	shm_mq	   *mq;
	List	   *settings;
	List	   *args;
	ListCell   *lc;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	CurrentResourceOwner = ResourceOwnerCreate(NULL, "migr worker");

	seg = dsm_attach(DatumGetUInt32(main_arg));
	if (seg == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not map the shared memory segment of a migr worker")));
	toc = shm_toc_attach(WORKER_MAGIC, dsm_segment_address(seg));
	if (toc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("bad magic number in the shared memory segment of a migr worker")));
	mq = shm_toc_lookup(toc, KEY_QUEUE, false);
	shm_mq_set_sender(mq, MyProc);
	pq_redirect_to_shm_mq(seg, shm_mq_attach(mq, seg, NULL));

	my_shared = shm_toc_lookup(toc, KEY_FIXED, false);
	BackgroundWorkerInitializeConnectionByOid(my_shared->database, my_shared->role, 0);

	/* The worker's memory is its own for its short life. */
	MemoryContextSwitchTo(TopMemoryContext);
	args = unpack_strings(shm_toc_lookup(toc, KEY_ARGS, false));
	settings = unpack_strings(shm_toc_lookup(toc, KEY_SETTINGS, false));

	StartTransactionCommand();
	for (lc = list_head(settings); lc != NULL; lc = lnext(settings, lnext(settings, lc)))
		(void) set_config_option(lfirst(lc), lfirst(lnext(settings, lc)),
								 PGC_SUSET, PGC_S_SESSION, GUC_ACTION_SET,
								 true, 0, false);
	CommitTransactionCommand();
	MemoryContextSwitchTo(TopMemoryContext);
	return args;
}

/* In a worker: the statement it runs now (1-based), for the caller. */
void
migr_worker_progress(int statement)
{
	if (my_shared != NULL)
		my_shared->statement = statement;
}

/* In a worker: its job is done. */
void
migr_worker_done(void)
{
	if (my_shared != NULL)
		my_shared->finished = true;
}

/*
 * In a worker: run "sql", one statement, at the top level and in a
 * transaction of its own, as a psql session's simple query runs it: a
 * statement that PostgreSQL runs only outside a transaction block (CREATE
 * INDEX CONCURRENTLY) may, and commits on its own.  The DDL guard's hooks
 * see it as a statement the client sent.  Errors propagate.
 */
void
migr_worker_exec(const char *sql)
{
	MemoryContext stmt_cxt = AllocSetContextCreate(TopMemoryContext,
												   "migr worker statement",
												   ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(stmt_cxt);
	List	   *parsetrees;
	ListCell   *lc;

	debug_query_string = sql;
	SetCurrentStatementStartTimestamp();
	pgstat_report_activity(STATE_RUNNING, sql);
	StartTransactionCommand();
	MemoryContextSwitchTo(stmt_cxt);
	parsetrees = pg_parse_query(sql);

	foreach(lc, parsetrees)
	{
		RawStmt    *parsetree = lfirst_node(RawStmt, lc);
		CommandTag	tag = CreateCommandTag(parsetree->stmt);
		bool		snapshot_set = false;
		List	   *queries;
		List	   *plans;
		Portal		portal;
		DestReceiver *receiver;
		QueryCompletion qc;
		int16		format = 0;
		MigrStatementInfo info;
		bool		restricted;
		bool		in_block;
		Oid			saved_userid;
		int			saved_sec_context;

		if (IsA(parsetree->stmt, TransactionStmt))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("a migration step outside a transaction cannot control transactions"),
					 errhint("Leave out BEGIN, COMMIT and ROLLBACK: each statement of such a step commits on its own.")));
		set_ps_display(GetCommandTagName(tag));
		if (analyze_requires_snapshot(parsetree))
		{
			PushActiveSnapshot(GetTransactionSnapshot());
			snapshot_set = true;
		}

		/*
		 * A statement PostgreSQL also runs inside a transaction block runs
		 * security-restricted, as every statement of migr_upgrade_each's
		 * transactional steps does (apply.c): nothing in it can SET ROLE,
		 * also to a role of which the step's role is a NOINHERIT member, or
		 * leave a deferred trigger for later.  A CALL runs as inside BEGIN:
		 * its procedure cannot commit, so the restriction holds to its end.
		 * The statements that must run outside a block (CREATE INDEX
		 * CONCURRENTLY ...) commit on their own and cannot be restricted;
		 * PostgreSQL runs what user code they call (index expressions) as the
		 * table's owner, security-restricted itself.
		 */
		migr_analyze_statement(parsetree->stmt, namespace_search_path, &info);
		restricted = info.transactional;
		in_block = restricted && IsA(parsetree->stmt, CallStmt);
		if (in_block)
		{
			BeginTransactionBlock();
			CommitTransactionCommand();
			StartTransactionCommand();
			MemoryContextSwitchTo(stmt_cxt);
		}
		/* Kept out of the transaction's memory: the statement may commit. */
		queries = pg_analyze_and_rewrite_fixedparams(parsetree, sql, NULL, 0, NULL);
		plans = pg_plan_queries(queries, sql, CURSOR_OPT_PARALLEL_OK, NULL);
		if (snapshot_set)
			PopActiveSnapshot();
		CHECK_FOR_INTERRUPTS();

		portal = CreatePortal("", true, true);
		portal->visible = false;
		PortalDefineQuery(portal, NULL, sql, tag, plans, NULL);
		PortalStart(portal, NULL, 0, InvalidSnapshot);
		PortalSetResultFormat(portal, 1, &format);
		receiver = CreateDestReceiver(DestNone);
		MemoryContextSwitchTo(stmt_cxt);
		GetUserIdAndSecContext(&saved_userid, &saved_sec_context);
		if (restricted)
			SetUserIdAndSecContext(saved_userid, saved_sec_context |
								   SECURITY_LOCAL_USERID_CHANGE |
								   SECURITY_RESTRICTED_OPERATION);
		(void) PortalRun(portal, FETCH_ALL, true, true, receiver, receiver, &qc);
		receiver->rDestroy(receiver);
		PortalDrop(portal, false);
		if (restricted)
		{
			/* Deferred triggers fire now, still restricted, not at commit. */
			AfterTriggerFireDeferred();
			SetUserIdAndSecContext(saved_userid, saved_sec_context);
		}
		if (in_block)
		{
			EndTransactionBlock(false);
			CommitTransactionCommand();
			StartTransactionCommand();
		}
		MemoryContextSwitchTo(stmt_cxt);
	}

	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	debug_query_string = NULL;
	MemoryContextSwitchTo(old);
	MemoryContextDelete(stmt_cxt);
}

/* ---------------------------------------------------------------------
 * Failure records
 * ---------------------------------------------------------------------
 */

/*
 * Commit the record of a failed step of the caller's operation, whose
 * transaction is about to roll back, in a worker's transaction of its own:
 * the migr.log row that says which revision, statement and line failed,
 * with which SQLSTATE and message, who called and with which target.
 * Called while the caller handles the error, before it is raised again.
 * Returns false, after a WARNING that the record is missing, when no
 * worker could write it; the failure itself is raised anyway.
 */
bool
migr_worker_record_failure(const MigrStepRecord *rec, const char *statement,
						   int line, const ErrorData *edata,
						   const MigrCaller *caller)
{
	List	   *args = NIL;
	MigrWorkerOutcome outcome;
	const char *volatile why = NULL;
	MemoryContext cxt = CurrentMemoryContext;

	args = lappend(args, psprintf(INT64_FORMAT, rec->run_id));
	args = lappend(args, (char *) rec->operation);
	args = lappend(args, (char *) rec->revision);
	args = lappend(args, rec->up ? "up" : "down");
	args = lappend(args, (char *) rec->target);
	args = lappend(args, (char *) rec->checksum);
	args = lappend(args, (char *) statement);
	args = lappend(args, line > 0 ? psprintf("%d", line) : NULL);
	args = lappend(args, unpack_sql_state(edata->sqlerrcode));
	args = lappend(args, edata->message);
	args = lappend(args, psprintf(INT64_FORMAT, (int64) rec->started_at));
	args = lappend(args, psprintf(INT64_FORMAT, (int64) GetCurrentTimestamp()));
	args = lappend(args, psprintf(UINT64_FORMAT, (uint64) rec->wal_before));
	args = lappend(args, caller->session_user_name);
	args = lappend(args, caller->current_user_name);

	/* The caller is in the middle of an error: interrupts wait. */
	HOLD_INTERRUPTS();
	PG_TRY();
	{
		if (!migr_worker_run("migr_failure_worker_main", "the failure record",
							 GetAuthenticatedUserId(), args, false,
							 RECORD_TIMEOUT_MS, &outcome))
			why = psprintf("no background worker slot was free (max_worker_processes is %d)",
						   max_worker_processes);
		else if (outcome.error != NULL)
			why = psprintf("its background worker failed: %s", outcome.error->message);
	}
	PG_CATCH();
	{
		ErrorData  *err;

		MemoryContextSwitchTo(cxt);
		err = CopyErrorData();
		FlushErrorState();
		why = psprintf("its background worker failed: %s", err->message);
	}
	PG_END_TRY();
	RESUME_INTERRUPTS();

	if (why == NULL)
		return true;
	ereport(WARNING,
			(errmsg("the failure of revision \"%s\" is not recorded in migr.log", rec->revision),
			 errdetail("The record could not be written: %s.", why),
			 errhint("The server log has the failure.")));
	return false;
}

/*
 * The worker that writes a failure record: one row, committed.  Its
 * arguments are those migr_worker_record_failure() packs.
 */
void
migr_failure_worker_main(Datum main_arg)
{
	List	   *args = migr_worker_attach(main_arg);
	MigrStepRecord rec = {0};
	MigrCaller	caller = {0};
	MigrOwnerScope scope;
	const char *line;

	rec.run_id = pg_strtoint64(list_nth(args, 0));
	rec.operation = list_nth(args, 1);
	rec.revision = list_nth(args, 2);
	rec.up = strcmp(list_nth(args, 3), "up") == 0;
	rec.target = list_nth(args, 4);
	rec.checksum = list_nth(args, 5);
	line = list_nth(args, 7);
	rec.started_at = (TimestampTz) pg_strtoint64(list_nth(args, 10));
	rec.finished_at = (TimestampTz) pg_strtoint64(list_nth(args, 11));
	rec.wal_before = (XLogRecPtr) strtou64(list_nth(args, 12), NULL, 10);
	caller.current_user_id = GetUserId();
	caller.session_user_name = list_nth(args, 13);
	caller.current_user_name = list_nth(args, 14);

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	migr_catalog_open(&scope);
	migr_catalog_record_failure(&rec, list_nth(args, 6),
								line ? pg_strtoint32(line) : 0,
								list_nth(args, 8), list_nth(args, 9), &caller);
	migr_owner_end(&scope);
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	migr_worker_done();
}
