# test/t/020_psql_script_injection.pl
#
# The psql script migr_script() writes runs exactly the registered
# statements when real psql reads it (psql -X -v ON_ERROR_STOP=1 -f), and
# nothing a revision's author wrote can make psql do anything else:
#
# - messages with every kind of line break (LF, CR LF, lone CR, form feed,
#   vertical tab, NEL, U+2028, U+2029) and backslashes, carrying SQL and
#   psql \! shell commands;
# - string literals with backslashes that psql would read differently with
#   standard_conforming_strings off (the server's default set off; the
#   setting turned off by a statement of the script itself);
# - psql variable interpolation: arr[1:ENCODING], :foo, :"foo", a[2:3] with
#   psql variables of those names defined;
# - psql meta-commands in comments and dollar quotes, a BEGIN ATOMIC body.
#
# For each way of running the script it asserts that psql succeeded, that no
# \! command ran (no file appeared in psql's working directory), that the
# schema and data are exactly those migr_upgrade() gives for the same
# revisions, and that no role changed.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('inject');
$node->init;
$node->start;

my $tmp = PostgreSQL::Test::Utils::tempdir;

# Messages: every line break, each followed by SQL and a shell command that
# would leave a file named after it.
my @breaks = (
	[ lf   => "\n" ],
	[ crlf => "\r\n" ],
	[ cr   => "\r" ],
	[ ff   => "\f" ],
	[ vt   => "\x0b" ],
	[ nel  => "\x{85}" ],
	[ ls   => "\x{2028}" ],
	[ ps   => "\x{2029}" ],
	[ bs   => "\\" ],
	[ sjis => "\x{3041}\n" ]);

# The registered revisions, in order: [id, upgrade script].
my @revisions = (
	[ 'm_base', q{CREATE TABLE sl (a int[], encoding int, foo int);
INSERT INTO sl VALUES ('{1,2,3,4,5,6,7}', 3, 2);} ],
	# psql variables: ENCODING is built in, foo and 3 are set on the command line.
	[ 'vars', q{CREATE TABLE sl_out AS
  SELECT a[1:ENCODING] AS x, a[1:foo] AS y, a[2:3] AS z, a[1:"foo"] AS w,
         a[1:'2'] AS v, 'keep :foo and :''foo'' inside' AS lit
    FROM sl;} ],
	# Backslashes in standard literals: one statement to the server, a
	# shell command to psql reading with standard_conforming_strings off.
	[ 'scs', q{CREATE TABLE lit (n int, v text CHECK (v !~ '^\d+$'));
INSERT INTO lit VALUES (1, 'a\' || '\! touch pwned_scs #' || 'b');
INSERT INTO lit VALUES (2, E'tab\there' || U&'\0041' || $$ \! touch pwned_dollar $$);} ],
	# Meta-commands in comments and dollar quotes are not meta-commands.
	[ 'comments', q{/* \! touch pwned_block */ CREATE TABLE c1 (i int); -- \! touch pwned_line
DO $$ BEGIN PERFORM ':foo \! touch pwned_do'; END $$;
CREATE FUNCTION f1() RETURNS int LANGUAGE sql
BEGIN ATOMIC
  SELECT 1;
  SELECT CASE WHEN true THEN 2 END;
END;} ],
	[ 'conc', q{CREATE INDEX CONCURRENTLY sl_foo ON sl (foo);} ],
	# U+3041 is E3 81 81 in UTF-8; read as SJIS, 0x81 starts a two-byte
	# character and swallows the quote after it: the second literal's
	# content would be outside, a \! to psql.
	[ 'sjis', "INSERT INTO lit VALUES (5, concat('\x{3041}', ' \\! touch pwned_sjis #'));" ],
	# Last: a statement that turns standard_conforming_strings off for the
	# rest of the psql session (migr_upgrade refuses this one at run time).
	[ 'scs_off', q{SELECT set_config('standard_conforming_strings', 'off', false);
INSERT INTO lit VALUES (3, 'c\' || '\! touch pwned_scs_off #' || 'd');
INSERT INTO lit VALUES (4, 'x'':foo');} ]);

sub setup_db
{
	my ($db) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, 'CREATE EXTENSION migr');
	my $prev = 'NULL';
	foreach my $b (@breaks)
	{
		my ($kind, $break) = @$b;
		my $message = "msg $kind${break}ALTER ROLE msg_victim SUPERUSER;${break}CREATE TABLE pwned_sql_$kind ();${break}\\! touch pwned_msg_$kind${break}--";
		$node->safe_psql($db,
			sprintf(q{SET client_min_messages = error; SELECT migr_revision(%s, 'SELECT 1;', NULL, 'msg_%s', %s);},
				quote($message), $kind, $prev eq 'NULL' ? 'NULL' : "ARRAY['$prev']"));
		$prev = "msg_$kind";
	}
	foreach my $r (@revisions)
	{
		my ($id, $script) = @$r;
		$node->safe_psql($db,
			sprintf(q{SET client_min_messages = error; SELECT migr_revision(%s, %s, NULL, '%s', ARRAY['%s']);},
				quote("revision $id"), quote($script), $id, $prev));
		$prev = $id;
	}
}

# A PostgreSQL E'' literal for any Perl string (UTF-8).  Characters above
# ASCII become \uXXXX escapes, so the SQL sent is ASCII.
sub quote
{
	my ($s) = @_;
	my $out = "E'";
	foreach my $c (split //, $s)
	{
		my $o = ord($c);
		if ($c eq "'" || $c eq "\\") { $out .= "\\$c"; }
		elsif ($o < 0x20 || $o >= 0x7f) { $out .= sprintf('\\u%04x', $o); }
		else { $out .= $c; }
	}
	return "$out'";
}

# What the revisions leave, as text: tables in public, their data, functions,
# indexes, roles.
sub outcome
{
	my ($db) = @_;
	return $node->safe_psql(
		$db, q{
SELECT 'tables: ' || string_agg(relname, ',' ORDER BY relname) FROM pg_class
 WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'i');
SELECT 'sl_out: ' || string_agg(concat_ws(' ', x, y, z, w, v, lit), ';') FROM sl_out;
SELECT 'lit: ' || string_agg(n || '=' || v, ';' ORDER BY n) FROM lit WHERE n <> 5;
SELECT 'lit5: ' || (v = concat(chr(12353), ' ', chr(92), '! touch pwned_sjis #')) FROM lit WHERE n = 5;
SELECT 'f1: ' || f1();
SELECT 'superusers: ' || string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles WHERE rolsuper;
SELECT 'current: ' || string_agg(c, ',') FROM migr_current() c;
});
}

$node->safe_psql('postgres', 'CREATE ROLE msg_victim');

# The reference: migr_upgrade() up to scs_off's parent, then the values
# scs_off's INSERTs must give.
setup_db('ref');
my ($rc, $out, $err) = (0, '', '');
$rc = $node->psql('ref', q{SELECT count(*) FROM migr_upgrade('scs_off')},
	stdout => \$out, stderr => \$err);
isnt($rc, 0, 'migr_upgrade refuses the revision with CREATE INDEX CONCURRENTLY');
# Apply everything but the concurrent index and scs_off with migr_upgrade,
# the index by hand as registered, and scs_off's inserts as registered.
$node->safe_psql('ref', q{SELECT count(*) FROM migr_upgrade('comments')});
$node->safe_psql('ref', q{CREATE INDEX CONCURRENTLY sl_foo ON sl (foo)});
$node->safe_psql('ref', q{SELECT migr_stamp('conc')});
$node->safe_psql('ref', q{SELECT count(*) FROM migr_upgrade('sjis')});
$rc = $node->psql('ref', q{SELECT count(*) FROM migr_upgrade('scs_off')},
	stdout => \$out, stderr => \$err);
isnt($rc, 0, 'migr_upgrade refuses a step that turns standard_conforming_strings off');
like($err, qr/a migration statement turned standard_conforming_strings off\n.*CONTEXT:\s+migration "scs_off" \(upgrade\), statement 1, line \d+/s,
	'... naming revision and statement in the context');
$node->safe_psql('ref', q{
INSERT INTO lit VALUES (3, 'c\' || '\! touch pwned_scs_off #' || 'd');
INSERT INTO lit VALUES (4, 'x'':foo');
SELECT migr_stamp('scs_off');});
my $expected = outcome('ref');
like($expected, qr/^lit: 1=a\\\\! touch pwned_scs #b;2=tab\thereA \\! touch pwned_dollar ;3=c\\\\! touch pwned_scs_off #d;4=x':foo$/m,
	'reference values are the registered literals read with standard_conforming_strings on');
like($expected, qr/^sl_out: \{1,2,3\} \{1,2\} \{2,3\} \{1,2\} \{1,2\} keep :foo and :'foo' inside$/m, 'reference slices');
like($expected, qr/^superusers: \w+$/m, 'one superuser');
like($expected, qr/^lit5: true$/m, 'reference value of the SJIS attack literal');

# psql -X -v ON_ERROR_STOP=1 -f FILE in directory CWD; true if it succeeded.
sub run_psql
{
	my ($db, $file, $cwd) = @_;
	($out, $err) = ('', '');
	return IPC::Run::run(
		[
			$node->installed_command('psql'), '-X', '-h', $node->host, '-p', $node->port,
			'-d', $db, '-v', 'ON_ERROR_STOP=1', '-v', 'foo=INJECTED', '-v', '3=7',
			'-v', '2=1', '-f', $file
		],
		'>', \$out, '2>', \$err,
		init => sub { chdir $cwd or die "chdir: $!" });
}

sub files_in
{
	my ($dir) = @_;
	opendir(my $dh, $dir) or die "opendir $dir: $!";
	my @files = grep { !/^\.\.?$/ } readdir($dh);
	closedir($dh);
	return join(',', sort @files);
}

# The attacks are real: psql runs a \! that follows a line break in a
# comment, and interpolates :foo and a[2:3] outside literals.
{
	my $cwd = "$tmp/cwd_control";
	mkdir $cwd or die "mkdir $cwd: $!";
	my $file = "$tmp/control.sql";
	PostgreSQL::Test::Utils::append_to_file($file,
		"-- step 1: msg\r\\! touch pwned_control\nSELECT 'a[1:foo] a[2:3]' AS lit, 'x' AS \"y:foo\", :'foo' AS v, 1:foo;\n");
	run_psql('postgres', $file, $cwd);
	is(files_in($cwd), 'pwned_control', 'control: psql runs a \! after a CR in a comment');
	like($err, qr/'INJECTED' AS v, 1INJECTED;/, 'control: psql interpolates :foo outside literals');

	# Read with client_encoding SJIS, a quote after U+3041 is swallowed.
	my $sjis = "$tmp/control_sjis.sql";
	open(my $fh, '>:raw', $sjis) or die;
	print $fh "SELECT 'x\xe3\x81\x81', ' \\! touch pwned_sjis_control #';\n";
	close($fh);
	local $ENV{PGCLIENTENCODING} = 'SJIS';
	run_psql('postgres', $sjis, $cwd);
	like(files_in($cwd), qr/pwned_sjis_control/, 'control: psql reading UTF-8 as SJIS runs a \\! that was inside a literal');
}

# Each way of running the script.
my %scripts;
my @runs = (
	[ 'plain',   {} ],
	[ 'scs_off', { PGOPTIONS => '-c standard_conforming_strings=off' } ],
	[ 'scs_off_escape', { PGOPTIONS => '-c standard_conforming_strings=off -c backslash_quote=on' } ],
	[ 'sjis', { PGCLIENTENCODING => 'SJIS' } ]);
foreach my $run (@runs)
{
	my ($name, $env) = @$run;
	my $db = "run_$name";
	setup_db($db);
	my $file = "$tmp/$db.sql";
	my $script = $node->safe_psql($db, q{SELECT migr_script('head')});
	PostgreSQL::Test::Utils::append_to_file($file, "$script\n");

	my $cwd = "$tmp/cwd_$name";
	mkdir $cwd or die "mkdir $cwd: $!";
	local %ENV = (%ENV, %$env);
	$scripts{$name} = $script;
	ok(run_psql($db, $file, $cwd), "$name: psql -X -v ON_ERROR_STOP=1 -f runs the whole script") or diag($err);
	is(files_in($cwd), '', "$name: no \\! command ran (no file appeared)");
	is(outcome($db), $expected, "$name: schema and data are exactly what the registered statements give");
	is($node->safe_psql($db, q{SELECT count(*) FROM migr.applied}), scalar(@breaks) + scalar(@revisions),
		"$name: every step recorded");
}

# Each line-break kind stays inside its comment line in the script.
my $script = $scripts{plain};
foreach my $b (@breaks)
{
	my $kind = $b->[0];
	like($script, qr/^-- step \d+: msg_$kind \(up\) msg $kind\S* ?ALTER ROLE msg_victim SUPERUSER;.*\\\\! touch pwned_msg_$kind.*--$/m,
		"message with $kind: one comment line");
}
unlike($script, qr/^\s*\\(?!set ON_ERROR_STOP on$)/m, 'the only line psql reads as a meta-command is \set ON_ERROR_STOP on');
like($script, qr/\A\\set ON_ERROR_STOP on\nSET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n/,
	'the script sets ON_ERROR_STOP, the encoding it is written in and standard_conforming_strings first');
like($script, qr/a\[1: ENCODING\]/, 'a colon before a psql variable name gets a space');
like($script, qr/E'a\\\\' \|\| E'\\\\! touch pwned_scs #'/, 'backslash literals are written as E strings');

done_testing();
