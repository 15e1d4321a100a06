# test/t/012_worker_steps.pl
#
# One call deploys any history (issue 12): CALL migr_upgrade_each() runs the
# steps that cannot run in a transaction (CREATE/DROP INDEX CONCURRENTLY) in
# a background worker, with the bookkeeping of migr_step_begin/end.
#
# - A history of 20 transactional and 5 non-transactional revisions
#   (indexes created, dropped and created again concurrently, a unique index
#   built concurrently): one CALL applies it all, and the same history
#   through migr_script() + psql leaves the same catalog and the same schema
#   (pg_dump --schema-only).  migr_downgrade_each goes back down the same way.
# - The unique build fails on duplicate data: exactly the steps before it
#   stay applied, migr.in_progress holds it and migr_status() explains it, a
#   failure row is committed, no lock stays held; after the fix a rerun
#   completes.
# - The worker is killed mid-step, and the calling backend is cancelled
#   mid-step: no lock stays held, no worker is left, the step is explained,
#   a rerun recovers.
# - The worker connects as the role the step runs as (the registrant, for a
#   superuser's call of a deploy role's revision), and copies the caller's
#   settings; the log names the caller.
# - A failing migr_upgrade inside BEGIN ... ROLLBACK leaves a committed
#   failure row (revision, statement, line, SQLSTATE, message, who, target)
#   and nothing else; migr_upgrade refuses a non-transactional plan with a
#   hint that names the CALL.
# - With no worker slot (max_worker_processes = 0) the CALL fails at that
#   step naming max_worker_processes, and a failing migr_upgrade is raised
#   with a WARNING that its record is missing.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('worker');
$node->init;
$node->start;

my $dir = PostgreSQL::Test::Utils::tempdir;

# The history: 25 revisions w01 .. w25, a chain.  Five cannot run in a
# transaction: w04, w08, w12 and w20 create, drop and create again indexes
# concurrently, w16 builds a unique index concurrently (it fails while
# app.items.k has duplicates).
my @history;
for my $i (1 .. 25)
{
	my $id = sprintf('w%02d', $i);
	my ($up, $down);
	if ($i == 4)
	{
		($up, $down) = ('CREATE INDEX CONCURRENTLY items_name ON app.items (name)',
			'DROP INDEX CONCURRENTLY app.items_name');
	}
	elsif ($i == 8)
	{
		($up, $down) = ('DROP INDEX CONCURRENTLY app.items_name',
			'CREATE INDEX CONCURRENTLY items_name ON app.items (name)');
	}
	elsif ($i == 12)
	{
		($up, $down) = ("CREATE INDEX CONCURRENTLY items_name ON app.items (name, id);\n"
			  . "COMMENT ON INDEX app.items_name IS 'again'",
			'DROP INDEX CONCURRENTLY app.items_name');
	}
	elsif ($i == 16)
	{
		($up, $down) = ("SELECT 1;\n\nCREATE UNIQUE INDEX CONCURRENTLY items_k ON app.items (k)",
			'DROP INDEX CONCURRENTLY app.items_k');
	}
	elsif ($i == 18)
	{
		($up, $down) = ('ALTER TABLE app.items ADD COLUMN note text',
			'ALTER TABLE app.items DROP COLUMN note');
	}
	elsif ($i == 20)
	{
		($up, $down) = ('CREATE INDEX CONCURRENTLY items_note ON app.items (note) WHERE note IS NOT NULL',
			'DROP INDEX CONCURRENTLY app.items_note');
	}
	else
	{
		($up, $down) = ("CREATE TABLE app.t$i (id int PRIMARY KEY, v text DEFAULT 'x$i')",
			"DROP TABLE app.t$i");
	}
	push @history, [ $id, $up, $down ];
}

sub quote { my ($s) = @_; $s =~ s/'/''/g; return "'$s'"; }

sub setup_db
{
	my ($db, %opt) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql(
		$db, q{
CREATE EXTENSION migr;
CREATE SCHEMA app;
CREATE TABLE app.items (id int PRIMARY KEY, name text, k int);
INSERT INTO app.items SELECT g, 'n' || g, g FROM generate_series(1, 2000) g;
CREATE TABLE app.sleep_for (s float8);
INSERT INTO app.sleep_for VALUES (0);
});
	$node->safe_psql($db, q{UPDATE app.items SET k = 1 WHERE id <= 2}) if $opt{duplicates};
	return if $opt{empty};
	my $sql = "SET client_min_messages = error;\n";
	for my $rev (@history)
	{
		my ($id, $up, $down) = @$rev;
		$sql .= "SELECT migr_revision('$id', " . quote($up) . ', ' . quote($down)
		  . ", revision => '$id');\n";
	}
	$node->safe_psql($db, $sql);
	return;
}

# Run $sql on $db with psql; returns (rc, stdout, stderr) with SQLSTATEs.
sub run_sql
{
	my ($db, $sql) = @_;
	my ($out, $err) = ('', '');
	my $rc = $node->psql(
		$db, $sql,
		stdout       => \$out,
		stderr       => \$err,
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	return ($rc, $out, $err);
}

# The catalog state that does not depend on time, ids, xids or checksums.
my %stable = (
	version => q{SELECT revision FROM migr.version ORDER BY 1},
	applied => q{SELECT revision, checksum = (SELECT checksum FROM migr.revisions r WHERE r.id = a.revision),
	                    applied_by, stamped, downgrade, downgrade_registrant
	               FROM migr.applied a ORDER BY 1},
	log => q{SELECT revision, operation, direction, target, environment, confirmed,
	                session_user_name, current_user_name, application_name, statement,
	                error_sqlstate, error_line, run_id IS NOT NULL
	           FROM migr.log WHERE operation <> 'register' ORDER BY id},
	runs        => q{SELECT count(DISTINCT run_id) FROM migr.log WHERE operation <> 'register'},
	in_progress => q{SELECT count(*) FROM migr.in_progress},
	indexes     => q{SELECT indexrelid::regclass, indisvalid, indisready, pg_get_indexdef(indexrelid),
	                        obj_description(indexrelid, 'pg_class')
	                   FROM pg_index WHERE indrelid = 'app.items'::regclass ORDER BY 1});

my $locks = q{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 19783};
my $workers = q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'migr worker'};

sub schema_dump
{
	my ($db) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'pg_dump', '--schema-only', '--no-comments', '-n', 'app', '-d', $node->connstr($db) ],
		'>', \$out, '2>', \$err)
	  or die "pg_dump failed: $err";
	$out =~ s/^--.*\n//mg;
	# pg_dump brackets its output with a random key of its own.
	$out =~ s/^\\(un)?restrict .*\n//mg;
	return $out;
}

# --- One CALL applies the whole mixed history --------------------------------

setup_db('callpath');
is($node->safe_psql('callpath', q{SELECT string_agg(id, ',' ORDER BY seq) FROM migr.revisions WHERE NOT transactional}),
	'w04,w08,w12,w16,w20', 'five revisions are registered non-transactional');

my ($rc, $out, $err) = run_sql('callpath', q{CALL migr_upgrade_each('head')});
is($rc, 0, 'CALL migr_upgrade_each applies the mixed history') or diag($err);
my @notices = ($err =~ /step (\d+): applied revision "(w\d+)"/g);
is(scalar(@notices), 50, '... with a NOTICE per step (25)');
like($err, qr/step 16: applied revision "w16"/, '... the non-transactional steps among them');
is($node->safe_psql('callpath', $stable{version}), 'w25', 'at w25');
is($node->safe_psql('callpath', q{SELECT count(*) FROM migr.applied}), '25', '25 revisions applied');
is($node->safe_psql('callpath', q{SELECT string_agg(indexrelid::regclass || ':' || indisvalid, ',' ORDER BY indexrelid::regclass::text) FROM pg_index WHERE indrelid = 'app.items'::regclass}),
	'app.items_k:true,app.items_name:true,app.items_note:true,app.items_pkey:true',
	'the indexes built concurrently are valid');
is($node->safe_psql('callpath', $stable{runs}), '25', 'one run per step, as the script logs them');
is($node->safe_psql('callpath', $locks), '0', 'no migr lock is left');
is($node->safe_psql('callpath', $workers), '0', 'no worker is left');

# --- The same history through migr_script() + psql --------------------------

setup_db('psqlpath');
my $script = "$dir/psqlpath.sql";
append_to_file($script, $node->safe_psql('psqlpath', q{SELECT migr_script('head')}) . "\n");
($rc, $out, $err) = (0, '', '');
$rc = $node->psql('psqlpath', undef, stdout => \$out, stderr => \$err,
	extra_params => [ '-f', $script ], on_error_stop => 1);
is($rc, 0, 'the psql script of the same history applies') or diag($err);
foreach my $what (sort keys %stable)
{
	is($node->safe_psql('callpath', $stable{$what}), $node->safe_psql('psqlpath', $stable{$what}),
		"CALL and psql script leave the same catalog: $what");
}
is(schema_dump('callpath'), schema_dump('psqlpath'), 'and the same schema (pg_dump --schema-only)');

# Both go back down the same way.
($rc, $out, $err) = run_sql('callpath', q{CALL migr_downgrade_each('w02')});
is($rc, 0, 'CALL migr_downgrade_each goes down through the non-transactional steps') or diag($err);
like($err, qr/step 23: removed revision "w03"/, '... one NOTICE per step');
my $down = "$dir/psqlpath_down.sql";
append_to_file($down, $node->safe_psql('psqlpath', q{SELECT migr_script('w02', 'downgrade')}) . "\n");
$rc = $node->psql('psqlpath', undef, stdout => \$out, stderr => \$err,
	extra_params => [ '-f', $down ], on_error_stop => 1);
is($rc, 0, 'the downgrade script applies') or diag($err);
foreach my $what (qw(version applied log runs in_progress indexes))
{
	is($node->safe_psql('callpath', $stable{$what}), $node->safe_psql('psqlpath', $stable{$what}),
		"after going down too: $what");
}
is(schema_dump('callpath'), schema_dump('psqlpath'), 'and the same schema');

# --- migr_upgrade refuses, naming the CALL ----------------------------------

my $before = $node->safe_psql('callpath', q{SELECT count(*) FROM migr.log});
($rc, $out, $err) = run_sql('callpath', q{SELECT * FROM migr_upgrade('head')});
like($err, qr/ERROR:\s+25001: revision "w04" cannot run inside a transaction/, 'migr_upgrade refuses the plan (25001)');
like($err, qr/HINT:.*CALL migr_upgrade_each/, '... with a hint that names the CALL');
is($node->safe_psql('callpath', q{SELECT count(*) FROM migr.log}), $before, '... and records nothing: a refusal changes nothing');

# --- A failing concurrent build ----------------------------------------------

setup_db('dup', duplicates => 1);
($rc, $out, $err) = run_sql('dup', q{CALL migr_upgrade_each('head')});
isnt($rc, 0, 'the CALL fails at the unique build');
like($err, qr/ERROR:\s+23505: could not create unique index "items_k"/, '... with the error of the statement, SQLSTATE and all');
like($err, qr/DETAIL:\s+Key \(k\)=\(1\) is duplicated/, '... its detail');
like($err, qr/migration "w16" \(upgrade\), statement 2, line 3/, '... and the context naming revision, statement and line');
is($node->safe_psql('dup', q{SELECT string_agg(revision, ',' ORDER BY revision) FROM migr.applied}),
	join(',', map { sprintf('w%02d', $_) } 1 .. 15), 'exactly the steps before it are applied');
is($node->safe_psql('dup', $stable{version}), 'w15', 'at w15');
is($node->safe_psql('dup', q{SELECT revision || ' ' || direction || ' ' || target FROM migr.in_progress}),
	'w16 up head', 'migr.in_progress holds the failed step');
like($node->safe_psql('dup', q{SELECT migr_status()->'in_progress'->0->>'explanation'}),
	qr/began and did not finish.*CONCURRENTLY may be left invalid.*run the CALL again/s, 'migr_status explains it');
is($node->safe_psql('dup', q{SELECT migr_status()->'in_progress'->0->>'running'}), 'false', '... as not running');
is($node->safe_psql('dup', q{SELECT revision, statement, error_line, error_sqlstate, error_message, target FROM migr.log WHERE error_sqlstate IS NOT NULL}),
	qq{w16|CREATE UNIQUE INDEX CONCURRENTLY items_k ON app.items (k)|3|23505|could not create unique index "items_k"|head},
	'a failure row names revision, statement, line, SQLSTATE, message and target');
is($node->safe_psql('dup', q{SELECT migr_status()->'last_operation'->>'outcome'}), 'failed', 'migr_status: the last operation failed');
is($node->safe_psql('dup', $locks), '0', 'no migr lock is left');
is($node->safe_psql('dup', q{SELECT indisvalid FROM pg_index WHERE indexrelid = 'app.items_k'::regclass}), 'f',
	'the failed build left an invalid index, as PostgreSQL does');

$node->safe_psql('dup', q{DROP INDEX app.items_k; UPDATE app.items SET k = id});
($rc, $out, $err) = run_sql('dup', q{CALL migr_upgrade_each('head')});
is($rc, 0, 'after the fix, the CALL again completes') or diag($err);
like($err, qr/step "w16" \(up\) was begun before, at .*, and did not finish; running it again/, '... saying the step runs again');
like($err, qr/step 1: applied revision "w16"/, '... starting at the failed step');
is($node->safe_psql('dup', $stable{version}), 'w25', 'at w25');
is($node->safe_psql('dup', $stable{in_progress}), '0', 'nothing in progress');
is($node->safe_psql('dup', q{SELECT indisvalid FROM pg_index WHERE indexrelid = 'app.items_k'::regclass}), 't', 'the index is valid');

# --- The worker killed, the caller cancelled, mid-step -----------------------

# w26 sleeps in a step outside a transaction, as long as app.sleep_for says.
sub add_sleeper
{
	my ($db) = @_;
	$node->safe_psql($db, q{
SET client_min_messages = error;
SELECT migr_revision('sleeper', 'CREATE INDEX CONCURRENTLY IF NOT EXISTS items_id2 ON app.items (id);
SELECT pg_sleep(s) FROM app.sleep_for', 'DROP INDEX CONCURRENTLY app.items_id2', revision => 'w26');
UPDATE app.sleep_for SET s = 300;
});
	return;
}

# Start the CALL in the background; wait until the worker sleeps in w26.
# Returns the psql process, its stderr, and the caller's and the worker's pids.
sub call_until_asleep
{
	my ($db) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ 'psql', '-X', '-v', 'VERBOSITY=verbose', '-d', $node->connstr($db),
		  '-c', q{SET application_name = 'deployer'}, '-c', q{CALL migr_upgrade_each('head')} ],
		'<', \undef, '>', \$out, '2>', \$err);
	ok( $node->poll_query_until($db, q{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE backend_type = 'migr worker' AND query LIKE 'SELECT pg_sleep%' AND wait_event = 'PgSleep'}),
		'the worker sleeps in the step');
	my $caller = $node->safe_psql($db, q{SELECT pid FROM pg_stat_activity WHERE application_name = 'deployer' AND backend_type = 'client backend'});
	my $worker = $node->safe_psql($db, q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'migr worker'});
	is($node->safe_psql($db, q{SELECT migr_status()->'in_progress'->0->>'pid'}), $worker,
		'migr_status shows the step running in the worker');
	is($node->safe_psql($db, q{SELECT usename || ' ' || application_name FROM pg_stat_activity WHERE backend_type = 'migr worker'}),
		$node->safe_psql($db, q{SELECT current_user}) . ' deployer', '... connected as the step role, with the caller\'s settings');
	return ($h, \$err, $caller, $worker);
}

sub check_recovery
{
	my ($db, $what, $sqlstate) = @_;
	is($node->safe_psql($db, $locks), '0', "$what: no migr lock is left");
	is($node->safe_psql($db, $workers), '0', "$what: no worker is left");
	is($node->safe_psql($db, q{SELECT revision || ' ' || direction FROM migr.in_progress}), 'w26 up',
		"$what: the step is in progress");
	like($node->safe_psql($db, q{SELECT migr_status()->'in_progress'->0->>'explanation'}),
		qr/began and did not finish/, "$what: migr_status explains it");
	is($node->safe_psql($db, q{SELECT statement || ' ' || error_sqlstate FROM migr.log WHERE revision = 'w26' AND error_sqlstate IS NOT NULL}),
		"SELECT pg_sleep(s) FROM app.sleep_for $sqlstate", "$what: a failure row is committed");
	is($node->safe_psql($db, q{SELECT count(*) FROM migr.applied WHERE revision = 'w26'}), '0', "$what: w26 is not applied");
	# A deploy that comes now is not held up.
	$node->safe_psql($db, q{UPDATE app.sleep_for SET s = 0});
	my ($rc2, $out2, $err2) = run_sql($db, q{CALL migr_upgrade_each('head')});
	is($rc2, 0, "$what: a rerun recovers") or diag($err2);
	like($err2, qr/step "w26" \(up\) was begun before/, "$what: ... running the step again");
	is($node->safe_psql($db, $stable{version}), 'w26', "$what: at w26");
	is($node->safe_psql($db, $stable{in_progress}), '0', "$what: nothing in progress");
	return;
}

setup_db('killed');
$node->safe_psql('killed', q{CALL migr_upgrade_each('w25')});
add_sleeper('killed');
my ($h, $errref, $caller, $worker) = call_until_asleep('killed');
is($node->safe_psql('killed', $locks), '2', 'the worker holds the step locks at session level');
$node->safe_psql('killed', "SELECT pg_terminate_backend($worker)");
$h->finish;
like($$errref, qr/ERROR:\s+57P01: terminating background worker "migr worker" due to administrator command/,
	'killing the worker fails the CALL with its last words');
like($$errref, qr/migration "w26" \(upgrade\), statement 2, line 2/, '... naming the statement it ran');
check_recovery('killed', 'worker killed', '57P01');

setup_db('cancelled');
$node->safe_psql('cancelled', q{CALL migr_upgrade_each('w25')});
add_sleeper('cancelled');
($h, $errref, $caller, $worker) = call_until_asleep('cancelled');
$node->safe_psql('cancelled', "SELECT pg_cancel_backend($caller)");
$h->finish;
like($$errref, qr/ERROR:\s+57014: canceling statement due to user request/, 'cancelling the caller fails the CALL');
is($node->safe_psql('cancelled', $workers), '0', '... and the worker is gone by the time the error arrives');
check_recovery('cancelled', 'caller cancelled', '57014');

# --- Roles and settings ------------------------------------------------------

setup_db('roles');
$node->safe_psql('roles', q{
CREATE ROLE deploy LOGIN;
GRANT USAGE, CREATE ON SCHEMA app TO deploy;
ALTER TABLE app.items OWNER TO deploy;
CREATE TABLE app.seen (who text, sess text, path text, env text);
GRANT INSERT ON app.seen TO deploy;
GRANT EXECUTE ON FUNCTION migr_revision(text, text, text, text, text[], text[], text[], boolean, boolean) TO deploy;
});
$node->safe_psql('roles', q{
SET ROLE deploy;
SET client_min_messages = error;
SELECT migr_revision('as deploy', 'CREATE INDEX CONCURRENTLY items_k2 ON app.items (k);
INSERT INTO app.seen SELECT current_user, session_user, current_setting(''search_path''), current_setting(''migr.environment'')',
  'DROP INDEX CONCURRENTLY app.items_k2', revision => 'd1', down_revision => '{w25}');
});
$node->safe_psql('roles', q{CALL migr_upgrade_each('w25')});
($rc, $out, $err) = run_sql('roles', q{SET search_path = app, public; SET migr.environment = staging; CALL migr_upgrade_each('head')});
is($rc, 0, "a superuser's CALL runs a deploy role's step") or diag($err);
is($node->safe_psql('roles', q{SELECT who || ' ' || sess || ' ' || path || ' ' || env FROM app.seen}),
	'deploy deploy app, public staging', 'in a worker connected as the registrant, with the caller\'s settings');
is($node->safe_psql('roles', q{SELECT session_user_name || ' ' || current_user_name || ' ' || environment FROM migr.log WHERE revision = 'd1' AND operation = 'upgrade'}),
	'postgres postgres staging', 'the log names the caller');

# In production the worker's step needs the session's confirmation, and the
# DDL guard lets its registered statements through.
$node->safe_psql('roles', q{SET client_min_messages = error;
SELECT migr_revision('prod index', 'CREATE INDEX CONCURRENTLY items_id3 ON app.items (id)',
  'DROP INDEX CONCURRENTLY app.items_id3', revision => 'p1', down_revision => '{d1}')});
($rc, $out, $err) = run_sql('roles', q{SET migr.environment = production; CALL migr_upgrade_each('head')});
like($err, qr/ERROR:\s+MG001/, 'in production, the CALL without confirmation is refused (MG001)');
is($node->safe_psql('roles', q{SELECT count(*) FROM migr.applied WHERE revision = 'p1'}), '0', '... applying nothing');
($rc, $out, $err) = run_sql('roles',
	q{SET migr.environment = production; SET migr.confirm_production = yes; CALL migr_upgrade_each('head')});
is($rc, 0, 'confirmed with SET in the session, the worker runs the step past the DDL guard') or diag($err);
is($node->safe_psql('roles', q{SELECT environment || ' ' || confirmed FROM migr.log WHERE revision = 'p1' AND operation = 'upgrade'}),
	'production true', '... and the log says so');
is($node->safe_psql('roles', q{SELECT indisvalid FROM pg_index WHERE indexrelid = 'app.items_id3'::regclass}), 't',
	'... building the index');

# --- A failing migr_upgrade leaves its record and nothing else ---------------

setup_db('failrec', empty => 1);
$node->safe_psql('failrec', q{
SET client_min_messages = error;
SELECT migr_revision('ok', 'CREATE TABLE app.ok (a int)', 'DROP TABLE app.ok', revision => 'f1', down_revision => '{}');
SELECT migr_revision('bad', 'CREATE TABLE app.bad (a int);
INSERT INTO app.bad
  VALUES (1 / 0)', 'DROP TABLE app.bad', revision => 'f2', down_revision => '{f1}');
});
my $fingerprint = q{SELECT (SELECT string_agg(revision, ',') FROM migr.applied),
                           (SELECT string_agg(revision, ',') FROM migr.version),
                           (SELECT count(*) FROM migr.in_progress),
                           (SELECT generation FROM migr.state),
                           (SELECT string_agg(id || checksum, ',' ORDER BY id) FROM migr.revisions)};
my $fp_before = $node->safe_psql('failrec', $fingerprint);
my $schema_before = schema_dump('failrec');
my $log_before = $node->safe_psql('failrec', q{SELECT max(id) FROM migr.log});
($rc, $out, $err) = run_sql('failrec', q{BEGIN; SET application_name = 'deployer'; SELECT * FROM migr_upgrade('head'); COMMIT;});
like($err, qr/ERROR:\s+22012: division by zero/, 'migr_upgrade fails with the statement\'s error');
is($node->safe_psql('failrec', $fingerprint), $fp_before, 'applied, version, in_progress, state and revisions are as before');
is(schema_dump('failrec'), $schema_before, 'the schema is as before');
is($node->safe_psql('failrec', qq{SELECT count(*) FROM migr.log WHERE id > $log_before}), '1', 'migr.log has one row more');
is($node->safe_psql('failrec', qq{
SELECT concat_ws('|', operation, revision, direction, target, statement, error_line, error_sqlstate,
                 error_message, session_user_name, current_user_name, application_name, run_id IS NOT NULL,
                 started_at <= now(), duration >= '0')
  FROM migr.log WHERE id > $log_before}),
	"upgrade|f2|up|head|INSERT INTO app.bad\n  VALUES (1 / 0)|2|22012|division by zero|postgres|postgres|deployer|t|t|t",
	'the failure row: revision, statement, line, SQLSTATE, message, who, when, target');
is($node->safe_psql('failrec', q{SELECT migr_status()->'last_operation'->>'outcome' || ' ' || (migr_status()->'last_operation'->>'revision')}),
	'failed f2', 'migr_status reports the failed deploy');

# --- No worker slot ----------------------------------------------------------

$node->append_conf('postgresql.conf', 'max_worker_processes = 0');
$node->restart;
$log_before = $node->safe_psql('callpath', q{SELECT max(id) FROM migr.log});
$fp_before = $node->safe_psql('callpath', q{SELECT string_agg(revision, ',' ORDER BY 1) FROM migr.applied});
($rc, $out, $err) = run_sql('callpath', q{CALL migr_upgrade_each('head')});
isnt($rc, 0, 'without a worker slot the CALL fails');
like($err, qr/ERROR:\s+53400: no background worker slot is free to run step "w04" \(up\)/, '... at the step that needs one (53400)');
like($err, qr/max_worker_processes/, '... naming max_worker_processes');
like($err, qr/step 1: applied revision "w03"/, '... after the transactional steps before it');
is($node->safe_psql('callpath', q{SELECT count(*) FROM migr.in_progress}), '0', '... without beginning the step');
is($node->safe_psql('callpath', $locks), '0', '... holding no lock');

$fp_before = $node->safe_psql('failrec', $fingerprint);
$log_before = $node->safe_psql('failrec', q{SELECT max(id) FROM migr.log});
($rc, $out, $err) = run_sql('failrec', q{SELECT * FROM migr_upgrade('head')});
like($err, qr/WARNING:\s+01000: the failure of revision "f2" is not recorded in migr.log/, 'a failing migr_upgrade warns that its record is missing');
like($err, qr/no background worker slot was free \(max_worker_processes is 0\)/, '... saying why');
like($err, qr/ERROR:\s+22012: division by zero/, '... and still raises the failure');
is($node->safe_psql('failrec', qq{SELECT count(*) FROM migr.log WHERE id > $log_before}), '0', '... leaving migr.log as it was');
is($node->safe_psql('failrec', $fingerprint), $fp_before, '... and the rest too');
like(slurp_file($node->logfile), qr/LOG:  migr: upgrade of revision "f2" failed: SQLSTATE 22012: division by zero/,
	'the server log has the failure');

done_testing();
