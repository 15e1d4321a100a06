/*-------------------------------------------------------------------------
 *
 * analysis.c
 *		What a statement will do to the database, read from its parse tree:
 *		the relations it locks and in which mode, whether it rewrites or
 *		scans a table, whether it can run in a transaction; and the lint
 *		rules built on that.
 *
 * The lock modes are the server's own: ALTER TABLE asks tablecmds.c
 * (AlterTableGetLockLevel), the others follow the table in the PostgreSQL
 * documentation ("Explicit Locking").  Whether a default is volatile is
 * decided by looking the functions it calls up in the catalog.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "commands/extension.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "catalog/pg_class.h"
#include "commands/tablecmds.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parse_coerce.h"
#include "parser/parse_type.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "tcop/cmdtag.h"
#include "tcop/utility.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "migr.h"

/*
 * Analysis runs while migr reads its catalog with its own search_path, so
 * the names in a script are looked up with the search_path the caller's
 * scripts are written for ("search_path", passed down from the entry
 * points), set around each lookup.  Only catalog lookups happen under it;
 * nothing runs.  NULL looks names up with the current search_path.
 */
static int
use_search_path(const char *search_path)
{
	int			nest = NewGUCNestLevel();

	if (search_path)
		(void) set_config_option("search_path", search_path,
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
								 true, 0, false);
	return nest;
}

/* "schema.name" or "name", as written. */
static char *
rangevar_name(const RangeVar *rv)
{
	return rv->schemaname ? psprintf("%s.%s", rv->schemaname, rv->relname)
		: pstrdup(rv->relname);
}

/* Record that the statement locks "rv" in "mode". */
static void
add_lock(MigrStatementInfo *info, const RangeVar *rv, LOCKMODE mode)
{
	MigrRelationLock *lock = palloc(sizeof(MigrRelationLock));

	lock->relation = rangevar_name(rv);
	lock->rv = (RangeVar *) rv;
	lock->mode = mode;
	info->locks = lappend(info->locks, lock);
}

static void
add_created(MigrStatementInfo *info, const RangeVar *rv)
{
	info->creates = lappend(info->creates, pstrdup(rv->relname));
}

/*
 * Does any function called in the raw expression have a volatile version?
 * "context" is the search_path to look the functions up with.
 */
static bool
calls_volatile_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, FuncCall))
	{
		int			nest = use_search_path((const char *) context);
		FuncCandidateList c = FuncnameGetCandidates(((FuncCall *) node)->funcname,
													-1, NIL, false, false,
													false, true);
		bool		volatile_found = false;

		for (; c != NULL && !volatile_found; c = c->next)
			volatile_found = func_volatile(c->oid) == PROVOLATILE_VOLATILE;
		AtEOXact_GUC(true, nest);
		if (volatile_found)
			return true;
	}
	return raw_expression_tree_walker(node, calls_volatile_walker, context);
}

static bool typmod_change_is_free(Oid type, int32 old_typmod, int32 new_typmod);

/* Is the new column's type one of the serial pseudo-types? */
static bool
is_serial(const TypeName *type)
{
	const char *name;

	if (type == NULL || list_length(type->names) != 1)
		return false;
	name = strVal(linitial(type->names));
	return strcmp(name, "serial") == 0 || strcmp(name, "bigserial") == 0 ||
		strcmp(name, "smallserial") == 0 || strcmp(name, "serial4") == 0 ||
		strcmp(name, "serial8") == 0 || strcmp(name, "serial2") == 0;
}

/*
 * Does adding this column rewrite the table?  Yes for a volatile default,
 * a serial or identity column, and a stored generated column.
 */
static bool
column_add_rewrites(const ColumnDef *col, const char *search_path)
{
	ListCell   *lc;

	if (is_serial(col->typeName))
		return true;
	if (col->raw_default && calls_volatile_walker(col->raw_default, (void *) search_path))
		return true;
	foreach(lc, col->constraints)
	{
		Constraint *con = lfirst_node(Constraint, lc);

		if (con->contype == CONSTR_IDENTITY || con->contype == CONSTR_GENERATED)
			return true;
		if (con->contype == CONSTR_DEFAULT && con->raw_expr &&
			calls_volatile_walker(con->raw_expr, (void *) search_path))
			return true;
	}
	return false;
}

/*
 * Does changing the column's type rewrite the table?  Not when the table
 * exists and the old type converts to the new one without work; when that
 * can't be told, assume it does.
 */
static bool
type_change_rewrites(const RangeVar *rv, const char *column, const TypeName *type,
					 const char *search_path)
{
	int			nest = use_search_path(search_path);
	Oid			relid = RangeVarGetRelid(rv, NoLock, true);
	AttrNumber	attnum;
	Oid			old_type;
	Oid			new_type;
	int32		new_typmod;
	int32		old_typmod;
	Oid			collation;
	Type		new_tup;

	if (!OidIsValid(relid) || type == NULL ||
		(attnum = get_attnum(relid, column)) == InvalidAttrNumber)
	{
		AtEOXact_GUC(true, nest);
		return true;
	}
	get_atttypetypmodcoll(relid, attnum, &old_type, &old_typmod, &collation);
	/* A type the script itself creates is not there yet: assume a rewrite. */
	new_tup = LookupTypeName(NULL, type, &new_typmod, true);
	AtEOXact_GUC(true, nest);
	if (new_tup == NULL)
		return true;
	new_type = typeTypeId(new_tup);
	ReleaseSysCache(new_tup);
	if (!IsBinaryCoercible(old_type, new_type))
		return true;
	return !typmod_change_is_free(new_type, old_typmod, new_typmod);
}

/*
 * Can the column keep its rows when only the type modifier changes?  Yes
 * for the same modifier or none, a longer varchar, and a numeric with the
 * same scale and no less precision; any other change is taken to rewrite
 * (or at least check) every row.
 */
static bool
typmod_change_is_free(Oid type, int32 old_typmod, int32 new_typmod)
{
	if (new_typmod == old_typmod || new_typmod < 0)
		return true;
	if (old_typmod < 0)
		return false;
	if (type == VARCHAROID)
		return new_typmod >= old_typmod;
	if (type == NUMERICOID)
	{
		int32		old_precision = ((old_typmod - VARHDRSZ) >> 16) & 0xffff;
		int32		old_scale = (old_typmod - VARHDRSZ) & 0xffff;
		int32		new_precision = ((new_typmod - VARHDRSZ) >> 16) & 0xffff;
		int32		new_scale = (new_typmod - VARHDRSZ) & 0xffff;

		return new_scale == old_scale && new_precision >= old_precision;
	}
	return false;
}

static void
analyze_alter_table(AlterTableStmt *stmt, MigrStatementInfo *info,
					const char *search_path)
{
	ListCell   *lc;

	add_lock(info, stmt->relation, AlterTableGetLockLevel(stmt->cmds));

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		switch (cmd->subtype)
		{
			case AT_AddColumn:
				{
					ColumnDef  *col = castNode(ColumnDef, cmd->def);
					ListCell   *lc2;

					if (column_add_rewrites(col, search_path))
						info->rewrites = true;
					foreach(lc2, col->constraints)
					{
						Constraint *con = lfirst_node(Constraint, lc2);

						if (con->contype == CONSTR_FOREIGN && con->pktable)
							add_lock(info, con->pktable, ShareRowExclusiveLock);
					}
					break;
				}
			case AT_AlterColumnType:
				if (type_change_rewrites(stmt->relation, cmd->name,
										 castNode(ColumnDef, cmd->def)->typeName,
										 search_path))
					info->rewrites = true;
				break;
			case AT_SetNotNull:
			case AT_ValidateConstraint:
				info->scans = true;
				break;
			case AT_AddConstraint:
				{
					Constraint *con = castNode(Constraint, cmd->def);

					if ((con->contype == CONSTR_CHECK || con->contype == CONSTR_FOREIGN) &&
						!con->skip_validation)
						info->scans = true;
					if ((con->contype == CONSTR_PRIMARY || con->contype == CONSTR_UNIQUE ||
						 con->contype == CONSTR_EXCLUSION) && con->indexname == NULL)
						info->scans = true;
					if (con->contype == CONSTR_FOREIGN && con->pktable)
						add_lock(info, con->pktable, ShareRowExclusiveLock);
					break;
				}
			case AT_DetachPartition:
				if (((PartitionCmd *) cmd->def)->concurrent)
					info->transactional = false;
				break;
			default:
				break;
		}
	}
}

/*
 * Does the object that "parsetree" creates exist already?  Returns it, as
 * "table \"name\"", or NULL: for a statement that creates nothing, one
 * that tolerates the object (IF NOT EXISTS, OR REPLACE), a temporary one,
 * or one whose object is not there.  Names are looked up with
 * "search_path" (the caller's).  Covers what a first migration creates:
 * schemas, tables, views, sequences, indexes, enum and composite types,
 * domains and extensions.
 */
char *
migr_statement_existing_object(Node *parsetree, const char *search_path)
{
	int			nest = use_search_path(search_path);
	const RangeVar *rv = NULL;
	const char *kind = "relation";
	List	   *type_name = NIL;
	char	   *found = NULL;

	switch (nodeTag(parsetree))
	{
		case T_CreateStmt:
			if (!((CreateStmt *) parsetree)->if_not_exists)
				rv = ((CreateStmt *) parsetree)->relation;
			kind = "table";
			break;
		case T_CreateTableAsStmt:
			if (!((CreateTableAsStmt *) parsetree)->if_not_exists)
				rv = ((CreateTableAsStmt *) parsetree)->into->rel;
			break;
		case T_ViewStmt:
			if (!((ViewStmt *) parsetree)->replace)
				rv = ((ViewStmt *) parsetree)->view;
			kind = "view";
			break;
		case T_CreateSeqStmt:
			if (!((CreateSeqStmt *) parsetree)->if_not_exists)
				rv = ((CreateSeqStmt *) parsetree)->sequence;
			kind = "sequence";
			break;
		case T_IndexStmt:
			{
				IndexStmt  *stmt = (IndexStmt *) parsetree;
				Oid			table;

				if (stmt->if_not_exists || stmt->idxname == NULL)
					break;
				table = RangeVarGetRelid(stmt->relation, NoLock, true);
				if (OidIsValid(table) &&
					OidIsValid(get_relname_relid(stmt->idxname,
												 get_rel_namespace(table))))
					found = psprintf("index \"%s\"", stmt->idxname);
				break;
			}
		case T_CreateSchemaStmt:
			{
				CreateSchemaStmt *stmt = (CreateSchemaStmt *) parsetree;

				if (!stmt->if_not_exists && stmt->schemaname != NULL &&
					OidIsValid(get_namespace_oid(stmt->schemaname, true)))
					found = psprintf("schema \"%s\"", stmt->schemaname);
				break;
			}
		case T_CreateExtensionStmt:
			{
				CreateExtensionStmt *stmt = (CreateExtensionStmt *) parsetree;

				if (!stmt->if_not_exists &&
					OidIsValid(get_extension_oid(stmt->extname, true)))
					found = psprintf("extension \"%s\"", stmt->extname);
				break;
			}
		case T_CreateEnumStmt:
			type_name = ((CreateEnumStmt *) parsetree)->typeName;
			break;
		case T_CreateDomainStmt:
			type_name = ((CreateDomainStmt *) parsetree)->domainname;
			break;
		case T_CompositeTypeStmt:
			{
				RangeVar   *typevar = ((CompositeTypeStmt *) parsetree)->typevar;

				type_name = list_make1(makeString(typevar->relname));
				if (typevar->schemaname)
					type_name = lcons(makeString(typevar->schemaname), type_name);
				break;
			}
		default:
			break;
	}
	if (rv != NULL && rv->relpersistence != RELPERSISTENCE_TEMP &&
		OidIsValid(RangeVarGetRelid(rv, NoLock, true)))
		found = psprintf("%s \"%s\"", kind, rangevar_name(rv));
	if (type_name != NIL &&
		OidIsValid(LookupTypeNameOid(NULL, makeTypeNameFromNameList(type_name),
									 true)))
		found = psprintf("type \"%s\"", NameListToString(type_name));
	AtEOXact_GUC(true, nest);
	return found;
}

/*
 * Fill "info" with what "parsetree" does; names in it are looked up with
 * "search_path" (the caller's, see use_search_path).
 */
void
migr_analyze_statement(Node *parsetree, const char *search_path,
					   MigrStatementInfo *info)
{
	ListCell   *lc;

	memset(info, 0, sizeof(MigrStatementInfo));
	info->tag = GetCommandTagName(CreateCommandTag(parsetree));
	info->transactional = true;
	info->destructive = migr_statement_is_destructive(parsetree);

	switch (nodeTag(parsetree))
	{
		case T_CreateStmt:
			{
				CreateStmt *stmt = (CreateStmt *) parsetree;

				add_created(info, stmt->relation);
				foreach(lc, stmt->inhRelations)
					add_lock(info, lfirst_node(RangeVar, lc), AccessExclusiveLock);
				foreach(lc, stmt->constraints)
				{
					Constraint *con = lfirst_node(Constraint, lc);

					if (con->contype == CONSTR_FOREIGN && con->pktable)
						add_lock(info, con->pktable, ShareRowExclusiveLock);
				}
				foreach(lc, stmt->tableElts)
				{
					ListCell   *lc2;

					if (!IsA(lfirst(lc), ColumnDef))
						continue;
					foreach(lc2, ((ColumnDef *) lfirst(lc))->constraints)
					{
						Constraint *con = lfirst_node(Constraint, lc2);

						if (con->contype == CONSTR_FOREIGN && con->pktable)
							add_lock(info, con->pktable, ShareRowExclusiveLock);
					}
				}
				break;
			}
		case T_CreateTableAsStmt:
			add_created(info, ((CreateTableAsStmt *) parsetree)->into->rel);
			break;
		case T_ViewStmt:
			add_created(info, ((ViewStmt *) parsetree)->view);
			break;
		case T_IndexStmt:
			{
				IndexStmt  *stmt = (IndexStmt *) parsetree;

				add_lock(info, stmt->relation,
						 stmt->concurrent ? ShareUpdateExclusiveLock : ShareLock);
				info->scans = true;
				if (stmt->concurrent)
					info->transactional = false;
				break;
			}
		case T_AlterTableStmt:
			analyze_alter_table((AlterTableStmt *) parsetree, info, search_path);
			break;
		case T_DropStmt:
			{
				DropStmt   *stmt = (DropStmt *) parsetree;

				if (stmt->concurrent)
					info->transactional = false;
				if (stmt->removeType == OBJECT_TABLE || stmt->removeType == OBJECT_VIEW ||
					stmt->removeType == OBJECT_MATVIEW || stmt->removeType == OBJECT_INDEX ||
					stmt->removeType == OBJECT_SEQUENCE ||
					stmt->removeType == OBJECT_FOREIGN_TABLE)
				{
					foreach(lc, stmt->objects)
						add_lock(info, makeRangeVarFromNameList(lfirst(lc)),
								 stmt->concurrent ? ShareUpdateExclusiveLock
								 : AccessExclusiveLock);
				}
				break;
			}
		case T_RenameStmt:
			if (((RenameStmt *) parsetree)->relation)
				add_lock(info, ((RenameStmt *) parsetree)->relation, AccessExclusiveLock);
			break;
		case T_TruncateStmt:
			foreach(lc, ((TruncateStmt *) parsetree)->relations)
				add_lock(info, lfirst_node(RangeVar, lc), AccessExclusiveLock);
			break;
		case T_InsertStmt:
			add_lock(info, ((InsertStmt *) parsetree)->relation, RowExclusiveLock);
			break;
		case T_UpdateStmt:
			add_lock(info, ((UpdateStmt *) parsetree)->relation, RowExclusiveLock);
			if (((UpdateStmt *) parsetree)->whereClause == NULL)
				info->scans = true;
			break;
		case T_DeleteStmt:
			add_lock(info, ((DeleteStmt *) parsetree)->relation, RowExclusiveLock);
			if (((DeleteStmt *) parsetree)->whereClause == NULL)
				info->scans = true;
			break;
		case T_CreateTrigStmt:
			add_lock(info, ((CreateTrigStmt *) parsetree)->relation, ShareRowExclusiveLock);
			break;
		case T_RefreshMatViewStmt:
			add_lock(info, ((RefreshMatViewStmt *) parsetree)->relation,
					 ((RefreshMatViewStmt *) parsetree)->concurrent
					 ? ExclusiveLock : AccessExclusiveLock);
			info->scans = true;
			break;
		case T_VacuumStmt:
			{
				VacuumStmt *stmt = (VacuumStmt *) parsetree;

				if (stmt->is_vacuumcmd)
					info->transactional = false;
				foreach(lc, stmt->rels)
					add_lock(info, lfirst_node(VacuumRelation, lc)->relation,
							 ShareUpdateExclusiveLock);
				info->scans = true;
				break;
			}
		case T_ReindexStmt:
			{
				ReindexStmt *stmt = (ReindexStmt *) parsetree;

				foreach(lc, stmt->params)
				{
					if (strcmp(lfirst_node(DefElem, lc)->defname, "concurrently") == 0)
						info->transactional = false;
				}
				if (stmt->relation)
					add_lock(info, stmt->relation,
							 info->transactional ? ShareLock : ShareUpdateExclusiveLock);
				info->scans = true;
				break;
			}
		case T_CreatedbStmt:
		case T_DropdbStmt:
		case T_AlterSystemStmt:
		case T_CreateTableSpaceStmt:
		case T_DropTableSpaceStmt:
			info->transactional = false;
			break;
		default:
			break;
	}
}

/* "AccessExclusiveLock" etc., as pg_locks shows it. */
const char *
migr_lock_mode_name(int mode)
{
	return GetLockmodeName(DEFAULT_LOCKMETHOD, mode);
}

/* ---------------------------------------------------------------------
 * Lint
 * ---------------------------------------------------------------------
 */

/*
 * Sets of relation names (what a script created, validated ...): hash
 * tables, so that linting n statements stays linear in n.
 */
static HTAB *
name_set_create(const char *what)
{
	HASHCTL		ctl;

	ctl.keysize = NAMEDATALEN;
	ctl.entrysize = NAMEDATALEN;
	ctl.hcxt = CurrentMemoryContext;
	return hash_create(what, 64, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

static void
name_set_add(HTAB *names, const char *name)
{
	char		key[NAMEDATALEN];

	strlcpy(key, name, NAMEDATALEN);
	(void) hash_search(names, key, HASH_ENTER, NULL);
}

static bool
name_in(HTAB *names, const RangeVar *rv)
{
	char		key[NAMEDATALEN];

	strlcpy(key, rv->relname, NAMEDATALEN);
	return hash_search(names, key, HASH_FIND, NULL) != NULL;
}

static void
add_finding(List **findings, const char *rule, const char *severity,
			const MigrStatement *st, const char *message, const char *safer)
{
	MigrFinding *f = palloc(sizeof(MigrFinding));

	f->rule = rule;
	f->severity = severity;
	f->statement = st->number;
	f->line = st->line;
	f->message = message;
	f->safer = safer;
	*findings = lappend(*findings, f);
}

/* Lint one ALTER TABLE on an existing table. */
static void
lint_alter_table(AlterTableStmt *stmt, const MigrStatement *st,
				 HTAB *validated, const char *search_path, List **findings)
{
	ListCell   *lc;
	char	   *rel = rangevar_name(stmt->relation);

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		switch (cmd->subtype)
		{
			case AT_AddColumn:
				if (column_add_rewrites(castNode(ColumnDef, cmd->def), search_path))
					add_finding(findings, "add-column-rewrite", "warning", st,
								psprintf("adding column %s to %s rewrites the whole table under an ACCESS EXCLUSIVE lock (volatile default, serial, identity or stored generated column)",
										 castNode(ColumnDef, cmd->def)->colname, rel),
								"Add the column nullable without a default, set the default in a second statement, and backfill existing rows in batches.");
				break;
			case AT_AlterColumnType:
				if (type_change_rewrites(stmt->relation, cmd->name,
										 castNode(ColumnDef, cmd->def)->typeName,
										 search_path))
					add_finding(findings, "column-type-rewrite", "warning", st,
								psprintf("changing the type of %s.%s rewrites the table under an ACCESS EXCLUSIVE lock",
										 rel, cmd->name),
								"Add a new column of the new type, write both from the code, backfill in batches, then switch over and drop the old column in a later deploy.");
				break;
			case AT_SetNotNull:
				if (!name_in(validated, stmt->relation))
					add_finding(findings, "set-not-null-scan", "warning", st,
								psprintf("SET NOT NULL on %s.%s scans the whole table under an ACCESS EXCLUSIVE lock",
										 rel, cmd->name),
								"ADD CONSTRAINT ... CHECK (column IS NOT NULL) NOT VALID in one revision, VALIDATE CONSTRAINT (which does not block writes) in the next, then SET NOT NULL, which uses the validated constraint instead of a scan.");
				break;
			case AT_AddConstraint:
				{
					Constraint *con = castNode(Constraint, cmd->def);

					if ((con->contype == CONSTR_FOREIGN || con->contype == CONSTR_CHECK) &&
						!con->skip_validation)
						add_finding(findings, "constraint-not-valid", "warning", st,
									psprintf("adding a %s constraint to %s validates every row while writes are blocked",
											 con->contype == CONSTR_FOREIGN ? "FOREIGN KEY" : "CHECK", rel),
									"Add it with NOT VALID, then VALIDATE CONSTRAINT in a later statement or revision: validation takes a lock that lets reads and writes continue.");
					if ((con->contype == CONSTR_PRIMARY || con->contype == CONSTR_UNIQUE) &&
						con->indexname == NULL)
						add_finding(findings, "unique-without-index", "warning", st,
									psprintf("adding a %s constraint to %s builds its index under an ACCESS EXCLUSIVE lock",
											 con->contype == CONSTR_PRIMARY ? "PRIMARY KEY" : "UNIQUE", rel),
									"CREATE UNIQUE INDEX CONCURRENTLY first (a non-transactional revision), then ADD CONSTRAINT ... USING INDEX.");
					break;
				}
			case AT_DropColumn:
				add_finding(findings, "drop-column", "error", st,
							psprintf("dropping column %s.%s breaks code that still reads or writes it",
									 rel, cmd->name),
							"Stop using the column in a deploy of the code first; drop it in a later deploy (the two-deploy rule).");
				break;
			default:
				break;
		}
	}
}

/*
 * Lint the statements of one script.  Objects the script itself creates
 * are exempt: a new table can be indexed and altered freely.  Names are
 * looked up with "search_path", the caller's.
 */
List *
migr_lint_statements(List *statements, const char *search_path)
{
	List	   *findings = NIL;
	HTAB	   *created = name_set_create("migr lint created");
	HTAB	   *validated = name_set_create("migr lint validated");
	const MigrStatement *exclusive = NULL;
	ListCell   *lc;

	foreach(lc, statements)
	{
		const MigrStatement *st = lfirst(lc);
		Node	   *tree = st->parsetree;
		MigrStatementInfo info;
		ListCell   *lc2;

		CHECK_FOR_INTERRUPTS();
		migr_analyze_statement(tree, search_path, &info);

		if (exclusive != NULL)
		{
			add_finding(&findings, "exclusive-lock-then-work", "warning", st,
						psprintf("statement %d runs while the ACCESS EXCLUSIVE lock taken by statement %d is still held",
								 st->number, exclusive->number),
						"Put the statement that takes ACCESS EXCLUSIVE last in its revision, or give it a revision of its own, so the lock is held as briefly as possible.");
			exclusive = NULL;	/* once per lock */
		}

		switch (nodeTag(tree))
		{
			case T_IndexStmt:
				{
					IndexStmt  *stmt = (IndexStmt *) tree;

					if (!stmt->concurrent && !name_in(created, stmt->relation))
						add_finding(&findings, "index-not-concurrent", "warning", st,
									psprintf("CREATE INDEX on %s blocks writes to the table while the index builds",
											 rangevar_name(stmt->relation)),
									"Use CREATE INDEX CONCURRENTLY in a revision of its own (it is applied outside a transaction with migr_script()).");
					break;
				}
			case T_AlterTableStmt:
				{
					AlterTableStmt *stmt = (AlterTableStmt *) tree;

					foreach(lc2, stmt->cmds)
					{
						if (lfirst_node(AlterTableCmd, lc2)->subtype == AT_ValidateConstraint)
							name_set_add(validated, stmt->relation->relname);
					}
					if (!name_in(created, stmt->relation))
						lint_alter_table(stmt, st, validated, search_path, &findings);
					break;
				}
			case T_DropStmt:
				{
					DropStmt   *stmt = (DropStmt *) tree;

					if (stmt->removeType == OBJECT_TABLE)
					{
						foreach(lc2, stmt->objects)
						{
							RangeVar   *rv = makeRangeVarFromNameList(lfirst(lc2));

							if (!name_in(created, rv))
								add_finding(&findings, "drop-table", "error", st,
											psprintf("dropping table %s breaks code that still uses it",
													 rangevar_name(rv)),
											"Stop using the table in a deploy of the code first; drop it in a later deploy (the two-deploy rule).");
						}
					}
					break;
				}
			case T_RenameStmt:
				{
					RenameStmt *stmt = (RenameStmt *) tree;

					if ((stmt->renameType == OBJECT_TABLE || stmt->renameType == OBJECT_COLUMN) &&
						stmt->relation && !name_in(created, stmt->relation))
						add_finding(&findings, "rename", "error", st,
									psprintf("renaming %s%s%s breaks code that uses the old name",
											 rangevar_name(stmt->relation),
											 stmt->renameType == OBJECT_COLUMN ? "." : "",
											 stmt->renameType == OBJECT_COLUMN ? stmt->subname : ""),
									"Add the new name alongside the old one (a new column kept in sync, or a view), move the code over, then remove the old name in a later deploy.");
					break;
				}
			default:
				break;
		}

		/* Remember what takes ACCESS EXCLUSIVE on an existing relation. */
		foreach(lc2, info.locks)
		{
			MigrRelationLock *lock = lfirst(lc2);

			if (lock->mode == AccessExclusiveLock && !name_in(created, lock->rv))
				exclusive = st;
		}
		foreach(lc2, info.creates)
			name_set_add(created, lfirst(lc2));
	}
	hash_destroy(created);
	hash_destroy(validated);
	return findings;
}
