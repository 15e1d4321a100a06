/*-------------------------------------------------------------------------
 *
 * progress.c
 *		What pg_stat_activity shows of a running operation: while its
 *		steps run, the query column of the deploying backend says which
 *		operation, step i of n, the revision and the statement running.
 *
 * A long upgrade is a single statement for the server (SELECT
 * migr_upgrade(...) or CALL migr_upgrade_each(...)), so without this a DBA
 * watching pg_stat_activity sees the same text for an hour.  The text is
 * written with pgstat_report_activity(), the way the server reports a new
 * query, and follows track_activities: with it off nothing is written (nor
 * formatted).  When the operation ends, the caller's own text and query id
 * are put back: by migr_progress_end() when it returns, and by the
 * transaction callbacks below when an error ends it, so an idle session
 * shows the query it last ran, as after any other statement.
 *
 * An error that aborts a subtransaction at or below the level where the
 * progress began (a PL/pgSQL block that catches the error of SELECT
 * migr_upgrade(...)) ends it too; the subtransactions the operation itself
 * opens and rolls back (dry runs, the steps of migr_upgrade_each) are above
 * that level and do not.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "lib/stringinfo.h"
#include "utils/backend_status.h"
#include "utils/memutils.h"

#include "migr.h"

/* Is a progress text shown now? */
static bool progress_active = false;

/* Transaction nesting level where the operation began. */
static int	progress_level = 0;

/* What the backend showed before: the caller's query and its query id. */
static char *caller_activity = NULL;
static uint64 caller_query_id = 0;

/* "migr upgrade to "head"" */
static StringInfoData operation_text;
static int	total_steps = 0;

/* The operation and step part of the text; the statement is appended. */
static StringInfoData step_text;

/* The whole text, as reported. */
static StringInfoData activity_text;

static bool callbacks_registered = false;

static void restore_caller_activity(void);

/* An error ended the transaction: the operation is over. */
static void
progress_xact_callback(XactEvent event, void *arg)
{
	if (progress_active &&
		(event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT))
		restore_caller_activity();
}

/* An error ended the subtransaction the operation began in (or one below). */
static void
progress_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						  SubTransactionId parentSubid, void *arg)
{
	if (progress_active && event == SUBXACT_EVENT_ABORT_SUB &&
		GetCurrentTransactionNestLevel() <= progress_level)
		restore_caller_activity();
}

static void
restore_caller_activity(void)
{
	progress_active = false;
	pgstat_report_activity(STATE_RUNNING, caller_activity);
	pgstat_report_query_id(caller_query_id, true);
}

/*
 * An operation ("upgrade", "dry run of upgrade", ...) towards "target"
 * (NULL: none) begins, with "nsteps" steps planned.  Remembers what the
 * backend shows now, to put it back at the end.
 */
void
migr_progress_begin(const char *operation, const char *target, int nsteps)
{
	MemoryContext old;

	if (progress_active)
		restore_caller_activity();
	if (!pgstat_track_activities || MyBEEntry == NULL)
		return;

	old = MemoryContextSwitchTo(TopMemoryContext);
	if (!callbacks_registered)
	{
		RegisterXactCallback(progress_xact_callback, NULL);
		RegisterSubXactCallback(progress_subxact_callback, NULL);
		caller_activity = palloc(pgstat_track_activity_query_size);
		initStringInfo(&operation_text);
		initStringInfo(&step_text);
		initStringInfo(&activity_text);
		callbacks_registered = true;
	}
	MemoryContextSwitchTo(old);

	strlcpy(caller_activity, MyBEEntry->st_activity_raw,
			pgstat_track_activity_query_size);
	caller_query_id = pgstat_get_my_query_id();
	progress_level = GetCurrentTransactionNestLevel();
	total_steps = nsteps;

	resetStringInfo(&operation_text);
	appendStringInfo(&operation_text, "migr %s", operation);
	if (target != NULL)
		appendStringInfo(&operation_text, " to \"%s\"", target);
	progress_active = true;
}

/* Step "number" (of the planned steps) begins: revision "id", up or down. */
void
migr_progress_step(int number, const char *id, bool up)
{
	if (!progress_active || !pgstat_track_activities)
		return;
	resetStringInfo(&step_text);
	appendBinaryStringInfo(&step_text, operation_text.data, operation_text.len);
	appendStringInfo(&step_text, ": step %d of %d, revision \"%s\" (%s)",
					 number, total_steps, id, up ? "upgrade" : "downgrade");
	pgstat_report_activity(STATE_RUNNING, step_text.data);
}

/*
 * Statement "number" of "count" of the step's script begins.  Only as much
 * of its text is copied as pg_stat_activity keeps.
 */
void
migr_progress_statement(int number, int count, const char *text)
{
	int			room;

	if (!progress_active || !pgstat_track_activities)
		return;
	resetStringInfo(&activity_text);
	appendBinaryStringInfo(&activity_text, step_text.data, step_text.len);
	appendStringInfo(&activity_text, ", statement %d of %d: ", number, count);
	room = pgstat_track_activity_query_size - 1 - activity_text.len;
	if (room > 0)
		appendBinaryStringInfo(&activity_text, text, strnlen(text, room));
	pgstat_report_activity(STATE_RUNNING, activity_text.data);
}

/* The operation is over: show the caller's query again. */
void
migr_progress_end(void)
{
	if (progress_active)
		restore_caller_activity();
}
