# test/t/051_schema_diff.pl
#
# migr_diff(), migr_autogenerate(), bin/migr-new --autogenerate, migr_check()
# and bin/migr-check (issue 13), beside the round trip of 050_diff_roundtrip:
#   - bad desired schemas (does not parse, refers to a missing object,
#     controls transactions, drops): an error with the SQLSTATE and the line,
#     and nothing left behind; nor after a successful call (no object, no
#     lock, no schema moved aside); refused in production;
#   - the safe forms migr_lint accepts (foreign key and NOT NULL on a table
#     with rows), look-alike renames named, the schemas argument;
#   - a file written by bin/migr-new --autogenerate loads, upgrades to the
#     desired schema, and downgrades back;
#   - drift: after a migration none; each kind of ad-hoc change is reported
#     by migr_check() (and migr_status(), and bin/migr-check's exit code) as
#     exactly the object changed, and its upgrade statements undo it.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('schema_diff');
$node->init;
$node->start;
my $repo = $ENV{MIGR_REPO} // '../..';

$node->safe_psql('postgres', q{
CREATE EXTENSION migr;
CREATE TABLE users (id int PRIMARY KEY, name text, email text);
CREATE TABLE orders (id int PRIMARY KEY, user_id int, total numeric);
INSERT INTO users VALUES (1, 'a', 'a@x'), (2, 'b', 'b@x');
INSERT INTO orders VALUES (1, 1, 10), (2, 2, 20);
});
my $live_sql = q{
CREATE TABLE users (id int PRIMARY KEY, name text, email text);
CREATE TABLE orders (id int PRIMARY KEY, user_id int, total numeric);
};

# What must not change when migr_diff fails or ends: the schemas, the
# relations, and this session's locks other than on the catalogs.
my $fingerprint_sql = q{
SELECT (SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace) || '|' ||
       (SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class
         WHERE relnamespace = 'public'::regnamespace) || '|' ||
       (SELECT count(*) FROM pg_constraint WHERE connamespace = 'public'::regnamespace)};
my $fingerprint = $node->safe_psql('postgres', $fingerprint_sql);

sub diff_error
{
	my ($desired) = @_;
	my ($rc, $out, $err) = $node->psql('postgres',
		"\\set VERBOSITY verbose\nSELECT * FROM migr_diff(\$d\$$desired\$d\$)");
	return $err;
}

my $err = diff_error("CREATE TABLE a (i int);\n\nCREATE TABLE b (i int;\n");
like($err, qr/ERROR:  42601: syntax error at or near ";"/, 'a desired schema that does not parse: 42601');
like($err, qr/CONTEXT:  desired schema, line 3/, 'naming its line');
$err = diff_error("CREATE TABLE a (i int);\nCREATE VIEW v AS SELECT * FROM nowhere;\n");
like($err, qr/ERROR:  42P01: relation "nowhere" does not exist/, 'one that refers to a missing object: 42P01');
like($err, qr/desired schema, line 2/, 'naming its line');
$err = diff_error("CREATE TABLE a (i int);\nCOMMIT;\n");
like($err, qr/ERROR:  2D000: transaction control is not allowed in a desired schema\nDETAIL:  Line 2 is "COMMIT"/,
	'transaction control: 2D000, naming the line');
$err = diff_error("CREATE TABLE a (i int);\n\nDROP TABLE users;\n");
like($err, qr/ERROR:  0A000: a desired schema cannot drop or truncate objects\nDETAIL:  Line 3 is "DROP TABLE users"/,
	'DROP: 0A000, naming the line');
is($node->safe_psql('postgres', $fingerprint_sql), $fingerprint, 'the refusals left nothing behind');

# A successful call leaves nothing either: no object of the desired schema,
# no schema moved aside, no lock on the live tables or on schemas.
is($node->safe_psql('postgres', q{
BEGIN;
SELECT count(*) > 0 FROM migr_diff('CREATE TABLE zzz (i int); CREATE TABLE users (id int);');
SELECT (SELECT count(*) FROM pg_class WHERE relname = 'zzz') || ':' ||
       (SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'migr_aside%') || ':' ||
       (SELECT count(*) FROM pg_locks l WHERE l.pid = pg_backend_pid()
          AND ((l.locktype = 'relation' AND l.relation IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace))
               OR (l.locktype = 'object' AND l.classid = 'pg_namespace'::regclass)));
COMMIT;}), "t\n0:0:0", 'after a call: no object of the desired schema, nothing moved aside, no lock');
is($node->safe_psql('postgres', $fingerprint_sql), $fingerprint, 'and the schema is as it was');
is($node->safe_psql('postgres', qq{SELECT count(*) FROM migr_diff(\$d\$$live_sql\$d\$)}), '0',
	'the live schema as desired: no difference');

($err) = ($node->psql('postgres',
		"\\set VERBOSITY verbose\nSET migr.environment = 'production';\nSELECT * FROM migr_diff('CREATE TABLE a (i int)')"))[2];
like($err, qr/ERROR:  MG002: migr_diff is not allowed in production/, 'refused in production (MG002)');

# Safe forms: a foreign key and NOT NULL on tables with rows.
my $rows = $node->safe_psql('postgres', q{
SELECT string_agg(upgrade, E'\n' ORDER BY step) FROM migr_diff($d$
CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL, email text);
CREATE TABLE orders (id int PRIMARY KEY, user_id int REFERENCES users (id), total numeric);
$d$)});
like($rows, qr/ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY \(user_id\) REFERENCES public.users\(id\) NOT VALID;\nALTER TABLE public.orders VALIDATE CONSTRAINT orders_user_id_fkey;/,
	'a foreign key on a table with rows: NOT VALID, then VALIDATE');
like($rows, qr/CHECK \(name IS NOT NULL\) NOT VALID;\n.*VALIDATE CONSTRAINT.*;\nALTER TABLE public.users ALTER COLUMN name SET NOT NULL;/s,
	'NOT NULL: a validated check constraint first');

# Look-alike renames, and the destructive flag.
$rows = $node->safe_psql('postgres', q{
SELECT string_agg(kind || ' ' || object_name || ' ' || destructive || ': ' || change, E'\n' ORDER BY step) FROM migr_diff($d$
CREATE TABLE users (id int PRIMARY KEY, name text, mail text);
CREATE TABLE orders (id int PRIMARY KEY, user_id int, total numeric);
$d$)});
like($rows, qr/column users.email true: removed; looks like a rename \(same table, same type\): ALTER TABLE public.users RENAME COLUMN email TO mail/,
	'a dropped column named as a look-alike rename, destructive');
like($rows, qr/column users.mail false: added; looks like a rename/, 'and the added one');

# The schemas argument.
$node->safe_psql('postgres', q{CREATE SCHEMA app; CREATE TABLE app.settings (k text PRIMARY KEY)});
is($node->safe_psql('postgres', q{
SELECT string_agg(schema_name || '.' || object_name || ' ' || change, ',' ORDER BY step)
  FROM migr_diff('CREATE SCHEMA app; CREATE TABLE app.settings (k text PRIMARY KEY, v text);', '{app}')}),
	'app.settings.v added', 'schemas limits the comparison');
$node->safe_psql('postgres', q{DROP SCHEMA app CASCADE});

# ---------------------------------------------------------------------------
# bin/migr-new --autogenerate: the file, loaded and run.
# ---------------------------------------------------------------------------
my $dir = PostgreSQL::Test::Utils::tempdir;
mkdir "$dir/migrations";
my $desired = "$dir/schema.sql";
append_to_file($desired, q{
CREATE TYPE status AS ENUM ('new', 'paid');
CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL DEFAULT '', email text);
CREATE TABLE orders (id int PRIMARY KEY, user_id int REFERENCES users (id),
                     total numeric(12,2), state status NOT NULL DEFAULT 'new');
CREATE INDEX orders_user ON orders (user_id);
CREATE VIEW paid AS SELECT id, total FROM orders WHERE state = 'paid';
COMMENT ON TABLE orders IS 'what was bought';
});
local $ENV{PGHOST} = $node->host;
local $ENV{PGPORT} = $node->port;
local $ENV{PGDATABASE} = 'postgres';
my ($out, $stderr);
ok(IPC::Run::run([ 'sh', "$repo/bin/migr-new", '--autogenerate', $desired, "$dir/migrations", 'orders states' ],
		'>', \$out, '2>', \$stderr), 'bin/migr-new --autogenerate writes a file') or diag($stderr);
chomp $out;
like($out, qr{/migrations/[0-9a-f]{12}_orders_states\.sql$}, 'named like migr_template names it');
my $file = slurp_file($out);
like($file, qr/^-- migr:destructive true$/m, 'destructive (a column type changes)');
like($file, qr/^-- \d+: type public\.status: added\nCREATE TYPE public\.status AS ENUM \('new', 'paid'\);$/m,
	'a comment above each statement names its difference');
like($file, qr/^-- undoes \d+: type public\.status: added\nDROP TYPE public\.status;$/m, 'and in the downgrade');
is($node->safe_psql('postgres', q{SELECT count(*) FROM migr.revisions}), '0', 'nothing registered');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_type WHERE typname = 'status'}), '0', 'nothing run');
my $id = $node->safe_psql('postgres', qq{SELECT migr_load(\$f\$$file\$f\$)});
like($id, qr/^[0-9a-f]{12}$/, 'the file loads');
is($node->safe_psql('postgres', q{SELECT count(*) FROM migr_lint() WHERE rule IN ('constraint-not-valid', 'set-not-null-scan')}),
	'0', 'migr_lint finds no unvalidated constraint and no NOT NULL scan');
$node->safe_psql('postgres', q{SELECT count(*) FROM migr_upgrade('head')});
my $desired_text = slurp_file($desired);
is($node->safe_psql('postgres', qq{SELECT count(*) FROM migr_diff(\$d\$$desired_text\$d\$)}), '0',
	'upgraded: the live schema is the desired one');
is($node->safe_psql('postgres', q{SELECT string_agg(id || ':' || name || ':' || coalesce(email, ''), ',' ORDER BY id) FROM users}),
	'1:a:a@x,2:b:b@x', 'with the rows kept');
($err) = ($node->psql('postgres', qq{SELECT * FROM migr_autogenerate('again', \$d\$$desired_text\$d\$)}))[2];
like($err, qr/the live schema already matches the desired schema/, 'nothing to autogenerate now');

# ---------------------------------------------------------------------------
# Drift.
# ---------------------------------------------------------------------------
is($node->safe_psql('postgres', q{SELECT count(*) FROM migr_check()}), '0', 'after a migration: no drift');
is($node->safe_psql('postgres', q{SELECT migr_status()->>'drift'}), 'false', 'migr_status() says so');
my ($rc) = IPC::Run::run([ 'sh', "$repo/bin/migr-check" ], '>', \$out, '2>', \$stderr);
ok($rc, 'bin/migr-check exits 0') or diag($out . $stderr);


# The record is written again only when the schema differs from it: a
# migration that changes no object leaves its rows as they were (same row
# versions); one that changes an object writes it, and the record then
# describes the new schema (no drift), with one row per object.
my $record_rows = q{SELECT string_agg(xmin::text || ctid::text, ',' ORDER BY key) FROM migr.schema_record};
my $before = $node->safe_psql('postgres', $record_rows);
my $recorded_at = $node->safe_psql('postgres', q{SELECT recorded_at FROM migr.schema_record_info});
$node->safe_psql('postgres', q{
SELECT migr_revision('data only', 'INSERT INTO users VALUES (3, ''c'', ''c@x'');', 'DELETE FROM users WHERE id = 3;', 'rec1');
SELECT count(*) FROM migr_upgrade('head');
});
is($node->safe_psql('postgres', $record_rows), $before, 'a migration that changes no object does not write the record again');
isnt($node->safe_psql('postgres', q{SELECT recorded_at FROM migr.schema_record_info}), $recorded_at,
	'but says when it was recorded again');
$node->safe_psql('postgres', q{
SELECT migr_revision('an index', 'CREATE INDEX users_name ON users (name);', 'DROP INDEX users_name;', 'rec2');
SELECT count(*) FROM migr_upgrade('head');
});
isnt($node->safe_psql('postgres', $record_rows), $before, 'one that changes an object writes it');
is($node->safe_psql('postgres', q{SELECT count(*) FROM migr.schema_record WHERE key = 'index public.users_name'}), '1',
	'the new object is recorded');
is($node->safe_psql('postgres', q{SELECT count(*) - count(DISTINCT key) FROM migr.schema_record}), '0', 'once');
is($node->safe_psql('postgres', q{SELECT count(*) FROM migr_check()}), '0', 'and there is no drift');
$node->safe_psql('postgres', q{SELECT count(*) FROM migr_downgrade(-1)});
is($node->safe_psql('postgres', q{SELECT count(*) FROM migr.schema_record WHERE key = 'index public.users_name'}), '0',
	'a downgrade that drops it removes it from the record');
is($node->safe_psql('postgres', q{SELECT count(*) FROM migr_check()}), '0', 'with no drift either');
$node->safe_psql('postgres', q{SELECT count(*) FROM migr_downgrade(-1)});
# Each ad-hoc change (the DDL guard is off outside production): the object
# migr_check() reports (kind and name, once; a changed definition may take a
# drop and a create row), then its upgrade statements undo it.
my @changes = (
	[ 'CREATE TABLE adhoc (i int)', 'table adhoc' ],
	[ 'DROP VIEW paid', 'view paid' ],
	[ 'ALTER TABLE users ADD COLUMN nick text', 'column users.nick' ],
	[ 'ALTER TABLE users DROP COLUMN email', 'column users.email' ],
	[ 'ALTER TABLE users ALTER COLUMN email TYPE varchar(50)', 'column users.email' ],
	[ q{ALTER TABLE users ALTER COLUMN name SET DEFAULT 'x'}, 'default users.name' ],
	[ 'ALTER TABLE users ALTER COLUMN name DROP DEFAULT', 'default users.name' ],
	[ 'ALTER TABLE orders ALTER COLUMN total SET NOT NULL', 'not null orders.total' ],
	[ 'ALTER TABLE users ALTER COLUMN name DROP NOT NULL', 'not null users.name' ],
	[ 'CREATE INDEX users_name ON users (name)', 'index users_name' ],
	[ 'DROP INDEX orders_user', 'index orders_user' ],
	[ 'ALTER TABLE users ADD CONSTRAINT users_id_check CHECK (id > 0)', 'constraint users.users_id_check' ],
	[ 'ALTER TABLE orders DROP CONSTRAINT orders_user_id_fkey', 'constraint orders.orders_user_id_fkey' ],
	[ 'CREATE OR REPLACE VIEW paid AS SELECT id, total, user_id FROM orders WHERE state = \'paid\'', 'view paid' ],
	[ 'CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$SELECT 1$$', 'function f()' ],
	[ q{ALTER TYPE status ADD VALUE 'void'}, 'type status' ],
	[ 'CREATE SEQUENCE seq', 'sequence seq' ],
	[ q{COMMENT ON TABLE orders IS 'changed'}, 'comment orders' ],
	[ 'COMMENT ON TABLE orders IS NULL', 'comment orders' ],
	[ 'ALTER TABLE orders ENABLE ROW LEVEL SECURITY', 'row level security orders' ],
	[ 'CREATE POLICY p ON orders USING (true)', 'policy orders.p' ],
	[ 'CREATE TRIGGER tr BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()', 'trigger users.tr' ],
	[ 'CREATE SCHEMA extra', 'schema extra' ],
);
for my $c (@changes)
{
	my ($sql, $object) = @$c;
	$node->safe_psql('postgres', $sql);
	my $found = $node->safe_psql('postgres',
		q{SELECT string_agg(DISTINCT kind || ' ' || object_name, ', ') FROM migr_check() WHERE change NOT LIKE 'unchanged, %'});
	is($found, $object, "drift: \"$sql\" is reported as $object (and only what it changed)");
	is($node->safe_psql('postgres', q{SELECT migr_status()->>'drift'}), 'true', "drift: migr_status() says so");
	my $undo = $node->safe_psql('postgres', q{SELECT string_agg(upgrade, E'\n' ORDER BY step) FROM migr_check()});
	my ($urc, $uout, $uerr) = $node->psql('postgres', $undo, on_error_stop => 1);
	is($urc, 0, "drift: the upgrade statements of \"$sql\" run") or diag("$uerr\n$undo");
	is($node->safe_psql('postgres', q{SELECT count(*) FROM migr_check()}), '0', "drift: and undo it");
}
$node->safe_psql('postgres', 'CREATE TABLE adhoc (i int)');
$rc = IPC::Run::run([ 'sh', "$repo/bin/migr-check" ], '>', \$out, '2>', \$stderr);
ok(!$rc, 'bin/migr-check fails on drift');
like($out, qr/table public\.adhoc: created outside migr \(the upgrade drops it\)\n  undo: DROP TABLE public\.adhoc;/,
	'naming the object and the statement that undoes it');

done_testing();
