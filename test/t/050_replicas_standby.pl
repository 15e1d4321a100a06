# test/t/050_replicas_standby.pl
#
# migr on a streaming hot standby (issue 15, "Hot standby").  Every reading
# function of the extension works there and returns what it returns on the
# primary; every function that changes the catalog refuses at once with
# migr's own message (SQLSTATE 25006) naming the standby, even before the
# production confirmation, and changes nothing.  The same gate refuses a
# read-only transaction on the primary.  After promotion the new primary has
# the same state and carries on: the next upgrade works.
#
# The lists below name every function of the extension: a function added
# later fails this test until it is put in one of them.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->start;

# A history with a branch, a label, a merge, a launch, one pending revision
# and one statement that must run outside a transaction.
$primary->safe_psql('postgres', q{
CREATE EXTENSION migr;
SELECT migr_revision('base', 'CREATE TABLE t_a (i int);', 'DROP TABLE t_a;', 'a1', '{}');
SELECT migr_revision('billing', 'CREATE TABLE t_b (i int);', 'DROP TABLE t_b;', 'b1', '{a1}', '{billing}');
SELECT migr_revision('accounts', 'CREATE TABLE t_c (i int);', 'DROP TABLE t_c;', 'c1', '{a1}');
SELECT migr_merge('{b1,c1}', 'merge', 'm1');
SELECT count(*) FROM migr_upgrade('m1');
SELECT migr_launch();
SELECT migr_revision('pending', 'CREATE TABLE t_d (i int);', 'DROP TABLE t_d;', 'd1', '{m1}');
SELECT migr_revision('index', 'CREATE INDEX CONCURRENTLY t_d_i ON t_d (i);', 'DROP INDEX CONCURRENTLY t_d_i;', 'e1', '{d1}');
});

$primary->backup('base_backup');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base_backup', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');

my $checksum = $primary->safe_psql('postgres', q{SELECT checksum FROM migr.revisions WHERE id = 'd1'});

# ---------------------------------------------------------------------------
# Reading functions: the same result on the standby as on the primary.
# migr_template makes a new id each call, so only its shape is compared.
# ---------------------------------------------------------------------------
my %reading = (
	'migr_current()'             => q{SELECT string_agg(c, ',') FROM migr_current() c},
	'migr_heads()'               => q{SELECT string_agg(h::text, '|') FROM migr_heads() h},
	'migr_branches()'            => q{SELECT string_agg(b::text, '|') FROM migr_branches() b},
	'migr_history(text)'         => q{SELECT string_agg(h::text, '|') FROM migr_history() h},
	'migr_show(text)'            => q{SELECT migr_show('b1')::text},
	'migr.script_checksum(text,text)' => q{SELECT migr.script_checksum('CREATE TABLE x (i int);', NULL)},
	'migr_validate()'            => q{SELECT count(*) FROM migr_validate()},
	'migr_rollback_check(text)'  => q{SELECT string_agg(r::text, '|') FROM migr_rollback_check('a1') r},
	'migr_check_head(text,boolean)' => q{SELECT migr_check_head('m1')},
	'migr_status()'              => q{SELECT s - 'checked_at' FROM migr_status() s},
	'migr_check()'               => q{SELECT string_agg(c::text, '|') FROM migr_check() c},
	'migr_plan(text,text)'       => q{SELECT string_agg(p::text, '|') FROM migr_plan('head') p},
	'migr_lint(text)'            => q{SELECT string_agg(l::text, '|') FROM migr_lint() l},
	'migr_script(text,text)'     => q{SELECT regexp_replace(migr_script('head'), 'generated [^\n]*', '')},
	'migr_export()'              => q{SELECT string_agg(e::text, '|') FROM migr_export() e},
	'migr_template(text,text,text[])' =>
	  q{SELECT string_agg(regexp_replace(t::text, '[0-9a-f]{12}', 'ID', 'g'), '|') FROM migr_template('next') t},
	'migr_graph(text)'           => q{SELECT migr_graph('dot') || migr_graph('mermaid')},
	# Citus: the notice of the readers written in SQL on a worker.
	'migr.note_citus_worker()'   => q{SELECT migr.note_citus_worker()::text},
	'migr_script_statements(text)' =>
	  q{SELECT string_agg(s::text, '|') FROM migr_script_statements('BEGIN; CREATE TABLE x (i int); COMMIT;') s},);

# ---------------------------------------------------------------------------
# Writing functions: each refuses on the standby.
# ---------------------------------------------------------------------------
my %writing = (
	'migr_revision(text,text,text,text,text[],text[],text[],boolean,boolean)' =>
	  q{SELECT migr_revision('new', 'CREATE TABLE t_n (i int);', 'DROP TABLE t_n;', 'n1')},
	'migr_merge(text[],text,text)'  => q{SELECT migr_merge('{d1,b1}', 'again', 'm2')},
	'migr_upgrade(text,boolean)'    => q{SELECT * FROM migr_upgrade('head')},
	'migr_upgrade(integer)'         => q{SELECT * FROM migr_upgrade(1)},
	'migr_downgrade(text,boolean)'  => q{SELECT * FROM migr_downgrade('a1')},
	'migr_downgrade(integer)'       => q{SELECT * FROM migr_downgrade(-1)},
	'migr_stamp(text[])'            => q{SELECT * FROM migr_stamp('head')},
	'migr_stamp(text[],boolean)'    => q{SELECT * FROM migr_stamp('{a1}', true)},
	'migr_redo(text)'               => q{SELECT * FROM migr_redo('m1')},
	'migr_launch()'                 => q{SELECT migr_launch()},
	'migr_adopt(text,text)'         => q{SELECT * FROM migr_adopt('alembic')},
	'migr_repair(text)'             => q{SELECT migr_repair('a1')},
	'migr_step_begin(text,text,text,text)' => qq{SELECT migr_step_begin('d1', 'up', '$checksum', 'head')},
	'migr_step_end(text,text,text,text)'   => qq{SELECT migr_step_end('d1', 'up', '$checksum', 'head')},
	'migr_upgrade_each(text)'       => q{CALL migr_upgrade_each('head')},
	'migr_downgrade_each(text)'     => q{CALL migr_downgrade_each('a1')},
	'migr_load(text,text)' =>
	  q{SELECT migr_load(E'-- migr:revision f1\n-- migr:down_revision d1\n-- migr:message f\n-- migr:upgrade\nCREATE TABLE t_f (i int);\n')},
	'migr_diff(text,text[])'        => q{SELECT * FROM migr_diff('CREATE TABLE t_x (i int);')},
	'migr_autogenerate(text,text,text)' => q{SELECT * FROM migr_autogenerate('x', 'CREATE TABLE t_x (i int);')},
	'migr_load(text[],text[])' =>
	  q{SELECT * FROM migr_load(ARRAY[E'-- migr:revision f1\n-- migr:down_revision d1\n-- migr:message f\n-- migr:upgrade\nCREATE TABLE t_f (i int);\n'])},
	'migr_load_directory(text[],text[])' =>
	  q{SELECT * FROM migr_load_directory(ARRAY[E'-- migr:revision f1\n-- migr:down_revision d1\n-- migr:message f\n-- migr:upgrade\nCREATE TABLE t_f (i int);\n'])},);
# Dry runs change nothing, but they run the scripts: they refuse too.
my %dry_runs = (
	'migr_upgrade(text,boolean) dry run'   => q{SELECT * FROM migr_upgrade('head', dry_run => true)},
	'migr_downgrade(text,boolean) dry run' => q{SELECT * FROM migr_downgrade('a1', dry_run => true)},);
# Trigger functions are not called by users.
my @triggers = ('migr.ddl_guard()', 'migr.log_make_room()', 'migr.rewrite_watch()');

my $functions = $primary->safe_psql('postgres', q{
SELECT string_agg(p.oid::regprocedure::text, E'\n' ORDER BY p.oid::regprocedure::text)
FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'migr')});
is($functions, join("\n", sort(keys %reading, keys %writing, @triggers)),
	'every function of the extension is tested below as reading or writing');

my $catalog_sql = q{
SELECT concat_ws(E'\n',
  (SELECT string_agg(t::text, '|' ORDER BY t.seq) FROM migr.revisions t),
  (SELECT string_agg(t::text, '|' ORDER BY t.label) FROM migr.branch_labels t),
  (SELECT string_agg(t::text, '|' ORDER BY t.revision) FROM migr.applied t),
  (SELECT string_agg(t::text, '|' ORDER BY t.revision) FROM migr.version t),
  (SELECT string_agg(t::text, '|' ORDER BY t.id) FROM migr.log t),
  (SELECT string_agg(t::text, '|') FROM migr.launch t),
  (SELECT string_agg(t::text, '|') FROM migr.in_progress t),
  (SELECT string_agg(t::text, '|') FROM migr.state t),
  (SELECT last_value || '/' || is_called FROM migr.revision_seq),
  (SELECT last_value || '/' || is_called FROM migr.run_seq),
  (SELECT last_value || '/' || is_called FROM migr.log_seq))};
my $primary_catalog = $primary->safe_psql('postgres', $catalog_sql);
is($standby->safe_psql('postgres', $catalog_sql), $primary_catalog, 'the standby has the primary\'s catalog');

foreach my $f (sort keys %reading)
{
	my $want = $primary->safe_psql('postgres', $reading{$f});
	my ($rc, $out, $err) = $standby->psql('postgres', $reading{$f});
	is($rc, 0, "standby: $f works") or diag($err);
	is($out, $want, "standby: $f returns what it returns on the primary");
}
like($standby->safe_psql('postgres', q{SELECT migr_status()->>'current'}), qr/m1/,
	'standby: migr_status() reports the current revision');

# A refusal: SQLSTATE 25006, migr's message naming the function and the
# standby, the hint to run it on the primary, and no generic error.
sub refused_on_standby
{
	my ($name, $sql, $settings) = @_;
	my ($rc, $out, $err) =
	  $standby->psql('postgres', "\\set VERBOSITY verbose\n" . ($settings // '') . $sql);
	(my $fname = $name) =~ s/\(.*//;
	isnt($rc, 0, "standby: $name fails");
	like($err, qr/ERROR:  25006: \Q$fname\E cannot run on a standby server\n/,
		"standby: $name refuses with SQLSTATE 25006 and says the server is a standby");
	like($err, qr/HINT:  Run it on the primary server;/, "standby: $name says to run it on the primary");
	unlike($err, qr/read-only transaction|recovery is in progress|confirmation/,
		"standby: $name refuses before doing anything else");
	return;
}

foreach my $f (sort keys %writing)
{
	refused_on_standby($f, $writing{$f});
}
foreach my $f (sort keys %dry_runs)
{
	refused_on_standby($f, $dry_runs{$f});
}

# In production, the standby refusal comes before the confirmation one.
refused_on_standby('migr_upgrade(text,boolean) in production',
	q{SELECT * FROM migr_upgrade('head')}, "SET migr.environment = 'production';\n");
refused_on_standby('migr_launch() in production, confirmed',
	q{SELECT migr_launch()},
	"SET migr.environment = 'production';\nSET migr.confirm_production = on;\n");

is($standby->safe_psql('postgres', $catalog_sql), $primary_catalog,
	'standby: after every refusal the catalog is unchanged');

# ---------------------------------------------------------------------------
# The same gate on the primary, in a read-only transaction.
# ---------------------------------------------------------------------------
foreach my $f ('migr_upgrade(text,boolean)', 'migr_revision(text,text,text,text,text[],text[],text[],boolean,boolean)',
	'migr_stamp(text[])')
{
	my ($rc, $out, $err) = $primary->psql('postgres',
		"\\set VERBOSITY verbose\nBEGIN READ ONLY;\n$writing{$f};\nCOMMIT;");
	(my $fname = $f) =~ s/\(.*//;
	like($err, qr/ERROR:  25006: \Q$fname\E cannot run in a read-only transaction\n/,
		"primary: $f refuses in a read-only transaction with migr's message");
}
is($primary->safe_psql('postgres', $catalog_sql), $primary_catalog,
	'primary: the read-only refusals changed nothing');

# ---------------------------------------------------------------------------
# Promotion: the new primary has the same state and carries on.
# ---------------------------------------------------------------------------
$primary->stop;
$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'the standby did not leave recovery';
is($standby->safe_psql('postgres', $catalog_sql), $primary_catalog, 'promoted: the catalog is the primary\'s');
is($standby->safe_psql('postgres', q{SELECT string_agg(revision, ',' ORDER BY step) FROM migr_upgrade('d1')}),
	'd1', 'promoted: the next upgrade applies the pending revision');
is($standby->safe_psql('postgres', q{SELECT to_regclass('t_d') IS NOT NULL}), 't', 'promoted: its table exists');
is($standby->safe_psql('postgres', q{SELECT string_agg(c, ',') FROM migr_current() c}), 'd1',
	'promoted: current is d1');
is($standby->safe_psql('postgres', q{SELECT count(*) FROM migr.log WHERE revision = 'd1' AND operation = 'upgrade'}),
	'1', 'promoted: and the step is logged');
is($standby->safe_psql('postgres', q{SELECT migr_revision('after', 'CREATE TABLE t_g (i int);', NULL, 'g1')}),
	'g1', 'promoted: registration works');

$standby->stop;
done_testing();
