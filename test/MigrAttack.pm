# test/MigrAttack.pm
#
# What the attacker's security suite (test/t/02*_security_*.pl) shares: a
# node whose template database is set up exactly as README.md says (the
# extension, an application role "app" owning schema app, a deploy role
# "deploy" with the GRANTs of "Letting a deploy role migrate"), one fresh
# production database per attack, psql runs as each role, real psql -f runs
# of generated scripts, a fingerprint of everything an attack could change
# (schema, role attributes, memberships, settings, event triggers, every
# migr.* table, row counts, files the payloads would create), and checks on
# the server log (log_line_prefix names the session user, the database and
# the SQLSTATE of every refusal).
#
# Items of issue 9 whose fix has not landed yet are listed in %OPEN; the
# checks of such an item run inside a TODO block (todo_item(N)), so they
# report without failing make test.  An item leaves %OPEN when its checks
# pass.  Every check of issue 9's list passes; what is left are the objects
# a deploy role leaves for a superuser's later revision (022, "trojan").

package MigrAttack;

use strict;
use warnings;

use Exporter 'import';
use File::Path qw(make_path);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(start_node new_db run_sql run_file superuser_name
  fingerprint check_unchanged refused check_log log_pos attack_dir
  pwned_path todo_item reset_roles write_text query);

# Items (or "item:variant") of issue 9 whose checks still fail on main.
our %OPEN = map { $_ => 1 } qw(4:trojan);

# The TODO reason for item $item (optionally one variant of it), or undef.
sub todo_item
{
	my ($item, $variant) = @_;
	return "issue 9 item $item: not fixed yet" if $OPEN{$item};
	return "issue 9 item $item ($variant): not fixed yet"
	  if defined $variant && $OPEN{"$item:$variant"};
	return undef;
}

# The checks below run in this package: each takes over the TODO of the
# test file (Test::More looks for $TODO in the package that calls ok/is).
our $TODO;

my $node;
my $superuser;
my $dir;
my $dbcount = 0;

# The GRANTs README.md ("Letting a deploy role migrate") gives a deploy role.
my $deploy_grants = q{
GRANT EXECUTE ON FUNCTION
    migr_revision(text, text, text, text, text[], text[], text[], boolean, boolean),
    migr_merge(text[], text, text),
    migr_load(text, text), migr_load(text[], text[]),
    migr_template(text, text, text[]), migr_export(),
    migr_redo(text), migr_repair(text), migr_launch(),
    migr_plan(text, text), migr_lint(text), migr_script(text, text),
    migr_step_begin(text, text, text, text), migr_step_end(text, text, text, text),
    migr_rollback_check(text),
    migr_upgrade(text, boolean), migr_upgrade(integer),
    migr_downgrade(text, boolean), migr_downgrade(integer),
    migr_stamp(text[]), migr_stamp(text[], boolean),
    migr_show(text)
  TO deploy;
GRANT EXECUTE ON PROCEDURE migr_upgrade_each(text) TO deploy;
GRANT CREATE ON SCHEMA public TO deploy;
};

# Start the node and build the template database "tmpl".
sub start_node
{
	my ($name) = @_;
	$node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', qq{
log_line_prefix = '%m [%p] user=%u db=%d state=%e '
lc_messages = 'C'
});
	$node->start;
	$dir = PostgreSQL::Test::Utils::tempdir;
	$superuser = $node->safe_psql('postgres', 'SELECT current_user');
	$node->safe_psql('postgres', q{
CREATE ROLE app LOGIN;
CREATE ROLE deploy LOGIN;
CREATE DATABASE tmpl;
});
	$node->safe_psql('tmpl', qq{
CREATE EXTENSION migr;
CREATE SCHEMA app AUTHORIZATION app;
SET ROLE app;
CREATE TABLE app.items (id int PRIMARY KEY, name text);
INSERT INTO app.items SELECT g, 'item ' || g FROM generate_series(1, 100) g;
RESET ROLE;
$deploy_grants
});
	return $node;
}

sub superuser_name { return $superuser; }
sub attack_dir     { return $dir; }

# Where a payload's shell command would leave its mark.
sub pwned_path
{
	my ($tag) = @_;
	$tag =~ s/[^A-Za-z0-9_]/_/g;
	return "$dir/pwned_$tag";
}

# A fresh copy of the template; production unless $env says otherwise.
# Production is configured as README says: migr preloaded in every session
# of the database (session_preload_libraries), unless $no_preload.
sub new_db
{
	my ($env, $no_preload) = @_;
	$env //= 'production';
	my $db = 'a' . ++$dbcount;
	my $preload = $env eq 'production' && !$no_preload
	  ? "\nALTER DATABASE $db SET session_preload_libraries = 'migr';" : '';
	$node->safe_psql('postgres',
		"CREATE DATABASE $db TEMPLATE tmpl;\nALTER DATABASE $db SET migr.environment = '$env';$preload");
	return $db;
}

# Run $sql with psql as $role in $db (ON_ERROR_STOP, verbose errors).
# Options: env => {...} (e.g. PGOPTIONS), stop => 0 to go on after errors.
# Returns { rc, out, err, state } where state is the first SQLSTATE.
sub run_sql
{
	my ($db, $role, $sql, %opt) = @_;
	local %ENV = (%ENV, %{ $opt{env} // {} });
	my ($out, $err) = ('', '');
	my $rc = $node->psql(
		$db, $sql,
		stdout        => \$out,
		stderr        => \$err,
		extra_params  => [ '-U', $role, '-v', 'VERBOSITY=verbose' ],
		on_error_stop => $opt{stop} // 1);
	my ($state) = $err =~ /(?:ERROR|FATAL|PANIC):  ([0-9A-Z]{5}):/;
	return { rc => $rc, out => $out, err => $err, state => $state };
}

# Real psql -f on a file, as $role, from $dir (a payload's relative paths
# land there).  Returns the same hash as run_sql.
sub run_file
{
	my ($db, $role, $file, %opt) = @_;
	local %ENV = (%ENV, %{ $opt{env} // {} });
	my ($out, $err) = ('', '');
	my @cmd = (
		'psql', '-X', '-h', $node->host, '-p', $node->port,
		'-U', $role, '-d', $db, '-v', 'VERBOSITY=verbose',
		'-v', 'ON_ERROR_STOP=1', '-f', $file);
	IPC::Run::run(\@cmd, '<', \undef, '>', \$out, '2>', \$err,
		init => sub { chdir $dir });
	my $rc = $? >> 8;
	my ($state) = $err =~ /(?:ERROR|FATAL|PANIC):  ([0-9A-Z]{5}):/;
	return { rc => $rc, out => $out, err => $err, state => $state };
}

# The output of $sql as superuser, or "error: ..." (never dies).
sub query
{
	my ($db, $sql) = @_;
	my ($out, $err) = ('', '');
	my $rc = $node->psql($db, $sql, stdout => \$out, stderr => \$err, on_error_stop => 1);
	return $rc == 0 ? $out : "error: $err";
}

sub write_text
{
	my ($name, $text) = @_;
	my $file = "$dir/$name";
	open my $fh, '>', $file or die "cannot write $file: $!";
	binmode $fh;
	print $fh $text;
	close $fh;
	return $file;
}

# Everything an attack could change, one text per part, read as superuser.
my %fingerprint_sql = (
	roles => q{
SELECT string_agg(format('%s super=%s createrole=%s createdb=%s login=%s repl=%s bypassrls=%s inherit=%s pw=%s',
       rolname, rolsuper, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication,
       rolbypassrls, rolinherit, md5(coalesce(rolpassword, ''))), E'\n' ORDER BY rolname)
  FROM pg_authid WHERE rolname !~ '^pg_'
UNION ALL
SELECT coalesce(string_agg(format('member %s of %s admin=%s', member::regrole, roleid::regrole, admin_option),
       E'\n' ORDER BY 1), '') FROM pg_auth_members
UNION ALL
SELECT coalesce(string_agg(format('setting db=%s role=%s %s', setdatabase, setrole, setconfig),
       E'\n' ORDER BY 1), '') FROM pg_db_role_setting
UNION ALL
SELECT string_agg(format('database %s owner=%s acl=%s', datname, datdba::regrole, datacl), E'\n' ORDER BY datname)
  FROM pg_database
},
	schema => q{
SELECT coalesce(string_agg(x, E'\n' ORDER BY x), '') FROM (
 SELECT format('namespace %s owner=%s acl=%s', nspname, nspowner::regrole, nspacl) AS x
   FROM pg_namespace WHERE nspname NOT LIKE 'pg_temp_%' AND nspname NOT LIKE 'pg_toast_temp_%'
 UNION ALL
 SELECT format('relation %s.%s kind=%s owner=%s persistence=%s acl=%s', n.nspname, c.relname,
        c.relkind, c.relowner::regrole, c.relpersistence, c.relacl)
   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
    AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'
 UNION ALL
 SELECT format('column %s.%s %s notnull=%s', a.attrelid::regclass, a.attname,
        format_type(a.atttypid, a.atttypmod), a.attnotnull)
   FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
   JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE a.attnum > 0 AND NOT a.attisdropped
    AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
    AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'
 UNION ALL
 SELECT format('function %s owner=%s secdef=%s config=%s acl=%s', p.oid::regprocedure,
        p.proowner::regrole, p.prosecdef, p.proconfig, p.proacl)
   FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
 UNION ALL
 SELECT format('trigger %s.%s enabled=%s', tgrelid::regclass, tgname, tgenabled)
   FROM pg_trigger WHERE NOT tgisinternal
 UNION ALL
 SELECT format('event trigger %s enabled=%s function=%s owner=%s', evtname, evtenabled,
        evtfoid::regproc, evtowner::regrole) FROM pg_event_trigger
 UNION ALL
 SELECT format('default acl %s %s %s', defaclrole::regrole, defaclobjtype, defaclacl) FROM pg_default_acl
 UNION ALL
 SELECT format('extension %s %s', extname, extversion) FROM pg_extension
 UNION ALL
 SELECT format('type %s', t.oid::regtype) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'migr')
    AND n.nspname NOT LIKE 'pg_temp_%' AND t.typtype <> 'c' AND t.typelem = 0
) s
},
	rows => q{
SELECT coalesce(string_agg(format('%s.%s rows=%s', n.nspname, c.relname,
       (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname),
                                            false, true, '')))[1]::text), E'\n' ORDER BY 1), '')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'migr')
   AND n.nspname NOT LIKE 'pg_temp_%'
},
);

# Every table of schema migr, row by row (sequences left out: a refused
# call may still consume a run_id, as README says).
# Failure records (migr.log rows with an error_sqlstate) are left out: a
# failed call commits one, the one change a failure makes.
$fingerprint_sql{migr} = q{
SELECT string_agg(format(E'== migr.%s\n%s', c.relname,
       (xpath('/row/t/text()', query_to_xml(
           format('SELECT coalesce(string_agg(x::text, E''\n'' ORDER BY x::text), '''') AS t FROM migr.%I x%s',
                  c.relname, CASE WHEN c.relname = 'log' THEN ' WHERE x.error_sqlstate IS NULL' ELSE '' END),
           false, true, '')))[1]::text), E'\n' ORDER BY c.relname)
  FROM pg_class c WHERE c.relnamespace = 'migr'::regnamespace AND c.relkind IN ('r', 'p')
};

# The fingerprint of $db (and of the cluster's roles, and of the attack
# directory's files), read in one psql call.
sub fingerprint
{
	my ($db) = @_;
	my @keys = sort keys %fingerprint_sql;
	my $sql = join "\\echo '\@\@\@'\n", map { $fingerprint_sql{$_} . ";\n" } @keys;
	my @parts = split /^\@\@\@\n/m, $node->safe_psql($db, $sql) . "\n";
	die "fingerprint: expected " . scalar(@keys) . " parts, got " . scalar(@parts)
	  unless @parts == @keys;
	my %fp;
	@fp{@keys} = @parts;
	opendir(my $dh, $dir) or die "cannot read $dir: $!";
	$fp{files} = join "\n", sort grep { /^pwned/ } readdir $dh;
	closedir $dh;
	return \%fp;
}

# Assert that nothing of $before changed (each part its own check).
sub check_unchanged
{
	my ($db, $before, $label, %skip) = @_;
	local $TODO = $main::TODO;
	my $after = fingerprint($db);
	for my $k (sort keys %$before)
	{
		next if $skip{$k};
		is($after->{$k}, $before->{$k}, "$label: $k unchanged");
	}
	return $after;
}

# Assert that $res is a clean refusal: an ERROR with a SQLSTATE that is not
# an internal error, matching $want (a regex) when given.
sub refused
{
	my ($res, $label, $want) = @_;
	local $TODO = $main::TODO;
	my $state = $res->{state} // '';
	my $ok = $res->{rc} != 0 && $state ne '' && $state ne 'XX000'
	  && (!defined $want || $state =~ $want);
	ok($ok, "$label: refused" . (defined $want ? " ($want)" : '') . " [got " . ($state || 'no error') . "]")
	  or diag("stdout: $res->{out}\nstderr: $res->{err}");
	return $ok;
}

sub log_pos
{
	return -s $node->logfile;
}

# Assert that the server log written since $pos records the refusal with
# the session user $role, the database and the SQLSTATE.
sub check_log
{
	my ($pos, $role, $db, $state, $label) = @_;
	local $TODO = $main::TODO;
	my $log = slurp_file($node->logfile, $pos);
	$state //= '[0-9A-Z]{5}';
	ok($log =~ qr/user=\Q$role\E db=\Q$db\E state=$state (?:ERROR|FATAL):/,
		"$label: the server log names $role, $db and the SQLSTATE")
	  or diag(join "\n", grep { /ERROR|FATAL/ } split /\n/, $log);
}

# Give the roles their attributes back after an attack that got through.
# With a fingerprint taken after the attack, only when it shows a change.
sub reset_roles
{
	my ($fp) = @_;
	return if defined $fp && $fp->{files} eq ''
	  && $fp->{roles} !~ /^(?:app|deploy) super=t/m
	  && $fp->{roles} !~ /^(?:app|deploy) super=f createrole=t/m;
	$node->safe_psql('postgres', q{
ALTER ROLE app NOSUPERUSER NOCREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS;
ALTER ROLE deploy NOSUPERUSER NOCREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS;
});
	opendir(my $dh, $dir) or die "cannot read $dir: $!";
	unlink map { "$dir/$_" } grep { /^pwned/ } readdir $dh;
	closedir $dh;
}

1;
