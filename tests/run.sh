#!/bin/sh
# Runs every unit test binary and every tests/sh/*.sh script for each build
# directory given (build = normal, build/san = AddressSanitizer + UBSan),
# the unit tests of the normal build also at every other kernel level the
# CPU runs (TFSWA_KERNELS; lib/nn/kernels.h), and ends with one line
# "N passed, N failed, N skipped".
# Tests run TEST_JOBS at a time (default 2; each has its own scratch folder).
# A shell test gets: BIN (the tools), BUILD (the build dir; helper programs in $BUILD/tests/helpers),
# VARIANT (normal|san), TOP (the source tree), TMPDIR (a fresh scratch directory), PYTHON.
# A test exits 0 (pass), 77 (skipped: only when an external program it needs
# is missing, named on its last line) or anything else (fail).
# A shell test meant for some variants only says so in a line
# "# variants: normal" (a space-separated list); it is not run in the others.
# Set TESTS=pattern to run only tests whose name contains it.
TOP=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-$(test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)}
export TOP PYTHON
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
TESTTIMEOUT=${TESTTIMEOUT:-900}
export TESTTIMEOUT
# Tests run TEST_JOBS at a time: each tool on one thread unless a test asks
# for more (the heavy tools default to every CPU; tfswa(7)).
TFSWA_THREADS=${TFSWA_THREADS:-1}
export TFSWA_THREADS

# One test (run by the jobs below): --one RESULTS build variant level name cmd...
if [ "${1:-}" = --one ]; then
    results=$2 build=$3 variant=$4 level=$5 name=$6; shift 6
    BUILD="$TOP/$build"; BIN="$BUILD/bin"; VARIANT=$variant
    export BUILD BIN VARIANT
    label=$variant
    if [ "$level" != - ]; then label="$variant/kernels=$level"; export TFSWA_KERNELS=$level; fi
    scratch=$(mktemp -d "${TMPDIR:-/tmp}/tfswa-test.XXXXXX")
    log="$scratch.log" out="$scratch.out"
    start=$(date +%s)
    TMPDIR="$scratch" timeout "$TESTTIMEOUT" "$@" >"$log" 2>&1
    rc=$?
    secs=$(($(date +%s) - start))
    if [ $rc -eq 0 ]; then
        status=PASS; echo "PASS $label $name (${secs}s)" >"$out"
    elif [ $rc -eq 77 ]; then
        status=SKIP; echo "SKIP $label $name: $(tail -n 1 "$log")" >"$out"
    else
        status=FAIL; { echo "FAIL $label $name (exit $rc, ${secs}s)"; tail -n 40 "$log" | sed 's/^/    /'; } >"$out"
    fi
    # one job at a time prints its lines and adds its result
    flock "$results" sh -c 'cat "$1"; echo "$2" >>"$3"' sh "$out" "$status $label/$name" "$results"
    rm -rf "$scratch" "$log" "$out"
    exit 0
fi

# The list of tests, one a line: build variant level name cmd... (shell
# tests first: they are the long ones, and starting them early packs the jobs).
list() {
    for build in "$@"; do
        case "$build" in */san) variant=san ;; *) variant=normal ;; esac
        for s in "$TOP"/tests/sh/*.sh; do
            [ -f "$s" ] || continue
            n=$(basename "$s" .sh)
            only=$(sed -n 's/^# variants: *\([a-z ]*\).*/\1/p' "$s" | head -n 1)
            case " ${only:-$variant} " in *" $variant "*) ;; *) continue ;; esac
            case "$n" in *"${TESTS:-}"*) echo "$build $variant - $n sh $s" ;; esac
        done
        levels=-
        if [ $variant = normal ] && [ -x "$TOP/$build/tests/helpers/kernels" ]; then
            all=$("$TOP/$build/tests/helpers/kernels")
            levels="- $(echo "$all" | sed 's/ *[^ ]*$//')" # every level but the best (the default)
        fi
        for lv in $levels; do
            for t in "$TOP/$build"/tests/test_*; do
                [ -x "$t" ] || continue
                n=$(basename "$t")
                case "$n" in *"${TESTS:-}"*) echo "$build $variant $lv $n $t" ;; esac
            done
        done
    done
}

results=$(mktemp "${TMPDIR:-/tmp}/tfswa-results.XXXXXX")
list "$@" | xargs -P "${TEST_JOBS:-2}" -L 1 sh "$0" --one "$results"
pass=$(grep -c '^PASS' "$results") fail=$(grep -c '^FAIL' "$results") skip=$(grep -c '^SKIP' "$results")
failed=$(sed -n 's/^FAIL //p' "$results" | tr '\n' ' ')
rm -f "$results"
[ -n "$failed" ] && echo "failed: $failed"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
