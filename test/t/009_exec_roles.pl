# test/t/009_exec_roles.pl
#
# A script never runs with more privileges than the role that registered it
# (issue 9, item 4), with real logins: a deploy role that logs in registers,
# a superuser runs.  Through migr_upgrade the deploy role's revision runs as
# the deploy role, and an attempt to get back to the superuser fails, is
# rolled back and is written to the server log.  Through the psql script of
# migr_script() (statements run in the psql session, where RESET ROLE
# returns to the login role), a superuser's session is refused at
# migr_step_begin and nothing is applied; the deploy role's own login
# applies it.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('exec_roles');
$node->init;
$node->start;

my $dir = PostgreSQL::Test::Utils::tempdir;

$node->safe_psql(
	'postgres', q{
CREATE ROLE deploy LOGIN;
CREATE EXTENSION migr;
GRANT CREATE ON SCHEMA public TO deploy;
GRANT EXECUTE ON FUNCTION
    migr_revision(text, text, text, text, text[], text[], text[], boolean, boolean),
    migr_upgrade(text, boolean), migr_script(text, text),
    migr_step_begin(text, text, text, text), migr_step_end(text, text, text, text)
  TO deploy;
});

# As the deploy role, over its own connection.
sub as_deploy
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $sql, extra_params => [ '-U', 'deploy' ]);
}

as_deploy(q{SELECT migr_revision('items', 'CREATE TABLE items (id int, name text)', 'DROP TABLE items', 'x1', '{}')});
as_deploy(q{SELECT migr_revision('escape', 'RESET ROLE; ALTER ROLE deploy SUPERUSER', NULL, 'x2', '{x1}')});

# The superuser upgrades: x1 runs as deploy, x2 fails, nothing of the call stays.
my ($rc, $out, $err) = $node->psql('postgres', q{SELECT count(*) FROM migr_upgrade('x2')});
like($err, qr/cannot set parameter "role" within security-definer function/,
	'RESET ROLE in a deploy role\'s script run by a superuser is refused');
is($node->safe_psql('postgres', q{SELECT rolsuper FROM pg_roles WHERE rolname = 'deploy'}),
	'f', 'the deploy role is not a superuser');
is($node->safe_psql('postgres', q{SELECT count(*) FROM migr.applied}), '0',
	'the whole call was rolled back');
like(slurp_file($node->logfile),
	qr/migr: upgrade of revision "x2" failed: SQLSTATE 42501: cannot set parameter "role"/,
	'the failure is in the server log, with its SQLSTATE');

like(slurp_file($node->logfile),
	qr/Called by role "\w+" \(session user "\w+"\); the script ran as role "deploy"\./,
	'the server log says who called and as whom the script ran');

# Every way back to the superuser, each in a revision of its own that the
# deploy role registers and the superuser runs: refused (42501), rolled
# back, in the server log, and the deploy role is never a superuser.
my $payload = 'ALTER ROLE deploy SUPERUSER; CREATE TABLE pwned (i int)';
my @probes = (
	"RESET ROLE; $payload",
	"SET ROLE postgres; $payload",
	"SET LOCAL ROLE postgres; $payload",
	"SET SESSION AUTHORIZATION postgres; $payload",
	"SET LOCAL SESSION AUTHORIZATION postgres; $payload",
	"SET SESSION AUTHORIZATION DEFAULT; $payload",
	"RESET SESSION AUTHORIZATION; $payload",
	"SELECT set_config('role', 'postgres', false); $payload",
	"SELECT set_config('role', 'postgres', true); $payload",
	"SELECT set_config('session_authorization', 'postgres', false); $payload",
	"DO \$d\$BEGIN RESET ROLE; $payload; END\$d\$",
	"DO \$d\$BEGIN SET ROLE postgres; $payload; END\$d\$",
	"DO \$d\$BEGIN EXECUTE 'SET SESSION AUTHORIZATION postgres'; $payload; END\$d\$",
	"DO \$d\$BEGIN PERFORM set_config('role', 'postgres', true); $payload; END\$d\$",
	"DO \$d\$BEGIN PERFORM set_config('session_authorization', 'postgres', false); $payload; END\$d\$",
	"CREATE FUNCTION trap() RETURNS trigger LANGUAGE plpgsql AS \$t\$BEGIN $payload; RETURN NULL; END\$t\$; "
	  . "CREATE TABLE deferred (i int); CREATE CONSTRAINT TRIGGER later AFTER INSERT ON deferred "
	  . "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION trap(); INSERT INTO deferred VALUES (1)");
my $n = 0;
foreach my $probe (@probes)
{
	$n++;
	my $quoted = $probe;
	$quoted =~ s/'/''/g;
	as_deploy("SELECT migr_revision('probe $n', '$quoted', NULL, 'p$n', '{x1}')");
	my ($prc, $pout, $perr) = $node->psql('postgres', "SELECT count(*) FROM migr_upgrade('p$n')");
	like($perr, qr/ERROR:  (cannot set parameter|cannot fire deferred trigger)/, "probe $n refused: $probe");
	like(slurp_file($node->logfile), qr/migr: upgrade of revision "p$n" failed: SQLSTATE 42501/,
		"probe $n is in the server log with SQLSTATE 42501");
}
is($node->safe_psql('postgres', q{SELECT rolsuper FROM pg_roles WHERE rolname = 'deploy'}),
	'f', 'after every probe, the deploy role is not a superuser');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_class WHERE relname IN ('pwned', 'deferred')}),
	'0', 'and no probe left an object behind');

$node->safe_psql('postgres', q{SELECT count(*) FROM migr_upgrade('x1')});
is($node->safe_psql('postgres', q{SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'items'}),
	'deploy', 'run by the superuser, the deploy role\'s revision made a table the deploy role owns');

# The psql path, with a step that cannot run in a transaction.
as_deploy(q{SELECT migr_revision('index', 'CREATE INDEX CONCURRENTLY items_name ON items (name)', 'DROP INDEX CONCURRENTLY items_name', 'x3', '{x1}')});
my $script = $node->safe_psql('postgres', q{SELECT migr_script('x3')});
my $file = "$dir/x3.sql";
open(my $fh, '>', $file) or die "could not write $file: $!";
print $fh $script;
close($fh);

my ($o1, $e1) = ('', '');
$rc = $node->psql('postgres', undef, stdout => \$o1, stderr => \$e1,
	extra_params => [ '-v', 'ON_ERROR_STOP=1', '-f', $file ]);
isnt($rc, 0, 'the superuser\'s psql session stops at migr_step_begin');
like($e1, qr/revision "x3" was registered by role "deploy", which does not have the privileges of role "\w+" running this script/,
	'and says why');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_class WHERE relname = 'items_name'}), '0',
	'the index was not built');
is($node->safe_psql('postgres', q{SELECT count(*) FROM migr.in_progress}), '0',
	'no step is left in progress');

# SET ROLE in the superuser's session does not help: RESET ROLE would undo it.
my $prefixed = "$dir/x3_set_role.sql";
open($fh, '>', $prefixed) or die "could not write $prefixed: $!";
print $fh "SET ROLE deploy;\n" . $script;
close($fh);
$rc = $node->psql('postgres', undef, stdout => \$o1, stderr => \$e1,
	extra_params => [ '-v', 'ON_ERROR_STOP=1', '-f', $prefixed ]);
isnt($rc, 0, 'a superuser session after SET ROLE deploy is refused too');

my ($o2, $e2) = ('', '');
$rc = $node->psql('postgres', undef, stdout => \$o2, stderr => \$e2,
	extra_params => [ '-U', 'deploy', '-v', 'ON_ERROR_STOP=1', '-f', $file ]);
is($rc, 0, 'the deploy role\'s own login applies the script') or diag($e2);
is($node->safe_psql('postgres', q{SELECT string_agg(revision, ',' ORDER BY revision) FROM migr.applied}),
	'x1,x3', 'x3 is applied');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'items_name' AND i.indisvalid}),
	'1', 'its index was built');

done_testing();
