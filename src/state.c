/*-------------------------------------------------------------------------
 *
 * state.c
 *		Backend-local execution state: which migr work runs in this backend
 *		(an operation's scripts, a migr_script() step), whether the library
 *		was loaded at the start of the session, and the cover of a
 *		migr_script() step.
 *
 * The DDL guard (guard.c) and the nesting check of every entry point ask
 * here, so that what lets DDL through in production is decided in one
 * place, below every file that sets it: the step engine (runner.c) marks an
 * operation running, migr_step_begin()/migr_step_end() (offline.c) mark a
 * script step begun, the hooks (guard.c) report the statements a client
 * sends.
 *
 * The cover of a step.  Between migr_step_begin() and migr_step_end() the
 * statements of a step run at the top level of a psql session, not inside
 * a migr function.  The production DDL guard must let them through, and
 * only them: the cover holds the step's registered statements, in order,
 * and a cursor on the next one.  Each statement the client sends while the
 * cover is up is compared with the next registered statement, parse tree
 * against parse tree (the server's parser, locations ignored): when they
 * are equal the cursor moves on and, for as long as that statement runs,
 * DDL it does (directly, or in a DO block or function it calls) is
 * covered.  Any other statement is not covered: the guard treats its DDL
 * as ad-hoc.  migr_step_end() records the step only when the cursor
 * reached the end.
 *
 * The hooks in guard.c report each top-level statement here; a statement
 * counts as run when it started, because a statement that fails aborts its
 * transaction and the abort takes the cover down.  A subtransaction that
 * aborts (ROLLBACK TO SAVEPOINT) puts the cursor back where it was when the
 * subtransaction started, so an undone statement does not count.  A
 * transactional step's cover ends with its transaction; a
 * non-transactional step's cover outlives the commits between its
 * statements, and ends at migr_step_end() or when a transaction aborts or
 * is prepared.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "migr.h"

/* ---------------------------------------------------------------------
 * Which migr work runs in this backend
 * ---------------------------------------------------------------------
 */

/* An operation runs its scripts: they may not start another one. */
static bool operation_active = false;

/* A migr_script() step was begun and has not ended. */
static bool script_step_begun = false;

/* The library was loaded at the start of this session (or server). */
static bool loaded_at_start = false;

void
migr_set_operation_active(bool active)
{
	operation_active = active;
}

void
migr_set_script_step_begun(bool begun)
{
	script_step_begun = begun;
}

bool
migr_script_step_begun(void)
{
	return script_step_begun;
}

/*
 * Is a migr_script() step's statement running now: a step was begun, and
 * its cover holds for the statement the client sent?
 */
bool
migr_script_step_active(void)
{
	return script_step_begun && migr_step_cover_holds();
}

/* Is migr running a migration script in this backend right now? */
bool
migr_running_script(void)
{
	return operation_active || migr_script_step_active();
}

/*
 * Refuse to start an operation from inside a migration script.
 */
void
migr_check_not_nested(void)
{
	if (operation_active)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("migr functions cannot be called from a migration script"),
				 errhint("Register and run each migration with its own call.")));
}

void
migr_set_loaded_at_start(bool at_start)
{
	loaded_at_start = at_start;
}

/* Was the library loaded at the start of this session (or server)? */
bool
migr_loaded_at_start(void)
{
	return loaded_at_start;
}

/* ---------------------------------------------------------------------
 * The cover of a migr_script() step
 * ---------------------------------------------------------------------
 */

/* One registered statement of the covered step. */
typedef struct CoverStatement
{
	int			number;			/* 1-based, in its script */
	int			line;
	char	   *text;
} CoverStatement;

/* Cursor position saved when a subtransaction started. */
typedef struct CoverSavepoint
{
	SubTransactionId subid;
	int			cursor;
} CoverSavepoint;

typedef struct StepCover
{
	MemoryContext cxt;
	char	   *revision;
	bool		up;
	bool		transactional;
	int			nstatements;
	CoverStatement *statements;
	int			cursor;			/* statements[cursor] comes next */
	bool		covered;		/* the top-level statement running now is
								 * statements[cursor - 1] */
	List	   *savepoints;		/* of CoverSavepoint *, innermost last */
	SubTransactionId begun_in;	/* the subtransaction migr_step_begin() ran in */
} StepCover;

static StepCover *cover = NULL;
static bool callbacks_registered = false;

/* Take the cover down. */
static void
cover_clear(void)
{
	if (cover == NULL)
		return;
	MemoryContextDelete(cover->cxt);
	cover = NULL;
}

/*
 * A transaction that aborts or is prepared ends the step; a transactional
 * step also ends with its commit.
 */
static void
cover_xact_callback(XactEvent event, void *arg)
{
	if (cover == NULL)
		return;
	switch (event)
	{
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			cover_clear();
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (cover->transactional)
				cover_clear();
			else
				cover->savepoints = NIL;	/* freed with the context */
			break;
		default:
			break;
	}
}

/*
 * A subtransaction that aborts takes back the statements that started in
 * it.
 */
static void
cover_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	ListCell   *lc;

	if (cover == NULL)
		return;
	if (event == SUBXACT_EVENT_START_SUB)
	{
		MemoryContext old = MemoryContextSwitchTo(cover->cxt);
		CoverSavepoint *sp = palloc(sizeof(CoverSavepoint));

		sp->subid = mySubid;
		sp->cursor = cover->cursor;
		cover->savepoints = lappend(cover->savepoints, sp);
		MemoryContextSwitchTo(old);
		return;
	}
	if (event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB)
		return;

	/*
	 * The subtransaction migr_step_begin() ran in: undone, it takes the step
	 * with it; released, the step belongs to its parent.
	 */
	if (mySubid == cover->begun_in)
	{
		if (event == SUBXACT_EVENT_ABORT_SUB)
		{
			cover_clear();
			return;
		}
		cover->begun_in = parentSubid;
	}
	foreach(lc, cover->savepoints)
	{
		CoverSavepoint *sp = lfirst(lc);

		if (sp->subid != mySubid)
			continue;
		if (event == SUBXACT_EVENT_ABORT_SUB && sp->cursor < cover->cursor)
		{
			cover->cursor = sp->cursor;
			cover->covered = false;
		}
		cover->savepoints = list_truncate(cover->savepoints,
										  foreach_current_index(lc));
		return;
	}
}

/*
 * Put the cover up for a step whose statements (MigrStatement *, as
 * migr_parse_script() returns them) are "statements".  Their texts are
 * kept, for the life of the step, outside any transaction's memory.
 */
void
migr_step_cover_begin(const char *revision, bool up, List *statements,
					  bool transactional)
{
	MemoryContext cxt;
	MemoryContext old;
	ListCell   *lc;

	cover_clear();
	if (!callbacks_registered)
	{
		RegisterXactCallback(cover_xact_callback, NULL);
		RegisterSubXactCallback(cover_subxact_callback, NULL);
		callbacks_registered = true;
	}

	cxt = AllocSetContextCreate(TopMemoryContext, "migr step cover",
								ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(cxt);
	cover = palloc0(sizeof(StepCover));
	cover->cxt = cxt;
	cover->revision = pstrdup(revision);
	cover->up = up;
	cover->transactional = transactional;
	cover->begun_in = GetCurrentSubTransactionId();
	cover->nstatements = list_length(statements);
	cover->statements = palloc0(sizeof(CoverStatement) * Max(cover->nstatements, 1));
	foreach(lc, statements)
	{
		MigrStatement *st = lfirst(lc);
		CoverStatement *cs = &cover->statements[foreach_current_index(lc)];

		cs->number = st->number;
		cs->line = st->line;
		cs->text = pstrdup(st->text);
	}
	MemoryContextSwitchTo(old);
}

/* Is a step's cover up in this backend? */
bool
migr_step_cover_active(void)
{
	return cover != NULL;
}

/*
 * Does the cover hold for the statement running now: is it the registered
 * statement the cursor just moved past, or running on its behalf?
 */
bool
migr_step_cover_holds(void)
{
	return cover != NULL && cover->covered;
}

/* The one statement "sql" holds, parsed; NULL when it is not exactly one. */
static Node *
parse_one(const char *sql)
{
	List	   *raw = raw_parser(sql, RAW_PARSE_DEFAULT);

	if (list_length(raw) != 1)
		return NULL;
	return linitial_node(RawStmt, raw)->stmt;
}

/*
 * A statement starts at the top level (sent by the client): "query" is the
 * text it came in, "location" and "len" its place there (as in RawStmt;
 * location -1 or len 0 when it runs to the end).  Move the cursor when it
 * is the next registered statement.
 */
void
migr_step_cover_statement(const char *query, int location, int len)
{
	MemoryContext cxt;
	MemoryContext old;
	char	   *sent_text;
	Node	   *sent;
	Node	   *expected;
	int			guc_level;

	if (cover == NULL)
		return;
	cover->covered = false;
	if (cover->cursor >= cover->nstatements || query == NULL)
		return;

	if (location < 0)
		location = 0;
	if (len <= 0)
		len = strlen(query + location);

	/* Parse both in a scratch context: a step may have many statements. */
	cxt = AllocSetContextCreate(CurrentMemoryContext, "migr step cover match",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	sent_text = pnstrdup(query + location, len);
	sent = parse_one(sent_text);

	/* Registered statements mean what they mean with this on (script.c). */
	guc_level = migr_force_standard_strings();
	expected = parse_one(cover->statements[cover->cursor].text);
	AtEOXact_GUC(true, guc_level);
	if (sent != NULL && expected != NULL && equal(sent, expected))
	{
		cover->cursor++;
		cover->covered = true;
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

/*
 * Refuse to record the step "revision" ("up" or down) unless the cover is
 * up for it and every registered statement ran.
 */
void
migr_step_cover_check_complete(const char *revision, bool up)
{
	const CoverStatement *next;

	if (cover == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no script step is running in this session"),
				 errhint("migr_step_end() follows the migr_step_begin() of the same step.")));
	if (strcmp(cover->revision, revision) != 0 || cover->up != up)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("step \"%s\" (%s) is not the step running in this session",
						revision, up ? "up" : "down"),
				 errdetail("The step running is %s (%s).",
						   cover->revision, cover->up ? "up" : "down"),
				 errhint("migr_step_end() follows the migr_step_begin() of the same step.")));
	if (cover->cursor < cover->nstatements)
	{
		next = &cover->statements[cover->cursor];
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("step \"%s\" (%s) did not run its registered statements",
						revision, up ? "up" : "down"),
				 errdetail("%d of %d statements ran. Statement %d (line %d) did not run: \"%s\".",
						   cover->cursor, cover->nstatements, next->number,
						   next->line, next->text),
				 errhint("Run the script migr_script() wrote as it is; a step is recorded as applied only when its statements ran.")));
	}
}

/*
 * For an error about a statement the cover did not hold: which step is
 * running and what it expects next, as an errdetail sentence, or NULL.
 */
char *
migr_step_cover_describe(void)
{
	if (cover == NULL)
		return NULL;
	if (cover->cursor >= cover->nstatements)
		return psprintf("Step \"%s\" (%s) of a migr_script() script is running and all of its statements ran; this statement is not one of them.",
						cover->revision, cover->up ? "up" : "down");
	return psprintf("Step \"%s\" (%s) of a migr_script() script is running; this statement is not its next registered statement (statement %d, line %d).",
					cover->revision, cover->up ? "up" : "down",
					cover->statements[cover->cursor].number,
					cover->statements[cover->cursor].line);
}

/* The step was recorded: take the cover down. */
void
migr_step_cover_end(void)
{
	cover_clear();
}
