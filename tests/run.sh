#!/bin/sh
# Runs every unit test binary and every tests/sh/*.sh script for each build
# directory given (build = normal, build/san = AddressSanitizer + UBSan),
# and ends with one line "N passed, N failed".
# A shell test gets: BIN (the tools), BUILD (the build dir; helper programs in $BUILD/tests/helpers), VARIANT (normal|san),
# TOP (the source tree), TMPDIR (a fresh scratch directory), PYTHON.
# A test exits 0 (pass), 77 (skipped: only when an external program it needs
# is missing, named on its last line) or anything else (fail).
# A shell test meant for some variants only says so in a line
# "# variants: normal" (a space-separated list); it is not run in the others.
# Set TESTS=pattern to run only tests whose name contains it.
TOP=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-$(test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)}
export TOP PYTHON
pass=0 fail=0 skip=0 failed=""
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
TESTTIMEOUT=${TESTTIMEOUT:-900}
run_one() { # name variant cmd...
    name=$1 variant=$2; shift 2
    case "$name" in *"${TESTS:-}"*) ;; *) return ;; esac
    scratch=$(mktemp -d "${TMPDIR:-/tmp}/tfswa-test.XXXXXX")
    log="$scratch.log"
    start=$(date +%s)
    TMPDIR="$scratch" timeout "$TESTTIMEOUT" "$@" >"$log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    if [ $rc -eq 0 ]; then
        pass=$((pass + 1)); echo "PASS $variant $name (${secs}s)"
    elif [ $rc -eq 77 ]; then
        skip=$((skip + 1)); echo "SKIP $variant $name: $(tail -n 1 "$log")"
    else
        fail=$((fail + 1)); failed="$failed $variant/$name"
        echo "FAIL $variant $name (exit $rc, ${secs}s)"; tail -n 40 "$log" | sed 's/^/    /'
    fi
    rm -rf "$scratch" "$log"
}
for build in "$@"; do
    case "$build" in */san) variant=san ;; *) variant=normal ;; esac
    BUILD="$TOP/$build"; BIN="$BUILD/bin"; VARIANT=$variant
    export BUILD BIN VARIANT
    for t in "$BUILD"/tests/test_*; do
        [ -x "$t" ] || continue
        run_one "$(basename "$t")" "$variant" "$t"
    done
    for s in "$TOP"/tests/sh/*.sh; do
        [ -f "$s" ] || continue
        only=$(sed -n 's/^# variants: *\([a-z ]*\).*/\1/p' "$s" | head -n 1)
        case " ${only:-$variant} " in *" $variant "*) ;; *) continue ;; esac
        run_one "$(basename "$s" .sh)" "$variant" sh "$s"
    done
done
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
