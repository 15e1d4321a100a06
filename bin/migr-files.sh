# bin/migr-files.sh: shared by bin/migr-load and bin/migr-new (sourced, not
# run).  POSIX sh; needs only psql, cat, printf and sed.
#
# migr_files_script DIR writes to stdout a psql script that reads every
# *.sql file of DIR into psql variables (c1, c2, ... with the contents, n1,
# n2, ... with the file names) and sets :migr_files to the SELECT that loads
# them all with one migr_load() call.  Each content is read with
#     \set cN `cat -- 'path' && printf x`
# and the "x" is cut off again in SQL, because psql drops a final newline
# from a backquoted command's output and migration files keep their
# sections exactly.  Returns 1 (after a message) when DIR has no *.sql file
# or a file name has a line break.

# A psql single-quoted literal for $1: backslashes and quotes doubled.
migr_psql_quote()
{
    printf "'%s'" "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e "s/'/''/g")"
}

migr_files_script()
{
    _dir=$1
    _n=0
    _contents=
    _names=
    for _f in "$_dir"/*.sql; do
        [ -f "$_f" ] || continue
        case $_f in
            *'
'*)
                echo "migr: file name with a line break: $_f" >&2
                return 1
                ;;
        esac
        _n=$((_n + 1))
        printf '\\set p%d %s\n' "$_n" "$(migr_psql_quote "$_f")"
        printf '\\set n%d %s\n' "$_n" "$(migr_psql_quote "$(basename "$_f")")"
        printf "\\\\set c%d \`cat -- :'p%d' && printf x\`\n" "$_n" "$_n"
        _contents="$_contents${_contents:+, }left(:'c$_n', -1)"
        _names="$_names${_names:+, }:'n$_n'"
    done
    if [ "$_n" -eq 0 ]; then
        echo "migr: no *.sql file in $_dir" >&2
        return 1
    fi
    printf '\\set migr_files %s\n' \
        "$(migr_psql_quote "SELECT * FROM migr_load(ARRAY[$_contents]::text[], ARRAY[$_names]::text[])")"
    return 0
}
