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

#include "executor/spi.h"
#include "lib/binaryheap.h"
#include "lib/stringinfo.h"
#include "utils/hsearch.h"

#include "migr.h"

typedef struct GraphIndexEntry
{
	char		id[MIGR_MAX_ID_LEN + 1];
	int			position;
} GraphIndexEntry;

/*
 * Load the whole graph (no scripts) with one catalog query.  Call inside an
 * owner scope; the graph lives in the current memory context.
 */
MigrGraph *
migr_graph_load(void)
{
	MigrGraph  *graph = palloc0(sizeof(MigrGraph));
	HASHCTL		ctl;
	List	  **parent_ids;
	int		   *nchildren;

	migr_catalog_graph_rows();

	graph->nnodes = (int) SPI_processed;
	graph->nodes = palloc0(sizeof(MigrNode) * Max(graph->nnodes, 1));
	parent_ids = palloc0(sizeof(List *) * Max(graph->nnodes, 1));

	ctl.keysize = MIGR_MAX_ID_LEN + 1;
	ctl.entrysize = sizeof(GraphIndexEntry);
	ctl.hcxt = CurrentMemoryContext;
	graph->index = hash_create("migr revision graph", Max(graph->nnodes, 16),
							   &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);

	for (int i = 0; i < graph->nnodes; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		MigrNode   *node = &graph->nodes[i];
		GraphIndexEntry *entry;
		bool		isnull;
		bool		found;

		node->id = SPI_getvalue(tup, desc, 1);
		parent_ids[i] = migr_text_array_to_list(SPI_getbinval(tup, desc, 2, &isnull));
		node->seq = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
		node->applied = DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull));
		node->has_downgrade = DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull));

		entry = hash_search(graph->index, node->id, HASH_ENTER, &found);
		entry->position = i;
	}

	/* Resolve parents, then build the children arrays. */
	nchildren = palloc0(sizeof(int) * Max(graph->nnodes, 1));
	for (int i = 0; i < graph->nnodes; i++)
	{
		MigrNode   *node = &graph->nodes[i];
		ListCell   *lc;

		node->nparents = 0;
		node->parents = palloc(sizeof(int) * Max(list_length(parent_ids[i]), 1));
		foreach(lc, parent_ids[i])
		{
			int			p = migr_graph_find(graph, (char *) lfirst(lc));

			if (p < 0)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("revision %s names unknown parent %s",
								node->id, (char *) lfirst(lc)),
						 errhint("The table migr.revisions was changed by hand; restore the missing revision.")));
			node->parents[node->nparents++] = p;
			nchildren[p]++;
		}
	}
	for (int i = 0; i < graph->nnodes; i++)
		graph->nodes[i].children = palloc(sizeof(int) * Max(nchildren[i], 1));
	for (int i = 0; i < graph->nnodes; i++)
	{
		MigrNode   *node = &graph->nodes[i];

		for (int j = 0; j < node->nparents; j++)
		{
			MigrNode   *parent = &graph->nodes[node->parents[j]];

			parent->children[parent->nchildren++] = i;
		}
	}
	return graph;
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
 * The revisions in "from" and everything reachable from them, through
 * parents (up = false) or children (up = true).
 */
static Bitmapset *
closure(const MigrGraph *graph, List *from, bool up)
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
		int			count = up ? node->nchildren : node->nparents;
		int		   *next = up ? node->children : node->parents;

		for (int j = 0; j < count; j++)
			if (!bms_is_member(next[j], seen))
			{
				seen = bms_add_member(seen, next[j]);
				stack[depth++] = next[j];
			}
	}
	pfree(stack);
	return seen;
}

/* "from" and all their ancestors. */
Bitmapset *
migr_graph_ancestors(const MigrGraph *graph, List *from)
{
	return closure(graph, from, false);
}

/* "from" and all their descendants. */
Bitmapset *
migr_graph_descendants(const MigrGraph *graph, List *from)
{
	return closure(graph, from, true);
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

	/* Count, for each member, the members it has to wait for. */
	while ((n = bms_next_member(set, n)) >= 0)
	{
		const MigrNode *node = &graph->nodes[n];
		int			degree = newest_first ? node->nchildren : node->nparents;
		int		   *edges = newest_first ? node->children : node->parents;

		for (int j = 0; j < degree; j++)
			if (bms_is_member(edges[j], set))
				waiting[n]++;
		if (waiting[n] == 0)
			binaryheap_add_unordered(ready, Int32GetDatum(n));
	}
	binaryheap_build(ready);

	while (!binaryheap_empty(ready))
	{
		int			next = DatumGetInt32(binaryheap_remove_first(ready));
		const MigrNode *node = &graph->nodes[next];
		int			degree = newest_first ? node->nparents : node->nchildren;
		int		   *edges = newest_first ? node->parents : node->children;

		result = lappend_int(result, next);
		for (int j = 0; j < degree; j++)
			if (bms_is_member(edges[j], set) && --waiting[edges[j]] == 0)
				binaryheap_add(ready, Int32GetDatum(edges[j]));
	}

	if (list_length(result) != count)
		elog(ERROR, "revision graph contains a cycle");
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
		appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "",
						 graph->nodes[lfirst_int(lc)].id);
	return buf.data;
}

/* Is "to" an ancestor of (or equal to) "from"? */
bool
migr_graph_reaches(const MigrGraph *graph, int from, int to)
{
	Bitmapset  *anc = migr_graph_ancestors(graph, list_make1_int(from));

	return bms_is_member(to, anc);
}
