#!/bin/sh
# Man-page checks: for every tool in $BIN (the C tools and the tools/*.sh
# scripts), every long option its --help lists is documented in man/NAME.1,
# and every option the man page's OPTIONS section documents (the tag line
# after each .TP) is listed by --help. tfswa-net's training options: its
# --train --help against the "Training options" part of its TRAINING section.
set -u
fail=0
die() { echo "FAIL: $*"; fail=1; }

# Long options of a help text on stdin: the lines "  -x, --name ..." and "      --name ...".
help_opts() {
    sed -n 's/^  -[A-Za-z0-9], \(--[a-z0-9][a-z0-9-]*\).*/\1/p; s/^      \(--[a-z0-9][a-z0-9-]*\).*/\1/p' | sort -u
}

# Long options on the tag lines (the line after .TP) of a man page's part:
# from the line matching $2 to the next line matching $3.
man_opts() {
    awk -v from="$2" -v to="$3" '
        $0 ~ from { inside = 1; next }
        inside && $0 ~ to { inside = 0 }
        inside && tag { print }
        { tag = inside && ($0 == ".TP" || $0 == ".TQ") }' "$1" |
        sed 's/\\-/-/g' | grep -o -- '--[a-z0-9][a-z0-9-]*' | sort -u
}

# compare WHAT HELP-LIST MAN-LIST
compare() {
    for o in $(comm -23 "$2" "$3"); do die "$1: --help lists $o, the man page does not document it"; done
    for o in $(comm -13 "$2" "$3"); do die "$1: the man page documents $o, --help does not list it"; done
}

n=0
for tool in "$BIN"/*; do
    [ -x "$tool" ] || continue
    name=$(basename "$tool")
    page="$TOP/man/$name.1"
    [ -f "$page" ] || { die "$name: no man page man/$name.1"; continue; }
    "$tool" --help > "$TMPDIR/help" 2>&1 || die "$name --help: exit $?"
    help_opts < "$TMPDIR/help" > "$TMPDIR/h"
    [ -s "$TMPDIR/h" ] || die "$name --help: no options found"
    man_opts "$page" '^\.SH OPTIONS' '^\.SH ' > "$TMPDIR/m"
    [ -s "$TMPDIR/m" ] || die "$name: no options found in the OPTIONS section of man/$name.1"
    compare "$name" "$TMPDIR/h" "$TMPDIR/m"
    if [ "$name" = tfswa-net ]; then
        "$tool" --train --help 2>&1 | help_opts > "$TMPDIR/h"
        man_opts "$page" '^\.SS Training options' '^\.S[HS] ' > "$TMPDIR/m"
        [ -s "$TMPDIR/m" ] || die "tfswa-net: no options in the Training options part of the man page"
        compare "tfswa-net --train" "$TMPDIR/h" "$TMPDIR/m"
    fi
    n=$((n + 1))
done
[ $n -ge 12 ] || die "only $n tools checked"
[ $fail = 0 ] && echo "ok: $n tools"
exit $fail
