# shellcheck shell=bash
# scripts/lib.sh: shared helpers for the migr harness (`make demo`, `make test`).
#
# Sourced, never executed.  Provides:
#   - paths of the PostgreSQL 15 installation the harness uses (never the
#     pg_config found on PATH, which on Debian may belong to another major);
#   - the unprivileged user the server runs as, and as_user to run a command
#     as that user (runuser, because sudo may be absent);
#   - a scratch directory from mktemp -d, owned by that user, removed on exit
#     together with every server started under it;
#   - cluster_start / cluster_stop for a throwaway cluster that listens on a
#     free port of 127.0.0.1 and on a unix socket inside the scratch dir.
#
# Environment knobs (all optional):
#   MIGR_KEEP_SCRATCH=1   keep the scratch dir after the run (its path is printed)
#   MIGR_PORT_BASE=N      first TCP port probed for the throwaway cluster (55432)
#   MIGR_PG_ROOT=DIR      a relocated copy of PostgreSQL 15 to build and test with

# shellcheck disable=SC2034  # these are used by the scripts that source this file
PGVER=15
# MIGR_PG_ROOT=DIR: use a relocated copy of the PostgreSQL installation
# (DIR/usr/lib/postgresql/15, DIR/usr/share/postgresql/15) instead of the
# system one, so that several checkouts can install and test side by side.
PGBIN=${MIGR_PG_ROOT:-}/usr/lib/postgresql/$PGVER/bin
PG_CONFIG=$PGBIN/pg_config
PGXS_DIR=${MIGR_PG_ROOT:-}/usr/lib/postgresql/$PGVER/lib/pgxs
PG_REGRESS=$PGXS_DIR/src/test/regress/pg_regress
PG_PERL_LIB=$PGXS_DIR/src/test/perl

# Top of the checkout: the parent of this file's directory.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The extension's name, from the checkout's control file (migr.control).
EXT=migr
for _f in "$REPO"/*.control; do
    [ -e "$_f" ] && EXT=$(basename "$_f" .control)
    break
done
unset _f

say()
{
    printf '==> %s\n' "$*"
}

warn()
{
    printf '==> %s\n' "$*" >&2
}

# The server refuses to run as root: as root use the postgres system user
# (created by postgresql-common), otherwise whoever runs the harness.
if [ "$(id -u)" -eq 0 ]; then
    RUN_AS=postgres
else
    RUN_AS=$(id -un)
fi

# Run a command as $RUN_AS.  The environment is passed through (runuser only
# resets HOME, SHELL, USER and LOGNAME), so exported PG* variables reach it.
as_user()
{
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$RUN_AS" -- "$@"
    else
        "$@"
    fi
}

# ---------------------------------------------------------------------------
# Scratch directory and cleanup
# ---------------------------------------------------------------------------

SCRATCH=
PGDATA_DIR=
PGSOCK=
PGPORT_USED=

# Stop every postmaster whose data directory lies in the scratch dir: the
# throwaway cluster, and anything a killed TAP test left behind.  Only pids
# read from postmaster.pid files under our own scratch dir are signalled.
stop_scratch_servers()
{
    local pidfile pid datadir
    [ -n "$SCRATCH" ] && [ -d "$SCRATCH" ] || return 0
    while IFS= read -r pidfile; do
        datadir=$(dirname "$pidfile")
        pid=$(head -n 1 "$pidfile" 2>/dev/null)
        as_user "$PGBIN/pg_ctl" -D "$datadir" -m fast -w -t 30 stop >/dev/null 2>&1 && continue
        as_user "$PGBIN/pg_ctl" -D "$datadir" -m immediate -w -t 30 stop >/dev/null 2>&1 && continue
        case $pid in
            '' | *[!0-9]*) ;;
            *) kill -KILL "$pid" 2>/dev/null ;;
        esac
    done < <(find "$SCRATCH" -name postmaster.pid -type f 2>/dev/null)
}

cleanup_scratch()
{
    local rc=$?
    trap - EXIT INT TERM HUP
    stop_scratch_servers
    if [ -n "$SCRATCH" ] && [ -d "$SCRATCH" ]; then
        [ "${MIGR_KEEP_SCRATCH:-}" = 1 ] || rm -rf "$SCRATCH"
    fi
    exit "$rc"
}

# Create the scratch dir, hand it to $RUN_AS and cd into it (the checkout may
# be unreadable to $RUN_AS, and initdb fails in an unreadable cwd).
make_scratch()
{
    # As root, /tmp: a TMPDIR of root's may not be reachable by $RUN_AS.
    if [ "$(id -u)" -eq 0 ]; then
        SCRATCH=$(mktemp -d /tmp/migr.XXXXXX)
    else
        SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/migr.XXXXXX")
    fi
    trap cleanup_scratch EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
    chmod 755 "$SCRATCH"
    if [ "$(id -u)" -eq 0 ]; then
        chown "$RUN_AS:" "$SCRATCH"
    fi
    cd "$SCRATCH" || exit 1
    [ "${MIGR_KEEP_SCRATCH:-}" = 1 ] && say "scratch dir $SCRATCH will be kept"
    return 0
}

# Copy files or directories into the scratch dir, owned by $RUN_AS.
copy_to_scratch()
{
    local dest=$1
    shift
    mkdir -p "$dest"
    [ "$#" -gt 0 ] && cp -R "$@" "$dest"/
    if [ "$(id -u)" -eq 0 ]; then
        chown -R "$RUN_AS:" "$dest"
    fi
}

# ---------------------------------------------------------------------------
# Throwaway cluster
# ---------------------------------------------------------------------------

# True when something accepts TCP connections on 127.0.0.1:$1.
port_in_use()
{
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# cluster_start [EXTRA_CONF]
# initdb a cluster in $SCRATCH/data (superuser "postgres" whoever runs it, so
# output naming the owner is the same for root and non-root runs), append
# EXTRA_CONF if given, and start it on the first free port from
# MIGR_PORT_BASE.  Exports PGHOST, PGPORT, PGUSER for the clients.
cluster_start()
{
    local extra_conf=${1:-} port tries=0 log
    PGDATA_DIR=$SCRATCH/data
    PGSOCK=$SCRATCH/sock
    log=$SCRATCH/server.log
    as_user mkdir -p "$PGSOCK"

    if ! as_user "$PGBIN/initdb" -D "$PGDATA_DIR" -U postgres -A trust \
        --no-locale -E UTF8 --no-sync >"$SCRATCH/initdb.log" 2>&1; then
        warn "initdb failed:"
        cat "$SCRATCH/initdb.log" >&2
        return 1
    fi
    {
        echo
        echo "# added by scripts/lib.sh (throwaway cluster)"
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = '$PGSOCK'"
        echo "shared_preload_libraries = ''"
        echo "fsync = off"
        echo "synchronous_commit = off"
        echo "full_page_writes = off"
        echo "lc_messages = 'C'"
        if [ -n "$extra_conf" ] && [ -f "$extra_conf" ]; then
            echo "# from $extra_conf"
            cat "$extra_conf"
        fi
    } >>"$PGDATA_DIR/postgresql.conf"

    port=${MIGR_PORT_BASE:-55432}
    while [ "$tries" -lt 200 ]; do
        tries=$((tries + 1))
        if port_in_use "$port"; then
            port=$((port + 1))
            continue
        fi
        : >"$log"
        [ "$(id -u)" -eq 0 ] && chown "$RUN_AS:" "$log"
        if as_user "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$log" -o "-p $port" \
            -w -t 60 start >/dev/null 2>&1; then
            PGPORT_USED=$port
            export PGHOST=$PGSOCK PGPORT=$port PGUSER=postgres
            say "throwaway cluster up on 127.0.0.1:$port (socket dir $PGSOCK)"
            return 0
        fi
        # Lost a race for the port: try the next one.  Anything else is fatal.
        if grep -q 'could not bind\|Address already in use\|could not create lock file' "$log"; then
            port=$((port + 1))
            continue
        fi
        break
    done
    warn "could not start the throwaway cluster; server log:"
    cat "$log" >&2
    return 1
}

cluster_stop()
{
    [ -n "$PGDATA_DIR" ] && [ -f "$PGDATA_DIR/postmaster.pid" ] || return 0
    as_user "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 60 stop >/dev/null
}

# psql against the throwaway cluster: pg_psql DB [psql args...]
pg_psql()
{
    local db=$1
    shift
    as_user "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"
}
