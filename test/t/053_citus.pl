# test/t/053_citus.pl
#
# migr in a Citus cluster: a coordinator and two workers on local ports,
# citus and migr in shared_preload_libraries, migr installed on every node
# (CREATE EXTENSION on the coordinator; Citus creates it on the workers).
#
# Development: a migration that creates and distributes a table, one that
# adds a column and an index, and a CREATE INDEX CONCURRENTLY step (the
# migr_script() psql path), run by a deploy role on the coordinator, reach
# every shard on both workers; their downgrade removes them from every
# shard.  In production the CREATE INDEX CONCURRENTLY step also runs (down
# and up) through CALL migr_downgrade_each / migr_upgrade_each, in their
# background worker.
#
# Production (migr.environment on every node): the same confirmed
# migrations pass the workers' DDL guard; ad-hoc DDL on the coordinator
# (DDL, and Citus's create_distributed_table() called outside a migration)
# and directly on a worker is refused with MG002; an application role that
# forges Citus's application_name on a worker is refused; migr's changing
# functions refuse to run on a worker (MG007, naming the coordinator), and
# its reading functions say where the history lives.
#
# Skipped (plan skip_all) when Citus is not installed for this PostgreSQL.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $libdir = `pg_config --pkglibdir`;
my $sharedir = `pg_config --sharedir`;
chomp($libdir, $sharedir);
if (!-f "$libdir/citus.so" || !-f "$sharedir/extension/citus.control")
{
	plan skip_all =>
	  "Citus is not installed for this PostgreSQL ($libdir); to run this test, "
	  . "install it as root with ../shared/vendor/build-citus.sh (see README, \"Citus clusters\")";
}

my $db = 'postgres';
my @nodes;
foreach my $name ('coordinator', 'worker1', 'worker2')
{
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf(
		'postgresql.conf', q{
shared_preload_libraries = 'citus,migr'
max_connections = 60
citus.shard_count = 4
citus.max_adaptive_executor_pool_size = 2
});
	$node->start;
	$node->safe_psql($db, 'CREATE EXTENSION citus');
	push @nodes, $node;
}
my ($coord, @workers) = @nodes;

$coord->safe_psql($db,
	    "SELECT citus_set_coordinator_host('"
	  . $coord->host . "', "
	  . $coord->port . ")");
foreach my $w (@workers)
{
	$coord->safe_psql($db,
		"SELECT citus_add_node('" . $w->host . "', " . $w->port . ")");
}
is($coord->safe_psql($db, q{SELECT count(*) FROM citus_get_active_worker_nodes()}),
	'2', 'a coordinator with two workers');

# migr on the coordinator; Citus creates the extension, and the roles, on
# the workers.  deploy runs migrations (on the workers it needs EXECUTE on
# migr_upgrade too: that is what lets its propagated DDL through); app may
# create tables in public, so that a refusal below is migr's, not a missing
# privilege.
$coord->safe_psql(
	$db, q{
CREATE EXTENSION migr;
CREATE ROLE deploy LOGIN;
CREATE ROLE app LOGIN;
GRANT CREATE ON SCHEMA public TO deploy, app;
GRANT EXECUTE ON FUNCTION
    migr_revision(text, text, text, text, text[], text[], text[], boolean, boolean),
    migr_upgrade(text, boolean), migr_downgrade(text, boolean),
    migr_script(text, text),
    migr_step_begin(text, text, text, text), migr_step_end(text, text, text, text)
  TO deploy;
GRANT EXECUTE ON PROCEDURE migr_upgrade_each(text), migr_downgrade_each(text) TO deploy;
});
foreach my $w (@workers)
{
	is( $w->safe_psql($db,
			q{SELECT count(*) FROM pg_extension WHERE extname = 'migr'}),
		'1', $w->name . ': migr was created there by Citus');
	$w->safe_psql($db,
		q{GRANT EXECUTE ON FUNCTION migr_upgrade(text, boolean) TO deploy});
}

# psql on $node as $user; returns (rc, stdout, stderr), errors verbose.
sub psql_as
{
	my ($node, $user, $sql, %env) = @_;
	local %ENV = (%ENV, %env);
	my ($stdout, $stderr) = ('', '');
	my $rc = $node->psql(
		$db, $sql,
		stdout        => \$stdout,
		stderr        => \$stderr,
		extra_params  => [ '-U', $user, '-v', 'VERBOSITY=verbose' ],
		on_error_stop => 1);
	return ($rc, $stdout, $stderr);
}

# Run the psql script migr_script($target, $direction) writes, as deploy.
sub run_script
{
	my ($target, $direction, %env) = @_;
	my $script = $coord->safe_psql($db,
		"SELECT migr_script('$target', '$direction')",
		extra_params => [ '-U', 'deploy' ]);
	my $file = PostgreSQL::Test::Utils::tempdir() . '/step.sql';
	PostgreSQL::Test::Utils::append_to_file($file, $script);
	return psql_as($coord, 'deploy', "\\i $file", %env);
}

# What every shard of "items" on worker $w has (Citus hides shards from
# queries on pg_class unless told not to): "shards/with price/
# items_name indexes/items_price indexes (valid)".
sub shards
{
	my ($w) = @_;
	return $w->safe_psql(
		$db, q{
SET citus.override_table_visibility = off;
SELECT (SELECT count(*) FROM pg_class WHERE relname ~ '^items_[0-9]+$' AND relkind = 'r')
  || '/' || (SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
              WHERE c.relname ~ '^items_[0-9]+$' AND a.attname = 'price' AND NOT a.attisdropped)
  || '/' || (SELECT count(*) FROM pg_class WHERE relname ~ '^items_name_[0-9]+$')
  || '/' || (SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
              WHERE c.relname ~ '^items_price_[0-9]+$' AND i.indisvalid)});
}

sub all_shards
{
	return join(' ', map { shards($_) } @workers);
}

# The migrations, registered by deploy.
my ($rc, $out, $err) = psql_as(
	$coord, 'deploy', q{
SELECT migr_revision('items',
    $$CREATE TABLE items (id bigint PRIMARY KEY, name text);
      SELECT create_distributed_table('items', 'id');$$,
    'DROP TABLE items;', 'c1', '{}');
SELECT migr_revision('price and name index',
    'ALTER TABLE items ADD COLUMN price int; CREATE INDEX items_name ON items (name);',
    'DROP INDEX items_name; ALTER TABLE items DROP COLUMN price;', 'c2', '{c1}');
SELECT migr_revision('price index',
    'CREATE INDEX CONCURRENTLY items_price ON items (price);',
    'DROP INDEX CONCURRENTLY items_price;', 'c3', '{c2}');
SELECT migr_revision('local table', 'CREATE TABLE loc (id int PRIMARY KEY);',
    'DROP TABLE loc;', 'c4', '{c3}');
});
is($rc, 0, 'deploy registers the migrations') or diag($err);

# --- Development -----------------------------------------------------------

($rc, $out, $err) =
  psql_as($coord, 'deploy', q{SELECT string_agg(revision, ',') FROM migr_upgrade('c2')});
is($rc, 0, 'development: migr_upgrade to c2 on the coordinator') or diag($err);
is(all_shards(), '2/2/2/0 2/2/2/0',
	'development: every shard has the column and the index');

($rc, $out, $err) = run_script('c3', 'upgrade');
is($rc, 0, 'development: the CREATE INDEX CONCURRENTLY step through migr_script()')
  or diag($err);
is(all_shards(), '2/2/2/2 2/2/2/2',
	'development: every shard has the concurrently built index, valid')
  or diag(all_shards());

# An application role with CREATE on public can create a table on a worker
# in development, forged application_name or not: the refusals below are
# the production guard's.
($rc, $out, $err) = psql_as($workers[0], 'app',
	q{CREATE TABLE app_dev (x int); DROP TABLE app_dev;},
	PGAPPNAME => 'citus_internal gpid=10000000001');
is($rc, 0, 'development: app may create a table on a worker') or diag($err);

($rc, $out, $err) = run_script('base', 'downgrade');
is($rc, 0, 'development: the downgrade to base through migr_script()') or diag($err);
is(all_shards(), '0/0/0/0 0/0/0/0', 'development: the downgrade removed every shard');
is($coord->safe_psql($db, q{SELECT count(*) FROM migr_current()}),
	'0', 'development: at base');

# --- Production on every node ----------------------------------------------

foreach my $node (@nodes)
{
	$node->safe_psql($db,
		q{ALTER SYSTEM SET migr.environment = 'production'; SELECT pg_reload_conf();});
}
foreach my $node (@nodes)
{
	$node->poll_query_until($db, q{SELECT current_setting('migr.environment') = 'production'})
	  or die $node->name . ': not in production';
}

my %confirm = (PGOPTIONS => '-c migr.confirm_production=yes');
($rc, $out, $err) = psql_as($coord, 'deploy',
	q{SELECT string_agg(revision, ',') FROM migr_upgrade('c2')}, %confirm);
is($rc, 0, 'production: the confirmed migration passes the workers\' guard')
  or diag($err);
is($out, 'c1,c2', 'production: c1 and c2 applied');
is(all_shards(), '2/2/2/0 2/2/2/0',
	'production: every shard has the column and the index');

($rc, $out, $err) = run_script('c3', 'upgrade', %confirm);
is($rc, 0, 'production: the CREATE INDEX CONCURRENTLY step passes too') or diag($err);
is(all_shards(), '2/2/2/2 2/2/2/2', 'production: every shard has the index, valid');

# The same step through CALL migr_downgrade_each / migr_upgrade_each, which
# run it in a background worker on the coordinator.
($rc, $out, $err) = psql_as($coord, 'deploy', q{CALL migr_downgrade_each('c2')},
	%confirm, PGOPTIONS => '-c migr.confirm_production=yes -c migr.allow_destructive=on');
is($rc, 0, 'production: CALL migr_downgrade_each drops the index concurrently')
  or diag($err);
is(all_shards(), '2/2/2/0 2/2/2/0', 'production: from every shard');
($rc, $out, $err) = psql_as($coord, 'deploy', q{CALL migr_upgrade_each('c3')}, %confirm);
is($rc, 0, 'production: CALL migr_upgrade_each builds it again') or diag($err);
is(all_shards(), '2/2/2/2 2/2/2/2', 'production: on every shard, valid');

($rc, $out, $err) = psql_as($coord, 'deploy',
	q{SELECT string_agg(revision, ',') FROM migr_upgrade('c4')}, %confirm);
is($rc, 0, 'production: c4 (a local table) applied') or diag($err);

# Ad-hoc DDL on the coordinator.
($rc, $out, $err) = psql_as($coord, 'deploy', q{ALTER TABLE items ADD COLUMN adhoc int});
like($err, qr/MG002: ad-hoc schema change "ALTER TABLE" is not allowed in production/,
	'production: ad-hoc ALTER TABLE on the coordinator refused');
($rc, $out, $err) = psql_as($coord, 'deploy', q{SELECT create_distributed_table('loc', 'id')});
like(
	$err,
	qr/MG002: ad-hoc schema change "create_distributed_table" is not allowed in production/,
	'production: create_distributed_table() outside a migration refused');
($rc, $out, $err) = psql_as($coord, 'postgres', q{SELECT undistribute_table('items')});
like($err, qr/MG002: ad-hoc schema change "undistribute_table"/,
	'production: undistribute_table() outside a migration refused, superuser too');
is( $coord->safe_psql(
		$db, q{SELECT string_agg(logicalrelid::text, ',') FROM pg_dist_partition}),
	'items', 'production: only items is distributed');

# Ad-hoc DDL directly on a worker, as a superuser, as deploy.
my $shard = $workers[0]->safe_psql($db,
	q{SET citus.override_table_visibility = off; SELECT relname FROM pg_class WHERE relname ~ '^items_[0-9]+$' AND relkind = 'r' LIMIT 1});
($rc, $out, $err) = psql_as($workers[0], 'postgres', "ALTER TABLE $shard ADD COLUMN adhoc int");
like($err, qr/MG002: ad-hoc schema change "ALTER TABLE"/,
	'production: ad-hoc ALTER TABLE of a shard on a worker refused');
($rc, $out, $err) = psql_as($workers[0], 'deploy', q{CREATE TABLE on_worker (x int)});
like($err, qr/MG002: ad-hoc schema change "CREATE TABLE"/,
	'production: deploy\'s ad-hoc CREATE TABLE on a worker refused');

# An application role forging Citus's connection on a worker: at connection
# start, and with SET.
($rc, $out, $err) = psql_as($workers[0], 'app', q{CREATE TABLE forged (x int)},
	PGAPPNAME => 'citus_internal gpid=10000000001');
like($err, qr/MG002: ad-hoc schema change "CREATE TABLE"/,
	'production: app with a forged citus_internal application_name refused');
($rc, $out, $err) = psql_as($workers[1], 'app',
	q{SET application_name = 'citus_internal gpid=10000012345'; CREATE TABLE forged (x int)});
like($err, qr/MG002: ad-hoc schema change "CREATE TABLE"/,
	'production: app setting the application_name itself refused');

is(all_shards(), '2/2/2/2 2/2/2/2', 'production: the refusals changed no shard');
foreach my $w (@workers)
{
	is( $w->safe_psql(
			$db,
			q{SET citus.override_table_visibility = off;
              SELECT count(*) FROM pg_class
               WHERE relname IN ('on_worker', 'forged')
                  OR (relname ~ '^items_[0-9]+$' AND EXISTS
                      (SELECT 1 FROM pg_attribute WHERE attrelid = pg_class.oid AND attname = 'adhoc'))}),
		'0', $w->name . ': no ad-hoc table or column');
}

# migr on a worker: changing functions refuse, reading functions say where
# the history lives.
my $where = quotemeta($coord->host . ':' . $coord->port);
foreach my $call (
	q{SELECT * FROM migr_upgrade('head')},
	q{SELECT migr_revision('x', 'CREATE TABLE x (i int);', NULL, 'w1', '{}')},
	q{SELECT migr_step_begin('c1', 'up', 'x', 'head')},
	q{SELECT * FROM migr_stamp('c1')})
{
	($rc, $out, $err) = psql_as($workers[0], 'postgres', $call, %confirm);
	like($err, qr/MG007: .* cannot run on a Citus worker node/,
		"worker refuses: $call");
	like($err, qr/lives on the coordinator \($where\)/, "... and names the coordinator");
}
is($workers[0]->safe_psql($db, q{SELECT count(*) FROM migr.log}),
	'0', 'the worker\'s migr catalog stayed empty');

($rc, $out, $err) = psql_as($workers[1], 'app', q{SELECT count(*) FROM migr_current()});
like($err, qr/NOTICE: .*this is a Citus worker node: migr's history lives on the coordinator \($where\)/,
	'migr_current() on a worker says where the history lives');
($rc, $out, $err) = psql_as($workers[1], 'app', q{SELECT count(*) FROM migr_history()});
like($err, qr/this is a Citus worker node/, 'so does migr_history()');
is( $workers[1]->safe_psql($db, q{SELECT migr_status() -> 'citus' ->> 'node'}),
	'worker', 'migr_status() on a worker: node "worker"');
like($workers[1]->safe_psql($db, q{SELECT migr_status() ->> 'warnings'}),
	qr/Citus worker node/, 'migr_status() on a worker warns');
is( $coord->safe_psql($db,
		q{SELECT (migr_status() -> 'citus' ->> 'node') || ' ' || (migr_status() ->> 'current')}),
	'coordinator ["c4"]', 'migr_status() on the coordinator: the history');
($rc, $out, $err) = psql_as($coord, 'app', q{SELECT count(*) FROM migr_current()});
unlike($err, qr/Citus worker/, 'no notice on the coordinator');

done_testing();
