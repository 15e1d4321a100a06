# test/t/009_guard_hooks.pl
#
# The production guard where whole sessions and server configuration
# matter:
# - EXPLAIN ANALYZE CREATE TABLE AS / SELECT INTO / CREATE MATERIALIZED VIEW
#   as the very first statement of an application session is refused when
#   migr is preloaded, by session_preload_libraries (also with the
#   environment overridden in PGOPTIONS) or shared_preload_libraries;
#   migr_status() says when a production session did not preload migr.
# - The psql script migr_script() writes, run as a deploy role in
#   production, applies its steps; the same script with an extra DDL line
#   inside a step, with a registered statement removed, or with only the
#   bookkeeping calls is refused and records nothing for that step.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('guard_hooks');
$node->init;
$node->start;
my $dir = PostgreSQL::Test::Utils::tempdir;

my $db = 'postgres';
$node->safe_psql(
	$db, q{
CREATE EXTENSION migr;
CREATE ROLE app LOGIN;
CREATE SCHEMA app AUTHORIZATION app;
CREATE ROLE deploy LOGIN;
GRANT EXECUTE ON FUNCTION migr_script(text, text),
    migr_step_begin(text, text, text, text), migr_step_end(text, text, text, text)
  TO deploy;
CREATE SCHEMA shop AUTHORIZATION deploy;
SET ROLE deploy;
CREATE TABLE shop.items (id int PRIMARY KEY, name text, k int);
INSERT INTO shop.items SELECT g, 'n' || g, g FROM generate_series(1, 100) g;
RESET ROLE;
ALTER DATABASE postgres SET migr.environment = 'production';
});

# psql as $user; returns (rc, stdout, stderr).
sub psql_as
{
	my ($user, $sql, %env) = @_;
	local %ENV = (%ENV, %env);
	my ($stdout, $stderr) = ('', '');
	my $rc = $node->psql(
		$db, $sql,
		stdout        => \$stdout,
		stderr        => \$stderr,
		extra_params  => [ '-U', $user, '-v', 'VERBOSITY=verbose' ],
		on_error_stop => 0);
	return ($rc, $stdout, $stderr);
}

sub app_relations
{
	return $node->safe_psql($db,
		q{SELECT coalesce(string_agg(relname, ',' ORDER BY relname), '') FROM pg_class WHERE relnamespace = 'app'::regnamespace});
}

my @explain = (
	q{EXPLAIN ANALYZE CREATE TABLE app.t AS SELECT 1 AS x;},
	q{EXPLAIN (ANALYZE) SELECT 1 AS x INTO app.t;},
	q{EXPLAIN (ANALYZE, BUFFERS) CREATE MATERIALIZED VIEW app.mv AS SELECT 1 AS x;});

# --- Not preloaded: migr_status() says so in production ---------------------

my ($rc, $out, $err) = psql_as('app',
	q{SELECT migr_status()->'guards'->>'preloaded', migr_status()->'warnings'->>0;});
like($out, qr/^false\|migr is not preloaded in this session: /, 'not preloaded: migr_status() warns');

# --- session_preload_libraries ----------------------------------------------

$node->safe_psql($db, q{ALTER DATABASE postgres SET session_preload_libraries = 'migr'});
foreach my $sql (@explain)
{
	($rc, $out, $err) = psql_as('app', $sql);
	like($err, qr/ERROR:  MG002: ad-hoc schema change "(CREATE TABLE AS|SELECT INTO|CREATE MATERIALIZED VIEW)" is not allowed in production/,
		"session_preload_libraries, first statement refused: $sql");
}
is(app_relations(), '', 'session_preload_libraries: nothing created');
($rc, $out, $err) = psql_as('app', q{SELECT migr_status()->'guards'->>'preloaded', jsonb_array_length(migr_status()->'warnings');});
is($out, 'true|0', 'session_preload_libraries: migr_status() says preloaded, no warning');

# The environment and the break glass given at connection start by the
# application role are discarded; the stored environment holds.
($rc, $out, $err) = psql_as('app', qq{$explain[0]\nSHOW migr.environment;},
	PGOPTIONS => '-c migr.environment=development -c migr.allow_adhoc_ddl=on');
like($err, qr/ERROR:  MG002: /, 'PGOPTIONS with session_preload_libraries: refused');
is($out, 'production', 'PGOPTIONS with session_preload_libraries: still production');
# Nor can the application role switch preloading off for itself.
($rc, $out, $err) = psql_as('app', qq{$explain[0]}, PGOPTIONS => '-c session_preload_libraries=');
isnt($rc, 0, 'PGOPTIONS session_preload_libraries= is refused');
like($err, qr/permission denied to set parameter "session_preload_libraries"/, '... as a superuser-only setting');
($rc, $out, $err) = psql_as('app', q{ALTER ROLE app SET session_preload_libraries = '';});
like($err, qr/42501/, 'ALTER ROLE app SET session_preload_libraries: refused');
is(app_relations(), '', 'nothing created');
$node->safe_psql($db, q{ALTER DATABASE postgres RESET session_preload_libraries});

# --- shared_preload_libraries -------------------------------------------------

$node->append_conf('postgresql.conf', "shared_preload_libraries = 'migr'");
$node->restart;
foreach my $sql (@explain)
{
	($rc, $out, $err) = psql_as('app', $sql);
	like($err, qr/ERROR:  MG002: /, "shared_preload_libraries, first statement refused: $sql");
}
($rc, $out, $err) = psql_as('app', $explain[0], PGOPTIONS => '-c migr.environment=development');
isnt($rc, 0, 'shared_preload_libraries: PGOPTIONS migr.environment refused at connection');
is(app_relations(), '', 'shared_preload_libraries: nothing created');
($rc, $out, $err) = psql_as('app', q{SELECT migr_status()->'guards'->>'preloaded', jsonb_array_length(migr_status()->'warnings');});
is($out, 'true|0', 'shared_preload_libraries: migr_status() says preloaded');
# A database without the extension is not migr's to guard, even when it is
# marked production: the preloaded hook leaves it alone, as there is no
# event trigger there either.
$node->safe_psql('postgres', q{CREATE DATABASE plain; ALTER DATABASE plain SET migr.environment = 'production';});
like($node->safe_psql('plain', q{EXPLAIN (ANALYZE, COSTS off) CREATE TABLE t AS SELECT 1 AS x; SELECT to_regclass('t') IS NOT NULL;}),
	qr/\nt$/, 'a database without migr: EXPLAIN ANALYZE CREATE TABLE AS runs');
# A temporary table through EXPLAIN ANALYZE is still the application's.
($rc, $out, $err) = psql_as('app', q{EXPLAIN (ANALYZE, COSTS off) CREATE TEMP TABLE t AS SELECT 1 AS x; SELECT count(*) FROM t;});
is($err, '', 'EXPLAIN ANALYZE CREATE TEMP TABLE AS works');

# --- migr_script() steps as the deploy role ----------------------------------

$node->safe_psql(
	$db, q{
SET migr.confirm_production = yes;
SET client_min_messages = error;
SELECT migr_revision('table', 'CREATE TABLE shop.tags (id int, item_id int)', 'DROP TABLE shop.tags', 'g1', '{}');
SELECT migr_revision('index', E'CREATE INDEX CONCURRENTLY items_name ON shop.items (name);\nUPDATE shop.items SET k = k * 2', 'DROP INDEX shop.items_name', 'g2');
SELECT migr_revision('column', 'ALTER TABLE shop.items ADD COLUMN note text', 'ALTER TABLE shop.items DROP COLUMN note', 'g3');
});

sub script_text
{
	return $node->safe_psql($db, q{SELECT migr_script('head')}, extra_params => [ '-U', 'deploy' ]) . "\n";
}

# Run a script as deploy in production (confirmed); returns (rc, stderr).
sub run_script
{
	my ($name, $text) = @_;
	my $file = "$dir/$name.sql";
	append_to_file($file, $text);
	local $ENV{PGOPTIONS} = '-c migr.confirm_production=yes';
	my ($o, $e) = ('', '');
	my $r = $node->psql(
		$db, undef,
		stdout        => \$o,
		stderr        => \$e,
		extra_params  => [ '-U', 'deploy', '-v', 'VERBOSITY=verbose', '-f', $file ],
		on_error_stop => 1);
	return ($r, $e);
}

my %state = (
	version => q{SELECT coalesce(string_agg(revision, ','), '') FROM migr.version},
	applied => q{SELECT coalesce(string_agg(revision, ',' ORDER BY revision), '') FROM migr.applied},
	steps   => q{SELECT count(*) FROM migr.log WHERE operation IN ('upgrade', 'downgrade')},
	shop    => q{SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relnamespace = 'shop'::regnamespace},
	k       => q{SELECT sum(k) FROM shop.items});
sub state_of
{
	return join(' | ', map { "$_=" . $node->safe_psql($db, $state{$_}) } sort keys %state);
}

my $script = script_text();
like($script, qr/SELECT .*migr_step_begin\('g2', 'up', '[0-9a-f]+', 'head'\);\nCREATE INDEX CONCURRENTLY items_name ON shop\.items \(name\);\n/,
	'the script runs the CONCURRENTLY step at top level');

# An extra DDL statement inside the non-transactional step.
my $tampered = $script;
$tampered =~ s/(CREATE INDEX CONCURRENTLY items_name ON shop\.items \(name\);\n)/$1CREATE INDEX CONCURRENTLY items_evil ON shop.items (k);\n/
  or die 'no step to tamper with';
($rc, $err) = run_script('extra_ddl', $tampered);
isnt($rc, 0, 'extra DDL inside a step: the script fails');
like($err, qr/MG002: ad-hoc schema change "CREATE INDEX" is not allowed in production/, '... with MG002');
like($err, qr/DETAIL:  Step "g2" \(up\) of a migr_script\(\) script is running; this statement is not its next registered statement \(statement 2, line 2\)/,
	'... naming the step and the statement it expects');
is($node->safe_psql($db, q{SELECT to_regclass('shop.items_evil')}), '', '... the extra index was not built');
is($node->safe_psql($db, $state{applied}), 'g1', '... g2 is not recorded as applied');
is($node->safe_psql($db, q{SELECT revision FROM migr.in_progress}), 'g2', '... and stays in progress');

# Start over from g1 applied and nothing of g2.
$node->safe_psql($db, q{SET migr.allow_adhoc_ddl = on; SET client_min_messages = error; DROP INDEX shop.items_name; DELETE FROM migr.in_progress;});

# A registered statement removed: the step is not recorded.
$script = script_text();
my $skipped = $script;
$skipped =~ s/UPDATE shop\.items SET k = k \* 2\n//
  or die 'no statement to remove';
($rc, $err) = run_script('skipped', $skipped);
isnt($rc, 0, 'a registered statement removed: the script fails');
like($err, qr/55000: step "g2" \(up\) did not run its registered statements/, '... at migr_step_end with 55000');
like($err, qr/1 of 2 statements ran\. Statement 2 \(line 2\) did not run: "UPDATE shop\.items SET k = k \* 2"/,
	'... naming the statement that did not run');
is($node->safe_psql($db, $state{applied}), 'g1', '... g2 is not recorded as applied');
is($node->safe_psql($db, q{SELECT count(*) FROM migr.log WHERE revision = 'g2' AND operation = 'upgrade'}), '0', '... nor logged');
$node->safe_psql($db, q{SET migr.allow_adhoc_ddl = on; SET client_min_messages = error; DROP INDEX shop.items_name; DELETE FROM migr.in_progress;});

# Only the bookkeeping calls.
$script = script_text();
my $empty = $script;
$empty =~ s/CREATE INDEX CONCURRENTLY items_name ON shop\.items \(name\);\nUPDATE shop\.items SET k = k \* 2\n//
  or die 'no statements to remove';
($rc, $err) = run_script('empty', $empty);
isnt($rc, 0, 'begin + end without the statements: the script fails');
like($err, qr/55000: step "g2" \(up\) did not run its registered statements/, '... with 55000');
is($node->safe_psql($db, $state{applied}), 'g1', '... nothing recorded');
$node->safe_psql($db, q{DELETE FROM migr.in_progress;});

# The script as written: applied, in production, by the deploy role.
$script = script_text();
($rc, $err) = run_script('as_written', $script);
is($rc, 0, 'the script as written applies') or diag($err);
is(state_of(), 'applied=g1,g2,g3 | k=10100 | shop=items,items_name,items_pkey,tags | steps=3 | version=g3',
	'every step ran and was recorded once');
is($node->safe_psql($db, q{SELECT count(*) FROM migr.in_progress}), '0', 'nothing left in progress');
# After the script, the deploy role's DDL is ad-hoc again.
($rc, $out, $err) = psql_as('deploy', q{CREATE TABLE shop.after (id int);});
like($err, qr/MG002/, 'DDL after the script is refused');

$node->stop;
done_testing();
