# test/t/001_concurrent_deploys.pl
#
# Two real sessions deploying at once.  migr serializes every catalog change
# with a transaction-scoped advisory lock in a class of its own
# (pg_locks.objsubid = 19783): the second caller waits, then sees what the
# first committed and does only what is left, so each revision runs exactly
# once.  Also: a rolled-back first caller leaves all the work to the second;
# user advisory locks never collide with migr's; a terminated session leaves
# neither lock nor partial state; a REPEATABLE READ caller with a stale
# snapshot gets a serialization failure instead of replaying migrations.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# migr's lock: class 0x4D47 (pg_locks.objsubid), key 0x6D696772 ("migr").
my $LOCK_CLASS = 19783;
my $LOCK_KEY   = 1835624306;

my $node = PostgreSQL::Test::Cluster->new('concurrent_deploys');
$node->init;
$node->start;

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

# A fresh database with migr and a chain r1 -> r2 -> r3.  r2 is a data
# migration that sleeps first (migrtest.sleep seconds, default 0.3), so the
# caller running it holds the lock for a while, then inserts one row: a
# second run would leave two.
sub setup_db
{
	my ($db) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql(
		$db, q{
CREATE EXTENSION migr;
SELECT migr_revision('create items',
    'CREATE TABLE items (note text NOT NULL);',
    'DROP TABLE items;', 'r1', '{}');
SELECT migr_revision('seed items (slow)',
    $s$SELECT pg_sleep(coalesce(nullif(current_setting('migrtest.sleep', true), ''), '0.3')::float8);
INSERT INTO items VALUES ('seeded by r2');$s$,
    $s$DELETE FROM items WHERE note = 'seeded by r2';$s$, 'r2', '{r1}');
SELECT migr_revision('index items',
    'CREATE INDEX items_note ON items (note);',
    'DROP INDEX items_note;', 'r3', '{r2}');
});
	return;
}

# A background psql session on $db that keeps going after errors and
# reports errors with their SQLSTATE.
sub session
{
	my ($db) = @_;
	my $s = $node->background_psql($db, on_error_stop => 0);
	run_sql($s, '\set VERBOSITY verbose');
	return $s;
}

# Run $sql in session $s and wait for it; returns (stdout, stderr).
# Whatever the session printed to stderr since the last call is included.
sub run_sql
{
	my ($s, $sql) = @_;
	my $out = $s->query($sql);
	my $err = $s->{stderr};
	$s->{stderr} = '';
	return ($out, $err);
}

# Send $sql to session $s without waiting for it to finish (it may block);
# collect its output later with run_sql($s, '').
sub start_sql
{
	my ($s, $sql) = @_;
	$s->query_until(qr/sent\n/, "\\echo sent\n$sql\n");
	return;
}

sub backend_pid
{
	my ($s) = @_;
	my ($pid) = run_sql($s, 'SELECT pg_backend_pid()');
	return $pid;
}

# Wait until backend $pid waits for migr's lock in $db.
sub wait_until_blocked_on_migr
{
	my ($db, $pid, $label) = @_;
	ok( $node->poll_query_until(
			$db, qq{
SELECT count(*) = 1
  FROM pg_locks l JOIN pg_stat_activity a USING (pid)
 WHERE l.pid = $pid AND l.locktype = 'advisory' AND NOT l.granted
   AND l.objsubid = $LOCK_CLASS AND l.database = a.datid
   AND a.wait_event_type = 'Lock' AND a.wait_event = 'advisory'}),
		"$label: second session waits on migr's advisory lock");
	return;
}

# Number of migr locks (granted or not) in $db's database.
sub migr_locks
{
	my ($db) = @_;
	return $node->safe_psql(
		$db, qq{
SELECT count(*) FROM pg_locks
 WHERE locktype = 'advisory' AND objsubid = $LOCK_CLASS
   AND database = (SELECT oid FROM pg_database WHERE datname = current_database())});
}

# The chain was applied exactly once, completely.
sub check_applied_once
{
	my ($db, $label) = @_;
	is( $node->safe_psql(
			$db, q{
SELECT string_agg(revision || ':' || n, ',' ORDER BY revision)
  FROM (SELECT revision, count(*) AS n FROM migr.log
         WHERE direction = 'up' GROUP BY revision) s}),
		'r1:1,r2:1,r3:1',
		"$label: exactly one 'up' log row per revision");
	is($node->safe_psql($db, q{SELECT count(DISTINCT run_id) FROM migr.log}),
		'1', "$label: all log rows come from one run");
	is( $node->safe_psql(
			$db, q{SELECT count(*) FROM items WHERE note = 'seeded by r2'}),
		'1', "$label: the data migration inserted its row once");
	is( $node->safe_psql(
			$db, q{SELECT string_agg(revision, ',' ORDER BY revision) FROM migr.applied}),
		'r1,r2,r3', "$label: applied rows");
	is($node->safe_psql($db, q{SELECT string_agg(c, ',') FROM migr_current() c}),
		'r3', "$label: current is r3");
	is($node->safe_psql($db, q{SELECT to_regclass('items_note') IS NOT NULL}),
		't', "$label: r3's index exists");
	is(migr_locks($db), '0', "$label: no migr lock left");
	return;
}

# ---------------------------------------------------------------------------
# 1. A upgrades and commits while B waits: B returns no rows.
# ---------------------------------------------------------------------------
{
	my $db = 'commit_case';
	setup_db($db);
	my $a = session($db);
	my $b = session($db);
	my $bpid = backend_pid($b);

	my ($out, $err) = run_sql($a,
		q{BEGIN; SELECT string_agg(revision, ',' ORDER BY step) FROM migr_upgrade('head');});
	is($out, 'r1,r2,r3', 'commit case: A ran the three steps (not committed yet)');
	is($err, '', 'commit case: no error in A');

	# A holds the lock, granted, until it commits.
	is( $node->safe_psql(
			$db, qq{
SELECT count(*) FROM pg_locks
 WHERE locktype = 'advisory' AND objsubid = $LOCK_CLASS AND granted
   AND classid = $LOCK_KEY AND objid = 0
   AND pid <> pg_backend_pid()}),
		'1',
		'commit case: A holds migr lock (classid 0x6D696772, objsubid 0x4D47)');

	start_sql($b,
		q{SELECT 'B rows: ' || count(*) FROM migr_upgrade('head');});
	wait_until_blocked_on_migr($db, $bpid, 'commit case');

	# Still blocked: nothing visible from B yet, and A's work is invisible.
	$b->{run}->pump_nb;
	is($b->{stdout}, '', 'commit case: B has not returned while A is open');
	is($node->safe_psql($db, q{SELECT count(*) FROM migr.log WHERE operation <> 'register'}),
		'0', 'commit case: A\'s log rows are not visible before commit');

	($out, $err) = run_sql($a, 'COMMIT');
	is($err, '', 'commit case: A commits');

	($out, $err) = run_sql($b, '');
	is($out, 'B rows: 0', 'commit case: B returns no rows after A committed');
	like(
		$err,
		qr/NOTICE:  00000: operation "upgrade" is waiting for another migr operation/,
		'commit case: B was told it waited');
	unlike($err, qr/ERROR/, 'commit case: no error in B');

	check_applied_once($db, 'commit case');

	$a->quit;
	$b->quit;
}

# ---------------------------------------------------------------------------
# 2. A upgrades, B waits, A rolls back: B does the whole upgrade.
# ---------------------------------------------------------------------------
{
	my $db = 'rollback_case';
	setup_db($db);
	my $a = session($db);
	my $b = session($db);
	my $bpid = backend_pid($b);

	my ($out, $err) = run_sql($a,
		q{BEGIN; SELECT string_agg(revision, ',' ORDER BY step) FROM migr_upgrade('head');});
	is($out, 'r1,r2,r3', 'rollback case: A ran the three steps');

	start_sql($b,
		q{SELECT string_agg(revision, ',' ORDER BY step) FROM migr_upgrade('head');});
	wait_until_blocked_on_migr($db, $bpid, 'rollback case');

	($out, $err) = run_sql($a, 'ROLLBACK');
	is($err, '', 'rollback case: A rolls back');

	($out, $err) = run_sql($b, '');
	is($out, 'r1,r2,r3', 'rollback case: B applies all three revisions itself');
	unlike($err, qr/ERROR/, 'rollback case: no error in B');

	check_applied_once($db, 'rollback case');
	is( $node->safe_psql(
			$db, q{SELECT count(*) FROM migr.log WHERE session_user_name = current_user AND operation <> 'register'}),
		'3', 'rollback case: the log holds only B\'s three steps');

	$a->quit;
	$b->quit;
}

# ---------------------------------------------------------------------------
# 3. User advisory locks, with keys that spell migr's own numbers, do not
#    block migr, and migr's lock does not block them.
# ---------------------------------------------------------------------------
{
	my $db = 'user_locks';
	setup_db($db);
	my $u = session($db);

	my $key8 = $LOCK_KEY * 4294967296;    # objid/classid halves of an int8 key
	my @user_locks = (
		"pg_advisory_xact_lock($LOCK_KEY)",
		"pg_advisory_xact_lock($LOCK_CLASS)",
		"pg_advisory_xact_lock($key8)",
		"pg_advisory_xact_lock($key8 + $LOCK_CLASS)",
		"pg_advisory_xact_lock($LOCK_KEY, 0)",
		"pg_advisory_xact_lock($LOCK_KEY, $LOCK_CLASS)",
		"pg_advisory_xact_lock(0, $LOCK_KEY)",
		"pg_advisory_lock($LOCK_KEY, 0)",
		"pg_advisory_lock($key8)");
	my ($out, $err) = run_sql($u,
		'BEGIN; SELECT ' . join(', ', @user_locks) . ';');
	is($err, '', 'user locks: taken');
	is( $node->safe_psql(
			$db, q{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()}),
		'7',    # the session-level duplicates share the tags of xact ones
		'user locks: held by the user session');

	# With a short lock_timeout a collision would fail with 55P03.
	my ($rc, $stdout, $stderr) = $node->psql(
		$db, q{SET lock_timeout = '5s';
SELECT string_agg(revision, ',' ORDER BY step) FROM migr_upgrade('head');});
	is($rc,     0,          'user locks: migr_upgrade is not blocked');
	is($stdout, 'r1,r2,r3', 'user locks: all steps applied');
	check_applied_once($db, 'user locks');

	# The other way round: migr holds its lock in an open transaction, the
	# user's try-locks on the same numbers still succeed.
	my $a = session($db);
	($out, $err) = run_sql($a,
		q{BEGIN; SELECT count(*) FROM migr_downgrade('base');});
	is($out, '3', 'user locks: a downgrade holds migr lock');
	($out, $err) = run_sql($u, 'ROLLBACK; SELECT pg_advisory_unlock_all();');
	(my $try = join(', ', @user_locks)) =~
	  s{pg_advisory_(xact_)?lock}{'pg_try_advisory_' . ($1 // '') . 'lock'}ge;
	($out, $err) = run_sql($u, "BEGIN; SELECT $try;");
	is($out, join('|', ('t') x scalar(@user_locks)),
		'user locks: every try-lock succeeds while migr holds its lock');
	run_sql($u, 'ROLLBACK; SELECT pg_advisory_unlock_all();');
	run_sql($a, 'ROLLBACK');
	is($node->safe_psql($db, q{SELECT string_agg(c, ',') FROM migr_current() c}),
		'r3', 'user locks: rolled-back downgrade left r3 current');

	$a->quit;
	$u->quit;
}

# ---------------------------------------------------------------------------
# 4. Terminated sessions leave no lock and no partial state.
# ---------------------------------------------------------------------------
{
	my $db = 'terminate_case';
	setup_db($db);

	# 4a. Killed after the call, with the upgrade uncommitted, while another
	#     session waits: the waiter then does everything.
	my $a = session($db);
	my $b = session($db);
	my $apid = backend_pid($a);
	my $bpid = backend_pid($b);
	my ($out, $err) = run_sql($a,
		q{BEGIN; SELECT count(*) FROM migr_upgrade('head');});
	is($out, '3', 'terminate case: A applied three steps, uncommitted');
	start_sql($b,
		q{SELECT string_agg(revision, ',' ORDER BY step) FROM migr_upgrade('head');});
	wait_until_blocked_on_migr($db, $bpid, 'terminate case');

	is($node->safe_psql($db, "SELECT pg_terminate_backend($apid)"),
		't', 'terminate case: A terminated');
	($out, $err) = run_sql($b, '');
	is($out, 'r1,r2,r3', 'terminate case: waiting B applies everything');
	check_applied_once($db, 'terminate case');
	eval { $a->quit; };
	$b->quit;

	# 4b. Killed in the middle of a call (during r2's sleep), nobody waiting:
	#     nothing of r1 or r2 remains, no lock remains, next upgrade works.
	$node->safe_psql($db, q{SELECT migr_downgrade('base'); TRUNCATE migr.log;});
	is($node->safe_psql($db, q{SELECT count(*) FROM migr.applied}),
		'0', 'terminate case: back at base');
	$a = session($db);
	$apid = backend_pid($a);
	start_sql($a,
		q{SET migrtest.sleep = '300'; SELECT count(*) FROM migr_upgrade('head');});
	ok( $node->poll_query_until(
			$db, qq{
SELECT wait_event = 'PgSleep' FROM pg_stat_activity WHERE pid = $apid}),
		'terminate case: A is inside r2, holding the lock');
	is( $node->safe_psql(
			$db, qq{
SELECT count(*) FROM pg_locks
 WHERE pid = $apid AND locktype = 'advisory' AND objsubid = $LOCK_CLASS AND granted}),
		'1', 'terminate case: A holds the migr lock');
	is($node->safe_psql($db, "SELECT pg_terminate_backend($apid)"),
		't', 'terminate case: A terminated mid-call');
	ok( $node->poll_query_until(
			$db, "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $apid"),
		'terminate case: A is gone');
	eval { $a->quit; };

	is(migr_locks($db), '0', 'terminate case: no migr lock left behind');
	is( $node->safe_psql(
			$db, q{
SELECT (SELECT count(*) FROM migr.applied) || ',' ||
       (SELECT count(*) FROM migr.version) || ',' ||
       (SELECT count(*) FROM migr.log) || ',' ||
       (to_regclass('items') IS NULL)}),
		'0,0,0,true',
		'terminate case: no applied/version/log rows, no items table');
	is($node->safe_psql($db, q{SELECT count(*) FROM migr_current()}),
		'0', 'terminate case: current is base');
	is( $node->safe_psql(
			$db,
			q{SELECT string_agg(revision, ',' ORDER BY step) FROM migr_upgrade('head')}),
		'r1,r2,r3',
		'terminate case: next upgrade applies everything');
	check_applied_once($db, 'terminate case, after mid-call kill');
}

# ---------------------------------------------------------------------------
# 5. REPEATABLE READ / SERIALIZABLE: a snapshot taken before another deploy
#    committed gets 40001, and nothing runs twice.
# ---------------------------------------------------------------------------
{
	my $db = 'rr_case';
	setup_db($db);

	# 5a. B's snapshot predates A's commit; B calls after A committed.
	my $b = session($db);
	my ($out, $err) = run_sql($b,
		q{BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1 FROM migr.state;});
	is($out, '1', 'RR: B took its snapshot');
	is( $node->safe_psql(
			$db, q{SELECT string_agg(revision, ',' ORDER BY step) FROM migr_upgrade('head')}),
		'r1,r2,r3', 'RR: A upgraded and committed');
	($out, $err) = run_sql($b,
		q{SELECT string_agg(revision, ',' ORDER BY step) FROM migr_upgrade('head');});
	like($err, qr/ERROR:  40001:/, 'RR: stale B gets a serialization failure');
	is($out, '', 'RR: stale B returns no steps');
	run_sql($b, 'ROLLBACK');
	check_applied_once($db, 'RR after-commit case');

	# A fresh REPEATABLE READ transaction sees the new state: no-op.
	($out, $err) = run_sql($b,
		q{BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM migr_upgrade('head'); COMMIT;});
	is($out, '0', 'RR: a fresh RR transaction gets no rows');
	is($err, '', 'RR: without error');
	$b->quit;

	# 5b. B's snapshot is taken while A's upgrade is in progress; B's call
	#     waits for A, then fails with 40001 (RR and SERIALIZABLE).
	foreach my $level ('REPEATABLE READ', 'SERIALIZABLE')
	{
		$node->safe_psql($db,
			q{SELECT migr_downgrade('base'); TRUNCATE migr.log;});
		my $a = session($db);
		$b = session($db);
		my $bpid = backend_pid($b);
		($out, $err) = run_sql($a,
			q{BEGIN; SELECT count(*) FROM migr_upgrade('head');});
		is($out, '3', "$level: A applied three steps, uncommitted");
		($out, $err) = run_sql($b,
			"BEGIN ISOLATION LEVEL $level; SELECT count(*) FROM migr.applied;");
		is($out, '0', "$level: B's snapshot sees nothing applied");
		start_sql($b,
			q{SELECT 'B rows: ' || count(*) FROM migr_upgrade('head');});
		wait_until_blocked_on_migr($db, $bpid, $level);
		run_sql($a, 'COMMIT');
		($out, $err) = run_sql($b, '');
		like($err, qr/ERROR:  40001:/,
			"$level: B fails with 40001 after A committed");
		unlike($out, qr/B rows/, "$level: B returned nothing");
		run_sql($b, 'ROLLBACK');
		check_applied_once($db, "$level in-progress case");
		$a->quit;
		$b->quit;
	}
}

$node->stop;
done_testing();
