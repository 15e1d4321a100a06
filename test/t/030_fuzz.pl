# test/t/030_fuzz.pl
#
# Seeded fuzzer for what users hand to migr: migration files (migr_load,
# one file or a set), target strings (migr_upgrade, migr_downgrade,
# migr_stamp, migr_plan, migr_history, migr_show, migr_check_head,
# migr_script, the integer forms) and migr_revision / migr_merge arguments.
# Inputs are generated from a fixed seed: valid ones, then mutated (lines
# dropped, doubled, swapped; near-miss markers; CR, CR LF, control and
# non-ASCII characters, invalid UTF-8; huge, empty and NULL values; unknown,
# reserved and over-long ids; deep nesting; transaction control, COPY, psql
# meta-commands, non-transactional statements).  They run through three
# sessions: superuser in a development database, superuser and the deploy
# role in a production database (confirmed).
#
# Every call must end in success or a clean ERROR with a SQLSTATE: never a
# backend crash (the server must still answer), never an internal error
# XX000, never a FATAL or PANIC, never a statement timeout.  A call that
# fails must change nothing: the fingerprint of every migr.* table and of
# the relations in schema public is the same before and after it.
#
# Short run in make test (2,500 inputs by default); a long run:
#     MIGR_FUZZ_COUNT=200000 MIGR_FUZZ_SEED=12345 test/fuzz.sh
# The seed is printed; the same seed and count give the same inputs, and a
# failure names the input's number and SQL.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use MigrAttack;

my $count = $ENV{MIGR_FUZZ_COUNT} // 2500;
my $seed  = $ENV{MIGR_FUZZ_SEED}  // 20261129;
diag("fuzz: seed $seed, $count inputs (MIGR_FUZZ_SEED=$seed MIGR_FUZZ_COUNT=$count to repeat)");
srand($seed);

my $node = start_node('fuzz');
$node->append_conf('postgresql.conf', "log_statement = none\nlog_min_messages = warning\n");
$node->reload;
my $su = superuser_name();
my ($dev, $prod);

# --- Generators -----------------------------------------------------------

sub pick { return $_[ int(rand(@_)) ]; }
sub chance { return rand() < $_[0]; }

my @known_ids = ('r1', 'r2', 'r3', 'base1', 'm1');

sub rand_id
{
	my $r = rand();
	return pick(@known_ids) if $r < 0.35;
	return 'f' . int(rand(1000)) if $r < 0.6;
	return pick('head', 'heads', 'base', 'current', 'HEAD', 'Base') if $r < 0.65;
	return 'x' x (60 + int(rand(10))) if $r < 0.7;
	return pick('', ' ', 'a b', 'a-b', "a\nb", "a\rb", 'é', "a\x{2028}b", 'a;b', "a'b", 'a"b', 'a\\b',
		'a$b', 'a@b', '@', 'a:b', '%', '_', '0', '-1', '+1', 'a--b', "\t");
}

sub rand_target
{
	my $r = rand();
	my $base = pick('head', 'heads', 'base', 'current', rand_id(), substr(rand_id(), 0, 4), '');
	return $base if $r < 0.3;
	my $n = pick(0, 1, 2, 3, 10, 99999, '2147483648', '99999999999999999999', '-0', '00', '1e3', 'x', '');
	return pick('+', '-') . $n if $r < 0.5;
	return $base . pick('+', '-', '++', '+-', '--') . $n if $r < 0.7;
	return pick('billing', 'lab', rand_id(), '', '@') . '@' . rand_target() if $r < 0.85;
	return pick('head:head', 'base:head', ':head', 'head:', ':', 'r1:r3', 'current:base') if $r < 0.9;
	return "head\n" . pick('\\! id', 'SELECT 1', '-- x') if $r < 0.93;
	return join '', map { chr(32 + int(rand(95))) } 1 .. int(rand(20));
}

# Statements for scripts: valid, invalid, and special to migr.
my @stmts = (
	'CREATE TABLE public.fz_%d (i int)',
	'CREATE TABLE IF NOT EXISTS public.fz_%d (i int PRIMARY KEY, t text DEFAULT $$x$$)',
	'DROP TABLE IF EXISTS public.fz_%d',
	'ALTER TABLE public.fz_%d ADD COLUMN c int',
	'ALTER TABLE public.fz_%d DROP COLUMN c',
	'INSERT INTO public.fz_%d VALUES (1)',
	'SELECT 1',
	'SELECT 1/0',
	'SELECT $x$ unterminated',
	"SELECT 'unterminated",
	'SELECT /* unterminated',
	'CREAT TABLE x ()',
	'BEGIN', 'COMMIT', 'ROLLBACK', 'SAVEPOINT s', 'END', 'ABORT', "PREPARE TRANSACTION 'x'",
	'COPY public.fz_%d FROM STDIN', 'COPY (SELECT 1) TO STDOUT',
	'\\i /etc/passwd', '\\! id', '\\set x 1', '\\gexec',
	'CREATE INDEX CONCURRENTLY fzi_%d ON public.fz_%d (i)',
	'VACUUM public.fz_%d',
	'DO $d$BEGIN RAISE NOTICE $n$hi$n$; END$d$',
	'DO $d$BEGIN PERFORM 1; END',
	"SELECT E'\\\\'",
	"SELECT 'a\\'; SELECT 1; -- '",
	'SELECT (ARRAY[1,2,3])[1:PORT]',
	"SELECT migr_revision('nested', 'SELECT 1')",
	"SELECT * FROM migr_upgrade('head')",
	'-- migr:upgrade',
	'-- migr:downgrade',
	'  -- migr:upgrade',
	'SELECT 1;;;',
	'',
	'-- only a comment',
	'CREATE TABLE public.fz_%d AS SELECT generate_series(1, 10) AS i',
	'SET search_path = nowhere',
	'SET ROLE NONE',
	'RESET ALL',
	'SELECT set_config($$search_path$$, $$pg_temp$$, false)',
	'CREATE FUNCTION public.fzf_%d() RETURNS int LANGUAGE sql AS $f$SELECT 1$f$',
	'LOCK TABLE public.fz_%d',
	'TRUNCATE public.fz_%d',
	'CREATE TYPE public.fzt_%d AS ENUM ($$a$$)',
	"ALTER TYPE public.fzt_%d ADD VALUE 'b'",
	'NOTIFY fz',
	'LISTEN fz',
	'CHECKPOINT',
	'DISCARD ALL',
	'CREATE TEMP TABLE fztmp (i int)',
);

# Mostly statements that run, so that revisions get registered and applied.
my @good = grep { !/unterminated|CREAT TABLE|^BEGIN$|^COMMIT$|^ROLLBACK$|^SAVEPOINT|^END$|^ABORT$|PREPARE|STDIN|STDOUT|^\\|1\/0|PORT|migr_|BEGIN PERFORM 1; END$|CONCURRENTLY|VACUUM|DISCARD|CHECKPOINT/ } @stmts;

sub rand_stmt
{
	my $s = chance(0.85) ? pick(@good) : pick(@stmts);
	my $n = int(rand(8));
	$s =~ s/%d/$n/g;
	return $s;
}

sub rand_script
{
	my $r = rand();
	return undef if $r < 0.03;
	return '' if $r < 0.06;
	return '(' x 5000 . 'SELECT 1' . ')' x 5000 if $r < 0.07;
	return 'SELECT ' . join(' + ', (1) x 2000) if $r < 0.08;
	return join(";\n", map { 'SELECT ' . $_ } 1 .. (500 + int(rand(2000)))) if $r < 0.09;
	my @s = map { rand_stmt() } 1 .. (1 + int(rand(4)));
	my $sep = pick(";\n", ";\r\n", ";", "; ", "\n", ";\r");
	my $text = join $sep, @s;
	$text .= pick('', ';', ";\n", "\n", ' -- trailing', "\n\n");
	return mutate_text($text) if chance(0.1);
	return $text;
}

sub rand_message
{
	my $r = rand();
	return undef if $r < 0.03;
	return '' if $r < 0.06;
	return 'x' x 20000 if $r < 0.07;
	return 'message ' . int(rand(100)) if $r < 0.6;
	return pick('add table', 'fix', " lead", "trail ", "two\nlines", "cr\rhere", "crlf\r\nx",
		"\\! id", "x\n\\! touch /tmp/fuzz_pwned\n--", 'ünïcödé ✓', "tab\there", "--", "-- migr:upgrade",
		"x\x{0B}y", "x\x{0C}y", "x\x{1F}y", "x\x{7F}y", 'bad INVALIDUTF8 bytes');
}

sub rand_array
{
	my ($gen) = @_;
	my $r = rand();
	return 'NULL' if $r < 0.2;
	return "'{}'" if $r < 0.3;
	return 'ARRAY[NULL]::text[]' if $r < 0.33;
	return "'{{a,b},{c,d}}'::text[]" if $r < 0.36;
	return "'[2:3]={a,b}'::text[]" if $r < 0.38;
	my @e = map { $gen->() } 1 .. (1 + int(rand(3)));
	push @e, $e[0] if chance(0.1);
	return 'ARRAY[' . join(', ', map { lit($_) } @e) . ']::text[]';
}

sub rand_bool { return pick('NULL', 'true', 'false'); }

# A migration file: a valid one, then mutated.
sub rand_file
{
	my $id = chance(0.8) ? 'f' . int(rand(200)) : rand_id();
	my @h = ("-- migr:revision $id");
	push @h, '-- migr:down_revision ' . join(' ', map { rand_id() } 1 .. int(rand(3)))
	  unless chance(0.05);
	push @h, '-- migr:message ' . (rand_message() // 'm') unless chance(0.05);
	push @h, '-- migr:branch_labels ' . join(' ', map { 'lab' . int(rand(5)) } 1 .. int(rand(3))) if chance(0.2);
	push @h, '-- migr:depends_on ' . join(' ', map { rand_id() } 1 .. int(rand(3))) if chance(0.15);
	push @h, '-- migr:destructive ' . pick('true', 'false', 'TRUE', 'yes', '') if chance(0.15);
	push @h, '-- migr:transactional ' . pick('true', 'false', 'maybe') if chance(0.1);
	push @h, pick('-- a comment', '', '--', '-- migr:foo bar', 'SELECT 1', '-- migr:revision x')
	  if chance(0.1);
	my @lines = (@h, '', '-- migr:upgrade', split(/\n/, rand_script() // 'SELECT 1'));
	if (chance(0.6))
	{
		push @lines, '-- migr:downgrade', split(/\n/, rand_script() // '');
	}
	@lines = mutate_lines(@lines) if chance(0.3);
	my $nl = rand() < 0.85 ? "\n" : chance(0.66) ? "\r\n" : "\r";
	my $text = join($nl, @lines) . pick($nl, '', $nl . $nl);
	$text = mutate_text($text) if chance(0.1);
	return ($id, $text);
}

my @near_miss = ('-- migr: upgrade', '--migr:upgrade', '-- migr:upgrades', '-- MIGR:upgrade',
	'-- migr:Upgrade', '--  migr:downgrade', '-- migr:downgrade now', ' -- migr:downgrade',
	"-- migr:upgrade\t", '-- migr:downgrade ', '-- migr :downgrade', '-- migr:', '-- migr:upgrade:',
	'/* migr:upgrade */', '-- migr:revision', '-- migr:message', '-- migr:down_revision');

sub mutate_lines
{
	my @l = @_;
	for (1 .. 1 + int(rand(3)))
	{
		my $i = int(rand(@l || 1));
		my $op = int(rand(5));
		if ($op == 0 && @l) { splice @l, $i, 1; }
		elsif ($op == 1 && @l) { splice @l, $i, 0, $l[$i]; }
		elsif ($op == 2 && @l > 1)
		{
			my $j = int(rand(@l));
			@l[ $i, $j ] = @l[ $j, $i ];
		}
		else { splice @l, $i, 0, pick(@near_miss); }
	}
	return @l;
}

sub mutate_text
{
	my ($t) = @_;
	for (1 .. 1 + int(rand(3)))
	{
		my $i = int(rand(length($t) + 1));
		my $op = int(rand(4));
		if ($op == 0) { substr($t, $i, 0) = pick("\r", "\n", "\t", "\x{1}", "'", '$', '$$', '\\', ';', '--', '/*', 'é', "\x{FEFF}"); }
		elsif ($op == 1) { substr($t, $i, 1 + int(rand(5))) = '' if $i < length($t); }
		elsif ($op == 2) { $t = substr($t, 0, $i); }
		else { substr($t, $i, 0) = substr($t, 0, int(rand(length($t) + 1))); }
	}
	return $t;
}

# A SQL literal for $s (NULL for undef): dollar-quoted with a tag the text
# does not contain, so psql passes it through untouched.
sub lit
{
	my ($s) = @_;
	return 'NULL' unless defined $s;
	my $tag = 'q';
	$tag .= int(rand(10)) while index($s, "\$$tag\$") >= 0 || $s =~ /\$$tag$/;
	return "\$$tag\$$s\$$tag\$";
}

# One fuzz input: [ kind, SQL ].
sub rand_input
{
	my $r = rand();
	if ($r < 0.35)
	{
		my ($id, $text) = rand_file();
		my $fname = pick("$id.sql", "${id}_x.sql", 'other.sql', undef, '', '../../etc/passwd', "$id", 'a/b/' . "$id.sql");
		return [ 'migr_load', 'SELECT migr_load(' . lit($text) . ', ' . lit($fname) . ')' ];
	}
	if ($r < 0.45)
	{
		my @files = map { [ rand_file() ] } 1 .. (1 + int(rand(4)));
		my @names = map { chance(0.8) ? "$_->[0].sql" : pick('x.sql', undef) } @files;
		pop @names if chance(0.1);
		my $names = chance(0.2) ? 'NULL' : 'ARRAY[' . join(', ', map { lit($_) } @names) . ']::text[]';
		$names = 'NULL' unless @names;
		return [ 'migr_load set', 'SELECT * FROM migr_load(ARRAY[' . join(', ', map { lit($_->[1]) } @files)
			  . "]::text[], $names)" ];
	}
	if ($r < 0.7)
	{
		my $id = chance(0.7) ? 'f' . int(rand(200)) : rand_id();
		$id = undef if chance(0.05);
		return [ 'migr_revision', 'SELECT migr_revision(' . join(', ',
				lit(rand_message()), lit(rand_script()), lit(chance(0.3) ? undef : rand_script()), lit($id),
				rand_array(\&rand_id), rand_array(sub { 'lab' . int(rand(5)) }), rand_array(\&rand_id),
				rand_bool(), rand_bool()) . ')' ];
	}
	if ($r < 0.73)
	{
		return [ 'migr_merge', 'SELECT migr_merge(' . rand_array(\&rand_target) . ', '
			  . lit(rand_message()) . ', ' . lit(chance(0.5) ? 'f' . int(rand(200)) : rand_id()) . ')' ];
	}
	my $t = lit(rand_target());
	my $call = pick(
		"SELECT * FROM migr_upgrade($t)",
		"SELECT * FROM migr_downgrade($t)",
		"SELECT * FROM migr_upgrade($t, dry_run => true)",
		"SELECT * FROM migr_stamp(ARRAY[$t])",
		"SELECT * FROM migr_plan($t, " . lit(pick('upgrade', 'downgrade', 'sideways', '', undef)) . ')',
		"SELECT * FROM migr_history($t)",
		"SELECT * FROM migr_show($t)",
		"SELECT migr_check_head($t, " . rand_bool() . ')',
		"SELECT migr_script($t, " . lit(pick('upgrade', 'downgrade', 'x')) . ')',
		"SELECT * FROM migr_rollback_check($t)",
		'SELECT * FROM migr_upgrade(' . pick(0, 1, -1, 2147483647, -2147483648, 'NULL::int') . ')',
		'SELECT * FROM migr_downgrade(' . pick(0, 1, -1, 2147483647, -2147483648, 'NULL::int') . ')',
		"SELECT * FROM migr_redo($t)",
		"SELECT migr_repair($t)",
		"CALL migr_upgrade_each($t)");
	return [ 'target', $call ];
}

# --- Sessions -------------------------------------------------------------

# The fingerprint of every migr.* table and of the relations in schema
# public, as a function the deploy role may call too (it cannot read migr.*).
# Failure records (migr.log rows with an error_sqlstate) are left out: a call
# that fails while it runs a script commits one, by design (README).
my $fingerprint_fn = q{
CREATE SCHEMA fuzz;
CREATE FUNCTION fuzz.fp() RETURNS text LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $fp$
SELECT md5(coalesce(string_agg(t, '|' ORDER BY t), ''))
  FROM (SELECT c.relname || ':' || (xpath('/row/t/text()', query_to_xml(
               format('SELECT md5(coalesce(string_agg(x::text, chr(10) ORDER BY x::text), '''')) AS t FROM migr.%I x%s',
                      c.relname, CASE WHEN c.relname = 'log' THEN ' WHERE x.error_sqlstate IS NULL' ELSE '' END),
               false, true, '')))[1]::text AS t
          FROM pg_class c WHERE c.relnamespace = 'migr'::regnamespace AND c.relkind = 'r'
        UNION ALL
        SELECT 'public:' || c.relname || ':' || c.relkind::text FROM pg_class c
         WHERE c.relnamespace = 'public'::regnamespace) s
$fp$;
GRANT USAGE ON SCHEMA fuzz TO deploy;
};
$node->safe_psql('tmpl', $fingerprint_fn);
$dev  = new_db('development');
$prod = new_db('production');

my @session_defs = (
	[ 'superuser, development', $dev,  $su,      '' ],
	[ 'superuser, production',  $prod, $su,      'SET migr.confirm_production = yes;' ],
	[ 'deploy, production',     $prod, 'deploy', 'SET migr.confirm_production = yes;' ],
);

sub connect_session
{
	my ($def) = @_;
	my $s = $node->background_psql($def->[1], on_error_stop => 0,
		extra_params => [ '-U', $def->[2] ], timeout => 300);
	$s->query_safe("\\set VERBOSITY verbose\nSET statement_timeout = '30s';\nSET client_min_messages = error;\n$def->[3]");
	return $s;
}

my @sessions = map { connect_session($_) } @session_defs;

# The state every session starts from: a few revisions to aim at.
$node->safe_psql($dev, q{
SELECT migr_revision('one', 'CREATE TABLE public.b1 (i int)', 'DROP TABLE public.b1', 'r1', '{}');
SELECT migr_revision('two', 'CREATE TABLE public.b2 (i int)', 'DROP TABLE public.b2', 'r2');
SELECT migr_revision('side', 'SELECT 1', 'SELECT 1', 'r3', '{r1}', branch_labels => '{lab}');
});

my (%by_state, @crashes, @internal, @no_state, @changed, @fatal, @timeouts, @harness);

# Did a backend of the server die since the fuzzing began?  The server log
# is the witness (the postmaster logs every backend that exits abnormally).
my $log_start = -s $node->logfile;
sub server_crashed
{
	my $log = slurp_file($node->logfile, $log_start);
	return $log =~ /(?:terminated by signal|terminated by exception|exited with exit code [1-9]|PANIC:|all server processes terminated)/;
}
my ($ok_calls, $failed_calls) = (0, 0);
my $batch_size = 40;
my $t0 = time();

sub record
{
	my ($list, $i, $sess, $input, $err) = @_;
	push @$list, sprintf("input %d (%s, %s): %s\n  => %s", $i, $input->[0], $session_defs[$sess][0],
		length($input->[1]) > 400 ? substr($input->[1], 0, 400) . '...' : $input->[1],
		substr($err // '', 0, 400));
}

# Inputs go to a session in batches: after each input the session reads the
# fingerprint; markers on stdout and stderr tell the inputs apart.
my $i = 0;
my $batch_no = 0;
while ($i < $count)
{
	my $sess = $batch_no++ % 3;
	my $s    = $sessions[$sess];
	my @batch;
	my $bytes = 0;
	while (@batch < $batch_size && $i < $count && $bytes < 32768)
	{
		my $input = rand_input();
		# psql gets bytes: UTF-8, with an invalid sequence where asked for.
		utf8::encode($input->[1]);
		$input->[1] =~ s/INVALIDUTF8/\xC3\x28/g;
		push @batch, [ ++$i, $input ];
		$bytes += length($input->[1]);
	}
	my $q = "\\warn '\@\@\@ start'\n\\echo '\@\@\@ start'\nSELECT fuzz.fp();\n";
	for my $b (@batch)
	{
		$q .= "\\warn '\@\@\@ $b->[0]'\n\\echo '\@\@\@ $b->[0]'\n$b->[1][1];\n\\echo '### fp'\nSELECT fuzz.fp();\n";
	}
	my ($out, $ret);
	my $died = !eval { ($out, $ret) = $s->query($q); 1; };
	my $err = $s->{stderr} // '';
	$s->{stderr} = '';
	$out = $s->{stdout} // '' if $died;
	my %err_of = map { /^(\S+)'?\n?(.*)$/s ? ($1 => $2) : () } split /^\@\@\@ /m, $err;
	my %out_of = map { /^(\S+)\n?(.*)$/s ? ($1 => $2) : () } split /^\@\@\@ /m, $out;
	my $before = $out_of{start} // '';
	$before =~ s/\n.*//s;
	for my $b (@batch)
	{
		my ($n, $input) = @$b;
		if (!exists $out_of{$n} || ($died && !exists $out_of{ $n + 1 } && $n != $batch[-1][0]))
		{
			# The session died at this input (or before it): a crash if the
			# server log says a backend died, else the harness's pipe.
			if ($died && (exists $out_of{$n} || $n == $batch[0][0]))
			{
				record(server_crashed() ? \@crashes : \@harness, $n, $sess, $input,
					($err_of{$n} // '') . " $@");
			}
			last;
		}
		my $e = $err_of{$n} // '';
		my ($res, $after) = split /^### fp\n/m, $out_of{$n};
		$after //= '';
		$after =~ s/\n.*//s;
		if ($e =~ /server closed the connection|terminating connection because of crash|connection to server was lost|no connection to the server/)
		{
			record(\@crashes, $n, $sess, $input, $e);
			last;
		}
		record(\@fatal, $n, $sess, $input, $e) if $e =~ /(?:FATAL|PANIC):/;
		if ($e =~ /ERROR:  /)
		{
			$failed_calls++;
			my ($state) = $e =~ /ERROR:  ([0-9A-Z]{5}):/;
			if (!defined $state)
			{
				record(\@no_state, $n, $sess, $input, $e);
			}
			else
			{
				$by_state{$state}++;
				record(\@internal, $n, $sess, $input, $e) if $state eq 'XX000';
				record(\@timeouts, $n, $sess, $input, $e) if $state eq '57014';
				# CALL migr_upgrade_each keeps the steps before the failing
				# one and commits a log row for it (README): not a change
				# a failure may not make.
				record(\@changed, $n, $sess, $input, "fingerprint $before -> $after; $e")
				  if $after ne $before && $input->[1] !~ /^CALL migr_upgrade_each/;
			}
		}
		else
		{
			$ok_calls++;
			# A successful migr_revision or migr_load adds a target to aim at.
			push @known_ids, $1 if ($res // '') =~ /^(f\d+)$/m && @known_ids < 60;
		}
		$before = $after;
	}
	if ($died)
	{
		# Wait for the server to come back, then reconnect everything.
		$node->poll_query_until('postgres', 'SELECT 1', '1');
		eval { $_->quit } for @sessions;
		@sessions = map { connect_session($_) } @session_defs;
	}
}
my $elapsed = time() - $t0;

sub report
{
	my ($list, $what) = @_;
	is(scalar(@$list), 0, "fuzz: $what")
	  or diag(join("\n", @$list[ 0 .. ($#$list < 9 ? $#$list : 9) ]) . "\n(seed $seed, count $count)");
}

report(\@crashes,  'no backend crash');
ok(!server_crashed(), 'fuzz: the server log shows no backend that died');
diag(scalar(@harness) . " batches lost to the test harness (psql pipe), no crash:\n" . join("\n", @harness))
  if @harness;
report(\@fatal,    'no FATAL or PANIC');
report(\@internal, 'no internal error (XX000)');
report(\@no_state, 'every error has a SQLSTATE');
report(\@timeouts, 'no statement timeout');
report(\@changed,  'failed calls changed nothing');
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'fuzz: the server still answers');
ok($ok_calls > $count / 30, "fuzz: some calls succeed ($ok_calls)");
ok($failed_calls > $count / 5, "fuzz: many calls are refused ($failed_calls)");

diag(sprintf("fuzz: seed %s, %d inputs in %.1f s (%.0f/s): %d succeeded, %d refused, %d crashes; SQLSTATEs: %s",
	$seed, $count, $elapsed, $count / ($elapsed || 1), $ok_calls, $failed_calls, scalar(@crashes),
	join(' ', map { "$_=$by_state{$_}" } sort { $by_state{$b} <=> $by_state{$a} } keys %by_state)));

$_->quit for @sessions;
done_testing();
