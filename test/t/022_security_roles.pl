# test/t/022_security_roles.pl
#
# Attacker's suite, issue 9 item 4: a script never runs with more
# privileges than the role that registered it, whoever calls migr, and
# nothing in a script can raise them.  The deploy role registers a revision
# whose script tries to get back to the superuser that runs it (RESET ROLE,
# SET ROLE, SET SESSION AUTHORIZATION, set_config, the same in DO blocks, a
# function with a SET role clause, DISCARD ALL, a deferred constraint trigger
# that fires at commit) and then, as superuser, writes a file through COPY
# TO PROGRAM and makes the deploy role superuser.  Callers: the superuser
# after SET ROLE deploy (what README and the 42501 hint tell a DBA to do),
# after SET SESSION AUTHORIZATION deploy, with PGOPTIONS role=deploy, the
# superuser itself, and the deploy role; through migr_upgrade, dry runs,
# CALL migr_upgrade_each, migr_downgrade and the psql script of migr_script.
# After each: the call failed with a SQLSTATE (dry runs report instead),
# the deploy role is not superuser, no file was written, the schema and every
# migr.* table are unchanged, and the server log names who tried.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MigrAttack;

my $node = start_node('sec_roles');
my $su   = superuser_name();

# Escapes: name => SQL run before the tail.  "%s" is the superuser.
my @escapes = (
	[ 'RESET ROLE',                  'RESET ROLE' ],
	[ 'SET ROLE NONE',               'SET ROLE NONE' ],
	[ 'SET ROLE su',                 'SET ROLE %s' ],
	[ 'SET SESSION ROLE su',         'SET SESSION ROLE %s' ],
	[ 'SET LOCAL ROLE su',           'SET LOCAL ROLE %s' ],
	[ 'SET role TO',                 "SET role TO '%s'" ],
	[ 'RESET SESSION AUTHORIZATION', 'RESET SESSION AUTHORIZATION' ],
	[ 'SET SESSION AUTHORIZATION su', 'SET SESSION AUTHORIZATION %s' ],
	[ 'SET SESSION AUTHORIZATION DEFAULT', 'SET SESSION AUTHORIZATION DEFAULT' ],
	[ 'RESET ALL',                   'RESET ALL' ],
	[ 'set_config role',             "SELECT set_config('role', '%s', false)" ],
	[ 'set_config role none local',  "SELECT pg_catalog.set_config('role', 'none', true)" ],
	[ 'set_config session_authorization', "SELECT set_config('session_authorization', '%s', false)" ],
	[ 'DO RESET ROLE',               q{DO $d$BEGIN EXECUTE 'RESET ROLE'; END$d$} ],
	[ 'DO SET ROLE',                 q{DO $d$BEGIN EXECUTE 'SET ROLE %s'; END$d$} ],
	[ 'DO set_config',               q{DO $d$BEGIN PERFORM set_config('role', 'none', false); END$d$} ],
	[ 'DO SET SESSION AUTHORIZATION', q{DO $d$BEGIN EXECUTE 'SET SESSION AUTHORIZATION %s'; END$d$} ],
	[ 'DISCARD ALL',                 'DISCARD ALL' ],
);

# What the script does once it is superuser: a file through COPY TO PROGRAM,
# then the role attribute.
sub tail
{
	my ($p) = @_;
	return "COPY (SELECT 1) TO PROGRAM 'touch $p'; ALTER ROLE deploy SUPERUSER";
}

# Escapes that are whole scripts (the tail is inside).
sub whole_script
{
	my ($name, $p) = @_;
	if ($name eq 'function SET role')
	{
		return "CREATE FUNCTION public.esc() RETURNS void LANGUAGE plpgsql SET role = '$su' "
		  . "AS \$f\$BEGIN " . tail($p) . "; END\$f\$; SELECT public.esc()";
	}
	return "CREATE TABLE public.dt (i int);\n"
	  . "CREATE FUNCTION public.dtf() RETURNS trigger LANGUAGE plpgsql AS "
	  . "\$f\$BEGIN RESET ROLE; " . tail($p) . "; RETURN NULL; END\$f\$;\n"
	  . "CREATE CONSTRAINT TRIGGER dtt AFTER INSERT ON public.dt DEFERRABLE INITIALLY DEFERRED "
	  . "FOR EACH ROW EXECUTE FUNCTION public.dtf();\n"
	  . "INSERT INTO public.dt VALUES (1)";
}

sub payload
{
	my ($name, $p) = @_;
	return whole_script($name, $p) if $name eq 'function SET role' || $name eq 'deferred trigger';
	my ($e) = map { $_->[1] } grep { $_->[0] eq $name } @escapes;
	return sprintf($e, $su) . ";\n" . tail($p);
}

my @all = ((map { $_->[0] } @escapes), 'function SET role', 'deferred trigger');
my @few = ('RESET ROLE', 'DO set_config', 'SET SESSION AUTHORIZATION su', 'function SET role',
	'deferred trigger');

# Callers: name => [ login role, PGOPTIONS, SQL before the call ].
my %callers = (
	'superuser after SET ROLE deploy' => [ $su, '', 'SET ROLE deploy;' ],
	'superuser after SET SESSION AUTHORIZATION deploy' => [ $su, '', 'SET SESSION AUTHORIZATION deploy;' ],
	'superuser with PGOPTIONS role=deploy' => [ $su, '-c role=deploy', '' ],
	'superuser' => [ $su, '', '' ],
	'deploy' => [ 'deploy', '', '' ],
);

# Run one attack: register (as deploy) the payload in the upgrade script (or
# the downgrade script for "downgrade"), then have $caller run it by $how.
sub attack
{
	my ($escape, $caller, $how) = @_;
	my $label = "$escape, run by $caller through $how";
	my $tag   = "$escape $caller $how";
	my $p     = pwned_path($tag);
	my $db    = new_db();
	my $script = payload($escape, $p);
	my ($up, $down) = $how eq 'migr_downgrade'
	  ? ('CREATE TABLE public.e1t (i int)', $script)
	  : ($script, 'SELECT 1');
	my $res = run_sql($db, 'deploy', qq{SELECT migr_revision('escape', \$q\$$up\$q\$, \$q\$$down\$q\$, 'e1', '{}');}
		  . ($how eq 'migr_downgrade' ? q{SELECT count(*) FROM migr_upgrade('head');} : ''),
		env => { PGOPTIONS => '-c migr.confirm_production=yes' });
	is($res->{rc}, 0, "$label: set-up") or diag($res->{err});
	my $before = fingerprint($db);
	my ($role, $opts, $pre) = @{ $callers{$caller} };
	my %env = (PGOPTIONS => "-c migr.confirm_production=yes -c migr.allow_destructive=on $opts");
	my $pos = log_pos();
	if ($how eq 'migr_script')
	{
		my $gen = run_sql($db, $su, qq{\\pset tuples_only on
\\pset format unaligned
SELECT migr_script('head')});
		my $file = write_text("roles_$db.sql", "$pre\n" . $gen->{out} . "\n");
		$res = run_file($db, $role, $file, env => \%env);
	}
	else
	{
		my $call =
		    $how eq 'migr_upgrade'      ? q{SELECT * FROM migr_upgrade('head');}
		  : $how eq 'dry run'           ? q{SELECT step, revision, error FROM migr_upgrade('head', dry_run => true);}
		  : $how eq 'migr_upgrade_each' ? q{CALL migr_upgrade_each('head');}
		  :                               q{SELECT * FROM migr_downgrade('base');};
		$res = run_sql($db, $role, "$pre\n$call", env => \%env);
	}
	ok(!-e $p, "$label: no file written through COPY TO PROGRAM");
	if ($how ne 'dry run')
	{
		refused($res, $label);
		check_log($pos, $role, $db, undef, $label);
	}
	my $after;
	if ($how eq 'migr_upgrade_each')
	{
		# A failed step of migr_upgrade_each commits its log row (README),
		# which bumps migr.state's generation: everything else must be as
		# before.
		$after = check_unchanged($db, $before, $label, migr => 1);
		my ($b, $a) = map { my $t = $_->{migr}; $t =~ s/== migr\.(?:log|state)\n.*?(?=== )//sg; $t } $before, $after;
		is($a, $b, "$label: migr.* unchanged but for the log row of the failed step and the generation");
		is(query($db, q{SELECT count(*) FROM migr.log WHERE operation = 'upgrade' AND error_sqlstate IS NOT NULL}), '1',
			"$label: one log row records the failure");
	}
	else
	{
		$after = check_unchanged($db, $before, $label);
	}
	unlike($after->{roles}, qr/^deploy super=t/m, "$label: deploy is not superuser");
	reset_roles($after);
}

for my $escape (@all)
{
	local $TODO = todo_item(4, $escape);
	attack($escape, 'superuser after SET ROLE deploy', 'migr_upgrade');
}
for my $caller ('superuser after SET SESSION AUTHORIZATION deploy', 'superuser with PGOPTIONS role=deploy')
{
	for my $escape (@few)
	{
		local $TODO = todo_item(4, $escape);
		attack($escape, $caller, 'migr_upgrade');
	}
}
for my $how ('dry run', 'migr_upgrade_each', 'migr_downgrade', 'migr_script')
{
	for my $escape (@few)
	{
		local $TODO = todo_item(4, $escape);
		attack($escape, $how eq 'migr_script' ? 'superuser with PGOPTIONS role=deploy'
			: 'superuser after SET ROLE deploy', $how);
	}
}
# The superuser without SET ROLE is refused (the registrant rule), and the
# deploy role alone cannot get above itself.
for my $caller ('superuser', 'deploy')
{
	local $TODO = todo_item(4);
	attack('RESET ROLE', $caller, 'migr_upgrade');
	attack('SET ROLE su', $caller, 'migr_upgrade');
}

# Objects left behind by a deploy role's migration, used later by a
# superuser's own revision: a function in public that wins over
# pg_catalog's for the argument type (the search_path trojan of
# CVE-2018-1058), and a trigger on the deploy role's table.  Both run their
# body as the superuser.  Not named by issue 9 (its item 4 covers what a
# script does itself); kept as TODO checks: the real findings of this suite.
for my $trojan ('function in public', 'trigger')
{
	my $label = "$trojan left by deploy, used by a superuser's revision";
	my $p   = pwned_path("trojan $trojan");
	my $db  = new_db();
	my $body = "COPY (SELECT 1) TO PROGRAM 'touch $p'; ALTER ROLE deploy SUPERUSER;";
	my $plant = $trojan eq 'trigger'
	  ? "CREATE TABLE public.audit (i int); GRANT INSERT ON public.audit TO PUBLIC;\n"
	  . "CREATE FUNCTION public.audit_trg() RETURNS trigger LANGUAGE plpgsql AS \$f\$BEGIN $body RETURN NEW; END\$f\$;\n"
	  . "CREATE TRIGGER audit_t BEFORE INSERT ON public.audit FOR EACH ROW EXECUTE FUNCTION public.audit_trg()"
	  : "CREATE TABLE public.tv (name varchar); INSERT INTO public.tv VALUES ('a'); GRANT SELECT ON public.tv TO PUBLIC;\n"
	  . "CREATE FUNCTION public.upper(varchar) RETURNS text LANGUAGE plpgsql AS \$f\$BEGIN $body RETURN 'x'; END\$f\$";
	my $use = $trojan eq 'trigger' ? 'INSERT INTO public.audit VALUES (1)' : 'CREATE TABLE public.names AS SELECT upper(name) AS n FROM public.tv';
	my $res = run_sql($db, 'deploy', "SELECT migr_revision('plant', \$q\$$plant\$q\$, NULL, 'p1', '{}');\n"
		  . "SELECT count(*) FROM migr_upgrade('head');", env => { PGOPTIONS => '-c migr.confirm_production=yes' });
	is($res->{rc}, 0, "$label: set-up") or diag($res->{err});
	$res = run_sql($db, $su, "SELECT migr_revision('use', \$q\$$use\$q\$, NULL, 's1');\n",
		env => { PGOPTIONS => '-c migr.confirm_production=yes' });
	is($res->{rc}, 0, "$label: the superuser registers its revision") or diag($res->{err});
	my $before = fingerprint($db);
	local $TODO = todo_item(4, 'trojan');
	$res = run_sql($db, $su, q{SELECT count(*) FROM migr_upgrade('head');},
		env => { PGOPTIONS => '-c migr.confirm_production=yes' });
	my $after = fingerprint($db);
	ok(!-e $p, "$label: no file written through COPY TO PROGRAM");
	unlike($after->{roles}, qr/^deploy super=t/m, "$label: deploy is not superuser");
	reset_roles($after);
}

done_testing();
