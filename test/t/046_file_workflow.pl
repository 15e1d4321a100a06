# test/t/046_file_workflow.pl
#
# The file workflow for teams (issue 14), through the shell tools on a real
# server:
# - bin/migr-load reads a directory with a fixed number of processes and
#   registers exactly what the files hold, whatever their names and contents
#   (quotes, backslashes, psql variables and meta-commands, a name with
#   "$(...)"); 300 files load in one call;
# - a warning printed for a file (lint, the destructive mix) appears when the
#   file is new or changed, not when it is loaded again unchanged;
# - a file deleted from the directory is reported (applied or not), and in
#   production the load is refused, storing nothing, unless confirmed;
# - hints of refused files name the header line to write;
# - bin/migr-new works without a server when the directory is complete
#   (writing what migr_template() writes), with --parent, --merge, --id and
#   --branch-label, and asks the database otherwise.

use strict;
use warnings;

use File::Basename qw(dirname);
use File::Path qw(make_path);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $repo = $ENV{MIGR_REPO} // dirname(__FILE__) . '/../..';
my $bin = "$repo/bin";

my $node = PostgreSQL::Test::Cluster->new('file_workflow');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE w');
$node->safe_psql('w', 'CREATE EXTENSION migr');

my $tmp = PostgreSQL::Test::Utils::tempdir();

# Run a tool with the node's connection (or, with no_server, a connection
# that cannot work); returns (exit status, stdout, stderr).
sub run_tool
{
	my ($cmd, %opt) = @_;
	local $ENV{PGHOST} = $opt{no_server} ? "$tmp/nowhere" : $node->host;
	local $ENV{PGPORT} = $node->port;
	local $ENV{PGDATABASE} = $opt{db} // 'w';
	local $ENV{PGOPTIONS} = $opt{pgoptions};
	my ($out, $err) = ('', '');
	IPC::Run::run($cmd, '<', \undef, '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

sub write_file
{
	my ($path, $content) = @_;
	open(my $fh, '>', $path) or die "cannot write $path: $!";
	print $fh $content;
	close($fh);
	return;
}

sub slurp
{
	my ($path) = @_;
	open(my $fh, '<', $path) or die "cannot read $path: $!";
	local $/;
	my $content = <$fh>;
	close($fh);
	return $content;
}

sub migration
{
	my ($id, $parents, $upgrade, %extra) = @_;
	my $header = $extra{header} // '';
	my $down = exists $extra{down} ? $extra{down} : 'SELECT 1;';
	return "-- migr:revision $id\n-- migr:down_revision $parents\n-- migr:message make $id\n"
	  . $header . "\n-- migr:upgrade\n$upgrade\n"
	  . (defined $down ? "-- migr:downgrade\n$down\n" : '');
}

# ---------------------------------------------------------------------------
# migr-load: exactly what the files hold, whatever names and contents
# ---------------------------------------------------------------------------
my $dir = "$tmp/mig rations";
make_path($dir);
# Quotes, backslashes, psql variables and meta-commands inside literals and
# a dollar quote: psql must never see them.
my $hostile_up = "CREATE TABLE h1 (s text);\n"
  . "INSERT INTO h1 VALUES (E'it''s :USER :''x'' \\\\! echo pwned\\\\n');\n"
  . "SELECT '\\! echo pwned' AS \":USER\", \$\$ :'x' \\quit \$\$;";
write_file("$dir/h1_it's \$(touch pwned) \\ x.sql", migration('h1', '', $hostile_up));
write_file("$dir/h2.sql", migration('h2', 'h1', "CREATE TABLE h2 (i int);\r\n", down => "DROP TABLE h2;\r\n"));
write_file("$dir/h3.sql", "-- migr:revision h3\n-- migr:down_revision h2\n-- migr:message été ✓\n\n-- migr:upgrade\nCREATE TABLE h3 (s text DEFAULT 'ü');");

my ($rc, $out, $err) = run_tool([ "$bin/migr-load", $dir ]);
is($rc, 0, 'migr-load exits 0') or diag($err);
like($out, qr/h1_it's \$\(touch pwned\) \\ x\.sql \| h1\s+\| registered/, 'the hostile name is listed');
ok(!-e "$dir/pwned" && !-e 'pwned', 'nothing ran from the file name');
my %files = (h1 => "$dir/h1_it's \$(touch pwned) \\ x.sql", h2 => "$dir/h2.sql", h3 => "$dir/h3.sql");
for my $id (sort keys %files)
{
	my $content = slurp($files{$id});
	$content .= "\n" unless $content =~ /\n\z/;
	my $up = $node->safe_psql('w', "SELECT upgrade FROM migr_show('$id')");
	my ($want) = $content =~ /^-- migr:upgrade\n(.*?)\n?(?:-- migr:downgrade\n|\z)/ms;
	is($up . "\n", ($want // '') . "\n", "$id: the upgrade script is the file's, byte for byte");
}
is($node->safe_psql('w', "SELECT message FROM migr_show('h3')"), 'été ✓', 'h3: a UTF-8 message arrives as it is');

($rc, $out, $err) = run_tool([ "$bin/migr-load", $dir ]);
is($rc, 0, 'migr-load again exits 0');
is(scalar(() = $out =~ /\| unchanged/g), 3, 'again: all three unchanged');

# 300 files in one call.
my $many = "$tmp/many";
make_path($many);
for my $i (1 .. 300)
{
	my $parent = $i > 1 ? sprintf('m%03d', $i - 1) : '';
	write_file(sprintf("$many/m%03d_step.sql", $i),
		migration(sprintf('m%03d', $i), $parent, "CREATE TABLE m$i (i int);", down => "DROP TABLE m$i;"));
}
$node->safe_psql('postgres', 'CREATE DATABASE many');
$node->safe_psql('many', 'CREATE EXTENSION migr');
($rc, $out, $err) = run_tool([ "$bin/migr-load", $many ], db => 'many');
is($rc, 0, '300 files: migr-load exits 0') or diag($err);
is(scalar(() = $out =~ /\| registered/g), 300, '300 files registered');
is($node->safe_psql('many', q{SELECT string_agg(revision, ',') FROM migr_heads()}), 'm300',
	'300 files: the chain has its head');

# ---------------------------------------------------------------------------
# Warnings only for new or changed files
# ---------------------------------------------------------------------------
$node->safe_psql('w', 'CREATE TABLE old_t (a int, b int)');
my $mixed = migration('w1', 'h3', "ALTER TABLE old_t DROP COLUMN b;\nCREATE TABLE w1 (i int);\nCREATE INDEX ON old_t (a);",
	down => undef);
write_file("$dir/w1.sql", $mixed);
($rc, $out, $err) = run_tool([ "$bin/migr-load", $dir ]);
is($rc, 0, 'a mixed file loads') or diag($err);
like($err, qr/WARNING:  revision "w1" mixes destructive and additive changes/, 'new file: the mix warning');
like($err, qr/HINT:  Move the destructive statements to a file of their own/, 'the hint speaks of files');
like($err, qr/WARNING:  CREATE INDEX on old_t blocks writes/, 'new file: the lint warning');
($rc, $out, $err) = run_tool([ "$bin/migr-load", $dir ]);
is($rc, 0, 'loaded again');
unlike($err, qr/WARNING/, 'unchanged: no warning at all');
write_file("$dir/w1.sql", $mixed =~ s/CREATE TABLE w1/CREATE TABLE w1b/r);
($rc, $out, $err) = run_tool([ "$bin/migr-load", $dir ]);
like($out, qr/w1\.sql\s+\| w1\s+\| updated/, 'changed file: updated');
like($err, qr/mixes destructive and additive changes/, 'changed file: the warning again');
write_file("$dir/w1.sql", $mixed =~ s/CREATE TABLE w1/CREATE TABLE w1b/r =~ s/(-- migr:message [^\n]*\n)/$1-- migr:destructive true\n/r);
($rc, $out, $err) = run_tool([ "$bin/migr-load", $dir ]);
like($out, qr/w1\.sql\s+\| w1\s+\| updated/, 'acknowledged: updated');
unlike($err, qr/WARNING/, 'only the header changed: no warning');

# ---------------------------------------------------------------------------
# Hints for files
# ---------------------------------------------------------------------------
write_file("$dir/w2.sql",
	migration('w2', 'w1', 'ALTER TABLE old_t DROP COLUMN a;', header => "-- migr:destructive false\n"));
($rc, $out, $err) = run_tool([ "$bin/migr-load", $dir ]);
isnt($rc, 0, 'declared additive but destructive: refused');
like($err, qr/HINT:  Move them to a file of their own, or acknowledge them with the header line "-- migr:destructive true"/,
	'the hint names the header line');
unlike($err, qr/destructive =>/, 'not the migr_revision argument');
my ($prc, $pout, $perr) = ('', '', '');
$node->psql('w', q{SELECT migr_revision('m', 'ALTER TABLE old_t DROP COLUMN a;', NULL, 'x9', '{w1}', destructive => false)},
	stderr => \$perr);
like($perr, qr/register it with destructive => true/, 'migr_revision keeps its own hint');
write_file("$dir/w2.sql", migration('w2', 'w1', '-- nothing yet'));
($rc, $out, $err) = run_tool([ "$bin/migr-load", $dir ]);
like($err, qr/HINT:  Write the statements under "-- migr:upgrade"/, 'an empty upgrade: the hint speaks of the section');
write_file("$dir/w2.sql", migration('w2', 'w1', 'CREATE INDEX CONCURRENTLY ON old_t (a);', header => "-- migr:transactional true\n"));
($rc, $out, $err) = run_tool([ "$bin/migr-load", $dir ]);
like($err, qr/HINT:  Remove the header line "-- migr:transactional true"/, 'transactional true: the hint names the line');
unlink "$dir/w2.sql";

# ---------------------------------------------------------------------------
# Deleted files
# ---------------------------------------------------------------------------
$node->safe_psql('w', q{SELECT count(*) FROM migr_upgrade('h3')});
my $h2 = slurp("$dir/h2.sql");
unlink "$dir/h2.sql";
($rc, $out, $err) = run_tool([ "$bin/migr-load", $dir ]);
is($rc, 0, 'development: a deleted file of an applied revision is reported, not refused') or diag($err);
like($out, qr/^\s*\|\s*h2\s+\| missing, applied\s*$/m, 'the row says missing, applied');
like($err, qr/WARNING:  revision "h2" is applied, but no file of the directory describes it/, 'with a warning');
unlink "$dir/w1.sql";
($rc, $out, $err) = run_tool([ "$bin/migr-load", $dir ]);
like($out, qr/^\s*\|\s*w1\s+\| missing, not applied\s*$/m, 'a deleted file of a pending revision: missing, not applied');
write_file("$dir/w1.sql", $mixed =~ s/CREATE TABLE w1/CREATE TABLE w1b/r =~ s/(-- migr:message [^\n]*\n)/$1-- migr:destructive true\n/r);

$node->safe_psql('w', q{ALTER DATABASE w SET migr.environment = 'production'});
write_file("$dir/w3.sql", migration('w3', 'w1', 'CREATE TABLE w3 (i int);'));
my $log = $node->safe_psql('w', 'SELECT count(*) FROM migr.log');
($rc, $out, $err) = run_tool([ "$bin/migr-load", $dir ], pgoptions => '-c migr.confirm_production=yes');
is($rc, 0, 'production, confirmed: the new file loads') or diag($err);
my $w3 = slurp("$dir/w3.sql");
unlink "$dir/w3.sql";
$log = $node->safe_psql('w', 'SELECT count(*) FROM migr.log');
my $revisions = $node->safe_psql('w', 'SELECT string_agg(id || checksum, \',\' ORDER BY id) FROM migr.revisions');
($rc, $out, $err) = run_tool([ "$bin/migr-load", $dir ]);
isnt($rc, 0, 'production: a deleted file of an applied revision is refused');
like($err, qr/ERROR:  loading a directory without the file of an applied revision in production needs confirmation/,
	'MG001 says why');
is($node->safe_psql('w', 'SELECT string_agg(id || checksum, \',\' ORDER BY id) FROM migr.revisions'), $revisions,
	'nothing stored');
is($node->safe_psql('w', 'SELECT count(*) FROM migr.log'), $log, 'nothing logged');
write_file("$dir/w4.sql", migration('w4', 'w1', 'CREATE TABLE w4 (i int);'));
($rc, $out, $err) = run_tool([ "$bin/migr-load", $dir ], pgoptions => '-c migr.confirm_production=yes');
is($rc, 0, 'production, confirmed: loads, reporting the missing files') or diag($err);
like($out, qr/w4\.sql\s+\| w4\s+\| registered/, 'confirmed: the new file is registered');
like($out, qr/\|\s*h2\s+\| missing, applied/, 'confirmed: the missing file is still reported');
write_file("$dir/h2.sql", $h2);
write_file("$dir/w3.sql", $w3);
($rc, $out, $err) = run_tool([ "$bin/migr-load", $dir ]);
is($rc, 0, 'production: with the files back, nothing to confirm') or diag($err);
unlike($out, qr/missing/, 'nothing missing');
$node->safe_psql('w', q{ALTER DATABASE w RESET migr.environment});

# ---------------------------------------------------------------------------
# migr-new: offline when the directory is complete
# ---------------------------------------------------------------------------
my $nd = "$tmp/new";
make_path($nd);
write_file("$nd/0001_a.sql", migration('0001_a', '', 'CREATE TABLE n1 (i int);'));
write_file("$nd/0002_b.sql", migration('0002_b', '0001_a', 'CREATE TABLE n2 (i int);'));
($rc, $out, $err) = run_tool([ "$bin/migr-new", '--id', 'c3', $nd, 'Add the C table!' ], no_server => 1);
is($rc, 0, 'migr-new without a server, on a complete directory') or diag($err);
chomp $out;
is($out, "$nd/c3_add_the_c_table.sql", 'the file name: id and message words');
my $offline = slurp($out);
$node->safe_psql('postgres', 'CREATE DATABASE tpl');
$node->safe_psql('tpl', 'CREATE EXTENSION migr');
$node->safe_psql('tpl', q{SELECT migr_revision('a', 'SELECT 1;', NULL, '0002_b', '{}')});
my $template = $node->safe_psql('tpl', q{SELECT content || 'x' FROM migr_template('Add the C table!', 'c3')});
$template =~ s/x\z//;
is($offline, $template, 'offline, the file is byte for byte what migr_template() writes');
unlink $out;

($rc, $out, $err) = run_tool([ "$bin/migr-new", '--branch-label', 'cbranch', '--parent', '0001', $nd, 'side' ], no_server => 1);
is($rc, 0, '--parent by prefix and --branch-label, offline') or diag($err);
chomp(my $side = $out);
like(slurp($side), qr/\A-- migr:revision ([0-9a-f]{12})\n-- migr:down_revision 0001_a\n-- migr:message side\n-- migr:branch_labels cbranch\n\n/,
	'parent resolved, label written');
($rc, $out, $err) = run_tool([ "$bin/migr-new", $nd, 'next' ], no_server => 1);
isnt($rc, 0, 'two heads: no default parent');
like($err, qr/the files have 2 heads .*--parent.*--merge/, 'the message says what to do');
($rc, $out, $err) = run_tool([ "$bin/migr-new", '--merge', $nd ], no_server => 1);
is($rc, 0, '--merge offline') or diag($err);
chomp(my $merge = $out);
my ($side_id) = slurp($side) =~ /^-- migr:revision (\w+)/;
like(slurp($merge), qr/\A-- migr:revision (\w+)\n-- migr:down_revision 0002_b $side_id\n-- migr:message merge\n\n-- migr:upgrade\n\n-- migr:downgrade\n\n\z/,
	'the merge names both heads and has empty sections');
($rc, $out, $err) = run_tool([ "$bin/migr-new", '--branch-label', 'cbranch', $nd, 'again' ], no_server => 1);
like($err, qr/branch label "cbranch" is taken/, 'a taken label is refused offline');
($rc, $out, $err) = run_tool([ "$bin/migr-new", '--id', '0002_b', $nd, 'again' ], no_server => 1);
like($err, qr/revision "0002_b" exists already/, 'a taken id is refused offline');

# The files load: the side file once it has a statement, the merge as it is.
my $side_text = slurp($side);
$side_text =~ s/-- Write the upgrade here[^\n]*\n/CREATE TABLE n_side (i int);\n/;
write_file($side, $side_text);
$node->safe_psql('postgres', 'CREATE DATABASE nw');
$node->safe_psql('nw', 'CREATE EXTENSION migr');
($rc, $out, $err) = run_tool([ "$bin/migr-load", $nd ], db => 'nw');
is($rc, 0, 'the written files load') or diag($err);
is($node->safe_psql('nw', q{SELECT string_agg(revision, ',') FROM migr_heads()}), (slurp($merge) =~ /^-- migr:revision (\w+)/)[0],
	'the merge is the single head');
is($node->safe_psql('nw', q{SELECT string_agg(label, ',') FROM migr.branch_labels}), 'cbranch', 'the label is registered');

# ---------------------------------------------------------------------------
# migr-new: an incomplete directory asks the database
# ---------------------------------------------------------------------------
my $inc = "$tmp/incomplete";
make_path($inc);
$node->safe_psql('postgres', 'CREATE DATABASE inc');
$node->safe_psql('inc', 'CREATE EXTENSION migr');
$node->safe_psql('inc', q{SELECT migr_revision('old', 'CREATE TABLE o (i int);', NULL, 'old1', '{}')});
write_file("$inc/p2.sql", migration('p2', 'old1', 'CREATE TABLE p2 (i int);'));
($rc, $out, $err) = run_tool([ "$bin/migr-new", '--offline', $inc, 'next' ], no_server => 1);
isnt($rc, 0, '--offline on an incomplete directory fails');
like($err, qr/not complete: no file for old1/, 'naming the missing revision');
($rc, $out, $err) = run_tool([ "$bin/migr-new", $inc, 'next' ], no_server => 1);
isnt($rc, 0, 'without --offline it needs the server');
my $before = $node->safe_psql('inc', 'SELECT count(*) FROM migr.revisions');
($rc, $out, $err) = run_tool([ "$bin/migr-new", $inc, 'next' ], db => 'inc');
is($rc, 0, 'with the server it works') or diag($err);
chomp $out;
like(slurp($out), qr/^-- migr:down_revision p2$/m, 'on the head of the files and the database');
is($node->safe_psql('inc', 'SELECT count(*) FROM migr.revisions'), $before, 'the database is left as it was');
unlink $out;
($rc, $out, $err) = run_tool([ "$bin/migr-new", '--merge', $inc ], db => 'inc');
isnt($rc, 0, 'online --merge with one head fails');
like($err, qr/nothing to merge/, 'saying so');
my $message = q{it's a \\ "quoted" :USER `id` $(id) message};
($rc, $out, $err) = run_tool([ "$bin/migr-new", '--id', 'q1', '--branch-label', 'qlabel', $inc, $message ], db => 'inc');
is($rc, 0, 'online, with --id, --branch-label and a message full of quotes') or diag($err);
chomp $out;
like(slurp($out), qr/\A-- migr:revision q1\n-- migr:down_revision p2\n-- migr:message \Q$message\E\n-- migr:branch_labels qlabel\n/,
	'the message arrives exactly');
unlink $out;
($rc, $out, $err) = run_tool([ "$bin/migr-new", '--branch-label', 'old1', $inc, 'x' ], db => 'inc');
like($err, qr/branch label\(s\) already taken in the database: old1/, 'online: a label that is a revision id is refused');
$node->safe_psql('inc', q{SELECT migr_revision('other', 'CREATE TABLE o2 (i int);', NULL, 'old2', '{}')});
($rc, $out, $err) = run_tool([ "$bin/migr-new", $inc, 'x' ], db => 'inc');
like($err, qr/the files and the database have 2 heads \(old2 p2\): name the parent with --parent, or write a merge with --merge/,
	'online: two heads, said in migr-new\'s terms');
($rc, $out, $err) = run_tool([ "$bin/migr-new", '--merge', $inc ], db => 'inc');
is($rc, 0, 'online --merge') or diag($err);
chomp $out;
like(slurp($out), qr/^-- migr:down_revision old2 p2$/m, 'joins the heads of files and database, in registration order');
unlink $out;

my $empty = "$tmp/empty";
make_path($empty);
($rc, $out, $err) = run_tool([ "$bin/migr-new", '--offline', $empty, 'first' ], no_server => 1);
is($rc, 0, '--offline on an empty directory: a new root') or diag($err);
chomp $out;
like(slurp($out), qr/\A-- migr:revision [0-9a-f]{12}\n-- migr:down_revision\n/, 'with no parent');

$node->stop;
done_testing();
