# test/t/003_restart.pl
#
# A server crash while a migration transaction is open (holding migr's lock,
# with another caller waiting) leaves nothing behind: after restart no lock is
# held, the catalog and schema are exactly as committed before the crash, and
# the next upgrade does the rest.  Committed upgrades survive the crash.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $LOCK_CLASS = 19783;

my $node = PostgreSQL::Test::Cluster->new('restart');
$node->init;
$node->start;

my $db = 'postgres';
$node->safe_psql(
	$db, q{
CREATE EXTENSION migr;
SELECT migr_revision('accounts',
    'CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);',
    'DROP TABLE accounts;', 'r1', '{}');
SELECT migr_revision('seed accounts',
    $s$INSERT INTO accounts VALUES (1, 100);$s$,
    'DELETE FROM accounts WHERE id = 1;', 'r2', '{r1}');
SELECT migr_revision('ledger',
    'CREATE TABLE ledger (account int REFERENCES accounts, amount int);',
    'DROP TABLE ledger;', 'r3', '{r2}');
SELECT migr_revision('audit',
    'CREATE TABLE audit (at timestamptz DEFAULT now());',
    'DROP TABLE audit;', 'r4', '{r3}');
});

# Committed before the crash: r1.
is($node->safe_psql($db, q{SELECT string_agg(revision, ',') FROM migr_upgrade('r1')}),
	'r1', 'r1 applied and committed');

my $catalog_sql = q{
SELECT concat_ws(E'\n',
  (SELECT string_agg(t::text, '|' ORDER BY t.seq) FROM migr.revisions t),
  (SELECT string_agg(t::text, '|' ORDER BY t.revision) FROM migr.applied t),
  (SELECT string_agg(t::text, '|' ORDER BY t.revision) FROM migr.version t),
  (SELECT string_agg(t::text, '|' ORDER BY t.id) FROM migr.log t))};
my $schema_sql = q{
SELECT string_agg(c, ',' ORDER BY c) FROM
  (VALUES (to_regclass('accounts')::text), (to_regclass('ledger')::text),
          (to_regclass('audit')::text)) v(c)};
my $before_catalog = $node->safe_psql($db, $catalog_sql);
my $before_state   = $node->safe_psql($db, 'SELECT generation FROM migr.state');
is($node->safe_psql($db, $schema_sql), 'accounts', 'only r1\'s table exists');

# Session A: the rest of the upgrade, uncommitted, holding the lock.
my $a = $node->background_psql($db, on_error_stop => 0);
my $apid = $a->query_safe('SELECT pg_backend_pid()');
is( $a->query_safe(
		q{BEGIN; SELECT string_agg(revision, ',' ORDER BY step) FROM migr_upgrade('head');}),
	'r2,r3,r4',
	'A applied r2..r4 without committing');

# Session B: waits for A.
my $b = $node->background_psql($db, on_error_stop => 0);
my $bpid = $b->query_safe('SELECT pg_backend_pid()');
$b->query_until(qr/sent\n/,
	"\\echo sent\nSELECT count(*) FROM migr_upgrade('head');\n");
ok( $node->poll_query_until(
		$db, qq{
SELECT count(*) = 2 FROM pg_locks
 WHERE locktype = 'advisory' AND objsubid = $LOCK_CLASS
   AND ((pid = $apid AND granted) OR (pid = $bpid AND NOT granted))}),
	'A holds migr lock, B waits for it');

# Crash.
$node->stop('immediate');
foreach my $s ($a, $b)
{
	eval { $s->{run}->kill_kill; };
}
$node->start;

is( $node->safe_psql(
		$db,
		qq{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = $LOCK_CLASS}),
	'0', 'after restart: no migr lock held');
is($node->safe_psql($db, $catalog_sql),
	$before_catalog, 'after restart: revisions, applied, version, log as committed before the crash');
is($node->safe_psql($db, 'SELECT generation FROM migr.state'),
	$before_state, 'after restart: state as committed before the crash');
is($node->safe_psql($db, q{SELECT string_agg(c, ',') FROM migr_current() c}),
	'r1', 'after restart: current is r1');
is($node->safe_psql($db, $schema_sql), 'accounts',
	'after restart: the crashed transaction\'s tables do not exist');
is($node->safe_psql($db, 'SELECT count(*) FROM accounts'),
	'0', 'after restart: r2\'s row does not exist');

my $max_log = $node->safe_psql($db, 'SELECT max(id) FROM migr.log');
is( $node->safe_psql(
		$db, q{SELECT string_agg(revision, ',' ORDER BY step) FROM migr_upgrade('head')}),
	'r2,r3,r4', 'after restart: upgrade applies r2..r4');
is($node->safe_psql($db, $schema_sql), 'accounts,audit,ledger',
	'after restart: all tables exist');
is($node->safe_psql($db, 'SELECT string_agg(a::text, \',\') FROM accounts a'),
	'(1,100)', 'after restart: r2 seeded its row once');
is( $node->safe_psql(
		$db,
		qq{SELECT string_agg(revision, ',' ORDER BY id) FROM migr.log WHERE id > $max_log}),
	'r2,r3,r4', 'after restart: log rows continue after the old ones');
is( $node->safe_psql(
		$db,
		q{SELECT string_agg(revision || ':' || n, ',' ORDER BY revision) FROM
            (SELECT revision, count(*) n FROM migr.log WHERE operation <> 'register' GROUP BY revision) s}),
	'r1:1,r2:1,r3:1,r4:1', 'after restart: one log row per revision');

# Committed work survives a crash too.
$node->stop('immediate');
$node->start;
is($node->safe_psql($db, q{SELECT string_agg(c, ',') FROM migr_current() c}),
	'r4', 'after a second crash: committed upgrade kept, current is r4');
is($node->safe_psql($db, 'SELECT count(*) FROM migr_upgrade()'),
	'0', 'after a second crash: upgrade head is a no-op');
is($node->safe_psql($db, q{SELECT string_agg(revision, ',' ORDER BY step) FROM migr_downgrade('base')}),
	'r4,r3,r2,r1', 'after a second crash: downgrade to base works');

$node->stop;
done_testing();
