#!/bin/bash
# bench/diff.sh: migr_diff() and migr_check() against pg_dump --schema-only
# of the same database (issue 13, "Speed"; see bench/README.md).
#
# Run as root.  Starts a throwaway PostgreSQL 15 cluster as the postgres OS
# user in a mktemp directory, builds a schema of 500 tables (2,500 columns,
# 500 primary keys, 1,000 more indexes, 200 foreign keys, 50 views, 50
# functions), writes a desired copy of it with 50 changes, and times, the
# two sides alternating in each trial:
#   - migr_diff(desired) vs pg_dump --schema-only       target <= 2.0
#   - migr_check() (no drift) vs pg_dump --schema-only  target <= 1.0
# Both sides are timed from the client, psql or pg_dump start-up included.
# Prints the medians and the median of the per-trial ratios; exits 1 if a
# target is missed, 2 on a set-up error.
#
# Knobs: TRIALS=5, TABLES=500, KEEP=1 (keep the cluster directory),
# PG_CONFIG (default PostgreSQL 15's).
set -euo pipefail

TRIALS=${TRIALS:-5}
TABLES=${TABLES:-500}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}

die() { echo "bench/diff: $*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || die "run as root (the cluster runs as the postgres user)"
[ -x "$PG_CONFIG" ] || die "$PG_CONFIG not found"
BINDIR=$("$PG_CONFIG" --bindir)
[ -f "$("$PG_CONFIG" --sharedir)/extension/migr.control" ] \
	|| die "migr is not installed: run 'make && make install' first"

WORK=$(mktemp -d /tmp/migr-bench-diff.XXXXXX)
chown postgres "$WORK"
PORT=$((56000 + RANDOM % 4000))
cleanup()
{
	runuser -u postgres -- "$BINDIR/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true
	[ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
runuser -u postgres -- "$BINDIR/initdb" -D "$WORK/data" -A trust >/dev/null
cat >>"$WORK/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$WORK'
port = $PORT
fsync = off
synchronous_commit = off
full_page_writes = off
autovacuum = off
max_locks_per_transaction = 1024
EOF
runuser -u postgres -- "$BINDIR/pg_ctl" -D "$WORK/data" -l "$WORK/log" -w start >/dev/null
export PGHOST=$WORK PGPORT=$PORT PGUSER=postgres
psql() { runuser -u postgres -- env PGHOST="$WORK" PGPORT="$PORT" "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
pg_dump() { runuser -u postgres -- env PGHOST="$WORK" PGPORT="$PORT" "$BINDIR/pg_dump" "$@"; }

# The schema: $1 = 0 for the live one, 1 for the desired one with 50
# changes (20 new columns, 10 column types, 10 new indexes, 5 indexes gone,
# 5 view definitions).
schema()
{
	perl -e '
my ($changed, $n) = @ARGV;
for my $i (1 .. $n) {
	my $extra = ($changed && $i <= 20) ? ", added_$i text" : "";
	my $btype = ($changed && $i > 20 && $i <= 30) ? "varchar(200)" : "varchar(100)";
	my $fk = ($i > 1 && $i <= 201) ? " REFERENCES t_" . ($i - 1) . " (id)" : "";
	print "CREATE TABLE t_$i (id integer PRIMARY KEY, a integer NOT NULL DEFAULT 0, b $btype, c timestamptz DEFAULT now(), parent integer$fk$extra);\n";
	print "CREATE INDEX t_${i}_a ON t_$i (a);\n" unless $changed && $i > 30 && $i <= 35;
	print "CREATE INDEX t_${i}_bc ON t_$i (b, c);\n";
	print "CREATE INDEX t_${i}_new ON t_$i (parent) WHERE parent IS NOT NULL;\n" if $changed && $i > 35 && $i <= 45;
}
for my $v (1 .. 50) {
	my $cond = ($changed && $v <= 5) ? "a > 10" : "a > 0";
	print "CREATE VIEW v_$v AS SELECT id, a, b FROM t_$v WHERE $cond;\n";
	print "CREATE FUNCTION f_$v(x integer) RETURNS integer LANGUAGE sql IMMUTABLE AS \$\$SELECT x + $v\$\$;\n";
}' "$1" "$TABLES"
}
schema 0 >"$WORK/live.sql"
schema 1 >"$WORK/desired.sql"
chmod a+r "$WORK"/*.sql
psql -d postgres -c 'CREATE DATABASE bench'
psql -d bench -c 'CREATE EXTENSION migr' -f "$WORK/live.sql" >/dev/null
counts=$(psql -d bench -At -c "SELECT (SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace) || ' tables, ' ||
  (SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace AND a.attnum > 0) || ' columns, ' ||
  (SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = 'public'::regnamespace) || ' indexes, ' ||
  (SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace) || ' foreign keys, ' ||
  (SELECT count(*) FROM pg_class WHERE relkind = 'v' AND relnamespace = 'public'::regnamespace) || ' views, ' ||
  (SELECT count(*) FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')) || ' functions'")
diffs=$(echo "SELECT count(*) FROM migr_diff(:'d')" | psql -d bench -At -v d="$(cat "$WORK/desired.sql")" -f -)
# an operation records the schema for migr_check()
psql -d bench -c "SELECT migr_revision('noop', 'SELECT 1', NULL, 'r1')" -c "SELECT count(*) FROM migr_upgrade('head')" >/dev/null
drift=$(psql -d bench -At -c 'SELECT count(*) FROM migr_check()')
echo "schema: $counts; migr_diff finds $diffs differences; migr_check finds $drift"
[ "$drift" = 0 ] || die "migr_check reports drift on an unchanged schema"

now() { date +%s%N; }
time_dump() { local t=$(now); pg_dump --schema-only -d bench -f /dev/null; echo $(( $(now) - t )); }
time_diff() { local t=$(now); echo "SELECT count(*) FROM migr_diff(:'d')" | psql -d bench -At -v d="$(cat "$WORK/desired.sql")" -f - >/dev/null; echo $(( $(now) - t )); }
# The floor of reading a desired schema by running it: the desired SQL in a
# transaction that is rolled back (in a schema of its own).
time_apply() { local t=$(now); { echo 'BEGIN; CREATE SCHEMA floor; SET search_path = floor;'; cat "$WORK/desired.sql"; echo 'ROLLBACK;'; } | psql -d bench -f - >/dev/null; echo $(( $(now) - t )); }
time_check() { local t=$(now); psql -d bench -At -c 'SELECT count(*) FROM migr_check()' >/dev/null; echo $(( $(now) - t )); }

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

dump_ms=() diff_ms=() check_ms=() apply_ms=() diff_r=() check_r=() floor_r=()
for trial in $(seq 1 "$TRIALS"); do
	if [ $((trial % 2)) = 1 ]; then
		d=$(time_dump); f=$(time_diff); c=$(time_check); a=$(time_apply)
	else
		a=$(time_apply); c=$(time_check); f=$(time_diff); d=$(time_dump)
	fi
	apply_ms+=("$(echo "$a / 1000000" | bc -l)")
	floor_r+=("$(echo "$f / $a" | bc -l)")
	dump_ms+=("$(echo "$d / 1000000" | bc -l)")
	diff_ms+=("$(echo "$f / 1000000" | bc -l)")
	check_ms+=("$(echo "$c / 1000000" | bc -l)")
	diff_r+=("$(echo "$f / $d" | bc -l)")
	check_r+=("$(echo "$c / $d" | bc -l)")
done

m_dump=$(printf '%s\n' "${dump_ms[@]}" | median)
m_diff=$(printf '%s\n' "${diff_ms[@]}" | median)
m_check=$(printf '%s\n' "${check_ms[@]}" | median)
r_diff=$(printf '%s\n' "${diff_r[@]}" | median)
r_check=$(printf '%s\n' "${check_r[@]}" | median)
m_apply=$(printf '%s\n' "${apply_ms[@]}" | median)
r_floor=$(printf '%s\n' "${floor_r[@]}" | median)
status=0
v_diff=met v_check=met
[ "$(echo "$r_diff <= 2.0" | bc -l)" = 1 ] || { v_diff=MISSED; status=1; }
[ "$(echo "$r_check <= 1.0" | bc -l)" = 1 ] || { v_check=MISSED; status=1; }
printf '%-42s %10s %10s %8s %8s %s\n' benchmark "migr ms" "dump ms" ratio target verdict
printf '%-42s %10.0f %10.0f %8.2f %8s %s\n' "migr_diff (50 changes) vs pg_dump -s" "$m_diff" "$m_dump" "$r_diff" "<= 2.0" "$v_diff"
printf '%-42s %10.0f %10.0f %8.2f %8s %s\n' "migr_check (no drift) vs pg_dump -s" "$m_check" "$m_dump" "$r_check" "<= 1.0" "$v_check"
printf '%-42s %10.0f %10.0f %8.2f %8s %s\n' "migr_diff vs running the desired SQL" "$m_diff" "$m_apply" "$r_floor" "-" "(the floor: its DDL)"
exit $status
