#!/bin/sh
# tfswa's OpenMP wait defaults (tfswa(7), lib/util/cli.c): when the user sets
# neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT, a tool runs with passive waiting
# after a spin of 10000; a user setting is left alone. libgomp prints what
# it runs with when OMP_DISPLAY_ENV=verbose.
set -u
fail() { echo "FAIL: $*" >&2; exit 1; }
env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT OMP_DISPLAY_ENV=verbose "$BIN/tsinfo" --help > /dev/null 2> "$TMPDIR/d.txt" \
    || fail "tsinfo --help"
last() { grep "$1" "$TMPDIR/d.txt" | tail -n 1; }
last GOMP_SPINCOUNT | grep -q "'10000'" || fail "default spin count: $(last GOMP_SPINCOUNT)"
last OMP_WAIT_POLICY | grep -q "PASSIVE" || fail "default policy: $(last OMP_WAIT_POLICY)"
env -u OMP_WAIT_POLICY GOMP_SPINCOUNT=77 OMP_DISPLAY_ENV=verbose "$BIN/tsinfo" --help > /dev/null 2> "$TMPDIR/d.txt"
last GOMP_SPINCOUNT | grep -q "'77'" || fail "user's spin count: $(last GOMP_SPINCOUNT)"
env -u GOMP_SPINCOUNT OMP_WAIT_POLICY=active OMP_DISPLAY_ENV=verbose "$BIN/tsinfo" --help > /dev/null 2> "$TMPDIR/d.txt"
last OMP_WAIT_POLICY | grep -q "ACTIVE" || fail "user's policy: $(last OMP_WAIT_POLICY)"
# arguments and standard input survive the second start
printf 'junk' | env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT "$BIN/tsinfo" 2> "$TMPDIR/e.txt"
[ $? -eq 1 ] && grep -q "^tsinfo: stdin: stream header" "$TMPDIR/e.txt" || fail "stdin after re-exec: $(cat "$TMPDIR/e.txt")"
exit 0
