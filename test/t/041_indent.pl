# test/t/041_indent.pl
#
# src/ stays indented as pgindent would leave it: `scripts/indent.sh --check`
# (pg_bsd_indent with pgindent's options and typedefs.list) passes on the
# tree.  On a copy with one line indented by hand the wrong way, and on a
# copy whose typedefs.list lacks a type that src/ defines, it fails and
# names the file or the type.

use strict;
use warnings;

use File::Basename qw(dirname);
use File::Copy qw(copy);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use Test::More;

my $repo = $ENV{MIGR_REPO} // dirname(__FILE__) . '/../..';
my $indent = "$repo/scripts/indent.sh";

# Run the check on top directory $dir: (exit status, output).
sub check_indent
{
	my ($dir) = @_;
	my $out = `bash '$indent' --check '$dir' 2>&1`;
	return ($? >> 8, $out);
}

my ($rc, $out) = check_indent($repo);
is($rc, 0, 'src/ is indented') or diag($out);

# A copy of the tree's src/ and typedefs.list, with $edit applied.
sub copy_with
{
	my ($edit) = @_;
	my $dir = tempdir(CLEANUP => 1);
	make_path("$dir/src");
	copy($_, "$dir/src") or die "copy $_: $!" for (glob("$repo/src/*.c"), glob("$repo/src/*.h"));
	copy("$repo/typedefs.list", $dir) or die "copy typedefs.list: $!";
	$edit->($dir);
	return $dir;
}

# Rewrite file $path with $fn applied to its text.
sub rewrite
{
	my ($path, $fn) = @_;
	open(my $in, '<', $path) or die "$path: $!";
	local $/;
	my $text = <$in>;
	close($in);
	$text = $fn->($text);
	open(my $o, '>', $path) or die "$path: $!";
	print $o $text;
	close($o);
	return;
}

my $dir = copy_with(sub {
	rewrite("$_[0]/src/lock.c", sub { my $t = shift; $t =~ s/^\}\n/  }\n/m or die 'no closing brace'; $t });
});
($rc, $out) = check_indent($dir);
is($rc, 1, 'a brace indented by hand fails the check');
like($out, qr{not indented.*src/lock\.c}, 'and names the file');

$dir = copy_with(sub {
	rewrite("$_[0]/typedefs.list", sub { my $t = shift; $t =~ s/^MigrGraph\n//m or die 'no MigrGraph'; $t });
});
($rc, $out) = check_indent($dir);
is($rc, 1, 'a type of src/ missing from typedefs.list fails the check');
like($out, qr{typedefs\.list lacks types defined in src/: .*MigrGraph}, 'and names the type');

done_testing();
