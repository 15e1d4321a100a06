/*-------------------------------------------------------------------------
 *
 * import.c
 *		migr_script_statements(): a script's statements as the server's
 *		parser sees them, for bin/migr-import.
 *
 * Other tools' migration files carry what migr cannot register: their own
 * transaction control (golang-migrate files often wrap themselves in
 * BEGIN ... COMMIT), the statements Alembic's offline mode writes for its
 * version table.  bin/migr-import finds them with this function, never by
 * searching the text: the server's parser splits the script, so dollar
 * quoting, comments, literals and BEGIN ATOMIC bodies are read exactly as
 * when the script runs.  A script that does not parse is reported as a row,
 * not raised, so that the importer can check a whole history in one call
 * and import a broken down script as "no downgrade" with a warning.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "catalog/namespace.h"
#include "parser/parser.h"
#include "tcop/cmdtag.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/tuplestore.h"

#include "migr.h"

PG_FUNCTION_INFO_V1(migr_script_statements);

/* Columns of migr_script_statements()'s result. */
#define STATEMENT_COLUMNS 8

/* The statements of a script, as parsed: raw statements and tokens. */
typedef struct ParsedScript
{
	List	   *raw;			/* of RawStmt */
	MigrToken  *tokens;
	int			ntokens;
} ParsedScript;

/*
 * Parse "script" with standard_conforming_strings on, in a subtransaction:
 * returns NULL and sets *error when the parser refuses it.
 */
static ParsedScript *
parse_or_report(const char *script, ErrorData **error)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	ParsedScript *volatile result = NULL;

	*error = NULL;
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		int			guc_level = migr_force_standard_strings();
		ParsedScript *parsed = palloc0(sizeof(ParsedScript));

		parsed->raw = raw_parser(script, RAW_PARSE_DEFAULT);
		/* accepted by the parser: no psql meta-command, so no error here */
		parsed->tokens = migr_scan_tokens(script, &parsed->ntokens, NULL);
		AtEOXact_GUC(true, guc_level);
		result = parsed;
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		*error = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_END_TRY();
	return result;
}

/* The name of a transaction statement's kind, as bin/migr-import reads it. */
static const char *
transaction_kind(TransactionStmt *stmt)
{
	switch (stmt->kind)
	{
		case TRANS_STMT_BEGIN:
			return "begin";
		case TRANS_STMT_START:
			return "start";
		case TRANS_STMT_COMMIT:
			return "commit";
		case TRANS_STMT_ROLLBACK:
			return "rollback";
		case TRANS_STMT_SAVEPOINT:
			return "savepoint";
		case TRANS_STMT_RELEASE:
			return "release";
		case TRANS_STMT_ROLLBACK_TO:
			return "rollback_to";
		case TRANS_STMT_PREPARE:
			return "prepare";
		case TRANS_STMT_COMMIT_PREPARED:
			return "commit_prepared";
		case TRANS_STMT_ROLLBACK_PREPARED:
			return "rollback_prepared";
	}
	return "other";
}

/*
 * The table a statement writes rows of, creates or drops, as written
 * ("schema.name" or "name"): INSERT, UPDATE, DELETE, CREATE TABLE, DROP
 * TABLE of one table.
 */
static char *
written_relation(Node *stmt)
{
	RangeVar   *rv = NULL;

	if (IsA(stmt, InsertStmt))
		rv = ((InsertStmt *) stmt)->relation;
	else if (IsA(stmt, UpdateStmt))
		rv = ((UpdateStmt *) stmt)->relation;
	else if (IsA(stmt, DeleteStmt))
		rv = ((DeleteStmt *) stmt)->relation;
	else if (IsA(stmt, CreateStmt))
		rv = ((CreateStmt *) stmt)->relation;
	else if (IsA(stmt, DropStmt) &&
			 ((DropStmt *) stmt)->removeType == OBJECT_TABLE &&
			 list_length(((DropStmt *) stmt)->objects) == 1)
		rv = makeRangeVarFromNameList(linitial(((DropStmt *) stmt)->objects));
	if (rv == NULL)
		return NULL;
	if (rv->schemaname != NULL)
		return psprintf("%s.%s", rv->schemaname, rv->relname);
	return pstrdup(rv->relname);
}

/* Characters (not bytes) in the first "bytes" bytes of "text". */
static int
chars_in(const char *text, int bytes)
{
	return pg_mbstrlen_with_len(text, bytes);
}

/*
 * migr_script_statements(script text) RETURNS TABLE (number, line,
 * position, length, command_tag, transaction_control, relation, error)
 *
 * One row per statement: its 1-based number, the line of its first token,
 * where it starts (1-based, in characters, as strpos() counts) and how many
 * characters it spans including its terminating semicolon, its command tag,
 * for transaction control its kind (begin, start, commit, rollback,
 * savepoint, ...), and the table it writes or creates.  A script the parser
 * refuses gives one row with only line, position and error set.  Parsed
 * with standard_conforming_strings on, as migr reads every script.
 */
Datum
migr_script_statements(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo;
	char	   *script;
	int			script_len;
	ParsedScript *parsed;
	ErrorData  *error;
	Datum		values[STATEMENT_COLUMNS];
	bool		nulls[STATEMENT_COLUMNS];
	ListCell   *lc;
	int			next_token = 0;
	MigrLineCounter lines = MIGR_LINE_COUNTER_INIT;
	int			chars_counted_to = 0;	/* characters before byte ... */
	int			chars_before = 0;	/* ... are these many */

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("script must not be NULL")));
	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	script = text_to_cstring(PG_GETARG_TEXT_PP(0));
	script_len = strlen(script);

	parsed = parse_or_report(script, &error);
	if (parsed == NULL)
	{
		int			position = error->cursorpos;

		memset(nulls, true, sizeof(nulls));
		if (position > 0)
		{
			/* cursorpos counts characters from 1; find the line. */
			const char *p = script;
			int			line = 1;

			for (int i = 1; i < position && *p != '\0'; i++)
			{
				if (*p == '\n')
					line++;
				p += pg_mblen(p);
			}
			values[1] = Int32GetDatum(line);
			nulls[1] = false;
			values[2] = Int32GetDatum(position);
			nulls[2] = false;
		}
		values[7] = CStringGetTextDatum(error->message);
		nulls[7] = false;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		return (Datum) 0;
	}

	foreach(lc, parsed->raw)
	{
		RawStmt    *rs = lfirst_node(RawStmt, lc);
		int			start = rs->stmt_location;
		int			end;
		char	   *relation;

		CHECK_FOR_INTERRUPTS();
		/* The statement starts at its first token, after any comment. */
		while (next_token < parsed->ntokens &&
			   parsed->tokens[next_token].offset < rs->stmt_location)
			next_token++;
		if (next_token < parsed->ntokens)
			start = parsed->tokens[next_token].offset;

		/* It ends with its semicolon, or with the script. */
		if (rs->stmt_len > 0)
		{
			int			after = rs->stmt_location + rs->stmt_len;

			end = after;
			while (next_token < parsed->ntokens &&
				   parsed->tokens[next_token].offset < after)
				next_token++;
			if (next_token < parsed->ntokens &&
				parsed->tokens[next_token].token == ';')
				end = parsed->tokens[next_token].offset + 1;
		}
		else
			end = script_len;

		memset(nulls, false, sizeof(nulls));
		values[0] = Int32GetDatum(foreach_current_index(lc) + 1);
		values[1] = Int32GetDatum(migr_line_at(script, start, &lines));
		/* statements come in order: count the characters before each once */
		if (start < chars_counted_to)
			chars_counted_to = chars_before = 0;
		chars_before += chars_in(script + chars_counted_to, start - chars_counted_to);
		chars_counted_to = start;
		values[2] = Int32GetDatum(chars_before + 1);
		values[3] = Int32GetDatum(chars_in(script + start, end - start));
		values[4] = CStringGetTextDatum(GetCommandTagName(CreateCommandTag(rs->stmt)));
		if (IsA(rs->stmt, TransactionStmt))
			values[5] = CStringGetTextDatum(transaction_kind((TransactionStmt *) rs->stmt));
		else
			nulls[5] = true;
		relation = written_relation(rs->stmt);
		if (relation != NULL)
			values[6] = CStringGetTextDatum(relation);
		else
			nulls[6] = true;
		nulls[7] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
