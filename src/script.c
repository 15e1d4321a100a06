/*-------------------------------------------------------------------------
 *
 * script.c
 *		Parses, validates and checksums migration scripts.
 *
 * A script is split into statements by the server's own parser
 * (raw_parser), never by looking for semicolons, so dollar quoting,
 * comments and string literals are handled exactly as the server handles
 * them when the script runs.  The server's lexer finds psql meta-commands:
 * outside literals and comments a backslash is never valid SQL.
 *
 * A script always means what it means with standard_conforming_strings on,
 * as pg_dump output does: it is parsed that way here whatever the session
 * says, the runner runs it that way, and migr_script() writes it for psql
 * that way (migr_psql_text).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/cryptohash.h"
#include "common/keywords.h"
#include "common/sha2.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "parser/scanner.h"
#include "parser/gram.h"		/* after scanner.h: token numbers */
#include "utils/guc.h"

#include "migr.h"

/* What the error context callback needs to place an error in a script. */
typedef struct ScriptErrorContext
{
	const char *script;
	const char *revision;
	const char *which;			/* "upgrade" or "downgrade" */
	int			chunk_start;	/* byte offset of the text being parsed */
} ScriptErrorContext;

/*
 * raw_parser() cannot be interrupted, so a long script is parsed in pieces
 * of about this many bytes, cut between statements.
 */
#define PARSE_CHUNK_BYTES	(64 * 1024)

/*
 * 1-based line of the byte at "offset" in "text".
 */
int
migr_line_of(const char *text, int offset)
{
	int			line = 1;

	for (int i = 0; i < offset && text[i] != '\0'; i++)
		if (text[i] == '\n')
			line++;
	return line;
}

/*
 * Lines of increasing offsets in one text, counted once: "counter" holds
 * the offset and line reached so far (MIGR_LINE_COUNTER_INIT at first).
 * Asking for the lines of n statements in turn costs one pass over the
 * text, where migr_line_of() for each would cost n passes.
 */
int
migr_line_at(const char *text, int offset, MigrLineCounter *counter)
{
	if (offset < counter->offset)
	{
		counter->offset = 0;
		counter->line = 1;
	}
	for (; counter->offset < offset && text[counter->offset] != '\0'; counter->offset++)
		if (text[counter->offset] == '\n')
			counter->line++;
	return counter->line;
}

/*
 * Make standard_conforming_strings on until the returned GUC nest level is
 * popped with AtEOXact_GUC(true, level); an error pops it too.
 */
int
migr_force_standard_strings(void)
{
	int			level = NewGUCNestLevel();

	if (!standard_conforming_strings)
		(void) set_config_option("standard_conforming_strings", "on",
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
								 true, 0, false);
	return level;
}

/*
 * Line and column of the 1-based character position "cursor" (the unit of
 * errposition) in "text".
 */
static void
line_and_column(const char *text, int cursor, int *line, int *column)
{
	const char *p = text;

	*line = 1;
	*column = 1;
	for (int chars = 1; chars < cursor && *p != '\0'; chars++)
	{
		if (*p == '\n')
		{
			(*line)++;
			*column = 1;
		}
		else
			(*column)++;
		p += pg_mblen(p);
	}
}

/*
 * Error context for errors raised while parsing a script: the parser's
 * cursor position becomes a position in the script (so psql shows the
 * script's line) and the context names the revision, line and column.
 */
static void
script_error_callback(void *arg)
{
	ScriptErrorContext *ctx = (ScriptErrorContext *) arg;
	int			cursor = geterrposition();

	if (cursor > 0)
	{
		int			line;
		int			column;

		/* A position in a piece of the script: make it one in the script. */
		if (ctx->chunk_start > 0)
		{
			const char *chunk = ctx->script + ctx->chunk_start;
			int			bytes = pg_mbcharcliplen(chunk, strlen(chunk), cursor - 1);

			cursor = pg_mbstrlen_with_len(ctx->script, ctx->chunk_start + bytes) + 1;
		}

		line_and_column(ctx->script, cursor, &line, &column);
		errposition(0);
		internalerrposition(cursor);
		internalerrquery(ctx->script);
		errcontext("%s script of revision \"%s\", line %d, column %d",
				   ctx->which, ctx->revision, line, column);
	}
	else
		errcontext("%s script of revision \"%s\"", ctx->which, ctx->revision);
}

/*
 * Scan "script" with the server's lexer.  Returns every token, in order
 * (its byte offset and its kind), with the count in *ntokens.  A backslash
 * token is a psql meta-command, which a migration cannot contain.
 *
 * Also returns in *cuts (unless NULL) offsets where the script can be cut into pieces
 * that parse alone, about PARSE_CHUNK_BYTES apart: just after a ";" that
 * ends a statement.  A ";" inside parentheses (CREATE RULE ... DO (...))
 * or inside BEGIN ... END (BEGIN ATOMIC function bodies) does not; the
 * count of BEGIN and CASE against END errs only towards too few cuts, as
 * END is reserved and BEGIN as a name only adds to the count.
 */
MigrToken *
migr_scan_tokens(const char *script, int *ntokens, List **cuts)
{
	core_yy_extra_type yyextra;
	core_YYSTYPE yylval;
	YYLTYPE		yylloc;
	core_yyscan_t scanner;
	int			capacity = 64;
	MigrToken  *tokens = palloc(sizeof(MigrToken) * capacity);
	int			n = 0;
	int			parens = 0;
	int			blocks = 0;
	int			last_cut = 0;

	if (cuts != NULL)
		*cuts = NIL;

	scanner = scanner_init(script, &yyextra, &ScanKeywords, ScanKeywordTokens);
	for (;;)
	{
		int			token;

		CHECK_FOR_INTERRUPTS();
		token = core_yylex(&yylval, &yylloc, scanner);
		if (token == 0)
			break;
		if (token == '\\')
		{
			int			len = 1;

			while (script[yylloc + len] != '\0' &&
				   !isspace((unsigned char) script[yylloc + len]) && len < 32)
				len++;
			ereport(ERROR,
					(errcode(ERRCODE_SYNTAX_ERROR),
					 errmsg("psql meta-command \"%.*s\" is not allowed in a migration script",
							len, script + yylloc),
					 errdetail("Migration scripts are run by the server, which understands only SQL."),
					 errhint("Write the step in SQL, or run psql-only steps outside migr."),
					 errposition(pg_mbstrlen_with_len(script, yylloc) + 1)));
		}
		if (token == '(')
			parens++;
		else if (token == ')' && parens > 0)
			parens--;
		else if (token == BEGIN_P || token == CASE)
			blocks++;
		else if (token == END_P && blocks > 0)
			blocks--;
		else if (token == ';' && parens == 0 && blocks == 0 && cuts != NULL &&
				 yylloc + 1 - last_cut >= PARSE_CHUNK_BYTES)
		{
			last_cut = yylloc + 1;
			*cuts = lappend_int(*cuts, last_cut);
		}
		if (n == capacity)
		{
			capacity *= 2;
			tokens = repalloc(tokens, sizeof(MigrToken) * capacity);
		}
		tokens[n].offset = yylloc;
		tokens[n].token = token;
		n++;
	}
	scanner_finish(scanner);
	*ntokens = n;
	return tokens;
}

/*
 * Does "stmt" set or reset standard_conforming_strings by name?
 */
static bool
sets_standard_strings(Node *stmt)
{
	VariableSetStmt *set;

	if (!IsA(stmt, VariableSetStmt))
		return false;
	set = (VariableSetStmt *) stmt;
	return set->name != NULL &&
		pg_strcasecmp(set->name, "standard_conforming_strings") == 0;
}

/*
 * Parse a migration script into its statements.  Raises an error naming
 * the revision, line and column when the script does not parse, contains a
 * psql meta-command, controls transactions (migr owns the transaction) or
 * sets standard_conforming_strings.  "which" is "upgrade" or "downgrade".
 *
 * The script is read with standard_conforming_strings on, whatever the
 * session says.  Linear in the length of the script, and interruptible
 * except inside raw_parser().
 */
List *
migr_parse_script(const char *script, const char *revision, const char *which)
{
	ScriptErrorContext ctx;
	ErrorContextCallback errcallback;
	MigrToken  *tokens;
	int			ntokens;
	int			next_token = 0;
	List	   *raw;
	List	   *result = NIL;
	ListCell   *lc;
	int			script_len = strlen(script);
	MigrLineCounter lines = MIGR_LINE_COUNTER_INIT;
	int			guc_level;
	List	   *cuts;

	ctx.script = script;
	ctx.revision = revision;
	ctx.which = which;
	ctx.chunk_start = 0;
	errcallback.callback = script_error_callback;
	errcallback.arg = &ctx;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	guc_level = migr_force_standard_strings();
	tokens = migr_scan_tokens(script, &ntokens, &cuts);
	if (cuts == NIL)
		raw = raw_parser(script, RAW_PARSE_DEFAULT);
	else
	{
		/* Piece by piece, with the statements' offsets made absolute. */
		int			start = 0;

		cuts = lappend_int(cuts, script_len);
		raw = NIL;
		foreach(lc, cuts)
		{
			int			end = lfirst_int(lc);
			char	   *piece = pnstrdup(script + start, end - start);
			List	   *stmts;
			ListCell   *lc2;

			CHECK_FOR_INTERRUPTS();
			ctx.chunk_start = start;
			stmts = raw_parser(piece, RAW_PARSE_DEFAULT);
			foreach(lc2, stmts)
				lfirst_node(RawStmt, lc2)->stmt_location += start;
			raw = list_concat(raw, stmts);
			start = end;
		}
		ctx.chunk_start = 0;
	}
	AtEOXact_GUC(true, guc_level);

	foreach(lc, raw)
	{
		RawStmt    *rs = lfirst_node(RawStmt, lc);
		int			end = rs->stmt_len > 0 ? rs->stmt_location + rs->stmt_len
		: script_len;
		MigrStatement *st = palloc0(sizeof(MigrStatement));

		CHECK_FOR_INTERRUPTS();

		/* The statement's text starts at its first token. */
		while (next_token < ntokens && tokens[next_token].offset < rs->stmt_location)
			next_token++;
		st->location = next_token < ntokens ? tokens[next_token].offset : rs->stmt_location;
		st->number = foreach_current_index(lc) + 1;
		st->line = migr_line_at(script, st->location, &lines);
		st->text = pnstrdup(script + st->location, Max(end - st->location, 0));
		st->parsetree = rs->stmt;

		if (IsA(rs->stmt, TransactionStmt))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TRANSACTION_TERMINATION),
					 errmsg("transaction control is not allowed in a migration script"),
					 errdetail("Statement %d is \"%s\".", st->number, st->text),
					 errhint("migr runs every migration inside the transaction of the call; remove the statement."),
					 errposition(pg_mbstrlen_with_len(script, st->location) + 1)));

		if (IsA(rs->stmt, CopyStmt) && ((CopyStmt *) rs->stmt)->filename == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("COPY to or from the client is not allowed in a migration script"),
					 errdetail("Statement %d is \"%s\".", st->number, st->text),
					 errhint("Load data with INSERT statements, or with COPY from a file on the server."),
					 errposition(pg_mbstrlen_with_len(script, st->location) + 1)));

		if (sets_standard_strings(rs->stmt))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("a migration script cannot change standard_conforming_strings"),
					 errdetail("Statement %d is \"%s\".", st->number, st->text),
					 errhint("Scripts are always read and run with standard_conforming_strings on; write string literals that need backslash escapes as E'...'."),
					 errposition(pg_mbstrlen_with_len(script, st->location) + 1)));

		result = lappend(result, st);
	}

	error_context_stack = errcallback.previous;
	return result;
}

/*
 * Can psql take this byte after a colon as the start of a variable
 * reference (":name", ":'name'", ":\"name\"")?  Its lexer's variable_char
 * is [A-Za-z\200-\377_0-9].
 */
static bool
psql_variable_start(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '_' || c >= 0x80 || c == '\'' || c == '"';
}

/* Would a letter placed right after this byte continue its token? */
static bool
continues_word(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '_' || c == '$' || c >= 0x80;
}

/*
 * The text of a script as a psql script must carry it, so that psql sends
 * the server exactly the registered statements, whatever psql variables
 * are set and whatever standard_conforming_strings becomes while the script
 * runs.  The server's lexer (with standard_conforming_strings on, as
 * registration parsed it) finds the two places where psql could read the
 * text differently from the server, and the text is rewritten there into
 * a form both read alike and the server parses to the same statement:
 *
 * - a ":" token followed by a letter, digit, underscore, quote or
 *   non-ASCII byte: psql would replace ":name", ":'name'" or ":\"name\""
 *   with the value of a psql variable (arr[1:ENCODING] ...).  A space is
 *   written after the colon; to the server ":" is a token of its own, so
 *   the statement is the same.
 * - a string literal '...' with a backslash in it: with
 *   standard_conforming_strings off psql (and the server) would take the
 *   backslash as an escape, and the literal could end elsewhere, leaving
 *   text outside it that psql runs as a meta-command (\!).  It is written
 *   as E'...' with its backslashes doubled, which means the same with the
 *   setting on or off.  A literal continued over several lines, or a
 *   national one (N'...'), cannot be rewritten that way: migr_script()
 *   refuses the revision (0A000) naming the line.
 *
 * Everything else (comments, dollar quotes, identifiers) psql and the
 * server lex alike, and registration refused backslashes outside literals
 * and comments (psql meta-commands).
 */
char *
migr_psql_text(const char *script, const char *revision, const char *which)
{
	core_yy_extra_type yyextra;
	core_YYSTYPE yylval;
	YYLTYPE		yylloc;
	core_yyscan_t scanner;
	StringInfoData out;
	int			copied = 0;
	int			prev_token = 0;
	int			prev_loc = -1;
	MigrLineCounter lines = MIGR_LINE_COUNTER_INIT;

	initStringInfo(&out);
	scanner = scanner_init(script, &yyextra, &ScanKeywords, ScanKeywordTokens);
	yyextra.standard_conforming_strings = true;
	yyextra.escape_string_warning = false;
	for (;;)
	{
		int			token;

		CHECK_FOR_INTERRUPTS();
		token = core_yylex(&yylval, &yylloc, scanner);
		if (token == 0)
			break;

		if (token == '\\')
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("revision \"%s\" cannot be written as a psql script", revision),
					 errdetail("Line %d of its %s script has a backslash outside literals and comments, which psql takes as a meta-command.",
							   migr_line_at(script, yylloc, &lines), which)));

		if (token == ':' && psql_variable_start((unsigned char) script[yylloc + 1]))
		{
			appendBinaryStringInfo(&out, script + copied, yylloc + 1 - copied);
			appendStringInfoChar(&out, ' ');
			copied = yylloc + 1;
		}
		else if (token == SCONST && script[yylloc] == '\'' &&
				 strchr(yylval.str, '\\') != NULL)
		{
			StringInfoData raw;

			/* The literal as one piece: 'value' with quotes doubled. */
			initStringInfo(&raw);
			appendStringInfoChar(&raw, '\'');
			for (const char *p = yylval.str; *p != '\0'; p++)
			{
				if (*p == '\'')
					appendStringInfoChar(&raw, '\'');
				appendStringInfoChar(&raw, *p);
			}
			appendStringInfoChar(&raw, '\'');
			if (strncmp(script + yylloc, raw.data, raw.len) != 0 ||
				(prev_token == NCHAR && prev_loc == yylloc - 1))
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("revision \"%s\" cannot be written as a psql script", revision),
						 errdetail("Line %d of its %s script has a string literal with a backslash that is %s; psql could read it differently from the server.",
								   migr_line_at(script, yylloc, &lines), which,
								   prev_token == NCHAR && prev_loc == yylloc - 1
								   ? "national (N'...')" : "continued on another line"),
						 errhint("Register the revision again with the literal written as E'...' in one piece, each backslash doubled; or apply it with migr_upgrade().")));

			appendBinaryStringInfo(&out, script + copied, yylloc - copied);
			if (yylloc > 0 && continues_word((unsigned char) script[yylloc - 1]))
				appendStringInfoChar(&out, ' ');
			appendStringInfoString(&out, "E'");
			for (const char *p = yylval.str; *p != '\0'; p++)
			{
				if (*p == '\'' || *p == '\\')
					appendStringInfoChar(&out, *p);
				appendStringInfoChar(&out, *p);
			}
			appendStringInfoChar(&out, '\'');
			copied = yylloc + raw.len;
			pfree(raw.data);
		}
		prev_token = token;
		prev_loc = yylloc;
	}
	scanner_finish(scanner);
	appendStringInfoString(&out, script + copied);
	return out.data;
}

/*
 * Hexadecimal SHA-256 of a revision's scripts.  Each part is framed with
 * its length so that no two different pairs of scripts hash alike, and a
 * missing downgrade differs from an empty one.
 */
char *
migr_checksum(const char *upgrade, const char *downgrade)
{
	pg_cryptohash_ctx *hash = pg_cryptohash_create(PG_SHA256);
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	char	   *hex = palloc(PG_SHA256_DIGEST_LENGTH * 2 + 1);
	char		frame[32];

	if (hash == NULL || pg_cryptohash_init(hash) < 0)
		elog(ERROR, "could not initialize SHA-256: %s", pg_cryptohash_error(hash));

	snprintf(frame, sizeof(frame), "upgrade:%zu:", strlen(upgrade));
	pg_cryptohash_update(hash, (const uint8 *) frame, strlen(frame));
	pg_cryptohash_update(hash, (const uint8 *) upgrade, strlen(upgrade));
	if (downgrade != NULL)
	{
		snprintf(frame, sizeof(frame), "downgrade:%zu:", strlen(downgrade));
		pg_cryptohash_update(hash, (const uint8 *) frame, strlen(frame));
		pg_cryptohash_update(hash, (const uint8 *) downgrade, strlen(downgrade));
	}
	else
		pg_cryptohash_update(hash, (const uint8 *) "no-downgrade", 12);

	if (pg_cryptohash_final(hash, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not finish SHA-256: %s", pg_cryptohash_error(hash));
	pg_cryptohash_free(hash);

	for (int i = 0; i < PG_SHA256_DIGEST_LENGTH; i++)
		snprintf(hex + i * 2, 3, "%02x", digest[i]);
	return hex;
}
