/* sql/migr--0.1--0.2.sql: from migr 0.1 to 0.2 */

\echo Use "ALTER EXTENSION migr UPDATE TO '0.2'" to load this file. \quit

/*
 * 0.1 is released: every catalog change of 0.2 is made here, never in
 * sql/migr--0.1.sql.  CREATE EXTENSION migr runs migr--0.1.sql and then this
 * file; ALTER EXTENSION migr UPDATE runs this file on a 0.1 database whose
 * history it must keep.  Each section below names the change it belongs to.
 */

/* ---------------------------------------------------------------------
 * migr_graph: the revision graph as Graphviz DOT or Mermaid text, for
 * pictures (src/graph_render.c; bin/migr-graph renders it).  It shows ids,
 * labels and messages, as migr_history() does, so it is open to everyone
 * like migr_history() and migr_heads().
 * ---------------------------------------------------------------------
 */
CREATE FUNCTION migr_graph(format text DEFAULT 'dot')
RETURNS text
AS 'MODULE_PATHNAME', 'migr_graph'
LANGUAGE C STABLE;
