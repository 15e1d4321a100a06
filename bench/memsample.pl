#!/usr/bin/perl
# bench/memsample.pl PID STOPFILE
#
# Samples /proc/PID/status every 2 ms until STOPFILE exists (or the process
# is gone), then prints one line:
#   first_anon_kb max_anon_kb last_anon_kb vmhwm_kb samples
# RssAnon is the backend's private (heap) memory; VmRSS/VmHWM also count the
# shared buffers the backend has touched, which grow with the amount of data
# written and say nothing about palloc'd memory.
use strict;
use warnings;
use Time::HiRes qw(usleep);

my ($pid, $stop) = @ARGV;
die "usage: $0 PID STOPFILE\n" unless defined $stop;

my ($first, $max, $last, $hwm, $n) = (undef, 0, 0, 0, 0);
while (1)
{
	open(my $fh, '<', "/proc/$pid/status") or last;
	my ($anon, $peak);
	while (<$fh>)
	{
		$anon = $1 if /^RssAnon:\s+(\d+)/;
		$peak = $1 if /^VmHWM:\s+(\d+)/;
	}
	close($fh);
	last unless defined $anon;
	$first = $anon unless defined $first;
	$max = $anon if $anon > $max;
	$last = $anon;
	$hwm = $peak if defined $peak;
	$n++;
	last if -e $stop;
	usleep(2000);
}
$first //= 0;
print "$first $max $last $hwm $n\n";
