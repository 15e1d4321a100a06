/*-------------------------------------------------------------------------
 *
 * diff.c
 *		The schema differ: what differs between two descriptions of a
 *		schema (describe.c), as ordered upgrade and downgrade statements;
 *		and reading a desired schema's SQL with the server itself.
 *
 * Two descriptions are matched by key.  An object only in the desired one
 * is added, an object only in the live one removed; an object in both with
 * another definition is changed in place where a statement can (a column's
 * type, a default, a comment, a sequence, a function's body, new enum
 * values), and otherwise dropped and created again.  Whatever depends on an
 * object that is dropped (a view on a table, a trigger on a function) is
 * dropped and created again around it.
 *
 * The rows come in two phases: first the drops, in the reverse of the
 * order the live objects were created in (their OIDs); then the creations
 * and changes, in the order the desired objects were created in.  Running
 * the upgrade column top to bottom goes from live to desired; each row's
 * downgrade undoes its upgrade, so the downgrade column run bottom to top
 * goes back.  Columns, defaults and NOT NULL of a table that is created or
 * dropped whole are part of its CREATE TABLE and have no row of their own.
 *
 * The desired schema is read by running its SQL in a subtransaction that
 * is rolled back: the compared schemas are renamed aside, the SQL creates
 * the desired objects under the real names, describe.c describes them, and
 * the rollback leaves nothing behind (no object, no lock, no catalog row).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "common/hashfn.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "migr.h"

/* What happens to one object. */
typedef enum DiffStatus
{
	DS_SAME,
	DS_ADD,
	DS_REMOVE,
	DS_REPLACE,					/* dropped, then created again */
	DS_SET,						/* its create statement replaces the old one */
	DS_ALTER,					/* changed in place by ALTER */
	DS_ENUM						/* enum values added or removed */
} DiffStatus;

typedef struct DiffEntry
{
	const char *key;			/* hash key: the object's key */
	MigrObject *live;
	MigrObject *want;
	DiffStatus	status;
	bool		implied;		/* part of its table's CREATE or DROP */
	bool		retyped;		/* a column whose type changes in place, or
								 * whose enum type is made again */
	const char *cause;			/* unchanged itself, made again around the
								 * change of this object (a key), or NULL */
	int			drop_row;		/* index in the result of its drop row, or -1 */
	int			create_row;		/* likewise for its create row */
} DiffEntry;

/* Line "n" (0-based) of a text of lines; "" when it has fewer lines. */
static char *
line_of(const char *text, int n)
{
	const char *p = text ? text : "";
	const char *end;

	while (n-- > 0)
	{
		p = strchr(p, '\n');
		if (p == NULL)
			return pstrdup("");
		p++;
	}
	end = strchr(p, '\n');
	return end ? pnstrdup(p, end - p) : pstrdup(p);
}

/* The lines of a text, as a List of char *. */
static List *
lines_of(const char *text)
{
	List	   *result = NIL;
	const char *p = text;

	if (p == NULL || *p == '\0')
		return NIL;
	for (;;)
	{
		const char *end = strchr(p, '\n');

		if (end == NULL)
		{
			result = lappend(result, pstrdup(p));
			return result;
		}
		result = lappend(result, pnstrdup(p, end - p));
		p = end + 1;
	}
}

static bool
list_has_string(List *list, const char *s)
{
	ListCell   *lc;

	foreach(lc, list)
	{
		if (strcmp(lfirst(lc), s) == 0)
			return true;
	}
	return false;
}

/* Hash and match of the entries' keys: the strings they point to. */
static uint32
key_hash(const void *key, Size keysize)
{
	const char *s = *(const char *const *) key;

	return hash_bytes((const unsigned char *) s, strlen(s));
}

static int
key_match(const void *a, const void *b, Size keysize)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/*
 * The entry of "key"; with "create", made when missing ("key" must then
 * live as long as the table).
 */
static DiffEntry *
entry_for(HTAB *table, const char *key, bool create)
{
	bool		found;
	DiffEntry  *e;

	e = hash_search(table, &key, create ? HASH_ENTER : HASH_FIND, &found);
	if (e != NULL && create && !found)
	{
		e->live = e->want = NULL;
		e->status = DS_SAME;
		e->implied = false;
		e->retyped = false;
		e->cause = NULL;
		e->drop_row = e->create_row = -1;
	}
	return e;
}

/* How an object found in both descriptions with another definition changes. */
static DiffStatus
change_status(MigrObject *live, MigrObject *want)
{
	const char *kind = live->kind;

	if (strcmp(kind, "column") == 0)
	{
		/*
		 * a column's type and collation change in place; identity or
		 * generation does not
		 */
		if (strcmp(line_of(live->extra, 4), "") == 0 &&
			strcmp(line_of(want->extra, 4), "") == 0)
			return DS_ALTER;
		return DS_REPLACE;
	}
	if (strcmp(kind, "type") == 0)
		return (live->extra[0] == 'e' && want->extra[0] == 'e') ? DS_ENUM : DS_REPLACE;
	if (strcmp(kind, "sequence") == 0)
		return DS_ALTER;
	if (strcmp(kind, "default") == 0 || strcmp(kind, "comment") == 0 ||
		strcmp(kind, "sequence owner") == 0)
		return DS_SET;
	if (strcmp(kind, "function") == 0 || strcmp(kind, "procedure") == 0)
		return strcmp(live->extra, want->extra) == 0 ? DS_SET : DS_REPLACE;
	return DS_REPLACE;
}

/* Is the object dropped and created again when column "dep" changes type? */
static bool
follows_type_change(const char *kind)
{
	/* a column that depends on a column is a generated one */
	return strcmp(kind, "view") == 0 || strcmp(kind, "materialized view") == 0 ||
		strcmp(kind, "policy") == 0 || strcmp(kind, "trigger") == 0 ||
		strcmp(kind, "default") == 0 || strcmp(kind, "column") == 0;
}

/* Are the object's statements part of its parent's CREATE or DROP? */
static bool
is_implied(HTAB *table, DiffEntry *e)
{
	MigrObject *o = e->want ? e->want : e->live;
	const char *parent = o->parent;

	if (strcmp(o->kind, "column") != 0 && strcmp(o->kind, "default") != 0 &&
		strcmp(o->kind, "not null") != 0)
		return false;
	while (parent != NULL)
	{
		DiffEntry  *p = entry_for(table, parent, false);
		MigrObject *po;

		if (p == NULL)
			return false;
		if (p->status == DS_ADD || p->status == DS_REMOVE || p->status == DS_REPLACE)
			return true;
		po = p->want ? p->want : p->live;
		parent = po->parent;
	}
	return false;
}

/* Is the parent of "o" created by this diff (then it needs no safe form)? */
static bool
parent_is_new(HTAB *table, MigrObject *o, bool upgrade)
{
	DiffEntry  *p;

	if (o->parent == NULL)
		return true;
	p = entry_for(table, o->parent, false);
	if (p == NULL)
		return true;
	if (p->status == DS_REPLACE)
		return true;
	return upgrade ? p->status == DS_ADD : p->status == DS_REMOVE;
}

/*
 * The statements that create "o" on a table that may hold rows, in the
 * forms migr_lint accepts: a foreign key or check constraint added NOT
 * VALID then validated, NOT NULL set after a validated check constraint.
 */
static char *
create_statements(HTAB *table, MigrObject *o, bool upgrade)
{
	bool		fresh = parent_is_new(table, o, upgrade);

	if (!fresh && strcmp(o->kind, "constraint") == 0)
	{
		char		contype = o->extra[0];
		char		relkind = o->extra[1];
		int			len = strlen(o->def);

		if ((contype == 'c' || (contype == 'f' && relkind != 'p')) &&
			!(len >= 9 && strcmp(o->def + len - 9, "NOT VALID") == 0))
		{
			char	   *q = line_of(o->extra, 1);
			char	   *name = line_of(o->extra, 2);

			return psprintf("ALTER TABLE %s ADD CONSTRAINT %s %s NOT VALID;\n"
							"ALTER TABLE %s VALIDATE CONSTRAINT %s;",
							q, name, o->def, q, name);
		}
	}
	if (strcmp(o->kind, "not null") == 0)
	{
		char	   *q = line_of(o->extra, 0);
		char	   *col = line_of(o->extra, 1);
		const char *check = quote_identifier(line_of(o->extra, 2));

		return psprintf("ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s IS NOT NULL) NOT VALID;\n"
						"ALTER TABLE %s VALIDATE CONSTRAINT %s;\n"
						"ALTER TABLE %s ALTER COLUMN %s SET NOT NULL;\n"
						"ALTER TABLE %s DROP CONSTRAINT %s;",
						q, check, col, q, check, q, col, q, check);
	}
	return o->create_sql;
}

/*
 * Statements that turn enum type "type" (live or desired description "o")
 * into one with exactly the values "labels", converting the columns of
 * "columns" (described objects of the side where they run).
 */
static char *
recreate_enum(MigrObject *o, List *labels, List *objects)
{
	StringInfoData buf;
	char	   *qname = o->key + strlen("type ");
	char	   *old_name = psprintf("%s__migr_old", o->object_name);
	ListCell   *lc;
	bool		first = true;

	initStringInfo(&buf);
	appendStringInfo(&buf, "ALTER TYPE %s RENAME TO %s;\nCREATE TYPE %s AS ENUM (",
					 qname, quote_identifier(old_name), qname);
	foreach(lc, labels)
	{
		appendStringInfo(&buf, "%s%s", first ? "" : ", ",
						 quote_literal_cstr(lfirst(lc)));
		first = false;
	}
	appendStringInfoString(&buf, ");");
	foreach(lc, objects)
	{
		MigrObject *c = lfirst(lc);
		char	   *q;
		char	   *col;
		ListCell   *lc2;
		MigrObject *def = NULL;

		if (strcmp(c->kind, "column") != 0 || strcmp(line_of(c->extra, 2), qname) != 0)
			continue;
		q = line_of(c->extra, 0);
		col = line_of(c->extra, 1);
		foreach(lc2, objects)
		{
			MigrObject *d = lfirst(lc2);

			if (strcmp(d->kind, "default") == 0 && d->parent != NULL &&
				strcmp(d->parent, c->key) == 0)
				def = d;
		}
		if (def)
			appendStringInfo(&buf, "\n%s", def->drop_sql);
		appendStringInfo(&buf, "\nALTER TABLE %s ALTER COLUMN %s TYPE %s USING %s::text::%s;",
						 q, col, qname, col, qname);
		if (def)
			appendStringInfo(&buf, "\n%s", def->create_sql);
	}
	appendStringInfo(&buf, "\nDROP TYPE %s.%s;", quote_identifier(o->schema_name),
					 quote_identifier(old_name));
	return buf.data;
}

/*
 * ALTER TYPE ... ADD VALUE statements that turn the values "old" into
 * "new", or NULL when "new" does not keep "old" in order.
 */
static char *
add_enum_values(const char *qname, List *old, List *new)
{
	StringInfoData buf;
	int			j = 0;
	int			first_old = -1;

	/* old must be a subsequence of new */
	for (int i = 0; i < list_length(new) && j < list_length(old); i++)
	{
		if (strcmp(list_nth(new, i), list_nth(old, j)) == 0)
		{
			if (first_old < 0)
				first_old = i;
			j++;
		}
	}
	if (j < list_length(old) || old == NIL)
		return NULL;

	initStringInfo(&buf);
	/* values before the first old one, each before its successor */
	for (int i = first_old - 1; i >= 0; i--)
		appendStringInfo(&buf, "%sALTER TYPE %s ADD VALUE %s BEFORE %s;",
						 buf.len ? "\n" : "", qname,
						 quote_literal_cstr(list_nth(new, i)),
						 quote_literal_cstr(list_nth(new, i + 1)));
	for (int i = first_old + 1; i < list_length(new); i++)
	{
		if (list_has_string(old, list_nth(new, i)))
			continue;
		appendStringInfo(&buf, "%sALTER TYPE %s ADD VALUE %s AFTER %s;",
						 buf.len ? "\n" : "", qname,
						 quote_literal_cstr(list_nth(new, i)),
						 quote_literal_cstr(list_nth(new, i - 1)));
	}
	return buf.data;
}

/* Is any statement of "sql" destructive, as the two-deploy rule says? */
static bool
statements_destructive(const char *sql)
{
	List	   *raw = raw_parser(sql, RAW_PARSE_DEFAULT);
	ListCell   *lc;

	foreach(lc, raw)
	{
		if (migr_statement_is_destructive(lfirst_node(RawStmt, lc)->stmt))
			return true;
	}
	return false;
}

static MigrDiffRow *
new_row(MigrObject *o, const char *change, const char *upgrade,
		const char *downgrade)
{
	MigrDiffRow *r = palloc0(sizeof(MigrDiffRow));

	r->kind = o->kind;
	r->schema_name = o->schema_name;
	r->object_name = o->object_name;
	r->change = pstrdup(change);
	r->upgrade = upgrade ? pstrdup(upgrade) : NULL;
	r->downgrade = downgrade ? pstrdup(downgrade) : NULL;
	r->object = o;
	return r;
}

static int
cmp_drop(const ListCell *a, const ListCell *b)
{
	MigrObject *x = ((DiffEntry *) lfirst(a))->live;
	MigrObject *y = ((DiffEntry *) lfirst(b))->live;

	if (x->sortkey != y->sortkey)
		return x->sortkey > y->sortkey ? -1 : 1;
	if (x->subrank != y->subrank)
		return x->subrank > y->subrank ? -1 : 1;
	return strcmp(x->key, y->key);
}

static int
cmp_create(const ListCell *a, const ListCell *b)
{
	MigrObject *x = ((DiffEntry *) lfirst(a))->want;
	MigrObject *y = ((DiffEntry *) lfirst(b))->want;

	if (x->sortkey != y->sortkey)
		return x->sortkey < y->sortkey ? -1 : 1;
	if (x->subrank != y->subrank)
		return x->subrank < y->subrank ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* The words of a change that is not an addition, removal or re-creation. */
static char *
change_words(DiffEntry *e)
{
	MigrObject *l = e->live;
	MigrObject *w = e->want;

	if (strcmp(l->kind, "column") == 0)
		return psprintf("type changes from %s%s to %s%s",
						line_of(l->extra, 2), line_of(l->extra, 3),
						line_of(w->extra, 2), line_of(w->extra, 3));
	if (strcmp(l->kind, "default") == 0)
		return psprintf("default changes from %s to %s", l->def, w->def);
	if (strcmp(l->kind, "comment") == 0)
		return pstrdup("comment text changes");
	if (strcmp(l->kind, "sequence owner") == 0)
		return psprintf("owner column changes from %s to %s", l->def, w->def);
	if (strcmp(l->kind, "sequence") == 0)
		return psprintf("options change from %s to %s", l->def, w->def);
	if (strcmp(l->kind, "type") == 0)
		return psprintf("enum values change from %s to %s", l->def + 3, w->def + 3);
	return pstrdup("body changes");
}

/*
 * Append hints naming the removed and added columns of one table, and the
 * removed and added tables of one schema, that look like renames.
 */
static void
note_renames(List *rows)
{
	ListCell   *lc;
	ListCell   *lc2;

	foreach(lc, rows)
	{
		MigrDiffRow *dropped = lfirst(lc);
		MigrObject *d = dropped->object;
		bool		is_column;

		if (!dropped->removal)
			continue;
		is_column = strcmp(d->kind, "column") == 0;
		if (!is_column && strcmp(d->kind, "table") != 0)
			continue;
		foreach(lc2, rows)
		{
			MigrDiffRow *added = lfirst(lc2);
			MigrObject *a = added->object;
			char	   *hint;

			if (!added->addition || strcmp(a->kind, d->kind) != 0 ||
				strcmp(a->schema_name, d->schema_name) != 0)
				continue;
			if (is_column)
			{
				if (strcmp(line_of(a->extra, 0), line_of(d->extra, 0)) != 0 ||
					strcmp(a->def, d->def) != 0)
					continue;
				hint = psprintf("; looks like a rename (same table, same type): ALTER TABLE %s RENAME COLUMN %s TO %s",
								line_of(d->extra, 0), line_of(d->extra, 1),
								line_of(a->extra, 1));
			}
			else
			{
				if (strcmp(a->extra, d->extra) != 0 || strcmp(a->def, d->def) != 0)
					continue;
				hint = psprintf("; looks like a rename (same columns): ALTER TABLE %s RENAME TO %s",
								d->key + strlen("table "),
								quote_identifier(a->object_name));
			}
			dropped->change = psprintf("%s%s", dropped->change, hint);
			added->change = psprintf("%s%s", added->change, hint);
			dropped->rename_hint = added->rename_hint = hint + 2;
		}
	}
}

/*
 * The differences between the descriptions "live" and "want" (Lists of
 * MigrObject), as an ordered List of MigrDiffRow.
 */
List *
migr_diff_compute(List *live, List *want)
{
	HASHCTL		ctl;
	HTAB	   *table;
	HASH_SEQ_STATUS seq;
	DiffEntry  *e;
	ListCell   *lc;
	List	   *drops = NIL;
	List	   *creates = NIL;
	List	   *rows = NIL;
	bool		changed;

	ctl.keysize = sizeof(const char *);
	ctl.entrysize = sizeof(DiffEntry);
	ctl.hash = key_hash;
	ctl.match = key_match;
	ctl.hcxt = CurrentMemoryContext;
	table = hash_create("migr diff", 1024 + list_length(live) + list_length(want),
						&ctl, HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);

	foreach(lc, live)
		entry_for(table, ((MigrObject *) lfirst(lc))->key, true)->live = lfirst(lc);
	foreach(lc, want)
		entry_for(table, ((MigrObject *) lfirst(lc))->key, true)->want = lfirst(lc);

	hash_seq_init(&seq, table);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		if (e->live == NULL)
			e->status = DS_ADD;
		else if (e->want == NULL)
			e->status = DS_REMOVE;
		else if (strcmp(e->live->def, e->want->def) == 0)
			e->status = DS_SAME;
		else
			e->status = change_status(e->live, e->want);
	}

	/*
	 * the columns whose type changes: ALTER COLUMN TYPE, or an enum made
	 * again
	 */
	hash_seq_init(&seq, table);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		if (e->live == NULL || strcmp(e->live->kind, "column") != 0)
			continue;
		if (e->status == DS_ALTER)
			e->retyped = true;
		else
		{
			DiffEntry  *t = entry_for(table, psprintf("type %s", line_of(e->live->extra, 2)), false);

			e->retyped = t != NULL && t->status == DS_ENUM;
		}
	}

	/*
	 * Whatever depends on an object that is dropped is dropped and created
	 * again; views, policies, triggers and defaults also when a column they
	 * use changes type.  Repeat until nothing more changes.
	 */
	do
	{
		changed = false;
		hash_seq_init(&seq, table);
		while ((e = hash_seq_search(&seq)) != NULL)
		{
			List	   *deps;
			ListCell   *lc2;

			if (e->live == NULL || e->want == NULL || e->status == DS_REPLACE)
				continue;
			deps = e->live->deps;
			if (e->live->parent)
				deps = lappend(list_copy(deps), e->live->parent);
			foreach(lc2, deps)
			{
				DiffEntry  *d = entry_for(table, lfirst(lc2), false);

				if (d == NULL)
					continue;
				if (d->status == DS_REMOVE || d->status == DS_REPLACE ||
					(d->retyped && follows_type_change(e->live->kind)))
				{
					if (e->status == DS_SAME)
						e->cause = d->key;
					e->status = DS_REPLACE;
					changed = true;
					break;
				}
			}
		}
	} while (changed);

	hash_seq_init(&seq, table);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		if (e->status == DS_SAME)
			continue;
		e->implied = is_implied(table, e);
		if (e->implied)
			continue;
		if (e->status == DS_REMOVE || e->status == DS_REPLACE)
			drops = lappend(drops, e);
		if (e->status != DS_REMOVE)
			creates = lappend(creates, e);
	}
	list_sort(drops, cmp_drop);
	list_sort(creates, cmp_create);

	foreach(lc, drops)
	{
		MigrDiffRow *r;

		e = lfirst(lc);
		CHECK_FOR_INTERRUPTS();
		r = new_row(e->live,
					e->status == DS_REMOVE ? "removed" :
					e->cause ? psprintf("unchanged, dropped here and created again further down, around the change of %s", e->cause) :
					"differs: dropped here, created again further down",
					e->live->drop_sql, create_statements(table, e->live, false));
		r->removal = e->status == DS_REMOVE;
		r->collateral = e->cause != NULL;
		rows = lappend(rows, r);
	}
	foreach(lc, creates)
	{
		MigrObject *w;
		MigrObject *l;
		MigrDiffRow *r = NULL;

		e = lfirst(lc);
		w = e->want;
		l = e->live;
		CHECK_FOR_INTERRUPTS();
		switch (e->status)
		{
			case DS_ADD:
				r = new_row(w, "added", create_statements(table, w, true), w->drop_sql);
				r->addition = true;
				break;
			case DS_REPLACE:
				r = new_row(w, e->cause ?
							psprintf("unchanged, created again (dropped further up), around the change of %s", e->cause) :
							"differs: created again (dropped further up)",
							create_statements(table, w, true), w->drop_sql);
				r->collateral = e->cause != NULL;
				break;
			case DS_SET:
				r = new_row(w, change_words(e), w->create_sql, l->create_sql);
				break;
			case DS_ALTER:
				if (strcmp(w->kind, "sequence") == 0)
					r = new_row(w, change_words(e),
								psprintf("ALTER SEQUENCE %s %s;", w->extra, w->def),
								psprintf("ALTER SEQUENCE %s %s;", l->extra, l->def));
				else
				{
					char	   *q = line_of(w->extra, 0);
					char	   *col = line_of(w->extra, 1);

					r = new_row(w, change_words(e),
								psprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s%s USING %s::%s;",
										 q, col, line_of(w->extra, 2), line_of(w->extra, 3),
										 col, line_of(w->extra, 2)),
								psprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s%s USING %s::%s;",
										 q, col, line_of(l->extra, 2), line_of(l->extra, 3),
										 col, line_of(l->extra, 2)));
				}
				break;
			case DS_ENUM:
				{
					List	   *old = lines_of(l->extra + 1);
					List	   *new = lines_of(w->extra + 1);
					char	   *added = add_enum_values(w->key + strlen("type "), old, new);

					r = new_row(w, change_words(e),
								added ? added : recreate_enum(l, new, live),
								recreate_enum(w, old, want));
					break;
				}
			default:
				elog(ERROR, "unexpected diff status %d", (int) e->status);
		}
		rows = lappend(rows, r);
	}

	note_renames(rows);
	foreach(lc, rows)
	{
		MigrDiffRow *r = lfirst(lc);

		r->step = foreach_current_index(lc) + 1;
		r->destructive = statements_destructive(r->upgrade);
	}
	hash_destroy(table);
	return rows;
}

/* ---------------------------------------------------------------------
 * Reading the desired schema
 * ---------------------------------------------------------------------
 */

typedef struct DesiredContext
{
	const char *sql;
	int			line;			/* of the statement running, or 0 */
} DesiredContext;

static void
desired_error_callback(void *arg)
{
	DesiredContext *ctx = (DesiredContext *) arg;
	int			pos = geterrposition();

	if (ctx->line > 0)
		errcontext("desired schema, line %d", ctx->line);
	else if (pos > 0)
	{
		/* a syntax error: the position is in characters */
		int			bytes = 0;
		int			chars = 0;
		int			len = strlen(ctx->sql);

		while (bytes < len && chars < pos - 1)
		{
			bytes += pg_mblen(ctx->sql + bytes);
			chars++;
		}
		errcontext("desired schema, line %d", migr_line_of(ctx->sql, bytes));
		/* the position is in the desired schema, not in the caller's query */
		errposition(0);
	}
}

/*
 * Parse the desired schema's SQL with the server's parser into its
 * statements, refusing what a description of a schema cannot contain:
 * transaction control (it runs inside a subtransaction) and DROP (it
 * would drop live objects' stand-ins, and says what to remove instead of
 * what should exist).
 */
static pg_noinline List *
parse_desired(const char *sql)
{
	DesiredContext ctx = {sql, 0};
	ErrorContextCallback errcallback;
	MigrLineCounter lines = MIGR_LINE_COUNTER_INIT;
	List	   *raw;
	List	   *result = NIL;
	ListCell   *lc;

	errcallback.callback = desired_error_callback;
	errcallback.arg = &ctx;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;
	raw = raw_parser(sql, RAW_PARSE_DEFAULT);
	error_context_stack = errcallback.previous;

	foreach(lc, raw)
	{
		RawStmt    *rs = lfirst_node(RawStmt, lc);
		MigrStatement *st = palloc0(sizeof(MigrStatement));
		int			start = rs->stmt_location;
		int			len = rs->stmt_len > 0 ? rs->stmt_len : (int) strlen(sql) - start;

		/* the statement's text starts at its first non-blank character */
		while (len > 0 && isspace((unsigned char) sql[start]))
		{
			start++;
			len--;
		}
		st->number = foreach_current_index(lc) + 1;
		st->location = start;
		st->line = migr_line_at(sql, start, &lines);
		st->text = pnstrdup(sql + start, len);
		st->parsetree = rs->stmt;

		switch (nodeTag(rs->stmt))
		{
			case T_TransactionStmt:
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_TRANSACTION_TERMINATION),
						 errmsg("transaction control is not allowed in a desired schema"),
						 errdetail("Line %d is \"%s\".", st->line, st->text),
						 errhint("The desired schema is read inside a subtransaction; remove the statement.")));
				break;
			case T_DropStmt:
			case T_DropOwnedStmt:
			case T_DropRoleStmt:
			case T_DropdbStmt:
			case T_DropTableSpaceStmt:
			case T_DropSubscriptionStmt:
			case T_DropUserMappingStmt:
			case T_TruncateStmt:
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("a desired schema cannot drop or truncate objects"),
						 errdetail("Line %d is \"%s\".", st->line, st->text),
						 errhint("Describe the schema as it should be: leave out what should not exist, and migr_diff drops it.")));
				break;
			default:
				break;
		}
		result = lappend(result, st);
	}
	return result;
}

/*
 * Run SQL text "sql" through SPI; errors are the server's.
 */
static void
run_sql(const char *sql)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc < 0)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(rc));
}

/*
 * Describe the schema that the SQL "sql" creates, in place of the schemas
 * "schemas" (the live ones, renamed aside meanwhile; NIL with
 * "default_schemas": those compared by default, then the default ones of
 * the desired schema are described).  The result is allocated in "into".
 * Nothing of what runs remains: it runs in a subtransaction rolled back.
 * SPI must be connected.
 */
List *
migr_diff_describe_desired(const char *sql, List *schemas, bool default_schemas,
						   List *live, MemoryContext into)
{
	List	   *statements = parse_desired(sql);
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	List	   *volatile result = NIL;
	DesiredContext ctx = {sql, 0};
	ErrorContextCallback errcallback;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);

	PG_TRY();
	{
		ListCell   *lc;
		int			n = 0;
		List	   *described;

		/* extensions are per database: drop the compared ones */
		foreach(lc, live)
		{
			MigrObject *o = lfirst(lc);

			if (strcmp(o->kind, "extension") == 0)
				run_sql(psprintf("DROP EXTENSION %s CASCADE",
								 quote_identifier(o->object_name)));
		}
		foreach(lc, schemas)
		{
			if (!OidIsValid(get_namespace_oid(lfirst(lc), true)))
				continue;		/* the desired SQL may create it */
			run_sql(psprintf("ALTER SCHEMA %s RENAME TO %s",
							 quote_identifier(lfirst(lc)),
							 quote_identifier(psprintf("migr_aside_%d_%d",
													   MyProcPid, ++n))));
			if (strcmp(lfirst(lc), "public") == 0)
			{
				ListCell   *lc2;

				/* as in a new database, with the live one's comment */
				run_sql("CREATE SCHEMA public");
				foreach(lc2, live)
				{
					MigrObject *o = lfirst(lc2);

					if (strcmp(o->key, "comment schema public") == 0)
						run_sql(o->create_sql);
				}
			}
		}

		/*
		 * The desired schema's tables are empty: planning parallel builds of
		 * their indexes costs more than the builds (a setting made inside the
		 * subtransaction goes with it).
		 */
		(void) set_config_option("max_parallel_maintenance_workers", "0",
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_LOCAL,
								 true, 0, false);

		errcallback.callback = desired_error_callback;
		errcallback.arg = &ctx;
		errcallback.previous = error_context_stack;
		error_context_stack = &errcallback;
		foreach(lc, statements)
		{
			MigrStatement *st = lfirst(lc);

			CHECK_FOR_INTERRUPTS();
			ctx.line = st->line;
			run_sql(st->text);
		}
		ctx.line = 0;
		error_context_stack = errcallback.previous;

		described = default_schemas ? migr_describe_default_schemas() : schemas;
		result = migr_describe_schemas(described, false, into);

		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		ReThrowError(edata);
	}
	PG_END_TRY();

	return result;
}

/*
 * The differences between the live schema and the one that SQL "desired"
 * creates, in the schemas "schemas" (NIL: the default ones).  Refused in
 * production: reading the desired schema runs its DDL, even if it rolls it
 * back.  SPI must be connected.
 */
List *
migr_diff_against(const char *desired, List *schemas)
{
	MemoryContext cxt = CurrentMemoryContext;
	bool		given = schemas != NIL;
	List	   *live;
	List	   *want;

	if (migr_environment == MIGR_ENV_PRODUCTION)
		ereport(ERROR,
				(errcode(ERRCODE_MIGR_ADHOC_DDL),
				 errmsg("migr_diff is not allowed in production"),
				 errdetail("Reading the desired schema runs its DDL, even though it is rolled back."),
				 errhint("Generate migrations in development or staging, and deploy them to production with migr_upgrade().")));
	if (!given)
		schemas = migr_describe_default_schemas();
	live = migr_describe_schemas(schemas, true, cxt);
	want = migr_diff_describe_desired(desired, schemas, !given, live, cxt);
	return migr_diff_compute(live, want);
}

/* "text" on one line, for a comment. */
static char *
one_line(const char *text)
{
	char	   *s = pstrdup(text);

	for (char *p = s; *p; p++)
	{
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	}
	return s;
}

/*
 * One section of a migration file made of the rows of a diff: the upgrade
 * statements top to bottom, or the downgrade statements bottom to top, each
 * under a comment naming the difference it comes from.
 */
char *
migr_diff_section(List *rows, bool upgrade)
{
	StringInfoData buf;
	int			n = list_length(rows);

	initStringInfo(&buf);
	for (int i = 0; i < n; i++)
	{
		MigrDiffRow *r = list_nth(rows, upgrade ? i : n - 1 - i);
		const char *sql = upgrade ? r->upgrade : r->downgrade;

		if (buf.len > 0)
			appendStringInfoChar(&buf, '\n');
		appendStringInfo(&buf, "-- %s%d: %s %s.%s: %s%s\n%s\n",
						 upgrade ? "" : "undoes ", r->step, r->kind,
						 r->schema_name, r->object_name, one_line(r->change),
						 upgrade && r->destructive ? " (destructive)" : "",
						 sql ? sql : "-- (this difference cannot be undone)");
	}
	return buf.data;
}

/* ---------------------------------------------------------------------
 * Drift: the live schema against the description recorded after the last
 * operation that changed it
 * ---------------------------------------------------------------------
 */

/*
 * Record the description of the schemas compared by default, after
 * "operation" changed the schema.  SPI must be connected; the catalog is
 * written as the extension owner.
 */
void
migr_drift_record(const char *operation)
{
	MemoryContext cxt = CurrentMemoryContext;
	MigrOwnerScope scope;

	migr_owner_begin(&scope);
	(void) migr_catalog_record_schema(migr_describe_query(false),
									  migr_describe_default_schemas(),
									  operation);
	migr_owner_end(&scope);
	MemoryContextSwitchTo(cxt);
}

/*
 * The differences between the live schema and the recorded one, as rows
 * whose upgrade brings the live schema back to the record; "recorded" says
 * whether there is a record at all.  SPI must be connected.
 */
List *
migr_drift_rows(bool *recorded)
{
	MemoryContext cxt = CurrentMemoryContext;
	MigrOwnerScope scope;
	List	   *record;
	List	   *schemas;
	List	   *live;
	List	   *rows;
	ListCell   *lc;

	migr_owner_begin(&scope);
	*recorded = migr_catalog_load_schema_record(&record, &schemas, cxt);
	migr_owner_end(&scope);
	MemoryContextSwitchTo(cxt);
	if (!*recorded)
		return NIL;

	/* the recorded schemas, and any schema made since */
	foreach(lc, migr_describe_default_schemas())
	{
		if (!list_has_string(schemas, lfirst(lc)))
			schemas = lappend(schemas, lfirst(lc));
	}
	/* without dependencies first: they matter only when something differs */
	live = migr_describe_schemas(schemas, false, cxt);
	MemoryContextSwitchTo(cxt);
	rows = migr_diff_compute(live, record);
	if (rows != NIL)
	{
		live = migr_describe_schemas(schemas, true, cxt);
		MemoryContextSwitchTo(cxt);
		rows = migr_diff_compute(live, record);
	}

	/* say what happened to the live schema, not what the upgrade does */
	foreach(lc, rows)
	{
		MigrDiffRow *r = lfirst(lc);

		if (r->removal)
			r->change = psprintf("created outside migr (the upgrade drops it)%s",
								 r->change + strlen("removed"));
		else if (r->addition)
			r->change = psprintf("dropped outside migr (the upgrade creates it again)%s",
								 r->change + strlen("added"));
		else if (!r->collateral)
			r->change = psprintf("changed outside migr: %s", r->change);
	}
	return rows;
}
