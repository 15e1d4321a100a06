#!/usr/bin/env bash
# scripts/demo.sh: `make demo`.  Builds and installs migr, starts a throwaway
# cluster, creates database migr_demo with CREATE EXTENSION migr already run,
# and runs examples/demo.sql in it with psql (statements echoed, stops at the
# first error).  The cluster and its scratch dir are removed afterwards.
#
# examples/ is copied to the scratch dir and demo.sql runs from that copy, so
# the paths in it (migrations/*.sql, read with psql backquotes) work.  test/extra.conf, when present, is
# appended to the cluster's postgresql.conf (as for `make test`).

set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [ ! -f "$REPO/examples/demo.sql" ]; then
    warn "examples/demo.sql not found"
    exit 1
fi

if [ "${MIGR_SKIP_SETUP:-}" != 1 ]; then
    bash "$REPO/scripts/setup.sh"
fi

make_scratch
copy_to_scratch "$SCRATCH/src" "$REPO/examples"
extra_conf=
if [ -f "$REPO/test/extra.conf" ]; then
    copy_to_scratch "$SCRATCH/src" "$REPO/test/extra.conf"
    extra_conf=$SCRATCH/src/extra.conf
fi

cluster_start "$extra_conf"
pg_psql postgres -c 'CREATE DATABASE migr_demo'
pg_psql migr_demo -c "CREATE EXTENSION $EXT"

say "running examples/demo.sql"
cd "$SCRATCH/src/examples"
as_user "$PGBIN/psql" -X -v ON_ERROR_STOP=1 --echo-all -d migr_demo -f demo.sql
cluster_stop
say "demo finished"
