# test/t/011_offline_sessions.pl
#
# The bookkeeping of migr_script() steps that run outside a transaction, in
# sessions that live on (issue 9, items 8, 9, 11, 14, 15):
#
# - a CREATE INDEX CONCURRENTLY step waiting for older transactions is never
#   held up by another migr call: every call that would wait behind it fails
#   at once with 55P03 naming the step, the build completes and the index is
#   valid (before, the caller waited inside its transaction and PostgreSQL
#   cancelled the build with 40P01);
# - a step that waits for an ordinary operation polls instead of queueing,
#   honours lock_timeout, and runs once the operation commits;
# - a failed step in a session that stays open gives migr's locks up at
#   once, and running the step again in that session takes them once and
#   releases them at its end; the same for every way a step can end badly;
# - the documented manual fix (repair by hand, migr_stamp) ends the step's
#   in_progress entry, and so does a stamp that decides the revision's state
#   without changing it, or an upgrade of it; a stamp elsewhere does not;
# - the "begun before" notice names both directions;
# - migr_status() shows a failure's message (data values included) only to
#   roles that may run migr_upgrade.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

# migr's locks: class 0x4D47 (pg_locks.objsubid); objid 0 is the operation
# lock, objid 1 the lock of a step running outside a transaction.
my $LOCK_CLASS = 19783;

my $node = PostgreSQL::Test::Cluster->new('offline_sessions');
$node->init;
$node->start;

my $dir = PostgreSQL::Test::Utils::tempdir;

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

# A database with migr, a filled table app.items, and the chain
# o1 (transactional) -> o2 ($index_sql, outside a transaction) -> o3.
sub setup_db
{
	my ($db, $index_sql) = @_;
	$index_sql //= 'CREATE INDEX CONCURRENTLY items_name ON app.items (name)';
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql(
		$db, qq{
CREATE EXTENSION migr;
CREATE SCHEMA app;
CREATE TABLE app.items (id int PRIMARY KEY, name text, k int);
INSERT INTO app.items SELECT g, 'n' || g, g FROM generate_series(1, 2000) g;
SET client_min_messages = error;
SELECT migr_revision('table', 'CREATE TABLE app.tags (id int)', 'DROP TABLE app.tags', 'o1', '{}');
SELECT migr_revision('index', '$index_sql', 'DROP INDEX app.items_name', 'o2');
SELECT migr_revision('column', 'ALTER TABLE app.items ADD COLUMN note text', 'ALTER TABLE app.items DROP COLUMN note', 'o3');
});
	return;
}

sub write_script
{
	my ($db, $name, $target, $direction) = @_;
	$target    //= 'head';
	$direction //= 'upgrade';
	my $file = "$dir/$name.sql";
	PostgreSQL::Test::Utils::append_to_file($file,
		$node->safe_psql($db, "SELECT migr_script('$target', '$direction')") . "\n");
	return $file;
}

# psql -f on a file; returns (rc, stdout, stderr).
sub run_file
{
	my ($db, $file, @extra) = @_;
	my ($out, $err) = ('', '');
	my $rc = $node->psql(
		$db, undef,
		stdout        => \$out,
		stderr        => \$err,
		extra_params  => [ '-v', 'VERBOSITY=verbose', '-f', $file, @extra ],
		on_error_stop => 1);
	return ($rc, $out, $err);
}

# psql -f on a file in the background; returns the IPC::Run harness and
# references to its stdout and stderr.
sub start_file
{
	my ($db, $file) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[
			'psql', '-X', '-v', 'VERBOSITY=verbose', '-v', 'ON_ERROR_STOP=1',
			'-d', $node->connstr($db), '-f', $file
		],
		'>', \$out, '2>', \$err, IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	return ($h, \$out, \$err);
}

# A background session that keeps going after errors, with SQLSTATEs.
sub session
{
	my ($db) = @_;
	my $s = $node->background_psql($db, on_error_stop => 0);
	run_sql($s, '\set VERBOSITY verbose');
	return $s;
}

# Run $sql in session $s; returns (stdout, stderr, seconds it took).
sub run_sql
{
	my ($s, $sql) = @_;
	my $t0  = time;
	my $out = $s->query($sql);
	my $t   = time - $t0;
	my $err = $s->{stderr};
	$s->{stderr} = '';
	return ($out, $err, $t);
}

# migr's locks held (granted) by process $pid.
sub locks_of
{
	my ($db, $pid) = @_;
	return $node->safe_psql(
		$db, qq{
SELECT count(*) FROM pg_locks
 WHERE locktype = 'advisory' AND objsubid = $LOCK_CLASS AND granted AND pid = $pid});
}

# A registration from a fresh session that must not wait: lock_timeout 2 s.
sub register_quickly
{
	my ($db, $id) = @_;
	my ($out, $err) = ('', '');
	my $rc = $node->psql(
		$db, qq{
SET lock_timeout = '2s';
SET client_min_messages = error;
SELECT migr_revision('$id', 'CREATE TABLE app.$id (i int)', 'DROP TABLE app.$id', '$id', '{}');},
		stdout       => \$out,
		stderr       => \$err,
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	return ($rc, $err);
}

my $sum_sql = q{(SELECT checksum FROM migr.revisions WHERE id = 'o2')};

# ===========================================================================
# Item 9: a migr call never holds up a running CREATE INDEX CONCURRENTLY
# ===========================================================================

setup_db('cic');
my $script = write_script('cic', 'cic');

# H holds a row lock on app.items: the build waits for it (its first wait
# for older transactions).
my $h_sess = session('cic');
run_sql($h_sess, 'BEGIN; UPDATE app.items SET k = k WHERE id = 1;');

my ($a_run, $a_out, $a_err) = start_file('cic', $script);
ok( $node->poll_query_until(
		'cic', q{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE query LIKE 'CREATE INDEX CONCURRENTLY items_name%'
   AND wait_event_type = 'Lock' AND wait_event = 'virtualxid'}),
	'the CONCURRENTLY step runs and waits for an older transaction');
my $apid = $node->safe_psql('cic',
	q{SELECT pid FROM pg_stat_activity WHERE query LIKE 'CREATE INDEX CONCURRENTLY items_name%'});
is(locks_of('cic', $apid), '2', 'the step holds migr\'s two locks (operation and step)');

# B: a session opened now, whose transaction the build would wait for.
my $b_sess = session('cic');
my $b_sum  = $node->safe_psql('cic', "SELECT $sum_sql");
my $o3_sum = $node->safe_psql('cic', q{SELECT checksum FROM migr.revisions WHERE id = 'o3'});
my @calls  = (
	[ 'a registration',
		q{SELECT migr_revision('x', 'CREATE TABLE app.x (i int)', 'DROP TABLE app.x', 'x1', '{}');},
		'register' ],
	[ 'migr_upgrade',         q{SELECT * FROM migr_upgrade('head');}, 'upgrade' ],
	[ 'migr_downgrade',       q{SELECT * FROM migr_downgrade('base');}, 'downgrade' ],
	[ 'migr_stamp',           q{SELECT * FROM migr_stamp('o1');}, 'stamp' ],
	[ 'migr_launch',          q{SELECT migr_launch();}, 'launch' ],
	[ 'CALL migr_upgrade_each', q{CALL migr_upgrade_each('head');}, 'upgrade' ],
	[ 'another script\'s step outside a transaction',
		qq{SELECT migr_step_begin('o2', 'up', '$b_sum', 'head');}, 'step' ],
	[ 'another script\'s transactional step',
		qq{BEGIN; SELECT migr_step_begin('o3', 'up', '$o3_sum', 'head'); ROLLBACK;},
		'step' ]);
my $slowest = 0;
foreach my $c (@calls)
{
	my ($what, $sql, $operation) = @$c;
	my ($out, $err, $t) = run_sql($b_sess, $sql);
	like($err,
		qr/ERROR:\s+55P03: migr step "o2" \(up\) is running outside a transaction in another session/,
		"$what fails with 55P03 naming the running step");
	like($err, qr/DETAIL:\s+Process $apid began it at .* Operation "$operation" waiting for it would hold it up/,
		"... the detail names the process and the operation");
	like($err, qr/HINT:.*migr_status\(\)/, '... the hint points to migr_status()');
	$slowest = $t if $t > $slowest;
}
ok($slowest < 5, 'every call failed at once');
note sprintf('slowest refused call: %.3f s (a waiting call hung until the build ended, and PostgreSQL then cancelled one of the two)', $slowest);

# Read-only calls go on, and migr_status says the step is running.
my ($out, $err) = run_sql($b_sess,
	q{SELECT concat_ws(' ', s->'in_progress'->0->>'revision', s->'in_progress'->0->>'running',
	                   s->'in_progress'->0->>'pid') FROM migr_status() s});
is($out, "o2 true $apid", 'migr_status: o2 is running, in the process of the script');
($out, $err) = run_sql($b_sess, q{SELECT count(*) FROM migr_current()});
is($err, '', 'migr_current works meanwhile');

# B stays open, in an aborted transaction block: it must not hold the build.
run_sql($b_sess, q{BEGIN; SELECT migr_revision('y', 'SELECT 1', NULL, 'y1', '{}');});
is($node->safe_psql('cic', qq{SELECT wait_event FROM pg_stat_activity WHERE pid = $apid}),
	'virtualxid', 'the build still runs, waiting for H only');

run_sql($h_sess, 'COMMIT');
$a_run->finish;
is($a_run->result(0), 0, 'the script completes once H commits') or diag($$a_err);
unlike($$a_err, qr/40P01|deadlock/, 'no deadlock, nothing cancelled');
is($node->safe_psql('cic',
		q{SELECT indisvalid FROM pg_index WHERE indexrelid = 'app.items_name'::regclass}),
	't', 'the index is valid');
is($node->safe_psql('cic', q{SELECT string_agg(revision, ',') FROM migr.version}), 'o3', 'at o3');
is($node->safe_psql('cic', q{SELECT count(*) FROM migr.in_progress}), '0', 'nothing in progress');
is($node->safe_psql('cic', q{SELECT count(*) FROM migr.revisions WHERE id IN ('x1', 'y1')}), '0',
	'the refused calls changed nothing');
is($node->safe_psql('cic',
		qq{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = $LOCK_CLASS}),
	'0', 'no migr lock left');
run_sql($b_sess, 'ROLLBACK');
my ($rc) = register_quickly('cic', 'after1');
is($rc, 0, 'a registration after the step works');

# ---------------------------------------------------------------------------
# A step that finds an ordinary operation holding the lock waits for it
# (without queueing) and runs after it; lock_timeout limits the wait.
# ---------------------------------------------------------------------------

setup_db('poll');
$node->safe_psql('poll', q{SELECT * FROM migr_upgrade('o1')});
my $pscript = write_script('poll', 'poll');
my $c_sess  = session('poll');
run_sql($c_sess, q{BEGIN; SELECT migr_revision('c', 'CREATE TABLE app.c (i int)', NULL, 'c1', '{}');});

{
	local $ENV{PGOPTIONS} = '-c lock_timeout=300';
	($rc, $out, $err) = run_file('poll', $pscript);
}
isnt($rc, 0, 'with lock_timeout, a step behind an operation gives up');
like($err, qr/NOTICE:\s+00000: operation "step" is waiting for another migr operation to finish/,
	'... after saying that it waits');
like($err, qr/ERROR:\s+55P03: canceling statement due to lock timeout/, '... with 55P03 (lock timeout)');
is($node->safe_psql('poll', q{SELECT count(*) FROM migr.in_progress}), '0', '... leaving nothing in progress');
is($node->safe_psql('poll',
		qq{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = $LOCK_CLASS AND NOT granted}),
	'0', '... and no queued lock request');

my ($p_run, $p_out, $p_err) = start_file('poll', $pscript);
ok( $node->poll_query_until(
		'poll', q{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE query LIKE '%migr_step_begin(''o2''%' AND wait_event_type = 'Extension'}),
	'without lock_timeout the step waits, sleeping (not in the lock queue)');
# An operation arriving meanwhile queues normally and goes first.
my $d_sess = session('poll');
$d_sess->query_until(qr/sent\n/,
	"\\echo sent\nSELECT migr_revision('d', 'CREATE TABLE app.d (i int)', NULL, 'd1', '{}');\n");
ok( $node->poll_query_until(
		'poll', qq{
SELECT count(*) = 1 FROM pg_locks
 WHERE locktype = 'advisory' AND objsubid = $LOCK_CLASS AND NOT granted}),
	'a registration arriving meanwhile waits in the queue');
run_sql($c_sess, 'COMMIT');
($out, $err) = run_sql($d_sess, '');
unlike($err, qr/ERROR/, 'the queued registration succeeds') or diag($err);
$p_run->finish;
is($p_run->result(0), 0, 'then the script runs its step') or diag($$p_err);
is($node->safe_psql('poll', q{SELECT string_agg(revision, ',') FROM migr.version}), 'o3', 'at o3');
is($node->safe_psql('poll',
		q{SELECT indisvalid FROM pg_index WHERE indexrelid = 'app.items_name'::regclass}),
	't', 'the index is valid');
$c_sess->quit;
$d_sess->quit;

# ===========================================================================
# Item 8: a failed step in a session that stays open
# ===========================================================================

setup_db('leak', 'CREATE UNIQUE INDEX CONCURRENTLY items_name ON app.items (k)');
$node->safe_psql('leak', q{SELECT * FROM migr_upgrade('o1'); UPDATE app.items SET k = 1 WHERE id <= 2;});
my $s    = session('leak');
my ($spid) = run_sql($s, 'SELECT pg_backend_pid()');
my $sum  = $node->safe_psql('leak', "SELECT $sum_sql");
my $begin = "SELECT migr_step_begin('o2', 'up', '$sum', 'head');";
my $end   = "SELECT migr_step_end('o2', 'up', '$sum', 'head');";
my $build = 'CREATE UNIQUE INDEX CONCURRENTLY items_name ON app.items (k);';

($out, $err) = run_sql($s, $begin);
is($err, '', 'interactive session: the step begins');
is(locks_of('leak', $spid), '2', '... holding migr\'s two locks');
($out, $err) = run_sql($s, $build);
like($err, qr/23505/, 'its statement fails');
is(locks_of('leak', $spid), '0', 'the failure gave the locks up, the session still open');
($rc, $err) = register_quickly('leak', 'other1');
is($rc, 0, 'another deploy does not wait for the open session') or diag($err);
is($node->safe_psql('leak', q{SELECT revision || ' ' || direction FROM migr.in_progress}), 'o2 up',
	'the step stays recorded as unfinished');
is($node->safe_psql('leak', q{SELECT migr_status()->'in_progress'->0->>'running'}), 'false',
	'migr_status: not running');
($out, $err) = run_sql($s, $end);
like($err, qr/55000: no script step is running in this session/, 'migr_step_end after the failure is refused');

# Fix, and run the step again in the same session.
run_sql($s, 'DROP INDEX app.items_name; UPDATE app.items SET k = id;');
($out, $err) = run_sql($s, $begin);
like($err, qr/NOTICE:\s+00000: step "o2" \(up\) was begun before, at .*, and did not finish; running it again/,
	'running it again in the session: the notice names the step and its direction');
is(locks_of('leak', $spid), '2', '... the locks are held once more');
($out, $err) = run_sql($s, $build);
is($err, '', '... the statement succeeds');
is(locks_of('leak', $spid), '2', '... a committed statement does not end the step');
($out, $err) = run_sql($s, $end);
is($err, '', '... and the step ends');
is(locks_of('leak', $spid), '0', 'after a successful rerun nothing is held (not taken twice)');
($rc, $err) = register_quickly('leak', 'other2');
is($rc, 0, 'another deploy runs while the session stays open') or diag($err);
is($node->safe_psql('leak', q{SELECT string_agg(revision, ',' ORDER BY revision) FROM migr.version}),
	'o2', 'o2 is applied');
is($node->safe_psql('leak', q{SELECT count(*) FROM migr.in_progress}), '0', 'nothing in progress');

# Every other way a step can end badly gives the locks up too.  Go back to o1.
$node->safe_psql('leak', q{SELECT * FROM migr_stamp('o1')});
$node->safe_psql('leak', q{DROP INDEX app.items_name});
$sum   = $node->safe_psql('leak', "SELECT $sum_sql");
$begin = "SELECT migr_step_begin('o2', 'up', '$sum', 'head');";

# A step idle in the middle holds the locks; other calls fail at once.
run_sql($s, $begin);
($rc, $err) = register_quickly('leak', 'other3');
like($err, qr/55P03: migr step "o2" \(up\) is running outside a transaction/,
	'a step idle in the middle: another deploy is refused at once, not kept waiting');
# Beginning it twice is an error, which ends the step.
($out, $err) = run_sql($s, $begin);
like($err, qr/55000: a script step is running in this session already/, 'beginning a step twice is refused');
is(locks_of('leak', $spid), '0', '... and that failure gives the locks up');
# Ending another step than the running one.
run_sql($s, $begin);
($out, $err) = run_sql($s, "SELECT migr_step_end('o3', 'up', 'x', 'head');");
like($err, qr/55000: step "o3" \(up\) is not the step running in this session/,
	'migr_step_end of another step is refused');
is(locks_of('leak', $spid), '0', '... and gives the locks up');
# Ending it inside a transaction block.
run_sql($s, $begin);
($out, $err) = run_sql($s, "BEGIN; $end");
like($err, qr/25001: step "o2" must end outside a transaction block/, 'migr_step_end inside BEGIN is refused');
run_sql($s, 'ROLLBACK');
is(locks_of('leak', $spid), '0', '... and gives the locks up');
# A step of two statements: the first commits, the second fails.
run_sql($s, $begin);
run_sql($s, 'CREATE TABLE app.half (i int);');
is(locks_of('leak', $spid), '2', 'a first statement that commits keeps the step going');
($out, $err) = run_sql($s, 'CREATE INDEX CONCURRENTLY half_i ON app.no_such_table (i);');
like($err, qr/42P01/, 'the second fails');
is(locks_of('leak', $spid), '0', '... and the locks are given up');
# A cancelled statement.
run_sql($s, $begin);
$s->query_until(qr/sent\n/, "\\echo sent\nSELECT pg_sleep(60);\n");
ok( $node->poll_query_until('leak',
		qq{SELECT wait_event = 'PgSleep' FROM pg_stat_activity WHERE pid = $spid}),
	'a statement of the step runs');
$node->safe_psql('leak', "SELECT pg_cancel_backend($spid)");
($out, $err) = run_sql($s, '');
like($err, qr/57014/, 'cancelled');
is(locks_of('leak', $spid), '0', '... and the cancel gave the locks up');
# The step still runs again cleanly in the session.
run_sql($s, $begin);
run_sql($s, $build);
($out, $err) = run_sql($s, $end);
is($err, '', 'after all that, the step runs and ends in the same session');
is(locks_of('leak', $spid), '0', '... leaving nothing held');
is($node->safe_psql('leak',
		qq{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = $LOCK_CLASS}),
	'0', 'no migr lock in the database');
# A transactional step begun in a savepoint that is rolled back is undone.
my $o3sum = $node->safe_psql('leak', q{SELECT checksum FROM migr.revisions WHERE id = 'o3'});
($out, $err) = run_sql($s, qq{
BEGIN;
SAVEPOINT a;
SELECT migr_step_begin('o3', 'up', '$o3sum', 'head');
ROLLBACK TO SAVEPOINT a;
SELECT migr_step_begin('o3', 'up', '$o3sum', 'head');
ALTER TABLE app.items ADD COLUMN note text;
SELECT migr_step_end('o3', 'up', '$o3sum', 'head');
COMMIT;});
is($err, '', 'a step undone by ROLLBACK TO SAVEPOINT can begin again in the same transaction');
is($node->safe_psql('leak', q{SELECT string_agg(revision, ',') FROM migr.version}), 'o3', '... and is recorded');
is(locks_of('leak', $spid), '0', '... leaving nothing held');
$s->quit;

# ===========================================================================
# Item 11: the manual fix (by hand, then migr_stamp) ends the in_progress entry
# ===========================================================================

# A database where step o2 failed in the middle (duplicate keys).
sub failed_step_db
{
	my ($db) = @_;
	setup_db($db, 'CREATE UNIQUE INDEX CONCURRENTLY items_name ON app.items (k)');
	$node->safe_psql($db, q{UPDATE app.items SET k = 1 WHERE id <= 2});
	my ($rc, $out, $err) = run_file($db, write_script($db, $db));
	like($err, qr/23505/, "$db: the script stops at the failing step");
	is($node->safe_psql($db, q{SELECT revision FROM migr.in_progress}), 'o2', "$db: o2 is in progress");
	return;
}

# Finish the step by hand, then stamp it.
failed_step_db('fixed');
$node->safe_psql('fixed',
	q{DROP INDEX app.items_name; UPDATE app.items SET k = id; CREATE UNIQUE INDEX items_name ON app.items (k);});
($rc, $out, $err) = (0, '', '');
$rc = $node->psql('fixed', q{SELECT * FROM migr_stamp('o2')}, stderr => \$err,
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
is($rc, 0, 'finished by hand, stamped');
like($err, qr/NOTICE:\s+00000: step "o2" \(up\) of a migr script, begun at .*, is no longer in progress/,
	'... the stamp says the step is over');
like($err, qr/DETAIL:\s+Operation "stamp" records where revision "o2" is\./, '... and why');
is($node->safe_psql('fixed', q{SELECT count(*) FROM migr.in_progress}), '0', 'migr.in_progress is empty');
is($node->safe_psql('fixed', q{SELECT migr_status()->'in_progress'}), '[]', 'migr_status: nothing unfinished');
is($node->safe_psql('fixed', q{SELECT string_agg(revision, ',') FROM migr.version}), 'o2', 'at o2');
($rc, $out, $err) = run_file('fixed', write_script('fixed', 'fixed2'));
is($rc, 0, 'a script written now applies the rest') or diag($err);
unlike($err, qr/begun before/, '... without an earlier step to mention');
is($node->safe_psql('fixed', q{SELECT string_agg(revision, ',') FROM migr.version}), 'o3', 'at o3');

# Undo the step by hand, then stamp where the database is (nothing changes).
failed_step_db('undone');
$node->safe_psql('undone', q{DROP INDEX app.items_name});
# A stamp that decides another lineage only leaves it alone.
$node->safe_psql('undone', q{
SET client_min_messages = error;
SELECT migr_revision('elsewhere', 'CREATE TABLE app.e (i int)', NULL, 'e1', '{}');});
is($node->safe_psql('undone', q{SELECT count(*) FROM migr_stamp('e1')}), '1', 'stamping another branch');
is($node->safe_psql('undone', q{SELECT count(*) FROM migr.in_progress}), '1', '... leaves o2 in progress');
# In production, the stamp that resolves it needs the confirmation.
$rc = $node->psql('undone', q{SET migr.environment = 'production'; SELECT count(*) FROM migr_stamp('o1')},
	stderr => \$err, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/MG001/, 'in production, resolving it without confirmation is refused');
is($node->safe_psql('undone', q{SELECT count(*) FROM migr.in_progress}), '1', '... and changes nothing');
$rc = $node->psql('undone', q{SELECT count(*) FROM migr_stamp('o1')}, stdout => \$out, stderr => \$err,
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
is($out, '0', 'stamping o1 where the database is: no step');
like($err, qr/step "o2" \(up\) of a migr script, begun at .*, is no longer in progress/,
	'... but the stamp decides o2 is not applied, so the step is over');
is($node->safe_psql('undone', q{SELECT migr_status()->'in_progress'}), '[]', 'migr_status: nothing unfinished');

# A purge stamp decides every revision.
failed_step_db('purged');
$node->safe_psql('purged', q{DROP INDEX app.items_name});
$node->safe_psql('purged', q{SELECT * FROM migr_stamp(ARRAY['o1'], purge => true)});
is($node->safe_psql('purged', q{SELECT count(*) FROM migr.in_progress}), '0', 'a purge stamp ends it too');

# Registered again without CONCURRENTLY, migr_upgrade applies it: over too.
failed_step_db('redone');
$node->safe_psql('redone', q{
DROP INDEX app.items_name; UPDATE app.items SET k = id;
SET client_min_messages = error;
SELECT migr_revision('index', 'CREATE UNIQUE INDEX items_name ON app.items (k)', 'DROP INDEX app.items_name', 'o2',
                     transactional => true);});
$rc = $node->psql('redone', q{SELECT count(*) FROM migr_upgrade('o2')}, stderr => \$err,
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/step "o2" \(up\) of a migr script, begun at .*, is no longer in progress\nDETAIL:\s+Operation "upgrade" records/,
	'an upgrade of the revision ends the step');
is($node->safe_psql('redone', q{SELECT migr_status()->'in_progress'}), '[]', 'migr_status: nothing unfinished');

# ===========================================================================
# Item 15: the notice names both directions
# ===========================================================================

# An unfinished up step of o2 while o2 is applied, as 0.1 left one when the
# fix was stamped (0.2 ends such steps; see 008_extension_update.pl).
$node->safe_psql('fixed', q{
INSERT INTO migr.in_progress VALUES ('o2', 'up', 'head', now() - interval '1 hour', 'postgres')});
($rc, $out, $err) = run_file('fixed', write_script('fixed', 'fixed_down', 'o1', 'downgrade'));
is($rc, 0, 'the downgrade script runs') or diag($err);
like($err,
	qr/NOTICE:\s+00000: step "o2" \(up\) was begun at .* and did not finish; running step "o2" \(down\) instead\n.*DETAIL:\s+Statements of the unfinished up step may have run\./,
	'the notice names the unfinished up step and the down step that runs');
unlike($err, qr/running it again/, '... and does not call it the same step');
is($node->safe_psql('fixed', q{SELECT string_agg(revision, ',') FROM migr.version}), 'o1', 'at o1');
is($node->safe_psql('fixed', q{SELECT count(*) FROM migr.in_progress}), '0', 'nothing in progress');

# ===========================================================================
# Item 14: error details in migr_status only for roles that may run migr
# ===========================================================================

$node->safe_psql('postgres', q{
CREATE ROLE app LOGIN;
CREATE ROLE deploy LOGIN;
CREATE DATABASE secrets;});
$node->safe_psql('secrets', q{
CREATE EXTENSION migr;
GRANT EXECUTE ON FUNCTION migr_upgrade(text, boolean) TO deploy;
CREATE TABLE cards (owner text, number text);
INSERT INTO cards VALUES ('alice', '4111-1111-1111-1111');
SET client_min_messages = error;
SELECT migr_revision('numbers as integers', 'ALTER TABLE cards ALTER number TYPE bigint USING number::bigint', NULL, 's1', '{}');});
$node->psql('secrets', q{CALL migr_upgrade_each('head')});
is($node->safe_psql('secrets', q{SELECT migr_status()->'last_operation'->>'outcome'}), 'failed',
	'a failed migr_upgrade_each step is the last operation');

my %seen;
foreach my $role (qw(postgres deploy app))
{
	$seen{$role} = $node->safe_psql('secrets', q{SELECT migr_status()::text},
		connstr => $node->connstr('secrets') . " user=$role");
}
like($seen{postgres}, qr/"error": "22P02: invalid input syntax for type bigint: \\"4111-1111-1111-1111\\""/,
	'a superuser sees the message with its data');
like($seen{deploy}, qr/"error": "22P02: invalid input syntax for type bigint: \\"4111-1111-1111-1111\\""/,
	'a role with EXECUTE on migr_upgrade sees it too');
like($seen{app}, qr/"error": "22P02"/, 'a role without it sees only the SQLSTATE');
unlike($seen{app}, qr/4111|invalid input/, '... and nothing of the message anywhere');
like($seen{app}, qr/"outcome": "failed"/, '... but does see that it failed');
$node->safe_psql('secrets', q{REVOKE EXECUTE ON FUNCTION migr_upgrade(text, boolean) FROM deploy});
unlike($node->safe_psql('secrets', q{SELECT migr_status()::text},
		connstr => $node->connstr('secrets') . ' user=deploy'),
	qr/4111/, 'once EXECUTE is revoked, deploy no longer sees it');

$node->stop;
done_testing();
