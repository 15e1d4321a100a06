# test/t/020_security_scripts.pl
#
# Attacker's suite, issue 9 items 1 and 2: what a deploy role puts into a
# revision (message, id, labels, scripts) must not change what a generated
# psql script (migr_script) or migration file (migr_export, migr_template)
# does when a DBA runs it with real psql.  Every line-break kind (LF, CR LF,
# lone CR) through every path that stores a message (migr_revision,
# migr_load, migr_merge); ids and labels; scripts registered under
# standard_conforming_strings = off; psql's :variable interpolation.  Each
# attack runs in a fresh production database; after it, no role gained an
# attribute, the payload's shell command left no file, and the schema and
# every migr.* table are as the legitimate part of the run leaves them.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MigrAttack;

my $node = start_node('sec_scripts');
my $su   = superuser_name();
my $confirm = "SET migr.confirm_production = yes;\n";

# The runners of a generated script: the DBA as superuser, the DBA as
# README says (superuser acting as deploy), and the deploy role itself.
my @runners = (
	[ 'superuser', $su, { PGOPTIONS => '-c migr.confirm_production=yes' } ],
	[ 'superuser as deploy', $su, { PGOPTIONS => '-c role=deploy -c migr.confirm_production=yes' } ],
	[ 'deploy', 'deploy', { PGOPTIONS => '-c migr.confirm_production=yes' } ],
);

# No role gained anything and the payload's file does not exist.
sub no_escalation
{
	my ($db, $before, $tag, $label) = @_;
	my $after = fingerprint($db);
	is($after->{roles}, $before->{roles}, "$label: role attributes unchanged");
	ok(!-e pwned_path($tag), "$label: the payload's shell command did not run");
	is($after->{files}, $before->{files}, "$label: no file created");
	return $after;
}

# Generate the upgrade script as the DBA, and run it with each runner.
# $expect is called after the runs to check what the legitimate part did.
sub run_generated_script
{
	my ($db, $tag, $label, $before) = @_;
	my $gen = run_sql($db, $su, q{\pset tuples_only on
\pset format unaligned
SELECT migr_script('heads')});
	if ($gen->{rc} != 0)
	{
		refused($gen, "$label: migr_script");
		return;
	}
	my $file = write_text("$tag.sql", $gen->{out} . "\n");
	my $first = 1;
	for my $r (@runners)
	{
		my ($rname, $role, $env) = @$r;
		my $pos = log_pos();
		my $res = run_file($db, $role, $file, env => $env);
		my $esc = no_escalation($db, $before, $tag, "$label, run by $rname");
		if ($first)
		{
			# The superuser may not run a deploy role's steps: refused
			# before the first step, and nothing changed.
			refused($res, "$label, run by $rname");
			check_log($pos, $role, $db, undef, "$label, run by $rname");
			check_unchanged($db, $before, "$label, run by $rname");
			$first = 0;
		}
		reset_roles($esc);
	}
}

# --- Item 1: line breaks in messages ------------------------------------

my @breaks = ([ 'LF', "\n" ], [ 'CRLF', "\r\n" ], [ 'CR', "\r" ]);

for my $b (@breaks)
{
	my ($bname, $nl) = @$b;
	for my $carrier (qw(migr_revision migr_load migr_merge))
	{
		my $tag   = "msg_${carrier}_$bname";
		my $label = "message with $bname via $carrier";
		my $p     = pwned_path($tag);
		my $msg   = "x${nl}ALTER ROLE deploy SUPERUSER;${nl}\\! touch $p; #${nl}--";
		(my $lit = $msg) =~ s/'/''/g;
		$lit =~ s/\\/\\\\/g;
		$lit =~ s/\n/\\n/g;
		$lit =~ s/\r/\\r/g;
		my $db = new_db();

		my $sql;
		if ($carrier eq 'migr_revision')
		{
			$sql = "SELECT migr_revision(E'$lit', 'CREATE TABLE public.t1 (i int)', NULL, 'r1');";
		}
		elsif ($carrier eq 'migr_load')
		{
			my $file = "-- migr:revision r1\n-- migr:down_revision\n-- migr:message $msg\n"
			  . "-- migr:upgrade\nCREATE TABLE public.t1 (i int);\n";
			(my $flit = $file) =~ s/'/''/g;
			$flit =~ s/\\/\\\\/g;
			$flit =~ s/\n/\\n/g;
			$flit =~ s/\r/\\r/g;
			$sql = "SELECT migr_load(E'$flit', 'r1.sql');";
		}
		else
		{
			$sql = "SELECT migr_revision('one', 'CREATE TABLE public.t1 (i int)', NULL, 'b1', '{}');\n"
			  . "SELECT migr_revision('two', 'CREATE TABLE public.t2 (i int)', NULL, 'b2', '{}');\n"
			  . "SELECT migr_merge(ARRAY['heads'], E'$lit', 'm1');";
		}
		my $res = run_sql($db, 'deploy', $confirm . $sql);
		my $before = fingerprint($db);
		local $TODO = todo_item(1);
		if ($res->{rc} != 0)
		{
			refused($res, "$label: registration");
			next;
		}
		run_generated_script($db, $tag, $label, $before);
	}
}

# Ids and labels are restricted to [A-Za-z0-9_]: a line break in them is
# refused (42602) and stores nothing.
for my $b (@breaks)
{
	my ($bname, $nl) = @$b;
	my $lit = "x" . ($nl eq "\n" ? '\n' : $nl eq "\r\n" ? '\r\n' : '\r') . '\\\\! touch pwned';
	my $db = new_db();
	my $before = fingerprint($db);
	for my $call (
		[ 'id',     "SELECT migr_revision('m', 'SELECT 1', NULL, E'$lit')" ],
		[ 'label',  "SELECT migr_revision('m', 'SELECT 1', NULL, 'r1', branch_labels => ARRAY[E'$lit'])" ],
		[ 'parent', "SELECT migr_revision('m', 'SELECT 1', NULL, 'r1', ARRAY[E'$lit'])" ],
		[ 'merge id', "SELECT migr_merge(ARRAY['heads'], 'm', E'$lit')" ],
		[ 'template id', "SELECT * FROM migr_template('m', E'$lit')" ],
		[ 'script target', "SELECT migr_script(E'head$lit')" ])
	{
		my $pos = log_pos();
		my $res = run_sql($db, 'deploy', $confirm . $call->[1]);
		refused($res, "$call->[0] with $bname");
		check_log($pos, 'deploy', $db, undef, "$call->[0] with $bname");
	}
	check_unchanged($db, $before, "ids and labels with $bname");
}

# --- Item 1: migr_export and migr_template files run with psql -----------

for my $b (@breaks)
{
	my ($bname, $nl) = @$b;
	my $tag = "export_$bname";
	my $p   = pwned_path($tag);
	my $lit = "x" . ($nl eq "\n" ? '\n' : $nl eq "\r\n" ? '\r\n' : '\r')
	  . "ALTER ROLE deploy SUPERUSER;" . ($nl eq "\n" ? '\n' : $nl eq "\r\n" ? '\r\n' : '\r')
	  . "\\\\! touch $p; #";
	my $db = new_db();
	my $scratch = new_db('development');
	my $res = run_sql($db, 'deploy', $confirm
		  . "SELECT migr_revision(E'$lit', 'CREATE TABLE public.t1 (i int)', NULL, 'r1');");
	my $before = fingerprint($scratch);
	local $TODO = todo_item(1);
	if ($res->{rc} == 0)
	{
		my $exp = run_sql($db, $su, q{\pset tuples_only on
\pset format unaligned
SELECT content FROM migr_export()});
		if ($exp->{rc} != 0)
		{
			refused($exp, "export of a message with $bname");
		}
		else
		{
			my $file = write_text("$tag.sql", $exp->{out} . "\n");
			run_file($scratch, $su, $file);
			reset_roles(no_escalation($scratch, $before, $tag, "export of a message with $bname, run with psql"));
			# Loading the export back gives the same message: nothing
			# smuggled into the header.
			my $fresh = new_db('development');
			my $back = run_sql($fresh, $su, "SELECT migr_load(\$q\$$exp->{out}\n\$q\$)");
			is($back->{rc}, 0, "export of a message with $bname loads again");
			is($node->safe_psql($fresh, q{SELECT message || '|' || upgrade FROM migr.revisions}),
				$node->safe_psql($db, q{SELECT message || '|' || upgrade FROM migr.revisions}),
				"export of a message with $bname: the same revision loads back");
		}
	}
	else
	{
		refused($res, "message with $bname for export: registration");
	}

	$tag = "template_$bname";
	$p   = pwned_path($tag);
	$lit = "x" . ($nl eq "\n" ? '\n' : $nl eq "\r\n" ? '\r\n' : '\r')
	  . "ALTER ROLE deploy SUPERUSER;" . ($nl eq "\n" ? '\n' : $nl eq "\r\n" ? '\r\n' : '\r')
	  . "\\\\! touch $p; #";
	my $tpl = run_sql($db, 'deploy', qq{\\pset tuples_only on
\\pset format unaligned
SELECT content FROM migr_template(E'$lit', 'tp1', '{}')});
	if ($tpl->{rc} != 0)
	{
		refused($tpl, "template with a message with $bname");
	}
	else
	{
		my $file = write_text("$tag.sql", $tpl->{out} . "\n");
		run_file($scratch, $su, $file);
		reset_roles(no_escalation($scratch, $before, $tag, "template with a message with $bname, run with psql"));
	}
}

# --- Item 2: scripts lexed differently by psql ----------------------------

# Under standard_conforming_strings = off, 'x\'; ...' is one literal to the
# server; psql reading the generated script (the server's setting is on)
# ends the literal at \' and runs the rest: a shell command, or SQL that was
# never registered.  Registered by the deploy role through migr_revision,
# migr_load, SET LOCAL and PGOPTIONS, transactional and not.
{
	my @cases;
	for my $how (qw(set_local pgoptions load))
	{
		for my $tx (qw(true false))
		{
			push @cases, [ $how, $tx ];
		}
	}
	for my $c (@cases)
	{
		my ($how, $tx) = @$c;
		my $tag   = "scs_${how}_tx$tx";
		my $label = "standard_conforming_strings off via $how, transactional $tx";
		my $p     = pwned_path($tag);
		my $db    = new_db();
		# One statement under off; under on: a literal, then \! or CREATE TABLE.
		my $meta  = "SELECT 'x\\'; \\! touch $p; #';";
		my $sql2  = "SELECT 'x\\'; CREATE TABLE public.smuggled_$tag (i int); -- ';";
		my $script = "$meta\n$sql2\nCREATE TABLE public.t_$tag (i int);";
		my %env = (PGOPTIONS => '-c migr.confirm_production=yes');
		my $call;
		if ($how eq 'load')
		{
			my $file = "-- migr:revision s1\n-- migr:down_revision\n-- migr:message scs\n"
			  . "-- migr:transactional $tx\n-- migr:upgrade\n$script\n";
			$call = "SET standard_conforming_strings = off;\nSELECT migr_load(\$q\$$file\$q\$, 's1.sql');";
		}
		else
		{
			$call = ($how eq 'set_local' ? "BEGIN;\nSET LOCAL standard_conforming_strings = off;\n" : '')
			  . "SELECT migr_revision('scs', \$q\$$script\$q\$, NULL, 's1', transactional => $tx);"
			  . ($how eq 'set_local' ? "\nCOMMIT;" : '');
			$env{PGOPTIONS} .= ' -c standard_conforming_strings=off' if $how eq 'pgoptions';
		}
		my $res = run_sql($db, 'deploy', $call, env => \%env);
		my $before = fingerprint($db);
		local $TODO = todo_item(2);
		if ($res->{rc} != 0)
		{
			refused($res, "$label: registration");
			check_unchanged($db, $before, "$label: registration");
			next;
		}
		# migr_upgrade itself (transactional only), as deploy: only what was
		# registered runs.
		if ($tx eq 'true')
		{
			my $up = run_sql($db, 'deploy', "SELECT count(*) FROM migr_upgrade('heads');",
				env => { PGOPTIONS => '-c migr.confirm_production=yes' });
			is($node->safe_psql($db, "SELECT to_regclass('public.smuggled_$tag') IS NULL"), 't',
				"$label, migr_upgrade: no unregistered statement ran");
			ok($up->{rc} != 0 || $node->safe_psql($db, "SELECT to_regclass('public.t_$tag') IS NOT NULL") eq 't',
				"$label, migr_upgrade: either refused or the registered statements ran");
			ok(!-e $p, "$label, migr_upgrade: no file");
			if ($up->{rc} == 0)
			{
				run_sql($db, 'deploy', "SELECT count(*) FROM migr_downgrade('base');",
					env => { PGOPTIONS => '-c migr.confirm_production=yes -c migr.allow_destructive=on' });
			}
			$before = fingerprint($db);
		}
		# The psql script, run by the deploy role and by the DBA as deploy.
		my $gen = run_sql($db, $su, qq{\\pset tuples_only on
\\pset format unaligned
SELECT migr_script('heads')});
		if ($gen->{rc} != 0)
		{
			refused($gen, "$label: migr_script");
			next;
		}
		my $file = write_text("$tag.sql", $gen->{out} . "\n");
		for my $r (@runners[1, 2])
		{
			my ($rname, $role, $env) = @$r;
			run_file($db, $role, $file, env => $env);
			my $esc = no_escalation($db, $before, $tag, "$label, script run by $rname");
			is($node->safe_psql($db, "SELECT to_regclass('public.smuggled_$tag') IS NULL"), 't',
				"$label, script run by $rname: no unregistered statement ran");
			reset_roles($esc);
		}
	}
}

# psql interpolates :NAME outside quotes, also in an array slice: the
# generated script must compute what migr_upgrade computes, or be refused.
for my $var (qw(PORT DBNAME))
{
	my $label = "psql variable :$var in a slice";
	my $lc    = lc $var;
	my $script = "CREATE TABLE public.iv AS WITH c($lc) AS (SELECT 2) "
	  . "SELECT (ARRAY[10, 20, 30])[1:$var] AS a FROM c;";
	# What the server makes of it.
	my $ref = new_db('development');
	my $want = $node->safe_psql($ref,
		"DO \$d\$ BEGIN EXECUTE \$q\$$script\$q\$; END \$d\$; SELECT a FROM public.iv");
	my $db = new_db();
	my $res = run_sql($db, 'deploy', "SELECT migr_revision('iv', \$q\$$script\$q\$, 'DROP TABLE public.iv', 'v1');",
		env => { PGOPTIONS => '-c migr.confirm_production=yes' });
	local $TODO = todo_item(2);
	if ($res->{rc} != 0)
	{
		refused($res, "$label: registration");
		next;
	}
	my $gen = run_sql($db, $su, qq{\\pset tuples_only on
\\pset format unaligned
SELECT migr_script('heads')});
	if ($gen->{rc} != 0)
	{
		refused($gen, "$label: migr_script");
		next;
	}
	my $file = write_text("iv_$var.sql", $gen->{out} . "\n");
	my $run = run_file($db, 'deploy', $file, env => { PGOPTIONS => '-c migr.confirm_production=yes' });
	if ($run->{rc} != 0)
	{
		refused($run, "$label: the script");
		is($node->safe_psql($db, 'SELECT count(*) FROM migr.applied'), '0',
			"$label: a refused script applied nothing");
	}
	else
	{
		is($node->safe_psql($db, 'SELECT a FROM public.iv'), $want,
			"$label: the script computed what the server computes ($want)");
	}
}

done_testing();
