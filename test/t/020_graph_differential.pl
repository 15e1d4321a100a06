# 020_graph_differential: migr's revision graph against Alembic itself.
#
# Runs test/graph_diff.py (python3-alembic, for /usr/bin/python3) on a
# database of its own: random revision graphs from a fixed seed, random
# start states and targets of every form README documents, each run on
# Alembic (sqlite) and on migr, compared step by step; every disagreement
# must be a documented difference (a named rule of graph_diff.py), and
# oracle-free invariants must hold after every migr call.  Its last line
# gives the figures.
#
# MIGR_GRAPH_DIFF_SCENARIOS (default 300) and MIGR_GRAPH_DIFF_SEED
# (default 1) set the size and the seed; README says how to run thousands.
use strict;
use warnings;

use File::Basename qw(dirname);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $scenarios = $ENV{MIGR_GRAPH_DIFF_SCENARIOS} // 300;
my $seed = $ENV{MIGR_GRAPH_DIFF_SEED} // 1;
# test/graph_diff.py, wherever prove runs from (make test: test/; make
# installcheck: the top of the checkout).
my $driver = dirname(__FILE__) . '/../graph_diff.py';

ok(-x '/usr/bin/python3'
	  && system('/usr/bin/python3', '-c', 'import alembic') == 0,
	'Alembic is importable by /usr/bin/python3 (python3-alembic)')
  or BAIL_OUT('python3-alembic is missing: scripts/setup.sh installs it');

my $node = PostgreSQL::Test::Cluster->new('graph_diff');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE graph_diff');

my ($stdout, $stderr) = ('', '');
my $ok = IPC::Run::run(
	[
		'/usr/bin/python3', $driver,
		'--scenarios', $scenarios, '--seed', $seed, '--',
		'psql', '-h', $node->host, '-p', $node->port, '-d', 'graph_diff'
	],
	'>', \$stdout, '2>', \$stderr);
note $stdout;
note $stderr if $stderr ne '';

like(
	$stdout,
	qr/^scenarios $scenarios, agreeing \d+, documented differences \d+ \(.*\), mismatches 0, invariant failures 0$/m,
	"$scenarios scenarios: no unexplained mismatch, no broken invariant");
ok($ok, 'graph_diff.py exits 0');
if ($stdout =~ /^scenarios (\d+), agreeing (\d+), documented differences (\d+)/m)
{
	cmp_ok($2 + $3, '<=', $1, 'figures add up');
	cmp_ok($2, '>', $1 / 2, 'most scenarios agree with Alembic outright');
}
diag((grep { /^(scenarios|MISMATCH|INVARIANT)/ } split /\n/, $stdout), "\n")
  unless $ok;

$node->stop;
done_testing();
