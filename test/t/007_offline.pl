# test/t/007_offline.pl
#
# Revisions that cannot run in a transaction (CREATE INDEX CONCURRENTLY),
# end to end: migr_upgrade refuses them (25001) before running anything; the
# psql script from migr_script() applies them and leaves the same catalog
# state as migr_upgrade leaves for the same revisions without CONCURRENTLY;
# a failure inside the non-transactional step leaves migr.in_progress, which
# migr_status() explains, and running the script again after the fix
# completes it; a script made stale by a re-registration is refused (MG004).
# Also: a failed single-transaction migr_upgrade is written to the server log
# (and leaves its failure record in migr.log).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('offline');
$node->init;
$node->start;

my $dir = PostgreSQL::Test::Utils::tempdir;

sub setup_db
{
	my ($db) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql(
		$db, q{
CREATE EXTENSION migr;
CREATE SCHEMA app;
CREATE TABLE app.items (id int PRIMARY KEY, name text, k int);
INSERT INTO app.items SELECT g, 'n' || g, g FROM generate_series(1, 1000) g;
});
}

# Register the three revisions; $conc is 'CONCURRENTLY ' or ''.
sub register
{
	my ($db, $conc) = @_;
	$node->safe_psql(
		$db, qq{
SET client_min_messages = error;
SELECT migr_revision('table', 'CREATE TABLE app.tags (id int, item_id int)', 'DROP TABLE app.tags', 'o1', '{}');
SELECT migr_revision('index', 'CREATE INDEX ${conc}items_name ON app.items (name)', 'DROP INDEX app.items_name', 'o2');
SELECT migr_revision('column', 'ALTER TABLE app.items ADD COLUMN note text', 'ALTER TABLE app.items DROP COLUMN note', 'o3');
});
}

# psql -f on a file; returns (rc, stdout, stderr).
sub run_file
{
	my ($db, $file) = @_;
	my ($out, $err) = ('', '');
	my $rc = $node->psql(
		$db, undef,
		stdout        => \$out,
		stderr        => \$err,
		extra_params  => [ '-v', 'VERBOSITY=verbose', '-f', $file ],
		on_error_stop => 1);
	return ($rc, $out, $err);
}

sub write_script
{
	my ($db, $name) = @_;
	my $file = "$dir/$name.sql";
	PostgreSQL::Test::Utils::append_to_file($file,
		$node->safe_psql($db, "SELECT migr_script('head')") . "\n");
	return $file;
}

# The catalog columns that do not depend on time, ids or checksums.
my %stable = (
	version => q{SELECT revision FROM migr.version ORDER BY 1},
	applied => q{SELECT revision, applied_by, stamped, downgrade FROM migr.applied ORDER BY 1},
	log     => q{SELECT revision, operation, direction, target, environment, confirmed,
	                    session_user_name, current_user_name, statement, error_sqlstate
	               FROM migr.log WHERE operation <> 'register' ORDER BY id},
	in_progress => q{SELECT count(*) FROM migr.in_progress},
	state_ok    => q{SELECT generation > 0 FROM migr.state},
	index       => q{SELECT indexrelid::regclass, indisvalid, indisready,
	                        pg_get_indexdef(indexrelid)
	                   FROM pg_index WHERE indrelid = 'app.items'::regclass ORDER BY 1},
	columns     => q{SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
	                  WHERE attrelid = 'app.items'::regclass AND attnum > 0 AND NOT attisdropped},
	tags        => q{SELECT to_regclass('app.tags') IS NOT NULL});

# --- migr_upgrade refuses a non-transactional revision --------------------

setup_db('offl');
register('offl', 'CONCURRENTLY ');
is($node->safe_psql('offl', q{SELECT string_agg(id || '=' || transactional, ',' ORDER BY seq) FROM migr.revisions}),
	'o1=true,o2=false,o3=true', 'the CONCURRENTLY revision is registered non-transactional');

my ($rc, $out, $err) = ('', '', '');
$rc = $node->psql('offl', 'SELECT * FROM migr_upgrade()',
	stdout => \$out, stderr => \$err,
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
isnt($rc, 0, 'migr_upgrade through it fails');
like($err, qr/ERROR:\s+25001: revision "o2" cannot run inside a transaction/, '... with 25001 naming the revision');
like($err, qr/HINT:.*migr_script\(\)/, '... and a hint to use migr_script()');
is($node->safe_psql('offl', q{SELECT count(*) FROM migr.applied}), '0', 'nothing was applied');
is($node->safe_psql('offl', q{SELECT count(*) FROM migr.log WHERE operation <> 'register'}), '0', 'nothing was logged');
is($node->safe_psql('offl', $stable{tags}), 'f', 'not even the first, transactional step ran');
# Up to the revision before it, migr_upgrade still works.
$node->safe_psql('offl', q{SELECT * FROM migr_upgrade('o1')});
$node->safe_psql('offl', q{SELECT * FROM migr_downgrade('base')});
$node->safe_psql('offl', q{TRUNCATE migr.log, migr.version, migr.applied CASCADE});

# --- The script applies it --------------------------------------------------

my $script = write_script('offl', 'offl');
my $text = slurp_file($script);
like($text, qr/-- step 2: o2 \(up\) index, outside a transaction/, 'the script marks the step outside a transaction');
like($text, qr/BEGIN;\nSELECT .*migr_step_begin\('o1', 'up', '[0-9a-f]+', 'head'\);\nCREATE TABLE app\.tags/,
	'transactional steps are wrapped in BEGIN with the bookkeeping call inside');
unlike($text, qr/BEGIN;\nSELECT .*migr_step_begin\('o2'/, 'the CONCURRENTLY step is not in a transaction block');
($rc, $out, $err) = run_file('offl', $script);
is($rc, 0, 'psql -v ON_ERROR_STOP=1 -f applies the script') or diag($err);

# The same revisions without CONCURRENTLY, applied by migr_upgrade.
setup_db('ref');
register('ref', '');
$node->safe_psql('ref', q{SELECT * FROM migr_upgrade()});

foreach my $what (sort keys %stable)
{
	is($node->safe_psql('offl', $stable{$what}), $node->safe_psql('ref', $stable{$what}),
		"catalog state after the script equals migr_upgrade's: $what");
}
is($node->safe_psql('offl', $stable{version}), 'o3', 'at o3');
# Each step of the script is a call of its own (one run_id per step).
is($node->safe_psql('offl', q{SELECT count(DISTINCT run_id) FROM migr.log WHERE operation <> 'register'}), '3',
	'the script logs one run per step');
like($node->safe_psql('offl', q{SELECT migr_status()->'last_operation'->>'outcome'}), qr/^succeeded$/, 'status: succeeded');

# Running the finished script again is refused: the steps are applied.
($rc, $out, $err) = run_file('offl', $script);
isnt($rc, 0, 'running the script again fails');
like($err, qr/55000: revision "o1" is already applied/, '... at its first step, which is already applied');
is($node->safe_psql('offl', q{SELECT count(*) FROM migr.log WHERE operation <> 'register'}), '3', '... logging nothing');

# The downgrade script works too and ends at base.
my $down = "$dir/offl_down.sql";
append_to_file($down, $node->safe_psql('offl', "SELECT migr_script('base', 'downgrade')") . "\n");
($rc, $out, $err) = run_file('offl', $down);
is($rc, 0, 'the downgrade script applies') or diag($err);
is($node->safe_psql('offl', q{SELECT count(*) FROM migr.version}), '0', 'at base after the downgrade script');
is($node->safe_psql('offl', $stable{tags}), 'f', 'the downgrade scripts ran');

# --- A failure inside the non-transactional step ---------------------------

setup_db('fail');
$node->safe_psql(
	'fail', q{
UPDATE app.items SET k = 1 WHERE id <= 2;
SET client_min_messages = error;
SELECT migr_revision('table', 'CREATE TABLE app.tags (id int)', 'DROP TABLE app.tags', 'f1', '{}');
SELECT migr_revision('unique k', 'CREATE UNIQUE INDEX CONCURRENTLY items_k ON app.items (k)', 'DROP INDEX app.items_k', 'f2');
SELECT migr_revision('after', 'ALTER TABLE app.items ADD COLUMN after int', 'ALTER TABLE app.items DROP COLUMN after', 'f3');
});
my $fscript = write_script('fail', 'fail');
($rc, $out, $err) = run_file('fail', $fscript);
isnt($rc, 0, 'the script stops at the failing CREATE UNIQUE INDEX CONCURRENTLY');
like($err, qr/23505/, '... with the unique violation');
is($node->safe_psql('fail', q{SELECT string_agg(revision, ',' ORDER BY revision) FROM migr.applied}), 'f1',
	'the step before it is applied');
is($node->safe_psql('fail', q{SELECT revision || ' ' || direction || ' ' || target FROM migr.in_progress}), 'f2 up head',
	'migr.in_progress holds the interrupted step');
is($node->safe_psql('fail', q{SELECT jsonb_array_length(migr_status()->'in_progress')}), '1', 'migr_status lists it');
is($node->safe_psql('fail', q{SELECT migr_status()->'in_progress'->0->>'revision'}), 'f2', '... by revision');
like($node->safe_psql('fail', q{SELECT migr_status()->'in_progress'->0->>'explanation'}),
	qr/began and did not finish.*write the script again with migr_script\(\) and run it/s, '... with an explanation');
is($node->safe_psql('fail', q{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 19783}), '0',
	'the session lock went with the session');
is($node->safe_psql('fail', q{SELECT string_agg(indexrelid::regclass || ' ' || indisvalid, ',') FROM pg_index WHERE indexrelid = 'app.items_k'::regclass}),
	'app.items_k false', 'the failed build left an invalid index, as PostgreSQL does');
is($node->safe_psql('fail', q{SELECT count(*) FROM migr.version WHERE revision = 'f2'}), '0', 'f2 is not current');

# Fix the data (and drop the invalid index), run the same script again: the
# applied f1 is refused, so generate it again from the current state.
$node->safe_psql('fail', q{UPDATE app.items SET k = id; DROP INDEX app.items_k});
($rc, $out, $err) = run_file('fail', $fscript);
isnt($rc, 0, 'the old script stops at its first, applied step');
my $fscript2 = write_script('fail', 'fail2');
($rc, $out, $err) = run_file('fail', $fscript2);
is($rc, 0, 'a script generated again completes the plan') or diag($err);
like($err, qr/step "f2" \(up\) was begun before.*did not finish; running it again/, '... noting that the step ran again');
is($node->safe_psql('fail', q{SELECT count(*) FROM migr.in_progress}), '0', 'migr.in_progress is empty again');
is($node->safe_psql('fail', q{SELECT string_agg(revision, ',') FROM migr.version}), 'f3', 'at f3');
is($node->safe_psql('fail', q{SELECT indisvalid FROM pg_index WHERE indexrelid = 'app.items_k'::regclass}), 't', 'the index is valid');
is($node->safe_psql('fail', q{SELECT jsonb_array_length(migr_status()->'in_progress')}), '0', 'migr_status: nothing in progress');

# --- A stale script is refused (MG004) ---------------------------------------

$node->safe_psql(
	'fail', q{
SET client_min_messages = error;
SELECT migr_revision('more', 'CREATE INDEX CONCURRENTLY items_name ON app.items (name)', 'DROP INDEX app.items_name', 'f4');
});
my $stale = write_script('fail', 'stale');
$node->safe_psql(
	'fail', q{
SET client_min_messages = error;
SELECT migr_revision('more', 'CREATE INDEX CONCURRENTLY items_name2 ON app.items (name)', 'DROP INDEX app.items_name2', 'f4');
});
($rc, $out, $err) = run_file('fail', $stale);
isnt($rc, 0, 'a stale script fails');
like($err, qr/MG004: revision "f4" changed since the script was written/, '... with MG004');
is($node->safe_psql('fail', q{SELECT count(*) FROM pg_class WHERE relname IN ('items_name', 'items_name2')}), '0',
	'... before running the step');
is($node->safe_psql('fail', q{SELECT count(*) FROM migr.in_progress}), '0', '... and without leaving it in progress');

# --- The bookkeeping calls refuse misuse -------------------------------------

$rc = $node->psql('fail', q{SELECT migr_step_end('f4', 'up', 'x', 'head')}, stderr => \$err,
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/55000: no script step is running in this session/, 'migr_step_end without migr_step_begin');
$rc = $node->psql('fail', q{BEGIN; SELECT migr_step_begin('f4', 'up', (SELECT checksum FROM migr.revisions WHERE id = 'f4'), 'head');},
	stderr => \$err, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/25001: step "f4" must run outside a transaction block/, 'a non-transactional step inside BEGIN');

# --- A failed migr_upgrade is written to the server log ---------------------

my $log_offset = -s $node->logfile;
$node->safe_psql(
	'fail', q{
SET client_min_messages = error;
SELECT migr_revision('bad', E'CREATE TABLE app.bad (id int);\nALTER TABLE app.items ADD CONSTRAINT items_k_neg CHECK (k < 0)', 'DROP TABLE app.bad', 'f5', ARRAY['f3']);
});
$rc = $node->psql('fail', q{SELECT * FROM migr_upgrade('f5')}, stderr => \$err);
isnt($rc, 0, 'migr_upgrade of a failing revision fails');
my $log = slurp_file($node->logfile, $log_offset);
like($log, qr/migr: upgrade of revision "f5" failed: SQLSTATE 23514: check constraint "items_k_neg"/,
	'the server log names the revision and the SQLSTATE');
like($log, qr/Failed statement: ALTER TABLE app\.items ADD CONSTRAINT items_k_neg CHECK \(k < 0\)/,
	'... and the statement');
is($node->safe_psql('fail', q{SELECT count(*) FROM migr.log WHERE revision = 'f5' AND operation <> 'register' AND error_sqlstate IS NULL}), '0',
	'its log rows rolled back with it');
is($node->safe_psql('fail', q{SELECT error_sqlstate || ' ' || error_line FROM migr.log WHERE revision = 'f5' AND error_sqlstate IS NOT NULL}),
	'23514 2', '... but for its failure record, committed on its own');

$node->stop;
done_testing();
