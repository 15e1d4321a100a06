/*-------------------------------------------------------------------------
 *
 * target.c
 *		Revision ids, and the target strings that name revisions.
 *
 * A target is one of
 *		head			the graph's single head (an error when there are several)
 *		heads			every head
 *		base			no revision at all
 *		ID				a full revision id, or a unique prefix of at least
 *						MIGR_MIN_PREFIX_LEN characters
 *		[START]+N		N steps up from START
 *		[START]-N		N steps down from START
 * where START is head, base or an ID, and an empty START means the current
 * revision.  Ids consist of [A-Za-z0-9_], so "+" and "-" never belong to one.
 *
 * A target resolves to a list of graph positions; NIL is base.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "migr.h"

static const char *const reserved_ids[] = {"head", "heads", "base", "current"};

/*
 * Check that "id" can name a revision: 1 to 64 of [A-Za-z0-9_], and not a
 * word that targets reserve.
 */
void
migr_check_revision_id(const char *id)
{
	size_t		len = strlen(id);

	if (len == 0 || len > MIGR_MAX_ID_LEN ||
		strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("invalid revision id \"%s\"", id),
				 errdetail("A revision id consists of 1 to %d letters, digits and underscores.",
						   MIGR_MAX_ID_LEN),
				 errhint("Leave the revision NULL to get a generated id.")));

	for (int i = 0; i < (int) lengthof(reserved_ids); i++)
		if (pg_strcasecmp(id, reserved_ids[i]) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_RESERVED_NAME),
					 errmsg("revision id \"%s\" is reserved", id),
					 errdetail("\"head\", \"heads\", \"base\" and \"current\" are target names.")));
}

/*
 * The full id that "name" stands for: an exact id, or else a unique prefix
 * of at least MIGR_MIN_PREFIX_LEN characters.  Looks in "graph", or in the
 * catalog when graph is NULL (callers that must not load the whole graph;
 * inside an owner scope).
 */
static char *
resolve_name(const MigrGraph *graph, const char *name)
{
	size_t		len = strlen(name);
	List	   *matches = NIL;

	if (graph != NULL && migr_graph_find(graph, name) >= 0)
		return (char *) name;
	if (graph == NULL && migr_catalog_revision_exists(name) != NULL)
		return (char *) name;

	if (len < MIGR_MIN_PREFIX_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("revision \"%s\" does not exist", name),
				 errhint("A prefix of a revision id must have at least %d characters.",
						 MIGR_MIN_PREFIX_LEN)));

	if (graph == NULL)
		matches = migr_catalog_prefix_matches(name);
	else
		for (int i = 0; i < graph->nnodes; i++)
			if (strncmp(graph->nodes[i].id, name, len) == 0)
				matches = lappend(matches, graph->nodes[i].id);

	if (matches == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("revision \"%s\" does not exist", name),
				 errhint("migr_history() lists the registered revisions.")));
	if (list_length(matches) > 1)
	{
		StringInfoData buf;
		ListCell   *lc;

		initStringInfo(&buf);
		foreach(lc, matches)
			appendStringInfo(&buf, "%s%s", buf.len ? ", " : "", (char *) lfirst(lc));
		ereport(ERROR,
				(errcode(ERRCODE_AMBIGUOUS_PARAMETER),
				 errmsg("revision prefix \"%s\" is ambiguous", name),
				 errdetail("It matches %s.", buf.data),
				 errhint("Give more characters of the revision id.")));
	}
	return (char *) linitial(matches);
}

/* Position in "graph" of the revision "name" names (see resolve_name). */
int
migr_resolve_revision(const MigrGraph *graph, const char *name)
{
	return migr_graph_find(graph, resolve_name(graph, name));
}

/* Full id of the revision "name" names, looked up in the catalog. */
char *
migr_resolve_revision_id(const char *name)
{
	return resolve_name(NULL, name);
}

/* The single head of the graph, or base when the graph is empty. */
static List *
single_head(const MigrGraph *graph, const char *target)
{
	List	   *heads = migr_graph_heads(graph);

	if (list_length(heads) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_AMBIGUOUS_PARAMETER),
				 errmsg("target \"%s\" is ambiguous: the revision graph has %d heads",
						target, list_length(heads)),
				 errdetail("The heads are %s.", migr_graph_id_list(graph, heads)),
				 errhint("Name one head, use \"heads\" for all of them, or join them with a merge revision.")));
	return heads;
}

/*
 * Walk "steps" steps from "start" (NIL = base): up through children, or
 * down through parents.  Each step must have exactly one way to go, except
 * that the last step down may reach all parents of a merge.
 */
static List *
walk(const MigrGraph *graph, List *start, int steps, bool up,
	 const char *target)
{
	List	   *cur = start;

	for (int done = 0; done < steps; done++)
	{
		List	   *next = NIL;

		if (up)
		{
			if (cur == NIL)
				next = migr_graph_roots(graph);
			else
			{
				const MigrNode *node = &graph->nodes[linitial_int(cur)];

				for (int j = 0; j < node->nchildren; j++)
					next = lappend_int(next, node->children[j]);
			}
		}
		else
		{
			const MigrNode *node;

			if (cur == NIL)
				next = NIL;
			else
			{
				node = &graph->nodes[linitial_int(cur)];
				for (int j = 0; j < node->nparents; j++)
					next = lappend_int(next, node->parents[j]);
			}
		}

		if ((up && next == NIL) || (!up && cur == NIL))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("relative target \"%s\" walks past the %s of the revision graph",
							target, up ? "head" : "base"),
					 errdetail("Only %d of %d steps %s were possible.",
							   done, steps, up ? "up" : "down")));

		if (list_length(next) > 1 && (up || done + 1 < steps))
			ereport(ERROR,
					(errcode(ERRCODE_AMBIGUOUS_PARAMETER),
					 errmsg("relative target \"%s\" is ambiguous", target),
					 errdetail("After %d steps %s, the walk can continue to %s.",
							   done, up ? "up" : "down",
							   migr_graph_id_list(graph, next)),
					 errhint("Name the revision to go to instead of a relative step.")));
		cur = next;
	}
	return cur;
}

/*
 * Parse the N of "+N" / "-N".
 */
static int
parse_steps(const char *digits, const char *target)
{
	long		n = 0;

	if (*digits == '\0' || strspn(digits, "0123456789") != strlen(digits) ||
		strlen(digits) > 9)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid relative target \"%s\"", target),
				 errhint("A relative target is +N or -N, optionally after a revision, \"head\" or \"base\", as in \"head-1\" or \"ab12cd+2\".")));
	n = strtol(digits, NULL, 10);
	return (int) n;
}

/*
 * Resolve "target" for the given use.
 */
List *
migr_resolve_target(const MigrGraph *graph, const char *target,
					MigrTargetUse use)
{
	const char *sign = strpbrk(target, "+-");
	char	   *start_name;
	List	   *start;
	int			steps;
	bool		up;

	if (*target == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("empty migration target"),
				 errhint("Use \"head\", \"base\", a revision id, or a relative target such as \"-1\".")));

	if (sign == NULL)
	{
		if (strcmp(target, "base") == 0)
			return NIL;
		if (strcmp(target, "head") == 0)
			return single_head(graph, target);
		if (strcmp(target, "heads") == 0)
			return migr_graph_heads(graph);
		if (strcmp(target, "current") == 0)
			return migr_graph_current(graph);
		return list_make1_int(migr_resolve_revision(graph, target));
	}

	start_name = pnstrdup(target, sign - target);
	up = (*sign == '+');
	steps = parse_steps(sign + 1, target);

	if (*start_name == '\0' || strcmp(start_name, "current") == 0)
	{
		/* Relative to the current revision. */
		if (use == MIGR_FOR_UPGRADE && !up)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("upgrade target \"%s\" goes down", target),
					 errhint("Use migr_downgrade('%s') to go down.", target)));
		if (use == MIGR_FOR_DOWNGRADE && up)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("downgrade target \"%s\" goes up", target),
					 errhint("Use migr_upgrade('%s') to go up.", target)));
		start = migr_graph_current(graph);
		if (list_length(start) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_AMBIGUOUS_PARAMETER),
					 errmsg("relative target \"%s\" is ambiguous: the database has %d current heads",
							target, list_length(start)),
					 errdetail("The current heads are %s.", migr_graph_id_list(graph, start)),
					 errhint("Name the revision to go to, as in \"%s%s\".",
							 graph->nodes[linitial_int(start)].id, target)));
	}
	else if (strcmp(start_name, "base") == 0)
		start = NIL;
	else if (strcmp(start_name, "head") == 0)
		start = single_head(graph, target);
	else if (strcmp(start_name, "heads") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("relative target \"%s\" needs a single starting revision", target),
				 errhint("Start from \"head\" or from one revision.")));
	else
		start = list_make1_int(migr_resolve_revision(graph, start_name));

	return walk(graph, start, steps, up, target);
}

/*
 * Fast check, without loading the graph, that an upgrade to "target" has
 * nothing to do: "head", "heads" or an exact id that is already applied.
 * False means "not known": the caller plans the full way.  Call inside an
 * owner scope.
 */
bool
migr_target_is_reached(const char *target)
{
	if (strcmp(target, "head") == 0 || strcmp(target, "heads") == 0)
	{
		List	   *applied;
		List	   *heads = migr_catalog_graph_heads(&applied);
		ListCell   *lc;

		if (heads == NIL)
			return true;		/* nothing registered */
		if (strcmp(target, "head") == 0 && list_length(heads) > 1)
			return false;		/* the full path reports the ambiguity */
		foreach(lc, applied)
			if (!lfirst_int(lc))
				return false;
		return true;
	}
	if (strpbrk(target, "+-") != NULL || strlen(target) > MIGR_MAX_ID_LEN)
		return false;
	return migr_catalog_is_applied(target);
}
