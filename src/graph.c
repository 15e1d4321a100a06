/*-------------------------------------------------------------------------
 *
 * graph.c
 *		The revision graph in memory: parents, children, applied flags, and
 *		the walks the planner needs.
 *
 * Nodes are kept in registration order, so a node's position doubles as its
 * tie-break rank: every plan is a topological order of the graph in which
 * revisions that could go either way go in the order they were registered
 * (newest first when going down).  The same catalog always yields the same
 * plan.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/binaryheap.h"
#include "lib/stringinfo.h"
#include "utils/hsearch.h"

#include "migr.h"

typedef struct GraphIndexEntry
{
	char		id[MIGR_MAX_ID_LEN + 1];
	int			position;
} GraphIndexEntry;

/* Which edges a walk follows. */
#define EDGE_PARENTS		0x01
#define EDGE_DEPS			0x02
#define EDGE_CHILDREN		0x04
#define EDGE_DEPENDENTS		0x08

static int *resolve_edges(MigrGraph *graph, MigrNode *node, List *ids,
						  int *count, int *reverse_count);

/*
 * Load the whole graph (no scripts) with one catalog query.  Call inside an
 * owner scope; the graph lives in the current memory context.
 */
MigrGraph *
migr_graph_load(void)
{
	MigrGraph  *graph = palloc0(sizeof(MigrGraph));
	HASHCTL		ctl;
	MigrGraphRow *rows;
	int		   *nchildren;
	int		   *ndependents;

	rows = migr_catalog_graph_rows(&graph->nnodes);
	graph->nodes = palloc0(sizeof(MigrNode) * Max(graph->nnodes, 1));

	ctl.keysize = MIGR_MAX_ID_LEN + 1;
	ctl.entrysize = sizeof(GraphIndexEntry);
	ctl.hcxt = CurrentMemoryContext;
	graph->index = hash_create("migr revision graph", Max(graph->nnodes, 16),
							   &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	graph->labels = hash_create("migr branch labels", 16,
								&ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);

	for (int i = 0; i < graph->nnodes; i++)
	{
		MigrGraphRow *row = &rows[i];
		MigrNode   *node = &graph->nodes[i];
		GraphIndexEntry *entry;
		ListCell   *lc;
		bool		found;

		node->id = row->id;
		node->seq = row->seq;
		node->applied = row->applied;
		node->has_downgrade = row->has_downgrade;
		node->transactional = row->transactional;

		entry = hash_search(graph->index, node->id, HASH_ENTER, &found);
		entry->position = i;
		foreach(lc, row->labels)
		{
			entry = hash_search(graph->labels, lfirst(lc), HASH_ENTER, &found);
			entry->position = i;
		}
	}

	/* Resolve the edges, then build the reverse arrays. */
	nchildren = palloc0(sizeof(int) * Max(graph->nnodes, 1));
	ndependents = palloc0(sizeof(int) * Max(graph->nnodes, 1));
	for (int i = 0; i < graph->nnodes; i++)
	{
		MigrNode   *node = &graph->nodes[i];

		node->parents = resolve_edges(graph, node, rows[i].parents,
									  &node->nparents, nchildren);
		node->deps = resolve_edges(graph, node, rows[i].depends_on, &node->ndeps,
								   ndependents);
	}
	for (int i = 0; i < graph->nnodes; i++)
	{
		graph->nodes[i].children = palloc(sizeof(int) * Max(nchildren[i], 1));
		graph->nodes[i].dependents = palloc(sizeof(int) * Max(ndependents[i], 1));
	}
	for (int i = 0; i < graph->nnodes; i++)
	{
		MigrNode   *node = &graph->nodes[i];

		for (int j = 0; j < node->nparents; j++)
		{
			MigrNode   *parent = &graph->nodes[node->parents[j]];

			parent->children[parent->nchildren++] = i;
		}
		for (int j = 0; j < node->ndeps; j++)
		{
			MigrNode   *dep = &graph->nodes[node->deps[j]];

			dep->dependents[dep->ndependents++] = i;
		}
	}
	return graph;
}

/*
 * Positions of the revisions named in "ids" (parents or dependencies of
 * "node"); counts each in reverse_count.  An unknown id means the catalog
 * was edited by hand.
 */
static int *
resolve_edges(MigrGraph *graph, MigrNode *node, List *ids, int *count,
			  int *reverse_count)
{
	int		   *result = palloc(sizeof(int) * Max(list_length(ids), 1));
	ListCell   *lc;

	*count = 0;
	foreach(lc, ids)
	{
		int			p = migr_graph_find(graph, (char *) lfirst(lc));

		if (p < 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("revision \"%s\" refers to unknown revision \"%s\"",
							node->id, (char *) lfirst(lc)),
					 errhint("The table migr.revisions was changed by hand; restore the missing revision.")));
		result[(*count)++] = p;
		reverse_count[p]++;
	}
	return result;
}

/* Position of the revision that carries branch label "label", or -1. */
int
migr_graph_find_label(const MigrGraph *graph, const char *label)
{
	GraphIndexEntry *entry;

	if (strlen(label) > MIGR_MAX_ID_LEN)
		return -1;
	entry = hash_search(graph->labels, label, HASH_FIND, NULL);
	return entry ? entry->position : -1;
}

/* Position of revision "id", or -1. */
int
migr_graph_find(const MigrGraph *graph, const char *id)
{
	GraphIndexEntry *entry;

	if (strlen(id) > MIGR_MAX_ID_LEN)
		return -1;
	entry = hash_search(graph->index, id, HASH_FIND, NULL);
	return entry ? entry->position : -1;
}

/* Revisions no other revision names as parent, oldest first. */
List *
migr_graph_heads(const MigrGraph *graph)
{
	List	   *result = NIL;

	for (int i = 0; i < graph->nnodes; i++)
		if (graph->nodes[i].nchildren == 0)
			result = lappend_int(result, i);
	return result;
}

/*
 * Heads that no other revision depends on, oldest first: the heads that
 * "head" chooses from.  A head something depends on is applied with it.
 */
List *
migr_graph_effective_heads(const MigrGraph *graph)
{
	List	   *result = NIL;

	for (int i = 0; i < graph->nnodes; i++)
		if (graph->nodes[i].nchildren == 0 && graph->nodes[i].ndependents == 0)
			result = lappend_int(result, i);
	return result;
}

/* Revisions without parents, oldest first. */
List *
migr_graph_roots(const MigrGraph *graph)
{
	List	   *result = NIL;

	for (int i = 0; i < graph->nnodes; i++)
		if (graph->nodes[i].nparents == 0)
			result = lappend_int(result, i);
	return result;
}

/* Applied revisions none of whose children is applied: the version rows. */
List *
migr_graph_current(const MigrGraph *graph)
{
	List	   *result = NIL;

	for (int i = 0; i < graph->nnodes; i++)
	{
		const MigrNode *node = &graph->nodes[i];
		bool		child_applied = false;

		if (!node->applied)
			continue;
		for (int j = 0; j < node->nchildren && !child_applied; j++)
			child_applied = graph->nodes[node->children[j]].applied;
		if (!child_applied)
			result = lappend_int(result, i);
	}
	return result;
}

/*
 * The revisions in "from" and everything reachable from them over the
 * edges in "edges" (EDGE_* bits).
 */
static Bitmapset *
closure(const MigrGraph *graph, List *from, int edges)
{
	Bitmapset  *seen = NULL;
	int		   *stack = palloc(sizeof(int) * Max(graph->nnodes, 1));
	int			depth = 0;
	ListCell   *lc;

	foreach(lc, from)
	{
		int			n = lfirst_int(lc);

		if (!bms_is_member(n, seen))
		{
			seen = bms_add_member(seen, n);
			stack[depth++] = n;
		}
	}
	while (depth > 0)
	{
		const MigrNode *node = &graph->nodes[stack[--depth]];
		const int  *lists[4] = {node->parents, node->deps, node->children,
		node->dependents};
		const int	counts[4] = {node->nparents, node->ndeps, node->nchildren,
		node->ndependents};

		for (int kind = 0; kind < 4; kind++)
		{
			if (!(edges & (1 << kind)))
				continue;
			for (int j = 0; j < counts[kind]; j++)
				if (!bms_is_member(lists[kind][j], seen))
				{
					seen = bms_add_member(seen, lists[kind][j]);
					stack[depth++] = lists[kind][j];
				}
		}
	}
	pfree(stack);
	return seen;
}

/* "from" and everything they need: ancestors through parents and dependencies. */
Bitmapset *
migr_graph_ancestors(const MigrGraph *graph, List *from)
{
	return closure(graph, from, EDGE_PARENTS | EDGE_DEPS);
}

/* "from" and everything that needs them: descendants and dependents. */
Bitmapset *
migr_graph_descendants(const MigrGraph *graph, List *from)
{
	return closure(graph, from, EDGE_CHILDREN | EDGE_DEPENDENTS);
}

/* "from" and their ancestors through parents only (their lineage below). */
Bitmapset *
migr_graph_lineage_down(const MigrGraph *graph, List *from)
{
	return closure(graph, from, EDGE_PARENTS);
}

/* "from" and their descendants through children only (their lineage above). */
Bitmapset *
migr_graph_lineage_up(const MigrGraph *graph, List *from)
{
	return closure(graph, from, EDGE_CHILDREN);
}

/*
 * The revisions that must be applied for the database to be at "pos": at
 * some revisions, those and all they need; just below some, their parents
 * and all those need (nothing for base).
 */
Bitmapset *
migr_graph_wanted(const MigrGraph *graph, const MigrPosition *pos)
{
	ListCell   *lc;
	List	   *parents = NIL;

	if (pos->at != NIL)
		return migr_graph_ancestors(graph, pos->at);
	foreach(lc, pos->below)
	{
		const MigrNode *node = &graph->nodes[lfirst_int(lc)];

		for (int j = 0; j < node->nparents; j++)
			parents = lappend_int(parents, node->parents[j]);
	}
	return migr_graph_ancestors(graph, parents);
}

/*
 * The revisions a downgrade to "pos" removes, applied or not: the children
 * of the revisions there (only those in its lineage, for "X@..."), or the
 * revisions it is just below, with everything above them through parents
 * and everything that needs one of those (a child or a dependent).  A
 * revision that only depends on the target, or on revisions that stay,
 * stays.
 */
Bitmapset *
migr_graph_removed_by(const MigrGraph *graph, const MigrPosition *pos)
{
	List	   *start = NIL;
	ListCell   *lc;

	if (pos->at == NIL)
		start = pos->below;
	foreach(lc, pos->at)
	{
		const MigrNode *node = &graph->nodes[lfirst_int(lc)];

		for (int j = 0; j < node->nchildren; j++)
			if (pos->lineage == NULL ||
				bms_is_member(node->children[j], pos->lineage))
				start = lappend_int(start, node->children[j]);
	}
	return migr_graph_descendants(graph, start);
}

/*
 * The revisions that must not be applied for the database to be at "pos":
 * everything that needs the revisions there (not themselves), or, just
 * below some revisions, those and everything that needs them.
 */
Bitmapset *
migr_graph_above(const MigrGraph *graph, const MigrPosition *pos)
{
	ListCell   *lc;
	Bitmapset  *result;

	if (pos->at == NIL)
		return migr_graph_descendants(graph, pos->below);
	result = migr_graph_descendants(graph, pos->at);
	foreach(lc, pos->at)
		result = bms_del_member(result, lfirst_int(lc));
	return result;
}

/* Every applied revision. */
Bitmapset *
migr_graph_applied(const MigrGraph *graph)
{
	Bitmapset  *result = NULL;

	for (int i = 0; i < graph->nnodes; i++)
		if (graph->nodes[i].applied)
			result = bms_add_member(result, i);
	return result;
}

/* Heap comparators: the heap's top is the earliest (or latest) revision. */
static int
earliest_first(Datum a, Datum b, void *arg)
{
	return DatumGetInt32(b) - DatumGetInt32(a);
}

static int
latest_first(Datum a, Datum b, void *arg)
{
	return DatumGetInt32(a) - DatumGetInt32(b);
}

/*
 * The edges of kind 0 (lineage) or 1 (dependency) that point to revisions
 * that go before "node": parents and dependencies when going up, children
 * and dependents when going down.
 */
static const int *
before_edges(const MigrNode *node, bool down, int kind, int *count)
{
	if (!down)
	{
		*count = kind == 0 ? node->nparents : node->ndeps;
		return kind == 0 ? node->parents : node->deps;
	}
	*count = kind == 0 ? node->nchildren : node->ndependents;
	return kind == 0 ? node->children : node->dependents;
}

/*
 * Order the revisions of "set" topologically: parents before children, or
 * with newest_first, children before parents.  Among revisions that are
 * ready at the same time the earliest registered goes first (the latest,
 * with newest_first).  Returns a List of positions.
 */
List *
migr_graph_order(const MigrGraph *graph, const Bitmapset *set,
				 bool newest_first)
{
	int			count = bms_num_members(set);
	int		   *waiting = palloc0(sizeof(int) * Max(graph->nnodes, 1));
	binaryheap *ready;
	List	   *result = NIL;
	int			n = -1;

	if (count == 0)
		return NIL;
	ready = binaryheap_allocate(count,
								newest_first ? latest_first : earliest_first,
								NULL);

	/*
	 * Count, for each member, the members it has to wait for: its parents and
	 * dependencies (going up), or its children and dependents (going down).
	 */
	while ((n = bms_next_member(set, n)) >= 0)
	{
		const MigrNode *node = &graph->nodes[n];

		for (int kind = 0; kind < 2; kind++)
		{
			int			degree;
			const int  *edges = before_edges(node, newest_first, kind, &degree);

			for (int j = 0; j < degree; j++)
				if (bms_is_member(edges[j], set))
					waiting[n]++;
		}
		if (waiting[n] == 0)
			binaryheap_add_unordered(ready, Int32GetDatum(n));
	}
	binaryheap_build(ready);

	while (!binaryheap_empty(ready))
	{
		int			next = DatumGetInt32(binaryheap_remove_first(ready));
		const MigrNode *node = &graph->nodes[next];

		result = lappend_int(result, next);
		for (int kind = 0; kind < 2; kind++)
		{
			int			degree;
			const int  *edges = before_edges(node, !newest_first, kind, &degree);

			for (int j = 0; j < degree; j++)
				if (bms_is_member(edges[j], set) && --waiting[edges[j]] == 0)
					binaryheap_add(ready, Int32GetDatum(edges[j]));
		}
	}

	if (list_length(result) != count)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the revision graph contains a cycle"),
				 errdetail("Some revisions come after each other through their parents or dependencies."),
				 errhint("The table migr.revisions was changed by hand; restore the parents and dependencies the revisions were registered with.")));
	binaryheap_free(ready);
	pfree(waiting);
	return result;
}

/* "a, b, c": the ids of a List of positions, for messages. */
char *
migr_graph_id_list(const MigrGraph *graph, List *nodes)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, nodes)
		appendStringInfo(&buf, "%s\"%s\"", buf.len > 0 ? ", " : "",
						 graph->nodes[lfirst_int(lc)].id);
	return buf.data;
}

/*
 * A name for the branch "node" is on, for hints: the branch label nearest
 * below it (the one whose revision was registered last), or else its own
 * id.
 */
const char *
migr_graph_branch_name(const MigrGraph *graph, int node)
{
	HASH_SEQ_STATUS status;
	GraphIndexEntry *entry;
	Bitmapset  *below = migr_graph_lineage_down(graph, list_make1_int(node));
	const char *best = NULL;
	int			best_position = -1;

	hash_seq_init(&status, graph->labels);
	while ((entry = hash_seq_search(&status)) != NULL)
		if (bms_is_member(entry->position, below) && entry->position > best_position)
		{
			best = entry->id;
			best_position = entry->position;
		}
	return best ? pstrdup(best) : graph->nodes[node].id;
}

/*
 * Mark revision "node" applied (up) or not, and say how the version rows
 * change: applying a revision replaces its parents' rows with its own;
 * removing it restores each parent that has no other applied child.  The
 * lists (of ids) may be NULL when only the graph is to follow.
 */
void
migr_graph_apply_step(MigrGraph *graph, int node, bool up, List **remove,
					  List **add)
{
	MigrNode   *n = &graph->nodes[node];
	List	   *rm = NIL;
	List	   *ad = NIL;

	n->applied = up;
	if (up)
	{
		for (int j = 0; j < n->nparents; j++)
			rm = lappend(rm, graph->nodes[n->parents[j]].id);
		ad = list_make1(n->id);
	}
	else
	{
		rm = list_make1(n->id);
		for (int j = 0; j < n->nparents; j++)
		{
			MigrNode   *parent = &graph->nodes[n->parents[j]];
			bool		child_applied = false;

			for (int k = 0; k < parent->nchildren && !child_applied; k++)
				child_applied = graph->nodes[parent->children[k]].applied;
			if (!child_applied)
				ad = lappend(ad, parent->id);
		}
	}
	if (remove)
		*remove = rm;
	if (add)
		*add = ad;
}
