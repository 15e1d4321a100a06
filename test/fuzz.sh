#!/usr/bin/env bash
# test/fuzz.sh: the long run of the fuzzer (test/t/030_fuzz.pl) alone.
#
#     MIGR_FUZZ_COUNT=200000 MIGR_FUZZ_SEED=12345 test/fuzz.sh
#
# Builds and installs migr as `make test` does (MIGR_SKIP_SETUP=1 skips it;
# MIGR_PG_ROOT and MIGR_PORT_BASE work as there), then runs only the fuzzer
# through scripts/run-tests.sh (MIGR_TEST_ROOT pointing at a copy holding
# just that test).  The seed is printed at the start and in the summary;
# the same seed and count give the same inputs.  Without MIGR_FUZZ_SEED the
# seed is taken from the clock.  A TAP file may run for at most 900 s in the
# harness: about 40,000 inputs on a busy two-core machine; for more, run
# several seeds.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/test/t"
cp "$here/MigrAttack.pm" "$root/test/"
cp "$here/t/030_fuzz.pl" "$root/test/t/"
[ -f "$here/extra.conf" ] && cp "$here/extra.conf" "$root/test/"
chmod -R a+rX "$root"
export MIGR_FUZZ_SEED=${MIGR_FUZZ_SEED:-$(date +%s)}
export MIGR_FUZZ_COUNT=${MIGR_FUZZ_COUNT:-20000}
echo "fuzz: MIGR_FUZZ_SEED=$MIGR_FUZZ_SEED MIGR_FUZZ_COUNT=$MIGR_FUZZ_COUNT"
MIGR_TEST_ROOT=$root bash "$repo/scripts/run-tests.sh"
