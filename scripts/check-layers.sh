#!/usr/bin/env bash
# scripts/check-layers.sh [SRC_DIR]: check that the files of src/ call each
# other only downwards.
#
# The files are listed below from the bottom layer up (the map in README's
# "Source layout" section).  A function may call functions of its own file,
# of a lower layer, and of a file listed before its own in the same layer;
# the files of the top layer (SQL entry points) never call each other.  The call graph is read
# with ctags (which function each file defines) and cscope (who calls each
# function), both Debian packages.  _PG_init is the one exception: as the
# module's entry point it installs the hooks of the upper layers.
#
# catalog.c is the only file that speaks SQL to migr's tables: a string
# literal outside it that names a table or sequence of schema migr (as the
# install scripts in sql/ create them) in a statement (an upper-case SQL
# keyword such as SELECT, FROM, INTO or UPDATE, or nextval) is reported too.
# Adjacent literals ("SELECT ..." "  FROM migr.log") count as one; messages
# that name a table ("recorded in migr.log") are not statements.
#
# Prints every call that goes up or sideways and every such statement, and
# exits 1 when there is one (or when a file of src/ is missing from the
# list); exits 0 otherwise.

set -euo pipefail

src=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../src" && pwd)}

# Bottom to top: "layer: files", lower files first within a layer.
layers=(
    # settings, parse-tree facts, backend-local execution state
    "0: migr.c classify.c script.c analysis.c citus.c state.c progress.c"
    # the catalog: the only file that speaks SQL to migr's tables
    "1: catalog.c describe.c"
    # the lock, the graph and the target grammar
    "2: lock.c graph.c target.c"
    # the steps of an operation and the policy gate
    "3: plan.c checks.c adopt.c diff.c"
    # the step engine, dry runs, the one registration path
    "4: worker.c apply.c dryrun.c register.c"
    # SQL entry points and argument parsing; the DDL guard's hooks
    "5: runner.c offline.c files.c integrity.c report.c rollback.c status.c graph_render.c schema.c guard.c restore.c import.c"
)
top=5

for tool in ctags cscope; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "check-layers: $tool is missing (Debian: universal-ctags, cscope)" >&2
        exit 2
    fi
done

declare -A layer=() position=()
n=0
for entry in "${layers[@]}"; do
    for f in ${entry#*:}; do
        layer[$f]=${entry%%:*}
        position[$f]=$n
        n=$((n + 1))
    done
done

# May a function of file $1 call one of file $2?
may_call()
{
    local from=$1 to=$2
    [ -n "${layer[$from]:-}" ] && [ -n "${layer[$to]:-}" ] || return 1
    [ "${layer[$to]}" -lt "${layer[$from]}" ] && return 0
    [ "${layer[$to]}" -eq "${layer[$from]}" ] && [ "${layer[$from]}" -lt "$top" ] &&
        [ "${position[$to]}" -lt "${position[$from]}" ]
}

status=0
for f in "$src"/*.c; do
    f=$(basename "$f")
    if [ -z "${layer[$f]:-}" ]; then
        echo "src/$f is not in the layer list of scripts/check-layers.sh"
        status=1
    fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$src" && ctags -x --c-kinds=f ./*.c) | awk '{print $1, $4}' | sed 's#\./##' | sort -u >"$work/defs"
(cd "$src" && cscope -b -k -f "$work/db" ./*.c ./*.h)

# Functions defined in several files (static helpers of the same name) are
# ambiguous for cscope: a call is charged to the file that defines it only
# when the caller's own file does not define a function of that name.
while read -r name file; do
    while read -r caller_file caller _; do
        caller_file=${caller_file#./}
        [ "$caller_file" = "$file" ] && continue
        [ "$caller" = _PG_init ] && continue
        case $caller_file in *.h) continue ;; esac
        grep -qx "$name $caller_file" "$work/defs" && continue
        if ! may_call "$caller_file" "$file"; then
            echo "src/$caller_file: $caller() calls $name() of src/$file, which is not below it"
            status=1
        fi
    done < <(cd "$src" && cscope -d -f "$work/db" -L3 "$name")
done <"$work/defs"

# SQL on migr's tables outside catalog.c.
sql_dir=$(dirname "${BASH_SOURCE[0]}")/../sql
if [ ! -d "$sql_dir" ]; then
    echo "check-layers: $sql_dir is missing (the install scripts name migr's tables)" >&2
    exit 2
fi
tables=$(sed -n 's/^CREATE \(TABLE\|SEQUENCE\) migr\.\([a-z_0-9]*\).*/\2/p' \
    "$sql_dir"/migr--*.sql | sort -u | paste -sd'|')
if [ -z "$tables" ]; then
    echo "check-layers: no table of schema migr found in $sql_dir" >&2
    exit 2
fi
for f in "$src"/*.c; do
    [ "$(basename "$f")" = catalog.c ] && continue
    if ! perl -e '
        my ($file, $tables) = @ARGV;
        open(my $fh, "<", $file) or die "$file: $!";
        my $text = do { local $/; <$fh> };
        my ($lit, $line, $end, $found) = (undef, 0, 0, 0);
        my $flush = sub {
            return unless defined $lit;
            my ($table) = $lit =~ /\bmigr\.($tables)\b/;
            if (defined $table &&
                $lit =~ /\b(SELECT|INSERT|UPDATE|DELETE|FROM|JOIN|INTO|TRUNCATE|COPY|ALTER|LOCK|nextval|currval|setval)\b/)
            {
                (my $short = $lit) =~ s/\s+/ /g;
                $short = substr($short, 0, 100);
                print "src/" . ($file =~ s{.*/}{}r) . ":$line: SQL on migr.$table outside catalog.c: \"$short\"\n";
                $found = 1;
            }
            undef $lit;
        };
        while ($text =~ m{ ( "(?:\\.|[^"\\\n])*" ) | ( /\*.*?\*/ | //[^\n]* | \s+ | \\\n ) | ( \x27(?:\\.|[^\x27\\])*\x27 | . ) }gsx)
        {
            if (defined $1)
            {
                my $body = substr($1, 1, -1);
                if (defined $lit) { $lit .= $body; }
                else { $lit = $body; $line = 1 + (substr($text, 0, $-[0]) =~ tr/\n//); }
            }
            elsif (defined $2) { }
            else { $flush->(); }
        }
        $flush->();
        exit($found ? 1 : 0);
    ' "$f" "$tables"; then
        status=1
    fi
done

[ "$status" = 0 ] && echo "check-layers: every call in $src goes down the layers, and only catalog.c speaks SQL to migr's tables"
exit "$status"
