#!/bin/bash
# bench/run.sh: migr's performance benchmarks (see bench/README.md).
#
# Run as root.  Starts a throwaway PostgreSQL 15 cluster as the postgres OS
# user in a mktemp directory (Unix socket only, a random free port number),
# runs every benchmark with the two sides of each ratio interleaved, prints a
# table and exits 1 if a target is missed (2 on a set-up error).
#
# Knobs (environment):
#   TRIALS1=9       trials per side for benchmark 1 (the noisiest)
#   TRIALS=5        trials per side for benchmarks 3, 4, 5 and 7
#   NOOP_ROUNDS=5   pgbench rounds per database for benchmark 2
#   NOOP_CALLS=2000 calls per pgbench round
#   BENCH="1 2 3 4 5 6 7 stmts 9 load" which benchmarks to run
#   TRIALS9=9       trials per side for benchmark 9
#   TRIALS_STMTS=3  trials per size for benchmark stmts
#   TRIALS_LOAD=7   trials per side for benchmark load
#   LOAD_BEFORE_BIN=DIR  benchmark load also times DIR/migr-load (an older
#                   bin/, e.g. from git show), interleaved, side by side
#   KEEP=1          keep the cluster directory (for inspection)
#   PG_CONFIG       pg_config of the server (default: PostgreSQL 15's)
set -euo pipefail

TRIALS=${TRIALS:-5}
NOOP_ROUNDS=${NOOP_ROUNDS:-5}
NOOP_CALLS=${NOOP_CALLS:-2000}
BENCH=${BENCH:-"1 2 3 4 5 6 7 stmts 9 load"}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
HERE=$(cd "$(dirname "$0")" && pwd)

die() { echo "bench: $*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || die "run as root (the cluster runs as the postgres user; memory is read from /proc)"
[ -x "$PG_CONFIG" ] || die "$PG_CONFIG not found: install postgresql-15 and postgresql-server-dev-15"
id postgres >/dev/null 2>&1 || die "no postgres OS user"
BINDIR=$("$PG_CONFIG" --bindir)
[ -f "$("$PG_CONFIG" --sharedir)/extension/migr.control" ] \
	|| die "migr is not installed: run 'make && make install' first"
command -v perl >/dev/null || die "perl is needed"

# ---------------------------------------------------------------------------
# Cluster
# ---------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/migr-bench.XXXXXX)
chown postgres: "$WORK"
chmod 755 "$WORK"
PGDATA=$WORK/data

cleanup()
{
	if [ -f "$PGDATA/postmaster.pid" ]; then
		runuser -u postgres -- "$BINDIR/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	if [ "${KEEP:-}" = 1 ]; then
		echo "bench: kept $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The socket lives in $WORK, so the port only has to be free for the lock
# file name; still pick one nobody listens on.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for _ in $(seq 50); do
	PORT=$((56000 + RANDOM % 4000))
	port_in_use "$PORT" || break
done

runuser -u postgres -- "$BINDIR/initdb" -D "$PGDATA" -A trust -U postgres \
	--no-sync >"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log" >&2; die "initdb failed"; }
cat >>"$PGDATA/postgresql.conf" <<EOF
listen_addresses = ''
port = $PORT
unix_socket_directories = '$WORK'
# Durability is not what is measured, and the machine's disk is shared:
# take fsync out of both sides of every ratio.
fsync = off
synchronous_commit = off
full_page_writes = off
# Deterministic runs: vacuum is done explicitly where it matters.
autovacuum = off
# 1,000 CREATE TABLE in one transaction take ~4,000 locks.
max_locks_per_transaction = 256
shared_buffers = 256MB
max_wal_size = 4GB
checkpoint_timeout = 1h
logging_collector = off
EOF
runuser -u postgres -- "$BINDIR/pg_ctl" -D "$PGDATA" -l "$WORK/server.log" -w start >/dev/null \
	|| { cat "$WORK/server.log" >&2; die "server did not start"; }

export PGHOST=$WORK PGPORT=$PORT PGUSER=postgres
PSQL=("$BINDIR/psql" -X -q -v ON_ERROR_STOP=1)
psql_db() { local db=$1; shift; "${PSQL[@]}" -d "$db" "$@"; }
sql() { local db=$1; shift; psql_db "$db" -At -c "$*"; }

now_ns() { date +%s%N; }
ms_since() { echo $(( ($(now_ns) - $1) / 1000000 )); }

# median of the arguments (numbers)
median()
{
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# median over i of A[i]/B[i]: "A1 A2 ..." "B1 B2 ..."; pairs ran back to back,
# so a slow period of the shared machine hits both sides of a pair
paired_ratio()
{
	local -a a=($1) b=($2) r=()
	for i in "${!a[@]}"; do r+=("$(awk -v x="${a[$i]}" -v y="${b[$i]}" 'BEGIN { printf "%.4f", x / y }')"); done
	printf '%.2f' "$(median "${r[@]}")"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

RESULTS=()
FAILED=0
# record NAME A B RATIO TARGET PASS(0/1)
record()
{
	local verdict=PASS
	if [ "$6" != 1 ]; then verdict=FAIL; FAILED=1; fi
	RESULTS+=("$(printf '%-44s %14s %14s %7s  %-12s %s' "$1" "$2" "$3" "$4" "$5" "$verdict")")
	echo "  => $1: $2 vs $3, ratio $4 (target $5): $verdict"
}

fresh_db() # NAME TEMPLATE
{
	sql postgres "DROP DATABASE IF EXISTS $1"
	sql postgres "CREATE DATABASE $1 TEMPLATE $2"
	sql postgres "CHECKPOINT"
}

# Register N chained revisions in DB; script body is a format() string of i.
register_chain() # DB N UPGRADE_FMT DOWNGRADE_FMT
{
	psql_db "$1" -c "DO \$\$ BEGIN FOR i IN 1..$2 LOOP
		PERFORM migr_revision(format('step %s', i), format('$3', i), format('$4', i),
		                      'r' || lpad(i::text, 5, '0'));
	END LOOP; END \$\$"
}

echo "migr benchmarks: cluster in $WORK, port $PORT, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------------------
# 1. 1,000 CREATE TABLE: migr_upgrade('head') vs psql -1 -f
# ---------------------------------------------------------------------------
bench1()
{
	local n=1000 i a b p tm tp t out cm cp
	local -a tmigr=() tpsql=() cmigr=() cpsql=()
	local trials=${TRIALS1:-9}
	echo "[1] $n migrations of one CREATE TABLE each: migr_upgrade('head') vs psql -1 -f ($trials trials each, interleaved)"
	local create='CREATE TABLE t_%s (id integer PRIMARY KEY, note text NOT NULL, created_at timestamptz DEFAULT now())'
	sql postgres "CREATE DATABASE b1_tmpl"
	sql b1_tmpl "CREATE EXTENSION migr"
	register_chain b1_tmpl "$n" "$create;" 'DROP TABLE t_%s;'
	# the same statements, byte for byte, for psql
	sql b1_tmpl "SELECT upgrade FROM migr.revisions ORDER BY seq" >"$WORK/create.sql"
	[ "$(grep -c '^CREATE TABLE' "$WORK/create.sql")" = "$n" ] || die "bench 1: script file"
	sql postgres "VACUUM FREEZE" >/dev/null
	psql_db b1_tmpl -c "VACUUM ANALYZE"

	# CPU time besides the time on the clock, which on a shared machine
	# depends on what else runs: the backend's (utime + stime of
	# /proc/self/stat, read by the session at the end) plus the psql
	# client's (bash's time).
	local clk_tck cpu_sql
	clk_tck=$(getconf CLK_TCK)
	cpu_sql="SELECT (s[14]::bigint + s[15]::bigint) * 1000 / $clk_tck FROM pg_catalog.string_to_array(pg_catalog.pg_read_file('/proc/self/stat'), ' ') AS s"
	cpu_ms() # OUTFILE TIMEFILE -> backend + client CPU in ms
	{
		local backend client
		backend=$(tail -1 "$1")
		client=$(tail -1 "$2" | awk '{ printf "%d", ($1 + $2) * 1000 }')
		echo $((backend + client))
	}
	run_migr()
	{
		local TIMEFORMAT='%U %S'
		fresh_db "b1_m$i" b1_tmpl
		t=$(now_ns)
		{ time psql_db "b1_m$i" -At -c "SELECT count(*) FROM migr_upgrade('head')" \
			-c "$cpu_sql" >"$WORK/b1.out"; } 2>"$WORK/b1.time"
		tm=$(ms_since "$t")
		out=$(head -1 "$WORK/b1.out")
		[ "$out" = "$n" ] || die "bench 1: migr_upgrade returned $out rows"
		tmigr+=("$tm")
		cm=$(cpu_ms "$WORK/b1.out" "$WORK/b1.time")
		cmigr+=("$cm")
	}
	run_psql()
	{
		local TIMEFORMAT='%U %S'
		fresh_db "b1_p$i" b1_tmpl
		t=$(now_ns)
		{ time psql_db "b1_p$i" -At -1 -f "$WORK/create.sql" -c "$cpu_sql" >"$WORK/b1.out"; } 2>"$WORK/b1.time"
		tp=$(ms_since "$t")
		cp=$(cpu_ms "$WORK/b1.out" "$WORK/b1.time")
		cpsql+=("$cp")
		[ "$(sql "b1_p$i" "SELECT count(*) FROM pg_class WHERE relname LIKE 't\_%' AND relkind = 'r'")" = "$n" ] \
			|| die "bench 1: psql did not create $n tables"
		tpsql+=("$tp")
	}
	# Each trial gets databases of its own, all dropped at the end: the
	# disk's allocator (ext4 without a journal here) passes over the inodes
	# freed in the last 5 to 35 seconds, so creating 4,000 files right after
	# dropping a database of 4,000 files took up to twice as long, at random
	# on either side.
	for i in $(seq "$trials"); do
		# alternate the order so that neither side always goes first
		if [ $((i % 2)) = 1 ]; then run_migr; run_psql; else run_psql; run_migr; fi
		echo "  trial $i: migr ${tm} ms, psql -1 -f ${tp} ms (CPU: migr ${cm} ms, psql ${cp} ms)"
	done
	for i in $(seq "$trials"); do
		sql postgres "DROP DATABASE b1_m$i"
		sql postgres "DROP DATABASE b1_p$i"
	done
	a=$(median "${tmigr[@]}"); b=$(median "${tpsql[@]}")
	local r; r=$(paired_ratio "${tmigr[*]}" "${tpsql[*]}")
	echo "  ratio of the medians $(ratio "$a" "$b"), median of the per-trial ratios $r"
	le "$r" 1.0 && p=1 || p=0
	record "1. 1k CREATE TABLE: migr / psql -1 -f" "${a} ms" "${b} ms" "$r" "<= 1.00" "$p"
	a=$(median "${cmigr[@]}"); b=$(median "${cpsql[@]}")
	r=$(paired_ratio "${cmigr[*]}" "${cpsql[*]}")
	le "$r" 1.0 && p=1 || p=0
	record "1. the same, CPU (backend + psql client)" "${a} ms" "${b} ms" "$r" "<= 1.00" "$p"
}

# ---------------------------------------------------------------------------
# 2. no-op migr_upgrade('head') at head: 10,000 vs 100 revisions
# ---------------------------------------------------------------------------
bench2()
{
	local r db n
	local -a l100=() l10k=() v100=() v10k=()
	echo "[2] no-op migr_upgrade('head') at head, 10,000 vs 100 applied revisions ($NOOP_ROUNDS x pgbench -t $NOOP_CALLS each)"
	echo "SELECT count(*) FROM migr_upgrade('head');" >"$WORK/noop.sql"
	for n in 100 10000; do
		db=b2_$n
		sql postgres "CREATE DATABASE $db"
		sql "$db" "CREATE EXTENSION migr; CREATE TABLE bench_t (n integer)"
		register_chain "$db" "$n" 'INSERT INTO bench_t VALUES (%s);' 'DELETE FROM bench_t WHERE n = %s;'
		[ "$(sql "$db" "SELECT count(*) FROM migr_stamp('head')")" = "$n" ] || die "bench 2: stamp"
		[ "$(sql "$db" "SELECT count(*) FROM migr_upgrade('head')")" = 0 ] || die "bench 2: not at head"
	done
	sql postgres "CHECKPOINT"

	latency() # DB -> average latency in ms
	{
		"$BINDIR/pgbench" -n -t "$NOOP_CALLS" -f "$WORK/noop.sql" "$1" 2>&1 \
			| awk '/^latency average/ { print $4 }'
	}
	# First as registered: no planner statistics on migr.revisions yet (as
	# right after registering many revisions, or after pg_restore, until
	# autovacuum's ANALYZE), then after VACUUM ANALYZE (the steady state).
	local phase
	for phase in no-stats analyzed; do
		if [ "$phase" = analyzed ]; then
			psql_db b2_100 -c "VACUUM ANALYZE"; psql_db b2_10000 -c "VACUUM ANALYZE"
		fi
		local -a x100=() x10k=()
		for i in $(seq "$NOOP_ROUNDS"); do
			if [ $((i % 2)) = 1 ]; then
				x100+=("$(latency b2_100)"); x10k+=("$(latency b2_10000)")
			else
				x10k+=("$(latency b2_10000)"); x100+=("$(latency b2_100)")
			fi
			echo "  $phase round $i: 100 revs ${x100[-1]} ms/call, 10k revs ${x10k[-1]} ms/call"
		done
		local a b r p
		a=$(median "${x10k[@]}"); b=$(median "${x100[@]}")
		r=$(paired_ratio "${x10k[*]}" "${x100[*]}")
		le "$r" 1.5 && p=1 || p=0
		record "2. no-op upgrade, 10k / 100 revs ($phase)" "${a} ms" "${b} ms" "$r" "<= 1.50" "$p"
	done
}

# ---------------------------------------------------------------------------
# 3. registering 10,000 vs 1,000 revisions
# ---------------------------------------------------------------------------
bench3()
{
	local t ms n i variant
	echo "[3] registering 10,000 vs 1,000 revisions ($TRIALS trials each, fresh database each)"
	sql postgres "CREATE DATABASE b3_tmpl"
	sql b3_tmpl "CREATE EXTENSION migr"

	# variant: chain  = down_revision NULL (onto the single head), one transaction
	#          explicit = down_revision => ARRAY[previous id], one transaction
	#          autocommit = down_revision NULL, one psql statement (transaction) per call
	register_sql() # VARIANT N
	{
		local body="format('step %s', i), format('CREATE TABLE t_%s (id integer PRIMARY KEY);', i), format('DROP TABLE t_%s;', i)"
		case $1 in
		chain)
			echo "DO \$\$ BEGIN FOR i IN 1..$2 LOOP PERFORM migr_revision($body); END LOOP; END \$\$;" ;;
		explicit)
			echo "DO \$\$ DECLARE prev text; BEGIN FOR i IN 1..$2 LOOP
				prev := migr_revision($body, NULL, CASE WHEN prev IS NULL THEN '{}' ELSE ARRAY[prev] END);
			END LOOP; END \$\$;" ;;
		autocommit)
			for ((i = 1; i <= $2; i++)); do
				echo "SELECT migr_revision('step $i', 'CREATE TABLE t_$i (id integer PRIMARY KEY);', 'DROP TABLE t_$i;');"
			done ;;
		esac
	}
	for variant in chain explicit autocommit; do
		for n in 1000 10000; do register_sql "$variant" "$n" >"$WORK/reg-$variant-$n.sql"; done
		local -a t1k=() t10k=()
		for i in $(seq "$TRIALS"); do
			for n in $( [ $((i % 2)) = 1 ] && echo "1000 10000" || echo "10000 1000"); do
				fresh_db b3_run b3_tmpl
				t=$(now_ns)
				psql_db b3_run -o /dev/null -f "$WORK/reg-$variant-$n.sql"
				ms=$(ms_since "$t")
				[ "$(sql b3_run "SELECT count(*) FROM migr.revisions")" = "$n" ] || die "bench 3: count"
				if [ "$n" = 1000 ]; then t1k+=("$ms"); else t10k+=("$ms"); fi
			done
			echo "  $variant trial $i: 1k ${t1k[-1]} ms, 10k ${t10k[-1]} ms"
		done
		local a b r p
		a=$(median "${t10k[@]}"); b=$(median "${t1k[@]}")
		r=$(paired_ratio "${t10k[*]}" "${t1k[*]}")
		le "$r" 12 && p=1 || p=0
		record "3. register 10k / 1k ($variant)" "${a} ms" "${b} ms" "$r" "<= 12" "$p"
	done
	sql postgres "DROP DATABASE b3_run"
}

# ---------------------------------------------------------------------------
# 4. backend memory: one call of 1,000 vs 10,000 steps
# ---------------------------------------------------------------------------
bench4()
{
	local n i out
	local -a g1k=() g10k=()
	echo "[4] backend memory at the last step of one migr_upgrade of 1,000 vs 10,000 steps ($TRIALS trials each)"
	# One catalog of 10,000 revisions for both sides, so the graph (which
	# costs memory in proportion to the catalog, not to the steps) is the
	# same; the 1,000-step side starts stamped at revision 9,000.  The last
	# revision sleeps, so the backend's memory contexts can be dumped while
	# the call is at its end, holding everything the earlier steps left.
	sql postgres "CREATE DATABASE b4_tmpl"
	sql b4_tmpl "CREATE EXTENSION migr; CREATE TABLE bench_t (n integer)"
	register_chain b4_tmpl 9999 'INSERT INTO bench_t VALUES (%s);' 'DELETE FROM bench_t WHERE n = %s;'
	sql b4_tmpl "SELECT migr_revision('step 10000', 'SELECT pg_sleep(1);', 'SELECT 1;', 'r10000')" >/dev/null
	psql_db b4_tmpl -c "VACUUM ANALYZE" >/dev/null

	# The sum of all memory contexts ("Grand total" of
	# pg_log_backend_memory_contexts) while the last step sleeps.
	measure() # N -> bytes
	{
		local n=$1 pidfile=$WORK/mem.pid pid=
		rm -f "$pidfile"
		fresh_db b4_run b4_tmpl
		[ "$n" -lt 10000 ] && sql b4_run "SELECT count(*) FROM migr_stamp('base+$((10000 - n))')" >/dev/null
		printf '%s\n' "\\o $pidfile" "SELECT pg_backend_pid();" "\\o" \
			"SELECT count(*) FROM migr_upgrade('head');" | psql_db b4_run -At >/dev/null &
		while [ -z "$pid" ]; do sleep 0.05; pid=$(tr -dc 0-9 <"$pidfile" 2>/dev/null); done
		until [ "$(sql postgres "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid AND wait_event = 'PgSleep'")" = 1 ]; do
			sleep 0.05
		done
		sql postgres "SELECT pg_log_backend_memory_contexts($pid)" >/dev/null
		wait
		grep "\[$pid\].*Grand total:" "$WORK/server.log" | tail -1 | sed 's/.*Grand total: \([0-9]*\) bytes.*/\1/'
	}
	for i in $(seq "$TRIALS"); do
		for n in $( [ $((i % 2)) = 1 ] && echo "1000 10000" || echo "10000 1000"); do
			out=$(measure "$n")
			echo "  trial $i, $n steps: $((out / 1024)) kB in memory contexts"
			if [ "$n" = 1000 ]; then g1k+=("$((out / 1024))"); else g10k+=("$((out / 1024))"); fi
		done
	done
	sql postgres "DROP DATABASE b4_run"
	local a b r p limit
	a=$(median "${g10k[@]}"); b=$(median "${g1k[@]}")
	r=$(ratio "$a" "$b")
	# Per-step memory must be released: 9,000 more steps may cost no more
	# than 4 MB more (what is inherent: the plan's step list, the result
	# rows the tuplestore keeps up to work_mem, the transaction's combo
	# command ids).
	limit=$(awk -v b="$b" 'BEGIN { print b + 4096 }')
	le "$a" "$limit" && p=1 || p=0
	record "4. memory at the end, 10k / 1k steps" "${a} kB" "${b} kB" "$r" "<=+4MB" "$p"
	awk -v a="$a" -v b="$b" 'BEGIN { printf "  slope: %.0f bytes per step\n", (a - b) * 1024 / 9000 }'
}

# ---------------------------------------------------------------------------
# 5. applying "heads": 100 branches of 100 revisions with merges vs a chain
# ---------------------------------------------------------------------------
# A graph of 10,000 migrations: 100 branches of 100 revisions each, a merge
# revision joining each pair of neighbouring branches (50), and one merge
# of those merges, so the graph has one head.  The chain has the same
# 10,000 scripts.
register_branched() # DB
{
	psql_db "$1" -c "DO \$\$
	DECLARE prev text; heads text[] := '{}'; merges text[] := '{}'; n int := 0;
	BEGIN
		FOR b IN 1..100 LOOP
			prev := NULL;
			FOR i IN 1..100 LOOP
				n := n + 1;
				PERFORM migr_revision(format('step %s', n), format('INSERT INTO bench_t VALUES (%s);', n),
				                      format('DELETE FROM bench_t WHERE n = %s;', n),
				                      'r' || lpad(n::text, 5, '0'),
				                      CASE WHEN prev IS NULL THEN '{}'::text[] ELSE ARRAY[prev] END);
				prev := 'r' || lpad(n::text, 5, '0');
			END LOOP;
			heads := heads || prev;
		END LOOP;
		FOR p IN 1..50 LOOP
			merges := merges || migr_merge(ARRAY[heads[2 * p - 1], heads[2 * p]],
			                               format('merge %s', p), format('m%s', p));
		END LOOP;
		PERFORM migr_merge(merges, 'merge all', 'm_all');
	END \$\$"
}

bench5()
{
	local i t a b r p
	local -a tchain=() tgraph=()
	echo "[5] migr_upgrade('heads'): 100 branches x 100 revisions with merges vs a chain of 10,000 ($TRIALS trials each)"
	for db in b5_chain b5_graph; do
		sql postgres "CREATE DATABASE ${db}_tmpl"
		sql "${db}_tmpl" "CREATE EXTENSION migr; CREATE TABLE bench_t (n integer)"
	done
	register_chain b5_chain_tmpl 10000 'INSERT INTO bench_t VALUES (%s);' 'DELETE FROM bench_t WHERE n = %s;'
	register_branched b5_graph_tmpl
	psql_db b5_chain_tmpl -c "VACUUM ANALYZE"; psql_db b5_graph_tmpl -c "VACUUM ANALYZE"

	run_heads() # DB -> ms
	{
		local out t0
		fresh_db b5_run "$1_tmpl"
		t0=$(now_ns)
		out=$(sql b5_run "SELECT count(*) FROM migr_upgrade('heads')")
		echo "$(ms_since "$t0") $out"
	}
	for i in $(seq "$TRIALS"); do
		local c g
		if [ $((i % 2)) = 1 ]; then c=$(run_heads b5_chain); g=$(run_heads b5_graph)
		else g=$(run_heads b5_graph); c=$(run_heads b5_chain); fi
		[ "${c#* }" = 10000 ] && [ "${g#* }" = 10051 ] || die "bench 5: step counts ${c#* } / ${g#* }"
		tchain+=("${c% *}"); tgraph+=("${g% *}")
		echo "  trial $i: graph ${g% *} ms (10,051 steps), chain ${c% *} ms (10,000 steps)"
	done
	sql postgres "DROP DATABASE b5_run"
	a=$(median "${tgraph[@]}"); b=$(median "${tchain[@]}")
	r=$(paired_ratio "${tgraph[*]}" "${tchain[*]}")
	le "$r" 2 && p=1 || p=0
	record "5. upgrade heads, branched / chain (10k)" "${a} ms" "${b} ms" "$r" "<= 2.00" "$p"
}

# ---------------------------------------------------------------------------
# 6. a no-op at "heads" does not grow with a branched history
# ---------------------------------------------------------------------------
bench6()
{
	local i a b r p
	local -a x100=() x10k=()
	echo "[6] no-op migr_upgrade('heads'), branched graphs of 10,000 vs 100 revisions ($NOOP_ROUNDS x pgbench -t $NOOP_CALLS each)"
	echo "SELECT count(*) FROM migr_upgrade('heads');" >"$WORK/noop_heads.sql"
	sql postgres "CREATE DATABASE b6_10000 TEMPLATE b5_graph_tmpl"
	sql postgres "CREATE DATABASE b6_100"
	sql b6_100 "CREATE EXTENSION migr; CREATE TABLE bench_t (n integer)"
	# 10 branches of 10 revisions: the same shape, a hundredth of the size
	psql_db b6_100 -c "DO \$\$
	DECLARE prev text; heads text[] := '{}';
	BEGIN
		PERFORM migr_revision('root', 'SELECT 1;', 'SELECT 1;', 'root', '{}');
		FOR b IN 1..10 LOOP
			prev := 'root';
			FOR i IN 1..9 LOOP
				PERFORM migr_revision('step', format('INSERT INTO bench_t VALUES (%s);', b * 100 + i), 'SELECT 1;',
				                      format('b%s_%s', b, i), ARRAY[prev]);
				prev := format('b%s_%s', b, i);
			END LOOP;
			heads := heads || prev;
		END LOOP;
		PERFORM migr_merge(heads, 'merge all', 'm_all');
	END \$\$"
	for db in b6_100 b6_10000; do
		sql "$db" "SELECT count(*) FROM migr_stamp('heads')" >/dev/null
		[ "$(sql "$db" "SELECT count(*) FROM migr_upgrade('heads')")" = 0 ] || die "bench 6: not at heads"
	done
	for i in $(seq "$NOOP_ROUNDS"); do
		if [ $((i % 2)) = 1 ]; then
			x100+=("$(latency_of b6_100 noop_heads.sql)"); x10k+=("$(latency_of b6_10000 noop_heads.sql)")
		else
			x10k+=("$(latency_of b6_10000 noop_heads.sql)"); x100+=("$(latency_of b6_100 noop_heads.sql)")
		fi
		echo "  round $i: 100 revs ${x100[-1]} ms/call, 10k revs ${x10k[-1]} ms/call"
	done
	a=$(median "${x10k[@]}"); b=$(median "${x100[@]}")
	r=$(paired_ratio "${x10k[*]}" "${x100[*]}")
	le "$r" 1.5 && p=1 || p=0
	record "6. no-op at heads, 10k / 100 revs (branched)" "${a} ms" "${b} ms" "$r" "<= 1.50" "$p"
}

# ---------------------------------------------------------------------------
# 7. CALL migr_upgrade_each: 1,000 vs 10,000 steps, memory and time
# ---------------------------------------------------------------------------
bench7()
{
	local i n out
	local -a t1k=() t10k=() g1k=() g10k=() h1k=() h10k=() s1k=() s10k=()
	echo "[7] CALL migr_upgrade_each('head') of 1,000 vs 10,000 steps: time, peak RSS, memory at the end ($TRIALS trials each)"
	# 10,000 chained revisions of SELECT 1 (as in issue 9), the last one
	# sleeps so that the memory contexts can be dumped at the end of the
	# call; the 1,000-step side is stamped at revision 9,000 first, so both
	# sides load the same graph.
	sql postgres "CREATE DATABASE b7_tmpl"
	sql b7_tmpl "CREATE EXTENSION migr"
	register_chain b7_tmpl 9999 'SELECT 1;' 'SELECT 1;'
	sql b7_tmpl "SELECT migr_revision('step 10000', 'SELECT pg_sleep(1);', 'SELECT 1;', 'r10000')" >/dev/null
	psql_db b7_tmpl -c "VACUUM ANALYZE" >/dev/null
	# Peak RSS counts the shared memory a backend has touched: shared
	# buffers and WAL buffers, which a backend maps as it uses them.  So
	# that the peak measures the backend's own memory, the session first
	# fills more pages than shared_buffers holds (an unlogged table, one
	# row per page) and writes more WAL than the WAL buffers hold.
	local pages
	pages=$(sql postgres "SELECT setting::int * 11 / 10 FROM pg_settings WHERE name = 'shared_buffers'")

	measure7() # N -> "ms contexts_bytes vmhwm_kB rssshmem_kB"
	{
		local n=$1 pidfile=$WORK/mem7.pid res=$WORK/mem7.out pid= total
		rm -f "$pidfile" "$res"
		fresh_db b7_run b7_tmpl
		[ "$n" -lt 10000 ] && sql b7_run "SELECT count(*) FROM migr_stamp('base+$((10000 - n))')" >/dev/null
		printf '%s\n' "\\o $pidfile" "SELECT pg_backend_pid();" "\\o" \
			"CREATE UNLOGGED TABLE touch_buffers (b text); ALTER TABLE touch_buffers ALTER b SET STORAGE PLAIN;" \
			"INSERT INTO touch_buffers SELECT repeat('x', 7000) FROM generate_series(1, $pages);" \
			"CREATE TABLE touch_wal (b text); ALTER TABLE touch_wal ALTER b SET STORAGE PLAIN;" \
			"INSERT INTO touch_wal SELECT repeat('x', 7000) FROM generate_series(1, 4000);" \
			"DROP TABLE touch_buffers, touch_wal;" \
			"SET client_min_messages = warning;" \
			"SELECT clock_timestamp() AS t0 \\gset" \
			"CALL migr_upgrade_each('head');" \
			"\\o $res" \
			"SELECT round(extract(epoch FROM clock_timestamp() - :'t0') * 1000)::bigint," \
			"       (regexp_match(s, 'VmHWM:\\s+(\\d+)'))[1], (regexp_match(s, 'RssShmem:\\s+(\\d+)'))[1]" \
			"  FROM pg_read_file('/proc/self/status') AS s;" \
			| psql_db b7_run -At >/dev/null &
		while [ -z "$pid" ]; do sleep 0.05; pid=$(tr -dc 0-9 2>/dev/null <"$pidfile"); done
		until [ "$(sql postgres "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid AND wait_event = 'PgSleep'")" = 1 ]; do
			sleep 0.05
		done
		sql postgres "SELECT pg_log_backend_memory_contexts($pid)" >/dev/null
		wait
		total=$(grep "\[$pid\].*Grand total:" "$WORK/server.log" | tail -1 | sed 's/.*Grand total: \([0-9]*\) bytes.*/\1/')
		[ "$(sql b7_run "SELECT count(*) FROM migr.log WHERE operation = 'upgrade'")" = "$n" ] || die "bench 7: not $n steps"
		echo "$(tr '|' ' ' <"$res") $total"
	}
	for i in $(seq "$TRIALS"); do
		for n in $( [ $((i % 2)) = 1 ] && echo "1000 10000" || echo "10000 1000"); do
			read -r ms hwm shmem total <<<"$(measure7 "$n")"
			echo "  trial $i, $n steps: $ms ms, peak RSS $hwm kB (shared memory $shmem kB), $((total / 1024)) kB in memory contexts at the end"
			if [ "$n" = 1000 ]; then t1k+=("$ms"); h1k+=("$hwm"); g1k+=("$((total / 1024))"); s1k+=("$shmem")
			else t10k+=("$ms"); h10k+=("$hwm"); g10k+=("$((total / 1024))"); s10k+=("$shmem"); fi
		done
	done
	sql postgres "DROP DATABASE b7_run"
	local a b r p
	a=$(median "${t10k[@]}"); b=$(median "${t1k[@]}")
	r=$(paired_ratio "${t10k[*]}" "${t1k[*]}")
	# proportional: 10 times the steps, at most 12 times the time
	le "$r" 12 && p=1 || p=0
	record "7. upgrade_each time, 10k / 1k steps" "${a} ms" "${b} ms" "$r" "<= 12" "$p"
	a=$(median "${h10k[@]}"); b=$(median "${h1k[@]}")
	le "$a" "$((b + 4096))" && p=1 || p=0
	record "7. upgrade_each peak RSS, 10k / 1k steps" "${a} kB" "${b} kB" "$(ratio "$a" "$b")" "<=+4MB" "$p"
	echo "  shared memory mapped at the end: 10k $(median "${s10k[@]}") kB, 1k $(median "${s1k[@]}") kB"
	a=$(median "${g10k[@]}"); b=$(median "${g1k[@]}")
	le "$a" "$((b + 4096))" && p=1 || p=0
	record "7. upgrade_each memory at the end, 10k / 1k" "${a} kB" "${b} kB" "$(ratio "$a" "$b")" "<=+4MB" "$p"
}

# ---------------------------------------------------------------------------
# stmts. Registering scripts of 10k, 100k and 1M statements; cancel,
# terminate and statement_timeout during a 1M-statement registration
# ---------------------------------------------------------------------------
bench_stmts()
{
	local n kind i t ms pid a p
	local -a times=()
	local -A med=()
	local trials=${TRIALS_STMTS:-3}
	echo "[stmts] migr_revision() of one script of 10k, 100k and 1M statements ($trials trials each)"
	sql postgres "CREATE DATABASE bs"
	sql bs "CREATE EXTENSION migr"
	# The scripts, built once: "SELECT i;" lines, and DDL that lint looks at.
	sql bs "CREATE TABLE scripts (kind text, n int, s text)"
	for n in 10000 100000 1000000; do
		sql bs "INSERT INTO scripts SELECT 'select', $n, string_agg(format('SELECT %s;', g), E'\n') FROM generate_series(1, $n) g"
		sql bs "INSERT INTO scripts SELECT 'ddl', $n, string_agg(format('CREATE TABLE t_%s (i int); CREATE INDEX ON t_%s (i);', g, g), E'\n') FROM generate_series(1, $n / 2) g"
	done
	for kind in select ddl; do
		for n in 10000 100000 1000000; do
			times=()
			for i in $(seq "$trials"); do
				t=$(now_ns)
				sql bs "SET client_min_messages = error; SELECT migr_revision('big', s, NULL, 'big_${kind}_${n}_$i', '{}') FROM scripts WHERE kind = '$kind' AND n = $n" >/dev/null
				times+=("$(ms_since "$t")")
			done
			med[$kind$n]=$(median "${times[@]}")
			echo "  $kind, $n statements: ${times[*]} ms (median ${med[$kind$n]} ms, $(awk -v t="${med[$kind$n]}" -v n="$n" 'BEGIN { printf "%.2f", t * 1000 / n }') us per statement)"
		done
		a=$(ratio "${med[${kind}1000000]}" "${med[${kind}100000]}")
		le "$a" 12 && p=1 || p=0
		record "stmts. register 1M / 100k statements ($kind)" "${med[${kind}1000000]} ms" "${med[${kind}100000]} ms" "$a" "<= 12" "$p"
	done

	# Stopping a registration of 1M statements, 1 s after it started: the
	# time from the request to the backend being gone or idle.
	stop_after_1s() # HOW (cancel|terminate|timeout) -> ms
	{
		local start
		if [ "$1" = timeout ]; then
			start=$(now_ns)
			sql bs "SET statement_timeout = '1s'; SELECT migr_revision('big', s, NULL, 'stop', '{}') FROM scripts WHERE kind = 'select' AND n = 1000000" >/dev/null 2>&1 || true
			echo $(( $(ms_since "$start") - 1000 ))
			return
		fi
		sql bs "SELECT migr_revision('big', s, NULL, 'stop', '{}') FROM scripts WHERE kind = 'select' AND n = 1000000" >/dev/null 2>&1 &
		sleep 1
		pid=$(sql bs "SELECT pid FROM pg_stat_activity WHERE query LIKE '%migr_revision(''big'', s, NULL, ''stop''%' AND pid <> pg_backend_pid()")
		[ -n "$pid" ] || die "bench stmts: registration finished within 1 s"
		start=$(now_ns)
		sql bs "SELECT pg_$1_backend($pid)" >/dev/null
		while [ "$(sql bs "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid AND state = 'active'")" != 0 ]; do
			sleep 0.01
		done
		ms_since "$start"
		wait
	}
	for how in cancel terminate timeout; do
		times=()
		for i in $(seq "$trials"); do times+=("$(stop_after_1s "$how")"); done
		a=$(median "${times[@]}")
		echo "  $how after 1 s: ${times[*]} ms"
		le "$a" 1000 && p=1 || p=0
		record "stmts. $how a 1M-statement registration" "${a} ms" "-" "-" "<= 1000 ms" "$p"
	done
	[ "$(sql bs "SELECT count(*) FROM migr.revisions WHERE id = 'stop'")" = 0 ] || die "bench stmts: a stopped registration stored its revision"
	sql postgres "DROP DATABASE bs"
}

# ---------------------------------------------------------------------------
# 9. Progress in pg_stat_activity: what it costs per step and statement
# ---------------------------------------------------------------------------
bench9()
{
	local n=2000 i on off p r a b
	local -a ton=() toff=() con=() coff=() d=()
	local trials=${TRIALS9:-9}
	echo "[9] progress in pg_stat_activity: migr_upgrade('head') of $n steps of 3 statements, track_activities on vs off ($trials trials each, interleaved)"
	# Cheap statements, so that what is reported per statement weighs as
	# much as it can: SELECT N; SELECT 1; SELECT 2;
	sql postgres "CREATE DATABASE b9_tmpl"
	sql b9_tmpl "CREATE EXTENSION migr"
	register_chain b9_tmpl "$n" 'SELECT %s; SELECT 1; SELECT 2;' 'SELECT 1;'
	psql_db b9_tmpl -c "VACUUM ANALYZE" >/dev/null
	# The call alone, timed by the server (microseconds), and the backend's
	# CPU time for it (utime + stime of /proc/self/stat, in ms);
	# track_activities off runs the same code with nothing reported
	# (progress.c).
	local clk_tck cpu
	clk_tck=$(getconf CLK_TCK)
	cpu="(SELECT (s[14]::bigint + s[15]::bigint) * 1000 / $clk_tck FROM pg_catalog.string_to_array(pg_catalog.pg_read_file('/proc/self/stat'), ' ') AS s)"
	run9() # on|off -> "microseconds cpu_ms"
	{
		fresh_db b9_run b9_tmpl
		printf '%s\n' "SET track_activities = $1;" \
			"SELECT clock_timestamp() AS t0, $cpu AS c0 \\gset" \
			"SELECT count(*) FROM migr_upgrade('head') \\g /dev/null" \
			"SELECT round(extract(epoch FROM clock_timestamp() - :'t0') * 1000000)::bigint, $cpu - :c0;" \
			| psql_db b9_run -At | tr '|' ' '
		[ "$(sql b9_run "SELECT count(*) FROM migr.applied")" = "$n" ] || die "bench 9: not $n steps"
	}
	for i in $(seq "$trials"); do
		if [ $((i % 2)) = 1 ]; then
			on=$(run9 on); off=$(run9 off)
		else
			off=$(run9 off); on=$(run9 on)
		fi
		ton+=("${on% *}"); toff+=("${off% *}"); con+=("${on#* }"); coff+=("${off#* }")
		echo "  trial $i: on $((${on% *} / 1000)) ms (CPU ${on#* } ms), off $((${off% *} / 1000)) ms (CPU ${off#* } ms)"
	done
	sql postgres "DROP DATABASE b9_run"
	for i in "${!ton[@]}"; do d+=("$(awk -v a="${ton[$i]}" -v b="${toff[$i]}" -v n="$n" 'BEGIN { printf "%.3f", (a - b) / n }')"); done
	echo "  median of the per-trial differences: $(median "${d[@]}") us per step (3 statements)"
	a=$(median "${ton[@]}"); b=$(median "${toff[@]}")
	r=$(paired_ratio "${ton[*]}" "${toff[*]}")
	le "$r" 1.05 && p=1 || p=0
	record "9. progress on / off, ${n} steps" "$((${a%.*} / 1000)) ms" "$((${b%.*} / 1000)) ms" "$r" "<= 1.05" "$p"
	a=$(median "${con[@]}"); b=$(median "${coff[@]}")
	r=$(paired_ratio "${con[*]}" "${coff[*]}")
	le "$r" 1.05 && p=1 || p=0
	record "9. the same, backend CPU" "${a} ms" "${b} ms" "$r" "<= 1.05" "$p"
}

# ---------------------------------------------------------------------------
# load. bin/migr-load of 1,000 unchanged files (a deploy that brings no new
# migration): the whole command, shell and psql included
# ---------------------------------------------------------------------------
bench_load()
{
	local n=1000 i t p a b parent cpu_sql clk_tck
	local -a tnew=() told=() cnew=() cold=()
	local trials=${TRIALS_LOAD:-7}
	local dir=$WORK/load-files
	local PATH="$BINDIR:$PATH"   # the psql the tools call
	echo "[load] bin/migr-load of $n unchanged files ($trials trials${LOAD_BEFORE_BIN:+, interleaved with $LOAD_BEFORE_BIN/migr-load})"
	mkdir -p "$dir"
	for i in $(seq -w 1 "$n"); do
		parent=
		[ "$i" = 0001 ] || parent=$(printf 'r%04d' $((10#$i - 1)))
		printf -- '-- migr:revision r%s
-- migr:down_revision %s
-- migr:message step %s

-- migr:upgrade
CREATE TABLE t_%s (id integer PRIMARY KEY, note text NOT NULL);
CREATE INDEX ON t_%s (note);

-- migr:downgrade
DROP TABLE t_%s;
' \
			"$i" "$parent" "$i" "$i" "$i" "$i" >"$dir/r${i}_step_$i.sql"
	done
	sql postgres "CREATE DATABASE bl"
	sql bl "CREATE EXTENSION migr"
	"$HERE/../bin/migr-load" "$dir" -d bl -q >/dev/null 2>&1 || die "bench load: the first load failed"
	[ "$(sql bl "SELECT count(*) FROM migr.revisions")" = "$n" ] || die "bench load: not $n revisions"
	# CPU time too, which depends less on what else the machine runs: the
	# shell's and its children's (bash's time) plus the backend's, read by
	# the same psql session after the load (a -c after the directory).
	clk_tck=$(getconf CLK_TCK)
	cpu_sql="SELECT (s[14]::bigint + s[15]::bigint) * 1000 / $clk_tck FROM pg_catalog.string_to_array(pg_catalog.pg_read_file('/proc/self/stat'), ' ') AS s"
	load_once() # BIN -> wall ms, then CPU ms, on two lines
	{
		local TIMEFORMAT='%U %S' t0 wall backend client
		t0=$(now_ns)
		{ time "$1/migr-load" "$dir" -d bl -At -c "$cpu_sql" >"$WORK/load.out" 2>&1; } 2>"$WORK/load.time" \
			|| die "bench load: $1/migr-load failed"
		wall=$(ms_since "$t0")
		[ "$(grep -c '|unchanged$' "$WORK/load.out")" = "$n" ] || die "bench load: not $n unchanged"
		backend=$(tail -1 "$WORK/load.out")
		client=$(awk '{ printf "%d", ($1 + $2) * 1000 }' "$WORK/load.time")
		echo "$wall"
		echo $((backend + client))
	}
	for i in $(seq "$trials"); do
		set -- $(load_once "$HERE/../bin")
		tnew+=("$1"); cnew+=("$2")
		! grep -q WARNING "$WORK/load.out" || die "bench load: warnings for unchanged files"
		if [ -n "${LOAD_BEFORE_BIN:-}" ]; then
			set -- $(load_once "$LOAD_BEFORE_BIN")
			told+=("$1"); cold+=("$2")
		fi
	done
	a=$(median "${tnew[@]}")
	echo "  migr-load: ${tnew[*]} ms (median $a ms); CPU ${cnew[*]} ms (median $(median "${cnew[@]}") ms)"
	le "$a" 500 && p=1 || p=0
	if [ -n "${LOAD_BEFORE_BIN:-}" ]; then
		b=$(median "${told[@]}")
		echo "  before ($LOAD_BEFORE_BIN): ${told[*]} ms (median $b ms); CPU ${cold[*]} ms (median $(median "${cold[@]}") ms)"
		record "load. migr-load 1,000 unchanged files" "${a} ms" "${b} ms" "$(ratio "$a" "$b")" "<= 500 ms" "$p"
		a=$(median "${cnew[@]}"); b=$(median "${cold[@]}")
		le "$a" 500 && p=1 || p=0
		record "load. the same, CPU time" "${a} ms" "${b} ms" "$(ratio "$a" "$b")" "<= 500 ms" "$p"
	else
		record "load. migr-load 1,000 unchanged files" "${a} ms" "-" "-" "<= 500 ms" "$p"
		a=$(median "${cnew[@]}")
		le "$a" 500 && p=1 || p=0
		record "load. the same, CPU time" "${a} ms" "-" "-" "<= 500 ms" "$p"
	fi
	sql postgres "DROP DATABASE bl"
}

latency_of() # DB SCRIPT -> average latency in ms
{
	"$BINDIR/pgbench" -n -t "$NOOP_CALLS" -f "$WORK/$2" "$1" 2>&1 \
		| awk '/^latency average/ { print $4 }'
}

for b in $BENCH; do
	case $b in
	1) bench1 ;; 2) bench2 ;; 3) bench3 ;; 4) bench4 ;; 5) bench5 ;; 6) bench6 ;; 7) bench7 ;;
	stmts) bench_stmts ;;
	9) bench9 ;;
	load) bench_load ;;
	*) die "unknown benchmark $b" ;;
	esac
done

echo
printf '%-44s %14s %14s %7s  %-12s %s\n' "benchmark" "A (median)" "B (median)" "A/B" "target" "result"
printf '%s\n' "${RESULTS[@]}"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$FAILED"
