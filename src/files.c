/*-------------------------------------------------------------------------
 *
 * files.c
 *		Migration files: their format, and the SQL functions that move
 *		revisions between files and the catalog (migr_load, migr_export,
 *		migr_template).
 *
 * A migration file is plain SQL with comment markers, one revision per
 * file:
 *
 *		-- migr:revision 0002_add_widget_table
 *		-- migr:down_revision 0001_initial_schema
 *		-- migr:message add widget table
 *
 *		-- migr:upgrade
 *		CREATE TABLE widgets (id bigint PRIMARY KEY);
 *
 *		-- migr:downgrade
 *		DROP TABLE widgets;
 *
 * A marker is a whole line that starts with "-- migr:" (a trailing CR is
 * ignored).  The header holds the keys; the sections hold the scripts,
 * exactly: a section is the text after its marker line up to (not
 * including) the newline before the next marker line, or up to the end of
 * the file less at most one final newline.  So writing a revision and
 * reading it back gives the very same scripts, and the same checksum.
 *
 * This file only knows the format.  Registering what a file describes goes
 * through migr_register() (register.c), the path migr_revision() takes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "migr.h"

PG_FUNCTION_INFO_V1(migr_load_file);
PG_FUNCTION_INFO_V1(migr_load_files);
PG_FUNCTION_INFO_V1(migr_load_directory);
PG_FUNCTION_INFO_V1(migr_export);
PG_FUNCTION_INFO_V1(migr_template);
PG_FUNCTION_INFO_V1(migr_autogenerate);

#define MARKER			"-- migr:"
#define MARKER_LEN		(sizeof(MARKER) - 1)

/* Header keys, in the order the formatter writes them. */
typedef enum FileKey
{
	KEY_REVISION,
	KEY_DOWN_REVISION,
	KEY_MESSAGE,
	KEY_BRANCH_LABELS,
	KEY_DEPENDS_ON,
	KEY_DESTRUCTIVE,
	KEY_TRANSACTIONAL,
	NUM_KEYS
} FileKey;

static const char *const key_names[NUM_KEYS] = {
	[KEY_REVISION] = "revision",
	[KEY_DOWN_REVISION] = "down_revision",
	[KEY_MESSAGE] = "message",
	[KEY_BRANCH_LABELS] = "branch_labels",
	[KEY_DEPENDS_ON] = "depends_on",
	[KEY_DESTRUCTIVE] = "destructive",
	[KEY_TRANSACTIONAL] = "transactional",
};

/* The keys every file must have. */
static const bool key_required[NUM_KEYS] = {
	[KEY_REVISION] = true,
	[KEY_DOWN_REVISION] = true,
	[KEY_MESSAGE] = true,
};

/* A migration file, as parsed or to be written. */
typedef struct MigrFile
{
	const char *filename;		/* as given, or NULL */
	const char *display;		/* names the file in errors, or NULL */
	char	   *id;
	List	   *down_revision;	/* char * */
	char	   *message;
	List	   *branch_labels;
	List	   *depends_on;
	bool		destructive;
	bool		destructive_given;
	bool		transactional;
	bool		transactional_given;
	char	   *upgrade;
	char	   *downgrade;		/* NULL: no downgrade section */
	int			upgrade_line;	/* line of the "-- migr:upgrade" marker */
	int			downgrade_line; /* 0 without a downgrade section */
} MigrFile;

/*
 * Refuse a malformed file: the message names the file, the detail the line
 * (none when "line" is 0) and what is wrong, as a sentence.
 */
static Datum load_files(FunctionCallInfo fcinfo, bool directory);
static void file_error(const MigrFile *file, int line, const char *fmt,...)
			pg_attribute_printf(3, 4) pg_attribute_noreturn();

static void
file_error(const MigrFile *file, int line, const char *fmt,...)
{
	StringInfoData detail;

	initStringInfo(&detail);
	if (line > 0)
		appendStringInfo(&detail, "Line %d: ", line);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&detail, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&detail, needed);
	}
	if (line <= 0)
		detail.data[0] = pg_toupper((unsigned char) detail.data[0]);
	if (file->display != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("invalid migration file \"%s\"", file->display),
				 errdetail_internal("%s", detail.data)));
	ereport(ERROR,
			(errcode(ERRCODE_SYNTAX_ERROR),
			 errmsg("invalid migration file"),
			 errdetail_internal("%s", detail.data)));
}

/* Split a header value at spaces and tabs; an empty value gives NIL. */
static List *
split_words(const char *value)
{
	List	   *words = NIL;
	const char *p = value;

	for (;;)
	{
		size_t		len;

		p += strspn(p, " \t");
		len = strcspn(p, " \t");
		if (len == 0)
			return words;
		words = lappend(words, pnstrdup(p, len));
		p += len;
	}
}

/* Does the line of "len" bytes at "p" hold only spaces and tabs? */
static bool
is_blank(const char *p, int len)
{
	for (int i = 0; i < len; i++)
		if (p[i] != ' ' && p[i] != '\t')
			return false;
	return true;
}

/*
 * The first character of the "len" bytes at "p" that an editor could show
 * as a line break or that has no place in a header line: a control
 * character other than tab, and in UTF-8 the C1 controls (NEL among them)
 * and the line and paragraph separators U+2028 and U+2029.  NULL if none.
 */
static const char *
odd_char(const char *p, int len)
{
	bool		utf8 = GetDatabaseEncoding() == PG_UTF8;

	for (int i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) p[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return p + i;
		if (utf8 && c == 0xc2 && i + 1 < len &&
			(unsigned char) p[i + 1] >= 0x80 && (unsigned char) p[i + 1] <= 0x9f)
			return p + i;
		if (utf8 && c == 0xe2 && i + 2 < len && (unsigned char) p[i + 1] == 0x80 &&
			((unsigned char) p[i + 2] == 0xa8 || (unsigned char) p[i + 2] == 0xa9))
			return p + i;
	}
	return NULL;
}

/*
 * Optimal string alignment distance between the "alen" bytes at "a" and
 * the "blen" bytes at "b", ignoring ASCII case; both at most 16 bytes.
 */
static int
edit_distance(const char *a, int alen, const char *b, int blen)
{
	int			d[17][17];

	Assert(alen <= 16 && blen <= 16);
	for (int i = 0; i <= alen; i++)
		d[i][0] = i;
	for (int j = 0; j <= blen; j++)
		d[0][j] = j;
	for (int i = 1; i <= alen; i++)
		for (int j = 1; j <= blen; j++)
		{
			unsigned char ca = pg_tolower((unsigned char) a[i - 1]);
			unsigned char cb = pg_tolower((unsigned char) b[j - 1]);
			int			cost = ca != cb;

			d[i][j] = Min(Min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
			if (i > 1 && j > 1 &&
				ca == pg_tolower((unsigned char) b[j - 2]) &&
				pg_tolower((unsigned char) a[i - 2]) == cb)
				d[i][j] = Min(d[i][j], d[i - 2][j - 2] + 1);
		}
	return d[alen][blen];
}

/*
 * Is the line of "len" bytes at "p" (not a marker) a mistyped marker, which
 * would otherwise be taken silently for a comment in the header or a line
 * of the script?  That is: after optional spaces, a comment opener ("-",
 * "--" ..., "#", "//" or slash-star), optional spaces, then the word "migr" in
 * any case (not the start of a longer word such as "migrate"), or a word
 * one typo from it followed by a colon ("-- mgir:", "-- migrr:").
 * Examples: "--migr:downgrade", " -- migr:upgrade", "-- MIGR:downgrade",
 * "-- migr :downgrade", "-- migr downgrade", "# migr:upgrade".
 */
static bool
near_marker(const char *p, int len)
{
	int			i = 0;
	int			word;
	int			word_len;

	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i < len && p[i] == '-')
		while (i < len && p[i] == '-')
			i++;
	else if (i < len && p[i] == '#')
		i++;
	else if (i + 1 < len && p[i] == '/' && (p[i + 1] == '/' || p[i + 1] == '*'))
		i += 2;
	else
		return false;
	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	word = i;
	while (i < len && isalpha((unsigned char) p[i]))
		i++;
	word_len = i - word;
	if (word_len == 0 || word_len > 6)
		return false;
	if (word_len == 4 && pg_strncasecmp(p + word, "migr", 4) == 0 &&
		(i == len || !(isalnum((unsigned char) p[i]) || p[i] == '_')))
		return true;
	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i < len && p[i] == ':' && edit_distance(p + word, word_len, "migr", 4) <= 1;
}

/* The section name or key that "word" is a typo of, or NULL. */
static const char *
meant_word(const char *word)
{
	static const char *const words[] = {"upgrade", "downgrade", "revision",
		"down_revision", "message", "branch_labels", "depends_on",
	"destructive", "transactional"};
	int			len = strlen(word);
	const char *best = NULL;
	int			best_distance = 3;

	if (len > 16)
		return NULL;
	for (int i = 0; i < (int) lengthof(words); i++)
	{
		int			d = edit_distance(word, len, words[i], strlen(words[i]));

		if (d < best_distance)
		{
			best = words[i];
			best_distance = d;
		}
	}
	return best;
}

/*
 * Refuse line "line" (the "len" bytes at "p", less its line ending) if it
 * has a carriage return that ends no line (an editor shows a line break
 * there that migr does not see) or is a mistyped marker.
 */
static void
check_line(const MigrFile *file, int line, const char *p, int len)
{
	if (memchr(p, '\r', len) != NULL)
		file_error(file, line,
				   "a carriage return inside the line; lines end with LF or CR LF, and an editor would show a line break that migr does not see.");
	if (near_marker(p, len))
		file_error(file, line,
				   "\"%.*s\" looks like a mistyped marker: a marker line starts with exactly \"%s\" (lower case, no space before the colon or after it).",
				   Min(len, 60), p, MARKER);
}

/* Store the value of header key "key" given on line "line". */
static void
set_key(MigrFile *file, FileKey key, const char *value, int line)
{
	switch (key)
	{
		case KEY_REVISION:
			if (*value == '\0')
				file_error(file, line, "the revision id is empty.");
			file->id = pstrdup(value);
			break;
		case KEY_DOWN_REVISION:
			file->down_revision = split_words(value);
			break;
		case KEY_MESSAGE:
			if (odd_char(value, strlen(value)) != NULL)
				file_error(file, line, "the message has a control character or a line or paragraph separator.");
			file->message = pstrdup(value);
			break;
		case KEY_BRANCH_LABELS:
			file->branch_labels = split_words(value);
			break;
		case KEY_DEPENDS_ON:
			file->depends_on = split_words(value);
			break;
		case KEY_DESTRUCTIVE:
			if (strcmp(value, "true") == 0)
				file->destructive = true;
			else if (strcmp(value, "false") == 0)
				file->destructive = false;
			else
				file_error(file, line, "destructive must be \"true\" or \"false\", not \"%s\".",
						   value);
			file->destructive_given = true;
			break;
		case KEY_TRANSACTIONAL:
			if (strcmp(value, "true") == 0)
				file->transactional = true;
			else if (strcmp(value, "false") == 0)
				file->transactional = false;
			else
				file_error(file, line, "transactional must be \"true\" or \"false\", not \"%s\".",
						   value);
			file->transactional_given = true;
			break;
		case NUM_KEYS:
			elog(ERROR, "invalid migration file key");
	}
}

/*
 * Parse "content" into "file" (whose filename and display are set).
 * Refuses anything that is not exactly the format described at the top.
 */
static void
parse_file(MigrFile *file, const char *content)
{
	enum
	{
		IN_HEADER, IN_UPGRADE, IN_DOWNGRADE
	}			state = IN_HEADER;
	int			key_line[NUM_KEYS] = {0};
	int			len = strlen(content);
	int			pos = 0;
	int			line = 1;
	int			section_start = 0;

	while (pos < len)
	{
		const char *eol = memchr(content + pos, '\n', len - pos);
		int			line_len = eol ? eol - (content + pos) : len - pos;
		int			next = eol ? pos + line_len + 1 : len;
		const char *p = content + pos;
		int			mlen = line_len;
		char	   *word;
		char	   *value;
		int			word_len;
		int			key;

		if (mlen > 0 && p[mlen - 1] == '\r')
			mlen--;
		CHECK_FOR_INTERRUPTS();

		if (mlen < (int) MARKER_LEN || strncmp(p, MARKER, MARKER_LEN) != 0)
		{
			check_line(file, line, p, mlen);
			/* Not a marker: a script line, or a comment in the header. */
			if (state == IN_HEADER && !is_blank(p, mlen) &&
				!(mlen >= 2 && p[0] == '-' && p[1] == '-'))
				file_error(file, line,
						   "only \"-- migr:\" keys, comments and blank lines may come before \"-- migr:upgrade\".");
			pos = next;
			line++;
			continue;
		}

		/* A marker: "-- migr:WORD", then the value after spaces or tabs. */
		word_len = strcspn(p + MARKER_LEN, " \t\r\n");
		if (word_len > mlen - (int) MARKER_LEN)
			word_len = mlen - MARKER_LEN;
		word = pnstrdup(p + MARKER_LEN, word_len);
		value = pnstrdup(p + MARKER_LEN + word_len, mlen - MARKER_LEN - word_len);
		value += strspn(value, " \t");
		{
			int			vlen = strlen(value);

			while (vlen > 0 && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
				value[--vlen] = '\0';
		}

		if (memchr(p, '\r', mlen) != NULL)
			check_line(file, line, p, mlen);
		if (*word == '\0')
			file_error(file, line, "a space after \"%s\": a marker line is \"%s\" followed directly by a key or a section name%s%s%s.",
					   MARKER, MARKER,
					   meant_word(value) ? " (\"" MARKER : "",
					   meant_word(value) ? meant_word(value) : "",
					   meant_word(value) ? "\"?)" : "");
		if (strcmp(word, "upgrade") == 0 || strcmp(word, "downgrade") == 0)
		{
			bool		up = (word[0] == 'u');

			if (*value != '\0')
				file_error(file, line, "\"-- migr:%s\" takes no value.", word);
			if (up && state != IN_HEADER)
				file_error(file, line, "a second upgrade section (the first starts on line %d).",
						   file->upgrade_line);
			if (!up && state == IN_HEADER)
				file_error(file, line, "the downgrade section comes before the upgrade section.");
			if (!up && state == IN_DOWNGRADE)
				file_error(file, line, "a second downgrade section (the first starts on line %d).",
						   file->downgrade_line);
			if (up)
			{
				for (key = 0; key < NUM_KEYS; key++)
					if (key_required[key] && key_line[key] == 0)
						file_error(file, line, "the header has no \"-- migr:%s\" line.",
								   key_names[key]);
				file->upgrade_line = line;
				state = IN_UPGRADE;
			}
			else
			{
				/*
				 * The upgrade ends before the newline that precedes this
				 * line.
				 */
				file->upgrade = pnstrdup(content + section_start,
										 Max(pos - 1 - section_start, 0));
				file->downgrade_line = line;
				state = IN_DOWNGRADE;
			}
			section_start = next;
			pos = next;
			line++;
			continue;
		}

		for (key = 0; key < NUM_KEYS; key++)
			if (strcmp(word, key_names[key]) == 0)
				break;
		if (key == NUM_KEYS && meant_word(word) != NULL)
			file_error(file, line, "\"%s%s\" is neither a key nor a section marker; did you mean \"%s%s\"?",
					   MARKER, word, MARKER, meant_word(word));
		if (state != IN_HEADER)
			file_error(file, line,
					   "\"-- migr:%s\" inside the %s section: a line starting with \"-- migr:\" is a marker, and keys belong in the header.",
					   word, state == IN_UPGRADE ? "upgrade" : "downgrade");
		if (key == NUM_KEYS)
			file_error(file, line, "unknown key \"%s\".", word);
		else
		{
			if (key_line[key] != 0)
				file_error(file, line, "key \"%s\" is given twice (first on line %d).",
						   word, key_line[key]);
			key_line[key] = line;
			set_key(file, key, value, line);
		}
		pos = next;
		line++;
	}

	if (state == IN_HEADER)
		file_error(file, line - 1, "the file ends without a \"-- migr:upgrade\" line.");

	/* The last section runs to the end, less one final newline. */
	{
		int			end = len;
		char	   *section;

		if (end > section_start && content[end - 1] == '\n')
			end--;
		section = pnstrdup(content + section_start, Max(end - section_start, 0));
		if (state == IN_UPGRADE)
			file->upgrade = section;
		else
			file->downgrade = section;
	}
}

/*
 * The file's name without directories and without ".sql" must be the
 * revision id, or start with the id and an underscore.
 */
static void
check_filename(const MigrFile *file)
{
	const char *base;
	size_t		base_len;
	size_t		id_len = strlen(file->id);

	if (file->filename == NULL)
		return;
	base = strrchr(file->filename, '/');
	base = base ? base + 1 : file->filename;
	base_len = strlen(base);
	if (base_len >= 4 && strcmp(base + base_len - 4, ".sql") == 0)
		base_len -= 4;

	if ((base_len == id_len || (base_len > id_len && base[id_len] == '_')) &&
		strncmp(base, file->id, id_len) == 0)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("migration file \"%s\" does not match its revision \"%s\"",
					file->filename, file->id),
			 errdetail("The file name without \".sql\" must be the revision id, or the id followed by \"_\" and anything."),
			 errhint("Rename the file to \"%s.sql\" or \"%s_<description>.sql\".",
					 file->id, file->id)));
}

/*
 * Can a file hold this text on one header line, and give it back as is?
 * Not with a line break or another control character (tab aside), nor
 * with spaces at either end (values are trimmed).
 */
static bool
fits_header(const char *value)
{
	size_t		len = strlen(value);

	if (odd_char(value, len) != NULL)
		return false;
	return len == 0 || (!isspace((unsigned char) value[0]) &&
						!isspace((unsigned char) value[len - 1]));
}

/*
 * The 1-based line of "script" that parse_file() would not take back as a
 * line of the script: a marker, a mistyped marker, or a line with a
 * carriage return that ends no line (the script's last character may be a
 * carriage return: the writer puts a newline after it).  0 if none.
 */
static int
bad_line_in(const char *script, const char **why)
{
	const char *p = script;
	int			line = 1;

	if (script == NULL)
		return 0;
	for (;;)
	{
		const char *eol = strchr(p, '\n');
		int			len = eol ? (int) (eol - p) : (int) strlen(p);

		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (strncmp(p, MARKER, MARKER_LEN) == 0)
		{
			*why = psprintf("starts with \"%s\", which would end the section", MARKER);
			return line;
		}
		if (near_marker(p, len))
		{
			*why = "looks like a mistyped marker, which loading refuses";
			return line;
		}
		if (memchr(p, '\r', len) != NULL)
		{
			*why = "has a carriage return inside it, which loading refuses";
			return line;
		}
		if (eol == NULL)
			return 0;
		p = eol + 1;
		line++;
	}
}

/* Refuse to write what a file could not give back exactly. */
static void
check_writable(const MigrFile *file)
{
	const char *problem = NULL;
	const char *why;
	int			line;

	if (!fits_header(file->message))
		problem = "Its message has a line break, another control character or spaces at either end, which a header line cannot keep.";
	else if ((line = bad_line_in(file->upgrade, &why)) > 0)
		problem = psprintf("Line %d of its upgrade script %s.", line, why);
	else if ((line = bad_line_in(file->downgrade, &why)) > 0)
		problem = psprintf("Line %d of its downgrade script %s.", line, why);
	if (problem != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("revision \"%s\" cannot be written as a migration file", file->id),
				 errdetail_internal("%s", problem),
				 errhint("Register the revision again (before it is applied) with a message on one line and no script line starting with \"%s\" or looking like it.",
						 MARKER)));
}

static void
append_words(StringInfo buf, const char *key, List *words, bool always)
{
	ListCell   *lc;

	if (words == NIL && !always)
		return;
	appendStringInfo(buf, "%s%s", MARKER, key);
	foreach(lc, words)
		appendStringInfo(buf, " %s", (char *) lfirst(lc));
	appendStringInfoChar(buf, '\n');
}

/*
 * The text of the file describing "file": the header, then the sections
 * with the scripts exactly as they are, so parse_file() gives them back.
 */
static char *
format_file(const MigrFile *file)
{
	StringInfoData buf;

	check_writable(file);
	initStringInfo(&buf);
	appendStringInfo(&buf, "%srevision %s\n", MARKER, file->id);
	append_words(&buf, "down_revision", file->down_revision, true);
	if (*file->message != '\0')
		appendStringInfo(&buf, "%smessage %s\n", MARKER, file->message);
	else
		appendStringInfo(&buf, "%smessage\n", MARKER);
	append_words(&buf, "branch_labels", file->branch_labels, false);
	append_words(&buf, "depends_on", file->depends_on, false);
	if (file->destructive_given)
		appendStringInfo(&buf, "%sdestructive %s\n", MARKER,
						 file->destructive ? "true" : "false");
	if (file->transactional_given)
		appendStringInfo(&buf, "%stransactional %s\n", MARKER,
						 file->transactional ? "true" : "false");
	appendStringInfo(&buf, "\n%supgrade\n%s\n", MARKER, file->upgrade);
	if (file->downgrade != NULL)
		appendStringInfo(&buf, "%sdowngrade\n%s\n", MARKER, file->downgrade);
	return buf.data;
}

/* ---------------------------------------------------------------------
 * Loading
 * ---------------------------------------------------------------------
 */

/* Registration errors name the file they come from. */
static void
file_error_callback(void *arg)
{
	MigrFile   *file = (MigrFile *) arg;
	StringInfoData where;

	initStringInfo(&where);
	appendStringInfo(&where, "its upgrade script starts on line %d",
					 file->upgrade_line + 1);
	if (file->downgrade_line > 0)
		appendStringInfo(&where, ", its downgrade script on line %d",
						 file->downgrade_line + 1);
	if (file->display != NULL)
		errcontext("migration file \"%s\" (%s)", file->display, where.data);
	else
		errcontext("migration file of revision \"%s\" (%s)", file->id, where.data);
}

/* Register the revision "file" describes; says what happened. */
static const char *
register_file(MigrFile *file, char **id)
{
	MigrRegistration reg = {0};
	MigrRegisterResult result;
	ErrorContextCallback errcallback;

	reg.message = file->message;
	reg.upgrade = file->upgrade;
	reg.downgrade = file->downgrade;
	reg.id = file->id;
	/* The file says everything: no key means none, not "keep". */
	reg.down_revision = file->down_revision;
	reg.down_revision_given = true;
	reg.branch_labels = file->branch_labels;
	reg.branch_labels_given = true;
	reg.depends_on = file->depends_on;
	reg.depends_on_given = true;
	reg.destructive = file->destructive;
	reg.destructive_given = file->destructive_given;
	reg.transactional = file->transactional;
	reg.transactional_given = file->transactional_given;
	/* Each script starts on the line after its marker. */
	reg.filename = file->filename;
	reg.upgrade_line = file->upgrade_line + 1;
	reg.downgrade_line = file->downgrade_line > 0 ? file->downgrade_line + 1 : 0;
	reg.from_file = true;

	errcallback.callback = file_error_callback;
	errcallback.arg = file;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;
	*id = migr_register(&reg, &result);
	error_context_stack = errcallback.previous;

	switch (result)
	{
		case MIGR_REGISTER_NEW:
			return "registered";
		case MIGR_REGISTER_CHANGED:
			return "updated";
		case MIGR_REGISTER_UNCHANGED:
			return "unchanged";
	}
	return NULL;				/* keep the compiler quiet */
}

/*
 * migr_load(content text, filename text DEFAULT NULL) RETURNS text:
 * register the revision one file describes and return its id.
 */
Datum
migr_load_file(PG_FUNCTION_ARGS)
{
	MigrFile	file = {0};
	char	   *id;

	migr_check_can_change(fcinfo);
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("migration file content must not be NULL")));
	if (!PG_ARGISNULL(1))
		file.filename = file.display = text_to_cstring(PG_GETARG_TEXT_PP(1));
	parse_file(&file, text_to_cstring(PG_GETARG_TEXT_PP(0)));
	check_filename(&file);
	(void) register_file(&file, &id);
	PG_RETURN_TEXT_P(cstring_to_text(id));
}

/* The elements of a one-dimensional text[], NULLs as NULL pointers. */
static char **
text_array_elements(ArrayType *array, const char *what, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	char	  **result;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", what)));
	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, n);
	result = palloc0(sizeof(char *) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
		if (!nulls[i])
			result[i] = TextDatumGetCString(elems[i]);
	return result;
}

/* Position of the file in "files" that describes revision "id", or -1. */
static int
file_for(MigrFile *files, int n, const char *id)
{
	for (int i = 0; i < n; i++)
		if (strcmp(files[i].id, id) == 0)
			return i;
	return -1;
}

/*
 * The registered revisions that none of the "n" loaded "ids" is, as rows
 * (NULL, id, "missing, applied" or "missing, not applied"), with a warning
 * each; in production, an applied one needs confirmation.  A file deleted
 * from the directory leaves its revision in the catalog: applied, the
 * database keeps its changes that nothing in the files describes any more;
 * not applied, the next upgrade still runs it.
 */
static void
report_missing_files(ReturnSetInfo *rsinfo, char **ids, int n)
{
	MigrOwnerScope scope;
	MigrGraph  *graph;
	bool	   *listed;
	bool		applied_missing = false;

	migr_catalog_open(&scope);
	graph = migr_graph_load();
	listed = palloc0(sizeof(bool) * Max(graph->nnodes, 1));
	for (int i = 0; i < n; i++)
	{
		int			node = migr_graph_find(graph, ids[i]);

		if (node >= 0)
			listed[node] = true;
	}
	for (int node = 0; node < graph->nnodes; node++)
	{
		const char *id = graph->nodes[node].id;
		bool		applied = graph->nodes[node].applied;
		Datum		values[3];
		bool		nulls[3] = {true, false, false};

		if (listed[node])
			continue;
		if (applied)
		{
			applied_missing = true;
			ereport(WARNING,
					(errmsg("revision \"%s\" is applied, but no file of the directory describes it", id),
					 errdetail("Its file was deleted or renamed; the database keeps the changes it made."),
					 errhint("Restore the file (git checkout) and load again; if it was deleted on purpose, write a new file that undoes its changes.")));
		}
		else
			ereport(WARNING,
					(errmsg("revision \"%s\" is registered, but no file of the directory describes it", id),
					 errdetail("Its file was deleted or renamed; migr_upgrade('head') still applies the revision if the head needs it.")));
		values[1] = CStringGetTextDatum(id);
		values[2] = CStringGetTextDatum(applied ? "missing, applied" : "missing, not applied");
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	if (applied_missing)
		migr_require_confirmation(MIGR_CONFIRM_MISSING_FILE);
	migr_owner_end(&scope);
	SPI_finish();
}

/*
 * migr_load(contents text[], filenames text[] DEFAULT NULL)
 * RETURNS TABLE (filename text, revision text, action text)
 *
 * Loads a set of files in one call.  Parents and dependencies among the set
 * go first, whatever the array order; files that are ready at the same
 * time go in array order.  Every file is parsed before anything is
 * registered.
 */
Datum
migr_load_files(PG_FUNCTION_ARGS)
{
	return load_files(fcinfo, false);
}

/*
 * migr_load_directory(contents text[], filenames text[] DEFAULT NULL)
 * RETURNS TABLE (filename text, revision text, action text)
 *
 * migr_load() of every file of a directory: the files are all there is, so
 * the registered revisions that no file describes are reported too.
 */
Datum
migr_load_directory(PG_FUNCTION_ARGS)
{
	return load_files(fcinfo, true);
}

/*
 * Load the set of files of the arguments; with "directory", report the
 * revisions without a file afterwards (report_missing_files).
 */
static Datum
load_files(FunctionCallInfo fcinfo, bool directory)
{
	ReturnSetInfo *rsinfo;
	char	  **contents;
	char	  **names = NULL;
	int			n;
	int			nnames = 0;
	MigrFile   *files;
	int		   *waiting;		/* per file: parents in the set not loaded */
	bool	   *done;
	char	  **ids;			/* per file: the revision it registered */

	migr_check_can_change(fcinfo);
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("migration file contents must not be NULL")));
	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	contents = text_array_elements(PG_GETARG_ARRAYTYPE_P(0), "contents", &n);
	if (!PG_ARGISNULL(1))
	{
		names = text_array_elements(PG_GETARG_ARRAYTYPE_P(1), "filenames", &nnames);
		if (nnames != n)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%d migration files but %d file names", n, nnames),
					 errhint("Pass one file name per file, or none at all.")));
	}

	files = palloc0(sizeof(MigrFile) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		MigrFile   *file = &files[i];

		file->filename = names ? names[i] : NULL;
		file->display = file->filename ? file->filename
			: psprintf("contents[%d]", i + 1);
		if (contents[i] == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("migration file \"%s\" is NULL", file->display)));
		parse_file(file, contents[i]);
		check_filename(file);
		for (int j = 0; j < i; j++)
			if (strcmp(files[j].id, file->id) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("migration files \"%s\" and \"%s\" both describe revision \"%s\"",
								files[j].display, file->display, file->id)));
	}

	/* Kahn's algorithm over the edges inside the set, ties by array order. */
	waiting = palloc0(sizeof(int) * Max(n, 1));
	done = palloc0(sizeof(bool) * Max(n, 1));
	ids = palloc0(sizeof(char *) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		List	   *refs = list_concat_copy(files[i].down_revision, files[i].depends_on);
		ListCell   *lc;

		foreach(lc, refs)
		{
			if (file_for(files, n, lfirst(lc)) >= 0)
				waiting[i]++;
		}
	}

	for (int loaded = 0; loaded < n; loaded++)
	{
		int			next = -1;
		Datum		values[3];
		bool		nulls[3] = {false, false, false};
		const char *action;
		char	   *id;

		for (int i = 0; i < n && next < 0; i++)
			if (!done[i] && waiting[i] == 0)
				next = i;

		if (next < 0)
		{
			StringInfoData list;

			initStringInfo(&list);
			for (int i = 0; i < n; i++)
				if (!done[i])
					appendStringInfo(&list, "%s\"%s\" (%s)", list.len ? ", " : "",
									 files[i].display, files[i].id);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_RECURSION),
					 errmsg("migration files make a cycle through their parents or dependencies"),
					 errdetail("These files wait for each other: %s.", list.data)));
		}

		action = register_file(&files[next], &id);
		done[next] = true;
		for (int i = 0; i < n; i++)
		{
			List	   *refs;
			ListCell   *lc;

			if (done[i])
				continue;
			refs = list_concat_copy(files[i].down_revision, files[i].depends_on);
			foreach(lc, refs)
			{
				if (strcmp(lfirst(lc), files[next].id) == 0)
					waiting[i]--;
			}
		}

		if (files[next].filename != NULL)
			values[0] = CStringGetTextDatum(files[next].filename);
		else
			nulls[0] = true;
		values[1] = CStringGetTextDatum(id);
		values[2] = CStringGetTextDatum(action);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		ids[next] = id;
	}
	if (directory)
		report_missing_files(rsinfo, ids, n);
	return (Datum) 0;
}

/* ---------------------------------------------------------------------
 * Writing
 * ---------------------------------------------------------------------
 */

/*
 * migr_export() RETURNS TABLE (filename text, content text): one file per
 * revision, in registration order, named "<id>.sql".
 */
Datum
migr_export(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo;
	MigrOwnerScope scope;
	ListCell   *lc;

	migr_citus_note_on_worker();
	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	migr_catalog_open(&scope);

	foreach(lc, migr_catalog_all_revisions())
	{
		MigrRevisionRow *row = lfirst(lc);
		MigrFile	file = {0};
		Datum		values[2];
		bool		nulls[2] = {false, false};

		file.id = row->id;
		file.message = row->message;
		file.upgrade = row->upgrade;
		file.downgrade = row->downgrade;
		file.down_revision = row->parents;
		file.depends_on = row->depends_on;
		file.branch_labels = row->labels;
		/* Only an acknowledgement is written: "false" would assert more. */
		file.destructive_given = file.destructive = row->destructive;
		/* Only "false" is written: detection gives the same, forced or not. */
		file.transactional_given = !row->transactional;
		file.transactional = false;

		values[0] = CStringGetTextDatum(psprintf("%s.sql", file.id));
		values[1] = CStringGetTextDatum(format_file(&file));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	migr_owner_end(&scope);
	SPI_finish();
	return (Datum) 0;
}

/*
 * A file name for a new revision: the id, then the message in lower case
 * with every run of other characters as one "_", at most 40 of them.
 */
static char *
template_filename(const char *id, const char *message)
{
	StringInfoData slug;

	initStringInfo(&slug);
	for (const char *p = message; *p != '\0' && slug.len < 40; p++)
	{
		unsigned char c = (unsigned char) *p;

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			appendStringInfoChar(&slug, c);
		else if (c >= 'A' && c <= 'Z')
			appendStringInfoChar(&slug, c - 'A' + 'a');
		else if (slug.len > 0 && slug.data[slug.len - 1] != '_')
			appendStringInfoChar(&slug, '_');
	}
	while (slug.len > 0 && slug.data[slug.len - 1] == '_')
		slug.data[--slug.len] = '\0';
	return slug.len > 0 ? psprintf("%s_%s.sql", id, slug.data)
		: psprintf("%s.sql", id);
}

/*
 * The header of a new migration file from its function's arguments: the
 * message, which must fit on one header line, and the id when one is
 * given ("id" NULL: none), checked as an id.
 */
static void
set_new_file_header(MigrFile *file, text *message, text *id)
{
	file->message = text_to_cstring(message);
	if (!fits_header(file->message))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the message of a migration file must fit on one header line"),
				 errdetail("It has a line break, another control character or spaces at either end.")));
	if (id != NULL)
	{
		file->id = text_to_cstring(id);
		migr_check_revision_id(file->id, false);
	}
}

/*
 * A fresh id for a new file that has none; one given must not exist yet.
 * Inside a catalog scope.
 */
static void
set_new_file_id(MigrFile *file)
{
	if (file->id == NULL)
		file->id = migr_generate_revision_id();
	else if (migr_catalog_revision_exists(file->id) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("revision \"%s\" already exists", file->id),
				 errhint("Leave out the id to get a fresh one.")));
}

/* The new file as the one row (filename, content) of "rsinfo". */
static void
emit_new_file(ReturnSetInfo *rsinfo, MigrFile *file)
{
	Datum		values[2];
	bool		nulls[2] = {false, false};

	values[0] = CStringGetTextDatum(template_filename(file->id, file->message));
	values[1] = CStringGetTextDatum(format_file(file));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * migr_template(message text, revision text DEFAULT NULL,
 *				 down_revision text[] DEFAULT NULL)
 * RETURNS TABLE (filename text, content text)
 *
 * A new migration file to edit: a fresh id (or the one given), on top of
 * the graph's single head unless down_revision says otherwise, with both
 * sections holding only a comment.  Nothing is registered.
 */
Datum
migr_template(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo;
	MigrOwnerScope scope;
	MigrFile	file = {0};
	List	   *names = NIL;

	migr_citus_note_on_worker();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("message must not be NULL"),
				 errhint("Describe the change in a few words, as in a commit message.")));
	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	set_new_file_header(&file, PG_GETARG_TEXT_PP(0),
						PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1));
	if (!PG_ARGISNULL(2))
	{
		int			n;
		char	  **elems = text_array_elements(PG_GETARG_ARRAYTYPE_P(2),
												"down_revision", &n);

		for (int i = 0; i < n; i++)
		{
			if (elems[i] == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("down_revision must not contain NULL")));
			names = lappend(names, elems[i]);
		}
	}

	migr_catalog_open(&scope);

	set_new_file_id(&file);
	file.down_revision = migr_new_revision_parents(names, !PG_ARGISNULL(2), file.id);
	file.upgrade = "-- Write the upgrade here: SQL statements, run in the deploy's transaction.\n";
	file.downgrade = "-- Write the statements that undo the upgrade here, or delete this\n"
		"-- section if the revision cannot be undone.\n";

	emit_new_file(rsinfo, &file);

	migr_owner_end(&scope);
	SPI_finish();
	return (Datum) 0;
}

/*
 * migr_autogenerate(message text, desired text, revision text DEFAULT NULL)
 * RETURNS TABLE (filename text, content text)
 *
 * The next migration file, as migr_template() makes it, with its upgrade
 * and downgrade sections written by migr_diff(desired): a comment above
 * each statement names the difference it comes from, and the header says
 * "destructive true" when a statement is.  Nothing is registered or run;
 * the file is for review.
 */
Datum
migr_autogenerate(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo;
	MigrOwnerScope scope;
	MigrFile	file = {0};
	MemoryContext cxt = CurrentMemoryContext;
	List	   *rows;
	ListCell   *lc;

	/* it runs the desired schema's DDL, even though it rolls it back */
	migr_check_can_change(fcinfo);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", PG_ARGISNULL(0) ? "message" : "desired"),
				 errhint("Pass a message for the migration and the SQL of the desired schema.")));
	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	set_new_file_header(&file, PG_GETARG_TEXT_PP(0),
						PG_ARGISNULL(2) ? NULL : PG_GETARG_TEXT_PP(2));

	/* the differences, read as the caller (it runs the desired SQL) */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MemoryContextSwitchTo(cxt);
	rows = migr_diff_against(text_to_cstring(PG_GETARG_TEXT_PP(1)), NIL);
	SPI_finish();
	MemoryContextSwitchTo(cxt);
	if (rows == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the live schema already matches the desired schema"),
				 errdetail("migr_diff() finds no difference, so there is no migration to write.")));

	migr_catalog_open(&scope);
	set_new_file_id(&file);
	file.down_revision = migr_new_revision_parents(NIL, false, file.id);
	foreach(lc, rows)
	{
		if (((MigrDiffRow *) lfirst(lc))->destructive)
			file.destructive = file.destructive_given = true;
	}
	file.upgrade = migr_diff_section(rows, true);
	file.downgrade = migr_diff_section(rows, false);

	emit_new_file(rsinfo, &file);

	migr_owner_end(&scope);
	SPI_finish();
	return (Datum) 0;
}
