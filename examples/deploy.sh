#!/bin/sh
# examples/deploy.sh [--production] [MIGRATIONS_DIR]
#
# The deploy of the example application: load the migration files and
# upgrade the schema to head BEFORE the new code starts.  Loading and
# upgrading are one psql call and one transaction, so if anything fails
# (a refused file, a failing migration) nothing changed: the old code keeps
# running on the old schema, and the script exits non-zero without
# restarting anything.
#
#   --production      confirm changes to a production database
#                     (PGOPTIONS='-c migr.confirm_production=yes')
#   MIGRATIONS_DIR    default: the migrations/ directory beside this script
#
# Connection settings come from PGHOST, PGDATABASE, PGUSER, ...  The command
# that starts the new code is $DEPLOY_RESTART (for example
# DEPLOY_RESTART='docker compose up -d'); without it the script only says
# where it would run.  bin/migr-load is found beside examples/, or at
# $MIGR_BIN/migr-load.

set -eu

here=$(cd "$(dirname "$0")" && pwd)
production=no
if [ "${1:-}" = --production ]; then
    production=yes
    shift
fi
dir=${1:-$here/migrations}
migr_bin=${MIGR_BIN:-$here/../bin}

if [ "$production" = yes ]; then
    PGOPTIONS="${PGOPTIONS:+$PGOPTIONS }-c migr.confirm_production=yes"
    export PGOPTIONS
fi

echo "== loading $dir and upgrading to head"
if ! "$migr_bin/migr-load" "$dir" -1 -c "SELECT * FROM migr_upgrade('head')"; then
    echo "deploy: migration failed; the database is unchanged, the old code keeps running" >&2
    exit 1
fi

echo "== starting the new code"
if [ -n "${DEPLOY_RESTART:-}" ]; then
    sh -c "$DEPLOY_RESTART"
else
    echo "(set DEPLOY_RESTART to the command that starts it, e.g. 'docker compose up -d')"
fi
