/*-------------------------------------------------------------------------
 *
 * offline.c
 *		migr_script(): a psql script that performs a plan, for revisions
 *		whose statements cannot run inside a transaction (CREATE INDEX
 *		CONCURRENTLY ...); and migr_step_begin() / migr_step_end(), the
 *		bookkeeping calls around each of its steps.
 *
 * A function can never run such statements, so these steps run at the top
 * level of a psql session, between two calls that keep version rows, log
 * and guards exactly as migr_upgrade() keeps them.  A transactional step is
 * wrapped in BEGIN ... COMMIT with both calls inside.  A step that cannot
 * be is bracketed by the calls on their own; the migr lock is then held at
 * session level from the first call to the second (lock.c: nothing waits
 * behind such a step, calls fail at once instead), and migr.in_progress
 * records the step, so that a failure in the middle leaves a state that
 * migr_status() explains.  Any error between the two calls ends the step
 * and gives the lock up at once, even if the session stays open; the
 * in_progress entry stays until the step runs again or an operation that
 * records where its revision is (a stamp, after a fix by hand) ends it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "migr.h"

PG_FUNCTION_INFO_V1(migr_script);
PG_FUNCTION_INFO_V1(migr_step_begin);
PG_FUNCTION_INFO_V1(migr_step_end);
/* The names sql/migr--0.1.sql gave them; see the end of this file. */
PG_FUNCTION_INFO_V1(migr_script_begin);
PG_FUNCTION_INFO_V1(migr_script_end);

/*
 * The step between migr_step_begin() and migr_step_end() in this session,
 * if any; whether there is one is kept in state.c, which the DDL guard
 * reads.  A step outside a transaction also holds migr's locks at session
 * level (lock.c); a transactional one holds the operation lock until its
 * transaction ends.
 */
static bool step_up = false;
static char step_id[MIGR_MAX_ID_LEN + 1];
static SubTransactionId step_begun_in = InvalidSubTransactionId;
static bool callback_registered = false;

static void step_begin(const char *id, bool up, const char *checksum,
					   const char *target, const MigrCaller *caller);
static void step_end(const char *id, bool up, const char *target,
					 const MigrCaller *caller);

/*
 * A failed transaction ends the step, and gives up the session's locks at
 * once: psql stops the script there, but the session may stay open (an
 * interactive \i), and must not keep every other deploy out.  The step
 * stays recorded in migr.in_progress.  A transactional step also ends with
 * its commit; a step outside a transaction goes on over several
 * transactions, one per statement, until migr_step_end().
 */
static void
step_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			migr_lock_release_session();
			migr_set_script_step_begun(false);
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			if (!migr_lock_session_held())
				migr_set_script_step_begun(false);
			break;
		default:
			break;
	}
}

/*
 * A subtransaction that undoes migr_step_begin() (ROLLBACK TO SAVEPOINT,
 * an exception block) undoes the step; one that is released hands the step
 * to its parent.
 */
static void
step_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					  SubTransactionId parentSubid, void *arg)
{
	if (!migr_script_step_begun() || mySubid != step_begun_in)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		migr_lock_release_session();
		migr_set_script_step_begun(false);
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
		step_begun_in = parentSubid;
}

/* The schema the migr functions live in (this one's), quoted for a script. */
static const char *
function_schema(FunctionCallInfo fcinfo)
{
	return quote_identifier(get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid)));
}

/*
 * Append "text" for a "--" comment line: nothing in it may end the comment
 * or make an editor show a new line, so a message, id or target cannot turn
 * into SQL or a psql meta-command.  Control characters (line feed, carriage
 * return, form feed ...), and in UTF-8 the C1 controls (NEL) and the line
 * and paragraph separators, are written as escapes (\n, \r, \t, \xHH,
 * \uHHHH), and a backslash as \\, so the comment still shows the text
 * unambiguously.
 */
static void
append_comment_text(StringInfo buf, const char *text)
{
	bool		utf8 = GetDatabaseEncoding() == PG_UTF8;

	for (const unsigned char *p = (const unsigned char *) text; *p != '\0'; p++)
	{
		if (*p == '\\')
			appendStringInfoString(buf, "\\\\");
		else if (*p == '\n')
			appendStringInfoString(buf, "\\n");
		else if (*p == '\r')
			appendStringInfoString(buf, "\\r");
		else if (*p == '\t')
			appendStringInfoString(buf, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			appendStringInfo(buf, "\\x%02x", *p);
		else if (utf8 && p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
		{
			/* U+0080 .. U+009F, NEL among them */
			appendStringInfo(buf, "\\u%04x", p[1]);
			p++;
		}
		else if (utf8 && p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
		{
			/* U+2028 LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR */
			appendStringInfo(buf, "\\u%04x", 0x2000 + (p[2] - 0x80));
			p += 2;
		}
		else
			appendStringInfoChar(buf, *p);
	}
}

/*
 * migr_script(target, direction): the psql script.
 *
 * What came from users goes in only where it cannot change what the script
 * does: messages, ids and the target in comments through
 * append_comment_text(), arguments as quoted literals, the registered
 * statements through migr_psql_text().  The script sets client_encoding
 * and turns standard_conforming_strings on first, as pg_dump's output does.
 */
Datum
migr_script(PG_FUNCTION_ARGS)
{
	MigrOwnerScope scope;
	MemoryContext fn_cxt = CurrentMemoryContext;
	MigrGraph  *graph;
	char	   *target;
	MigrOperation op = migr_direction_arguments(fcinfo, &target);
	const char *direction = migr_operation_names[op];
	const char *schema;
	List	   *steps;
	StringInfoData buf;
	ListCell   *lc;
	text	   *result;

	migr_citus_note_on_worker();
	schema = function_schema(fcinfo);
	migr_catalog_open(&scope);
	graph = migr_graph_load();
	steps = migr_plan_steps(graph, op, list_make1(target), false, target);

	/*
	 * First, in ASCII, what psql must know to read the rest as the server
	 * does: the encoding the text reaches this session's client in (psql
	 * lexes by it: in SJIS and the like, a byte after a multibyte lead byte
	 * is part of the character, quote or backslash or newline), and
	 * standard_conforming_strings.
	 */
	initStringInfo(&buf);
	appendStringInfo(&buf,
					 "\\set ON_ERROR_STOP on\n"
					 "SET client_encoding = %s;\n"
					 "SET standard_conforming_strings = on;\n",
					 quote_literal_cstr(pg_get_client_encoding_name()));
	appendStringInfo(&buf, "-- migr: %s to ", direction);
	append_comment_text(&buf, target);
	appendStringInfo(&buf,
					 ", %d step(s), generated %s\n"
					 "-- Apply with: psql -X -v ON_ERROR_STOP=1 -f this_file.sql\n"
					 "-- (not with -1: steps marked \"outside a transaction\" must run at top level)\n",
					 list_length(steps),
					 timestamptz_to_str(GetCurrentTimestamp()));

	foreach(lc, steps)
	{
		MigrPlanStep *step = lfirst(lc);
		MigrNode   *node = &graph->nodes[step->node];
		MigrRevisionRow *row = migr_catalog_fetch_revision(node->id);
		const char *dir = step->up ? "up" : "down";
		char	   *args = psprintf("%s, %s, %s, %s",
									quote_literal_cstr(node->id),
									quote_literal_cstr(dir),
									quote_literal_cstr(migr_checksum(row->upgrade, row->downgrade)),
									quote_literal_cstr(target));
		char	   *text = migr_psql_text(migr_step_script(row, step->up), node->id,
										  step->up ? "upgrade" : "downgrade");

		appendStringInfo(&buf, "\n-- step %d: ", foreach_current_index(lc) + 1);
		append_comment_text(&buf, node->id);
		appendStringInfo(&buf, " (%s) ", dir);
		append_comment_text(&buf, row->message);
		appendStringInfo(&buf, "%s\n",
						 node->transactional ? "" : ", outside a transaction");
		if (node->transactional)
			appendStringInfoString(&buf, "BEGIN;\n");
		appendStringInfo(&buf, "SELECT %s.migr_step_begin(%s);\n", schema, args);
		appendStringInfo(&buf, "%s\n;\n", text);
		appendStringInfo(&buf, "SELECT %s.migr_step_end(%s);\n", schema, args);
		if (node->transactional)
			appendStringInfoString(&buf, "COMMIT;\n");
		graph->nodes[step->node].applied = step->up;
	}

	migr_owner_end(&scope);
	MemoryContextSwitchTo(fn_cxt);
	result = cstring_to_text(buf.data);
	SPI_finish();
	PG_RETURN_TEXT_P(result);
}

/* Direction argument: "up" or "down". */
static bool
direction_is_up(const char *direction)
{
	if (strcmp(direction, "up") == 0)
		return true;
	if (strcmp(direction, "down") == 0)
		return false;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid direction \"%s\"", direction),
			 errhint("Use \"up\" or \"down\".")));
	return false;
}

/*
 * Is the step's revision in the state the step starts from: for up, not
 * applied with everything it needs applied; for down, applied with nothing
 * applied that needs it?
 */
static void
check_step_state(const MigrGraph *graph, int n, bool up)
{
	const MigrNode *node = &graph->nodes[n];
	Bitmapset  *around;
	int			m = -1;

	if (node->applied == up)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 up ? errmsg("revision \"%s\" is already applied", node->id)
				 : errmsg("revision \"%s\" is not applied", node->id),
				 errhint("The script is out of date; generate it again with migr_script().")));

	around = up ? migr_graph_ancestors(graph, list_make1_int(n))
		: migr_graph_descendants(graph, list_make1_int(n));
	around = bms_del_member(around, n);
	while ((m = bms_next_member(around, m)) >= 0)
		if (graph->nodes[m].applied != up)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 up ? errmsg("revision \"%s\" cannot go up before revision \"%s\"",
								 node->id, graph->nodes[m].id)
					 : errmsg("revision \"%s\" cannot go down before revision \"%s\"",
							  node->id, graph->nodes[m].id),
					 errhint("The script is out of date; generate it again with migr_script().")));
}

/*
 * Say that this step (of revision "id", direction "up") begins where an
 * earlier one on the same revision stopped, naming both directions: the
 * earlier step may have gone the other way.
 */
static void
notice_earlier_step(const char *id, bool up)
{
	MigrInProgress *earlier = migr_catalog_in_progress(id);
	const char *dir = up ? "up" : "down";

	if (earlier == NULL)
		return;
	if (strcmp(earlier->direction, dir) == 0)
		ereport(NOTICE,
				(errmsg("step \"%s\" (%s) was begun before, at %s, and did not finish; running it again",
						id, dir, earlier->started_at)));
	else
		ereport(NOTICE,
				(errmsg("step \"%s\" (%s) was begun at %s and did not finish; running step \"%s\" (%s) instead",
						id, earlier->direction, earlier->started_at, id, dir),
				 errdetail("Statements of the unfinished %s step may have run.",
						   earlier->direction)));
}

/*
 * migr_step_begin(revision, direction, checksum, target): check that the
 * step may run now and mark it as running.
 */
Datum
migr_step_begin(PG_FUNCTION_ARGS)
{
	MigrCaller	caller;

	migr_check_can_change(fcinfo);
	migr_capture_caller(&caller);
	step_begin(text_to_cstring(PG_GETARG_TEXT_PP(0)),
			   direction_is_up(text_to_cstring(PG_GETARG_TEXT_PP(1))),
			   text_to_cstring(PG_GETARG_TEXT_PP(2)),
			   text_to_cstring(PG_GETARG_TEXT_PP(3)), &caller);
	PG_RETURN_VOID();
}

/*
 * Begin step "id" (direction "up") of a script written for "target", for
 * "caller": the role running the statements, and the names the catalog
 * records.  A psql session calls it through migr_step_begin(), the worker
 * of CALL migr_upgrade_each() directly.
 */
static void
step_begin(const char *id, bool up, const char *checksum, const char *target,
		   const MigrCaller *caller)
{
	MigrOwnerScope scope;
	MigrGraph  *graph;
	MigrRevisionRow *row;
	MigrPlanStep step = {0};
	bool		in_block = IsTransactionBlock();

	migr_check_not_nested();
	if (migr_script_step_begun())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("a script step is running in this session already"),
				 errdetail("Step \"%s\" (%s) began and has not ended; this error ends it.",
						   step_id, step_up ? "up" : "down"),
				 errhint("Each migr_step_begin() needs its migr_step_end() first.")));

	/*
	 * A failure ends the step and releases its locks (step_xact_callback);
	 * should this session still hold them, they are not taken twice.
	 */
	if (!callback_registered)
	{
		RegisterXactCallback(step_xact_callback, NULL);
		RegisterSubXactCallback(step_subxact_callback, NULL);
		callback_registered = true;
	}
	migr_lock_release_session();

	migr_catalog_open(&scope);

	graph = migr_graph_load();
	step.node = migr_graph_find(graph, id);
	step.up = up;
	if (step.node < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("revision \"%s\" does not exist", id)));
	if (graph->nodes[step.node].transactional != in_block)
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 graph->nodes[step.node].transactional
				 ? errmsg("step \"%s\" must run inside a transaction block", id)
				 : errmsg("step \"%s\" must run outside a transaction block", id),
				 errhint("Run the script migr_script() wrote as it is, with psql -f and without -1.")));

	/*
	 * The lock: until commit inside a block, else until migr_step_end() or a
	 * failure.  Either fails at once (55P03) while another session runs a
	 * step outside a transaction.
	 */
	if (in_block)
		migr_lock_acquire("step");
	else
		migr_lock_acquire_session("step");

	/* Read again now that the lock is held. */
	graph = migr_graph_load();
	row = migr_catalog_fetch_revision(id);
	if (strcmp(migr_checksum(row->upgrade, row->downgrade), checksum) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_MIGR_CHECKSUM_MISMATCH),
				 errmsg("revision \"%s\" changed since the script was written", id),
				 errhint("Generate the script again with migr_script().")));
	check_step_state(graph, step.node, up);
	/* exec (issue 9, item 4): psql runs the step as this session. */
	migr_check_script_session(row, up, caller->current_user_id);
	migr_check_plan(graph, up ? MIGR_OP_UPGRADE : MIGR_OP_DOWNGRADE, list_make1(&step),
					caller, true);

	notice_earlier_step(id, up);
	migr_catalog_begin_in_progress(id, up, target, caller);

	/* Only the step's registered statements may run under its cover. */
	migr_step_cover_begin(id, up,
						  migr_parse_script(migr_step_script(row, up), id,
											up ? "upgrade" : "downgrade"),
						  in_block);

	migr_owner_end(&scope);
	SPI_finish();

	strlcpy(step_id, id, sizeof(step_id));
	step_up = up;
	step_begun_in = GetCurrentSubTransactionId();
	migr_set_script_step_begun(true);
}

/*
 * migr_step_end(revision, direction, checksum, target): record the step as
 * migr_upgrade() records one.
 */
Datum
migr_step_end(PG_FUNCTION_ARGS)
{
	MigrCaller	caller;

	migr_check_can_change(fcinfo);
	migr_capture_caller(&caller);
	step_end(text_to_cstring(PG_GETARG_TEXT_PP(0)),
			 direction_is_up(text_to_cstring(PG_GETARG_TEXT_PP(1))),
			 text_to_cstring(PG_GETARG_TEXT_PP(3)), &caller);
	PG_RETURN_VOID();
}

/* End step "id" (direction "up") begun by step_begin(), and record it. */
static void
step_end(const char *id, bool up, const char *target, const MigrCaller *caller)
{
	MigrOwnerScope scope;
	MigrGraph  *graph;
	MigrRevisionRow *row;
	MigrStepRecord rec = {0};
	int			n;

	if (!migr_script_step_begun())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no script step is running in this session"),
				 errdetail("A step ends when a statement of it fails; it stays recorded in migr.in_progress."),
				 errhint("migr_step_end() follows the migr_step_begin() of the same step.")));
	if (strcmp(id, step_id) != 0 || up != step_up)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("step \"%s\" (%s) is not the step running in this session",
						id, up ? "up" : "down"),
				 errdetail("Step \"%s\" (%s) is running; this error ends it.",
						   step_id, step_up ? "up" : "down"),
				 errhint("Run the script migr_script() wrote as it is.")));
	if (IsTransactionBlock() != !migr_lock_session_held())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 migr_lock_session_held()
				 ? errmsg("step \"%s\" must end outside a transaction block", id)
				 : errmsg("step \"%s\" must end inside a transaction block", id),
				 errhint("Run the script migr_script() wrote as it is, with psql -f and without -1.")));
	migr_step_cover_check_complete(id, up);

	migr_catalog_open(&scope);

	if (!migr_catalog_end_in_progress(id, up, &rec.started_at))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("step \"%s\" (%s) was not begun", id, up ? "up" : "down"),
				 errhint("Run the script migr_script() wrote as it is.")));

	graph = migr_graph_load();
	n = migr_graph_find(graph, id);
	row = migr_catalog_fetch_revision(id);
	rec.run_id = migr_catalog_next_run_id();
	rec.operation = up ? "upgrade" : "downgrade";
	rec.revision = id;
	rec.up = up;
	rec.target = target;
	rec.checksum = migr_checksum(row->upgrade, row->downgrade);
	rec.downgrade = row->downgrade;
	rec.downgrade_registrant = row->registrant;
	rec.wal_before = GetXLogInsertRecPtr();
	rec.finished_at = GetCurrentTimestamp();
	migr_graph_apply_step(graph, n, up, &rec.version_remove, &rec.version_add);
	migr_catalog_bump_generation();
	migr_catalog_record_step(&rec, caller);

	migr_owner_end(&scope);
	/* what the schema is now, for migr_check() */
	migr_drift_record(rec.operation);
	SPI_finish();

	/*
	 * The locks go when this transaction commits, so that the next holder
	 * sees what was recorded; the step ends then too (step_xact_callback).
	 */
	migr_lock_release_session_at_commit();
	migr_step_cover_end();
}

/* ---------------------------------------------------------------------
 * A step outside a transaction, run by a background worker
 * ---------------------------------------------------------------------
 */

/* Where in the step's script the worker is, for the error context. */
typedef struct WorkerStatementContext
{
	const char *revision;
	const char *which;
	const char *filename;		/* the migration file, or NULL */
	int			first_line;		/* the file's line of the script's line 1 */
	const MigrStatement *statement;
} WorkerStatementContext;

static void
worker_statement_context(void *arg)
{
	WorkerStatementContext *ctx = (WorkerStatementContext *) arg;

	migr_statement_errcontext(ctx->revision, ctx->which, ctx->statement,
							  ctx->filename, ctx->first_line);
}

/*
 * The background worker of CALL migr_upgrade_each() for a step that cannot
 * run inside a transaction (worker.c starts it).  It is connected as the
 * role the step runs as, the less privileged of the caller and the step's
 * registrant, and it does what a psql session does with the step of a
 * migr_script() script: the bookkeeping of migr_step_begin(), each of the
 * step's statements at the top level, in a transaction of its own, then
 * that of migr_step_end().  So the two paths leave the same catalog: the
 * session-level lock while the step runs, migr.in_progress, the cover of
 * the production guard, the applied, version and log rows; and a failure
 * leaves the step in migr.in_progress, explained by migr_status().  Its
 * arguments: revision, direction, checksum, target, and the caller's
 * session and current user names, which the catalog records.
 */
void
migr_step_worker_main(Datum main_arg)
{
	List	   *args = migr_worker_attach(main_arg);
	const char *id = list_nth(args, 0);
	bool		up = strcmp(list_nth(args, 1), "up") == 0;
	const char *which = up ? "upgrade" : "downgrade";
	const char *checksum = list_nth(args, 2);
	const char *target = list_nth(args, 3);
	MigrCaller	caller;
	MigrOwnerScope scope;
	MigrRevisionRow *row;
	List	   *statements;
	WorkerStatementContext ctx;
	ErrorContextCallback errcallback;
	ListCell   *lc;

	/* As the scripts of migr_script() begin. */
	(void) set_config_option("standard_conforming_strings", "on",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SET,
							 true, 0, false);

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	migr_capture_caller(&caller);
	caller.session_user_name = list_nth(args, 4);
	caller.current_user_name = list_nth(args, 5);
	step_begin(id, up, checksum, target, &caller);
	migr_catalog_open(&scope);
	row = migr_catalog_fetch_revision(id);
	MemoryContextSwitchTo(TopMemoryContext);
	statements = migr_parse_script(migr_step_script(row, up), id, which);
	ctx.filename = migr_step_source(row, up, &ctx.first_line);
	if (ctx.filename != NULL)
		ctx.filename = pstrdup(ctx.filename);
	migr_owner_end(&scope);
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();

	ctx.revision = id;
	ctx.which = which;
	errcallback.callback = worker_statement_context;
	errcallback.arg = &ctx;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;
	foreach(lc, statements)
	{
		ctx.statement = lfirst(lc);
		migr_worker_progress(ctx.statement->number);
		migr_worker_exec(ctx.statement->text);
		/* The next statement must be read as registration read it. */
		if (!standard_conforming_strings)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("a migration statement turned standard_conforming_strings off"),
					 errhint("Scripts are always read and run with standard_conforming_strings on; write string literals that need backslash escapes as E'...'.")));
	}
	error_context_stack = errcallback.previous;
	migr_worker_progress(0);

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	step_end(id, up, target, &caller);
	PopActiveSnapshot();
	CommitTransactionCommand();
	migr_worker_done();
}

/*
 * The C names the 0.1 install script gave migr_step_begin() and
 * migr_step_end().  CREATE EXTENSION runs that script before the update to
 * 0.2, which points the SQL functions at the names above, so these must
 * stay for as long as 0.1 can be installed.
 */
Datum
migr_script_begin(PG_FUNCTION_ARGS)
{
	return migr_step_begin(fcinfo);
}

Datum
migr_script_end(PG_FUNCTION_ARGS)
{
	return migr_step_end(fcinfo);
}
