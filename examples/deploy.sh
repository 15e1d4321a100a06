#!/bin/sh
# examples/deploy.sh [--dry-run] [--production] [MIGRATIONS_DIR]
#
# The deploy of the example application: load the migration files and
# upgrade the schema to head BEFORE the new code starts, with
# bin/migr-deploy: one migr_load() call (a refused file stores nothing),
# then one CALL migr_upgrade_each('head'), which commits step by step and
# so deploys any history, however long.  If a step fails, the steps before
# it stay applied (each revision must suit the code that runs now: the
# two-deploy rule), the script prints the failing file and line, exits
# non-zero and does not start the new code; after the fix, running it
# again goes on from the failed step.
#
#   --dry-run         show the plan and the dry run report; apply nothing,
#                     start nothing (exit 1 if the dry run met an error)
#   --production      confirm changes to a production database
#                     (SET migr.confirm_production = on in the session)
#   MIGRATIONS_DIR    default: the migrations/ directory beside this script
#
# Connection settings come from PGHOST, PGDATABASE, PGUSER, ...  The command
# that starts the new code is $DEPLOY_RESTART (for example
# DEPLOY_RESTART='docker compose up -d'); without it the script only says
# where it would run.  bin/migr-deploy is found beside examples/, or at
# $MIGR_BIN/migr-deploy.

set -eu

here=$(cd "$(dirname "$0")" && pwd)
migr_bin=${MIGR_BIN:-$here/../bin}
options=
dry_run=no
while [ "$#" -gt 0 ]; do
    case $1 in
        --dry-run) dry_run=yes; options="$options --dry-run" ;;
        --production) options="$options --production" ;;
        *) break ;;
    esac
    shift
done
dir=${1:-$here/migrations}

echo "== deploying $dir"
# $options holds only the fixed words above: split them.
# shellcheck disable=SC2086
if ! "$migr_bin/migr-deploy" $options "$dir"; then
    if [ "$dry_run" = yes ]; then
        echo "deploy: the dry run failed; nothing was applied" >&2
    else
        echo "deploy: migration failed; the old code keeps running (steps before the failed one stay applied)" >&2
    fi
    exit 1
fi
[ "$dry_run" = yes ] && exit 0

echo "== starting the new code"
if [ -n "${DEPLOY_RESTART:-}" ]; then
    sh -c "$DEPLOY_RESTART"
else
    echo "(set DEPLOY_RESTART to the command that starts it, e.g. 'docker compose up -d')"
fi
