#!/usr/bin/env bash
# scripts/run-tests.sh: `make test`.  Builds (-Werror) and installs migr, runs
# every kind of test, and ends with the line "N passed, N failed".  Exits 1
# if anything failed, or if there is no test at all.
#
# Each test FILE counts once, whatever it asserts inside; a pg_regress test
# that pg_regress never reached counts as failed.  A harness step that fails
# (setup/build/install, starting the cluster, preparing a pgTAP database, an
# unexplained non-zero exit of pg_regress) counts as one failure.
#
# Test kinds (a kind whose directory holds no file is skipped):
#
# pg_regress   test/sql/*.sql, expected output in expected/*.out (alternative
#              expected/NAME_1.out etc. allowed).  All files run in name order
#              in ONE database, contrib_regression, as in PGXS installcheck;
#              the database starts empty: a test that needs migr creates it
#              (CREATE EXTENSION migr), and one that needs a clean slate drops
#              what earlier tests left.  It runs on the throwaway cluster
#              (pg_regress --use-existing), as superuser "postgres".  The
#              scratch copy mirrors the checkout, as with
#              REGRESS_OPTS = --inputdir=test: abs_srcdir (\getenv abs_srcdir
#              PG_ABS_SRCDIR) is the copy of test/; the install scripts in
#              sql/ are NOT copied, so they cannot shadow tests.
#
# pgTAP        test/pgtap/*.sql, run with pg_prove on the throwaway cluster.
#              Each file gets its own fresh database (created from template1)
#              in which the harness has already run
#                  CREATE EXTENSION pgtap; CREATE EXTENSION migr;
#              so a file must not create them again (IF NOT EXISTS is fine).
#              pg_prove runs psql with ON_ERROR_STOP; wrap the file in
#              BEGIN ... ROLLBACK if it should leave nothing behind.
#
# TAP          test/t/*.pl, run one by one with prove, as PostgreSQL's own TAP
#              tests: use PostgreSQL::Test::Cluster and PostgreSQL::Test::Utils
#              (PERL5LIB has the PGXS perl dir and the copy of test/).  Each
#              file makes its own nodes ($node->init; $node->start); the
#              installed migr is what they load.  The cwd is the scratch copy
#              of test/ (../examples and ../expected are copied beside it,
#              and ../bin, ../src, ../sql, ../typedefs.list, ../README.md and the scripts
#              check-layers.sh, indent.sh and lib.sh from the checkout).  MIGR_REPO is the directory
#              holding these copies (test/, examples/, expected/, bin/), for
#              tests that run the shell tools: "$ENV{MIGR_REPO}/bin/migr-load".
#              Environment: PATH starts with /usr/lib/postgresql/15/bin;
#              PG_REGRESS, TESTDIR and TESTDATADIR (tmp_check in scratch) and
#              TMPDIR (in scratch) are set; TEMP_CONFIG is test/extra.conf
#              when that file exists.
#
# test/extra.conf (optional) is appended to postgresql.conf of every server
# the tests start: the throwaway cluster and every TAP node (TEMP_CONFIG);
# e.g. "shared_preload_libraries = 'migr'".
#
# Time limits: pg_regress 900 s, each pgTAP file 300 s, each TAP file 900 s.
#
# Environment knobs:
#   MIGR_TEST_ROOT=DIR    take test/, expected/, examples/ from DIR instead of
#                         the checkout (the extension is still built from it)
#   MIGR_SKIP_SETUP=1     skip scripts/setup.sh (reuse what is installed)
#   MIGR_KEEP_SCRATCH=1   keep the scratch dir (results, logs) after the run
#   MIGR_ONLY=REGEX       run only the test files whose name (e.g. 13_dry_run.sql,
#                         007_offline.pl) matches the extended regex; for quick
#                         runs while working; a full run is what counts

set -uo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TEST_ROOT=$(cd "${MIGR_TEST_ROOT:-$REPO}" && pwd) || exit 1

passed=0
failed=0
failures=()

pass()
{
    passed=$((passed + 1))
}

fail()
{
    failed=$((failed + 1))
    failures+=("$1")
}

# Print the summary (always the last line) and exit accordingly.
finish()
{
    local f
    if [ "${#failures[@]}" -gt 0 ]; then
        echo
        echo "failed:"
        for f in "${failures[@]}"; do
            echo "  $f"
        done
    fi
    stop_scratch_servers
    echo
    echo "$passed passed, $failed failed"
    if [ "$failed" -gt 0 ]; then
        exit 1
    fi
    exit 0
}

# ---------------------------------------------------------------------------
# Which tests exist
# ---------------------------------------------------------------------------

shopt -s nullglob
export LC_ALL=C
regress_files=("$TEST_ROOT"/test/sql/*.sql)
pgtap_files=("$TEST_ROOT"/test/pgtap/*.sql)
tap_files=("$TEST_ROOT"/test/t/*.pl)
shopt -u nullglob

# Keep only the files whose name matches MIGR_ONLY (an extended regex).
only()
{
    local f
    for f in "$@"; do
        if [[ $(basename "$f") =~ ${MIGR_ONLY} ]]; then
            printf '%s\n' "$f"
        fi
    done
}
if [ -n "${MIGR_ONLY:-}" ]; then
    mapfile -t regress_files < <(only "${regress_files[@]}")
    mapfile -t pgtap_files < <(only "${pgtap_files[@]}")
    mapfile -t tap_files < <(only "${tap_files[@]}")
    say "MIGR_ONLY=$MIGR_ONLY: running a subset, not the whole suite"
fi

total_files=$((${#regress_files[@]} + ${#pgtap_files[@]} + ${#tap_files[@]}))
if [ "$total_files" -eq 0 ]; then
    warn "no tests found under $TEST_ROOT/test (sql/, pgtap/, t/)"
    fail "no tests found"
    finish
fi

# ---------------------------------------------------------------------------
# Setup: packages, build with -Werror, install
# ---------------------------------------------------------------------------

start_time=$SECONDS
if [ "${MIGR_SKIP_SETUP:-}" != 1 ]; then
    if ! bash "$REPO/scripts/setup.sh" --werror; then
        fail "setup (packages, build or install)"
        finish
    fi
fi

make_scratch
SRC=$SCRATCH/src
copy_to_scratch "$SRC" "$TEST_ROOT/test"
for d in expected examples; do
    [ -d "$TEST_ROOT/$d" ] && copy_to_scratch "$SRC" "$TEST_ROOT/$d"
done
# The shell tools always come from the checkout (TAP tests run them), and
# so do src/ and the layer check (040_layers reads the call graph).
[ -d "$REPO/bin" ] && copy_to_scratch "$SRC" "$REPO/bin"
copy_to_scratch "$SRC/src" "$REPO"/src/*.c "$REPO"/src/*.h
copy_to_scratch "$SRC/scripts" "$REPO/scripts/check-layers.sh" "$REPO/scripts/indent.sh" \
    "$REPO/scripts/lib.sh"
# The layer check reads the names of migr's tables from the install scripts.
copy_to_scratch "$SRC/sql" "$REPO"/sql/migr--*.sql
copy_to_scratch "$SRC" "$REPO/typedefs.list" "$REPO/README.md"
EXTRA_CONF=
[ -f "$SRC/test/extra.conf" ] && EXTRA_CONF=$SRC/test/extra.conf

# ---------------------------------------------------------------------------
# pg_regress
# ---------------------------------------------------------------------------

run_regress()
{
    local names=() f out rc name status n_ok=0 n_bad=0
    for f in "${regress_files[@]}"; do
        names+=("$(basename "$f" .sql)")
    done
    say "pg_regress: ${#names[@]} test(s)"

    pg_psql postgres <<'EOF' || { fail "pg_regress: creating database contrib_regression"; return; }
CREATE DATABASE contrib_regression TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C';
ALTER DATABASE contrib_regression SET lc_messages TO 'C';
ALTER DATABASE contrib_regression SET lc_monetary TO 'C';
ALTER DATABASE contrib_regression SET lc_numeric TO 'C';
ALTER DATABASE contrib_regression SET lc_time TO 'C';
ALTER DATABASE contrib_regression SET bytea_output TO 'hex';
ALTER DATABASE contrib_regression SET timezone_abbreviations TO 'Default';
EOF

    # pg_regress gives up on the whole run when an expected file is missing.
    # Give such a test an empty one instead: it fails, and the diff shows its
    # whole output, ready to be reviewed and saved as expected/NAME.out.
    for name in "${names[@]}"; do
        if ! compgen -G "$SRC/expected/${name}.out" >/dev/null &&
            ! compgen -G "$SRC/expected/${name}_[0-9].out" >/dev/null; then
            warn "expected/$name.out is missing: $name will fail, its output is in the diff"
            as_user mkdir -p "$SRC/expected"
            as_user touch "$SRC/expected/$name.out"
        fi
    done

    out=$SCRATCH/pg_regress.out
    # outputdir = copy of the top of the checkout (expected/ is found there,
    # results/ goes there), inputdir = copy of test/ (sql/ is found there).
    (cd "$SRC" && as_user timeout --foreground -k 10 900 "$PG_REGRESS" \
        --bindir="$PGBIN" --inputdir=test --outputdir=. \
        --use-existing --host="$PGSOCK" --port="$PGPORT_USED" --user=postgres \
        --dbname=contrib_regression "${names[@]}") >"$out" 2>&1
    rc=$?
    cat "$out"
    stop_if_interrupted "$rc"

    # PG15 prints one line per test: "test NAME ... ok 12 ms" (or
    # "     NAME ... FAILED" inside a parallel group, or "failed (ignored)").
    local -A result=()
    while read -r name status; do
        result[$name]=$status
    done < <(sed -n -E 's/^(test +|     )?([^ ]+) +\.\.\. +(ok|FAILED|failed \(ignored\)).*$/\2 \3/p' "$out")
    for name in "${names[@]}"; do
        case ${result[$name]:-} in
            ok | 'failed (ignored)')
                pass
                n_ok=$((n_ok + 1))
                ;;
            FAILED)
                fail "pg_regress: $name"
                n_bad=$((n_bad + 1))
                ;;
            *)
                fail "pg_regress: $name (no result: pg_regress stopped before it)"
                n_bad=$((n_bad + 1))
                ;;
        esac
    done
    if [ "$rc" -ne 0 ] && [ "$n_bad" -eq 0 ]; then
        fail "pg_regress exited with status $rc"
    fi
    if [ -s "$SRC/regression.diffs" ]; then
        echo "---- regression.diffs ----"
        head -n 2000 "$SRC/regression.diffs"
        echo "---- end of regression.diffs ----"
    fi
}

# A test command that died of SIGINT (Ctrl-C): stop running tests.
stop_if_interrupted()
{
    if [ "$1" -eq 130 ]; then
        fail "interrupted"
        finish
    fi
}

# prove and pg_prove close every run with a summary; for one file it only
# repeats the per-file line, so drop it.
drop_prove_summary()
{
    grep -v -E '^(All tests successful\.|Files=[0-9]+, Tests=[0-9]+, .*|Result: (PASS|FAIL))$'
    return 0
}

# ---------------------------------------------------------------------------
# pgTAP
# ---------------------------------------------------------------------------

run_pgtap()
{
    local f name db i=0 rc
    say "pgTAP: ${#pgtap_files[@]} file(s)"
    for f in "${pgtap_files[@]}"; do
        i=$((i + 1))
        name=$(basename "$f")
        db=pgtap_$i
        if ! pg_psql postgres -c "CREATE DATABASE $db TEMPLATE template1" ||
            ! pg_psql "$db" -c 'CREATE EXTENSION pgtap' -c "CREATE EXTENSION $EXT"; then
            fail "pgTAP: $name (preparing database $db)"
            continue
        fi
        (cd "$SRC/test/pgtap" && as_user env PATH="$PGBIN:$PATH" \
            timeout --foreground -k 10 300 pg_prove --dbname "$db" --host "$PGSOCK" \
            --port "$PGPORT_USED" --username postgres "$name") 2>&1 | drop_prove_summary
        rc=${PIPESTATUS[0]}
        stop_if_interrupted "$rc"
        if [ "$rc" -eq 0 ]; then
            pass
        else
            fail "pgTAP: $name"
        fi
    done
}

# ---------------------------------------------------------------------------
# TAP (PostgreSQL::Test::Cluster)
# ---------------------------------------------------------------------------

run_tap()
{
    local f name rc tapdir=$SCRATCH/tap log
    say "TAP: ${#tap_files[@]} file(s)"
    # TMPDIR: File::Temp dirs (the nodes' socket dirs, kept after a failed
    # test) must land in the scratch dir, not in /tmp.
    as_user mkdir -p "$tapdir" "$tapdir/tmp"
    for f in "${tap_files[@]}"; do
        name=$(basename "$f")
        (cd "$SRC/test" && as_user env \
            PATH="$PGBIN:$PATH" \
            PERL5LIB="$PG_PERL_LIB:$SRC/test${PERL5LIB:+:$PERL5LIB}" \
            PG_REGRESS="$PG_REGRESS" \
            MIGR_REPO="$SRC" \
            TESTDIR="$tapdir" \
            TESTDATADIR="$tapdir/tmp_check" \
            TMPDIR="$tapdir/tmp" \
            ${EXTRA_CONF:+TEMP_CONFIG="$EXTRA_CONF"} \
            timeout --foreground -k 10 900 prove "t/$name") 2>&1 | drop_prove_summary
        rc=${PIPESTATUS[0]}
        stop_if_interrupted "$rc"
        if [ "$rc" -eq 0 ]; then
            pass
        else
            fail "TAP: $name"
            # The test's own log, then the server log of each of its nodes.
            for log in "$tapdir/tmp_check/log/regress_log_${name%.pl}" \
                "$tapdir/tmp_check/log/${name%.pl}"_*.log; do
                [ -f "$log" ] || continue
                echo "---- last 60 lines of $(basename "$log") ----"
                tail -n 60 "$log"
            done
            echo "---- end of logs ----"
        fi
    done
}

# ---------------------------------------------------------------------------

if [ "${#regress_files[@]}" -gt 0 ] || [ "${#pgtap_files[@]}" -gt 0 ]; then
    if cluster_start "$EXTRA_CONF"; then
        [ "${#regress_files[@]}" -gt 0 ] && run_regress
        [ "${#pgtap_files[@]}" -gt 0 ] && run_pgtap
        cluster_stop || fail "stopping the throwaway cluster"
    else
        fail "starting the throwaway cluster"
    fi
fi
[ "${#tap_files[@]}" -gt 0 ] && run_tap

say "took $((SECONDS - start_time)) s (build and install included)"
finish
