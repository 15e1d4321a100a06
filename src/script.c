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
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/cryptohash.h"
#include "common/keywords.h"
#include "common/sha2.h"
#include "mb/pg_wchar.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "parser/scanner.h"

#include "migr.h"

/* What the error context callback needs to place an error in a script. */
typedef struct ScriptErrorContext
{
	const char *script;
	const char *revision;
	const char *which;			/* "upgrade" or "downgrade" */
} ScriptErrorContext;

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

		line_and_column(ctx->script, cursor, &line, &column);
		errposition(0);
		internalerrposition(cursor);
		internalerrquery(ctx->script);
		errcontext("%s script of revision %s, line %d, column %d",
				   ctx->which, ctx->revision, line, column);
	}
	else
		errcontext("%s script of revision %s", ctx->which, ctx->revision);
}

/*
 * Scan "script" with the server's lexer.  Returns the byte offset of every
 * token, in order, with the count in *ntokens.  A backslash token is a psql
 * meta-command, which a migration cannot contain.
 */
static int *
scan_tokens(const char *script, int *ntokens)
{
	core_yy_extra_type yyextra;
	core_YYSTYPE yylval;
	YYLTYPE		yylloc;
	core_yyscan_t scanner;
	int			capacity = 64;
	int		   *tokens = palloc(sizeof(int) * capacity);
	int			n = 0;

	scanner = scanner_init(script, &yyextra, &ScanKeywords, ScanKeywordTokens);
	for (;;)
	{
		int			token = core_yylex(&yylval, &yylloc, scanner);

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
		if (n == capacity)
		{
			capacity *= 2;
			tokens = repalloc(tokens, sizeof(int) * capacity);
		}
		tokens[n++] = yylloc;
	}
	scanner_finish(scanner);
	*ntokens = n;
	return tokens;
}

/*
 * Parse a migration script into its statements.  Raises an error naming
 * the revision, line and column when the script does not parse, contains a
 * psql meta-command, or controls transactions (migr owns the transaction).
 * "which" is "upgrade" or "downgrade".
 */
List *
migr_parse_script(const char *script, const char *revision, const char *which)
{
	ScriptErrorContext ctx;
	ErrorContextCallback errcallback;
	int		   *tokens;
	int			ntokens;
	int			next_token = 0;
	List	   *raw;
	List	   *result = NIL;
	ListCell   *lc;
	int			script_len = strlen(script);

	ctx.script = script;
	ctx.revision = revision;
	ctx.which = which;
	errcallback.callback = script_error_callback;
	errcallback.arg = &ctx;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	tokens = scan_tokens(script, &ntokens);
	raw = raw_parser(script, RAW_PARSE_DEFAULT);

	foreach(lc, raw)
	{
		RawStmt    *rs = lfirst_node(RawStmt, lc);
		int			end = rs->stmt_len > 0 ? rs->stmt_location + rs->stmt_len
		: script_len;
		MigrStatement *st = palloc0(sizeof(MigrStatement));

		/* The statement's text starts at its first token. */
		while (next_token < ntokens && tokens[next_token] < rs->stmt_location)
			next_token++;
		st->location = next_token < ntokens ? tokens[next_token] : rs->stmt_location;
		st->number = foreach_current_index(lc) + 1;
		st->line = migr_line_of(script, st->location);
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

		result = lappend(result, st);
	}

	error_context_stack = errcallback.previous;
	return result;
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
