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
 *		current			the applied heads
 *		[START]+N		N steps up from START
 *		[START]-N		N steps down from START
 *		X@T				any of the above, within the lineage of X (a branch
 *						label or a revision)
 * where START is head, base or an ID, and an empty START means the current
 * revision.  Ids consist of [A-Za-z0-9_], so "+", "-" and "@" never belong
 * to one.
 *
 * A target resolves to a MigrPosition: "at" some revisions or "just below"
 * some (base).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "migr.h"

static const char *const reserved_ids[] = {"head", "heads", "base", "current"};

/*
 * Check that "id" can name a revision, or a branch label when "label" is set:
 * 1 to 64 of [A-Za-z0-9_], and not a word that targets reserve.
 */
void
migr_check_revision_id(const char *id, bool label)
{
	size_t		len = strlen(id);

	if (len == 0 || len > MIGR_MAX_ID_LEN ||
		strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 label ? errmsg("invalid branch label \"%s\"", id)
				 : errmsg("invalid revision id \"%s\"", id),
				 errdetail("It must consist of 1 to %d letters, digits and underscores.",
						   MIGR_MAX_ID_LEN)));

	for (int i = 0; i < (int) lengthof(reserved_ids); i++)
		if (pg_strcasecmp(id, reserved_ids[i]) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_RESERVED_NAME),
					 label ? errmsg("branch label \"%s\" is reserved", id)
					 : errmsg("revision id \"%s\" is reserved", id),
					 errdetail("\"head\", \"heads\", \"base\" and \"current\" are target names.")));
}

/*
 * The full id that "name" stands for: an exact id, the revision that carries
 * branch label "name" (with a graph only), or else a unique prefix of at
 * least MIGR_MIN_PREFIX_LEN characters.  Looks in "graph", or in the
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
	if (graph != NULL && migr_graph_find_label(graph, name) >= 0)
		return graph->nodes[migr_graph_find_label(graph, name)].id;
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
			appendStringInfo(&buf, "%s\"%s\"", buf.len ? ", " : "", (char *) lfirst(lc));
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

/*
 * Where a target looks: one lineage ("X@..."), or the whole graph, which a
 * target without "X@" treats as one lineage (name NULL).  The lineage of X (a revision, or the revision that carries branch label X) is
 * everything below and above it, not its siblings: revisions named in
 * "X@REV" must lie in it, walks follow it, and a downgrade only removes
 * what stands on it.  For a label, the branch starts at its revision: its
 * base is just below that revision, walks down stop there, and where the
 * branch is "now" is counted from there.  For a revision X, base is just
 * below the roots under X.
 */
typedef struct Lineage
{
	const char *name;			/* X of "X@...", or NULL for the whole graph */
	Bitmapset  *members;		/* the lineage; NULL for the whole graph */
	Bitmapset  *branch;			/* where "now" is looked for; NULL: members */
	int			label;			/* the revision of label X, or -1 */
	List	   *roots;			/* base is just below these */
} Lineage;

static bool
in_lineage(const Lineage *lineage, int n)
{
	return lineage->members == NULL || bms_is_member(n, lineage->members);
}

/* The members of "nodes" that lie in "lineage". */
static List *
restrict_to(const Lineage *lineage, List *nodes)
{
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, nodes)
	{
		if (in_lineage(lineage, lfirst_int(lc)))
			result = lappend_int(result, lfirst_int(lc));
	}
	return result;
}

static MigrPosition *
position_at(List *nodes)
{
	MigrPosition *pos = palloc0(sizeof(MigrPosition));

	pos->at = nodes;
	return pos;
}

static MigrPosition *
position_below(List *nodes)
{
	MigrPosition *pos = palloc0(sizeof(MigrPosition));

	pos->below = nodes;
	return pos;
}

static void
make_whole_graph(const MigrGraph *graph, Lineage *lineage)
{
	lineage->name = NULL;
	lineage->members = NULL;
	lineage->branch = NULL;
	lineage->label = -1;
	lineage->roots = migr_graph_roots(graph);
}

/* The lineage of "X@...": X is a branch label, or else a revision. */
static void
make_lineage(const MigrGraph *graph, const char *name, Lineage *lineage)
{
	int			label = migr_graph_find_label(graph, name);
	int			rev = label >= 0 ? label : migr_resolve_revision(graph, name);
	Bitmapset  *below = migr_graph_lineage_down(graph, list_make1_int(rev));
	Bitmapset  *above = migr_graph_lineage_up(graph, list_make1_int(rev));
	int			n = -1;

	lineage->name = name;
	lineage->members = bms_union(below, above);
	lineage->label = label;
	if (label >= 0)
	{
		lineage->branch = above;
		lineage->roots = list_make1_int(label);
		return;
	}
	lineage->branch = lineage->members;
	lineage->roots = NIL;
	while ((n = bms_next_member(below, n)) >= 0)
		if (graph->nodes[n].nparents == 0)
			lineage->roots = lappend_int(lineage->roots, n);
}

/* "head": the single head of the lineage, or base when it has none. */
static MigrPosition *
single_head(const MigrGraph *graph, const Lineage *lineage, const char *target)
{
	List	   *heads;

	if (lineage->members == NULL)
		heads = migr_graph_effective_heads(graph);
	else
		heads = restrict_to(lineage, migr_graph_heads(graph));

	if (list_length(heads) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_AMBIGUOUS_PARAMETER),
				 lineage->name
				 ? errmsg("target \"%s\" is ambiguous: branch \"%s\" has %d heads",
						  target, lineage->name, list_length(heads))
				 : errmsg("target \"%s\" is ambiguous: the revision graph has %d heads",
						  target, list_length(heads)),
				 errdetail("The heads are %s.", migr_graph_id_list(graph, heads)),
				 errhint("Name one branch, as in \"%s@head\", use \"heads\" for all of them, or join them with migr_merge().",
						 migr_graph_branch_name(graph, linitial_int(heads)))));
	if (heads == NIL)
		return position_below(lineage->roots);
	return position_at(heads);
}

/*
 * A revision named inside a lineage must belong to it.  A prefix is looked up
 * among the lineage's revisions first, then in the whole graph.
 */
static int
revision_in_lineage(const MigrGraph *graph, const Lineage *lineage, const char *name)
{
	int			rev = migr_graph_find(graph, name);
	size_t		len = strlen(name);

	if (rev < 0)
		rev = migr_graph_find_label(graph, name);
	if (rev < 0 && lineage->members != NULL && len >= MIGR_MIN_PREFIX_LEN)
	{
		int			n = -1;
		int			found = -1;
		int			count = 0;

		while ((n = bms_next_member(lineage->members, n)) >= 0)
			if (strncmp(graph->nodes[n].id, name, len) == 0)
			{
				found = n;
				count++;
			}
		if (count == 1)
			rev = found;
	}
	if (rev < 0)
		rev = migr_resolve_revision(graph, name);

	if (!in_lineage(lineage, rev))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("revision \"%s\" is not in branch \"%s\"", graph->nodes[rev].id,
						lineage->name),
				 errhint("migr_history() shows which revisions descend from which.")));
	return rev;
}

/*
 * Where the lineage is now: its applied revisions that have no applied child
 * in it (for a label, counted from the label's revision up).  For the whole
 * graph these are the version rows.
 */
static List *
lineage_tips(const MigrGraph *graph, const Lineage *lineage)
{
	const Bitmapset *branch = lineage->branch ? lineage->branch : lineage->members;
	List	   *result = NIL;

	if (branch == NULL)
		return migr_graph_current(graph);
	for (int i = 0; i < graph->nnodes; i++)
	{
		const MigrNode *node = &graph->nodes[i];
		bool		child_applied = false;

		if (!node->applied || !bms_is_member(i, branch))
			continue;
		for (int j = 0; j < node->nchildren && !child_applied; j++)
			child_applied = graph->nodes[node->children[j]].applied &&
				bms_is_member(node->children[j], branch);
		if (!child_applied)
			result = lappend_int(result, i);
	}
	return result;
}

/* The current position within the lineage: its applied tips, or its base. */
static MigrPosition *
current_in_lineage(const MigrGraph *graph, const Lineage *lineage, const char *target)
{
	List	   *current = lineage_tips(graph, lineage);

	if (list_length(current) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_AMBIGUOUS_PARAMETER),
				 lineage->name
				 ? errmsg("relative target \"%s\" is ambiguous: branch \"%s\" has %d current heads",
						  target, lineage->name, list_length(current))
				 : errmsg("relative target \"%s\" is ambiguous: the database has %d current heads",
						  target, list_length(current)),
				 errdetail("The current heads are %s.", migr_graph_id_list(graph, current)),
				 errhint("Narrow it to one branch, as in \"%s@%s\".",
						 migr_graph_branch_name(graph, linitial_int(current)),
						 target)));
	if (current == NIL)
		return position_below(lineage->roots);
	return position_at(current);
}

/*
 * Walk "steps" steps from "start" within the lineage: up through children, or
 * down through parents.  Each step must have exactly one way to go, except
 * that the last step down may reach all parents of a merge.  Going down from
 * a revision without parents (in the lineage) reaches the base just below it.
 */
static MigrPosition *
walk(const MigrGraph *graph, const Lineage *lineage, MigrPosition *start,
	 int steps, bool up, const char *target)
{
	MigrPosition *cur = start;

	for (int done = 0; done < steps; done++)
	{
		List	   *next = NIL;
		bool		past_end;

		if (list_length(cur->at) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_AMBIGUOUS_PARAMETER),
					 errmsg("relative target \"%s\" is ambiguous", target),
					 errdetail("It starts from several revisions: %s.",
							   migr_graph_id_list(graph, cur->at)),
					 errhint("Start from one revision, as in \"%s%c%d\".",
							 graph->nodes[linitial_int(cur->at)].id,
							 up ? '+' : '-', steps)));

		if (up)
		{
			if (cur->at == NIL)
				next = restrict_to(lineage, cur->below);
			else
			{
				const MigrNode *node = &graph->nodes[linitial_int(cur->at)];

				for (int j = 0; j < node->nchildren; j++)
					if (in_lineage(lineage, node->children[j]))
						next = lappend_int(next, node->children[j]);
			}
			past_end = (next == NIL);
		}
		else
		{
			past_end = (cur->at == NIL);
			if (!past_end)
			{
				const MigrNode *node = &graph->nodes[linitial_int(cur->at)];

				for (int j = 0; j < node->nparents; j++)
					if (in_lineage(lineage, node->parents[j]) &&
						linitial_int(cur->at) != lineage->label)
						next = lappend_int(next, node->parents[j]);
				if (next == NIL)
				{
					cur = position_below(cur->at);
					continue;
				}
			}
		}

		if (past_end)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 up
					 ? (lineage->name
						? errmsg("relative target \"%s\" walks past the head of branch \"%s\"",
								 target, lineage->name)
						: errmsg("relative target \"%s\" walks past the head of the revision graph",
								 target))
					 : (lineage->name
						? errmsg("relative target \"%s\" walks past the base of branch \"%s\"",
								 target, lineage->name)
						: errmsg("relative target \"%s\" walks past the base of the revision graph",
								 target)),
					 up
					 ? errdetail("Only %d of %d steps up were possible.", done, steps)
					 : errdetail("Only %d of %d steps down were possible.", done, steps)));

		if (list_length(next) > 1 && (up || done + 1 < steps))
			ereport(ERROR,
					(errcode(ERRCODE_AMBIGUOUS_PARAMETER),
					 errmsg("relative target \"%s\" is ambiguous", target),
					 up
					 ? errdetail("Step %d up can go to %s.",
								 done + 1, migr_graph_id_list(graph, next))
					 : errdetail("Step %d down can go to %s.",
								 done + 1, migr_graph_id_list(graph, next)),
					 errhint("Name the branch to follow, as in \"%s@%s\", or the revision to go to.",
							 migr_graph_branch_name(graph, linitial_int(next)),
							 target)));
		cur = position_at(next);
	}
	return cur;
}

/*
 * Parse the N of "+N" / "-N".
 */
static int
parse_steps(const char *digits, const char *target)
{
	if (*digits == '\0' || strspn(digits, "0123456789") != strlen(digits) ||
		strlen(digits) > 9)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid relative target \"%s\"", target),
				 errhint("A relative target is +N or -N, optionally after a revision, \"head\" or \"base\", as in \"head-1\" or \"ab12cd+2\".")));
	return (int) strtol(digits, NULL, 10);
}

/*
 * Resolve "text" (a target without its "X@" part) within "lineage".
 */
static MigrPosition *
resolve_in_lineage(const MigrGraph *graph, const Lineage *lineage, const char *text,
				   const char *target, MigrTargetUse use)
{
	const char *sign = strpbrk(text, "+-");
	char	   *start_name;
	MigrPosition *start;
	bool		up;
	int			steps;

	if (*text == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("empty migration target"),
				 errhint("Use \"head\", \"base\", a revision id, or a relative target such as \"-1\".")));

	if (sign == NULL)
	{
		if (strcmp(text, "base") == 0)
			return position_below(lineage->roots);
		if (strcmp(text, "head") == 0)
			return single_head(graph, lineage, target);
		if (strcmp(text, "heads") == 0)
		{
			List	   *heads = restrict_to(lineage, migr_graph_heads(graph));

			return heads ? position_at(heads) : position_below(lineage->roots);
		}
		if (strcmp(text, "current") == 0)
		{
			List	   *current = lineage_tips(graph, lineage);

			return current ? position_at(current) : position_below(lineage->roots);
		}
		return position_at(list_make1_int(revision_in_lineage(graph, lineage, text)));
	}

	start_name = pnstrdup(text, sign - text);
	up = (*sign == '+');
	steps = parse_steps(sign + 1, target);

	if (*start_name == '\0' || strcmp(start_name, "current") == 0)
	{
		if (use == MIGR_TARGET_FOR_UPGRADE && !up)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("upgrade target \"%s\" goes down", target),
					 errhint("Use migr_downgrade('%s') to go down.", target)));
		if (use == MIGR_TARGET_FOR_DOWNGRADE && up)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("downgrade target \"%s\" goes up", target),
					 errhint("Use migr_upgrade('%s') to go up.", target)));
		/* Zero steps stay where the database is, however many heads. */
		if (steps == 0)
			return resolve_in_lineage(graph, lineage, "current", target, use);
		start = current_in_lineage(graph, lineage, target);
	}
	else if (strcmp(start_name, "base") == 0)
		start = position_below(lineage->roots);
	else if (strcmp(start_name, "head") == 0)
		start = single_head(graph, lineage, target);
	else if (strcmp(start_name, "heads") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("relative target \"%s\" needs a single starting revision", target),
				 errhint("Start from \"head\" or from one revision.")));
	else
		start = position_at(list_make1_int(revision_in_lineage(graph, lineage,
															   start_name)));

	return walk(graph, lineage, start, steps, up, target);
}

/*
 * Resolve "target" for the given use.
 */
MigrPosition *
migr_resolve_target(const MigrGraph *graph, const char *target,
					MigrTargetUse use)
{
	const char *at = strchr(target, '@');
	Lineage		lineage;
	MigrPosition *pos;

	if (at == NULL)
	{
		make_whole_graph(graph, &lineage);
		return resolve_in_lineage(graph, &lineage, target, target, use);
	}

	if (at == target || strchr(at + 1, '@') != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid branch target \"%s\"", target),
				 errhint("A branch target is \"label@target\" or \"revision@target\", as in \"billing@head\".")));
	make_lineage(graph, pnstrdup(target, at - target), &lineage);
	pos = resolve_in_lineage(graph, &lineage, at + 1, target, use);
	pos->lineage = lineage.members;
	return pos;
}

/*
 * The revisions a target names, for callers that need real revisions (a
 * merge's parents, a dependency, migr_show): base is an error.
 */
List *
migr_resolve_revisions(const MigrGraph *graph, const char *target)
{
	MigrPosition *pos = migr_resolve_target(graph, target, MIGR_TARGET_FOR_RANGE);

	if (pos->at == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" names no revision", target),
				 pos->below
				 ? errdetail("It names the base of %s.",
							 migr_graph_id_list(graph, pos->below))
				 : errdetail("It names the base of the empty graph.")));
	return pos->at;
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
		List	   *heads = migr_catalog_graph_heads(strcmp(target, "head") == 0,
													 &applied);
		ListCell   *lc;

		if (heads == NIL)
			return true;		/* nothing registered */
		if (strcmp(target, "head") == 0 && list_length(heads) > 1)
			return false;		/* the full path reports the ambiguity */
		foreach(lc, applied)
		{
			if (!lfirst_int(lc))
				return false;
		}
		return true;
	}
	if (strpbrk(target, "+-@") != NULL || strlen(target) > MIGR_MAX_ID_LEN)
		return false;
	return migr_catalog_is_applied(target);
}
