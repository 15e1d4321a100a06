# test/t/052_replicas_logical.pl
#
# Logical replication (issue 15).  Logical replication carries rows, not
# DDL: a FOR ALL TABLES publication also publishes migr's tables, and its
# subscriber records the publisher's revisions although their DDL never ran
# there.  migr_status() warns on both sides.  The documented setup works: a
# publication of the application's schema only, migr run on each side, the
# rows of the migrated tables replicated, each side with its own history.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $pub = PostgreSQL::Test::Cluster->new('publisher');
$pub->init(allows_streaming => 'logical');
$pub->start;
my $sub = PostgreSQL::Test::Cluster->new('subscriber');
$sub->init;
$sub->start;

my $warnings_sql = q{SELECT migr_status()->'warnings'};

# The deploy both sides run: register the revisions, upgrade.
my $r1 = q{
SELECT migr_revision('app schema', $m$
CREATE SCHEMA app;
CREATE TABLE app.items (id int PRIMARY KEY, name text NOT NULL);
$m$, 'DROP SCHEMA app CASCADE;', 'r1', '{}');
SELECT count(*) FROM migr_upgrade('head');
};
my $r2 = q{
SELECT migr_revision('item price', 'ALTER TABLE app.items ADD COLUMN price int;',
                     'ALTER TABLE app.items DROP COLUMN price;', 'r2', '{r1}');
SELECT count(*) FROM migr_upgrade('head');
};

$pub->safe_psql('postgres', "CREATE EXTENSION migr;\n$r1");
$pub->safe_psql('postgres', q{INSERT INTO app.items VALUES (1, 'one')});
is($pub->safe_psql('postgres', $warnings_sql), '[]', 'publisher: no warning without a publication');

# ---------------------------------------------------------------------------
# The mistake: FOR ALL TABLES publishes migr's tables.
# ---------------------------------------------------------------------------
$pub->safe_psql('postgres', 'CREATE PUBLICATION everything FOR ALL TABLES');
like($pub->safe_psql('postgres', $warnings_sql),
	qr/^\["publication \\"everything\\" publishes migr's own tables: a subscriber would record revisions whose DDL it never ran .*FOR TABLES IN SCHEMA .*run migr on each subscriber too"\]$/,
	'publisher: migr_status warns that FOR ALL TABLES publishes migr\'s tables');

$sub->safe_psql('postgres', 'CREATE DATABASE wrong');
# The subscription needs every published table; the application's is made
# by hand here, as the schema is not replicated.
$sub->safe_psql('wrong', q{
CREATE EXTENSION migr;
CREATE SCHEMA app;
CREATE TABLE app.items (id int PRIMARY KEY, name text NOT NULL);});
my $connstr = $pub->connstr . ' dbname=postgres';
$sub->safe_psql('wrong', "CREATE SUBSCRIPTION wrong_sub CONNECTION '$connstr' PUBLICATION everything");
# migr.state never syncs: both sides have its one row (the conflict the
# apply worker retries forever); the other tables do.
$sub->poll_query_until('wrong',
	q{SELECT count(*) = 0 FROM pg_subscription_rel
       WHERE srsubstate NOT IN ('r', 's') AND srrelid <> 'migr.state'::regclass})
  or die 'the subscription did not sync';
$pub->wait_for_catchup('wrong_sub');
is($sub->safe_psql('wrong', q{SELECT string_agg(c, ',') FROM migr_current() c}), 'r1',
	'wrong subscriber: it records the publisher\'s revision, which migr never ran there');
is($sub->safe_psql('wrong', q{SELECT count(*) FROM migr.log WHERE operation = 'upgrade'}), '1',
	'wrong subscriber: and the publisher\'s log');
like($sub->safe_psql('wrong', $warnings_sql),
	qr/^\["subscription \\"wrong_sub\\" replicates into migr's own tables: this database records the publisher's revisions although their DDL never ran here;.*run migr here too"\]$/,
	'wrong subscriber: migr_status warns');
$sub->safe_psql('wrong', 'DROP SUBSCRIPTION wrong_sub');
is($sub->safe_psql('wrong', $warnings_sql), '[]', 'wrong subscriber: no warning once the subscription is gone');
$pub->safe_psql('postgres', 'DROP PUBLICATION everything');
is($pub->safe_psql('postgres', $warnings_sql), '[]', 'publisher: no warning once the publication is gone');

# A publication naming a migr table is caught too.
$pub->safe_psql('postgres', 'CREATE PUBLICATION one_table FOR TABLE migr.log');
like($pub->safe_psql('postgres', $warnings_sql), qr/publication \\"one_table\\" publishes migr's own tables/,
	'publisher: a publication of one migr table is warned about');
$pub->safe_psql('postgres', 'DROP PUBLICATION one_table');

# ---------------------------------------------------------------------------
# The documented setup: publish the application's schema; run migr on both.
# ---------------------------------------------------------------------------
$pub->safe_psql('postgres', 'CREATE PUBLICATION app_pub FOR TABLES IN SCHEMA app');
is($pub->safe_psql('postgres', $warnings_sql), '[]',
	'publisher: no warning for FOR TABLES IN SCHEMA app');

$sub->safe_psql('postgres', 'CREATE DATABASE replica');
$sub->safe_psql('replica', "CREATE EXTENSION migr;\n$r1");
$sub->safe_psql('replica', "CREATE SUBSCRIPTION app_sub CONNECTION '$connstr' PUBLICATION app_pub");
$sub->poll_query_until('replica',
	q{SELECT count(*) = 0 FROM pg_subscription_rel WHERE srsubstate NOT IN ('r', 's')})
  or die 'the subscription did not sync';
$pub->wait_for_catchup('app_sub');
is($sub->safe_psql('replica', q{SELECT string_agg(i::text, ',') FROM app.items i}), '(1,one)',
	'subscriber: the application\'s rows arrive');
is($sub->safe_psql('replica', $warnings_sql), '[]', 'subscriber: no warning');

# A new revision: the subscriber first (an added column must exist where
# the rows go), then the publisher.
$sub->safe_psql('replica', $r2);
$pub->safe_psql('postgres', $r2);
$pub->safe_psql('postgres', q{INSERT INTO app.items VALUES (2, 'two', 20)});
$pub->wait_for_catchup('app_sub');
is($sub->safe_psql('replica', q{SELECT string_agg(i::text, ',' ORDER BY id) FROM app.items i}),
	'(1,one,),(2,two,20)', 'subscriber: rows with the new column arrive');
is($sub->safe_psql('replica', q{SELECT string_agg(c, ',') FROM migr_current() c}), 'r2',
	'subscriber: its own history is at r2');
is( $sub->safe_psql(
		'replica', q{SELECT string_agg(operation || ':' || revision, ',' ORDER BY id) FROM migr.log}),
	'register:r1,upgrade:r1,register:r2,upgrade:r2',
	'subscriber: its log holds its own deploys, not the publisher\'s rows');
is($pub->safe_psql('postgres', q{SELECT count(*) FROM migr.log}), '4',
	'publisher: its log is its own');

$sub->stop;
$pub->stop;
done_testing();
