# test/t/021_security_registrant.pl
#
# Attacker's suite, issue 9 items 3, 5 and 13.
#
# Item 3: a deploy role changes a revision a superuser registered (pending:
# re-registration through migr_revision, migr_load with one file or a set;
# applied, before launch outside production: edit + migr_redo, edit +
# migr_repair + downgrade) so that the superuser's next call runs the deploy
# role's SQL.  Whoever last changed a revision must be its registrant (or
# the change is refused): the superuser's call then refuses the revision, and
# the deploy role never becomes superuser.
#
# Item 5: migr_redo after launch, and in production, is refused: the data
# the revision's table holds survives.
#
# Item 13: a production downgrade that drops a table or a column holding
# data needs the destructive acknowledgement, not only the confirmation.
#
# Later: a dropped registrant's OID, which pg_dump can only write as a bare
# number, restored where that OID is the superuser's, must not run the
# revision as the superuser; nor does a renamed registrant's revision run
# until the role has its name back.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MigrAttack;

my $node = start_node('sec_registrant');
my $su   = superuser_name();
my %confirm = (PGOPTIONS => '-c migr.confirm_production=yes');

sub q_literal
{
	my ($s) = @_;
	$s =~ s/'/''/g;
	return "'$s'";
}

sub su_ok
{
	my ($db, $sql, $label) = @_;
	my $res = run_sql($db, $su, $sql, env => \%confirm);
	is($res->{rc}, 0, "$label: set-up as superuser") or diag($res->{err});
	return $res;
}

sub not_superuser
{
	my ($label) = @_;
	is($node->safe_psql('postgres', q{SELECT rolsuper FROM pg_roles WHERE rolname = 'deploy'}), 'f',
		"$label: deploy is not superuser");
}

my $payload = 'ALTER ROLE deploy SUPERUSER; CREATE TABLE public.s1t (i int)';

sub file_of
{
	my ($up, $down) = @_;
	return "-- migr:revision s1\n-- migr:down_revision\n-- migr:message mine now\n"
	  . "-- migr:upgrade\n$up\n" . (defined $down ? "-- migr:downgrade\n$down\n" : '');
}

# --- Item 3: re-registering a superuser's pending revision ---------------

for my $path (qw(migr_revision migr_load migr_load_array))
{
	my $label = "re-registration of a pending revision via $path";
	my $db = new_db();
	su_ok($db, q{SELECT migr_revision('mine', 'CREATE TABLE public.s1t (i int)', 'DROP TABLE public.s1t', 's1', '{}')},
		$label);
	my $before = fingerprint($db);
	my $call =
	    $path eq 'migr_revision' ? "SELECT migr_revision('mine now', " . q_literal($payload) . ", 'DROP TABLE public.s1t', 's1', '{}')"
	  : $path eq 'migr_load' ? "SELECT migr_load(" . q_literal(file_of($payload, 'DROP TABLE public.s1t;')) . ", 's1.sql')"
	  : "SELECT * FROM migr_load(ARRAY[" . q_literal(file_of($payload, 'DROP TABLE public.s1t;')) . "], ARRAY['s1.sql'])";
	my $pos = log_pos();
	my $res = run_sql($db, 'deploy', $call, env => \%confirm);
	local $TODO = todo_item(3);
	if ($res->{rc} != 0)
	{
		refused($res, "$label: the change");
		check_log($pos, 'deploy', $db, undef, "$label: the change");
		check_unchanged($db, $before, "$label: the change");
		next;
	}
	is(query($db, q{SELECT created_by FROM migr.revisions WHERE id = 's1'}), 'deploy',
		"$label: the deploy role is now the registrant");
	$before = fingerprint($db);
	$pos = log_pos();
	my $up = run_sql($db, $su, q{SELECT * FROM migr_upgrade('head')}, env => \%confirm);
	not_superuser($label);
	refused($up, "$label: the superuser's upgrade", qr/^42501$/);
	check_log($pos, $su, $db, '42501', "$label: the superuser's upgrade");
	reset_roles(check_unchanged($db, $before, "$label: the superuser's upgrade"));
}

# --- Item 3: editing an applied revision before launch ------------------

for my $path (qw(redo repair_downgrade redo_load))
{
	my $label = "edit of an applied revision + $path";
	my $db = new_db('development');
	su_ok($db, q{
SELECT migr_revision('mine', 'CREATE TABLE public.s1t (i int)', 'DROP TABLE public.s1t', 's1', '{}');
SELECT count(*) FROM migr_upgrade('head');
}, $label);
	my $before = fingerprint($db);
	my $call;
	if ($path eq 'redo')
	{
		$call = "SELECT migr_revision('mine', " . q_literal($payload) . ", 'DROP TABLE public.s1t', 's1')";
	}
	elsif ($path eq 'redo_load')
	{
		$call = "SELECT migr_load(" . q_literal(file_of($payload, 'DROP TABLE public.s1t;')) . ", 's1.sql')";
	}
	else
	{
		$call = "SELECT migr_revision('mine', 'CREATE TABLE public.s1t (i int)', "
		  . q_literal('ALTER ROLE deploy SUPERUSER; DROP TABLE public.s1t') . ", 's1');\n"
		  . "SELECT migr_repair('s1');";
	}
	my $pos = log_pos();
	my $res = run_sql($db, 'deploy', $call);
	local $TODO = todo_item(3);
	if ($res->{rc} != 0)
	{
		refused($res, "$label: the edit");
		check_log($pos, 'deploy', $db, undef, "$label: the edit");
		check_unchanged($db, $before, "$label: the edit");
		next;
	}
	is(query($db, q{SELECT created_by FROM migr.revisions WHERE id = 's1'}), 'deploy',
		"$label: the deploy role is now the registrant");
	$before = fingerprint($db);
	$pos = log_pos();
	my $run = run_sql($db, $su,
		$path eq 'repair_downgrade' ? q{SELECT * FROM migr_downgrade('base')} : q{SELECT * FROM migr_redo('s1')});
	not_superuser($label);
	refused($run, "$label: the superuser's call", qr/^42501$/);
	check_log($pos, $su, $db, '42501', "$label: the superuser's call");
	reset_roles(check_unchanged($db, $before, "$label: the superuser's call"));
}

# --- Item 5: migr_redo after launch, and in production -------------------

for my $case ([ 'production, launched', 'production', 1 ],
	[ 'production, not launched', 'production', 0 ],
	[ 'development, launched', 'development', 1 ])
{
	my ($cname, $env, $launch) = @$case;
	for my $role ($su, 'deploy')
	{
		my $label = "migr_redo ($cname) as " . ($role eq $su ? 'superuser' : 'deploy');
		my $db = new_db($env);
		my $res = run_sql($db, $role, q{
SELECT migr_revision('keep', 'CREATE TABLE public.keep (i int)', 'DROP TABLE public.keep', 'k1', '{}');
SELECT count(*) FROM migr_upgrade('head');
INSERT INTO public.keep SELECT generate_series(1, 1000);
} . ($launch ? 'SELECT migr_launch();' : ''), env => \%confirm);
		is($res->{rc}, 0, "$label: set-up") or diag($res->{err});
		my $before = fingerprint($db);
		my $pos = log_pos();
		local $TODO = todo_item(5);
		$res = run_sql($db, $role, q{SELECT * FROM migr_redo('k1')},
			env => { PGOPTIONS => '-c migr.confirm_production=yes -c migr.allow_destructive=on' });
		refused($res, $label);
		check_log($pos, $role, $db, undef, $label);
		is(query($db, 'SELECT count(*) FROM public.keep'), '1000', "$label: the 1000 rows are still there");
		check_unchanged($db, $before, $label);
	}
}

# --- Item 13: destructive production downgrades -------------------------

for my $how ('migr_downgrade(\'-1\')', 'migr_downgrade(-1)', 'migr_downgrade(\'base\')',
	'migr_downgrade(\'d1\')', 'script')
{
	for my $who ('deploy', 'superuser as deploy')
	{
		my $label = "production downgrade through $how as $who";
		my $db = new_db();
		my $res = run_sql($db, 'deploy', q{
SELECT migr_revision('table', 'CREATE TABLE public.d (i int); INSERT INTO public.d SELECT generate_series(1, 1000)',
                     'DROP TABLE public.d', 'd1', '{}');
SELECT migr_revision('column', 'ALTER TABLE public.d ADD COLUMN c int; UPDATE public.d SET c = i',
                     'ALTER TABLE public.d DROP COLUMN c', 'd2');
SELECT count(*) FROM migr_upgrade('head');
}, env => \%confirm);
		is($res->{rc}, 0, "$label: set-up") or diag($res->{err});
		my $before = fingerprint($db);
		my ($role, $env) = $who eq 'deploy'
		  ? ('deploy', '-c migr.confirm_production=yes')
		  : ($su, '-c migr.confirm_production=yes -c role=deploy');
		my $pos = log_pos();
		local $TODO = todo_item(13);
		if ($how eq 'script')
		{
			my $gen = run_sql($db, 'deploy', qq{\\pset tuples_only on
\\pset format unaligned
SELECT migr_script('base', 'downgrade')});
			if ($gen->{rc} != 0)
			{
				refused($gen, "$label: migr_script");
			}
			else
			{
				my $file = write_text("down_$db.sql", $gen->{out} . "\n");
				$res = run_file($db, $role, $file, env => { PGOPTIONS => $env });
				refused($res, $label);
			}
		}
		else
		{
			$res = run_sql($db, $role, "SELECT * FROM $how", env => { PGOPTIONS => $env });
			refused($res, $label);
		}
		check_log($pos, $role, $db, undef, $label);
		is(query($db, 'SELECT count(c) FROM public.d'), '1000', "$label: table and column keep their data");
		check_unchanged($db, $before, $label);

		# With the acknowledgement the same downgrade runs.
		next if $how eq 'script';
		$res = run_sql($db, $role, "SELECT * FROM $how",
			env => { PGOPTIONS => "$env -c migr.allow_destructive=on" });
		is($res->{rc}, 0, "$label: runs with migr.allow_destructive") or diag($res->{err});
	}
}

# --- A dropped registrant's OID, given to another role by a restore ------
#
# A dump writes a registrant as its role's name, but a dropped role's OID as
# a bare number; restored into another cluster, that number may be another
# role's, here the superuser's.  The revision must stay refused there, as it
# is where its role was dropped, not run with the superuser's privileges.
# The restore is real (pg_dump of migr.revisions, psql into a new
# database); only the collision of OIDs, which cannot be arranged inside
# one cluster, is made by editing the number in the dump.
{
	my $label = "a dropped registrant's OID, another role's after a restore";
	my $db = new_db('development');
	su_ok($db, q{
CREATE ROLE ghost LOGIN;
GRANT USAGE, CREATE ON SCHEMA public TO ghost;
GRANT EXECUTE ON FUNCTION migr_revision(text, text, text, text, text[], text[], text[], boolean, boolean) TO ghost;
}, $label);
	my $script = 'ALTER ROLE deploy SUPERUSER; CREATE TABLE public.s2t (i int)';
	my $res = run_sql($db, 'ghost', "SELECT migr_revision('ghostly', " . q_literal($script) . ", NULL, 's2', '{}')");
	is($res->{rc}, 0, "$label: the role registers a revision") or diag($res->{err});
	my $ghost_oid = query($db, q{SELECT oid FROM pg_roles WHERE rolname = 'ghost'});
	su_ok($db, q{DROP OWNED BY ghost; DROP ROLE ghost;}, $label);

	my ($dump, $err) = ('', '');
	IPC::Run::run([ 'pg_dump', '--data-only', '--table=migr.revisions', '-h', $node->host, '-p', $node->port,
			'-U', $su, '-d', $db ], '>', \$dump, '2>', \$err)
	  or die "pg_dump: $err";
	like($dump, qr/\t$ghost_oid\tghost\t/, "$label: the dump has the bare OID and the name beside it");

	my $target = new_db('development');
	my $su_oid = query($target, 'SELECT oid FROM pg_roles WHERE rolname = current_user');
	(my $restored = $dump) =~ s/\t$ghost_oid\tghost\t/\t$su_oid\tghost\t/;
	my $file = write_text("restore_$target.sql", $restored);
	$res = run_file($target, $su, $file);
	is($res->{rc}, 0, "$label: the dump restores") or diag($res->{err});
	is(query($target, q{SELECT registrant::text FROM migr.revisions WHERE id = 's2'}), $su,
		"$label: where the OID is the superuser's");
	my $before = fingerprint($target);
	my $pos = log_pos();
	my $up = run_sql($target, $su, q{SELECT * FROM migr_upgrade('head')});
	not_superuser($label);
	refused($up, "$label: the superuser's upgrade", qr/^42501$/);
	like($up->{err}, qr/revision "s2" was registered by a role that no longer exists/, "$label: saying why");
	check_log($pos, $su, $target, '42501', "$label: the superuser's upgrade");
	is(query($target, q{SELECT count(*) FROM pg_class WHERE relname = 's2t'}), '0', "$label: nothing of the script ran");
	reset_roles(check_unchanged($target, $before, "$label: the superuser's upgrade"));

	# A role renamed after registering is unknown too: its OID no longer
	# has the name stored beside it.
	su_ok($db, q{
CREATE ROLE renamed LOGIN;
GRANT USAGE, CREATE ON SCHEMA public TO renamed;
GRANT EXECUTE ON FUNCTION migr_revision(text, text, text, text, text[], text[], text[], boolean, boolean) TO renamed;
}, "$label (rename)");
	$res = run_sql($db, 'renamed', q{SELECT migr_revision('renamed later', 'CREATE TABLE public.s3t (i int)', NULL, 's3', '{}')});
	is($res->{rc}, 0, "$label (rename): the role registers a revision") or diag($res->{err});
	su_ok($db, q{ALTER ROLE renamed RENAME TO renamed_now}, "$label (rename)");
	$up = run_sql($db, $su, q{SELECT * FROM migr_upgrade('s3')});
	refused($up, "$label (rename): the upgrade", qr/^42501$/);
	is(query($db, q{SELECT count(*) FROM pg_class WHERE relname = 's3t'}), '0', "$label (rename): nothing ran");
	su_ok($db, q{ALTER ROLE renamed_now RENAME TO renamed}, "$label (rename)");
	$up = run_sql($db, $su, q{SELECT * FROM migr_upgrade('s3')});
	is($up->{rc}, 0, "$label (rename): under its name again, it runs") or diag($up->{err});

	# Applied and launched (append-only), its registrant renamed again:
	# loading the same revision (a deploy loads every file each time)
	# changes nothing and is no error.
	su_ok($db, q{SELECT migr_launch(); ALTER ROLE renamed RENAME TO renamed_now}, "$label (rename)");
	my $same = run_sql($db, 'deploy', q{SELECT migr_revision('renamed later', 'CREATE TABLE public.s3t (i int)', NULL, 's3', '{}')});
	is($same->{rc}, 0, "$label (rename): the applied revision loads again, unchanged") or diag($same->{err});
	is(query($db, q{SELECT registrant::oid = 'renamed_now'::regrole::oid FROM migr.revisions WHERE id = 's3'}), 't',
		"$label (rename): and keeps its registrant");
	su_ok($db, q{ALTER ROLE renamed_now RENAME TO renamed}, "$label (rename)");
}

done_testing();
