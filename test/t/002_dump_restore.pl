# test/t/002_dump_restore.pl
#
# pg_dump -Fc + pg_restore into a new database keeps migr's catalog: the
# revisions, applied and version rows, the log, the state counter and the
# sequences.  In the restored database the applied head is reached (no-op),
# upgrading to head applies exactly the one pending revision, and new log
# rows, runs and registrations continue after the restored ones.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump_restore');
$node->init;
$node->start;

my $tempdir = PostgreSQL::Test::Utils::tempdir;

# stdout of $sql in $db, or '' after an error (unlike safe_psql, never dies).
sub psql_out
{
	my ($db, $sql) = @_;
	my ($rc, $out, $err) = $node->psql($db, $sql);
	return $out;
}

# createdb $db, then pg_restore @opts $dump into it; checks that both work
# and that pg_restore printed nothing on stderr.
sub restore_into
{
	my ($db, $dump, @opts) = @_;
	$node->command_ok(
		[ 'createdb', '-p', $node->port, '-h', $node->host, $db ],
		"createdb $db");
	my ($stdout, $stderr);
	my $ok = IPC::Run::run(
		[ 'pg_restore', @opts, '-d', $node->connstr($db), $dump ],
		'>', \$stdout, '2>', \$stderr);
	my $what = join(' ', 'pg_restore', @opts, "into $db");
	ok($ok, "$what exits with status 0");
	is($stderr, '', "$what reports no error");
	return;
}

# ---------------------------------------------------------------------------
# Source database: four revisions that create tables and insert data; one
# downgrade/upgrade round trip so the log holds more than one run; stop one
# short of head.
# ---------------------------------------------------------------------------
$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql(
	'src', q{
CREATE EXTENSION migr;
SELECT migr_revision('tiers', $m$
CREATE TABLE tiers (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO tiers VALUES (1, 'free'), (2, 'paid');
$m$, 'DROP TABLE tiers;', 'a1', '{}');
SELECT migr_revision('users', $m$
CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL,
                    tier int NOT NULL REFERENCES tiers);
INSERT INTO users (name, tier) VALUES ('admin', 2);
$m$, 'DROP TABLE users;', 'b2', '{a1}');
SELECT migr_revision('user email', $m$
ALTER TABLE users ADD COLUMN email text;
UPDATE users SET email = name || '@example.org';
$m$, 'ALTER TABLE users DROP COLUMN email;', 'c3', '{b2}');
SELECT migr_revision('widgets', $m$
CREATE TABLE widgets (id int PRIMARY KEY, owner int REFERENCES users);
INSERT INTO widgets VALUES (1, 1);
$m$, 'DROP TABLE widgets;');
});
my $pending = $node->safe_psql('src',
	q{SELECT id FROM migr.revisions ORDER BY seq DESC LIMIT 1});
like($pending, qr/^[0-9a-f]{12}$/, 'generated id for the last revision');

is( $node->safe_psql(
		'src',
		q{SELECT string_agg(revision, ',' ORDER BY step) FROM migr_upgrade('head-1')}),
	'a1,b2,c3',
	'source: upgraded to head-1');
$node->safe_psql('src', q{SELECT migr_downgrade(-1); SELECT migr_upgrade(1);});
is($node->safe_psql('src', q{SELECT string_agg(c, ',') FROM migr_current() c}),
	'c3', 'source: current is c3, one revision pending');

# Text digest of the catalog: every row of every table, in key order, plus
# the sequences' positions.  migr.state's generation is a conflict marker
# for REPEATABLE READ callers, not history: only its single row counts.
my $digest_sql = q{
SELECT concat_ws(E'\n',
  (SELECT string_agg(t::text, '|' ORDER BY t.seq) FROM migr.revisions t),
  (SELECT string_agg(t::text, '|' ORDER BY t.revision) FROM migr.applied t),
  (SELECT string_agg(t::text, '|' ORDER BY t.revision) FROM migr.version t),
  (SELECT string_agg(t::text, '|' ORDER BY t.id) FROM migr.log t),
  (SELECT count(*) FROM migr.state),
  (SELECT last_value || '/' || is_called FROM migr.revision_seq),
  (SELECT last_value || '/' || is_called FROM migr.run_seq),
  (SELECT last_value || '/' || is_called FROM migr.log_seq))};
my $history_sql = q{
SELECT string_agg(h::text, '|') FROM migr_history() h};
my $data_sql = q{
SELECT (SELECT string_agg(t::text, ',' ORDER BY id) FROM tiers t) || ';' ||
       (SELECT string_agg(u::text, ',' ORDER BY id) FROM users u) || ';' ||
       (to_regclass('widgets') IS NULL)};

my $src_digest  = $node->safe_psql('src', $digest_sql);
my $src_history = $node->safe_psql('src', $history_sql);
my ($src_max_log, $src_max_run, $src_max_seq) = split /\|/,
  $node->safe_psql('src',
	q{SELECT (SELECT max(id) FROM migr.log), (SELECT max(run_id) FROM migr.log),
             (SELECT max(seq) FROM migr.revisions)});
is($node->safe_psql('src', q{SELECT count(*) FROM migr.log WHERE operation <> 'register'}),
	'5', 'source: five log rows (3 up, 1 down, 1 up)');

# ---------------------------------------------------------------------------
# Dump and restore, as the docs show for extensions with config tables.
# ---------------------------------------------------------------------------
my $dump = "$tempdir/src.dump";
$node->command_ok(
	[ 'pg_dump', '-Fc', '-d', $node->connstr('src'), '-f', $dump ],
	'pg_dump -Fc of the source database');
restore_into('dst', $dump);

# ---------------------------------------------------------------------------
# The restored catalog is identical.
# ---------------------------------------------------------------------------
is($node->safe_psql('dst', $digest_sql),
	$src_digest, 'restored: revisions, applied, version, log, sequences identical');
is($node->safe_psql('dst', $history_sql),
	$src_history, 'restored: migr_history() identical');
is($node->safe_psql('dst', q{SELECT string_agg(c, ',') FROM migr_current() c}),
	'c3', 'restored: migr_current() identical');
is($node->safe_psql('dst', $data_sql),
	$node->safe_psql('src', $data_sql), 'restored: the scripts\' tables and data');
is($node->safe_psql('dst', q{SELECT extversion FROM pg_extension WHERE extname = 'migr'}),
	'0.2', 'restored: extension is installed');

# Already-reached targets are no-ops.
foreach my $t ('c3', 'current', 'head-1', 'b2')
{
	is($node->safe_psql('dst', qq{SELECT count(*) FROM migr_upgrade('$t')}),
		'0', "restored: migr_upgrade('$t') returns no rows");
}
is($node->safe_psql('dst', q{SELECT count(*) FROM migr.log WHERE operation <> 'register'}),
	'5', 'restored: no-ops wrote no log rows');

# Upgrading to head applies exactly the pending revision.
is( $node->safe_psql(
		'dst',
		q{SELECT string_agg(step || ':' || revision || ':' || direction, ',') FROM migr_upgrade('head')}),
	"1:$pending:up",
	'restored: migr_upgrade(\'head\') applies only the pending revision');
is($node->safe_psql('dst', q{SELECT string_agg(w::text, ',') FROM widgets w}),
	'(1,1)', 'restored: the pending revision created its table');
is($node->safe_psql('dst', q{SELECT string_agg(c, ',') FROM migr_current() c}),
	$pending, 'restored: current is the head');
is( $node->safe_psql(
		'dst',
		qq{SELECT count(*) || ',' || bool_and(id > $src_max_log) || ',' ||
                  bool_and(run_id > $src_max_run) || ',' || bool_and(revision = '$pending')
             FROM migr.log WHERE (id > $src_max_log OR run_id > $src_max_run
                              OR revision = '$pending') AND operation <> 'register'}),
	'1,true,true,true',
	'restored: the new log row continues the restored ids and runs');
is($node->safe_psql('dst', 'SELECT count(*) FROM migr_upgrade()'),
	'0', 'restored: migr_upgrade(\'head\') at head is a no-op');

# Registration continues the restored order.
$node->safe_psql('dst',
	q{SELECT migr_revision('gadgets', 'CREATE TABLE gadgets (id int);', 'DROP TABLE gadgets;', 'e5')});
is( $node->safe_psql(
		'dst',
		qq{SELECT seq > $src_max_seq AND down_revision = ARRAY['$pending']
             FROM migr.revisions WHERE id = 'e5'}),
	't', 'restored: a new revision gets a higher seq, parent is the head');
is($node->safe_psql('dst', q{SELECT string_agg(revision, ',') FROM migr_upgrade('head')}),
	'e5', 'restored: and it applies');

# Downgrading through restored revisions runs their restored scripts.
is( $node->safe_psql(
		'dst',
		q{SELECT string_agg(revision || ':' || direction, ',' ORDER BY step) FROM migr_downgrade('b2')}),
	"e5:down,$pending:down,c3:down",
	'restored: downgrade to b2 runs the restored downgrade scripts');
is($node->safe_psql('dst', q{SELECT to_regclass('widgets') IS NULL AND to_regclass('gadgets') IS NULL}),
	't', 'restored: downgraded tables are gone');

# A restore in one transaction that stops at the first error (what a careful
# deploy pipeline runs) gives the same catalog.
restore_into('dst1', $dump, '--single-transaction', '--exit-on-error');
# (psql, not safe_psql: a failed restore must not stop the rest of the file.)
is(psql_out('dst1', $digest_sql),
	$src_digest, 'restored with -1 -e: catalog identical');
is( psql_out(
		'dst1', q{SELECT string_agg(revision, ',') FROM migr_upgrade('head')}),
	$pending,
	'restored with -1 -e: upgrade applies the pending revision');

# The source was not touched by any of this.
is($node->safe_psql('src', $digest_sql), $src_digest, 'source: unchanged');

# ---------------------------------------------------------------------------
# A database dumped at head: after restore, migr_upgrade('head') is a no-op.
# ---------------------------------------------------------------------------
$node->safe_psql('src', q{SELECT migr_upgrade('head')});
my $at_head = $node->safe_psql('src', $digest_sql);
$node->command_ok(
	[ 'pg_dump', '-Fc', '-d', $node->connstr('src'), '-f', "$tempdir/head.dump" ],
	'pg_dump -Fc of the source at head');
restore_into('dst2', "$tempdir/head.dump");
is($node->safe_psql('dst2', $digest_sql), $at_head, 'restored at head: catalog identical');
is($node->safe_psql('dst2', 'SELECT count(*) FROM migr_upgrade(\'head\')'),
	'0', 'restored at head: migr_upgrade(\'head\') returns no rows');
is($node->safe_psql('dst2', $digest_sql), $at_head, 'restored at head: and changes nothing');

$node->stop;
done_testing();
