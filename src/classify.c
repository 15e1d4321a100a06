/*-------------------------------------------------------------------------
 *
 * classify.c
 *		Tells destructive statements from additive ones, by their parse tree.
 *
 * A statement is destructive when code written for the schema before it can
 * break after it: it drops, renames or moves an object, drops a column, a
 * constraint or a default (of a table or a domain), changes a column's
 * type, makes a column or a domain NOT NULL (old code may insert NULL),
 * detaches a partition, revokes a privilege, or truncates a table.  Data
 * changes (INSERT, UPDATE, DELETE) are not classified: old code keeps
 * working on the rows that remain.  Everything else (creating, adding,
 * inserting, updating) is additive.  The two-deploy rule ships destructive
 * statements in a deploy of their own, after the code stopped using what
 * they remove; a rollback across additive revisions only is safe.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "nodes/parsenodes.h"

#include "migr.h"

/* Does one ALTER TABLE subcommand remove or reshape something? */
static bool
alter_table_cmd_is_destructive(AlterTableCmd *cmd)
{
	switch (cmd->subtype)
	{
		case AT_DropColumn:
		case AT_DropConstraint:
		case AT_AlterColumnType:
		case AT_SetNotNull:
		case AT_DropExpression:
		case AT_DropIdentity:
		case AT_DropInherit:
		case AT_DropOf:
		case AT_DetachPartition:
		case AT_DetachPartitionFinalize:
			return true;
		case AT_ColumnDefault:
			/* ALTER COLUMN ... DROP DEFAULT: old code may rely on it */
			return cmd->def == NULL;
		default:
			return false;
	}
}

/*
 * Is the raw statement "parsetree" destructive?
 */
bool
migr_statement_is_destructive(Node *parsetree)
{
	switch (nodeTag(parsetree))
	{
		case T_DropStmt:
		case T_DropOwnedStmt:
		case T_DropRoleStmt:
		case T_DropdbStmt:
		case T_DropTableSpaceStmt:
		case T_DropSubscriptionStmt:
		case T_DropUserMappingStmt:
		case T_RenameStmt:
		case T_AlterObjectSchemaStmt:
		case T_TruncateStmt:
			return true;
		case T_AlterTableStmt:
			{
				ListCell   *lc;

				foreach(lc, ((AlterTableStmt *) parsetree)->cmds)
				{
					if (alter_table_cmd_is_destructive(lfirst_node(AlterTableCmd, lc)))
						return true;
				}
				return false;
			}
		case T_AlterEnumStmt:
			/* RENAME VALUE */
			return ((AlterEnumStmt *) parsetree)->oldVal != NULL;
		case T_GrantStmt:
			return !((GrantStmt *) parsetree)->is_grant;
		case T_AlterDomainStmt:
			{
				AlterDomainStmt *stmt = (AlterDomainStmt *) parsetree;

				/*
				 * As for a column: DROP CONSTRAINT ('X'), SET NOT NULL ('O')
				 * and DROP DEFAULT ('T' without a default) are destructive;
				 * SET DEFAULT, DROP NOT NULL, ADD and VALIDATE CONSTRAINT are
				 * not.
				 */
				return stmt->subtype == 'X' || stmt->subtype == 'O' ||
					(stmt->subtype == 'T' && stmt->def == NULL);
			}
		default:
			return false;
	}
}

/*
 * Classify the statements of an upgrade script into row->changes
 * ("additive", "destructive" or "mixed") and row->destructive_statements.
 */
void
migr_classify_script(List *statements, MigrRevisionRow *row)
{
	int			additive = 0;
	ListCell   *lc;

	row->destructive_statements = NIL;
	foreach(lc, statements)
	{
		MigrStatement *st = (MigrStatement *) lfirst(lc);

		CHECK_FOR_INTERRUPTS();
		if (migr_statement_is_destructive(st->parsetree))
			row->destructive_statements = lappend(row->destructive_statements,
												  st->text);
		else
			additive++;
	}
	if (row->destructive_statements == NIL)
		row->changes = "additive";
	else
		row->changes = additive > 0 ? "mixed" : "destructive";
}
