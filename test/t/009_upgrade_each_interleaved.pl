# test/t/009_upgrade_each_interleaved.pl
#
# CALL migr_upgrade_each() plans once and keeps its revision graph from step
# to step; when another migr operation commits between two of its steps,
# it must see what that operation did: skip the steps it applied and write
# the version rows from the graph as it is now.  Three sessions make that
# happen at a known point: C holds a user advisory lock that A's first step
# waits for (A holds migr's lock meanwhile); B asks for migr's lock and
# queues; C lets A go; A commits its first step and B gets the lock before A
# can take it again, applies r2 and r3 and commits; A goes on with r4 only.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# migr's lock class (pg_locks.objsubid).
my $LOCK_CLASS = 19783;

my $node = PostgreSQL::Test::Cluster->new('upgrade_each_interleaved');
$node->init;
$node->start;

my $db = 'interleaved';
$node->safe_psql('postgres', "CREATE DATABASE $db");
$node->safe_psql(
	$db, q{
CREATE EXTENSION migr;
SELECT migr_revision('one waits for C',
    'SELECT pg_advisory_xact_lock(4242); CREATE TABLE one (id int);',
    'DROP TABLE one;', 'r1', '{}');
SELECT migr_revision('two', 'CREATE TABLE two (id int);', 'DROP TABLE two;', 'r2');
SELECT migr_revision('three', 'CREATE TABLE three (id int);', 'DROP TABLE three;', 'r3');
SELECT migr_revision('four', 'CREATE TABLE four (id int);', 'DROP TABLE four;', 'r4');
});

my $a = $node->background_psql($db, on_error_stop => 0);
my $b = $node->background_psql($db, on_error_stop => 0);
my $c = $node->background_psql($db, on_error_stop => 0);
my $apid = $a->query('SELECT pg_backend_pid()');
my $bpid = $b->query('SELECT pg_backend_pid()');

$c->query('SELECT pg_advisory_lock(4242)');

# A's first step waits for C's lock, holding migr's lock.
$a->query_until(qr/sent\n/, "\\echo sent\nCALL migr_upgrade_each('head');\n");
ok( $node->poll_query_until(
		$db, qq{
SELECT count(*) = 1 FROM pg_locks
 WHERE pid = $apid AND locktype = 'advisory' AND NOT granted AND objid = 4242}),
	'A waits in its first step');

# B queues for migr's lock.
$b->query_until(qr/sent\n/,
	"\\echo sent\nSELECT string_agg(revision, ',' ORDER BY step) AS b_did FROM migr_upgrade('r3');\n");
ok( $node->poll_query_until(
		$db, qq{
SELECT count(*) = 1 FROM pg_locks
 WHERE pid = $bpid AND locktype = 'advisory' AND NOT granted
   AND objsubid = $LOCK_CLASS}),
	'B waits for migr\'s lock');

# C lets A go: A commits r1, B gets the lock and applies r2 and r3.
$c->query('SELECT pg_advisory_unlock(4242)');
my $bout = $b->query('');
is($bout, 'r2,r3', 'B applied r2 and r3 between two steps of A');
$a->query('');
unlike($a->{stderr}, qr/ERROR/, 'A finished without error');

is( $node->safe_psql(
		$db, q{
SELECT string_agg(revision || ':' || n, ',' ORDER BY revision)
  FROM (SELECT revision, count(*) AS n FROM migr.log
         WHERE direction = 'up' GROUP BY revision) s}),
	'r1:1,r2:1,r3:1,r4:1',
	'each revision ran once');
is( $node->safe_psql(
		$db, q{
SELECT count(DISTINCT run_id) FROM migr.log WHERE revision IN ('r2', 'r3')}),
	'1', 'r2 and r3 were one run (B\'s)');
is( $node->safe_psql(
		$db, q{
SELECT count(DISTINCT run_id) FROM migr.log WHERE revision IN ('r1', 'r3', 'r4')}),
	'3', 'r1 and r4 were runs of their own (A\'s)');
is($node->safe_psql($db, q{SELECT string_agg(revision, ',' ORDER BY revision) FROM migr.applied}),
	'r1,r2,r3,r4', 'all four applied');
is($node->safe_psql($db, q{SELECT string_agg(revision, ',') FROM migr.version}),
	'r4', 'the version row is r4 alone');
is($node->safe_psql($db, q{SELECT count(*) FROM pg_tables WHERE tablename IN ('one', 'two', 'three', 'four')}),
	'4', 'the four tables exist');

$a->quit;
$b->quit;
$c->quit;
$node->stop;
done_testing();
