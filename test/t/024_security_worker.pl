# test/t/024_security_worker.pl
#
# Attacker's suite, the background worker of CALL migr_upgrade_each (a step
# that cannot run in a transaction, src/worker.c): a script never runs with
# more privileges than the role that registered it, and nothing in it can
# raise them, there as in a transaction.  The deploy role is a NOINHERIT
# member of a superuser role "dba": PostgreSQL gives it dba's privileges
# only after an explicit SET ROLE, and migr's measure of privileges
# (has_privs_of_role) does not count them.  Its revision has a CREATE INDEX
# CONCURRENTLY, so it runs in the worker, and before it tries to become dba
# (SET ROLE, set_config in a DO block, a procedure that sets the role, a
# deferred constraint trigger), then, as dba, writes a file through COPY TO
# PROGRAM and makes the deploy role superuser.  Oracle: the same script
# run by migr_upgrade_each in a transaction, where PostgreSQL refuses SET
# ROLE in a security-restricted operation (42501).  Callers: the deploy
# role and the superuser (who runs deploy's step as deploy).  After each:
# refused with 42501, no file, deploy not superuser, the schema unchanged
# (but for what a worker's statements before the escape committed).
# Also: the roles that README says get no migr grant cannot fire migr's
# restore triggers nor write the tables they sit on (42501).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MigrAttack;

my $node = start_node('sec_worker');
my $su   = superuser_name();

$node->safe_psql('postgres', q{
CREATE ROLE dba SUPERUSER NOLOGIN;
ALTER ROLE deploy NOINHERIT;
GRANT dba TO deploy;
});

# The escapes: SQL that makes the step's role dba, run before the tail.
my @escapes = (
	[ 'SET ROLE dba',    'SET ROLE dba' ],
	[ 'DO set_config',   q{DO $d$BEGIN PERFORM set_config('role', 'dba', false); END$d$} ],
	[ 'procedure',       'CREATE PROCEDURE public.esc() LANGUAGE plpgsql AS $f$BEGIN SET ROLE dba; %TAIL%; END$f$; CALL public.esc()' ],
	[ 'deferred trigger',
		"CREATE TABLE public.dt (i int);\n"
	  . "CREATE FUNCTION public.dtf() RETURNS trigger LANGUAGE plpgsql AS \$f\$BEGIN SET ROLE dba; %TAIL%; RETURN NULL; END\$f\$;\n"
	  . "CREATE CONSTRAINT TRIGGER dtt AFTER INSERT ON public.dt DEFERRABLE INITIALLY DEFERRED "
	  . "FOR EACH ROW EXECUTE FUNCTION public.dtf();\n"
	  . "INSERT INTO public.dt VALUES (1)" ],
);

sub tail
{
	my ($p) = @_;
	return "COPY (SELECT 1) TO PROGRAM 'touch $p'; ALTER ROLE deploy SUPERUSER";
}

sub payload
{
	my ($escape, $p) = @_;
	my $t = tail($p);
	return $escape =~ /%TAIL%/ ? ($escape =~ s/%TAIL%/$t/r) : "$escape;\n$t";
}

for my $e (@escapes)
{
	my ($name, $escape) = @$e;
	for my $caller ('deploy', $su)
	{
		for my $where ('worker', 'transaction')
		{
			my $label = "$name, run by " . ($caller eq $su ? 'the superuser' : $caller) . " in a $where";
			my $p     = pwned_path("$name $caller $where");
			my $db    = new_db();
			my $script = payload($escape, $p);
			# In the worker: the CONCURRENTLY statement makes the step
			# non-transactional; it comes last, so nothing commits before
			# the escape.
			$script .= ";\nCREATE INDEX CONCURRENTLY items_name ON app.items (name)" if $where eq 'worker';
			my $res = run_sql($db, 'deploy',
				qq{SELECT migr_revision('escape', \$q\$$script\$q\$, 'SELECT 1', 'w1', '{}');},
				env => { PGOPTIONS => '-c migr.confirm_production=yes' });
			is($res->{rc}, 0, "$label: set-up") or diag($res->{err});
			is(query($db, q{SELECT transactional FROM migr.revisions WHERE id = 'w1'}),
				$where eq 'worker' ? 'f' : 't', "$label: the step runs in a $where");
			my $before = fingerprint($db);
			$res = run_sql($db, $caller, q{CALL migr_upgrade_each('head');},
				env => { PGOPTIONS => '-c migr.confirm_production=yes' });
			ok(!-e $p, "$label: no file written through COPY TO PROGRAM");
			refused($res, $label, qr/^42501$/);
			# In the worker each statement commits on its own (README): what
			# the script created before the escape (a procedure, a table)
			# stays; the roles and files must not change.
			my %skip = (migr => 1);
			@skip{ 'schema', 'rows' } = (1, 1) if $where eq 'worker' && $name =~ /procedure|trigger/;
			my $after = check_unchanged($db, $before, $label, %skip);
			unlike($after->{roles}, qr/^deploy super=t/m, "$label: deploy is not superuser");
			is(query($db, q{SELECT count(*) FROM pg_indexes WHERE indexname = 'items_name'}), '0',
				"$label: no index");
			reset_roles($after);
		}
	}
}

# What a worker's step may do still works: a CALL of a procedure that
# writes, a SET for the statements after it, then the index.
{
	my $db = new_db();
	my $script = "CREATE TABLE public.calls (i int);\n"
	  . "CREATE PROCEDURE public.fill() LANGUAGE sql AS \$f\$INSERT INTO public.calls VALUES (1)\$f\$;\n"
	  . "CALL public.fill();\nSET search_path = public;\n"
	  . "CREATE INDEX CONCURRENTLY calls_i ON calls (i)";
	my $res = run_sql($db, 'deploy',
		qq{SELECT migr_revision('ok', \$q\$$script\$q\$, 'SELECT 1', 'w1', '{}');\nCALL migr_upgrade_each('head');},
		env => { PGOPTIONS => '-c migr.confirm_production=yes' });
	is($res->{rc}, 0, 'a worker step with CALL and SET runs') or diag($res->{err});
	is(query($db, q{SELECT count(*) FROM public.calls}) . ' ' . query($db, q{SELECT tableowner FROM pg_tables WHERE tablename = 'calls'})
		  . ' ' . query($db, q{SELECT count(*) FROM pg_indexes WHERE indexname = 'calls_i'}),
		'1 deploy 1', 'the CALL wrote as deploy, the index was built');
}

# The restore trigger (src/restore.c) runs as the extension owner; nobody
# but it may fire it: the application and deploy roles can neither write
# migr's tables nor put it on a table of their own.
{
	# In development: in production the DDL guard refuses CREATE TRIGGER
	# first (MG002), also on a temporary table.
	my $db = new_db('development');
	my $before = fingerprint($db);
	for my $role ('app', 'deploy')
	{
		for my $sql (
			q{INSERT INTO migr.log (run_id, operation, xid) VALUES (1, 'upgrade', '1')},
			q{INSERT INTO migr.revisions (id, upgrade, checksum, created_by) VALUES ('x', 'SELECT 1', 'x', 'dba')},
			qq{CREATE TEMP TABLE log_$role (xid xid8);
CREATE TRIGGER t BEFORE INSERT ON log_$role FOR EACH ROW EXECUTE FUNCTION migr.log_make_room()})
		{
			my $res = run_sql($db, $role, "BEGIN;\n$sql;\nCOMMIT;");
			refused($res, "$role: " . (split /\n/, $sql)[-1], qr/^42501$/);
		}
	}
	check_unchanged($db, $before, 'restore trigger');
}

done_testing();
