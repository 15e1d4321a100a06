#!/usr/bin/env bash
# scripts/indent.sh: `make indent`.  Formats src/*.c and src/*.h the way
# PostgreSQL's pgindent does, with pg_bsd_indent (Debian: pg-bsd-indent) and
# pgindent's standard options.
#
#   scripts/indent.sh            indent the tree in place
#   scripts/indent.sh --check    change nothing; list the files that are not
#                                indented and exit 1 if there is any
#   scripts/indent.sh --check DIR  the same for DIR/src and DIR/typedefs.list
#                                (test/t/041_indent.pl checks a copy)
#
# pg_bsd_indent must know every type name to format declarations.  They come
# from two lists: typedefs.list at the top of the checkout (migr's own types,
# one a line, kept sorted; --check also fails when a type of src/ is missing
# from it) and the types of the PostgreSQL server headers, read with ctags
# (Debian: universal-ctags) each time, so that they match the headers the
# extension is built against.  As root, missing packages are installed.

set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

check=0
top=$REPO
case ${1:-} in
    '') ;;
    --check)
        check=1
        top=${2:-$REPO}
        ;;
    *)
        warn "usage: $0 [--check [DIR]]"
        exit 2
        ;;
esac

need=()
command -v pg_bsd_indent >/dev/null 2>&1 || need+=(pg-bsd-indent)
command -v ctags >/dev/null 2>&1 || need+=(universal-ctags)
if [ "${#need[@]}" -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        say "installing ${need[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" </dev/null >/dev/null
    else
        warn "missing Debian packages: ${need[*]}"
        echo "sudo apt-get install -y --no-install-recommends ${need[*]}" >&2
        exit 1
    fi
fi

cd "$top"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

server_inc=$("$PG_CONFIG" --includedir-server)
# Types of the server headers, of the C library types they use, and migr's.
{
    ctags -R -x --c-kinds=t --languages=C --langmap=C:.h.c "$server_inc" 2>/dev/null | awk '{print $1}'
    printf '%s\n' FILE size_t ssize_t va_list sigjmp_buf pid_t off_t time_t uint8_t uint16_t uint32_t uint64_t int8_t int16_t int32_t int64_t
    cat typedefs.list
} | sort -u >"$work/typedefs"

# Every type src/ defines must be in typedefs.list.
ctags -x --c-kinds=t src/*.c src/*.h | awk '{print $1}' | sort -u >"$work/ours"
missing=$(comm -23 "$work/ours" <(sort -u typedefs.list))
if [ -n "$missing" ]; then
    warn "typedefs.list lacks types defined in src/: $(echo "$missing" | tr '\n' ' ')"
    [ "$check" = 1 ] && exit 1
    printf '%s\n' "$missing" >>"$work/typedefs"
fi

opts=(-bad -bap -bbb -bc -bl -cli1 -cp33 -cdb -nce -d0 -di12 -nfc1 -i4 -l79
    -lp -lpl -nip -npro -sac -tpg -ts4 "-U$work/typedefs")
unformatted=()
for f in src/*.c src/*.h; do
    pg_bsd_indent "${opts[@]}" "$f" "$work/out" 2>"$work/err" || {
        cat "$work/err" >&2
        warn "pg_bsd_indent failed on $f"
        exit 1
    }
    # As pgindent does after pg_bsd_indent: a return type on a line of its
    # own keeps a single space before its "*".
    perl -pi -e 's/^([A-Za-z_][A-Za-z_0-9 ]*?)\s+\*$/$1 */' "$work/out"
    if ! cmp -s "$f" "$work/out"; then
        unformatted+=("$f")
        [ "$check" = 1 ] || cp "$work/out" "$f"
    fi
done

if [ "$check" = 1 ]; then
    if [ "${#unformatted[@]}" -gt 0 ]; then
        warn "not indented (run make indent): ${unformatted[*]}"
        exit 1
    fi
    say "src/ is indented"
elif [ "${#unformatted[@]}" -gt 0 ]; then
    say "indented: ${unformatted[*]}"
else
    say "src/ was already indented"
fi
