# test/t/050_import.pl
#
# Switching to migr from six tools: bin/migr-import and migr_adopt().  For
# each of flyway, golang-migrate, dbmate, diesel, sqitch and alembic, the
# history in test/import/FORMAT (23 or 24 migrations with the tool's quirks,
# written by test/import/make-fixtures.py) is
#   1. applied to database tool_FORMAT by the tool itself where it is
#      installed (Alembic from python3-alembic with python3-psycopg2, Sqitch
#      from Debian, dbmate from npm), otherwise the way the tool applies it
#      (each file with psql, in the tool's order and transaction mode) with
#      the version table the tool documents;
#   2. imported with bin/migr-import, whose notices and warnings name the
#      files they are about, and loaded with bin/migr-load into an empty
#      database migr_FORMAT and into tool_FORMAT;
#   3. upgraded in migr_FORMAT (migr_upgrade, or migr_script through psql
#      when a revision cannot run in a transaction): pg_dump --schema-only
#      of both databases, less the tools' version tables, is identical;
#   4. adopted in tool_FORMAT: migr_adopt() stamps every applied migration,
#      logged as "adopt", migr_upgrade('heads') is then a no-op, a second
#      adoption does nothing, and the tool's table is unchanged.
# Then the refusals: ROLLBACK and SAVEPOINT in a file, dirty and failed
# version tables, versions without revisions, holes, migr ahead of the
# tool, production without confirmation, a reader without privileges on
# the table or naming migr's own tables; and a table name that needs
# quoting.

use strict;
use warnings;

use File::Basename qw(dirname);
use File::Find;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $repo = $ENV{MIGR_REPO} // dirname(__FILE__) . '/../..';
my $fixtures = "$repo/test/import";
my $import = "$repo/bin/migr-import";
my $load = "$repo/bin/migr-load";

my $node = PostgreSQL::Test::Cluster->new('import');
$node->init;
$node->start;
my $dir = PostgreSQL::Test::Utils::tempdir();
my $user = $node->safe_psql('postgres', 'SELECT current_user');
$node->safe_psql('postgres', 'CREATE EXTENSION migr');

# Run a command with the node's connection in the environment; returns
# (exit status, stdout, stderr).
sub run_tool
{
	my ($db, $cmd, %env) = @_;
	local $ENV{PGHOST} = $node->host;
	local $ENV{PGPORT} = $node->port;
	local $ENV{PGDATABASE} = $db;
	local $ENV{PGUSER} = $user;
	local @ENV{ keys %env } = values %env;
	my ($out, $err) = ('', '');
	IPC::Run::run($cmd, '<', \undef, '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

sub must
{
	my ($db, $cmd, $what, %env) = @_;
	my ($rc, $out, $err) = run_tool($db, $cmd, %env);
	is($rc, 0, $what) or diag("$out\n$err");
	return ($out, $err);
}

# psql -f FILE as the tool would run it (one transaction or not).
sub psql_file
{
	my ($db, $file, $single) = @_;
	my @cmd = ('psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', ($single ? ('-1') : ()), '-f', $file);
	my ($rc, $out, $err) = run_tool($db, \@cmd);
	die "psql -f $file failed: $err" if $rc != 0;
}

sub slurp
{
	my ($path) = @_;
	open(my $fh, '<', $path) or die "cannot read $path: $!";
	local $/;
	my $c = <$fh>;
	close($fh);
	return $c;
}

sub spew
{
	my ($path, $content) = @_;
	open(my $fh, '>', $path) or die "cannot write $path: $!";
	print $fh $content;
	close($fh);
}

sub sqlq { my ($s) = @_; $s =~ s/'/''/g; return "'$s'"; }

# Flyway's order of versions: numeric parts, 1.10 after 1.9.
sub flyway_cmp
{
	my @a = split /[._]/, $a->[0];
	my @b = split /[._]/, $b->[0];
	while (@a || @b)
	{
		my $x = shift(@a) // 0;
		my $y = shift(@b) // 0;
		return $x <=> $y if $x != $y;
	}
	return 0;
}

# ---------------------------------------------------------------------------
# The tools, or what they do
# ---------------------------------------------------------------------------
my %tool_table = (
	flyway => 'flyway_schema_history',
	'golang-migrate' => 'schema_migrations',
	dbmate => 'schema_migrations',
	diesel => '__diesel_schema_migrations',
	sqitch => 'sqitch.changes',
	alembic => 'alembic_version');
my %how;

sub apply_flyway
{
	my ($db) = @_;
	my @files;
	find(sub { push @files, [ $1, $File::Find::name, $2 ] if /^V([0-9._]+?)__(.*)\.sql$/ },
		"$fixtures/flyway");
	$node->safe_psql($db, q{
CREATE TABLE flyway_schema_history (
    installed_rank integer NOT NULL PRIMARY KEY, version varchar(50),
    description varchar(200) NOT NULL, type varchar(20) NOT NULL,
    script varchar(1000) NOT NULL, checksum integer,
    installed_by varchar(100) NOT NULL, installed_on timestamp NOT NULL DEFAULT now(),
    execution_time integer NOT NULL, success boolean NOT NULL)});
	my $rank = 0;
	for my $f (sort flyway_cmp @files)
	{
		psql_file($db, $f->[1], 1);
		(my $v = $f->[0]) =~ s/_/./g;
		$rank++;
		$node->safe_psql($db,
			"INSERT INTO flyway_schema_history VALUES ($rank, '$v', "
			  . sqlq($f->[2]) . ", 'SQL', 'V$f->[0]__$f->[2].sql', 0, 'deploy', now(), 5, true)");
	}
	# Repeatable migrations run after the versioned ones, with no version.
	psql_file($db, "$fixtures/flyway/sql/R__order_summary_view.sql", 1);
	$rank++;
	$node->safe_psql($db,
		"INSERT INTO flyway_schema_history VALUES ($rank, NULL, 'order summary view', 'SQL', "
		  . "'R__order_summary_view.sql', 0, 'deploy', now(), 5, true)");
	$how{flyway} = 'each V file with psql -1 in Flyway order, flyway_schema_history as Flyway documents it';
}

sub apply_golang_migrate
{
	my ($db) = @_;
	my @ups = sort glob("$fixtures/golang-migrate/*.up.sql");
	# golang-migrate does not wrap: the files carry their own BEGIN/COMMIT.
	psql_file($db, $_, 0) for @ups;
	my ($last) = $ups[-1] =~ m{/0*([0-9]+)_[^/]*$};
	$node->safe_psql($db,
		"CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);"
		  . "INSERT INTO schema_migrations VALUES ($last, false)");
	$how{'golang-migrate'} = 'each up file with psql (no wrapping), schema_migrations as golang-migrate documents it';
}

sub apply_dbmate
{
	my ($db) = @_;
	my $dbmate = $ENV{MIGR_DBMATE} // '/usr/local/lib/migr-test/node_modules/.bin/dbmate';
	if (-x $dbmate)
	{
		my $url = sprintf('postgres://%s@/%s?socket=%s&port=%d&sslmode=disable',
			$user, $db, $node->host, $node->port);
		must($db, [ $dbmate, '--url', $url, '--migrations-dir', "$fixtures/dbmate",
			'--no-dump-schema', 'up' ], 'dbmate up');
		$how{dbmate} = "dbmate itself ($dbmate)";
		return;
	}
	$node->safe_psql($db,
		'CREATE TABLE schema_migrations (version varchar(128) NOT NULL PRIMARY KEY)');
	for my $f (sort glob("$fixtures/dbmate/*.sql"))
	{
		my $text = slurp($f);
		my ($opts, $up) = $text =~ /^-- migrate:up([^\n]*)\n(.*?)^-- migrate:down/ms;
		my $tmp = "$dir/dbmate_up.sql";
		spew($tmp, $up);
		psql_file($db, $tmp, $opts !~ /transaction:false/);
		my ($v) = $f =~ m{/([0-9]+)_[^/]*$};
		$node->safe_psql($db, "INSERT INTO schema_migrations VALUES ('$v')");
	}
	$how{dbmate} = 'each up section with psql as dbmate runs it (dbmate not installed: scripts/setup.sh installs it from npm)';
}

sub apply_diesel
{
	my ($db) = @_;
	$node->safe_psql($db, q{
CREATE TABLE __diesel_schema_migrations (
    version varchar(50) PRIMARY KEY NOT NULL,
    run_on timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP)});
	for my $d (sort grep { -d } glob("$fixtures/diesel/*"))
	{
		my $meta = -e "$d/metadata.toml" ? slurp("$d/metadata.toml") : '';
		psql_file($db, "$d/up.sql", $meta !~ /run_in_transaction\s*=\s*false/);
		my ($v) = $d =~ m{/([^/_]+)_[^/]*$};
		$v =~ s/-//g;
		$node->safe_psql($db, "INSERT INTO __diesel_schema_migrations (version) VALUES ('$v')");
	}
	$how{diesel} = 'each up.sql with psql, in one transaction unless metadata.toml says not, __diesel_schema_migrations as Diesel creates it';
}

sub apply_sqitch
{
	my ($db) = @_;
	my ($rc) = run_tool($db, [ 'sh', '-c', 'command -v sqitch' ]);
	die "sqitch is not installed (scripts/setup.sh installs it)" if $rc != 0;
	must($db, [ 'sqitch', '--chdir', "$fixtures/sqitch", 'deploy', "db:pg:$db" ],
		'sqitch deploy', SQITCH_FULLNAME => 'Test', SQITCH_EMAIL => 'test@example.com',
		HOME => $dir);
	$how{sqitch} = 'sqitch itself';
}

sub apply_alembic
{
	my ($db) = @_;
	my $url = sprintf('postgresql://%s@/%s?host=%s&port=%d', $user, $db, $node->host, $node->port);
	must($db, [ '/usr/bin/python3', '-B', '-m', 'alembic', '-c', "$fixtures/alembic/alembic.ini",
		'upgrade', 'heads' ], 'alembic upgrade heads', SHOP_DATABASE_URL => $url);
	$how{alembic} = 'alembic itself';
}

my %apply = (
	flyway => \&apply_flyway,
	'golang-migrate' => \&apply_golang_migrate,
	dbmate => \&apply_dbmate,
	diesel => \&apply_diesel,
	sqitch => \&apply_sqitch,
	alembic => \&apply_alembic);

# The schema as pg_dump shows it, less the tools' own tables.
sub schema
{
	my ($db) = @_;
	my ($rc, $out, $err) = run_tool($db, [ 'pg_dump', '--schema-only', '--no-owner',
		'-T', 'flyway_schema_history', '-T', 'schema_migrations',
		'-T', '__diesel_schema_migrations', '-T', 'alembic_version',
		'-T', 'order_summary', '-N', 'sqitch' ]);
	die "pg_dump: $err" if $rc != 0;
	# pg_dump's \restrict key is random per dump.
	$out =~ s/^\\(?:un)?restrict .*\n//mg;
	return $out;
}

# ---------------------------------------------------------------------------
# Per format: import, load, same schema, adopt
# ---------------------------------------------------------------------------
my %expect = (
	flyway => {
		count => 23,
		stderr => [ qr{warning: sql/R__order_summary_view\.sql: repeatable migrations \(R__\) are not supported yet.*new migration whenever it changes},
			qr{warning: sql/later/V5__backfill_paid\.sql: no undo migration U5__\*\.sql, imported without a downgrade} ],
		sql => [
			[ q{SELECT down_revision FROM migr.revisions WHERE id = 'V1_10'}, '{V1_9}', '1.10 comes after 1.9' ],
			[ q{SELECT down_revision FROM migr.revisions WHERE id = 'V2'}, '{V1_12}', '2 after 1_12 (1.12)' ],
			[ q{SELECT down_revision FROM migr.revisions WHERE id = 'V10'}, '{V9}', '10 after 9' ],
			[ q{SELECT message FROM migr.revisions WHERE id = 'V1_10'}, 'order totals view', 'message from the description' ],
			[ q{SELECT string_agg(id, ',' ORDER BY id) FROM migr.revisions WHERE downgrade IS NULL}, 'V3,V5', 'U files are the downgrades; V3 and V5 have none' ],
			[ q{SELECT downgrade FROM migr.revisions WHERE id = 'V1_1'}, "DROP TABLE products;\n", 'U1.1 is V1.1\'s downgrade' ] ] },
	'golang-migrate' => {
		count => 23,
		stderr => [ qr{notice: 000003_create_orders\.up\.sql: removed BEGIN \(line 1\), COMMIT \(line 9\)},
			qr{notice: 000004_add_customer_email\.up\.sql: removed BEGIN \(line 1\), COMMIT \(line 3\), BEGIN \(line 5\), COMMIT \(line 7\)},
			qr{notice: 000008_order_status\.up\.sql: removed BEGIN \(line 2\), COMMIT \(line 3\)},
			qr{notice: 000009_create_order_items\.up\.sql: removed START TRANSACTION \(line 1\), END \(line 8\)},
			qr{warning: 000012_customer_notes\.down\.sql does not parse \(.*syntax error.*\), v12 imported without a downgrade},
			qr{warning: 000019_backfill_paid\.up\.sql: no \.down\.sql file, imported without a downgrade} ],
		sql => [
			[ q{SELECT string_agg(id, ',' ORDER BY seq) FROM migr.revisions WHERE downgrade IS NULL}, 'v12,v19', 'the unparsable and the missing down file: no downgrade' ],
			[ q{SELECT down_revision FROM migr.revisions WHERE id = 'v10'}, '{v9}', 'ids from the versions, in order' ],
			[ q{SELECT string_agg(id, ',') FROM migr.revisions WHERE NOT transactional}, 'v16', 'the concurrent index runs outside a transaction' ],
			[ q{SELECT position('BEGIN' in upgrade) > 0 AND position('/* removed on import: BEGIN */' in upgrade) > 0 FROM migr.revisions WHERE id = 'v6'}, 't', 'the BEGIN of the function body stays, the top-level one is gone' ] ] },
	dbmate => {
		count => 23,
		stderr => [],
		sql => [
			[ q{SELECT string_agg(id, ',') FROM migr.revisions WHERE NOT transactional}, 'v20240104120000', 'transaction:false: not transactional' ],
			[ q{SELECT downgrade FROM migr.revisions WHERE id = 'v20240105110000'}, '', 'an empty down section undoes nothing, as in dbmate' ] ] },
	diesel => {
		count => 24,
		stderr => [ qr{warning: 2024-02-07-118000_backfill_paid: no down\.sql, imported without a downgrade} ],
		sql => [
			[ q{SELECT string_agg(id, ',') FROM migr.revisions WHERE NOT transactional}, 'v20240206115000', 'run_in_transaction = false: not transactional' ],
			[ q{SELECT down_revision FROM migr.revisions WHERE id = 'v20240201100000'}, '{v00000000000000}', 'the initial setup goes first' ] ] },
	sqitch => {
		count => 23,
		stderr => [ qr{warning: 8 verify/ scripts were not imported},
			qr{notice: deploy/create_customers\.sql: removed BEGIN \(line 3\), COMMIT \(line 11\)},
			qr{warning: revert/backfill_paid\.sql is missing, backfill_paid imported without a downgrade} ],
		sql => [
			[ q{SELECT depends_on FROM migr.revisions WHERE id = 'create_order_items'}, '{create_orders,create_products}', '[dependencies] become depends_on' ],
			[ q{SELECT string_agg(label || '=' || revision, ',' ORDER BY label) FROM migr.branch_labels}, 'v1_0=seed_products,v2_0=drop_customer_notes', 'tags become labels' ],
			[ q{SELECT message FROM migr.revisions WHERE id = 'create_orders'}, 'Create orders', 'message from the note' ] ] },
	alembic => {
		count => 24,
		stderr => [ qr{warning: migrations/versions/0f36b6ff74e1_backfill_paid\.py: alembic downgrade --sql failed \(the backfill cannot be undone\), imported without a downgrade} ],
		sql => [
			[ q{SELECT down_revision FROM migr.revisions WHERE id = 'f093a8f87577'}, '{cfbc359e193c,f691685eb069}', 'the merge keeps both parents' ],
			[ q{SELECT string_agg(label || '=' || revision, ',' ORDER BY label) FROM migr.branch_labels}, 'audit=25ca3799fa5a,reporting=6c0db3001756', 'branch labels kept' ],
			[ q{SELECT depends_on FROM migr.revisions WHERE id = '6c0db3001756'}, '{8333a397f703}', 'depends_on kept' ],
			[ q{SELECT count(*) FROM migr.revisions WHERE upgrade LIKE '%alembic_version%' OR downgrade LIKE '%alembic_version%'}, '0', 'no statement on alembic_version is left' ] ] },
);

for my $format (qw(flyway golang-migrate dbmate diesel sqitch alembic))
{
	(my $name = $format) =~ s/-/_/g;
	my ($tool_db, $migr_db, $out) = ("tool_$name", "migr_$name", "$dir/out_$name");
	$node->safe_psql('postgres', "CREATE DATABASE $tool_db");
	$node->safe_psql('postgres', "CREATE DATABASE $migr_db");
	$node->safe_psql($_, 'CREATE EXTENSION migr') for ($tool_db, $migr_db);

	$apply{$format}->($tool_db);
	note("$format: the original history applied by $how{$format}");

	my ($stdout, $stderr) = must('postgres', [ $import, $format, "$fixtures/$format", $out ],
		"$format: bin/migr-import converts the history");
	like($stdout, qr/$expect{$format}{count} $format migrations written/, "$format: $expect{$format}{count} migrations");
	like($stderr, $_, "$format: says $_") for @{ $expect{$format}{stderr} };
	my @files = glob("$out/*.sql");
	is(scalar(@files), $expect{$format}{count}, "$format: one file per migration");

	# An empty database: the imported history gives the tool's schema.
	must($migr_db, [ $load, $out ], "$format: bin/migr-load loads the files");
	is($node->safe_psql($migr_db, $_->[0]), $_->[1], "$format: $_->[2]") for @{ $expect{$format}{sql} };
	if ($node->safe_psql($migr_db, 'SELECT bool_and(transactional) FROM migr.revisions') eq 't')
	{
		$node->safe_psql($migr_db, q{SELECT count(*) FROM migr_upgrade('heads')});
	}
	else
	{
		spew("$dir/upgrade_$name.sql",
			$node->safe_psql($migr_db, q{SELECT migr_script('heads', 'upgrade')}) . "\n");
		psql_file($migr_db, "$dir/upgrade_$name.sql", 0);
	}
	is($node->safe_psql($migr_db, 'SELECT count(*) FROM migr.applied'), $expect{$format}{count},
		"$format: every revision applied");
	my $want = schema($tool_db);
	like($want, qr/CREATE TABLE public\.orders/, "$format: the tool made the schema");
	is(schema($migr_db), $want, "$format: same pg_dump --schema-only as $how{$format}");

	# The live database the tool migrated: adopt.
	my $table = $tool_table{$format};
	my $snapshot = "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM $table t";
	my $before = $node->safe_psql($tool_db, $snapshot);
	must($tool_db, [ $load, $out ], "$format: files loaded into the tool's database");
	is($node->safe_psql($tool_db, "SELECT count(*) FROM migr_adopt('$format')"),
		$expect{$format}{count}, "$format: migr_adopt stamps every applied migration");
	is($node->safe_psql($tool_db, q{SELECT count(*) FILTER (WHERE operation = 'adopt' AND direction = 'up'), count(*) FILTER (WHERE operation IN ('upgrade', 'stamp')) FROM migr.log}),
		"$expect{$format}{count}|0", "$format: logged as adoption, nothing run");
	is($node->safe_psql($tool_db, q{SELECT bool_and(stamped) FROM migr.applied}), 't',
		"$format: recorded as stamped");
	is($node->safe_psql($tool_db, q{SELECT count(*) FROM migr_upgrade('heads')}), '0',
		"$format: migr_upgrade('heads') is a no-op after adoption");
	is($node->safe_psql($tool_db, "SELECT count(*) FROM migr_adopt('$format')"), '0',
		"$format: adopting again does nothing");
	is($node->safe_psql($tool_db, $snapshot), $before, "$format: the tool's table is untouched");
	is(schema($tool_db), $want, "$format: adoption ran nothing");
}

# ---------------------------------------------------------------------------
# The importer's refusals
# ---------------------------------------------------------------------------
for my $case ([ 'ROLLBACK', "BEGIN;\nCREATE TABLE r1 (i int);\nROLLBACK;\n", 'ROLLBACK' ],
	[ 'SAVEPOINT', "BEGIN;\nCREATE TABLE r1 (i int);\nSAVEPOINT s1;\nCOMMIT;\n", 'SAVEPOINT' ])
{
	my ($what, $script, $name) = @$case;
	my $src = "$dir/bad_$what";
	mkdir $src;
	spew("$src/000001_ok.up.sql", "CREATE TABLE ok (i int);\n");
	spew("$src/000002_bad.up.sql", $script);
	my ($rc, $o, $e) = run_tool('postgres', [ $import, 'golang-migrate', $src, "$dir/bad_out_$what" ]);
	is($rc, 1, "$what in a file refuses the import");
	like($e, qr{error: 000002_bad\.up\.sql: line 3: $name cannot be carried over}, "$what: the message names file, line and statement");
	like($e, qr/nothing was written/, "$what: says nothing was written");
	ok(!-e "$dir/bad_out_$what", "$what: nothing written");
}
{
	my $src = "$dir/bad_parse";
	mkdir $src;
	spew("$src/000001_x.up.sql", "CREATE TABLE x (i int;\n");
	my ($rc, $o, $e) = run_tool('postgres', [ $import, 'golang-migrate', $src, "$dir/bad_parse_out" ]);
	is($rc, 1, 'an up script that does not parse refuses the import');
	like($e, qr{000001_x\.up\.sql does not parse: .*line 1: syntax error at or near ";"}, 'naming file and line');
}

# ---------------------------------------------------------------------------
# migr_adopt's refusals: each changes nothing
# ---------------------------------------------------------------------------
$node->safe_psql('postgres', 'CREATE DATABASE adopt');
$node->safe_psql('adopt', 'CREATE EXTENSION migr');
must('adopt', [ $load, "$dir/out_golang_migrate" ], 'golang-migrate files loaded for the refusals');

sub refused
{
	my ($sql, $state, $re, $what) = @_;
	my $before = $node->safe_psql('adopt', 'SELECT count(*) FROM migr.log');
	my ($rc, $out, $err) = $node->psql('adopt', "\\set VERBOSITY verbose\n$sql");
	like($err, qr/ERROR:\s+$state: $re/, $what);
	is($node->safe_psql('adopt', 'SELECT count(*) FROM migr.applied'), '0', "$what: nothing applied");
	is($node->safe_psql('adopt', 'SELECT count(*) FROM migr.log'), $before, "$what: nothing logged");
}

$node->safe_psql('adopt',
	'CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL);'
	  . 'INSERT INTO schema_migrations VALUES (7, true)');
refused(q{SELECT * FROM migr_adopt('golang-migrate')}, '55000',
	'schema_migrations is dirty at version 7', 'golang-migrate dirty');
$node->safe_psql('adopt', 'UPDATE schema_migrations SET version = 99, dirty = false');
refused(q{SELECT * FROM migr_adopt('golang-migrate')}, '42704',
	'version "99" applied by golang-migrate has no revision "v99"', 'a version without a revision');

$node->safe_psql('adopt', q{
CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version text, description text,
    type text, script text, checksum int, installed_by text, installed_on timestamp,
    execution_time int, success boolean);
INSERT INTO flyway_schema_history VALUES
    (1, '1', 'a', 'SQL', 'V1__a.sql', 0, 'x', now(), 1, true),
    (2, '2', 'b', 'SQL', 'V2__b.sql', 0, 'x', now(), 1, false)});
refused(q{SELECT * FROM migr_adopt('flyway')}, '55000',
	'flyway_schema_history records a failed migration', 'a failed Flyway row');

$node->safe_psql('adopt', q{CREATE TABLE "Odd ""Name"".x" (version bigint, dirty boolean);
INSERT INTO "Odd ""Name"".x" VALUES (3, false)});
# A hole: Diesel lists every version it applied; one is missing.  (Diesel's
# ids are "v" and the version, so v1, v2, v4 are the revisions loaded here.)
$node->safe_psql('adopt', q{CREATE TABLE holes (version varchar(50)); INSERT INTO holes VALUES ('1'), ('2'), ('4')});
refused(q{SELECT * FROM migr_adopt('diesel', 'holes')}, '55000',
	'diesel has applied revision "v4" but not revision "v3", which it needs', 'a hole in the applied versions');

$node->safe_psql('adopt', q{SELECT count(*) FROM migr_stamp('v5')});
my $applied = $node->safe_psql('adopt', 'SELECT count(*) FROM migr.applied');
my ($rc, $out, $err) = $node->psql('adopt',
	qq{\\set VERBOSITY verbose\nSELECT * FROM migr_adopt('golang-migrate', '"Odd ""Name"".x"')});
like($err, qr/ERROR:\s+55000: revision "v4" is applied in migr but not according to golang-migrate/,
	'migr ahead of the tool is refused');
like($err, qr/"Odd ""Name"".x" does not list it/, 'the table name is quoted as SQL quotes it');
$node->safe_psql('adopt', q{SELECT count(*) FROM migr_stamp('base')});
is($node->safe_psql('adopt', q{SELECT string_agg(revision, ',' ORDER BY revision) FROM migr_adopt('golang-migrate', '"Odd ""Name"".x"')}),
	'v1,v2,v3', 'a table name that needs quoting is read');
is($node->safe_psql('adopt', q{SELECT target FROM migr.log WHERE operation = 'adopt' LIMIT 1}),
	'public."Odd ""Name"".x" (golang-migrate)', 'the log names table and tool');
$node->safe_psql('adopt', q{SELECT count(*) FROM migr_stamp('base')});

refused(q{SELECT * FROM migr_adopt('liquibase')}, '22023', 'unknown migration tool "liquibase"', 'an unknown tool');
refused(q{SELECT * FROM migr_adopt('dbmate', 'no_such_table')}, '42P01',
	'version table "no_such_table" does not exist', 'a missing table');
refused(q{SET migr.environment = production; SELECT * FROM migr_adopt('golang-migrate', '"Odd ""Name"".x"')},
	'MG001', 'an adoption in production needs confirmation', 'production without confirmation');
is($node->safe_psql('adopt', q{SET migr.environment = production; SET migr.confirm_production = yes;
SELECT count(*) FROM migr_adopt('golang-migrate', '"Odd ""Name"".x"')}), '3', 'confirmed, production adopts');
$node->safe_psql('adopt', q{SELECT count(*) FROM migr_stamp('base')});

# The table is read with the caller's privileges.
$node->safe_psql('adopt', q{CREATE ROLE deployer LOGIN;
GRANT EXECUTE ON FUNCTION migr_adopt(text, text) TO deployer});
refused(q{SET ROLE deployer; SELECT * FROM migr_adopt('golang-migrate', '"Odd ""Name"".x"')},
	'42501', 'permission denied for table Odd "Name"\.x', 'a caller who may not read the table');
refused(q{SET ROLE deployer; SELECT * FROM migr_adopt('dbmate', 'migr.version')},
	'42501', 'permission denied for schema migr', 'migr\'s own tables are not readable through it');
$node->safe_psql('adopt', q{GRANT SELECT ON "Odd ""Name"".x" TO deployer});
is($node->safe_psql('adopt', q{SET ROLE deployer; SELECT count(*) FROM migr_adopt('golang-migrate', '"Odd ""Name"".x"')}),
	'3', 'with SELECT on the table the deploy role adopts');
is($node->safe_psql('adopt', q{SELECT current_user_name FROM migr.log WHERE operation = 'adopt' ORDER BY id DESC LIMIT 1}),
	'deployer', 'logged as the caller');

$node->stop;
done_testing();
