# test/t/008_extension_update.pl
#
# ALTER EXTENSION migr UPDATE from 0.1 (installed from sql/migr--0.1.sql, as
# a released database has it) keeps every row of a populated history:
# branches, labels, depends_on, applied and version rows, the log, the launch
# state and checksums.  Afterwards the database behaves as a fresh 0.2 one:
# the same functions, the applied head is a no-op, downgrades and upgrades
# run.  Each section of sql/migr--0.1--0.2.sql adds its own checks below.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('extension_update');
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE old');
$node->safe_psql('postgres', 'CREATE DATABASE fresh');

# ---------------------------------------------------------------------------
# A populated 0.1 database: two branches with labels, a dependency, a merge,
# a downgrade and re-upgrade in the log, a launch, and one pending revision.
# ---------------------------------------------------------------------------
my $populate = q{
SELECT migr_revision('base tables', 'CREATE TABLE t_a (i int);', 'DROP TABLE t_a;', 'a1', '{}');
SELECT migr_revision('billing', 'CREATE TABLE t_b (i int);', 'DROP TABLE t_b;', 'b1', '{a1}', '{billing}');
SELECT migr_revision('accounts', 'CREATE TABLE t_c (i int);', 'DROP TABLE t_c;', 'c1', '{a1}', '{accounts}');
SELECT migr_merge('{b1,c1}', 'merge billing and accounts', 'm1');
SELECT migr_revision('pending', 'CREATE TABLE t_d (i int);', 'DROP TABLE t_d;', 'd1', '{m1}', NULL, '{b1}');
SELECT count(*) FROM migr_upgrade('m1');
SELECT count(*) FROM migr_downgrade('-1');
SELECT count(*) FROM migr_upgrade('m1');
SELECT migr_launch();
};

$node->safe_psql('old', q{CREATE EXTENSION migr VERSION '0.1'});
is($node->safe_psql('old', q{SELECT extversion FROM pg_extension WHERE extname = 'migr'}),
	'0.1', '0.1 installed from sql/migr--0.1.sql');
$node->safe_psql('old', $populate);

# offline: two unfinished script steps as 0.1 left them.  c1's was overtaken
# by later recorded steps of c1 (0.1 kept such an entry after the documented
# fix, a stamp); d1's was not.
$node->safe_psql('old', q{
INSERT INTO migr.in_progress VALUES
  ('c1', 'up', 'head', '2000-01-01 00:00+00', 'postgres'),
  ('d1', 'up', 'head', now(), 'postgres')});

# Every 0.1 column of every 0.1 table, in key order, and the sequences.
my $digest_sql = q{
SELECT concat_ws(E'\n',
  (SELECT string_agg(concat_ws(',', id, down_revision, depends_on, message, upgrade,
                               downgrade, checksum, seq, is_head, changes,
                               destructive_statements, destructive, transactional),
                     '|' ORDER BY seq) FROM migr.revisions),
  (SELECT string_agg(t::text, '|' ORDER BY t.label) FROM migr.branch_labels t),
  (SELECT string_agg(concat_ws(',', revision, checksum, applied_at, applied_by, stamped, downgrade),
                     '|' ORDER BY revision) FROM migr.applied),
  (SELECT string_agg(t::text, '|' ORDER BY t.revision) FROM migr.version t),
  (SELECT string_agg((to_jsonb(t) - 'error_line')::text, '|' ORDER BY t.id) FROM migr.log t),
  (SELECT string_agg(t::text, '|') FROM migr.launch t),
  (SELECT last_value || '/' || is_called FROM migr.revision_seq),
  (SELECT last_value || '/' || is_called FROM migr.run_seq),
  (SELECT last_value || '/' || is_called FROM migr.log_seq))};
my $before = $node->safe_psql('old', $digest_sql);
like($before, qr/billing/, 'the 0.1 history is populated');

# Citus: what the reading functions written in SQL answer under 0.1.
my $readers_sql = q{
SELECT concat_ws(E'\n',
  (SELECT string_agg(c, ',') FROM migr_current() c),
  (SELECT string_agg(concat_ws(' ', revision, branch_labels, depended_on_by), '|') FROM migr_heads()),
  (SELECT string_agg(concat_ws(' ', revision, children), '|') FROM migr_branches()))};
my $readers_before = $node->safe_psql('old', $readers_sql);
like($readers_before, qr/^m1\nd1 \{\} \{\}\na1 \{b1,c1\}$/, 'Citus: the 0.1 readers answer');

$node->safe_psql('old', q{ALTER EXTENSION migr UPDATE});
is($node->safe_psql('old', q{SELECT extversion FROM pg_extension WHERE extname = 'migr'}),
	'0.2', 'updated to 0.2');
is($node->safe_psql('old', $digest_sql), $before, 'no row of the 0.1 catalog changed or was lost');

# ---------------------------------------------------------------------------
# The updated database has exactly the objects of a fresh 0.2 install.
# ---------------------------------------------------------------------------
$node->safe_psql('fresh', q{CREATE EXTENSION migr});
my $objects_sql = q{
SELECT string_agg(pg_describe_object(classid, objid, objsubid), E'\n'
                  ORDER BY pg_describe_object(classid, objid, objsubid))
FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'migr')};
is($node->safe_psql('old', $objects_sql), $node->safe_psql('fresh', $objects_sql),
	'updated and fresh 0.2 have the same member objects');

my $signatures_sql = q{
SELECT string_agg(p.oid::regprocedure::text || ' ' || pg_get_function_result(p.oid)
                  || ' ' || p.prosecdef || ' ' || coalesce(array_to_string(p.proconfig, ','), '')
                  || ' ' || coalesce(array_to_string(p.proacl, ','), ''),
                  E'\n' ORDER BY p.oid::regprocedure::text)
FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'migr')};
is($node->safe_psql('old', $signatures_sql), $node->safe_psql('fresh', $signatures_sql),
	'functions: same signatures, results, security, settings and privileges');

my $columns_sql = q{
SELECT string_agg(c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                  || ' ' || a.attnotnull || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), ''),
                  E'\n' ORDER BY c.relname, a.attnum)
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.relnamespace = 'migr'::regnamespace AND c.relkind = 'r'};
is($node->safe_psql('old', $columns_sql), $node->safe_psql('fresh', $columns_sql),
	'tables: same columns, types, NOT NULL and defaults');

# Each C function is named like its SQL function (migr.x as migr_x; the two
# migr_load overloads as migr_load_file and migr_load_files), updated or fresh.
my $c_names_sql = q{
SELECT coalesce(string_agg(p.oid::regprocedure::text || ' -> ' || p.prosrc, ', '
                           ORDER BY p.oid::regprocedure::text), 'all named alike')
FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'migr')
  AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')
  AND p.prosrc NOT IN (p.proname::text, 'migr_' || p.proname)
  AND NOT (p.proname = 'migr_load' AND p.prosrc IN ('migr_load_file', 'migr_load_files'))};
is($node->safe_psql('old', $c_names_sql), 'all named alike',
	'updated: every C function is named like its SQL function');
is($node->safe_psql('fresh', $c_names_sql), 'all named alike',
	'fresh: every C function is named like its SQL function');

# Every reading function answers on the updated database as on a fresh 0.2
# one with the same history (times, which differ, left out).
$node->safe_psql('fresh', $populate);
my %readers = (
	'migr_current'        => q{SELECT string_agg(c, ',') FROM migr_current() c},
	'migr_heads'          => q{SELECT string_agg(h::text, '|') FROM migr_heads() h},
	'migr_branches'       => q{SELECT string_agg(b::text, '|') FROM migr_branches() b},
	'migr_history'        => q{SELECT string_agg(concat_ws(' ', revision, down_revision, depends_on,
                                      branch_labels, message, is_current, is_head), '|')
                                 FROM migr_history()},
	'migr_history(range)' => q{SELECT string_agg(revision, ',') FROM migr_history('a1:m1')},
	'migr_show'           => q{SELECT to_jsonb(migr_show('m1')) - 'created_at' - 'applied_at' - 'created_by'},
	'migr_plan'           => q{SELECT string_agg(p::text, '|') FROM migr_plan('head') p},
	'migr_plan down'      => q{SELECT string_agg(p::text, '|') FROM migr_plan('a1', 'downgrade') p},
	'migr_lint'           => q{SELECT string_agg(l::text, '|') FROM migr_lint() l},
	'migr_export'         => q{SELECT string_agg(e::text, '|') FROM migr_export() e},
	'migr_check_head'     => q{SELECT migr_check_head('m1')},
	'migr_rollback_check' => q{SELECT string_agg(r::text, '|') FROM migr_rollback_check('b1') r},
	'migr_validate'       => q{SELECT count(*) FROM migr_validate()},
	'migr_graph'          => q{SELECT migr_graph('dot') || migr_graph('mermaid')},
	'migr_script'         => q{SELECT regexp_replace(migr_script('head'), 'generated [^\n]*', '')},
	# drift differs: the updated database recorded no schema under 0.1 (below)
	'migr_status'         => q{SELECT s - 'launched' - 'last_operation' - 'in_progress' - 'drift' FROM migr_status() s},
	'migr_upgrade dry run' => q{SELECT string_agg(concat_ws(' ', step, revision, direction, locks, rewritten, error), '|')
                                  FROM migr_upgrade('head', dry_run => true)},);
foreach my $f (sort keys %readers)
{
	is($node->safe_psql('old', $readers{$f}), $node->safe_psql('fresh', $readers{$f}),
		"updated: $f answers as on a fresh 0.2 database");
}

# offline: the overtaken entry is gone, the other one stays and is reported.
is($node->safe_psql('old', q{SELECT string_agg(revision, ',') FROM migr.in_progress}), 'd1',
	'offline: the update ends the unfinished step a later step of its revision overtook');
is($node->safe_psql('old',
		q{SELECT concat_ws(' ', s->'in_progress'->0->>'revision', s->'in_progress'->0->>'running') FROM migr_status() s}),
	'd1 false', 'offline: migr_status reports the other one as unfinished, not running');

# ---------------------------------------------------------------------------
# And it works as a fresh one: head-of-m1 is current, the pending revision
# applies, a downgrade runs its script, the launch stays.
# ---------------------------------------------------------------------------
is($node->safe_psql('old', q{SELECT string_agg(c, ',' ORDER BY c) FROM migr_current() c}),
	'm1', 'updated: current is m1');
is($node->safe_psql('old', q{SELECT string_agg(revision, ',' ORDER BY step) FROM migr_upgrade('head')}),
	'd1', 'updated: the pending revision applies');
is($node->safe_psql('old', q{SELECT to_regclass('t_d') IS NOT NULL}), 't', 'updated: its table exists');
is($node->safe_psql('old', q{SELECT count(*) FROM migr.in_progress}), '0',
	'offline: applying d1 ended its unfinished step');
is($node->safe_psql('old', q{SELECT count(*) FROM migr_upgrade('head')}), '0',
	'updated: upgrade at head is a no-op');
is($node->safe_psql('old', q{SELECT string_agg(revision, ',' ORDER BY step) FROM migr_downgrade('-1')}),
	'd1', 'updated: a downgrade runs');
is($node->safe_psql('old', q{SELECT to_regclass('t_d') IS NULL}), 't', 'updated: its table is gone');
is($node->safe_psql('old', q{SELECT count(*) FROM migr.launch}), '1', 'updated: still launched');
is($node->safe_psql('old', q{SELECT count(*) FROM migr_validate()}), '0',
	'updated: checksums validate');

# ---------------------------------------------------------------------------
# Replicas and dumps (section "Replicas and dumps"): the updated database has
# the trigger on migr.log of a fresh one, and a dump of it restored into a
# production database keeps every log row.
# ---------------------------------------------------------------------------
my $triggers_sql = q{
SELECT string_agg(pg_get_triggerdef(oid), E'\n' ORDER BY tgname) FROM pg_trigger
WHERE NOT tgisinternal
  AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'migr'::regnamespace)};
like($node->safe_psql('old', $triggers_sql), qr/CREATE TRIGGER log_make_room BEFORE INSERT ON migr\.log/,
	'updated: migr.log has the trigger log_make_room');
is($node->safe_psql('old', $triggers_sql), $node->safe_psql('fresh', $triggers_sql),
	'updated: the same triggers as a fresh 0.2 database');
my $updated_log = $node->safe_psql('old', q{SELECT string_agg(t::text, '|' ORDER BY id) FROM migr.log t});
my $dumpdir = PostgreSQL::Test::Utils::tempdir;
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('old'), '-f', "$dumpdir/old.dump" ],
	'updated: pg_dump');
$node->safe_psql('postgres', q{CREATE DATABASE old_restored;
ALTER DATABASE old_restored SET migr.environment = 'production';});
{
	local $ENV{PGOPTIONS} = '-c migr.allow_adhoc_ddl=on';
	$node->command_ok([ 'pg_restore', '-d', $node->connstr('old_restored'), "$dumpdir/old.dump" ],
		'updated: pg_restore into production exits with status 0');
}
is($node->safe_psql('old_restored',
		q{SELECT string_agg(t::text, '|' ORDER BY id) FROM migr.log t WHERE id > 0 AND operation <> 'adhoc_ddl'}),
	$updated_log, 'updated: the restored log has every row, with its id');

# ---------------------------------------------------------------------------
# migr_graph (sql/migr--0.1--0.2.sql, section "migr_graph"): the updated
# database draws its 0.1 history, open to everyone like migr_history.
# ---------------------------------------------------------------------------
is($node->safe_psql('old', q{SELECT has_function_privilege('public', 'migr_graph(text)', 'EXECUTE')}),
	't', 'updated: migr_graph is open to everyone');
my $dot = $node->safe_psql('old', q{SELECT migr_graph()});
is(scalar(() = $dot =~ /^\t"\w+" \[label=/mg), 5, 'updated: migr_graph draws the five revisions');
like($dot, qr/^\t"m1" \[label="m1\\nmerge billing and accounts", tooltip="merge billing and accounts", shape=hexagon, style="rounded,filled"/m,
	'updated: the applied merge is a filled hexagon');
like($dot, qr/^\t"c1" \[label="c1 \(accounts\)\\naccounts"/m, 'updated: labels are shown');
like($dot, qr/^\t"b1" -> "d1" \[style=dashed\];$/m, 'updated: the dependency is dashed');
like($node->safe_psql('old', q{SELECT migr_graph('mermaid')}), qr/^    rev_b1 -\.-> rev_d1$/m,
	'updated: migr_graph draws Mermaid too');

# ---------------------------------------------------------------------------
# Citus (sql/migr--0.1--0.2.sql, section "Citus"): migr_current(),
# migr_heads() and migr_branches() are replaced by versions that first call
# migr.note_citus_worker() (silent off a Citus worker); updated, they have a
# fresh install's bodies, keep their privileges (compared above) and answer
# as under 0.1, with no notice.
# ---------------------------------------------------------------------------
my $bodies_sql = q{
SELECT string_agg(proname || ': ' || prosrc, E'\n' ORDER BY proname) FROM pg_proc
 WHERE proname IN ('migr_current', 'migr_heads', 'migr_branches', 'note_citus_worker')};
is($node->safe_psql('old', $bodies_sql), $node->safe_psql('fresh', $bodies_sql),
	'Citus: updated readers have the bodies of a fresh 0.2');
like($node->safe_psql('old', $bodies_sql), qr/migr_current: \s*SELECT migr\.note_citus_worker\(\);/,
	'Citus: migr_current() calls migr.note_citus_worker()');
my ($readers_out, $readers_err) = ('', '');
$node->psql('old', $readers_sql, stdout => \$readers_out, stderr => \$readers_err,
	on_error_stop => 1);
is($readers_out, $readers_before, 'Citus: the updated readers answer as under 0.1');
is($readers_err, '', 'Citus: without Citus they say nothing more');

# ---------------------------------------------------------------------------
# The file workflow for teams (issue 14, section of sql/migr--0.1--0.2.sql):
# migr_load_directory() on the updated database takes the 0.1 revisions as
# files unchanged, and reports the revisions whose files are left out.
# ---------------------------------------------------------------------------
is($node->safe_psql('old',
		q{SELECT has_function_privilege('public', 'migr_load_directory(text[], text[])', 'EXECUTE')}),
	'f', 'updated: migr_load_directory is not open to everyone');
is($node->safe_psql('old', q{
WITH f AS (SELECT * FROM migr_export() WHERE filename NOT IN ('c1.sql', 'd1.sql'))
SELECT string_agg(concat_ws(' ', coalesce(filename, '-'), revision, action), ', ' ORDER BY revision)
  FROM migr_load_directory(ARRAY(SELECT content FROM f ORDER BY filename),
                           ARRAY(SELECT filename FROM f ORDER BY filename))}),
	'a1.sql a1 unchanged, b1.sql b1 unchanged, - c1 missing, applied, - d1 missing, not applied, m1.sql m1 unchanged',
	'updated: migr_load_directory loads the 0.1 revisions unchanged and reports those without a file');

# ---------------------------------------------------------------------------
# Registrants (issue 9, items 3 and 4): 0.1 kept only the name of the role
# that registered a revision; the update finds the role by that name, for
# migr.revisions and for the downgrade kept in migr.applied.  A name whose
# role is gone stays unknown, and such a revision does not run.
# ---------------------------------------------------------------------------
$node->safe_psql('postgres', q{
CREATE ROLE upd_deploy;
CREATE ROLE upd_gone;
CREATE DATABASE roles_old;
GRANT CREATE ON DATABASE roles_old TO upd_deploy, upd_gone;
});
$node->safe_psql('roles_old', q{
CREATE EXTENSION migr VERSION '0.1';
GRANT CREATE ON SCHEMA public TO upd_deploy, upd_gone;
GRANT EXECUTE ON FUNCTION migr_revision(text, text, text, text, text[], text[], text[], boolean, boolean)
   TO upd_deploy, upd_gone;
SET ROLE upd_deploy;
SELECT migr_revision('deploy one', 'CREATE TABLE u_1 (i int)', 'DROP TABLE u_1', 'u1', '{}');
SELECT migr_revision('deploy two', 'CREATE TABLE u_2 (i int)', 'DROP TABLE u_2', 'u2', '{u1}');
SET ROLE upd_gone;
SELECT migr_revision('gone three', 'CREATE TABLE u_3 (i int)', 'DROP TABLE u_3', 'u3', '{u2}');
RESET ROLE;
SELECT count(*) FROM migr_upgrade('u1');
});
is($node->safe_psql('roles_old', q{SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'u_1'}),
	'upd_deploy', '0.1 catalog: a superuser runs a deploy role\'s revision as that role');
$node->safe_psql('roles_old', q{DROP OWNED BY upd_gone});
$node->safe_psql('postgres', q{DROP ROLE upd_gone});
$node->safe_psql('roles_old', q{ALTER EXTENSION migr UPDATE});
is($node->safe_psql('roles_old',
		q{SELECT string_agg(id || ':' || created_by || ':' || coalesce(registrant::text, '-'), ',' ORDER BY seq) FROM migr.revisions}),
	'u1:upd_deploy:upd_deploy,u2:upd_deploy:upd_deploy,u3:upd_gone:-',
	'updated: each registrant found in the log; a dropped role stays unknown');
is($node->safe_psql('roles_old',
		q{SELECT string_agg(revision || ':' || downgrade_registrant::text, ',') FROM migr.applied}),
	'u1:upd_deploy', 'updated: the kept downgrade has its registrant');
is($node->safe_psql('roles_old',
		q{SELECT (SELECT string_agg(id || ':' || coalesce(registrant_name::text, '-'), ',' ORDER BY seq) FROM migr.revisions)}
		  . q{ || ' ' || (SELECT string_agg(revision || ':' || downgrade_registrant_name, ',') FROM migr.applied)}),
	'u1:upd_deploy,u2:upd_deploy,u3:- u1:upd_deploy', 'updated: the name of each registrant beside it');
is($node->safe_psql('roles_old', q{SELECT string_agg(revision, ',' ORDER BY step) FROM migr_upgrade('u2')}),
	'u2', 'updated: the deploy role\'s pending revision applies');
is($node->safe_psql('roles_old', q{SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'u_2'}),
	'upd_deploy', 'updated: run by a superuser, it ran as the deploy role');
my ($rc, $out, $err) = $node->psql('roles_old', q{SELECT * FROM migr_upgrade('u3')});
like($err, qr/revision "u3" was registered by a role that no longer exists/,
	'updated: a revision whose registrant was dropped does not run');
is($node->safe_psql('roles_old', q{SELECT string_agg(revision, ',' ORDER BY step) FROM migr_downgrade('base')}),
	'u2,u1', 'updated: downgrades run');
is($node->safe_psql('roles_old', q{SELECT count(*) FROM pg_class WHERE relname IN ('u_1', 'u_2')}),
	'0', 'updated: their tables are gone');

# 0.1 kept the first author in created_by when another role changed a
# revision's scripts (issue 9, item 3), but logged each registration with
# its role and checksum.  The update takes the registrant from the log: a
# superuser's revision whose scripts a deploy role changed belongs to the
# deploy role, and runs as it.  The change is made as 0.1's migr_revision
# made it (the scripts and checksum updated, created_by kept, a
# 'register' row logged), since the library of 0.2 refuses it.
my $superuser = $node->safe_psql('postgres', 'SELECT current_user');
$node->safe_psql('postgres', q{CREATE DATABASE roles_changed});
$node->safe_psql('roles_changed', q{
CREATE EXTENSION migr VERSION '0.1';
SELECT migr_revision('superuser four', 'CREATE TABLE u_4 (i int)', 'DROP TABLE u_4', 'u4', '{}');
SELECT migr_revision('superuser five', 'CREATE TABLE u_5 (i int)', 'DROP TABLE u_5', 'u5', '{u4}');
SELECT migr_revision('superuser six', 'CREATE TABLE u_6 (i int)', 'DROP TABLE u_6', 'u6', '{u5}');
SELECT migr_revision('superuser seven', 'CREATE TABLE u_7 (i int)', 'DROP TABLE u_7', 'u7', '{u6}');
DELETE FROM migr.log WHERE revision = 'u7';
UPDATE migr.revisions
   SET upgrade = 'ALTER ROLE upd_deploy SUPERUSER; CREATE TABLE u_5 (i int)',
       checksum = migr.script_checksum('ALTER ROLE upd_deploy SUPERUSER; CREATE TABLE u_5 (i int)', 'DROP TABLE u_5')
 WHERE id = 'u5';
INSERT INTO migr.log (operation, revision, checksum, environment, confirmed, session_user_name,
                      current_user_name, started_at, duration, wal_lsn, xid)
SELECT 'register', 'u5', checksum, 'development', false, 'upd_deploy', 'upd_deploy', now(), '0',
       pg_current_wal_insert_lsn(), pg_current_xact_id()
  FROM migr.revisions WHERE id = 'u5';
UPDATE migr.revisions
   SET upgrade = 'CREATE TABLE u_6 (j int)',
       checksum = migr.script_checksum('CREATE TABLE u_6 (j int)', 'DROP TABLE u_6')
 WHERE id = 'u6';
});
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('roles_changed'), '-f', "$dumpdir/roles_changed.dump" ],
	'0.1 catalog with a changed revision: pg_dump');
$node->safe_psql('roles_changed', q{ALTER EXTENSION migr UPDATE});
is($node->safe_psql('roles_changed',
		q{SELECT string_agg(id || ':' || created_by || ':' || coalesce(registrant::text, '-'), ',' ORDER BY seq) FROM migr.revisions}),
	"u4:$superuser:$superuser,u5:$superuser:upd_deploy,u6:$superuser:-,u7:$superuser:-",
	'updated: the registrant is the last role that registered the scripts, by the log (unknown when no registration has them, not created_by)');
$node->safe_psql('roles_changed', q{SELECT count(*) FROM migr_upgrade('u4')});
($rc, $out, $err) = $node->psql('roles_changed', q{SELECT * FROM migr_upgrade('u5')});
like($err, qr/permission denied to alter role|must be superuser to alter superuser roles|permission denied/,
	'updated: run by a superuser, the changed revision runs as the deploy role, which cannot make itself superuser');
is($node->safe_psql('postgres', q{SELECT rolsuper FROM pg_roles WHERE rolname = 'upd_deploy'}), 'f',
	'updated: the deploy role is not superuser');
is($node->safe_psql('roles_changed', q{SELECT string_agg(revision, ',') FROM migr.version}), 'u4',
	'updated: the failed upgrade left the version where it was');
# The same 0.1 dump restored into a database created at 0.1, then updated:
# the registrants by the log, as the update of the original finds them.
$node->safe_psql('postgres', 'CREATE DATABASE changed_restored');
$node->safe_psql('changed_restored', q{CREATE EXTENSION migr VERSION '0.1'});
$node->command_ok([ 'pg_restore', '-d', $node->connstr('changed_restored'), "$dumpdir/roles_changed.dump" ],
	'the 0.1 dump with a changed revision restores into 0.1');
$node->safe_psql('changed_restored', q{ALTER EXTENSION migr UPDATE});
is($node->safe_psql('changed_restored',
		q{SELECT string_agg(id || ':' || coalesce(registrant::text, '-') || ':' || coalesce(registrant_name::text, '-'), ',' ORDER BY seq) FROM migr.revisions}),
	"u4:$superuser:$superuser,u5:upd_deploy:upd_deploy,u6:-:-,u7:-:-",
	'0.1 dump restored at 0.1 and updated: the registrants by the log');
# The 0.2 library on the 0.1 catalog (between installing it and ALTER
# EXTENSION UPDATE) reads the registrants from the log too: the changed
# revision runs as the deploy role there as well.
$node->safe_psql('postgres', 'CREATE DATABASE changed_01');
$node->safe_psql('changed_01', q{CREATE EXTENSION migr VERSION '0.1'});
$node->command_ok([ 'pg_restore', '-d', $node->connstr('changed_01'), "$dumpdir/roles_changed.dump" ],
	'the 0.1 dump with a changed revision restores into 0.1 (kept at 0.1)');
$node->safe_psql('changed_01', q{SELECT count(*) FROM migr_upgrade('u4')});
($rc, $out, $err) = $node->psql('changed_01', q{SELECT * FROM migr_upgrade('u5')});
like($err, qr/must be superuser|permission denied/,
	'0.1 catalog, 0.2 library: the changed revision runs as the deploy role');
($rc, $out, $err) = $node->psql('changed_01', q{SELECT * FROM migr_upgrade('u6')});
like($err, qr/revision "u5" was registered by a role that no longer exists|revision "u6" was registered by a role that no longer exists/,
	'0.1 catalog, 0.2 library: a revision whose present scripts no logged registration has does not run');
is($node->safe_psql('postgres', q{SELECT rolsuper FROM pg_roles WHERE rolname = 'upd_deploy'}), 'f',
	'0.1 catalog, 0.2 library: the deploy role is not superuser');
# Restored straight into 0.2, a 0.1 dump has no registrants: all unknown.
$node->safe_psql('postgres', 'CREATE DATABASE changed_direct');
$node->command_ok([ 'pg_restore', '-d', $node->connstr('changed_direct'), "$dumpdir/roles_changed.dump" ],
	'the 0.1 dump with a changed revision restores into 0.2');
is($node->safe_psql('changed_direct',
		q{SELECT string_agg(id || ':' || coalesce(registrant::text, '-') || ':' || coalesce(registrant_name::text, '-'), ',' ORDER BY seq) FROM migr.revisions}),
	'u4:-:-,u5:-:-,u6:-:-,u7:-:-', '0.1 dump straight into 0.2: every registrant unknown');

# ---------------------------------------------------------------------------
# offline: a step outside a transaction that failed under 0.1 is still
# handled after the update: reported, then run again by the same script in
# a session that leaves no migr lock behind.
# ---------------------------------------------------------------------------
my $dir = PostgreSQL::Test::Utils::tempdir;
$node->safe_psql('postgres', 'CREATE DATABASE steps');
$node->safe_psql('steps', q{
CREATE EXTENSION migr VERSION '0.1';
CREATE TABLE items (id int, k int);
INSERT INTO items SELECT g, 1 FROM generate_series(1, 10) g;
SET client_min_messages = error;
SELECT migr_revision('unique k', 'CREATE UNIQUE INDEX CONCURRENTLY items_k ON items (k)', 'DROP INDEX items_k', 's1', '{}');});
my $script = "$dir/steps.sql";
append_to_file($script, $node->safe_psql('steps', q{SELECT migr_script('head')}) . "\n");
($out, $err) = ('', '');
my @file = (stdout => \$out, stderr => \$err, on_error_stop => 1,
	extra_params => [ '-v', 'VERBOSITY=verbose', '-f', $script ]);
isnt($node->psql('steps', undef, @file), 0, 'offline: under 0.1, the step fails in the middle');
is($node->safe_psql('steps', q{SELECT revision || ' ' || direction FROM migr.in_progress}), 's1 up',
	'offline: and is left in progress');
$node->safe_psql('steps', q{ALTER EXTENSION migr UPDATE});
is($node->safe_psql('steps', q{SELECT migr_status()->'in_progress'->0->>'revision'}), 's1',
	'offline: after the update migr_status still reports it');
$node->safe_psql('steps', q{DROP INDEX items_k; UPDATE items SET k = id});
is($node->psql('steps', undef, @file), 0, 'offline: the same script runs it again') or diag($err);
like($err, qr/step "s1" \(up\) was begun before, at .*, and did not finish; running it again/,
	'offline: noting the earlier attempt');
is($node->safe_psql('steps', q{SELECT count(*) FROM migr.in_progress}), '0', 'offline: nothing in progress');
is($node->safe_psql('steps', q{SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_k'::regclass}), 't',
	'offline: the index is valid');
is($node->safe_psql('steps',
		q{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 19783}), '0',
	'offline: no migr lock left');

# ---------------------------------------------------------------------------
# A dump taken on 0.1, restored into a server with 0.2, two ways: with the
# extension created at 0.1 first, then updated (the update finds the
# registrants by name), and straight into 0.2 (pg_dump's CREATE EXTENSION
# names no version; who registered the scripts is only in the log there, so
# every registrant is unknown until registered again).
# ---------------------------------------------------------------------------
$node->safe_psql('postgres', 'CREATE DATABASE dump01');
$node->safe_psql('dump01', q{
CREATE EXTENSION migr VERSION '0.1';
SELECT migr_revision('one', 'CREATE TABLE v_1 (i int)', 'DROP TABLE v_1', 'v1', '{}');
SELECT migr_revision('two', 'CREATE TABLE v_2 (i int)', 'DROP TABLE v_2', 'v2', '{v1}');
SELECT count(*) FROM migr_upgrade('v1');});
my $digest01 = $node->safe_psql('dump01', $digest_sql);
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('dump01'), '-f', "$dir/dump01.dump" ],
	'0.1 dump: pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored01');
$node->safe_psql('restored01', q{CREATE EXTENSION migr VERSION '0.1'});
$node->command_ok([ 'pg_restore', '-d', $node->connstr('restored01'), "$dir/dump01.dump" ],
	'0.1 dump: pg_restore into a database with migr 0.1 exits with status 0');
$node->safe_psql('restored01', q{ALTER EXTENSION migr UPDATE});
is($node->safe_psql('restored01', $digest_sql), $digest01, '0.1 dump: restored and updated, no row lost');
is($node->safe_psql('restored01',
		q{SELECT string_agg(id || ':' || registrant::text, ',' ORDER BY seq) FROM migr.revisions}),
	'v1:postgres,v2:postgres', '0.1 dump: the update found the registrants');
is($node->safe_psql('restored01', q{SELECT string_agg(revision, ',') FROM migr_upgrade('head')}),
	'v2', '0.1 dump: the pending revision applies');
is($node->safe_psql('restored01', q{SELECT string_agg(revision, ',' ORDER BY step) FROM migr_downgrade('base')}),
	'v2,v1', '0.1 dump: and the restored one downgrades');

$node->safe_psql('postgres', 'CREATE DATABASE direct01');
$node->command_ok([ 'pg_restore', '-d', $node->connstr('direct01'), "$dir/dump01.dump" ],
	'0.1 dump straight into 0.2: pg_restore exits with status 0');
is($node->safe_psql('direct01', q{SELECT extversion FROM pg_extension WHERE extname = 'migr'}), '0.2',
	'0.1 dump straight into 0.2: the extension is 0.2');
is($node->safe_psql('direct01', $digest_sql), $digest01, '0.1 dump straight into 0.2: no row lost');
is($node->safe_psql('direct01',
		q{SELECT (SELECT string_agg(id || ':' || coalesce(registrant::text, '-'), ',' ORDER BY seq) FROM migr.revisions)}
		  . q{ || ' ' || (SELECT string_agg(revision || ':' || coalesce(downgrade_registrant::text, '-'), ',') FROM migr.applied)}),
	'v1:-,v2:- v1:-', '0.1 dump straight into 0.2: who registered the scripts is only in the log, so every registrant is unknown');
($rc, $out, $err) = $node->psql('direct01', q{SELECT * FROM migr_upgrade('head')});
like($err, qr/revision "v2" was registered by a role that no longer exists/,
	'0.1 dump straight into 0.2: the pending revision does not run');
is($node->safe_psql('direct01', q{SELECT migr_revision('two', 'CREATE TABLE v_2 (i int)', 'DROP TABLE v_2', 'v2', '{v1}')}),
	'v2', '0.1 dump straight into 0.2: registered again');
is($node->safe_psql('direct01', q{SELECT string_agg(revision, ',') FROM migr_upgrade('head')}),
	'v2', '0.1 dump straight into 0.2: then it applies');

# A 0.2 dump keeps an unknown registrant unknown, even where a role of that
# name exists again.
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('roles_old'), '-f', "$dir/roles.dump" ],
	'0.2 dump: pg_dump');
$node->safe_psql('postgres', q{CREATE ROLE upd_gone; CREATE DATABASE roles_restored;});
$node->command_ok([ 'pg_restore', '-d', $node->connstr('roles_restored'), "$dir/roles.dump" ],
	'0.2 dump: pg_restore exits with status 0');
is($node->safe_psql('roles_restored',
		q{SELECT string_agg(id || ':' || coalesce(registrant::text, '-'), ',' ORDER BY seq) FROM migr.revisions}),
	'u1:upd_deploy,u2:upd_deploy,u3:-', '0.2 dump: registrants restored by name, the unknown one stays unknown');

# ---------------------------------------------------------------------------
# One call deploys any history; failures stay on record (issue 12).  A 0.1
# database's step outside a transaction, left failed by its script, is run
# by CALL migr_upgrade_each() after the update, in a background worker;
# CALL migr_downgrade_each() exists and is not public; the 0.1 log rows
# have no error_line, and a failed migr_upgrade now leaves its record.
# ---------------------------------------------------------------------------
$node->safe_psql('postgres', 'CREATE DATABASE calls');
$node->safe_psql('calls', q{
CREATE EXTENSION migr VERSION '0.1';
CREATE TABLE items (id int, k int);
INSERT INTO items SELECT g, 1 FROM generate_series(1, 10) g;
SET client_min_messages = error;
SELECT migr_revision('unique k', 'CREATE UNIQUE INDEX CONCURRENTLY items_k ON items (k)', 'DROP INDEX CONCURRENTLY items_k', 'c1', '{}');
SELECT migr_revision('bad', E'CREATE TABLE bad (i int);\nSELECT 1/0', 'DROP TABLE bad', 'c2', '{c1}');});
$script = "$dir/calls.sql";
append_to_file($script, $node->safe_psql('calls', q{SELECT migr_script('c1')}) . "\n");
@file = (stdout => \$out, stderr => \$err, on_error_stop => 1,
	extra_params => [ '-v', 'VERBOSITY=verbose', '-f', $script ]);
isnt($node->psql('calls', undef, @file), 0, 'calls: under 0.1, the script step fails');
$node->safe_psql('calls', q{ALTER EXTENSION migr UPDATE});
is($node->safe_psql('calls', q{SELECT count(*) FROM migr.log WHERE error_line IS NOT NULL}), '0',
	'calls: 0.1 log rows have no error_line');
is($node->safe_psql('calls', q{SELECT has_function_privilege('public', 'migr_downgrade_each(text)', 'EXECUTE')}),
	'f', 'calls: migr_downgrade_each is not public');
$node->safe_psql('calls', q{DROP INDEX items_k; UPDATE items SET k = id});
($out, $err) = ('', '');
is($node->psql('calls', q{CALL migr_upgrade_each('c1')}, stdout => \$out, stderr => \$err), 0,
	'calls: CALL migr_upgrade_each runs the step in a background worker') or diag($err);
like($err, qr/step "c1" \(up\) was begun before/, 'calls: as the step begun under 0.1');
is($node->safe_psql('calls', q{SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_k'::regclass}), 't',
	'calls: the index is valid');
isnt($node->psql('calls', q{SELECT * FROM migr_upgrade('c2')}), 0, 'calls: a failing migr_upgrade fails');
is($node->safe_psql('calls', q{SELECT revision || ' ' || error_sqlstate || ' ' || error_line FROM migr.log WHERE error_line IS NOT NULL}),
	'c2 22012 2', 'calls: and leaves its record, with the line');
is($node->safe_psql('calls', q{SELECT string_agg(revision, ',') FROM migr.applied}), 'c1', 'calls: and nothing else');
is($node->psql('calls', q{CALL migr_downgrade_each('base')}), 0, 'calls: CALL migr_downgrade_each goes down');
is($node->safe_psql('calls', q{SELECT count(*) FROM pg_index WHERE indexrelid::regclass::text = 'items_k'}), '0',
	'calls: the index is gone');

# ---------------------------------------------------------------------------
# deploy: errors name the migration file (sql/migr--0.1--0.2.sql, section
# "deploy").  A revision a 0.1 database loaded from a file has no file
# recorded: after the update its errors name the revision as before; loading
# the same file again (unchanged) records where it is, and its errors then
# name the file and the line.  Before the update, the library loads files
# into the 0.1 catalog without recording anything.
# ---------------------------------------------------------------------------
$node->safe_psql('postgres', 'CREATE DATABASE files_old');
$node->safe_psql('files_old', q{CREATE EXTENSION migr VERSION '0.1'});
my $failing_file = "-- migr:revision f1\n-- migr:down_revision\n-- migr:message fails\n\n"
  . "-- migr:upgrade\nCREATE TABLE f_1 (i int);\n\nSELECT 1 / 0;\n";
my $load_sql = "SELECT migr_load(\$f\$$failing_file\$f\$, 'f1_fails.sql')";
$node->safe_psql('files_old', $load_sql);
($rc, $out, $err) = $node->psql('files_old', q{SELECT * FROM migr_upgrade('head')});
like($err, qr/^migration "f1" \(upgrade\), statement 2, line 3$/m,
	'deploy: on the 0.1 catalog, the error names the revision');
unlike($err, qr/migration file/, 'deploy: ... and no file');
$node->safe_psql('files_old', q{ALTER EXTENSION migr UPDATE});
is($node->safe_psql('files_old',
		q{SELECT concat_ws(',', id, coalesce(filename, '-'), coalesce(upgrade_line, 0)) FROM migr.revisions}),
	'f1,-,0', 'deploy: updated, the revision loaded under 0.1 has no file');
($rc, $out, $err) = $node->psql('files_old', q{SELECT * FROM migr_upgrade('head')});
unlike($err, qr/migration file/, 'deploy: updated, its error still names no file');
is($node->safe_psql('files_old', $load_sql), 'f1', 'deploy: the same file loads again');
is($node->safe_psql('files_old',
		q{SELECT concat_ws(',', filename, upgrade_line, coalesce(downgrade_line, 0)) FROM migr.revisions}),
	'f1_fails.sql,6,0', 'deploy: unchanged, it now records the file and where the upgrade starts');
is($node->safe_psql('files_old', q{SELECT count(*) FROM migr.log WHERE operation = 'register'}),
	'1', 'deploy: recording where it is logs no registration');
($rc, $out, $err) = $node->psql('files_old', q{SELECT * FROM migr_upgrade('head')});
like($err, qr/^migration "f1" \(upgrade\), statement 2, line 3\nmigration file "f1_fails\.sql", line 8$/m,
	'deploy: updated and loaded again, the error names the file and the line in it');
is($node->safe_psql('files_old', q{SELECT to_regclass('f_1') IS NULL}), 't', 'deploy: nothing was applied');

# Schema diff and drift (issue 13): a database updated from 0.1 records
# nothing until an operation runs (migr_status() says drift is unknown,
# migr_check() is empty); the operations above recorded the schema, and
# ad-hoc changes are reported.
# ---------------------------------------------------------------------------
$node->safe_psql('postgres', 'CREATE DATABASE drift_old');
$node->safe_psql('drift_old', q{CREATE EXTENSION migr VERSION '0.1'; CREATE TABLE t_x (i int); ALTER EXTENSION migr UPDATE});
is($node->safe_psql('drift_old', q{SELECT coalesce(migr_status()->>'drift', 'unknown') || ':' || (SELECT count(*) FROM migr_check())}),
	'unknown:0', 'drift: updated with nothing recorded yet, migr_status() says unknown and migr_check() is empty');
like($node->safe_psql('old', q{SELECT operation || ':' || array_to_string(schemas, ',') FROM migr.schema_record_info}),
	qr/^(upgrade|downgrade):public$/, 'drift: the operations after the update recorded the schema');
is($node->safe_psql('old', q{SELECT count(*) FROM migr.schema_record WHERE key = 'table public.t_a'}), '1',
	'drift: with the tables the history made');
is($node->safe_psql('old', q{SELECT migr_status()->>'drift'}), 'false', 'drift: none');
$node->safe_psql('old', q{CREATE TABLE t_adhoc (i int)});
is($node->safe_psql('old', q{SELECT string_agg(kind || ' ' || object_name || ': ' || upgrade, ',') FROM migr_check()}),
	'table t_adhoc: DROP TABLE public.t_adhoc;', 'drift: an ad-hoc table is reported, with its undoing statement');
is($node->safe_psql('old', q{SELECT count(*) FROM migr_diff('CREATE TABLE t_new (i int);', '{nowhere}')}), '0',
	'migr_diff works in the updated database');

# ---------------------------------------------------------------------------
# Switching from other tools (section "Switching from other tools"): the
# updated database adopts what another tool's version table says, logged
# with the new operation "adopt" beside the 0.1 log rows, and splits
# scripts for bin/migr-import, open to everyone.
# ---------------------------------------------------------------------------
my $log_before = $node->safe_psql('old', q{SELECT string_agg(t::text, '|' ORDER BY t.id) FROM migr.log t});
$node->safe_psql('old', q{CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
INSERT INTO alembic_version VALUES ('m1')});
is($node->safe_psql('old', q{SELECT count(*) FROM migr_adopt('alembic')}), '0',
	'updated: adopting what migr already has applied does nothing');
$node->safe_psql('old', q{INSERT INTO alembic_version VALUES ('d1')});
is($node->safe_psql('old', q{SELECT string_agg(revision || ' ' || direction, ',') FROM migr_adopt('alembic')}),
	'd1 up', 'updated: migr_adopt stamps what the version table adds');
is($node->safe_psql('old', q{SELECT operation || ' ' || revision || ' ' || target FROM migr.log ORDER BY id DESC LIMIT 1}),
	'adopt d1 public.alembic_version (alembic)', 'updated: logged as an adoption');
like($node->safe_psql('old', q{SELECT string_agg(t::text, '|' ORDER BY t.id) FROM migr.log t}),
	qr/^\Q$log_before\E\|/, 'updated: the 0.1 log rows stay as they were');
is($node->safe_psql('old', q{SELECT stamped FROM migr.applied WHERE revision = 'd1'}), 't',
	'updated: the adopted revision is recorded as stamped');
is($node->safe_psql('old', q{SELECT to_regclass('t_d') IS NULL}), 't', 'updated: adoption ran nothing');
is($node->safe_psql('old', q{SELECT has_function_privilege('public', 'migr_adopt(text, text)', 'EXECUTE')}),
	'f', 'updated: migr_adopt is not open to everyone');
is($node->safe_psql('old', q{SELECT string_agg(command_tag || '/' || coalesce(transaction_control, '-'), ',' ORDER BY number) FROM migr_script_statements('BEGIN; CREATE TABLE x (i int); END;')}),
	'BEGIN/begin,CREATE TABLE/-,COMMIT/commit', 'updated: migr_script_statements splits with the parser');

done_testing();
