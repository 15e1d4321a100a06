#!/bin/sh
# examples/rollback.sh [--production] [--downgrade] OLD_HEAD
#
# Before going back to an older build of the example application, check
# that the database suits it.  OLD_HEAD is the head that build expects (for
# example from its image label, set from migr_heads() when it was built).
#
# - The database is at OLD_HEAD, or ahead of it only by additive revisions
#   (which the old code ignores): exit 0, start the old build.
# - Otherwise print the revisions in between with migr_rollback_check() and
#   exit 1; with --downgrade, downgrade to OLD_HEAD instead (all or
#   nothing) and exit 0 if that worked.
#
#   --production   confirm the downgrade on a production database
#
# Each database step is one psql call; connection settings come from
# PGHOST, PGDATABASE, PGUSER, ...

set -eu

production=no
downgrade=no
while [ "$#" -gt 1 ]; do
    case $1 in
        --production) production=yes ;;
        --downgrade) downgrade=yes ;;
        *) break ;;
    esac
    shift
done
if [ "$#" -ne 1 ]; then
    echo "usage: rollback.sh [--production] [--downgrade] OLD_HEAD" >&2
    exit 2
fi
want=$1

# Run SQL read from stdin with :'want' set; psql quotes it.
sql()
{
    psql -X -q -v ON_ERROR_STOP=1 -v want="$want" "$@" -f -
}

if echo "SELECT migr_check_head(:'want', allow_compatible => true);" |
    sql -A -t >/dev/null; then
    echo "rollback: the database suits $want; start the old build"
    exit 0
fi

# MG005 (printed above by psql, with a HINT) or another error: list why.
echo "SELECT * FROM migr_rollback_check(:'want');" | sql || true

if [ "$downgrade" = no ]; then
    echo "rollback: the database does not suit $want: downgrade first (--downgrade), or restore it" >&2
    exit 1
fi

if [ "$production" = yes ]; then
    PGOPTIONS="${PGOPTIONS:+$PGOPTIONS }-c migr.confirm_production=yes"
    export PGOPTIONS
fi
echo "== downgrading to $want"
if ! echo "SELECT * FROM migr_downgrade(:'want');" | sql; then
    echo "rollback: the downgrade failed; nothing changed" >&2
    exit 1
fi
echo "rollback: the database is at $want; start the old build"
