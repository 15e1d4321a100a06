/*-------------------------------------------------------------------------
 *
 * graph_render.c
 *		migr_graph(): the revision graph as text for a picture, in Graphviz
 *		DOT or in Mermaid.
 *
 * Both show every revision in registration order with its id, its branch
 * labels and the first line of its message; applied revisions filled,
 * heads with a double (DOT) or thick (Mermaid) border, merges as hexagons;
 * an arrow from each parent to its child, and a dashed one from each
 * dependency to the revision that depends on it.  The same catalog always
 * gives the same text.
 *
 * Ids and labels are restricted to letters, digits and underscores, but a
 * message may hold anything.  Every string a user wrote is escaped so that
 * it can only ever be text inside a label: in DOT, quotes, backslashes,
 * ampersands and angle brackets become character entities, which Graphviz
 * decodes after parsing, so its lexer never sees a user quote or backslash
 * (see dot_escape() for what a backslash needs after that); in Mermaid,
 * everything but letters, digits, UTF-8 and a few harmless punctuation
 * marks becomes an entity code (#34;), which also keeps "%%" directives,
 * HTML and markdown out.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "migr.h"

PG_FUNCTION_INFO_V1(migr_graph);

/* Longest message shown in a node, in characters; longer ones are cut. */
#define MESSAGE_CHARS	60

/* What a node looks like: the parts both formats need. */
typedef struct RenderNode
{
	const MigrNode *node;
	const MigrRevisionNote *note;
	bool		head;
	bool		merge;
} RenderNode;

/*
 * The first line of "message", cut to MESSAGE_CHARS characters ("..."
 * added when cut); "" for an empty message.
 */
static char *
message_summary(const char *message)
{
	int			len = strcspn(message, "\r\n");
	int			clipped = pg_mbcharcliplen(message, len, MESSAGE_CHARS);

	if (clipped < len)
		return psprintf("%.*s...", clipped, message);
	return pnstrdup(message, len);
}

/*
 * Append "s" to a double-quoted DOT string.  Quotes, backslashes and the
 * characters of entities become entities, so the lexer never sees a user
 * quote or backslash.  Graphviz decodes entities before it reads its own
 * escapes (\N, \G, \l ...): a label goes through one round of those, so
 * a backslash is written twice; a tooltip goes through two, so four times
 * ("for_tooltip").  Line breaks become \n, other control characters
 * spaces.
 */
static void
dot_escape(StringInfo buf, const char *s, bool for_tooltip)
{
	for (const char *p = s; *p; p++)
	{
		unsigned char c = (unsigned char) *p;

		switch (c)
		{
			case '"':
				appendStringInfoString(buf, "&#34;");
				break;
			case '\\':
				appendStringInfoString(buf, for_tooltip ? "&#92;&#92;&#92;&#92;" : "&#92;&#92;");
				break;
			case '&':
				appendStringInfoString(buf, "&amp;");
				break;
			case '<':
				appendStringInfoString(buf, "&lt;");
				break;
			case '>':
				appendStringInfoString(buf, "&gt;");
				break;
			case '\r':
				if (p[1] != '\n')
					appendStringInfoString(buf, "\\n");
				break;
			case '\n':
				appendStringInfoString(buf, "\\n");
				break;
			default:
				if (c < 0x20 || c == 0x7f)
					appendStringInfoChar(buf, ' ');
				else
					appendStringInfoChar(buf, (char) c);
		}
	}
}

/*
 * Append "s" to a double-quoted Mermaid label.  Letters, digits, spaces,
 * bytes of multibyte characters and a few punctuation marks stay; every
 * other character becomes an entity code (#34; for a quote), control
 * characters spaces.
 */
static void
mermaid_escape(StringInfo buf, const char *s)
{
	for (const char *p = s; *p; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
			(c >= 'a' && c <= 'z') || strchr(" .,:_-/()'+=!?@*", c) != NULL)
			appendStringInfoChar(buf, (char) c);
		else if (c < 0x20 || c == 0x7f)
			appendStringInfoChar(buf, ' ');
		else
			appendStringInfo(buf, "#%d;", c);
	}
}

/* "id (label, label)": the first line of a node's label, unescaped. */
static char *
node_title(const RenderNode *rn)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	appendStringInfoString(&buf, rn->node->id);
	foreach(lc, rn->note->labels)
		appendStringInfo(&buf, "%s%s", foreach_current_index(lc) == 0 ? " (" : ", ",
						 (char *) lfirst(lc));
	if (rn->note->labels != NIL)
		appendStringInfoChar(&buf, ')');
	return buf.data;
}

/* The graph in Graphviz DOT. */
static void
render_dot(StringInfo out, const MigrGraph *graph, const RenderNode *nodes)
{
	appendStringInfoString(out,
						   "// migr revision graph: filled = applied, double border = head,\n"
						   "// hexagon = merge, solid arrow = parent to child, dashed = depends_on\n"
						   "digraph migr {\n"
						   "\trankdir=TB;\n"
						   "\tnode [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=10];\n"
						   "\tedge [arrowsize=0.7];\n");
	for (int i = 0; i < graph->nnodes; i++)
	{
		const RenderNode *rn = &nodes[i];
		char	   *summary = message_summary(rn->note->message);

		appendStringInfoString(out, "\t\"");
		dot_escape(out, rn->node->id, false);
		appendStringInfoString(out, "\" [label=\"");
		dot_escape(out, node_title(rn), false);
		if (*summary != '\0')
		{
			appendStringInfoString(out, "\\n");
			dot_escape(out, summary, false);
		}
		appendStringInfoString(out, "\", tooltip=\"");
		dot_escape(out, rn->note->message, true);
		appendStringInfoChar(out, '"');
		if (rn->merge)
			appendStringInfoString(out, ", shape=hexagon");
		if (rn->node->applied)
			appendStringInfoString(out, ", style=\"rounded,filled\", fillcolor=\"#b7e1b7\"");
		if (rn->head)
			appendStringInfoString(out, ", peripheries=2");
		appendStringInfoString(out, "];\n");
	}
	for (int i = 0; i < graph->nnodes; i++)
	{
		const MigrNode *node = &graph->nodes[i];

		for (int j = 0; j < node->nparents; j++)
			appendStringInfo(out, "\t\"%s\" -> \"%s\";\n",
							 graph->nodes[node->parents[j]].id, node->id);
		for (int j = 0; j < node->ndeps; j++)
			appendStringInfo(out, "\t\"%s\" -> \"%s\" [style=dashed];\n",
							 graph->nodes[node->deps[j]].id, node->id);
	}
	appendStringInfoString(out, "}\n");
}

/*
 * "class rev_a, rev_b NAME" for the nodes that "pick" selects, if any.
 */
static void
mermaid_class(StringInfo out, const MigrGraph *graph, const RenderNode *nodes,
			  bool (*pick) (const RenderNode *), const char *name)
{
	bool		first = true;

	for (int i = 0; i < graph->nnodes; i++)
	{
		if (!pick(&nodes[i]))
			continue;
		appendStringInfo(out, "%srev_%s", first ? "    class " : ",",
						 graph->nodes[i].id);
		first = false;
	}
	if (!first)
		appendStringInfo(out, " %s\n", name);
}

static bool
pick_applied(const RenderNode *rn)
{
	return rn->node->applied;
}

static bool
pick_head(const RenderNode *rn)
{
	return rn->head;
}

/*
 * The graph as a Mermaid flowchart.  Node names are "rev_" and the id, so
 * that no id can be a Mermaid keyword (end, class ...).
 */
static void
render_mermaid(StringInfo out, const MigrGraph *graph, const RenderNode *nodes)
{
	appendStringInfoString(out,
						   "flowchart TB\n"
						   "    %% migr revision graph: filled = applied, thick border = head,\n"
						   "    %% hexagon = merge, solid arrow = parent to child, dotted = depends_on\n"
						   "    classDef applied fill:#b7e1b7,stroke:#333\n"
						   "    classDef head stroke-width:4px\n");
	for (int i = 0; i < graph->nnodes; i++)
	{
		const RenderNode *rn = &nodes[i];
		char	   *summary = message_summary(rn->note->message);

		appendStringInfo(out, "    rev_%s%s\"", rn->node->id, rn->merge ? "{{" : "[");
		mermaid_escape(out, node_title(rn));
		if (*summary != '\0')
		{
			appendStringInfoString(out, "<br/>");
			mermaid_escape(out, summary);
		}
		appendStringInfo(out, "\"%s\n", rn->merge ? "}}" : "]");
	}
	for (int i = 0; i < graph->nnodes; i++)
	{
		const MigrNode *node = &graph->nodes[i];

		for (int j = 0; j < node->nparents; j++)
			appendStringInfo(out, "    rev_%s --> rev_%s\n",
							 graph->nodes[node->parents[j]].id, node->id);
		for (int j = 0; j < node->ndeps; j++)
			appendStringInfo(out, "    rev_%s -.-> rev_%s\n",
							 graph->nodes[node->deps[j]].id, node->id);
	}
	mermaid_class(out, graph, nodes, pick_applied, "applied");
	mermaid_class(out, graph, nodes, pick_head, "head");
}

/*
 * migr_graph(format text DEFAULT 'dot'): the revision graph as Graphviz DOT
 * ('dot') or as a Mermaid flowchart ('mermaid').
 */
Datum
migr_graph(PG_FUNCTION_ARGS)
{
	MemoryContext fn_cxt = CurrentMemoryContext;
	MigrOwnerScope scope;
	MigrGraph  *graph;
	RenderNode *nodes;
	List	   *ids = NIL;
	List	   *notes;
	char	   *format;
	StringInfoData out;
	text	   *result;

	migr_citus_note_on_worker();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("graph format must not be NULL")));
	format = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (strcmp(format, "dot") != 0 && strcmp(format, "mermaid") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown graph format \"%s\"", format),
				 errdetail("The formats are \"dot\" (Graphviz) and \"mermaid\".")));

	migr_catalog_open(&scope);

	graph = migr_graph_load();
	for (int i = 0; i < graph->nnodes; i++)
		ids = lappend(ids, graph->nodes[i].id);
	notes = ids != NIL ? migr_catalog_revision_notes(ids) : NIL;

	nodes = palloc0(sizeof(RenderNode) * Max(graph->nnodes, 1));
	for (int i = 0; i < graph->nnodes; i++)
	{
		nodes[i].node = &graph->nodes[i];
		nodes[i].note = list_nth(notes, i);
		nodes[i].head = graph->nodes[i].nchildren == 0;
		nodes[i].merge = graph->nodes[i].nparents > 1;
		if (strcmp(nodes[i].note->id, graph->nodes[i].id) != 0)
			elog(ERROR, "revision notes out of order: %s for %s",
				 nodes[i].note->id, graph->nodes[i].id);
	}

	initStringInfo(&out);
	if (strcmp(format, "dot") == 0)
		render_dot(&out, graph, nodes);
	else
		render_mermaid(&out, graph, nodes);

	MemoryContextSwitchTo(fn_cxt);
	result = cstring_to_text_with_len(out.data, out.len);

	migr_owner_end(&scope);
	SPI_finish();
	PG_RETURN_TEXT_P(result);
}
