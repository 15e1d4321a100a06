# test/t/051_replicas_dumps.pl
#
# Dumps of a production database (issue 15, "Dump and restore"):
# - restored into a production database the way README says (the database
#   set to production, the restore run with migr.allow_adhoc_ddl on), with
#   pg_restore, pg_restore --single-transaction --exit-on-error, and psql
#   running a plain dump: the restore exits 0, prints no error, and keeps
#   the revisions, labels, applied and version rows, the launch, the
#   unfinished step and every log row with its id; the restore's own DDL is
#   logged too, without taking a restored id; the next upgrade works.
# - a schema-only clone (pg_dump --schema-only) has the schema and a history
#   that says base: its next deploy is refused (MG006) before it runs
#   anything, with a hint naming migr_stamp and the dump of migr's rows; each
#   of the two fixes works.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dumps');
$node->init;
$node->start;
my $tempdir = PostgreSQL::Test::Utils::tempdir;

# A production database to dump.
$node->safe_psql('postgres', q{
CREATE DATABASE prod;
ALTER DATABASE prod SET migr.environment = 'production';
});
$node->safe_psql('prod', q{
SET migr.allow_adhoc_ddl = on;
CREATE EXTENSION migr;
SET migr.confirm_production = on;
SELECT migr_revision('tiers', $m$
CREATE TABLE tiers (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO tiers VALUES (1, 'free'), (2, 'paid');
$m$, 'DROP TABLE tiers;', 'a1', '{}');
SELECT migr_revision('users', $m$
CREATE TABLE users (id serial PRIMARY KEY, tier int NOT NULL REFERENCES tiers);
CREATE INDEX users_tier ON users (tier);
INSERT INTO users (tier) VALUES (2);
$m$, 'DROP TABLE users;', 'b2', '{a1}', '{accounts}');
SELECT migr_revision('audit', 'CREATE TABLE audit (at timestamptz);', 'DROP TABLE audit;', 'c3', '{a1}');
SELECT migr_merge('{b2,c3}', 'merge', 'm4');
SELECT count(*) FROM migr_upgrade('m4');
SELECT migr_launch();
SELECT migr_revision('widgets', 'CREATE TABLE widgets (id int);', 'DROP TABLE widgets;', 'd5', '{m4}');
-- A hotfix let through by the break glass, and logged.
CREATE INDEX audit_at ON audit (at);
});
# An unfinished script step, as an interrupted migr_script() run leaves it.
$node->safe_psql('prod', q{
INSERT INTO migr.in_progress VALUES ('d5', 'up', 'head', '2030-01-01 00:00+00', 'postgres')});

my $catalog_sql = q{
SELECT concat_ws(E'\n',
  (SELECT string_agg(t::text, '|' ORDER BY t.seq) FROM migr.revisions t),
  (SELECT string_agg(t::text, '|' ORDER BY t.label) FROM migr.branch_labels t),
  (SELECT string_agg(t::text, '|' ORDER BY t.revision) FROM migr.applied t),
  (SELECT string_agg(t::text, '|' ORDER BY t.revision) FROM migr.version t),
  (SELECT string_agg(t::text, '|') FROM migr.launch t),
  (SELECT string_agg(t::text, '|') FROM migr.in_progress t),
  (SELECT last_value || '/' || is_called FROM migr.revision_seq),
  (SELECT last_value || '/' || is_called FROM migr.run_seq))};
my $src_catalog = $node->safe_psql('prod', $catalog_sql);
my $src_max_log = $node->safe_psql('prod', 'SELECT max(id) FROM migr.log');
my $log_sql     = qq{SELECT string_agg(t::text, '|' ORDER BY t.id) FROM migr.log t
                     WHERE id BETWEEN 1 AND $src_max_log};
my $src_log = $node->safe_psql('prod', $log_sql);
is($node->safe_psql('prod', q{SELECT string_agg(operation, ',' ORDER BY id) FROM migr.log}),
	'register,register,register,register,upgrade,upgrade,upgrade,upgrade,launch,register,adhoc_ddl',
	'source: the log holds registrations, upgrades, the launch and an ad-hoc change');

my $dump = "$tempdir/prod.dump";
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('prod'), '-f', $dump ],
	'pg_dump -Fc of the production database');
my $plain = "$tempdir/prod.sql";
$node->command_ok([ 'pg_dump', '-Fp', '-d', $node->connstr('prod'), '-f', $plain ],
	'pg_dump -Fp of the production database');

# Run @cmd with the production restore settings of README; returns (ok, stderr).
sub restore_cmd
{
	my (@cmd) = @_;
	my ($stdout, $stderr);
	local $ENV{PGOPTIONS} = '-c migr.allow_adhoc_ddl=on';
	my $ok = IPC::Run::run(\@cmd, '>', \$stdout, '2>', \$stderr);
	return ($ok, $stderr);
}

# A new production database.
sub create_production_db
{
	my ($db) = @_;
	$node->safe_psql('postgres', qq{
CREATE DATABASE $db;
ALTER DATABASE $db SET migr.environment = 'production';});
	return;
}

# The checks of one restored production database.
sub check_restored
{
	my ($db, $how) = @_;
	is($node->safe_psql($db, $catalog_sql), $src_catalog,
		"$how: revisions, labels, applied, version, launch, unfinished step, sequences identical");
	is($node->safe_psql($db, $log_sql), $src_log, "$how: every log row of the source, with its id");
	is( $node->safe_psql(
			$db, qq{SELECT count(*) FILTER (WHERE operation <> 'adhoc_ddl')
                      FROM migr.log WHERE id NOT BETWEEN 1 AND $src_max_log}),
		'0', "$how: the other log rows are the restore's ad-hoc DDL");
	like( $node->safe_psql(
			$db, q{SELECT string_agg(statement, E'\n' ORDER BY id) FROM migr.log WHERE id < 0}),
		qr/CREATE TABLE public\.tiers/,
		"$how: the restore's schema DDL is logged, below the restored ids");
	cmp_ok($node->safe_psql($db, 'SELECT last_value FROM migr.log_seq'), '>=', $src_max_log,
		"$how: log_seq goes on after the restored ids");
	is($node->safe_psql($db, q{SELECT string_agg(c, ',') FROM migr_current() c}), 'm4',
		"$how: current is m4");
	is($node->safe_psql($db, q{SELECT migr_status()->'in_progress'->0->>'revision'}), 'd5',
		"$how: migr_status reports the unfinished step");
	is( $node->safe_psql(
			$db, q{SET migr.confirm_production = on;
                   SELECT string_agg(revision, ',') FROM migr_upgrade('head')}),
		'd5', "$how: the next upgrade applies the pending revision");
	is( $node->safe_psql(
			$db, qq{SELECT count(*) FROM migr.log
                     WHERE operation = 'upgrade' AND revision = 'd5'
                       AND id > (SELECT max(id) FROM migr.log WHERE operation = 'adhoc_ddl')}),
		'1', "$how: and logs it after everything else");
	return;
}

create_production_db('dst');
my ($ok, $err) =
  restore_cmd('pg_restore', '-d', $node->connstr('dst'), $dump);
ok($ok, 'pg_restore into production exits with status 0');
unlike($err, qr/error/i, 'pg_restore into production reports no error') or diag($err);
check_restored('dst', 'pg_restore');

create_production_db('dst1');
($ok, $err) = restore_cmd('pg_restore', '--single-transaction', '--exit-on-error',
	'-d', $node->connstr('dst1'), $dump);
ok($ok, 'pg_restore -1 -e into production exits with status 0');
unlike($err, qr/error/i, 'pg_restore -1 -e into production reports no error') or diag($err);
check_restored('dst1', 'pg_restore -1 -e');

create_production_db('dst2');
($ok, $err) = restore_cmd('psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('dst2'),
	'-f', $plain);
ok($ok, 'psql -f of a plain dump into production exits with status 0');
unlike($err, qr/error/i, 'psql -f of a plain dump into production reports no error') or diag($err);
check_restored('dst2', 'plain dump');

is($node->safe_psql('prod', $catalog_sql), $src_catalog, 'source: unchanged');

# ---------------------------------------------------------------------------
# A schema-only clone: the schema, no history.
# ---------------------------------------------------------------------------
my $schema = "$tempdir/schema.sql";
$node->command_ok(
	[ 'pg_dump', '--schema-only', '-d', $node->connstr('prod'), '-f', $schema ],
	'pg_dump --schema-only');

# The deploy registers the revisions (here as the source registered them)
# and upgrades to head.
my $register = q{
SELECT migr_revision('tiers', $m$
CREATE TABLE tiers (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO tiers VALUES (1, 'free'), (2, 'paid');
$m$, 'DROP TABLE tiers;', 'a1', '{}');
SELECT migr_revision('users', $m$
CREATE TABLE users (id serial PRIMARY KEY, tier int NOT NULL REFERENCES tiers);
CREATE INDEX users_tier ON users (tier);
INSERT INTO users (tier) VALUES (2);
$m$, 'DROP TABLE users;', 'b2', '{a1}', '{accounts}');
SELECT migr_revision('audit', 'CREATE TABLE audit (at timestamptz);', 'DROP TABLE audit;', 'c3', '{a1}');
SELECT migr_merge('{b2,c3}', 'merge', 'm4');
SELECT migr_revision('widgets', 'CREATE TABLE widgets (id int);', 'DROP TABLE widgets;', 'd5', '{m4}');
};
my $schema_sql = q{
SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace};

foreach my $env ('development', 'production')
{
	my $db = "clone_$env";
	$node->safe_psql('postgres', qq{
CREATE DATABASE $db;
ALTER DATABASE $db SET migr.environment = '$env';});
	($ok, $err) = restore_cmd('psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr($db),
		'-f', $schema);
	ok($ok, "$env clone: the schema-only dump restores") or diag($err);
	is($node->safe_psql($db, 'SELECT count(*) FROM migr.revisions'), '0',
		"$env clone: without migr's rows (they are data)");
	my $before_schema = $node->safe_psql($db, $schema_sql);
	like($before_schema, qr/tiers/, "$env clone: with the schema");

	my ($rc, $out, $e) = $node->psql($db,
		"\\set VERBOSITY verbose\nSET migr.confirm_production = on;\nBEGIN;\n$register\n"
		  . "SELECT * FROM migr_upgrade('head');\nCOMMIT;");
	like($e, qr/ERROR:  MG006: the schema already has table "tiers", which revision "a1" creates, but migr's history says no revision is applied/,
		"$env clone: the deploy is refused with MG006, naming the table and the revision");
	like($e, qr/HINT:  Record the revision the schema is at without running anything: SELECT \* FROM migr_stamp\('REVISION'\); or copy the history as well: pg_dump --data-only --table='migr\.\*'/,
		"$env clone: the hint names migr_stamp and the dump of migr's rows");
	is($node->safe_psql($db, $schema_sql), $before_schema, "$env clone: the refusal changed no table");
	is($node->safe_psql($db, 'SELECT count(*) FROM migr.revisions'), '0',
		"$env clone: and, in the deploy's transaction, registered nothing");

	# A dry run reports it (as it reports every guard, in a row).
	$node->safe_psql($db, "SET migr.confirm_production = on;\n$register");
	like( $node->safe_psql(
			$db, q{SELECT string_agg(error, ',') FROM migr_upgrade('head', dry_run => true)}),
		qr/MG006: the schema already has table "tiers"/, "$env clone: a dry run reports it");
}

# The psql path too: the script migr_script() writes stops at its first step.
my $script = "$tempdir/clone.sql";
append_to_file($script, $node->safe_psql('clone_development', q{SELECT migr_script('head')}) . "\n");
my ($sout, $serr) = ('', '');
isnt( $node->psql(
		'clone_development', undef,
		stdout => \$sout, stderr => \$serr, on_error_stop => 1,
		extra_params => [ '-v', 'VERBOSITY=verbose', '-f', $script ]),
	0, 'development clone: the migr_script() script fails');
like($serr, qr/ERROR:  MG006: the schema already has table "tiers", which revision "a1" creates/,
	'development clone: at its first step, with MG006');
is($node->safe_psql('clone_development', 'SELECT count(*) FROM migr.applied'), '0',
	'development clone: and records nothing');

# Fix 1: stamp the revision the schema is at, then the pending one runs.
is( $node->safe_psql(
		'clone_development', q{SELECT string_agg(revision, ',' ORDER BY step) FROM migr_stamp('m4')}),
	'a1,b2,c3,m4', 'fix by stamp: the applied revisions are recorded');
is( $node->safe_psql(
		'clone_development', q{SELECT string_agg(revision, ',') FROM migr_upgrade('head')}),
	'd5', 'fix by stamp: the next upgrade runs only the pending revision');

# Fix 2: copy migr's rows from the source, into the production clone (whose
# log already has the ad-hoc rows of the schema restore).
$node->safe_psql('clone_production', q{
SET migr.allow_adhoc_ddl = on;
TRUNCATE migr.revisions, migr.branch_labels, migr.applied, migr.version, migr.in_progress});
my $rows = "$tempdir/migr-rows.sql";
$node->command_ok(
	[ 'pg_dump', '--data-only', '--table=migr.*', '-d', $node->connstr('prod'), '-f', $rows ],
	"pg_dump --data-only --table='migr.*'");
($ok, $err) = restore_cmd('psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d',
	$node->connstr('clone_production'), '-f', $rows);
ok($ok, 'fix by copying the history: migr\'s rows restore') or diag($err);
is($node->safe_psql('clone_production', $catalog_sql), $src_catalog,
	'fix by copying the history: the catalog is the source\'s');
is($node->safe_psql('clone_production', $log_sql), $src_log,
	'fix by copying the history: with every log row of the source');
is( $node->safe_psql(
		'clone_production', q{SET migr.confirm_production = on;
                              SELECT string_agg(revision, ',') FROM migr_upgrade('head')}),
	'd5', 'fix by copying the history: the next upgrade runs only the pending revision');

$node->stop;
done_testing();
