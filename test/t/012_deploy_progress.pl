# test/t/012_deploy_progress.pl
#
# Issue 12, progress and errors that name the file:
# - while a step of a long call runs, another session reads in
#   pg_stat_activity.query of the deploying backend the operation, step i
#   of n, the revision and the statement running (a step that sleeps, held
#   at a known point by an advisory lock another session holds); afterwards
#   the column shows the caller's query again, also after an error (SELECT
#   migr_upgrade and CALL migr_upgrade_each), after an error a PL/pgSQL
#   block catches, and after a dry run;
# - with track_activities off nothing is shown;
# - a failing statement of a revision loaded from a migration file names
#   the file and the statement's line in the file (upgrade and downgrade),
#   a revision registered by SQL keeps the context it had, and a file
#   registered again by SQL is in no file any more.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('deploy_progress');
$node->init;
$node->start;

my $db = 'progress';
$node->safe_psql('postgres', "CREATE DATABASE $db");
$node->safe_psql(
	$db, q{
CREATE EXTENSION migr;
SET client_min_messages = warning;
SELECT migr_revision('one', 'CREATE TABLE p1 (i int);', 'DROP TABLE p1;', 'p1', '{}');
SELECT migr_revision('sleeps', 'CREATE TABLE p2 (i int);
SELECT pg_advisory_xact_lock_shared(4242), pg_sleep(0.5);
INSERT INTO p2 VALUES (1);', 'DROP TABLE p2;', 'p2', '{p1}');
SELECT migr_revision('three', 'CREATE TABLE p3 (i int);', 'DROP TABLE p3;', 'p3', '{p2}');
});

my $a = $node->background_psql($db, on_error_stop => 0);
my $c = $node->background_psql($db, on_error_stop => 0);
my $apid = $a->query('SELECT pg_backend_pid()');
my $activity = qq{SELECT query FROM pg_stat_activity WHERE pid = $apid};

# Wait until session A has done what it was sent, and read its messages.
sub wait_for_a
{
	$a->query_until(qr/done\n/, "\\echo done\n");
	return;
}

# Send $sql to session A and wait until A has run it: the column then
# shows what A last sent (BackgroundPsql's own query() would send more).
sub run_in_a
{
	my ($sql) = @_;
	$a->query_until(qr/sent\n/, "\\echo sent\n$sql\n");
	wait_for_a();
	return;
}

# Run $sql in session A; wait until its step 2 waits for C's lock and
# return what pg_stat_activity shows then; let it go and wait for the end.
sub progress_during
{
	my ($sql) = @_;
	$c->query_safe('SELECT pg_advisory_lock(4242)');
	$a->query_until(qr/sent\n/, "\\echo sent\n$sql\n");
	$node->poll_query_until(
		$db, qq{
SELECT count(*) = 1 FROM pg_locks
 WHERE pid = $apid AND locktype = 'advisory' AND NOT granted AND objid = 4242})
	  or die "session A never waited for the lock";
	my $seen = $node->safe_psql($db, $activity);
	$c->query_safe('SELECT pg_advisory_unlock(4242)');
	wait_for_a();
	return $seen;
}

my $step2 = 'step 2 of 3, revision "p2" (upgrade), statement 2 of 3: '
  . 'SELECT pg_advisory_xact_lock_shared(4242), pg_sleep(0.5)';

# ---------------------------------------------------------------------------
# CALL migr_upgrade_each: step 2 of 3, its revision and statement.
# ---------------------------------------------------------------------------
my $call = q{CALL migr_upgrade_each('head');};
my $seen = progress_during($call);
is($seen, qq{migr upgrade to "head": $step2},
	'CALL migr_upgrade_each: another session sees operation, step i of n, revision and statement');
is($node->safe_psql($db, $activity), $call, 'afterwards A shows the call it ran');
is($node->safe_psql($db, q{SELECT string_agg(c, ',') FROM migr_current() c}), 'p3', 'the call applied all three');
like($a->{stderr}, qr/NOTICE:  step 2: applied revision "p2" \(sleeps\)/, 'a NOTICE per step, as before');

# ---------------------------------------------------------------------------
# SELECT migr_upgrade: the same, in one transaction; a dry run says so.
# ---------------------------------------------------------------------------
my $down = q{SELECT count(*) FROM migr_downgrade('base');};
run_in_a($down);
is($node->safe_psql($db, $activity), $down, 'a downgrade: A shows its own query afterwards');
my $up = q{SELECT count(*) FROM migr_upgrade('head');};
$seen = progress_during($up);
is($seen, qq{migr upgrade to "head": $step2}, 'SELECT migr_upgrade: the same progress');
is($node->safe_psql($db, $activity), $up, 'afterwards A shows its query');
run_in_a($down);

$seen = progress_during(q{SELECT count(*) FROM migr_upgrade('head', dry_run => true);});
is($seen, qq{migr dry run of upgrade to "head": $step2}, 'a dry run shows itself as one');
is($node->safe_psql($db, 'SELECT count(*) FROM migr.applied'), '0', 'the dry run applied nothing');

# ---------------------------------------------------------------------------
# After an error, the caller's query is back.
# ---------------------------------------------------------------------------
$node->safe_psql($db,
	q{SELECT migr_revision('fails', 'CREATE TABLE p4 (i int); SELECT 1 / 0;', NULL, 'p4', '{p3}')});
$a->{stderr} = '';
my $failing = q{SELECT * FROM migr_upgrade('head');};
run_in_a($failing);
like($a->{stderr}, qr/division by zero/, 'migr_upgrade fails in step 4');
is($node->safe_psql($db, $activity), $failing, 'after the error A shows its query again');
is($node->safe_psql($db, 'SELECT count(*) FROM migr.applied'), '0', '... and nothing was applied');
is($node->safe_psql($db, "SELECT state FROM pg_stat_activity WHERE pid = $apid"), 'idle', '... and is idle');

$a->{stderr} = '';
run_in_a($call);
like($a->{stderr}, qr/division by zero/, 'CALL migr_upgrade_each fails in step 4');
is($node->safe_psql($db, $activity), $call, 'after the error of the CALL, A shows the CALL again');
is($node->safe_psql($db, q{SELECT string_agg(c, ',') FROM migr_current() c}), 'p3',
	'... whose steps before the failure stay applied');

$a->{stderr} = '';
my $caught = q{DO $$ BEGIN
  BEGIN
    PERFORM * FROM migr_upgrade('head');
  EXCEPTION WHEN division_by_zero THEN NULL;
  END;
  RAISE NOTICE 'shown: %', (SELECT query FROM pg_stat_activity WHERE pid = pg_backend_pid());
END $$;};
run_in_a($caught);
like($a->{stderr}, qr/NOTICE:  shown: DO \$\$ BEGIN/,
	'an error caught in a PL/pgSQL block: the block sees its own query again at once');

# ---------------------------------------------------------------------------
# track_activities off: nothing is written.
# ---------------------------------------------------------------------------
run_in_a(q{SELECT count(*) FROM migr_downgrade('p1');});
run_in_a('SET track_activities = off;');
$seen = progress_during(q{SELECT count(*) FROM migr_upgrade('p3');});
unlike($seen, qr/^migr /, 'with track_activities off no progress is shown');
is($node->safe_psql($db, q{SELECT string_agg(c, ',') FROM migr_current() c}), 'p3', '... and the upgrade ran');

$a->quit;
$c->quit;

# ---------------------------------------------------------------------------
# Errors name the migration file and the line in it.
# ---------------------------------------------------------------------------
$node->safe_psql('postgres', 'CREATE DATABASE files');
$node->safe_psql('files', 'CREATE EXTENSION migr');
my $file = <<'EOF';
-- migr:revision f2
-- migr:down_revision f1
-- migr:message fails on line 9

-- migr:upgrade
CREATE TABLE f_2 (i int);

INSERT INTO f_2
SELECT i FROM no_such_table;

-- migr:downgrade
DROP TABLE f_2;
SELECT 1 / 0;
EOF
my $first = <<'EOF';
-- migr:revision f1
-- migr:down_revision
-- migr:message works

-- migr:upgrade
CREATE TABLE f_1 (i int);
-- migr:downgrade
DROP TABLE f_1;
SELECT 1 / 0;
EOF
$node->safe_psql('files',
	"SET client_min_messages = warning; SELECT * FROM migr_load(ARRAY[\$f\$$first\$f\$, \$f\$$file\$f\$], ARRAY['f1_works.sql', 'f2_fails.sql'])");
is( $node->safe_psql('files',
		q{SELECT string_agg(concat_ws(':', id, filename, upgrade_line, downgrade_line), ',' ORDER BY seq) FROM migr.revisions}),
	'f1:f1_works.sql:6:8,f2:f2_fails.sql:6:12',
	'migr_load records each file and the lines where its scripts start');

my ($rc, $stdout, $stderr) = $node->psql('files', q{SELECT * FROM migr_upgrade('head')});
like(
	$stderr,
	qr/^(?:CONTEXT:  )?migration "f2" \(upgrade\), statement 2, line 3\nmigration file "f2_fails\.sql", line 8$/m,
	'a failing upgrade statement: the revision, and the file and its line');
($rc, $stdout, $stderr) = $node->psql('files', q{CALL migr_upgrade_each('head')});
like($stderr, qr/^migration file "f2_fails\.sql", line 8$/m, '... also through CALL migr_upgrade_each');
is($node->safe_psql('files', q{SELECT string_agg(c, ',') FROM migr_current() c}), 'f1',
	'... which applied f1');
($rc, $stdout, $stderr) = $node->psql('files', q{SELECT * FROM migr_downgrade('base')});
like(
	$stderr,
	qr/^migration "f1" \(downgrade\), statement 2, line 2\nmigration file "f1_works\.sql", line 9$/m,
	'a failing downgrade statement: the file and its line');

# Registered by SQL: today's context, no file.
$node->safe_psql('files',
	q{SELECT migr_revision('by sql', E'CREATE TABLE f_2 (i int);\nSELECT 1 / 0;', NULL, 'f2', '{f1}')});
is($node->safe_psql('files', q{SELECT coalesce(filename, 'none') FROM migr.revisions WHERE id = 'f2'}),
	'none', 'registered again by SQL, the revision is in no file');
($rc, $stdout, $stderr) = $node->psql('files', q{SELECT * FROM migr_upgrade('head')});
like($stderr, qr/^migration "f2" \(upgrade\), statement 2, line 2$/m, 'its error names the revision');
unlike($stderr, qr/migration file/, '... and no file');

# The same file loaded again under another name: unchanged, it moves.
$node->safe_psql('files',
	"SET client_min_messages = warning; SELECT migr_load(\$f\$$file\$f\$, 'f2_renamed.sql')");
is($node->safe_psql('files', q{SELECT filename FROM migr.revisions WHERE id = 'f2'}),
	'f2_renamed.sql', 'loaded from a file again, it records the file');
my $file_longer = $file =~ s/^(-- migr:message .*\n)/$1-- a comment line\n/mr;
is($node->safe_psql('files',
		"SET client_min_messages = warning; SELECT action FROM migr_load(ARRAY[\$f\$$file_longer\$f\$], ARRAY['f2_renamed.sql'])"),
	'unchanged', 'a comment in the header: the revision is unchanged');
($rc, $stdout, $stderr) = $node->psql('files', q{SELECT * FROM migr_upgrade('head')});
like($stderr, qr/^migration file "f2_renamed\.sql", line 9$/m, '... and its error names the line it moved to');

$node->stop;
done_testing();
