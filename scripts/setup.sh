#!/usr/bin/env bash
# scripts/setup.sh: make this machine able to build, install and test migr.
#
#   scripts/setup.sh [--werror]
#
# 1. Ensures the Debian packages below are installed.  As root, missing ones
#    are installed with apt-get; as anyone else, the exact sudo command is
#    printed and the script exits 1.
# 2. Builds the extension with PostgreSQL 15's own pg_config, two jobs.
#    --werror (used by `make test`) adds COPT=-Werror and rebuilds every
#    object, so a warning anywhere fails the build.
# 3. Installs it (make install).  As non-root this is skipped when the
#    installed files are already identical; otherwise it is tried, and if it
#    fails the script says `sudo make install` is needed and exits 1.
#
# MIGR_EXTRA_PKGS="a b" adds package names to the check (used to exercise the
# missing-package path without uninstalling anything).

set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

werror=0
for arg in "$@"; do
    case $arg in
        --werror) werror=1 ;;
        *)
            warn "usage: $0 [--werror]"
            exit 2
            ;;
    esac
done

# ---------------------------------------------------------------------------
# 1. Packages
# ---------------------------------------------------------------------------

packages=(
    postgresql-15
    postgresql-server-dev-15
    postgresql-15-pgtap
    libtap-parser-sourcehandler-pgtap-perl
    libipc-run-perl
    graphviz
    python3-alembic             # test/graph_diff.py: the graph against Alembic
    python3-psycopg2            # test/t/050_import.pl: Alembic migrates a database
    sqitch                      # test/t/050_import.pl: Sqitch deploys a database
    libdbd-pg-perl              # (Sqitch's PostgreSQL driver)
    cscope                      # scripts/check-layers.sh: who calls whom in src/
    universal-ctags             # scripts/check-layers.sh, scripts/indent.sh
    pg-bsd-indent               # scripts/indent.sh: src/ stays indented
    make
    gcc
)
# shellcheck disable=SC2206
packages+=(${MIGR_EXTRA_PKGS:-})

missing=()
for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = installed ] || missing+=("$pkg")
done

if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        say "installing missing packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q ||
            { sleep 5; apt-get update -q; }
        apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
    else
        warn "missing Debian packages: ${missing[*]}"
        warn "install them with:"
        echo "sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
fi

for f in "$PG_CONFIG" "$PGBIN/initdb" "$PG_REGRESS" "$PG_PERL_LIB/PostgreSQL/Test/Cluster.pm"; do
    if [ ! -e "$f" ]; then
        warn "$f is missing although the packages are installed"
        exit 1
    fi
done
# dbmate is not a Debian package but an npm one: test/t/050_import.pl lets
# dbmate itself migrate a database when it is installed here (otherwise it
# applies the files the way dbmate does).  Best effort, as root with npm.
dbmate_dir=/usr/local/lib/migr-test
if [ "$(id -u)" -eq 0 ] && [ ! -x "$dbmate_dir/node_modules/.bin/dbmate" ] &&
    command -v npm >/dev/null 2>&1; then
    say "installing dbmate from npm into $dbmate_dir"
    mkdir -p "$dbmate_dir"
    npm install --no-audit --no-fund --prefix "$dbmate_dir" dbmate@2.36.0 >/dev/null 2>&1 ||
        warn "npm install dbmate failed; test/t/050_import.pl applies dbmate's files itself"
fi

if [ "$(id -u)" -eq 0 ] && ! id -u "$RUN_AS" >/dev/null 2>&1; then
    warn "user $RUN_AS does not exist (postgresql-common should have created it)"
    exit 1
fi

# ---------------------------------------------------------------------------
# 2. Build
# ---------------------------------------------------------------------------

make_args=(-C "$REPO" --no-print-directory PG_CONFIG="$PG_CONFIG")
build_args=(-j2)
if [ "$werror" = 1 ]; then
    # -B: objects built earlier without -Werror must not hide a warning.
    build_args+=(-B COPT=-Werror)
fi

buildlog=$(mktemp "${TMPDIR:-/tmp}/migr-build.XXXXXX")
trap 'rm -f "$buildlog"' EXIT
msg="building $EXT with $PG_CONFIG"
[ "$werror" = 1 ] && msg+=" and -Werror"
say "$msg"
if ! make "${make_args[@]}" "${build_args[@]}" >"$buildlog" 2>&1; then
    cat "$buildlog"
    warn "build failed"
    exit 1
fi
if grep -q 'warning:' "$buildlog"; then
    grep -B2 -A4 'warning:' "$buildlog"
fi

# ---------------------------------------------------------------------------
# 3. Install
# ---------------------------------------------------------------------------

# True when every file `make install` would copy is already installed as is.
installed_up_to_date()
{
    local pkglibdir sharedir f
    pkglibdir=$("$PG_CONFIG" --pkglibdir)
    sharedir=$("$PG_CONFIG" --sharedir)
    cmp -s "$REPO/$EXT.so" "$pkglibdir/$EXT.so" || return 1
    cmp -s "$REPO/$EXT.control" "$sharedir/extension/$EXT.control" || return 1
    for f in "$REPO"/sql/"$EXT"--*.sql; do
        [ -e "$f" ] || continue
        cmp -s "$f" "$sharedir/extension/$(basename "$f")" || return 1
    done
}

if [ "$(id -u)" -eq 0 ]; then
    if ! make "${make_args[@]}" install >"$buildlog" 2>&1; then
        cat "$buildlog"
        warn "make install failed"
        exit 1
    fi
elif installed_up_to_date; then
    say "installed $EXT is up to date"
elif ! make "${make_args[@]}" install >"$buildlog" 2>&1; then
    cat "$buildlog"
    warn "make install failed: installing into PostgreSQL's directories needs root. Run:"
    echo "sudo make -C $REPO install PG_CONFIG=$PG_CONFIG" >&2
    exit 1
fi
say "$EXT built and installed"
