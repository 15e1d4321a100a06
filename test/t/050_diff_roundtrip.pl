# test/t/050_diff_roundtrip.pl
#
# The round trip of migr_diff(), the property that matters: for a pair of
# schemas (A, B), in a database built from A (with rows in every table),
# run the upgrade column of migr_diff(B) top to bottom in one transaction;
# the schema (pg_dump --schema-only, normalised) must then equal that of a
# database built from B directly.  Then run the downgrade column bottom to
# top in one transaction: the schema must equal A's again.  Rows survive:
# every table that no row drops keeps its rows (count and ids) through the
# upgrade and the downgrade.
#
# Schemas are made of independent features, each with a few variants (an
# enum with values added, a column's type, default, NOT NULL, collation,
# constraints, indexes, views, functions, triggers, policies, comments,
# sequences, partitions, domains, composite types, an extension, ...):
#   - every feature: from the base variant to each other one and back;
#   - random pairs of feature vectors, from a fixed seed;
#   - the history of examples/migrations: the schema after revision i to
#     the one after revision i+1 (B given as pg_dump's own output).
# Normalisation of pg_dump's output: comments, SET lines and blank lines
# dropped, trailing commas removed, lines sorted (column order and object
# order are not compared).
#
# Short run in make test (every feature at once, 8 random pairs, the
# history); a long run, each feature alone and 500 random pairs:
#     MIGR_ONLY=050_diff MIGR_DIFF_EACH=1 MIGR_DIFF_PAIRS=500 MIGR_DIFF_SEED=7 make test
# A failure names the pair (features of A and B) and shows both dumps' diff.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $pairs = $ENV{MIGR_DIFF_PAIRS} // 8;
my $seed = $ENV{MIGR_DIFF_SEED} // 20261129;
diag("migr_diff round trip: seed $seed, $pairs random pairs");
srand($seed);

my $node = PostgreSQL::Test::Cluster->new('diff_roundtrip');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE tmpl');
$node->safe_psql('tmpl', 'CREATE EXTENSION migr');

# ---------------------------------------------------------------------------
# The features: name => [variant 0 (base), variant 1, ...]; a variant is a
# hash of SQL fragments (keys below) that schema_sql() puts in place.
# ---------------------------------------------------------------------------
my @features = (
	[ enum_meh => [ {}, { mood_mid => ", 'meh'" } ] ],
	[ enum_happy => [ {}, { mood_end => ", 'happy'" }, { mood_end => ", 'happy', 'glad'" } ] ],
	[ email_len => [ { email => 'varchar(100)' }, { email => 'varchar(200)' }, { email => 'text' } ] ],
	[ nick => [ {}, { users_cols => ', nick text' } ] ],
	[ age_default => [ { age => 'DEFAULT 0' }, { age => 'DEFAULT 18' } ] ],
	[ age_notnull => [ {}, { age_nn => ' NOT NULL' } ] ],
	[ created => [ {}, { users_cols2 => ', created timestamptz NOT NULL DEFAULT now()' } ] ],
	[ total_type => [ { total => 'numeric(10,2)' }, { total => 'numeric(12,2)' }, { total => 'bigint' } ] ],
	[ total_check => [ {}, { orders_cons => ', CONSTRAINT orders_total_check CHECK (total >= 0)' } ] ],
	[ orders_fk => [ {}, { orders_fk => ' REFERENCES users (id)' }, { orders_fk => ' REFERENCES users (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED' } ] ],
	[ orders_index => [ {}, { after => "CREATE INDEX orders_user ON orders (user_id);\n" },
		{ after => "CREATE INDEX orders_user ON orders (user_id, id) INCLUDE (total) WHERE total > 0;\n" },
		{ after => "CREATE UNIQUE INDEX orders_user ON orders USING btree ((id * 2));\n" } ] ],
	[ email_unique => [ {}, { after => "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);\n" } ] ],
	[ view => [ {}, { view => "CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 100;\n" },
		{ view => "CREATE VIEW big_orders AS SELECT id, total, user_id FROM orders WHERE total > 1000;\n" } ] ],
	[ matview => [ {}, { after => "CREATE MATERIALIZED VIEW order_totals AS SELECT user_id, sum(total) AS s FROM orders GROUP BY user_id;\nCREATE INDEX order_totals_user ON order_totals (user_id);\n" } ] ],
	[ function => [ {}, { after => "CREATE FUNCTION add_one(x integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT x + 1';\n" },
		{ after => "CREATE FUNCTION add_one(x integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT x + 2';\n" },
		{ after => "CREATE FUNCTION add_one(x integer) RETURNS bigint LANGUAGE sql IMMUTABLE AS 'SELECT x + 1';\n" } ] ],
	[ procedure => [ {}, { after => "CREATE PROCEDURE reset_ages() LANGUAGE sql AS 'UPDATE users SET age = 0';\n" } ] ],
	[ trigger => [ {}, { after => "CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();\n" },
		{ after => "CREATE TRIGGER users_touch BEFORE INSERT OR UPDATE ON users FOR EACH ROW WHEN (NEW.age > 0) EXECUTE FUNCTION touch();\n" } ] ],
	[ policy => [ {}, { after => "ALTER TABLE orders ENABLE ROW LEVEL SECURITY;\nCREATE POLICY own_orders ON orders USING (user_id > 0);\n" },
		{ after => "ALTER TABLE orders ENABLE ROW LEVEL SECURITY;\nALTER TABLE orders FORCE ROW LEVEL SECURITY;\nCREATE POLICY own_orders ON orders FOR SELECT TO PUBLIC USING (user_id > 1) ;\n" } ] ],
	[ comment => [ {}, { after => "COMMENT ON TABLE users IS 'the people';\nCOMMENT ON COLUMN users.email IS 'where to write';\n" },
		{ after => "COMMENT ON TABLE users IS 'the people who pay';\n" } ] ],
	[ items => [ {}, { tables => "CREATE TABLE items (id integer PRIMARY KEY, order_id bigint REFERENCES orders (id), qty integer NOT NULL DEFAULT 1);\n" } ] ],
	[ sequence => [ {}, { after => "CREATE SEQUENCE invoice_no;\n" }, { after => "CREATE SEQUENCE invoice_no INCREMENT BY 5 START WITH 100;\n" } ] ],
	[ composite => [ {}, { types => "CREATE TYPE address AS (street text, city text);\n" }, { types => "CREATE TYPE address AS (street text, city text, zip varchar(10));\n" } ] ],
	[ domain => [ { domain => 'CHECK (VALUE > 0)' }, { domain => 'CHECK (VALUE >= 0)' }, { domain => "DEFAULT 1 NOT NULL CHECK (VALUE > 0)" } ] ],
	[ partition => [ {}, { tables => "CREATE TABLE events (id bigint NOT NULL, at date NOT NULL, what text) PARTITION BY RANGE (at);\nCREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');\nCREATE INDEX events_at ON events (at);\n" },
		{ tables => "CREATE TABLE events (id bigint NOT NULL, at date NOT NULL, what text) PARTITION BY RANGE (at);\nCREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');\nCREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');\nCREATE INDEX events_at ON events (at);\n" } ] ],
	[ schema => [ {}, { schemas => "CREATE SCHEMA app;\nCREATE TABLE app.settings (key text PRIMARY KEY, value text);\nCOMMENT ON SCHEMA app IS 'settings';\n" } ] ],
	[ generated => [ {}, { users_cols3 => ', name_len integer GENERATED ALWAYS AS (length(name)) STORED' } ] ],
	[ identity => [ { tag_id => 'GENERATED ALWAYS AS IDENTITY' }, { tag_id => 'GENERATED BY DEFAULT AS IDENTITY' } ] ],
	[ exclusion => [ {}, { tables => "CREATE TABLE bookings (id serial PRIMARY KEY, during tsrange, EXCLUDE USING gist (during WITH &&));\n" } ] ],
	[ extension => [ {}, { ext => "CREATE EXTENSION citext;\n" } ] ],
	[ collation => [ {}, { name_coll => ' COLLATE "C"' } ] ],
	[ mood_default => [ { mood_def => "'ok'" }, { mood_def => "'sad'" } ] ],
);

# The SQL of a schema: $v->[i] is the variant of feature i.
sub schema_sql
{
	my ($v) = @_;
	my %f;
	for my $i (0 .. $#features)
	{
		my $variant = $features[$i][1][ $v->[$i] ];
		for my $k (keys %$variant)
		{
			$f{$k} .= $variant->{$k};
		}
	}
	my $g = sub { $f{ $_[0] } // '' };
	return $g->('ext') . $g->('schemas')
	  . "CREATE TYPE mood AS ENUM ('sad'" . $g->('mood_mid') . ", 'ok'" . $g->('mood_end') . ");\n"
	  . "CREATE DOMAIN posint AS integer " . $g->('domain') . ";\n"
	  . $g->('types')
	  . "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN RETURN NEW; END\$\$;\n"
	  . "CREATE TABLE users (id serial PRIMARY KEY, name text" . $g->('name_coll') . " NOT NULL DEFAULT 'x', email "
	  . ($f{email} // 'varchar(100)') . ", age integer " . $g->('age') . $g->('age_nn')
	  . ", m mood DEFAULT " . $g->('mood_def') . ", score posint DEFAULT 1"
	  . $g->('users_cols') . $g->('users_cols2') . $g->('users_cols3') . ");\n"
	  . "CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id integer"
	  . $g->('orders_fk') . ", total " . $g->('total') . " NOT NULL DEFAULT 0" . $g->('orders_cons') . ");\n"
	  . "CREATE TABLE tags (id integer " . $g->('tag_id') . " PRIMARY KEY, label text);\n"
	  . $g->('tables') . $g->('view') . $g->('after');
}

# pg_dump --schema-only of $db, normalised.
sub dump_schema
{
	my ($db) = @_;
	my $out = `pg_dump --schema-only -N migr -h '${\$node->host}' -p ${\$node->port} '$db'`;
	die "pg_dump $db failed" if $?;
	my @lines;
	for my $l (split /\n/, $out)
	{
		next if $l =~ /^--/ || $l =~ /^\\(un)?restrict / || $l =~ /^\s*$/ || $l =~ /^SET / || $l =~ /^SELECT pg_catalog\.set_config/;
		$l =~ s/,\s*$//;
		$l =~ s/\s+$//;
		push @lines, $l;
	}
	return join("\n", sort @lines) . "\n";
}

my $dbno = 0;

# A new database built from $sql (and, with $rows, 3 rows in every table of
# schema public that is not a partitioned table or a view).
sub build_db
{
	my ($sql, $rows) = @_;
	my $db = 'd' . (++$dbno);
	$node->safe_psql('postgres', "CREATE DATABASE $db TEMPLATE tmpl");
	$node->safe_psql($db, $sql);
	if ($rows)
	{
		$node->safe_psql($db, q{
DO $$
DECLARE t regclass;
BEGIN
  FOR t IN SELECT c.oid FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
             AND NOT c.relispartition LOOP
    FOR i IN 1..3 LOOP
      BEGIN
        EXECUTE format('INSERT INTO %s DEFAULT VALUES', t);
      EXCEPTION WHEN others THEN
        BEGIN
          EXECUTE format('INSERT INTO %s (id) VALUES (%s)', t, 1000 + i);
        EXCEPTION WHEN others THEN NULL;
        END;
      END;
    END LOOP;
  END LOOP;
END $$;});
	}
	return $db;
}

sub drop_db
{
	$node->safe_psql('postgres', "DROP DATABASE $_[0]") for @_;
}

# "count:ids" of every plain table of public, except those in @$skip.
sub table_rows
{
	my ($db, $skip) = @_;
	my %skip = map { $_ => 1 } @$skip;
	my $out = $node->safe_psql($db, q{
SELECT c.relname, query_to_xml(format('SELECT count(*) || '':'' || %s AS r FROM %s',
         CASE WHEN EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'id' AND NOT a.attisdropped)
              THEN 'coalesce(string_agg(id::text, '','' ORDER BY id), '''')' ELSE '''''' END, c.oid::regclass),
         false, true, '')::text
  FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND NOT c.relispartition ORDER BY 1});
	my %r;
	for my $line (split /\n(?=\w+\|)/, $out)
	{
		my ($t, $x) = split /\|/, $line, 2;
		next if $skip{$t};
		($r{$t}) = $x =~ m{<r>(.*?)</r>}s;
		$r{$t} //= $x;
	}
	return \%r;
}

# Show where two normalised dumps differ (first lines only).
sub dump_diff
{
	my ($got, $want) = @_;
	my %g = map { $_ => 1 } split /\n/, $got;
	my %w = map { $_ => 1 } split /\n/, $want;
	my @extra = grep { !$w{$_} } split /\n/, $got;
	my @missing = grep { !$g{$_} } split /\n/, $want;
	return join("\n", (map { "+ $_" } @extra[0 .. ($#extra < 15 ? $#extra : 15)]),
		(map { "- $_" } @missing[0 .. ($#missing < 15 ? $#missing : 15)]));
}

my %dump_cache;

# The round trip of one pair; $name says which.  Returns true when it held.
sub round_trip
{
	my ($name, $a_sql, $b_sql) = @_;
	my $b_dump = $dump_cache{$b_sql} //= do {
		my $db = build_db($b_sql, 0);
		my $d = dump_schema($db);
		drop_db($db);
		$d;
	};
	my $a = build_db($a_sql, 1);
	my $a_dump = dump_schema($a);
	my ($rc, $rows, $err) = $node->psql($a,
		"SELECT upgrade, coalesce(downgrade, '') FROM migr_diff(\$desired\$$b_sql\$desired\$) ORDER BY step",
		extra_params => [ '-F', "\x01", '-R', "\x02", '-A', '-t' ]);
	if ($rc != 0)
	{
		fail("$name: migr_diff fails: $err");
		drop_db($a);
		return 0;
	}
	my @rows = map { [ split /\x01/, $_, -1 ] } grep { $_ ne '' } split /\x02/, $rows;
	my $upgrade = join("\n", map { $_->[0] } @rows);
	my $downgrade = join("\n", reverse map { $_->[1] } @rows);
	my @dropped = ($upgrade =~ /^DROP TABLE public\.(\w+);/mg);
	my $before = table_rows($a, \@dropped);

	my $ok = 1;
	($rc, my $out, $err) = $node->psql($a, $upgrade, on_error_stop => 1, extra_params => ['-1']);
	if ($rc != 0)
	{
		$ok = fail("$name: the upgrade fails: $err\n$upgrade");
	}
	else
	{
		my $got = dump_schema($a);
		$ok = ok($got eq $b_dump, "$name: upgrade gives B") || diag(dump_diff($got, $b_dump) . "\nupgrade:\n$upgrade");
		my $after = table_rows($a, \@dropped);
		for my $t (sort keys %$before)
		{
			next unless exists $after->{$t};
			$ok &&= is($after->{$t}, $before->{$t}, "$name: table $t keeps its rows through the upgrade");
		}
		($rc, $out, $err) = $node->psql($a, $downgrade, on_error_stop => 1, extra_params => ['-1']);
		if ($rc != 0)
		{
			$ok = fail("$name: the downgrade fails: $err\n$downgrade");
		}
		else
		{
			$got = dump_schema($a);
			$ok &&= (ok($got eq $a_dump, "$name: downgrade gives A again") || diag(dump_diff($got, $a_dump) . "\ndowngrade:\n$downgrade"));
			my $back = table_rows($a, \@dropped);
			for my $t (sort keys %$before)
			{
				next unless exists $after->{$t};
				$ok &&= is($back->{$t}, $before->{$t}, "$name: table $t keeps its rows through the downgrade");
			}
		}
	}
	drop_db($a);
	return $ok;
}

sub describe_vector
{
	my ($v) = @_;
	return join(',', map { "$features[$_][0]=$v->[$_]" } grep { $v->[$_] } 0 .. $#features) || 'base';
}

# 1. Every feature at once: from the base to variant k of every feature
# (its last one where it has fewer), and back; then from variant 1 to
# variant 2 of every feature.  With MIGR_DIFF_EACH=1 (the long run), each
# feature alone too: from the base to each variant and back, and from
# variant 1 to each other one.
my @base = (0) x @features;
my $max = 0;
for my $f (@features)
{
	$max = $#{ $f->[1] } if $#{ $f->[1] } > $max;
}
for my $k (1 .. $max)
{
	my @v = map { $k <= $#{ $_->[1] } ? $k : $#{ $_->[1] } } @features;
	round_trip("every feature 0->$k", schema_sql(\@base), schema_sql(\@v));
	round_trip("every feature $k->0", schema_sql(\@v), schema_sql(\@base));
}
{
	my @one = (1) x @features;
	my @two = map { $#{ $_->[1] } >= 2 ? 2 : 1 } @features;
	round_trip("every feature 1->2", schema_sql(\@one), schema_sql(\@two));
}
if ($ENV{MIGR_DIFF_EACH})
{
	for my $i (0 .. $#features)
	{
		for my $k (1 .. $#{ $features[$i][1] })
		{
			my @v = @base;
			$v[$i] = $k;
			round_trip("$features[$i][0] 0->$k", schema_sql(\@base), schema_sql(\@v));
			round_trip("$features[$i][0] $k->0", schema_sql(\@v), schema_sql(\@base));
			if ($k > 1)
			{
				my @w = @base;
				$w[$i] = 1;
				round_trip("$features[$i][0] 1->$k", schema_sql(\@w), schema_sql(\@v));
			}
		}
	}
}

# 2. Random pairs.
for my $p (1 .. $pairs)
{
	my @a = map { int(rand(scalar @{ $_->[1] })) } @features;
	my @b = map { int(rand(scalar @{ $_->[1] })) } @features;
	round_trip("random pair $p (seed $seed): A " . describe_vector(\@a) . "; B " . describe_vector(\@b),
		schema_sql(\@a), schema_sql(\@b));
}

# 3. The history of examples/migrations: the upgrade sections in order; B
# is given as pg_dump's output of a database built from them.
my $repo = $ENV{MIGR_REPO} // '../..';
my @files = sort glob("$repo/examples/migrations/*.sql");
my @history;
for my $f (@files)
{
	open(my $fh, '<', $f) or die "$f: $!";
	local $/;
	my $text = <$fh>;
	close $fh;
	my ($up) = $text =~ /^-- migr:upgrade\n(.*?)(?=^-- migr:downgrade|\z)/ms;
	push @history, $up;
}
ok(@history >= 2, 'examples/migrations has a history');
for my $i (1 .. $#history)
{
	my $a_sql = join("\n", @history[0 .. $i - 1]);
	my $b_db = build_db(join("\n", @history[0 .. $i]), 0);
	my $b_sql = `pg_dump --schema-only -N migr -h '${\$node->host}' -p ${\$node->port} $b_db`;
	drop_db($b_db);
	# pg_dump's own SQL, less the extension migr that both have already
	$b_sql =~ s/^CREATE EXTENSION IF NOT EXISTS migr .*$//mg;
	$b_sql =~ s/^COMMENT ON EXTENSION migr .*$//mg;
	# and less its psql meta-commands (\restrict)
	$b_sql =~ s/^\\.*$//mg;
	round_trip("examples history " . ($i) . '->' . ($i + 1), $a_sql, $b_sql);
}

done_testing();
