# bin/migr-files.sh: shared by bin/migr-load and bin/migr-new (sourced, not
# run).  POSIX sh; needs only psql, od, tr and wc.
#
# migr_files_script DIR writes to stdout a psql script that sets
# :migr_files to a SELECT passing every *.sql file of DIR, with its name, to
# migr_load(); :migr_files_dir is the same SELECT through
# migr_load_directory(), which also reports the registered revisions that no
# file describes any more.
#
# The files are read by three processes for the whole directory, not per
# file (1,000 files load in a fraction of a second): wc -c gives the sizes,
# od the bytes of all files one after another, in hexadecimal, and od again
# the file names.  The script holds only that hexadecimal text and SQL
# written here: nothing of a file's name or content is ever read by psql as
# SQL, a psql variable or a meta-command, whatever it holds, in whatever
# client encoding.  The server decodes the bytes, cuts them at the sizes and
# reads them in the client encoding, as it would read text psql sent.
#
# Returns 1 (after a message) when DIR has no *.sql file, a file name has a
# line break, or a file changed while it was read.

# A psql single-quoted literal for $1: backslashes and quotes doubled.
migr_psql_quote()
{
    printf "'%s'" "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e "s/'/''/g")"
}

# The bytes of the files named in the arguments, one after another, as
# hexadecimal digits on one line (nothing for no argument).
migr_hex()
{
    [ "$#" -gt 0 ] || return 0
    od -An -v -tx1 -- "$@" | tr -d ' \n'
}

migr_files_script()
{
    _dir=$1
    _nl='
'
    # The glob sets the arguments at once (appending one by one would take
    # time quadratic in the number of files); anything that is not a file
    # (no match, a directory named x.sql) is dropped in a second pass.
    set -- "$_dir"/*.sql
    _names=
    _others=no
    for _f in "$@"; do
        if [ ! -f "$_f" ]; then
            _others=yes
            continue
        fi
        case $_f in
            *"$_nl"*)
                echo "migr: file name with a line break: $_f" >&2
                return 1
                ;;
        esac
        # "/" cannot be part of a file name: it separates them.
        _names="$_names${_names:+/}${_f##*/}"
    done
    if [ "$_others" = yes ]; then
        for _f in "$@"; do
            shift
            [ -f "$_f" ] && set -- "$@" "$_f"
        done
    fi
    if [ "$#" -eq 0 ]; then
        echo "migr: no *.sql file in $_dir" >&2
        return 1
    fi

    # One size per file, in order (wc adds a total line for several files).
    _sizes=
    _total=0
    _i=0
    _wc=$(wc -c -- "$@") || return 1
    while read -r _size _rest; do
        _i=$((_i + 1))
        [ "$_i" -le "$#" ] || break
        _sizes="$_sizes${_sizes:+,}$_size"
        _total=$((_total + _size))
    done <<EOF
$_wc
EOF

    _data=$(migr_hex "$@") || return 1
    if [ "${#_data}" -ne $((2 * _total)) ]; then
        echo "migr: a file of $_dir changed while it was read; try again" >&2
        return 1
    fi
    printf '\\set migr_data %s\n' "'$_data'"
    printf '\\set migr_sizes %s\n' "'$_sizes'"
    printf '\\set migr_names %s\n' "'$(printf '%s' "$_names" | od -An -v -tx1 | tr -d ' \n')'"
    # Decoded once (MATERIALIZED), cut per file.
    # One line (a psql \set cannot continue on the next).
    _input="WITH migr_bytes AS MATERIALIZED (SELECT pg_catalog.decode(:'migr_data', 'hex') AS b),"
    _input="$_input migr_file AS (SELECT t.i, t.name, t.size,"
    _input="$_input (pg_catalog.sum(t.size) OVER (ORDER BY t.i) - t.size)::int AS start"
    _input="$_input FROM ROWS FROM (pg_catalog.unnest(pg_catalog.string_to_array(:'migr_sizes', ',')::int[]),"
    _input="$_input pg_catalog.unnest(pg_catalog.string_to_array(pg_catalog.convert_from("
    _input="$_input pg_catalog.decode(:'migr_names', 'hex'), pg_catalog.pg_client_encoding()), '/')))"
    _input="$_input WITH ORDINALITY AS t(size, name, i)),"
    _input="$_input migr_content AS (SELECT f.i, f.name, pg_catalog.convert_from("
    _input="$_input pg_catalog.substr(m.b, f.start + 1, f.size), pg_catalog.pg_client_encoding()) AS content"
    _input="$_input FROM migr_file f, migr_bytes m)"
    _args="ARRAY(SELECT content FROM migr_content ORDER BY i), ARRAY(SELECT name FROM migr_content ORDER BY i)"
    printf '\\set migr_files %s\n' \
        "$(migr_psql_quote "$_input SELECT * FROM migr_load($_args)")"
    printf '\\set migr_files_dir %s\n' \
        "$(migr_psql_quote "$_input SELECT * FROM migr_load_directory($_args)")"
    return 0
}
