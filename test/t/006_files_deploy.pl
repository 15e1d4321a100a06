# test/t/006_files_deploy.pl
#
# The shell side of migration files, against a real server: bin/migr-load
# on a directory whose path has a space and whose file names sort against
# the dependency order; bin/migr-new writing a file whose parent is the head
# of the files, leaving the database as it was; examples/deploy.sh end to
# end on a production database (through bin/migr-deploy), its --dry-run,
# and a failing new migration that leaves the old schema, a non-zero exit
# and the failing file and line; examples/rollback.sh passing
# when only additive revisions are ahead and refusing with the listing
# otherwise.
#
# The tools come from $MIGR_REPO (set by scripts/run-tests.sh to the
# scratch copy holding bin/ and examples/), or from the checkout this file
# is in.

use strict;
use warnings;

use File::Basename qw(dirname);
use File::Copy qw(copy);
use File::Path qw(make_path);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $repo = $ENV{MIGR_REPO} // dirname(__FILE__) . '/../..';
my $bin = "$repo/bin";
my $examples = "$repo/examples";
ok(-x "$bin/migr-load" && -x "$bin/migr-new", 'bin/ tools are there');

my $node = PostgreSQL::Test::Cluster->new('files_deploy');
$node->init;
$node->start;

# Run a command with the node's connection in the environment; returns
# (exit status, stdout, stderr).
sub run_tool
{
	my ($db, $cmd, %env) = @_;
	local $ENV{PGHOST} = $node->host;
	local $ENV{PGPORT} = $node->port;
	local $ENV{PGDATABASE} = $db;
	local $ENV{PGOPTIONS};
	local $ENV{DEPLOY_RESTART};
	local $ENV{MIGR_BIN} = $bin;
	$ENV{$_} = $env{$_} for keys %env;
	my ($out, $err) = ('', '');
	IPC::Run::run($cmd, '<', \undef, '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

sub write_file
{
	my ($path, $content) = @_;
	open(my $fh, '>', $path) or die "cannot write $path: $!";
	print $fh $content;
	close($fh);
	return;
}

sub slurp
{
	my ($path) = @_;
	open(my $fh, '<', $path) or die "cannot read $path: $!";
	local $/;
	my $content = <$fh>;
	close($fh);
	return $content;
}

# A file whose revision $id has parent(s) $parents and creates table $table.
sub migration
{
	my ($id, $parents, $table) = @_;
	return "-- migr:revision $id\n-- migr:down_revision $parents\n"
	  . "-- migr:message create $table\n\n-- migr:upgrade\n"
	  . "CREATE TABLE $table (id int);\n\n-- migr:downgrade\nDROP TABLE $table;\n";
}

# ---------------------------------------------------------------------------
# bin/migr-load: a path with a space, names in the reverse of the order the
# files must load in.
# ---------------------------------------------------------------------------
$node->safe_psql('postgres', 'CREATE DATABASE files');
$node->safe_psql('files', 'CREATE EXTENSION migr');

my $tmp = PostgreSQL::Test::Utils::tempdir;
my $dir = "$tmp/my migrations";
make_path($dir);
write_file("$dir/c_first.sql", migration('c_first', '', 'one'));
write_file("$dir/b_second.sql", migration('b_second', 'c_first', 'two'));
write_file("$dir/a_third_and_last.sql", migration('a_third', 'b_second', 'three'));
write_file("$dir/notes.txt", "not a migration\n");

my ($rc, $out, $err) = run_tool('files', [ "$bin/migr-load", $dir ]);
is($rc, 0, 'migr-load exits 0') or diag($err);
like(
	$out,
	qr/c_first\.sql\s+\|\s+c_first\s+\|\s+registered.*b_second\.sql\s+\|\s+b_second\s+\|\s+registered.*a_third_and_last\.sql\s+\|\s+a_third\s+\|\s+registered/s,
	'migr-load prints each file, parents first');
is( $node->safe_psql(
		'files', q{SELECT string_agg(id || ':' || down_revision::text, ' ' ORDER BY seq) FROM migr.revisions}),
	'c_first:{} b_second:{c_first} a_third:{b_second}',
	'the files are registered with their parents');

($rc, $out, $err) = run_tool('files', [ "$bin/migr-load", $dir ]);
is($rc, 0, 'migr-load again exits 0');
is(scalar(() = $out =~ /\|\s+unchanged/g), 3, 'loading again: every file unchanged');

# Extra psql options: the connection (-d) and commands run after the load.
($rc, $out, $err) = run_tool('postgres',
	[ "$bin/migr-load", $dir, '-d', 'files', '-1', '-c', q{SELECT * FROM migr_upgrade('head')} ]);
is($rc, 0, 'migr-load -d files -1 -c upgrade exits 0') or diag($err);
is($node->safe_psql('files', 'SELECT * FROM migr_current()'),
	'a_third', 'load and upgrade in one call');

# A bad file: non-zero, nothing stored.
my $before = $node->safe_psql('files', 'SELECT count(*) FROM migr.revisions');
write_file("$dir/d_bad.sql", "-- migr:revision d_bad\n-- migr:message m\n-- migr:upgrade\nSELECT 1;\n");
write_file("$dir/0_good.sql", migration('0_good', 'a_third', 'four'));
($rc, $out, $err) = run_tool('files', [ "$bin/migr-load", $dir ]);
isnt($rc, 0, 'migr-load with a malformed file exits non-zero');
like($err, qr/invalid migration file "d_bad\.sql".*Line 3: the header has no "-- migr:down_revision" line/s,
	'the error names the file and the line');
is($node->safe_psql('files', 'SELECT count(*) FROM migr.revisions'),
	$before, 'nothing was stored');
unlink("$dir/d_bad.sql", "$dir/0_good.sql");

# An empty directory is an error.
make_path("$tmp/empty");
($rc, $out, $err) = run_tool('files', [ "$bin/migr-load", "$tmp/empty" ]);
isnt($rc, 0, 'migr-load on a directory without *.sql files exits non-zero');
like($err, qr/no \*\.sql file/, '... and says why');

# ---------------------------------------------------------------------------
# bin/migr-new: the parent is the head of the files; the database (here an
# empty one) is left as it was.
# ---------------------------------------------------------------------------
$node->safe_psql('postgres', 'CREATE DATABASE blank');
$node->safe_psql('blank', 'CREATE EXTENSION migr');
my $log_before = $node->safe_psql('blank', 'SELECT count(*) FROM migr.log');
($rc, $out, $err) = run_tool('blank', [ "$bin/migr-new", $dir, 'Add the gizmo table' ]);
is($rc, 0, 'migr-new exits 0') or diag($err);
chomp(my $path = $out);
like($path, qr{^\Q$dir\E/[0-9a-f]{12}_add_the_gizmo_table\.sql$}, 'migr-new prints the new file\'s path');
ok(-f $path, 'the file exists');
my ($new_id) = $path =~ m{/([0-9a-f]{12})_[^/]*$};
my $content = slurp($path);
like($content, qr/\A-- migr:revision $new_id\n-- migr:down_revision a_third\n-- migr:message Add the gizmo table\n/,
	'its parent is the head of the files');
is( $node->safe_psql('blank',
		'SELECT count(*) FROM migr.revisions') . '/' . $node->safe_psql('blank', 'SELECT count(*) FROM migr.log'),
	"0/$log_before", 'migr-new left the database as it was');

# Edited, it loads on top of the head.
$content =~ s/-- Write the upgrade here[^\n]*\n/CREATE TABLE gizmos (id int);\n/;
$content =~ s/-- migr:downgrade\n.*\z/-- migr:downgrade\nDROP TABLE gizmos;\n/s;
write_file($path, $content);
($rc, $out, $err) = run_tool('files', [ "$bin/migr-load", $dir ]);
is($rc, 0, 'the edited file loads') or diag($err);
like($out, qr/\Q$new_id\E\s+\|\s+registered/, '... as a new revision');
is($node->safe_psql('files', 'SELECT revision FROM migr_heads()'),
	$new_id, '... which is the new head');

# ---------------------------------------------------------------------------
# examples/deploy.sh on a production database.
# ---------------------------------------------------------------------------
$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('app', 'CREATE EXTENSION migr');
$node->safe_psql('postgres', q{ALTER DATABASE app SET migr.environment = 'production'});

my $marker = "$tmp/restarted";
($rc, $out, $err) = run_tool('app', [ "$examples/deploy.sh" ], DEPLOY_RESTART => "touch '$marker'");
isnt($rc, 0, 'deploy.sh without --production on a production database fails');
like($err, qr/MG001|needs confirmation/, '... asking for the confirmation');
ok(!-e $marker, '... and starts nothing');
is($node->safe_psql('app', 'SELECT count(*) FROM migr.revisions'), '0', '... and stores nothing');

($rc, $out, $err) = run_tool('app', [ "$examples/deploy.sh", '--production' ],
	DEPLOY_RESTART => "touch '$marker'");
is($rc, 0, 'deploy.sh --production exits 0') or diag($err);
ok(-e $marker, 'the new code was started');
is($node->safe_psql('app', 'SELECT * FROM migr_current()'),
	'0004_drop_users_plan', 'the schema is at head');
is( $node->safe_psql('app',
		q{SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'users'::regclass AND attnum > 0 AND NOT attisdropped}),
	'id,email,is_admin,tier_id', 'users has tier_id and no plan');
is($node->safe_psql('app', q{SELECT u.email || ':' || t.name FROM users u JOIN tiers t ON t.id = u.tier_id}),
	'admin@example.com:pro', 'the data migration filled in tier_id');

# Deploying the same files again: nothing to do, no confirmation needed.
unlink($marker);
($rc, $out, $err) = run_tool('app', [ "$examples/deploy.sh" ], DEPLOY_RESTART => "touch '$marker'");
is($rc, 0, 'deploying the same files again needs no confirmation') or diag($err);
ok(-e $marker, '... and starts the code');

# A new migration that fails: the old schema stays, non-zero exit.
my $dir2 = "$tmp/next release";
make_path($dir2);
copy($_, $dir2) or die "copy $_: $!" for glob("'$examples/migrations/'*.sql");
write_file("$dir2/0005_gadgets.sql",
	    "-- migr:revision 0005_gadgets\n-- migr:down_revision 0004_drop_users_plan\n"
	  . "-- migr:message gadgets\n\n-- migr:upgrade\nCREATE TABLE gadgets (id int);\n"
	  . "INSERT INTO gadgets SELECT id FROM no_such_table;\n\n-- migr:downgrade\nDROP TABLE gadgets;\n");
my $applied_sql = q{SELECT concat_ws('|',
  (SELECT string_agg(t::text, ',' ORDER BY t.revision) FROM migr.applied t),
  (SELECT string_agg(t::text, ',' ORDER BY t.revision) FROM migr.version t))};
my $applied_before = $node->safe_psql('app', $applied_sql);

# --dry-run: the plan and the dry run report, nothing applied, nothing started.
unlink($marker);
($rc, $out, $err) = run_tool('app', [ "$examples/deploy.sh", '--dry-run', $dir2 ],
	DEPLOY_RESTART => "touch '$marker'");
isnt($rc, 0, 'deploy.sh --dry-run of the failing migration exits non-zero');
like($err, qr/the dry run failed at step 1 \(revision 0005_gadgets\)/, '... naming the step that would fail');
ok(!-e $marker, '... and starts nothing');
is($node->safe_psql('app', q{SELECT count(*) FROM migr.revisions WHERE id = '0005_gadgets'}),
	'0', '... and stores nothing');

unlink($marker);
($rc, $out, $err) = run_tool('app', [ "$examples/deploy.sh", '--production', $dir2 ],
	DEPLOY_RESTART => "touch '$marker'");
isnt($rc, 0, 'deploy.sh with a failing migration exits non-zero');
like($err, qr/no_such_table.*migration "0005_gadgets"/s, '... naming the error and the migration');
like($err, qr/migr-deploy: failed at 0005_gadgets\.sql, line 7 \(revision "0005_gadgets", upgrade\)/,
	'... and the file and line of the failing statement');
ok(!-e $marker, '... and does not start the new code');
is($node->safe_psql('app', q{SELECT to_regclass('gadgets') IS NULL}), 't', 'the schema is the old one');
is($node->safe_psql('app', $applied_sql), $applied_before, 'the applied revisions and version rows are as they were');
is($node->safe_psql('app', q{SELECT string_agg(error_sqlstate, ',') FROM migr.log WHERE revision = '0005_gadgets'}),
	'42P01', 'the failed step is on record');
is($node->safe_psql('app', q{SELECT concat_ws('|', revision, target, error_sqlstate, error_line, statement)
                               FROM migr.log WHERE error_sqlstate IS NOT NULL}),
	'0005_gadgets|head|42P01|2|INSERT INTO gadgets SELECT id FROM no_such_table',
	'... with the failing statement and its line');

# ---------------------------------------------------------------------------
# examples/rollback.sh
# ---------------------------------------------------------------------------
($rc, $out, $err) = run_tool('app', [ "$examples/rollback.sh", '0004_drop_users_plan' ]);
is($rc, 0, 'rollback.sh to the current head passes') or diag($err);

($rc, $out, $err) = run_tool('app', [ "$examples/rollback.sh", '0003_users_tier_id' ]);
isnt($rc, 0, 'rollback.sh past a destructive revision fails');
like($out, qr/0004_drop_users_plan\s+\|.*applied, not expected\s+\|\s+f\s+\|\s+destructive: ALTER TABLE users DROP COLUMN plan/,
	'... listing the revision and why');
like($err, qr/migration mismatch/, '... with migr_check_head\'s error');
is($node->safe_psql('app', 'SELECT * FROM migr_current()'), '0004_drop_users_plan', '... changing nothing');

($rc, $out, $err) = run_tool('app', [ "$examples/rollback.sh", '--downgrade', '0003_users_tier_id' ]);
isnt($rc, 0, 'rollback.sh --downgrade in production without --production fails');
is($node->safe_psql('app', 'SELECT * FROM migr_current()'), '0004_drop_users_plan', '... changing nothing');

($rc, $out, $err) = run_tool('app', [ "$examples/rollback.sh", '--production', '--downgrade', '0003_users_tier_id' ]);
is($rc, 0, 'rollback.sh --production --downgrade exits 0') or diag($err);
is($node->safe_psql('app', 'SELECT * FROM migr_current()'), '0003_users_tier_id', 'the database is at the old head');

# Only the additive data migration is ahead of 0002: compatible.
($rc, $out, $err) = run_tool('app', [ "$examples/rollback.sh", '0002_add_widget_table' ]);
is($rc, 0, 'rollback.sh passes when only additive revisions are ahead') or diag($err);
like($out, qr/suits 0002_add_widget_table/, '... and says so');

# Behind: the old build expects a revision this database has not applied.
($rc, $out, $err) = run_tool('app', [ "$examples/rollback.sh", '0004_drop_users_plan' ]);
isnt($rc, 0, 'rollback.sh fails when the database is behind the expected head');
like($out, qr/0004_drop_users_plan\s+\|.*expected, not applied/, '... listing what is missing');

$node->stop;
done_testing();
