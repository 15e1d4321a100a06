# test/t/023_security_guard.pl
#
# Attacker's suite, issue 9 items 6, 7 and 14.
#
# Item 6: in production, DDL outside migr is refused for the application
# role (which owns schema app, as README sets it up), the deploy role and the
# superuser alike, in every form: EXPLAIN ANALYZE of CREATE TABLE AS / SELECT
# INTO / CREATE MATERIALIZED VIEW (any option list, EXECUTE of a prepared
# query, inside DO), plain SELECT INTO, CREATE TABLE AS, materialized views,
# and the ordinary DDL the event trigger always caught.  Each refusal leaves
# the schema and migr.* as they were and the server log names the role.
#
# Item 7: migr_step_begin does not open the guard: between it and
# migr_step_end, DDL other than the step's registered statements is refused,
# and begin + end without the statements does not record the step applied,
# for a transactional and a non-transactional step.
#
# Item 14: migr_status() shows a failed step's error (data values included)
# only to roles allowed to run migr.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MigrAttack;

my $node = start_node('sec_guard');
my $su   = superuser_name();

# --- Item 6: DDL past the production guard -------------------------------

# %s: the schema the role may create in; each statement creates "x".
my @ddl = (
	[ 'EXPLAIN ANALYZE CREATE TABLE AS', 'EXPLAIN ANALYZE CREATE TABLE %s.x AS SELECT 1 AS i' ],
	[ 'EXPLAIN (ANALYZE, FORMAT JSON) CREATE TABLE AS',
		'EXPLAIN (ANALYZE, FORMAT JSON) CREATE TABLE %s.x AS SELECT 1 AS i' ],
	[ 'EXPLAIN (ANALYZE true, BUFFERS) CREATE UNLOGGED TABLE AS',
		'EXPLAIN (ANALYZE true, BUFFERS) CREATE UNLOGGED TABLE %s.x AS SELECT 1 AS i' ],
	[ 'EXPLAIN ANALYZE CREATE TABLE IF NOT EXISTS AS',
		'EXPLAIN ANALYZE CREATE TABLE IF NOT EXISTS %s.x AS SELECT 1 AS i' ],
	[ 'EXPLAIN ANALYZE SELECT INTO', 'EXPLAIN ANALYZE SELECT 1 AS i INTO %s.x' ],
	[ 'EXPLAIN ANALYZE CREATE MATERIALIZED VIEW',
		'EXPLAIN ANALYZE CREATE MATERIALIZED VIEW %s.x AS SELECT 1 AS i' ],
	[ 'EXPLAIN ANALYZE CREATE TABLE AS EXECUTE',
		"PREPARE q AS SELECT 1 AS i;\nEXPLAIN ANALYZE CREATE TABLE %s.x AS EXECUTE q" ],
	[ 'EXPLAIN ANALYZE in DO',
		q{DO $d$BEGIN EXECUTE 'EXPLAIN ANALYZE CREATE TABLE %s.x AS SELECT 1 AS i'; END$d$} ],
	[ 'EXPLAIN ANALYZE in a transaction',
		"BEGIN;\nEXPLAIN ANALYZE CREATE TABLE %s.x AS SELECT 1 AS i;\nCOMMIT" ],
	[ 'SELECT INTO', 'SELECT 1 AS i INTO %s.x' ],
	[ 'SELECT INTO UNLOGGED', 'SELECT 1 AS i INTO UNLOGGED %s.x' ],
	[ 'CREATE TABLE AS', 'CREATE TABLE %s.x AS SELECT 1 AS i' ],
	[ 'CREATE TABLE AS EXECUTE', "PREPARE q AS SELECT 1 AS i;\nCREATE TABLE %s.x AS EXECUTE q" ],
	[ 'CREATE MATERIALIZED VIEW', 'CREATE MATERIALIZED VIEW %s.x AS SELECT 1 AS i' ],
	[ 'CREATE MATERIALIZED VIEW WITH NO DATA', 'CREATE MATERIALIZED VIEW %s.x AS SELECT 1 AS i WITH NO DATA' ],
	[ 'CREATE TABLE', 'CREATE TABLE %s.x (i int)' ],
	[ 'CREATE VIEW', 'CREATE VIEW %s.x AS SELECT 1 AS i' ],
	[ 'CREATE SEQUENCE', 'CREATE SEQUENCE %s.x' ],
	[ 'CREATE FUNCTION', 'CREATE FUNCTION %s.x() RETURNS int LANGUAGE sql AS $f$SELECT 1$f$' ],
	[ 'DO CREATE TABLE', q{DO $d$BEGIN EXECUTE 'CREATE TABLE %s.x (i int)'; END$d$} ],
);

# The DDL of objects the role owns (app.items for app, its own table for
# the others): each changes the fingerprint if it gets through.
my @alter = (
	[ 'ALTER TABLE ADD COLUMN', 'ALTER TABLE %s ADD COLUMN x int' ],
	[ 'COMMENT ON TABLE',       q{COMMENT ON TABLE %s IS 'x'} ],
	[ 'GRANT',                  'GRANT SELECT ON %s TO PUBLIC' ],
	[ 'CREATE INDEX',           'CREATE INDEX x ON %s (id)' ],
	[ 'CREATE STATISTICS',      'CREATE STATISTICS %s_x ON id, name FROM %s' ],
	[ 'ENABLE ROW LEVEL SECURITY', 'ALTER TABLE %s ENABLE ROW LEVEL SECURITY' ],
	[ 'ALTER DEFAULT PRIVILEGES', 'ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC' ],
);

my %schema_of = (app => 'app', deploy => 'public', $su => 'public');

for my $role ('app', 'deploy', $su)
{
	my $who = $role eq $su ? 'superuser' : $role;
	my $db = new_db();
	# The deploy role's and the superuser's own table, made through migr.
	if ($role ne 'app')
	{
		my $res = run_sql($db, $role, "SELECT migr_revision('t', 'CREATE TABLE public.own_$role (id int, name text)', NULL, 't_$role', '{}');
SELECT count(*) FROM migr_upgrade('head');", env => { PGOPTIONS => '-c migr.confirm_production=yes' });
		is($res->{rc}, 0, "$who: its table through migr") or diag($res->{err});
	}
	my $table = $role eq 'app' ? 'app.items' : "public.own_$role";
	my $before = fingerprint($db);
	for my $d (@ddl, @alter)
	{
		my ($name, $fmt) = @$d;
		my $arg = $fmt =~ /^(ALTER TABLE|COMMENT|GRANT|CREATE INDEX|ALTER DEFAULT|CREATE STATISTICS)/
		  ? $table : $schema_of{$role};
		(my $sql = $fmt) =~ s/%s/$arg/g;
		$sql =~ s/CREATE STATISTICS \S+_x/CREATE STATISTICS $schema_of{$role}.x/;
		my $label = "$name as $who";
		my $pos = log_pos();
		local $TODO = todo_item($name =~ /EXPLAIN ANALYZE|EXPLAIN \(|SELECT INTO|MATERIALIZED|CREATE TABLE AS/ ? 6 : '6-ddl', $name);
		my $res = run_sql($db, $role, $sql);
		refused($res, $label);
		check_log($pos, $role, $db, undef, $label);
		my $after = fingerprint($db);
		is($after->{schema}, $before->{schema}, "$label: schema unchanged");
		is($after->{migr}, $before->{migr}, "$label: migr.* unchanged");
		$before = $after;
	}
}

# What the application legitimately does keeps working.
{
	my $db = new_db();
	my $res = run_sql($db, 'app', q{
CREATE TEMP TABLE tt AS SELECT 1 AS i;
EXPLAIN ANALYZE CREATE TEMP TABLE tt2 AS SELECT 1 AS i;
SELECT 1 AS i INTO TEMP tt3;
CREATE INDEX ON tt (i);
DROP TABLE tt, tt2, tt3;
EXPLAIN CREATE TABLE app.x AS SELECT 1 AS i;
SELECT 'temp ok';});
	like($res->{out}, qr/\ntemp ok$/, 'temporary objects and EXPLAIN without ANALYZE still work in production')
	  or diag($res->{err});
	is($res->{rc}, 0, 'temporary objects: no error');
	is(query($db, q{SELECT to_regclass('app.x') IS NULL}), 't', 'EXPLAIN without ANALYZE created nothing');
}

# README: production preloads migr in every session; migr_status() tells a
# session that did not.
{
	my $db = new_db();
	my $res = run_sql($db, 'app', q{SELECT migr_status()->'guards'->>'preloaded'});
	is($res->{out}, 'true', 'production with session_preload_libraries: migr_status says preloaded');
	my $bare = new_db('production', 1);
	$res = run_sql($bare, 'app', q{SELECT migr_status()->'guards'->>'preloaded', migr_status()->>'warnings'});
	like($res->{out}, qr/^false\|.*not preloaded/, 'production without preloading: migr_status warns');
}

# --- Item 7: migr_step_begin does not open the guard ---------------------

# Registers (as $role) the transactional revision s1 (a table) and the
# non-transactional s2 (an index built concurrently on it); applies s1 when
# asked.  Returns the checksums.
sub step_setup
{
	my ($db, $apply_s1, $role) = @_;
	my $res = run_sql($db, $role, q{
SELECT migr_revision('table', 'CREATE TABLE public.s1t (i int)', 'DROP TABLE public.s1t', 's1', '{}');
SELECT migr_revision('index', 'CREATE INDEX CONCURRENTLY s2i ON public.s1t (i)', 'DROP INDEX public.s2i', 's2');
} . ($apply_s1 ? q{SELECT count(*) FROM migr_upgrade('s1');} : ''),
		env => { PGOPTIONS => '-c migr.confirm_production=yes' });
	is($res->{rc}, 0, 'step set-up') or diag($res->{err});
	my %sum = map { split /\|/ } split /\n/,
	  $node->safe_psql($db, q{SELECT id || '|' || checksum FROM migr.revisions});
	return \%sum;
}

for my $who ('deploy', 'superuser')
{
	my $role = $who eq 'deploy' ? 'deploy' : $su;
	my %env = (PGOPTIONS => '-c migr.confirm_production=yes');
	local $TODO = todo_item(7);

	# Transactional step: other DDL under its cover, and begin + end only.
	for my $variant ('other DDL', 'other DDL after the statement', 'begin and end only')
	{
		my $db = new_db();
		my $sum = step_setup($db, 0, $role);
		my $before = fingerprint($db);
		my $b = "SELECT migr_step_begin('s1', 'up', '$sum->{s1}', 'head');";
		my $e = "SELECT migr_step_end('s1', 'up', '$sum->{s1}', 'head');";
		my $body = $variant eq 'other DDL' ? 'CREATE TABLE public.sneak (i int);'
		  : $variant eq 'other DDL after the statement' ? "CREATE TABLE public.s1t (i int);\nCREATE TABLE public.sneak (i int);"
		  : '';
		my $label = "transactional step, $variant, as $who";
		my $pos = log_pos();
		my $res = run_sql($db, $role, "BEGIN;\n$b\n$body\n$e\nCOMMIT;", env => \%env);
		refused($res, $label);
		check_log($pos, $role, $db, undef, $label);
		check_unchanged($db, $before, $label);
	}

	# Non-transactional step (top level, as migr_script writes it).
	for my $variant ('other DDL', 'begin and end only')
	{
		my $db = new_db();
		my $sum = step_setup($db, 1, $role);
		my $before = fingerprint($db);
		my $b = "SELECT migr_step_begin('s2', 'up', '$sum->{s2}', 'head');";
		my $e = "SELECT migr_step_end('s2', 'up', '$sum->{s2}', 'head');";
		my $body = $variant eq 'other DDL' ? 'CREATE TABLE public.sneak (i int);' : '';
		my $label = "non-transactional step, $variant, as $who";
		my $pos = log_pos();
		my $res = run_sql($db, $role, "$b\n$body\n$e", env => \%env, stop => 0);
		ok($res->{err} =~ /ERROR:  [0-9A-Z]{5}:/, "$label: refused") or diag($res->{err});
		check_log($pos, $role, $db, undef, $label);
		is(query($db, q{SELECT to_regclass('public.sneak') IS NULL AND to_regclass('public.s2i') IS NULL}), 't',
			"$label: no table, no index");
		is(query($db, q{SELECT count(*) FROM migr.applied WHERE revision = 's2'}), '0',
			"$label: the step is not recorded as applied");
		is(query($db, q{SELECT count(*) FROM migr.log WHERE revision = 's2' AND operation <> 'register'}), '0',
			"$label: no log row says it ran");
	}
}

# --- Item 14: migr_status details only for roles allowed to run migr -------

{
	my $db = new_db('development');
	my $res = run_sql($db, 'deploy', q{
SELECT migr_revision('ok', 'CREATE TABLE public.f0 (v text)', 'DROP TABLE public.f0', 'f0', '{}');
SELECT migr_revision('fails', $q$CREATE TABLE public.f1 (v int); INSERT INTO public.f1 VALUES ('secret-4711'::int)$q$, NULL, 'f1');
});
	is($res->{rc}, 0, 'item 14 set-up') or diag($res->{err});
	$res = run_sql($db, 'deploy', q{CALL migr_upgrade_each('head');});
	like($res->{err}, qr/secret-4711/, 'item 14: the failing step names the data value');
	my $status_deploy = run_sql($db, 'deploy', q{SELECT migr_status()::text});
	like($status_deploy->{out}, qr/secret-4711/, 'item 14: the deploy role sees the error detail');
	local $TODO = todo_item(14);
	for my $role ('app', 'deploy')
	{
		next if $role eq 'deploy';
		my $status = run_sql($db, $role, q{SELECT migr_status()::text});
		is($status->{rc}, 0, "item 14: migr_status is open to $role");
		unlike($status->{out}, qr/secret-4711/, "item 14: $role does not see the data value");
		like($status->{out}, qr/"outcome": "failed"/, "item 14: $role still sees that the step failed");
	}
	# A failed step of a migr_script script (a unique index on duplicate
	# data): migr_status lists it under in_progress, without the data.
	$res = run_sql($db, 'deploy', q{
CREATE TABLE public.dup (v text);
INSERT INTO public.dup VALUES ('secret-4712'), ('secret-4712');
SELECT migr_revision('unique', 'CREATE UNIQUE INDEX CONCURRENTLY dup_v ON public.dup (v)', NULL, 'u1', '{f0}');
});
	is($res->{rc}, 0, 'item 14: offline set-up') or diag($res->{err});
	my $gen = run_sql($db, 'deploy', qq{\\pset tuples_only on
\\pset format unaligned
SELECT migr_script('u1')});
	my $file = write_text("dup_$db.sql", $gen->{out} . "\n");
	$res = run_file($db, 'deploy', $file);
	like($res->{err}, qr/secret-4712/, 'item 14: the failed offline step names the duplicate value');
	my $status = run_sql($db, 'app', q{SELECT migr_status()::text});
	like($status->{out}, qr/"in_progress": \[\{/, 'item 14: app sees the unfinished step');
	unlike($status->{out}, qr/secret-4712/, 'item 14: app does not see the duplicate value');
	my $pos = log_pos();
	my $log = run_sql($db, 'app', q{SELECT * FROM migr.log});
	refused($log, 'item 14: app reading migr.log', qr/^42501$/);
	check_log($pos, 'app', $db, '42501', 'item 14: app reading migr.log');
}

done_testing();
