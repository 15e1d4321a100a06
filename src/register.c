/*-------------------------------------------------------------------------
 *
 * register.c
 *		migr_revision() and migr_merge(): store revisions in the catalog.
 *
 * migr_register() is the one registration path: migr_revision() and
 * migr_load() (files.c) both go through it, so a revision loaded from a
 * file obeys exactly the rules of one registered by a call.
 *
 * Everything is checked before anything is stored: the id, the branch
 * labels, the parents and dependencies, and both scripts (parsed by the
 * server's parser).  Registering the identical revision again is a no-op; a
 * revision that was never applied may be registered again with other
 * scripts, message, parents, dependencies or labels, by a role with the
 * privileges of its registrant; the changer becomes its registrant.
 *
 * Parents and dependencies are resolved to full ids when registered, so
 * what is stored never changes meaning later: a prefix or a branch label
 * given here is stored as the revision it named at that moment.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/string.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "access/xact.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "migr.h"

PG_FUNCTION_INFO_V1(migr_revision);
PG_FUNCTION_INFO_V1(migr_merge);

/*
 * A fresh random id of MIGR_GENERATED_ID_LEN hexadecimal digits, used by no
 * revision and no label.  Inside an owner scope.
 */
char *
migr_generate_revision_id(void)
{
	uint8		bytes[MIGR_GENERATED_ID_LEN / 2];
	char	   *id = palloc(MIGR_GENERATED_ID_LEN + 1);

	for (;;)
	{
		if (!pg_strong_random(bytes, sizeof(bytes)))
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate a random revision id")));
		for (int i = 0; i < (int) sizeof(bytes); i++)
			snprintf(id + i * 2, 3, "%02x", bytes[i]);
		if (migr_catalog_revision_exists(id) == NULL &&
			migr_catalog_label_owner(id) == NULL)
			return id;
	}
}

static bool
lists_equal(List *a, List *b)
{
	ListCell   *la;
	ListCell   *lb;

	if (list_length(a) != list_length(b))
		return false;
	forboth(la, a, lb, b)
		if (strcmp((char *) lfirst(la), (char *) lfirst(lb)) != 0)
		return false;
	return true;
}

static bool
list_has(List *list, const char *s)
{
	ListCell   *lc;

	foreach(lc, list)
	{
		if (strcmp((char *) lfirst(lc), s) == 0)
			return true;
	}
	return false;
}

static int
compare_strings(const ListCell *a, const ListCell *b)
{
	return strcmp((char *) lfirst(a), (char *) lfirst(b));
}

/*
 * The non-NULL strings of a one-dimensional text[] argument; "what" names
 * it in errors.
 */
static List *
array_argument(ArrayType *array, const char *what)
{
	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", what)));
	if (array_contains_nulls(array))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not contain NULL", what)));
	return migr_text_array_to_list(PointerGetDatum(array));
}

/*
 * The full id that an entry of down_revision or depends_on names.  Ids and
 * prefixes are looked up in the catalog; branch labels and targets such as
 * "billing@head" need the graph, which is then loaded once.
 */
static char *
resolve_reference(const char *name, const char *self, List *stored,
				  MigrGraph **graph, const char *what)
{
	const char *id;

	if (strcmp(name, self) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_RECURSION),
				 errmsg("revision \"%s\" cannot name itself in %s", self, what)));

	if (strpbrk(name, "@+-") == NULL && strcmp(name, "head") != 0 &&
		migr_catalog_label_owner(name) == NULL)
		id = migr_resolve_revision_id(name);
	else
	{
		List	   *found;
		char	   *target = migr_catalog_label_owner(name) != NULL
		? psprintf("%s@head", name) : pstrdup(name);

		if (*graph == NULL)
			*graph = migr_graph_load();

		/*
		 * Registering the same revision again: a label names the branch, and
		 * the revision stored for it still counts while it is on that branch,
		 * even if the branch has grown since.
		 */
		if (stored != NIL)
		{
			char	   *branch = pnstrdup(name, strcspn(name, "@"));
			int			label = migr_graph_find_label(*graph, branch);
			ListCell   *lc;

			if (label >= 0)
			{
				Bitmapset  *lineage = migr_graph_lineage_up(*graph, list_make1_int(label));

				foreach(lc, stored)
				{
					if (bms_is_member(migr_graph_find(*graph, lfirst(lc)), lineage))
						return lfirst(lc);
				}
			}
		}
		found = migr_resolve_revisions(*graph, target);
		if (list_length(found) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_AMBIGUOUS_PARAMETER),
					 errmsg("%s entry \"%s\" names %d revisions", what, name,
							list_length(found)),
					 errdetail("It names %s.", migr_graph_id_list(*graph, found)),
					 errhint("Name one revision per entry.")));
		id = (*graph)->nodes[linitial_int(found)].id;
	}

	if (strcmp(id, self) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_RECURSION),
				 errmsg("revision \"%s\" cannot name itself in %s", self, what)));
	return (char *) id;
}

/* Resolve every entry of down_revision or depends_on; no duplicates. */
static List *
resolve_references(List *names, const char *self, List *stored,
				   MigrGraph **graph, const char *what)
{
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, names)
	{
		char	   *id = resolve_reference(lfirst(lc), self, stored, graph, what);

		if (list_has(result, id))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s names revision \"%s\" twice", what, id)));
		result = lappend(result, id);
	}
	return result;
}

/*
 * The graph's single head as left by the last registration of this
 * (sub)transaction, when that registration chained onto the single head
 * before it.  Registering thousands of revisions in one transaction would
 * otherwise look for the head through all the row versions the earlier
 * registrations left in the partial index.  Any other registration forgets
 * it; it is checked against the catalog before use.
 */
static struct
{
	LocalTransactionId lxid;
	SubTransactionId subxid;
	char		id[MIGR_MAX_ID_LEN + 1];
}			known_head;

static void
remember_head(const char *id)
{
	known_head.lxid = id ? MyProc->lxid : InvalidLocalTransactionId;
	known_head.subxid = GetCurrentSubTransactionId();
	if (id)
		strlcpy(known_head.id, id, sizeof(known_head.id));
}

/*
 * The parents of a new revision registered without down_revision: the
 * graph's single head, or none for the first revision.
 */
static List *
default_parents(void)
{
	List	   *applied;
	List	   *heads;

	if (known_head.lxid == MyProc->lxid &&
		known_head.subxid == GetCurrentSubTransactionId() &&
		migr_catalog_is_head(known_head.id))
		return list_make1(pstrdup(known_head.id));

	heads = migr_catalog_graph_heads(true, &applied);

	if (list_length(heads) > 1)
	{
		StringInfoData buf;
		ListCell   *lc;

		initStringInfo(&buf);
		foreach(lc, heads)
			appendStringInfo(&buf, "%s\"%s\"", buf.len ? ", " : "", (char *) lfirst(lc));
		ereport(ERROR,
				(errcode(ERRCODE_AMBIGUOUS_PARAMETER),
				 errmsg("cannot choose a parent: the revision graph has %d heads",
						list_length(heads)),
				 errdetail("The heads are %s.", buf.data),
				 errhint("Pass down_revision explicitly, for example down_revision => '{%s}', or join the heads with migr_merge().",
						 (char *) linitial(heads))));
	}
	return heads;
}

/*
 * The parents a new revision "self" would get: "names" resolved as
 * registration resolves down_revision, or, when not given, the graph's
 * single head.  For migr_template(); inside an owner scope.
 */
List *
migr_new_revision_parents(List *names, bool given, const char *self)
{
	MigrGraph  *graph = NULL;

	if (!given)
		return default_parents();
	return resolve_references(names, self, NIL, &graph, "down_revision");
}

/*
 * Check the branch labels of "row": valid names, none a revision id, none
 * carried by another revision, none twice.  Sorts them.
 */
static void
check_labels(MigrRevisionRow *row)
{
	ListCell   *lc;

	row->labels = list_copy(row->labels);
	list_sort(row->labels, compare_strings);
	foreach(lc, row->labels)
	{
		const char *label = lfirst(lc);
		char	   *owner;

		migr_check_revision_id(label, true);
		if (foreach_current_index(lc) > 0 &&
			strcmp(label, (char *) list_nth(row->labels, foreach_current_index(lc) - 1)) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("branch label \"%s\" is given twice", label)));
		if (migr_catalog_revision_exists(label) != NULL || strcmp(label, row->id) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("branch label \"%s\" is the id of a revision", label),
					 errhint("Choose a label that no revision uses as its id.")));
		owner = migr_catalog_label_owner(label);
		if (owner != NULL && strcmp(owner, row->id) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("branch label \"%s\" already belongs to revision \"%s\"",
							label, owner),
					 errhint("Each branch label names one lineage; choose another label.")));
	}
}

/*
 * Refuse new parents or dependencies that would put "id" below one of its
 * own descendants or dependents.
 */
static void
check_no_cycle(const MigrRevisionRow *row, MigrGraph *graph)
{
	int			self = migr_graph_find(graph, row->id);
	Bitmapset  *above = migr_graph_descendants(graph, list_make1_int(self));
	List	   *refs = list_concat_copy(row->parents, row->depends_on);
	ListCell   *lc;

	foreach(lc, refs)
	{
		int			p = migr_graph_find(graph, (char *) lfirst(lc));

		if (bms_is_member(p, above))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_RECURSION),
					 errmsg("revision \"%s\" cannot come after revision \"%s\": that would make a cycle",
							row->id, (char *) lfirst(lc)),
					 errdetail("Revision \"%s\" already comes after revision \"%s\", through its parents or dependencies.",
							   (char *) lfirst(lc), row->id)));
	}
}

/*
 * A revision that ran somewhere may only be edited in place before launch
 * and outside production, the way a team edits its initial migration before
 * it has users; and never its parents or dependencies while it is applied.
 * Editing scripts that this database ran warns that it still has the old
 * version.
 */
static void
check_edit_of_applied(const MigrRevisionRow *row,
					  const MigrRevisionRow *existing, bool edges_changed,
					  bool from_file)
{
	bool		applied = migr_catalog_is_applied(row->id);

	if (migr_environment == MIGR_ENV_PRODUCTION || migr_catalog_launched())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("revision \"%s\" has already been applied and cannot be changed",
						row->id),
				 errdetail(migr_environment == MIGR_ENV_PRODUCTION
						   ? "In production, applied migrations are append-only."
						   : "After launch, applied migrations are append-only."),
				 from_file
				 ? errhint("Restore the file as it was applied, and make the further change in a new file (bin/migr-new writes one).")
				 : errhint("Register a new revision that makes the further change.")));
	if (applied && edges_changed)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot change the parents or dependencies of applied revision \"%s\"",
						row->id),
				 from_file
				 ? errhint("Restore the \"-- migr:down_revision\" and \"-- migr:depends_on\" lines of the file, or downgrade below the revision first and load the file again.")
				 : errhint("Downgrade below it first, then register it again.")));
	if (applied && strcmp(existing->checksum, row->checksum) != 0)
		ereport(WARNING,
				(errmsg("revision \"%s\" is applied with its earlier scripts", row->id),
				 errdetail("This database ran the version registered before; the new version does not run by itself."),
				 errhint("Run SELECT * FROM migr_redo('%s'); to apply the new version.",
						 row->id)));
}

/*
 * Check the upgrade script's destructive statements against the caller's
 * declaration ("destructive" argument: NULL, true or false), and warn when a
 * revision mixes destructive with additive changes ("warn": only for a new
 * or changed script, not each time the same file is loaded again).
 */
static void
check_destructive(MigrRevisionRow *row, List *statements, bool declared_null,
				  bool declared, bool warn, bool from_file)
{
	StringInfoData list;
	ListCell   *lc;

	migr_classify_script(statements, row);
	row->destructive = !declared_null && declared;
	if (row->destructive_statements == NIL)
		return;

	initStringInfo(&list);
	foreach(lc, row->destructive_statements)
		appendStringInfo(&list, "\n  %s", (char *) lfirst(lc));

	if (!declared_null && !declared)
		ereport(ERROR,
				(errcode(ERRCODE_MIGR_DESTRUCTIVE),
				 errmsg("revision \"%s\" is declared additive but has destructive statements",
						row->id),
				 errdetail("Destructive statements:%s", list.data),
				 from_file
				 ? errhint("Move them to a file of their own, or acknowledge them with the header line \"-- migr:destructive true\" instead of \"-- migr:destructive false\".")
				 : errhint("Move them to a revision of their own, or register it with destructive => true.")));
	if (warn && strcmp(row->changes, "mixed") == 0)
		ereport(WARNING,
				(errmsg("revision \"%s\" mixes destructive and additive changes", row->id),
				 errdetail("Destructive statements:%s", list.data),
				 from_file
				 ? errhint("Move the destructive statements to a file of their own (bin/migr-new writes one) for a later deploy, after the code that used what they remove is gone.")
				 : errhint("Ship destructive changes in a deploy of their own, after the code that used what they remove is gone.")));
}

/*
 * Decide whether the revision runs inside a transaction: not when a script
 * has a statement that cannot (CREATE INDEX CONCURRENTLY, VACUUM ...), or
 * when the caller says so with transactional => false.  Saying true for
 * such a script is refused.
 */
static void
check_transactional(MigrRevisionRow *row, List *statements,
					const char *search_path, bool declared_null, bool declared,
					bool from_file)
{
	ListCell   *lc;
	const MigrStatement *outside = NULL;

	foreach(lc, statements)
	{
		MigrStatementInfo info;

		CHECK_FOR_INTERRUPTS();
		migr_analyze_statement(((MigrStatement *) lfirst(lc))->parsetree,
							   search_path, &info);
		if (!info.transactional && outside == NULL)
			outside = lfirst(lc);
	}
	if (outside != NULL && !declared_null && declared)
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("revision \"%s\" is declared transactional but has a statement that cannot run in a transaction",
						row->id),
				 errdetail("Statement %d is \"%s\".", outside->number, outside->text),
				 from_file
				 ? errhint("Remove the header line \"-- migr:transactional true\": migr then applies the revision with migr_script().")
				 : errhint("Leave transactional NULL: migr then applies the revision with migr_script().")));
	row->transactional = outside == NULL && (declared_null || declared);
}

/* Show the lint findings of a new or changed upgrade script as warnings. */
static void
warn_lint_findings(const char *id, List *statements, const char *search_path)
{
	ListCell   *lc;

	foreach(lc, migr_lint_statements(statements, search_path))
	{
		MigrFinding *f = lfirst(lc);

		ereport(WARNING,
				(errmsg_internal("%s", f->message),
				 errdetail("Found by lint rule \"%s\".", f->rule),
				 errhint("%s", f->safer),
				 errcontext("upgrade script of revision \"%s\", statement %d, line %d",
							id, f->statement, f->line)));
	}
}

/*
 * Does registering "existing" again, unchanged, make the caller its
 * registrant?  Only when its registrant is unknown (dropped, renamed, or
 * not in a 0.1 log) and it was never applied: its scripts then run as the
 * caller's role at most.  An applied revision's scripts stay as they are
 * (the append-only rule), so loading its file again changes nothing.
 */
static bool
claims_unknown_registrant(const MigrRevisionRow *existing)
{
	return !OidIsValid(existing->registrant) &&
		!migr_catalog_was_ever_applied(existing->id);
}

/*
 * Store "row" (new, identical, or changed before it was ever applied).
 * "existing" is the stored revision with this id, or NULL.  Says which of
 * the three it was.
 */
static MigrRegisterResult
store_revision(MigrRevisionRow *row, MigrRevisionRow *existing,
			   MigrGraph *graph, const MigrCaller *caller, bool from_file)
{
	MigrEventRecord event = {0};
	bool		edges_changed;

	check_labels(row);

	if (existing != NULL &&
		strcmp(existing->checksum, row->checksum) == 0 &&
		strcmp(existing->message, row->message) == 0 &&
		lists_equal(existing->parents, row->parents) &&
		lists_equal(existing->depends_on, row->depends_on) &&
		lists_equal(existing->labels, row->labels) &&
		existing->destructive == row->destructive &&
		existing->transactional == row->transactional &&
		!claims_unknown_registrant(existing))
		return MIGR_REGISTER_UNCHANGED; /* identical: nothing to do */

	migr_require_confirmation(MIGR_CONFIRM_REGISTER);
	migr_catalog_bump_generation();
	event.operation = "register";
	event.revision = row->id;
	event.checksum = row->checksum;

	if (existing == NULL)
	{
		if (migr_catalog_label_owner(row->id) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("revision id \"%s\" is already a branch label", row->id),
					 errhint("Choose an id that no branch label uses.")));
		migr_catalog_insert_revision(row, caller);
		migr_catalog_record_event(&event, caller);
		return MIGR_REGISTER_NEW;
	}

	migr_check_change_allowed(caller->current_user_id, existing->registrant,
							  row->id, false);
	edges_changed = !lists_equal(existing->parents, row->parents) ||
		!lists_equal(existing->depends_on, row->depends_on);
	if (migr_catalog_was_ever_applied(row->id))
		check_edit_of_applied(row, existing, edges_changed, from_file);

	if (edges_changed)
		check_no_cycle(row, graph ? graph : migr_graph_load());
	migr_catalog_update_revision(row, existing->parents, caller);
	migr_catalog_record_event(&event, caller);
	return MIGR_REGISTER_CHANGED;
}

/*
 * Does "reg" (with the id and checksum of "row") describe exactly what is
 * registered as "existing"?  Then registering it would change nothing, and
 * its scripts, parsed and checked when they were registered, need not be
 * parsed again.  Lists given by other names than the stored full ids
 * (prefixes, labels) answer false: the full path resolves them.
 */
static bool
same_as_registered(const MigrRegistration *reg, const MigrRevisionRow *row,
				   const MigrRevisionRow *existing)
{
	if (strcmp(existing->checksum, row->checksum) != 0 ||
		strcmp(existing->message, row->message) != 0)
		return false;
	if (claims_unknown_registrant(existing))
		return false;
	if (reg->down_revision_given &&
		!lists_equal(reg->down_revision, existing->parents))
		return false;
	if (reg->depends_on_given &&
		!lists_equal(reg->depends_on, existing->depends_on))
		return false;
	if (reg->branch_labels_given)
	{
		List	   *labels = list_copy(reg->branch_labels);

		list_sort(labels, compare_strings);
		if (!lists_equal(labels, existing->labels))
			return false;
	}
	if (reg->destructive_given && reg->destructive != existing->destructive)
		return false;
	if (reg->transactional_given &&
		reg->transactional != existing->transactional)
		return false;
	return true;
}

/*
 * Register the revision "reg" describes: the one path behind
 * migr_revision() and migr_load().  Connects to SPI, switches to the
 * extension owner and takes the migr lock itself.  Returns the id; *result
 * (if not NULL) says whether it was new, changed or identical.
 */
char *
migr_register(const MigrRegistration *reg, MigrRegisterResult *result)
{
	MigrRevisionRow row = {0};
	MigrRevisionRow *existing;
	MigrCaller	caller;
	MigrOwnerScope scope;
	MigrGraph  *graph = NULL;
	List	   *statements;
	List	   *down_statements = NIL;
	MigrRegisterResult outcome;

	row.message = pstrdup(reg->message);
	row.upgrade = pstrdup(reg->upgrade);
	row.downgrade = reg->downgrade ? pstrdup(reg->downgrade) : NULL;
	if (reg->id != NULL)
	{
		row.id = pstrdup(reg->id);
		migr_check_revision_id(row.id, false);
	}

	migr_capture_caller(&caller);
	migr_catalog_open(&scope);
	migr_lock_acquire("register");

	if (row.id == NULL)
		row.id = migr_generate_revision_id();
	row.checksum = migr_checksum(row.upgrade, row.downgrade);
	existing = migr_catalog_fetch_revision(row.id);

	/* The same revision again (a file loaded on every deploy): nothing. */
	if (existing != NULL && same_as_registered(reg, &row, existing))
	{
		/* A renamed file, or one whose header grew, moves its scripts. */
		if (reg->filename != NULL &&
			(existing->filename == NULL ||
			 strcmp(existing->filename, reg->filename) != 0 ||
			 existing->upgrade_line != reg->upgrade_line ||
			 existing->downgrade_line != reg->downgrade_line))
			migr_catalog_set_source(row.id, reg->filename, reg->upgrade_line,
									reg->downgrade_line);
		remember_head(NULL);
		migr_owner_end(&scope);
		SPI_finish();
		if (result != NULL)
			*result = MIGR_REGISTER_UNCHANGED;
		return row.id;
	}

	/*
	 * Scripts: must parse, no psql meta-commands, no transaction control.
	 * Only a merge (two or more parents named) may have an empty upgrade, as
	 * migr_merge() makes them.
	 */
	statements = migr_parse_script(row.upgrade, row.id, "upgrade");
	if (statements == NIL &&
		(!reg->down_revision_given || list_length(reg->down_revision) < 2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("upgrade script of revision \"%s\" contains no statement", row.id),
				 reg->from_file
				 ? errhint("Write the statements under \"-- migr:upgrade\"; a file that only joins branches names two or more parents in \"-- migr:down_revision\" (bin/migr-new --merge writes one).")
				 : errhint("A migration must change something; a revision that only joins branches is made with migr_merge().")));
	if (row.downgrade != NULL)
		down_statements = migr_parse_script(row.downgrade, row.id, "downgrade");
	/* Warnings only for new or changed scripts, as lint findings below. */
	check_destructive(&row, statements, !reg->destructive_given,
					  reg->destructive_given && reg->destructive,
					  existing == NULL || strcmp(existing->checksum, row.checksum) != 0,
					  reg->from_file);
	check_transactional(&row, list_concat_copy(statements, down_statements),
						caller.search_path,
						!reg->transactional_given,
						reg->transactional_given && reg->transactional,
						reg->from_file);

	if (existing == NULL || strcmp(existing->checksum, row.checksum) != 0)
		warn_lint_findings(row.id, statements, caller.search_path);

	/* Parents, dependencies and labels: not given keeps what is registered. */
	if (reg->down_revision_given)
		row.parents = resolve_references(reg->down_revision, row.id,
										 existing ? existing->parents : NIL,
										 &graph, "down_revision");
	else if (existing != NULL)
		row.parents = existing->parents;
	else
		row.parents = default_parents();

	if (reg->depends_on_given)
		row.depends_on = resolve_references(reg->depends_on, row.id,
											existing ? existing->depends_on : NIL,
											&graph, "depends_on");
	else if (existing != NULL)
		row.depends_on = existing->depends_on;

	if (reg->branch_labels_given)
		row.labels = reg->branch_labels;
	else if (existing != NULL)
		row.labels = existing->labels;

	if (!reg->destructive_given && existing != NULL)
		row.destructive = existing->destructive;
	if (!reg->transactional_given && existing != NULL && !existing->transactional)
		row.transactional = false;

	outcome = store_revision(&row, existing, graph, &caller, reg->from_file);

	/*
	 * Where its scripts are, for error contexts: a file says where on every
	 * load (renamed or with a longer header, an unchanged file moves them);
	 * scripts registered by SQL are in no file any more.
	 */
	if (reg->filename != NULL || outcome == MIGR_REGISTER_CHANGED)
		migr_catalog_set_source(row.id, reg->filename, reg->upgrade_line,
								reg->downgrade_line);
	remember_head(existing == NULL && !reg->down_revision_given ? row.id : NULL);

	migr_owner_end(&scope);
	SPI_finish();
	if (result != NULL)
		*result = outcome;
	return row.id;
}

/*
 * migr_revision(message, upgrade, downgrade, revision, down_revision,
 *				 branch_labels, depends_on, destructive)
 */
Datum
migr_revision(PG_FUNCTION_ARGS)
{
	MigrRegistration reg = {0};

	migr_check_can_change(fcinfo);
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("message must not be NULL"),
				 errhint("Describe the change in a few words, as in a commit message.")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("upgrade script must not be NULL")));

	reg.message = text_to_cstring(PG_GETARG_TEXT_PP(0));
	reg.upgrade = text_to_cstring(PG_GETARG_TEXT_PP(1));
	reg.downgrade = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	reg.id = PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3));
	if (!PG_ARGISNULL(4))
	{
		reg.down_revision_given = true;
		reg.down_revision = array_argument(PG_GETARG_ARRAYTYPE_P(4), "down_revision");
	}
	if (!PG_ARGISNULL(5))
	{
		reg.branch_labels_given = true;
		reg.branch_labels = array_argument(PG_GETARG_ARRAYTYPE_P(5), "branch_labels");
	}
	if (!PG_ARGISNULL(6))
	{
		reg.depends_on_given = true;
		reg.depends_on = array_argument(PG_GETARG_ARRAYTYPE_P(6), "depends_on");
	}
	if (!PG_ARGISNULL(7))
	{
		reg.destructive_given = true;
		reg.destructive = PG_GETARG_BOOL(7);
	}
	if (!PG_ARGISNULL(8))
	{
		reg.transactional_given = true;
		reg.transactional = PG_GETARG_BOOL(8);
	}

	PG_RETURN_TEXT_P(cstring_to_text(migr_register(&reg, NULL)));
}

/* Registration order: the order a merge lists its parents in. */
static int
compare_positions(const ListCell *a, const ListCell *b)
{
	return lfirst_int(a) - lfirst_int(b);
}

/*
 * migr_merge(revisions, message, revision): a revision without scripts
 * whose parents are the given revisions (by default every head), joining
 * their branches into one.
 */
Datum
migr_merge(PG_FUNCTION_ARGS)
{
	MigrRevisionRow row = {0};
	MigrCaller	caller;
	MigrOwnerScope scope;
	MigrGraph  *graph;
	List	   *parents = NIL;
	Bitmapset  *below = NULL;
	ListCell   *lc;

	migr_check_can_change(fcinfo);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("revisions and message must not be NULL")));
	row.message = text_to_cstring(PG_GETARG_TEXT_PP(1));
	row.upgrade = "";
	row.downgrade = "";
	row.checksum = migr_checksum(row.upgrade, row.downgrade);
	row.changes = "additive";
	row.transactional = true;
	if (!PG_ARGISNULL(2))
	{
		row.id = text_to_cstring(PG_GETARG_TEXT_PP(2));
		migr_check_revision_id(row.id, false);
	}

	migr_capture_caller(&caller);
	migr_catalog_open(&scope);
	migr_lock_acquire("merge");
	if (row.id == NULL)
		row.id = migr_generate_revision_id();

	graph = migr_graph_load();
	/* "heads" here means the heads nothing depends on: the others come along. */
	foreach(lc, array_argument(PG_GETARG_ARRAYTYPE_P(0), "revisions"))
		parents = list_concat_unique_int(parents,
										 strcmp(lfirst(lc), "heads") == 0
										 ? migr_graph_effective_heads(graph)
										 : migr_resolve_revisions(graph, lfirst(lc)));
	list_sort(parents, compare_positions);

	if (list_length(parents) < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a merge needs at least two revisions to join"),
				 parents == NIL ? 0
				 : errdetail("The arguments name only %s.",
							 migr_graph_id_list(graph, parents))));

	/* A parent that another parent already includes joins nothing. */
	foreach(lc, parents)
	{
		Bitmapset  *anc = migr_graph_ancestors(graph, list_make1_int(lfirst_int(lc)));

		anc = bms_del_member(anc, lfirst_int(lc));
		below = bms_add_members(below, anc);
	}
	foreach(lc, parents)
	{
		if (bms_is_member(lfirst_int(lc), below))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("revision \"%s\" is already below another revision of the merge",
							graph->nodes[lfirst_int(lc)].id),
					 errhint("Merge only revisions on different branches, such as the heads.")));
	}

	foreach(lc, parents)
		row.parents = lappend(row.parents, graph->nodes[lfirst_int(lc)].id);

	(void) store_revision(&row, migr_catalog_fetch_revision(row.id), graph, &caller, false);
	remember_head(NULL);

	migr_owner_end(&scope);
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(row.id));
}
