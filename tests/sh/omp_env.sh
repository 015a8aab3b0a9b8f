#!/bin/sh
# The tools leave OpenMP's waiting to the user and to libgomp (tfswa(7),
# ENVIRONMENT): without OMP_WAIT_POLICY and GOMP_SPINCOUNT libgomp runs with
# its own defaults (a spin of 300000, then sleep), the user's settings reach
# it as given, and the program starts once (libgomp prints its environment
# once when OMP_DISPLAY_ENV=verbose). bench/omp_wait.sh measured no gain for
# setting them ourselves, which needed a second start of every program.
set -u
fail() { echo "FAIL: $*" >&2; exit 1; }
env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT OMP_DISPLAY_ENV=verbose "$BIN/tsinfo" --help > /dev/null 2> "$TMPDIR/d.txt" \
    || fail "tsinfo --help"
last() { grep "$1" "$TMPDIR/d.txt" | tail -n 1; }
last GOMP_SPINCOUNT | grep -q "'300000'" || fail "libgomp's default spin count: $(last GOMP_SPINCOUNT)"
[ "$(grep -c 'OPENMP DISPLAY ENVIRONMENT BEGIN' "$TMPDIR/d.txt")" = 1 ] || fail "the program started more than once"
env -u OMP_WAIT_POLICY GOMP_SPINCOUNT=77 OMP_DISPLAY_ENV=verbose "$BIN/tsinfo" --help > /dev/null 2> "$TMPDIR/d.txt"
last GOMP_SPINCOUNT | grep -q "'77'" || fail "user's spin count: $(last GOMP_SPINCOUNT)"
env -u GOMP_SPINCOUNT OMP_WAIT_POLICY=passive OMP_DISPLAY_ENV=verbose "$BIN/tsinfo" --help > /dev/null 2> "$TMPDIR/d.txt"
last OMP_WAIT_POLICY | grep -q "PASSIVE" || fail "user's policy: $(last OMP_WAIT_POLICY)"
exit 0
