# test/t/012_deploy_tool.pl
#
# bin/migr-deploy (issue 12, deploy tooling) against a production database:
# - --dry-run prints the plan and the dry run report and applies nothing
#   (exit 0), or says where the dry run failed (exit 1), still applying
#   nothing;
# - without --production it is refused and stores nothing; with it, the
#   confirmation is a SET in the session (the server log shows it), and one
#   CALL migr_upgrade_each deploys the history: schema, version rows, log;
# - --target stops at a revision;
# - a failing statement: exit 1, the last line names the file and the line
#   of the statement in it, the steps before it stay applied, the failed one
#   left nothing but its failure row; after the file is fixed, the same
#   command goes on from there;
# - the same for a step that cannot run in a transaction (a unique index
#   built CONCURRENTLY, run by migr's background worker).

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
ok(-x "$bin/migr-deploy", 'bin/migr-deploy is there');

my $node = PostgreSQL::Test::Cluster->new('deploy_tool');
$node->init;
$node->append_conf('postgresql.conf', "log_statement = 'all'");
$node->start;

sub run_tool
{
	my ($db, @args) = @_;
	local $ENV{PGHOST} = $node->host;
	local $ENV{PGPORT} = $node->port;
	local $ENV{PGDATABASE} = $db;
	local $ENV{PGOPTIONS};
	my ($out, $err) = ('', '');
	IPC::Run::run([ "$bin/migr-deploy", @args ], '<', \undef, '>', \$out, '2>', \$err);
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

my $tmp = PostgreSQL::Test::Utils::tempdir;
my $dir = "$tmp/release 5";
make_path($dir);
copy($_, $dir) or die "copy $_: $!" for glob("'$repo/examples/migrations/'*.sql");

# The statement that fails starts on line 9 of the file.
my $gadgets = <<'EOF';
-- migr:revision 0005_gadgets
-- migr:down_revision 0004_drop_users_plan
-- migr:message gadgets

-- migr:upgrade
CREATE TABLE gadgets (id int);

-- Every user gets a gadget.
INSERT INTO gadgets
SELECT id FROM no_such_table;

-- migr:downgrade
DROP TABLE gadgets;
EOF

$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('app', 'CREATE EXTENSION migr');
$node->safe_psql('postgres', q{ALTER DATABASE app SET migr.environment = 'production'});
my $catalog_sql = q{SELECT concat_ws('|',
  (SELECT count(*) FROM migr.revisions), (SELECT count(*) FROM migr.applied),
  (SELECT count(*) FROM migr.log), to_regclass('users'))};
my $empty = $node->safe_psql('app', $catalog_sql);

# ---------------------------------------------------------------------------
# --dry-run: plan and report, nothing applied, no confirmation needed.
# ---------------------------------------------------------------------------
my ($rc, $out, $err) = run_tool('app', '--dry-run', $dir);
is($rc, 0, '--dry-run of a good history exits 0') or diag($err);
like($out, qr/== plan\n.*\n\s+4 \| 0004_drop_users_plan\s+\|\s+1 \|\s+1 \| ALTER TABLE/s,
	'it prints the plan, statement by statement');
like($out, qr/== dry run.*\n\s+4 \| 0004_drop_users_plan\s+\| up\s+\|/s, 'and the dry run report, step by step');
like($out, qr/dry run passed; nothing was applied/, 'and says nothing was applied');
is($node->safe_psql('app', $catalog_sql), $empty, 'nothing was stored or applied');

write_file("$dir/0005_gadgets.sql", $gadgets);
($rc, $out, $err) = run_tool('app', '--dry-run', $dir);
is($rc, 1, '--dry-run of a failing history exits 1');
like($err, qr/the dry run failed at step 5 \(revision 0005_gadgets\): SQLSTATE 42P01/,
	'it names the failing step and the error');
is($node->safe_psql('app', $catalog_sql), $empty, 'still nothing stored or applied');
unlink("$dir/0005_gadgets.sql");

# ---------------------------------------------------------------------------
# Production needs --production.
# ---------------------------------------------------------------------------
($rc, $out, $err) = run_tool('app', $dir);
is($rc, 1, 'without --production a production deploy exits 1');
like($err, qr/needs confirmation/, '... asking for the confirmation');
is($node->safe_psql('app', $catalog_sql), $empty, '... having stored nothing');

# --target: up to a revision, confirmed with SET in the session.
my $log_offset = -s $node->logfile;
($rc, $out, $err) = run_tool('app', '--production', '--target', '0002_add_widget_table', $dir);
is($rc, 0, '--production --target 0002 exits 0') or diag($err);
is($node->safe_psql('app', q{SELECT string_agg(revision, ',') FROM migr.version}),
	'0002_add_widget_table', 'the version row is 0002');
my $log = slurp_file($node->logfile, $log_offset);
like($log, qr/statement: SET migr\.confirm_production = on;/, 'the confirmation is a SET in the session');
like($log, qr/statement: CALL migr_upgrade_each\('0002_add_widget_table'\);/, 'the upgrade is one CALL');
like($log, qr/statement: RESET migr\.confirm_production;/, 'the confirmation is reset afterwards');

($rc, $out, $err) = run_tool('app', '--production', $dir);
is($rc, 0, '--production to head exits 0') or diag($err);
like($err, qr/NOTICE:  step 1: applied revision "0003_users_tier_id".*NOTICE:  step 2: applied revision "0004_drop_users_plan"/s,
	'a NOTICE per step');
is($node->safe_psql('app', q{SELECT string_agg(revision, ',') FROM migr.version}),
	'0004_drop_users_plan', 'the version row is the head');
is( $node->safe_psql('app',
		q{SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'users'::regclass AND attnum > 0 AND NOT attisdropped}),
	'id,email,is_admin,tier_id', 'the schema is the head\'s');
is( $node->safe_psql('app',
		q{SELECT string_agg(revision, ',' ORDER BY id) FROM migr.log WHERE operation = 'upgrade' AND confirmed}),
	'0001_initial_schema,0002_add_widget_table,0003_users_tier_id,0004_drop_users_plan',
	'four confirmed upgrade steps in the log');

# ---------------------------------------------------------------------------
# A failing statement: the file and its line; the rest stays.
# ---------------------------------------------------------------------------
write_file("$dir/0005_gadgets.sql", $gadgets);
write_file("$dir/0006_gizmos.sql",
	    "-- migr:revision 0006_gizmos\n-- migr:down_revision 0005_gadgets\n-- migr:message gizmos\n\n"
	  . "-- migr:upgrade\nCREATE TABLE gizmos (id int);\n");
($rc, $out, $err) = run_tool('app', '--production', $dir);
is($rc, 1, 'a failing deploy exits 1');
like($err, qr/migr-deploy: failed at 0005_gadgets\.sql, line 9 \(revision "0005_gadgets", upgrade\)\n\z/,
	'its last line names the file and the line of the failing statement');
like($err, qr/relation "no_such_table" does not exist/, 'psql printed the error itself');
is($node->safe_psql('app', q{SELECT string_agg(revision, ',') FROM migr.version}),
	'0004_drop_users_plan', 'the version row stays at 0004');
is($node->safe_psql('app', q{SELECT to_regclass('gadgets') IS NULL AND to_regclass('gizmos') IS NULL}),
	't', 'the failed step and the one after it changed no schema');
is( $node->safe_psql('app',
		q{SELECT string_agg(revision || ':' || error_sqlstate, ',') FROM migr.log WHERE error_sqlstate IS NOT NULL}),
	'0005_gadgets:42P01', 'the failure is on record');

# Fixed, the same command goes on from the failed step.
write_file("$dir/0005_gadgets.sql", $gadgets =~ s/no_such_table/users/r);
($rc, $out, $err) = run_tool('app', '--production', $dir);
is($rc, 0, 'after the fix the deploy exits 0') or diag($err);
like($out, qr/0005_gadgets\.sql\s+\|\s+0005_gadgets\s+\|\s+updated/, 'the fixed file updated its revision');
is($node->safe_psql('app', q{SELECT string_agg(revision, ',') FROM migr.version}),
	'0006_gizmos', 'the version row is the new head');
is($node->safe_psql('app', q{SELECT count(*) FROM gadgets}), '1', 'gadgets were made for the users');

# ---------------------------------------------------------------------------
# A step outside a transaction, run by migr's background worker within the
# same CALL: its failure names the file and line too, and after the repair
# the same command goes on.
# ---------------------------------------------------------------------------
$node->safe_psql('postgres', 'CREATE DATABASE dev');
$node->safe_psql('dev', 'CREATE EXTENSION migr');
my $dir3 = "$tmp/concurrent";
make_path($dir3);
write_file("$dir3/0001_items.sql",
	    "-- migr:revision 0001_items\n-- migr:down_revision\n-- migr:message items\n\n-- migr:upgrade\n"
	  . "CREATE TABLE items (k int);\nINSERT INTO items VALUES (1), (1);\n");
write_file("$dir3/0002_items_k.sql",
	    "-- migr:revision 0002_items_k\n-- migr:down_revision 0001_items\n-- migr:message unique k\n\n"
	  . "-- migr:upgrade\n\nCREATE UNIQUE INDEX CONCURRENTLY items_k ON items (k);\n");
($rc, $out, $err) = run_tool('dev', $dir3);
is($rc, 1, 'a failing concurrent index build exits 1');
like($err, qr/could not create unique index "items_k"/, 'psql printed the worker\'s error');
like($err, qr/migr-deploy: failed at 0002_items_k\.sql, line 7 \(revision "0002_items_k", upgrade\)\n\z/,
	'its last line names the file and the line');
is($node->safe_psql('dev', q{SELECT string_agg(revision, ',') FROM migr.version}), '0001_items',
	'the step before it stays applied');
$node->safe_psql('dev', q{DROP INDEX items_k; DELETE FROM items WHERE ctid = (SELECT max(ctid) FROM items)});
($rc, $out, $err) = run_tool('dev', $dir3);
is($rc, 0, 'repaired, the same command exits 0') or diag($err);
is($node->safe_psql('dev', q{SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_k'::regclass}), 't',
	'the index is built');
is($node->safe_psql('dev', q{SELECT string_agg(revision, ',') FROM migr.version}), '0002_items_k',
	'the version row is the head');

# Usage errors.
($rc, $out, $err) = run_tool('app', '--no-such-option', $dir);
is($rc, 2, 'an unknown option exits 2');
($rc, $out, $err) = run_tool('app', "$tmp/missing");
is($rc, 2, 'a missing directory exits 2');

$node->stop;
done_testing();
