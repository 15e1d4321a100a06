# test/t/009_graph_picture.pl
#
# bin/migr-graph against a real server, with Graphviz's own parser as the
# judge: a graph with branches, a merge, labels, depends_on edges, applied
# and pending revisions and messages written to break out of their labels
# is drawn as SVG and PNG; the SVG and `dot -Tcanon` hold exactly one node
# per revision and one edge per parent and dependency, each node's tooltip
# is its whole message, the filled nodes are the applied revisions.  The
# Mermaid text has one line per node and edge and nothing else.  A LATIN1
# database draws in UTF-8.  Bad options and a failing database write
# nothing.
#
# The tool comes from $MIGR_REPO (set by scripts/run-tests.sh), or from the
# checkout this file is in.

use strict;
use warnings;

use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $repo = $ENV{MIGR_REPO} // dirname(__FILE__) . '/../..';
my $tool = "$repo/bin/migr-graph";
ok(-x $tool, 'bin/migr-graph is there');

my $node = PostgreSQL::Test::Cluster->new('graph_picture');
$node->init;
$node->start;
my $dir = PostgreSQL::Test::Utils::tempdir();

# Run a command with the node's connection in the environment; returns
# (exit status, stdout, stderr).
sub run_tool
{
	my ($db, @cmd) = @_;
	local $ENV{PGHOST} = $node->host;
	local $ENV{PGPORT} = $node->port;
	local $ENV{PGDATABASE} = $db;
	my ($out, $err) = ('', '');
	IPC::Run::run(\@cmd, '<', \undef, '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

sub slurp
{
	my ($path) = @_;
	open(my $fh, '<:raw', $path) or die "cannot read $path: $!";
	local $/;
	my $content = <$fh>;
	close($fh);
	return $content;
}

# The text of an XML attribute value, entities decoded.
sub xml_text
{
	my ($s) = @_;
	$s =~ s/&#160;/ /g;    # dot writes a second space in a row so
	$s =~ s/&#(\d+);/chr($1)/ge;
	$s =~ s/&quot;/"/g;
	$s =~ s/&lt;/</g;
	$s =~ s/&gt;/>/g;
	$s =~ s/&apos;/'/g;
	$s =~ s/&amp;/&/g;
	return $s;
}

# ---------------------------------------------------------------------------
# The graph: r -> a1 (alpha) -> a2, r -> b1 (beta), merge m; c1 on m also
# depends on a1; a second root x1 with d1 depending on b1; then a chain of
# revisions whose messages try to add nodes, edges, attributes, HTML and
# Mermaid directives.  Applied: r, a1, a2, b1, m.
# ---------------------------------------------------------------------------
$node->safe_psql('postgres',
	q{CREATE DATABASE app TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'});
$node->safe_psql('app', q{CREATE EXTENSION migr});
$node->safe_psql('app', <<'SQL');
SELECT migr_revision('root', 'CREATE TABLE g_r (i int);', 'DROP TABLE g_r;', 'r', '{}');
SELECT migr_revision('alpha starts', 'CREATE TABLE g_a1 (i int);', 'DROP TABLE g_a1;', 'a1', '{r}', '{alpha}');
SELECT migr_revision('alpha goes on', 'CREATE TABLE g_a2 (i int);', 'DROP TABLE g_a2;', 'a2', '{a1}');
SELECT migr_revision('beta', 'CREATE TABLE g_b1 (i int);', 'DROP TABLE g_b1;', 'b1', '{r}', '{gamma,beta}');
SELECT migr_merge('{a2,b1}', 'merge alpha and beta', 'm');
SELECT migr_revision('after the merge', 'CREATE TABLE g_c1 (i int);', 'DROP TABLE g_c1;', 'c1', '{m}', NULL, '{a1}');
SELECT migr_revision('second root', 'CREATE TABLE g_x1 (i int);', 'DROP TABLE g_x1;', 'x1', '{}');
SELECT migr_revision('needs beta', 'CREATE TABLE g_d1 (i int);', 'DROP TABLE g_d1;', 'd1', '{x1}', NULL, '{b1}');
SELECT migr_revision(E'q", shape=star, color="red"]; "x" -> "r"; //', 'SELECT 1;', NULL, 'h1', '{c1}');
SELECT migr_revision(E'ends in a backslash \\', 'SELECT 1;', NULL, 'h2', '{h1}');
SELECT migr_revision(E'backslash quote \\" and \\\\N \\l \\G }', 'SELECT 1;', NULL, 'h3', '{h2}');
SELECT migr_revision(E'<b>bold</b> &amp; ]] }} %%{init: {"theme":"dark"}}%%\n"]; owned2\nend', 'SELECT 1;', NULL, 'h4', '{h3}');
SELECT migr_revision(E'#quot; #35; `code` ;\nrev_r --> rev_h5\n  click rev_r "javascript:alert(1)"', 'SELECT 1;', NULL, 'h5', '{h4}');
SELECT migr_revision(repeat('ü', 30) || repeat('x', 40), 'SELECT 1;', NULL, 'h6', '{h5}');
SELECT count(*) FROM migr_upgrade('m');
SQL

my @ids = split /\n/,
  $node->safe_psql('app', q{SELECT id FROM migr.revisions ORDER BY id});
my $edges = $node->safe_psql('app',
	q{SELECT sum(cardinality(down_revision) + cardinality(depends_on)) FROM migr.revisions});
my $applied = $node->safe_psql('app', q{SELECT count(*) FROM migr.applied});
is(scalar(@ids), 14, '14 revisions registered');
is($edges, 15, '15 edges: 13 parents and 2 dependencies');
is($applied, 5, '5 revisions applied');

# The message each tooltip should show: line breaks kept, other control
# characters as spaces.
my %message = map { split /\|/, $_, 2 } split /\x1e/,
  $node->safe_psql('app',
	q{SELECT string_agg(id || '|' || message, E'\x1e' ORDER BY id) FROM migr.revisions});

# ---------------------------------------------------------------------------
# SVG
# ---------------------------------------------------------------------------
my ($rc, $out, $err) = run_tool('app', $tool, '-o', "$dir/graph.svg");
is($rc, 0, 'migr-graph -o graph.svg succeeds') or diag($err);
is($err, '', 'and says nothing on stderr');
my $svg = slurp("$dir/graph.svg");
like($svg, qr/\A<\?xml[^>]*\?>\s*<!DOCTYPE svg.*<svg /s, 'graph.svg is an SVG document');

my @svg_nodes = $svg =~ /<g id="node\d+" class="node">\s*<title>([^<]*)<\/title>/g;
is_deeply([ sort @svg_nodes ], [ sort @ids ], 'SVG: one node per revision, no other');
my @svg_edges = $svg =~ /<g id="edge\d+" class="edge">/g;
is(scalar(@svg_edges), $edges, 'SVG: one edge per parent and dependency');

# Each node's tooltip and lines of text, decoded.
my (%tooltip, %text);
for my $chunk (split /<g id="node\d+" class="node">/, $svg)
{
	next unless $chunk =~ /\A\s*<title>(\w+)<\/title>\s*<g id="a_node\d+"><a xlink:title="([^"]*)">/;
	my $id = $1;
	$tooltip{$id} = xml_text($2);
	$chunk =~ s/<g id="edge.*//s;
	$text{$id} = join("\n", map { xml_text($_) } $chunk =~ /<text[^>]*>([^<]*)<\/text>/g);
}
my $tooltips_ok = 1;
for my $id (@ids)
{
	next if ($tooltip{$id} // '') eq $message{$id};
	diag("tooltip of $id: " . ($tooltip{$id} // '(none)') . " <> $message{$id}");
	$tooltips_ok = 0;
}
ok($tooltips_ok, 'SVG: each tooltip is the whole message, as written');
is($text{h1}, qq{h1\nq", shape=star, color="red"]; "x" -> "r"; //},
	'SVG: the hostile message is the text of its node');
is($text{h2}, "h2\nends in a backslash \\", 'SVG: a final backslash is shown');
is($text{h3}, qq~h3\nbackslash quote \\" and \\\\N \\l \\G }~,
	'SVG: backslash escapes are shown as written');
is($text{h4}, qq~h4\n<b>bold</b> &amp; ]] }} %%{init: {"theme":"dark"}}%%~,
	'SVG: markup is shown as written, first line only');
is($text{h6}, 'h6' . "\n" . ('ü' x 30) . ('x' x 30) . '...', 'SVG: a long message is cut, in UTF-8');
is($text{b1}, "b1 (beta, gamma)\nbeta", 'SVG: labels follow the id');

# Filled nodes: the applied ones.
my @fills = $svg =~ /<g id="node\d+" class="node">\s*<title>(\w+)<\/title>(?:(?!<g id="node).)*?fill="#b7e1b7"/gs;
is(join(',', sort @fills), 'a1,a2,b1,m,r', 'SVG: the applied revisions are filled');

# ---------------------------------------------------------------------------
# DOT through Graphviz's parser: dot -Tcanon, counted with gvpr
# ---------------------------------------------------------------------------
($rc, $out, $err) = run_tool('app', $tool, '-o', "$dir/graph.dot");
is($rc, 0, 'migr-graph -o graph.dot succeeds') or diag($err);
my $dot_text = slurp("$dir/graph.dot");
like($dot_text, qr/\A\/\/ migr revision graph.*[^\n]\n\}\n\z/s, 'graph.dot is the DOT text, ending with one line break');
my ($canon, $canon_err) = ('', '');
IPC::Run::run([ 'dot', '-Tcanon', "$dir/graph.dot" ], '>', \$canon, '2>', \$canon_err);
is($? >> 8, 0, 'dot -Tcanon parses it') or diag($canon_err);
is($canon_err, '', 'without a warning');
my ($counts, $names) = ('', '');
IPC::Run::run([ 'gvpr', 'BEG_G { printf("%d %d\n", nNodes($G), nEdges($G)); }' ],
	'<', \$canon, '>', \$counts);
is($counts, scalar(@ids) . " $edges\n", 'dot -Tcanon: as many nodes and edges as the catalog has');
IPC::Run::run([ 'gvpr', 'N { print(name); }' ], '<', \$canon, '>', \$names);
is_deeply([ sort split /\n/, $names ], [ sort @ids ], 'dot -Tcanon: the nodes are the revisions');
my ($dashed_edges) = ('');
IPC::Run::run([ 'gvpr', 'E [style == "dashed"] { print(tail.name, "->", head.name); }' ],
	'<', \$canon, '>', \$dashed_edges);
is(join(',', sort split /\n/, $dashed_edges), 'a1->c1,b1->d1',
	'dot -Tcanon: the dashed edges are the dependencies');
my ($heads) = ('');
IPC::Run::run([ 'gvpr', 'N [peripheries == "2"] { print(name); }' ], '<', \$canon, '>', \$heads);
is(join(',', sort split /\n/, $heads), 'd1,h6', 'dot -Tcanon: the heads have a double border');
my ($injected) = ('');
IPC::Run::run([ 'gvpr', 'N [shape == "star" || color == "red"] { print(name); }' ],
	'<', \$canon, '>', \$injected);
is($injected, '', 'dot -Tcanon: no message set an attribute');
my ($merges) = ('');
IPC::Run::run([ 'gvpr', 'N [shape == "hexagon"] { print(name); }' ], '<', \$canon, '>', \$merges);
is($merges, "m\n", 'dot -Tcanon: the merge is a hexagon');

# ---------------------------------------------------------------------------
# PNG, and SVG on stdout
# ---------------------------------------------------------------------------
($rc, $out, $err) = run_tool('app', $tool, '-o', "$dir/graph.png");
is($rc, 0, 'migr-graph -o graph.png succeeds') or diag($err);
my $png = slurp("$dir/graph.png");
is(substr($png, 0, 8), "\x89PNG\r\n\x1a\n", 'graph.png is a PNG');
my ($width, $height) = unpack('NN', substr($png, 16, 8));
ok(substr($png, 12, 4) eq 'IHDR' && $width > 100 && $height > 300,
	"graph.png has a picture's size (${width}x$height)");

($rc, $out, $err) = run_tool('postgres', $tool, '-d', 'app', '--format=dot', '-o', "$dir/order.png");
is($rc, 0, 'psql options may come before -o') or diag($err);
is(substr(slurp("$dir/order.png"), 0, 8), "\x89PNG\r\n\x1a\n", 'and -o still names the PNG');

($rc, $out, $err) = run_tool('app', $tool);
is($rc, 0, 'migr-graph without -o succeeds') or diag($err);
is($out, $svg, 'without -o the same SVG goes to stdout');

# ---------------------------------------------------------------------------
# Mermaid: one line per node and per edge, labels of safe characters only
# ---------------------------------------------------------------------------
($rc, $out, $err) = run_tool('app', $tool, '--format', 'mermaid');
is($rc, 0, 'migr-graph --format mermaid succeeds') or diag($err);
my (@m_nodes, @m_edges, @m_other);
for my $line (split /\n/, $out)
{
	if ($line =~ /^    rev_(\w+)(?:\["([^"]*)"\]|\{\{"([^"]*)"\}\})$/)
	{
		my ($id, $label) = ($1, $2 // $3);
		push @m_nodes, $id;
		push @m_other, $line if $label !~ /^(?:[A-Za-z0-9 .,:_\/()'+=!?@*-]|#\d+;|<br\/>|[^\x00-\x7f])*$/;
	}
	elsif ($line =~ /^    rev_\w+ (?:-->|-\.->) rev_\w+$/)
	{
		push @m_edges, $line;
	}
	elsif ($line !~ /^(?:flowchart TB|    %% .*|    classDef \w+ [\w:#,-]+|    class rev_\w+(?:,rev_\w+)* (?:applied|head)|)$/)
	{
		push @m_other, $line;
	}
}
is_deeply([ sort @m_nodes ], [ sort @ids ], 'Mermaid: one node per revision');
is(scalar(@m_edges), $edges, 'Mermaid: one edge per parent and dependency');
is_deeply(\@m_other, [], 'Mermaid: no other line, no unsafe character in a label');
like($out, qr/^    class rev_r,rev_a1,rev_a2,rev_b1,rev_m applied$/m, 'Mermaid: applied class');
like($out, qr/^    rev_m\{\{"m<br\/>merge alpha and beta"\}\}$/m, 'Mermaid: the merge is a hexagon');

# Mermaid's own parser, when it is installed (it is not a Debian package):
# MIGR_MERMAID_DIR names a directory where `npm install mermaid jsdom` ran.
SKIP:
{
	my $mdir = $ENV{MIGR_MERMAID_DIR};
	skip 'MIGR_MERMAID_DIR does not name a directory with node_modules/mermaid', 5
	  unless $mdir && -d "$mdir/node_modules/mermaid" && -d "$mdir/node_modules/jsdom";
	open(my $fh, '>', "$dir/graph.mmd") or die "cannot write $dir/graph.mmd: $!";
	print $fh $out;
	close($fh);
	my ($parsed, $perr) = ('', '');
	IPC::Run::run([ 'node', '--input-type=module', '-', "$dir/graph.mmd" ],
		'<', "$repo/test/tools/mermaid-check.mjs", '>', \$parsed, '2>', \$perr,
		init => sub { chdir($mdir) or die "cannot chdir to $mdir: $!" });
	is($? >> 8, 0, "Mermaid's parser reads it") or diag($perr);
	like($parsed, qr/^nodes ${\ scalar(@ids)}\nedges $edges\n/, "Mermaid's parser: as many nodes and edges as the catalog has");
	is_deeply([ sort($parsed =~ /^node rev_(\w+) /mg) ], [ sort @ids ], "Mermaid's parser: the nodes are the revisions");
	is(join(',', sort($parsed =~ /^edge rev_(\w+ rev_\w+) dotted$/mg)), 'a1 rev_c1,b1 rev_d1',
		"Mermaid's parser: the dotted edges are the dependencies");
	like($parsed, qr/^theme default$/m, "Mermaid's parser: no message changed the theme");
}

# ---------------------------------------------------------------------------
# A LATIN1 database: the picture is UTF-8 all the same.
# ---------------------------------------------------------------------------
$node->safe_psql('postgres',
	q{CREATE DATABASE latin TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'});
$node->safe_psql('latin', q{CREATE EXTENSION migr});
$node->safe_psql('latin',
	q{SET client_encoding = 'UTF8'; SELECT migr_revision('café crème', 'SELECT 1;', NULL, 'l1', '{}')});
($rc, $out, $err) = run_tool('latin', $tool, '-o', "$dir/latin.svg");
is($rc, 0, 'migr-graph on a LATIN1 database succeeds') or diag($err);
like(slurp("$dir/latin.svg"), qr/>caf\xc3\xa9 cr\xc3\xa8me<\/text>/, 'and writes its message in UTF-8');

# ---------------------------------------------------------------------------
# Errors: nothing written, an existing file left as it was.
# ---------------------------------------------------------------------------
($rc, $out, $err) = run_tool('app', $tool, '-o', "$dir/graph.pdf");
is($rc, 2, 'an unknown file type is a usage error');
like($err, qr/use \.svg, \.png or \.dot/, 'naming the types');
ok(!-e "$dir/graph.pdf", 'and writes nothing');
($rc, $out, $err) = run_tool('app', $tool, '--format', 'mermaid', '-o', "$dir/mermaid.png");
is($rc, 2, 'Mermaid text into a picture file is a usage error');
like($err, qr/Graphviz cannot draw Mermaid text/, 'saying why');
ok(!-e "$dir/mermaid.png", 'and writes nothing');
($rc, $out, $err) = run_tool('app', $tool, '--format', 'svg');
is($rc, 2, 'an unknown format is a usage error');
like($err, qr/use dot or mermaid/, 'naming the formats');
$node->safe_psql('postgres', q{CREATE DATABASE bare});
($rc, $out, $err) = run_tool('bare', $tool, '-o', "$dir/graph.svg");
isnt($rc, 0, 'a database without migr fails');
like($err, qr/migr_graph/, 'with the server error');
is(slurp("$dir/graph.svg"), $svg, 'the existing picture is left as it was');
($rc, $out, $err) = run_tool('nosuchdb', $tool, '-o', "$dir/other.png");
isnt($rc, 0, 'a failing connection fails');
ok(!-e "$dir/other.png", 'and writes nothing');

done_testing();
