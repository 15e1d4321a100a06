# test/t/045_readme_examples.pl
#
# Runs the SQL examples of README.md in the order README shows them, all on
# one database named "app" (the name README's examples use), and compares
# what psql prints with the output README shows.  A failure names the
# README line of the example.
#
# The convention (README.md, "Tests and benchmarks", repeats it):
#
#   ```sql            an example: it runs, in README order, in a psql session
#                     of its own (psql -X -q, errors do not stop it, the
#                     working directory is examples/, so \set ... `cat
#                     migrations/...` finds the example files).  Settings of
#                     the session (SET, \x) do not carry over to the next
#                     example; ALTER DATABASE ... SET does, as it would.
#   ```sql norun      not run: a function's signature, a migration file, a
#                     statement meant for another database.
#   ```               (a bare fence right after an example, with only blank
#                     lines between) the example's output: what psql prints
#                     on stdout and stderr, in order.  An example without
#                     one must run without an ERROR.
#   <!-- sql          (an HTML comment, which Markdown does not show, up to
#   ...               the line "-->") SQL that runs like an example without
#   -->               output, for state the reader need not see.
#   <!-- example database: NAME -->
#                     the examples after this line run on database NAME
#                     (created empty when first named), until the next such
#                     line: for a scenario of its own, such as a branched
#                     graph.  The first examples run on "app".
#
# Before the comparison both sides are normalised: psql's "psql:FILE:LINE: "
# prefix goes, timestamps become <timestamp>, intervals <interval>, ids of
# 12 hexadecimal digits (generated) <id>, backend pids after "Process "
# <pid>; runs of spaces become one space and runs of "-" one "-", so column
# widths do not matter; trailing blank lines are ignored.  Everything else
# must be as README shows it.

use strict;
use warnings;

use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $repo = $ENV{MIGR_REPO} // dirname(__FILE__) . '/../..';
my $readme = "$repo/README.md";
my $examples = "$repo/examples";

# ---------------------------------------------------------------------------
# Reading README.md
# ---------------------------------------------------------------------------

# The blocks of README in order: { line, kind (run, norun, output, other,
# hidden), text }.  "line" is the line of the opening fence.
sub read_blocks
{
	my ($path) = @_;
	open(my $fh, '<', $path) or die "cannot read $path: $!";
	my @lines = <$fh>;
	close($fh);

	my @blocks;
	my $i = 0;
	my $blank_since_block = 0;    # only blank lines since the last block
	while ($i < @lines)
	{
		my $line = $lines[$i];
		if ($line =~ /^```\s*(\S*)\s*(.*?)\s*$/)
		{
			my ($lang, $rest) = ($1, $2);
			my $start = $i + 1;
			my $text = '';
			$i++;
			while ($i < @lines && $lines[$i] !~ /^```\s*$/)
			{
				$text .= $lines[$i];
				$i++;
			}
			die "README.md line $start: fence without end\n" if $i >= @lines;
			my $kind =
				$lang eq 'sql' && $rest eq '' ? 'run'
			  : $lang eq 'sql' && $rest eq 'norun' ? 'norun'
			  : $lang eq 'sql' ? 'bad'
			  : $lang eq '' && $blank_since_block ? 'output'
			  : 'other';
			push @blocks,
			  { line => $start, kind => $kind, text => $text, info => "$lang $rest" };
			$blank_since_block = 1;
			$i++;
			next;
		}
		if ($line =~ /^<!-- sql\s*$/)
		{
			my $start = $i + 1;
			my $text = '';
			$i++;
			while ($i < @lines && $lines[$i] !~ /^-->\s*$/)
			{
				$text .= $lines[$i];
				$i++;
			}
			die "README.md line $start: <!-- sql without -->\n" if $i >= @lines;
			push @blocks, { line => $start, kind => 'hidden', text => $text };
			$blank_since_block = 0;
			$i++;
			next;
		}
		if ($line =~ /^<!-- example database: (\w+) -->\s*$/)
		{
			push @blocks, { line => $i + 1, kind => 'database', text => $1 };
			$i++;
			next;
		}
		$blank_since_block = 0 if $line !~ /^\s*$/;
		$i++;
	}
	return @blocks;
}

# What the comparison looks at.
sub normalise
{
	my ($text) = @_;
	my @out;
	for my $line (split /\n/, $text)
	{
		$line =~ s/^psql:[^:\n]*:\d+: //;
		$line =~
		  s/\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d(?::\d\d)?)?/<timestamp>/g;
		$line =~ s/(?<![\d:])\d\d:\d\d:\d\d(?:\.\d+)?/<interval>/g;
		$line =~ s/(?<![0-9a-f])[0-9a-f]{12}(?![0-9a-f])/<id>/g;
		$line =~ s/\bProcess \d+/Process <pid>/g;
		$line =~ s/ +/ /g;
		$line =~ s/-+/-/g;
		$line =~ s/^ //;
		$line =~ s/ $//;
		push @out, $line;
	}
	pop @out while @out && $out[-1] eq '';
	shift @out while @out && $out[0] eq '';
	return join("\n", @out) . "\n";
}

# ---------------------------------------------------------------------------
# Running them
# ---------------------------------------------------------------------------

my @blocks = read_blocks($readme);
ok(scalar(grep { $_->{kind} eq 'run' } @blocks) > 20, 'README.md has SQL examples');

for my $b (grep { $_->{kind} eq 'bad' } @blocks)
{
	fail("README.md line $b->{line}: fence \"```$b->{info}\": write ```sql (run) or ```sql norun");
}

my $node = PostgreSQL::Test::Cluster->new('readme');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE app');
my %databases = (app => 1);
my $database = 'app';

my $n = 0;
for (my $k = 0; $k < @blocks; $k++)
{
	my $b = $blocks[$k];
	if ($b->{kind} eq 'database')
	{
		$database = $b->{text};
		$node->safe_psql('postgres', "CREATE DATABASE $database")
		  unless $databases{$database}++;
		next;
	}
	next unless $b->{kind} eq 'run' || $b->{kind} eq 'hidden';
	$n++;
	my $expected;
	$expected = $blocks[ $k + 1 ]{text}
	  if $b->{kind} eq 'run'
	  && $k + 1 < @blocks
	  && $blocks[ $k + 1 ]{kind} eq 'output';

	my $file = "$PostgreSQL::Test::Utils::tmp_check/readme_$n.sql";
	open(my $fh, '>', $file) or die "cannot write $file: $!";
	print $fh $b->{text};
	close($fh);

	my $out = '';
	{
		local $ENV{PGHOST} = $node->host;
		local $ENV{PGPORT} = $node->port;
		local $ENV{PGDATABASE} = $database;
		local $ENV{PGOPTIONS};
		chdir $examples or die "cannot chdir to $examples: $!";
		IPC::Run::run([ 'psql', '-X', '-q', '-f', $file ],
			'<', \undef, '>&', \$out);
	}
	my $first = (split /\n/, $b->{text})[0] // '';
	my $what = "README.md line $b->{line}: $first";
	if (defined $expected)
	{
		is(normalise($out), normalise($expected), $what)
		  or diag("the example at README.md line $b->{line} printed:\n$out");
	}
	else
	{
		unlike($out, qr/^(?:psql:[^\n]*: )?(?:ERROR|FATAL|PANIC):/m, $what)
		  or diag("the example at README.md line $b->{line} (no output block follows it) printed:\n$out");
	}
}

$node->stop;
done_testing();
