# test/t/004_concurrent_registration.pl
#
# Registration takes the same lock as upgrades.  Two sessions that register
# a revision with the default parent (the single head) at the same time make
# a chain, never a fork; an upgrade waiting behind a registration applies the
# new revision; a REPEATABLE READ registration with a stale snapshot fails
# with 40001 rather than forking the graph.  lock_timeout and cancellation
# end a wait cleanly, without touching the holder's work.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $LOCK_CLASS = 19783;

my $node = PostgreSQL::Test::Cluster->new('concurrent_registration');
$node->init;
$node->start;

sub setup_db
{
	my ($db) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql(
		$db, q{
CREATE EXTENSION migr;
SELECT migr_revision('base table', 'CREATE TABLE t (a int);', 'DROP TABLE t;', 'r1', '{}');
});
	return;
}

sub session
{
	my ($db) = @_;
	my $s = $node->background_psql($db, on_error_stop => 0);
	run_sql($s, '\set VERBOSITY verbose');
	return $s;
}

# Run $sql in $s and wait; returns (stdout, stderr since the last call).
sub run_sql
{
	my ($s, $sql) = @_;
	my $out = $s->query($sql);
	my $err = $s->{stderr};
	$s->{stderr} = '';
	return ($out, $err);
}

# Send $sql without waiting; collect with run_sql($s, '').
sub start_sql
{
	my ($s, $sql) = @_;
	$s->query_until(qr/sent\n/, "\\echo sent\n$sql\n");
	return;
}

sub wait_until_blocked_on_migr
{
	my ($db, $s, $label) = @_;
	my $pid = $s->{pid};
	ok( $node->poll_query_until(
			$db, qq{
SELECT count(*) = 1 FROM pg_locks
 WHERE pid = $pid AND locktype = 'advisory' AND NOT granted
   AND objsubid = $LOCK_CLASS}),
		"$label: second session waits on migr's lock");
	return;
}

sub new_session
{
	my ($db) = @_;
	my $s = session($db);
	($s->{pid}) = run_sql($s, 'SELECT pg_backend_pid()');
	return $s;
}

sub graph
{
	my ($db) = @_;
	return $node->safe_psql(
		$db, q{
SELECT string_agg(id || '<' || array_to_string(down_revision, '+'), ',' ORDER BY seq)
  FROM migr.revisions});
}

sub heads
{
	my ($db) = @_;
	return $node->safe_psql($db,
		q{SELECT string_agg(h.revision, ',' ORDER BY h.revision) FROM migr_heads() h});
}

# ---------------------------------------------------------------------------
# 1. Two registrations with the default parent: a chain.
# ---------------------------------------------------------------------------
{
	my $db = 'reg_chain';
	setup_db($db);
	my $a = new_session($db);
	my $b = new_session($db);
	my ($out, $err) = run_sql($a,
		q{BEGIN; SELECT migr_revision('from A', 'CREATE TABLE ta (a int);', 'DROP TABLE ta;', 'ra');});
	is($out, 'ra', 'chain: A registered ra (uncommitted)');
	start_sql($b,
		q{SELECT migr_revision('from B', 'CREATE TABLE tb (b int);', 'DROP TABLE tb;', 'rb');});
	wait_until_blocked_on_migr($db, $b, 'chain');
	run_sql($a, 'COMMIT');
	($out, $err) = run_sql($b, '');
	is($out, 'rb', 'chain: B registered rb after A committed');
	like($err, qr/operation "register" is waiting for another migr operation to finish/,
		'chain: B was told it waited');
	unlike($err, qr/ERROR/, 'chain: no error in B');
	is(graph($db), 'r1<,ra<r1,rb<ra', 'chain: rb\'s parent is ra, not r1');
	is(heads($db), 'rb', 'chain: a single head');
	is( $node->safe_psql(
			$db, q{SELECT string_agg(revision, ',' ORDER BY step) FROM migr_upgrade('head')}),
		'r1,ra,rb', 'chain: upgrade applies the chain');
	$a->quit;
	$b->quit;
}

# ---------------------------------------------------------------------------
# 2. An upgrade waiting behind a registration applies the new revision too.
# ---------------------------------------------------------------------------
{
	my $db = 'reg_then_upgrade';
	setup_db($db);
	my $a = new_session($db);
	my $b = new_session($db);
	run_sql($a,
		q{BEGIN; SELECT migr_revision('more', 'CREATE TABLE t2 (a int);', 'DROP TABLE t2;', 'r2');});
	start_sql($b,
		q{SELECT string_agg(revision, ',' ORDER BY step) FROM migr_upgrade('head');});
	wait_until_blocked_on_migr($db, $b, 'register then upgrade');
	run_sql($a, 'COMMIT');
	my ($out, $err) = run_sql($b, '');
	is($out, 'r1,r2', 'register then upgrade: B applies the revision A registered');
	unlike($err, qr/ERROR/, 'register then upgrade: no error');
	is($node->safe_psql($db, q{SELECT to_regclass('t2') IS NOT NULL}),
		't', 'register then upgrade: r2\'s table exists');

	# And the other way round: a registration waiting behind an upgrade.
	run_sql($a,
		q{BEGIN; SELECT migr_downgrade('r1');});
	start_sql($b,
		q{SELECT migr_revision('third', 'CREATE TABLE t3 (a int);', 'DROP TABLE t3;', 'r3');});
	wait_until_blocked_on_migr($db, $b, 'upgrade then register');
	run_sql($a, 'COMMIT');
	($out, $err) = run_sql($b, '');
	is($out, 'r3', 'upgrade then register: B registered r3');
	is(graph($db), 'r1<,r2<r1,r3<r2', 'upgrade then register: r3 follows r2');
	is($node->safe_psql($db, q{SELECT string_agg(c, ',') FROM migr_current() c}),
		'r1', 'upgrade then register: A\'s downgrade kept');
	$a->quit;
	$b->quit;
}

# ---------------------------------------------------------------------------
# 3. REPEATABLE READ registration with a stale snapshot: 40001, no fork.
# ---------------------------------------------------------------------------
{
	my $db = 'reg_rr';
	setup_db($db);
	my $a = new_session($db);
	my $b = new_session($db);
	run_sql($a,
		q{BEGIN; SELECT migr_revision('from A', 'CREATE TABLE ta (a int);', 'DROP TABLE ta;', 'ra');});
	my ($out, $err) = run_sql($b,
		q{BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM migr.revisions;});
	is($out, '1', 'RR registration: B\'s snapshot sees only r1');
	start_sql($b,
		q{SELECT migr_revision('from B', 'CREATE TABLE tb (b int);', 'DROP TABLE tb;', 'rb');});
	wait_until_blocked_on_migr($db, $b, 'RR registration');
	run_sql($a, 'COMMIT');
	($out, $err) = run_sql($b, '');
	like($err, qr/ERROR:  40001:/, 'RR registration: B gets a serialization failure');
	run_sql($b, 'ROLLBACK');
	is(graph($db), 'r1<,ra<r1', 'RR registration: graph has only A\'s revision');
	is(heads($db), 'ra', 'RR registration: a single head');

	# Retrying in a new transaction works and chains after ra.
	($out, $err) = run_sql($b,
		q{BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT migr_revision('from B', 'CREATE TABLE tb (b int);', 'DROP TABLE tb;', 'rb');
COMMIT;});
	is($out, 'rb', 'RR registration: retry succeeds');
	is(graph($db), 'r1<,ra<r1,rb<ra', 'RR registration: retry chains after ra');
	$a->quit;
	$b->quit;
}

# ---------------------------------------------------------------------------
# 4. lock_timeout and cancellation end a wait; the holder is unaffected.
# ---------------------------------------------------------------------------
{
	my $db = 'reg_timeout';
	setup_db($db);
	my $a = new_session($db);
	my $b = new_session($db);
	my ($out, $err) = run_sql($a,
		q{BEGIN; SELECT count(*) FROM migr_upgrade('head');});
	is($out, '1', 'timeout: A applied r1, uncommitted');

	($out, $err) = run_sql($b,
		q{SET lock_timeout = '200ms'; SELECT count(*) FROM migr_upgrade('head');});
	like($err, qr/ERROR:  55P03:/, 'timeout: B\'s wait ends with lock_timeout (55P03)');
	run_sql($b, 'RESET lock_timeout');

	# B registers and waits; cancel it.
	start_sql($b,
		q{SELECT migr_revision('late', 'CREATE TABLE late (a int);', NULL, 'rl');});
	wait_until_blocked_on_migr($db, $b, 'cancel');
	is($node->safe_psql($db, "SELECT pg_cancel_backend($b->{pid})"),
		't', 'cancel: B cancelled');
	($out, $err) = run_sql($b, '');
	like($err, qr/ERROR:  57014:/, 'cancel: B gets 57014');

	($out, $err) = run_sql($a, 'COMMIT');
	is($err, '', 'timeout: A commits');
	is($node->safe_psql($db, q{SELECT string_agg(c, ',') FROM migr_current() c}),
		'r1', 'timeout: A\'s upgrade is committed');
	is(graph($db), 'r1<', 'timeout: B\'s registration left nothing');
	is($node->safe_psql($db, q{SELECT count(*) FROM migr.log WHERE operation <> 'register'}),
		'1', 'timeout: one log row, A\'s');
	$a->quit;
	$b->quit;
}

$node->stop;
done_testing();
