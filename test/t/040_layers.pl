# test/t/040_layers.pl
#
# The files of src/ call each other only down the layers that README's
# "Source layout" and src/migr.h describe: scripts/check-layers.sh reads the
# call graph with cscope and ctags and passes on the tree as it is.  To show
# that the check can fail, it is run again on copies of src/ with one call
# added that goes up (the DDL guard's state asking an entry point), one
# that goes sideways between two entry-point files, and a file that is in
# no layer: each is reported, naming the call or the file.  The same script
# checks that only catalog.c speaks SQL to migr's tables: a statement on one
# of them planted in another file (split over adjacent literals, or a
# sequence read with nextval) fails the check, while a message that names a
# table does not.

use strict;
use warnings;

use File::Basename qw(dirname);
use File::Copy qw(copy);
use File::Temp qw(tempdir);
use Test::More;

my $repo = $ENV{MIGR_REPO} // dirname(__FILE__) . '/../..';
my $check = "$repo/scripts/check-layers.sh";
ok(-f $check, 'scripts/check-layers.sh is there');

# Run the check on directory $dir: (exit status, output).
sub check_layers
{
	my ($dir) = @_;
	my $out = `bash '$check' '$dir' 2>&1`;
	return ($? >> 8, $out);
}

my ($rc, $out) = check_layers("$repo/src");
is($rc, 0, 'the tree passes the layer check') or diag($out);
like($out, qr/every call in .* goes down the layers, and only catalog\.c speaks SQL to migr's tables/,
	'and says so');

# A copy of src/ with $append added to the end of file $file.
sub mutated
{
	my ($file, $append) = @_;
	my $dir = tempdir(CLEANUP => 1);
	for my $f (glob("$repo/src/*.c"), glob("$repo/src/*.h"))
	{
		copy($f, $dir) or die "copy $f: $!";
	}
	open(my $fh, '>>', "$dir/$file") or die "open $dir/$file: $!";
	print $fh $append;
	close($fh);
	return $dir;
}

# Up: state.c (layer 0) calls migr_script (offline.c, layer 5).
($rc, $out) = check_layers(mutated('state.c',
	"\nvoid migr_layer_probe(void);\nvoid\nmigr_layer_probe(void)\n{\n\t(void) migr_script(NULL);\n}\n"));
is($rc, 1, 'a call from layer 0 to an entry point fails the check');
like($out, qr{src/state\.c: migr_layer_probe\(\) calls migr_script\(\) of src/offline\.c},
	'and names the call');

# Sideways in the top layer: guard.c calls migr_status (status.c).
($rc, $out) = check_layers(mutated('guard.c',
	"\nvoid migr_layer_probe(void);\nvoid\nmigr_layer_probe(void)\n{\n\t(void) migr_status(NULL);\n}\n"));
is($rc, 1, 'a call between two entry-point files fails the check');
like($out, qr{src/guard\.c: migr_layer_probe\(\) calls migr_status\(\) of src/status\.c},
	'and names the call');

# A file in no layer.
my $dir = mutated('migr.c', '');
open(my $fh, '>', "$dir/newfile.c") or die;
print $fh "#include \"migr.h\"\n";
close($fh);
($rc, $out) = check_layers($dir);
is($rc, 1, 'a file in no layer fails the check');
like($out, qr{src/newfile\.c is not in the layer list}, 'and names the file');

# SQL on a migr table outside catalog.c, split over two literals.
($rc, $out) = check_layers(mutated('integrity.c',
	"\nstatic const char *const migr_layer_probe =\n\t\"SELECT launched_at\"\n\t\"  FROM migr.launch\";\n"));
is($rc, 1, 'a statement on migr.launch in integrity.c fails the check');
like($out, qr{src/integrity\.c:\d+: SQL on migr\.launch outside catalog\.c: "SELECT launched_at FROM migr\.launch"},
	'and names the file, the line and the statement');

# A sequence of schema migr, in a file of layer 4.
($rc, $out) = check_layers(mutated('apply.c',
	"\nstatic const char *const migr_layer_probe = \"SELECT nextval('migr.run_seq')\";\n"));
is($rc, 1, 'nextval of migr.run_seq in apply.c fails the check');
like($out, qr{src/apply\.c:\d+: SQL on migr\.run_seq outside catalog\.c}, 'and names it');

# Messages that name a table, and SQL in comments, are not statements.
($rc, $out) = check_layers(mutated('status.c',
	"\n/* SELECT 1 FROM migr.log */\nstatic const char *const migr_layer_probe =\n\t\"the step stays recorded in migr.in_progress\";\n"));
is($rc, 0, 'a message naming migr.in_progress and a comment with SQL pass') or diag($out);

# The same statement in catalog.c is where it belongs.
($rc, $out) = check_layers(mutated('catalog.c',
	"\nstatic const char *const migr_layer_probe = \"SELECT launched_at FROM migr.launch\";\n"));
is($rc, 0, 'a statement on migr.launch in catalog.c passes') or diag($out);

done_testing();
