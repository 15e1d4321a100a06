# test/t/005_guards.pl
#
# Production guards where separate sessions matter: an application role that
# sets the environment (or the break glass) before the library is loaded in
# its session, at connection start (PGOPTIONS) or as its first statement;
# migr.lock_timeout against a lock another session holds; and
# migr.statement_timeout.  Both timeouts name the revision and statement in
# the error context and are restored after the call.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('guards');
$node->init;
$node->start;

my $db = 'postgres';
$node->safe_psql(
	$db, q{
CREATE EXTENSION migr;
CREATE ROLE app LOGIN;
CREATE SCHEMA app AUTHORIZATION app;
SET ROLE app;
CREATE TABLE app.items (id int);
RESET ROLE;
ALTER DATABASE postgres SET migr.environment = 'production';
});

# psql as $user with extra environment; returns (rc, stdout, stderr).
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

sub relations
{
	return $node->safe_psql($db,
		q{SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relnamespace = 'app'::regnamespace});
}

my $before = relations();

# --- Setting the environment before the library is loaded -----------------

# The very first statement of a new connection.
my ($rc, $out, $err) = psql_as('app', q{
SET migr.environment = 'development';
CREATE TABLE app.first_statement (id int);
SHOW migr.environment;
});
like($err, qr/WARNING:  42501: permission denied to set parameter "migr.environment"/,
	'first statement: the value is discarded when the library loads');
like($err, qr/ERROR:  MG002: ad-hoc schema change "CREATE TABLE" is not allowed in production/,
	'first statement: the DDL is refused');
is($out, 'production', 'first statement: the environment is still production');

# At connection start (startup packet options).
($rc, $out, $err) = psql_as('app', q{
CREATE TABLE app.startup_option (id int);
SHOW migr.environment;
SHOW migr.allow_adhoc_ddl;
}, PGOPTIONS => '-c migr.environment=development -c migr.allow_adhoc_ddl=on');
like($err, qr/ERROR:  MG002: /, 'PGOPTIONS: the DDL is refused');
is($out, "production\noff", 'PGOPTIONS: neither setting took');

# The break glass as first statement.
($rc, $out, $err) = psql_as('app', q{
SET migr.allow_adhoc_ddl = on;
ALTER TABLE app.items ADD COLUMN sneaky int;
SHOW migr.allow_adhoc_ddl;
});
like($err, qr/ERROR:  MG002: ad-hoc schema change "ALTER TABLE"/, 'break glass first: refused');
is($out, 'off', 'break glass first: discarded');

# SET inside a transaction, then loading the library by calling migr.
($rc, $out, $err) = psql_as('app', q{
BEGIN;
SET LOCAL migr.environment = 'development';
SELECT migr_status()->>'environment';
CREATE TABLE app.in_transaction (id int);
COMMIT;
});
is((split /\n/, $out)[0], 'production', 'SET LOCAL before load: migr_status says production');
like($err, qr/MG002/, 'SET LOCAL before load: DDL refused');

# The role's own settings cannot carry it either.
($rc, $out, $err) = psql_as('app', q{ALTER ROLE app SET migr.environment = 'development';});
like($err, qr/42501: permission denied to set parameter "migr.environment"/,
	'ALTER ROLE self SET: refused');
is($node->safe_psql($db, q{SELECT count(*) FROM pg_db_role_setting WHERE setrole = 'app'::regrole}),
	'0', 'ALTER ROLE self SET: nothing stored');
is(relations(), $before, 'nothing of the app changed');
is($node->safe_psql($db, q{SELECT count(*) FROM migr.log}), '0', 'no log row');

# Temporary objects still work in a fresh session.
($rc, $out, $err) = psql_as('app', q{
CREATE TEMP TABLE t (id int);
CREATE INDEX ON t (id);
DROP TABLE t;
SELECT 'temp ok';
});
is($out, 'temp ok', 'temporary table, index and drop work in production');
is($err, '', 'no error for temporary objects');

# --- migr.lock_timeout ------------------------------------------------------

$node->safe_psql($db, q{
SET migr.confirm_production = yes;
SELECT migr_revision('add column', 'SELECT 1; ALTER TABLE app.items ADD COLUMN note text', 'ALTER TABLE app.items DROP COLUMN note', 'lt1', '{}');
});

my $holder = $node->background_psql($db, on_error_stop => 0);
$holder->query_safe('BEGIN');
$holder->query_safe('LOCK TABLE app.items IN ACCESS EXCLUSIVE MODE');

my $t0 = time();
($rc, $out, $err) = psql_as('postgres', q{
SET lock_timeout = '7s';
SET migr.confirm_production = yes;
SET migr.lock_timeout = '200ms';
SELECT * FROM migr_upgrade();
SHOW lock_timeout;
SHOW migr.lock_timeout;
});
my $elapsed = time() - $t0;
like($err, qr/ERROR:  55P03: canceling statement due to lock timeout/,
	'lock_timeout: the step fails with 55P03');
like($err, qr/migration "lt1" \(upgrade\), statement 2, line 1/,
	'lock_timeout: the context names the revision and the statement');
ok($elapsed < 6, 'lock_timeout: it gave up after migr.lock_timeout, not the session\'s 7s');
is($out, "7s\n200ms", 'lock_timeout: the session\'s lock_timeout is restored');
is($node->safe_psql($db, q{SELECT count(*) FROM migr.applied}), '0',
	'lock_timeout: nothing applied');

# The default migr.lock_timeout (5s) applies when nothing is set.
$t0 = time();
($rc, $out, $err) = psql_as('postgres', q{
SET migr.confirm_production = yes;
SELECT * FROM migr_upgrade();
SHOW lock_timeout;
});
$elapsed = time() - $t0;
like($err, qr/55P03/, 'default lock_timeout: 55P03');
ok($elapsed >= 4 && $elapsed < 15, "default lock_timeout: about 5s ($elapsed s)");
is($out, '0', 'default lock_timeout: session value restored');

$holder->query_safe('COMMIT');
$holder->quit;

($rc, $out, $err) = psql_as('postgres', q{
SET migr.confirm_production = yes;
SET migr.lock_timeout = '200ms';
SELECT revision FROM migr_upgrade();
});
is($out, 'lt1', 'lock_timeout: runs once the lock is released');

# --- migr.statement_timeout -------------------------------------------------

$node->safe_psql($db, q{
SET migr.confirm_production = yes;
SELECT migr_revision('slow', E'SELECT 1;\nSELECT pg_sleep(5);', NULL, 'st1');
});
$t0 = time();
($rc, $out, $err) = psql_as('postgres', q{
SET statement_timeout = '9s';
SET migr.confirm_production = yes;
SET migr.statement_timeout = '300ms';
SELECT * FROM migr_upgrade();
SHOW statement_timeout;
SHOW migr.statement_timeout;
});
$elapsed = time() - $t0;
like($err, qr/ERROR:  57014: canceling statement due to statement timeout/,
	'statement_timeout: the step fails with 57014');
like($err, qr/migration "st1" \(upgrade\), statement 2, line 2/,
	'statement_timeout: the context names the revision and the statement');
ok($elapsed < 4, "statement_timeout: cancelled early ($elapsed s)");
is($out, "9s\n300ms", 'statement_timeout: the session\'s statement_timeout is restored');
is($node->safe_psql($db, q{SELECT string_agg(revision, ',') FROM migr.applied}), 'lt1',
	'statement_timeout: st1 not applied');

# The session's own statement_timeout still applies when it is sooner.
($rc, $out, $err) = psql_as('postgres', q{
SET statement_timeout = '300ms';
SET migr.confirm_production = yes;
SET migr.statement_timeout = '10s';
SELECT * FROM migr_upgrade();
});
like($err, qr/57014/, 'a sooner session statement_timeout still cancels');

$node->safe_psql($db, q{ALTER DATABASE postgres RESET migr.environment});
$node->stop;
done_testing();
